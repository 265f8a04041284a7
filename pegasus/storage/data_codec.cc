#include "pegasus/storage/data_codec.h"

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "pegasus/base/key_schema.h"
#include "pegasus/base/status.h"
#include "pegasus/storage/predicates.h"

namespace pegasus {
namespace {

absl::Status InvalidArgument(std::string_view message) {
  return PegasusError(ErrorCode::kInvalidArgument, message);
}

CheckAndMutateRequest CheckAndMutateFromProto(
    const proto::CheckAndMutateRequest& in) {
  CheckAndMutateRequest out;
  out.hash_key = in.hash_key();
  out.check_sort_key = in.check_sort_key();
  out.check_type = static_cast<CheckType>(in.check_type());
  out.check_operand = in.check_operand();
  out.mutate_list.reserve(in.mutate_list_size());
  for (const proto::Mutate& mutate : in.mutate_list()) {
    out.mutate_list.push_back(
        Mutate{static_cast<MutateOperation>(mutate.operation()),
               mutate.sort_key(), mutate.value(), mutate.set_expire_ts_s()});
  }
  out.return_check_value = in.return_check_value();
  return out;
}

void CheckAndMutateToProto(const CheckAndMutateRequest& in,
                           proto::CheckAndMutateRequest* out) {
  out->set_hash_key(in.hash_key);
  out->set_check_sort_key(in.check_sort_key);
  out->set_check_type(static_cast<int32_t>(in.check_type));
  out->set_check_operand(in.check_operand);
  for (const Mutate& mutate : in.mutate_list) {
    proto::Mutate* m = out->add_mutate_list();
    m->set_operation(static_cast<int32_t>(mutate.operation));
    m->set_sort_key(mutate.sort_key);
    m->set_value(mutate.value);
    m->set_set_expire_ts_s(mutate.set_expire_ts_s);
  }
  out->set_return_check_value(in.return_check_value);
}

// The storage key a scan bound (hash_key, sort_key) stands for; an empty
// hash key is the unbounded end of the partition.
absl::StatusOr<std::string> ScanBoundFromProto(const std::string& hash_key,
                                               const std::string& sort_key,
                                               const char* which) {
  if (hash_key.empty()) {
    if (!sort_key.empty()) {
      return InvalidArgument(absl::StrCat(
          "a scan's ", which, " sort key needs its ", which, " hash key"));
    }
    return std::string();
  }
  PEGASUS_RETURN_IF_ERROR(ValidateHashKey(hash_key));
  return EncodeStorageKey(hash_key, sort_key);
}

// The (hash key, sort key) of a storage key bounding a scan; "" stays
// unbounded.
absl::Status ScanBoundToProto(const std::string& key, std::string* hash_key,
                              std::string* sort_key) {
  if (key.empty()) return absl::OkStatus();
  std::string_view hash, sort;
  if (!DecodeStorageKey(key, &hash, &sort).ok() || hash.empty()) {
    return InvalidArgument(
        "a scan bound that is not the storage key of a row has no wire form");
  }
  *hash_key = std::string(hash);
  *sort_key = std::string(sort);
  return absl::OkStatus();
}

absl::StatusOr<GetScannerRequest> ScanRangeFromProto(
    const proto::GetScannerRequest& in) {
  switch (in.range_case()) {
    case proto::GetScannerRequest::kHashKeyRange: {
      const proto::HashKeyRange& range = in.hash_key_range();
      PEGASUS_RETURN_IF_ERROR(ValidateHashKey(range.hash_key()));
      return GetScannerRequest::ForHashKey(
          range.hash_key(), range.start_sort_key(), range.stop_sort_key(),
          range.start_inclusive(), range.stop_inclusive());
    }
    case proto::GetScannerRequest::kPartitionRange: {
      const proto::PartitionRange& range = in.partition_range();
      GetScannerRequest out = GetScannerRequest::ForFullScan();
      PEGASUS_ASSIGN_OR_RETURN(
          out.start_key, ScanBoundFromProto(range.start_hash_key(),
                                            range.start_sort_key(), "start"));
      PEGASUS_ASSIGN_OR_RETURN(
          out.stop_key, ScanBoundFromProto(range.stop_hash_key(),
                                           range.stop_sort_key(), "stop"));
      out.start_inclusive = out.start_key.empty() || range.start_inclusive();
      out.stop_inclusive = !out.stop_key.empty() && range.stop_inclusive();
      return out;
    }
    default:
      return InvalidArgument("get_scanner names no range");
  }
}

absl::Status HashKeyRangeToProto(const GetScannerRequest& in,
                                 proto::HashKeyRange* out) {
  const std::string& hash_key = *in.hash_key;
  out->set_hash_key(hash_key);
  // ForHashKey left the bounds empty: the server refuses the hash key.
  if (!ValidateHashKey(hash_key).ok()) return absl::OkStatus();
  std::string start_hash;
  PEGASUS_RETURN_IF_ERROR(ScanBoundToProto(in.start_key, &start_hash,
                                           out->mutable_start_sort_key()));
  if (start_hash != hash_key) {
    return InvalidArgument("a hash scan's start has no wire form");
  }
  out->set_start_inclusive(in.start_inclusive);
  // The end of the hash key is an empty stop sort key on the wire.
  if (in.stop_key == PrefixSuccessor(HashKeyPrefix(hash_key))) {
    return absl::OkStatus();
  }
  std::string stop_hash, stop_sort;
  PEGASUS_RETURN_IF_ERROR(
      ScanBoundToProto(in.stop_key, &stop_hash, &stop_sort));
  if (stop_hash != hash_key || stop_sort.empty()) {
    return InvalidArgument("a hash scan's stop has no wire form");
  }
  out->set_stop_sort_key(stop_sort);
  out->set_stop_inclusive(in.stop_inclusive);
  return absl::OkStatus();
}

}  // namespace

// ---- Requests --------------------------------------------------------------

bool IsWrite(const proto::DataRequest& request) {
  switch (request.op_case()) {
    case proto::DataRequest::kPut:
    case proto::DataRequest::kMultiPut:
    case proto::DataRequest::kRemove:
    case proto::DataRequest::kMultiRemove:
    case proto::DataRequest::kIncr:
    case proto::DataRequest::kCheckAndSet:
    case proto::DataRequest::kCheckAndMutate:
      return true;
    default:
      return false;
  }
}

absl::StatusOr<WriteRequest> WriteRequestFromProto(
    const proto::DataRequest& request) {
  switch (request.op_case()) {
    case proto::DataRequest::kPut: {
      const proto::PutRequest& in = request.put();
      return PutRequest{in.hash_key(), in.sort_key(), in.value(),
                        in.expire_ts_s()};
    }
    case proto::DataRequest::kMultiPut: {
      const proto::MultiPutRequest& in = request.multi_put();
      MultiPutRequest out{in.hash_key(), {}, in.expire_ts_s()};
      out.kvs.reserve(in.kvs_size());
      for (const proto::KeyValue& kv : in.kvs()) {
        out.kvs.push_back(KeyValue{kv.key(), kv.value()});
      }
      return out;
    }
    case proto::DataRequest::kRemove:
      return RemoveRequest{request.remove().hash_key(),
                           request.remove().sort_key()};
    case proto::DataRequest::kMultiRemove: {
      const proto::MultiRemoveRequest& in = request.multi_remove();
      return MultiRemoveRequest{in.hash_key(),
                                {in.sort_keys().begin(), in.sort_keys().end()}};
    }
    case proto::DataRequest::kIncr: {
      const proto::IncrRequest& in = request.incr();
      return IncrRequest{in.hash_key(), in.sort_key(), in.increment(),
                         in.expire_ts_s()};
    }
    case proto::DataRequest::kCheckAndSet: {
      const proto::CheckAndSetRequest& in = request.check_and_set();
      PEGASUS_RETURN_IF_ERROR(
          ValidateCheckType(static_cast<CheckType>(in.check_type())));
      CheckAndSetRequest out;
      out.hash_key = in.hash_key();
      out.check_sort_key = in.check_sort_key();
      out.check_type = static_cast<CheckType>(in.check_type());
      out.check_operand = in.check_operand();
      out.set_diff_sort_key = in.set_diff_sort_key();
      out.set_sort_key = in.set_sort_key();
      out.set_value = in.set_value();
      out.set_expire_ts_s = in.set_expire_ts_s();
      out.return_check_value = in.return_check_value();
      return out;
    }
    case proto::DataRequest::kCheckAndMutate:
      PEGASUS_RETURN_IF_ERROR(ValidateCheckType(
          static_cast<CheckType>(request.check_and_mutate().check_type())));
      return CheckAndMutateFromProto(request.check_and_mutate());
    default:
      return InvalidArgument("not a write request");
  }
}

void WriteRequestToProto(const WriteRequest& request, proto::DataRequest* out) {
  std::visit(
      [out](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, PutRequest>) {
          proto::PutRequest* put = out->mutable_put();
          put->set_hash_key(r.hash_key);
          put->set_sort_key(r.sort_key);
          put->set_value(r.value);
          put->set_expire_ts_s(r.expire_ts_s);
        } else if constexpr (std::is_same_v<T, MultiPutRequest>) {
          proto::MultiPutRequest* multi_put = out->mutable_multi_put();
          multi_put->set_hash_key(r.hash_key);
          for (const KeyValue& kv : r.kvs) {
            proto::KeyValue* row = multi_put->add_kvs();
            row->set_key(kv.key);
            row->set_value(kv.value);
          }
          multi_put->set_expire_ts_s(r.expire_ts_s);
        } else if constexpr (std::is_same_v<T, RemoveRequest>) {
          out->mutable_remove()->set_hash_key(r.hash_key);
          out->mutable_remove()->set_sort_key(r.sort_key);
        } else if constexpr (std::is_same_v<T, MultiRemoveRequest>) {
          proto::MultiRemoveRequest* multi_remove = out->mutable_multi_remove();
          multi_remove->set_hash_key(r.hash_key);
          for (const std::string& key : r.sort_keys) {
            multi_remove->add_sort_keys(key);
          }
        } else if constexpr (std::is_same_v<T, IncrRequest>) {
          proto::IncrRequest* incr = out->mutable_incr();
          incr->set_hash_key(r.hash_key);
          incr->set_sort_key(r.sort_key);
          incr->set_increment(r.increment);
          incr->set_expire_ts_s(r.expire_ts_s);
        } else if constexpr (std::is_same_v<T, CheckAndSetRequest>) {
          proto::CheckAndSetRequest* cas = out->mutable_check_and_set();
          cas->set_hash_key(r.hash_key);
          cas->set_check_sort_key(r.check_sort_key);
          cas->set_check_type(static_cast<int32_t>(r.check_type));
          cas->set_check_operand(r.check_operand);
          cas->set_set_diff_sort_key(r.set_diff_sort_key);
          cas->set_set_sort_key(r.set_sort_key);
          cas->set_set_value(r.set_value);
          cas->set_set_expire_ts_s(r.set_expire_ts_s);
          cas->set_return_check_value(r.return_check_value);
        } else {
          static_assert(std::is_same_v<T, CheckAndMutateRequest>);
          CheckAndMutateToProto(r, out->mutable_check_and_mutate());
        }
      },
      request);
}

