// A meta server process: a MetaServer on a thread pool with its state in a
// local directory, its links to the replica servers and the Meta service
// over gRPC, health and reflection, and Prometheus metrics over HTTP.
//
//   MetaDaemonOptions options;
//   options.listen = "127.0.0.1:34601";
//   options.data_dir = "/data/meta";
//   auto daemon = MetaDaemon::Start(options);
//
// Stopping (destroying it) turns away new requests, ends its links, stops
// its threads and closes its store, then stops the gRPC and HTTP servers.
// The store syncs every write before the meta server acts on it.

#ifndef DAEMONS_LIB_META_DAEMON_H_
#define DAEMONS_LIB_META_DAEMON_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"
#include "pegasus/meta/meta_options.h"
#include "pegasus/proto/meta.pb.h"

namespace pegasus::daemons {

struct MetaDaemonOptions {
  // Where replica servers and clients reach this server ("ip:port"; port 0
  // picks a free one). The address is the server's node id.
  std::string listen = "127.0.0.1:34601";
  // The meta server's store. Required.
  std::string data_dir;
  // The HTTP port for /metrics: 0 picks a free one, -1 serves none.
  int http_port = 0;
  // Worker threads; 0 means one per core.
  int threads = 2;
  MetaOptions meta;
  // Tables created when the store is empty (a new cluster).
  std::vector<proto::CreateTableRequest> initial_tables;
};

class MetaDaemon {
 public:
  static absl::StatusOr<std::unique_ptr<MetaDaemon>> Start(
      MetaDaemonOptions options);
  ~MetaDaemon();

  MetaDaemon(const MetaDaemon&) = delete;
  MetaDaemon& operator=(const MetaDaemon&) = delete;

  NodeId self() const;
  int http_port() const;

  struct State;

 private:
  explicit MetaDaemon(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_META_DAEMON_H_
