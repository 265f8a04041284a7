// Partition's reads (get, multi_get, multi_get_sortkeys, sortkey_count, ttl,
// exist, batch_get) against both engines.

#include <ostream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/storage/partition.h"
#include "pegasus/storage/partition_test_util.h"

namespace pegasus {

// Readable failure messages for the types the tests compare.
void PrintTo(ErrorCode code, std::ostream* os) { *os << ErrorCodeName(code); }
void PrintTo(const KeyValue& kv, std::ostream* os) {
  *os << testing::PrintToString(kv.key) << "=" << testing::PrintToString(kv.value);
}
void PrintTo(const FullData& data, std::ostream* os) {
  *os << testing::PrintToString(data.hash_key) << "/" << testing::PrintToString(data.sort_key)
      << "=" << testing::PrintToString(data.value);
}

namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr int64_t kSecondUs = 1000000;

// The value every SetRows() row holds: "v" + its sort key.
KeyValue Row(const std::string& sort_key) { return KeyValue{sort_key, "v" + sort_key}; }

ErrorCode Code(const absl::Status& status) { return ToErrorCode(status); }

std::vector<std::string> Keys(const MultiGetResponse& response) {
  std::vector<std::string> keys;
  for (const KeyValue& kv : response.kvs) keys.push_back(kv.key);
  return keys;
}

class PartitionReadTest : public PartitionTest {
 protected:
  // Writes one row per sort key, valued "v" + sort key.
  void SetRows(const std::string& hash_key, const std::vector<std::string>& sort_keys,
               uint32_t expire_ts_s = 0) {
    for (const std::string& sort_key : sort_keys) {
      Set(hash_key, sort_key, "v" + sort_key, expire_ts_s);
    }
  }

  // Writes a row that has already expired at kTestNowUs.
  void SetExpired(const std::string& hash_key, const std::string& sort_key) {
    Set(hash_key, sort_key, "v" + sort_key, TestNowS() - 10);
  }

  void OpenWithMultiGetCap(int32_t cap) {
    PartitionOptions options;
    options.multi_get_max_iteration_count = cap;
    Open(options);
  }

  MultiGetResponse MultiGet(const MultiGetRequest& request) {
    return partition_->MultiGet(request, kTestNowUs);
  }

  // A range-mode request over all of hash_key.
  static MultiGetRequest RangeOf(const std::string& hash_key) {
    MultiGetRequest request;
    request.hash_key = hash_key;
    return request;
  }

