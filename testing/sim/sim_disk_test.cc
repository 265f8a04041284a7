#include "testing/sim/sim_disk.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/random.h"
#include "pegasus/base/status.h"

namespace pegasus::sim {
namespace {

class SimDiskTest : public testing::Test {
 protected:
  void SetUp() override { Reset(DiskOptions{}, 1); }

  void Reset(DiskOptions options, uint64_t seed) {
    charges_.clear();
    disk_ = std::make_unique<SimDisk>(
        options, std::make_unique<SeededRandom>(seed),
        [this](int64_t cost_ns) { charges_.push_back(cost_ns); });
    ASSERT_TRUE(disk_->CreateDirs("/d").ok());
  }

  std::unique_ptr<WritableFile> Open(const std::string& path) {
    absl::StatusOr<std::unique_ptr<WritableFile>> file =
        disk_->NewWritableFile(path);
    EXPECT_TRUE(file.ok()) << file.status();
    return file.ok() ? std::move(*file) : nullptr;
  }

  // A file whose name is durable and whose bytes are `synced` (synced) then
  // `unsynced` (not).
  std::unique_ptr<WritableFile> MakeFile(const std::string& path,
                                         const std::string& synced,
                                         const std::string& unsynced = "") {
    std::unique_ptr<WritableFile> file = Open(path);
    EXPECT_TRUE(disk_->SyncDir(DirName(path)).ok());
    EXPECT_TRUE(file->Append(synced).ok());
    EXPECT_TRUE(file->Sync().ok());
    if (!unsynced.empty()) {
      EXPECT_TRUE(file->Append(unsynced).ok());
    }
    return file;
  }

  std::string Read(const std::string& path) {
    absl::StatusOr<std::string> data = disk_->ReadFile(path);
    EXPECT_TRUE(data.ok()) << data.status();
    return data.ok() ? *data : "<error>";
  }

