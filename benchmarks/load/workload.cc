#include "benchmarks/load/workload.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "pegasus/base/status.h"

namespace pegasus::load {
namespace {

// FNV-1a over the record number, as YCSB scrambles zipfian keys.
uint64_t Scramble(uint64_t value) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (int i = 0; i < 8; ++i) {
    hash ^= value & 0xff;
    hash *= 0x100000001b3ULL;
    value >>= 8;
  }
  return hash;
}

}  // namespace

const char* OpName(Op op) {
  switch (op) {
    case Op::kRead:
      return "read";
    case Op::kUpdate:
      return "update";
    case Op::kInsert:
      return "insert";
    case Op::kScan:
      return "scan";
    case Op::kReadModifyWrite:
      return "read_modify_write";
  }
  return "?";
}

absl::StatusOr<WorkloadSpec> CoreWorkload(char name) {
  WorkloadSpec spec;
  spec.name = name;
  switch (name) {
    case 'a':
      spec.read = 0.5, spec.update = 0.5;
      break;
    case 'b':
      spec.read = 0.95, spec.update = 0.05;
      break;
    case 'c':
      spec.read = 1;
      break;
    case 'd':
      spec.read = 0.95, spec.insert = 0.05;
      spec.distribution = Distribution::kLatest;
      break;
    case 'e':
      spec.scan = 0.95, spec.insert = 0.05;
      break;
    case 'f':
      spec.read = 0.5, spec.read_modify_write = 0.5;
      break;
    default:
      return PegasusError(ErrorCode::kInvalidArgument,
                          std::string("the workloads are a to f, not ") + name);
  }
  return spec;
}

absl::StatusOr<Distribution> ParseDistribution(const std::string& name) {
  if (name == "uniform") return Distribution::kUniform;
  if (name == "zipfian") return Distribution::kZipfian;
  if (name == "latest") return Distribution::kLatest;
  return PegasusError(
      ErrorCode::kInvalidArgument,
      "distributions are uniform, zipfian and latest, not " + name);
}

RecordKey KeyOf(uint64_t record) {
  char hash_key[32];
  char sort_key[8];
  // Hashed, as YCSB's insertorder=hashed: numbered keys differ only in
  // their last bytes, and CRC64 modulo a power of two (the partition) maps
  // such keys onto a few partitions.
  std::snprintf(
      hash_key, sizeof(hash_key), "user%020llu",
      static_cast<unsigned long long>(Scramble(record / kRecordsPerHashKey)));
  std::snprintf(sort_key, sizeof(sort_key), "%02llu",
                static_cast<unsigned long long>(record % kRecordsPerHashKey));
  return {hash_key, sort_key};
}

LoadOrder::LoadOrder(uint64_t records)
    : records_(std::max<uint64_t>(1, records)) {
  stride_ = static_cast<uint64_t>(static_cast<double>(records_) *
                                  0.6180339887498949) |
            1;
  while (std::gcd(stride_, records_) != 1) ++stride_;
  stride_ %= records_;
}

uint64_t LoadOrder::operator()(uint64_t n) const {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(n % records_) *
                               stride_ % records_);
}

Zipfian::Zipfian(uint64_t n, double theta)
    : theta_(theta),
      alpha_(1.0 / (1.0 - theta)),
      zeta2_(1.0 + std::pow(0.5, theta)) {
  Grow(n);
}

void Zipfian::Grow(uint64_t n) {
  for (uint64_t i = n_; i < n; ++i) {
    zetan_ += 1.0 / std::pow(static_cast<double>(i + 1), theta_);
  }
  n_ = n;
  eta_ = (1 - std::pow(2.0 / static_cast<double>(n_), 1 - theta_)) /
         (1 - zeta2_ / zetan_);
}

uint64_t Zipfian::Next(std::mt19937_64& rng, uint64_t n) {
  if (n > n_) Grow(n);
  const double u = std::uniform_real_distribution<double>(0, 1)(rng);
  const double uz = u * zetan_;
  if (uz < 1.0) return 0;
  if (uz < 1.0 + std::pow(0.5, theta_)) return 1;
  const uint64_t value = static_cast<uint64_t>(
      static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1, alpha_));
  return value < n_ ? value : n_ - 1;
}

Generator::Generator(const WorkloadSpec& spec, uint64_t records,
                     std::atomic<uint64_t>* inserted, uint64_t seed)
    : spec_(spec), inserted_(inserted), rng_(seed), zipfian_(records) {}

Op Generator::NextOp() {
  double x = std::uniform_real_distribution<double>(0, 1)(rng_);
  if ((x -= spec_.read) < 0) return Op::kRead;
  if ((x -= spec_.update) < 0) return Op::kUpdate;
  if ((x -= spec_.insert) < 0) return Op::kInsert;
  if ((x -= spec_.scan) < 0) return Op::kScan;
  return Op::kReadModifyWrite;
}

uint64_t Generator::NextRecord() {
  const uint64_t n = inserted_->load();
  switch (spec_.distribution) {
    case Distribution::kUniform:
      return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_);
    case Distribution::kLatest:
      // The newest records are the hottest.
      return n - 1 - zipfian_.Next(rng_, n);
    case Distribution::kZipfian:
      return Scramble(zipfian_.Next(rng_, n)) % n;
  }
  return 0;
}

uint64_t Generator::NewRecord() { return inserted_->fetch_add(1); }

int Generator::NextScanLength() {
  return std::uniform_int_distribution<int>(1, spec_.max_scan_length)(rng_);
}

std::string Generator::Value(size_t size) {
  std::string value(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    const uint64_t bits = rng_();
    for (size_t j = 0; j < 8 && i + j < size; ++j) {
      // Printable, so values read back in the shell.
      value[i + j] = static_cast<char>('a' + ((bits >> (8 * j)) & 0xff) % 26);
    }
  }
  return value;
}

}  // namespace pegasus::load
