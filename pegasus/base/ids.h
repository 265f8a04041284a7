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

// A node (meta or replica server) in a cluster. Ids are assigned by the
// deployment and never reused for a different node.
struct NodeId {
  uint64_t value = 0;

  friend bool operator==(const NodeId&, const NodeId&) = default;
  friend auto operator<=>(const NodeId&, const NodeId&) = default;

  std::string ToString() const { return "n" + std::to_string(value); }
};

}  // namespace pegasus

#endif  // PEGASUS_BASE_IDS_H_