  std::unique_ptr<SimDisk> disk_;
  std::vector<int64_t> charges_;
};

TEST_F(SimDiskTest, UnsyncedAppendIsReadableBeforeACrashAndLostAfter) {
  std::unique_ptr<WritableFile> file = MakeFile("/d/f", "", "abc");
  EXPECT_EQ(Read("/d/f"), "abc");
  disk_->Crash();
  EXPECT_TRUE(disk_->FileExists("/d/f"));
  EXPECT_EQ(Read("/d/f"), "");
  EXPECT_EQ(disk_->stats().lost_bytes, 3u);
}

TEST_F(SimDiskTest, SyncedBytesSurviveACrashAndTheUnsyncedTailDoesNot) {
  std::unique_ptr<WritableFile> file = MakeFile("/d/f", "durable", "-volatile");
  EXPECT_EQ(Read("/d/f"), "durable-volatile");
  disk_->Crash();
  EXPECT_EQ(Read("/d/f"), "durable");
  EXPECT_EQ(disk_->stats().lost_bytes, 9u);
  EXPECT_EQ(disk_->stats().torn_files, 0u);
}

TEST_F(SimDiskTest, CreatedFileVanishesInACrashUnlessItsDirectoryWasSynced) {
  std::unique_ptr<WritableFile> lost = Open("/d/lost");
  ASSERT_TRUE(lost->Append("x").ok());
  ASSERT_TRUE(lost->Sync().ok());
  disk_->Crash();
  EXPECT_FALSE(disk_->FileExists("/d/lost"));
  EXPECT_EQ(ToErrorCode(disk_->ReadFile("/d/lost").status()),
            ErrorCode::kNotFound);

  std::unique_ptr<WritableFile> kept = Open("/d/kept");
  ASSERT_TRUE(kept->Append("x").ok());
  ASSERT_TRUE(kept->Sync().ok());
  ASSERT_TRUE(disk_->SyncDir("/d").ok());
  disk_->Crash();
  EXPECT_EQ(Read("/d/kept"), "x");
}

TEST_F(SimDiskTest, SyncDirMakesOnlyThatDirectoryDurable) {
  ASSERT_TRUE(disk_->CreateDirs("/e").ok());
  std::unique_ptr<WritableFile> in_d = Open("/d/f");
  std::unique_ptr<WritableFile> in_e = Open("/e/f");
  ASSERT_TRUE(disk_->SyncDir("/d").ok());
  disk_->Crash();
  EXPECT_TRUE(disk_->FileExists("/d/f"));
  EXPECT_FALSE(disk_->FileExists("/e/f"));
}

TEST_F(SimDiskTest, DirectoriesAreDurableWhenCreated) {
  ASSERT_TRUE(disk_->CreateDirs("/a/b/c").ok());
  disk_->Crash();
  EXPECT_TRUE(disk_->FileExists("/a/b/c"));
  EXPECT_TRUE(disk_->FileExists("/a/b"));
}

TEST_F(SimDiskTest, RenameWithoutSyncDirIsUndoneByACrash) {
  std::unique_ptr<WritableFile> file = MakeFile("/d/old", "data");
  ASSERT_TRUE(disk_->Rename("/d/old", "/d/new").ok());
  EXPECT_FALSE(disk_->FileExists("/d/old"));
  EXPECT_EQ(Read("/d/new"), "data");
  disk_->Crash();
  EXPECT_EQ(Read("/d/old"), "data");
  EXPECT_FALSE(disk_->FileExists("/d/new"));
}

TEST_F(SimDiskTest, RenameFollowedBySyncDirSurvivesACrash) {
  std::unique_ptr<WritableFile> file = MakeFile("/d/old", "data");
  ASSERT_TRUE(disk_->Rename("/d/old", "/d/new").ok());
  ASSERT_TRUE(disk_->SyncDir("/d").ok());
  disk_->Crash();
  EXPECT_FALSE(disk_->FileExists("/d/old"));
  EXPECT_EQ(Read("/d/new"), "data");
}

TEST_F(SimDiskTest, RenameOverAFileWithoutSyncDirBringsTheOldTargetBack) {
  std::unique_ptr<WritableFile> target = MakeFile("/d/target", "old");
  std::unique_ptr<WritableFile> source = MakeFile("/d/source", "new");
  ASSERT_TRUE(disk_->Rename("/d/source", "/d/target").ok());
  EXPECT_EQ(Read("/d/target"), "new");
  disk_->Crash();
  EXPECT_EQ(Read("/d/target"), "old");
  EXPECT_EQ(Read("/d/source"), "new");
}

TEST_F(SimDiskTest, WriteFileAtomicallyLeavesTheNewContentAfterACrash) {
  ASSERT_TRUE(WriteFileAtomically(disk_.get(), "/d/meta", "v1").ok());
  ASSERT_TRUE(WriteFileAtomically(disk_.get(), "/d/meta", "v2").ok());
  disk_->Crash();
  EXPECT_EQ(Read("/d/meta"), "v2");
  EXPECT_FALSE(disk_->FileExists("/d/meta.tmp"));
}

TEST_F(SimDiskTest, DeleteWithoutSyncDirIsUndoneByACrash) {
  std::unique_ptr<WritableFile> file = MakeFile("/d/f", "data");
  ASSERT_TRUE(disk_->DeleteFile("/d/f").ok());
  EXPECT_FALSE(disk_->FileExists("/d/f"));
  disk_->Crash();
  EXPECT_EQ(Read("/d/f"), "data");
}

TEST_F(SimDiskTest, DeleteFollowedBySyncDirSurvivesACrash) {
  std::unique_ptr<WritableFile> file = MakeFile("/d/f", "data");
  ASSERT_TRUE(disk_->DeleteFile("/d/f").ok());
  ASSERT_TRUE(disk_->SyncDir("/d").ok());
  disk_->Crash();
  EXPECT_FALSE(disk_->FileExists("/d/f"));
}

TEST_F(SimDiskTest, ReopeningAFileTruncatesIt) {
  std::unique_ptr<WritableFile> first = MakeFile("/d/f", "old");
  std::unique_ptr<WritableFile> second = Open("/d/f");
  EXPECT_EQ(Read("/d/f"), "");
  ASSERT_TRUE(second->Append("new").ok());
  EXPECT_EQ(Read("/d/f"), "new");
}

TEST_F(SimDiskTest, TornWriteKeepsAPrefixOfTheUnsyncedTail) {
  const std::string tail = "0123456789abcdefghijklmnopqrstuvwxyz";
  DiskOptions options;
  options.torn_write_probability = 1;
  int partial = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Reset(options, seed);
    std::unique_ptr<WritableFile> file = MakeFile("/d/log", "head|", tail);
    disk_->Crash();
    const std::string after = Read("/d/log");
    ASSERT_GE(after.size(), 5u) << "seed " << seed;
    ASSERT_EQ(after.substr(0, 5), "head|") << "seed " << seed;
    const std::string kept = after.substr(5);
    ASSERT_LE(kept.size(), tail.size()) << "seed " << seed;
    EXPECT_EQ(kept, tail.substr(0, kept.size())) << "seed " << seed;
    EXPECT_EQ(disk_->stats().lost_bytes, tail.size() - kept.size());
    EXPECT_EQ(disk_->stats().torn_files, kept.empty() ? 0u : 1u);
    if (!kept.empty() && kept.size() < tail.size()) ++partial;
  }
  EXPECT_GT(partial, 0);
}

TEST_F(SimDiskTest, TornTailBecomesDurable) {
  DiskOptions options;
  options.torn_write_probability = 1;
  Reset(options, 3);
  std::unique_ptr<WritableFile> file = MakeFile("/d/log", "head|", "tail");
  disk_->Crash();
  const std::string after_first = Read("/d/log");
  disk_->Crash();
  EXPECT_EQ(Read("/d/log"), after_first);
}

TEST_F(SimDiskTest, FileOpenedBeforeACrashFailsAfterIt) {
  std::unique_ptr<WritableFile> stale = MakeFile("/d/f", "data");
  disk_->Crash();
  EXPECT_EQ(ToErrorCode(stale->Append("more")), ErrorCode::kIoError);
  EXPECT_EQ(ToErrorCode(stale->Sync()), ErrorCode::kIoError);
  EXPECT_EQ(Read("/d/f"), "data");

  std::unique_ptr<WritableFile> fresh = Open("/d/g");
  EXPECT_TRUE(fresh->Append("ok").ok());
  EXPECT_TRUE(fresh->Sync().ok());
}

TEST_F(SimDiskTest, WriteErrorsFailAppendAndSyncAndAppendWritesNothing) {
  std::unique_ptr<WritableFile> file = MakeFile("/d/f", "data");
  disk_->options().write_error_probability = 1;
  EXPECT_EQ(ToErrorCode(file->Append("more")), ErrorCode::kIoError);
  EXPECT_EQ(ToErrorCode(file->Sync()), ErrorCode::kIoError);
  EXPECT_EQ(ToErrorCode(disk_->SyncDir("/d")), ErrorCode::kIoError);
  EXPECT_EQ(disk_->stats().write_errors, 3u);
  EXPECT_EQ(Read("/d/f"), "data");

  disk_->options().write_error_probability = 0;
  EXPECT_TRUE(file->Append("more").ok());
  EXPECT_EQ(Read("/d/f"), "datamore");
}

TEST_F(SimDiskTest, FailedSyncLeavesTheTailUnsynced) {
  std::unique_ptr<WritableFile> file = MakeFile("/d/f", "data", "tail");
  disk_->options().write_error_probability = 1;
  ASSERT_FALSE(file->Sync().ok());
  disk_->Crash();
  EXPECT_EQ(Read("/d/f"), "data");
}

TEST_F(SimDiskTest, ReadErrorsFailReadFile) {
  std::unique_ptr<WritableFile> file = MakeFile("/d/f", "data");
  disk_->options().read_error_probability = 1;
  EXPECT_EQ(ToErrorCode(disk_->ReadFile("/d/f").status()), ErrorCode::kIoError);
  // A missing file is still reported as missing.
  EXPECT_EQ(ToErrorCode(disk_->ReadFile("/d/none").status()),
            ErrorCode::kNotFound);
  EXPECT_EQ(disk_->stats().read_errors, 1u);
  disk_->options().read_error_probability = 0;
  EXPECT_EQ(Read("/d/f"), "data");
}

int DifferingBits(const std::string& a, const std::string& b) {
  EXPECT_EQ(a.size(), b.size());
  int bits = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    bits += __builtin_popcount(static_cast<unsigned char>(a[i] ^ b[i]));
  }
  return bits;
}

