// The harness of the ReplicaHost tests: ReplicaHost driven end to end on
// the simulator's deterministic world (testing/sim). A meta server process
// runs the real MetaCore, replica server processes each run one ReplicaHost
// over the memory engine on a simulated disk (a crash loses what was not
// synced), and a client process speaks the host's RPC methods (wire.h).
// Everything runs in virtual time from one seed, so each test is the same
// run every time, and takes a few tens of simulated seconds at most.

#ifndef PEGASUS_REPLICATION_REPLICA_HOST_TEST_HARNESS_H_
#define PEGASUS_REPLICATION_REPLICA_HOST_TEST_HARNESS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pegasus/base/check.h"
#include "pegasus/base/coding.h"
#include "pegasus/base/ids.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/meta_core.h"
#include "pegasus/meta/meta_store.h"
#include "pegasus/proto/data.pb.h"
#include "pegasus/proto/partition_config.h"
#include "pegasus/proto/replication.pb.h"
#include "pegasus/replication/core/replica.h"
#include "pegasus/replication/replica_host.h"
#include "pegasus/replication/wire.h"
#include "pegasus/runtime/rpc.h"
#include "pegasus/storage/data_codec.h"
#include "pegasus/storage/memory/memory_engine.h"
#include "testing/sim/cluster.h"
#include "testing/sim/network.h"
#include "testing/sim/process.h"
#include "testing/sim/world.h"

namespace pegasus::replication::host_test {

inline constexpr int64_t kMs = 1'000'000;
inline constexpr int64_t kSecond = 1000 * kMs;
inline constexpr int32_t kAppId = 1;
// The servers stop serving (lease) before the meta server declares them
// dead (grace), as in the simulator's runs.
inline constexpr int64_t kLeaseNs = 3 * kSecond;
inline constexpr int64_t kGraceNs = 5 * kSecond;
// The meta server is process 0, hence node 1.
inline constexpr int kMetaProcess = 0;
inline constexpr NodeId kMetaNode{1};
// Generous for what takes a few simulated seconds: a fresh cluster assigning
// every partition its primary and secondaries, a restarted primary taking a
// new ballot, or a partition rebuilt on another host once the meta server
// declared a member dead (add_secondary_delay_ns = 1 s, then learning).
inline constexpr int64_t kSettleNs = 20 * kSecond;

// A ReplicaHost as the service of a simulated process: destroyed when the
// process crashes, built again from its disk when it restarts.
class HostService final : public sim::Service {
 public:
  explicit HostService(std::unique_ptr<ReplicaHost> host)
      : host_(std::move(host)) {}
  const ReplicaHost& host() const { return *host_; }

 private:
  std::unique_ptr<ReplicaHost> host_;
};

// The test's hands on the network: an RPC endpoint for well-formed calls and
// notifications, and the bare transport for bytes that are no RPC at all.
class ClientService final : public sim::Service {
 public:
  explicit ClientService(const sim::ProcessEnv& env)
      : transport_(env.transport),
        rpc_(env.transport, env.executor, env.random->Next64() | 1) {}
  RpcEndpoint& rpc() { return rpc_; }
  Transport& transport() { return *transport_; }

