#include "testing/sim/kv_client.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pegasus/base/key_schema.h"
#include "pegasus/base/status.h"
#include "pegasus/storage/data_codec.h"
#include "pegasus/storage/partition_types.h"
#include "testing/sim/kv_service.h"

namespace pegasus::sim {
namespace {

using checkers::Operation;
using checkers::OpKind;
using checkers::OpResult;

constexpr char kCounterSortKey[] = "n";

// Bounds of the workload's sort-key ranges: below, between and above the
// sort keys "n", "s0", "s1", ... (a range's stop may also be empty: the end
// of the hash key).
constexpr const char* kRangeBounds[] = {"m", "n", "s0", "s1", "s1~", "s2", "t"};

// A multi_get_range asks for this many rows, except one in four, which asks
// for 1 to 3 so the store sometimes cuts the answer short (PERR_INCOMPLETE).
constexpr int32_t kRangeMaxKvCount = 100;
constexpr double kSmallRangeLimitChance = 0.25;

bool IsRead(OpKind kind) {
  return kind == OpKind::kGet || kind == OpKind::kMultiGet ||
         kind == OpKind::kMultiGetRange || kind == OpKind::kSortkeyCount ||
         kind == OpKind::kExist;
}

}  // namespace

KvClient::KvClient(const ProcessEnv& env, int64_t client_id,
                   WorkloadOptions options,
                   std::function<NodeId(int32_t)> server_for, int64_t stop_ns,
                   std::vector<Operation>* history, std::optional<NodeId> meta)
    : env_(env),
      client_id_(client_id),
      options_(options),
      hashkeys_(WorkloadHashKeys(options)),
      server_for_(std::move(server_for)),
      stop_ns_(stop_ns),
      history_(history) {
  if (meta.has_value()) {
    ClientOptions client;
    client.meta = *meta;
    client.default_timeout_ns = options_.timeout_ns;
    client.read_attempt_timeout_ns = options_.timeout_ns / 2;
    client.meta_timeout_ns = options_.timeout_ns / 2;
    client_ = Client::Create(
        {env.clock, env.executor, env.transport, env.random}, client);
  } else {
    rpc_ = std::make_unique<RpcEndpoint>(env.transport, env.executor,
                                         env.random->Next64() | 1);
  }
  Next();
}

int32_t PartitionOf(std::string_view hashkey, int32_t partition_count) {
  return static_cast<int32_t>(KeyHash(hashkey, "") %
                              static_cast<uint64_t>(partition_count));
}

std::vector<std::string> WorkloadHashKeys(const WorkloadOptions& options) {
  const int partitions = std::max(1, options.partition_count);
  const int quota = (options.hashkeys + partitions - 1) / partitions;
  std::vector<int> taken(partitions, 0);
  std::vector<std::string> keys;
  // Candidates "h<n>#<n*n>" vary in more bits than "h<n>" alone.
  for (int64_t n = 0; static_cast<int>(keys.size()) < options.hashkeys; ++n) {
    std::string key = absl::StrCat("h", n, "#", n * n);
    int& count = taken[PartitionOf(key, partitions)];
    if (count >= quota) continue;
    ++count;
    keys.push_back(std::move(key));
  }
  return keys;
}

KvClient::~KvClient() {
  if (think_timer_ != kNoTimer) env_.executor->Cancel(think_timer_);
}

void KvClient::Abandon() {
  if (!in_flight_.has_value()) return;
  in_flight_->result = OpResult::kUnknown;
  in_flight_->return_ns = env_.clock->MonotonicNowNs();
  in_flight_->error = "PERR_TIMEOUT";
  history_->push_back(std::move(*in_flight_));
  in_flight_.reset();
}

void KvClient::Next(bool back_off) {
  int64_t think =
      options_.think_min_ns + env_.random->Exponential(options_.think_mean_ns);
  if (back_off) think += options_.timeout_ns;
  think_timer_ = env_.executor->ScheduleAfter(think, [this] {
    think_timer_ = kNoTimer;
    if (env_.clock->MonotonicNowNs() < stop_ns_) Issue();
  });
}

std::string KvClient::RandomSortKey() {
  return absl::StrCat("s", env_.random->Uniform(options_.sortkeys));
}

std::string KvClient::FreshValue() const {
  return absl::StrCat("v", client_id_, ".", sequence_);
}

int32_t KvClient::RandomCheckType() {
  static constexpr CheckType kChecks[] = {CheckType::kValueNotExist,
                                          CheckType::kValueExist,
                                          CheckType::kValueBytesEqual};
  return static_cast<int32_t>(kChecks[env_.random->Uniform(3)]);
}

// 1 to 3 mutations of the hash key's rows, a sort key possibly more than
// once (the last mutation of it wins); deletes may hit the counter.
void KvClient::MakeCheckAndMutate(Operation* op, proto::DataRequest* request) {
  Random& random = *env_.random;
  op->kind = OpKind::kCheckAndMutate;
  op->check_sortkey = RandomSortKey();
  op->check_type = RandomCheckType();
  if (op->check_type == static_cast<int32_t>(CheckType::kValueBytesEqual) &&
      !seen_.empty()) {
    op->check_operand = seen_[random.Uniform(seen_.size())];
  }
  op->return_check_value = random.Bernoulli(0.5);
  proto::CheckAndMutateRequest* cam = request->mutable_check_and_mutate();
  cam->set_hash_key(op->hashkey);
  cam->set_check_sort_key(op->check_sortkey);
  cam->set_check_type(op->check_type);
  cam->set_check_operand(op->check_operand);
  cam->set_return_check_value(op->return_check_value);
  const int mutations = 1 + static_cast<int>(random.Uniform(3));
  for (int i = 0; i < mutations; ++i) {
    proto::Mutate* mutate = cam->add_mutate_list();
    if (random.Bernoulli(0.3)) {
      op->sortkeys.push_back(random.Bernoulli(0.25)
                                 ? std::string(kCounterSortKey)
                                 : RandomSortKey());
      op->mutate_values.push_back(std::nullopt);
      mutate->set_operation(static_cast<int32_t>(MutateOperation::kDelete));
    } else {
      op->sortkeys.push_back(RandomSortKey());
      op->mutate_values.push_back(absl::StrCat(FreshValue(), ".", i));
      mutate->set_operation(static_cast<int32_t>(MutateOperation::kPut));
      mutate->set_value(*op->mutate_values.back());
    }
    mutate->set_sort_key(op->sortkeys.back());
  }
}

// The whole hash key half the time, else [start, stop) between random
// bounds (stop possibly the end of the hash key).
void KvClient::MakeMultiGetRange(Operation* op, proto::DataRequest* request) {
  Random& random = *env_.random;
  op->kind = OpKind::kMultiGetRange;
  if (random.Bernoulli(0.5)) {
    auto bound = [&] {
      return std::string(kRangeBounds[random.Uniform(std::size(kRangeBounds))]);
    };
    if (random.Bernoulli(0.7)) op->start_sortkey = bound();
    if (random.Bernoulli(0.7)) op->stop_sortkey = bound();
    if (!op->stop_sortkey.empty() && op->stop_sortkey < op->start_sortkey) {
      std::swap(op->start_sortkey, op->stop_sortkey);
    }
  }
  proto::MultiGetRequest* multi_get = request->mutable_multi_get();
  multi_get->set_hash_key(op->hashkey);
  multi_get->set_start_sort_key(op->start_sortkey);
  multi_get->set_stop_sort_key(op->stop_sortkey);
  multi_get->set_start_inclusive(true);
  multi_get->set_stop_inclusive(false);
  multi_get->set_max_kv_count(random.Bernoulli(kSmallRangeLimitChance)
                                  ? 1 + static_cast<int32_t>(random.Uniform(3))
                                  : kRangeMaxKvCount);
  multi_get->set_max_kv_size(1 << 20);
}

proto::DataRequest KvClient::MakeRequest(Operation* op) {
  Random& random = *env_.random;
  // Distinct sort keys, 2 or 3 of them, in a random order.
  auto some_sort_keys = [&](bool with_counter) {
    std::vector<std::string> keys;
    const int want = 2 + static_cast<int>(random.Uniform(2));
    for (int tries = 0; tries < 8 && static_cast<int>(keys.size()) < want;
         ++tries) {
      std::string key = with_counter && random.Bernoulli(0.25)
                            ? std::string(kCounterSortKey)
                            : RandomSortKey();
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        keys.push_back(std::move(key));
      }
    }
    return keys;
  };