absl::StatusOr<MultiGetRequest> MultiGetRequestFromProto(
    const proto::MultiGetRequest& in) {
  PEGASUS_RETURN_IF_ERROR(
      ValidateFilterType(static_cast<FilterType>(in.sort_key_filter_type())));
  MultiGetRequest out;
  out.hash_key = in.hash_key();
  out.sort_keys.assign(in.sort_keys().begin(), in.sort_keys().end());
  out.max_kv_count = in.max_kv_count();
  out.max_kv_size = in.max_kv_size();
  out.no_value = in.no_value();
  out.start_sort_key = in.start_sort_key();
  out.stop_sort_key = in.stop_sort_key();
  out.start_inclusive = in.start_inclusive();
  out.stop_inclusive = in.stop_inclusive();
  out.sort_key_filter_type = static_cast<FilterType>(in.sort_key_filter_type());
  out.sort_key_filter_pattern = in.sort_key_filter_pattern();
  out.reverse = in.reverse();
  return out;
}

void MultiGetRequestToProto(const MultiGetRequest& in,
                            proto::MultiGetRequest* out) {
  out->set_hash_key(in.hash_key);
  for (const std::string& key : in.sort_keys) out->add_sort_keys(key);
  out->set_max_kv_count(in.max_kv_count);
  out->set_max_kv_size(in.max_kv_size);
  out->set_no_value(in.no_value);
  out->set_start_sort_key(in.start_sort_key);
  out->set_stop_sort_key(in.stop_sort_key);
  out->set_start_inclusive(in.start_inclusive);
  out->set_stop_inclusive(in.stop_inclusive);
  out->set_sort_key_filter_type(static_cast<int32_t>(in.sort_key_filter_type));
  out->set_sort_key_filter_pattern(in.sort_key_filter_pattern);
  out->set_reverse(in.reverse);
}

