// The write half of Partition: validation and ApplyMutation.

#include <map>
#include <optional>
#include <type_traits>

#include "pegasus/base/key_schema.h"
#include "pegasus/base/status.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/storage/partition.h"
#include "pegasus/storage/predicates.h"

namespace pegasus {
namespace {

// Bytes a request carries in keys, values and operands: what the size limit
// counts.
uint64_t PayloadBytes(const WriteRequest& request) {
  return std::visit(
      [](const auto& r) -> uint64_t {
        using T = std::decay_t<decltype(r)>;
        uint64_t bytes = r.hash_key.size();
        if constexpr (std::is_same_v<T, PutRequest>) {
          bytes += r.sort_key.size() + r.value.size();
        } else if constexpr (std::is_same_v<T, MultiPutRequest>) {
          for (const KeyValue& kv : r.kvs) bytes += kv.key.size() + kv.value.size();
        } else if constexpr (std::is_same_v<T, RemoveRequest>) {
          bytes += r.sort_key.size();
        } else if constexpr (std::is_same_v<T, MultiRemoveRequest>) {
          for (const std::string& key : r.sort_keys) bytes += key.size();
        } else if constexpr (std::is_same_v<T, IncrRequest>) {
          bytes += r.sort_key.size() + sizeof(r.increment);
        } else if constexpr (std::is_same_v<T, CheckAndSetRequest>) {
          bytes += r.check_sort_key.size() + r.check_operand.size() +
                   r.set_sort_key.size() + r.set_value.size();
        } else {
          static_assert(std::is_same_v<T, CheckAndMutateRequest>);
          bytes += r.check_sort_key.size() + r.check_operand.size();
          for (const Mutate& m : r.mutate_list) bytes += m.sort_key.size() + m.value.size();
        }
        return bytes;
      },
      request);
}

absl::Status ValidateShape(const WriteRequest& request) {
  if (const auto* r = std::get_if<MultiPutRequest>(&request)) {
    if (r->kvs.empty()) {
      return PegasusError(ErrorCode::kInvalidValue, "multi_put needs at least one sort key");
    }
  } else if (const auto* r = std::get_if<MultiRemoveRequest>(&request)) {
    if (r->sort_keys.empty()) {
      return PegasusError(ErrorCode::kInvalidValue,
                          "multi_remove needs at least one sort key");
    }
  } else if (const auto* r = std::get_if<CheckAndSetRequest>(&request)) {
    return ValidateCheckType(r->check_type);
  } else if (const auto* r = std::get_if<CheckAndMutateRequest>(&request)) {
    if (r->mutate_list.empty()) {
      return PegasusError(ErrorCode::kInvalidArgument,
                          "check_and_mutate needs at least one mutation");
    }
    for (const Mutate& mutate : r->mutate_list) {
      if (mutate.operation != MutateOperation::kPut &&
          mutate.operation != MutateOperation::kDelete) {
        return PegasusError(ErrorCode::kInvalidArgument,
                            "unknown mutate operation " +
                                std::to_string(static_cast<int>(mutate.operation)));
      }
    }
    return ValidateCheckType(r->check_type);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Partition::ValidateWrite(const WriteRequest& request) const {
  PEGASUS_RETURN_IF_ERROR(ValidateHashKey(
      std::visit([](const auto& r) -> std::string_view { return r.hash_key; }, request)));
  uint64_t bytes = PayloadBytes(request);
  if (options_.max_write_size_bytes != 0 && bytes > options_.max_write_size_bytes) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        "write request of " + std::to_string(bytes) +
                            " bytes exceeds max_write_size_bytes (" +
                            std::to_string(options_.max_write_size_bytes) + ")");
  }
  return ValidateShape(request);
}

// Evaluates one mutation's requests against the engine plus the writes of
// the requests before them, collecting every effect into one batch.
class Partition::MutationWriter {
 public:
  // `reads_rows`: whether any request of the mutation reads a row (incr and
  // the checks); only then must later requests see earlier writes.
  MutationWriter(const StorageEngine* engine, int64_t timestamp_us,
                 uint8_t cluster_id, uint32_t default_ttl_s, bool reads_rows)
      : engine_(engine),
        reads_rows_(reads_rows),
        now_s_(PegasusSecondsFromUnixMicros(timestamp_us)),
        timetag_(MakeTimetag(timestamp_us, cluster_id, /*delete_flag=*/false)),
        default_ttl_s_(default_ttl_s) {}