 private:
  Transport* transport_;
  RpcEndpoint rpc_;
};

// What a test compares before and after something that must change nothing.
struct ReplicaState {
  ReplicaStatus status;
  Ballot ballot;
  Decree last_committed;
  Decree last_prepared;
  Decree last_applied;
  bool operator==(const ReplicaState&) const = default;
};
struct HostState {
  bool lease_valid;
  uint64_t client_writes;
  uint64_t applies;
  std::map<Gpid, ReplicaState> replicas;
  bool operator==(const HostState&) const = default;
};

inline std::string Describe(const std::vector<HostState>& hosts) {
  std::string out;
  for (size_t h = 0; h < hosts.size(); ++h) {
    absl::StrAppend(&out, "host ", h, " lease=", hosts[h].lease_valid,
                    " client_writes=", hosts[h].client_writes,
                    " applies=", hosts[h].applies, "\n");
    for (const auto& [gpid, r] : hosts[h].replicas) {
      absl::StrAppend(
          &out, "  ", gpid.ToString(), " ", ReplicaStatusName(r.status),
          " ballot=", r.ballot, " committed=", r.last_committed,
          " prepared=", r.last_prepared, " applied=", r.last_applied, "\n");
    }
  }
  return out;
}

inline proto::DataRequest Put(Gpid gpid, const std::string& hash_key,
                              const std::string& value) {
  proto::DataRequest request;
  request.set_app_id(gpid.app_id);
  request.set_partition_index(gpid.partition_index);
  request.mutable_put()->set_hash_key(hash_key);
  request.mutable_put()->set_sort_key("s");
  request.mutable_put()->set_value(value);
  return request;
}

inline proto::DataRequest Get(Gpid gpid, const std::string& hash_key) {
  proto::DataRequest request;
  request.set_app_id(gpid.app_id);
  request.set_partition_index(gpid.partition_index);
  request.mutable_get()->set_hash_key(hash_key);
  request.mutable_get()->set_sort_key("s");
  return request;
}

class ReplicaHostTest : public testing::Test, public sim::EventGate {
 protected:
  struct Shape {
    int hosts = 2;
    int32_t partitions = 2;
    int32_t replicas = 2;
    int max_last_drops = 6;         // The meta server's.
    int32_t min_replica_count = 2;  // The replicas'.
  };

  ReplicaHostTest() : world_(/*seed=*/7) {
    world_.set_gate(this);
    sim::NetworkOptions network;
    network.latency_min_ns = 200'000;
    network.latency_mean_ns = 300'000;
    network_ = std::make_unique<sim::SimNetwork>(
        &world_, network, world_.NewRandom("network"),
        [this](int from, int to, const std::string& message) {
          if (to < 0 || to >= static_cast<int>(processes_.size())) return false;
          if (from == kMetaProcess && to == hold_proposals_to_ &&
              IsProposal(message)) {
            held_.push_back(message);
            return true;
          }
          return processes_[to]->Receive(
              NodeId{static_cast<uint64_t>(from) + 1}, message);
        });
  }

  void TearDown() override {
    for (const std::string& failure : failures_) ADD_FAILURE() << failure;
  }

  // sim::EventGate: each process takes its own events, as the simulator's.
  std::optional<int64_t> Admit(const sim::EventOwner& owner,
                               int64_t now_ns) override {
    if (owner.process >= static_cast<int>(processes_.size())) {
      return std::nullopt;
    }
    return processes_[owner.process]->Admit(owner, now_ns);
  }
  void BeginEvent(const sim::EventOwner& owner) override {
    ++events_run_[{owner.process, owner.strand}];
    processes_[owner.process]->BeginEvent(world_.now_ns(), owner.strand);
  }
  void EndEvent(const sim::EventOwner& owner) override {
    processes_[owner.process]->EndEvent();
  }

  // The meta server (process 0) with one table, `hosts` replica servers
  // (processes 1..hosts) and a client (the last process), all started.
  void Build(Shape shape) {
    shape_ = shape;
    const int total = shape.hosts + 2;
    for (int i = 0; i < total; ++i) {
      sim::ProcessOptions options;
      options.has_disk = i > kMetaProcess && i <= shape.hosts;
      processes_.push_back(std::make_unique<sim::SimProcess>(
          &world_, network_.get(), i, NodeId{static_cast<uint64_t>(i) + 1},
          absl::StrCat("p", i), options));
    }
    StartMeta();
    for (int h = 0; h < shape.hosts; ++h) StartHost(h);
    ASSERT_TRUE(
        processes_.back()
            ->Start([](const sim::ProcessEnv& env)
                        -> absl::StatusOr<std::unique_ptr<sim::Service>> {
              return std::make_unique<ClientService>(env);
            })
            .ok());
  }

