// The data API's wire codec: every message both ways, the refusals of bad
// requests, and ServeDataRead over a partition.

#include "pegasus/storage/data_codec.h"

#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "pegasus/base/key_schema.h"
#include "pegasus/base/status.h"
#include "pegasus/proto/data.pb.h"
#include "pegasus/storage/partition.h"
#include "pegasus/storage/partition_test_util.h"

namespace pegasus {
namespace {

using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string CodeName(const absl::Status& status) {
  return std::string(ErrorCodeName(ToErrorCode(status)));
}
std::string CodeName(const proto::DataResponse& response) {
  return std::string(ErrorCodeName(static_cast<ErrorCode>(response.error())));
}

// The fields of `message` that hold a value (proto3: differ from the
// default), by full name, and those of the messages within it.
void CollectSetFields(const Message& message, std::set<std::string>* out) {
  const auto* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    out->insert(field->full_name());
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        CollectSetFields(reflection->GetRepeatedMessage(message, field, i),
                         out);
      }
    } else {
      CollectSetFields(reflection->GetMessage(message, field), out);
    }
  }
}

// Fails for every field of `message`, and of the messages within it, left
// unset, except other members of a oneof that is set: a round trip of such
// a message proves that every field travels both ways.
void ExpectEveryFieldSet(const Message& message) {
  std::set<std::string> set;
  CollectSetFields(message, &set);
  std::vector<const google::protobuf::Descriptor*> pending = {
      message.GetDescriptor()};
  std::set<const google::protobuf::Descriptor*> seen;
  while (!pending.empty()) {
    const google::protobuf::Descriptor* type = pending.back();
    pending.pop_back();
    if (!seen.insert(type).second) continue;
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* field = type->field(i);
      if (field->real_containing_oneof() != nullptr &&
          !set.contains(field->full_name())) {
        continue;  // Another member may be the one set.
      }
      EXPECT_TRUE(set.contains(field->full_name()))
          << field->full_name() << " is left unset";
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        pending.push_back(field->message_type());
      }
    }
  }
}

// Fails unless exactly the fields of DataResponse named are set.
void ExpectResponseFields(const proto::DataResponse& response,
                          std::initializer_list<std::string> names) {
  std::set<std::string> set, expected;
  CollectSetFields(response, &set);
  // Only DataResponse's own fields: rows and kvs bring their own.
  std::erase_if(set, [](const std::string& name) {
    return name.rfind("pegasus.proto.DataResponse.", 0) != 0;
  });
  for (const std::string& name : names) {
    expected.insert("pegasus.proto.DataResponse." + name);
  }
  EXPECT_EQ(set, expected);
}

void ExpectSameMessage(const Message& got, const Message& want) {
  std::string diff;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(got, want)) << diff;
}

// ---- Requests --------------------------------------------------------------

std::vector<proto::DataRequest> EveryWrite() {
  std::vector<proto::DataRequest> out(7);
  proto::PutRequest* put = out[0].mutable_put();
  put->set_hash_key("h");
  put->set_sort_key("s");
  put->set_value("v");
  put->set_expire_ts_s(11);
  proto::MultiPutRequest* multi_put = out[1].mutable_multi_put();
  multi_put->set_hash_key("h");
  proto::KeyValue* kv = multi_put->add_kvs();
  kv->set_key("s1");
  kv->set_value("v1");
  multi_put->add_kvs()->set_key("s2");
  multi_put->set_expire_ts_s(12);
  out[2].mutable_remove()->set_hash_key("h");
  out[2].mutable_remove()->set_sort_key("s");
  out[3].mutable_multi_remove()->set_hash_key("h");
  out[3].mutable_multi_remove()->add_sort_keys("s1");
  out[3].mutable_multi_remove()->add_sort_keys("s2");
  proto::IncrRequest* incr = out[4].mutable_incr();
  incr->set_hash_key("h");
  incr->set_sort_key("n");
  incr->set_increment(-5);
  incr->set_expire_ts_s(-1);
  proto::CheckAndSetRequest* cas = out[5].mutable_check_and_set();
  cas->set_hash_key("h");
  cas->set_check_sort_key("c");
  cas->set_check_type(static_cast<int32_t>(CheckType::kValueBytesEqual));
  cas->set_check_operand("old");
  cas->set_set_diff_sort_key(true);
  cas->set_set_sort_key("t");
  cas->set_set_value("new");
  cas->set_set_expire_ts_s(13);
  cas->set_return_check_value(true);
  proto::CheckAndMutateRequest* cam = out[6].mutable_check_and_mutate();
  cam->set_hash_key("h");
  cam->set_check_sort_key("c");
  cam->set_check_type(static_cast<int32_t>(CheckType::kValueIntLess));
  cam->set_check_operand("7");
  proto::Mutate* set = cam->add_mutate_list();
  set->set_operation(static_cast<int32_t>(MutateOperation::kPut));
  set->set_sort_key("a");
  set->set_value("va");
  set->set_set_expire_ts_s(14);
  proto::Mutate* del = cam->add_mutate_list();
  del->set_operation(static_cast<int32_t>(MutateOperation::kDelete));
  del->set_sort_key("b");
  cam->set_return_check_value(true);
  for (proto::DataRequest& request : out) {
    request.set_app_id(3);
    request.set_partition_index(5);
  }
  return out;
}

