// MutationLog::Open: option checks, replay, and recovery of the newest
// segment. Appending, reading and garbage collection are in mutation_log.cc.

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/log/internal/log_format.h"
#include "pegasus/log/mutation_log.h"

namespace pegasus {

using log_internal::ParsedSegment;
using log_internal::WithContext;

static_assert(kSegmentOverheadBytes == log_internal::kSegmentHeaderBytes);
static_assert(kRecordOverheadBytes == log_internal::kRecordOverheadBytes);

namespace {

constexpr int64_t kMaxGroupCommitBytes = int64_t{1} << 30;

absl::Status InvalidOption(std::string_view name, int64_t value,
                           std::string_view requirement) {
  return PegasusError(
      ErrorCode::kInvalidArgument,
      absl::StrCat("MutationLogOptions.", std::string(name), " is ", value,
                   "; it must be ", std::string(requirement)));
}

absl::Status ValidateOptions(const MutationLogOptions& options) {
  auto missing = [](std::string_view what) {
    return PegasusError(
        ErrorCode::kInvalidArgument,
        absl::StrCat("MutationLogOptions.", std::string(what), " is required"));
  };
  if (options.file_system == nullptr) return missing("file_system");
  if (options.executor == nullptr) return missing("executor");
  if (options.dir.empty()) return missing("dir");
  using SyncPolicy = MutationLogOptions::SyncPolicy;
  if (options.sync_policy != SyncPolicy::kEveryGroupCommit &&
      options.sync_policy != SyncPolicy::kNone) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        "MutationLogOptions.sync_policy is not a SyncPolicy");
  }
  const int64_t group = options.max_group_commit_bytes;
  if (group < kRecordOverheadBytes || group > kMaxGroupCommitBytes) {
    return InvalidOption("max_group_commit_bytes", group,
                         absl::StrCat("in [", kRecordOverheadBytes, ", ",
                                      kMaxGroupCommitBytes, "]"));
  }
  if (options.max_segment_bytes - kSegmentOverheadBytes < group) {
    return InvalidOption(
        "max_segment_bytes", options.max_segment_bytes,
        absl::StrCat("at least the segment header (", kSegmentOverheadBytes,
                     ") plus max_group_commit_bytes (", group, ")"));
  }
  if (options.max_pending_bytes < group) {
    return InvalidOption(
        "max_pending_bytes", options.max_pending_bytes,
        absl::StrCat("at least max_group_commit_bytes (", group, ")"));
  }
  if (options.gc_reserve_bytes < 0) {
    return InvalidOption("gc_reserve_bytes", options.gc_reserve_bytes, ">= 0");
  }
  return absl::OkStatus();
}

absl::Status Corruption(std::string_view message) {
  return PegasusError(ErrorCode::kCorruption,
                      absl::StrCat("mutation log: ", std::string(message)));
}

struct Listing {
  std::vector<uint64_t> sequences;  // Ascending and contiguous.
  std::vector<std::string> temps;
};

// The log's entries in `dir`. A gap in the sequence numbers is a lost
// segment: garbage collection deletes oldest first, making each deletion
// durable before the next, so what it leaves is always contiguous.
absl::StatusOr<Listing> ListLog(FileSystem* fs, const std::string& dir) {
  PEGASUS_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir));
  Listing listing;
  for (const std::string& name : names) {
    if (!name.starts_with(log_internal::kSegmentPrefix)) continue;
    if (std::optional<uint64_t> sequence =
            log_internal::ParseSegmentName(name)) {
      listing.sequences.push_back(*sequence);
    } else if (log_internal::IsTempName(name)) {
      listing.temps.push_back(name);
    } else {
      return Corruption(absl::StrCat("unrecognized entry ", dir, "/", name,
                                     " (segments are log.<12 digits>)"));
    }
  }
  std::sort(listing.sequences.begin(), listing.sequences.end());
  for (size_t i = 1; i < listing.sequences.size(); ++i) {
    if (listing.sequences[i] != listing.sequences[i - 1] + 1) {
      return Corruption(absl::StrCat(
          "segments are missing between ", dir, "/",
          log_internal::SegmentName(listing.sequences[i - 1]), " and ", dir,
          "/", log_internal::SegmentName(listing.sequences[i])));
    }
  }
  return listing;
}

}  // namespace

// The newest segment as Open found it: recovery rewrites or deletes it.
struct MutationLog::LastSegment {
  uint64_t sequence = 0;
  std::string data;
  size_t valid_bytes = 0;
  bool torn_tail = false;
  bool has_records = false;
};

absl::StatusOr<std::unique_ptr<MutationLog>> MutationLog::Open(
    const MutationLogOptions& options, ReplayFunction replay) {
  PEGASUS_RETURN_IF_ERROR(ValidateOptions(options));
  std::unique_ptr<MutationLog> log(new MutationLog(options));
  PEGASUS_RETURN_IF_ERROR(log->Recover(replay));
  return log;
}

