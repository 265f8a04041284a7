#include "benchmarks/load/runner.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "nlohmann/json.hpp"

namespace pegasus::load {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// One worker's results: latencies in microseconds per operation.
struct WorkerResult {
  std::vector<uint32_t> latencies[kOpCount];
  uint64_t failed[kOpCount] = {};
  uint64_t not_found[kOpCount] = {};
  std::string first_error;
};

double Percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t index =
      std::min(sorted.size() - 1,
               static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return sorted[index];
}

// Shown on one terminal line, rewritten twice a second.
void ShowProgress(const std::string& phase, uint64_t done, uint64_t total,
                  double elapsed, double duration_s, double rate) {
  double fraction = 0;
  if (total > 0)
    fraction = static_cast<double>(done) / static_cast<double>(total);
  if (duration_s > 0) fraction = std::max(fraction, elapsed / duration_s);
  fraction = std::min(1.0, fraction);
  const int width = 30;
  const int filled = static_cast<int>(fraction * width);
  std::fprintf(stderr, "\r%-4s [%s%s] %3d%%  %llu ops  %.0f ops/s   ",
               phase.c_str(), std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(),
               static_cast<int>(fraction * 100),
               static_cast<unsigned long long>(done), rate);
  std::fflush(stderr);
}

PhaseReport RunPhase(Target& target, const RunOptions& options,
                     const std::string& phase, bool load,
                     std::atomic<uint64_t>* inserted) {
  const int threads = std::max(1, options.threads);
  const uint64_t total = load ? options.records : options.operations;
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> done{0};
  std::atomic<bool> stop{false};
  std::vector<WorkerResult> results(threads);
  const Clock::time_point start = Clock::now();
  auto worker = [&](int index) {
    std::unique_ptr<Session> session = target.NewSession(index);
    Generator generator(options.workload,
                        std::max<uint64_t>(1, options.records), inserted,
                        options.seed * 1000003 + index);
    WorkerResult& result = results[index];
    while (!stop.load(std::memory_order_relaxed)) {
      const uint64_t n = next.fetch_add(1);
      if (total > 0 && n >= total) break;
      Op op = load ? Op::kInsert : generator.NextOp();
      uint64_t record = 0;
      if (load) {
        record = n;
      } else if (op == Op::kInsert) {
        record = generator.NewRecord();
      } else {
        record = generator.NextRecord();
      }
      const RecordKey key = KeyOf(record);
      const std::string value = (op == Op::kRead || op == Op::kScan)
                                    ? std::string()
                                    : generator.Value(options.value_size);
      const Clock::time_point began = Clock::now();
      absl::Status status;
      bool found = true;
      switch (op) {
        case Op::kRead:
          status = session->Read(key, &found);
          break;
        case Op::kUpdate:
        case Op::kInsert:
          status = session->Write(key, value);
          break;
        case Op::kScan: {
          int rows = 0;
          status = session->Scan(key, generator.NextScanLength(), &rows);
          break;
        }
        case Op::kReadModifyWrite:
          status = session->Read(key, &found);
          if (status.ok()) status = session->Write(key, value);
          break;
      }
      const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                              Clock::now() - began)
                              .count();
      const int o = static_cast<int>(op);
      if (status.ok()) {
        result.latencies[o].push_back(static_cast<uint32_t>(micros));
        if (!found) ++result.not_found[o];
      } else {
        ++result.failed[o];
        if (result.first_error.empty()) result.first_error = status.ToString();
      }
      done.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) workers.emplace_back(worker, i);
  const bool show = options.progress && isatty(STDERR_FILENO);
  uint64_t last_done = 0;
  Clock::time_point last = start;
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const double elapsed = Seconds(Clock::now() - start);
    const bool finished =
        (total > 0 && done.load() >= total) ||
        (!load && options.duration_s > 0 && elapsed >= options.duration_s);
    if (show &&
        (Clock::now() - last >= std::chrono::milliseconds(500) || finished)) {
      const uint64_t now_done = done.load();
      const double rate = static_cast<double>(now_done - last_done) /
                          std::max(1e-9, Seconds(Clock::now() - last));
      ShowProgress(phase, now_done, total, elapsed,
                   load ? 0 : options.duration_s, rate);
      last_done = now_done;
      last = Clock::now();
    }
    if (finished) break;
  }
  stop = true;
  for (std::thread& t : workers) t.join();
  if (show) std::fprintf(stderr, "\n");

