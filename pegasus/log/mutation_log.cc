// MutationLog: appending with group commit, reading, garbage collection.
// Open and recovery are in mutation_log_recovery.cc.

#include "pegasus/log/mutation_log.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/log/internal/log_format.h"

namespace pegasus {

using log_internal::WithContext;

MutationLog::MutationLog(const MutationLogOptions& options)
    : options_(options), alive_(std::make_shared<bool>(true)) {}

MutationLog::~MutationLog() { *alive_ = false; }

std::string MutationLog::SegmentPath(uint64_t sequence) const {
  return options_.dir + "/" + log_internal::SegmentName(sequence);
}

// A new segment is durable, header and directory entry, before any record
// goes into it: otherwise a crash could lose the whole file, acknowledged
// records and all.
absl::Status MutationLog::StartSegment(uint64_t sequence) {
  FileSystem* fs = options_.file_system;
  const std::string path = SegmentPath(sequence);
  absl::StatusOr<std::unique_ptr<WritableFile>> opened =
      fs->NewWritableFile(path);
  if (!opened.ok()) return WithContext(opened.status(), "create", path);
  std::unique_ptr<WritableFile> file = std::move(*opened);
  const std::string header = log_internal::EncodeSegmentHeader(sequence);
  PEGASUS_RETURN_IF_ERROR(WithContext(file->Append(header), "append to", path));
  stats_.syncs += 2;
  PEGASUS_RETURN_IF_ERROR(WithContext(file->Sync(), "sync", path));
  PEGASUS_RETURN_IF_ERROR(
      WithContext(fs->SyncDir(options_.dir), "sync", options_.dir));
  segments_.push_back(Segment{.sequence = sequence,
                              .bytes = static_cast<int64_t>(header.size())});
  file_ = std::move(file);
  ++stats_.segments_created;
  return absl::OkStatus();
}

// Only the newest segment may end torn, so a segment is synced before a
// newer one exists; under kEveryGroupCommit it already is.
absl::Status MutationLog::RollSegment() {
  const uint64_t sequence = segments_.back().sequence;
  const std::string path = SegmentPath(sequence);
  if (options_.sync_policy == MutationLogOptions::SyncPolicy::kNone) {
    ++stats_.syncs;
    PEGASUS_RETURN_IF_ERROR(WithContext(file_->Sync(), "sync", path));
  }
  absl::Status closed = file_->Close();
  file_.reset();
  PEGASUS_RETURN_IF_ERROR(WithContext(closed, "close", path));
  PEGASUS_CHECK_LT(sequence, log_internal::kMaxSequence);
  return StartSegment(sequence + 1);
}

absl::Status MutationLog::UsableStatus() const {
  if (closed_) {
    return PegasusError(ErrorCode::kAborted, "mutation log: closed");
  }
  return failure_;
}

void MutationLog::FailLater(AppendCallback done, absl::Status status) {
  options_.executor->Post(
      [done = std::move(done), status = std::move(status)]() mutable {
        std::move(done)(std::move(status));
      });
}

// Why a record cannot be queued, or OK.
absl::Status MutationLog::Admit(Decree decree, int64_t bytes) {
  PEGASUS_RETURN_IF_ERROR(UsableStatus());
  if (decree <= kNoDecree) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        absl::StrCat("mutation log: decree ", decree,
                                     " appended; decrees start at 1"));
  }
  if (bytes > options_.max_group_commit_bytes) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        absl::StrCat("mutation log: a record of ", bytes,
                                     " bytes exceeds max_group_commit_bytes (",
                                     options_.max_group_commit_bytes, ")"));
  }
  if (pending_bytes_ + bytes > options_.max_pending_bytes) {
    ++stats_.appends_rejected_busy;
    return PegasusError(
        ErrorCode::kBusy,
        absl::StrCat("mutation log: ", pending_bytes_, " bytes queued; ", bytes,
                     " more would pass max_pending_bytes (",
                     options_.max_pending_bytes, ")"));
  }
  return absl::OkStatus();
}

bool MutationLog::Append(Decree decree, std::string payload,
                         AppendCallback done) {
  PEGASUS_CHECK(done != nullptr);
  const auto bytes =
      static_cast<int64_t>(log_internal::EncodedRecordBytes(payload.size()));
  if (absl::Status status = Admit(decree, bytes); !status.ok()) {
    FailLater(std::move(done), std::move(status));
    return false;
  }
  pending_bytes_ += bytes;
  queue_.push_back(Pending{decree, std::move(payload), std::move(done)});
  ScheduleGroupCommit();
  return true;
}

void MutationLog::ScheduleGroupCommit() {
  if (commit_scheduled_) return;
  commit_scheduled_ = true;
  options_.executor->Post([this, alive = alive_] {
    if (*alive) GroupCommit();
  });
}

