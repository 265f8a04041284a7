// ReplicaHost driven end to end on the simulator's deterministic world
// (testing/sim): a meta server process running the real MetaCore, replica
// server processes each running one ReplicaHost over the memory engine on a
// simulated disk (a crash loses what was not synced), and a client process
// that speaks the host's RPC methods (wire.h). Everything runs in virtual
// time from one seed, so each test is the same run every time, and takes a
// few tens of simulated seconds at most.

#include "pegasus/replication/replica_host.h"

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
#include "pegasus/proto/meta.pb.h"
#include "pegasus/proto/partition_config.h"
#include "pegasus/proto/replication.pb.h"
#include "pegasus/replication/core/replica.h"
#include "pegasus/replication/wire.h"
#include "pegasus/runtime/rpc.h"
#include "pegasus/storage/memory/memory_engine.h"
#include "testing/sim/cluster.h"
#include "testing/sim/network.h"
#include "testing/sim/process.h"
#include "testing/sim/world.h"

namespace pegasus::replication {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSecond = 1000 * kMs;
constexpr int32_t kAppId = 1;
// The servers stop serving (lease) before the meta server declares them
// dead (grace), as in the simulator's runs.
constexpr int64_t kLeaseNs = 3 * kSecond;
constexpr int64_t kGraceNs = 5 * kSecond;
// The meta server is process 0, hence node 1.
constexpr int kMetaProcess = 0;
constexpr NodeId kMetaNode{1};
// Generous for what takes a few simulated seconds: a fresh cluster assigning
// every partition its primary and secondaries, a restarted primary taking a
// new ballot, or a partition rebuilt on another host once the meta server
// declared a member dead (add_secondary_delay_ns = 1 s, then learning).
constexpr int64_t kSettleNs = 20 * kSecond;

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

std::string Describe(const std::vector<HostState>& hosts) {
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

proto::DataRequest Put(Gpid gpid, const std::string& hash_key,
                       const std::string& value) {
  proto::DataRequest request;
  request.set_app_id(gpid.app_id);
  request.set_partition_index(gpid.partition_index);
  request.mutable_put()->set_hash_key(hash_key);
  request.mutable_put()->set_sort_key("s");
  request.mutable_put()->set_value(value);
  return request;
}

proto::DataRequest Get(Gpid gpid, const std::string& hash_key) {
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
    absl::Status started = processes_[ProcessOf(h)]->Start(
        [this, h](const sim::ProcessEnv& env)
            -> absl::StatusOr<std::unique_ptr<sim::Service>> {
          ReplicaHostOptions options;
          options.self = env.self;
          options.meta = kMetaNode;
          options.env = sim::ReplicaHostEnv(env);
          options.lease_ns = kLeaseNs;
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
    ASSERT_TRUE(started.ok()) << started;
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

  sim::World world_;
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

// Beacons earn the lease, the meta server assigns every partition, the
// hosts create exactly the replicas they are assigned, and a write through
// the primary's data RPC is acknowledged, applied on every member and
// readable from the primary alone.
TEST_F(ReplicaHostTest, ServesAssignedPartitionsAndAcknowledgedWrites) {
  Build({.hosts = 2, .partitions = 2, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));

  for (int h = 0; h < host_count(); ++h) {
    EXPECT_TRUE(Host(h).lease_valid()) << "host " << h;
    EXPECT_GT(Host(h).stats().beacons_answered, 0u) << "host " << h;
    std::set<Gpid> hosted;
    Host(h).ForEachReplica([&](Gpid gpid, const Replica&,
                               const StorageEngine&) { hosted.insert(gpid); });
    std::set<Gpid> assigned;
    for (Gpid gpid : Partitions()) {
      const proto::PartitionConfig& config = MetaConfig(gpid);
      bool member = config.primary() == NodeOf(h).value;
      for (uint64_t s : config.secondaries()) member |= s == NodeOf(h).value;
      if (member) assigned.insert(gpid);
    }
    EXPECT_EQ(hosted, assigned) << "host " << h;
  }

  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  const int secondary = FirstSecondaryOf(gpid);
  const Decree decree = MustPut(gpid, "k", "v");
  EXPECT_EQ(Host(primary).stats().client_writes, 1u);
  // Acknowledged means applied at the primary, and readable there.
  EXPECT_GE(Host(primary).storage(gpid)->LastAppliedDecree(), decree);
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "v");
  // The secondary learns the commit point from the next group check.
  EXPECT_TRUE(RunUntil(
      [&] {
        return Host(secondary).storage(gpid)->LastAppliedDecree() >= decree;
      },
      2 * kSecond));
  // Only the primary serves reads.
  EXPECT_EQ(DataError(secondary, Get(gpid, "k")), "PERR_SERVER_CHANGED");
}

// The ballot a replica acted under is in its `ballot` file, synced before
// anything is done under it: a host destroyed by a power failure comes back
// with every replica at a ballot no lower than before, even one no log
// record carries, and acknowledged writes stay readable.
TEST_F(ReplicaHostTest, BallotAndAcknowledgedWritesSurviveCrash) {
  Build({.hosts = 2, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);

  // Nothing was written yet: the log is empty, and the ballot (raised by
  // the primary's assignment and the secondary's addition) is on record in
  // the ballot file alone.
  const Ballot first = Host(primary).replica(gpid)->ballot();
  ASSERT_GT(first, 1);
  ASSERT_EQ(Host(primary).replica(gpid)->last_prepared(), 0);
  CrashHost(primary);
  EXPECT_EQ(processes_[ProcessOf(primary)]
                ->disk()
                ->ReadFile("/data/1.0/ballot")
                .value_or("<unreadable>"),
            std::to_string(first));
  StartHost(primary);
  ASSERT_NE(Host(primary).replica(gpid), nullptr);
  EXPECT_EQ(Host(primary).replica(gpid)->ballot(), first);
  EXPECT_EQ(Host(primary).replica(gpid)->status(), ReplicaStatus::kInactive);

  // Restarted inside the grace, it stays primary, under a new ballot (it
  // may not reuse the old one).
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  ASSERT_EQ(PrimaryOf(gpid), primary);
  const Ballot second = Host(primary).replica(gpid)->ballot();
  EXPECT_GT(second, first);

  std::map<std::string, std::string> acknowledged;
  Decree last = 0;
  for (int i = 0; i < 5; ++i) {
    const std::string key = absl::StrCat("k", i);
    last = MustPut(gpid, key, absl::StrCat("v", i));
    acknowledged[key] = absl::StrCat("v", i);
  }
  // Crashed right after the last acknowledgement, before the periodic
  // flush: storage loses the writes, and the log, which holds them all,
  // does not show the last one committed (only a later record would).
  ASSERT_LT(Host(primary).storage(gpid)->LastDurableDecree(), last);
  CrashHost(primary);
  StartHost(primary);
  ASSERT_NE(Host(primary).replica(gpid), nullptr);
  EXPECT_GE(Host(primary).replica(gpid)->ballot(), second);
  EXPECT_LT(Host(primary).replica(gpid)->last_committed(), last);
  EXPECT_EQ(Host(primary).replica(gpid)->last_prepared(), last);

  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  EXPECT_GT(Host(primary).replica(gpid)->ballot(), second);
  for (const auto& [key, value] : acknowledged) {
    EXPECT_EQ(ReadAtPrimary(gpid, key), value) << key;
  }
}

// A host whose beacons go unanswered loses its lease lease_ns after the last
// answered one was sent, before the meta server's grace runs out: every
// replica turns inactive and client requests are refused with
// PERR_SERVER_CHANGED. Once beacons are answered again the host syncs its
// configuration and every replica on it is back in its role.
TEST_F(ReplicaHostTest, LeaseLapseRefusesRequestsUntilBeaconsAreAnswered) {
  Build({.hosts = 2, .partitions = 2, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  const Ballot ballot = MetaConfig(gpid).ballot();
  MustPut(gpid, "k", "before");

  network_->CutBothWays(kMetaProcess, ProcessOf(primary));
  const int64_t cut_ns = world_.now_ns();
  const int64_t lease_until_ns = Host(primary).lease_until_ns();
  EXPECT_LE(lease_until_ns, cut_ns + kLeaseNs);
  ASSERT_TRUE(RunUntil([&] { return !Host(primary).lease_valid(); },
                       kLeaseNs + kSecond));
  // Not early: the host's clock runs at the world's speed here.
  EXPECT_GE(world_.now_ns(), lease_until_ns);
  EXPECT_EQ(Host(primary).stats().lease_lapses, 1u);
  // The server stopped serving while the meta server still counts it alive.
  EXPECT_EQ(Meta().GetNodeStatus(NodeOf(primary)), NodeStatus::kAlive);
  // Each replica turns inactive at its next step, which the lapse gives it
  // at once (on its own strand, so a moment later).
  const int64_t noticed_ns = world_.now_ns();
  ASSERT_TRUE(RunUntil(
      [&] {
        bool all_inactive = true;
        Host(primary).ForEachReplica(
            [&](Gpid, const Replica& replica, const StorageEngine&) {
              all_inactive = all_inactive &&
                             replica.status() == ReplicaStatus::kInactive &&
                             !replica.serving_reads();
            });
        return all_inactive;
      },
      kSecond));
  EXPECT_LT(world_.now_ns() - noticed_ns, kSecond / 1000);

  const Decree applied = Host(primary).storage(gpid)->LastAppliedDecree();
  EXPECT_EQ(DataError(primary, Get(gpid, "k")), "PERR_SERVER_CHANGED");
  EXPECT_EQ(DataError(primary, Put(gpid, "k", "during")),
            "PERR_SERVER_CHANGED");
  RunFor(kSecond / 2);
  EXPECT_EQ(Host(primary).storage(gpid)->LastAppliedDecree(), applied);

  network_->Heal();
  ASSERT_LT(world_.now_ns() - cut_ns, kGraceNs);
  ASSERT_TRUE(RunUntil(
      [&] { return Host(primary).lease_valid() && AllServed(); }, kSettleNs));
  // Never declared dead, it kept the partition, and took a new ballot to
  // serve it again.
  EXPECT_EQ(PrimaryOf(gpid), primary);
  EXPECT_GT(MetaConfig(gpid).ballot(), ballot);
  EXPECT_EQ(Host(primary).stats().lease_lapses, 1u);
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "before");
  MustPut(gpid, "k", "after");
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "after");
}

// A host cut off from the meta server past the grace is declared dead and
// dropped from its partition, which the meta server rebuilds on another
// host. When the host is back, the configuration sync answers for the
// replica it reports too: the replica learns it is no member, stays
// inactive under the current ballot and refuses every request, while the
// partition is served without it.
TEST_F(ReplicaHostTest, ConfigSyncTellsAMovedAwayReplicaItIsNoMember) {
  Build({.hosts = 3, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  const int dropped = FirstSecondaryOf(gpid);
  const Decree decree = MustPut(gpid, "k", "v");

  network_->CutBothWays(kMetaProcess, ProcessOf(dropped));
  auto moved = [&] {
    return !IsMember(MetaConfig(gpid), NodeOf(dropped)) && AllServed();
  };
  ASSERT_TRUE(RunUntil(moved, kSettleNs));
  EXPECT_EQ(Meta().GetNodeStatus(NodeOf(dropped)), NodeStatus::kDead);
  EXPECT_EQ(Host(dropped).stats().lease_lapses, 1u);
  EXPECT_EQ(PrimaryOf(gpid), primary);
  const Ballot stale_ballot = Host(dropped).replica(gpid)->ballot();
  EXPECT_LT(stale_ballot, MetaConfig(gpid).ballot());

  network_->Heal();
  const uint64_t beacons = Host(dropped).stats().beacons_answered;
  ASSERT_TRUE(RunUntil(
      [&] {
        return Host(dropped).lease_valid() &&
               Host(dropped).stats().beacons_answered > beacons;
      },
      2 * kSecond));
  // Several syncs.
  RunFor(3 * kSecond);
  ASSERT_TRUE(Host(dropped).lease_valid());
  EXPECT_EQ(Meta().GetNodeStatus(NodeOf(dropped)), NodeStatus::kAlive);
  EXPECT_EQ(MetaConfig(gpid).secondaries_size(), 1);
  EXPECT_NE(MetaConfig(gpid).secondaries(0), NodeOf(dropped).value);

  // The sync's answer carried the partition's configuration, since the host
  // reported the replica: it stays (its data may yet be needed if every
  // member dies) and serves nothing, inactive under the current ballot.
  const Replica* stale = Host(dropped).replica(gpid);
  ASSERT_NE(stale, nullptr);
  EXPECT_EQ(stale->status(), ReplicaStatus::kInactive);
  EXPECT_EQ(stale->ballot(), MetaConfig(gpid).ballot());
  const std::set<std::string> refused = {"PERR_SERVER_CHANGED",
                                         "PERR_OBJECT_NOT_FOUND"};
  EXPECT_TRUE(refused.contains(DataError(dropped, Get(gpid, "k"))));
  EXPECT_TRUE(refused.contains(DataError(dropped, Put(gpid, "k", "stale"))));

  // The partition lives on without it: the new secondary learned the write.
  const int replacement = FirstSecondaryOf(gpid);
  EXPECT_GE(Host(replacement).storage(gpid)->LastAppliedDecree(), decree);
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "v");
  MustPut(gpid, "k", "v2");
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "v2");
}

// A secondary the primary had removed while both kept their leases (only
// the link between them broke) hears nothing more from its primary; the
// configuration sync tells it, and it stops acting as a secondary.
TEST_F(ReplicaHostTest, ConfigSyncTellsARemovedSecondaryItIsNoMember) {
  Build({.hosts = 3, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  const int removed = FirstSecondaryOf(gpid);
  const Ballot ballot = MetaConfig(gpid).ballot();

  network_->CutBothWays(ProcessOf(primary), ProcessOf(removed));
  // The write's prepare to the secondary fails, and the primary has it
  // removed.
  OnClient([&] {
    client().rpc().Call(NodeOf(primary), kDataMethod,
                        Put(gpid, "k", "v").SerializeAsString(),
                        CallOptions{.timeout_ns = 10 * kSecond},
                        [](absl::StatusOr<std::string>) {});
  });
  ASSERT_TRUE(RunUntil(
      [&] { return !IsMember(MetaConfig(gpid), NodeOf(removed)); },
      kSettleNs));
  RunFor(3 * kSecond);  // Several syncs.
  ASSERT_TRUE(Host(removed).lease_valid());
  EXPECT_EQ(PrimaryOf(gpid), primary);
  const Replica* replica = Host(removed).replica(gpid);
  ASSERT_NE(replica, nullptr);
  EXPECT_NE(replica->status(), ReplicaStatus::kSecondary);
  EXPECT_GT(replica->ballot(), ballot);
}

// A replica nobody needs any more (no member, and pushed out of the dropped
// nodes the meta server would recover from) is reclaimed when its server
// comes back: closed, its files deleted, and not reopened after a restart.
TEST_F(ReplicaHostTest, ReplicaNobodyNeedsIsReclaimedForGood) {
  Build({.hosts = 4, .partitions = 1, .replicas = 2, .max_last_drops = 1});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  MustPut(gpid, "k", "v");
  // The secondary dies and is replaced; then its replacement dies and is
  // replaced, which pushes the first out of the (one) dropped node kept.
  const int first = FirstSecondaryOf(gpid);
  CrashHost(first);
  ASSERT_TRUE(RunUntil(
      [&] { return !IsMember(MetaConfig(gpid), NodeOf(first)) && AllServed(); },
      kSettleNs));
  const int second = FirstSecondaryOf(gpid);
  CrashHost(second);
  ASSERT_TRUE(RunUntil(
      [&] {
        return !IsMember(MetaConfig(gpid), NodeOf(second)) && AllServed();
      },
      kSettleNs));
  ASSERT_FALSE(IsDropped(MetaConfig(gpid), NodeOf(first)));
  ASSERT_TRUE(IsDropped(MetaConfig(gpid), NodeOf(second)));

  StartHost(first);
  ASSERT_NE(Host(first).replica(gpid), nullptr) << "recovered from its disk";
  ASSERT_TRUE(RunUntil([&] { return Host(first).replica(gpid) == nullptr; },
                       kSettleNs));
  EXPECT_EQ(Host(first).stats().replicas_reclaimed, 1u);
  // Nothing is left but the mark (and the directories).
  FileSystem* disk = processes_[ProcessOf(first)]->disk();
  std::function<void(const std::string&)> expect_no_files =
      [&](const std::string& dir) {
        absl::StatusOr<std::vector<std::string>> names = disk->ListDir(dir);
        ASSERT_TRUE(names.ok()) << dir;
        for (const std::string& name : *names) {
          const std::string path = dir + "/" + name;
          if (disk->ListDir(path).ok()) {
            expect_no_files(path);
          } else {
            EXPECT_EQ(path, absl::StrCat("/data/", kAppId, ".0/reclaimed"));
          }
        }
      };
  expect_no_files(absl::StrCat("/data/", kAppId, ".0"));

  // A restart does not bring it back, and the partition never missed it.
  CrashHost(first);
  StartHost(first);
  RunFor(3 * kSecond);
  EXPECT_EQ(Host(first).replica(gpid), nullptr);
  EXPECT_TRUE(AllServed());
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "v");

  // Needed again (the last other node dies), it comes back empty over the
  // mark and learns everything.
  const int third = FirstSecondaryOf(gpid);
  CrashHost(third);
  ASSERT_TRUE(RunUntil(
      [&] { return IsMember(MetaConfig(gpid), NodeOf(first)) && AllServed(); },
      kSettleNs));
  EXPECT_EQ(Host(first).storage(gpid)->LastAppliedDecree(),
            Host(PrimaryOf(gpid)).replica(gpid)->last_committed());
  EXPECT_FALSE(
      disk->FileExists(absl::StrCat("/data/", kAppId, ".0/reclaimed")));
  MustPut(gpid, "k", "v2");
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "v2");
}

// Only the meta server changes configurations: a well-formed proposal from
// anyone else (here the client) that would make a secondary primary is
// ignored.
TEST_F(ReplicaHostTest, ProposalsFromOthersThanTheMetaServerAreIgnored) {
  Build({.hosts = 2, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  const int secondary = FirstSecondaryOf(gpid);
  const std::vector<HostState> before = Snapshot();

  proto::ConfigProposal forged;
  *forged.mutable_config() = MetaConfig(gpid);
  forged.mutable_config()->set_ballot(MetaConfig(gpid).ballot() + 1);
  forged.mutable_config()->set_primary(NodeOf(secondary).value);
  forged.mutable_config()->clear_secondaries();
  forged.mutable_config()->add_secondaries(NodeOf(primary).value);
  forged.set_type(proto::CONFIG_UPGRADE_TO_PRIMARY);
  forged.set_node(NodeOf(secondary).value);
  OnClient([&] {
    client().rpc().Notify(NodeOf(secondary), kConfigProposalMethod,
                          forged.SerializeAsString());
  });
  RunFor(kSecond);

  EXPECT_EQ(Host(secondary).replica(gpid)->status(),
            ReplicaStatus::kSecondary);
  EXPECT_EQ(Host(primary).replica(gpid)->status(), ReplicaStatus::kPrimary);
  EXPECT_EQ(Snapshot(), before);
  MustPut(gpid, "k", "v");
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "v");
}

// An operator moves the primary (balance move_pri): the meta server asks
// the primary to step down, the host hands the request to the replica,
// which stops serving and proposes its own downgrade; once that is
// persisted the meta server upgrades the target. Nothing written is lost,
// and the old primary serves no more.
TEST_F(ReplicaHostTest, MovedPrimaryStepsDownThroughItsOwnRequest) {
  Build({.hosts = 3, .partitions = 1, .replicas = 3});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int old_primary = PrimaryOf(gpid);
  const int target = FirstSecondaryOf(gpid);
  MustPut(gpid, "k", "v");
  const int64_t ballot = MetaConfig(gpid).ballot();

  proto::AdminRequest request;
  proto::BalanceRequest* balance = request.mutable_balance();
  balance->set_app_id(gpid.app_id);
  balance->set_partition_index(gpid.partition_index);
  balance->set_kind(proto::BalanceRequest::MOVE_PRIMARY);
  balance->set_from(NodeOf(old_primary).value);
  balance->set_to(NodeOf(target).value);
  auto answer = std::make_shared<std::optional<absl::StatusOr<std::string>>>();
  OnClient([&, answer] {
    client().rpc().Call(kMetaNode, kMetaAdminMethod,
                        request.SerializeAsString(),
                        CallOptions{.timeout_ns = kSecond},
                        [answer](absl::StatusOr<std::string> response) {
                          *answer = std::move(response);
                        });
  });
  ASSERT_TRUE(RunUntil([&] { return answer->has_value(); }, 2 * kSecond));
  ASSERT_TRUE(answer->value().ok()) << answer->value().status();
  proto::AdminResponse response;
  ASSERT_TRUE(response.ParseFromString(answer->value().value()));
  ASSERT_EQ(response.error(), 0) << response.error_message();

  ASSERT_TRUE(RunUntil(
      [&] { return PrimaryOf(gpid) == target && Served(gpid); }, kSettleNs));
  // Two changes: the old primary's own downgrade, then the upgrade.
  EXPECT_EQ(MetaConfig(gpid).ballot(), ballot + 2);
  EXPECT_EQ(Host(old_primary).replica(gpid)->status(),
            ReplicaStatus::kSecondary);
  EXPECT_EQ(Meta().stats().moves_finished, 1u);
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "v");
  EXPECT_EQ(DataError(old_primary, Get(gpid, "k")), "PERR_SERVER_CHANGED");
  MustPut(gpid, "k", "w");
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "w");
}

// Nothing the meta server sent before it declared a server dead is acted on
// once the server's lease is back, however late it comes. Here a new
// partition's assignment never reaches host 1 in time: host 1 is declared
// dead, comes back and syncs without the replica, and the meta server
// assigns the partition to host 0 under a newer ballot. When the old
// assignment arrives at last, host 1 creates nothing: made primary under the
// old ballot, with no secondaries, it would have served alongside host 0.
TEST_F(ReplicaHostTest, AnAssignmentThatOutlivedItsServersLeaseIsIgnored) {
  const int late = 1;
  const int other = 0;
  hold_proposals_to_ = ProcessOf(late);
  // The meta server hears only the late host at first, so it assigns the
  // partition there.
  network_->Cut(ProcessOf(other), kMetaProcess);
  Build({.hosts = 2, .partitions = 1, .replicas = 1, .min_replica_count = 1});
  const Gpid gpid{kAppId, 0};
  ASSERT_TRUE(RunUntil([&] { return !held_.empty(); }, kSettleNs));
  ASSERT_EQ(PrimaryOf(gpid), late);
  const Ballot assigned = MetaConfig(gpid).ballot();
  network_->Heal();
  network_->CutBothWays(kMetaProcess, ProcessOf(late));
  ASSERT_TRUE(RunUntil(
      [&] {
        return Meta().GetNodeStatus(NodeOf(late)) == NodeStatus::kDead;
      },
      kGraceNs + kSecond));
  network_->Heal();
  ASSERT_TRUE(RunUntil([&] { return Served(gpid); }, kSettleNs));
  ASSERT_EQ(PrimaryOf(gpid), other);
  ASSERT_GT(MetaConfig(gpid).ballot(), assigned + 1);
  ASSERT_TRUE(Host(late).lease_valid());
  ASSERT_EQ(Host(late).replica(gpid), nullptr);
  MustPut(gpid, "k", "v");

  DeliverHeld(late);
  RunFor(kSecond);
  EXPECT_EQ(Host(late).replica(gpid), nullptr);
  EXPECT_TRUE(Served(gpid));
  MustPut(gpid, "k", "w");
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "w");
}

// Bytes that parse as nothing, sent to every host as raw transport
// messages, as every replication notification and as client requests,
// change no replica, no storage and no lease, crash nothing, and create no
// replica. Client requests get an error answer; none is written.
TEST_F(ReplicaHostTest, MalformedPeerMessagesAndClientRequestsChangeNothing) {
  Build({.hosts = 2, .partitions = 2, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  for (Gpid gpid : Partitions()) MustPut(gpid, "k", "v");
  // Secondaries hear the last commit point, and idle primaries make their
  // one empty write, before the picture is taken.
  RunFor(3 * kSecond);
  const std::vector<HostState> before = Snapshot();

  for (int h = 0; h < host_count(); ++h) {
    const std::vector<std::string> garbage = Garbage(h);
    // Each must fail every parser it reaches, or the test proves little.
    for (const std::string& g : garbage) {
      EXPECT_FALSE(proto::DataRequest().ParseFromString(g));
      EXPECT_FALSE(proto::PrepareRequest().ParseFromString(g));
      EXPECT_FALSE(proto::PrepareResponse().ParseFromString(g));
      EXPECT_FALSE(proto::GroupCheckRequest().ParseFromString(g));
      EXPECT_FALSE(proto::GroupCheckResponse().ParseFromString(g));
      EXPECT_FALSE(proto::LearnRequest().ParseFromString(g));
      EXPECT_FALSE(proto::LearnResponse().ParseFromString(g));
      EXPECT_FALSE(proto::ConfigProposal().ParseFromString(g));
    }
    OnClient([&] {
      // Below the RPC layer: no RPC message at all.
      for (const std::string& bytes : garbage) {
        client().transport().Send(NodeOf(h), bytes);
      }
      client().transport().Send(NodeOf(h), "");
      client().transport().Send(NodeOf(h), std::string(64, '\0'));
      for (RpcMethod method :
           {kPrepareMethod, kPrepareResponseMethod, kGroupCheckMethod,
            kGroupCheckResponseMethod, kLearnMethod, kLearnResponseMethod,
            kConfigProposalMethod}) {
        for (const std::string& bytes : garbage) {
          client().rpc().Notify(NodeOf(h), method, bytes);
        }
      }
    });
    for (const std::string& bytes : garbage) {
      EXPECT_EQ(DataError(h, bytes), "PERR_INVALID_ARGUMENT");
    }
    // Well formed, but for a partition no host has, or a write the storage
    // layer refuses.
    EXPECT_EQ(DataError(h, Put(Gpid{kAppId + 1, 0}, "k", "x")),
              "PERR_OBJECT_NOT_FOUND");
    EXPECT_EQ(DataError(h, Get(Gpid{kAppId, shape_.partitions}, "k")),
              "PERR_OBJECT_NOT_FOUND");
    EXPECT_EQ(DataError(h, Put(Gpid{kAppId, 0}, "", "x")),
              "PERR_INVALID_HASH_KEY");
  }
  RunFor(2 * kSecond);

  for (int h = 0; h < host_count(); ++h) {
    EXPECT_TRUE(processes_[ProcessOf(h)]->up()) << "host " << h;
  }
  const std::vector<HostState> after = Snapshot();
  EXPECT_EQ(after, before) << "before:\n"
                           << Describe(before) << "after:\n"
                           << Describe(after);
  for (Gpid gpid : Partitions()) {
    EXPECT_EQ(ReadAtPrimary(gpid, "k"), "v");
  }
}

}  // namespace
}  // namespace pegasus::replication