  op->client = client_id_;
  op->hashkey = hashkeys_[random.Uniform(hashkeys_.size())];
  proto::DataRequest request;
  request.set_app_id(options_.app_id);
  request.set_partition_index(
      PartitionOf(op->hashkey, options_.partition_count));
  const uint64_t pick = random.Uniform(100);
  if (pick < 22) {
    op->kind = OpKind::kGet;
    op->sortkeys = {random.Bernoulli(0.2) ? std::string(kCounterSortKey)
                                          : RandomSortKey()};
    request.mutable_get()->set_hash_key(op->hashkey);
    request.mutable_get()->set_sort_key(op->sortkeys[0]);
  } else if (pick < 35) {
    op->kind = OpKind::kSet;
    op->sortkeys = {RandomSortKey()};
    op->values = {FreshValue()};
    proto::PutRequest* put = request.mutable_put();
    put->set_hash_key(op->hashkey);
    put->set_sort_key(op->sortkeys[0]);
    put->set_value(op->values[0]);
  } else if (pick < 41) {
    op->kind = OpKind::kDel;
    op->sortkeys = {random.Bernoulli(0.2) ? std::string(kCounterSortKey)
                                          : RandomSortKey()};
    request.mutable_remove()->set_hash_key(op->hashkey);
    request.mutable_remove()->set_sort_key(op->sortkeys[0]);
  } else if (pick < 49) {
    op->kind = OpKind::kIncr;
    op->sortkeys = {kCounterSortKey};
    op->increment = random.UniformIn(-3, 5);
    proto::IncrRequest* incr = request.mutable_incr();
    incr->set_hash_key(op->hashkey);
    incr->set_sort_key(kCounterSortKey);
    incr->set_increment(op->increment);
  } else if (pick < 58) {
    op->kind = OpKind::kCheckAndSet;
    op->check_sortkey = RandomSortKey();
    op->check_type = RandomCheckType();
    if (op->check_type == static_cast<int32_t>(CheckType::kValueBytesEqual) &&
        !seen_.empty()) {
      op->check_operand = seen_[random.Uniform(seen_.size())];
    }
    op->set_sortkey =
        random.Bernoulli(0.5) ? op->check_sortkey : RandomSortKey();
    op->set_value = FreshValue();
    op->return_check_value = random.Bernoulli(0.5);
    proto::CheckAndSetRequest* cas = request.mutable_check_and_set();
    cas->set_hash_key(op->hashkey);
    cas->set_check_sort_key(op->check_sortkey);
    cas->set_check_type(op->check_type);
    cas->set_check_operand(op->check_operand);
    cas->set_set_diff_sort_key(op->set_sortkey != op->check_sortkey);
    cas->set_set_sort_key(op->set_sortkey);
    cas->set_set_value(op->set_value);
    cas->set_return_check_value(op->return_check_value);
  } else if (pick < 67) {
    op->kind = OpKind::kMultiGet;
    op->sortkeys = some_sort_keys(/*with_counter=*/true);
    proto::MultiGetRequest* multi_get = request.mutable_multi_get();
    multi_get->set_hash_key(op->hashkey);
    for (const std::string& key : op->sortkeys) multi_get->add_sort_keys(key);
    multi_get->set_max_kv_count(100);
    multi_get->set_max_kv_size(1 << 20);
  } else if (pick < 76) {
    op->kind = OpKind::kMultiSet;
    op->sortkeys = some_sort_keys(/*with_counter=*/false);
    proto::MultiPutRequest* multi_put = request.mutable_multi_put();
    multi_put->set_hash_key(op->hashkey);
    for (const std::string& key : op->sortkeys) {
      op->values.push_back(absl::StrCat(FreshValue(), ".", key));
      proto::KeyValue* kv = multi_put->add_kvs();
      kv->set_key(key);
      kv->set_value(op->values.back());
    }
  } else if (pick < 81) {
    op->kind = OpKind::kMultiDel;
    op->sortkeys = some_sort_keys(/*with_counter=*/true);
    proto::MultiRemoveRequest* multi_remove = request.mutable_multi_remove();
    multi_remove->set_hash_key(op->hashkey);
    for (const std::string& key : op->sortkeys) {
      multi_remove->add_sort_keys(key);
    }
  } else if (pick < 87) {
    MakeCheckAndMutate(op, &request);
  } else if (pick < 93) {
    MakeMultiGetRange(op, &request);
  } else if (pick < 96) {
    op->kind = OpKind::kSortkeyCount;
    request.mutable_sortkey_count()->set_hash_key(op->hashkey);
  } else {
    // Pegasus's exist is a ttl request: found or PERR_NOT_FOUND.
    op->kind = OpKind::kExist;
    op->sortkeys = {random.Bernoulli(0.2) ? std::string(kCounterSortKey)
                                          : RandomSortKey()};
    request.mutable_ttl()->set_hash_key(op->hashkey);
    request.mutable_ttl()->set_sort_key(op->sortkeys[0]);
  }
  return request;
}

