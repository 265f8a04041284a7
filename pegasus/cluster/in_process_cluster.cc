#include "pegasus/cluster/in_process_cluster.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "pegasus/base/check.h"
#include "pegasus/base/random.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/local_file_meta_store.h"
#include "pegasus/meta/meta_server.h"
#include "pegasus/replication/replica_host.h"
#include "pegasus/runtime/clock.h"
#include "pegasus/runtime/file_system.h"
#include "pegasus/runtime/in_process_transport.h"
#include "pegasus/runtime/thread_pool.h"
#include "pegasus/storage/memory/memory_engine.h"
#include "pegasus/storage/rocksdb/rocksdb_engine.h"

namespace pegasus {
namespace {

// The host strand of a node is key 0 of its pool; replicas run on the
// other workers (ThreadPool::StrandOffWorkerZero).
constexpr uint64_t kHostStrand = 0;

// The links the test cut, shared by every node's transport.
class Cuts {
 public:
  bool IsCut(NodeId from, NodeId to) const {
    absl::MutexLock lock(&mu_);
    return cut_.count({from.value, to.value}) > 0;
  }
  void Cut(NodeId a, NodeId b) {
    absl::MutexLock lock(&mu_);
    cut_.insert({a.value, b.value});
    cut_.insert({b.value, a.value});
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    cut_.clear();
  }

 private:
  mutable absl::Mutex mu_;
  std::set<std::pair<uint64_t, uint64_t>> cut_;
};

// A node's transport that drops what it sends over a cut link.
class CuttableTransport final : public Transport {
 public:
  CuttableTransport(std::unique_ptr<Transport> inner,
                    std::shared_ptr<Cuts> cuts)
      : inner_(std::move(inner)), cuts_(std::move(cuts)) {}
  NodeId self() const override { return inner_->self(); }
  void Send(NodeId to, std::string message) override {
    if (cuts_->IsCut(self(), to)) return;
    inner_->Send(to, std::move(message));
  }
  void SetReceiver(Receiver receiver) override {
    inner_->SetReceiver(std::move(receiver));
  }

 private:
  std::unique_ptr<Transport> inner_;
  std::shared_ptr<Cuts> cuts_;
};

ThreadPoolOptions PoolOptions(int threads) {
  ThreadPoolOptions options;
  options.threads = threads;
  return options;
}

// One node's threads, network port and randomness. Destroying it stops
// its threads first, so nothing of its runs after.
struct NodeBase {
  NodeBase(NodeId id, int threads, InProcessNetwork& network,
           std::shared_ptr<Cuts> cuts, uint64_t seed)
      : pool(PoolOptions(threads)),
        transport(network.Attach(id, pool.Strand(kHostStrand)),
                  std::move(cuts)),
        rng(seed) {}

  ThreadPool pool;
  CuttableTransport transport;
  SeededRandom rng;
};

struct MetaProcess {
  MetaProcess(InProcessNetwork& network, std::shared_ptr<Cuts> cuts,
              int threads, uint64_t seed)
      : base(InProcessCluster::MetaNode(), threads, network, std::move(cuts),
             seed) {}
  ~MetaProcess() {
    base.pool.Shutdown();
    server.reset();
    store.reset();
  }
  NodeBase base;
  std::unique_ptr<LocalFileMetaStore> store;
  std::unique_ptr<MetaServer> server;
};

struct ServerProcess {
  ServerProcess(NodeId id, InProcessNetwork& network,
                std::shared_ptr<Cuts> cuts, int threads, uint64_t seed)
      : base(id, threads, network, std::move(cuts), seed) {}
  ~ServerProcess() {
    base.pool.Shutdown();
    host.reset();
  }
  NodeBase base;
  std::unique_ptr<replication::ReplicaHost> host;
};

struct ClientProcess {
  ClientProcess(NodeId id, InProcessNetwork& network,
                std::shared_ptr<Cuts> cuts, uint64_t seed)
      : base(id, 1, network, std::move(cuts), seed) {}
  ~ClientProcess() {
    base.pool.Shutdown();
    client.reset();
  }
  NodeBase base;
  std::unique_ptr<Client> client;
};

// Runs `task` on `executor` and waits for it: a node's objects are built on
// their own strand (Start's rule for the host and the meta server).
template <typename T>
T RunOn(Executor* executor, absl::AnyInvocable<T()> task) {
  absl::Notification done;
  std::optional<T> result;
  executor->Post([&] {
    result.emplace(task());
    done.Notify();
  });
  done.WaitForNotification();
  return std::move(*result);
}

}  // namespace

struct InProcessCluster::State {
  InProcessClusterOptions options;
  InProcessNetwork network;
  std::shared_ptr<Cuts> cuts = std::make_shared<Cuts>();
  uint64_t seed = 0;
  uint64_t starts = 0;  // Node starts, for distinct seeds.
  std::unique_ptr<MetaProcess> meta;
  std::vector<std::unique_ptr<ServerProcess>> servers;
  std::unique_ptr<ClientProcess> client;

