// A whole cluster in the simulator's deterministic world, for tests of what
// runs on top of it: a meta server (process 0, node 1), replica servers
// (processes 1..servers, nodes 2..servers+1) over the memory engine on
// simulated disks, and one client process (the last) running the C++
// client. Everything runs in virtual time from one seed.
//
//   SimCluster cluster({.servers = 3});
//   ASSERT_TRUE(cluster.RunUntil([&] { return cluster.AllHealthy(); }, 20s));
//   absl::Status set = cluster.Await<absl::Status>([&](auto done) {
//     table->Set("h", "s", "v", 0, std::move(done));
//   });
//
// Thread-safety: none; the test's thread runs the world.

#ifndef PEGASUS_TESTING_SIM_SIM_CLUSTER_H_
#define PEGASUS_TESTING_SIM_SIM_CLUSTER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "pegasus/client/client.h"
#include "pegasus/meta/meta_core.h"
#include "pegasus/meta/meta_store.h"
#include "pegasus/replication/replica_host.h"
#include "testing/sim/cluster.h"
#include "testing/sim/network.h"
#include "testing/sim/process.h"
#include "testing/sim/world.h"

namespace pegasus::sim {

struct SimClusterOptions {
  uint64_t seed = 1;
  int servers = 3;
  // Created at the meta server's first start ("temp" is app 1).
  std::vector<TableSpec> tables = {TableSpec{}};
  MetaOptions meta;
  int64_t lease_ns = 3'000'000'000;
  ClientOptions client;
};

class SimCluster : public EventGate {
 public:
  explicit SimCluster(SimClusterOptions options);
  ~SimCluster() override;

  SimCluster(const SimCluster&) = delete;
  SimCluster& operator=(const SimCluster&) = delete;

  World& world() { return world_; }
  SimNetwork& network() { return *network_; }
  int64_t now_ns() const { return world_.now_ns(); }

  // Runs the world until `done` holds (true) or `limit_ns` of simulated
  // time passed (false).
  bool RunUntil(absl::FunctionRef<bool()> done, int64_t limit_ns);
  void RunFor(int64_t ns);

  // Starts `op` on the client's strand with a callback, runs the world
  // until the callback ran (or `limit_ns` passed: nullopt), and returns
  // what it was given.
  template <typename T>
  std::optional<T> Await(
      absl::AnyInvocable<void(absl::AnyInvocable<void(T)>)> op,
      int64_t limit_ns = 30'000'000'000) {
    auto result = std::make_shared<std::optional<T>>();
    OnClient([op = std::move(op), result]() mutable {
      op([result](T value) { *result = std::move(value); });
    });
    RunUntil([&] { return result->has_value(); }, limit_ns);
    return std::move(*result);
  }

  // Runs `task` on the client process's strand.
  void OnClient(absl::AnyInvocable<void()> task);
  Client& client();

  // The process index and node of replica server `s` (0-based).
  static int ProcessOfServer(int s) { return s + 1; }
  static NodeId NodeOfServer(int s) {
    return NodeId{static_cast<uint64_t>(s) + 2};
  }
  int client_process() const { return options_.servers + 1; }

  void CrashServer(int s);
  void RestartServer(int s);
  void CrashMeta();
  void RestartMeta();
  bool server_up(int s) const;

  // The meta server's core (null while it is down), and a server's host
  // (null while it is down).
  const MetaCore* meta() const;
  const replication::ReplicaHost* host(int s) const;

  // Every partition of every available table has a primary and as many
  // members as its table asks for, each alive and serving its role at the
  // configuration's ballot.
  bool AllHealthy() const;

  // EventGate.
  std::optional<int64_t> Admit(const EventOwner& owner,
                               int64_t now_ns) override;
  void BeginEvent(const EventOwner& owner) override;
  void EndEvent(const EventOwner& owner) override;

 private:
  void StartMetaProcess();
  void StartServerProcess(int s);
  void StartClientProcess();

  const SimClusterOptions options_;
  World world_;
  std::unique_ptr<SimNetwork> network_;
  std::vector<std::unique_ptr<SimProcess>> processes_;
  std::shared_ptr<InMemoryMetaStore::Medium> meta_medium_;
};

}  // namespace pegasus::sim

#endif  // PEGASUS_TESTING_SIM_SIM_CLUSTER_H_
