// The mutation log on the simulator's disk (testing/sim/sim_disk.h), whose
// appended bytes are volatile until synced, whose namespace changes are
// durable only once the directory is synced, and whose crash may keep a torn
// prefix of what was not synced. The promise under test: a crash at any
// instant loses no acknowledged record, and never leaves a log that Open
// takes for corrupt.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/random.h"
#include "pegasus/base/status.h"
#include "pegasus/log/log_test_util.h"
#include "pegasus/log/mutation_log.h"
#include "pegasus/runtime/manual_executor.h"
#include "testing/sim/sim_disk.h"

namespace pegasus {
namespace {

using log_testing::FaultyFileSystem;
using log_testing::FsOp;
using log_testing::SegmentFile;
using SyncPolicy = MutationLogOptions::SyncPolicy;

bool Mutates(FsOp op) { return op != FsOp::kRead && op != FsOp::kList; }

// One disk across incarnations of a log, and what the log must hold.
class CrashWorld {
 public:
  CrashWorld(uint64_t seed, sim::DiskOptions disk_options)
      : random_(DeriveSeed(seed, "test")),
        disk_(disk_options,
              std::make_unique<SeededRandom>(DeriveSeed(seed, "disk")),
              nullptr) {}

  sim::SimDisk& disk() { return disk_; }
  Random& rng() { return random_; }

  // The records the log holds, oldest first: what the last Open replayed,
  // then what was appended since. The first `acked` are acknowledged.
  std::vector<LogRecord> logical;
  size_t acked = 0;
  // The largest durable decree given to GarbageCollect.
  Decree gc_floor = kNoDecree;
  Decree next_decree = 1;

 private:
  SeededRandom random_;
  sim::SimDisk disk_;
};

// Checks what Open replayed against the world's expectation, then makes it
// the new expectation. Garbage collection may have removed a prefix of
// records (all with decrees <= gc_floor); a crash may have removed a suffix
// of records (none acknowledged under kEveryGroupCommit). Nothing else.
void CheckReplay(CrashWorld& world, const std::vector<LogRecord>& replayed,
                 SyncPolicy policy) {
  const std::vector<LogRecord>& logical = world.logical;
  size_t start = logical.size();
  if (!replayed.empty()) {
    auto it = std::find(logical.begin(), logical.end(), replayed.front());
    ASSERT_NE(it, logical.end())
        << "replayed an unknown record, decree " << replayed.front().decree;
    start = static_cast<size_t>(it - logical.begin());
  }
  // Under kNone a crash may take any acknowledged suffix, maybe all of it.
  const bool all_lost_allowed = policy == SyncPolicy::kNone && replayed.empty();
  for (size_t i = 0; i < start && i < world.acked && !all_lost_allowed; ++i) {
    ASSERT_LE(logical[i].decree, world.gc_floor)
        << "acknowledged decree " << logical[i].decree << " lost";
  }
  ASSERT_LE(start + replayed.size(), logical.size());
  for (size_t i = 0; i < replayed.size(); ++i) {
    ASSERT_EQ(replayed[i], logical[start + i]) << "at replayed record " << i;
  }
  if (policy == SyncPolicy::kEveryGroupCommit && start < world.acked) {
    ASSERT_GE(start + replayed.size(), world.acked)
        << "acknowledged records lost: replayed up to decree "
        << (replayed.empty() ? kNoDecree : replayed.back().decree);
  }
  world.logical = replayed;
  world.acked = replayed.size();
}

// One incarnation: open, then random appends, executor runs, reads and
// garbage collections until the planned crash point (counted in mutating
// file-system calls, Open's included) or the end.
class Incarnation {
 public:
  Incarnation(CrashWorld& world, const MutationLogOptions& base, int crash_at)
      : world_(world), fs_(&world.disk()), crash_at_(crash_at) {
    options_ = base;
    options_.file_system = &fs_;
    options_.executor = &executor_;
    fs_.set_hook([this](FsOp op, const std::string&) -> absl::Status {
      if (!crashed_ && Mutates(op) && ++mutations_ == crash_at_) {
        world_.disk().Crash();
        crashed_ = true;
      }
      return crashed_ ? log_testing::InjectedIoError("crash")
                      : absl::OkStatus();
    });
  }