TEST_F(SimDiskTest, FlipBitAtRestFindsNothingWithoutSyncedBytes) {
  EXPECT_EQ(disk_->FlipBitAtRest(), "");
  std::unique_ptr<WritableFile> file = MakeFile("/d/f", "", "unsynced");
  EXPECT_EQ(disk_->FlipBitAtRest(), "");
  EXPECT_EQ(Read("/d/f"), "unsynced");
  EXPECT_EQ(disk_->stats().bits_flipped, 0u);
}

TEST_F(SimDiskTest, FlipBitAtRestFlipsOneBitInsideTheSyncedBytes) {
  const std::string synced = "synced";
  const std::string unsynced = "unsynced";
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Reset(DiskOptions{}, seed);
    std::unique_ptr<WritableFile> a = MakeFile("/d/a", synced, unsynced);
    std::unique_ptr<WritableFile> b = MakeFile("/d/b", synced, unsynced);
    const std::string flipped = disk_->FlipBitAtRest();
    ASSERT_TRUE(flipped == "/d/a" || flipped == "/d/b") << flipped;
    const std::string other = flipped == "/d/a" ? "/d/b" : "/d/a";
    const std::string after = Read(flipped);
    EXPECT_EQ(DifferingBits(after, synced + unsynced), 1) << "seed " << seed;
    EXPECT_EQ(after.substr(synced.size()), unsynced) << "seed " << seed;
    EXPECT_EQ(Read(other), synced + unsynced);
    EXPECT_EQ(disk_->stats().bits_flipped, 1u);
  }
}

