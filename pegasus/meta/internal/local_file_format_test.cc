#include "pegasus/meta/internal/local_file_format.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/coding.h"
#include "pegasus/base/crc64.h"
#include "pegasus/base/status.h"

namespace pegasus::meta_internal {
namespace {

using Map = std::map<std::string, std::string>;

constexpr std::string_view kPath = "/meta/meta_store.log";

// A file holding the header and the records, in order.
std::string File(const std::vector<std::pair<std::string, std::string>>& kvs) {
  std::string file = EncodeFileHeader();
  for (const auto& [key, value] : kvs) AppendRecord(&file, key, value);
  return file;
}

void ExpectCorruptAt(std::string_view data, size_t offset) {
  absl::StatusOr<ParsedFile> parsed = ParseFile(kPath, data);
  ASSERT_FALSE(parsed.ok());
  EXPECT_TRUE(HasErrorCode(parsed.status(), ErrorCode::kCorruption))
      << parsed.status();
  const std::string message(parsed.status().message());
  EXPECT_NE(message.find(std::string(kPath)), std::string::npos) << message;
  EXPECT_NE(message.find("at offset " + std::to_string(offset) + ":"),
            std::string::npos)
      << message;
}

TEST(LocalFileFormatTest, HeaderIsMagicVersionAndCheck) {
  std::string expected = "PGMETAKV";
  PutBigEndian32(&expected, 2);
  PutBigEndian32(&expected, static_cast<uint32_t>(Crc64(expected)));
  EXPECT_EQ(EncodeFileHeader(), expected);
  EXPECT_EQ(EncodeFileHeader().size(), kFileHeaderBytes);
}

TEST(LocalFileFormatTest, RecordIsLengthsCheckCrcKeyValue) {
  std::string expected;
  PutBigEndian32(&expected, 3);
  PutBigEndian32(&expected, 5);
  PutBigEndian32(&expected, static_cast<uint32_t>(Crc64(expected)));
  PutBigEndian64(&expected, Crc64("keyvalue"));
  expected += "keyvalue";
  std::string record;
  AppendRecord(&record, "key", "value");
  EXPECT_EQ(record, expected);
  EXPECT_EQ(static_cast<int64_t>(record.size()), EncodedRecordBytes(3, 5));
}

TEST(LocalFileFormatTest, HeaderCheckOfZeroLengthsIsNotZero) {
  EXPECT_NE(HeaderCheck(0, 0), 0u);
}

TEST(LocalFileFormatTest, TheLastRecordOfAKeyHoldsItsValue) {
  const std::string data =
      File({{"a", "1"}, {"b", "2"}, {"a", "3"}, {"", ""}, {"b", ""}});
  absl::StatusOr<ParsedFile> parsed = ParseFile(kPath, data);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->live, (Map{{"", ""}, {"a", "3"}, {"b", ""}}));
  EXPECT_EQ(parsed->valid_bytes, data.size());
  EXPECT_FALSE(parsed->torn_tail);
}

TEST(LocalFileFormatTest, AHeaderAloneIsAnEmptyStore) {
  absl::StatusOr<ParsedFile> parsed = ParseFile(kPath, EncodeFileHeader());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->live.empty());
  EXPECT_EQ(parsed->valid_bytes, kFileHeaderBytes);
}

TEST(LocalFileFormatTest, EveryCutInsideTheLastRecordIsATornTail) {
  const std::string before = File({{"a", "1"}, {"b", "2"}});
  const std::string data = File({{"a", "1"}, {"b", "2"}, {"c", "three"}});
  for (size_t size = before.size() + 1; size < data.size(); ++size) {
    SCOPED_TRACE(size);
    absl::StatusOr<ParsedFile> parsed = ParseFile(kPath, data.substr(0, size));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_TRUE(parsed->torn_tail);
    EXPECT_EQ(parsed->valid_bytes, before.size());
    EXPECT_EQ(parsed->live, (Map{{"a", "1"}, {"b", "2"}}));
  }
}

TEST(LocalFileFormatTest, ZerosToTheEndAreATornTail) {
  const std::string data = File({{"a", "1"}});
  absl::StatusOr<ParsedFile> parsed =
      ParseFile(kPath, data + std::string(100, '\0'));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->torn_tail);
  EXPECT_EQ(parsed->valid_bytes, data.size());
  EXPECT_EQ(parsed->live, (Map{{"a", "1"}}));
}

TEST(LocalFileFormatTest, AnIncompleteFileHeaderIsCorruption) {
  // The file is only ever created whole, so a short header is damage.
  for (size_t size = 0; size < kFileHeaderBytes; ++size) {
    SCOPED_TRACE(size);
    ExpectCorruptAt(EncodeFileHeader().substr(0, size), 0);
  }
}

TEST(LocalFileFormatTest, AWrongMagicOrVersionIsCorruption) {
  std::string magic = "PGMETAKX";
  PutBigEndian32(&magic, 1);
  PutBigEndian32(&magic, static_cast<uint32_t>(Crc64(magic)));
  ExpectCorruptAt(magic, 0);
  for (uint32_t unknown : {0u, 3u}) {
    std::string version = "PGMETAKV";
    PutBigEndian32(&version, unknown);
    PutBigEndian32(&version, static_cast<uint32_t>(Crc64(version)));
    ExpectCorruptAt(version, 0);
  }
}

