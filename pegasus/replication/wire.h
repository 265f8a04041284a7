// The RPC methods of replication (pegasus/runtime/rpc.h carries them). The
// payload of each is the serialized proto named beside it
// (pegasus/proto/data.proto, replication.proto).

#ifndef PEGASUS_REPLICATION_WIRE_H_
#define PEGASUS_REPLICATION_WIRE_H_

#include "pegasus/runtime/rpc.h"

namespace pegasus::replication {

// Client -> replica server, a call: DataRequest in, DataResponse out.
inline constexpr RpcMethod kDataMethod = 1;

// Replica -> replica, notifications (one-way; the replica retries).
inline constexpr RpcMethod kPrepareMethod = 10;          // PrepareRequest
inline constexpr RpcMethod kPrepareResponseMethod = 11;  // PrepareResponse
inline constexpr RpcMethod kGroupCheckMethod = 12;       // GroupCheckRequest
inline constexpr RpcMethod kGroupCheckResponseMethod =
    13;                                                // GroupCheckResponse
inline constexpr RpcMethod kLearnMethod = 14;          // LearnRequest
inline constexpr RpcMethod kLearnResponseMethod = 15;  // LearnResponse

// Meta -> replica server, a notification: ConfigProposal.
inline constexpr RpcMethod kConfigProposalMethod = 20;

// Replica server -> meta, calls.
inline constexpr RpcMethod kBeaconMethod = 30;  // Beacon -> BeaconResponse
inline constexpr RpcMethod kConfigUpdateMethod =
    31;  // ConfigUpdateRequest -> ConfigUpdateResponse
inline constexpr RpcMethod kConfigSyncMethod =
    32;  // ConfigSyncRequest -> ConfigSyncResponse
// Client -> meta, calls: QueryConfigRequest -> QueryConfigResponse, and
// AdminRequest -> AdminResponse (pegasus/proto/meta.proto).
inline constexpr RpcMethod kQueryConfigMethod = 33;
inline constexpr RpcMethod kMetaAdminMethod = 34;

}  // namespace pegasus::replication

#endif  // PEGASUS_REPLICATION_WIRE_H_
