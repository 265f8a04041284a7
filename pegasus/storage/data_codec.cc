#include "pegasus/storage/data_codec.h"

#include <string>
#include <utility>

#include "pegasus/base/status.h"
#include "pegasus/storage/predicates.h"

namespace pegasus {

bool IsWrite(const proto::DataRequest& request) {
  switch (request.op_case()) {
    case proto::DataRequest::kPut:
    case proto::DataRequest::kMultiPut:
    case proto::DataRequest::kRemove:
    case proto::DataRequest::kMultiRemove:
    case proto::DataRequest::kIncr:
    case proto::DataRequest::kCheckAndSet:
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
    default:
      return PegasusError(ErrorCode::kInvalidArgument, "not a write request");
  }
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
  out->set_check_succeeded(response.check_succeeded);
  out->set_check_value_returned(response.check_value_returned);
  out->set_check_value_exist(response.check_value_exist);
  out->set_check_value(response.check_value);
}

void GetResponseToProto(const GetResponse& response, proto::DataResponse* out) {
  StatusToProto(response.status, out);
  out->set_value(response.value);
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

proto::DataResponse ServeDataRead(const Partition& partition,
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
    default:
      StatusToProto(PegasusError(ErrorCode::kInvalidArgument,
                                 "request names no read operation"),
                    &response);
  }
  return response;
}

}  // namespace pegasus
