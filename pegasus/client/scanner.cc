// Scanners: a hash key's rows, or a table's partitions, batch by batch,
// resuming after the last row returned when the server loses the scan's
// context.

#include <algorithm>
#include <utility>

#include "pegasus/base/status.h"
#include "pegasus/client/client.h"
#include "pegasus/client/internal/client_core.h"
#include "pegasus/storage/partition_types.h"

namespace pegasus {

using client_internal::StatusOf;

// One part of a scan: a partition (or the one a hash key routes to) and the
// range to scan in it.
struct ScanPart {
  // The partition; -1 when the hash key routes.
  int32_t partition = -1;
  std::string hash_key;
  proto::GetScannerRequest request;
};

struct Scanner::State : std::enable_shared_from_this<Scanner::State> {
  client_internal::TableCore* core = nullptr;
  std::vector<ScanPart> parts;
  size_t part = 0;
  OpOptions op;
  bool only_count = false;
  // The open context in the current part, or kScanContextCompleted when
  // the part needs a new scanner (from its start, or after the last row).
  int64_t context_id = kScanContextCompleted;
  bool started = false;
  std::optional<Row> last;
  bool busy = false;

  void Send(proto::DataRequest request, Callback<ScanBatch> done) {
    ScanPart& current = parts[part];
    client_internal::DataDone answer =
        [self = shared_from_this(), done = std::move(done)](
            absl::StatusOr<proto::DataResponse> response) mutable {
          self->OnAnswer(std::move(response), std::move(done));
        };
    if (current.partition >= 0) {
      core->SendToPartition(current.partition, std::move(request),
                            /*read=*/true, op, std::move(answer));
    } else {
      core->Send(current.hash_key, std::move(request), /*read=*/true, op,
                 std::move(answer));
    }
  }

  // A new scanner for the current part: from its start, or just after the
  // last row returned.
  proto::DataRequest Open() {
    proto::DataRequest request;
    proto::GetScannerRequest* scanner = request.mutable_get_scanner();
    *scanner = parts[part].request;
    if (last.has_value()) {
      if (scanner->has_hash_key_range()) {
        scanner->mutable_hash_key_range()->set_start_sort_key(last->sort_key);
        scanner->mutable_hash_key_range()->set_start_inclusive(false);
      } else {
        proto::PartitionRange* range = scanner->mutable_partition_range();
        range->set_start_hash_key(last->hash_key);
        range->set_start_sort_key(last->sort_key);
        range->set_start_inclusive(false);
      }
    }
    return request;
  }

  void Next(Callback<ScanBatch> done) {
    if (part >= parts.size()) return done(ScanBatch{{}, 0, true});
    proto::DataRequest request;
    if (context_id >= 0) {
      request.mutable_scan()->set_context_id(context_id);
    } else {
      request = Open();
    }
    Send(std::move(request), std::move(done));
  }

  void OnAnswer(absl::StatusOr<proto::DataResponse> response,
                Callback<ScanBatch> done) {
    if (!response.ok()) return done(response.status());
    const ErrorCode code = static_cast<ErrorCode>(response->error());
    if (code == ErrorCode::kNotFound &&
        response->context_id() == kScanContextNotExist) {
      // The context is gone: open a new scanner after the last row.
      if (only_count) {
        return done(PegasusError(
            ErrorCode::kNotFound,
            "the server lost a counting scan's context; count again"));
      }
      context_id = kScanContextCompleted;
      return Next(std::move(done));
    }
    if (code != ErrorCode::kOk) {
      return done(StatusOf(response->error(), response->error_message()));
    }
    ScanBatch batch;
    batch.count = response->kv_count();
    batch.rows.reserve(response->rows_size());
    for (const proto::FullKeyValue& row : response->rows()) {
      batch.rows.push_back(
          Row{row.hash_key(), row.sort_key(), row.value(), row.expire_ts_s()});
    }
    if (!batch.rows.empty()) last = batch.rows.back();
    if (!only_count) batch.count = static_cast<int64_t>(batch.rows.size());
    context_id = response->context_id();
    if (context_id < 0) {
      // This part is done; the next one starts from its beginning.
      ++part;
      last.reset();
      context_id = kScanContextCompleted;
    }
    batch.complete = part >= parts.size();
    done(std::move(batch));
  }
};

Scanner::Scanner(std::shared_ptr<State> state) : state_(std::move(state)) {}
Scanner::~Scanner() = default;

void Scanner::Next(Callback<ScanBatch> done) { state_->Next(std::move(done)); }

namespace {

void ApplyOptions(const ScanOptions& options,
                  proto::GetScannerRequest* request) {
  request->set_batch_size(options.batch_size);
  request->set_no_value(options.no_value);
  request->set_hash_key_filter_type(options.hash_key_filter_type);
  request->set_hash_key_filter_pattern(options.hash_key_filter_pattern);
  request->set_sort_key_filter_type(options.sort_key_filter_type);
  request->set_sort_key_filter_pattern(options.sort_key_filter_pattern);
  request->set_return_expire_ts(options.return_expire_ts);
  request->set_only_return_count(options.only_return_count);
}

}  // namespace

std::unique_ptr<Scanner> Table::GetScanner(std::string hash_key,
                                           std::string start_sort_key,
                                           std::string stop_sort_key,
                                           ScanOptions options) {
  auto state = std::make_shared<Scanner::State>();
  state->core = core_.get();
  state->op = options.op;
  state->only_count = options.only_return_count;
  ScanPart part;
  part.hash_key = hash_key;
  proto::HashKeyRange* range = part.request.mutable_hash_key_range();
  range->set_hash_key(std::move(hash_key));
  range->set_start_sort_key(std::move(start_sort_key));
  range->set_stop_sort_key(std::move(stop_sort_key));
  range->set_start_inclusive(options.start_inclusive);
  range->set_stop_inclusive(options.stop_inclusive);
  ApplyOptions(options, &part.request);
  state->parts.push_back(std::move(part));
  return std::unique_ptr<Scanner>(new Scanner(std::move(state)));
}

void Table::GetUnorderedScanners(
    int max_split_count, ScanOptions options,
    Callback<std::vector<std::unique_ptr<Scanner>>> done) {
  core_->client->Post([this, max_split_count, options = std::move(options),
                       done = std::move(done)]() mutable {
    if (max_split_count < 1) {
      return done(PegasusError(ErrorCode::kInvalidArgument,
                               "max_split_count must be >= 1"));
    }
    core_->resolver.Route(
        [this, max_split_count, options = std::move(options),
         done = std::move(done)](
            absl::StatusOr<client_internal::TableRoute> route) mutable {
          if (!route.ok()) return done(route.status());
          const int32_t partitions = route->partition_count;
          const int32_t count = std::min(max_split_count, partitions);
          std::vector<std::unique_ptr<Scanner>> scanners;
          for (int32_t s = 0; s < count; ++s) {
            auto state = std::make_shared<Scanner::State>();
            state->core = core_.get();
            state->op = options.op;
            state->only_count = options.only_return_count;
            // Partitions s, s + count, s + 2 * count, ...
            for (int32_t p = s; p < partitions; p += count) {
              ScanPart part;
              part.partition = p;
              proto::PartitionRange* range =
                  part.request.mutable_partition_range();
              range->set_start_inclusive(true);
              range->set_stop_inclusive(false);
              ApplyOptions(options, &part.request);
              state->parts.push_back(std::move(part));
            }
            scanners.push_back(
                std::unique_ptr<Scanner>(new Scanner(std::move(state))));
          }
          done(std::move(scanners));
        });
  });
}

}  // namespace pegasus