  PhaseReport report;
  report.phase = phase;
  report.seconds = Seconds(Clock::now() - start);
  for (int o = 0; o < kOpCount; ++o) {
    std::vector<uint32_t> all;
    OpStats stats;
    for (WorkerResult& r : results) {
      all.insert(all.end(), r.latencies[o].begin(), r.latencies[o].end());
      stats.failed += r.failed[o];
      stats.not_found += r.not_found[o];
    }
    if (all.empty() && stats.failed == 0) continue;
    std::sort(all.begin(), all.end());
    stats.ok = all.size();
    stats.throughput = static_cast<double>(stats.ok) / report.seconds;
    stats.p50_us = Percentile(all, 0.50);
    stats.p99_us = Percentile(all, 0.99);
    stats.p999_us = Percentile(all, 0.999);
    stats.max_us = Percentile(all, 1.0);
    report.total_ok += stats.ok;
    report.total_failed += stats.failed;
    report.ops[OpName(static_cast<Op>(o))] = stats;
  }
  for (WorkerResult& r : results) {
    if (report.first_error.empty()) report.first_error = r.first_error;
  }
  return report;
}

}  // namespace

Report Run(Target& target, const RunOptions& options) {
  Report report;
  report.target = target.name();
  report.workload = std::string(1, options.workload.name);
  report.options = options;
  std::atomic<uint64_t> inserted{options.load ? 0 : options.records};
  if (options.load) {
    report.phases.push_back(RunPhase(target, options, "load", true, &inserted));
    inserted = options.records;
  }
  if (options.operations > 0 || options.duration_s > 0) {
    report.phases.push_back(RunPhase(target, options, "run", false, &inserted));
  }
  return report;
}

void PrintReport(const Report& report, std::ostream& out) {
  out << "target: " << report.target << "\nworkload " << report.workload << ", "
      << report.options.records << " records, " << report.options.threads
      << " threads, " << report.options.value_size << "-byte values\n";
  char line[256];
  std::snprintf(line, sizeof(line), "%-5s %-18s %10s %8s %10s %10s %10s %10s\n",
                "phase", "operation", "ops", "failed", "ops/s", "p50 us",
                "p99 us", "p999 us");
  out << line;
  for (const PhaseReport& phase : report.phases) {
    for (const auto& [name, s] : phase.ops) {
      std::snprintf(line, sizeof(line),
                    "%-5s %-18s %10llu %8llu %10.0f %10.0f %10.0f %10.0f\n",
                    phase.phase.c_str(), name.c_str(),
                    static_cast<unsigned long long>(s.ok),
                    static_cast<unsigned long long>(s.failed), s.throughput,
                    s.p50_us, s.p99_us, s.p999_us);
      out << line;
    }
    if (!phase.first_error.empty()) {
      out << phase.phase << ": first error: " << phase.first_error << "\n";
    }
  }
}

std::string ReportJson(const Report& report) {
  nlohmann::json json;
  json["target"] = report.target;
  json["workload"] = report.workload;
  json["records"] = report.options.records;
  json["threads"] = report.options.threads;
  json["value_size"] = report.options.value_size;
  for (const PhaseReport& phase : report.phases) {
    nlohmann::json p;
    p["seconds"] = phase.seconds;
    p["ok"] = phase.total_ok;
    p["failed"] = phase.total_failed;
    if (!phase.first_error.empty()) p["first_error"] = phase.first_error;
    for (const auto& [name, s] : phase.ops) {
      p["ops"][name] = {{"ok", s.ok},
                        {"failed", s.failed},
                        {"not_found", s.not_found},
                        {"ops_per_s", s.throughput},
                        {"p50_us", s.p50_us},
                        {"p99_us", s.p99_us},
                        {"p999_us", s.p999_us},
                        {"max_us", s.max_us}};
    }
    json["phases"][phase.phase] = p;
  }
  return json.dump(2);
}

}  // namespace pegasus::load