TEST(DataCodecTest, EveryWriteRoundTripsWithEveryField) {
  std::set<proto::DataRequest::OpCase> ops;
  for (const proto::DataRequest& request : EveryWrite()) {
    SCOPED_TRACE(request.ShortDebugString());
    ExpectEveryFieldSet(request.op_case() == proto::DataRequest::kMultiPut
                            ? static_cast<const Message&>(request.multi_put())
                            : request);
    ASSERT_TRUE(IsWrite(request));
    absl::StatusOr<WriteRequest> write = WriteRequestFromProto(request);
    ASSERT_TRUE(write.ok()) << write.status();
    proto::DataRequest back;
    back.set_app_id(3);
    back.set_partition_index(5);
    WriteRequestToProto(*write, &back);
    ExpectSameMessage(back, request);
    ops.insert(request.op_case());
  }
  EXPECT_EQ(ops.size(), 7u);
}

TEST(DataCodecTest, CheckAndMutateKeepsEveryMutationInOrder) {
  absl::StatusOr<WriteRequest> write = WriteRequestFromProto(EveryWrite()[6]);
  ASSERT_TRUE(write.ok()) << write.status();
  const auto& cam = std::get<CheckAndMutateRequest>(*write);
  EXPECT_EQ(cam.hash_key, "h");
  EXPECT_EQ(cam.check_sort_key, "c");
  EXPECT_EQ(cam.check_type, CheckType::kValueIntLess);
  EXPECT_EQ(cam.check_operand, "7");
  EXPECT_TRUE(cam.return_check_value);
  ASSERT_EQ(cam.mutate_list.size(), 2u);
  EXPECT_EQ(cam.mutate_list[0].operation, MutateOperation::kPut);
  EXPECT_EQ(cam.mutate_list[0].sort_key, "a");
  EXPECT_EQ(cam.mutate_list[0].value, "va");
  EXPECT_EQ(cam.mutate_list[0].set_expire_ts_s, 14u);
  EXPECT_EQ(cam.mutate_list[1].operation, MutateOperation::kDelete);
  EXPECT_EQ(cam.mutate_list[1].sort_key, "b");
}

TEST(DataCodecTest, UnknownCheckTypeIsRefusedForBothChecks) {
  for (int32_t type : {-1, 18}) {
    proto::DataRequest cas;
    cas.mutable_check_and_set()->set_hash_key("h");
    cas.mutable_check_and_set()->set_check_type(type);
    EXPECT_EQ(CodeName(WriteRequestFromProto(cas).status()),
              "PERR_INVALID_ARGUMENT");
    proto::DataRequest cam = EveryWrite()[6];
    cam.mutable_check_and_mutate()->set_check_type(type);
    EXPECT_EQ(CodeName(WriteRequestFromProto(cam).status()),
              "PERR_INVALID_ARGUMENT");
  }
}