  // Returns false when the crash came during Open.
  bool Open() {
    std::vector<LogRecord> replayed;
    absl::StatusOr<std::unique_ptr<MutationLog>> log =
        MutationLog::Open(options_, [&](const LogRecord& record) {
          replayed.push_back(record);
          return absl::OkStatus();
        });
    if (!log.ok()) {
      EXPECT_FALSE(HasErrorCode(log.status(), ErrorCode::kCorruption))
          << log.status();
      return false;
    }
    torn_tails_ = (*log)->stats().torn_tails_truncated;
    CheckReplay(world_, replayed, options_.sync_policy);
    log_ = std::move(*log);
    base_ = world_.logical.size();
    return true;
  }

  void Run(int steps) {
    for (int step = 0; step < steps && !crashed_; ++step) {
      const uint64_t choice = world_.rng().Uniform(10);
      if (choice < 6) {
        AppendSome();
      } else if (choice < 8) {
        executor_.RunReady();
      } else if (choice == 8) {
        CollectGarbage();
      } else {
        CheckRead();
      }
      if (log_ != nullptr) log_->CheckInvariants();
    }
  }

  // Power fails (if the planned crash has not come yet) and the process
  // dies: nothing of this incarnation runs again.
  void End(bool crash) {
    if (crash && !crashed_) world_.disk().Crash();
    crashed_ = true;
    log_.reset();
  }

  bool crashed() const { return crashed_; }
  uint64_t torn_tails() const { return torn_tails_; }

 private:
  void AppendSome() {
    const int count = static_cast<int>(world_.rng().UniformIn(1, 4));
    for (int i = 0; i < count; ++i) {
      const Decree decree = world_.next_decree++;
      std::string payload(world_.rng().Uniform(60), 'a' + decree % 26);
      world_.logical.push_back({decree, payload});
      log_->Append(decree, std::move(payload),
                   [this, index = world_.logical.size() - 1](absl::Status s) {
                     Acked(index, s);
                   });
    }
  }

  // Acknowledgements come in append order, OK ones first.
  void Acked(size_t index, const absl::Status& status) {
    ASSERT_EQ(index, next_ack_ + base_) << "acknowledged out of order";
    ++next_ack_;
    if (!status.ok()) {
      failed_ = true;
      return;
    }
    ASSERT_FALSE(failed_) << "an OK after a failure";
    world_.acked = index + 1;
  }

  void CollectGarbage() {
    if (world_.acked == 0) return;
    const Decree durable =
        world_.logical[world_.rng().Uniform(world_.acked)].decree;
    world_.gc_floor = std::max(world_.gc_floor, durable);
    (void)log_->GarbageCollect(durable);
  }

  void CheckRead() {
    const Decree from = log_->min_decree();
    absl::StatusOr<std::vector<LogRecord>> read = log_->Read(from, 1 << 30);
    if (!read.ok()) {
      EXPECT_TRUE(HasErrorCode(read.status(), ErrorCode::kIoError))
          << read.status();
      return;
    }
    if (from == kNoDecree) {
      EXPECT_TRUE(read->empty());
      return;
    }
    const std::vector<LogRecord>& logical = world_.logical;
    auto it =
        std::find_if(logical.begin(), logical.end(),
                     [&](const LogRecord& r) { return r.decree == from; });
    ASSERT_NE(it, logical.end());
    const std::vector<LogRecord> expected(it, logical.begin() + world_.acked);
    EXPECT_EQ(*read, expected);
  }

