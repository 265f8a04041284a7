#include "pegasus/net/address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>

#include "absl/strings/numbers.h"
#include "pegasus/base/status.h"

namespace pegasus::net {
namespace {

absl::Status Invalid(const std::string& host_port, const std::string& why) {
  return PegasusError(ErrorCode::kInvalidArgument,
                      "bad server address '" + host_port + "': " + why);
}

// The host's IPv4 address in host byte order.
absl::StatusOr<uint32_t> ResolveIpv4(const std::string& host_port,
                                     const std::string& host) {
  in_addr address{};
  if (inet_pton(AF_INET, host.c_str(), &address) == 1) {
    return ntohl(address.s_addr);
  }
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int error = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (error != 0 || found == nullptr) {
    return Invalid(host_port, std::string("cannot resolve '") + host +
                                  "' to an IPv4 address (" +
                                  gai_strerror(error) + ")");
  }
  const uint32_t ip = ntohl(
      reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr.s_addr);
  freeaddrinfo(found);
  return ip;
}

}  // namespace

absl::StatusOr<NodeId> ParseServerAddress(const std::string& host_port,
                                          bool allow_any_port) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Invalid(host_port, "want host:port");
  }
  const std::string host = host_port.substr(0, colon);
  const std::string port_text = host_port.substr(colon + 1);
  uint32_t port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || (port == 0 && !allow_any_port) ||
      port > 65535) {
    return Invalid(host_port, allow_any_port ? "the port must be 0..65535"
                                             : "the port must be 1..65535");
  }
  if (host.find(':') != std::string::npos) {
    return Invalid(host_port, "IPv6 addresses are not supported");
  }
  absl::StatusOr<uint32_t> ip = ResolveIpv4(host_port, host);
  if (!ip.ok()) return ip.status();
  return NodeId::FromAddress(*ip, static_cast<uint16_t>(port));
}

std::string HostOf(NodeId server) {
  const std::string address = server.ToString();
  return address.substr(0, address.rfind(':'));
}

NodeId ClientNodeId(uint64_t random_bits) {
  // Tag 2 in the top bits: never an address (tag 1), never 0.
  return NodeId{uint64_t{2} << 48 | (random_bits & ((uint64_t{1} << 48) - 1))};
}

}  // namespace pegasus::net
