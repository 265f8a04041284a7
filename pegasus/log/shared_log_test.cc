// The shared log over an in-memory file system: one group commit for the
// records of several replicas, replay to the replica (and incarnation) that
// wrote each record, reads and garbage collection per replica, failures.

#include "pegasus/log/shared_log.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/log/internal/log_format.h"
#include "pegasus/log/log_test_util.h"

namespace pegasus {
namespace {

using log_testing::FsOp;
using log_testing::InjectedIoError;
using log_testing::Payload;
using log_testing::Record;
using log_testing::SegmentFile;

constexpr Gpid kA{1, 0};
constexpr Gpid kB{1, 1};

class SharedLogTest : public log_testing::LogTest {
 protected:
  SharedLogOptions Shared(const MutationLogOptions& log) {
    SharedLogOptions options;
    options.log = log;
    options.replica_reserve_bytes = 0;
    return options;
  }

  std::unique_ptr<SharedLog> OpenShared(const SharedLogOptions& options) {
    absl::StatusOr<std::unique_ptr<SharedLog>> shared =
        SharedLog::Open(options);
    EXPECT_TRUE(shared.ok()) << shared.status();
    return shared.ok() ? std::move(*shared) : nullptr;
  }

  // Attaches `gpid` with `tag` on replica_strand_; what is replayed to it
  // goes to replayed_ (LogTest's).
  std::unique_ptr<ReplicaLog> Attach(SharedLog* shared, Gpid gpid,
                                     uint64_t tag) {
    return shared->Attach(gpid, tag, &replica_strand_, &replayed_);
  }

  // Appends `decree` to `log`; the callback notes (name, decree, status)
  // and that it ran on replica_strand_.
  void Append(ReplicaLog* log, const std::string& name, Decree decree) {
    log->Append(decree, Payload(decree),
                [this, name, decree](absl::Status status) {
                  EXPECT_TRUE(on_replica_strand_);
                  acked_.push_back(name + ":" + std::to_string(decree));
                  statuses_.push_back(std::move(status));
                });
  }

  // Appends decrees 1 to `last` to `log`, each in a group commit of its
  // own, so that the records spread over segments.
  void AppendEach(ReplicaLog* log, const std::string& name, Decree last) {
    for (Decree d = 1; d <= last; ++d) {
      Append(log, name, d);
      RunAll();
    }
  }

  // Runs the log's strand and the replicas' strand until both are idle.
  void RunAll() {
    bool ran = true;
    while (ran) {
      ran = executor_.RunReady() > 0;
      on_replica_strand_ = true;
      ran = replica_strand_.RunReady() > 0 || ran;
      on_replica_strand_ = false;
    }
  }

  std::vector<LogRecord> ReadAll(ReplicaLog* log, Decree from,
                                 int64_t max_bytes = 1 << 20) {
    std::vector<LogRecord> result;
    bool answered = false;
    log->Read(from, max_bytes,
              [&](absl::StatusOr<std::vector<LogRecord>> records) {
                answered = true;
                ASSERT_TRUE(records.ok()) << records.status();
                result = std::move(*records);
              });
    RunAll();
    EXPECT_TRUE(answered);
    return result;
  }

