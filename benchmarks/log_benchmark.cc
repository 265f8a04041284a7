// The mutation log's append throughput and group commit sizes.
//
// BM_Append/<file system>/<sync policy>/<appends per drain>: each iteration
// appends `appends per drain` records of kPayloadBytes and then runs the
// strand until every one is acknowledged, so that many appends wait for each
// group commit (the queue depth a busy replica would see). Reported:
// items_per_second (appends/s) and the counters records_per_group and
// syncs_per_second, per wall-clock second (fdatasync waits, so CPU time
// would flatter the syncing runs).
//
// File systems: 0 = in memory (the format and group-commit cost alone),
// 1 = PosixFileSystem in a temporary directory under $TEST_TMPDIR, else
// /tmp (real appends and fdatasync). Sync policies: 0 = kEveryGroupCommit,
// 1 = kNone. Old segments are garbage collected as the run goes, so memory
// and disk use stay at a few segments.
//
//   bazel run -c opt //benchmarks:log_benchmark

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "benchmarks/temp_dir.h"
#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/log/mutation_log.h"
#include "pegasus/runtime/file_system.h"
#include "pegasus/runtime/manual_executor.h"

namespace pegasus {
namespace {

constexpr size_t kPayloadBytes = 100;
constexpr int64_t kSegmentBytes = int64_t{4} << 20;
constexpr int64_t kGroupCommitBytes = int64_t{1} << 20;
// Garbage-collect every this many appends.
constexpr int64_t kCollectEvery = 4096;

void BM_Append(benchmark::State& state) {
  const bool posix = state.range(0) == 1;
  const bool sync = state.range(1) == 0;
  const int64_t per_drain = state.range(2);
  bench::TempDir temp_dir("log_benchmark");
  std::unique_ptr<FileSystem> mem = NewMemFileSystem();
  ManualExecutor executor;
  MutationLogOptions options;
  options.file_system = posix ? PosixFileSystem() : mem.get();
  options.executor = &executor;
  options.dir = posix ? temp_dir.path() + "/plog" : "/plog";
  options.sync_policy = sync ? MutationLogOptions::SyncPolicy::kEveryGroupCommit
                             : MutationLogOptions::SyncPolicy::kNone;
  options.max_segment_bytes = kSegmentBytes;
  options.max_group_commit_bytes = kGroupCommitBytes;
  options.gc_reserve_bytes = 0;
  absl::StatusOr<std::unique_ptr<MutationLog>> opened = MutationLog::Open(
      options, [](const LogRecord&) { return absl::OkStatus(); });
  PEGASUS_CHECK(opened.ok()) << opened.status();
  MutationLog& log = **opened;

  const std::string payload(kPayloadBytes, 'v');
  Decree decree = 0;
  int64_t failures = 0;
  for (auto _ : state) {
    for (int64_t i = 0; i < per_drain; ++i) {
      log.Append(++decree, payload, [&failures](absl::Status status) {
        if (!status.ok()) ++failures;
      });
    }
    executor.RunReady();
    if (decree % kCollectEvery < per_drain) {
      PEGASUS_CHECK_OK(log.GarbageCollect(decree));
    }
  }
  PEGASUS_CHECK_EQ(failures, 0);
  const MutationLogStats stats = log.stats();
  state.SetItemsProcessed(static_cast<int64_t>(stats.records_appended));
  state.SetBytesProcessed(static_cast<int64_t>(stats.bytes_appended));
  state.counters["records_per_group"] =
      static_cast<double>(stats.records_appended) /
      static_cast<double>(std::max<uint64_t>(stats.group_commits, 1));
  state.counters["syncs_per_second"] = benchmark::Counter(
      static_cast<double>(stats.syncs), benchmark::Counter::kIsRate);
  PEGASUS_CHECK_OK(log.Close());
}

BENCHMARK(BM_Append)
    ->ArgNames({"posix", "no_sync", "per_drain"})
    ->ArgsProduct({{0, 1}, {0, 1}, {1, 16, 128}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace pegasus

BENCHMARK_MAIN();
