// The mutation log of one replica: the write-ahead log of PacificA. The
// storage engine's own WAL is off, so this log is what makes an acknowledged
// write survive a crash.
//
//   MutationLogOptions options{.file_system = fs, .executor = strand,
//                              .dir = replica_dir + "/plog"};
//   auto log = MutationLog::Open(options, [&](const LogRecord& record) {
//     return replica.Replay(record);
//   });
//   log.value()->Append(decree, mutation_bytes, [](absl::Status status) {
//     // OK: the record is durable (under the sync policy).
//   });
//
// On disk: segment files `<dir>/log.<12-digit sequence>`, each a header and
// framed, checksummed records (docs/log_format.md). Appends go to the newest
// segment only; Open always starts a new one.
//
// Durability. Append queues a record. One group-commit task, posted on the
// executor, writes every queued record (up to max_group_commit_bytes) as one
// append and, under kEveryGroupCommit, one sync, then acknowledges them in
// append order; records queued meanwhile go in the next group. A record is
// acknowledged only once it is durable under the policy and its segment is
// durable in the directory.
//
// Recovery (Open). Damage at the end of the newest segment is a torn write
// (a crash kept part of a write that was never acknowledged): it is cut off,
// and counted in stats(). Any other damage fails Open with PERR_CORRUPTION,
// naming the file and byte offset, and changes nothing on disk: the replica
// must stop rather than serve wrong data.
//
// Errors. PERR_INVALID_ARGUMENT: bad options, a decree < 1, a record larger
// than max_group_commit_bytes allows. PERR_BUSY: max_pending_bytes queued
// already; nothing was written, retry later. PERR_CORRUPTION: see above.
// PERR_IO_ERROR (or the file system's code): a write or sync failed, and the
// log is FAILED: that group and every later Append, Read and GarbageCollect
// get that error (fail-stop: after an I/O error the fate of the bytes is
// unknown). PERR_ABORTED: the log was closed.
//
// Thread-safety: none inside; the log lives on one strand. Call Open and
// every method from `executor` (or, in tests, from the thread that drives a
// ManualExecutor). Callbacks run on `executor`, never inline in the call that
// passed them.

#ifndef PEGASUS_LOG_MUTATION_LOG_H_
#define PEGASUS_LOG_MUTATION_LOG_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"
#include "pegasus/runtime/executor.h"
#include "pegasus/runtime/file_system.h"

namespace pegasus {

struct MutationLogOptions {
  // Where the segments live. Not owned; must outlive the log. Required.
  FileSystem* file_system = nullptr;
  // The log's strand (a shared log's own thread in a server): group
  // commits and callbacks run on it. Not owned; must outlive the log.
  // Required.
  Executor* executor = nullptr;
  // The log's directory, created when missing. The log owns the entries
  // named "log.*" in it and ignores others. Required.
  std::string dir;

  enum class SyncPolicy {
    // A group is synced before its records are acknowledged. Default.
    kEveryGroupCommit,
    // Records are acknowledged once appended, never synced (a segment is
    // still synced when it is closed): a crash may lose acknowledged
    // records, as with Pegasus's default plog_force_flush=false, which
    // leans on the other replicas.
    kNone,
  };
  SyncPolicy sync_policy = SyncPolicy::kEveryGroupCommit;

  // A segment is closed, and a new one started, before a group would take
  // it past this size. Bytes; >= kSegmentOverheadBytes +
  // max_group_commit_bytes. Default 32 MiB (Pegasus's plog file size).
  int64_t max_segment_bytes = int64_t{32} << 20;
  // Most bytes of records (framing included) one group commit writes; also
  // bounds one record: payload + kRecordOverheadBytes <= this. Bytes; in
  // [kRecordOverheadBytes, 1 GiB]. Default 4 MiB.
  int64_t max_group_commit_bytes = int64_t{4} << 20;
  // Most bytes of records (framing included) queued and not yet written;
  // an Append beyond it fails with PERR_BUSY. Bytes; >=
  // max_group_commit_bytes. Default 64 MiB.
  int64_t max_pending_bytes = int64_t{64} << 20;
  // GarbageCollect keeps at least this many bytes of the newest closed
  // segments even when storage holds their records, so a learner can catch
  // up from the log instead of a checkpoint. Bytes; >= 0. Default 32 MiB
  // (one full segment; Pegasus reserves up to 1000 MB per replica).
  int64_t gc_reserve_bytes = int64_t{32} << 20;
};

// Fixed costs of the format, for sizing options: a segment's header and one
// record's framing (docs/log_format.md).
inline constexpr int64_t kSegmentOverheadBytes = 28;
inline constexpr int64_t kRecordOverheadBytes = 24;

struct LogRecord {
  Decree decree = kNoDecree;
  // Opaque to the log (the replica stores a serialized mutation here).
  std::string payload;

  friend bool operator==(const LogRecord&, const LogRecord&) = default;
};

struct MutationLogStats {
  // Open.
  uint64_t records_replayed = 0;
  uint64_t torn_tails_truncated = 0;
  uint64_t torn_bytes_truncated = 0;
  // Appends. Bytes count the framing too.
  uint64_t records_appended = 0;
  uint64_t bytes_appended = 0;
  uint64_t group_commits = 0;
  uint64_t largest_group_records = 0;
  uint64_t appends_rejected_busy = 0;
  // Every file and directory sync the log issued, Open's included.
  uint64_t syncs = 0;
  // Segments (Open's new segment included) and garbage collection.
  uint64_t segments_created = 0;
  uint64_t segments_deleted = 0;
  uint64_t segment_bytes_deleted = 0;
};

class MutationLog {
 public:
  using AppendCallback = absl::AnyInvocable<void(absl::Status)>;
  using ReplayFunction = absl::FunctionRef<absl::Status(const LogRecord&)>;

