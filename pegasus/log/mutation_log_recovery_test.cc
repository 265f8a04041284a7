// Open on damaged logs: torn tails are cut off and the log goes on; any
// other damage fails Open with PERR_CORRUPTION naming file and offset, and
// leaves the directory as it was.

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/log/internal/log_format.h"
#include "pegasus/log/log_test_util.h"
#include "pegasus/log/mutation_log.h"

namespace pegasus {
namespace {

using log_internal::EncodedRecordBytes;
using log_internal::kSegmentHeaderBytes;
using log_testing::FsOp;
using log_testing::Payload;
using log_testing::Record;
using log_testing::SegmentFile;

// Decrees 1..9 have 10-byte payloads: 34-byte records.
constexpr size_t kRecordBytes = 34;

size_t RecordOffset(int index) {
  return kSegmentHeaderBytes + kRecordBytes * index;
}

std::vector<LogRecord> Records(Decree first, Decree last) {
  std::vector<LogRecord> records;
  for (Decree decree = first; decree <= last; ++decree) {
    records.push_back(Record(decree));
  }
  return records;
}

class MutationLogRecoveryTest : public log_testing::LogTest {
 protected:
  // Writes decrees first..last, one group each, and closes the log.
  void WriteLog(const MutationLogOptions& options, Decree first, Decree last) {
    std::unique_ptr<MutationLog> log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    for (Decree decree = first; decree <= last; ++decree) {
      AppendAll(log.get(), {decree});
    }
    ASSERT_TRUE(log->Close().ok());
  }

  // Starts over with an empty file system.
  void Reset() {
    mem_ = NewMemFileSystem();
    fs_ = log_testing::FaultyFileSystem(mem_.get());
  }

  void Change(const std::string& path,
              const std::function<void(std::string&)>& change) {
    std::string data = ReadBytes(path);
    change(data);
    WriteBytes(path, data);
  }

