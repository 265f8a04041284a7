// Questions about a partition's configuration that the meta server, the
// replicas and their hosts all ask.

#ifndef PEGASUS_PROTO_PARTITION_CONFIG_H_
#define PEGASUS_PROTO_PARTITION_CONFIG_H_

#include "pegasus/base/ids.h"
#include "pegasus/proto/replication.pb.h"

namespace pegasus {

Gpid GpidOf(const proto::PartitionConfig& config);
bool IsSecondary(const proto::PartitionConfig& config, NodeId node);
// The primary or a secondary; never node 0.
bool IsMember(const proto::PartitionConfig& config, NodeId node);
// In last_drops: a former member the meta server may yet need, should every
// member die.
bool IsDropped(const proto::PartitionConfig& config, NodeId node);

// "healthy", "writable_ill", "unwritable", "unreadable" or "dead" (else
// "invalid"): as operators read it (the shell, metrics labels).
const char* PartitionHealthName(proto::PartitionHealth health);

}  // namespace pegasus

#endif  // PEGASUS_PROTO_PARTITION_CONFIG_H_
