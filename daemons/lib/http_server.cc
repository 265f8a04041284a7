#include "daemons/lib/http_server.h"

#include <httplib.h>

#include <utility>

#include "pegasus/base/status.h"
#include "prometheus/text_serializer.h"

namespace pegasus::daemons {

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const std::string& host, int port, Collect collect) {
  std::unique_ptr<HttpServer> http(new HttpServer());
  http->server_ = std::make_unique<httplib::Server>();
  // Its default is SO_REUSEPORT, which lets a second daemon bind the same
  // port and take half the scrapes: a used port must fail instead.
  http->server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  http->server_->Get(
      "/metrics", [collect = std::move(collect)](const httplib::Request&,
                                                 httplib::Response& res) {
        res.set_content(prometheus::TextSerializer().Serialize(collect()),
                        "text/plain; version=0.0.4; charset=utf-8");
      });
  http->server_->Get("/healthz",
                     [](const httplib::Request&, httplib::Response& res) {
                       res.set_content("ok\n", "text/plain");
                     });
  if (port == 0) {
    http->port_ = http->server_->bind_to_any_port(host);
  } else if (http->server_->bind_to_port(host, port)) {
    http->port_ = port;
  } else {
    http->port_ = -1;
  }
  if (http->port_ <= 0) {
    return PegasusError(ErrorCode::kNetworkFailure,
                        "cannot listen for HTTP on " + host + ":" +
                            std::to_string(port) + " (in use?)");
  }
  httplib::Server* server = http->server_.get();
  http->thread_ = std::thread([server] { server->listen_after_bind(); });
  return http;
}

HttpServer::~HttpServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace pegasus::daemons
