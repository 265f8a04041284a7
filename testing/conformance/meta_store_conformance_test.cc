// The MetaStore contract (pegasus/meta/meta_store.h), run against every
// store: the in-memory one, and the local-file one on the in-memory file
// system, on the real file system, on the simulator's disk, and compacting
// at every chance it gets.
//
// Each store lives on a medium that outlives store instances; a test
// "restarts" the meta server by destroying its store and making a new one
// over the same medium.

#include <stdlib.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/random.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/local_file_meta_store.h"
#include "pegasus/meta/meta_store.h"
#include "pegasus/runtime/faulty_file_system.h"
#include "pegasus/runtime/file_system.h"
#include "pegasus/runtime/manual_executor.h"
#include "testing/sim/sim_disk.h"

namespace pegasus {
namespace {

using Map = std::map<std::string, std::string>;

// What survives a restart, and the faults a test may switch on: while
// writes fail, every write reports PERR_IO_ERROR; while loads fail, LoadAll
// does.
class StoreMedium {
 public:
  virtual ~StoreMedium() = default;
  virtual std::unique_ptr<MetaStore> NewStore(Executor* executor) = 0;
  void set_fail_writes(bool fail) { fail_writes_ = fail; }
  void set_fail_loads(bool fail) { fail_loads_ = fail; }

 protected:
  bool fail_writes_ = false;
  bool fail_loads_ = false;
};

// InMemoryMetaStore, with the medium's faults passed to its own switches.
class InMemoryStoreMedium final : public StoreMedium {
 public:
  std::unique_ptr<MetaStore> NewStore(Executor* executor) override {
    return std::make_unique<Store>(this, executor, medium_);
  }

 private:
  class Store final : public MetaStore {
   public:
    Store(InMemoryStoreMedium* owner, Executor* executor,
          std::shared_ptr<InMemoryMetaStore::Medium> medium)
        : owner_(owner), store_(executor, std::move(medium)) {}

    void Write(std::string key, std::string value, WriteDone done) override {
      store_.set_fail_writes(owner_->fail_writes_);
      store_.Write(std::move(key), std::move(value), std::move(done));
    }
    void Delete(std::string key, WriteDone done) override {
      store_.set_fail_writes(owner_->fail_writes_);
      store_.Delete(std::move(key), std::move(done));
    }
    absl::StatusOr<Map> LoadAll() override {
      store_.set_fail_loads(owner_->fail_loads_);
      return store_.LoadAll();
    }

   private:
    InMemoryStoreMedium* const owner_;
    InMemoryMetaStore store_;
  };

  std::shared_ptr<InMemoryMetaStore::Medium> medium_ =
      std::make_shared<InMemoryMetaStore::Medium>();
};

// LocalFileMetaStore in `dir` of a file system, behind a FaultyFileSystem
// that fails every mutating call while writes fail, and reads while loads
// fail.
class FileStoreMedium final : public StoreMedium {
 public:
  FileStoreMedium(std::unique_ptr<FileSystem> owned, FileSystem* fs,
                  std::string dir, LocalFileMetaStoreOptions options)
      : owned_(std::move(owned)),
        faulty_(fs),
        dir_(std::move(dir)),
        options_(options) {
    faulty_.set_hook([this](FsOp op, const std::string&) {
      const bool reads = op == FsOp::kRead || op == FsOp::kList;
      if (reads ? fail_loads_ : fail_writes_) {
        return InjectedIoError(FsOpName(op));
      }
      return absl::OkStatus();
    });
  }

  std::unique_ptr<MetaStore> NewStore(Executor* executor) override {
    absl::StatusOr<std::unique_ptr<LocalFileMetaStore>> store =
        LocalFileMetaStore::Open(&faulty_, dir_, executor, options_);
    PEGASUS_CHECK_OK(store.status());
    return std::move(*store);
  }

