// The Table operations beyond the basic reads and writes: check_and_mutate,
// del_range, sortkey_count, ttl, exist, multi_get_sortkeys and batch_get.

#include <algorithm>
#include <map>
#include <utility>

#include "pegasus/base/status.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/client/client.h"
#include "pegasus/client/internal/client_core.h"
#include "pegasus/storage/partition_types.h"

namespace pegasus {
namespace {

using client_internal::StatusOf;

// Rows a del_range reads and deletes per page.
constexpr int32_t kDelRangePage = 1000;

}  // namespace

void Table::CheckAndMutate(std::string hash_key, std::string check_sort_key,
                           int32_t check_type, std::string operand,
                           std::vector<Mutation> mutations,
                           CheckAndMutateOptions options,
                           Callback<CheckAndSetResult> done) {
  proto::DataRequest request;
  proto::CheckAndMutateRequest* cam = request.mutable_check_and_mutate();
  cam->set_hash_key(hash_key);
  cam->set_check_sort_key(std::move(check_sort_key));
  cam->set_check_type(check_type);
  cam->set_check_operand(std::move(operand));
  cam->set_return_check_value(options.return_check_value);
  const int64_t now_us = core_->client->env.clock->WallNowUs();
  for (Mutation& mutation : mutations) {
    proto::Mutate* mutate = cam->add_mutate_list();
    mutate->set_operation(static_cast<int32_t>(mutation.op == Mutation::Op::kSet
                                                   ? MutateOperation::kPut
                                                   : MutateOperation::kDelete));
    mutate->set_sort_key(std::move(mutation.sort_key));
    if (mutation.op == Mutation::Op::kSet) {
      mutate->set_value(std::move(mutation.value));
      mutate->set_set_expire_ts_s(ExpireTsFromTtl(now_us, mutation.ttl_s));
    }
  }
  core_->Send(std::move(hash_key), std::move(request), /*read=*/false,
              options.op, client_internal::ToCheckAndSet(std::move(done)));
}

namespace {

// One del_range: pages of sort keys read without values, each deleted,
// until a page comes back complete.
struct DelRangeRun : std::enable_shared_from_this<DelRangeRun> {
  Table* table;
  std::string hash_key;
  std::string start;
  std::string stop;
  DelRangeOptions options;
  int64_t deleted = 0;
  Callback<int64_t> done;

  void NextPage(bool start_inclusive) {
    proto::MultiGetRequest page;
    page.set_hash_key(hash_key);
    page.set_start_sort_key(start);
    page.set_stop_sort_key(stop);
    page.set_start_inclusive(start_inclusive);
    page.set_stop_inclusive(options.stop_inclusive);
    page.set_sort_key_filter_type(options.sort_key_filter_type);
    page.set_sort_key_filter_pattern(options.sort_key_filter_pattern);
    page.set_no_value(true);
    page.set_max_kv_count(kDelRangePage);
    table->MultiGetRange(
        std::move(page),
        [self = shared_from_this()](absl::StatusOr<MultiGetResult> rows) {
          self->OnPage(std::move(rows));
        },
        options.op);
  }