  uint64_t NextSeed() { return seed + 0x9e3779b97f4a7c15ULL * ++starts; }
  std::string MetaDir() const { return options.data_dir + "/meta"; }
  std::string ServerDir(int i) const {
    return options.data_dir + "/server" + std::to_string(i);
  }
  absl::Status StartMeta();
  absl::Status StartServer(int i);
};

absl::Status InProcessCluster::State::StartMeta() {
  auto node = std::make_unique<MetaProcess>(
      network, cuts, options.threads_per_node, NextSeed());
  Executor* strand = node->base.pool.Strand(kHostStrand);
  PEGASUS_ASSIGN_OR_RETURN(
      node->store,
      LocalFileMetaStore::Open(PosixFileSystem(), MetaDir(), strand));
  MetaServerOptions server;
  server.env = {RealClock(), strand, &node->base.transport, &node->base.rng};
  server.meta = options.meta;
  server.meta.lease_ns = options.lease_ns;
  server.meta.min_live_nodes =
      std::min(server.meta.min_live_nodes, options.replica_servers);
  server.store = node->store.get();
  server.initial_tables = options.tables;
  absl::StatusOr<std::unique_ptr<MetaServer>> started =
      RunOn<absl::StatusOr<std::unique_ptr<MetaServer>>>(
          strand, [&] { return MetaServer::Start(server); });
  if (!started.ok()) return started.status();
  node->server = *std::move(started);
  meta = std::move(node);
  return absl::OkStatus();
}

absl::Status InProcessCluster::State::StartServer(int i) {
  auto node = std::make_unique<ServerProcess>(
      InProcessCluster::ServerNode(i), network, cuts, options.threads_per_node,
      NextSeed());
  ThreadPool* pool = &node->base.pool;
  replication::ReplicaHostOptions host;
  host.self = InProcessCluster::ServerNode(i);
  host.meta = InProcessCluster::MetaNode();
  host.env = replication::HostEnv{
      RealClock(), pool->Strand(kHostStrand), &node->base.transport,
      PosixFileSystem(), &node->base.rng,
      [pool](Gpid gpid) {
        return pool->StrandOffWorkerZero(replication::StrandKeyOf(gpid));
      },
      // Shares a worker with replicas, which its syncs stall: fine for
      // tests and examples; the daemon gives the log a thread of its own.
      pool->StrandOffWorkerZero(~uint64_t{0})};
  host.data_dir = ServerDir(i);
  host.lease_ns = options.lease_ns;
  if (options.engine == InProcessClusterOptions::Engine::kRocksDb) {
    host.open_engine = [](const std::string& dir) {
      return OpenRocksDbEngine(dir, RocksDbEngineOptions());
    };
  } else {
    host.open_engine = [](const std::string& dir) {
      return OpenMemoryEngine(dir, MemoryEngineOptions());
    };
  }
  absl::StatusOr<std::unique_ptr<replication::ReplicaHost>> started =
      RunOn<absl::StatusOr<std::unique_ptr<replication::ReplicaHost>>>(
          pool->Strand(kHostStrand),
          [&] { return replication::ReplicaHost::Start(host); });
  if (!started.ok()) return started.status();
  node->host = *std::move(started);
  servers[i] = std::move(node);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<InProcessCluster>> InProcessCluster::Start(
    InProcessClusterOptions options) {
  if (options.data_dir.empty()) {
    return PegasusError(ErrorCode::kInvalidArgument, "data_dir is required");
  }
  if (options.replica_servers < 1 || options.threads_per_node < 1) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        "replica_servers and threads_per_node must be >= 1");
  }
  if (options.tables.empty()) {
    proto::CreateTableRequest temp;
    temp.set_name("temp");
    temp.set_partition_count(8);
    temp.set_replica_count(std::min(3, options.replica_servers));
    options.tables.push_back(temp);
  }
  auto state = std::make_unique<State>();
  state->seed = options.seed != 0
                    ? options.seed
                    : static_cast<uint64_t>(RealClock()->WallNowUs());
  state->options = std::move(options);
  PEGASUS_RETURN_IF_ERROR(
      PosixFileSystem()->CreateDirs(state->options.data_dir));
  PEGASUS_RETURN_IF_ERROR(state->StartMeta());
  state->servers.resize(state->options.replica_servers);
  for (int i = 0; i < state->options.replica_servers; ++i) {
    PEGASUS_RETURN_IF_ERROR(state->StartServer(i));
  }
  const NodeId client_id{static_cast<uint64_t>(state->options.replica_servers) +
                         2};
  state->client = std::make_unique<ClientProcess>(
      client_id, state->network, state->cuts, state->NextSeed());
  ClientOptions client = state->options.client;
  client.meta = MetaNode();
  state->client->client =
      Client::Create({RealClock(), state->client->base.pool.Strand(0),
                      &state->client->base.transport, &state->client->base.rng},
                     client);
  return std::unique_ptr<InProcessCluster>(
      new InProcessCluster(std::move(state)));
}