TEST(DataCodecTest, ReadsAreNotWrites) {
  proto::DataRequest request;
  EXPECT_FALSE(IsWrite(request));
  request.mutable_sortkey_count();
  EXPECT_FALSE(IsWrite(request));
  request.mutable_ttl();
  EXPECT_FALSE(IsWrite(request));
  request.mutable_batch_get();
  EXPECT_FALSE(IsWrite(request));
  request.mutable_get_scanner();
  EXPECT_FALSE(IsWrite(request));
  request.mutable_scan();
  EXPECT_FALSE(IsWrite(request));
  request.mutable_clear_scanner();
  EXPECT_FALSE(IsWrite(request));
  EXPECT_EQ(CodeName(WriteRequestFromProto(request).status()),
            "PERR_INVALID_ARGUMENT");
}

TEST(DataCodecTest, MultiGetRequestRoundTripsWithEveryField) {
  proto::MultiGetRequest request;
  request.set_hash_key("h");
  request.add_sort_keys("a");
  request.add_sort_keys("b");
  request.set_max_kv_count(7);
  request.set_max_kv_size(70);
  request.set_no_value(true);
  request.set_start_sort_key("a");
  request.set_stop_sort_key("z");
  request.set_start_inclusive(true);
  request.set_stop_inclusive(true);
  request.set_sort_key_filter_type(
      static_cast<int32_t>(FilterType::kMatchPostfix));
  request.set_sort_key_filter_pattern("x");
  request.set_reverse(true);
  ExpectEveryFieldSet(request);
  absl::StatusOr<MultiGetRequest> got = MultiGetRequestFromProto(request);
  ASSERT_TRUE(got.ok()) << got.status();
  proto::MultiGetRequest back;
  MultiGetRequestToProto(*got, &back);
  ExpectSameMessage(back, request);
}

TEST(DataCodecTest, BatchGetKeysRoundTripInOrder) {
  const std::vector<FullKey> keys = {{"b", "2"}, {"a", ""}, {"b", "2"}};
  proto::BatchGetRequest request;
  BatchGetKeysToProto(keys, &request);
  ExpectEveryFieldSet(request.keys(0));
  std::vector<FullKey> back = BatchGetKeysFromProto(request);
  ASSERT_EQ(back.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(back[i].hash_key, keys[i].hash_key) << i;
    EXPECT_EQ(back[i].sort_key, keys[i].sort_key) << i;
  }
}

// Everything a GetScannerRequest says, for comparing two.
auto Fields(const GetScannerRequest& r) {
  return std::make_tuple(r.start_key, r.stop_key, r.start_inclusive,
                         r.stop_inclusive, r.batch_size, r.no_value,
                         r.hash_key_filter_type, r.hash_key_filter_pattern,
                         r.sort_key_filter_type, r.sort_key_filter_pattern,
                         r.return_expire_ts, r.only_return_count, r.hash_key);
}

GetScannerRequest WithEveryOption(GetScannerRequest request) {
  request.batch_size = 17;
  request.no_value = true;
  request.hash_key_filter_type = FilterType::kMatchPrefix;
  request.hash_key_filter_pattern = "hp";
  request.sort_key_filter_type = FilterType::kMatchAnywhere;
  request.sort_key_filter_pattern = "sp";
  request.return_expire_ts = true;
  request.only_return_count = true;
  return request;
}

void ExpectScannerRoundTrip(const GetScannerRequest& request) {
  proto::GetScannerRequest wire;
  ASSERT_TRUE(GetScannerRequestToProto(request, &wire).ok());
  absl::StatusOr<GetScannerRequest> back = GetScannerRequestFromProto(wire);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(Fields(*back), Fields(request)) << wire.ShortDebugString();
}

TEST(DataCodecTest, HashScannerRequestsRoundTrip) {
  const std::string h = "h\xff";
  ExpectScannerRoundTrip(
      WithEveryOption(GetScannerRequest::ForHashKey(h, "", "")));
  ExpectScannerRoundTrip(GetScannerRequest::ForHashKey(h, "b", "", false));
  ExpectScannerRoundTrip(GetScannerRequest::ForHashKey(h, "", "y"));
  ExpectScannerRoundTrip(
      GetScannerRequest::ForHashKey(h, "b", "y", false, true));

  GetScannerRequest request =
      WithEveryOption(GetScannerRequest::ForHashKey(h, "b", "y", true, true));
  proto::GetScannerRequest wire;
  ASSERT_TRUE(GetScannerRequestToProto(request, &wire).ok());
  ExpectEveryFieldSet(wire);
}