  static MultiGetRequest PointsOf(const std::string& hash_key, std::vector<std::string> sort_keys) {
    MultiGetRequest request;
    request.hash_key = hash_key;
    request.sort_keys = std::move(sort_keys);
    return request;
  }
};

TEST_P(PartitionReadTest, GetReturnsTheStoredValueOrNotFound) {
  Set("h", "s", "value");
  GetResponse response = partition_->Get("h", "s", kTestNowUs);
  ASSERT_TRUE(response.status.ok()) << response.status;
  EXPECT_EQ(response.value, "value");
  EXPECT_EQ(Code(partition_->Get("h", "other", kTestNowUs).status), ErrorCode::kNotFound);
  EXPECT_EQ(Code(partition_->Get("other", "s", kTestNowUs).status), ErrorCode::kNotFound);
  EXPECT_EQ(Code(partition_->Get("h", "", kTestNowUs).status), ErrorCode::kNotFound);
}

TEST_P(PartitionReadTest, ExpiredValueIsInvisibleButShowsAtAnEarlierTime) {
  Set("h", "now", "a", TestNowS());
  Set("h", "past", "b", TestNowS() - 100);
  Set("h", "later", "c", TestNowS() + 1);
  EXPECT_EQ(Code(partition_->Get("h", "now", kTestNowUs).status), ErrorCode::kNotFound);
  EXPECT_EQ(Code(partition_->Get("h", "past", kTestNowUs).status), ErrorCode::kNotFound);
  EXPECT_EQ(Value("h", "later"), "c");
  EXPECT_EQ(Value("h", "now", kTestNowUs - kSecondUs), "a");
  EXPECT_EQ(Value("h", "past", kTestNowUs - 101 * kSecondUs), "b");
  EXPECT_EQ(Value("h", "later", kTestNowUs + kSecondUs), "<absent>");
}

TEST_P(PartitionReadTest, EmptyOrOversizedHashKeyIsInvalidOnEveryRead) {
  for (const std::string& bad : {std::string(), std::string(65535, 'h')}) {
    SCOPED_TRACE("hash key of " + std::to_string(bad.size()) + " bytes");
    EXPECT_EQ(Code(partition_->Get(bad, "s", kTestNowUs).status), ErrorCode::kInvalidHashKey);
    EXPECT_EQ(Code(MultiGet(RangeOf(bad)).status), ErrorCode::kInvalidHashKey);
    EXPECT_EQ(Code(MultiGet(PointsOf(bad, {"s"})).status), ErrorCode::kInvalidHashKey);
    EXPECT_EQ(Code(partition_->MultiGetSortKeys(bad, 10, 1000, kTestNowUs).status),
              ErrorCode::kInvalidHashKey);
    EXPECT_EQ(Code(partition_->SortKeyCount(bad, kTestNowUs).status), ErrorCode::kInvalidHashKey);
    EXPECT_EQ(Code(partition_->Ttl(bad, "s", kTestNowUs).status), ErrorCode::kInvalidHashKey);
    EXPECT_EQ(Code(partition_->Exist(bad, "s", kTestNowUs)), ErrorCode::kInvalidHashKey);
    std::vector<FullKey> keys = {{"ok", "s"}, {bad, "s"}};
    EXPECT_EQ(Code(partition_->BatchGet(keys, kTestNowUs).status), ErrorCode::kInvalidHashKey);
  }
}

TEST_P(PartitionReadTest, HashKeyOf65534BytesIsServed) {
  const std::string longest(65534, 'h');
  Set(longest, "s", "v");
  EXPECT_EQ(Value(longest, "s"), "v");
  EXPECT_THAT(MultiGet(RangeOf(longest)).kvs, ElementsAre(KeyValue{"s", "v"}));
  EXPECT_EQ(partition_->SortKeyCount(longest, kTestNowUs).count, 1);
}

TEST_P(PartitionReadTest, BinaryKeysAndValuesRoundTrip) {
  const std::string hash_key("h\0\xff", 3);
  const std::string sort_key("\0\xff\0", 3);
  const std::string value("\xff\0v\0", 4);
  Set(hash_key, sort_key, value);
  EXPECT_EQ(Value(hash_key, sort_key), value);
  EXPECT_EQ(Value("h", sort_key), "<absent>");
  EXPECT_EQ(Value(hash_key, std::string("\0", 1)), "<absent>");
  EXPECT_THAT(MultiGet(RangeOf(hash_key)).kvs, ElementsAre(KeyValue{sort_key, value}));

  // Sort keys order as unsigned bytes.
  SetRows("h", {"\xff", "\x80", "\x7f", std::string("\0", 1), "", "a"});
  EXPECT_THAT(Keys(MultiGet(RangeOf("h"))),
              ElementsAre("", std::string("\0", 1), "a", "\x7f", "\x80", "\xff"));
}

// ---- multi_get, point mode --------------------------------------------------

TEST_P(PartitionReadTest, PointModeKeepsRequestOrderAndSkipsMissingAndExpired) {
  SetRows("h", {"a", "b", "c"});
  SetExpired("h", "d");
  MultiGetResponse response = MultiGet(PointsOf("h", {"c", "missing", "a", "d", "b", "a"}));
  EXPECT_TRUE(response.status.ok()) << response.status;
  EXPECT_THAT(response.kvs, ElementsAre(Row("c"), Row("a"), Row("b"), Row("a")));
}

TEST_P(PartitionReadTest, PointModeIgnoresRangeFilterAndReverse) {
  SetRows("h", {"a", "b", "c"});
  MultiGetRequest request = PointsOf("h", {"c", "a"});
  request.start_sort_key = "b";
  request.sort_key_filter_type = FilterType::kMatchPrefix;
  request.sort_key_filter_pattern = "b";
  request.reverse = true;
  EXPECT_THAT(MultiGet(request).kvs, ElementsAre(Row("c"), Row("a")));
}

TEST_P(PartitionReadTest, PointModeNoValueReturnsEmptyValues) {
  SetRows("h", {"a", "b"});
  MultiGetRequest request = PointsOf("h", {"b", "a"});
  request.no_value = true;
  MultiGetResponse response = MultiGet(request);
  EXPECT_TRUE(response.status.ok()) << response.status;
  EXPECT_THAT(response.kvs, ElementsAre(KeyValue{"b", ""}, KeyValue{"a", ""}));
}

TEST_P(PartitionReadTest, PointModeCountLimitIsIncompleteOnlyWhileALiveKeyRemains) {
  SetRows("h", {"a", "b", "c"});
  SetExpired("h", "x");
  MultiGetRequest request = PointsOf("h", {"a", "b", "c"});
  request.max_kv_count = 2;
  MultiGetResponse response = MultiGet(request);
  EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete);
  EXPECT_THAT(response.kvs, ElementsAre(Row("a"), Row("b")));

  request.sort_keys = {"a", "missing", "b", "x", "missing2"};
  response = MultiGet(request);
  EXPECT_TRUE(response.status.ok()) << response.status;
  EXPECT_THAT(response.kvs, ElementsAre(Row("a"), Row("b")));
}