  CrashWorld& world_;
  ManualExecutor executor_;
  FaultyFileSystem fs_;
  MutationLogOptions options_;
  std::unique_ptr<MutationLog> log_;
  const int crash_at_;
  int mutations_ = 0;
  bool crashed_ = false;
  bool failed_ = false;
  size_t base_ = 0;
  size_t next_ack_ = 0;
  uint64_t torn_tails_ = 0;
};

MutationLogOptions RandomOptions(Random& random) {
  MutationLogOptions options;
  options.dir = "/data/replica/plog";
  options.sync_policy = random.Bernoulli(0.25) ? SyncPolicy::kNone
                                               : SyncPolicy::kEveryGroupCommit;
  options.max_group_commit_bytes = random.UniformIn(100, 400);
  options.max_segment_bytes =
      options.max_group_commit_bytes + random.UniformIn(28, 1000);
  options.max_pending_bytes = int64_t{1} << 20;
  options.gc_reserve_bytes = random.UniformIn(0, 600);
  return options;
}

class MutationLogCrashTest : public testing::Test {
 protected:
  MutationLogCrashTest()
      : disk_(sim::DiskOptions{}, std::make_unique<SeededRandom>(1), nullptr) {}

  MutationLogOptions Options() {
    MutationLogOptions options;
    options.file_system = &disk_;
    options.executor = &executor_;
    options.dir = "/log";
    options.max_group_commit_bytes = 200;
    options.max_segment_bytes = 300;
    options.gc_reserve_bytes = 0;
    return options;
  }