  // Opens the log in options.dir: replays every valid record, oldest first
  // and in append order, through `replay` (an error from it aborts Open with
  // that error), cuts off a torn tail, makes what was replayed durable, and
  // starts a new segment for appends. Errors: PERR_INVALID_ARGUMENT for bad
  // options, PERR_CORRUPTION for damage that is not a torn tail, I/O errors.
  static absl::StatusOr<std::unique_ptr<MutationLog>> Open(
      const MutationLogOptions& options, ReplayFunction replay);

  // Queued records' callbacks are dropped without running: the owner is
  // usually being destroyed too. Call Close() first to have them fail.
  ~MutationLog();

  MutationLog(const MutationLog&) = delete;
  MutationLog& operator=(const MutationLog&) = delete;

  // Queues a record; `done` runs later on the executor with OK once it is
  // durable under the sync policy, or with the error (see above). Callbacks
  // of accepted records run in append order. The same decree may be
  // appended again (a record under a newer ballot supersedes an older one;
  // that is the caller's business). Returns whether the record was queued;
  // when not, `done` gets the refusal later all the same. REQUIRES: done is
  // not null.
  bool Append(Decree decree, std::string payload, AppendCallback done);

  // Acknowledged records with decree >= from, in append order, from the
  // segments still kept: the longest run whose payloads total at most
  // max_bytes, but at least one record (none when nothing matches).
  // Errors: PERR_INVALID_ARGUMENT for max_bytes < 1, PERR_CORRUPTION when a
  // segment no longer reads back as written, read errors, and the log's
  // failure.
  absl::StatusOr<std::vector<LogRecord>> Read(Decree from, int64_t max_bytes);

  // The smallest and largest decree of the acknowledged records still kept
  // (what Read can return); kNoDecree when there is none.
  Decree min_decree() const;
  Decree max_decree() const;

  // Deletes old segments, oldest first, while every record in the segment
  // has decree <= durable_decree (storage has durably applied them) and the
  // newer closed segments hold at least gc_reserve_bytes. Never deletes the
  // segment being written. A failed delete or directory sync fails the log.
  absl::Status GarbageCollect(Decree durable_decree);

  MutationLogStats stats() const { return stats_; }

  // Aborts the process if the log's own bookkeeping is inconsistent (queued
  // bytes, segment numbering, decree ranges). Cheap: linear in the queue and
  // the segments kept. Tests and the simulator call it after every event.
  void CheckInvariants() const;

  // Fails queued records with PERR_ABORTED (their callbacks are posted),
  // syncs the current segment under kNone, and closes it. Later calls fail
  // with PERR_ABORTED. Records not yet acknowledged may or may not be
  // replayed by the next Open. Returns the sync or close error, or the
  // log's failure if it had FAILED; a second call returns OK.
  absl::Status Close();

 private:
  // What the log remembers of one segment on disk.
  struct Segment {
    uint64_t sequence = 0;
    int64_t bytes = 0;  // Header and acknowledged records.
    int64_t records = 0;
    Decree min_decree = kNoDecree;  // Of its records; kNoDecree when none.
    Decree max_decree = kNoDecree;
  };
  struct Pending {
    Decree decree = kNoDecree;
    std::string payload;
    AppendCallback done;
  };
  using Callbacks = std::vector<AppendCallback>;

  explicit MutationLog(const MutationLogOptions& options);

  // Open's steps (mutation_log_recovery.cc).
  absl::Status CreateDirectory();
  absl::Status Recover(ReplayFunction replay);
  struct LastSegment;
  absl::Status ReplaySegment(uint64_t sequence, bool last,
                             ReplayFunction replay, LastSegment* newest);
  absl::StatusOr<uint64_t> SettleLastSegment(const LastSegment& newest);

  // Appending (mutation_log.cc).
  absl::Status StartSegment(uint64_t sequence);
  absl::Status RollSegment();
  void ScheduleGroupCommit();
  void GroupCommit();
  std::deque<Pending> TakeGroup();
  absl::Status WriteGroup(const std::deque<Pending>& group);
  size_t CountCollectable(Decree durable_decree) const;
  absl::Status UsableStatus() const;
  absl::Status Admit(Decree decree, int64_t bytes);
  void FailLater(AppendCallback done, absl::Status status);
  void Fail(absl::Status status);
  void FailQueued(const absl::Status& status);
  std::string SegmentPath(uint64_t sequence) const;

  const MutationLogOptions options_;
  std::deque<Segment> segments_;  // Oldest first; the last is being written.
  std::unique_ptr<WritableFile> file_;  // The last segment's.
  std::deque<Pending> queue_;
  int64_t pending_bytes_ = 0;
  bool commit_scheduled_ = false;
  absl::Status failure_;  // Not OK once the log has FAILED.
  bool closed_ = false;
  // Cleared by the destructor so an already posted group commit does
  // nothing.
  std::shared_ptr<bool> alive_;
  MutationLogStats stats_;
};

}  // namespace pegasus

#endif  // PEGASUS_LOG_MUTATION_LOG_H_