TEST_P(PartitionReadTest, PointModeSizeLimitIncludesTheRowThatCrossesIt) {
  // Each row is 1 byte of sort key plus 2 bytes of value.
  SetRows("h", {"a", "b", "c"});
  MultiGetRequest request = PointsOf("h", {"a", "b", "c"});
  request.max_kv_size = 4;
  MultiGetResponse response = MultiGet(request);
  EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete);
  EXPECT_THAT(response.kvs, ElementsAre(Row("a"), Row("b")));

  request.max_kv_size = 3;
  response = MultiGet(request);
  EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete);
  EXPECT_THAT(response.kvs, ElementsAre(Row("a")));

  request.max_kv_size = 4;
  request.sort_keys = {"a", "b", "missing"};
  response = MultiGet(request);
  EXPECT_TRUE(response.status.ok()) << response.status;
  EXPECT_THAT(response.kvs, ElementsAre(Row("a"), Row("b")));
}

TEST_P(PartitionReadTest, PointModeNonPositiveCountMeansTheServerCap) {
  OpenWithMultiGetCap(2);
  SetRows("h", {"a", "b", "c"});
  for (int32_t max_kv_count : {0, -1, 5}) {
    MultiGetRequest request = PointsOf("h", {"c", "b", "a"});
    request.max_kv_count = max_kv_count;
    MultiGetResponse response = MultiGet(request);
    EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete) << max_kv_count;
    EXPECT_THAT(response.kvs, ElementsAre(Row("c"), Row("b"))) << max_kv_count;
  }
}

// ---- multi_get, range mode --------------------------------------------------

TEST_P(PartitionReadTest, RangeReturnsEveryRowOfTheHashKeyAndNoNeighbours) {
  const std::vector<std::string> sort_keys = {"", "x", "\xff"};
  for (const char* hash_key : {"a", "ab", "b", "aa"}) SetRows(hash_key, sort_keys);
  for (bool reverse : {false, true}) {
    for (const char* hash_key : {"a", "ab", "b"}) {
      MultiGetRequest request = RangeOf(hash_key);
      request.reverse = reverse;
      MultiGetResponse response = MultiGet(request);
      EXPECT_TRUE(response.status.ok()) << response.status;
      EXPECT_THAT(response.kvs, ElementsAre(Row(""), Row("x"), Row("\xff")))
          << hash_key << (reverse ? " reverse" : "");
    }
  }
  EXPECT_THAT(MultiGet(RangeOf("c")).kvs, IsEmpty());
}

struct RangeCase {
  std::string start;
  std::string stop;
  bool start_inclusive;
  bool stop_inclusive;
  std::vector<std::string> expected;
};

TEST_P(PartitionReadTest, RangeBoundsHonourInclusiveFlagsAndEmptyRangesAreOk) {
  SetRows("h", {"", "a", "b", "c", "d", "e"});
  SetRows("g", {"a", "z"});
  SetRows("i", {"a", "z"});
  const std::vector<RangeCase> cases = {
      {"b", "d", true, false, {"b", "c"}},
      {"b", "d", true, true, {"b", "c", "d"}},
      {"b", "d", false, false, {"c"}},
      {"b", "d", false, true, {"c", "d"}},
      {"", "c", false, false, {"a", "b"}},
      {"", "b", true, false, {"", "a"}},
      {"bb", "dd", true, true, {"c", "d"}},
      {"c", "", true, false, {"c", "d", "e"}},
      {"c", "", false, true, {"d", "e"}},  // An empty stop ignores its flag.
      {"", "", true, false, {"", "a", "b", "c", "d", "e"}},
      {"", "", false, false, {"a", "b", "c", "d", "e"}},
      {"0", "z", true, true, {"a", "b", "c", "d", "e"}},
      // Empty ranges: OK with no rows.
      {"d", "b", true, true, {}},
      {"c", "c", true, false, {}},
      {"c", "c", false, true, {}},
      {"c", "c", false, false, {}},
      {"bb", "bc", true, true, {}},
      {"c", "c", true, true, {"c"}},
  };
  for (bool reverse : {false, true}) {
    for (const RangeCase& c : cases) {
      MultiGetRequest request = RangeOf("h");
      request.start_sort_key = c.start;
      request.stop_sort_key = c.stop;
      request.start_inclusive = c.start_inclusive;
      request.stop_inclusive = c.stop_inclusive;
      request.reverse = reverse;
      MultiGetResponse response = MultiGet(request);
      std::string label = "[" + c.start + (c.start_inclusive ? " incl, " : " excl, ") + c.stop +
                          (c.stop_inclusive ? " incl]" : " excl]") + (reverse ? " reverse" : "");
      EXPECT_TRUE(response.status.ok()) << label << ": " << response.status;
      EXPECT_EQ(Keys(response), c.expected) << label;
    }
  }
}