  void StartMeta() {
    sim::MetaServiceOptions options;
    options.meta.grace_ns = kGraceNs;
    options.meta.lease_ns = kLeaseNs;
    options.meta.add_secondary_delay_ns = kSecond;
    options.meta.max_last_drops = shape_.max_last_drops;
    // These tests crash most of a small cluster: never freeze.
    options.meta.min_live_nodes = 1;
    options.meta.min_live_node_percent = 0;
    options.tables.push_back(
        sim::TableSpec{"temp", shape_.partitions, shape_.replicas});
    options.medium = meta_medium_;
    absl::Status started = processes_[kMetaProcess]->Start(
        [&](const sim::ProcessEnv& env)
            -> absl::StatusOr<std::unique_ptr<sim::Service>> {
          PEGASUS_ASSIGN_OR_RETURN(std::unique_ptr<sim::MetaService> meta,
                                   sim::MetaService::Start(env, options));
          return std::unique_ptr<sim::Service>(std::move(meta));
        });
    ASSERT_TRUE(started.ok()) << started;
  }

  // Starts host `h` from whatever its disk holds.
  void StartHost(int h) {
    absl::Status started = TryStartHost(h);
    ASSERT_TRUE(started.ok()) << started;
  }

  // As StartHost; the error, if the host refuses to start, is returned.
  absl::Status TryStartHost(int h) {
    return processes_[ProcessOf(h)]->Start(
        [this, h](const sim::ProcessEnv& env)
            -> absl::StatusOr<std::unique_ptr<sim::Service>> {
          ReplicaHostOptions options;
          options.self = env.self;
          options.meta = kMetaNode;
          options.env = sim::ReplicaHostEnv(env);
          options.lease_ns = kLeaseNs;
          // Often, so that runs collect logs and learn from checkpoints.
          options.checkpoint_interval_ns = 2'000'000'000;
          options.replica.min_replica_count = shape_.min_replica_count;
          options.check_invariants = true;
          options.open_engine = [fs = env.file_system,
                                 clock = env.clock](const std::string& dir) {
            MemoryEngineOptions engine;
            engine.file_system = fs;
            engine.clock = clock;
            return OpenMemoryEngine(dir, engine);
          };
          options.on_fatal = [this, h](Gpid gpid, const absl::Status& status) {
            failures_.push_back(absl::StrCat("host ", h, " replica ",
                                             gpid.ToString(),
                                             " stopped: ", status.ToString()));
          };
          PEGASUS_ASSIGN_OR_RETURN(std::unique_ptr<ReplicaHost> host,
                                   ReplicaHost::Start(options));
          return std::make_unique<HostService>(std::move(host));
        });
  }

  // A power failure of host `h`: the host is destroyed mid-flight and its
  // disk keeps only what was synced.
  void CrashHost(int h) { processes_[ProcessOf(h)]->Crash("test"); }

  // --- Looking ----------------------------------------------------------

  int host_count() const { return shape_.hosts; }
  static int ProcessOf(int h) { return h + 1; }
  static NodeId NodeOf(int h) { return NodeId{static_cast<uint64_t>(h) + 2}; }
  NodeId client_node() const { return NodeId{processes_.size()}; }
  static int HostOf(NodeId node) { return static_cast<int>(node.value) - 2; }

