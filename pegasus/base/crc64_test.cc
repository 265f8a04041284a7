#include "pegasus/base/crc64.h"

#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace pegasus {
namespace {

// One bit at a time from the definition: an independent check on the table.
uint64_t BitwiseCrc64(std::string_view data) {
  uint64_t crc = ~uint64_t{0};
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 1) ? (crc >> 1) ^ 0x9a6c9329ac4bc9b5ULL : crc >> 1;
    }
  }
  return ~crc;
}

TEST(Crc64Test, MatchesTheStandardCheckValue) {
  // The catalogued check value of CRC-64/NVME, whose parameters these are.
  EXPECT_EQ(Crc64("123456789"), 0xae8b14860a799888ULL);
}

TEST(Crc64Test, EmptyInputIsZero) { EXPECT_EQ(Crc64(""), 0u); }

TEST(Crc64Test, MatchesBitwiseDefinition) {
  std::string data;
  for (int i = 0; i < 300; ++i) {
    data.push_back(static_cast<char>(i * 37 + 11));
    ASSERT_EQ(Crc64(data), BitwiseCrc64(data)) << "length " << data.size();
  }
}

// Eight bytes at a time, from any alignment, and split anywhere.
TEST(Crc64Test, MatchesBitwiseDefinitionAtEveryAlignmentAndSplit) {
  std::string data;
  for (int i = 0; i < 1100; ++i) data.push_back(static_cast<char>(i * 131 + 7));
  for (size_t start = 0; start < 8; ++start) {
    for (size_t length : {0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1024}) {
      const std::string_view piece =
          std::string_view(data).substr(start, length);
      const uint64_t want = BitwiseCrc64(piece);
      ASSERT_EQ(Crc64(piece), want) << start << "+" << length;
      for (size_t split : {size_t{1}, size_t{5}, length / 2}) {
        if (split > length) continue;
        ASSERT_EQ(
            Crc64Extend(Crc64(piece.substr(0, split)), piece.substr(split)),
            want)
            << start << "+" << length << " split at " << split;
      }
    }
  }
}

TEST(Crc64Test, ExtendEqualsWholeInput) {
  std::string a = "hash_key_";
  std::string b = std::string("\0\xff\x80 tail", 9);
  EXPECT_EQ(Crc64Extend(Crc64(a), b), Crc64(a + b));
}

TEST(Crc64Test, DistinguishesSingleBitFlips) {
  std::string data = "pegasus";
  uint64_t original = Crc64(data);
  for (size_t i = 0; i < data.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = data;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      EXPECT_NE(Crc64(flipped), original);
    }
  }
}

}  // namespace
}  // namespace pegasus

namespace pegasus {
namespace {

TEST(Crc64Test, RoutesLikePegasusClients) {
  // Pegasus's Go client test routes hash key "a" to partition 4 of 8.
  EXPECT_EQ(Crc64("a") % 8, 4u);
  EXPECT_EQ(Crc64("a"), 0x8c2f8445b4cbfc3cULL);
  EXPECT_EQ(Crc64("abc"), 0x05e5cabb3fc1faebULL);
  EXPECT_EQ(Crc64("hello"), 0x3377857006524257ULL);
}

}  // namespace
}  // namespace pegasus