TEST_P(PartitionReadTest, SortKeyFiltersSelectMatchingRows) {
  SetRows("h", {"apple", "applepie", "banana", "grape", "pineapple", "pp"});
  auto filtered = [&](FilterType type, const std::string& pattern) {
    MultiGetRequest request = RangeOf("h");
    request.sort_key_filter_type = type;
    request.sort_key_filter_pattern = pattern;
    MultiGetResponse response = MultiGet(request);
    EXPECT_TRUE(response.status.ok()) << response.status;
    return Keys(response);
  };
  EXPECT_THAT(filtered(FilterType::kMatchAnywhere, "pp"),
              ElementsAre("apple", "applepie", "pineapple", "pp"));
  EXPECT_THAT(filtered(FilterType::kMatchAnywhere, "apple"),
              ElementsAre("apple", "applepie", "pineapple"));
  EXPECT_THAT(filtered(FilterType::kMatchPrefix, "apple"), ElementsAre("apple", "applepie"));
  EXPECT_THAT(filtered(FilterType::kMatchPostfix, "apple"), ElementsAre("apple", "pineapple"));
  EXPECT_THAT(filtered(FilterType::kMatchPostfix, "e"),
              ElementsAre("apple", "applepie", "grape", "pineapple"));
  EXPECT_THAT(filtered(FilterType::kMatchAnywhere, "applepies"), IsEmpty());
  const std::vector<std::string> all = {"apple", "applepie", "banana", "grape", "pineapple", "pp"};
  for (FilterType type :
       {FilterType::kMatchAnywhere, FilterType::kMatchPrefix, FilterType::kMatchPostfix}) {
    EXPECT_EQ(filtered(type, ""), all) << static_cast<int>(type);
  }
  EXPECT_EQ(filtered(FilterType::kNoFilter, "zzz"), all);
}

TEST_P(PartitionReadTest, PrefixFilterCombinesWithTheRange) {
  SetRows("h", {"a", "b", "ba", "bb", "bc", "bd", "c"});
  MultiGetRequest request = RangeOf("h");
  request.sort_key_filter_type = FilterType::kMatchPrefix;
  request.sort_key_filter_pattern = "b";
  EXPECT_THAT(Keys(MultiGet(request)), ElementsAre("b", "ba", "bb", "bc", "bd"));

  request.start_sort_key = "bb";
  request.start_inclusive = false;
  EXPECT_THAT(Keys(MultiGet(request)), ElementsAre("bc", "bd"));
  request.start_sort_key = "b";  // The start, not the pattern, decides on "b".
  EXPECT_THAT(Keys(MultiGet(request)), ElementsAre("ba", "bb", "bc", "bd"));

  request.start_sort_key = "";
  request.stop_sort_key = "bc";
  request.stop_inclusive = true;
  EXPECT_THAT(Keys(MultiGet(request)), ElementsAre("b", "ba", "bb", "bc"));

  request.stop_sort_key = "c";
  request.stop_inclusive = true;
  request.reverse = true;
  request.max_kv_count = 2;
  MultiGetResponse response = MultiGet(request);
  EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete);
  EXPECT_THAT(Keys(response), ElementsAre("bc", "bd"));

  request.start_sort_key = "a";
  request.stop_sort_key = "az";
  EXPECT_THAT(Keys(MultiGet(request)), IsEmpty());
}

TEST_P(PartitionReadTest, PrefixFilterOfFFBytesStaysInTheHashKey) {
  SetRows("h", {"a", "\xfe", "\xff", "\xff\x01", "\xff\xff"});
  SetRows("i", {"", "\xff"});
  for (bool reverse : {false, true}) {
    MultiGetRequest request = RangeOf("h");
    request.sort_key_filter_type = FilterType::kMatchPrefix;
    request.sort_key_filter_pattern = "\xff";
    request.reverse = reverse;
    MultiGetResponse response = MultiGet(request);
    EXPECT_TRUE(response.status.ok()) << response.status;
    EXPECT_THAT(Keys(response), ElementsAre("\xff", "\xff\x01", "\xff\xff")) << reverse;
  }
}

TEST_P(PartitionReadTest, ReverseRangeReturnsHighestRowsInAscendingOrder) {
  SetRows("h", {"a", "b", "c", "d", "e"});
  MultiGetRequest request = RangeOf("h");
  request.reverse = true;
  MultiGetResponse response = MultiGet(request);
  EXPECT_TRUE(response.status.ok()) << response.status;
  EXPECT_THAT(response.kvs, ElementsAre(Row("a"), Row("b"), Row("c"), Row("d"), Row("e")));

  request.max_kv_count = 2;
  response = MultiGet(request);
  EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete);
  EXPECT_THAT(response.kvs, ElementsAre(Row("d"), Row("e")));

  request.max_kv_count = 100;
  request.max_kv_size = 4;  // Rows are 3 bytes: the second crosses the limit.
  response = MultiGet(request);
  EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete);
  EXPECT_THAT(response.kvs, ElementsAre(Row("d"), Row("e")));

  request.max_kv_size = 0;
  request.stop_sort_key = "d";
  request.max_kv_count = 2;
  response = MultiGet(request);
  EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete);
  EXPECT_THAT(response.kvs, ElementsAre(Row("b"), Row("c")));
}

