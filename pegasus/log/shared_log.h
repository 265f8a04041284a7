// The log of one replica server: the records of every replica it hosts in
// one MutationLog, so that one group commit (one append and one sync) makes
// the writes of all of them durable together. With a log per replica a
// server issues a sync per replica per group; shared, it issues one per
// group however many replicas are writing (Pegasus's shared log, "slog").
//
//   SharedLogOptions options;
//   options.log = {.file_system = fs, .executor = log_strand,
//                  .dir = data_dir + "/slog"};
//   auto shared = SharedLog::Open(options);
//   std::vector<LogRecord> replayed;
//   std::unique_ptr<ReplicaLog> log =
//       (*shared)->Attach(gpid, tag, replica_strand, &replayed);
//   ...  // every replica on disk attached, then:
//   (*shared)->ForgetUnattached();
//   log->Append(decree, mutation_bytes, [](absl::Status status) { ... });
//
// Records. The underlying MutationLog numbers records itself (its "decree"
// here is a log sequence number, LSN) and its payload is
// [u32 BE app_id][u32 BE partition_index][u64 BE tag][u64 BE decree]
// [the replica's payload] (docs/log_format.md). The tag names one
// incarnation of a replica on this server: a replica created again after
// being dropped gets a new tag, so the records of the old one are never
// replayed into the new one. Open replays every record and keeps each
// replica's for its Attach; records of a (gpid, tag) nobody attached before
// ForgetUnattached are garbage.
//
// Per replica, a ReplicaLog behaves as a MutationLog of its own: records are
// acknowledged in append order, once durable under the sync policy; Read
// returns them in append order; GarbageCollect lets go of records storage
// holds. The shared log deletes a segment once no replica keeps a record in
// it.
//
// Errors are the MutationLog's (mutation_log.h). A failed write or sync
// fails the whole log: every later append of every replica gets the error.
//
// Thread-safety: the MutationLog, and everything that decides what it
// keeps, live on options.log.executor (the log's strand; its syncs block
// it, so it should not be a strand replicas run on). Open, Attach and
// ForgetUnattached run on one thread (the host's strand), Attach and
// ForgetUnattached after Open returns. A ReplicaLog is used from the strand
// given to Attach, and its callbacks run there. Destroy the SharedLog after
// its ReplicaLogs, on any thread: the MutationLog is closed on the log's
// strand after the tasks queued before (or with them, if the executor runs
// no more tasks), so the log's executor must outlive the SharedLog.

#ifndef PEGASUS_LOG_SHARED_LOG_H_
#define PEGASUS_LOG_SHARED_LOG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"
#include "pegasus/log/mutation_log.h"
#include "pegasus/runtime/executor.h"

namespace pegasus {

struct SharedLogOptions {
  // The underlying log. Its gc_reserve_bytes is ignored: what is kept for
  // learners is reserved per replica (replica_reserve_bytes).
  MutationLogOptions log;
  // GarbageCollect keeps at least this many bytes of a replica's newest
  // records even when storage holds them, so a learner can catch up from
  // the log instead of a checkpoint. Bytes of payload; >= 0. Default 4 MiB.
  int64_t replica_reserve_bytes = int64_t{4} << 20;
  // The reserve holds no record further back than this many bytes from the
  // end of the whole log: an idle replica's reserve would otherwise keep
  // its old segment, and every later one, however much the others write.
  // Bytes of records as framed in the log; >= 0. Default 16 MiB.
  int64_t reserve_window_bytes = int64_t{16} << 20;
};

// The bytes a shared record adds to a replica's payload.
inline constexpr int64_t kSharedRecordTagBytes = 4 + 4 + 8 + 8;

class ReplicaLog;

class SharedLog {
 public:
  // Opens the log in options.log.dir and replays it (MutationLog::Open),
  // keeping each replica's records for Attach. Errors: those of
  // MutationLog::Open; PERR_CORRUPTION for a record too short to name its
  // replica.
  static absl::StatusOr<std::unique_ptr<SharedLog>> Open(
      const SharedLogOptions& options);

  ~SharedLog();

  SharedLog(const SharedLog&) = delete;
  SharedLog& operator=(const SharedLog&) = delete;

  // The log of replica `gpid` under `tag`, its callbacks posted to `strand`.
  // `replayed` gets the records Open found for it, in append order. A
  // (gpid, tag) is attached at most once.
  std::unique_ptr<ReplicaLog> Attach(Gpid gpid, uint64_t tag, Executor* strand,
                                     std::vector<LogRecord>* replayed);

  // The records of replicas not attached by now are let go: the replicas
  // they belonged to are gone from this server.
  void ForgetUnattached();

 private:
  friend class ReplicaLog;
  struct Core;

  explicit SharedLog(std::shared_ptr<Core> core);

  std::shared_ptr<Core> core_;
};

class ReplicaLog {
 public:
  using AppendCallback = MutationLog::AppendCallback;
  using ReadCallback =
      absl::AnyInvocable<void(absl::StatusOr<std::vector<LogRecord>>)>;

  // Its records stay in the log, and are replayed to the replica at the
  // next Open: closing a replica (a server stopping, or failing to start)
  // loses nothing. Callbacks of its appends and reads still run, or are
  // dropped with the log.
  ~ReplicaLog();

  ReplicaLog(const ReplicaLog&) = delete;
  ReplicaLog& operator=(const ReplicaLog&) = delete;

  // As MutationLog::Append: `done` runs later on the strand with OK once
  // the record is durable under the sync policy, or with the error.
  void Append(Decree decree, std::string payload, AppendCallback done);

  // As MutationLog::Read, later, on the strand: this replica's records
  // kept with decree >= from, in append order, the longest run whose
  // payloads total at most max_bytes but at least one record.
  void Read(Decree from, int64_t max_bytes, ReadCallback done);

  // Lets go of the oldest records while their decree <= durable_decree
  // (storage has durably applied them), keeping at least
  // replica_reserve_bytes of the newest unless they are older than the
  // reserve window. The durable decree is remembered: the records this
  // replica reserves are let go later, when the log's end moves the window
  // past them. The space goes back once no replica keeps a record of a
  // segment.
  void GarbageCollect(Decree durable_decree);

  // The replica is gone for good (its directory is reclaimed): its records,
  // those already appended included, are let go. Append nothing after.
  void Drop();

 private:
  friend class SharedLog;
  ReplicaLog(std::shared_ptr<SharedLog::Core> core, Gpid gpid, uint64_t tag,
             Executor* strand);

  std::shared_ptr<SharedLog::Core> core_;
  Gpid gpid_;
  uint64_t tag_ = 0;
  Executor* strand_ = nullptr;
};

}  // namespace pegasus

#endif  // PEGASUS_LOG_SHARED_LOG_H_