void KvClient::Issue() {
  if (client_ != nullptr && table_ == nullptr) {
    client_->OpenTable(options_.table, [this](absl::StatusOr<Table*> table) {
      if (!table.ok()) return Next(/*back_off=*/true);
      table_ = *table;
      Issue();
    });
    return;
  }
  ++sequence_;
  Operation op;
  proto::DataRequest request = MakeRequest(&op);
  op.call_ns = env_.clock->MonotonicNowNs();
  in_flight_ = std::move(op);
  if (client_ == nullptr) {
    Send(server_for_(request.partition_index()), request);
    return;
  }
  table_->Send(std::move(request), IsRead(in_flight_->kind),
               [this](absl::StatusOr<proto::DataResponse> response) {
                 Complete(std::move(response));
               });
}

void KvClient::Send(NodeId to, const proto::DataRequest& request) {
  const bool read = IsRead(in_flight_->kind);
  CallOptions call;
  // Reads are idempotent, so they may be retried; writes are not.
  call.max_attempts = read ? 2 : 1;
  call.timeout_ns = options_.timeout_ns / call.max_attempts;
  rpc_->Call(to, kDataMethod, request.SerializeAsString(), call,
             [this](absl::StatusOr<std::string> response) {
               if (!response.ok()) return Complete(response.status());
               proto::DataResponse answer;
               if (!answer.ParseFromString(*response)) {
                 return Complete(PegasusError(ErrorCode::kInvalidArgument,
                                              "response does not parse"));
               }
               Complete(std::move(answer));
             });
}