std::vector<FullKey> BatchGetKeysFromProto(const proto::BatchGetRequest& in) {
  std::vector<FullKey> keys;
  keys.reserve(in.keys_size());
  for (const proto::FullKey& key : in.keys()) {
    keys.push_back(FullKey{key.hash_key(), key.sort_key()});
  }
  return keys;
}

void BatchGetKeysToProto(std::span<const FullKey> keys,
                         proto::BatchGetRequest* out) {
  for (const FullKey& key : keys) {
    proto::FullKey* k = out->add_keys();
    k->set_hash_key(key.hash_key);
    k->set_sort_key(key.sort_key);
  }
}

absl::StatusOr<GetScannerRequest> GetScannerRequestFromProto(
    const proto::GetScannerRequest& in) {
  PEGASUS_ASSIGN_OR_RETURN(GetScannerRequest out, ScanRangeFromProto(in));
  out.hash_key_filter_type = static_cast<FilterType>(in.hash_key_filter_type());
  out.sort_key_filter_type = static_cast<FilterType>(in.sort_key_filter_type());
  PEGASUS_RETURN_IF_ERROR(ValidateFilterType(out.hash_key_filter_type));
  PEGASUS_RETURN_IF_ERROR(ValidateFilterType(out.sort_key_filter_type));
  out.batch_size = in.batch_size();
  out.no_value = in.no_value();
  out.hash_key_filter_pattern = in.hash_key_filter_pattern();
  out.sort_key_filter_pattern = in.sort_key_filter_pattern();
  out.return_expire_ts = in.return_expire_ts();
  out.only_return_count = in.only_return_count();
  return out;
}