  const ReplicaHost& Host(int h) {
    sim::Service* service = processes_[ProcessOf(h)]->service();
    PEGASUS_CHECK(service != nullptr) << "host " << h << " is down";
    return static_cast<const HostService*>(service)->host();
  }
  const MetaCore& Meta() {
    return static_cast<sim::MetaService*>(processes_[kMetaProcess]->service())
        ->core();
  }
  // Empty (ballot 0, no members) until the table's creation reaches it.
  const proto::PartitionConfig& MetaConfig(Gpid gpid) {
    const proto::PartitionConfig* config = Meta().GetConfig(gpid);
    return config != nullptr ? *config
                             : proto::PartitionConfig::default_instance();
  }
  std::vector<Gpid> Partitions() const {
    std::vector<Gpid> gpids;
    for (int32_t p = 0; p < shape_.partitions; ++p) {
      gpids.push_back(Gpid{kAppId, p});
    }
    return gpids;
  }
  // The host of the meta server's first secondary of `gpid`.
  int FirstSecondaryOf(Gpid gpid) {
    return HostOf(NodeId{MetaConfig(gpid).secondaries(0)});
  }
  // The host the meta server names primary of `gpid`, or -1.
  int PrimaryOf(Gpid gpid) {
    const uint64_t primary = MetaConfig(gpid).primary();
    return primary == 0 ? -1 : HostOf(NodeId{primary});
  }

  // Whether `gpid` is fully served as the meta server has it: a full set of
  // members, the primary's replica primary under the meta server's ballot
  // and serving reads, each secondary's replica secondary under it.
  bool Served(Gpid gpid) {
    const proto::PartitionConfig& config = MetaConfig(gpid);
    if (config.primary() == 0 ||
        config.secondaries_size() + 1 != shape_.replicas) {
      return false;
    }
    auto is = [&](uint64_t node, ReplicaStatus status) {
      const int h = HostOf(NodeId{node});
      if (!processes_[ProcessOf(h)]->up()) return false;
      const Replica* replica = Host(h).replica(gpid);
      return replica != nullptr && replica->status() == status &&
             replica->ballot() == config.ballot();
    };
    if (!is(config.primary(), ReplicaStatus::kPrimary) ||
        !Host(HostOf(NodeId{config.primary()}))
             .replica(gpid)
             ->serving_reads()) {
      return false;
    }
    for (uint64_t secondary : config.secondaries()) {
      if (!is(secondary, ReplicaStatus::kSecondary)) return false;
    }
    return true;
  }
  bool AllServed() {
    for (Gpid gpid : Partitions()) {
      if (!Served(gpid)) return false;
    }
    return true;
  }

  std::vector<HostState> Snapshot() {
    std::vector<HostState> out;
    for (int h = 0; h < host_count(); ++h) {
      const ReplicaHost& host = Host(h);
      HostState state{host.lease_valid(),
                      host.stats().client_writes,
                      host.stats().applies,
                      {}};
      host.ForEachReplica(
          [&](Gpid gpid, const Replica& replica, const StorageEngine& storage) {
            state.replicas[gpid] = ReplicaState{
                replica.status(), replica.ballot(), replica.last_committed(),
                replica.last_prepared(), storage.LastAppliedDecree()};
          });
      out.push_back(std::move(state));
    }
    return out;
  }