TEST_F(SimDiskTest, FlippedBitSurvivesACrash) {
  std::unique_ptr<WritableFile> file = MakeFile("/d/f", "data");
  ASSERT_EQ(disk_->FlipBitAtRest(), "/d/f");
  const std::string flipped = Read("/d/f");
  disk_->Crash();
  EXPECT_EQ(Read("/d/f"), flipped);
  EXPECT_EQ(DifferingBits(flipped, "data"), 1);
}

TEST_F(SimDiskTest, ChargesTheConfiguredLatencyPerOperation) {
  DiskOptions options;
  options.write_latency_ns = 10;
  options.sync_latency_ns = 100;
  options.read_latency_ns = 1000;
  Reset(options, 1);
  charges_.clear();
  std::unique_ptr<WritableFile> file = Open("/d/f");
  ASSERT_TRUE(file->Append("x").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(disk_->SyncDir("/d").ok());
  Read("/d/f");
  ASSERT_TRUE(disk_->ListDir("/d").ok());
  ASSERT_TRUE(disk_->Rename("/d/f", "/d/g").ok());
  ASSERT_TRUE(disk_->DeleteFile("/d/g").ok());
  ASSERT_TRUE(disk_->CreateDirs("/e").ok());
  EXPECT_EQ(charges_,
            (std::vector<int64_t>{10, 10, 100, 100, 1000, 1000, 10, 10, 10}));
}

TEST_F(SimDiskTest, JitterAddsToTheConfiguredLatency) {
  DiskOptions options;
  options.write_latency_ns = 10;
  options.sync_latency_ns = 100;
  options.read_latency_ns = 1000;
  options.latency_jitter_mean_ns = 500;
  Reset(options, 1);
  std::unique_ptr<WritableFile> file = Open("/d/f");
  charges_.clear();
  int64_t jitter_total = 0;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(file->Append("x").ok());
    ASSERT_TRUE(file->Sync().ok());
    Read("/d/f");
  }
  ASSERT_EQ(charges_.size(), 300u);
  const int64_t fixed[] = {10, 100, 1000};
  for (size_t i = 0; i < charges_.size(); ++i) {
    ASSERT_GE(charges_[i], fixed[i % 3]) << "charge " << i;
    jitter_total += charges_[i] - fixed[i % 3];
  }
  // The mean of 300 exponential draws with mean 500 is near 500.
  EXPECT_GT(jitter_total, 300 * 250);
  EXPECT_LT(jitter_total, 300 * 1000);
}