std::deque<MutationLog::Pending> MutationLog::TakeGroup() {
  std::deque<Pending> group;
  int64_t group_bytes = 0;
  while (!queue_.empty()) {
    const auto bytes = static_cast<int64_t>(
        log_internal::EncodedRecordBytes(queue_.front().payload.size()));
    if (!group.empty() &&
        group_bytes + bytes > options_.max_group_commit_bytes) {
      break;
    }
    group_bytes += bytes;
    pending_bytes_ -= bytes;
    group.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return group;
}

void MutationLog::GroupCommit() {
  commit_scheduled_ = false;
  if (queue_.empty()) return;  // Close() or a failure took them.
  std::deque<Pending> group = TakeGroup();
  absl::Status status = WriteGroup(group);
  if (!status.ok()) {
    Fail(status);
    status = failure_;
  } else if (!queue_.empty()) {
    ScheduleGroupCommit();
  }
  // Last, and touching no member: a callback may destroy the log.
  for (Pending& pending : group) std::move(pending.done)(status);
}

absl::Status MutationLog::WriteGroup(const std::deque<Pending>& group) {
  std::string buffer;
  for (const Pending& pending : group) {
    log_internal::AppendRecord(&buffer, pending.decree, pending.payload);
  }
  const auto group_bytes = static_cast<int64_t>(buffer.size());
  if (segments_.back().bytes + group_bytes > options_.max_segment_bytes) {
    PEGASUS_RETURN_IF_ERROR(RollSegment());
  }
  Segment& segment = segments_.back();
  // Options guarantee that a group fits in an empty segment.
  PEGASUS_CHECK_LE(segment.bytes + group_bytes, options_.max_segment_bytes);
  const std::string path = SegmentPath(segment.sequence);
  PEGASUS_RETURN_IF_ERROR(
      WithContext(file_->Append(buffer), "append to", path));
  if (options_.sync_policy ==
      MutationLogOptions::SyncPolicy::kEveryGroupCommit) {
    ++stats_.syncs;
    PEGASUS_RETURN_IF_ERROR(WithContext(file_->Sync(), "sync", path));
  }
  for (const Pending& pending : group) {
    segment.min_decree = segment.records == 0
                             ? pending.decree
                             : std::min(segment.min_decree, pending.decree);
    segment.max_decree = std::max(segment.max_decree, pending.decree);
    ++segment.records;
  }
  segment.bytes += group_bytes;
  stats_.records_appended += group.size();
  stats_.bytes_appended += static_cast<uint64_t>(group_bytes);
  ++stats_.group_commits;
  stats_.largest_group_records =
      std::max<uint64_t>(stats_.largest_group_records, group.size());
  return absl::OkStatus();
}

// Fail-stop: after a failed write or sync the bytes' fate is unknown, so
// nothing more is written and every queued record fails with the error.
void MutationLog::Fail(absl::Status status) {
  failure_ = std::move(status);
  FailQueued(failure_);
}

// Empties the queue; its callbacks get `status`, later, in append order.
void MutationLog::FailQueued(const absl::Status& status) {
  Callbacks callbacks;
  for (Pending& pending : queue_) callbacks.push_back(std::move(pending.done));
  queue_.clear();
  pending_bytes_ = 0;
  if (callbacks.empty()) return;
  options_.executor->Post([callbacks = std::move(callbacks), status]() mutable {
    for (AppendCallback& done : callbacks) std::move(done)(status);
  });
}

absl::StatusOr<std::vector<LogRecord>> MutationLog::Read(Decree from,
                                                         int64_t max_bytes) {
  PEGASUS_RETURN_IF_ERROR(UsableStatus());
  if (max_bytes < 1) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        absl::StrCat("mutation log: Read max_bytes is ",
                                     max_bytes, "; it must be >= 1"));
  }
  std::vector<LogRecord> records;
  int64_t total = 0;
  for (const Segment& segment : segments_) {
    if (segment.records == 0 || segment.max_decree < from) continue;
    const std::string path = SegmentPath(segment.sequence);
    PEGASUS_ASSIGN_OR_RETURN(std::string data,
                             options_.file_system->ReadFile(path));
    // Only the acknowledged prefix: later bytes belong to no acknowledged
    // record (a group whose sync failed, say).
    const std::string_view acknowledged =
        std::string_view(data).substr(0, static_cast<size_t>(segment.bytes));
    PEGASUS_ASSIGN_OR_RETURN(
        log_internal::ParsedSegment parsed,
        log_internal::ParseSegment(path, segment.sequence, acknowledged,
                                   /*last=*/false));
    if (static_cast<int64_t>(parsed.records.size()) != segment.records) {
      return PegasusError(
          ErrorCode::kCorruption,
          absl::StrCat("mutation log ", path, " holds ", parsed.records.size(),
                       " records, not the ", segment.records, " written"));
    }
    for (const log_internal::RecordView& view : parsed.records) {
      if (view.decree < from) continue;
      const auto size = static_cast<int64_t>(view.payload.size());
      if (!records.empty() && total + size > max_bytes) return records;
      records.push_back(LogRecord{view.decree, std::string(view.payload)});
      total += size;
    }
  }
  return records;
}

