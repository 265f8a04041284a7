// Runs a workload against a target: a load phase that inserts the records,
// then the operations, by `threads` clients that each keep one operation in
// flight; reports throughput and latency percentiles per operation.

#ifndef BENCHMARKS_LOAD_RUNNER_H_
#define BENCHMARKS_LOAD_RUNNER_H_

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "benchmarks/load/target.h"
#include "benchmarks/load/workload.h"

namespace pegasus::load {

struct RunOptions {
  WorkloadSpec workload;
  uint64_t records = 10'000;
  // Operations in all; 0: until duration_s.
  uint64_t operations = 100'000;
  // Stop after this long even if operations remain; 0: no limit.
  double duration_s = 0;
  // Clients, each with one operation in flight (YCSB's threads). They run
  // on the target's own threads: none waits on an answer.
  int threads = 8;
  size_t value_size = 1000;
  // Insert the records first.
  bool load = true;
  // Show a progress line on stderr (when it is a terminal).
  bool progress = true;
  uint64_t seed = 1;
};

struct OpStats {
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t not_found = 0;
  double throughput = 0;  // Successful operations per second.
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

struct PhaseReport {
  std::string phase;  // "load" or "run".
  double seconds = 0;
  std::map<std::string, OpStats> ops;  // By operation name.
  uint64_t total_ok = 0;
  uint64_t total_failed = 0;
  std::string first_error;
};

struct Report {
  std::string target;
  std::string workload;
  RunOptions options;
  std::vector<PhaseReport> phases;
};

Report Run(Target& target, const RunOptions& options);

// As an aligned table, one line per phase and operation.
void PrintReport(const Report& report, std::ostream& out);
// As JSON (docs/operations.md, "The load tool").
std::string ReportJson(const Report& report);

}  // namespace pegasus::load

#endif  // BENCHMARKS_LOAD_RUNNER_H_
