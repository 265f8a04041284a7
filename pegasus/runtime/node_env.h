// The seams one node's driver runs on when it needs no files: a meta
// server (MetaServer) or a client (Client). A replica server also needs a
// file system and strands for its replicas (replication::HostEnv).

#ifndef PEGASUS_RUNTIME_NODE_ENV_H_
#define PEGASUS_RUNTIME_NODE_ENV_H_

#include "pegasus/base/random.h"
#include "pegasus/runtime/clock.h"
#include "pegasus/runtime/executor.h"
#include "pegasus/runtime/transport.h"

namespace pegasus {

struct NodeEnv {
  Clock* clock = nullptr;
  // The node's strand: everything the driver does runs there.
  Executor* executor = nullptr;
  Transport* transport = nullptr;
  // Used from the strand only.
  Random* random = nullptr;
};

}  // namespace pegasus

#endif  // PEGASUS_RUNTIME_NODE_ENV_H_