TEST_P(PartitionReadTest, RangeCountLimitIsIncompleteWhileAnInRangeRowRemains) {
  SetRows("h", {"a", "b", "c", "d"});
  for (bool reverse : {false, true}) {
    MultiGetRequest request = RangeOf("h");
    request.reverse = reverse;
    request.max_kv_count = 3;
    MultiGetResponse response = MultiGet(request);
    EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete) << reverse;
    EXPECT_THAT(Keys(response), reverse ? ElementsAre("b", "c", "d") : ElementsAre("a", "b", "c"));
  }
}

TEST_P(PartitionReadTest, RangeReachingItsEndExactlyAtTheLimitIsOk) {
  SetRows("a", {"a", "z"});
  SetRows("h", {"a", "b", "c", "d"});
  SetRows("i", {"a", "z"});
  auto read = [&](const std::string& start, const std::string& stop, bool stop_inclusive,
                  bool reverse, int32_t max_kv_count) {
    MultiGetRequest request = RangeOf("h");
    request.start_sort_key = start;
    request.stop_sort_key = stop;
    request.stop_inclusive = stop_inclusive;
    request.reverse = reverse;
    request.max_kv_count = max_kv_count;
    return MultiGet(request);
  };
  for (bool reverse : {false, true}) {
    MultiGetResponse whole = read("", "", false, reverse, 4);
    EXPECT_TRUE(whole.status.ok()) << reverse << ": " << whole.status;
    EXPECT_THAT(Keys(whole), ElementsAre("a", "b", "c", "d"));

    // The next row exists but lies outside the range.
    MultiGetResponse head = read("", "c", false, reverse, 2);
    EXPECT_TRUE(head.status.ok()) << reverse << ": " << head.status;
    EXPECT_THAT(Keys(head), ElementsAre("a", "b"));

    MultiGetResponse tail = read("b", "d", true, reverse, 3);
    EXPECT_TRUE(tail.status.ok()) << reverse << ": " << tail.status;
    EXPECT_THAT(Keys(tail), ElementsAre("b", "c", "d"));
  }
}

TEST_P(PartitionReadTest, RangeSizeLimitIncludesTheRowThatCrossesIt) {
  SetRows("h", {"a", "b", "c"});  // 3 bytes a row.
  MultiGetRequest request = RangeOf("h");
  request.max_kv_size = 4;
  MultiGetResponse response = MultiGet(request);
  EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete);
  EXPECT_THAT(response.kvs, ElementsAre(Row("a"), Row("b")));

  request.max_kv_size = 7;  // Crossed by the last row.
  response = MultiGet(request);
  EXPECT_TRUE(response.status.ok()) << response.status;
  EXPECT_THAT(response.kvs, ElementsAre(Row("a"), Row("b"), Row("c")));
}

TEST_P(PartitionReadTest, NoValueSizeLimitCountsSortKeysOnly) {
  Set("h", "k1", std::string(100, 'x'));
  Set("h", "k2", std::string(100, 'y'));
  Set("h", "k3", std::string(100, 'z'));
  MultiGetRequest request = RangeOf("h");
  request.no_value = true;
  request.max_kv_size = 3;
  MultiGetResponse response = MultiGet(request);
  EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete);
  EXPECT_THAT(response.kvs, ElementsAre(KeyValue{"k1", ""}, KeyValue{"k2", ""}));

  request.no_value = false;
  response = MultiGet(request);
  EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete);
  EXPECT_THAT(response.kvs, ElementsAre(KeyValue{"k1", std::string(100, 'x')}));
}

TEST_P(PartitionReadTest, ServerSizeCapAppliesWhenTheRequestHasNone) {
  PartitionOptions options;
  options.multi_get_max_iteration_size_bytes = 4;
  Open(options);
  SetRows("h", {"a", "b", "c"});
  MultiGetRequest request = RangeOf("h");
  request.max_kv_size = 0;
  MultiGetResponse response = MultiGet(request);
  EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete);
  EXPECT_THAT(response.kvs, ElementsAre(Row("a"), Row("b")));
}

TEST_P(PartitionReadTest, IterationCapCountsExpiredAndFilteredRows) {
  OpenWithMultiGetCap(3);
  SetExpired("h", "a");
  SetRows("h", {"b", "c", "d", "e"});
  MultiGetResponse response = MultiGet(RangeOf("h"));
  EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete);
  EXPECT_THAT(response.kvs, ElementsAre(Row("b"), Row("c")));

  // Only a2m, a4m, a5m, m1 and m2 contain "m".
  SetRows("f", {"a1", "a2m", "a3", "a4m", "a5m", "m1", "m2"});
  MultiGetRequest request = RangeOf("f");
  request.sort_key_filter_type = FilterType::kMatchAnywhere;
  request.sort_key_filter_pattern = "m";
  response = MultiGet(request);
  EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete);
  EXPECT_THAT(Keys(response), ElementsAre("a2m"));
  // A prefix filter narrows the range, so only rows starting with it are
  // examined.
  request.sort_key_filter_type = FilterType::kMatchPrefix;
  response = MultiGet(request);
  EXPECT_TRUE(response.status.ok()) << response.status;
  EXPECT_THAT(Keys(response), ElementsAre("m1", "m2"));
}

