// Conversion between the data API's wire messages (pegasus/proto/data.proto)
// and the partition's request and response types. Every field is checked
// that the types can check (an unknown filter or check type is
// PERR_INVALID_ARGUMENT); the partition validates the rest.

#ifndef PEGASUS_STORAGE_DATA_CODEC_H_
#define PEGASUS_STORAGE_DATA_CODEC_H_

#include "absl/status/statusor.h"
#include "pegasus/proto/data.pb.h"
#include "pegasus/storage/partition.h"
#include "pegasus/storage/partition_types.h"

namespace pegasus {

// True for the requests that write.
bool IsWrite(const proto::DataRequest& request);

// REQUIRES: IsWrite(request).
absl::StatusOr<WriteRequest> WriteRequestFromProto(
    const proto::DataRequest& request);
absl::StatusOr<MultiGetRequest> MultiGetRequestFromProto(
    const proto::MultiGetRequest& request);

// Fills `out`'s error fields from `status`.
void StatusToProto(const absl::Status& status, proto::DataResponse* out);
// The status carried by a response.
absl::Status StatusFromProto(const proto::DataResponse& response);

void WriteResponseToProto(const WriteResponse& response,
                          proto::DataResponse* out);
void GetResponseToProto(const GetResponse& response, proto::DataResponse* out);
void MultiGetResponseToProto(const MultiGetResponse& response,
                             proto::DataResponse* out);

// Serves a read request (get or multi_get) from `partition`, judged at
// `now_us`; anything else is PERR_INVALID_ARGUMENT in the response.
proto::DataResponse ServeDataRead(const Partition& partition,
                                  const proto::DataRequest& request,
                                  int64_t now_us);

}  // namespace pegasus

#endif  // PEGASUS_STORAGE_DATA_CODEC_H_
