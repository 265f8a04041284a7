// An ordered list of puts and deletes of storage keys, applied atomically by
// StorageEngine::Apply. Operations are packed into one buffer, so a batch
// that is Clear()ed and reused allocates nothing in steady state.
//
// Thread-safety: not thread-safe; one owner at a time.

#ifndef PEGASUS_STORAGE_WRITE_BATCH_H_
#define PEGASUS_STORAGE_WRITE_BATCH_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "pegasus/base/check.h"

namespace pegasus {

class WriteBatch {
 public:
  enum class OpKind : uint8_t { kPut = 1, kDelete = 2 };

  struct Op {
    OpKind kind;
    std::string_view key;
    std::string_view value;  // Empty for deletes.
  };

  void Put(std::string_view key, std::string_view value) {
    Add(OpKind::kPut, key, value);
  }
  void Delete(std::string_view key) { Add(OpKind::kDelete, key, {}); }

  void Clear() {
    rep_.clear();
    count_ = 0;
    payload_bytes_ = 0;
  }

  size_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Bytes of keys and values held (framing excluded).
  size_t payload_bytes() const { return payload_bytes_; }

  // Calls fn(const Op&) for each operation in the order added. The views are
  // valid until the batch is next modified.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    size_t pos = 0;
    while (pos < rep_.size()) {
      Op op;
      op.kind = static_cast<OpKind>(rep_[pos++]);
      op.key = ReadField(&pos);
      op.value = ReadField(&pos);
      fn(op);
    }
  }

 private:
  // Each operation is [kind u8][key size u32][key][value size u32][value],
  // sizes in host byte order (the buffer never leaves the process).
  void Add(OpKind kind, std::string_view key, std::string_view value) {
    rep_.push_back(static_cast<char>(kind));
    AppendField(key);
    AppendField(value);
    ++count_;
    payload_bytes_ += key.size() + value.size();
  }

  void AppendField(std::string_view field) {
    PEGASUS_CHECK_LE(field.size(), uint64_t{UINT32_MAX}) << "a key or value over 4 GiB";
    auto size = static_cast<uint32_t>(field.size());
    rep_.append(reinterpret_cast<const char*>(&size), sizeof(size));
    rep_.append(field);
  }

  std::string_view ReadField(size_t* pos) const {
    uint32_t size;
    std::memcpy(&size, rep_.data() + *pos, sizeof(size));
    std::string_view field(rep_.data() + *pos + sizeof(size), size);
    *pos += sizeof(size) + size;
    return field;
  }

  std::string rep_;
  size_t count_ = 0;
  size_t payload_bytes_ = 0;
};

}  // namespace pegasus

#endif  // PEGASUS_STORAGE_WRITE_BATCH_H_