// Creates the log's directory and any missing parents. A new directory's
// entry is durable only once its parent is synced (POSIX; the simulator's
// disk makes directories durable at once), and a directory lost in a crash
// would take every synced segment in it along.
absl::Status MutationLog::CreateDirectory() {
  FileSystem* fs = options_.file_system;
  std::vector<std::string> missing;
  for (std::string dir = options_.dir; !fs->FileExists(dir);
       dir = DirName(dir)) {
    missing.push_back(dir);
    if (DirName(dir) == dir) break;
  }
  PEGASUS_RETURN_IF_ERROR(
      WithContext(fs->CreateDirs(options_.dir), "create", options_.dir));
  for (const std::string& dir : missing) {
    const std::string parent = DirName(dir);
    ++stats_.syncs;
    PEGASUS_RETURN_IF_ERROR(WithContext(fs->SyncDir(parent), "sync", parent));
  }
  return absl::OkStatus();
}

absl::Status MutationLog::Recover(ReplayFunction replay) {
  FileSystem* fs = options_.file_system;
  PEGASUS_RETURN_IF_ERROR(CreateDirectory());
  PEGASUS_ASSIGN_OR_RETURN(Listing listing, ListLog(fs, options_.dir));
  LastSegment newest;
  for (size_t i = 0; i < listing.sequences.size(); ++i) {
    const bool last = i + 1 == listing.sequences.size();
    PEGASUS_RETURN_IF_ERROR(
        ReplaySegment(listing.sequences[i], last, replay, &newest));
  }
  // Only now, with every segment read and replayed, does anything on disk
  // change: damage or a replay error leaves the directory as it was.
  for (const std::string& temp : listing.temps) {
    const std::string path = options_.dir + "/" + temp;
    PEGASUS_RETURN_IF_ERROR(
        WithContext(fs->DeleteFile(path), "delete leftover", path));
  }
  uint64_t next_sequence = 1;
  if (!listing.sequences.empty()) {
    PEGASUS_ASSIGN_OR_RETURN(next_sequence, SettleLastSegment(newest));
  }
  return StartSegment(next_sequence);
}

absl::Status MutationLog::ReplaySegment(uint64_t sequence, bool last,
                                        ReplayFunction replay,
                                        LastSegment* newest) {
  const std::string path = SegmentPath(sequence);
  PEGASUS_ASSIGN_OR_RETURN(std::string data,
                           options_.file_system->ReadFile(path));
  PEGASUS_ASSIGN_OR_RETURN(
      ParsedSegment parsed,
      log_internal::ParseSegment(path, sequence, data, last));
  Segment segment{.sequence = sequence,
                  .bytes = static_cast<int64_t>(parsed.valid_bytes)};
  for (const log_internal::RecordView& view : parsed.records) {
    PEGASUS_RETURN_IF_ERROR(
        replay(LogRecord{view.decree, std::string(view.payload)}));
    ++stats_.records_replayed;
    segment.min_decree = segment.records == 0
                             ? view.decree
                             : std::min(segment.min_decree, view.decree);
    segment.max_decree = std::max(segment.max_decree, view.decree);
    ++segment.records;
  }
  // A newest segment without records is deleted by SettleLastSegment.
  if (!last || segment.records > 0) segments_.push_back(segment);
  if (last) {
    newest->sequence = sequence;
    newest->valid_bytes = parsed.valid_bytes;
    newest->torn_tail = parsed.torn_tail;
    newest->has_records = segment.records > 0;
    newest->data = std::move(data);
  }
  return absl::OkStatus();
}

// Leaves the newest segment durable and holding exactly its valid prefix,
// and returns the sequence number for the new segment. The segment may hold
// bytes that reached the file but were never synced (a sync that failed, or
// kNone): they were replayed, so they must be durable before newer segments
// exist, or a crash would tear a segment that is no longer the last. The
// FileSystem seam cannot sync a file it did not open for writing, so the
// prefix is rewritten (WriteFileAtomically), which also cuts off a torn
// tail. A segment without records is deleted instead and its number reused,
// so sequence numbers stay contiguous.
absl::StatusOr<uint64_t> MutationLog::SettleLastSegment(
    const LastSegment& newest) {
  FileSystem* fs = options_.file_system;
  const std::string path = SegmentPath(newest.sequence);
  if (newest.torn_tail) {
    ++stats_.torn_tails_truncated;
    stats_.torn_bytes_truncated += newest.data.size() - newest.valid_bytes;
  }
  if (!newest.has_records) {
    PEGASUS_RETURN_IF_ERROR(WithContext(fs->DeleteFile(path), "delete", path));
    ++stats_.syncs;
    PEGASUS_RETURN_IF_ERROR(
        WithContext(fs->SyncDir(options_.dir), "sync", options_.dir));
    return newest.sequence;
  }
  stats_.syncs += 2;  // The rewritten file and the directory.
  PEGASUS_RETURN_IF_ERROR(WithContext(
      WriteFileAtomically(
          fs, path,
          std::string_view(newest.data).substr(0, newest.valid_bytes)),
      "rewrite", path));
  PEGASUS_CHECK_LT(newest.sequence, log_internal::kMaxSequence);
  return newest.sequence + 1;
}

}  // namespace pegasus
