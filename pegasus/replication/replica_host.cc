#include "pegasus/replication/replica_host.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/proto/partition_config.h"
#include "pegasus/replication/checkpoint_blob.h"
#include "pegasus/replication/wire.h"
#include "pegasus/storage/data_codec.h"
#include "pegasus/storage/partition.h"

namespace pegasus::replication {
namespace {

constexpr char kCurrentData[] = "current_data";
constexpr char kBallotFile[] = "ballot";

// Reads a small file holding one non-negative number; 0 when it is absent.
absl::StatusOr<int64_t> ReadNumberFile(FileSystem* fs,
                                       const std::string& path) {
  if (!fs->FileExists(path)) return 0;
  PEGASUS_ASSIGN_OR_RETURN(std::string text, fs->ReadFile(path));
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < 0) {
    return PegasusError(ErrorCode::kCorruption, path + " is unreadable");
  }
  return value;
}

std::string ReplicaDirName(Gpid gpid) {
  return absl::StrCat(gpid.app_id, ".", gpid.partition_index);
}

bool ParseReplicaDirName(const std::string& name, Gpid* gpid) {
  std::vector<std::string> parts = absl::StrSplit(name, '.');
  return parts.size() == 2 && absl::SimpleAtoi(parts[0], &gpid->app_id) &&
         absl::SimpleAtoi(parts[1], &gpid->partition_index) &&
         gpid->app_id > 0 && gpid->partition_index >= 0;
}

}  // namespace

struct ReplicaHost::Hosted {
  struct Client {
    proto::DataRequest request;
    RpcEndpoint::Responder responder;
    int64_t since_ns = 0;
  };

  Gpid gpid;
  std::string dir;
  int64_t data_generation = 0;
  std::unique_ptr<StorageEngine> engine;
  std::unique_ptr<Partition> partition;
  std::unique_ptr<MutationLog> log;
  std::unique_ptr<Replica> replica;
  std::map<ClientToken, Client> clients;
  bool stopped = false;

  std::string data_dir() const {
    return absl::StrCat(dir, "/data.", data_generation);
  }
};

ReplicaHost::ReplicaHost(const ReplicaHostOptions& options)
    : options_(options),
      rpc_(options.env.transport, options.env.executor,
           options.env.random->Next64() | 1) {}

ReplicaHost::~ReplicaHost() {
  *alive_ = false;
  for (const Periodic& periodic : periodic_) {
    options_.env.executor->Cancel(periodic.timer);
  }
  rpc_.Shutdown();
}

absl::StatusOr<std::unique_ptr<ReplicaHost>> ReplicaHost::Start(
    const ReplicaHostOptions& options) {
  const HostEnv& env = options.env;
  if (env.clock == nullptr || env.executor == nullptr ||
      env.transport == nullptr || env.file_system == nullptr ||
      env.random == nullptr || !options.open_engine) {
    return PegasusError(
        ErrorCode::kInvalidArgument,
        "replica host: every seam and open_engine are required");
  }
  if (options.lease_ns <= options.beacon_interval_ns) {
    return PegasusError(
        ErrorCode::kInvalidArgument,
        "replica host: lease_ns must exceed beacon_interval_ns");
  }
  PEGASUS_RETURN_IF_ERROR(ValidateReplicaOptions(options.replica));
  std::unique_ptr<ReplicaHost> host(new ReplicaHost(options));
  PEGASUS_RETURN_IF_ERROR(host->RecoverAll());
  host->RegisterHandlers();
  host->periodic_ = {
      {options.tick_interval_ns, &ReplicaHost::Tick},
      {options.beacon_interval_ns, &ReplicaHost::SendBeacon},
      {options.config_sync_interval_ns, &ReplicaHost::SyncConfig},
      {options.checkpoint_interval_ns, &ReplicaHost::Checkpoint},
  };
  for (size_t i = 0; i < host->periodic_.size(); ++i) host->Arm(i);
  host->SendBeacon();
  return host;
}

void ReplicaHost::Arm(size_t index) {
  Periodic& periodic = periodic_[index];
  periodic.timer =
      options_.env.executor->ScheduleAfter(periodic.interval_ns, [this, index] {
        Arm(index);
        (this->*periodic_[index].method)();
      });
}

// --- Opening replicas ------------------------------------------------------

