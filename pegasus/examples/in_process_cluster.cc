// Runs a whole Pegasus cluster inside this process: a meta server, three
// replica servers on RocksDB and a client, on real threads, with the data
// in the directory given (default /tmp/pegasus-example-cluster). Writes,
// reads, loses a replica server, reads again, and brings it back. Run it
// twice on one directory: the second run finds the first one's data.
//
//   bazel run //pegasus/examples:in_process_cluster -- /tmp/cluster

#include "pegasus/cluster/in_process_cluster.h"

#include <cstdio>
#include <string>

#include "pegasus/base/status.h"
#include "pegasus/client/sync_client.h"

namespace {

int Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  pegasus::InProcessClusterOptions options;
  options.data_dir = argc > 1 ? argv[1] : "/tmp/pegasus-example-cluster";
  options.replica_servers = 3;
  auto cluster = pegasus::InProcessCluster::Start(options);
  if (!cluster.ok()) return Fail("start", cluster.status());
  if (absl::Status healthy = (*cluster)->WaitHealthy(absl::Seconds(60));
      !healthy.ok()) {
    return Fail("wait for a healthy cluster", healthy);
  }
  std::printf("cluster up in %s: 1 meta server, %d replica servers\n",
              options.data_dir.c_str(), (*cluster)->replica_servers());

  pegasus::SyncClient client = (*cluster)->sync_client();
  absl::StatusOr<pegasus::SyncTable> table = client.OpenTable("temp");
  if (!table.ok()) return Fail("open table temp", table.status());

  absl::StatusOr<int64_t> runs = table->Incr("example", "runs", 1);
  if (!runs.ok()) return Fail("incr", runs.status());
  std::printf("run %lld on this directory\n", static_cast<long long>(*runs));
  if (absl::Status set = table->Set("user:1", "name", "Ann"); !set.ok()) {
    return Fail("set", set);
  }
  absl::StatusOr<std::string> name = table->Get("user:1", "name");
  if (!name.ok()) return Fail("get", name.status());
  std::printf("get user:1/name = %s\n", name->c_str());

  // A replica server dies: the meta server moves its primaries within a
  // few seconds, and the client finds them.
  (*cluster)->KillServer(0);
  std::printf("killed replica server 0\n");
  pegasus::OpOptions patient{.timeout_ns = 30'000'000'000};
  name = table->Get("user:1", "name", patient);
  if (!name.ok()) return Fail("get after the loss", name.status());
  std::printf("get user:1/name = %s (after the loss)\n", name->c_str());
  if (absl::Status restarted = (*cluster)->RestartServer(0); !restarted.ok()) {
    return Fail("restart", restarted);
  }
  if (absl::Status healthy = (*cluster)->WaitHealthy(absl::Seconds(60));
      !healthy.ok()) {
    return Fail("wait for the cluster to heal", healthy);
  }
  std::printf("replica server 0 is back; every partition is healthy\n");
  return 0;
}
