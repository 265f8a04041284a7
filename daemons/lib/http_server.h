// A daemon's HTTP endpoint: GET /metrics (Prometheus text format) and
// GET /healthz, on a port of its own, served on its own thread.

#ifndef DAEMONS_LIB_HTTP_SERVER_H_
#define DAEMONS_LIB_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/metric_family.h"

namespace httplib {
class Server;
}

namespace pegasus::daemons {

class HttpServer {
 public:
  // The metrics, read at each /metrics request.
  using Collect = std::function<std::vector<prometheus::MetricFamily>()>;

  // Listens on host:port (port 0: any free one). PERR_NETWORK_FAILURE when
  // the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const std::string& host, int port, Collect collect);
  // Stops serving and joins the thread.
  ~HttpServer();

  int port() const { return port_; }

 private:
  HttpServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_HTTP_SERVER_H_