TEST_P(PartitionReadTest, RangeNonPositiveCountMeansTheServerCap) {
  OpenWithMultiGetCap(3);
  SetRows("h", {"a", "b", "c", "d"});
  SetRows("g", {"a", "b", "c"});
  for (int32_t max_kv_count : {0, -1, 10}) {
    MultiGetRequest request = RangeOf("h");
    request.max_kv_count = max_kv_count;
    MultiGetResponse response = MultiGet(request);
    EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete) << max_kv_count;
    EXPECT_THAT(Keys(response), ElementsAre("a", "b", "c")) << max_kv_count;

    request.hash_key = "g";
    response = MultiGet(request);
    EXPECT_TRUE(response.status.ok()) << max_kv_count << ": " << response.status;
    EXPECT_THAT(Keys(response), ElementsAre("a", "b", "c")) << max_kv_count;
  }
}

TEST_P(PartitionReadTest, RangeSkipsExpiredRows) {
  SetRows("h", {"a", "c"});
  SetExpired("h", "b");
  Set("h", "d", "vd", TestNowS() + 5);
  EXPECT_THAT(MultiGet(RangeOf("h")).kvs, ElementsAre(Row("a"), Row("c"), Row("d")));
  MultiGetRequest request = RangeOf("h");
  request.reverse = true;
  request.max_kv_count = 2;
  EXPECT_THAT(MultiGet(request).kvs, ElementsAre(Row("c"), Row("d")));
  EXPECT_THAT(partition_->MultiGet(RangeOf("h"), kTestNowUs + 5 * kSecondUs).kvs,
              ElementsAre(Row("a"), Row("c")));
  EXPECT_THAT(partition_->MultiGet(RangeOf("h"), kTestNowUs - 20 * kSecondUs).kvs,
              ElementsAre(Row("a"), Row("b"), Row("c"), Row("d")));
}

TEST_P(PartitionReadTest, RangeNoValueReturnsEmptyValues) {
  SetRows("h", {"a", "b"});
  MultiGetRequest request = RangeOf("h");
  request.no_value = true;
  EXPECT_THAT(MultiGet(request).kvs, ElementsAre(KeyValue{"a", ""}, KeyValue{"b", ""}));
}

TEST_P(PartitionReadTest, UnknownFilterTypeIsInvalidArgument) {
  SetRows("h", {"a"});
  MultiGetRequest request = RangeOf("h");
  request.sort_key_filter_type = static_cast<FilterType>(9);
  MultiGetResponse response = MultiGet(request);
  EXPECT_EQ(Code(response.status), ErrorCode::kInvalidArgument);
  EXPECT_THAT(response.kvs, IsEmpty());
  request.sort_key_filter_type = static_cast<FilterType>(-1);
  EXPECT_EQ(Code(MultiGet(request).status), ErrorCode::kInvalidArgument);
  request.sort_keys = {"a"};
  request.sort_key_filter_type = static_cast<FilterType>(9);
  EXPECT_EQ(Code(MultiGet(request).status), ErrorCode::kInvalidArgument);
}

TEST_P(PartitionReadTest, ReadsMergeFlushedAndUnflushedRows) {
  SetRows("g", {"z"});
  SetRows("h", {"a", "c", "e"});
  SetRows("i", {""});
  ASSERT_TRUE(engine_->Flush().ok());
  SetRows("h", {"b", "d"});
  SetRows("hh", {"a"});
  ASSERT_TRUE(WriteOne(RemoveRequest{"h", "c"}).status.ok());
  EXPECT_THAT(Keys(MultiGet(RangeOf("h"))), ElementsAre("a", "b", "d", "e"));
  MultiGetRequest request = RangeOf("h");
  request.reverse = true;
  EXPECT_THAT(Keys(MultiGet(request)), ElementsAre("a", "b", "d", "e"));
  request.max_kv_count = 2;
  MultiGetResponse response = MultiGet(request);
  EXPECT_EQ(Code(response.status), ErrorCode::kIncomplete);
  EXPECT_THAT(Keys(response), ElementsAre("d", "e"));
  EXPECT_THAT(MultiGet(PointsOf("h", {"e", "c", "a"})).kvs, ElementsAre(Row("e"), Row("a")));
  EXPECT_THAT(Keys(MultiGet(RangeOf("f"))), IsEmpty());
  EXPECT_THAT(Keys(MultiGet(RangeOf("gg"))), IsEmpty());
  EXPECT_EQ(partition_->SortKeyCount("h", kTestNowUs).count, 4);
  EXPECT_EQ(Value("h", "c"), "<absent>");
}

