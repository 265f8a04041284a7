// failover_probe: writes to every partition of a table without pause, one
// writer per partition (a hash key of its own), for --duration_s, and
// writes when each write was acknowledged (CLOCK_MONOTONIC nanoseconds, the
// clock time.monotonic_ns() reads) as JSON. benchmarks/failover.py kills a
// server meanwhile and measures, from these, how long its partitions took
// no write.

#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "nlohmann/json.hpp"
#include "pegasus/client/client.h"
#include "pegasus/net/remote_client.h"
#include "pegasus/runtime/clock.h"

ABSL_FLAG(std::string, meta, "127.0.0.1:34601", "the meta server");
ABSL_FLAG(std::string, table, "temp", "the table");
ABSL_FLAG(double, duration_s, 15, "how long to write");
ABSL_FLAG(int64_t, timeout_ms, 250, "each write's deadline");
ABSL_FLAG(std::string, out, "", "where the JSON goes (default: stdout)");

namespace {

// The monotonic clock: failover.py compares the kill's time with it.
int64_t MonotonicNs() { return pegasus::RealClock()->MonotonicNowNs(); }

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  pegasus::net::RemoteClientOptions options;
  options.meta = absl::GetFlag(FLAGS_meta);
  auto remote = pegasus::net::RemoteClient::Connect(options);
  if (!remote.ok()) {
    std::cerr << "failover_probe: " << remote.status() << "\n";
    return 1;
  }
  pegasus::SyncClient client = (*remote)->sync_client();
  auto health = client.TableHealth(absl::GetFlag(FLAGS_table));
  auto table = client.OpenTable(absl::GetFlag(FLAGS_table));
  if (!health.ok() || !table.ok()) {
    std::cerr << "failover_probe: cannot open the table\n";
    return 1;
  }
  const int partitions = static_cast<int>(health->size());
  const int64_t end_ns =
      MonotonicNs() +
      static_cast<int64_t>(absl::GetFlag(FLAGS_duration_s) * 1e9);
  const pegasus::OpOptions op{.timeout_ns =
                                  absl::GetFlag(FLAGS_timeout_ms) * 1'000'000};
  std::vector<std::vector<int64_t>> acked(partitions);
  std::vector<int64_t> failed(partitions);
  std::vector<std::thread> writers;
  for (int p = 0; p < partitions; ++p) {
    writers.emplace_back([&, p] {
      // The first "probe<i>" that lands in partition p.
      std::string key;
      for (int i = 0;; ++i) {
        key = "probe" + std::to_string(i);
        if (pegasus::PartitionOfHashKey(key, partitions) == p) break;
      }
      for (int64_t seq = 0; MonotonicNs() < end_ns; ++seq) {
        if (table->Set(key, "s", std::to_string(seq), 0, op).ok()) {
          acked[p].push_back(MonotonicNs());
        } else {
          ++failed[p];
        }
      }
    });
  }
  for (std::thread& w : writers) w.join();
  nlohmann::json json;
  for (int p = 0; p < partitions; ++p) {
    json["acked_ns"][std::to_string(p)] = acked[p];
    json["failed"][std::to_string(p)] = failed[p];
  }
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    std::cout << json.dump() << "\n";
  } else {
    std::ofstream(out) << json.dump() << "\n";
  }
  return 0;
}