  const WriteBatch& batch() const { return batch_; }

  // Not OK when reading the partition failed: the mutation must not apply,
  // since replicas that read successfully would diverge from this one.
  const absl::Status& fatal() const { return fatal_; }

  void Execute(const PutRequest& r, WriteResponse* /*response*/) {
    Put(r.hash_key, r.sort_key, r.value, r.expire_ts_s);
  }

  void Execute(const MultiPutRequest& r, WriteResponse* /*response*/) {
    for (const KeyValue& kv : r.kvs) Put(r.hash_key, kv.key, kv.value, r.expire_ts_s);
  }

  void Execute(const RemoveRequest& r, WriteResponse* /*response*/) {
    Remove(r.hash_key, r.sort_key);
  }

  void Execute(const MultiRemoveRequest& r, WriteResponse* response) {
    for (const std::string& sort_key : r.sort_keys) Remove(r.hash_key, sort_key);
    response->count = static_cast<int64_t>(r.sort_keys.size());
  }

  void Execute(const IncrRequest& r, WriteResponse* response) {
    std::optional<ValueFields> current;
    if (!Read(r.hash_key, r.sort_key, &current)) return;
    int64_t base = 0;
    uint32_t expire_ts = r.expire_ts_s > 0 ? static_cast<uint32_t>(r.expire_ts_s) : 0;
    if (current.has_value()) {
      if (!current->user_data.empty()) {
        std::optional<int64_t> parsed = ParseInt64(current->user_data);
        if (!parsed.has_value()) {
          response->status = PegasusError(ErrorCode::kInvalidArgument,
                                          "incr: the stored value is not an integer");
          return;
        }
        base = *parsed;
      }
      if (r.expire_ts_s == 0) expire_ts = current->expire_ts;
    }
    int64_t sum;
    if (__builtin_add_overflow(base, r.increment, &sum)) {
      response->new_value = base;
      response->status = PegasusError(ErrorCode::kInvalidArgument,
                                      "incr: the result overflows int64");
      return;
    }
    Put(r.hash_key, r.sort_key, std::to_string(sum), expire_ts);
    response->new_value = sum;
  }

  void Execute(const CheckAndSetRequest& r, WriteResponse* response) {
    if (!Check(r.hash_key, r.check_sort_key, r.check_type, r.check_operand,
               r.return_check_value, response)) {
      return;
    }
    Put(r.hash_key, r.set_diff_sort_key ? r.set_sort_key : r.check_sort_key,
        r.set_value, r.set_expire_ts_s);
  }

  void Execute(const CheckAndMutateRequest& r, WriteResponse* response) {
    if (!Check(r.hash_key, r.check_sort_key, r.check_type, r.check_operand,
               r.return_check_value, response)) {
      return;
    }
    for (const Mutate& mutate : r.mutate_list) {
      if (mutate.operation == MutateOperation::kPut) {
        Put(r.hash_key, mutate.sort_key, mutate.value, mutate.set_expire_ts_s);
      } else {
        Remove(r.hash_key, mutate.sort_key);
      }
    }
  }

 private:
  void Put(std::string_view hash_key, std::string_view sort_key,
           std::string_view value, uint32_t expire_ts) {
    if (expire_ts == 0 && default_ttl_s_ != 0) {
      expire_ts = ExpireTsAfter(now_s_, default_ttl_s_);
    }
    std::string key = EncodeStorageKey(hash_key, sort_key);
    std::string encoded = EncodeValue(expire_ts, timetag_, value);
    batch_.Put(key, encoded);
    if (reads_rows_) pending_[std::move(key)] = std::move(encoded);
  }

