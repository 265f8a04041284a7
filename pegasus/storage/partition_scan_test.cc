// Partition's scanners (get_scanner, scan, clear_scanner) against both
// engines.

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pegasus/base/key_schema.h"
#include "pegasus/base/status.h"
#include "pegasus/storage/partition.h"
#include "pegasus/storage/partition_test_util.h"

namespace pegasus {

// Readable failure messages for the types the tests compare.
void PrintTo(ErrorCode code, std::ostream* os) { *os << ErrorCodeName(code); }
void PrintTo(const ScanKeyValue& kv, std::ostream* os) {
  *os << testing::PrintToString(kv.hash_key) << "/" << testing::PrintToString(kv.sort_key) << "="
      << testing::PrintToString(kv.value) << "@" << kv.expire_ts_s;
}

namespace {

using ::testing::ElementsAre;
using ::testing::Ge;
using ::testing::IsEmpty;

constexpr int64_t kSecondUs = 1000000;

ErrorCode Code(const absl::Status& status) { return ToErrorCode(status); }

// "hash/sort=value" per row.
std::vector<std::string> Rows(const std::vector<ScanKeyValue>& kvs) {
  std::vector<std::string> rows;
  for (const ScanKeyValue& kv : kvs) {
    rows.push_back(kv.hash_key + "/" + kv.sort_key + "=" + kv.value);
  }
  return rows;
}

// Everything one scan returned, call by call.
struct ScanResult {
  std::vector<std::string> rows;
  std::vector<size_t> batch_sizes;
  std::vector<int32_t> kv_counts;
  int64_t total_kv_count = 0;
};

struct Options {
  int32_t scan_max_iteration_count = 1000;
  size_t max_scan_contexts = 1000;
  int64_t scan_context_idle_timeout_us = 5 * 60 * kSecondUs;
  int64_t scan_context_id_base = 0;
};

class PartitionScanTest : public PartitionTest {
 protected:
  void OpenWith(const Options& scan_options) {
    PartitionOptions options;
    options.scan_max_iteration_count = scan_options.scan_max_iteration_count;
    options.max_scan_contexts = scan_options.max_scan_contexts;
    options.scan_context_idle_timeout_us = scan_options.scan_context_idle_timeout_us;
    options.scan_context_id_base = scan_options.scan_context_id_base;
    Open(options);
  }

  // Writes one row per sort key, valued "v" + sort key.
  void SetRows(const std::string& hash_key, const std::vector<std::string>& sort_keys,
               uint32_t expire_ts_s = 0) {
    for (const std::string& sort_key : sort_keys) {
      Set(hash_key, sort_key, "v" + sort_key, expire_ts_s);
    }
  }

  // Runs a scan to completion, checking that every call is OK and that
  // every call but the last names a live context.
  ScanResult ScanAll(const GetScannerRequest& request, int64_t now_us = kTestNowUs) {
    ScanResult result;
    ScanResponse response = partition_->GetScanner(request, now_us);
    for (int calls = 1;; ++calls) {
      EXPECT_TRUE(response.status.ok()) << "call " << calls << ": " << response.status;
      if (!response.status.ok()) break;
      for (const std::string& row : Rows(response.kvs)) result.rows.push_back(row);
      result.batch_sizes.push_back(response.kvs.size());
      result.kv_counts.push_back(response.kv_count);
      result.total_kv_count += response.kv_count;
      if (response.context_id == kScanContextCompleted) break;
      EXPECT_GE(response.context_id, 0) << "call " << calls;
      if (calls > 1000) {
        ADD_FAILURE() << "the scan never completes";
        break;
      }
      response = partition_->Scan(response.context_id, now_us);
    }
    return result;
  }

  // The "hash/sort=value" rows a scan returns in all.
  std::vector<std::string> ScanRows(const GetScannerRequest& request) {
    return ScanAll(request).rows;
  }