TEST(DataCodecTest, PartitionScannerRequestsRoundTrip) {
  ExpectScannerRoundTrip(WithEveryOption(GetScannerRequest::ForFullScan()));
  // Resuming after the last row seen.
  GetScannerRequest resume = GetScannerRequest::ForFullScan();
  resume.start_key = EncodeStorageKey("hk", "sk");
  resume.start_inclusive = false;
  ExpectScannerRoundTrip(resume);
  GetScannerRequest bounded = WithEveryOption(GetScannerRequest::ForFullScan());
  bounded.start_key = EncodeStorageKey("a", "s0");
  bounded.stop_key = EncodeStorageKey("zz", "s");
  bounded.stop_inclusive = true;
  ExpectScannerRoundTrip(bounded);

  proto::GetScannerRequest wire;
  bounded.start_inclusive = false;
  ASSERT_TRUE(GetScannerRequestToProto(bounded, &wire).ok());
  // start_inclusive false is the default: set it to see the rest set.
  wire.mutable_partition_range()->set_start_inclusive(true);
  ExpectEveryFieldSet(wire);
}

TEST(DataCodecTest, ScannerBoundsThatAreNoRowHaveNoWireForm) {
  proto::GetScannerRequest wire;
  GetScannerRequest mid_prefix = GetScannerRequest::ForFullScan();
  mid_prefix.stop_key = PrefixSuccessor(HashKeyPrefix("h"));
  mid_prefix.stop_key.pop_back();  // Shorter than its length prefix says.
  EXPECT_EQ(CodeName(GetScannerRequestToProto(mid_prefix, &wire)),
            "PERR_INVALID_ARGUMENT");
  // A hash scan that stops at the empty sort key: on the wire an empty
  // stop is the end of the hash key.
  GetScannerRequest empty_stop = GetScannerRequest::ForHashKey("h", "", "");
  empty_stop.stop_key = EncodeStorageKey("h", "");
  empty_stop.stop_inclusive = true;
  EXPECT_EQ(CodeName(GetScannerRequestToProto(empty_stop, &wire)),
            "PERR_INVALID_ARGUMENT");
  GetScannerRequest other_hash_key = GetScannerRequest::ForHashKey("h", "", "");
  other_hash_key.start_key = EncodeStorageKey("g", "");
  EXPECT_EQ(CodeName(GetScannerRequestToProto(other_hash_key, &wire)),
            "PERR_INVALID_ARGUMENT");
}

TEST(DataCodecTest, BadScannerRequestsAreRefused) {
  const std::string too_long(kMaxHashKeyBytes + 1, 'x');
  proto::GetScannerRequest none;
  EXPECT_EQ(CodeName(GetScannerRequestFromProto(none).status()),
            "PERR_INVALID_ARGUMENT");
  proto::GetScannerRequest empty_hash_key;
  empty_hash_key.mutable_hash_key_range()->set_start_sort_key("a");
  EXPECT_EQ(CodeName(GetScannerRequestFromProto(empty_hash_key).status()),
            "PERR_INVALID_HASH_KEY");
  proto::GetScannerRequest long_hash_key;
  long_hash_key.mutable_hash_key_range()->set_hash_key(too_long);
  EXPECT_EQ(CodeName(GetScannerRequestFromProto(long_hash_key).status()),
            "PERR_INVALID_HASH_KEY");
  proto::GetScannerRequest long_start;
  long_start.mutable_partition_range()->set_start_hash_key(too_long);
  EXPECT_EQ(CodeName(GetScannerRequestFromProto(long_start).status()),
            "PERR_INVALID_HASH_KEY");
  proto::GetScannerRequest sort_key_alone;
  sort_key_alone.mutable_partition_range()->set_stop_sort_key("s");
  EXPECT_EQ(CodeName(GetScannerRequestFromProto(sort_key_alone).status()),
            "PERR_INVALID_ARGUMENT");
  for (int32_t type : {-1, 4}) {
    proto::GetScannerRequest filter;
    filter.mutable_partition_range();
    filter.set_hash_key_filter_type(type);
    EXPECT_EQ(CodeName(GetScannerRequestFromProto(filter).status()),
              "PERR_INVALID_ARGUMENT");
    filter.set_hash_key_filter_type(0);
    filter.set_sort_key_filter_type(type);
    EXPECT_EQ(CodeName(GetScannerRequestFromProto(filter).status()),
              "PERR_INVALID_ARGUMENT");
  }
}