InProcessCluster::InProcessCluster(std::unique_ptr<State> state)
    : state_(std::move(state)) {}

InProcessCluster::~InProcessCluster() {
  state_->client.reset();
  for (auto& server : state_->servers) server.reset();
  state_->meta.reset();
}

Client& InProcessCluster::client() { return *state_->client->client; }

int InProcessCluster::replica_servers() const {
  return state_->options.replica_servers;
}

namespace {

// Asks the meta server for the cluster's health every 20 ms on the
// client's strand (a timer, not a sleeping thread) until every partition is
// healthy or the deadline passes, then answers once.
struct HealthPoll : std::enable_shared_from_this<HealthPoll> {
  Client* client = nullptr;
  Executor* strand = nullptr;
  Clock* clock = nullptr;
  int64_t deadline_ns = 0;
  std::string last = "no answer yet";
  absl::AnyInvocable<void(absl::Status)> done;

  void Ask() {
    client->ClusterInfo(
        [self = shared_from_this()](
            absl::StatusOr<proto::ClusterInfoResponse> info) {
          self->OnInfo(std::move(info));
        },
        OpOptions{.timeout_ns = 1'000'000'000});
  }

  void OnInfo(absl::StatusOr<proto::ClusterInfoResponse> info) {
    if (info.ok() && info->healthy_partitions() > 0 &&
        info->writable_ill_partitions() == 0 &&
        info->unwritable_partitions() == 0 &&
        info->unreadable_partitions() == 0 && info->dead_partitions() == 0) {
      return done(absl::OkStatus());
    }
    last = info.ok() ? info->ShortDebugString() : info.status().ToString();
    if (clock->MonotonicNowNs() >= deadline_ns) {
      return done(PegasusError(ErrorCode::kTimeout,
                               "the cluster is not healthy yet: " + last));
    }
    strand->ScheduleAfter(20'000'000,
                          [self = shared_from_this()] { self->Ask(); });
  }
};

}  // namespace

absl::Status InProcessCluster::WaitHealthy(absl::Duration timeout) {
  auto poll = std::make_shared<HealthPoll>();
  poll->client = &client();
  poll->strand = state_->client->base.pool.Strand(0);
  poll->clock = RealClock();
  poll->deadline_ns =
      poll->clock->MonotonicNowNs() + absl::ToInt64Nanoseconds(timeout);
  absl::Notification answered;
  absl::Status result;
  poll->done = [&](absl::Status status) {
    result = std::move(status);
    answered.Notify();
  };
  poll->strand->Post([poll] { poll->Ask(); });
  answered.WaitForNotification();
  return result;
}

void InProcessCluster::KillServer(int i) { state_->servers.at(i).reset(); }

absl::Status InProcessCluster::RestartServer(int i) {
  PEGASUS_CHECK(state_->servers.at(i) == nullptr) << "server " << i << " is up";
  return state_->StartServer(i);
}

bool InProcessCluster::ServerUp(int i) const {
  return state_->servers.at(i) != nullptr;
}

void InProcessCluster::KillMeta() { state_->meta.reset(); }

absl::Status InProcessCluster::RestartMeta() {
  PEGASUS_CHECK(state_->meta == nullptr) << "the meta server is up";
  return state_->StartMeta();
}

void InProcessCluster::Partition(const std::vector<NodeId>& a,
                                 const std::vector<NodeId>& b) {
  for (NodeId x : a) {
    for (NodeId y : b) state_->cuts->Cut(x, y);
  }
}

void InProcessCluster::Heal() { state_->cuts->Clear(); }

}  // namespace pegasus
