// How a (hash key, sort key) pair is stored as one ordered storage key.
//
//   key = [u16 big-endian hash key length][hash key bytes][sort key bytes]
//
// All sort keys of one hash key are therefore contiguous and ordered bytewise,
// and HashKeyPrefix(h) .. PrefixSuccessor(HashKeyPrefix(h)) spans exactly the
// rows of hash key h. Routing hashes the hash key with Pegasus's CRC64 (the
// sort key when the hash key is empty), so partitions match Pegasus's.
//
// Thread-safety: pure functions.

#ifndef PEGASUS_BASE_KEY_SCHEMA_H_
#define PEGASUS_BASE_KEY_SCHEMA_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace pegasus {

// Longest hash key the format holds. Pegasus rejects a hash key whose length
// is >= 65535 bytes, so 64 KiB and over is always invalid.
inline constexpr size_t kMaxHashKeyBytes = 65534;

// Appends the storage key of (hash_key, sort_key) to *out.
// REQUIRES: hash_key.size() <= kMaxHashKeyBytes.
void AppendStorageKey(std::string* out, std::string_view hash_key,
                      std::string_view sort_key);

// The storage key of (hash_key, sort_key).
// REQUIRES: hash_key.size() <= kMaxHashKeyBytes.
std::string EncodeStorageKey(std::string_view hash_key,
                             std::string_view sort_key);

// The common prefix of every storage key under hash_key.
std::string HashKeyPrefix(std::string_view hash_key);

// The shortest key greater than every key starting with `prefix`: the prefix
// with its last byte that is not 0xFF incremented and what follows dropped.
// Returns "" when every byte is 0xFF (no such key: the range is unbounded).
std::string PrefixSuccessor(std::string_view prefix);

// Splits a storage key. Returns kDataLoss (PERR_CORRUPTION) when the key is
// shorter than its length prefix says; the views point into `key`.
absl::Status DecodeStorageKey(std::string_view key, std::string_view* hash_key,
                              std::string_view* sort_key);

// Pegasus's routing hash: CRC64 of the hash key, or of the sort key when the
// hash key is empty.
uint64_t KeyHash(std::string_view hash_key, std::string_view sort_key);

// The routing hash of a storage key (see KeyHash).
// REQUIRES: the key decodes (DecodeStorageKey returns OK).
uint64_t StorageKeyHash(std::string_view key);

}  // namespace pegasus

#endif  // PEGASUS_BASE_KEY_SCHEMA_H_
