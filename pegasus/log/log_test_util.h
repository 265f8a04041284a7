// Test helpers for the mutation log: a fixture that opens logs over a
// FaultyFileSystem (pegasus/runtime/faulty_file_system.h) on a
// ManualExecutor.

#ifndef PEGASUS_LOG_LOG_TEST_UTIL_H_
#define PEGASUS_LOG_LOG_TEST_UTIL_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/log/mutation_log.h"
#include "pegasus/runtime/faulty_file_system.h"
#include "pegasus/runtime/file_system.h"
#include "pegasus/runtime/manual_executor.h"

namespace pegasus::log_testing {

using ::pegasus::FaultyFileSystem;
using ::pegasus::FsOp;
using ::pegasus::FsOpName;
using ::pegasus::InjectedIoError;

inline std::string Payload(Decree decree) {
  return "mutation-" + std::to_string(decree);
}

inline LogRecord Record(Decree decree) { return {decree, Payload(decree)}; }

// The path of segment `sequence` in the fixture's directory.
inline std::string SegmentFile(uint64_t sequence) {
  std::string digits = std::to_string(sequence);
  return "/log/log." + std::string(12 - digits.size(), '0') + digits;
}

// A log over an in-memory file system (behind a FaultyFileSystem), driven by
// a ManualExecutor.
class LogTest : public testing::Test {
 protected:
  LogTest() : mem_(NewMemFileSystem()), fs_(mem_.get()) {}

  MutationLogOptions Options() {
    MutationLogOptions options;
    options.file_system = &fs_;
    options.executor = &executor_;
    options.dir = "/log";
    return options;
  }

  // Small segments, so a few records roll over.
  MutationLogOptions SmallSegmentOptions() {
    MutationLogOptions options = Options();
    options.max_group_commit_bytes = 200;
    options.max_segment_bytes = 300;
    options.max_pending_bytes = 1000;
    options.gc_reserve_bytes = 0;
    return options;
  }

  // Opens a log, replaying into replayed_ (cleared first).
  absl::StatusOr<std::unique_ptr<MutationLog>> TryOpen(
      const MutationLogOptions& options) {
    replayed_.clear();
    return MutationLog::Open(options, [this](const LogRecord& record) {
      replayed_.push_back(record);
      return absl::OkStatus();
    });
  }

  std::unique_ptr<MutationLog> OpenLog(const MutationLogOptions& options) {
    absl::StatusOr<std::unique_ptr<MutationLog>> log = TryOpen(options);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  // Appends; the callback records (decree, status) in acks_.
  void Append(MutationLog* log, Decree decree) {
    log->Append(decree, Payload(decree), [this, decree](absl::Status status) {
      acks_.emplace_back(decree, std::move(status));
    });
  }

  // Appends each decree, runs the executor, and expects every ack OK.
  void AppendAll(MutationLog* log, const std::vector<Decree>& decrees) {
    const size_t before = acks_.size();
    for (Decree decree : decrees) Append(log, decree);
    log->CheckInvariants();
    executor_.RunReady();
    log->CheckInvariants();
    ASSERT_EQ(acks_.size(), before + decrees.size());
    for (size_t i = before; i < acks_.size(); ++i) {
      ASSERT_TRUE(acks_[i].second.ok()) << acks_[i].second;
    }
  }

  std::string ReadBytes(const std::string& path) {
    absl::StatusOr<std::string> data = mem_->ReadFile(path);
    EXPECT_TRUE(data.ok()) << data.status();
    return data.ok() ? *data : "";
  }

  void WriteBytes(const std::string& path, const std::string& data) {
    ASSERT_TRUE(WriteFileAtomically(mem_.get(), path, data).ok());
  }

  // Every file under /log with its bytes: "nothing changed on disk" checks.
  std::map<std::string, std::string> Snapshot() {
    std::map<std::string, std::string> files;
    absl::StatusOr<std::vector<std::string>> names = mem_->ListDir("/log");
    if (!names.ok()) return files;
    for (const std::string& name : *names) {
      files[name] = ReadBytes("/log/" + name);
    }
    return files;
  }

  ManualExecutor executor_;
  std::unique_ptr<FileSystem> mem_;
  FaultyFileSystem fs_;
  std::vector<LogRecord> replayed_;
  std::vector<std::pair<Decree, absl::Status>> acks_;
};

}  // namespace pegasus::log_testing

#endif  // PEGASUS_LOG_LOG_TEST_UTIL_H_
