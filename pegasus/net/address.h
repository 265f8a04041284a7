// Servers' addresses as node ids (pegasus/base/ids.h): a daemon's id is the
// IPv4 address and port it listens on, so peers and clients reach it from
// its id alone.

#ifndef PEGASUS_NET_ADDRESS_H_
#define PEGASUS_NET_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"

namespace pegasus::net {

// "host:port" (a dotted IPv4 address or a name that resolves to one; port
// 1..65535, or 0 with `allow_any_port`: a server about to pick a free one)
// as a server's node id. PERR_INVALID_ARGUMENT for anything else, saying
// why.
absl::StatusOr<NodeId> ParseServerAddress(const std::string& host_port,
                                          bool allow_any_port = false);

// The dotted IPv4 address of a server's id ("127.0.0.1").
std::string HostOf(NodeId server);

// A client's node id (one without an address) from random bits.
NodeId ClientNodeId(uint64_t random_bits);

}  // namespace pegasus::net

#endif  // PEGASUS_NET_ADDRESS_H_