TEST_F(SimDiskTest, ListDirListsFilesAndSubdirectoriesSorted) {
  ASSERT_TRUE(disk_->CreateDirs("/d/sub/deeper").ok());
  std::unique_ptr<WritableFile> z = Open("/d/zeta");
  std::unique_ptr<WritableFile> a = Open("/d/alpha");
  std::unique_ptr<WritableFile> nested = Open("/d/sub/nested");
  EXPECT_EQ(*disk_->ListDir("/d"),
            (std::vector<std::string>{"alpha", "sub", "zeta"}));
  EXPECT_EQ(*disk_->ListDir("/d/sub"),
            (std::vector<std::string>{"deeper", "nested"}));
  EXPECT_EQ(*disk_->ListDir("/"), (std::vector<std::string>{"d"}));
  EXPECT_TRUE(disk_->ListDir("/d/sub/deeper")->empty());
  EXPECT_EQ(ToErrorCode(disk_->ListDir("/nope").status()),
            ErrorCode::kNotFound);
}

TEST_F(SimDiskTest, ListDirAfterACrashShowsOnlyDurableNames) {
  std::unique_ptr<WritableFile> kept = MakeFile("/d/kept", "");
  std::unique_ptr<WritableFile> lost = Open("/d/lost");
  EXPECT_EQ(*disk_->ListDir("/d"), (std::vector<std::string>{"kept", "lost"}));
  disk_->Crash();
  EXPECT_EQ(*disk_->ListDir("/d"), (std::vector<std::string>{"kept"}));
}

TEST_F(SimDiskTest, MissingParentsAndFilesAreNotFound) {
  EXPECT_EQ(ToErrorCode(disk_->NewWritableFile("/nope/f").status()),
            ErrorCode::kNotFound);
  EXPECT_EQ(ToErrorCode(disk_->Rename("/d/none", "/d/x")),
            ErrorCode::kNotFound);
  std::unique_ptr<WritableFile> file = Open("/d/f");
  EXPECT_EQ(ToErrorCode(disk_->Rename("/d/f", "/nope/f")),
            ErrorCode::kNotFound);
  EXPECT_TRUE(disk_->FileExists("/d/f"));
  EXPECT_EQ(ToErrorCode(disk_->DeleteFile("/d/none")), ErrorCode::kNotFound);
  EXPECT_EQ(ToErrorCode(disk_->SyncDir("/nope")), ErrorCode::kNotFound);
  EXPECT_EQ(ToErrorCode(disk_->NewWritableFile("/d").status()),
            ErrorCode::kIoError);
}

TEST_F(SimDiskTest, StatsCountOperationsErrorsAndLostBytes) {
  std::unique_ptr<WritableFile> file = MakeFile("/d/f", "abc", "defg");
  ASSERT_TRUE(file->Append("h").ok());
  Read("/d/f");
  disk_->options().write_error_probability = 1;
  EXPECT_FALSE(file->Append("i").ok());
  disk_->options().read_error_probability = 1;
  EXPECT_FALSE(disk_->ReadFile("/d/f").ok());
  disk_->Crash();
  const DiskStats& stats = disk_->stats();
  EXPECT_EQ(stats.appends, 4u);  // Including the failed one.
  EXPECT_EQ(stats.syncs, 1u);
  EXPECT_EQ(stats.reads, 2u);
  EXPECT_EQ(stats.write_errors, 1u);
  EXPECT_EQ(stats.read_errors, 1u);
  EXPECT_EQ(stats.lost_bytes, 5u);
  EXPECT_EQ(stats.torn_files, 0u);
  EXPECT_EQ(stats.bits_flipped, 0u);
}

TEST_F(SimDiskTest, SameSeedMakesTheSameFaults) {
  DiskOptions options;
  options.torn_write_probability = 0.5;
  options.write_error_probability = 0.3;
  auto run = [&](uint64_t seed) {
    Reset(options, seed);
    std::string outcome;
    for (int i = 0; i < 8; ++i) {
      const std::string path = "/d/f" + std::to_string(i);
      std::unique_ptr<WritableFile> file = Open(path);
      outcome += disk_->SyncDir("/d").ok() ? 'd' : '-';
      outcome += file->Append("0123456789").ok() ? 'a' : '-';
    }
    disk_->Crash();
    for (int i = 0; i < 8; ++i) {
      absl::StatusOr<std::string> data =
          disk_->ReadFile("/d/f" + std::to_string(i));
      outcome += "|" + (data.ok() ? *data : std::string("missing"));
    }
    return outcome;
  };
  EXPECT_EQ(run(11), run(11));
  EXPECT_NE(run(11), run(12));
}

}  // namespace
}  // namespace pegasus::sim
