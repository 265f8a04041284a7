#include "pegasus/net/remote_client.h"

#include <utility>

#include "pegasus/base/random.h"
#include "pegasus/net/address.h"
#include "pegasus/net/grpc_transport.h"
#include "pegasus/runtime/clock.h"
#include "pegasus/runtime/thread_pool.h"

namespace pegasus::net {

struct RemoteClient::State {
  explicit State(uint64_t seed) : rng(seed) {}
  ~State() {
    transport->Shutdown();
    pool.Shutdown();
    client.reset();
    transport.reset();
  }

  SeededRandom rng;
  ThreadPool pool{ThreadPoolOptions{.threads = 1}};
  std::unique_ptr<GrpcTransport> transport;
  std::unique_ptr<Client> client;
};

absl::StatusOr<std::unique_ptr<RemoteClient>> RemoteClient::Connect(
    RemoteClientOptions options) {
  absl::StatusOr<NodeId> meta = ParseServerAddress(options.meta);
  if (!meta.ok()) return meta.status();
  const uint64_t seed = options.seed != 0
                            ? options.seed
                            : static_cast<uint64_t>(RealClock()->WallNowUs());
  auto state = std::make_unique<State>(seed);
  Executor* strand = state->pool.Strand(0);
  state->transport = std::make_unique<GrpcTransport>(GrpcTransportOptions{
      .self = ClientNodeId(state->rng.Next64()), .executor = strand});
  options.client.meta = *meta;
  state->client = Client::Create(
      {RealClock(), strand, state->transport.get(), &state->rng},
      options.client);
  return std::unique_ptr<RemoteClient>(new RemoteClient(std::move(state)));
}

RemoteClient::RemoteClient(std::unique_ptr<State> state)
    : state_(std::move(state)) {}

RemoteClient::~RemoteClient() = default;

Client& RemoteClient::client() { return *state_->client; }

Executor* RemoteClient::strand() { return state_->pool.Strand(0); }

}  // namespace pegasus::net