 private:
  std::unique_ptr<FileSystem> owned_;
  FaultyFileSystem faulty_;
  const std::string dir_;
  const LocalFileMetaStoreOptions options_;
};

struct StoreKind {
  std::string name;
  std::function<std::unique_ptr<StoreMedium>()> make;
};

void PrintTo(const StoreKind& kind, std::ostream* out) { *out << kind.name; }

std::unique_ptr<StoreMedium> OnFileSystem(std::unique_ptr<FileSystem> fs,
                                          LocalFileMetaStoreOptions options) {
  FileSystem* raw = fs.get();
  return std::make_unique<FileStoreMedium>(std::move(fs), raw, "/meta/store",
                                           options);
}

std::unique_ptr<StoreMedium> OnPosix() {
  std::string dir = testing::TempDir() + "/meta_store_XXXXXX";
  PEGASUS_CHECK(::mkdtemp(dir.data()) != nullptr);
  return std::make_unique<FileStoreMedium>(
      nullptr, PosixFileSystem(), dir + "/store", LocalFileMetaStoreOptions{});
}

std::vector<StoreKind> AllKinds() {
  LocalFileMetaStoreOptions compacting;
  compacting.min_compact_bytes = 0;
  return {
      {"InMemory", [] { return std::make_unique<InMemoryStoreMedium>(); }},
      {"LocalFileOnMemFs", [] { return OnFileSystem(NewMemFileSystem(), {}); }},
      {"LocalFileOnPosix", OnPosix},
      {"LocalFileOnSimDisk",
       [] {
         return OnFileSystem(std::make_unique<sim::SimDisk>(
                                 sim::DiskOptions{},
                                 std::make_unique<SeededRandom>(7), nullptr),
                             {});
       }},
      {"LocalFileCompactingOften",
       [compacting] { return OnFileSystem(NewMemFileSystem(), compacting); }},
  };
}

// How one write ended: how many times its done ran, and with what.
struct Outcome {
  int calls = 0;
  absl::Status status;
};

class MetaStoreConformanceTest : public testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    medium_ = GetParam().make();
    store_ = medium_->NewStore(&executor_);
  }

  // Destroys the store, then makes a new one over the same medium, as a
  // restarted meta server does.
  void Restart() {
    store_.reset();
    store_ = medium_->NewStore(&executor_);
  }

  std::shared_ptr<Outcome> Write(std::string key, std::string value) {
    auto outcome = std::make_shared<Outcome>();
    store_->Write(std::move(key), std::move(value),
                  [outcome](absl::Status status) {
                    ++outcome->calls;
                    outcome->status = std::move(status);
                  });
    return outcome;
  }

  // Writes, runs the executor, and expects done(OK) exactly once.
  void WriteOk(std::string key, std::string value) {
    std::shared_ptr<Outcome> outcome = Write(std::move(key), std::move(value));
    executor_.RunReady();
    ASSERT_EQ(outcome->calls, 1);
    ASSERT_TRUE(outcome->status.ok()) << outcome->status;
  }

  std::shared_ptr<Outcome> Delete(std::string key) {
    auto outcome = std::make_shared<Outcome>();
    store_->Delete(std::move(key), [outcome](absl::Status status) {
      ++outcome->calls;
      outcome->status = std::move(status);
    });
    return outcome;
  }

  // Deletes, runs the executor, and expects done(OK) exactly once.
  void DeleteOk(std::string key) {
    std::shared_ptr<Outcome> outcome = Delete(std::move(key));
    EXPECT_EQ(outcome->calls, 0) << "done ran inline";
    executor_.RunReady();
    ASSERT_EQ(outcome->calls, 1);
    ASSERT_TRUE(outcome->status.ok()) << outcome->status;
  }

  // Runs `issue` (a Write or Delete) while the medium fails writes, and
  // expects it to end once, with PERR_IO_ERROR.
  void ExpectFailsWithIoError(
      const std::function<std::shared_ptr<Outcome>()>& issue) {
    medium_->set_fail_writes(true);
    std::shared_ptr<Outcome> failed = issue();
    executor_.RunReady();
    medium_->set_fail_writes(false);
    ASSERT_EQ(failed->calls, 1);
    EXPECT_TRUE(HasErrorCode(failed->status, ErrorCode::kIoError))
        << failed->status;
  }

  Map Load() {
    absl::StatusOr<Map> loaded = store_->LoadAll();
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return loaded.ok() ? *loaded : Map{{"<error>", loaded.status().ToString()}};
  }

  // What the store loads now and after a restart; both must be `expected`.
  void ExpectDurable(const Map& expected) {
    EXPECT_EQ(Load(), expected);
    Restart();
    EXPECT_EQ(Load(), expected) << "after a restart";
  }

  ManualExecutor executor_;
  std::unique_ptr<StoreMedium> medium_;
  std::unique_ptr<MetaStore> store_;
};