TEST(DataCodecTest, WholePartitionRangeScansFromTheFirstKeyToTheLast) {
  proto::GetScannerRequest wire;
  wire.mutable_partition_range()->set_stop_inclusive(true);  // Ignored.
  absl::StatusOr<GetScannerRequest> got = GetScannerRequestFromProto(wire);
  ASSERT_TRUE(got.ok()) << got.status();
  GetScannerRequest expected = GetScannerRequest::ForFullScan();
  expected.batch_size = 0;  // The server's cap.
  EXPECT_EQ(Fields(*got), Fields(expected));
}

// ---- Responses -------------------------------------------------------------

// proto -> type -> proto gives the same message back.
template <typename Response>
void ExpectResponseRoundTrip(const proto::DataResponse& wire,
                             Response (*from_proto)(const proto::DataResponse&),
                             void (*to_proto)(const Response&,
                                              proto::DataResponse*)) {
  proto::DataResponse back;
  to_proto(from_proto(wire), &back);
  ExpectSameMessage(back, wire);
}

proto::DataResponse WithError(ErrorCode code) {
  proto::DataResponse response;
  response.set_error(static_cast<int32_t>(code));
  response.set_error_message("why");
  return response;
}

TEST(DataCodecTest, EveryResponseRoundTripsWithItsFields) {
  proto::DataResponse write = WithError(ErrorCode::kTryAgain);
  write.set_decree(9);
  write.set_new_value(-3);
  write.set_count(2);
  write.set_check_succeeded(true);
  write.set_check_value_returned(true);
  write.set_check_value_exist(true);
  write.set_check_value("old");
  ExpectResponseFields(
      write, {"error", "error_message", "decree", "new_value", "count",
              "check_succeeded", "check_value_returned", "check_value_exist",
              "check_value"});
  ExpectResponseRoundTrip(write, WriteResponseFromProto, WriteResponseToProto);

  proto::DataResponse get = WithError(ErrorCode::kNotFound);
  get.set_value("v");
  ExpectResponseFields(get, {"error", "error_message", "value"});
  ExpectResponseRoundTrip(get, GetResponseFromProto, GetResponseToProto);

  proto::DataResponse multi_get = WithError(ErrorCode::kIncomplete);
  multi_get.add_kvs()->set_key("a");
  multi_get.mutable_kvs(0)->set_value("va");
  multi_get.add_kvs()->set_key("b");
  ExpectResponseFields(multi_get, {"error", "error_message", "kvs"});
  ExpectResponseRoundTrip(multi_get, MultiGetResponseFromProto,
                          MultiGetResponseToProto);

  proto::DataResponse count = WithError(ErrorCode::kCorruption);
  count.set_count(41);
  ExpectResponseFields(count, {"error", "error_message", "count"});
  ExpectResponseRoundTrip(count, SortKeyCountResponseFromProto,
                          SortKeyCountResponseToProto);

  proto::DataResponse ttl;
  ttl.set_ttl_s(-1);
  ExpectResponseFields(ttl, {"ttl_s"});
  ExpectResponseRoundTrip(ttl, TtlResponseFromProto, TtlResponseToProto);

  proto::DataResponse batch_get = WithError(ErrorCode::kIoError);
  proto::FullKeyValue* row = batch_get.add_rows();
  row->set_hash_key("h");
  row->set_sort_key("s");
  row->set_value("v");
  ExpectResponseFields(batch_get, {"error", "error_message", "rows"});
  ExpectResponseRoundTrip(batch_get, BatchGetResponseFromProto,
                          BatchGetResponseToProto);

  proto::DataResponse scan = WithError(ErrorCode::kNotFound);
  row = scan.add_rows();
  row->set_hash_key("h");
  row->set_sort_key("s");
  row->set_value("v");
  row->set_expire_ts_s(99);
  ExpectEveryFieldSet(*row);
  scan.add_rows()->set_hash_key("i");
  scan.set_context_id(int64_t{7} << 32);
  scan.set_kv_count(2);
  ExpectResponseFields(
      scan, {"error", "error_message", "rows", "context_id", "kv_count"});
  ExpectResponseRoundTrip(scan, ScanResponseFromProto, ScanResponseToProto);
}

