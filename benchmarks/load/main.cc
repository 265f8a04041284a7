// pegasus_bench: YCSB's core workloads against Pegasus (the daemons, or a
// cluster in this process) or etcd, with a live progress bar on a
// terminal, and at the end throughput and p50/p99/p999 per operation, as a
// table and (--json) as JSON. docs/operations.md, "The load tool".

#include <fstream>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "benchmarks/load/etcd_target.h"
#include "benchmarks/load/pegasus_target.h"
#include "benchmarks/load/runner.h"

ABSL_FLAG(std::string, target, "daemons",
          "daemons (the meta server at --meta), inprocess (a cluster in this "
          "process, in --data_dir) or etcd (--etcd)");
ABSL_FLAG(std::string, meta, "127.0.0.1:34601", "the meta server");
ABSL_FLAG(std::string, table, "temp", "the Pegasus table");
ABSL_FLAG(std::string, data_dir, "/tmp/pegasus_bench",
          "for --target=inprocess");
ABSL_FLAG(std::string, etcd, "127.0.0.1:2379",
          "etcd members' gRPC endpoints, comma-separated");
ABSL_FLAG(std::string, workload, "a", "YCSB core workload: a, b, c, d, e or f");
ABSL_FLAG(std::string, distribution, "",
          "uniform, zipfian or latest (default: the workload's)");
ABSL_FLAG(uint64_t, records, 10000, "records loaded first");
ABSL_FLAG(uint64_t, operations, 100000,
          "operations after the load (0: until --duration_s)");
ABSL_FLAG(double, duration_s, 0,
          "stop the operations after this long (0: no limit)");
ABSL_FLAG(int, threads, 8, "concurrent clients (one operation in flight each)");
ABSL_FLAG(int, clients, 2,
          "connections the clients share: Pegasus clients (each linked to "
          "every server), or gRPC channels per etcd member");
ABSL_FLAG(uint64_t, value_size, 1000, "bytes per value");
ABSL_FLAG(bool, load, true, "insert the records before the operations");
ABSL_FLAG(int64_t, timeout_ms, 5000, "each operation's deadline");
ABSL_FLAG(std::string, json, "",
          "also write the report as JSON here ('-': stdout)");
ABSL_FLAG(uint64_t, seed, 1, "seeds the key and value choices");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "YCSB workloads against Pegasus or etcd. pegasus_bench --workload=a "
      "--records=100000 --operations=1000000 --threads=64");
  // Debian builds Abseil without NDEBUG, which leaves the deadlock detector
  // on: every absl::Mutex lock (gRPC's included) then updates a global lock
  // graph. It is a debugging aid; off, gets at 64 clients ran 4-8% faster.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::ParseCommandLine(argc, argv);
  using namespace pegasus::load;

  const std::string workload = absl::GetFlag(FLAGS_workload);
  absl::StatusOr<WorkloadSpec> spec =
      CoreWorkload(workload.size() == 1 ? workload[0] : '?');
  if (!spec.ok()) {
    std::cerr << "pegasus_bench: the workloads are a to f\n";
    return 2;
  }
  if (!absl::GetFlag(FLAGS_distribution).empty()) {
    absl::StatusOr<Distribution> d =
        ParseDistribution(absl::GetFlag(FLAGS_distribution));
    if (!d.ok()) {
      std::cerr << "pegasus_bench: " << d.status().message() << "\n";
      return 2;
    }
    spec->distribution = *d;
  }
  RunOptions options;
  options.workload = *spec;
  options.records = absl::GetFlag(FLAGS_records);
  options.operations = absl::GetFlag(FLAGS_operations);
  options.duration_s = absl::GetFlag(FLAGS_duration_s);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.value_size = absl::GetFlag(FLAGS_value_size);
  options.load = absl::GetFlag(FLAGS_load);
  options.seed = absl::GetFlag(FLAGS_seed);
  if (options.records == 0 || options.threads < 1) {
    std::cerr << "pegasus_bench: --records and --threads must be >= 1\n";
    return 2;
  }

  const std::string kind = absl::GetFlag(FLAGS_target);
  absl::StatusOr<std::unique_ptr<Target>> target;
  if (kind == "etcd") {
    target = OpenEtcd(absl::GetFlag(FLAGS_etcd), absl::GetFlag(FLAGS_clients),
                      absl::GetFlag(FLAGS_timeout_ms));
  } else if (kind == "daemons" || kind == "inprocess") {
    PegasusTargetOptions pegasus;
    pegasus.meta = kind == "daemons" ? absl::GetFlag(FLAGS_meta) : "";
    pegasus.data_dir = absl::GetFlag(FLAGS_data_dir);
    pegasus.table = absl::GetFlag(FLAGS_table);
    pegasus.timeout_ms = absl::GetFlag(FLAGS_timeout_ms);
    pegasus.clients = absl::GetFlag(FLAGS_clients);
    target = OpenPegasus(pegasus);
  } else {
    std::cerr << "pegasus_bench: --target is daemons, inprocess or etcd\n";
    return 2;
  }
  if (!target.ok()) {
    std::cerr << "pegasus_bench: " << target.status().ToString() << "\n";
    return 1;
  }
  Report report = Run(**target, options);
  PrintReport(report, std::cout);
  const std::string json = absl::GetFlag(FLAGS_json);
  if (json == "-") {
    std::cout << ReportJson(report) << "\n";
  } else if (!json.empty()) {
    std::ofstream(json) << ReportJson(report) << "\n";
  }
  for (const PhaseReport& phase : report.phases) {
    if (phase.total_ok == 0) return 1;
  }
  return 0;
}