TEST_P(MetaStoreConformanceTest, ANewStoreLoadsNothing) {
  EXPECT_EQ(Load(), Map{});
  Restart();
  EXPECT_EQ(Load(), Map{});
}

TEST_P(MetaStoreConformanceTest, DoneRunsOnceOnTheExecutorNeverInline) {
  std::shared_ptr<Outcome> outcome = Write("k", "v");
  EXPECT_EQ(outcome->calls, 0);
  EXPECT_GE(executor_.RunReady(), 1);
  EXPECT_EQ(outcome->calls, 1);
  EXPECT_TRUE(outcome->status.ok()) << outcome->status;
  executor_.RunReady();
  EXPECT_EQ(outcome->calls, 1);
}

TEST_P(MetaStoreConformanceTest,
       AnAcknowledgedWriteIsLoadedBeforeAndAfterRestart) {
  ASSERT_EQ(Load(), Map{});
  WriteOk("partition/1/0", "config");
  ExpectDurable({{"partition/1/0", "config"}});
}

TEST_P(MetaStoreConformanceTest, TheLaterWriteToAKeyWins) {
  Load();
  std::shared_ptr<Outcome> first = Write("a", "1");
  std::shared_ptr<Outcome> second = Write("a", "2");
  std::shared_ptr<Outcome> other = Write("b", "3");
  executor_.RunReady();
  for (const auto& outcome : {first, second, other}) {
    ASSERT_EQ(outcome->calls, 1);
    ASSERT_TRUE(outcome->status.ok()) << outcome->status;
  }
  ExpectDurable({{"a", "2"}, {"b", "3"}});
  WriteOk("a", "4");
  ExpectDurable({{"a", "4"}, {"b", "3"}});
}

TEST_P(MetaStoreConformanceTest, WritesToOneKeyCompleteInIssueOrder) {
  Load();
  std::vector<int> completed;
  for (int i = 0; i < 20; ++i) {
    store_->Write("k", "v" + std::to_string(i),
                  [&completed, i](absl::Status s) {
                    EXPECT_TRUE(s.ok()) << s;
                    completed.push_back(i);
                  });
  }
  executor_.RunReady();
  std::vector<int> in_order(20);
  for (int i = 0; i < 20; ++i) in_order[i] = i;
  EXPECT_EQ(completed, in_order);
  ExpectDurable({{"k", "v19"}});
}

TEST_P(MetaStoreConformanceTest, ManyKeysKeepTheirLatestValues) {
  Load();
  Map expected;
  for (int round = 0; round < 3; ++round) {
    for (int i = round; i < 300; i += round + 1) {
      const std::string key = "partition/2/" + std::to_string(i);
      const std::string value = "ballot " + std::to_string(round) + "/" +
                                std::string(static_cast<size_t>(i % 37), 'x');
      expected[key] = value;
      Write(key, value);
    }
    executor_.RunReady();
  }
  ExpectDurable(expected);
}

TEST_P(MetaStoreConformanceTest, LargeValuesRoundTrip) {
  Load();
  std::string large(size_t{3} << 20, '\0');
  for (size_t i = 0; i < large.size(); ++i) {
    large[i] = static_cast<char>((i * 131) >> 3);
  }
  WriteOk("large", large);
  WriteOk("small", "s");
  large[12345] ^= 1;
  WriteOk("large", large);
  ExpectDurable({{"large", large}, {"small", "s"}});
}

TEST_P(MetaStoreConformanceTest, AnEmptyValueAndAnEmptyKeyAreKept) {
  Load();
  WriteOk("k", "");
  WriteOk("", "v");
  ExpectDurable({{"", "v"}, {"k", ""}});
  WriteOk("", "");
  ExpectDurable({{"", ""}, {"k", ""}});
}

TEST_P(MetaStoreConformanceTest, BinaryKeysAndValuesRoundTrip) {
  Load();
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  const std::string nul_key("a\0b", 3);
  const std::string nul_key_prefix("a\0", 2);
  WriteOk(nul_key, every_byte);
  WriteOk(nul_key_prefix, std::string(5, '\0'));
  WriteOk(std::string(1, '\0'), "\xff\xfe");
  ExpectDurable({{nul_key, every_byte},
                 {nul_key_prefix, std::string(5, '\0')},
                 {std::string(1, '\0'), "\xff\xfe"}});
}