// -1 and -2 are what a client acts on; 0 is a valid id, and must survive
// proto3's default too.
TEST(DataCodecTest, ScanResponsesCarryDoneLostAndZeroContextIds) {
  for (int64_t id : {kScanContextCompleted, kScanContextNotExist, int64_t{0}}) {
    ScanResponse response;
    response.status = id == kScanContextNotExist
                          ? PegasusError(ErrorCode::kNotFound, "lost")
                          : absl::OkStatus();
    response.context_id = id;
    response.kvs = {{"h", "s", "v", 5}, {"h", "t", "", 0}};
    response.kv_count = 2;
    proto::DataResponse wire;
    ScanResponseToProto(response, &wire);
    proto::DataResponse reparsed;
    ASSERT_TRUE(reparsed.ParseFromString(wire.SerializeAsString()));
    ScanResponse back = ScanResponseFromProto(reparsed);
    EXPECT_EQ(back.context_id, id);
    EXPECT_EQ(ToErrorCode(back.status), ToErrorCode(response.status));
    EXPECT_EQ(back.kvs, response.kvs);
    EXPECT_EQ(back.kv_count, 2);
  }
}

TEST(DataCodecTest, StatusTravelsWithItsCodeAndMessage) {
  proto::DataResponse wire;
  StatusToProto(PegasusError(ErrorCode::kInvalidHashKey, "empty"), &wire);
  EXPECT_EQ(wire.error(), -202);
  absl::Status back = StatusFromProto(wire);
  EXPECT_EQ(ToErrorCode(back), ErrorCode::kInvalidHashKey);
  EXPECT_EQ(back.message(), "empty");
  proto::DataResponse ok;
  StatusToProto(absl::OkStatus(), &ok);
  EXPECT_TRUE(StatusFromProto(ok).ok());
  EXPECT_TRUE(ok.error_message().empty());
}

// ---- ServeDataRead ---------------------------------------------------------

class ServeDataReadTest : public PartitionTest {
 protected:
  proto::DataResponse Serve(const proto::DataRequest& request,
                            int64_t now_us = kTestNowUs) {
    return ServeDataRead(*partition_, request, now_us);
  }

  static proto::DataRequest HashScan(const std::string& hash_key,
                                     int32_t batch_size) {
    proto::DataRequest request;
    proto::HashKeyRange* range =
        request.mutable_get_scanner()->mutable_hash_key_range();
    range->set_hash_key(hash_key);
    range->set_start_inclusive(true);
    request.mutable_get_scanner()->set_batch_size(batch_size);
    return request;
  }
  static proto::DataRequest Scan(int64_t context_id) {
    proto::DataRequest request;
    request.mutable_scan()->set_context_id(context_id);
    return request;
  }

  // "hash/sort=value" for each row of a response.
  static std::vector<std::string> Rows(const proto::DataResponse& response) {
    std::vector<std::string> rows;
    for (const proto::FullKeyValue& row : response.rows()) {
      rows.push_back(row.hash_key() + "/" + row.sort_key() + "=" + row.value());
    }
    return rows;
  }
};

