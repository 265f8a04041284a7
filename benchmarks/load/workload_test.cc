#include "benchmarks/load/workload.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/client/client.h"

namespace pegasus::load {
namespace {

TEST(WorkloadTest, RecordsGroupByHundredUnderHashedHashKeys) {
  EXPECT_EQ(KeyOf(12300).hash_key, KeyOf(12399).hash_key);
  EXPECT_NE(KeyOf(12300).hash_key, KeyOf(12400).hash_key);
  EXPECT_EQ(KeyOf(12345).sort_key, "45");
  EXPECT_EQ(KeyOf(0).sort_key, "00");
  EXPECT_EQ(KeyOf(0).hash_key.size(), 24u);
  // Hash keys spread over every partition of a table.
  std::set<int32_t> partitions;
  for (uint64_t group = 0; group < 64; ++group) {
    partitions.insert(
        PartitionOfHashKey(KeyOf(group * kRecordsPerHashKey).hash_key, 8));
  }
  EXPECT_EQ(partitions.size(), 8u);
}

TEST(WorkloadTest, TheLoadOrderWritesEveryRecordOnce) {
  for (uint64_t records : {1, 2, 3, 99, 100, 150, 1000, 12345, 20000}) {
    const LoadOrder order(records);
    std::vector<bool> written(records, false);
    for (uint64_t n = 0; n < records; ++n) {
      const uint64_t record = order(n);
      ASSERT_LT(record, records) << records;
      EXPECT_FALSE(written[record]) << records << " records, insert " << n;
      written[record] = true;
    }
  }
}

// 64 clients loading in record order would all write one or two hash keys,
// and so one or two partitions, at any moment.
TEST(WorkloadTest, ConsecutiveLoadsLandOnDifferentHashKeys) {
  const LoadOrder order(20000);
  std::set<std::string> hash_keys;
  std::set<int32_t> partitions;
  for (uint64_t n = 5000; n < 5064; ++n) {
    const RecordKey key = KeyOf(order(n));
    hash_keys.insert(key.hash_key);
    partitions.insert(PartitionOfHashKey(key.hash_key, 8));
  }
  EXPECT_GE(hash_keys.size(), 60u);
  EXPECT_EQ(partitions.size(), 8u);
}

TEST(WorkloadTest, EachCoreWorkloadHasItsMix) {
  std::map<char, std::map<Op, double>> want = {
      {'a', {{Op::kRead, 0.5}, {Op::kUpdate, 0.5}}},
      {'b', {{Op::kRead, 0.95}, {Op::kUpdate, 0.05}}},
      {'c', {{Op::kRead, 1.0}}},
      {'d', {{Op::kRead, 0.95}, {Op::kInsert, 0.05}}},
      {'e', {{Op::kScan, 0.95}, {Op::kInsert, 0.05}}},
      {'f', {{Op::kRead, 0.5}, {Op::kReadModifyWrite, 0.5}}},
  };
  for (const auto& [name, mix] : want) {
    absl::StatusOr<WorkloadSpec> spec = CoreWorkload(name);
    ASSERT_TRUE(spec.ok());
    std::atomic<uint64_t> inserted{1000};
    Generator generator(*spec, 1000, &inserted, 7);
    std::map<Op, int> seen;
    constexpr int kDraws = 100'000;
    for (int i = 0; i < kDraws; ++i) ++seen[generator.NextOp()];
    for (const auto& [op, share] : mix) {
      EXPECT_NEAR(seen[op] / double{kDraws}, share, 0.01)
          << name << " " << OpName(op);
    }
    int total = 0;
    for (const auto& [op, count] : seen) total += mix.count(op) ? count : 0;
    EXPECT_EQ(total, kDraws) << name << ": an operation not in its mix";
  }
  EXPECT_FALSE(CoreWorkload('g').ok());
}

// The share of draws that fall on the `top` most drawn records.
double TopShare(Generator& generator, int draws, size_t top, uint64_t records) {
  std::vector<int> counts(records);
  for (int i = 0; i < draws; ++i) {
    const uint64_t record = generator.NextRecord();
    EXPECT_LT(record, records);
    ++counts[record];
  }
  std::sort(counts.rbegin(), counts.rend());
  int sum = 0;
  for (size_t i = 0; i < top; ++i) sum += counts[i];
  return sum / double(draws);
}

TEST(WorkloadTest, ZipfianIsSkewedAndUniformIsNot) {
  std::atomic<uint64_t> inserted{10'000};
  WorkloadSpec spec = *CoreWorkload('a');
  Generator zipf(spec, 10'000, &inserted, 3);
  // With theta 0.99 over 10,000 records, the hottest 1% draw about 40%.
  EXPECT_GT(TopShare(zipf, 200'000, 100, 10'000), 0.3);
  spec.distribution = Distribution::kUniform;
  Generator uniform(spec, 10'000, &inserted, 3);
  EXPECT_LT(TopShare(uniform, 200'000, 100, 10'000), 0.03);
}

TEST(WorkloadTest, LatestFavoursTheNewestRecords) {
  std::atomic<uint64_t> inserted{10'000};
  Generator generator(*CoreWorkload('d'), 10'000, &inserted, 5);
  int newest = 0;
  for (int i = 0; i < 10'000; ++i) {
    newest += generator.NextRecord() >= 9'900 ? 1 : 0;
  }
  EXPECT_GT(newest, 3'000);
  // Inserts extend the range the next draws come from.
  EXPECT_EQ(generator.NewRecord(), 10'000u);
  EXPECT_EQ(inserted.load(), 10'001u);
}

TEST(WorkloadTest, ScanLengthsAndValues) {
  std::atomic<uint64_t> inserted{10};
  Generator generator(*CoreWorkload('e'), 10, &inserted, 9);
  for (int i = 0; i < 1000; ++i) {
    const int length = generator.NextScanLength();
    EXPECT_GE(length, 1);
    EXPECT_LE(length, 100);
  }
  EXPECT_EQ(generator.Value(1000).size(), 1000u);
  EXPECT_NE(generator.Value(16), generator.Value(16));
}

}  // namespace
}  // namespace pegasus::load