  ManualExecutor replica_strand_;
  bool on_replica_strand_ = false;
  std::vector<std::string> acked_;
  std::vector<absl::Status> statuses_;
};

std::vector<LogRecord> Records(const std::vector<Decree>& decrees) {
  std::vector<LogRecord> records;
  for (Decree decree : decrees) records.push_back(Record(decree));
  return records;
}

TEST_F(SharedLogTest, OneGroupCommitSyncsTheRecordsOfEveryReplica) {
  std::unique_ptr<SharedLog> shared = OpenShared(Shared(Options()));
  std::unique_ptr<ReplicaLog> a = Attach(shared.get(), kA, 7);
  std::unique_ptr<ReplicaLog> b = Attach(shared.get(), kB, 9);
  shared->ForgetUnattached();
  RunAll();
  const int syncs_before = fs_.count(FsOp::kSync);
  for (Decree d = 1; d <= 3; ++d) {
    Append(a.get(), "a", d);
    Append(b.get(), "b", d);
  }
  RunAll();
  EXPECT_EQ(fs_.count(FsOp::kSync) - syncs_before, 1);
  // Each replica's acknowledgements in its append order.
  EXPECT_EQ(acked_, (std::vector<std::string>{"a:1", "b:1", "a:2", "b:2", "a:3",
                                              "b:3"}));
  for (const absl::Status& status : statuses_) EXPECT_TRUE(status.ok());
}

TEST_F(SharedLogTest, ReplayGivesEachReplicaItsOwnRecordsInAppendOrder) {
  {
    std::unique_ptr<SharedLog> shared = OpenShared(Shared(Options()));
    std::unique_ptr<ReplicaLog> a = Attach(shared.get(), kA, 7);
    std::unique_ptr<ReplicaLog> b = Attach(shared.get(), kB, 9);
    for (Decree d : {1, 2, 3, 2}) Append(a.get(), "a", d);
    for (Decree d : {5, 6}) Append(b.get(), "b", d);
    RunAll();
    ASSERT_EQ(acked_.size(), 6u);
  }
  RunAll();
  std::unique_ptr<SharedLog> shared = OpenShared(Shared(Options()));
  std::vector<LogRecord> replayed_a;
  std::vector<LogRecord> replayed_b;
  std::unique_ptr<ReplicaLog> a =
      shared->Attach(kA, 7, &replica_strand_, &replayed_a);
  std::unique_ptr<ReplicaLog> b =
      shared->Attach(kB, 9, &replica_strand_, &replayed_b);
  EXPECT_EQ(replayed_a, Records({1, 2, 3, 2}));
  EXPECT_EQ(replayed_b, Records({5, 6}));
  // Appends go on after what was replayed, and read back with it.
  Append(a.get(), "a", 3);
  RunAll();
  EXPECT_EQ(ReadAll(a.get(), 1), Records({1, 2, 3, 2, 3}));
  EXPECT_EQ(ReadAll(b.get(), 6), Records({6}));
}

TEST_F(SharedLogTest, ANewIncarnationOfAReplicaGetsNoneOfTheOldRecords) {
  {
    std::unique_ptr<SharedLog> shared = OpenShared(Shared(Options()));
    std::unique_ptr<ReplicaLog> old = Attach(shared.get(), kA, 7);
    for (Decree d : {1, 2}) Append(old.get(), "old", d);
    RunAll();
  }
  RunAll();
  std::unique_ptr<SharedLog> shared = OpenShared(Shared(Options()));
  std::unique_ptr<ReplicaLog> fresh = Attach(shared.get(), kA, 8);
  EXPECT_TRUE(replayed_.empty());
  EXPECT_TRUE(ReadAll(fresh.get(), 1).empty());
}

TEST_F(SharedLogTest, ReadReturnsOnlyItsReplicasRecordsWithinTheLimit) {
  std::unique_ptr<SharedLog> shared = OpenShared(Shared(SmallSegmentOptions()));
  std::unique_ptr<ReplicaLog> a = Attach(shared.get(), kA, 7);
  std::unique_ptr<ReplicaLog> b = Attach(shared.get(), kB, 9);
  for (Decree d = 1; d <= 12; ++d) {
    Append(a.get(), "a", d);
    Append(b.get(), "b", 100 + d);
    RunAll();  // One group each: the records spread over segments.
  }
  EXPECT_TRUE(mem_->FileExists(SegmentFile(3)));
  EXPECT_EQ(ReadAll(a.get(), 10), Records({10, 11, 12}));
  EXPECT_EQ(ReadAll(b.get(), 1).size(), 12u);
  // Two payloads fit in 22 bytes ("mutation-10" is 11), a third does not;
  // one record comes back even when it alone is over the limit.
  EXPECT_EQ(ReadAll(a.get(), 10, 22), Records({10, 11}));
  EXPECT_EQ(ReadAll(a.get(), 10, 1), Records({10}));
  bool answered = false;
  a->Read(1, 0, [&](absl::StatusOr<std::vector<LogRecord>> records) {
    answered = true;
    EXPECT_EQ(ToErrorCode(records.status()), ErrorCode::kInvalidArgument);
  });
  RunAll();
  EXPECT_TRUE(answered);
}

TEST_F(SharedLogTest, ASegmentGoesOnlyOnceNoReplicaKeepsARecordInIt) {
  std::unique_ptr<SharedLog> shared = OpenShared(Shared(SmallSegmentOptions()));
  std::unique_ptr<ReplicaLog> a = Attach(shared.get(), kA, 7);
  std::unique_ptr<ReplicaLog> b = Attach(shared.get(), kB, 9);
  Append(b.get(), "b", 1);
  RunAll();
  AppendEach(a.get(), "a", 12);
  ASSERT_TRUE(mem_->FileExists(SegmentFile(1)));
  // b's one record in the first segment holds it, and every later one.
  a->GarbageCollect(12);
  RunAll();
  EXPECT_TRUE(mem_->FileExists(SegmentFile(1)));
  // b lets go: all but the segment being written go.
  b->GarbageCollect(1);
  RunAll();
  EXPECT_FALSE(mem_->FileExists(SegmentFile(1)));
  EXPECT_FALSE(mem_->FileExists(SegmentFile(2)));
  EXPECT_TRUE(ReadAll(a.get(), 1).empty());
  EXPECT_TRUE(ReadAll(b.get(), 1).empty());
}

TEST_F(SharedLogTest, GarbageCollectKeepsTheReplicasReserveAndItsUndurable) {
  SharedLogOptions options = Shared(SmallSegmentOptions());
  // Two payloads ("mutation-N" is 10 bytes).
  options.replica_reserve_bytes = 20;
  std::unique_ptr<SharedLog> shared = OpenShared(options);
  std::unique_ptr<ReplicaLog> a = Attach(shared.get(), kA, 7);
  for (Decree d = 1; d <= 9; ++d) {
    Append(a.get(), "a", d);
    RunAll();
  }
  a->GarbageCollect(4);
  RunAll();
  EXPECT_EQ(ReadAll(a.get(), 1), Records({5, 6, 7, 8, 9}));
  a->GarbageCollect(9);
  RunAll();
  EXPECT_EQ(ReadAll(a.get(), 1), Records({8, 9}));
}

TEST_F(SharedLogTest, AnIdleReplicasReserveHoldsNoRecordPastTheWindow) {
  SharedLogOptions options = Shared(SmallSegmentOptions());
  options.replica_reserve_bytes = 1000;  // Every record either writes.
  // A record is in the window if it ends within the log's last 170 bytes:
  // three of b's last (each 24 + 24 + 11 bytes in the log).
  options.reserve_window_bytes = 170;
  std::unique_ptr<SharedLog> shared = OpenShared(options);
  std::unique_ptr<ReplicaLog> a = Attach(shared.get(), kA, 7);
  std::unique_ptr<ReplicaLog> b = Attach(shared.get(), kB, 9);
  for (Decree d : {1, 2}) Append(a.get(), "a", d);
  RunAll();
  // Durable, but within the window: a's reserve keeps both.
  a->GarbageCollect(2);
  RunAll();
  EXPECT_EQ(ReadAll(a.get(), 1), Records({1, 2}));
  AppendEach(b.get(), "b", 12);
  // a writes nothing more; b's collection moves the window past a's
  // records, and they stop holding the first segment and those after it.
  b->GarbageCollect(12);
  RunAll();
  EXPECT_TRUE(ReadAll(a.get(), 1).empty());
  EXPECT_FALSE(mem_->FileExists(SegmentFile(1)));
  // b keeps what of its reserve the window holds.
  EXPECT_EQ(ReadAll(b.get(), 1), Records({10, 11, 12}));
}

TEST_F(SharedLogTest, AReplicaWhoseRecordsStorageLacksKeepsThemPastTheWindow) {
  SharedLogOptions options = Shared(SmallSegmentOptions());
  options.reserve_window_bytes = 0;
  std::unique_ptr<SharedLog> shared = OpenShared(options);
  std::unique_ptr<ReplicaLog> a = Attach(shared.get(), kA, 7);
  std::unique_ptr<ReplicaLog> b = Attach(shared.get(), kB, 9);
  for (Decree d : {1, 2}) Append(a.get(), "a", d);
  RunAll();
  a->GarbageCollect(1);
  AppendEach(b.get(), "b", 12);
  b->GarbageCollect(12);
  RunAll();
  // Decree 2 is not durable in a's storage: the log is its only copy.
  EXPECT_EQ(ReadAll(a.get(), 1), Records({2}));
  EXPECT_TRUE(mem_->FileExists(SegmentFile(1)));
}

// A replica closed without Drop (its server stopping, or failing to start
// while the log runs on) keeps its records: the next Open replays them,
// however much the other replicas collect meanwhile.
TEST_F(SharedLogTest, AClosedReplicasRecordsStayForTheNextOpen) {
  {
    std::unique_ptr<SharedLog> shared =
        OpenShared(Shared(SmallSegmentOptions()));
    std::unique_ptr<ReplicaLog> a = Attach(shared.get(), kA, 7);
    std::unique_ptr<ReplicaLog> b = Attach(shared.get(), kB, 9);
    for (Decree d : {1, 2}) Append(a.get(), "a", d);
    RunAll();
    a.reset();
    RunAll();
    AppendEach(b.get(), "b", 12);
    b->GarbageCollect(12);
    RunAll();
    EXPECT_TRUE(mem_->FileExists(SegmentFile(1)));
  }
  RunAll();
  std::unique_ptr<SharedLog> shared = OpenShared(Shared(SmallSegmentOptions()));
  std::unique_ptr<ReplicaLog> a = Attach(shared.get(), kA, 7);
  EXPECT_EQ(replayed_, Records({1, 2}));
}

// A dropped replica (reclaimed for good) lets go of its records at once,
// those not yet durable in storage too.
TEST_F(SharedLogTest, ADroppedReplicasRecordsAreLetGo) {
  {
    std::unique_ptr<SharedLog> shared =
        OpenShared(Shared(SmallSegmentOptions()));
    std::unique_ptr<ReplicaLog> a = Attach(shared.get(), kA, 7);
    std::unique_ptr<ReplicaLog> b = Attach(shared.get(), kB, 9);
    for (Decree d : {1, 2}) Append(a.get(), "a", d);
    a->Drop();
    a.reset();
    AppendEach(b.get(), "b", 12);
    b->GarbageCollect(12);
    RunAll();
    EXPECT_FALSE(mem_->FileExists(SegmentFile(1)));
  }
  RunAll();
  std::unique_ptr<SharedLog> shared = OpenShared(Shared(SmallSegmentOptions()));
  std::unique_ptr<ReplicaLog> a = Attach(shared.get(), kA, 7);
  EXPECT_TRUE(replayed_.empty());
}

// The SharedLog may be destroyed while its strand still has its tasks
// queued: they run first, and the log closes after them.
TEST_F(SharedLogTest, DestroyedWithTasksQueuedTheLogClosesAfterThem) {
  std::unique_ptr<SharedLog> shared = OpenShared(Shared(Options()));
  std::unique_ptr<ReplicaLog> a = Attach(shared.get(), kA, 7);
  Append(a.get(), "a", 1);
  RunAll();
  Append(a.get(), "a", 2);
  bool answered = false;
  a->Read(1, 1 << 20, [&](absl::StatusOr<std::vector<LogRecord>> records) {
    answered = true;
    ASSERT_TRUE(records.ok()) << records.status();
    EXPECT_EQ(*records, Records({1}));
  });
  a.reset();
  shared.reset();
  RunAll();
  EXPECT_TRUE(answered);
  // Decree 2 was queued in the log when it closed: never written, never
  // acknowledged.
  EXPECT_EQ(acked_, (std::vector<std::string>{"a:1"}));
}

// A record the log refuses (here too large for a group commit) is not
// kept: it holds no segment, and the replica's next record is written.
TEST_F(SharedLogTest, ARecordTheLogRefusesIsNotKept) {
  std::unique_ptr<SharedLog> shared = OpenShared(Shared(SmallSegmentOptions()));
  std::unique_ptr<ReplicaLog> a = Attach(shared.get(), kA, 7);
  std::unique_ptr<ReplicaLog> b = Attach(shared.get(), kB, 9);
  a->Append(1, std::string(1000, 'x'), [this](absl::Status status) {
    statuses_.push_back(std::move(status));
  });
  RunAll();
  ASSERT_EQ(statuses_.size(), 1u);
  EXPECT_EQ(ToErrorCode(statuses_[0]), ErrorCode::kInvalidArgument);
  AppendEach(b.get(), "b", 12);
  b->GarbageCollect(12);
  RunAll();
  EXPECT_FALSE(mem_->FileExists(SegmentFile(1)));
  Append(a.get(), "a", 1);
  RunAll();
  EXPECT_EQ(ReadAll(a.get(), 1), Records({1}));
}

TEST_F(SharedLogTest, RecordsOfReplicasNeverAttachedAreLetGo) {
  {
    std::unique_ptr<SharedLog> shared =
        OpenShared(Shared(SmallSegmentOptions()));
    std::unique_ptr<ReplicaLog> gone = Attach(shared.get(), kB, 9);
    AppendEach(gone.get(), "gone", 12);
  }
  RunAll();
  std::unique_ptr<SharedLog> shared = OpenShared(Shared(SmallSegmentOptions()));
  std::unique_ptr<ReplicaLog> a = Attach(shared.get(), kA, 7);
  Append(a.get(), "a", 1);
  RunAll();
  ASSERT_TRUE(mem_->FileExists(SegmentFile(1)));
  shared->ForgetUnattached();
  RunAll();
  EXPECT_FALSE(mem_->FileExists(SegmentFile(1)));
  EXPECT_EQ(ReadAll(a.get(), 1), Records({1}));
}

TEST_F(SharedLogTest, AFailedSyncFailsTheAppendsOfEveryReplica) {
  std::unique_ptr<SharedLog> shared = OpenShared(Shared(Options()));
  std::unique_ptr<ReplicaLog> a = Attach(shared.get(), kA, 7);
  std::unique_ptr<ReplicaLog> b = Attach(shared.get(), kB, 9);
  fs_.set_hook([](FsOp op, const std::string&) {
    return op == FsOp::kSync ? InjectedIoError("fsync error")
                             : absl::OkStatus();
  });
  Append(a.get(), "a", 1);
  Append(b.get(), "b", 1);
  RunAll();
  fs_.set_hook(nullptr);
  Append(b.get(), "b", 2);
  RunAll();
  ASSERT_EQ(statuses_.size(), 3u);
  for (const absl::Status& status : statuses_) {
    EXPECT_EQ(ToErrorCode(status), ErrorCode::kIoError) << status;
  }
}

TEST_F(SharedLogTest, OpenRejectsARecordTooShortToNameItsReplica) {
  {
    absl::StatusOr<std::unique_ptr<MutationLog>> log = MutationLog::Open(
        Options(), [](const LogRecord&) { return absl::OkStatus(); });
    ASSERT_TRUE(log.ok()) << log.status();
    (*log)->Append(1, "short", [](absl::Status status) {
      EXPECT_TRUE(status.ok()) << status;
    });
    executor_.RunReady();
  }
  absl::StatusOr<std::unique_ptr<SharedLog>> shared =
      SharedLog::Open(Shared(Options()));
  EXPECT_EQ(ToErrorCode(shared.status()), ErrorCode::kCorruption);
  EXPECT_NE(shared.status().message().find("naming its replica"),
            std::string::npos)
      << shared.status();
}

TEST_F(SharedLogTest, OpenRejectsANegativeReserve) {
  SharedLogOptions options = Shared(Options());
  options.replica_reserve_bytes = -1;
  EXPECT_EQ(ToErrorCode(SharedLog::Open(options).status()),
            ErrorCode::kInvalidArgument);
  options.replica_reserve_bytes = 0;
  options.reserve_window_bytes = -1;
  EXPECT_EQ(ToErrorCode(SharedLog::Open(options).status()),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace pegasus
