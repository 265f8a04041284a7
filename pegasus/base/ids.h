// Identifiers shared by every layer, in PacificA's vocabulary.
//
// A Gpid names one partition of one table. A ballot is a configuration epoch,
// a decree a position in a partition's sequence of mutations. Both only grow.

#ifndef PEGASUS_BASE_IDS_H_
#define PEGASUS_BASE_IDS_H_

#include <cstdint>
#include <string>

namespace pegasus {

using Ballot = int64_t;
using Decree = int64_t;

// The decree before the first one: a partition that has applied nothing.
inline constexpr Decree kNoDecree = 0;

// A table ("app") id and a partition index within it.
struct Gpid {
  int32_t app_id = 0;
  int32_t partition_index = 0;

  friend bool operator==(const Gpid&, const Gpid&) = default;
  friend auto operator<=>(const Gpid&, const Gpid&) = default;

  // "app_id.partition_index", as Pegasus prints it.
  std::string ToString() const {
    return std::to_string(app_id) + "." + std::to_string(partition_index);
  }
};

// A node (meta or replica server, or a client) in a cluster. Ids are
// assigned by the deployment and never reused for a different node.
//
// Deployments over a network (the daemons, pegasus/net) name a server by
// the IPv4 address and port it listens on, kAddressTag | ipv4 << 16 | port,
// so any node can reach a server from its id alone; such an id prints as
// "a.b.c.d:port". Others (the simulator's, the in-process cluster's, a
// client's) print as "n<value>".
struct NodeId {
  static constexpr uint64_t kAddressTag = uint64_t{1} << 48;

  uint64_t value = 0;

  static constexpr NodeId FromAddress(uint32_t ipv4, uint16_t port) {
    return NodeId{kAddressTag | uint64_t{ipv4} << 16 | port};
  }
  // Whether this id names a server by its address.
  constexpr bool has_address() const { return value >> 48 == 1; }
  constexpr uint32_t ipv4() const { return static_cast<uint32_t>(value >> 16); }
  constexpr uint16_t port() const { return static_cast<uint16_t>(value); }

  friend bool operator==(const NodeId&, const NodeId&) = default;
  friend auto operator<=>(const NodeId&, const NodeId&) = default;

  std::string ToString() const {
    if (!has_address()) return "n" + std::to_string(value);
    const uint32_t ip = ipv4();
    return std::to_string(ip >> 24) + "." + std::to_string(ip >> 16 & 0xff) +
           "." + std::to_string(ip >> 8 & 0xff) + "." +
           std::to_string(ip & 0xff) + ":" + std::to_string(port());
  }
};

}  // namespace pegasus

#endif  // PEGASUS_BASE_IDS_H_
