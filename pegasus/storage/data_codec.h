// Conversion between the data API's wire messages (pegasus/proto/data.proto)
// and the partition's request and response types, both ways: a server turns
// requests into partition calls and their results into responses
// (ServeDataRead does all of it for a read); a client builds requests from
// the partition's types and reads responses back into them.
//
// Requests from the wire are checked as far as the types can check them (an
// unknown filter or check type, a scanner request naming no range, is
// PERR_INVALID_ARGUMENT; a hash key a scan range cannot hold is
// PERR_INVALID_HASH_KEY); the partition validates the rest. Responses
// convert without loss.
//
// Thread-safety: pure functions, except ServeDataRead (see there).

#ifndef PEGASUS_STORAGE_DATA_CODEC_H_
#define PEGASUS_STORAGE_DATA_CODEC_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pegasus/proto/data.pb.h"
#include "pegasus/storage/partition.h"
#include "pegasus/storage/partition_types.h"

namespace pegasus {

// ---- Requests --------------------------------------------------------------

// True for the requests that write: put, multi_put, remove, multi_remove,
// incr, check_and_set and check_and_mutate.
bool IsWrite(const proto::DataRequest& request);

// REQUIRES: IsWrite(request).
absl::StatusOr<WriteRequest> WriteRequestFromProto(
    const proto::DataRequest& request);
// Sets `out`'s operation; its app id and partition index are left alone.
void WriteRequestToProto(const WriteRequest& request, proto::DataRequest* out);

absl::StatusOr<MultiGetRequest> MultiGetRequestFromProto(
    const proto::MultiGetRequest& request);
void MultiGetRequestToProto(const MultiGetRequest& request,
                            proto::MultiGetRequest* out);

std::vector<FullKey> BatchGetKeysFromProto(
    const proto::BatchGetRequest& request);
void BatchGetKeysToProto(std::span<const FullKey> keys,
                         proto::BatchGetRequest* out);

// A hash_key_range becomes GetScannerRequest::ForHashKey(...), a
// partition_range a scan over the storage keys of its bounds.
absl::StatusOr<GetScannerRequest> GetScannerRequestFromProto(
    const proto::GetScannerRequest& request);
// The inverse, for requests made by ForHashKey (with any sort-key bounds) or
// by ForFullScan with bounds that are "" or storage keys of rows: the wire
// carries bounds as (hash key, sort key), so anything else (a stop key in
// the middle of a hash key's prefix, a hash scan stopping at the empty sort
// key) is PERR_INVALID_ARGUMENT, and `out` is then unspecified.
absl::Status GetScannerRequestToProto(const GetScannerRequest& request,
                                      proto::GetScannerRequest* out);

// ---- Responses -------------------------------------------------------------

// Fills `out`'s error fields from `status`.
void StatusToProto(const absl::Status& status, proto::DataResponse* out);
// The status carried by a response.
absl::Status StatusFromProto(const proto::DataResponse& response);

void WriteResponseToProto(const WriteResponse& response,
                          proto::DataResponse* out);
WriteResponse WriteResponseFromProto(const proto::DataResponse& response);

void GetResponseToProto(const GetResponse& response, proto::DataResponse* out);
GetResponse GetResponseFromProto(const proto::DataResponse& response);

void MultiGetResponseToProto(const MultiGetResponse& response,
                             proto::DataResponse* out);
MultiGetResponse MultiGetResponseFromProto(const proto::DataResponse& response);

void SortKeyCountResponseToProto(const SortKeyCountResponse& response,
                                 proto::DataResponse* out);
SortKeyCountResponse SortKeyCountResponseFromProto(
    const proto::DataResponse& response);

void TtlResponseToProto(const TtlResponse& response, proto::DataResponse* out);
TtlResponse TtlResponseFromProto(const proto::DataResponse& response);

void BatchGetResponseToProto(const BatchGetResponse& response,
                             proto::DataResponse* out);
BatchGetResponse BatchGetResponseFromProto(const proto::DataResponse& response);

// For get_scanner and scan.
void ScanResponseToProto(const ScanResponse& response,
                         proto::DataResponse* out);
ScanResponse ScanResponseFromProto(const proto::DataResponse& response);

// ---- Serving ---------------------------------------------------------------

// Serves a read request (every operation but the writes) from `partition`,
// judged at `now_us`; a write, or a request naming no operation, is
// PERR_INVALID_ARGUMENT in the response. A scan of a negative context id is
// PERR_INVALID_ARGUMENT (no scan has one); clear_scanner always answers OK.
// REQUIRES: for get_scanner, scan and clear_scanner, which change the
// partition's scan contexts, the caller is on the partition's strand; the
// other reads may run concurrently with anything (partition.h).
proto::DataResponse ServeDataRead(Partition& partition,
                                  const proto::DataRequest& request,
                                  int64_t now_us);

}  // namespace pegasus

#endif  // PEGASUS_STORAGE_DATA_CODEC_H_
