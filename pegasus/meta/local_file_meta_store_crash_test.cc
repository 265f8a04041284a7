// LocalFileMetaStore on the simulator's disk (testing/sim/sim_disk.h), whose
// appended bytes are volatile until synced, whose renames are durable only
// once the directory is synced, and whose crash keeps a random prefix of
// what was not synced (a torn write). The promise under test: a crash at
// any instant loses no acknowledged write, makes nothing appear that was
// never written, and never leaves a file the store takes for corrupt; and
// the store then repairs the file so later writes and restarts are fine.

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/random.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/local_file_meta_store.h"
#include "pegasus/runtime/faulty_file_system.h"
#include "pegasus/runtime/manual_executor.h"
#include "testing/sim/sim_disk.h"

namespace pegasus {
namespace {

using Map = std::map<std::string, std::string>;

constexpr char kDir[] = "/meta";

// Small, so that a few writes compact the file.
LocalFileMetaStoreOptions Options() {
  LocalFileMetaStoreOptions options;
  options.min_compact_bytes = 256;
  return options;
}

// One write (or, with no value, deletion) issued to a store, and whether
// its done(OK) ran.
struct Issued {
  std::string key;
  std::optional<std::string> value;
  bool acked = false;
};

// A FileSystem over `disk` that crashes it just before its crash_at-th
// mutating call (never, for 0) and then fails every call, as a dead process
// makes none.
class CrashingFileSystem {
 public:
  CrashingFileSystem(sim::SimDisk* disk, int crash_at) : fs_(disk) {
    fs_.set_hook([this, disk, crash_at](FsOp op, const std::string&) {
      const bool mutates = op != FsOp::kRead && op != FsOp::kList;
      if (!crashed_ && mutates && ++mutations_ == crash_at) {
        disk->Crash();
        crashed_ = true;
      }
      return crashed_ ? InjectedIoError("call after a crash")
                      : absl::OkStatus();
    });
  }

  FaultyFileSystem* fs() { return &fs_; }
  bool crashed() const { return crashed_; }
  int mutations() const { return mutations_; }

