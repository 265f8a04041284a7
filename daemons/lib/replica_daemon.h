// A replica server process: a ReplicaHost on a thread pool with RocksDB,
// its links to other nodes and the Replica service over gRPC, health and
// reflection, and Prometheus metrics over HTTP.
//
//   ReplicaDaemonOptions options;
//   options.listen = "127.0.0.1:34801";
//   options.meta = "127.0.0.1:34601";
//   options.data_dir = "/data/replica1";
//   auto daemon = ReplicaDaemon::Start(options);
//   ... wait for a signal ...
//   daemon->reset();   // stops cleanly
//
// Stopping: the server turns away new requests, ends its links, stops its
// threads and closes its replicas (their logs and RocksDB), then stops the
// gRPC and HTTP servers. Every acknowledged write was synced before it was
// acknowledged, so a kill loses none either.

#ifndef DAEMONS_LIB_REPLICA_DAEMON_H_
#define DAEMONS_LIB_REPLICA_DAEMON_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"
#include "pegasus/replication/replica_host.h"

namespace pegasus::daemons {

struct ReplicaDaemonOptions {
  // Where clients and peers reach this server ("ip:port"; port 0 picks a
  // free one). The address is the server's node id.
  std::string listen = "127.0.0.1:34801";
  // The meta server's address.
  std::string meta = "127.0.0.1:34601";
  // Where replicas live. Required.
  std::string data_dir;
  // The HTTP port for /metrics on the listen address's host: 0 picks a
  // free one, -1 serves none.
  int http_port = 0;
  // Worker threads: strands for the host and the replicas; 0 means one per
  // core. (The shared log has a thread of its own besides.) Several servers
  // on one machine should split its cores: one worker thread each on a
  // small box, since every hop between threads costs two context switches.
  int threads = 0;
  // The ReplicaHost's options; self, meta, env, data_dir and open_engine
  // are filled in by Start.
  replication::ReplicaHostOptions host;
};

class ReplicaDaemon {
 public:
  static absl::StatusOr<std::unique_ptr<ReplicaDaemon>> Start(
      ReplicaDaemonOptions options);
  ~ReplicaDaemon();

  ReplicaDaemon(const ReplicaDaemon&) = delete;
  ReplicaDaemon& operator=(const ReplicaDaemon&) = delete;

  NodeId self() const;
  int http_port() const;

  struct State;

 private:
  explicit ReplicaDaemon(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_REPLICA_DAEMON_H_