TEST_P(ServeDataReadTest, ServesCountTtlExistAndBatchGet) {
  Set("h", "", "empty");
  Set("h", "a", "va", TestNowS() + 100);
  Set("h", "b", "vb");
  Set("g", "a", "ga");

  proto::DataRequest count;
  count.mutable_sortkey_count()->set_hash_key("h");
  proto::DataResponse counted = Serve(count);
  EXPECT_EQ(CodeName(counted), "PERR_OK");
  EXPECT_EQ(counted.count(), 3);

  proto::DataRequest ttl;
  ttl.mutable_ttl()->set_hash_key("h");
  ttl.mutable_ttl()->set_sort_key("a");
  EXPECT_EQ(Serve(ttl).ttl_s(), 100);
  ttl.mutable_ttl()->set_sort_key("b");
  EXPECT_EQ(Serve(ttl).ttl_s(), -1);
  // exist, as a ttl: found, or not.
  EXPECT_EQ(CodeName(Serve(ttl)), "PERR_OK");
  ttl.mutable_ttl()->set_sort_key("missing");
  EXPECT_EQ(CodeName(Serve(ttl)), "PERR_NOT_FOUND");
  ttl.mutable_ttl()->set_sort_key("a");
  EXPECT_EQ(CodeName(Serve(ttl, kTestNowUs + 101 * 1000000LL)),
            "PERR_NOT_FOUND");

  proto::DataRequest batch_get;
  BatchGetKeysToProto(std::vector<FullKey>{{"g", "a"}, {"h", "x"}, {"h", "b"}},
                      batch_get.mutable_batch_get());
  proto::DataResponse got = Serve(batch_get);
  EXPECT_EQ(CodeName(got), "PERR_OK");
  EXPECT_THAT(Rows(got), ElementsAre("g/a=ga", "h/b=vb"));
  batch_get.mutable_batch_get()->mutable_keys(1)->clear_hash_key();
  got = Serve(batch_get);
  EXPECT_EQ(CodeName(got), "PERR_INVALID_HASH_KEY");
  EXPECT_THAT(Rows(got), IsEmpty());
  EXPECT_EQ(CodeName(Serve(proto::DataRequest())), "PERR_INVALID_ARGUMENT");
}

// multi_get_sortkeys on the wire: a multi_get of the whole hash key with
// no_value and start_inclusive, the empty sort key included.
TEST_P(ServeDataReadTest, MultiGetWithNoValueListsEverySortKey) {
  Set("h", "", "empty");
  Set("h", "a", "va");
  Set("hh", "a", "x");
  proto::DataRequest request;
  proto::MultiGetRequest* multi_get = request.mutable_multi_get();
  multi_get->set_hash_key("h");
  multi_get->set_no_value(true);
  multi_get->set_start_inclusive(true);
  proto::DataResponse response = Serve(request);
  EXPECT_EQ(CodeName(response), "PERR_OK");
  std::vector<std::string> keys;
  for (const proto::KeyValue& kv : response.kvs()) {
    EXPECT_EQ(kv.value(), "");
    keys.push_back(kv.key());
  }
  SortKeysResponse direct =
      partition_->MultiGetSortKeys("h", 100, 1000000, kTestNowUs);
  EXPECT_EQ(keys, direct.sort_keys);
  EXPECT_THAT(keys, ElementsAre("", "a"));
}

TEST_P(ServeDataReadTest, HashScanGoesBatchByBatchWithEveryOption) {
  Set("h", "a", "va", TestNowS() + 50);
  Set("h", "b", "vb");
  Set("h", "c", "vc");
  Set("i", "a", "ia");
  proto::DataRequest request = HashScan("h", 2);
  request.mutable_get_scanner()->set_return_expire_ts(true);
  proto::DataResponse first = Serve(request);
  EXPECT_EQ(CodeName(first), "PERR_OK");
  EXPECT_THAT(Rows(first), ElementsAre("h/a=va", "h/b=vb"));
  EXPECT_EQ(first.rows(0).expire_ts_s(), TestNowS() + 50);
  ASSERT_GE(first.context_id(), 0);
  proto::DataResponse last = Serve(Scan(first.context_id()));
  EXPECT_THAT(Rows(last), ElementsAre("h/c=vc"));
  EXPECT_EQ(last.context_id(), kScanContextCompleted);

  request = HashScan("h", 100);
  request.mutable_get_scanner()->set_only_return_count(true);
  request.mutable_get_scanner()->set_sort_key_filter_type(
      static_cast<int32_t>(FilterType::kMatchPrefix));
  request.mutable_get_scanner()->set_sort_key_filter_pattern("b");
  proto::DataResponse counted = Serve(request);
  EXPECT_THAT(Rows(counted), IsEmpty());
  EXPECT_EQ(counted.kv_count(), 1);
  EXPECT_EQ(counted.context_id(), kScanContextCompleted);

  request = HashScan("h", 1);
  request.mutable_get_scanner()->set_no_value(true);
  proto::DataResponse keys_only = Serve(request);
  EXPECT_THAT(Rows(keys_only), ElementsAre("h/a="));
}