 private:
  FaultyFileSystem fs_;
  bool crashed_ = false;
  int mutations_ = 0;
};

std::unique_ptr<sim::SimDisk> NewDisk(uint64_t seed) {
  sim::DiskOptions options;
  options.torn_write_probability = 1.0;
  auto disk = std::make_unique<sim::SimDisk>(
      options, std::make_unique<SeededRandom>(DeriveSeed(seed, "disk")),
      nullptr);
  PEGASUS_CHECK_OK(disk->CreateDirs(kDir));
  return disk;
}

// Expects `loaded` to be what a store may load after `issued` (in issue
// order) were written or deleted over a store that held `base`: for each
// key, the outcome of its last acknowledged write or deletion, or of one
// issued after it (or, with none acknowledged, its base value or any issued
// outcome, or nothing if it had no base value); and no key never written.
void ExpectPossible(const Map& loaded, const Map& base,
                    const std::vector<Issued>& issued) {
  using Outcomes = std::vector<std::optional<std::string>>;
  std::map<std::string, Outcomes> allowed;
  for (const auto& [key, value] : base) allowed[key] = {value};
  for (const Issued& op : issued) {
    auto [it, unseen] = allowed.try_emplace(op.key, Outcomes{std::nullopt});
    if (op.acked) it->second.clear();
    it->second.push_back(op.value);
  }
  for (const auto& [key, value] : loaded) {
    ASSERT_TRUE(allowed.contains(key)) << "loaded a key never written: " << key;
  }
  for (const auto& [key, outcomes] : allowed) {
    auto it = loaded.find(key);
    const std::optional<std::string> got =
        it == loaded.end() ? std::nullopt : std::optional(it->second);
    ASSERT_NE(std::find(outcomes.begin(), outcomes.end(), got), outcomes.end())
        << "key " << key
        << (got ? " loaded as " + got->substr(0, 8) : " missing")
        << ": neither its acknowledged outcome nor a later one";
  }
}

std::unique_ptr<LocalFileMetaStore> OpenOrNull(FileSystem* fs,
                                               Executor* executor) {
  absl::StatusOr<std::unique_ptr<LocalFileMetaStore>> store =
      LocalFileMetaStore::Open(fs, kDir, executor, Options());
  return store.ok() ? std::move(*store) : nullptr;
}

// Opens a store on `disk` without faults and returns what it loads;
// expects the load to succeed. Writes nothing. Counts the torn tails the
// load dropped in `torn_tails`, when given.
Map LoadFrom(sim::SimDisk& disk, uint64_t* torn_tails = nullptr) {
  ManualExecutor executor;
  std::unique_ptr<LocalFileMetaStore> store = OpenOrNull(&disk, &executor);
  EXPECT_NE(store, nullptr);
  if (store == nullptr) return {};
  absl::StatusOr<Map> loaded = store->LoadAll();
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  if (torn_tails != nullptr) *torn_tails += store->stats().torn_tails_dropped;
  return loaded.ok() ? *loaded : Map{};
}

// Issues a write (a deletion, without a value) whose acknowledgement is
// recorded in issued[index].
void IssueWrite(MetaStore& store, std::vector<Issued>& issued, std::string key,
                std::optional<std::string> value) {
  const size_t index = issued.size();
  issued.push_back({key, value, false});
  auto done = [&issued, index](absl::Status status) {
    if (status.ok()) issued[index].acked = true;
  };
  if (value.has_value()) {
    store.Write(std::move(key), std::move(*value), std::move(done));
  } else {
    store.Delete(std::move(key), std::move(done));
  }
}

constexpr int kWritesPerIncarnation = 12;

// Two incarnations of a store (the second a clean restart), each issuing
// writes of several sizes to a few keys and running the executor every
// third write, with the disk crashing just before the crash_at-th mutating
// call (never, for 0). Returns how many mutating calls there were.
int RunWrites(sim::SimDisk& disk, int crash_at, std::vector<Issued>& issued) {
  CrashingFileSystem crashing(&disk, crash_at);
  for (int incarnation = 0; incarnation < 2 && !crashing.crashed();
       ++incarnation) {
    ManualExecutor executor;
    std::unique_ptr<LocalFileMetaStore> store =
        OpenOrNull(crashing.fs(), &executor);
    if (store == nullptr) break;
    absl::StatusOr<Map> loaded = store->LoadAll();
    if (!loaded.ok()) break;
    for (int i = 0; i < kWritesPerIncarnation && !crashing.crashed(); ++i) {
      const int n = incarnation * kWritesPerIncarnation + i;
      // Every fifth a deletion.
      IssueWrite(*store, issued, "partition/1/" + std::to_string(n * 3 % 4),
                 n % 5 == 4 ? std::nullopt
                            : std::optional("w" + std::to_string(n) +
                                            std::string(n * 37 % 120, 'x')));
      if (i % 3 == 2) executor.RunReady();
    }
    executor.RunReady();
  }
  return crashing.mutations();
}

// After a crash: a store repairs the file while writing one key, crashing
// before its crash_at-th mutating call (never, for 0); then a power failure;
// then everything must still be there and writable.
void RepairAndWrite(sim::SimDisk& disk, int crash_at, const Map& base,
                    int* mutations) {
  std::vector<Issued> issued;
  {
    CrashingFileSystem crashing(&disk, crash_at);
    ManualExecutor executor;
    std::unique_ptr<LocalFileMetaStore> store =
        OpenOrNull(crashing.fs(), &executor);
    if (store != nullptr && store->LoadAll().ok()) {
      IssueWrite(*store, issued, "after", "crash");
      executor.RunReady();
    }
    *mutations = crashing.mutations();
  }
  disk.Crash();
  const Map loaded = LoadFrom(disk);
  ExpectPossible(loaded, base, issued);
  // Still writable, and what it writes survives a power failure.
  ManualExecutor executor;
  std::unique_ptr<LocalFileMetaStore> store = OpenOrNull(&disk, &executor);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->LoadAll().ok());
  std::vector<Issued> last;
  IssueWrite(*store, last, "final", "write");
  executor.RunReady();
  ASSERT_TRUE(last[0].acked);
  store.reset();
  disk.Crash();
  Map expected = loaded;
  expected["final"] = "write";
  EXPECT_EQ(LoadFrom(disk), expected);
}

TEST(LocalFileMetaStoreCrashTest, ACrashAtAnyInstantLosesNoAcknowledgedWrite) {
  std::vector<Issued> unused;
  std::unique_ptr<sim::SimDisk> clean = NewDisk(0);
  const int total = RunWrites(*clean, 0, unused);
  ASSERT_GT(total, 2 * kWritesPerIncarnation);
  uint64_t torn_tails = 0;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    // crash_at == total + 1: a power failure after the last call.
    for (int crash_at = 1; crash_at <= total + 1; ++crash_at) {
      SCOPED_TRACE("seed " + std::to_string(seed) + ", crash before call " +
                   std::to_string(crash_at) + " of " + std::to_string(total));
      std::unique_ptr<sim::SimDisk> disk = NewDisk(seed);
      std::vector<Issued> issued;
      RunWrites(*disk, crash_at, issued);
      disk->Crash();
      const Map loaded = LoadFrom(*disk, &torn_tails);
      ExpectPossible(loaded, {}, issued);
      if (testing::Test::HasFailure()) return;
      int repair_calls = 0;
      for (int repair_crash = 0;
           repair_crash == 0 || repair_crash <= repair_calls; ++repair_crash) {
        SCOPED_TRACE("repair crashes before call " +
                     std::to_string(repair_crash));
        std::unique_ptr<sim::SimDisk> again = NewDisk(seed);
        std::vector<Issued> replayed;
        RunWrites(*again, crash_at, replayed);
        again->Crash();
        int calls = 0;
        RepairAndWrite(*again, repair_crash, LoadFrom(*again), &calls);
        if (repair_crash == 0) repair_calls = calls;
        if (testing::Test::HasFailure()) return;
      }
    }
  }
  // The sweep is only as good as the damage it saw.
  EXPECT_GT(torn_tails, 0u);
}