// ---- multi_get_sortkeys, sortkey_count ---------------------------------------

TEST_P(PartitionReadTest, MultiGetSortKeysReturnsLiveSortKeysOnly) {
  SetRows("h", {"a", "c"});
  SetExpired("h", "b");
  SetRows("g", {"x"});
  SortKeysResponse response = partition_->MultiGetSortKeys("h", 100, 1000, kTestNowUs);
  EXPECT_TRUE(response.status.ok()) << response.status;
  EXPECT_THAT(response.sort_keys, ElementsAre("a", "c"));
  EXPECT_THAT(partition_->MultiGetSortKeys("none", 100, 1000, kTestNowUs).sort_keys, IsEmpty());
}

TEST_P(PartitionReadTest, MultiGetSortKeysLimitsMakeItIncomplete) {
  SetRows("h", {"k1", "k2", "k3"});
  SortKeysResponse by_count = partition_->MultiGetSortKeys("h", 2, 0, kTestNowUs);
  EXPECT_EQ(Code(by_count.status), ErrorCode::kIncomplete);
  EXPECT_THAT(by_count.sort_keys, ElementsAre("k1", "k2"));
  // Only sort keys count toward the size: 2 bytes a row.
  SortKeysResponse by_size = partition_->MultiGetSortKeys("h", 0, 3, kTestNowUs);
  EXPECT_EQ(Code(by_size.status), ErrorCode::kIncomplete);
  EXPECT_THAT(by_size.sort_keys, ElementsAre("k1", "k2"));
  SortKeysResponse exact = partition_->MultiGetSortKeys("h", 3, 0, kTestNowUs);
  EXPECT_TRUE(exact.status.ok()) << exact.status;
  EXPECT_THAT(exact.sort_keys, ElementsAre("k1", "k2", "k3"));
}

TEST_P(PartitionReadTest, SortKeyCountCountsLiveRowsOfTheHashKeyOnly) {
  SetRows("h", {"", "a", "b", "\xff"});
  SetExpired("h", "c");
  SetRows("a", {"a"});
  SetRows("hh", {"a", "b"});
  SetRows("i", {"a"});
  SortKeyCountResponse response = partition_->SortKeyCount("h", kTestNowUs);
  EXPECT_TRUE(response.status.ok()) << response.status;
  EXPECT_EQ(response.count, 4);
  EXPECT_EQ(partition_->SortKeyCount("h", kTestNowUs - 20 * kSecondUs).count, 5);
  SortKeyCountResponse unknown = partition_->SortKeyCount("unknown", kTestNowUs);
  EXPECT_TRUE(unknown.status.ok()) << unknown.status;
  EXPECT_EQ(unknown.count, 0);
}

// ---- ttl, exist ---------------------------------------------------------------

TEST_P(PartitionReadTest, TtlReportsRemainingSecondsOrMinusOne) {
  Set("h", "forever", "v");
  Set("h", "ttl", "v", ExpireTsFromTtl(kTestNowUs, 100));
  TtlResponse forever = partition_->Ttl("h", "forever", kTestNowUs);
  ASSERT_TRUE(forever.status.ok()) << forever.status;
  EXPECT_EQ(forever.ttl_s, -1);
  TtlResponse ttl = partition_->Ttl("h", "ttl", kTestNowUs);
  ASSERT_TRUE(ttl.status.ok()) << ttl.status;
  EXPECT_EQ(ttl.ttl_s, 100);
  EXPECT_EQ(partition_->Ttl("h", "ttl", kTestNowUs + 30 * kSecondUs).ttl_s, 70);
  EXPECT_EQ(partition_->Ttl("h", "ttl", kTestNowUs + 99 * kSecondUs).ttl_s, 1);
}

TEST_P(PartitionReadTest, TtlAndExistAreNotFoundForMissingOrExpiredRows) {
  Set("h", "ttl", "v", ExpireTsFromTtl(kTestNowUs, 100));
  Set("h", "forever", "v");
  SetExpired("h", "old");
  EXPECT_EQ(Code(partition_->Ttl("h", "missing", kTestNowUs).status), ErrorCode::kNotFound);
  EXPECT_EQ(Code(partition_->Ttl("h", "old", kTestNowUs).status), ErrorCode::kNotFound);
  EXPECT_EQ(Code(partition_->Ttl("h", "ttl", kTestNowUs + 100 * kSecondUs).status),
            ErrorCode::kNotFound);

  EXPECT_TRUE(partition_->Exist("h", "ttl", kTestNowUs).ok());
  EXPECT_TRUE(partition_->Exist("h", "forever", kTestNowUs).ok());
  EXPECT_EQ(Code(partition_->Exist("h", "missing", kTestNowUs)), ErrorCode::kNotFound);
  EXPECT_EQ(Code(partition_->Exist("h", "old", kTestNowUs)), ErrorCode::kNotFound);
  EXPECT_EQ(Code(partition_->Exist("h", "ttl", kTestNowUs + 100 * kSecondUs)),
            ErrorCode::kNotFound);
}