  // Expects Open to fail with PERR_CORRUPTION naming `path` and `offset`,
  // and to leave every file as it was.
  void ExpectCorruption(const MutationLogOptions& options,
                        const std::string& path, size_t offset) {
    const std::map<std::string, std::string> before = Snapshot();
    absl::StatusOr<std::unique_ptr<MutationLog>> log = TryOpen(options);
    ASSERT_FALSE(log.ok());
    EXPECT_TRUE(HasErrorCode(log.status(), ErrorCode::kCorruption))
        << log.status();
    const std::string message(log.status().message());
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("offset " + std::to_string(offset)),
              std::string::npos)
        << message;
    EXPECT_EQ(Snapshot(), before);
  }
};

void FlipBit(std::string& data, size_t offset) {
  data[offset] = static_cast<char>(data[offset] ^ 0x10);
}

TEST_F(MutationLogRecoveryTest, CutsOffATornTailAndGoesOn) {
  struct Case {
    const char* name;
    std::function<void(std::string&)> tear;
  };
  const Case cases[] = {
      {"incomplete record header",
       [](std::string& d) { d.resize(RecordOffset(3) + 5); }},
      {"incomplete header check",
       [](std::string& d) { d.resize(RecordOffset(3) + 11); }},
      {"incomplete payload",
       [](std::string& d) { d.resize(RecordOffset(3) + kRecordBytes - 1); }},
      {"bad checksum in the last record",
       [](std::string& d) { FlipBit(d, d.size() - 1); }},
      {"zeros to the end",
       [](std::string& d) { d.append(3 * kRecordBytes, '\0'); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Reset();
    WriteLog(Options(), 1, 4);
    const size_t intact = ReadBytes(SegmentFile(1)).size();
    Change(SegmentFile(1), c.tear);
    const size_t torn = ReadBytes(SegmentFile(1)).size();

    std::unique_ptr<MutationLog> log = OpenLog(Options());
    ASSERT_NE(log, nullptr);
    const bool last_lost = c.name != std::string("zeros to the end");
    EXPECT_EQ(replayed_, Records(1, last_lost ? 3 : 4));
    EXPECT_EQ(log->stats().torn_tails_truncated, 1u);
    const size_t valid = last_lost ? RecordOffset(3) : intact;
    EXPECT_EQ(log->stats().torn_bytes_truncated, torn - valid);
    EXPECT_EQ(ReadBytes(SegmentFile(1)).size(), valid);

    AppendAll(log.get(), {5});
    log.reset();
    log = OpenLog(Options());
    EXPECT_EQ(log->stats().torn_tails_truncated, 0u);
    std::vector<LogRecord> expected = Records(1, last_lost ? 3 : 4);
    expected.push_back(Record(5));
    EXPECT_EQ(replayed_, expected);
  }
}

TEST_F(MutationLogRecoveryTest,
       TornSegmentHeaderDeletesTheSegmentAndReusesItsNumber) {
  WriteLog(SmallSegmentOptions(), 1, 10);  // Segments 1 and 2.
  // A third segment whose header never fully reached the disk.
  WriteBytes(SegmentFile(3), log_internal::EncodeSegmentHeader(3).substr(0, 9));
  std::unique_ptr<MutationLog> log = OpenLog(SmallSegmentOptions());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(replayed_, Records(1, 10));
  EXPECT_EQ(log->stats().torn_tails_truncated, 1u);
  EXPECT_EQ(log->stats().torn_bytes_truncated, 9u);
  // Segment 3 is the new one: numbers stay contiguous.
  EXPECT_EQ(ReadBytes(SegmentFile(3)), log_internal::EncodeSegmentHeader(3));
  EXPECT_FALSE(mem_->FileExists(SegmentFile(4)));
  AppendAll(log.get(), {11});
  log.reset();
  log = OpenLog(SmallSegmentOptions());
  EXPECT_EQ(replayed_, Records(1, 11));
}

TEST_F(MutationLogRecoveryTest, ReopeningWithoutAppendsDoesNotPileUpSegments) {
  WriteLog(Options(), 1, 2);
  for (int i = 0; i < 3; ++i) {
    std::unique_ptr<MutationLog> log = OpenLog(Options());
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(replayed_, Records(1, 2));
  }
  EXPECT_TRUE(mem_->FileExists(SegmentFile(2)));
  EXPECT_FALSE(mem_->FileExists(SegmentFile(3)));
}

TEST_F(MutationLogRecoveryTest, RemovesALeftoverTemporaryFile) {
  WriteLog(Options(), 1, 2);
  WriteBytes(SegmentFile(1) + ".tmp", "half a rewrite");
  std::unique_ptr<MutationLog> log = OpenLog(Options());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(replayed_, Records(1, 2));
  EXPECT_FALSE(mem_->FileExists(SegmentFile(1) + ".tmp"));
}

TEST_F(MutationLogRecoveryTest, IgnoresFilesThatAreNotTheLogs) {
  WriteLog(Options(), 1, 2);
  WriteBytes("/log/LOCK", "");
  std::unique_ptr<MutationLog> log = OpenLog(Options());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(replayed_, Records(1, 2));
  EXPECT_TRUE(mem_->FileExists("/log/LOCK"));
}

TEST_F(MutationLogRecoveryTest,
       CorruptionInTheMiddleFailsOpenNamingFileAndOffset) {
  WriteLog(Options(), 1, 5);
  // A bad checksum with more bytes after it is no torn write.
  Change(SegmentFile(1),
         [](std::string& d) { FlipBit(d, RecordOffset(2) + 20); });
  ExpectCorruption(Options(), SegmentFile(1), RecordOffset(2));
}

TEST_F(MutationLogRecoveryTest, FlippedLengthIsCorruptionNotATornTail) {
  WriteLog(Options(), 1, 5);
  // The last record's length grows past the end of the file: without the
  // header check it would pass for a torn write and lose decree 5 silently.
  Change(SegmentFile(1),
         [](std::string& d) { FlipBit(d, RecordOffset(4) + 3); });
  ExpectCorruption(Options(), SegmentFile(1), RecordOffset(4));
  // A shrunk length is caught the same way.
  Reset();
  WriteLog(Options(), 1, 5);
  Change(SegmentFile(1), [](std::string& d) { d[RecordOffset(1) + 3] = 1; });
  ExpectCorruption(Options(), SegmentFile(1), RecordOffset(1));
}

TEST_F(MutationLogRecoveryTest, DamageInAnOlderSegmentFailsOpen) {
  WriteLog(SmallSegmentOptions(), 1, 12);  // Segment 1: 1..8; 2: 9..12.
  const std::map<std::string, std::string> intact = Snapshot();
  // What would be a torn tail in the newest segment is corruption here.
  Change(SegmentFile(1), [](std::string& d) { FlipBit(d, d.size() - 1); });
  ExpectCorruption(SmallSegmentOptions(), SegmentFile(1), RecordOffset(7));
  WriteBytes(SegmentFile(1), intact.at("log.000000000001"));
  Change(SegmentFile(1), [](std::string& d) { d.resize(d.size() - 1); });
  ExpectCorruption(SmallSegmentOptions(), SegmentFile(1), RecordOffset(7));
  WriteBytes(SegmentFile(1), intact.at("log.000000000001"));
  Change(SegmentFile(1), [](std::string& d) { FlipBit(d, 2); });  // Magic.
  ExpectCorruption(SmallSegmentOptions(), SegmentFile(1), 0);
}

TEST_F(MutationLogRecoveryTest, SegmentHeaderNamingAnotherSegmentIsCorruption) {
  WriteLog(SmallSegmentOptions(), 1, 12);
  const std::string second = ReadBytes(SegmentFile(2));
  WriteBytes(SegmentFile(2), log_internal::EncodeSegmentHeader(7) +
                                 second.substr(kSegmentHeaderBytes));
  ExpectCorruption(SmallSegmentOptions(), SegmentFile(2), 0);
}

TEST_F(MutationLogRecoveryTest, MissingSegmentFailsOpen) {
  WriteLog(SmallSegmentOptions(), 1, 20);  // Segments 1..3.
  ASSERT_TRUE(mem_->DeleteFile(SegmentFile(2)).ok());
  const std::map<std::string, std::string> before = Snapshot();
  absl::StatusOr<std::unique_ptr<MutationLog>> log =
      TryOpen(SmallSegmentOptions());
  ASSERT_FALSE(log.ok());
  EXPECT_TRUE(HasErrorCode(log.status(), ErrorCode::kCorruption));
  const std::string message(log.status().message());
  EXPECT_NE(message.find(SegmentFile(1)), std::string::npos) << message;
  EXPECT_NE(message.find(SegmentFile(3)), std::string::npos) << message;
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(MutationLogRecoveryTest, MalformedSegmentNameFailsOpen) {
  WriteLog(Options(), 1, 2);
  WriteBytes("/log/log.12", "");
  absl::StatusOr<std::unique_ptr<MutationLog>> log = TryOpen(Options());
  ASSERT_FALSE(log.ok());
  EXPECT_TRUE(HasErrorCode(log.status(), ErrorCode::kCorruption));
  EXPECT_NE(std::string(log.status().message()).find("/log/log.12"),
            std::string::npos);
}

TEST_F(MutationLogRecoveryTest, ReplayErrorAbortsOpenAndChangesNothing) {
  WriteLog(Options(), 1, 5);
  // A torn tail that a successful Open would cut off.
  Change(SegmentFile(1), [](std::string& d) { d.resize(d.size() - 3); });
  const std::map<std::string, std::string> before = Snapshot();
  int replayed = 0;
  absl::StatusOr<std::unique_ptr<MutationLog>> log =
      MutationLog::Open(Options(), [&](const LogRecord& record) {
        ++replayed;
        return record.decree == 3
                   ? PegasusError(ErrorCode::kInvalidValue, "cannot apply 3")
                   : absl::OkStatus();
      });
  ASSERT_FALSE(log.ok());
  EXPECT_TRUE(HasErrorCode(log.status(), ErrorCode::kInvalidValue));
  EXPECT_EQ(replayed, 3);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(MutationLogRecoveryTest, OpenMakesTheReplayedSegmentDurable) {
  WriteLog(Options(), 1, 3);
  std::unique_ptr<MutationLog> log = OpenLog(Options());
  ASSERT_NE(log, nullptr);
  // The newest segment may hold bytes that were never synced: Open rewrites
  // it (temporary file, sync, rename, directory sync) before starting
  // segment 2.
  std::vector<std::string> trace = fs_.trace();
  const auto rewrite = std::find(trace.begin(), trace.end(),
                                 "rename " + SegmentFile(1) + ".tmp");
  const auto start =
      std::find(trace.begin(), trace.end(), "create " + SegmentFile(2));
  ASSERT_NE(rewrite, trace.end());
  ASSERT_NE(start, trace.end());
  EXPECT_LT(rewrite, start);
  EXPECT_EQ(ReadBytes(SegmentFile(1)).size(), RecordOffset(3));
}

TEST_F(MutationLogRecoveryTest, OpenFailsOnAReadError) {
  WriteLog(Options(), 1, 3);
  fs_.set_hook([](FsOp op, const std::string&) {
    return op == FsOp::kRead ? log_testing::InjectedIoError("read error")
                             : absl::OkStatus();
  });
  absl::StatusOr<std::unique_ptr<MutationLog>> log = TryOpen(Options());
  ASSERT_FALSE(log.ok());
  EXPECT_TRUE(HasErrorCode(log.status(), ErrorCode::kIoError));
}

TEST(LogFormatTest, SegmentNamesRoundTripAndSortBySequence) {
  EXPECT_EQ(log_internal::SegmentName(1), "log.000000000001");
  EXPECT_EQ(log_internal::ParseSegmentName("log.000000000042"), 42u);
  EXPECT_LT(log_internal::SegmentName(9), log_internal::SegmentName(10));
  for (const char* bad : {"log.000000000000", "log.12", "log.00000000001x",
                          "log.0000000000012", "LOG.000000000001"}) {
    EXPECT_FALSE(log_internal::ParseSegmentName(bad).has_value()) << bad;
  }
  EXPECT_TRUE(log_internal::IsTempName("log.000000000003.tmp"));
  EXPECT_FALSE(log_internal::IsTempName("log.000000000003"));
}

TEST(LogFormatTest, RecordLayoutIsAsDocumented) {
  std::string record;
  log_internal::AppendRecord(&record, 0x0102, "ab");
  ASSERT_EQ(record.size(), EncodedRecordBytes(2));
  EXPECT_EQ(record.substr(0, 4), std::string("\0\0\0\2", 4));
  EXPECT_EQ(record.substr(16, 8), std::string("\0\0\0\0\0\0\1\2", 8));
  EXPECT_EQ(record.substr(24), "ab");
  // A zero-filled header never passes its check.
  EXPECT_NE(log_internal::HeaderCheck(0), 0u);
}

TEST(LogFormatTest, RecordWithDecreeZeroIsCorruption) {
  std::string data = log_internal::EncodeSegmentHeader(1);
  log_internal::AppendRecord(&data, 0, "x");
  absl::StatusOr<log_internal::ParsedSegment> parsed =
      log_internal::ParseSegment("f", 1, data, /*last=*/true);
  EXPECT_TRUE(HasErrorCode(parsed.status(), ErrorCode::kCorruption));
}

}  // namespace
}  // namespace pegasus