absl::Status ReplicaHost::RecoverAll() {
  FileSystem* fs = options_.env.file_system;
  PEGASUS_RETURN_IF_ERROR(fs->CreateDirs(options_.data_dir));
  PEGASUS_ASSIGN_OR_RETURN(std::vector<std::string> names,
                           fs->ListDir(options_.data_dir));
  for (const std::string& name : names) {
    Gpid gpid;
    if (!ParseReplicaDirName(name, &gpid)) continue;
    absl::StatusOr<Hosted*> opened = Open(gpid);
    if (!opened.ok()) {
      return PegasusError(ToErrorCode(opened.status()),
                          absl::StrCat("replica ", gpid.ToString(), ": ",
                                       opened.status().message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ReplicaHost::Hosted*> ReplicaHost::Open(Gpid gpid) {
  if (Hosted* existing = Find(gpid)) return existing;
  FileSystem* fs = options_.env.file_system;
  auto hosted = std::make_unique<Hosted>();
  hosted->gpid = gpid;
  hosted->dir = absl::StrCat(options_.data_dir, "/", ReplicaDirName(gpid));
  PEGASUS_RETURN_IF_ERROR(fs->CreateDirs(hosted->dir));
  PEGASUS_RETURN_IF_ERROR(fs->SyncDir(options_.data_dir));
  PEGASUS_ASSIGN_OR_RETURN(
      hosted->data_generation,
      ReadNumberFile(fs, hosted->dir + "/" + kCurrentData));
  PEGASUS_ASSIGN_OR_RETURN(const int64_t ballot,
                           ReadNumberFile(fs, hosted->dir + "/" + kBallotFile));
  PEGASUS_ASSIGN_OR_RETURN(hosted->engine,
                           options_.open_engine(hosted->data_dir()));
  hosted->partition =
      std::make_unique<Partition>(hosted->engine.get(), PartitionOptions{});

  MutationLogOptions log_options;
  log_options.file_system = fs;
  log_options.executor = options_.env.executor;
  log_options.dir = hosted->dir + "/plog";
  log_options.sync_policy = options_.log_sync_policy;
  log_options.max_segment_bytes = options_.log_segment_bytes;
  log_options.max_group_commit_bytes = options_.log_segment_bytes / 2;
  log_options.gc_reserve_bytes = options_.log_segment_bytes;
  std::vector<proto::Mutation> logged;
  PEGASUS_ASSIGN_OR_RETURN(
      hosted->log,
      MutationLog::Open(
          log_options, [&](const LogRecord& record) -> absl::Status {
            proto::Mutation mutation;
            if (!mutation.ParseFromString(record.payload) ||
                mutation.decree() != record.decree) {
              return PegasusError(
                  ErrorCode::kCorruption,
                  absl::StrCat("log record at decree ", record.decree,
                               " is not a mutation"));
            }
            logged.push_back(std::move(mutation));
            return absl::OkStatus();
          }));
  hosted->replica = std::make_unique<Replica>(
      gpid, options_.self, options_.replica,
      hosted->engine->LastAppliedDecree(), logged, ballot);
  if (!lease_valid_) hosted->replica->SetLeaseValid(false);
  Hosted* raw = hosted.get();
  hosted_[gpid] = std::move(hosted);
  Process(raw);
  return raw;
}

ReplicaHost::Hosted* ReplicaHost::Find(Gpid gpid) {
  auto it = hosted_.find(gpid);
  return it == hosted_.end() ? nullptr : it->second.get();
}

const Replica* ReplicaHost::replica(Gpid gpid) const {
  auto it = hosted_.find(gpid);
  return it == hosted_.end() ? nullptr : it->second->replica.get();
}

const StorageEngine* ReplicaHost::storage(Gpid gpid) const {
  auto it = hosted_.find(gpid);
  return it == hosted_.end() ? nullptr : it->second->engine.get();
}

void ReplicaHost::ForEachReplica(
    absl::FunctionRef<void(Gpid, const Replica&, const StorageEngine&)> fn)
    const {
  for (const auto& [gpid, hosted] : hosted_) {
    fn(gpid, *hosted->replica, *hosted->engine);
  }
}

// --- Effects ---------------------------------------------------------------

void ReplicaHost::Process(Hosted* hosted) {
  while (!hosted->stopped && hosted->replica->HasReady()) {
    Ready ready = hosted->replica->TakeReady();
    if (options_.check_invariants) hosted->replica->CheckInvariants();
    if (!ready.fatal.ok()) {
      Stop(hosted, ready.fatal);
      return;
    }
    if (ready.persist_ballot != 0) {
      absl::Status persisted = WriteFileAtomically(
          options_.env.file_system, hosted->dir + "/" + kBallotFile,
          std::to_string(ready.persist_ballot));
      if (!persisted.ok()) {
        Stop(hosted, persisted);
        return;
      }
    }
    StartAppends(hosted, std::move(ready.log_appends));
    SendMessages(std::move(ready.messages));
    SendProposals(hosted->gpid, std::move(ready.meta_requests));
    for (const InstallCheckpoint& install : ready.installs) {
      Install(hosted, install);
      if (hosted->stopped) return;
    }
    ApplyCommitted(hosted, std::move(ready.applies));
    if (hosted->stopped) return;
    ServeReads(hosted, std::move(ready.reads));
    for (ClientError& error : ready.errors) {
      auto it = hosted->clients.find(error.client);
      if (it == hosted->clients.end()) continue;
      proto::DataResponse response;
      StatusToProto(error.status, &response);
      it->second.responder.Reply(response.SerializeAsString());
      hosted->clients.erase(it);
    }
    for (const LearnFetch& fetch : ready.learn_fetches) {
      FetchForLearner(hosted, fetch);
    }
  }
}

void ReplicaHost::StartAppends(Hosted* hosted, std::vector<LogAppend> appends) {
  for (LogAppend& append : appends) {
    const Ballot ballot = append.mutation.ballot();
    const Decree decree = append.mutation.decree();
    std::weak_ptr<bool> alive = alive_;
    hosted->log->Append(
        decree, append.mutation.SerializeAsString(),
        [this, alive, gpid = hosted->gpid, replica = hosted->replica.get(),
         ballot, decree](absl::Status status) {
          std::shared_ptr<bool> live = alive.lock();
          if (live == nullptr || !*live) return;
          Hosted* h = Find(gpid);
          // A replica reopened since does not take its predecessor's acks.
          if (h == nullptr || h->stopped || h->replica.get() != replica) return;
          h->replica->OnLogAppended(ballot, decree, status);
          Process(h);
        });
  }
}

void ReplicaHost::SendMessages(std::vector<PeerMessage> messages) {
  for (PeerMessage& message : messages) {
    std::visit(
        [&](const auto& body) {
          using T = std::decay_t<decltype(body)>;
          RpcMethod method = 0;
          if constexpr (std::is_same_v<T, proto::PrepareRequest>)
            method = kPrepareMethod;
          if constexpr (std::is_same_v<T, proto::PrepareResponse>)
            method = kPrepareResponseMethod;
          if constexpr (std::is_same_v<T, proto::GroupCheckRequest>)
            method = kGroupCheckMethod;
          if constexpr (std::is_same_v<T, proto::GroupCheckResponse>)
            method = kGroupCheckResponseMethod;
          if constexpr (std::is_same_v<T, proto::LearnRequest>)
            method = kLearnMethod;
          if constexpr (std::is_same_v<T, proto::LearnResponse>)
            method = kLearnResponseMethod;
          rpc_.Notify(message.to, method, body.SerializeAsString());
        },
        message.body);
  }
}

void ReplicaHost::SendProposals(
    Gpid gpid, std::vector<proto::ConfigUpdateRequest> requests) {
  for (const proto::ConfigUpdateRequest& request : requests) {
    std::weak_ptr<bool> alive = alive_;
    rpc_.Call(
        options_.meta, kConfigUpdateMethod, request.SerializeAsString(),
        CallOptions{.timeout_ns = options_.replica.config_proposal_retry_ns},
        [this, alive, gpid](absl::StatusOr<std::string> answer) {
          std::shared_ptr<bool> live = alive.lock();
          if (live == nullptr || !*live || !answer.ok()) return;
          proto::ConfigUpdateResponse response;
          Hosted* h = Find(gpid);
          if (h == nullptr || h->stopped ||
              !response.ParseFromString(*answer)) {
            return;
          }
          h->replica->OnConfigUpdateResponse(response);
          Process(h);
        });
  }
}

void ReplicaHost::ApplyCommitted(Hosted* hosted, std::vector<Apply> applies) {
  for (Apply& apply : applies) {
    const proto::Mutation& mutation = apply.mutation;
    std::vector<WriteRequest> writes;
    std::vector<absl::Status> unreadable(mutation.writes_size());
    std::vector<int> index_of(mutation.writes_size(), -1);
    for (int i = 0; i < mutation.writes_size(); ++i) {
      absl::StatusOr<WriteRequest> write =
          WriteRequestFromProto(mutation.writes(i));
      if (!write.ok()) {
        unreadable[i] = write.status();  // Every replica refuses it alike.
        continue;
      }
      index_of[i] = static_cast<int>(writes.size());
      writes.push_back(*std::move(write));
    }
    absl::StatusOr<std::vector<WriteResponse>> responses =
        hosted->partition->ApplyMutation(mutation.decree(),
                                         mutation.timestamp_us(), writes);
    if (!responses.ok()) {
      Stop(hosted, responses.status());
      return;
    }
    ++stats_.applies;
    if (options_.on_apply) options_.on_apply(hosted->gpid, mutation);
    for (size_t i = 0; i < apply.clients.size(); ++i) {
      auto it = hosted->clients.find(apply.clients[i]);
      if (it == hosted->clients.end()) continue;
      proto::DataResponse response;
      if (index_of[i] < 0) {
        StatusToProto(unreadable[i], &response);
      } else {
        WriteResponseToProto((*responses)[index_of[i]], &response);
      }
      it->second.responder.Reply(response.SerializeAsString());
      hosted->clients.erase(it);
    }
  }
}

void ReplicaHost::ServeReads(Hosted* hosted, std::vector<ServeRead> reads) {
  const int64_t now_us = options_.env.clock->WallNowUs();
  for (const ServeRead& read : reads) {
    auto it = hosted->clients.find(read.client);
    if (it == hosted->clients.end()) continue;
    it->second.responder.Reply(
        ServeDataRead(*hosted->partition, it->second.request, now_us)
            .SerializeAsString());
    hosted->clients.erase(it);
  }
}

// A learner behind the primary's memory learns from the log when it covers
// the start and reaches what memory holds; otherwise from a checkpoint.
void ReplicaHost::FetchForLearner(Hosted* hosted, const LearnFetch& fetch) {
  Replica* replica = hosted->replica.get();
  proto::LearnResponse data;
  const Decree min_logged = hosted->log->min_decree();
  if (min_logged != kNoDecree && min_logged <= fetch.start_decree) {
    // From the oldest record kept, not from the start: a tail-drop marker
    // below the start still voids records above it logged before it.
    absl::StatusOr<std::vector<LogRecord>> records =
        hosted->log->Read(kNoDecree + 1, options_.max_learn_bytes);
    std::vector<proto::Mutation> logged;
    bool parsed = records.ok();
    for (size_t i = 0; parsed && i < records->size(); ++i) {
      parsed = logged.emplace_back().ParseFromString((*records)[i].payload);
    }
    if (parsed) {
      // Read as replay reads it: what the primary dropped, the learner must
      // not get either.
      Decree reached = fetch.start_decree - 1;
      for (proto::Mutation& mutation : ResolveLog(logged)) {
        if (mutation.decree() < fetch.start_decree) continue;
        reached = mutation.decree();
        *data.add_mutations() = std::move(mutation);
      }
      if (data.mutations_size() > 0 &&
          (reached >= replica->last_prepared() ||
           replica->MutationAt(reached + 1) != nullptr)) {
        data.set_type(proto::LEARN_LOG);
        ++stats_.learns_from_log;
        replica->OnLearnData(fetch.learner, fetch.signature, std::move(data));
        Process(hosted);
        return;
      }
    }
  }
  // A checkpoint of storage: it holds every committed decree, so the
  // mutations in memory follow on from it.
  const std::string dir = absl::StrCat(hosted->dir, "/learn.", fetch.signature,
                                       ".", replica->last_committed());
  absl::StatusOr<Decree> decree = hosted->engine->Checkpoint(dir);
  absl::StatusOr<std::string> blob =
      decree.ok() ? PackDirectory(options_.env.file_system, dir)
                  : decree.status();
  RemoveDirectoryFiles(options_.env.file_system, dir);
  if (!blob.ok()) {
    replica->OnLearnData(fetch.learner, fetch.signature, blob.status());
    Process(hosted);
    return;
  }
  data.set_type(proto::LEARN_APP);
  data.set_checkpoint(*std::move(blob));
  data.set_checkpoint_decree(*decree);
  ++stats_.learns_from_checkpoint;
  replica->OnLearnData(fetch.learner, fetch.signature, std::move(data));
  Process(hosted);
}

// Replaces storage with a learned checkpoint: unpacked into the next data
// directory, made durable, then named current.
void ReplicaHost::Install(Hosted* hosted, const InstallCheckpoint& install) {
  FileSystem* fs = options_.env.file_system;
  const std::string old_dir = hosted->data_dir();
  const int64_t generation = hosted->data_generation + 1;
  const std::string new_dir = absl::StrCat(hosted->dir, "/data.", generation);
  absl::Status status = UnpackDirectory(fs, install.checkpoint, new_dir);
  if (status.ok()) {
    status = WriteFileAtomically(fs, hosted->dir + "/" + kCurrentData,
                                 std::to_string(generation));
  }
  absl::StatusOr<std::unique_ptr<StorageEngine>> engine =
      status.ok() ? options_.open_engine(new_dir) : status;
  if (engine.ok() &&
      (*engine)->LastAppliedDecree() != install.checkpoint_decree) {
    engine = PegasusError(ErrorCode::kCorruption,
                          absl::StrCat("learned checkpoint holds decree ",
                                       (*engine)->LastAppliedDecree(), ", not ",
                                       install.checkpoint_decree));
  }
  if (!engine.ok()) {
    Stop(hosted, engine.status());
    return;
  }
  hosted->partition.reset();
  hosted->engine = *std::move(engine);
  hosted->partition =
      std::make_unique<Partition>(hosted->engine.get(), PartitionOptions{});
  hosted->data_generation = generation;
  RemoveDirectoryFiles(fs, old_dir);
  ++stats_.checkpoints_installed;
  hosted->replica->OnCheckpointInstalled(install.checkpoint_decree);
}

void ReplicaHost::Stop(Hosted* hosted, const absl::Status& status) {
  if (hosted->stopped) return;
  hosted->stopped = true;
  // The clients' writes may or may not have happened: no answer.
  hosted->clients.clear();
  if (options_.on_fatal) options_.on_fatal(hosted->gpid, status);
}

// --- Incoming --------------------------------------------------------------

void ReplicaHost::RegisterHandlers() {
  rpc_.RegisterHandler(kDataMethod, [this](NodeId, std::string request,
                                           RpcEndpoint::Responder responder) {
    HandleData(std::move(request), std::move(responder));
  });
  for (RpcMethod method :
       {kPrepareMethod, kPrepareResponseMethod, kGroupCheckMethod,
        kGroupCheckResponseMethod, kLearnMethod, kLearnResponseMethod}) {
    rpc_.RegisterNotificationHandler(
        method, [this, method](NodeId from, std::string payload) {
          HandlePeer(method, from, payload);
        });
  }
  rpc_.RegisterNotificationHandler(
      kConfigProposalMethod,
      [this](NodeId from, std::string payload) {
        // Only the meta server changes configurations.
        if (from == options_.meta) HandleProposal(payload);
      });
}

void ReplicaHost::HandleData(std::string payload,
                             RpcEndpoint::Responder responder) {
  CheckLease();
  proto::DataRequest request;
  proto::DataResponse refusal;
  auto refuse = [&](ErrorCode code, const std::string& why) {
    StatusToProto(PegasusError(code, why), &refusal);
    responder.Reply(refusal.SerializeAsString());
  };
  if (!request.ParseFromString(payload)) {
    return refuse(ErrorCode::kInvalidArgument, "malformed data request");
  }
  const Gpid gpid{request.app_id(), request.partition_index()};
  Hosted* hosted = Find(gpid);
  if (hosted == nullptr || hosted->stopped) {
    return refuse(ErrorCode::kObjectNotFound, "replica " + gpid.ToString() +
                                                  " is not on " +
                                                  options_.self.ToString());
  }
  const bool write = IsWrite(request);
  if (write) {
    absl::StatusOr<WriteRequest> converted = WriteRequestFromProto(request);
    absl::Status valid = converted.ok()
                             ? hosted->partition->ValidateWrite(*converted)
                             : converted.status();
    if (!valid.ok()) {
      StatusToProto(valid, &refusal);
      responder.Reply(refusal.SerializeAsString());
      return;
    }
  }
  const ClientToken token = next_client_++;
  const int64_t now_ns = options_.env.clock->MonotonicNowNs();
  if (write) {
    ++stats_.client_writes;
    // A write's answer is its apply result: the request is not kept.
    hosted->clients.emplace(token,
                            Hosted::Client{{}, std::move(responder), now_ns});
    hosted->replica->ClientWrite(std::move(request), token,
                                 options_.env.clock->WallNowUs());
  } else {
    ++stats_.client_reads;
    hosted->clients.emplace(
        token,
        Hosted::Client{std::move(request), std::move(responder), now_ns});
    hosted->replica->ClientRead(token);
  }
  Process(hosted);
}

ReplicaHost::Hosted* ReplicaHost::Target(Gpid gpid, bool may_open) {
  Hosted* hosted = Find(gpid);
  if (hosted == nullptr && may_open) {
    absl::StatusOr<Hosted*> opened = Open(gpid);
    if (opened.ok()) hosted = *opened;
  }
  return hosted == nullptr || hosted->stopped ? nullptr : hosted;
}

// Messages that do not parse, or are for a replica not here, are dropped.
void ReplicaHost::HandlePeer(RpcMethod method, NodeId from,
                             const std::string& payload) {
  CheckLease();
  Hosted* hosted = nullptr;
  if (method == kPrepareMethod) {
    proto::PrepareRequest m;
    if (!m.ParseFromString(payload)) return;
    if ((hosted = Target(GpidOf(m.config()), false))) {
      const Ballot seen = hosted->replica->ballot();
      hosted->replica->OnPrepare(from, m);
      if (options_.on_prepare) {
        options_.on_prepare(hosted->gpid, seen, m.mutation(),
                            hosted->replica->pending());
      }
    }
  } else if (method == kPrepareResponseMethod) {
    proto::PrepareResponse m;
    if (!m.ParseFromString(payload)) return;
    if ((hosted = Target(Gpid{m.app_id(), m.partition_index()}, false))) {
      hosted->replica->OnPrepareResponse(from, m);
    }
  } else if (method == kGroupCheckMethod) {
    proto::GroupCheckRequest m;
    if (!m.ParseFromString(payload)) return;
    // A group check naming this node a learner creates the replica.
    const bool may_open = m.learner_signature() != 0 && lease_valid_;
    if ((hosted = Target(GpidOf(m.config()), may_open))) {
      hosted->replica->OnGroupCheck(from, m);
    }
  } else if (method == kGroupCheckResponseMethod) {
    proto::GroupCheckResponse m;
    if (!m.ParseFromString(payload)) return;
    if ((hosted = Target(Gpid{m.app_id(), m.partition_index()}, false))) {
      hosted->replica->OnGroupCheckResponse(from, m);
    }
  } else if (method == kLearnMethod) {
    proto::LearnRequest m;
    if (!m.ParseFromString(payload)) return;
    if ((hosted = Target(Gpid{m.app_id(), m.partition_index()}, false))) {
      hosted->replica->OnLearnRequest(from, m);
    }
  } else if (method == kLearnResponseMethod) {
    proto::LearnResponse m;
    if (!m.ParseFromString(payload)) return;
    if ((hosted = Target(Gpid{m.app_id(), m.partition_index()}, false))) {
      hosted->replica->OnLearnResponse(from, m);
    }
  }
  if (hosted != nullptr) Process(hosted);
}

void ReplicaHost::HandleProposal(const std::string& payload) {
  CheckLease();
  proto::ConfigProposal proposal;
  if (!proposal.ParseFromString(payload) || !lease_valid_) return;
  const bool creates = proposal.type() == proto::CONFIG_ASSIGN_PRIMARY ||
                       proposal.type() == proto::CONFIG_UPGRADE_TO_PRIMARY;
  Hosted* hosted = Target(GpidOf(proposal.config()), creates);
  if (hosted == nullptr) return;
  if (proposal.type() == proto::CONFIG_ADD_SECONDARY) {
    hosted->replica->OnAddLearner(proposal.config(), NodeId{proposal.node()});
  } else {
    hosted->replica->OnConfig(proposal.config());
  }
  Process(hosted);
}

// --- Timers ----------------------------------------------------------------

// The lease is judged by the clock at every entry point, not only by the
// tick: after a pause, a request may run before the next tick does, and it
// must not be served under a lease that ran out meanwhile.
void ReplicaHost::CheckLease() {
  if (lease_valid_ && options_.env.clock->MonotonicNowNs() >= lease_until_ns_) {
    ++stats_.lease_lapses;
    SetLease(false);
  }
}

void ReplicaHost::Tick() {
  const int64_t now_ns = options_.env.clock->MonotonicNowNs();
  CheckLease();
  for (auto& [gpid, hosted] : hosted_) {
    if (hosted->stopped) continue;
    hosted->replica->Tick(now_ns);
    // Clients whose answer cannot come any more (their write's outcome is
    // unknown to this replica) are let go; they time out.
    for (auto it = hosted->clients.begin(); it != hosted->clients.end();) {
      it = now_ns - it->second.since_ns > options_.client_timeout_ns
               ? hosted->clients.erase(it)
               : std::next(it);
    }
    Process(hosted.get());
  }
}

void ReplicaHost::SendBeacon() {
  const int64_t send_ns = options_.env.clock->MonotonicNowNs();
  proto::Beacon beacon;
  beacon.set_node(options_.self.value);
  beacon.set_send_time_ns(send_ns);
  std::weak_ptr<bool> alive = alive_;
  rpc_.Call(options_.meta, kBeaconMethod, beacon.SerializeAsString(),
            CallOptions{.timeout_ns = options_.beacon_interval_ns},
            [this, alive, send_ns](absl::StatusOr<std::string> answer) {
              std::shared_ptr<bool> live = alive.lock();
              if (live == nullptr || !*live || !answer.ok()) return;
              proto::BeaconResponse response;
              if (!response.ParseFromString(*answer) || !response.allowed()) {
                return;
              }
              ++stats_.beacons_answered;
              // The lease runs from when the beacon left, not when the
              // answer came: the meta server's grace started no earlier.
              lease_until_ns_ =
                  std::max(lease_until_ns_, send_ns + options_.lease_ns);
              if (!lease_valid_ &&
                  options_.env.clock->MonotonicNowNs() < lease_until_ns_) {
                SetLease(true);
                SyncConfig();
              }
            });
}

void ReplicaHost::SetLease(bool valid) {
  lease_valid_ = valid;
  for (auto& [gpid, hosted] : hosted_) {
    if (hosted->stopped) continue;
    hosted->replica->SetLeaseValid(valid);
    Process(hosted.get());
  }
}

void ReplicaHost::SyncConfig() {
  proto::ConfigSyncRequest request;
  request.set_node(options_.self.value);
  for (auto& [gpid, hosted] : hosted_) {
    proto::ReplicaReport* report = request.add_replicas();
    *report = hosted->replica->Report();
    if (hosted->stopped)
      report->set_status(static_cast<int32_t>(ReplicaStatus::kError));
    report->set_last_durable(hosted->engine->LastDurableDecree());
  }
  std::weak_ptr<bool> alive = alive_;
  rpc_.Call(options_.meta, kConfigSyncMethod, request.SerializeAsString(),
            CallOptions{.timeout_ns = options_.config_sync_interval_ns},
            [this, alive](absl::StatusOr<std::string> answer) {
              std::shared_ptr<bool> live = alive.lock();
              if (live == nullptr || !*live || !answer.ok()) return;
              proto::ConfigSyncResponse response;
              if (response.ParseFromString(*answer)) OnConfigSync(response);
            });
}

// The answer holds the configuration of every partition this node belongs
// to (a missing replica is created) and of every other one it reported: a
// replica the meta server removed learns so here, and stops acting as a
// member, even when its primary no longer talks to it. Its data stays, and
// it is still reported: it may be the one to recover the partition from if
// every member dies.
void ReplicaHost::OnConfigSync(const proto::ConfigSyncResponse& response) {
  if (!lease_valid_) return;
  for (const proto::PartitionConfig& config : response.configs()) {
    Hosted* hosted =
        Target(GpidOf(config), /*may_open=*/IsMember(config, options_.self));
    if (hosted == nullptr) continue;
    hosted->replica->OnConfig(config);
    Process(hosted);
  }
}

// Storage is flushed so the log behind it can be collected.
void ReplicaHost::Checkpoint() {
  for (auto& [gpid, hosted] : hosted_) {
    if (hosted->stopped) continue;
    absl::Status status = hosted->engine->Flush();
    if (status.ok()) {
      status = hosted->log->GarbageCollect(hosted->engine->LastDurableDecree());
    }
    if (!status.ok()) Stop(hosted.get(), status);
  }
}

}  // namespace pegasus::replication
