#include "pegasus/base/key_schema.h"

#include "pegasus/base/check.h"
#include "pegasus/base/coding.h"
#include "pegasus/base/crc64.h"
#include "pegasus/base/status.h"

namespace pegasus {

void AppendStorageKey(std::string* out, std::string_view hash_key,
                      std::string_view sort_key) {
  PEGASUS_CHECK_LE(hash_key.size(), kMaxHashKeyBytes);
  out->reserve(out->size() + 2 + hash_key.size() + sort_key.size());
  PutBigEndian16(out, static_cast<uint16_t>(hash_key.size()));
  out->append(hash_key);
  out->append(sort_key);
}

std::string EncodeStorageKey(std::string_view hash_key,
                             std::string_view sort_key) {
  std::string key;
  AppendStorageKey(&key, hash_key, sort_key);
  return key;
}

std::string HashKeyPrefix(std::string_view hash_key) {
  return EncodeStorageKey(hash_key, "");
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string next(prefix);
  while (!next.empty()) {
    auto last = static_cast<unsigned char>(next.back());
    if (last != 0xFF) {
      next.back() = static_cast<char>(last + 1);
      return next;
    }
    next.pop_back();
  }
  return next;
}

absl::Status DecodeStorageKey(std::string_view key, std::string_view* hash_key,
                              std::string_view* sort_key) {
  if (key.size() < 2) {
    return PegasusError(ErrorCode::kCorruption,
                        "storage key shorter than its 2-byte length prefix");
  }
  size_t length = DecodeBigEndian16(key.data());
  if (key.size() - 2 < length) {
    return PegasusError(ErrorCode::kCorruption,
                        "storage key shorter than its hash key length says");
  }
  *hash_key = key.substr(2, length);
  *sort_key = key.substr(2 + length);
  return absl::OkStatus();
}

uint64_t KeyHash(std::string_view hash_key, std::string_view sort_key) {
  return Crc64(hash_key.empty() ? sort_key : hash_key);
}

uint64_t StorageKeyHash(std::string_view key) {
  std::string_view hash_key, sort_key;
  PEGASUS_CHECK_OK(DecodeStorageKey(key, &hash_key, &sort_key));
  return KeyHash(hash_key, sort_key);
}

}  // namespace pegasus