TEST_P(ServeDataReadTest, ClearedOrUnknownScansAreLostAndNegativeIdsRefused) {
  Set("h", "a", "va");
  Set("h", "b", "vb");
  proto::DataResponse first = Serve(HashScan("h", 1));
  ASSERT_GE(first.context_id(), 0);
  proto::DataRequest clear;
  clear.mutable_clear_scanner()->set_context_id(first.context_id());
  EXPECT_EQ(CodeName(Serve(clear)), "PERR_OK");
  EXPECT_EQ(partition_->open_scan_contexts(), 0u);
  EXPECT_EQ(CodeName(Serve(clear)), "PERR_OK") << "clearing twice is fine";
  proto::DataResponse lost = Serve(Scan(first.context_id()));
  EXPECT_EQ(CodeName(lost), "PERR_NOT_FOUND");
  EXPECT_EQ(lost.context_id(), kScanContextNotExist);
  for (int64_t id : {kScanContextCompleted, kScanContextNotExist}) {
    proto::DataResponse refused = Serve(Scan(id));
    EXPECT_EQ(CodeName(refused), "PERR_INVALID_ARGUMENT");
  }
  proto::DataRequest bad = HashScan("", 1);
  EXPECT_EQ(CodeName(Serve(bad)), "PERR_INVALID_HASH_KEY");
  EXPECT_EQ(partition_->open_scan_contexts(), 0u);
}

// The unordered scanner's contract: a lost scan resumes after the last row
// it got, and every row comes back exactly once.
TEST_P(ServeDataReadTest, PartitionScanResumesAfterALostContext) {
  std::vector<std::string> all;
  for (const std::string hash_key : {"a", "b", "cc"}) {
    for (const std::string sort_key : {"1", "2", "3"}) {
      Set(hash_key, sort_key, "v");
      all.push_back(hash_key + "/" + sort_key + "=v");
    }
  }
  proto::DataRequest open;
  open.mutable_get_scanner()->mutable_partition_range();
  open.mutable_get_scanner()->set_batch_size(2);
  std::vector<std::string> seen;
  proto::FullKeyValue last;
  int lost = 0;
  proto::DataResponse response = Serve(open);
  for (int calls = 0; calls < 20; ++calls) {
    if (response.context_id() == kScanContextNotExist) {
      ASSERT_EQ(CodeName(response), "PERR_NOT_FOUND");
      ++lost;
      proto::DataRequest resume = open;
      proto::PartitionRange* range =
          resume.mutable_get_scanner()->mutable_partition_range();
      range->set_start_hash_key(last.hash_key());
      range->set_start_sort_key(last.sort_key());
      range->set_start_inclusive(false);
      response = Serve(resume);
      continue;
    }
    ASSERT_EQ(CodeName(response), "PERR_OK");
    for (const std::string& row : Rows(response)) seen.push_back(row);
    if (response.rows_size() > 0) last = *response.rows().rbegin();
    if (response.context_id() == kScanContextCompleted) break;
    // Every other batch the context goes, as after a failover.
    if (seen.size() % 4 == 2) partition_->ResetScanContexts(1000, 1000);
    response = Serve(Scan(response.context_id()));
  }
  EXPECT_EQ(lost, 2);
  EXPECT_EQ(seen, all);
}

TEST_P(ServeDataReadTest, WritesAreNotServedAsReads) {
  for (const proto::DataRequest& write : EveryWrite()) {
    EXPECT_EQ(CodeName(Serve(write)), "PERR_INVALID_ARGUMENT");
  }
  EXPECT_THAT(RawRows(), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Engines, ServeDataReadTest,
                         testing::Values(EngineType::kMemory), EngineName);

}  // namespace
}  // namespace pegasus