  // Bytes no parser accepts, for host `h`. Besides plain junk, messages
  // that would each change partition 1.0 on `h` (raise its ballot, make `h`
  // its primary, write a value) were they read, each made malformed by one
  // bad last byte: a parser that kept what it read before the error would
  // let them through.
  std::vector<std::string> Garbage(int h) {
    std::vector<std::string> out = {
        std::string("\xff", 1),           // A tag cut short.
        std::string("\x0f", 1),           // Wire type 7 does not exist.
        std::string("\x00", 1),           // Field number 0.
        std::string("\x0a\x7f") + "abc",  // A length beyond the end.
        std::string(16, '\xff'),          // A varint over ten bytes.
    };
    const Gpid gpid{kAppId, 0};
    const std::string bad_tail = "\xff";
    proto::PartitionConfig forged = MetaConfig(gpid);
    forged.set_ballot(forged.ballot() + 100);
    forged.set_primary(client_node().value);
    forged.clear_secondaries();
    forged.add_secondaries(NodeOf(h).value);
    proto::PrepareRequest prepare;
    *prepare.mutable_config() = forged;
    prepare.mutable_mutation()->set_ballot(forged.ballot());
    prepare.mutable_mutation()->set_decree(
        Host(h).replica(gpid)->last_prepared() + 1);
    out.push_back(prepare.SerializeAsString() + bad_tail);
    proto::GroupCheckRequest group_check;
    *group_check.mutable_config() = forged;
    group_check.set_last_committed(1000);
    out.push_back(group_check.SerializeAsString() + bad_tail);
    proto::ConfigProposal proposal;
    *proposal.mutable_config() = forged;
    proposal.mutable_config()->set_primary(NodeOf(h).value);
    proposal.mutable_config()->clear_secondaries();
    proposal.set_type(proto::CONFIG_ASSIGN_PRIMARY);
    proposal.set_node(NodeOf(h).value);
    out.push_back(proposal.SerializeAsString() + bad_tail);
    out.push_back(Put(gpid, "k", "forged").SerializeAsString() + bad_tail);
    return out;
  }

  // --- Running ----------------------------------------------------------

  // Runs events until `done` holds, for at most `limit_ns` of simulated
  // time. Returns whether it holds.
  bool RunUntil(absl::FunctionRef<bool()> done, int64_t limit_ns) {
    const int64_t deadline = world_.now_ns() + limit_ns;
    while (!done()) {
      if (!world_.Step(deadline)) {
        world_.RunUntil(deadline);
        return done();
      }
    }
    return true;
  }
  void RunFor(int64_t ns) { world_.RunUntil(world_.now_ns() + ns); }

  // Whether `message` is a ConfigProposal notification (rpc.cc's wire
  // format: [u8 3][u32 method, big-endian][payload]).
  static bool IsProposal(const std::string& message) {
    return message.size() >= 5 && message[0] == 3 &&
           DecodeBigEndian32(message.data() + 1) == kConfigProposalMethod;
  }
  // Delivers what the network held back for host `h`, as late as now.
  void DeliverHeld(int h) {
    const int p = ProcessOf(h);
    for (const std::string& message : std::exchange(held_, {})) {
      processes_[p]->Post(
          [this, p, message] { processes_[p]->Receive(kMetaNode, message); });
    }
    RunFor(0);
  }

  // Runs `fn` as an event of the client process, as RPC requires.
  void OnClient(absl::AnyInvocable<void()> fn) {
    processes_.back()->Post(std::move(fn));
    RunFor(0);
  }
  ClientService& client() {
    return *static_cast<ClientService*>(processes_.back()->service());
  }