void KvClient::Complete(absl::StatusOr<proto::DataResponse> response) {
  if (!in_flight_.has_value()) return;
  Operation op = std::move(*in_flight_);
  in_flight_.reset();
  op.return_ns = env_.clock->MonotonicNowNs();
  absl::Status status = response.status();
  proto::DataResponse answer;
  if (status.ok()) {
    answer = *std::move(response);
    status = StatusFromProto(answer);
  }
  const ErrorCode code = ToErrorCode(status);
  const bool absent_ok =
      (op.kind == OpKind::kGet || op.kind == OpKind::kExist) &&
      code == ErrorCode::kNotFound;
  // A check that does not pass is an answer, not a failure (Pegasus reports
  // it as PERR_TRY_AGAIN with check_succeeded false); so is a range read cut
  // short at a limit, with the rows it got (PERR_INCOMPLETE).
  const bool check_failed_ok =
      (op.kind == OpKind::kCheckAndSet || op.kind == OpKind::kCheckAndMutate) &&
      code == ErrorCode::kTryAgain;
  const bool incomplete_ok =
      op.kind == OpKind::kMultiGetRange && code == ErrorCode::kIncomplete;
  if (!status.ok() && !absent_ok && !check_failed_ok && !incomplete_ok) {
    // A timeout or an aborted call may have taken effect (the C++ client
    // answers PERR_TIMEOUT for an unanswered write, and when its deadline
    // passed); any other error is the server refusing the operation, which
    // then changed nothing.
    op.result = code == ErrorCode::kTimeout || code == ErrorCode::kAborted
                    ? OpResult::kUnknown
                    : OpResult::kFailed;
    op.error = std::string(ErrorCodeName(code));
  } else {
    op.result = OpResult::kOk;
    switch (op.kind) {
      case OpKind::kGet:
        op.read = {absent_ok ? std::nullopt : std::optional(answer.value())};
        if (!absent_ok) seen_.push_back(answer.value());
        break;
      case OpKind::kMultiGet:
        for (const std::string& key : op.sortkeys) {
          std::optional<std::string> value;
          for (const proto::KeyValue& kv : answer.kvs()) {
            if (kv.key() == key) value = kv.value();
          }
          if (value.has_value()) seen_.push_back(*value);
          op.read.push_back(std::move(value));
        }
        break;
      case OpKind::kMultiGetRange:
        for (const proto::KeyValue& kv : answer.kvs()) {
          op.read_sortkeys.push_back(kv.key());
          op.read.push_back(kv.value());
          seen_.push_back(kv.value());
        }
        op.incomplete = incomplete_ok;
        break;
      case OpKind::kSortkeyCount:
        op.count = answer.count();
        break;
      case OpKind::kExist:
        op.exists = !absent_ok;
        break;
      case OpKind::kIncr:
        op.new_value = answer.new_value();
        break;
      case OpKind::kCheckAndSet:
      case OpKind::kCheckAndMutate:
        op.check_succeeded = answer.check_succeeded();
        if (op.return_check_value && answer.check_value_returned() &&
            answer.check_value_exist()) {
          op.check_value = answer.check_value();
        }
        break;
      default:
        break;
    }
    if (seen_.size() > 64) seen_.erase(seen_.begin(), seen_.begin() + 32);
  }
  const bool back_off = op.result == OpResult::kUnknown;
  history_->push_back(std::move(op));
  Next(back_off);
}

}  // namespace pegasus::sim
