#include "pegasus/base/key_schema.h"

#include <string>

#include "gtest/gtest.h"
#include "pegasus/base/crc64.h"
#include "pegasus/base/status.h"

namespace pegasus {
namespace {

TEST(KeySchemaTest, EncodesLengthPrefixHashKeyAndSortKey) {
  EXPECT_EQ(EncodeStorageKey("ab", "xyz"), std::string("\x00\x02" "abxyz", 7));
  EXPECT_EQ(EncodeStorageKey("", "s"), std::string("\x00\x00s", 3));
  std::string long_hash(300, 'h');
  std::string key = EncodeStorageKey(long_hash, "");
  EXPECT_EQ(key.substr(0, 2), std::string("\x01\x2c", 2));
}

TEST(KeySchemaTest, RoundTripsBinaryKeys) {
  std::string hash("\x00\xff\x01", 3);
  std::string sort("\xff\x00", 2);
  std::string key = EncodeStorageKey(hash, sort);
  std::string_view decoded_hash, decoded_sort;
  ASSERT_TRUE(DecodeStorageKey(key, &decoded_hash, &decoded_sort).ok());
  EXPECT_EQ(decoded_hash, hash);
  EXPECT_EQ(decoded_sort, sort);
}

TEST(KeySchemaTest, RoundTripsLongestHashKey) {
  std::string hash(kMaxHashKeyBytes, 'k');
  std::string key = EncodeStorageKey(hash, "s");
  std::string_view decoded_hash, decoded_sort;
  ASSERT_TRUE(DecodeStorageKey(key, &decoded_hash, &decoded_sort).ok());
  EXPECT_EQ(decoded_hash.size(), kMaxHashKeyBytes);
  EXPECT_EQ(decoded_sort, "s");
}

TEST(KeySchemaTest, RejectsMalformedKeys) {
  std::string_view hash, sort;
  for (std::string bad : {std::string(), std::string("\x00", 1),
                          std::string("\x00\x05" "abc", 5),
                          std::string("\xff\xff", 2)}) {
    absl::Status status = DecodeStorageKey(bad, &hash, &sort);
    EXPECT_EQ(ToErrorCode(status), ErrorCode::kCorruption) << bad.size();
  }
}

TEST(KeySchemaTest, SortKeysOfOneHashKeyAreContiguous) {
  std::string prefix = HashKeyPrefix("user");
  std::string end = PrefixSuccessor(prefix);
  for (std::string sort : {std::string(), std::string("a"), std::string("\xff\xff\xff", 3)}) {
    std::string key = EncodeStorageKey("user", sort);
    EXPECT_LE(prefix, key);
    EXPECT_LT(key, end);
  }
  // A longer hash key with the same leading bytes sorts outside the range.
  EXPECT_GE(EncodeStorageKey("user1", ""), end);
}

TEST(KeySchemaTest, PrefixSuccessorSkipsTrailingMaxBytes) {
  EXPECT_EQ(PrefixSuccessor("ab"), "ac");
  EXPECT_EQ(PrefixSuccessor(std::string("a\xff\xff", 3)), "b");
  EXPECT_EQ(PrefixSuccessor(std::string("\xff\xff", 2)), "");
  EXPECT_EQ(PrefixSuccessor(""), "");
}

TEST(KeySchemaTest, HashesHashKeyOrSortKeyWhenHashKeyIsEmpty) {
  EXPECT_EQ(KeyHash("hk", "sk"), Crc64("hk"));
  EXPECT_EQ(KeyHash("", "sk"), Crc64("sk"));
  EXPECT_EQ(StorageKeyHash(EncodeStorageKey("hk", "sk")), Crc64("hk"));
  EXPECT_EQ(StorageKeyHash(EncodeStorageKey("", "sk")), Crc64("sk"));
}

}  // namespace
}  // namespace pegasus
