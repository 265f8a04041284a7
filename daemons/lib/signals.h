// Waiting for SIGTERM or SIGINT in a daemon's main thread.

#ifndef DAEMONS_LIB_SIGNALS_H_
#define DAEMONS_LIB_SIGNALS_H_

namespace pegasus::daemons {

// Blocks SIGTERM and SIGINT in the calling thread and every thread it
// starts later, so that only WaitForTermination sees them. Call first in
// main().
void BlockTerminationSignals();

// Waits for SIGTERM or SIGINT; returns the signal.
int WaitForTermination();

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_SIGNALS_H_
