// YCSB's core workloads A-F: what operation comes next and on which record.
//
//   A  50% read, 50% update                 zipfian
//   B  95% read, 5% update                  zipfian
//   C  100% read                            zipfian
//   D  95% read, 5% insert                  latest
//   E  95% scan (1-100 rows), 5% insert     zipfian
//   F  50% read, 50% read-modify-write      zipfian
//
// Records are numbered 0..records-1 at load and inserts add more. Record n
// is stored under hash key "user" + FNV-1a(n / 100) (zero-padded, as YCSB's
// hashed insert order) and sort key n % 100 (two digits): a scan reads a
// range of one hash key's sort keys (it stops at the hash key's end), while
// records spread over every partition by their hash keys. Zipfian keys are
// scrambled (hashed) over the records, as YCSB's, so the hot records are not
// neighbours.

#ifndef BENCHMARKS_LOAD_WORKLOAD_H_
#define BENCHMARKS_LOAD_WORKLOAD_H_

#include <atomic>
#include <cstdint>
#include <random>
#include <string>

#include "absl/status/statusor.h"

namespace pegasus::load {

enum class Op { kRead, kUpdate, kInsert, kScan, kReadModifyWrite };
inline constexpr int kOpCount = 5;
const char* OpName(Op op);

enum class Distribution { kUniform, kZipfian, kLatest };

struct WorkloadSpec {
  char name = 'a';
  double read = 0, update = 0, insert = 0, scan = 0, read_modify_write = 0;
  Distribution distribution = Distribution::kZipfian;
  int max_scan_length = 100;
};

// The spec of workload a..f; an error for another letter.
absl::StatusOr<WorkloadSpec> CoreWorkload(char name);
absl::StatusOr<Distribution> ParseDistribution(const std::string& name);

// Where record n lives.
struct RecordKey {
  std::string hash_key;
  std::string sort_key;
};
RecordKey KeyOf(uint64_t record);
// The records per hash key.
inline constexpr uint64_t kRecordsPerHashKey = 100;

// The order the load phase inserts records in: its n-th insert writes
// record (n * stride) mod records, a stride near records / golden ratio
// and coprime with records, so every record is written once. Consecutive
// inserts land on different hash keys, so a bulk load spreads over a
// table's partitions (as YCSB's insertorder=hashed) instead of filling one
// hash key's hundred records, and so one partition, at a time.
class LoadOrder {
 public:
  explicit LoadOrder(uint64_t records);
  uint64_t operator()(uint64_t n) const;

 private:
  uint64_t records_;
  uint64_t stride_;
};

// Zipfian over [0, n) with YCSB's constant 0.99 (Gray et al.'s generator);
// n may grow (inserts), and the zeta sum grows with it.
class Zipfian {
 public:
  explicit Zipfian(uint64_t n, double theta = 0.99);
  uint64_t Next(std::mt19937_64& rng, uint64_t n);

 private:
  void Grow(uint64_t n);
  double theta_, alpha_, zeta2_, zetan_ = 0, eta_ = 0;
  uint64_t n_ = 0;
};

// The next operations of one client thread. Thread-compatible; share
// `inserted` (the count of records) between threads.
class Generator {
 public:
  Generator(const WorkloadSpec& spec, uint64_t records,
            std::atomic<uint64_t>* inserted, uint64_t seed);

  Op NextOp();
  // A record that exists, by the workload's distribution.
  uint64_t NextRecord();
  // A new record's number (for an insert).
  uint64_t NewRecord();
  int NextScanLength();
  // A value of `size` bytes.
  std::string Value(size_t size);

 private:
  WorkloadSpec spec_;
  std::atomic<uint64_t>* inserted_;
  std::mt19937_64 rng_;
  Zipfian zipfian_;
};

}  // namespace pegasus::load

#endif  // BENCHMARKS_LOAD_WORKLOAD_H_