Decree MutationLog::min_decree() const {
  Decree result = kNoDecree;
  for (const Segment& segment : segments_) {
    if (segment.records == 0) continue;
    if (result == kNoDecree || segment.min_decree < result) {
      result = segment.min_decree;
    }
  }
  return result;
}

Decree MutationLog::max_decree() const {
  Decree result = kNoDecree;
  for (const Segment& segment : segments_) {
    result = std::max(result, segment.max_decree);
  }
  return result;
}

// How many of the oldest segments GarbageCollect may delete.
size_t MutationLog::CountCollectable(Decree durable_decree) const {
  int64_t newer_closed_bytes = 0;
  for (size_t i = 0; i + 1 < segments_.size(); ++i) {
    newer_closed_bytes += segments_[i].bytes;
  }
  size_t count = 0;
  for (size_t i = 0; i + 1 < segments_.size(); ++i) {
    const Segment& segment = segments_[i];
    newer_closed_bytes -= segment.bytes;
    if (segment.records > 0 && segment.max_decree > durable_decree) break;
    if (newer_closed_bytes < options_.gc_reserve_bytes) break;
    count = i + 1;
  }
  return count;
}

// Each deletion is made durable before the next, so whatever a crash keeps
// is a contiguous run of segments (Open rejects a gap as a lost segment).
absl::Status MutationLog::GarbageCollect(Decree durable_decree) {
  PEGASUS_RETURN_IF_ERROR(UsableStatus());
  FileSystem* fs = options_.file_system;
  for (size_t n = CountCollectable(durable_decree); n > 0; --n) {
    const Segment oldest = segments_.front();
    const std::string path = SegmentPath(oldest.sequence);
    absl::Status status = WithContext(fs->DeleteFile(path), "delete", path);
    if (status.ok()) {
      segments_.pop_front();
      ++stats_.segments_deleted;
      stats_.segment_bytes_deleted += static_cast<uint64_t>(oldest.bytes);
      ++stats_.syncs;
      status = WithContext(fs->SyncDir(options_.dir), "sync", options_.dir);
    }
    if (!status.ok()) {
      Fail(status);
      return failure_;
    }
  }
  return absl::OkStatus();
}

void MutationLog::CheckInvariants() const {
  int64_t queued_bytes = 0;
  for (const Pending& pending : queue_) {
    queued_bytes += static_cast<int64_t>(
        log_internal::EncodedRecordBytes(pending.payload.size()));
  }
  PEGASUS_CHECK_EQ(queued_bytes, pending_bytes_);
  PEGASUS_CHECK_LE(pending_bytes_, options_.max_pending_bytes);
  PEGASUS_CHECK(queue_.empty() || commit_scheduled_)
      << "records queued with no group commit to write them";
  PEGASUS_CHECK(queue_.empty() || (!closed_ && failure_.ok()))
      << "records queued in a closed or failed log";
  for (size_t i = 0; i < segments_.size(); ++i) {
    const Segment& segment = segments_[i];
    if (i > 0) {
      PEGASUS_CHECK_EQ(segment.sequence, segments_[i - 1].sequence + 1);
    }
    PEGASUS_CHECK_GE(segment.bytes, kSegmentOverheadBytes);
    if (segment.records == 0) {
      PEGASUS_CHECK_EQ(segment.max_decree, kNoDecree);
    } else {
      PEGASUS_CHECK_GE(segment.min_decree, 1);
      PEGASUS_CHECK_LE(segment.min_decree, segment.max_decree);
    }
  }
  if (!closed_ && failure_.ok()) {
    PEGASUS_CHECK(file_ != nullptr);
    PEGASUS_CHECK(!segments_.empty());
    PEGASUS_CHECK_LE(segments_.back().bytes, options_.max_segment_bytes);
  }
}

absl::Status MutationLog::Close() {
  if (closed_) return absl::OkStatus();
  closed_ = true;
  FailQueued(
      PegasusError(ErrorCode::kAborted,
                   "mutation log: closed before the record was written"));
  if (!failure_.ok() || file_ == nullptr) return failure_;
  const std::string path = SegmentPath(segments_.back().sequence);
  absl::Status status;
  if (options_.sync_policy == MutationLogOptions::SyncPolicy::kNone) {
    ++stats_.syncs;
    status = WithContext(file_->Sync(), "sync", path);
  }
  absl::Status closed = WithContext(file_->Close(), "close", path);
  file_.reset();
  return status.ok() ? closed : status;
}

}  // namespace pegasus