TEST(LocalFileMetaStoreCrashTest, AFinishedRunLosesNothingToAPowerFailure) {
  std::unique_ptr<sim::SimDisk> disk = NewDisk(1);
  std::vector<Issued> issued;
  RunWrites(*disk, 0, issued);
  disk->Crash();
  Map expected;
  for (const Issued& write : issued) {
    ASSERT_TRUE(write.acked) << write.key;
    if (write.value.has_value()) {
      expected[write.key] = *write.value;
    } else {
      expected.erase(write.key);
    }
  }
  EXPECT_EQ(LoadFrom(*disk), expected);
}

TEST(LocalFileMetaStoreCrashTest, ACompactionSurvivesACrashAtEachOfItsSteps) {
  // Find the first write that compacts, and the calls before it.
  std::unique_ptr<sim::SimDisk> probe = NewDisk(0);
  CrashingFileSystem counting(probe.get(), 0);
  ManualExecutor executor;
  std::unique_ptr<LocalFileMetaStore> store =
      OpenOrNull(counting.fs(), &executor);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->LoadAll().ok());
  std::vector<Issued> issued;
  Map before;
  int calls_before = 0;
  size_t trace_before = 0;
  while (store->stats().compactions == 0) {
    ASSERT_LT(issued.size(), 100u) << "no compaction";
    before = store->LoadAll().value();
    calls_before = counting.mutations();
    trace_before = counting.fs()->trace().size();
    IssueWrite(*store, issued, "k" + std::to_string(issued.size() % 3),
               std::string(40, static_cast<char>('a' + issued.size())));
    executor.RunReady();
    ASSERT_TRUE(issued.back().acked);
  }
  Map after = before;
  after[issued.back().key] = *issued.back().value;
  EXPECT_EQ(store->LoadAll().value(), after);
  std::vector<std::string> steps(
      counting.fs()->trace().begin() + static_cast<long>(trace_before),
      counting.fs()->trace().end());
  steps.erase(
      std::remove(steps.begin(), steps.end(), "read /meta/meta_store.log"),
      steps.end());
  EXPECT_EQ(
      steps,
      (std::vector<std::string>{
          "close /meta/meta_store.log.tmp", "create /meta/meta_store.log.tmp",
          "append /meta/meta_store.log.tmp", "sync /meta/meta_store.log.tmp",
          "rename /meta/meta_store.log.tmp", "syncdir /meta"}));
  const int steps_count = counting.mutations() - calls_before;
  for (int step = 1; step <= steps_count; ++step) {
    SCOPED_TRACE("crash before step " + std::to_string(step));
    std::unique_ptr<sim::SimDisk> disk = NewDisk(0);
    CrashingFileSystem crashing(disk.get(), calls_before + step);
    ManualExecutor run;
    std::unique_ptr<LocalFileMetaStore> crashed =
        OpenOrNull(crashing.fs(), &run);
    ASSERT_NE(crashed, nullptr);
    ASSERT_TRUE(crashed->LoadAll().ok());
    std::vector<Issued> replayed;
    for (size_t i = 0; i < issued.size(); ++i) {
      IssueWrite(*crashed, replayed, issued[i].key, issued[i].value);
      run.RunReady();
    }
    ASSERT_TRUE(crashing.crashed());
    EXPECT_FALSE(replayed.back().acked);
    crashed.reset();
    // Never acknowledged, and on this disk a rename is undone by a crash
    // unless its directory was synced: the file from before the compaction.
    const Map loaded = LoadFrom(*disk);
    EXPECT_EQ(loaded, before);
    int unused = 0;
    RepairAndWrite(*disk, 0, loaded, &unused);
  }
}

}  // namespace
}  // namespace pegasus
