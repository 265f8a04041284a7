#include "pegasus/base/value_schema.h"

#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"

namespace pegasus {
namespace {

constexpr int64_t kUnix2020Us = 1577836800LL * 1000000;  // 2020-01-01.

TEST(ValueSchemaTest, EncodesBigEndianHeaderThenUserData) {
  std::string value = EncodeValue(0x01020304, 0x0a0b0c0d0e0f1011ULL, "data");
  EXPECT_EQ(value, std::string("\x01\x02\x03\x04"
                               "\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11"
                               "data",
                               16));
}

TEST(ValueSchemaTest, RoundTrips) {
  std::string user("\x00\xffvalue", 7);
  std::string value = EncodeValue(12345, 678, user);
  absl::StatusOr<ValueFields> fields = DecodeValue(value);
  ASSERT_TRUE(fields.ok());
  EXPECT_EQ(fields->expire_ts, 12345u);
  EXPECT_EQ(fields->timetag, 678u);
  EXPECT_EQ(fields->user_data, user);
}

TEST(ValueSchemaTest, EmptyUserDataIsValid) {
  absl::StatusOr<ValueFields> fields = DecodeValue(EncodeValue(0, 0, ""));
  ASSERT_TRUE(fields.ok());
  EXPECT_TRUE(fields->user_data.empty());
}

TEST(ValueSchemaTest, RejectsValuesShorterThanHeader) {
  for (size_t size = 0; size < kValueHeaderBytes; ++size) {
    absl::StatusOr<ValueFields> fields = DecodeValue(std::string(size, 'x'));
    EXPECT_EQ(ToErrorCode(fields.status()), ErrorCode::kCorruption) << size;
  }
}

TEST(ValueSchemaTest, PegasusSecondsCountFrom2016) {
  EXPECT_EQ(PegasusSecondsFromUnixMicros(kEpochBeginUnixSeconds * 1000000), 0u);
  EXPECT_EQ(PegasusSecondsFromUnixMicros(kUnix2020Us), 1577836800u - 1451606400u);
  EXPECT_EQ(PegasusSecondsFromUnixMicros(0), 0u);
  EXPECT_EQ(PegasusSecondsFromUnixMicros(std::numeric_limits<int64_t>::max()),
            std::numeric_limits<uint32_t>::max());
}

TEST(ValueSchemaTest, ExpireTsFromTtl) {
  uint32_t now = PegasusSecondsFromUnixMicros(kUnix2020Us);
  EXPECT_EQ(ExpireTsFromTtl(kUnix2020Us, 60), now + 60);
  EXPECT_EQ(ExpireTsFromTtl(kUnix2020Us, 0), 0u);
  EXPECT_EQ(ExpireTsFromTtl(kUnix2020Us, -5), 0u);
}

TEST(ValueSchemaTest, ExpiryIsInclusiveAndZeroNeverExpires) {
  EXPECT_FALSE(IsExpired(0, 4000000000u));
  EXPECT_FALSE(IsExpired(100, 99));
  EXPECT_TRUE(IsExpired(100, 100));
  EXPECT_TRUE(IsExpired(100, 101));
}

TEST(ValueSchemaTest, TimetagPacksTimestampClusterAndDeleteFlag) {
  uint64_t tag = MakeTimetag(0x123456, 5, true);
  EXPECT_EQ(tag >> 8, 0x123456u);
  EXPECT_EQ((tag >> 1) & 0x7F, 5u);
  EXPECT_EQ(tag & 1, 1u);
  EXPECT_EQ(MakeTimetag(1, 0x7F, false), (1u << 8) | (0x7Fu << 1));
}

}  // namespace
}  // namespace pegasus