// ---- batch_get ----------------------------------------------------------------

TEST_P(PartitionReadTest, BatchGetKeepsRequestOrderAndDuplicatesAndSkipsMissing) {
  Set("a", "1", "a1");
  Set("b", "2", "b2");
  Set("b", "3", "b3");
  SetExpired("c", "1");
  std::vector<FullKey> keys = {{"b", "3"}, {"a", "missing"}, {"a", "1"}, {"c", "1"},
                               {"b", "2"}, {"b", "3"},       {"zz", "1"}};
  BatchGetResponse response = partition_->BatchGet(keys, kTestNowUs);
  EXPECT_TRUE(response.status.ok()) << response.status;
  EXPECT_THAT(response.data, ElementsAre(FullData{"b", "3", "b3"}, FullData{"a", "1", "a1"},
                                         FullData{"b", "2", "b2"}, FullData{"b", "3", "b3"}));
}

TEST_P(PartitionReadTest, BatchGetRejectsNoKeysAndAnyEmptyHashKey) {
  Set("a", "1", "a1");
  BatchGetResponse none = partition_->BatchGet({}, kTestNowUs);
  EXPECT_EQ(Code(none.status), ErrorCode::kInvalidArgument);
  EXPECT_THAT(none.data, IsEmpty());
  std::vector<FullKey> keys = {{"a", "1"}, {"", "1"}};
  BatchGetResponse empty_hash_key = partition_->BatchGet(keys, kTestNowUs);
  EXPECT_EQ(Code(empty_hash_key.status), ErrorCode::kInvalidHashKey);
  EXPECT_THAT(empty_hash_key.data, IsEmpty());
}

TEST_P(PartitionReadTest, BatchGetOfMoreKeysThanTheIterationCapIsRefused) {
  PartitionOptions options;
  options.multi_get_max_iteration_count = 2;
  Open(options);
  Set("a", "1", "a1");
  std::vector<FullKey> keys = {{"a", "1"}, {"a", "1"}};
  BatchGetResponse at_cap = partition_->BatchGet(keys, kTestNowUs);
  EXPECT_TRUE(at_cap.status.ok()) << at_cap.status;
  EXPECT_EQ(at_cap.data.size(), 2u);
  keys.push_back({"a", "1"});
  BatchGetResponse over = partition_->BatchGet(keys, kTestNowUs);
  EXPECT_EQ(Code(over.status), ErrorCode::kInvalidArgument);
  EXPECT_THAT(over.data, IsEmpty());
}

// ---- default TTL ----------------------------------------------------------------

TEST_P(PartitionReadTest, DefaultTtlAppliesToLaterWritesWithoutTheirOwnExpiry) {
  Set("h", "before", "v");
  partition_->SetDefaultTtl(100);
  Set("h", "plain", "v");
  Set("h", "own", "v", ExpireTsFromTtl(kTestNowUs, 500));
  WriteResponse multi_put = WriteOne(MultiPutRequest{"h", {{"m1", "v"}, {"m2", "v"}}, 0});
  ASSERT_TRUE(multi_put.status.ok()) << multi_put.status;
  EXPECT_EQ(partition_->Ttl("h", "before", kTestNowUs).ttl_s, -1);
  EXPECT_EQ(partition_->Ttl("h", "plain", kTestNowUs).ttl_s, 100);
  EXPECT_EQ(partition_->Ttl("h", "own", kTestNowUs).ttl_s, 500);
  EXPECT_EQ(partition_->Ttl("h", "m1", kTestNowUs).ttl_s, 100);
  EXPECT_EQ(partition_->Ttl("h", "m2", kTestNowUs + 40 * kSecondUs).ttl_s, 60);
  EXPECT_EQ(Value("h", "plain", kTestNowUs + 100 * kSecondUs), "<absent>");

  WriteResponse at_later =
      WriteOne(PutRequest{"h", "shifted", "v", 0}, kTestNowUs + 50 * kSecondUs);
  ASSERT_TRUE(at_later.status.ok()) << at_later.status;
  EXPECT_EQ(partition_->Ttl("h", "shifted", kTestNowUs).ttl_s, 150);

  partition_->SetDefaultTtl(0);
  Set("h", "after", "v");
  EXPECT_EQ(partition_->Ttl("h", "after", kTestNowUs).ttl_s, -1);
}

PEGASUS_INSTANTIATE_PARTITION_TEST(PartitionReadTest);

}  // namespace

}  // namespace pegasus