absl::Status GetScannerRequestToProto(const GetScannerRequest& in,
                                      proto::GetScannerRequest* out) {
  if (in.hash_key.has_value()) {
    PEGASUS_RETURN_IF_ERROR(
        HashKeyRangeToProto(in, out->mutable_hash_key_range()));
  } else {
    proto::PartitionRange* range = out->mutable_partition_range();
    PEGASUS_RETURN_IF_ERROR(ScanBoundToProto(in.start_key,
                                             range->mutable_start_hash_key(),
                                             range->mutable_start_sort_key()));
    PEGASUS_RETURN_IF_ERROR(ScanBoundToProto(in.stop_key,
                                             range->mutable_stop_hash_key(),
                                             range->mutable_stop_sort_key()));
    range->set_start_inclusive(!in.start_key.empty() && in.start_inclusive);
    range->set_stop_inclusive(!in.stop_key.empty() && in.stop_inclusive);
  }
  out->set_batch_size(in.batch_size);
  out->set_no_value(in.no_value);
  out->set_hash_key_filter_type(static_cast<int32_t>(in.hash_key_filter_type));
  out->set_hash_key_filter_pattern(in.hash_key_filter_pattern);
  out->set_sort_key_filter_type(static_cast<int32_t>(in.sort_key_filter_type));
  out->set_sort_key_filter_pattern(in.sort_key_filter_pattern);
  out->set_return_expire_ts(in.return_expire_ts);
  out->set_only_return_count(in.only_return_count);
  return absl::OkStatus();
}

