// A Client (pegasus/client/client.h) connected to a cluster of daemons over
// gRPC: its own strand, a link transport without an address (replies come
// back on the streams it opens) and a random client id.
//
//   RemoteClientOptions options;
//   options.meta = "127.0.0.1:34601";
//   auto remote = RemoteClient::Connect(options);
//   SyncClient client = (*remote)->sync_client();
//   absl::StatusOr<SyncTable> table = client.OpenTable("temp");
//   table->Set("user1", "name", "ann");
//
// Connect only checks the address: the first request reaches the meta
// server, and fails as the client's calls do if it cannot.
//
// Thread-safety: as Client's; SyncClient's calls from any thread but the
// client's own.

#ifndef PEGASUS_NET_REMOTE_CLIENT_H_
#define PEGASUS_NET_REMOTE_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "pegasus/client/client.h"
#include "pegasus/client/sync_client.h"

namespace pegasus::net {

struct RemoteClientOptions {
  // The meta server's "host:port".
  std::string meta = "127.0.0.1:34601";
  // The client's options; `meta` is filled in from the address above.
  ClientOptions client;
  // Seeds the client's id and its retry jitter; 0 draws one from the
  // clock.
  uint64_t seed = 0;
};

class RemoteClient {
 public:
  static absl::StatusOr<std::unique_ptr<RemoteClient>> Connect(
      RemoteClientOptions options);
  // Ends the links; calls still pending are abandoned.
  ~RemoteClient();

  RemoteClient(const RemoteClient&) = delete;
  RemoteClient& operator=(const RemoteClient&) = delete;

  Client& client();
  SyncClient sync_client() { return SyncClient(&client()); }
  // The client's strand: Client's calls go there.
  Executor* strand();

  struct State;

 private:
  explicit RemoteClient(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace pegasus::net

#endif  // PEGASUS_NET_REMOTE_CLIENT_H_
