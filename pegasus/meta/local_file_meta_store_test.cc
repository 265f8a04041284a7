// LocalFileMetaStore's own promises: its file and how it is written, torn
// tails, corruption, compaction, limits and I/O errors. Crashes are in
// local_file_meta_store_crash_test.cc; the MetaStore contract itself is run
// against every store in testing/conformance/meta_store_conformance_test.cc.

#include "pegasus/meta/local_file_meta_store.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/internal/local_file_format.h"
#include "pegasus/runtime/faulty_file_system.h"
#include "pegasus/runtime/file_system.h"
#include "pegasus/runtime/manual_executor.h"

namespace pegasus {
namespace {

namespace format = meta_internal;
using Map = std::map<std::string, std::string>;

constexpr char kDir[] = "/meta";
constexpr char kFile[] = "/meta/meta_store.log";
constexpr char kTemp[] = "/meta/meta_store.log.tmp";

// The bytes of a store file holding these records, in this order.
std::string FileOf(
    const std::vector<std::pair<std::string, std::string>>& kvs) {
  std::string file = format::EncodeFileHeader();
  for (const auto& [key, value] : kvs) format::AppendRecord(&file, key, value);
  return file;
}

// Runs `executor` until `store`'s write of key and value has completed, and
// returns its outcome. Expects done to run exactly once.
absl::Status WriteAndRun(MetaStore& store, ManualExecutor& executor,
                         std::string key, std::string value) {
  int calls = 0;
  absl::Status result = absl::UnknownError("done never ran");
  store.Write(std::move(key), std::move(value), [&](absl::Status status) {
    ++calls;
    result = std::move(status);
  });
  executor.RunReady();
  EXPECT_EQ(calls, 1);
  return result;
}

// A store over an in-memory file system, behind a FaultyFileSystem.
class LocalFileMetaStoreTest : public testing::Test {
 protected:
  LocalFileMetaStoreTest() : mem_(NewMemFileSystem()), fs_(mem_.get()) {
    PEGASUS_CHECK_OK(mem_->CreateDirs(kDir));
  }