// ---- Responses -------------------------------------------------------------

void StatusToProto(const absl::Status& status, proto::DataResponse* out) {
  out->set_error(static_cast<int32_t>(ToErrorCode(status)));
  if (!status.ok()) out->set_error_message(std::string(status.message()));
}

absl::Status StatusFromProto(const proto::DataResponse& response) {
  if (response.error() == 0) return absl::OkStatus();
  return PegasusError(static_cast<ErrorCode>(response.error()),
                      response.error_message());
}

void WriteResponseToProto(const WriteResponse& response,
                          proto::DataResponse* out) {
  StatusToProto(response.status, out);
  out->set_decree(response.decree);
  out->set_new_value(response.new_value);
  out->set_count(response.count);
  out->set_check_succeeded(response.check_succeeded);
  out->set_check_value_returned(response.check_value_returned);
  out->set_check_value_exist(response.check_value_exist);
  out->set_check_value(response.check_value);
}

WriteResponse WriteResponseFromProto(const proto::DataResponse& response) {
  WriteResponse out;
  out.status = StatusFromProto(response);
  out.decree = response.decree();
  out.new_value = response.new_value();
  out.count = response.count();
  out.check_succeeded = response.check_succeeded();
  out.check_value_returned = response.check_value_returned();
  out.check_value_exist = response.check_value_exist();
  out.check_value = response.check_value();
  return out;
}

void GetResponseToProto(const GetResponse& response, proto::DataResponse* out) {
  StatusToProto(response.status, out);
  out->set_value(response.value);
}

GetResponse GetResponseFromProto(const proto::DataResponse& response) {
  return GetResponse{StatusFromProto(response), response.value()};
}

void MultiGetResponseToProto(const MultiGetResponse& response,
                             proto::DataResponse* out) {
  StatusToProto(response.status, out);
  for (const KeyValue& kv : response.kvs) {
    proto::KeyValue* row = out->add_kvs();
    row->set_key(kv.key);
    row->set_value(kv.value);
  }
}

MultiGetResponse MultiGetResponseFromProto(
    const proto::DataResponse& response) {
  MultiGetResponse out;
  out.status = StatusFromProto(response);
  out.kvs.reserve(response.kvs_size());
  for (const proto::KeyValue& kv : response.kvs()) {
    out.kvs.push_back(KeyValue{kv.key(), kv.value()});
  }
  return out;
}

void SortKeyCountResponseToProto(const SortKeyCountResponse& response,
                                 proto::DataResponse* out) {
  StatusToProto(response.status, out);
  out->set_count(response.count);
}

SortKeyCountResponse SortKeyCountResponseFromProto(
    const proto::DataResponse& response) {
  return SortKeyCountResponse{StatusFromProto(response), response.count()};
}

void TtlResponseToProto(const TtlResponse& response, proto::DataResponse* out) {
  StatusToProto(response.status, out);
  out->set_ttl_s(response.ttl_s);
}

TtlResponse TtlResponseFromProto(const proto::DataResponse& response) {
  return TtlResponse{StatusFromProto(response), response.ttl_s()};
}

void BatchGetResponseToProto(const BatchGetResponse& response,
                             proto::DataResponse* out) {
  StatusToProto(response.status, out);
  for (const FullData& data : response.data) {
    proto::FullKeyValue* row = out->add_rows();
    row->set_hash_key(data.hash_key);
    row->set_sort_key(data.sort_key);
    row->set_value(data.value);
  }
}

