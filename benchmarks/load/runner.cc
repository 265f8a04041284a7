#include "benchmarks/load/runner.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "nlohmann/json.hpp"

namespace pegasus::load {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// One client's results: latencies in microseconds per operation.
struct ClientResult {
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

// One phase's clients. Each keeps one operation in flight and starts the
// next from the last one's completion, on whatever thread the target
// completes it; the phase ends when every client has stopped.
class Phase {
 public:
  Phase(Target& target, const RunOptions& options, bool load,
        std::atomic<uint64_t>* inserted)
      : options_(options),
        load_(load),
        total_(load ? options.records : options.operations),
        load_order_(options.records) {
    const int clients = std::max(1, options.threads);
    for (int i = 0; i < clients; ++i) {
      clients_.push_back(std::make_unique<Client>(
          target.NewSession(i),
          Generator(options.workload, std::max<uint64_t>(1, options.records),
                    inserted, options.seed * 1000003 + i)));
    }
  }

  void Start() {
    start_ = Clock::now();
    if (!load_ && options_.duration_s > 0) {
      deadline_ =
          start_ + std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double>(options_.duration_s));
    }
    running_ = static_cast<int>(clients_.size());
    for (auto& client : clients_) Kick(*client);
  }
  bool Running() const { return running_.load() > 0; }
  uint64_t done() const { return done_.load(std::memory_order_relaxed); }
  uint64_t total() const { return total_; }
  Clock::time_point start() const { return start_; }
  // Every client's results together. REQUIRES: !Running().
  PhaseReport Report(const std::string& phase) const;

 private:
  struct Client {
    Client(std::unique_ptr<Session> session, Generator generator)
        : session(std::move(session)), generator(std::move(generator)) {}
    std::unique_ptr<Session> session;
    Generator generator;
    ClientResult result;
    // Requests to start an operation; whoever raises it from 0 starts them
    // all, so a completion that runs inside the call that started its
    // operation does not recurse.
    std::atomic<int> kicks{0};
    Op op = Op::kRead;
    Clock::time_point began;
    Clock::time_point stopped;
  };

  void Kick(Client& client) {
    if (client.kicks.fetch_add(1) > 0) return;
    bool started = true;
    do {
      started = StartNext(client);
    } while (client.kicks.fetch_sub(1) > 1);
    // Nothing is in flight: this is the client's last touch of the phase.
    if (!started) running_.fetch_sub(1);
  }

  // Starts the client's next operation; false when there is none.
  bool StartNext(Client& client) {
    const uint64_t n = next_.fetch_add(1);
    if ((total_ > 0 && n >= total_) ||
        (deadline_ != Clock::time_point::max() && Clock::now() >= deadline_)) {
      client.stopped = Clock::now();
      return false;
    }
    Generator& generator = client.generator;
    const Op op = load_ ? Op::kInsert : generator.NextOp();
    uint64_t record = 0;
    if (load_) {
      record = load_order_(n);
    } else if (op == Op::kInsert) {
      record = generator.NewRecord();
    } else {
      record = generator.NextRecord();
    }
    const RecordKey key = KeyOf(record);
    std::string value = (op == Op::kRead || op == Op::kScan)
                            ? std::string()
                            : generator.Value(options_.value_size);
    client.op = op;
    client.began = Clock::now();
    auto done = [this, &client](OpResult result) { Finish(client, result); };
    switch (op) {
      case Op::kRead:
        client.session->Read(key, done);
        break;
      case Op::kUpdate:
      case Op::kInsert:
        client.session->Write(key, std::move(value), done);
        break;
      case Op::kScan:
        client.session->Scan(key, generator.NextScanLength(), done);
        break;
      case Op::kReadModifyWrite:
        // Counted as one operation: failed if either part failed, not
        // found if the read found nothing.
        client.session->Read(
            key, [this, &client, key,
                  value = std::move(value)](OpResult read) mutable {
              if (!read.status.ok()) return Finish(client, read);
              client.session->Write(
                  key, std::move(value),
                  [this, &client, found = read.found](OpResult write) {
                    write.found = found;
                    Finish(client, write);
                  });
            });
        break;
    }
    return true;
  }

  void Finish(Client& client, const OpResult& outcome) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            Clock::now() - client.began)
                            .count();
    const int o = static_cast<int>(client.op);
    ClientResult& result = client.result;
    if (outcome.status.ok()) {
      result.latencies[o].push_back(static_cast<uint32_t>(micros));
      if (!outcome.found) ++result.not_found[o];
    } else {
      ++result.failed[o];
      if (result.first_error.empty()) {
        result.first_error = outcome.status.ToString();
      }
    }
    done_.fetch_add(1, std::memory_order_relaxed);
    Kick(client);
  }

  const RunOptions& options_;
  const bool load_;
  const uint64_t total_;
  const LoadOrder load_order_;
  std::vector<std::unique_ptr<Client>> clients_;
  Clock::time_point start_;
  std::atomic<uint64_t> next_{0};
  std::atomic<uint64_t> done_{0};
  Clock::time_point deadline_ = Clock::time_point::max();
  std::atomic<int> running_{0};
};

PhaseReport Phase::Report(const std::string& phase) const {
  PhaseReport report;
  report.phase = phase;
  Clock::time_point end = start_;  // When the last client stopped.
  for (const auto& client : clients_) end = std::max(end, client->stopped);
  report.seconds = Seconds(end - start_);
  for (int o = 0; o < kOpCount; ++o) {
    std::vector<uint32_t> all;
    OpStats stats;
    for (const auto& client : clients_) {
      const ClientResult& r = client->result;
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
  for (const auto& client : clients_) {
    if (report.first_error.empty())
      report.first_error = client->result.first_error;
  }
  return report;
}

PhaseReport RunPhase(Target& target, const RunOptions& options,
                     const std::string& phase, bool load,
                     std::atomic<uint64_t>* inserted) {
  Phase clients(target, options, load, inserted);
  clients.Start();
  const Clock::time_point start = clients.start();
  const double duration_s = load ? 0 : options.duration_s;
  const bool show = options.progress && isatty(STDERR_FILENO);
  uint64_t last_done = 0;
  Clock::time_point last = start;
  while (clients.Running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (show && Clock::now() - last >= std::chrono::milliseconds(500)) {
      const uint64_t now_done = clients.done();
      const double rate = static_cast<double>(now_done - last_done) /
                          std::max(1e-9, Seconds(Clock::now() - last));
      ShowProgress(phase, now_done, clients.total(),
                   Seconds(Clock::now() - start), duration_s, rate);
      last_done = now_done;
      last = Clock::now();
    }
  }
  if (show) {
    ShowProgress(phase, clients.done(), clients.total(),
                 Seconds(Clock::now() - start), duration_s, 0);
    std::fprintf(stderr, "\n");
  }
  return clients.Report(phase);
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
