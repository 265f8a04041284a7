// A whole cluster inside the host process: a meta server and replica
// servers on real threads, the real storage engine in a directory, joined
// by an in-process network, and a client. For applications that embed
// Pegasus, and for their tests, which can kill, restart and partition the
// nodes.
//
//   InProcessClusterOptions options;
//   options.data_dir = "/tmp/pegasus";
//   auto cluster = InProcessCluster::Start(options);
//   PEGASUS_CHECK_OK((*cluster)->WaitHealthy(absl::Seconds(30)));
//   SyncClient client = (*cluster)->sync_client();
//   absl::StatusOr<SyncTable> table = client.OpenTable("temp");
//   table->Set("user1", "name", "ann");
//
// Layout under data_dir: `meta/` (the meta server's local-file store) and
// `server<i>/` per replica server (docs/replication.md describes a replica
// server's files). Starting again on the same directory recovers the
// cluster: tables, configurations and every acknowledged write.
//
// Each node runs on a thread pool of its own, so killing one (KillServer,
// KillMeta) stops its threads and destroys it mid-flight, as a process
// crash would: what it had not synced is up to the operating system, which
// keeps it (the files are real). RestartServer brings it back from its
// directory. Partition cuts the network between groups of nodes; Heal
// restores it.
//
// The test verbs are the same as the simulator's cluster
// (testing/sim/sim_cluster.h), which runs a cluster in virtual time from a
// seed, with every fault injectable and every run repeatable.
//
// Thread-safety: the methods may be called from any thread but not
// concurrently with each other, and never from the cluster's own threads
// (a client callback, say).

#ifndef PEGASUS_CLUSTER_IN_PROCESS_CLUSTER_H_
#define PEGASUS_CLUSTER_IN_PROCESS_CLUSTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pegasus/client/client.h"
#include "pegasus/client/sync_client.h"
#include "pegasus/meta/meta_options.h"
#include "pegasus/proto/meta.pb.h"

namespace pegasus {

struct InProcessClusterOptions {
  // Where everything lives. Required.
  std::string data_dir;
  // Replica servers. Default 3.
  int replica_servers = 3;
  enum class Engine { kRocksDb, kMemory };
  // The storage engine: RocksDB (default), or the in-memory engine, which
  // persists only at its checkpoints (faster; for tests).
  Engine engine = Engine::kRocksDb;
  // Worker threads per node. Default 2.
  int threads_per_node = 2;
  // Tables created on the first start. Default: "temp" with 8 partitions
  // and min(3, replica_servers) replicas.
  std::vector<proto::CreateTableRequest> tables;
  // The meta server's options. min_live_nodes is lowered to the number of
  // replica servers when it is more.
  MetaOptions meta;
  // The replica servers' lease; must be below meta.grace_ns. Default 3 s.
  int64_t lease_ns = 3'000'000'000;
  ClientOptions client;
  // Seeds the nodes' random choices (ids, backoff jitter); 0 draws one from
  // the wall clock.
  uint64_t seed = 0;
};

class InProcessCluster {
 public:
  // Starts the meta server, the replica servers and the client. Fails with
  // the first node's error (a corrupt store or replica, say).
  static absl::StatusOr<std::unique_ptr<InProcessCluster>> Start(
      InProcessClusterOptions options);
  // Stops every node.
  ~InProcessCluster();

  InProcessCluster(const InProcessCluster&) = delete;
  InProcessCluster& operator=(const InProcessCluster&) = delete;

  Client& client();
  SyncClient sync_client() { return SyncClient(&client()); }

  // Waits until every partition of every table is healthy (a primary and
  // as many replicas as its table asks for, all alive), as the meta server
  // reports it; PERR_TIMEOUT after `timeout`.
  absl::Status WaitHealthy(absl::Duration timeout);

  int replica_servers() const;
  // The node ids: the meta server is 1, replica server i is i + 2.
  static NodeId MetaNode() { return NodeId{1}; }
  static NodeId ServerNode(int i) {
    return NodeId{static_cast<uint64_t>(i) + 2};
  }

  // Stops replica server i at once (its threads, then its objects).
  void KillServer(int i);
  // Starts replica server i again from its directory.
  absl::Status RestartServer(int i);
  bool ServerUp(int i) const;
  void KillMeta();
  absl::Status RestartMeta();

  // Cuts every link between the nodes of `a` and those of `b` (node ids as
  // above), both ways, until Heal.
  void Partition(const std::vector<NodeId>& a, const std::vector<NodeId>& b);
  void Heal();

 private:
  struct State;
  explicit InProcessCluster(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace pegasus

#endif  // PEGASUS_CLUSTER_IN_PROCESS_CLUSTER_H_