// A version 1 header: files written before deletion records existed.
std::string VersionOneHeader() {
  std::string header = "PGMETAKV";
  PutBigEndian32(&header, 1);
  PutBigEndian32(&header, static_cast<uint32_t>(Crc64(header)));
  return header;
}

TEST(LocalFileFormatTest,
     DeletionRecordIsLengthsWithAllOnesValueLengthCheckCrcOfKeyKey) {
  std::string expected;
  PutBigEndian32(&expected, 3);
  PutBigEndian32(&expected, 0xffffffff);
  PutBigEndian32(&expected, static_cast<uint32_t>(Crc64(expected)));
  PutBigEndian64(&expected, Crc64("key"));
  expected += "key";
  std::string record;
  AppendDeletion(&record, "key");
  EXPECT_EQ(record, expected);
  EXPECT_EQ(static_cast<int64_t>(record.size()), EncodedDeletionBytes(3));
}

TEST(LocalFileFormatTest, ADeletionRecordRemovesItsKeyUntilWrittenAgain) {
  std::string data = File({{"a", "1"}, {"b", "2"}});
  AppendDeletion(&data, "a");
  AppendDeletion(&data, "never");
  absl::StatusOr<ParsedFile> parsed = ParseFile(kPath, data);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->live, (Map{{"b", "2"}}));
  AppendRecord(&data, "a", "3");
  parsed = ParseFile(kPath, data);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->live, (Map{{"a", "3"}, {"b", "2"}}));
  EXPECT_EQ(parsed->valid_bytes, data.size());
}

TEST(LocalFileFormatTest, EveryCutInsideALastDeletionIsATornTail) {
  const std::string before = File({{"a", "1"}});
  std::string data = before;
  AppendDeletion(&data, "a");
  for (size_t size = before.size() + 1; size < data.size(); ++size) {
    SCOPED_TRACE(size);
    absl::StatusOr<ParsedFile> parsed = ParseFile(kPath, data.substr(0, size));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_TRUE(parsed->torn_tail);
    EXPECT_EQ(parsed->live, (Map{{"a", "1"}}));
  }
}

TEST(LocalFileFormatTest, AVersionOneFileReadsButHoldsNoDeletions) {
  std::string data = VersionOneHeader();
  AppendRecord(&data, "a", "1");
  absl::StatusOr<ParsedFile> parsed = ParseFile(kPath, data);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->live, (Map{{"a", "1"}}));
  const size_t deletion_at = data.size();
  AppendDeletion(&data, "a");
  ExpectCorruptAt(data, deletion_at);
}

TEST(LocalFileFormatTest, AWholeLastRecordFailingItsChecksumIsCorruption) {
  const std::string before = File({{"a", "1"}});
  std::string data = File({{"a", "1"}, {"b", "2"}});
  data.back() ^= 1;
  ExpectCorruptAt(data, before.size());
}

TEST(LocalFileFormatTest, ADamagedLengthIsCorruptionNotATornTail) {
  const std::string before = File({{"a", "1"}});
  std::string data = File({{"a", "1"}, {"b", "2"}});
  // A value length grown past the end of the file would look torn without
  // the header check.
  data[before.size() + 4] = 0x01;
  ExpectCorruptAt(data, before.size());
}

TEST(LocalFileFormatTest, ALengthOverTheLimitIsCorruption) {
  std::string data = EncodeFileHeader();
  const uint32_t value_length =
      static_cast<uint32_t>(kMaxRecordPayloadBytes);  // Plus a 1-byte key.
  PutBigEndian32(&data, 1);
  PutBigEndian32(&data, value_length);
  PutBigEndian32(&data, HeaderCheck(1, value_length));
  PutBigEndian64(&data, 0);
  ExpectCorruptAt(data, kFileHeaderBytes);
}

TEST(LocalFileFormatTest, ARecordClaimingExactlyTheLimitIsNotCorruption) {
  // Its header claims exactly the limit; with its body missing it is a torn
  // write, not corruption.
  std::string data = EncodeFileHeader();
  const uint32_t value_length =
      static_cast<uint32_t>(kMaxRecordPayloadBytes) - 1;
  PutBigEndian32(&data, 1);
  PutBigEndian32(&data, value_length);
  PutBigEndian32(&data, HeaderCheck(1, value_length));
  PutBigEndian64(&data, 0);
  absl::StatusOr<ParsedFile> parsed = ParseFile(kPath, data + "k");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->torn_tail);
  EXPECT_EQ(parsed->valid_bytes, kFileHeaderBytes);
}

TEST(LocalFileFormatTest, DamageBeforeTheLastRecordIsCorruption) {
  const std::string first = File({{"a", "1"}});
  std::string data = File({{"a", "1"}, {"b", "2"}, {"c", "3"}});
  data[first.size() + kRecordHeaderBytes] ^= 0x40;  // The key "b".
  ExpectCorruptAt(data, first.size());
}

}  // namespace
}  // namespace pegasus::meta_internal