  void OnPage(absl::StatusOr<MultiGetResult> rows) {
    if (!rows.ok()) return done(rows.status());
    if (rows->kvs.empty()) return done(deleted);
    std::vector<std::string> sort_keys;
    sort_keys.reserve(rows->kvs.size());
    for (auto& [sort_key, value] : rows->kvs) sort_keys.push_back(sort_key);
    start = sort_keys.back();
    const bool last = rows->complete;
    const int64_t count = static_cast<int64_t>(sort_keys.size());
    table->MultiDel(
        hash_key, std::move(sort_keys),
        [self = shared_from_this(), last, count](absl::Status status) {
          if (!status.ok()) return self->done(status);
          self->deleted += count;
          if (last) return self->done(self->deleted);
          self->NextPage(/*start_inclusive=*/false);
        },
        options.op);
  }
};

}  // namespace

void Table::DelRange(std::string hash_key, std::string start_sort_key,
                     std::string stop_sort_key, DelRangeOptions options,
                     Callback<int64_t> done) {
  auto run = std::make_shared<DelRangeRun>();
  run->table = this;
  run->hash_key = std::move(hash_key);
  run->start = std::move(start_sort_key);
  run->stop = std::move(stop_sort_key);
  run->options = std::move(options);
  run->done = std::move(done);
  run->NextPage(run->options.start_inclusive);
}

void Table::SortKeyCount(std::string hash_key, Callback<int64_t> done,
                         OpOptions options) {
  proto::DataRequest request;
  request.mutable_sortkey_count()->set_hash_key(hash_key);
  core_->Send(std::move(hash_key), std::move(request), /*read=*/true, options,
              client_internal::Answering<int64_t>(
                  std::move(done), [](proto::DataResponse& response) {
                    return response.count();
                  }));
}

void Table::Ttl(std::string hash_key, std::string sort_key,
                Callback<int32_t> done, OpOptions options) {
  proto::DataRequest request;
  request.mutable_ttl()->set_hash_key(hash_key);
  request.mutable_ttl()->set_sort_key(std::move(sort_key));
  core_->Send(std::move(hash_key), std::move(request), /*read=*/true, options,
              client_internal::Answering<int32_t>(
                  std::move(done), [](proto::DataResponse& response) {
                    return response.ttl_s();
                  }));
}

void Table::Exist(std::string hash_key, std::string sort_key,
                  Callback<bool> done, OpOptions options) {
  Ttl(
      std::move(hash_key), std::move(sort_key),
      [done = std::move(done)](absl::StatusOr<int32_t> ttl) mutable {
        if (ttl.ok()) return done(true);
        if (ToErrorCode(ttl.status()) == ErrorCode::kNotFound) {
          return done(false);
        }
        done(ttl.status());
      },
      options);
}

void Table::MultiGetSortKeys(std::string hash_key, int32_t max_kv_count,
                             int32_t max_kv_size, Callback<MultiGetResult> done,
                             OpOptions options) {
  proto::MultiGetRequest request;
  request.set_hash_key(std::move(hash_key));
  request.set_no_value(true);
  request.set_start_inclusive(true);
  request.set_max_kv_count(max_kv_count);
  request.set_max_kv_size(max_kv_size);
  MultiGetRange(std::move(request), std::move(done), options);
}

namespace {

// One batch_get: a request per partition; answered when every partition
// has answered, or at the first error.
struct BatchGetRun {
  std::vector<BatchGetItem> items;
  // Per partition, the indexes into items it was asked for.
  std::map<int32_t, std::vector<size_t>> asked;
  size_t waiting = 0;
  bool answered = false;
  Callback<std::vector<BatchGetItem>> done;
};

}  // namespace

void Table::BatchGet(std::vector<std::pair<std::string, std::string>> keys,
                     Callback<std::vector<BatchGetItem>> done,
                     OpOptions options) {
  auto run = std::make_shared<BatchGetRun>();
  run->done = std::move(done);
  for (auto& [hash_key, sort_key] : keys) {
    run->items.push_back(
        BatchGetItem{std::move(hash_key), std::move(sort_key), std::nullopt});
  }
  core_->client->Post([core = core_.get(), run, options]() mutable {
    for (const BatchGetItem& item : run->items) {
      if (absl::Status valid = client_internal::CheckHashKey(item.hash_key);
          !valid.ok()) {
        return run->done(valid);
      }
    }
    if (run->items.empty()) return run->done(std::move(run->items));
    core->resolver.Route([core, run,
                          options](absl::StatusOr<client_internal::TableRoute>
                                       route) mutable {
      if (!route.ok()) return run->done(route.status());
      for (size_t i = 0; i < run->items.size(); ++i) {
        run->asked[PartitionOfHashKey(run->items[i].hash_key,
                                      route->partition_count)]
            .push_back(i);
      }
      run->waiting = run->asked.size();
      for (const auto& [partition, indexes] : run->asked) {
        proto::DataRequest request;
        proto::BatchGetRequest* batch = request.mutable_batch_get();
        for (size_t i : indexes) {
          proto::FullKey* key = batch->add_keys();
          key->set_hash_key(run->items[i].hash_key);
          key->set_sort_key(run->items[i].sort_key);
        }
        core->SendToPartition(
            partition, std::move(request), /*read=*/true, options,
            [run, partition =
                      partition](absl::StatusOr<proto::DataResponse> response) {
              if (run->answered) return;
              absl::Status status = response.status();
              if (status.ok()) {
                status = StatusOf(response->error(), response->error_message());
              }
              if (!status.ok()) {
                run->answered = true;
                return run->done(status);
              }
              // Found rows come in request order; missing ones are left
              // out, so match them up in order.
              const std::vector<size_t>& indexes = run->asked[partition];
              size_t next = 0;
              for (const proto::FullKeyValue& row : response->rows()) {
                while (next < indexes.size() &&
                       (run->items[indexes[next]].hash_key != row.hash_key() ||
                        run->items[indexes[next]].sort_key != row.sort_key())) {
                  ++next;
                }
                if (next == indexes.size()) break;
                run->items[indexes[next]].value = row.value();
                ++next;
              }
              if (--run->waiting == 0) {
                run->answered = true;
                run->done(std::move(run->items));
              }
            });
      }
    });
  });
}

}  // namespace pegasus