  // Calls host `h`'s `method` with raw bytes and waits for the answer (or
  // the call's timeout).
  absl::StatusOr<std::string> Call(int h, RpcMethod method,
                                   std::string payload) {
    auto answer =
        std::make_shared<std::optional<absl::StatusOr<std::string>>>();
    OnClient([&, answer] {
      client().rpc().Call(NodeOf(h), method, std::move(payload),
                          CallOptions{.timeout_ns = kSecond},
                          [answer](absl::StatusOr<std::string> response) {
                            *answer = std::move(response);
                          });
    });
    // The call's own timeout answers it first.
    if (!RunUntil([&] { return answer->has_value(); }, 2 * kSecond)) {
      return PegasusError(ErrorCode::kTimeout, "the call never finished");
    }
    return **answer;
  }
  // Sends `request` to host `h` without waiting for it (inside OnClient, so
  // that several go out at once); its response, or the RPC's failure as
  // one, is added to `answers`.
  void SendData(int h, const proto::DataRequest& request,
                std::shared_ptr<std::vector<proto::DataResponse>> answers) {
    client().rpc().Call(
        NodeOf(h), kDataMethod, request.SerializeAsString(),
        CallOptions{.timeout_ns = kSecond},
        [answers](absl::StatusOr<std::string> bytes) {
          proto::DataResponse response;
          if (!bytes.ok() || !response.ParseFromString(*bytes)) {
            StatusToProto(bytes.ok() ? PegasusError(ErrorCode::kInvalidArgument,
                                                    "unparsable")
                                     : bytes.status(),
                          &response);
          }
          answers->push_back(std::move(response));
        });
  }
  // A data request to host `h`; the response, or the RPC's own failure.
  absl::StatusOr<proto::DataResponse> Data(int h, const std::string& request) {
    PEGASUS_ASSIGN_OR_RETURN(std::string bytes, Call(h, kDataMethod, request));
    proto::DataResponse response;
    if (!response.ParseFromString(bytes)) {
      return PegasusError(ErrorCode::kInvalidArgument, "unparsable response");
    }
    return response;
  }
  absl::StatusOr<proto::DataResponse> Data(int h,
                                           const proto::DataRequest& request) {
    return Data(h, request.SerializeAsString());
  }
  // The name of the Pegasus error a data request is answered with
  // ("PERR_OK" for none; PERR_TIMEOUT and the like when the RPC failed).
  std::string DataError(int h, const proto::DataRequest& request) {
    return DataError(h, request.SerializeAsString());
  }
  std::string DataError(int h, const std::string& request) {
    absl::StatusOr<proto::DataResponse> response = Data(h, request);
    const ErrorCode code = response.ok()
                               ? static_cast<ErrorCode>(response->error())
                               : ToErrorCode(response.status());
    return std::string(ErrorCodeName(code));
  }
  // Writes `value` at `hash_key` through `gpid`'s primary; returns its
  // decree once acknowledged.
  Decree MustPut(Gpid gpid, const std::string& hash_key,
                 const std::string& value) {
    const int primary = PrimaryOf(gpid);
    PEGASUS_CHECK_GE(primary, 0);
    absl::StatusOr<proto::DataResponse> response =
        Data(primary, Put(gpid, hash_key, value));
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok()) return 0;
    EXPECT_EQ(response->error(), 0) << response->error_message();
    EXPECT_GT(response->decree(), 0);
    return response->decree();
  }
  // What `gpid`'s primary reads at `hash_key`, or why it could not.
  std::string ReadAtPrimary(Gpid gpid, const std::string& hash_key) {
    const int primary = PrimaryOf(gpid);
    if (primary < 0) return "<no primary>";
    absl::StatusOr<proto::DataResponse> response =
        Data(primary, Get(gpid, hash_key));
    if (!response.ok()) return response.status().ToString();
    if (response->error() != 0) {
      return absl::StrCat("<error ", response->error(), ": ",
                          response->error_message(), ">");
    }
    return response->value();
  }

  // Tasks and timers a process has run on the strands it handed out (its
  // replicas'), not on its own (the host strand's deliveries and sends).
  uint64_t ReplicaStrandEvents(int process) const {
    uint64_t events = 0;
    for (const auto& [owner, count] : events_run_) {
      if (owner.first == process && owner.second != 0) events += count;
    }
    return events;
  }

  sim::World world_;
  // Events run, by process and strand.
  std::map<std::pair<int, int>, uint64_t> events_run_;
  std::shared_ptr<InMemoryMetaStore::Medium> meta_medium_ =
      std::make_shared<InMemoryMetaStore::Medium>();
  std::vector<std::string> failures_;
  Shape shape_;
  // The meta server's proposals to this process are held back in held_,
  // until DeliverHeld.
  int hold_proposals_to_ = -1;
  std::vector<std::string> held_;
  std::unique_ptr<sim::SimNetwork> network_;
  // Last: the hosts in them point at everything above.
  std::vector<std::unique_ptr<sim::SimProcess>> processes_;
};

}  // namespace pegasus::replication::host_test

#endif  // PEGASUS_REPLICATION_REPLICA_HOST_TEST_HARNESS_H_