TEST_P(MetaStoreConformanceTest,
       AFailedWriteIsAnIoErrorAndTheStoreStaysUsable) {
  Load();
  WriteOk("k", "old");
  WriteOk("other", "kept");
  ExpectFailsWithIoError([&] { return Write("k", "new"); });
  // The failed write may or may not have taken effect; nothing else did.
  Map loaded = Load();
  EXPECT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded["other"], "kept");
  EXPECT_TRUE(loaded["k"] == "old" || loaded["k"] == "new") << loaded["k"];
  WriteOk("k", "newer");
  WriteOk("added", "after");
  ExpectDurable({{"added", "after"}, {"k", "newer"}, {"other", "kept"}});
}

TEST_P(MetaStoreConformanceTest, ADeletedKeyIsGoneBeforeAndAfterRestart) {
  Load();
  WriteOk("partition/3/0", "a");
  WriteOk("partition/3/1", "b");
  WriteOk("table/3", "t");
  DeleteOk("partition/3/0");
  ExpectDurable({{"partition/3/1", "b"}, {"table/3", "t"}});
  DeleteOk("partition/3/1");
  ExpectDurable({{"table/3", "t"}});
  // Deleting what is not there succeeds and changes nothing.
  DeleteOk("partition/3/1");
  DeleteOk("never");
  ExpectDurable({{"table/3", "t"}});
}

TEST_P(MetaStoreConformanceTest, WritesAndDeletesOfAKeyTakeEffectInOrder) {
  Load();
  std::vector<int> completed;
  auto note = [&completed](int i) {
    return [&completed, i](absl::Status s) {
      EXPECT_TRUE(s.ok()) << s;
      completed.push_back(i);
    };
  };
  store_->Write("k", "1", note(0));
  store_->Delete("k", note(1));
  store_->Write("k", "2", note(2));
  store_->Write("gone", "x", note(3));
  store_->Delete("gone", note(4));
  executor_.RunReady();
  EXPECT_EQ(completed, (std::vector<int>{0, 1, 2, 3, 4}));
  ExpectDurable({{"k", "2"}});
  // Many keys written and deleted in turns, across restarts.
  Map expected = {{"k", "2"}};
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 200; ++i) {
      const std::string key = "p/" + std::to_string(i);
      if ((i + round) % 3 == 0) {
        Delete(key);
        expected.erase(key);
      } else {
        Write(key, std::string(static_cast<size_t>(i % 29), 'v') +
                       std::to_string(round));
        expected[key] = std::string(static_cast<size_t>(i % 29), 'v') +
                        std::to_string(round);
      }
    }
    executor_.RunReady();
    ExpectDurable(expected);
  }
}

TEST_P(MetaStoreConformanceTest,
       AFailedDeleteIsAnIoErrorAndChangesNothingElse) {
  Load();
  WriteOk("k", "v");
  WriteOk("other", "kept");
  ExpectFailsWithIoError([&] { return Delete("k"); });
  // The failed delete may or may not have taken effect; nothing else did.
  Map loaded = Load();
  EXPECT_EQ(loaded.erase("other"), 1u);
  EXPECT_TRUE(loaded.empty() || loaded == (Map{{"k", "v"}}));
  DeleteOk("k");
  ExpectDurable({{"other", "kept"}});
}

TEST_P(MetaStoreConformanceTest, AnUnreadableMediumIsAnIoError) {
  Load();
  WriteOk("k", "v");
  medium_->set_fail_loads(true);
  absl::StatusOr<Map> loaded = store_->LoadAll();
  EXPECT_TRUE(HasErrorCode(loaded.status(), ErrorCode::kIoError))
      << loaded.status();
  medium_->set_fail_loads(false);
  ExpectDurable({{"k", "v"}});
}

TEST_P(MetaStoreConformanceTest, DoneRunsOnceEvenWhenTheStoreIsGoneFirst) {
  Load();
  WriteOk("k", "1");
  std::shared_ptr<Outcome> pending = Write("k", "2");
  store_.reset();
  executor_.RunReady();
  EXPECT_EQ(pending->calls, 1);
  Restart();
  const std::string value = Load()["k"];
  if (pending->status.ok()) {
    EXPECT_EQ(value, "2");
  } else {
    EXPECT_TRUE(value == "1" || value == "2") << value;
  }
}

INSTANTIATE_TEST_SUITE_P(All, MetaStoreConformanceTest,
                         testing::ValuesIn(AllKinds()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace pegasus
