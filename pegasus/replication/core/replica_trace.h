// The text of scenario traces (scenario_test.cc documents the format): one
// line per message, effect, mutation or configuration, exact and
// deterministic, so a trace that changes is a behaviour that changed.

#ifndef PEGASUS_REPLICATION_CORE_REPLICA_TRACE_H_
#define PEGASUS_REPLICATION_CORE_REPLICA_TRACE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "pegasus/base/ids.h"
#include "pegasus/proto/replication.pb.h"
#include "pegasus/replication/core/replica_types.h"

namespace pegasus::replication {

// "b=2 p=1 s=(2,3)".
std::string ConfigText(const proto::PartitionConfig& config);
// "b=1 d=3 w=2": ballot, decree, number of writes; for a tail-drop marker
// "b=1 drop-tail d>=3".
std::string MutationText(const proto::Mutation& m);
// A log record, short: "d3@b1", or "drop>=d3@b1" for a tail-drop marker.
std::string RecordText(const proto::Mutation& m);
// The hash keys of a mutation's puts: "(a,b)".
std::string Keys(const proto::Mutation& m);
// "1..3,5" for the decrees of a list of mutations; "none" when empty.
std::string DecreeRanges(
    const google::protobuf::RepeatedPtrField<proto::Mutation>& mutations);
// The Pegasus error name of a status: "PERR_BUSY".
std::string CodeName(const absl::Status& status);

// "prepare", "ack" (any answer to a prepare), "group-check",
// "group-check-reply", "learn" or "learn-reply".
const char* MessageKind(const PeerMessageBody& body);
// The decree a prepare or its answer is about; kNoDecree for the others.
Decree MessageDecree(const PeerMessageBody& body);
// "n1->n2 prepare b=1 d=3 lc=2 w=1" and so on.
std::string MessageLine(int from, int to, const PeerMessageBody& body);

// "DOWNGRADE_TO_INACTIVE node=3 b=2 p=1 s=(2)".
std::string ProposalText(const proto::ConfigUpdateRequest& request);

// One line per effect of node n's Ready, in the order the driver carries
// them out.
std::vector<std::string> ReadyLines(int n, const Ready& ready);

}  // namespace pegasus::replication

#endif  // PEGASUS_REPLICATION_CORE_REPLICA_TRACE_H_