BatchGetResponse BatchGetResponseFromProto(
    const proto::DataResponse& response) {
  BatchGetResponse out;
  out.status = StatusFromProto(response);
  out.data.reserve(response.rows_size());
  for (const proto::FullKeyValue& row : response.rows()) {
    out.data.push_back(FullData{row.hash_key(), row.sort_key(), row.value()});
  }
  return out;
}

void ScanResponseToProto(const ScanResponse& response,
                         proto::DataResponse* out) {
  StatusToProto(response.status, out);
  for (const ScanKeyValue& kv : response.kvs) {
    proto::FullKeyValue* row = out->add_rows();
    row->set_hash_key(kv.hash_key);
    row->set_sort_key(kv.sort_key);
    row->set_value(kv.value);
    row->set_expire_ts_s(kv.expire_ts_s);
  }
  out->set_context_id(response.context_id);
  out->set_kv_count(response.kv_count);
}

ScanResponse ScanResponseFromProto(const proto::DataResponse& response) {
  ScanResponse out;
  out.status = StatusFromProto(response);
  out.kvs.reserve(response.rows_size());
  for (const proto::FullKeyValue& row : response.rows()) {
    out.kvs.push_back(ScanKeyValue{row.hash_key(), row.sort_key(), row.value(),
                                   row.expire_ts_s()});
  }
  out.context_id = response.context_id();
  out.kv_count = response.kv_count();
  return out;
}

// ---- Serving ---------------------------------------------------------------

namespace {

proto::DataResponse ServeScanner(Partition& partition,
                                 const proto::DataRequest& request,
                                 int64_t now_us) {
  proto::DataResponse response;
  switch (request.op_case()) {
    case proto::DataRequest::kGetScanner: {
      absl::StatusOr<GetScannerRequest> scanner =
          GetScannerRequestFromProto(request.get_scanner());
      if (!scanner.ok()) {
        StatusToProto(scanner.status(), &response);
        break;
      }
      ScanResponseToProto(partition.GetScanner(*scanner, now_us), &response);
      break;
    }
    case proto::DataRequest::kScan: {
      const int64_t id = request.scan().context_id();
      if (id < 0) {
        StatusToProto(InvalidArgument(absl::StrCat("scan context id ", id,
                                                   " names no scan")),
                      &response);
        break;
      }
      ScanResponseToProto(partition.Scan(id, now_us), &response);
      break;
    }
    case proto::DataRequest::kClearScanner:
      partition.ClearScanner(request.clear_scanner().context_id());
      StatusToProto(absl::OkStatus(), &response);
      break;
    default:
      StatusToProto(InvalidArgument("request names no read operation"),
                    &response);
  }
  return response;
}

}  // namespace

proto::DataResponse ServeDataRead(Partition& partition,
                                  const proto::DataRequest& request,
                                  int64_t now_us) {
  proto::DataResponse response;
  switch (request.op_case()) {
    case proto::DataRequest::kGet:
      GetResponseToProto(partition.Get(request.get().hash_key(),
                                       request.get().sort_key(), now_us),
                         &response);
      break;
    case proto::DataRequest::kMultiGet: {
      absl::StatusOr<MultiGetRequest> multi_get =
          MultiGetRequestFromProto(request.multi_get());
      if (!multi_get.ok()) {
        StatusToProto(multi_get.status(), &response);
        break;
      }
      MultiGetResponseToProto(partition.MultiGet(*multi_get, now_us),
                              &response);
      break;
    }
    case proto::DataRequest::kSortkeyCount:
      SortKeyCountResponseToProto(
          partition.SortKeyCount(request.sortkey_count().hash_key(), now_us),
          &response);
      break;
    case proto::DataRequest::kTtl:
      TtlResponseToProto(partition.Ttl(request.ttl().hash_key(),
                                       request.ttl().sort_key(), now_us),
                         &response);
      break;
    case proto::DataRequest::kBatchGet:
      BatchGetResponseToProto(
          partition.BatchGet(BatchGetKeysFromProto(request.batch_get()),
                             now_us),
          &response);
      break;
    default:
      return ServeScanner(partition, request, now_us);
  }
  return response;
}

}  // namespace pegasus