  void Remove(std::string_view hash_key, std::string_view sort_key) {
    std::string key = EncodeStorageKey(hash_key, sort_key);
    batch_.Delete(key);
    if (reads_rows_) pending_[std::move(key)] = std::nullopt;
  }

  // Reads a row as this mutation sees it so far: *fields is empty when the
  // row is missing or expired. Returns false (with fatal() set) on error.
  bool Read(std::string_view hash_key, std::string_view sort_key,
            std::optional<ValueFields>* fields) {
    std::string key = EncodeStorageKey(hash_key, sort_key);
    const std::string* stored = nullptr;
    if (auto it = pending_.find(key); it != pending_.end()) {
      if (!it->second.has_value()) return true;
      stored = &*it->second;
    } else {
      absl::Status read = engine_->Get(key, &scratch_);
      if (HasErrorCode(read, ErrorCode::kNotFound)) return true;
      if (!read.ok()) {
        fatal_ = read;
        return false;
      }
      stored = &scratch_;
    }
    absl::StatusOr<ValueFields> decoded = DecodeValue(*stored);
    if (!decoded.ok()) {
      fatal_ = decoded.status();
      return false;
    }
    if (!IsExpired(decoded->expire_ts, now_s_)) *fields = *decoded;
    return true;
  }

  // Runs a check_and_set / check_and_mutate check, filling the check fields
  // of *response. Returns true when the mutations should be applied.
  bool Check(std::string_view hash_key, std::string_view check_sort_key,
             CheckType type, std::string_view operand, bool return_check_value,
             WriteResponse* response) {
    std::optional<ValueFields> current;
    if (!Read(hash_key, check_sort_key, &current)) return false;
    std::string_view value = current.has_value() ? current->user_data : "";
    if (return_check_value) {
      response->check_value_returned = true;
      if (current.has_value()) {
        response->check_value_exist = true;
        response->check_value = std::string(value);
      }
    }
    switch (EvaluateCheck(type, operand, current.has_value(), value)) {
      case CheckResult::kPassed:
        response->check_succeeded = true;
        return true;
      case CheckResult::kFailed:
        response->status = PegasusError(ErrorCode::kTryAgain, "check failed");
        return false;
      case CheckResult::kInvalidArgument:
        response->status = PegasusError(
            ErrorCode::kInvalidArgument,
            "integer check on a value or operand that is not an integer");
        return false;
    }
    return false;
  }

  const StorageEngine* engine_;
  const bool reads_rows_;
  const uint32_t now_s_;
  const uint64_t timetag_;
  const uint32_t default_ttl_s_;
  WriteBatch batch_;
  // Rows this mutation has written so far: encoded value, or nullopt when
  // removed.
  std::map<std::string, std::optional<std::string>, std::less<>> pending_;
  std::string scratch_;
  absl::Status fatal_;
};

absl::StatusOr<std::vector<WriteResponse>> Partition::ApplyMutation(
    Decree decree, int64_t timestamp_us, std::span<const WriteRequest> requests) {
  bool reads_rows = false;
  for (const WriteRequest& request : requests) {
    reads_rows |= std::holds_alternative<IncrRequest>(request) ||
                  std::holds_alternative<CheckAndSetRequest>(request) ||
                  std::holds_alternative<CheckAndMutateRequest>(request);
  }
  MutationWriter writer(engine_, timestamp_us, options_.cluster_id,
                        default_ttl_s_.load(), reads_rows);
  std::vector<WriteResponse> responses(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    WriteResponse& response = responses[i];
    response.decree = decree;
    response.status = ValidateWrite(requests[i]);
    if (!response.status.ok()) continue;
    std::visit([&](const auto& r) { writer.Execute(r, &response); }, requests[i]);
    PEGASUS_RETURN_IF_ERROR(writer.fatal());
  }
  PEGASUS_RETURN_IF_ERROR(engine_->Apply(decree, writer.batch()));
  return responses;
}

}  // namespace pegasus
