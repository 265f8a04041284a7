// A simulated disk: a FileSystem held in memory that models what a real disk
// promises and what it does not.
//
// Durability: appended bytes sit in a volatile cache until Sync(); a
// creation, rename or delete is durable once the parent directory is synced
// (SyncDir). Crash() throws the cache away: each file falls back to its
// synced bytes plus, with probability torn_write_probability, a random prefix
// of what was appended after (a torn last write); the namespace falls back
// to its durable state. Directories are durable when created.
//
// Faults: each Append/Sync fails with write_error_probability and each
// ReadFile with read_error_probability (PERR_IO_ERROR; a failed append writes
// nothing). FlipBitAtRest() corrupts one synced bit of one file.
//
// Latency: every operation charges its cost to the owning process through
// the `charge` callback, so the process is busy (its later events wait) for
// that long; see SimProcess.
//
// Random choices come from the generator given at construction.

#ifndef PEGASUS_TESTING_SIM_SIM_DISK_H_
#define PEGASUS_TESTING_SIM_SIM_DISK_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "pegasus/base/random.h"
#include "pegasus/runtime/file_system.h"

namespace pegasus::sim {

struct DiskOptions {
  // Cost of one operation, in nanoseconds: a fixed part plus an
  // exponentially distributed part with this mean.
  int64_t write_latency_ns = 20'000;
  int64_t sync_latency_ns = 500'000;
  int64_t read_latency_ns = 50'000;
  int64_t latency_jitter_mean_ns = 0;
  double write_error_probability = 0;
  double read_error_probability = 0;
  // On a crash, the chance that a file with unsynced bytes keeps a random
  // prefix of them (else it keeps only its synced bytes).
  double torn_write_probability = 0;
};

struct DiskStats {
  uint64_t appends = 0;
  uint64_t syncs = 0;
  uint64_t reads = 0;
  uint64_t write_errors = 0;
  uint64_t read_errors = 0;
  uint64_t torn_files = 0;  // Files left with a torn tail by crashes.
  uint64_t lost_bytes = 0;  // Unsynced bytes crashes threw away.
  uint64_t bits_flipped = 0;
};

class SimDisk final : public FileSystem {
 public:
  SimDisk(DiskOptions options, std::unique_ptr<Random> random,
          std::function<void(int64_t)> charge);
  ~SimDisk() override;

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) override;
  absl::StatusOr<std::string> ReadFile(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status DeleteFile(const std::string& path) override;
  bool FileExists(const std::string& path) override;
  absl::Status CreateDirs(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& path) override;
  absl::Status SyncDir(const std::string& path) override;

  // Loses what a power failure loses (see above). Files still open must not
  // be used afterwards.
  void Crash();
  // Flips one random bit among the synced bytes of one random file. Returns
  // the file's path, or "" when no file has synced bytes.
  std::string FlipBitAtRest();

  DiskOptions& options() { return options_; }
  const DiskStats& stats() const { return stats_; }

 private:
  friend class SimWritableFile;
  struct Inode {
    std::string data;
    size_t synced = 0;
  };

  void Charge(int64_t fixed_ns);
  bool Fail(double probability, uint64_t* counter);
  absl::Status Append(uint64_t inode, std::string_view data);
  absl::Status Sync(uint64_t inode);

  DiskOptions options_;
  std::unique_ptr<Random> random_;
  std::function<void(int64_t)> charge_;
  uint64_t next_inode_ = 1;
  std::map<uint64_t, Inode> inodes_;
  std::map<std::string, uint64_t> names_;          // What a reader sees.
  std::map<std::string, uint64_t> durable_names_;  // What survives a crash.
  std::set<std::string> dirs_;
  // Bumped by Crash(): files opened before it refuse further use.
  uint64_t generation_ = 0;
  DiskStats stats_;
};

}  // namespace pegasus::sim

#endif  // PEGASUS_TESTING_SIM_SIM_DISK_H_