  std::unique_ptr<LocalFileMetaStore> Open(
      LocalFileMetaStoreOptions options = {}) {
    absl::StatusOr<std::unique_ptr<LocalFileMetaStore>> store =
        LocalFileMetaStore::Open(&fs_, kDir, &executor_, options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  absl::Status Write(MetaStore& store, std::string key, std::string value) {
    return WriteAndRun(store, executor_, std::move(key), std::move(value));
  }

  absl::Status Delete(MetaStore& store, std::string key) {
    int calls = 0;
    absl::Status result = absl::UnknownError("done never ran");
    store.Delete(std::move(key), [&](absl::Status status) {
      ++calls;
      result = std::move(status);
    });
    executor_.RunReady();
    EXPECT_EQ(calls, 1);
    return result;
  }

  Map Load(MetaStore& store) {
    absl::StatusOr<Map> loaded = store.LoadAll();
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return loaded.ok() ? *loaded : Map{{"<error>", loaded.status().ToString()}};
  }

  std::string FileBytes(const std::string& path = kFile) {
    absl::StatusOr<std::string> data = mem_->ReadFile(path);
    EXPECT_TRUE(data.ok()) << data.status();
    return data.ok() ? *data : "<missing>";
  }

  void SetFileBytes(const std::string& data) {
    ASSERT_TRUE(WriteFileAtomically(mem_.get(), kFile, data).ok());
  }

  // The trace entries from index `from` on.
  std::vector<std::string> TraceFrom(size_t from) {
    const std::vector<std::string>& trace = fs_.trace();
    return std::vector<std::string>(trace.begin() + static_cast<long>(from),
                                    trace.end());
  }

  ManualExecutor executor_;
  std::unique_ptr<FileSystem> mem_;
  FaultyFileSystem fs_;
};

TEST_F(LocalFileMetaStoreTest, OpenMakesTheDirectoryDurablyAndWritesNothing) {
  absl::StatusOr<std::unique_ptr<LocalFileMetaStore>> store =
      LocalFileMetaStore::Open(&fs_, "/a/b/meta/", &executor_);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->file_path(), "/a/b/meta/meta_store.log");
  EXPECT_EQ(fs_.trace(),
            (std::vector<std::string>{"mkdir /a/b/meta", "syncdir /",
                                      "syncdir /a", "syncdir /a/b"}));
  EXPECT_EQ(*mem_->ListDir("/a/b/meta"), std::vector<std::string>{});
  EXPECT_EQ(Load(**store), Map{});
}

TEST_F(LocalFileMetaStoreTest, OpenRefusesBadArguments) {
  auto open = [&](FileSystem* fs, std::string dir, Executor* executor,
                  LocalFileMetaStoreOptions options) {
    return LocalFileMetaStore::Open(fs, std::move(dir), executor, options)
        .status();
  };
  const LocalFileMetaStoreOptions good;
  auto with = [&](auto change) {
    LocalFileMetaStoreOptions options = good;
    change(options);
    return options;
  };
  for (const absl::Status& status : {
           open(nullptr, "/refused", &executor_, good),
           open(&fs_, "/refused", nullptr, good),
           open(&fs_, "", &executor_, good),
           open(&fs_, "/refused", &executor_,
                with([](auto& o) { o.max_record_bytes = 0; })),
           open(&fs_, "/refused", &executor_, with([](auto& o) {
             o.max_record_bytes = kLocalFileMetaStoreMaxRecordBytes + 1;
           })),
           open(&fs_, "/refused", &executor_,
                with([](auto& o) { o.max_live_bytes = 0; })),
           open(&fs_, "/refused", &executor_,
                with([](auto& o) { o.min_compact_bytes = -1; })),
       }) {
    EXPECT_TRUE(HasErrorCode(status, ErrorCode::kInvalidArgument)) << status;
  }
  EXPECT_FALSE(mem_->FileExists("/refused"));
}

TEST_F(LocalFileMetaStoreTest, TheFileIsAHeaderThenOneRecordPerWrite) {
  std::unique_ptr<LocalFileMetaStore> store = Open();
  ASSERT_EQ(Load(*store), Map{});
  ASSERT_TRUE(Write(*store, "a", "1").ok());
  ASSERT_TRUE(Write(*store, "b", "22").ok());
  ASSERT_TRUE(Write(*store, "a", "333").ok());
  EXPECT_EQ(FileBytes(), FileOf({{"a", "1"}, {"b", "22"}, {"a", "333"}}));
  EXPECT_EQ(*mem_->ListDir(kDir), std::vector<std::string>{"meta_store.log"});
  // The first write of a store creates the file; the others append.
  EXPECT_EQ(store->stats().rewrites, 1u);
  EXPECT_EQ(store->stats().records_appended, 2u);
  EXPECT_EQ(store->stats().compactions, 0u);
}

TEST_F(LocalFileMetaStoreTest, AnAppendIsSyncedBeforeItsDoneRuns) {
  std::unique_ptr<LocalFileMetaStore> store = Open();
  ASSERT_TRUE(Write(*store, "a", "1").ok());
  const size_t before = fs_.trace().size();
  std::vector<std::string> trace_at_done;
  store->Write("b", "2", [&](absl::Status status) {
    EXPECT_TRUE(status.ok()) << status;
    trace_at_done = TraceFrom(before);
  });
  executor_.RunReady();
  // The file was created as the temporary and renamed into place, and
  // FaultyFileSystem names a file by the path it was created under.
  EXPECT_EQ(trace_at_done,
            (std::vector<std::string>{"append /meta/meta_store.log.tmp",
                                      "sync /meta/meta_store.log.tmp"}));
}

TEST_F(LocalFileMetaStoreTest,
       ARewriteIsRenamedAndItsDirectorySyncedBeforeDone) {
  std::unique_ptr<LocalFileMetaStore> store = Open();
  const size_t before = fs_.trace().size();
  std::vector<std::string> trace_at_done;
  store->Write("a", "1", [&](absl::Status status) {
    EXPECT_TRUE(status.ok()) << status;
    trace_at_done = TraceFrom(before);
  });
  executor_.RunReady();
  EXPECT_EQ(
      trace_at_done,
      (std::vector<std::string>{
          "read /meta/meta_store.log", "create /meta/meta_store.log.tmp",
          "append /meta/meta_store.log.tmp", "sync /meta/meta_store.log.tmp",
          "rename /meta/meta_store.log.tmp", "syncdir /meta"}));
  EXPECT_FALSE(mem_->FileExists(kTemp));
}

TEST_F(LocalFileMetaStoreTest, ARestartedStoreRewritesTheFileOnItsFirstWrite) {
  {
    std::unique_ptr<LocalFileMetaStore> store = Open();
    ASSERT_TRUE(Write(*store, "a", "1").ok());
    ASSERT_TRUE(Write(*store, "a", "2").ok());
    ASSERT_TRUE(Write(*store, "b", "3").ok());
  }
  std::unique_ptr<LocalFileMetaStore> store = Open();
  EXPECT_EQ(Load(*store), (Map{{"a", "2"}, {"b", "3"}}));
  ASSERT_TRUE(Write(*store, "c", "4").ok());
  // The FileSystem seam opens files only to create them, so the first write
  // after a restart rewrites the live records, and compacts them too.
  EXPECT_EQ(FileBytes(), FileOf({{"a", "2"}, {"b", "3"}, {"c", "4"}}));
  EXPECT_EQ(store->stats().rewrites, 1u);
  ASSERT_TRUE(Write(*store, "d", "5").ok());
  EXPECT_EQ(store->stats().records_appended, 1u);
}

TEST_F(LocalFileMetaStoreTest, ATornLastRecordIsDroppedAndTheFileRewritten) {
  const std::string whole = FileOf({{"a", "1"}, {"b", "2"}});
  const std::string torn_record =
      FileOf({{"c", "three"}}).substr(format::kFileHeaderBytes);
  std::vector<std::string> tails;
  for (size_t size = 1; size < torn_record.size(); ++size) {
    tails.push_back(torn_record.substr(0, size));
  }
  tails.push_back(std::string(40, '\0'));  // Zeros a file system showed.
  for (const std::string& tail : tails) {
    SCOPED_TRACE("tail of " + std::to_string(tail.size()) + " bytes");
    SetFileBytes(whole + tail);
    std::unique_ptr<LocalFileMetaStore> store = Open();
    EXPECT_EQ(Load(*store), (Map{{"a", "1"}, {"b", "2"}}));
    EXPECT_EQ(store->stats().torn_tails_dropped, 1u);
    EXPECT_EQ(store->stats().torn_bytes_dropped, tail.size());
    EXPECT_EQ(FileBytes(), whole + tail) << "LoadAll writes nothing";
    ASSERT_TRUE(Write(*store, "d", "4").ok());
    EXPECT_EQ(FileBytes(), FileOf({{"a", "1"}, {"b", "2"}, {"d", "4"}}));
    ASSERT_TRUE(Write(*store, "e", "5").ok());
    store.reset();
    store = Open();
    EXPECT_EQ(Load(*store),
              (Map{{"a", "1"}, {"b", "2"}, {"d", "4"}, {"e", "5"}}));
    EXPECT_EQ(store->stats().torn_tails_dropped, 0u);
  }
}

TEST_F(LocalFileMetaStoreTest, ATornTailFoundByAnOpenStoreIsNeverAppendedTo) {
  std::unique_ptr<LocalFileMetaStore> store = Open();
  ASSERT_TRUE(Write(*store, "a", "1").ok());
  ASSERT_TRUE(Write(*store, "b", "2").ok());
  // A crash (without a restart, say of the disk's cache) leaves a torn
  // record where the store would append next.
  const std::string torn =
      FileBytes() + FileOf({{"c", "3"}}).substr(format::kFileHeaderBytes, 9);
  SetFileBytes(torn);
  EXPECT_EQ(Load(*store), (Map{{"a", "1"}, {"b", "2"}}));
  ASSERT_TRUE(Write(*store, "d", "4").ok());
  EXPECT_EQ(FileBytes(), FileOf({{"a", "1"}, {"b", "2"}, {"d", "4"}}));
  EXPECT_EQ(store->stats().rewrites, 2u);
}

// Every record's first byte offset in FileOf(kvs), and the file's size.
std::vector<size_t> RecordStarts(
    const std::vector<std::pair<std::string, std::string>>& kvs) {
  std::vector<size_t> starts;
  size_t offset = format::kFileHeaderBytes;
  for (const auto& [key, value] : kvs) {
    starts.push_back(offset);
    offset += static_cast<size_t>(
        format::EncodedRecordBytes(key.size(), value.size()));
  }
  starts.push_back(offset);
  return starts;
}

TEST_F(LocalFileMetaStoreTest, EveryFlippedByteIsCorruptionAndChangesNothing) {
  const std::vector<std::pair<std::string, std::string>> kvs = {
      {"partition/1/0", "ballot 3"}, {"k", ""}, {"partition/1/1", "ballot 9"}};
  const std::string good = FileOf(kvs);
  const std::vector<size_t> starts = RecordStarts(kvs);
  for (size_t offset = 0; offset < good.size(); ++offset) {
    size_t record = 0;  // The damaged record's start; 0 for the header.
    for (size_t start : starts) {
      if (start <= offset) record = start;
    }
    SCOPED_TRACE("flipped byte " + std::to_string(offset));
    std::string flipped = good;
    flipped[offset] = static_cast<char>(flipped[offset] ^ 0x20);
    SetFileBytes(flipped);
    std::unique_ptr<LocalFileMetaStore> store = Open();
    absl::StatusOr<Map> loaded = store->LoadAll();
    ASSERT_TRUE(HasErrorCode(loaded.status(), ErrorCode::kCorruption))
        << loaded.status();
    const std::string message(loaded.status().message());
    EXPECT_NE(message.find(std::string(kFile) + " is corrupt at offset " +
                           std::to_string(record) + ":"),
              std::string::npos)
        << message;
    absl::Status write = Write(*store, "new", "value");
    EXPECT_TRUE(HasErrorCode(write, ErrorCode::kCorruption)) << write;
    EXPECT_EQ(FileBytes(), flipped);
    EXPECT_FALSE(mem_->FileExists(kTemp));
  }
}

TEST_F(LocalFileMetaStoreTest,
       CompactionKeepsEveryLatestValueAndBoundsTheFile) {
  LocalFileMetaStoreOptions options;
  options.min_compact_bytes = 1024;
  std::unique_ptr<LocalFileMetaStore> store = Open(options);
  Map expected;
  for (int i = 0; i < 400; ++i) {
    const std::string key = "partition/3/" + std::to_string(i % 7);
    const std::string value =
        std::to_string(i) + std::string(static_cast<size_t>(i % 23), '.');
    ASSERT_TRUE(Write(*store, key, value).ok());
    expected[key] = value;
    const size_t rewritten =
        FileOf(std::vector<std::pair<std::string, std::string>>(
                   expected.begin(), expected.end()))
            .size();
    ASSERT_LE(FileBytes().size(), std::max<size_t>(1024, 2 * rewritten))
        << "after write " << i;
  }
  EXPECT_GT(store->stats().compactions, 10u);
  EXPECT_EQ(store->stats().rewrites, store->stats().compactions + 1);
  EXPECT_EQ(Load(*store), expected);
  store.reset();
  store = Open(options);
  EXPECT_EQ(Load(*store), expected);
}

TEST_F(LocalFileMetaStoreTest, ARecordOverTheLimitIsRefusedWithAClearError) {
  LocalFileMetaStoreOptions options;
  options.max_record_bytes = 100;
  std::unique_ptr<LocalFileMetaStore> store = Open(options);
  ASSERT_TRUE(Write(*store, "k", std::string(99, 'v')).ok());
  const std::string before = FileBytes();
  const size_t ops = fs_.trace().size();
  absl::Status status = Write(*store, "k2", std::string(99, 'v'));
  EXPECT_TRUE(HasErrorCode(status, ErrorCode::kInvalidArgument)) << status;
  EXPECT_NE(status.message().find("101 bytes are over max_record_bytes, 100"),
            std::string::npos)
      << status;
  EXPECT_EQ(fs_.trace().size(), ops) << "no I/O for a refused write";
  EXPECT_EQ(FileBytes(), before);
  ASSERT_TRUE(Write(*store, "k2", std::string(98, 'v')).ok());
}

TEST_F(LocalFileMetaStoreTest, TheDefaultLimitIs64MiBOfKeyAndValue) {
  EXPECT_EQ(LocalFileMetaStoreOptions{}.max_record_bytes, int64_t{64} << 20);
  std::unique_ptr<LocalFileMetaStore> store = Open();
  const size_t ops = fs_.trace().size();
  absl::Status status = Write(*store, "k", std::string(size_t{64} << 20, 'v'));
  EXPECT_TRUE(HasErrorCode(status, ErrorCode::kInvalidArgument)) << status;
  EXPECT_NE(status.message().find(
                "67108865 bytes are over max_record_bytes, 67108864"),
            std::string::npos)
      << status;
  EXPECT_EQ(fs_.trace().size(), ops);
}

TEST_F(LocalFileMetaStoreTest, LiveBytesOverTheLimitAreRefused) {
  LocalFileMetaStoreOptions options;
  options.max_live_bytes = 10;
  std::unique_ptr<LocalFileMetaStore> store = Open(options);
  ASSERT_TRUE(Write(*store, "a", "1234").ok());
  ASSERT_TRUE(Write(*store, "b", "1234").ok());
  absl::Status status = Write(*store, "c", "");
  EXPECT_TRUE(HasErrorCode(status, ErrorCode::kDiskInsufficient)) << status;
  ASSERT_TRUE(Write(*store, "a", "12").ok()) << "a smaller value fits";
  ASSERT_TRUE(Write(*store, "c", "").ok());
  EXPECT_EQ(Load(*store), (Map{{"a", "12"}, {"b", "1234"}, {"c", ""}}));
}

TEST_F(LocalFileMetaStoreTest, AfterAFailedAppendOrSyncTheNextWriteRewrites) {
  for (FsOp failing : {FsOp::kAppend, FsOp::kSync}) {
    SCOPED_TRACE(FsOpName(failing));
    ASSERT_TRUE(mem_->DeleteFile(kFile).ok() || !mem_->FileExists(kFile));
    std::unique_ptr<LocalFileMetaStore> store = Open();
    ASSERT_TRUE(Write(*store, "a", "1").ok());
    ASSERT_TRUE(Write(*store, "b", "2").ok());
    fs_.set_hook([failing](FsOp op, const std::string&) {
      return op == failing ? InjectedIoError(FsOpName(op)) : absl::OkStatus();
    });
    absl::Status status = Write(*store, "c", "3");
    fs_.set_hook(nullptr);
    EXPECT_TRUE(HasErrorCode(status, ErrorCode::kIoError)) << status;
    EXPECT_NE(status.message().find(kFile), std::string::npos) << status;
    const size_t before = fs_.trace().size();
    ASSERT_TRUE(Write(*store, "d", "4").ok());
    EXPECT_EQ(TraceFrom(before).at(0), "create /meta/meta_store.log.tmp");
    // The rewrite holds what the store knew was durable: not the failed c.
    EXPECT_EQ(FileBytes(), FileOf({{"a", "1"}, {"b", "2"}, {"d", "4"}}));
    store.reset();
    store = Open();
    EXPECT_EQ(Load(*store), (Map{{"a", "1"}, {"b", "2"}, {"d", "4"}}));
  }
}

// A write that failed after its bytes reached the file (its sync, or the
// directory sync after a rewrite's rename) may be in the file though the
// store does not count it: a delete of its key must still remove it.
TEST_F(LocalFileMetaStoreTest, ADeleteAfterAFailedWriteOfItsKeyRemovesIt) {
  for (FsOp failing : {FsOp::kSync, FsOp::kSyncDir}) {
    SCOPED_TRACE(FsOpName(failing));
    SetFileBytes(FileOf({{"a", "1"}}));
    std::unique_ptr<LocalFileMetaStore> store = Open();
    ASSERT_EQ(Load(*store), (Map{{"a", "1"}}));
    // kSync: "b" is appended to a file this store rewrote; kSyncDir: "c" is
    // the first write, a rewrite.
    if (failing == FsOp::kSync) {
      ASSERT_TRUE(Write(*store, "b", "2").ok());
    }
    fs_.set_hook([failing](FsOp op, const std::string&) {
      return op == failing ? InjectedIoError(FsOpName(op)) : absl::OkStatus();
    });
    absl::Status status = Write(*store, "c", "3");
    fs_.set_hook(nullptr);
    ASSERT_TRUE(HasErrorCode(status, ErrorCode::kIoError)) << status;
    ASSERT_TRUE(Delete(*store, "c").ok());
    store.reset();
    store = Open();
    EXPECT_EQ(Load(*store).count("c"), 0u);
  }
}

TEST_F(LocalFileMetaStoreTest, ADeleteIsNeverRefusedForSize) {
  LocalFileMetaStoreOptions options;
  options.max_live_bytes = 100;
  {
    std::unique_ptr<LocalFileMetaStore> store = Open(options);
    ASSERT_TRUE(Write(*store, "a", std::string(60, 'x')).ok());
    ASSERT_TRUE(Write(*store, "b", std::string(30, 'x')).ok());
  }
  // Reopened with a lower limit, the store is over it: writes that add are
  // refused, deletes are not.
  options.max_live_bytes = 50;
  std::unique_ptr<LocalFileMetaStore> store = Open(options);
  Load(*store);
  EXPECT_TRUE(
      HasErrorCode(Write(*store, "c", ""), ErrorCode::kDiskInsufficient));
  ASSERT_TRUE(Delete(*store, "a").ok());
  EXPECT_EQ(Load(*store), (Map{{"b", std::string(30, 'x')}}));
}

TEST_F(LocalFileMetaStoreTest, AFailedRewriteLeavesTheOldFileAndIsRetried) {
  for (FsOp failing : {FsOp::kCreate, FsOp::kAppend, FsOp::kSync, FsOp::kRename,
                       FsOp::kSyncDir}) {
    SCOPED_TRACE(FsOpName(failing));
    SetFileBytes(FileOf({{"a", "1"}}));
    ASSERT_TRUE(!mem_->FileExists(kTemp) || mem_->DeleteFile(kTemp).ok());
    std::unique_ptr<LocalFileMetaStore> store = Open();
    ASSERT_EQ(Load(*store), (Map{{"a", "1"}}));
    fs_.set_hook([failing](FsOp op, const std::string&) {
      return op == failing ? InjectedIoError(FsOpName(op)) : absl::OkStatus();
    });
    absl::Status status = Write(*store, "b", "2");
    fs_.set_hook(nullptr);
    EXPECT_TRUE(HasErrorCode(status, ErrorCode::kIoError)) << status;
    // The old file or (after the rename) the new one, whole either way.
    const Map loaded = Load(*store);
    EXPECT_TRUE(loaded == (Map{{"a", "1"}}) ||
                loaded == (Map{{"a", "1"}, {"b", "2"}}));
    ASSERT_TRUE(Write(*store, "c", "3").ok());
    store.reset();
    store = Open();
    Map expected = loaded;
    expected["c"] = "3";
    EXPECT_EQ(Load(*store), expected);
  }
}

TEST_F(LocalFileMetaStoreTest, ALeftoverTemporaryIsIgnoredAndReplaced) {
  {
    std::unique_ptr<LocalFileMetaStore> store = Open();
    ASSERT_TRUE(Write(*store, "a", "1").ok());
  }
  ASSERT_TRUE(WriteFileAtomically(mem_.get(), kTemp, "half a rewrite").ok());
  std::unique_ptr<LocalFileMetaStore> store = Open();
  EXPECT_EQ(Load(*store), (Map{{"a", "1"}}));
  ASSERT_TRUE(Write(*store, "b", "2").ok());
  EXPECT_FALSE(mem_->FileExists(kTemp));
  EXPECT_EQ(FileBytes(), FileOf({{"a", "1"}, {"b", "2"}}));
}

TEST_F(LocalFileMetaStoreTest,
       AWriteWhoseStoreIsGoneIsAbortedAndWritesNothing) {
  std::unique_ptr<LocalFileMetaStore> store = Open();
  ASSERT_TRUE(Write(*store, "a", "1").ok());
  std::optional<absl::Status> outcome;
  store->Write("b", "2", [&](absl::Status status) { outcome = status; });
  store.reset();
  const size_t before = fs_.trace().size();
  executor_.RunReady();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(HasErrorCode(*outcome, ErrorCode::kAborted)) << *outcome;
  EXPECT_EQ(fs_.trace().size(), before);
  EXPECT_EQ(FileBytes(), FileOf({{"a", "1"}}));
}

}  // namespace
}  // namespace pegasus
