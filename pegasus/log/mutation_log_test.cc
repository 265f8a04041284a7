// The mutation log's behaviour over an in-memory file system: replay, group
// commit, acknowledgement order, sync policies, segments, failures,
// back-pressure, reads, garbage collection and options. Recovery from damage
// is in mutation_log_recovery_test.cc, crashes in mutation_log_crash_test.cc.

#include "pegasus/log/mutation_log.h"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/log/log_test_util.h"

namespace pegasus {
namespace {

using log_testing::FsOp;
using log_testing::InjectedIoError;
using log_testing::Payload;
using log_testing::Record;
using log_testing::SegmentFile;

class MutationLogTest : public log_testing::LogTest {};

std::vector<LogRecord> Records(const std::vector<Decree>& decrees) {
  std::vector<LogRecord> records;
  for (Decree decree : decrees) records.push_back(Record(decree));
  return records;
}

TEST_F(MutationLogTest, OpenCreatesTheDirectoryAndReplaysNothingWhenEmpty) {
  std::unique_ptr<MutationLog> log = OpenLog(Options());
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(replayed_.empty());
  EXPECT_TRUE(mem_->FileExists(SegmentFile(1)));
  EXPECT_EQ(log->min_decree(), kNoDecree);
  EXPECT_EQ(log->max_decree(), kNoDecree);
  EXPECT_EQ(log->stats().segments_created, 1u);
}

TEST_F(MutationLogTest, OpenMakesNewDirectoriesDurableInTheirParents) {
  MutationLogOptions options = Options();
  options.dir = "/data/replica/plog";
  ASSERT_TRUE(mem_->CreateDirs("/data").ok());
  ASSERT_NE(OpenLog(options), nullptr);
  const std::vector<std::string>& trace = fs_.trace();
  for (const char* dir : {"/data", "/data/replica"}) {
    EXPECT_NE(
        std::find(trace.begin(), trace.end(), std::string("syncdir ") + dir),
        trace.end())
        << dir;
  }
  EXPECT_EQ(std::find(trace.begin(), trace.end(), "syncdir /"), trace.end());
}

TEST_F(MutationLogTest, ReplaysRecordsInAppendOrderAfterReopen) {
  std::unique_ptr<MutationLog> log = OpenLog(Options());
  // A decree may come again (a newer ballot's record supersedes it): the log
  // keeps append order and leaves superseding to the caller.
  AppendAll(log.get(), {1, 2, 3});
  AppendAll(log.get(), {3, 4});
  ASSERT_TRUE(log->Close().ok());
  log.reset();

  log = OpenLog(Options());
  EXPECT_EQ(replayed_, Records({1, 2, 3, 3, 4}));
  EXPECT_EQ(log->stats().records_replayed, 5u);
  // Each Open starts a new segment, and the replay covers both.
  AppendAll(log.get(), {5});
  log.reset();
  log = OpenLog(Options());
  EXPECT_EQ(replayed_, Records({1, 2, 3, 3, 4, 5}));
  EXPECT_TRUE(mem_->FileExists(SegmentFile(3)));
}

TEST_F(MutationLogTest, AppendsQueuedBeforeTheCommitRunsShareOneWriteAndSync) {
  std::unique_ptr<MutationLog> log = OpenLog(Options());
  const int appends = fs_.count(FsOp::kAppend);
  const int syncs = fs_.count(FsOp::kSync);
  for (Decree decree = 1; decree <= 5; ++decree) Append(log.get(), decree);
  executor_.RunReady();
  EXPECT_EQ(acks_.size(), 5u);
  EXPECT_EQ(fs_.count(FsOp::kAppend) - appends, 1);
  EXPECT_EQ(fs_.count(FsOp::kSync) - syncs, 1);
  EXPECT_EQ(log->stats().group_commits, 1u);
  EXPECT_EQ(log->stats().largest_group_records, 5u);
}

TEST_F(MutationLogTest, GroupCommitCoalescesAppendsQueuedDuringAWrite) {
  std::unique_ptr<MutationLog> log = OpenLog(Options());
  // While the first group is being written, three more appends arrive (as
  // tasks on the strand, the way requests would).
  bool posted = false;
  fs_.set_hook([&](FsOp op, const std::string&) {
    if (op == FsOp::kAppend && !posted) {
      posted = true;
      for (Decree decree = 2; decree <= 4; ++decree) {
        executor_.Post([this, &log, decree] { Append(log.get(), decree); });
      }
    }
    return absl::OkStatus();
  });
  const int appends = fs_.count(FsOp::kAppend);
  const int syncs = fs_.count(FsOp::kSync);
  Append(log.get(), 1);
  executor_.RunReady();
  ASSERT_EQ(acks_.size(), 4u);
  EXPECT_EQ(fs_.count(FsOp::kAppend) - appends, 2);
  EXPECT_EQ(fs_.count(FsOp::kSync) - syncs, 2);
  EXPECT_EQ(log->stats().group_commits, 2u);
  EXPECT_EQ(log->stats().largest_group_records, 3u);
}

TEST_F(MutationLogTest, GroupIsBoundedByMaxGroupCommitBytes) {
  MutationLogOptions options = Options();
  // Each record here is 24 + 10 bytes: three fit in 110, a fourth does not.
  options.max_group_commit_bytes = 110;
  std::unique_ptr<MutationLog> log = OpenLog(options);
  for (Decree decree = 1; decree <= 7; ++decree) Append(log.get(), decree);
  executor_.RunReady();
  EXPECT_EQ(acks_.size(), 7u);
  EXPECT_EQ(log->stats().group_commits, 3u);
  EXPECT_EQ(log->stats().largest_group_records, 3u);
}

TEST_F(MutationLogTest, AcknowledgesInAppendOrderAndNeverInline) {
  MutationLogOptions options = Options();
  options.max_group_commit_bytes = 110;  // Three records a group.
  std::unique_ptr<MutationLog> log = OpenLog(options);
  for (Decree decree = 1; decree <= 10; ++decree) {
    Append(log.get(), decree);
    EXPECT_TRUE(acks_.empty()) << "acknowledged inside Append";
  }
  executor_.RunReady();
  ASSERT_EQ(acks_.size(), 10u);
  for (Decree decree = 1; decree <= 10; ++decree) {
    EXPECT_EQ(acks_[decree - 1].first, decree);
    EXPECT_TRUE(acks_[decree - 1].second.ok());
  }
}

TEST_F(MutationLogTest, SyncPolicyNoneAcknowledgesWithoutSyncing) {
  MutationLogOptions options = Options();
  options.sync_policy = MutationLogOptions::SyncPolicy::kNone;
  std::unique_ptr<MutationLog> log = OpenLog(options);
  const int syncs = fs_.count(FsOp::kSync) + fs_.count(FsOp::kSyncDir);
  const uint64_t stats_syncs = log->stats().syncs;
  AppendAll(log.get(), {1, 2, 3});
  AppendAll(log.get(), {4});
  EXPECT_EQ(fs_.count(FsOp::kSync) + fs_.count(FsOp::kSyncDir), syncs);
  EXPECT_EQ(log->stats().syncs, stats_syncs);
  EXPECT_EQ(log->stats().group_commits, 2u);
  log.reset();
  log = OpenLog(options);
  EXPECT_EQ(replayed_, Records({1, 2, 3, 4}));
}

TEST_F(MutationLogTest, SyncPolicyNoneSyncsASegmentBeforeClosingIt) {
  MutationLogOptions options = SmallSegmentOptions();
  options.sync_policy = MutationLogOptions::SyncPolicy::kNone;
  std::unique_ptr<MutationLog> log = OpenLog(options);
  const int syncs = fs_.count(FsOp::kSync);
  // 28 + 8 x 34 = 300 bytes: the ninth record rolls over.
  for (Decree decree = 1; decree <= 9; ++decree) AppendAll(log.get(), {decree});
  EXPECT_EQ(log->stats().segments_created, 2u);
  // The old segment's sync and the new segment's header sync.
  EXPECT_EQ(fs_.count(FsOp::kSync) - syncs, 2);
}

TEST_F(MutationLogTest, RollsOverToANewSegmentAndReplaysAcrossSegments) {
  std::unique_ptr<MutationLog> log = OpenLog(SmallSegmentOptions());
  std::vector<Decree> decrees;
  for (Decree decree = 1; decree <= 30; ++decree) {
    decrees.push_back(decree);
    AppendAll(log.get(), {decree});
  }
  const uint64_t segments = log->stats().segments_created;
  EXPECT_GE(segments, 4u);
  for (uint64_t sequence = 1; sequence <= segments; ++sequence) {
    EXPECT_LE(ReadBytes(SegmentFile(sequence)).size(), 300u);
  }
  log.reset();
  log = OpenLog(SmallSegmentOptions());
  EXPECT_EQ(replayed_, Records(decrees));
  EXPECT_EQ(log->min_decree(), 1);
  EXPECT_EQ(log->max_decree(), 30);
}

TEST_F(MutationLogTest, NewSegmentIsDurableInItsDirectoryBeforeItsFirstAck) {
  std::unique_ptr<MutationLog> log = OpenLog(SmallSegmentOptions());
  for (Decree decree = 1; decree <= 8; ++decree) AppendAll(log.get(), {decree});
  ASSERT_EQ(log->stats().segments_created, 1u);
  const size_t start = fs_.trace().size();
  AppendAll(log.get(), {9});
  ASSERT_EQ(log->stats().segments_created, 2u);
  // The old segment is closed; the new one is created, gets its header, is
  // synced and made durable in the directory; only then the record.
  const std::string old_segment = SegmentFile(1);
  const std::string segment = SegmentFile(2);
  const std::vector<std::string> expected = {
      "close " + old_segment, "create " + segment, "append " + segment,
      "sync " + segment,      "syncdir /log",      "append " + segment,
      "sync " + segment};
  const std::vector<std::string> trace(fs_.trace().begin() + start,
                                       fs_.trace().end());
  EXPECT_EQ(trace, expected);
}

TEST_F(MutationLogTest, WriteErrorFailsTheGroupAndEveryLaterAppend) {
  std::unique_ptr<MutationLog> log = OpenLog(Options());
  AppendAll(log.get(), {1});
  fs_.set_hook([](FsOp op, const std::string&) {
    return op == FsOp::kAppend ? InjectedIoError("write error")
                               : absl::OkStatus();
  });
  Append(log.get(), 2);
  Append(log.get(), 3);
  executor_.RunReady();
  fs_.set_hook(nullptr);
  ASSERT_EQ(acks_.size(), 3u);
  EXPECT_TRUE(HasErrorCode(acks_[1].second, ErrorCode::kIoError));
  EXPECT_TRUE(HasErrorCode(acks_[2].second, ErrorCode::kIoError));
  // Fail-stop: the disk works again, but the log stays failed.
  const int appends = fs_.count(FsOp::kAppend);
  Append(log.get(), 4);
  executor_.RunReady();
  ASSERT_EQ(acks_.size(), 4u);
  EXPECT_TRUE(HasErrorCode(acks_[3].second, ErrorCode::kIoError))
      << acks_[3].second;
  EXPECT_EQ(fs_.count(FsOp::kAppend), appends);
  EXPECT_TRUE(HasErrorCode(log->Read(1, 100).status(), ErrorCode::kIoError));
  EXPECT_TRUE(HasErrorCode(log->GarbageCollect(1), ErrorCode::kIoError));
}

TEST_F(MutationLogTest, SyncErrorFailsTheGroupAndEveryLaterAppend) {
  std::unique_ptr<MutationLog> log = OpenLog(Options());
  fs_.set_hook([](FsOp op, const std::string&) {
    return op == FsOp::kSync ? InjectedIoError("fsync error")
                             : absl::OkStatus();
  });
  Append(log.get(), 1);
  executor_.RunReady();
  // A record queued while the log is failed, and one after.
  Append(log.get(), 2);
  fs_.set_hook(nullptr);
  Append(log.get(), 3);
  executor_.RunReady();
  ASSERT_EQ(acks_.size(), 3u);
  for (const auto& [decree, status] : acks_) {
    EXPECT_TRUE(HasErrorCode(status, ErrorCode::kIoError)) << status;
    EXPECT_NE(std::string(status.message()).find(SegmentFile(1)),
              std::string::npos)
        << status;
  }
}

TEST_F(MutationLogTest, FailureAlsoFailsRecordsAlreadyQueued) {
  MutationLogOptions options = Options();
  options.max_group_commit_bytes = 110;  // Three records a group.
  std::unique_ptr<MutationLog> log = OpenLog(options);
  fs_.set_hook([](FsOp op, const std::string&) {
    return op == FsOp::kSync ? InjectedIoError("fsync error")
                             : absl::OkStatus();
  });
  for (Decree decree = 1; decree <= 7; ++decree) Append(log.get(), decree);
  executor_.RunReady();
  ASSERT_EQ(acks_.size(), 7u);
  for (Decree decree = 1; decree <= 7; ++decree) {
    EXPECT_EQ(acks_[decree - 1].first, decree);
    EXPECT_FALSE(acks_[decree - 1].second.ok());
  }
  EXPECT_EQ(log->stats().group_commits, 0u);
}

TEST_F(MutationLogTest, RejectsAppendsBeyondMaxPendingBytesWithBusy) {
  MutationLogOptions options = Options();
  options.max_group_commit_bytes = 34;  // One 34-byte record per group.
  options.max_pending_bytes = 100;      // Two such records may wait.
  std::unique_ptr<MutationLog> log = OpenLog(options);
  const int appends = fs_.count(FsOp::kAppend);
  for (Decree decree = 1; decree <= 4; ++decree) Append(log.get(), decree);
  executor_.RunReady();
  ASSERT_EQ(acks_.size(), 4u);
  int busy = 0;
  for (const auto& [decree, status] : acks_) {
    if (decree > 2) {
      EXPECT_TRUE(HasErrorCode(status, ErrorCode::kBusy)) << status;
      ++busy;
    } else {
      EXPECT_TRUE(status.ok()) << status;
    }
  }
  EXPECT_EQ(busy, 2);
  EXPECT_EQ(log->stats().appends_rejected_busy, 2u);
  EXPECT_EQ(fs_.count(FsOp::kAppend) - appends, 2);
  // Once the queue drained, appends are accepted again.
  AppendAll(log.get(), {3});
}

TEST_F(MutationLogTest, RejectsABadDecreeAndAnOversizedRecord) {
  MutationLogOptions options = Options();
  options.max_group_commit_bytes = 100;
  std::unique_ptr<MutationLog> log = OpenLog(options);
  std::vector<absl::Status> results;
  auto record = [&](absl::Status status) { results.push_back(status); };
  log->Append(kNoDecree, "x", record);
  log->Append(1, std::string(77, 'x'), record);  // 24 + 77 > 100.
  log->Append(2, std::string(76, 'x'), record);  // Exactly 100.
  EXPECT_TRUE(results.empty());
  executor_.RunReady();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(HasErrorCode(results[0], ErrorCode::kInvalidArgument));
  EXPECT_TRUE(HasErrorCode(results[1], ErrorCode::kInvalidArgument));
  EXPECT_TRUE(results[2].ok()) << results[2];
}

TEST_F(MutationLogTest, ReadsFromADecreeWithinAndAcrossSegments) {
  std::unique_ptr<MutationLog> log = OpenLog(SmallSegmentOptions());
  for (Decree decree = 1; decree <= 20; ++decree)
    AppendAll(log.get(), {decree});
  ASSERT_GE(log->stats().segments_created, 3u);
  absl::StatusOr<std::vector<LogRecord>> within = log->Read(3, 1 << 20);
  ASSERT_TRUE(within.ok()) << within.status();
  std::vector<Decree> all;
  for (Decree decree = 3; decree <= 20; ++decree) all.push_back(decree);
  EXPECT_EQ(*within, Records(all));
  absl::StatusOr<std::vector<LogRecord>> late = log->Read(19, 1 << 20);
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(*late, Records({19, 20}));
  absl::StatusOr<std::vector<LogRecord>> none = log->Read(21, 1 << 20);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(MutationLogTest, ReadStopsAtMaxBytesButReturnsAtLeastOneRecord) {
  std::unique_ptr<MutationLog> log = OpenLog(Options());
  AppendAll(log.get(), {1, 2, 3, 4});  // Payloads of 10 bytes.
  absl::StatusOr<std::vector<LogRecord>> two = log->Read(1, 25);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(*two, Records({1, 2}));
  absl::StatusOr<std::vector<LogRecord>> one = log->Read(2, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, Records({2}));
  EXPECT_TRUE(
      HasErrorCode(log->Read(1, 0).status(), ErrorCode::kInvalidArgument));
}

TEST_F(MutationLogTest, ReadSeesOnlyAcknowledgedRecords) {
  std::unique_ptr<MutationLog> log = OpenLog(Options());
  AppendAll(log.get(), {1});
  Append(log.get(), 2);  // Queued, not yet written.
  absl::StatusOr<std::vector<LogRecord>> records = log->Read(1, 1 << 20);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(*records, Records({1}));
  EXPECT_EQ(log->max_decree(), 1);
  executor_.RunReady();
  EXPECT_EQ(log->max_decree(), 2);
}

TEST_F(MutationLogTest, ReadAfterGarbageCollectionStartsAtTheOldestKept) {
  std::unique_ptr<MutationLog> log = OpenLog(SmallSegmentOptions());
  for (Decree decree = 1; decree <= 20; ++decree)
    AppendAll(log.get(), {decree});
  ASSERT_TRUE(log->GarbageCollect(10).ok());
  ASSERT_GT(log->stats().segments_deleted, 0u);
  const Decree oldest = log->min_decree();
  EXPECT_GT(oldest, 1);
  EXPECT_LE(oldest, 11);
  absl::StatusOr<std::vector<LogRecord>> records = log->Read(1, 1 << 20);
  ASSERT_TRUE(records.ok());
  ASSERT_FALSE(records->empty());
  EXPECT_EQ(records->front().decree, oldest);
  EXPECT_EQ(records->back().decree, 20);
}

TEST_F(MutationLogTest, GarbageCollectKeepsTheCurrentSegment) {
  std::unique_ptr<MutationLog> log = OpenLog(SmallSegmentOptions());
  for (Decree decree = 1; decree <= 20; ++decree)
    AppendAll(log.get(), {decree});
  const uint64_t segments = log->stats().segments_created;
  ASSERT_TRUE(log->GarbageCollect(1000).ok());
  EXPECT_EQ(log->stats().segments_deleted, segments - 1);
  EXPECT_TRUE(mem_->FileExists(SegmentFile(segments)));
  EXPECT_FALSE(mem_->FileExists(SegmentFile(segments - 1)));
  // The current segment's records are still there.
  EXPECT_EQ(log->max_decree(), 20);
  AppendAll(log.get(), {21});
  log.reset();
  log = OpenLog(SmallSegmentOptions());
  ASSERT_FALSE(replayed_.empty());
  EXPECT_EQ(replayed_.back(), Record(21));
}

TEST_F(MutationLogTest,
       GarbageCollectNeverDeletesASegmentAboveTheDurableDecree) {
  std::unique_ptr<MutationLog> log = OpenLog(SmallSegmentOptions());
  for (Decree decree = 1; decree <= 20; ++decree)
    AppendAll(log.get(), {decree});
  // Segment 1 holds decrees 1..8: durable 7 deletes nothing.
  ASSERT_TRUE(log->GarbageCollect(7).ok());
  EXPECT_EQ(log->stats().segments_deleted, 0u);
  EXPECT_EQ(log->min_decree(), 1);
  ASSERT_TRUE(log->GarbageCollect(8).ok());
  EXPECT_EQ(log->stats().segments_deleted, 1u);
  EXPECT_EQ(log->min_decree(), 9);
}

TEST_F(MutationLogTest,
       GarbageCollectDeletesOldestFirstAndStopsAtTheFirstKept) {
  std::unique_ptr<MutationLog> log = OpenLog(SmallSegmentOptions());
  // Segment 1: 1..8; segment 2: 9, 30, 10..14; segment 3: 15..21; segment
  // 4 (current): 22..26.
  for (Decree decree = 1; decree <= 9; ++decree) AppendAll(log.get(), {decree});
  AppendAll(log.get(), {30});
  for (Decree decree = 10; decree <= 26; ++decree)
    AppendAll(log.get(), {decree});
  ASSERT_EQ(log->stats().segments_created, 4u);
  ASSERT_TRUE(log->GarbageCollect(26).ok());
  // Segment 2 holds decree 30 > 26, so it stays, and so does segment 3
  // behind it although all its decrees are durable.
  EXPECT_EQ(log->stats().segments_deleted, 1u);
  EXPECT_FALSE(mem_->FileExists(SegmentFile(1)));
  EXPECT_TRUE(mem_->FileExists(SegmentFile(2)));
  EXPECT_TRUE(mem_->FileExists(SegmentFile(3)));
}

TEST_F(MutationLogTest, GarbageCollectKeepsTheReserveOfNewestClosedSegments) {
  MutationLogOptions options = SmallSegmentOptions();
  options.gc_reserve_bytes = 500;  // About two full 300-byte segments.
  std::unique_ptr<MutationLog> log = OpenLog(options);
  for (Decree decree = 1; decree <= 40; ++decree)
    AppendAll(log.get(), {decree});
  const uint64_t segments = log->stats().segments_created;
  ASSERT_GE(segments, 5u);
  ASSERT_TRUE(log->GarbageCollect(1000).ok());
  // Kept: the current segment and the closed ones after the last deleted,
  // which hold at least 500 bytes.
  int64_t kept_closed_bytes = 0;
  for (uint64_t sequence = 1; sequence < segments; ++sequence) {
    if (mem_->FileExists(SegmentFile(sequence))) {
      kept_closed_bytes +=
          static_cast<int64_t>(ReadBytes(SegmentFile(sequence)).size());
    }
  }
  EXPECT_GE(kept_closed_bytes, 500);
  EXPECT_LT(kept_closed_bytes, 500 + 300);
  EXPECT_GT(log->stats().segments_deleted, 0u);
  EXPECT_GT(log->stats().segment_bytes_deleted, 0u);
}

TEST_F(MutationLogTest, GarbageCollectDeletionErrorFailsTheLog) {
  std::unique_ptr<MutationLog> log = OpenLog(SmallSegmentOptions());
  for (Decree decree = 1; decree <= 20; ++decree)
    AppendAll(log.get(), {decree});
  fs_.set_hook([](FsOp op, const std::string&) {
    return op == FsOp::kSyncDir ? InjectedIoError("fsync error")
                                : absl::OkStatus();
  });
  EXPECT_TRUE(HasErrorCode(log->GarbageCollect(1000), ErrorCode::kIoError));
  fs_.set_hook(nullptr);
  Append(log.get(), 21);
  executor_.RunReady();
  ASSERT_FALSE(acks_.back().second.ok());
}

TEST_F(MutationLogTest, CloseAbortsQueuedRecordsAndLaterCalls) {
  std::unique_ptr<MutationLog> log = OpenLog(Options());
  AppendAll(log.get(), {1});
  Append(log.get(), 2);
  ASSERT_TRUE(log->Close().ok());
  Append(log.get(), 3);
  executor_.RunReady();
  ASSERT_EQ(acks_.size(), 3u);
  EXPECT_TRUE(HasErrorCode(acks_[1].second, ErrorCode::kAborted));
  EXPECT_TRUE(HasErrorCode(acks_[2].second, ErrorCode::kAborted));
  EXPECT_TRUE(HasErrorCode(log->Read(1, 10).status(), ErrorCode::kAborted));
  EXPECT_TRUE(log->Close().ok());
  log.reset();
  log = OpenLog(Options());
  EXPECT_EQ(replayed_, Records({1}));
}

TEST_F(MutationLogTest, DestroyingTheLogDropsQueuedCallbacks) {
  std::unique_ptr<MutationLog> log = OpenLog(Options());
  Append(log.get(), 1);  // Its group commit is posted, not run.
  log.reset();
  EXPECT_EQ(executor_.RunReady(), 1);  // The posted commit does nothing.
  EXPECT_TRUE(acks_.empty());
}

TEST_F(MutationLogTest, ACallbackMayDestroyTheLog) {
  std::unique_ptr<MutationLog> log = OpenLog(Options());
  int acked = 0;
  for (Decree decree = 1; decree <= 3; ++decree) {
    log->Append(decree, Payload(decree), [&](absl::Status status) {
      EXPECT_TRUE(status.ok());
      ++acked;
      log.reset();
    });
  }
  executor_.RunReady();
  EXPECT_EQ(acked, 3);  // The group was durable: every record is acked.
}

TEST_F(MutationLogTest, RejectsBadOptions) {
  struct Case {
    const char* name;
    void (*change)(MutationLogOptions&);
    const char* field;
  };
  const Case cases[] = {
      {"no file system", [](auto& o) { o.file_system = nullptr; },
       "file_system"},
      {"no executor", [](auto& o) { o.executor = nullptr; }, "executor"},
      {"no dir", [](auto& o) { o.dir.clear(); }, "dir"},
      {"group below a record's framing",
       [](auto& o) { o.max_group_commit_bytes = 23; },
       "max_group_commit_bytes"},
      {"group above 1 GiB",
       [](auto& o) {
         o.max_group_commit_bytes = (int64_t{1} << 30) + 1;
         o.max_segment_bytes = int64_t{1} << 32;
         o.max_pending_bytes = int64_t{1} << 32;
       },
       "max_group_commit_bytes"},
      {"segment smaller than a group",
       [](auto& o) { o.max_segment_bytes = o.max_group_commit_bytes; },
       "max_segment_bytes"},
      {"pending smaller than a group",
       [](auto& o) { o.max_pending_bytes = o.max_group_commit_bytes - 1; },
       "max_pending_bytes"},
      {"negative reserve", [](auto& o) { o.gc_reserve_bytes = -1; },
       "gc_reserve_bytes"},
      {"unknown sync policy",
       [](auto& o) {
         o.sync_policy = static_cast<MutationLogOptions::SyncPolicy>(7);
       },
       "sync_policy"},
  };
  for (const Case& c : cases) {
    MutationLogOptions options = Options();
    c.change(options);
    absl::StatusOr<std::unique_ptr<MutationLog>> log = TryOpen(options);
    ASSERT_FALSE(log.ok()) << c.name;
    EXPECT_TRUE(HasErrorCode(log.status(), ErrorCode::kInvalidArgument))
        << c.name << ": " << log.status();
    EXPECT_NE(std::string(log.status().message()).find(c.field),
              std::string::npos)
        << c.name << ": " << log.status();
  }
  EXPECT_FALSE(mem_->FileExists("/log"));  // Nothing was created.
}

TEST_F(MutationLogTest, WorksOnThePosixFileSystem) {
  const char* root = std::getenv("TEST_TMPDIR");
  ASSERT_NE(root, nullptr) << "run under bazel test";
  MutationLogOptions options = SmallSegmentOptions();
  options.file_system = PosixFileSystem();
  options.dir = std::string(root) + "/mutation_log_test/plog";
  std::unique_ptr<MutationLog> log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  for (Decree decree = 1; decree <= 20; ++decree)
    AppendAll(log.get(), {decree});
  ASSERT_TRUE(log->GarbageCollect(8).ok());
  EXPECT_EQ(log->stats().segments_deleted, 1u);
  log.reset();
  // A torn tail in the newest segment, then a reopen.
  const std::string newest = options.dir + "/log.000000000003";
  absl::StatusOr<std::string> data = PosixFileSystem()->ReadFile(newest);
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_TRUE(WriteFileAtomically(PosixFileSystem(), newest,
                                  data->substr(0, data->size() - 1))
                  .ok());
  log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->stats().torn_tails_truncated, 1u);
  std::vector<Decree> decrees;
  for (Decree decree = 9; decree <= 19; ++decree) decrees.push_back(decree);
  EXPECT_EQ(replayed_, Records(decrees));
}

TEST_F(MutationLogTest, DefaultOptionsAreValid) {
  EXPECT_NE(OpenLog(Options()), nullptr);
}

}  // namespace
}  // namespace pegasus
