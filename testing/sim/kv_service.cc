#include "testing/sim/kv_service.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "pegasus/base/check.h"
#include "pegasus/base/coding.h"
#include "pegasus/base/crc64.h"
#include "pegasus/base/status.h"
#include "pegasus/storage/data_codec.h"
#include "pegasus/storage/memory/memory_engine.h"
#include "pegasus/storage/partition.h"

namespace pegasus::sim {
namespace {

// Log record: [u32 n][u64 crc64 of the n payload bytes][payload], payload =
// [u64 decree][i64 timestamp_us][serialized DataRequest].
constexpr size_t kRecordHeaderBytes = 4 + 8;
constexpr size_t kPayloadHeaderBytes = 8 + 8;
constexpr char kLogPrefix[] = "log.";

std::string EncodeRecord(Decree decree, int64_t timestamp_us,
                         const std::string& request) {
  std::string payload;
  payload.reserve(kPayloadHeaderBytes + request.size());
  PutBigEndian64(&payload, static_cast<uint64_t>(decree));
  PutBigEndian64(&payload, static_cast<uint64_t>(timestamp_us));
  payload += request;
  std::string record;
  record.reserve(kRecordHeaderBytes + payload.size());
  PutBigEndian32(&record, static_cast<uint32_t>(payload.size()));
  PutBigEndian64(&record, Crc64(payload));
  record += payload;
  return record;
}

std::string PartitionDir(int32_t partition) {
  return absl::StrCat("/data/p", partition);
}

}  // namespace

struct KvService::PartitionState {
  int32_t index = 0;
  std::string dir;
  std::unique_ptr<StorageEngine> engine;
  std::unique_ptr<Partition> partition;
  std::unique_ptr<WritableFile> log;
  Decree last_decree = kNoDecree;
  // The planted stale cache: (hash key, sort key) -> value last read.
  std::map<std::pair<std::string, std::string>, std::optional<std::string>>
      cache;
};

KvService::KvService(const ProcessEnv& env, const KvServiceOptions& options)
    : env_(env),
      options_(options),
      rpc_(env.transport, env.executor, env.random->Next64() | 1) {}

KvService::~KvService() {
  if (checkpoint_timer_ != kNoTimer) env_.executor->Cancel(checkpoint_timer_);
}

absl::StatusOr<std::unique_ptr<KvService>> KvService::Start(
    const ProcessEnv& env, const KvServiceOptions& options) {
  PEGASUS_CHECK(env.file_system != nullptr);
  std::unique_ptr<KvService> service(new KvService(env, options));
  PEGASUS_RETURN_IF_ERROR(service->Recover());
  service->rpc_.RegisterHandler(
      kDataMethod, [raw = service.get()](NodeId, std::string request,
                                         RpcEndpoint::Responder responder) {
        raw->Handle(std::move(request), std::move(responder));
      });
  service->ScheduleCheckpoint();
  return service;
}

absl::Status KvService::Recover() {
  for (int32_t index : options_.partitions) {
    auto state = std::make_unique<PartitionState>();
    state->index = index;
    state->dir = PartitionDir(index);
    PEGASUS_RETURN_IF_ERROR(RecoverPartition(state.get()));
    partitions_.push_back(std::move(state));
  }
  return absl::OkStatus();
}

absl::Status KvService::RecoverPartition(PartitionState* state) {
  FileSystem* fs = env_.file_system;
  PEGASUS_RETURN_IF_ERROR(fs->CreateDirs(state->dir));
  MemoryEngineOptions engine_options;
  engine_options.file_system = fs;
  engine_options.clock = env_.clock;
  PEGASUS_ASSIGN_OR_RETURN(
      state->engine, OpenMemoryEngine(state->dir + "/engine", engine_options));
  state->partition =
      std::make_unique<Partition>(state->engine.get(), PartitionOptions{});
  state->last_decree = state->engine->LastAppliedDecree();

  PEGASUS_ASSIGN_OR_RETURN(std::vector<std::string> names,
                           fs->ListDir(state->dir));
  std::vector<std::pair<int64_t, std::string>> logs;
  for (const std::string& name : names) {
    int64_t first = 0;
    if (name.rfind(kLogPrefix, 0) == 0 &&
        absl::SimpleAtoi(name.substr(sizeof(kLogPrefix) - 1), &first)) {
      logs.emplace_back(first, state->dir + "/" + name);
    }
  }
  std::sort(logs.begin(), logs.end());
  for (size_t i = 0; i < logs.size(); ++i) {
    const std::string& path = logs[i].second;
    PEGASUS_ASSIGN_OR_RETURN(std::string data, fs->ReadFile(path));
    size_t offset = 0;
    while (offset < data.size()) {
      const size_t left = data.size() - offset;
      const uint32_t n =
          left >= 4 ? DecodeBigEndian32(data.data() + offset) : 0;
      if (left < kRecordHeaderBytes || n > left - kRecordHeaderBytes) {
        // Incomplete: a torn last write, acceptable only at the very end.
        if (i + 1 != logs.size()) {
          return PegasusError(ErrorCode::kCorruption,
                              path + ": incomplete record before the last log");
        }
        ++stats_.torn_records;
        break;
      }
      const std::string_view payload(data.data() + offset + kRecordHeaderBytes,
                                     n);
      if (n < kPayloadHeaderBytes ||
          Crc64(payload) != DecodeBigEndian64(data.data() + offset + 4)) {
        return PegasusError(
            ErrorCode::kCorruption,
            absl::StrCat(path, ": bad record at offset ", offset));
      }
      offset += kRecordHeaderBytes + n;
      const auto decree =
          static_cast<Decree>(DecodeBigEndian64(payload.data()));
      const auto timestamp_us =
          static_cast<int64_t>(DecodeBigEndian64(payload.data() + 8));
      if (decree <= state->last_decree) continue;
      if (decree != state->last_decree + 1) {
        return PegasusError(ErrorCode::kCorruption,
                            absl::StrCat(path, ": decree ", decree, " after ",
                                         state->last_decree));
      }
      proto::DataRequest request;
      if (!request.ParseFromArray(payload.data() + kPayloadHeaderBytes,
                                  static_cast<int>(n - kPayloadHeaderBytes)) ||
          !IsWrite(request)) {
        return PegasusError(
            ErrorCode::kCorruption,
            absl::StrCat(path, ": unreadable request at decree ", decree));
      }
      PEGASUS_ASSIGN_OR_RETURN(WriteRequest write,
                               WriteRequestFromProto(request));
      PEGASUS_RETURN_IF_ERROR(
          state->partition->ApplyMutation(decree, timestamp_us, {&write, 1})
              .status());
      state->last_decree = decree;
      ++stats_.replayed;
    }
  }
  // What was replayed is flushed, so the old logs can go.
  PEGASUS_RETURN_IF_ERROR(state->engine->Flush());
  return StartNewLog(state);
}

absl::Status KvService::StartNewLog(PartitionState* state) {
  FileSystem* fs = env_.file_system;
  PEGASUS_ASSIGN_OR_RETURN(std::vector<std::string> names,
                           fs->ListDir(state->dir));
  const std::string name = absl::StrCat(kLogPrefix, state->last_decree + 1);
  if (state->log != nullptr) PEGASUS_RETURN_IF_ERROR(state->log->Close());
  PEGASUS_ASSIGN_OR_RETURN(state->log,
                           fs->NewWritableFile(state->dir + "/" + name));
  PEGASUS_RETURN_IF_ERROR(fs->SyncDir(state->dir));
  // Everything in the older logs is in the flushed engine state.
  for (const std::string& old : names) {
    if (old.rfind(kLogPrefix, 0) == 0 && old != name) {
      PEGASUS_RETURN_IF_ERROR(fs->DeleteFile(state->dir + "/" + old));
    }
  }
  return fs->SyncDir(state->dir);
}

void KvService::ScheduleCheckpoint() {
  checkpoint_timer_ =
      env_.executor->ScheduleAfter(options_.checkpoint_interval_ns, [this] {
        checkpoint_timer_ = kNoTimer;
        Checkpoint();
      });
}

void KvService::Checkpoint() {
  for (auto& state : partitions_) {
    if (state->last_decree == state->engine->LastDurableDecree()) continue;
    absl::Status status = state->engine->Flush();
    if (status.ok()) status = StartNewLog(state.get());
    if (!status.ok()) {
      FailStop("checkpoint", status);
      return;
    }
    ++stats_.checkpoints;
  }
  ScheduleCheckpoint();
}

void KvService::FailStop(const std::string& what, const absl::Status& status) {
  env_.fail_stop(what + ": " + status.ToString());
}

void KvService::Handle(std::string request_bytes,
                       RpcEndpoint::Responder responder) {
  proto::DataRequest request;
  if (!request.ParseFromString(request_bytes)) {
    responder.Reply(
        PegasusError(ErrorCode::kInvalidArgument, "request does not parse"));
    return;
  }
  PartitionState* state = nullptr;
  for (auto& candidate : partitions_) {
    if (candidate->index == request.partition_index()) state = candidate.get();
  }
  if (request.app_id() != options_.app_id || state == nullptr) {
    responder.Reply(PegasusError(
        ErrorCode::kObjectNotFound,
        absl::StrCat("partition ", request.app_id(), ".",
                     request.partition_index(), " is not served here")));
    return;
  }
  if (IsWrite(request)) {
    HandleWrite(state, request, std::move(responder));
  } else {
    HandleRead(state, request, std::move(responder));
  }
}

void KvService::HandleWrite(PartitionState* state,
                            const proto::DataRequest& request,
                            RpcEndpoint::Responder responder) {
  proto::DataResponse response;
  absl::StatusOr<WriteRequest> write = WriteRequestFromProto(request);
  absl::Status valid =
      write.ok() ? state->partition->ValidateWrite(*write) : write.status();
  if (!valid.ok()) {
    StatusToProto(valid, &response);
    responder.Reply(response.SerializeAsString());
    return;
  }
  const Decree decree = state->last_decree + 1;
  const int64_t timestamp_us = env_.clock->WallNowUs();
  absl::Status logged = state->log->Append(
      EncodeRecord(decree, timestamp_us, request.SerializeAsString()));
  if (logged.ok() && options_.planted_bug != PlantedBug::kAckBeforeSync) {
    logged = state->log->Sync();
  }
  if (!logged.ok()) {
    FailStop("log append", logged);
    return;
  }
  absl::StatusOr<std::vector<WriteResponse>> applied =
      state->partition->ApplyMutation(decree, timestamp_us, {&*write, 1});
  if (!applied.ok()) {
    FailStop("apply", applied.status());
    return;
  }
  state->last_decree = decree;
  ++stats_.writes;
  WriteResponseToProto(applied->front(), &response);
  responder.Reply(response.SerializeAsString());
}

void KvService::HandleRead(PartitionState* state,
                           const proto::DataRequest& request,
                           RpcEndpoint::Responder responder) {
  ++stats_.reads;
  proto::DataResponse response;
  const int64_t now_us = env_.clock->WallNowUs();
  switch (request.op_case()) {
    case proto::DataRequest::kGet: {
      const proto::GetRequest& get = request.get();
      auto key = std::make_pair(get.hash_key(), get.sort_key());
      if (options_.planted_bug == PlantedBug::kStaleCache) {
        auto cached = state->cache.find(key);
        if (cached != state->cache.end() && env_.random->Bernoulli(0.5)) {
          ++stats_.stale_answers;
          if (cached->second.has_value()) {
            response.set_value(*cached->second);
          } else {
            StatusToProto(PegasusError(ErrorCode::kNotFound, "not found"),
                          &response);
          }
          break;
        }
      }
      GetResponse got =
          state->partition->Get(get.hash_key(), get.sort_key(), now_us);
      if (options_.planted_bug == PlantedBug::kStaleCache) {
        state->cache[key] =
            got.status.ok() ? std::optional(got.value) : std::nullopt;
      }
      GetResponseToProto(got, &response);
      break;
    }
    default:
      response = ServeDataRead(*state->partition, request, now_us);
  }
  responder.Reply(response.SerializeAsString());
}

}  // namespace pegasus::sim