  static GetScannerRequest FullScan(int32_t batch_size = 100) {
    GetScannerRequest request = GetScannerRequest::ForFullScan();
    request.batch_size = batch_size;
    return request;
  }
};

TEST_P(PartitionScanTest, HashKeyScanReturnsItsRowsInOrderAcrossCalls) {
  SetRows("h", {"e", "a", "c", "b", "d"});
  SetRows("g", {"a", "z"});
  SetRows("i", {"", "a"});
  SetRows("hh", {"a"});
  GetScannerRequest request = GetScannerRequest::ForHashKey("h", "", "");
  request.batch_size = 2;
  ScanResponse first = partition_->GetScanner(request, kTestNowUs);
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_THAT(Rows(first.kvs), ElementsAre("h/a=va", "h/b=vb"));
  ASSERT_GE(first.context_id, 0);

  ScanResponse second = partition_->Scan(first.context_id, kTestNowUs);
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_THAT(Rows(second.kvs), ElementsAre("h/c=vc", "h/d=vd"));
  ASSERT_GE(second.context_id, 0);
  EXPECT_NE(second.context_id, first.context_id);

  ScanResponse third = partition_->Scan(second.context_id, kTestNowUs);
  ASSERT_TRUE(third.status.ok()) << third.status;
  EXPECT_THAT(Rows(third.kvs), ElementsAre("h/e=ve"));
  EXPECT_EQ(third.context_id, kScanContextCompleted);
  EXPECT_EQ(partition_->open_scan_contexts(), 0u);

  // Ids of earlier calls and of a finished scan name nothing any more.
  for (int64_t id : {first.context_id, second.context_id}) {
    ScanResponse stale = partition_->Scan(id, kTestNowUs);
    EXPECT_EQ(Code(stale.status), ErrorCode::kNotFound) << id;
    EXPECT_EQ(stale.context_id, kScanContextNotExist) << id;
  }
}

TEST_P(PartitionScanTest, ScanEndingAtABatchBoundaryCompletesWithoutAnEmptyCall) {
  SetRows("h", {"a", "b", "c", "d", "e"});
  SetRows("i", {"a"});
  GetScannerRequest request = GetScannerRequest::ForHashKey("h", "a", "c", true, true);
  request.batch_size = 3;
  ScanResult result = ScanAll(request);
  EXPECT_THAT(result.rows, ElementsAre("h/a=va", "h/b=vb", "h/c=vc"));
  EXPECT_THAT(result.batch_sizes, ElementsAre(3u));

  request = GetScannerRequest::ForHashKey("h", "", "");
  request.batch_size = 5;
  EXPECT_THAT(ScanAll(request).batch_sizes, ElementsAre(5u));
  request.batch_size = 1;
  EXPECT_THAT(ScanAll(request).batch_sizes, ElementsAre(1u, 1u, 1u, 1u, 1u));
}

TEST_P(PartitionScanTest, HashKeyScanHonoursInclusiveFlags) {
  SetRows("h", {"", "a", "b", "c", "d", "e"});
  auto sort_keys = [&](const std::string& start, const std::string& stop, bool start_inclusive,
                       bool stop_inclusive) {
    GetScannerRequest request =
        GetScannerRequest::ForHashKey("h", start, stop, start_inclusive, stop_inclusive);
    request.batch_size = 1;
    request.no_value = true;
    return ScanRows(request);
  };
  EXPECT_THAT(sort_keys("b", "d", true, false), ElementsAre("h/b=", "h/c="));
  EXPECT_THAT(sort_keys("b", "d", true, true), ElementsAre("h/b=", "h/c=", "h/d="));
  EXPECT_THAT(sort_keys("b", "d", false, false), ElementsAre("h/c="));
  EXPECT_THAT(sort_keys("b", "d", false, true), ElementsAre("h/c=", "h/d="));
  EXPECT_THAT(sort_keys("bb", "dd", true, true), ElementsAre("h/c=", "h/d="));
  EXPECT_THAT(sort_keys("c", "", false, true), ElementsAre("h/d=", "h/e="));
  EXPECT_THAT(sort_keys("", "b", true, false), ElementsAre("h/=", "h/a="));
  EXPECT_THAT(sort_keys("", "b", false, false), ElementsAre("h/a="));
}

TEST_P(PartitionScanTest, EmptyRangeCompletesAtOnceWithoutRows) {
  SetRows("h", {"a", "b", "c", "d"});
  struct Case {
    std::string start, stop;
    bool start_inclusive, stop_inclusive;
  };
  for (const Case& c : std::vector<Case>{{"d", "b", true, true},
                                         {"c", "c", true, false},
                                         {"c", "c", false, true},
                                         {"c", "c", false, false}}) {
    ScanResponse response = partition_->GetScanner(
        GetScannerRequest::ForHashKey("h", c.start, c.stop, c.start_inclusive, c.stop_inclusive),
        kTestNowUs);
    EXPECT_TRUE(response.status.ok()) << c.start << ".." << c.stop << ": " << response.status;
    EXPECT_THAT(response.kvs, IsEmpty()) << c.start << ".." << c.stop;
    EXPECT_EQ(response.context_id, kScanContextCompleted) << c.start << ".." << c.stop;
  }
  EXPECT_EQ(partition_->open_scan_contexts(), 0u);
  EXPECT_THAT(ScanRows(GetScannerRequest::ForHashKey("h", "c", "c", true, true)),
              ElementsAre("h/c=vc"));
}

TEST_P(PartitionScanTest, FullScanOrdersHashKeysByLengthFirst) {
  SetRows("aa", {"1"});
  SetRows("b", {"2", "1"});
  SetRows("a", {"1"});
  SetRows("ab", {"1"});
  SetRows("c", {""});
  ScanResult result = ScanAll(FullScan(/*batch_size=*/2));
  EXPECT_THAT(result.rows, ElementsAre("a/1=v1", "b/1=v1", "b/2=v2", "c/=v", "aa/1=v1", "ab/1=v1"));
  EXPECT_THAT(result.batch_sizes, ElementsAre(2u, 2u, 2u));
}

TEST_P(PartitionScanTest, ScanMergesFlushedAndUnflushedRows) {
  SetRows("b", {"1", "3"});
  SetRows("aa", {"1"});
  ASSERT_TRUE(engine_->Flush().ok());
  SetRows("a", {"1"});
  SetRows("b", {"2"});
  ASSERT_TRUE(WriteOne(RemoveRequest{"b", "3"}).status.ok());
  EXPECT_THAT(ScanRows(FullScan(/*batch_size=*/1)),
              ElementsAre("a/1=v1", "b/1=v1", "b/2=v2", "aa/1=v1"));
  EXPECT_THAT(ScanRows(GetScannerRequest::ForHashKey("b", "", "")),
              ElementsAre("b/1=v1", "b/2=v2"));
}

TEST_P(PartitionScanTest, HashKeyFiltersSelectHashKeys) {
  for (const char* hash_key : {"a", "ab", "abc", "b", "ba", "cab"}) SetRows(hash_key, {"s"});
  auto hash_keys = [&](FilterType type, const std::string& pattern) {
    GetScannerRequest request = FullScan(/*batch_size=*/2);
    request.hash_key_filter_type = type;
    request.hash_key_filter_pattern = pattern;
    request.no_value = true;
    return ScanRows(request);
  };
  EXPECT_THAT(hash_keys(FilterType::kMatchAnywhere, "ab"),
              ElementsAre("ab/s=", "abc/s=", "cab/s="));
  EXPECT_THAT(hash_keys(FilterType::kMatchPrefix, "ab"), ElementsAre("ab/s=", "abc/s="));
  EXPECT_THAT(hash_keys(FilterType::kMatchPrefix, "b"), ElementsAre("b/s=", "ba/s="));
  EXPECT_THAT(hash_keys(FilterType::kMatchPostfix, "b"), ElementsAre("b/s=", "ab/s=", "cab/s="));
  EXPECT_THAT(hash_keys(FilterType::kMatchPostfix, ""),
              ElementsAre("a/s=", "b/s=", "ab/s=", "ba/s=", "abc/s=", "cab/s="));
  EXPECT_THAT(hash_keys(FilterType::kMatchAnywhere, "zz"), IsEmpty());
}

TEST_P(PartitionScanTest, HashKeyPrefixFilterStartsAtThePattern) {
  OpenWith({.scan_max_iteration_count = 2});
  SetRows("a", {"1", "2", "3"});
  SetRows("b", {"1"});
  SetRows("c", {"1"});
  GetScannerRequest request = FullScan();
  request.hash_key_filter_type = FilterType::kMatchPrefix;
  request.hash_key_filter_pattern = "b";
  // Rows of "a" are never examined, so the cap of 2 covers "b" and "c".
  ScanResponse response = partition_->GetScanner(request, kTestNowUs);
  ASSERT_TRUE(response.status.ok()) << response.status;
  EXPECT_THAT(Rows(response.kvs), ElementsAre("b/1=v1"));
  EXPECT_EQ(response.context_id, kScanContextCompleted);
}

TEST_P(PartitionScanTest, SortKeyFiltersSelectRows) {
  SetRows("h", {"apple", "applepie", "banana", "pineapple"});
  SetRows("hx", {"apple", "grape"});
  auto rows = [&](FilterType type, const std::string& pattern,
                  const std::string& hash_key_pattern = "") {
    GetScannerRequest request = FullScan(/*batch_size=*/1);
    request.sort_key_filter_type = type;
    request.sort_key_filter_pattern = pattern;
    request.hash_key_filter_type = FilterType::kMatchPostfix;
    request.hash_key_filter_pattern = hash_key_pattern;
    request.no_value = true;
    return ScanRows(request);
  };
  EXPECT_THAT(rows(FilterType::kMatchAnywhere, "apple"),
              ElementsAre("h/apple=", "h/applepie=", "h/pineapple=", "hx/apple="));
  EXPECT_THAT(rows(FilterType::kMatchPrefix, "apple"),
              ElementsAre("h/apple=", "h/applepie=", "hx/apple="));
  EXPECT_THAT(rows(FilterType::kMatchPostfix, "apple"),
              ElementsAre("h/apple=", "h/pineapple=", "hx/apple="));
  EXPECT_THAT(rows(FilterType::kMatchPostfix, "e", "x"), ElementsAre("hx/apple=", "hx/grape="));
  EXPECT_THAT(rows(FilterType::kMatchPrefix, ""),
              ElementsAre("h/apple=", "h/applepie=", "h/banana=", "h/pineapple=", "hx/apple=",
                          "hx/grape="));
  EXPECT_THAT(rows(FilterType::kNoFilter, "zzz"),
              ElementsAre("h/apple=", "h/applepie=", "h/banana=", "h/pineapple=", "hx/apple=",
                          "hx/grape="));
}

TEST_P(PartitionScanTest, NoValueAndReturnExpireTsShapeEachRow) {
  uint32_t expire_ts = TestNowS() + 100;
  Set("h", "a", "va");
  Set("h", "b", "vb", expire_ts);
  GetScannerRequest request = GetScannerRequest::ForHashKey("h", "", "");
  EXPECT_THAT(partition_->GetScanner(request, kTestNowUs).kvs,
              ElementsAre(ScanKeyValue{"h", "a", "va", 0}, ScanKeyValue{"h", "b", "vb", 0}));
  request.return_expire_ts = true;
  EXPECT_THAT(
      partition_->GetScanner(request, kTestNowUs).kvs,
      ElementsAre(ScanKeyValue{"h", "a", "va", 0}, ScanKeyValue{"h", "b", "vb", expire_ts}));
  request.no_value = true;
  EXPECT_THAT(partition_->GetScanner(request, kTestNowUs).kvs,
              ElementsAre(ScanKeyValue{"h", "a", "", 0}, ScanKeyValue{"h", "b", "", expire_ts}));
}

TEST_P(PartitionScanTest, OnlyReturnCountCountsMatchedRowsPerCall) {
  SetRows("h", {"a", "b", "d", "e", "f"});
  SetRows("h", {"c"}, TestNowS() - 1);
  GetScannerRequest request = GetScannerRequest::ForHashKey("h", "", "");
  request.batch_size = 2;
  request.only_return_count = true;
  ScanResult result = ScanAll(request);
  EXPECT_THAT(result.rows, IsEmpty());
  EXPECT_THAT(result.kv_counts, ElementsAre(2, 2, 1));
  EXPECT_EQ(result.total_kv_count, 5);

  SetRows("g", {"apple", "pineapple", "grape"});
  request = FullScan(/*batch_size=*/100);
  request.only_return_count = true;
  request.sort_key_filter_type = FilterType::kMatchAnywhere;
  request.sort_key_filter_pattern = "apple";
  result = ScanAll(request);
  EXPECT_THAT(result.rows, IsEmpty());
  EXPECT_EQ(result.total_kv_count, 2);
}

TEST_P(PartitionScanTest, ExpiryIsJudgedAtEachCallsTime) {
  SetRows("h", {"a", "c"});
  SetRows("h", {"b"}, TestNowS());
  SetRows("h", {"d"}, TestNowS() + 10);
  SetRows("h", {"e"});
  EXPECT_THAT(ScanRows(GetScannerRequest::ForHashKey("h", "", "")),
              ElementsAre("h/a=va", "h/c=vc", "h/d=vd", "h/e=ve"));

  GetScannerRequest request = GetScannerRequest::ForHashKey("h", "", "");
  request.batch_size = 2;
  ScanResponse first = partition_->GetScanner(request, kTestNowUs - kSecondUs);
  EXPECT_THAT(Rows(first.kvs), ElementsAre("h/a=va", "h/b=vb"));
  ScanResponse second = partition_->Scan(first.context_id, kTestNowUs + 10 * kSecondUs);
  EXPECT_THAT(Rows(second.kvs), ElementsAre("h/c=vc", "h/e=ve"));
  EXPECT_EQ(second.context_id, kScanContextCompleted);
}

TEST_P(PartitionScanTest, NonPositiveOrOversizedBatchUsesTheCap) {
  OpenWith({.scan_max_iteration_count = 3});
  SetRows("h", {"1", "2", "3", "4", "5", "6", "7"});
  for (int32_t batch_size : {0, -5, 10}) {
    GetScannerRequest request = GetScannerRequest::ForHashKey("h", "", "");
    request.batch_size = batch_size;
    ScanResult result = ScanAll(request);
    EXPECT_THAT(result.batch_sizes, ElementsAre(3u, 3u, 1u)) << batch_size;
    EXPECT_EQ(result.rows.size(), 7u) << batch_size;
  }
}

TEST_P(PartitionScanTest, IterationCapReturnsShortBatchesWithAContext) {
  OpenWith({.scan_max_iteration_count = 3});
  SetRows("h", {"s0", "s1keep", "s2", "s3", "s4", "s5", "s6", "s7", "s8keep", "s9"});
  GetScannerRequest request = GetScannerRequest::ForHashKey("h", "", "");
  request.sort_key_filter_type = FilterType::kMatchAnywhere;
  request.sort_key_filter_pattern = "keep";
  ScanResult result = ScanAll(request);
  EXPECT_THAT(result.batch_sizes, ElementsAre(1u, 0u, 1u, 0u));
  EXPECT_THAT(result.rows, ElementsAre("h/s1keep=vs1keep", "h/s8keep=vs8keep"));

  request.only_return_count = true;
  result = ScanAll(request);
  EXPECT_THAT(result.kv_counts, ElementsAre(1, 0, 1, 0));
  EXPECT_EQ(result.total_kv_count, 2);
}

TEST_P(PartitionScanTest, ExpiredRowsCountTowardTheIterationCap) {
  OpenWith({.scan_max_iteration_count = 2});
  SetRows("h", {"a", "b", "c"}, TestNowS());
  SetRows("h", {"d"});
  ScanResult result = ScanAll(GetScannerRequest::ForHashKey("h", "", ""));
  EXPECT_THAT(result.batch_sizes, ElementsAre(0u, 1u));
  EXPECT_THAT(result.rows, ElementsAre("h/d=vd"));
}

TEST_P(PartitionScanTest, ScanOfAnUnknownContextIsNotFound) {
  ScanResponse response = partition_->Scan(12345, kTestNowUs);
  EXPECT_EQ(Code(response.status), ErrorCode::kNotFound);
  EXPECT_EQ(response.context_id, kScanContextNotExist);
  EXPECT_THAT(response.kvs, IsEmpty());
}

TEST_P(PartitionScanTest, ClearScannerDropsTheContext) {
  SetRows("h", {"a", "b", "c"});
  GetScannerRequest request = GetScannerRequest::ForHashKey("h", "", "");
  request.batch_size = 1;
  ScanResponse kept = partition_->GetScanner(request, kTestNowUs);
  ScanResponse cleared = partition_->GetScanner(request, kTestNowUs);
  ASSERT_THAT(kept.context_id, Ge(0));
  ASSERT_THAT(cleared.context_id, Ge(0));
  EXPECT_NE(kept.context_id, cleared.context_id);
  EXPECT_EQ(partition_->open_scan_contexts(), 2u);

  partition_->ClearScanner(cleared.context_id);
  partition_->ClearScanner(999999);  // Unknown: ignored.
  EXPECT_EQ(partition_->open_scan_contexts(), 1u);
  ScanResponse gone = partition_->Scan(cleared.context_id, kTestNowUs);
  EXPECT_EQ(Code(gone.status), ErrorCode::kNotFound);
  EXPECT_EQ(gone.context_id, kScanContextNotExist);
  ScanResponse next = partition_->Scan(kept.context_id, kTestNowUs);
  ASSERT_TRUE(next.status.ok()) << next.status;
  EXPECT_THAT(Rows(next.kvs), ElementsAre("h/b=vb"));
}

TEST_P(PartitionScanTest, OpenScanContextsCountsUnfinishedScans) {
  SetRows("h", {"a", "b", "c"});
  GetScannerRequest request = GetScannerRequest::ForHashKey("h", "", "");
  request.batch_size = 2;
  EXPECT_EQ(partition_->open_scan_contexts(), 0u);
  ScanResponse first = partition_->GetScanner(request, kTestNowUs);
  ScanResponse second = partition_->GetScanner(request, kTestNowUs);
  EXPECT_EQ(partition_->open_scan_contexts(), 2u);
  request.batch_size = 3;
  EXPECT_EQ(partition_->GetScanner(request, kTestNowUs).context_id, kScanContextCompleted);
  EXPECT_EQ(partition_->open_scan_contexts(), 2u);
  ScanResponse last = partition_->Scan(first.context_id, kTestNowUs);
  EXPECT_EQ(last.context_id, kScanContextCompleted);
  EXPECT_THAT(Rows(last.kvs), ElementsAre("h/c=vc"));
  EXPECT_EQ(partition_->open_scan_contexts(), 1u);
  partition_->ClearScanner(second.context_id);
  EXPECT_EQ(partition_->open_scan_contexts(), 0u);
}

TEST_P(PartitionScanTest, ContextIdsStartAtTheConfiguredBase) {
  const int64_t base = int64_t{7} << 32;
  OpenWith({.scan_context_id_base = base});
  SetRows("h", {"a", "b", "c"});
  GetScannerRequest request = GetScannerRequest::ForHashKey("h", "", "");
  request.batch_size = 1;
  ScanResponse first = partition_->GetScanner(request, kTestNowUs);
  EXPECT_EQ(first.context_id, base);
  EXPECT_EQ(partition_->Scan(first.context_id, kTestNowUs).context_id, base + 1);
}

// A new range drops every open context: an id handed out before names
// nothing afterwards, even one the new range hands out again.
TEST_P(PartitionScanTest,
       ResetScanContextsDropsContextsAndNumbersFromTheNewBase) {
  SetRows("h", {"a", "b", "c"});
  GetScannerRequest request = GetScannerRequest::ForHashKey("h", "", "");
  request.batch_size = 1;
  ScanResponse before = partition_->GetScanner(request, kTestNowUs);
  ASSERT_EQ(before.context_id, 0);

  const int64_t base = int64_t{5} << 32;
  partition_->ResetScanContexts(base, int64_t{1} << 32);
  EXPECT_EQ(partition_->open_scan_contexts(), 0u);
  ScanResponse lost = partition_->Scan(before.context_id, kTestNowUs);
  EXPECT_EQ(Code(lost.status), ErrorCode::kNotFound);
  EXPECT_EQ(lost.context_id, kScanContextNotExist);
  ScanResponse after = partition_->GetScanner(request, kTestNowUs);
  EXPECT_EQ(after.context_id, base);
  EXPECT_THAT(Rows(after.kvs), ElementsAre("h/a=va"));

  // Back to a range holding the first id: it names the new scan only.
  partition_->ResetScanContexts(0, 10);
  EXPECT_EQ(Code(partition_->Scan(after.context_id, kTestNowUs).status),
            ErrorCode::kNotFound);
  ScanResponse reused = partition_->GetScanner(request, kTestNowUs);
  EXPECT_EQ(reused.context_id, 0);
}

// Past the last id of its range numbering starts over, and the contexts
// holding the ids it hands out again are gone first: no id names two
// contexts.
TEST_P(PartitionScanTest, ContextIdsWrapWithinTheirRangeDroppingOpenContexts) {
  SetRows("h", {"a", "b", "c", "d"});
  GetScannerRequest request = GetScannerRequest::ForHashKey("h", "", "");
  request.batch_size = 1;
  partition_->ResetScanContexts(100, 3);
  ScanResponse first = partition_->GetScanner(request, kTestNowUs);
  ScanResponse second = partition_->GetScanner(request, kTestNowUs);
  ScanResponse third = partition_->Scan(second.context_id, kTestNowUs);
  EXPECT_EQ(first.context_id, 100);
  EXPECT_EQ(second.context_id, 101);
  EXPECT_EQ(third.context_id, 102);
  EXPECT_THAT(Rows(third.kvs), ElementsAre("h/b=vb"));
  EXPECT_EQ(partition_->open_scan_contexts(), 2u);

  // The fourth id: the range is used up.
  ScanResponse fourth = partition_->Scan(third.context_id, kTestNowUs);
  EXPECT_EQ(fourth.context_id, 100);
  EXPECT_THAT(Rows(fourth.kvs), ElementsAre("h/c=vc"));
  EXPECT_EQ(partition_->open_scan_contexts(), 1u);
  // Id 100 is the scan it was handed on from, not the first one.
  ScanResponse next = partition_->Scan(100, kTestNowUs);
  ASSERT_TRUE(next.status.ok()) << next.status;
  EXPECT_THAT(Rows(next.kvs), ElementsAre("h/d=vd"));
}

TEST_P(PartitionScanTest, LeastRecentlyUsedContextIsEvictedBeyondTheBound) {
  OpenWith({.max_scan_contexts = 2});
  SetRows("h", {"a", "b", "c", "d"});
  GetScannerRequest request = GetScannerRequest::ForHashKey("h", "", "");
  request.batch_size = 1;
  ScanResponse a = partition_->GetScanner(request, kTestNowUs);
  ScanResponse b = partition_->GetScanner(request, kTestNowUs);
  a = partition_->Scan(a.context_id, kTestNowUs);  // Now b is the least recent.
  ASSERT_THAT(a.context_id, Ge(0));
  ScanResponse c = partition_->GetScanner(request, kTestNowUs);
  ASSERT_THAT(c.context_id, Ge(0));
  EXPECT_EQ(partition_->open_scan_contexts(), 2u);

  ScanResponse evicted = partition_->Scan(b.context_id, kTestNowUs);
  EXPECT_EQ(Code(evicted.status), ErrorCode::kNotFound);
  EXPECT_EQ(evicted.context_id, kScanContextNotExist);
  ScanResponse a_next = partition_->Scan(a.context_id, kTestNowUs);
  ASSERT_TRUE(a_next.status.ok()) << a_next.status;
  EXPECT_THAT(Rows(a_next.kvs), ElementsAre("h/c=vc"));
  ScanResponse c_next = partition_->Scan(c.context_id, kTestNowUs);
  ASSERT_TRUE(c_next.status.ok()) << c_next.status;
  EXPECT_THAT(Rows(c_next.kvs), ElementsAre("h/b=vb"));
}

TEST_P(PartitionScanTest, IdleContextsAreDroppedByLaterRequests) {
  const int64_t timeout_us = 10 * kSecondUs;
  OpenWith({.scan_context_idle_timeout_us = timeout_us});
  SetRows("h", {"a", "b", "c", "d"});
  GetScannerRequest request = GetScannerRequest::ForHashKey("h", "", "");
  request.batch_size = 1;
  ScanResponse old_scan = partition_->GetScanner(request, kTestNowUs);
  ASSERT_THAT(old_scan.context_id, Ge(0));
  // Idle exactly the timeout: kept.
  ScanResponse new_scan = partition_->GetScanner(request, kTestNowUs + timeout_us);
  ASSERT_THAT(new_scan.context_id, Ge(0));
  EXPECT_EQ(partition_->open_scan_contexts(), 2u);

  // A later request drops the context idle longer than the timeout.
  new_scan = partition_->Scan(new_scan.context_id, kTestNowUs + timeout_us + 1);
  ASSERT_TRUE(new_scan.status.ok()) << new_scan.status;
  EXPECT_THAT(Rows(new_scan.kvs), ElementsAre("h/b=vb"));
  EXPECT_EQ(partition_->open_scan_contexts(), 1u);
  ScanResponse dropped = partition_->Scan(old_scan.context_id, kTestNowUs + timeout_us + 1);
  EXPECT_EQ(Code(dropped.status), ErrorCode::kNotFound);
  EXPECT_EQ(dropped.context_id, kScanContextNotExist);

  // Each call renews the context: idle is measured from its last use.
  new_scan = partition_->Scan(new_scan.context_id, kTestNowUs + 2 * timeout_us + 1);
  ASSERT_TRUE(new_scan.status.ok()) << new_scan.status;
  EXPECT_THAT(Rows(new_scan.kvs), ElementsAre("h/c=vc"));
  ASSERT_THAT(new_scan.context_id, Ge(0));

  // GetScanner drops idle contexts too.
  const int64_t later_us = kTestNowUs + 3 * timeout_us + 2;
  ScanResponse other = partition_->GetScanner(request, later_us);
  ASSERT_THAT(other.context_id, Ge(0));
  EXPECT_EQ(partition_->open_scan_contexts(), 1u);
  EXPECT_EQ(Code(partition_->Scan(new_scan.context_id, later_us).status), ErrorCode::kNotFound);
}

TEST_P(PartitionScanTest, ScanContextSeesASnapshot) {
  SetRows("h", {"a", "b", "c", "d"});
  GetScannerRequest request = GetScannerRequest::ForHashKey("h", "", "");
  request.batch_size = 2;
  ScanResponse first = partition_->GetScanner(request, kTestNowUs);
  ASSERT_THAT(first.context_id, Ge(0));
  Set("h", "c", "changed");
  Set("h", "e", "new");
  Set("h", "bb", "new");
  WriteResponse removed = WriteOne(RemoveRequest{"h", "d"});
  ASSERT_TRUE(removed.status.ok()) << removed.status;

  ScanResponse second = partition_->Scan(first.context_id, kTestNowUs);
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_THAT(Rows(second.kvs), ElementsAre("h/c=vc", "h/d=vd"));
  EXPECT_EQ(second.context_id, kScanContextCompleted);
  EXPECT_THAT(ScanRows(GetScannerRequest::ForHashKey("h", "", "")),
              ElementsAre("h/a=va", "h/b=vb", "h/bb=new", "h/c=changed", "h/e=new"));
}

TEST_P(PartitionScanTest, UnknownFilterTypesAreInvalidArgument) {
  SetRows("h", {"a"});
  for (FilterType bad : {static_cast<FilterType>(9), static_cast<FilterType>(-1)}) {
    GetScannerRequest request = FullScan();
    request.hash_key_filter_type = bad;
    ScanResponse response = partition_->GetScanner(request, kTestNowUs);
    EXPECT_EQ(Code(response.status), ErrorCode::kInvalidArgument);
    EXPECT_THAT(response.kvs, IsEmpty());
    request = FullScan();
    request.sort_key_filter_type = bad;
    EXPECT_EQ(Code(partition_->GetScanner(request, kTestNowUs).status),
              ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(partition_->open_scan_contexts(), 0u);
}

TEST_P(PartitionScanTest, HashScanRejectsInvalidHashKeys) {
  Set("h", "a", "1");
  for (std::string hash_key : {std::string(), std::string(65535, 'h'),
                               std::string(70000, 'h')}) {
    ScanResponse response = partition_->GetScanner(
        GetScannerRequest::ForHashKey(hash_key, "", ""), kTestNowUs);
    EXPECT_EQ(ToErrorCode(response.status), ErrorCode::kInvalidHashKey)
        << hash_key.size();
    EXPECT_THAT(response.kvs, IsEmpty());
  }
  EXPECT_EQ(partition_->open_scan_contexts(), 0u);
}

PEGASUS_INSTANTIATE_PARTITION_TEST(PartitionScanTest);

}  // namespace
}  // namespace pegasus
