// SharedLog: one MutationLog for every replica of a server.

#include "pegasus/log/shared_log.h"

#include <algorithm>
#include <deque>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pegasus/base/check.h"
#include "pegasus/base/coding.h"
#include "pegasus/base/status.h"
#include "pegasus/log/internal/log_format.h"

namespace pegasus {
namespace {

struct Key {
  Gpid gpid;
  uint64_t tag = 0;
  friend auto operator<=>(const Key&, const Key&) = default;
};

std::string EncodeRecord(const Key& key, Decree decree,
                         std::string_view payload) {
  std::string out;
  out.reserve(static_cast<size_t>(kSharedRecordTagBytes) + payload.size());
  PutBigEndian32(&out, static_cast<uint32_t>(key.gpid.app_id));
  PutBigEndian32(&out, static_cast<uint32_t>(key.gpid.partition_index));
  PutBigEndian64(&out, key.tag);
  PutBigEndian64(&out, static_cast<uint64_t>(decree));
  out.append(payload);
  return out;
}

struct Decoded {
  Key key;
  Decree decree = kNoDecree;
  std::string_view payload;
};

absl::StatusOr<Decoded> DecodeRecord(const LogRecord& record) {
  const std::string& data = record.payload;
  if (data.size() < static_cast<size_t>(kSharedRecordTagBytes)) {
    return PegasusError(
        ErrorCode::kCorruption,
        absl::StrCat("shared log record ", record.decree, " has ", data.size(),
                     " bytes, fewer than the ", kSharedRecordTagBytes,
                     " naming its replica"));
  }
  const char* p = data.data();
  Decoded decoded;
  decoded.key.gpid.app_id = static_cast<int32_t>(DecodeBigEndian32(p));
  decoded.key.gpid.partition_index =
      static_cast<int32_t>(DecodeBigEndian32(p + 4));
  decoded.key.tag = DecodeBigEndian64(p + 8);
  decoded.decree = static_cast<Decree>(DecodeBigEndian64(p + 16));
  decoded.payload = std::string_view(data).substr(kSharedRecordTagBytes);
  return decoded;
}

}  // namespace

// Everything below `log_strand` is the log strand's, except `replayed` and
// `attached`, which belong to the thread that calls Open, Attach and
// ForgetUnattached.
struct SharedLog::Core {
  // A record a replica keeps: its place in the log, where it ends (bytes
  // of the log written through it, counted since Open) and its payload's
  // size.
  struct Kept {
    Decree lsn = kNoDecree;
    Decree decree = kNoDecree;
    int64_t end = 0;
    int64_t bytes = 0;
  };
  struct Replica {
    std::deque<Kept> kept;  // In LSN order.
    int64_t kept_bytes = 0;
    // The highest decree GarbageCollect was told storage holds.
    Decree durable = kNoDecree;
  };

  SharedLogOptions options;
  Executor* log_strand = nullptr;
  // Null once the SharedLog is gone: tasks still queued do nothing.
  std::unique_ptr<MutationLog> log;
  Decree next_lsn = 1;
  // Bytes of records written (or replayed) since Open.
  int64_t end = 0;
  std::map<Key, Replica> replicas;

  std::map<Key, std::vector<LogRecord>> replayed;

  // Notes a record of `replica` at `lsn` with `payload_bytes` of the
  // replica's payload.
  void Keep(Replica& replica, Decree lsn, Decree decree,
            int64_t payload_bytes) {
    end += static_cast<int64_t>(log_internal::kRecordOverheadBytes) +
           kSharedRecordTagBytes + payload_bytes;
    replica.kept.push_back(Kept{lsn, decree, end, payload_bytes});
    replica.kept_bytes += payload_bytes;
  }

  // Lets go of the replica's oldest records that storage holds, but for its
  // reserve within the window.
  void Trim(Replica& replica) {
    const int64_t reserve = options.replica_reserve_bytes;
    const int64_t window_start = end - options.reserve_window_bytes;
    while (!replica.kept.empty()) {
      const Kept& oldest = replica.kept.front();
      if (oldest.decree > replica.durable) break;
      if (replica.kept_bytes - oldest.bytes < reserve &&
          oldest.end > window_start) {
        break;
      }
      replica.kept_bytes -= oldest.bytes;
      replica.kept.pop_front();
    }
  }

  // Trims every replica and deletes the segments below the oldest record
  // any replica still keeps.
  void Collect() {
    Decree oldest = next_lsn;
    for (auto& [key, replica] : replicas) {
      Trim(replica);
      if (!replica.kept.empty()) {
        oldest = std::min(oldest, replica.kept.front().lsn);
      }
    }
    // A failure fails the log; the next append of every replica gets it.
    (void)log->GarbageCollect(oldest - 1);
  }

