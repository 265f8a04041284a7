#include "testing/sim/sim_disk.h"

#include <utility>

#include "pegasus/base/status.h"

namespace pegasus::sim {

class SimWritableFile final : public WritableFile {
 public:
  SimWritableFile(SimDisk* disk, uint64_t inode, uint64_t generation)
      : disk_(disk), inode_(inode), generation_(generation) {}

  absl::Status Append(std::string_view data) override {
    PEGASUS_RETURN_IF_ERROR(CheckUsable());
    return disk_->Append(inode_, data);
  }
  absl::Status Sync() override {
    PEGASUS_RETURN_IF_ERROR(CheckUsable());
    return disk_->Sync(inode_);
  }
  absl::Status Close() override { return absl::OkStatus(); }

 private:
  absl::Status CheckUsable() const {
    if (generation_ != disk_->generation_) {
      return PegasusError(ErrorCode::kIoError, "file opened before a crash");
    }
    return absl::OkStatus();
  }

  SimDisk* disk_;
  uint64_t inode_;
  uint64_t generation_;
};

namespace {

absl::Status NotFound(const std::string& what, const std::string& path) {
  return PegasusError(ErrorCode::kNotFound,
                      what + " " + path + ": no such file or directory");
}

bool IsDirectChild(const std::string& dir, const std::string& path) {
  return DirName(path) == dir;
}

}  // namespace

SimDisk::SimDisk(DiskOptions options, std::unique_ptr<Random> random,
                 std::function<void(int64_t)> charge)
    : options_(options),
      random_(std::move(random)),
      charge_(std::move(charge)) {
  dirs_.insert("/");
}

SimDisk::~SimDisk() = default;

void SimDisk::Charge(int64_t fixed_ns) {
  int64_t cost = fixed_ns;
  if (options_.latency_jitter_mean_ns > 0) {
    cost += random_->Exponential(options_.latency_jitter_mean_ns);
  }
  if (charge_) charge_(cost);
}

bool SimDisk::Fail(double probability, uint64_t* counter) {
  if (probability <= 0 || !random_->Bernoulli(probability)) return false;
  ++*counter;
  return true;
}

absl::Status SimDisk::Append(uint64_t inode, std::string_view data) {
  Charge(options_.write_latency_ns);
  ++stats_.appends;
  if (Fail(options_.write_error_probability, &stats_.write_errors)) {
    return PegasusError(ErrorCode::kIoError, "injected write error");
  }
  auto it = inodes_.find(inode);
  if (it != inodes_.end()) it->second.data.append(data);
  return absl::OkStatus();
}

absl::Status SimDisk::Sync(uint64_t inode) {
  Charge(options_.sync_latency_ns);
  ++stats_.syncs;
  if (Fail(options_.write_error_probability, &stats_.write_errors)) {
    return PegasusError(ErrorCode::kIoError, "injected fsync error");
  }
  auto it = inodes_.find(inode);
  if (it != inodes_.end()) it->second.synced = it->second.data.size();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WritableFile>> SimDisk::NewWritableFile(
    const std::string& path) {
  Charge(options_.write_latency_ns);
  if (!dirs_.contains(DirName(path))) return NotFound("open", path);
  if (dirs_.contains(path)) {
    return PegasusError(ErrorCode::kIoError,
                        "open " + path + ": is a directory");
  }
  const uint64_t inode = next_inode_++;
  inodes_[inode];
  names_[path] = inode;
  return std::make_unique<SimWritableFile>(this, inode, generation_);
}

absl::StatusOr<std::string> SimDisk::ReadFile(const std::string& path) {
  Charge(options_.read_latency_ns);
  ++stats_.reads;
  auto it = names_.find(path);
  if (it == names_.end()) return NotFound("open", path);
  if (Fail(options_.read_error_probability, &stats_.read_errors)) {
    return PegasusError(ErrorCode::kIoError, "injected read error: " + path);
  }
  return inodes_.at(it->second).data;
}

absl::Status SimDisk::Rename(const std::string& from, const std::string& to) {
  Charge(options_.write_latency_ns);
  auto it = names_.find(from);
  if (it == names_.end()) return NotFound("rename", from);
  if (!dirs_.contains(DirName(to))) return NotFound("rename to", to);
  const uint64_t inode = it->second;
  names_.erase(it);
  names_[to] = inode;
  return absl::OkStatus();
}

absl::Status SimDisk::DeleteFile(const std::string& path) {
  Charge(options_.write_latency_ns);
  if (names_.erase(path) == 0) return NotFound("unlink", path);
  return absl::OkStatus();
}

bool SimDisk::FileExists(const std::string& path) {
  return names_.contains(path) || dirs_.contains(path);
}

absl::Status SimDisk::CreateDirs(const std::string& path) {
  Charge(options_.write_latency_ns);
  std::vector<std::string> chain;
  for (std::string dir = path; dir != "/" && dir != "." && !dir.empty();
       dir = DirName(dir)) {
    if (names_.contains(dir)) {
      return PegasusError(ErrorCode::kIoError, "mkdir " + dir + ": is a file");
    }
    chain.push_back(dir);
  }
  for (const std::string& dir : chain) dirs_.insert(dir);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> SimDisk::ListDir(
    const std::string& path) {
  Charge(options_.read_latency_ns);
  if (!dirs_.contains(path)) return NotFound("opendir", path);
  std::set<std::string> entries;
  const std::string prefix = path == "/" ? "/" : path + "/";
  for (const auto& [name, inode] : names_) {
    if (IsDirectChild(path, name)) entries.insert(name.substr(prefix.size()));
  }
  for (const std::string& dir : dirs_) {
    if (dir != path && IsDirectChild(path, dir)) {
      entries.insert(dir.substr(prefix.size()));
    }
  }
  return std::vector<std::string>(entries.begin(), entries.end());
}

absl::Status SimDisk::SyncDir(const std::string& path) {
  Charge(options_.sync_latency_ns);
  if (!dirs_.contains(path)) return NotFound("sync", path);
  if (Fail(options_.write_error_probability, &stats_.write_errors)) {
    return PegasusError(ErrorCode::kIoError, "injected fsync error: " + path);
  }
  for (auto it = durable_names_.begin(); it != durable_names_.end();) {
    it = IsDirectChild(path, it->first) ? durable_names_.erase(it)
                                        : std::next(it);
  }
  for (const auto& [name, inode] : names_) {
    if (IsDirectChild(path, name)) durable_names_[name] = inode;
  }
  // Inodes no name refers to any more are gone for good.
  std::set<uint64_t> referenced;
  for (const auto& [name, inode] : names_) referenced.insert(inode);
  for (const auto& [name, inode] : durable_names_) referenced.insert(inode);
  for (auto it = inodes_.begin(); it != inodes_.end();) {
    it = referenced.contains(it->first) ? std::next(it) : inodes_.erase(it);
  }
  return absl::OkStatus();
}

void SimDisk::Crash() {
  ++generation_;
  names_ = durable_names_;
  std::map<uint64_t, Inode> survivors;
  for (const auto& [name, inode_id] : names_) {
    if (survivors.contains(inode_id)) continue;
    Inode inode = std::move(inodes_.at(inode_id));
    const size_t unsynced = inode.data.size() - inode.synced;
    size_t kept = 0;
    if (unsynced > 0 && random_->Bernoulli(options_.torn_write_probability)) {
      kept = random_->Uniform(unsynced + 1);
      if (kept > 0) ++stats_.torn_files;
    }
    stats_.lost_bytes += unsynced - kept;
    inode.data.resize(inode.synced + kept);
    inode.synced = inode.data.size();
    survivors.emplace(inode_id, std::move(inode));
  }
  inodes_ = std::move(survivors);
}

std::string SimDisk::FlipBitAtRest() {
  std::vector<std::pair<std::string, uint64_t>> candidates;
  for (const auto& [name, inode] : names_) {
    if (inodes_.at(inode).synced > 0) candidates.emplace_back(name, inode);
  }
  if (candidates.empty()) return "";
  const auto& [name, inode_id] =
      candidates[random_->Uniform(candidates.size())];
  Inode& inode = inodes_.at(inode_id);
  const uint64_t bit = random_->Uniform(inode.synced * 8);
  inode.data[bit / 8] =
      static_cast<char>(inode.data[bit / 8] ^ (1 << (bit % 8)));
  ++stats_.bits_flipped;
  return name;
}

}  // namespace pegasus::sim