  std::unique_ptr<MutationLog> Open(const MutationLogOptions& options) {
    replayed_.clear();
    absl::StatusOr<std::unique_ptr<MutationLog>> log =
        MutationLog::Open(options, [this](const LogRecord& record) {
          replayed_.push_back(record.decree);
          return absl::OkStatus();
        });
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  absl::Status AppendAndRun(MutationLog* log, Decree decree) {
    absl::Status result = PegasusError(ErrorCode::kUnknown, "no ack");
    log->Append(decree, log_testing::Payload(decree),
                [&](absl::Status status) { result = status; });
    executor_.RunReady();
    return result;
  }

  std::vector<Decree> Decrees(Decree first, Decree last) {
    std::vector<Decree> decrees;
    for (Decree d = first; d <= last; ++d) decrees.push_back(d);
    return decrees;
  }

  sim::SimDisk disk_;
  ManualExecutor executor_;
  std::vector<Decree> replayed_;
};

TEST_F(MutationLogCrashTest, AcknowledgedRecordsSurviveCrashesAtRandomPoints) {
  uint64_t torn_tails = 0;
  uint64_t crashes_in_open = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    SCOPED_TRACE("seed=" + std::to_string(seed));
    sim::DiskOptions disk_options;
    disk_options.torn_write_probability = 0.8;
    CrashWorld world(seed, disk_options);
    // Some seeds also fail writes and syncs: the log fails, the process
    // restarts, with or without losing the disk's cache.
    if (world.rng().Bernoulli(0.3)) {
      world.disk().options().write_error_probability = 0.02;
    }
    const MutationLogOptions options = RandomOptions(world.rng());
    SCOPED_TRACE(options.sync_policy == SyncPolicy::kNone
                     ? "sync_policy=kNone"
                     : "sync_policy=kEveryGroupCommit");
    for (int life = 0; life < 8; ++life) {
      Incarnation incarnation(world, options,
                              static_cast<int>(world.rng().UniformIn(1, 80)));
      if (incarnation.Open()) {
        torn_tails += incarnation.torn_tails();
        incarnation.Run(static_cast<int>(world.rng().UniformIn(5, 40)));
      } else {
        ++crashes_in_open;
      }
      incarnation.End(/*crash=*/world.rng().Bernoulli(0.8));
      if (testing::Test::HasFatalFailure() || testing::Test::HasFailure()) {
        return;
      }
    }
    // A last, clean look: everything still checks out.
    Incarnation last(world, options, /*crash_at=*/1 << 30);
    world.disk().options().write_error_probability = 0;
    ASSERT_TRUE(last.Open());
    last.End(/*crash=*/false);
  }
  // The loop did reach the cases it is for.
  EXPECT_GT(torn_tails, 10u);
  EXPECT_GT(crashes_in_open, 10u);
}

TEST_F(MutationLogCrashTest,
       NewSegmentSurvivesACrashOnceARecordInItWasAcknowledged) {
  std::unique_ptr<MutationLog> log = Open(Options());
  for (Decree decree = 1; decree <= 9; ++decree) {
    ASSERT_TRUE(AppendAndRun(log.get(), decree).ok());
  }
  ASSERT_EQ(log->stats().segments_created, 2u);  // Decree 9 is in segment 2.
  disk_.Crash();
  log.reset();
  log = Open(Options());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(replayed_, Decrees(1, 9));
  EXPECT_TRUE(disk_.FileExists(SegmentFile(2)));
}

TEST_F(MutationLogCrashTest, UnacknowledgedRecordIsLostInACrash) {
  FaultyFileSystem fs(&disk_);
  MutationLogOptions options = Options();
  options.file_system = &fs;
  std::unique_ptr<MutationLog> log = Open(options);
  ASSERT_TRUE(AppendAndRun(log.get(), 1).ok());
  // Decree 2 reaches the file but its sync fails: never acknowledged.
  fs.set_hook([](FsOp op, const std::string&) {
    return op == FsOp::kSync ? log_testing::InjectedIoError("fsync error")
                             : absl::OkStatus();
  });
  EXPECT_FALSE(AppendAndRun(log.get(), 2).ok());
  disk_.Crash();
  log.reset();
  log = Open(Options());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(replayed_, Decrees(1, 1));
}

// A failed sync leaves the record's bytes in the cache; a restart without
// a crash replays them, and Open must make them durable before it starts a
// new segment, or a later crash would tear a segment that is no longer the
// newest, which Open could only call corruption.
TEST_F(MutationLogCrashTest, RecordsReplayedAfterASyncErrorSurviveALaterCrash) {
  FaultyFileSystem fs(&disk_);
  MutationLogOptions options = Options();
  options.file_system = &fs;
  std::unique_ptr<MutationLog> log = Open(options);
  ASSERT_TRUE(AppendAndRun(log.get(), 1).ok());
  fs.set_hook([](FsOp op, const std::string&) {
    return op == FsOp::kSync ? log_testing::InjectedIoError("fsync error")
                             : absl::OkStatus();
  });
  EXPECT_FALSE(AppendAndRun(log.get(), 2).ok());
  fs.set_hook(nullptr);
  log.reset();  // Fail-stop and restart; the disk keeps its cache.
  log = Open(options);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(replayed_, Decrees(1, 2));
  ASSERT_TRUE(AppendAndRun(log.get(), 3).ok());
  disk_.Crash();
  log.reset();
  log = Open(options);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(replayed_, Decrees(1, 3));
}

TEST_F(MutationLogCrashTest,
       SyncPolicyNoneMayLoseTheTailButNeverTearsAnOlderSegment) {
  MutationLogOptions options = Options();
  options.sync_policy = SyncPolicy::kNone;
  std::unique_ptr<MutationLog> log = Open(options);
  for (Decree decree = 1; decree <= 12; ++decree) {
    ASSERT_TRUE(AppendAndRun(log.get(), decree).ok());
  }
  ASSERT_EQ(log->stats().segments_created, 2u);
  disk_.Crash();
  log.reset();
  log = Open(options);
  ASSERT_NE(log, nullptr);
  // Segment 1 was synced when it was closed; segment 2's records were not.
  EXPECT_EQ(replayed_, Decrees(1, 8));
}

}  // namespace
}  // namespace pegasus