  // The records of `key` kept with decree >= from, as ReplicaLog::Read.
  absl::StatusOr<std::vector<LogRecord>> Read(const Key& key, Decree from,
                                              int64_t max_bytes) {
    std::vector<LogRecord> result;
    auto it = replicas.find(key);
    if (it == replicas.end() || it->second.kept.empty()) return result;
    const std::deque<Kept>& kept = it->second.kept;
    Decree lsn = kept.front().lsn;
    int64_t total = 0;
    while (lsn <= kept.back().lsn) {
      PEGASUS_ASSIGN_OR_RETURN(
          std::vector<LogRecord> chunk,
          log->Read(lsn, options.log.max_group_commit_bytes));
      if (chunk.empty()) break;
      for (const LogRecord& record : chunk) {
        if (record.decree > kept.back().lsn) return result;
        PEGASUS_ASSIGN_OR_RETURN(Decoded decoded, DecodeRecord(record));
        if (decoded.key != key || decoded.decree < from) continue;
        const auto size = static_cast<int64_t>(decoded.payload.size());
        if (!result.empty() && total + size > max_bytes) return result;
        result.push_back(
            LogRecord{decoded.decree, std::string(decoded.payload)});
        total += size;
      }
      lsn = chunk.back().decree + 1;
    }
    return result;
  }
};

absl::StatusOr<std::unique_ptr<SharedLog>> SharedLog::Open(
    const SharedLogOptions& options) {
  if (options.replica_reserve_bytes < 0 || options.reserve_window_bytes < 0) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        "shared log: replica_reserve_bytes and "
                        "reserve_window_bytes must be >= 0");
  }
  auto core = std::make_shared<Core>();
  core->options = options;
  core->options.log.gc_reserve_bytes = 0;
  core->log_strand = options.log.executor;
  PEGASUS_ASSIGN_OR_RETURN(
      core->log,
      MutationLog::Open(
          core->options.log, [&](const LogRecord& record) -> absl::Status {
            PEGASUS_ASSIGN_OR_RETURN(Decoded decoded, DecodeRecord(record));
            core->Keep(core->replicas[decoded.key], record.decree,
                       decoded.decree,
                       static_cast<int64_t>(decoded.payload.size()));
            core->replayed[decoded.key].push_back(
                LogRecord{decoded.decree, std::string(decoded.payload)});
            core->next_lsn = std::max(core->next_lsn, record.decree + 1);
            return absl::OkStatus();
          }));
  return std::unique_ptr<SharedLog>(new SharedLog(std::move(core)));
}

SharedLog::SharedLog(std::shared_ptr<Core> core) : core_(std::move(core)) {}

// The log's strand may be running a task of the core now (a host that
// failed to start is destroyed while its log thread runs): the log is
// closed there, after what is queued.
SharedLog::~SharedLog() {
  core_->log_strand->Post([core = core_] { core->log.reset(); });
}

std::unique_ptr<ReplicaLog> SharedLog::Attach(
    Gpid gpid, uint64_t tag, Executor* strand,
    std::vector<LogRecord>* replayed) {
  replayed->clear();
  auto it = core_->replayed.find(Key{gpid, tag});
  if (it != core_->replayed.end()) {
    *replayed = std::move(it->second);
    core_->replayed.erase(it);
  }
  return std::unique_ptr<ReplicaLog>(new ReplicaLog(core_, gpid, tag, strand));
}

void SharedLog::ForgetUnattached() {
  std::vector<Key> keys;
  for (const auto& [key, records] : core_->replayed) keys.push_back(key);
  core_->replayed.clear();
  core_->log_strand->Post([core = core_, keys = std::move(keys)] {
    if (core->log == nullptr) return;
    for (const Key& key : keys) core->replicas.erase(key);
    core->Collect();
  });
}

ReplicaLog::ReplicaLog(std::shared_ptr<SharedLog::Core> core, Gpid gpid,
                       uint64_t tag, Executor* strand)
    : core_(std::move(core)), gpid_(gpid), tag_(tag), strand_(strand) {}

ReplicaLog::~ReplicaLog() = default;

// Posted after every append of this replica (a strand posts in order), so
// no later append makes it keep records again.
void ReplicaLog::Drop() {
  core_->log_strand->Post([core = core_, key = Key{gpid_, tag_}] {
    if (core->log == nullptr) return;
    core->replicas.erase(key);
    core->Collect();
  });
}

void ReplicaLog::Append(Decree decree, std::string payload,
                        AppendCallback done) {
  const Key key{gpid_, tag_};
  const auto bytes = static_cast<int64_t>(payload.size());
  core_->log_strand->Post([core = core_, key, decree, bytes,
                           record = EncodeRecord(key, decree, payload),
                           strand = strand_, done = std::move(done)]() mutable {
    if (core->log == nullptr) return;
    const Decree lsn = core->next_lsn;
    // A record the log refuses (too large, or the log failed) is not kept:
    // it would hold segments it is in none of.
    const bool queued = core->log->Append(
        lsn, std::move(record),
        [strand, done = std::move(done)](absl::Status status) mutable {
          strand->Post(
              [done = std::move(done), status = std::move(status)]() mutable {
                std::move(done)(std::move(status));
              });
        });
    if (!queued) return;
    ++core->next_lsn;
    core->Keep(core->replicas[key], lsn, decree, bytes);
  });
}

void ReplicaLog::Read(Decree from, int64_t max_bytes, ReadCallback done) {
  core_->log_strand->Post([core = core_, key = Key{gpid_, tag_}, from,
                           max_bytes, strand = strand_,
                           done = std::move(done)]() mutable {
    if (core->log == nullptr) return;
    absl::StatusOr<std::vector<LogRecord>> records =
        max_bytes < 1
            ? PegasusError(ErrorCode::kInvalidArgument,
                           absl::StrCat("shared log: Read max_bytes is ",
                                        max_bytes, "; it must be >= 1"))
            : core->Read(key, from, max_bytes);
    strand->Post(
        [done = std::move(done), records = std::move(records)]() mutable {
          std::move(done)(std::move(records));
        });
  });
}

void ReplicaLog::GarbageCollect(Decree durable_decree) {
  core_->log_strand->Post(
      [core = core_, key = Key{gpid_, tag_}, durable_decree] {
        if (core->log == nullptr) return;
        auto it = core->replicas.find(key);
        if (it != core->replicas.end()) {
          it->second.durable = std::max(it->second.durable, durable_decree);
        }
        core->Collect();
      });
}

}  // namespace pegasus
