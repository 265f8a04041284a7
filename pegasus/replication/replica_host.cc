#include "pegasus/replication/replica_host.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/proto/partition_config.h"
#include "pegasus/replication/checkpoint_blob.h"
#include "pegasus/replication/wire.h"
#include "pegasus/storage/data_codec.h"
#include "pegasus/storage/partition.h"

namespace pegasus::replication {
namespace {

constexpr char kCurrentData[] = "current_data";
constexpr char kBallotFile[] = "ballot";
// Present in a replica directory whose replica was reclaimed: whatever else
// is left there is garbage.
constexpr char kReclaimedFile[] = "reclaimed";

// Gives every value `request` writes without an expiry the expiry
// `expire_ts_s` (a table's default TTL). Incr keeps its row's TTL, as it
// does without one.
void GiveDefaultTtl(proto::DataRequest* request, uint32_t expire_ts_s) {
  switch (request->op_case()) {
    case proto::DataRequest::kPut:
      if (request->put().expire_ts_s() == 0) {
        request->mutable_put()->set_expire_ts_s(expire_ts_s);
      }
      break;
    case proto::DataRequest::kMultiPut:
      if (request->multi_put().expire_ts_s() == 0) {
        request->mutable_multi_put()->set_expire_ts_s(expire_ts_s);
      }
      break;
    case proto::DataRequest::kCheckAndSet:
      if (request->check_and_set().set_expire_ts_s() == 0) {
        request->mutable_check_and_set()->set_set_expire_ts_s(expire_ts_s);
      }
      break;
    case proto::DataRequest::kCheckAndMutate:
      for (proto::Mutate& mutate :
           *request->mutable_check_and_mutate()->mutable_mutate_list()) {
        if (mutate.operation() ==
                static_cast<int32_t>(MutateOperation::kPut) &&
            mutate.set_expire_ts_s() == 0) {
          mutate.set_set_expire_ts_s(expire_ts_s);
        }
      }
      break;
    default:
      break;
  }
}

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

// Deletes every file under `dir`, in its subdirectories too, except
// `dir`/`keep`, and syncs each directory. The directories stay: the file
// system seam removes files only. Returns the first error (and goes on).
absl::Status RemoveFilesUnder(FileSystem* fs, const std::string& dir,
                              const std::string& keep) {
  absl::StatusOr<std::vector<std::string>> names = fs->ListDir(dir);
  if (!names.ok()) return names.status();
  absl::Status first;
  for (const std::string& name : *names) {
    if (name == keep) continue;
    const std::string path = dir + "/" + name;
    first.Update(fs->ListDir(path).ok() ? RemoveFilesUnder(fs, path, "")
                                        : fs->DeleteFile(path));
  }
  first.Update(fs->SyncDir(dir));
  return first;
}

// Nobody needs a replica that is inactive and, by a configuration newer
// than its own, neither a member nor one of the dropped nodes the meta
// server would recover the partition from if every member died. Newer, not
// as new: a learner took its primary's ballot, and its primary may be
// proposing it as a secondary at that ballot; a newer configuration has
// made any such proposal stale. (A replica learning is a learner, not
// inactive.)
bool Unneeded(const Replica& replica, const proto::PartitionConfig& config) {
  return replica.status() == ReplicaStatus::kInactive &&
         config.ballot() > replica.ballot() &&
         !IsMember(config, replica.self()) &&
         !IsDropped(config, replica.self());
}

RpcMethod MethodOf(const proto::PrepareRequest&) { return kPrepareMethod; }
RpcMethod MethodOf(const proto::PrepareResponse&) {
  return kPrepareResponseMethod;
}
RpcMethod MethodOf(const proto::GroupCheckRequest&) {
  return kGroupCheckMethod;
}
RpcMethod MethodOf(const proto::GroupCheckResponse&) {
  return kGroupCheckResponseMethod;
}
RpcMethod MethodOf(const proto::LearnRequest&) { return kLearnMethod; }
RpcMethod MethodOf(const proto::LearnResponse&) { return kLearnResponseMethod; }

// Scan context ids of a primary term: the low 32 bits count within the
// term, the high ones are the ballot the term began under (its low 31
// bits: a partition would need 2^31 configuration changes to wrap them).
// A term hands out 2^32 ids before its numbering starts over (dropping its
// open contexts, Partition::ResetScanContexts).
constexpr int kScanContextIdTermShift = 32;
constexpr int64_t kScanContextIdsPerTerm = int64_t{1}
                                           << kScanContextIdTermShift;

int64_t ScanContextIdBase(Ballot term) {
  return (term & 0x7fffffff) << kScanContextIdTermShift;
}

bool ParseReplicaDirName(const std::string& name, Gpid* gpid) {
  std::vector<std::string> parts = absl::StrSplit(name, '.');
  return parts.size() == 2 && absl::SimpleAtoi(parts[0], &gpid->app_id) &&
         absl::SimpleAtoi(parts[1], &gpid->partition_index) &&
         gpid->app_id > 0 && gpid->partition_index >= 0;
}

}  // namespace

struct ReplicaHost::Outbox {
  struct Note {
    NodeId to;
    RpcMethod method = 0;
    std::string payload;
  };
  std::vector<Note> notes;
  std::vector<std::string> proposals;
  std::vector<std::pair<RpcEndpoint::Responder, std::string>> replies;

  bool empty() const {
    return notes.empty() && proposals.empty() && replies.empty();
  }
};

struct ReplicaHost::Hosted : std::enable_shared_from_this<Hosted> {
  struct Client {
    proto::DataRequest request;
    RpcEndpoint::Responder responder;
    int64_t since_ns = 0;
  };
  // What config sync reports, as of the replica's last step.
  struct Published {
    proto::ReplicaReport report;
    bool stopped = false;
    bool reclaimed = false;
  };

  Gpid gpid;
  Executor* strand = nullptr;
  std::string dir;
  // Set on the replica's strand; the host strand reads it to turn requests
  // away early.
  std::atomic<bool> stopped{false};

  // The replica's strand's alone. A reclaimed replica (stopped for good,
  // its files gone, the host strand forgets it next) has no replica.
  int64_t data_generation = 0;
  std::unique_ptr<StorageEngine> engine;
  std::unique_ptr<Partition> partition;
  std::unique_ptr<MutationLog> log;
  std::unique_ptr<Replica> replica;
  // The primary term (Replica::primary_since) the partition's scan
  // contexts belong to; 0 outside one.
  Ballot scan_term = 0;
  std::map<ClientToken, Client> clients;
  Outbox outbox;
  bool lease_valid = true;    // As the replica was last told.
  uint64_t lease_lapses = 0;  // The host's count at the last step.
  TimerId tick_timer = kNoTimer;
  int64_t tick_due_ns = 0;
  int64_t last_tick_ns = 0;
  int64_t next_checkpoint_ns = 0;

  std::mutex published_mu;
  Published published;  // Guarded by published_mu.

  std::string data_dir() const {
    return absl::StrCat(dir, "/data.", data_generation);
  }
};

struct ReplicaHost::Counters {
  std::atomic<uint64_t> client_writes{0};
  std::atomic<uint64_t> client_reads{0};
  std::atomic<uint64_t> applies{0};
  std::atomic<uint64_t> beacons_answered{0};
  std::atomic<uint64_t> lease_lapses{0};
  std::atomic<uint64_t> learns_from_log{0};
  std::atomic<uint64_t> learns_from_checkpoint{0};
  std::atomic<uint64_t> checkpoints_installed{0};
  std::atomic<uint64_t> replicas_reclaimed{0};
};

namespace {

bool Alive(const std::weak_ptr<bool>& alive) {
  std::shared_ptr<bool> live = alive.lock();
  return live != nullptr && *live;
}

}  // namespace

ReplicaHost::ReplicaHost(const ReplicaHostOptions& options)
    : options_(options),
      session_(options.env.random->Next64() | 1),
      rpc_(options.env.transport, options.env.executor,
           options.env.random->Next64() | 1),
      counters_(std::make_unique<Counters>()) {}

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
  if (options.tick_interval_ns <= 0) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        "replica host: tick_interval_ns must be positive");
  }
  PEGASUS_RETURN_IF_ERROR(ValidateReplicaOptions(options.replica));
  std::unique_ptr<ReplicaHost> host(new ReplicaHost(options));
  PEGASUS_RETURN_IF_ERROR(host->RecoverAll());
  host->RegisterHandlers();
  host->periodic_ = {
      {options.beacon_interval_ns, &ReplicaHost::SendBeacon},
      {options.config_sync_interval_ns, &ReplicaHost::SyncConfig},
  };
  for (size_t i = 0; i < host->periodic_.size(); ++i) host->Arm(i);
  host->SendBeacon();
  return host;
}

ReplicaHostStats ReplicaHost::stats() const {
  const Counters& c = *counters_;
  return ReplicaHostStats{
      .client_writes = c.client_writes.load(),
      .client_reads = c.client_reads.load(),
      .applies = c.applies.load(),
      .beacons_answered = c.beacons_answered.load(),
      .lease_lapses = c.lease_lapses.load(),
      .learns_from_log = c.learns_from_log.load(),
      .learns_from_checkpoint = c.learns_from_checkpoint.load(),
      .checkpoints_installed = c.checkpoints_installed.load(),
      .replicas_reclaimed = c.replicas_reclaimed.load(),
  };
}

int64_t ReplicaHost::lease_until_ns() const {
  std::lock_guard<std::mutex> lock(lease_mu_);
  return lease_until_ns_;
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
    const std::string dir = options_.data_dir + "/" + name;
    if (fs->FileExists(dir + "/" + kReclaimedFile)) {
      // Reclaimed. If a crash cut that short, the rest goes now (or at the
      // next start).
      PEGASUS_ASSIGN_OR_RETURN(reclaimed_[gpid],
                               ReadNumberFile(fs, dir + "/" + kReclaimedFile));
      (void)RemoveFilesUnder(fs, dir, kReclaimedFile);
      continue;
    }
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
  auto hosted = std::make_shared<Hosted>();
  hosted->gpid = gpid;
  hosted->strand = options_.env.replica_executor
                       ? options_.env.replica_executor(gpid)
                       : options_.env.executor;
  hosted->dir = absl::StrCat(options_.data_dir, "/", ReplicaDirName(gpid));
  PEGASUS_RETURN_IF_ERROR(fs->CreateDirs(hosted->dir));
  PEGASUS_RETURN_IF_ERROR(fs->SyncDir(options_.data_dir));
  const std::string reclaimed = hosted->dir + "/" + kReclaimedFile;
  if (fs->FileExists(reclaimed)) {
    // A replica this server had reclaimed is wanted again: it starts
    // empty. The leftovers go first, then the mark, durably. Its ballot
    // starts just below the mark's, so that no configuration older than
    // the one it was reclaimed under (a late message) makes it a member
    // with nothing, even after a restart.
    PEGASUS_ASSIGN_OR_RETURN(const int64_t floor,
                             ReadNumberFile(fs, reclaimed));
    PEGASUS_RETURN_IF_ERROR(RemoveFilesUnder(fs, hosted->dir, kReclaimedFile));
    PEGASUS_RETURN_IF_ERROR(
        WriteFileAtomically(fs, hosted->dir + "/" + kBallotFile,
                            std::to_string(std::max<int64_t>(floor - 1, 0))));
    PEGASUS_RETURN_IF_ERROR(fs->DeleteFile(reclaimed));
    PEGASUS_RETURN_IF_ERROR(fs->SyncDir(hosted->dir));
    reclaimed_.erase(gpid);
  }
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
  log_options.executor = hosted->strand;
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
  hosted->published.report = hosted->replica->Report();
  hosted->published.report.set_last_durable(
      hosted->engine->LastDurableDecree());
  {
    std::lock_guard<std::mutex> lock(lease_mu_);
    hosted->lease_lapses = lease_lapses_;
  }
  const int64_t now_ns = options_.env.clock->MonotonicNowNs();
  hosted->last_tick_ns = now_ns - options_.tick_interval_ns;
  hosted->next_checkpoint_ns = now_ns + options_.checkpoint_interval_ns;
  Hosted* raw = hosted.get();
  hosted_[gpid] = std::move(hosted);
  // The first step applies what the log holds committed.
  OnReplica(raw, [](Hosted*) {});
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

bool ReplicaHost::Serves(const Replica& replica) const {
  auto it = hosted_.find(replica.gpid());
  return it != hosted_.end() && it->second->replica.get() == &replica &&
         replica.serving_reads() && LeaseHolds(*it->second);
}

void ReplicaHost::ForEachReplica(
    absl::FunctionRef<void(Gpid, const Replica&, const StorageEngine&)> fn)
    const {
  for (const auto& [gpid, hosted] : hosted_) {
    if (hosted->replica != nullptr) fn(gpid, *hosted->replica, *hosted->engine);
  }
}

// --- Steps on a replica's strand --------------------------------------

// Tasks hold the replica weakly: once the host forgot a reclaimed replica
// (or is gone), they do nothing.
void ReplicaHost::OnReplica(Hosted* hosted,
                            absl::AnyInvocable<void(Hosted*)> step) {
  hosted->strand->Post([this, weak = hosted->weak_from_this(),
                        step = std::move(step)]() mutable {
    std::shared_ptr<Hosted> h = weak.lock();
    if (h == nullptr || h->stopped) return;
    RunStep(h.get(), [&step](Hosted* x) { step(x); });
  });
}

void ReplicaHost::OnReplicaInLease(Hosted* hosted,
                                   absl::AnyInvocable<void(Hosted*)> step) {
  uint64_t lapses = 0;
  {
    std::lock_guard<std::mutex> lock(lease_mu_);
    lapses = lease_lapses_;
  }
  // Enter has brought the replica's count up to date.
  OnReplica(hosted, [lapses, step = std::move(step)](Hosted* h) mutable {
    if (h->lease_lapses == lapses) step(h);
  });
}

void ReplicaHost::RunStep(Hosted* hosted,
                          absl::FunctionRef<void(Hosted*)> step) {
  Enter(hosted);
  if (!hosted->stopped) step(hosted);
  Leave(hosted);
}

// A replica that went through a lapse since its last step turns inactive
// even when the lease holds again by now, as if it had been there to see it.
void ReplicaHost::Enter(Hosted* hosted) {
  const int64_t now_ns = options_.env.clock->MonotonicNowNs();
  Replica* replica = hosted->replica.get();
  replica->ObserveTime(now_ns);
  int64_t until_ns = 0;
  uint64_t lapses = 0;
  {
    std::lock_guard<std::mutex> lock(lease_mu_);
    until_ns = lease_until_ns_;
    lapses = lease_lapses_;
  }
  const bool valid = now_ns < until_ns;
  if (lapses != hosted->lease_lapses) {
    hosted->lease_lapses = lapses;
    if (hosted->lease_valid) {
      replica->SetLeaseValid(false);
      hosted->lease_valid = false;
    }
  }
  if (valid != hosted->lease_valid) {
    replica->SetLeaseValid(valid);
    hosted->lease_valid = valid;
  }
  // What the lease changed is done before the step's own input, so that
  // the step's effects are its own (the on_prepare hook looks at them).
  Process(hosted);
}

void ReplicaHost::Leave(Hosted* hosted) {
  Process(hosted);
  SendOutbox(hosted);
  if (hosted->replica == nullptr) return;  // Reclaimed.
  SyncScanTerm(hosted);
  const bool stopped = hosted->stopped;
  {
    std::lock_guard<std::mutex> lock(hosted->published_mu);
    hosted->published.report = hosted->replica->Report();
    hosted->published.report.set_last_durable(
        hosted->engine->LastDurableDecree());
    hosted->published.stopped = stopped;
  }
  if (!stopped) ScheduleTick(hosted);
}

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
    for (PeerMessage& message : ready.messages) {
      std::visit(
          [&](const auto& body) {
            hosted->outbox.notes.push_back(
                {message.to, MethodOf(body), body.SerializeAsString()});
          },
          message.body);
    }
    for (const proto::ConfigUpdateRequest& request : ready.meta_requests) {
      hosted->outbox.proposals.push_back(request.SerializeAsString());
    }
    for (const InstallCheckpoint& install : ready.installs) {
      Install(hosted, install);
      if (hosted->stopped) return;
    }
    ApplyCommitted(hosted, std::move(ready.applies));
    if (hosted->stopped) return;
    ServeReads(hosted, std::move(ready.reads));
    for (ClientError& error : ready.errors) {
      proto::DataResponse response;
      StatusToProto(error.status, &response);
      Reply(hosted, error.client, response);
    }
    for (const LearnFetch& fetch : ready.learn_fetches) {
      FetchForLearner(hosted, fetch);
    }
  }
}

void ReplicaHost::Reply(Hosted* hosted, ClientToken client,
                        const proto::DataResponse& response) {
  auto it = hosted->clients.find(client);
  if (it == hosted->clients.end()) return;
  hosted->outbox.replies.emplace_back(std::move(it->second.responder),
                                      response.SerializeAsString());
  hosted->clients.erase(it);
}

// What goes over the network is sent from the host strand, in one task per
// step.
void ReplicaHost::SendOutbox(Hosted* hosted) {
  if (hosted->outbox.empty()) return;
  options_.env.executor->Post([this, alive = std::weak_ptr<bool>(alive_),
                               weak = hosted->weak_from_this(),
                               outbox = std::move(hosted->outbox)]() mutable {
    if (!Alive(alive)) return;
    for (Outbox::Note& note : outbox.notes) {
      rpc_.Notify(note.to, note.method, std::move(note.payload));
    }
    for (std::string& request : outbox.proposals) {
      rpc_.Call(
          options_.meta, kConfigUpdateMethod, std::move(request),
          CallOptions{.timeout_ns = options_.replica.config_proposal_retry_ns},
          [this, weak](absl::StatusOr<std::string> answer) {
            proto::ConfigUpdateResponse response;
            std::shared_ptr<Hosted> h = weak.lock();
            if (h == nullptr || !answer.ok() ||
                !response.ParseFromString(*answer) ||
                !FenceHolds(response.fence())) {
              return;
            }
            OnReplicaInLease(h.get(),
                             [response = std::move(response)](Hosted* x) {
                               x->replica->OnConfigUpdateResponse(response);
                             });
          });
    }
    for (auto& [responder, payload] : outbox.replies) {
      responder.Reply(std::move(payload));
    }
  });
  hosted->outbox = Outbox{};
}

// The replica's timer: set for its next timeout, its storage checkpoint,
// or its oldest client's, whichever comes first, but not within
// tick_interval_ns of its last tick.
void ReplicaHost::ScheduleTick(Hosted* hosted) {
  int64_t due_ns =
      std::min(hosted->replica->NextTickNs(), hosted->next_checkpoint_ns);
  if (!hosted->clients.empty()) {
    // Tokens are handed out in arrival order: the first is the oldest.
    due_ns = std::min(due_ns, hosted->clients.begin()->second.since_ns +
                                  options_.client_timeout_ns + 1);
  }
  due_ns = std::max(due_ns, hosted->last_tick_ns + options_.tick_interval_ns);
  if (hosted->tick_timer != kNoTimer) {
    if (hosted->tick_due_ns <= due_ns) return;
    hosted->strand->Cancel(hosted->tick_timer);
  }
  hosted->tick_due_ns = due_ns;
  const int64_t delay_ns =
      std::max<int64_t>(0, due_ns - options_.env.clock->MonotonicNowNs());
  hosted->tick_timer = hosted->strand->ScheduleAfter(
      delay_ns, [this, weak = hosted->weak_from_this()] {
        std::shared_ptr<Hosted> h = weak.lock();
        if (h == nullptr) return;
        h->tick_timer = kNoTimer;
        if (h->stopped) return;
        RunStep(h.get(), [this](Hosted* x) { TickReplica(x); });
      });
}

void ReplicaHost::TickReplica(Hosted* hosted) {
  const int64_t now_ns = options_.env.clock->MonotonicNowNs();
  hosted->last_tick_ns = now_ns;
  hosted->replica->Tick(now_ns);
  // Clients whose answer cannot come any more (their write's outcome is
  // unknown to this replica) are let go; they time out.
  for (auto it = hosted->clients.begin(); it != hosted->clients.end();) {
    it = now_ns - it->second.since_ns > options_.client_timeout_ns
             ? hosted->clients.erase(it)
             : std::next(it);
  }
  if (now_ns >= hosted->next_checkpoint_ns) {
    hosted->next_checkpoint_ns = now_ns + options_.checkpoint_interval_ns;
    Checkpoint(hosted);
  }
}

// Storage is flushed so the log behind it can be collected.
void ReplicaHost::Checkpoint(Hosted* hosted) {
  absl::Status status = hosted->engine->Flush();
  if (status.ok()) {
    status = hosted->log->GarbageCollect(
        std::min(hosted->engine->LastDurableDecree(),
                 hosted->replica->log_keep_from() - 1));
  }
  if (!status.ok()) Stop(hosted, status);
}

void ReplicaHost::StartAppends(Hosted* hosted, std::vector<LogAppend> appends) {
  for (LogAppend& append : appends) {
    const Ballot ballot = append.mutation.ballot();
    const Decree decree = append.mutation.decree();
    // The log runs its callbacks on the replica's strand.
    hosted->log->Append(
        decree, append.mutation.SerializeAsString(),
        [this, weak = hosted->weak_from_this(), replica = hosted->replica.get(),
         ballot, decree](absl::Status status) {
          std::shared_ptr<Hosted> hosted = weak.lock();
          // A replica reopened since does not take its predecessor's acks.
          if (hosted == nullptr || hosted->stopped ||
              hosted->replica.get() != replica) {
            return;
          }
          RunStep(hosted.get(), [&](Hosted* h) {
            h->replica->OnLogAppended(ballot, decree, status);
          });
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
    ++counters_->applies;
    if (options_.on_apply) options_.on_apply(hosted->gpid, mutation);
    for (size_t i = 0; i < apply.clients.size(); ++i) {
      proto::DataResponse response;
      if (index_of[i] < 0) {
        StatusToProto(unreadable[i], &response);
      } else {
        WriteResponseToProto((*responses)[index_of[i]], &response);
      }
      Reply(hosted, apply.clients[i], response);
    }
  }
}

// The lease is judged again right before serving: the step may have run
// long since Enter judged it (disk work, a preempted thread). Scanner calls
// are reads too, served here on the replica's strand, the only place the
// partition's scan contexts are touched.
void ReplicaHost::ServeReads(Hosted* hosted, std::vector<ServeRead> reads) {
  if (reads.empty()) return;
  SyncScanTerm(hosted);
  const bool lease_holds = LeaseHolds(*hosted);
  const int64_t now_us = options_.env.clock->WallNowUs();
  for (const ServeRead& read : reads) {
    auto it = hosted->clients.find(read.client);
    if (it == hosted->clients.end()) continue;
    if (!lease_holds) {
      proto::DataResponse refusal;
      StatusToProto(
          PegasusError(ErrorCode::kServerChanged, kLeaseLapsedMessage),
          &refusal);
      Reply(hosted, read.client, refusal);
      continue;
    }
    Reply(hosted, read.client,
          ServeDataRead(*hosted->partition, it->second.request, now_us));
  }
}

// Scan contexts live for one primary term: they go when the replica stops
// being primary (and so at a lease lapse, a restart or a failover), and a
// new term numbers its contexts in a range of ids of its own, from the
// ballot it began under. No other replica is primary under that ballot,
// and this one never again once the term ends, so an id from any other
// term (an earlier primary's, or this server's before a restart) names no
// scan here: its client is told the scan is lost and resumes after its
// last row. A term lasts through membership changes, and its scans with
// it.
void ReplicaHost::SyncScanTerm(Hosted* hosted) {
  const Ballot term = hosted->stopped ? 0 : hosted->replica->primary_since();
  if (term == hosted->scan_term) return;
  hosted->scan_term = term;
  hosted->partition->ResetScanContexts(ScanContextIdBase(term),
                                       kScanContextIdsPerTerm);
}

bool ReplicaHost::LeaseHolds(const Hosted& hosted) const {
  const int64_t now_ns = options_.env.clock->MonotonicNowNs();
  std::lock_guard<std::mutex> lock(lease_mu_);
  return now_ns < lease_until_ns_ && hosted.lease_lapses == lease_lapses_;
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
        ++counters_->learns_from_log;
        replica->OnLearnData(fetch.learner, fetch.signature, std::move(data));
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
    return;
  }
  data.set_type(proto::LEARN_APP);
  data.set_checkpoint(*std::move(blob));
  data.set_checkpoint_decree(*decree);
  ++counters_->learns_from_checkpoint;
  replica->OnLearnData(fetch.learner, fetch.signature, std::move(data));
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
  hosted->scan_term = 0;  // A learner's: it has no scans.
  hosted->data_generation = generation;
  RemoveDirectoryFiles(fs, old_dir);
  ++counters_->checkpoints_installed;
  hosted->replica->OnCheckpointInstalled(install.checkpoint_decree);
}

// Marks the directory reclaimed (durably: from then on its files are
// garbage, even after a crash), closes the replica, deletes its files, and
// has the host strand forget it. The partition may come back to this server
// later as a new, empty replica.
void ReplicaHost::Reclaim(Hosted* hosted, Ballot ballot) {
  FileSystem* fs = options_.env.file_system;
  absl::Status marked = WriteFileAtomically(
      fs, hosted->dir + "/" + kReclaimedFile, std::to_string(ballot));
  if (!marked.ok()) {
    Stop(hosted, marked);
    return;
  }
  Halt(hosted);
  {
    std::lock_guard<std::mutex> lock(hosted->published_mu);
    hosted->published.reclaimed = true;
  }
  hosted->replica.reset();
  hosted->partition.reset();
  hosted->engine.reset();
  hosted->log.reset();
  // Whatever is left is deleted at the next start.
  (void)RemoveFilesUnder(fs, hosted->dir, kReclaimedFile);
  ++counters_->replicas_reclaimed;
  options_.env.executor->Post([this, alive = std::weak_ptr<bool>(alive_),
                               weak = hosted->weak_from_this(),
                               gpid = hosted->gpid, ballot] {
    if (!Alive(alive)) return;
    auto it = hosted_.find(gpid);
    if (it != hosted_.end() && it->second == weak.lock()) hosted_.erase(it);
    reclaimed_[gpid] = ballot;
  });
}

// The replica takes no more steps. Its clients' writes may or may not have
// happened: they get no answer.
void ReplicaHost::Halt(Hosted* hosted) {
  hosted->stopped = true;
  hosted->clients.clear();
  if (hosted->tick_timer != kNoTimer) {
    hosted->strand->Cancel(hosted->tick_timer);
    hosted->tick_timer = kNoTimer;
  }
}

void ReplicaHost::Stop(Hosted* hosted, const absl::Status& status) {
  if (hosted->stopped) return;
  Halt(hosted);
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
  rpc_.RegisterNotificationHandler(kConfigProposalMethod,
                                   [this](NodeId from, std::string payload) {
                                     // Only the meta server changes
                                     // configurations.
                                     if (from == options_.meta)
                                       HandleProposal(payload);
                                   });
}

void ReplicaHost::HandleData(std::string payload,
                             RpcEndpoint::Responder responder) {
  CheckLease();
  proto::DataRequest request;
  if (!request.ParseFromString(payload)) {
    proto::DataResponse refusal;
    StatusToProto(
        PegasusError(ErrorCode::kInvalidArgument, "malformed data request"),
        &refusal);
    responder.Reply(refusal.SerializeAsString());
    return;
  }
  const Gpid gpid{request.app_id(), request.partition_index()};
  Hosted* hosted = Find(gpid);
  auto table = tables_.find(gpid.app_id);
  const bool dropped = table != tables_.end() &&
                       table->second.status != proto::TABLE_AVAILABLE;
  if (hosted == nullptr || hosted->stopped || dropped) {
    proto::DataResponse refusal;
    StatusToProto(
        PegasusError(ErrorCode::kObjectNotFound,
                     dropped ? "table " + std::to_string(gpid.app_id) +
                                   " is dropped"
                             : "replica " + gpid.ToString() + " is not on " +
                                   options_.self.ToString()),
        &refusal);
    responder.Reply(refusal.SerializeAsString());
    return;
  }
  const uint32_t default_ttl_s =
      table == tables_.end() ? 0 : table->second.default_ttl_s;
  // Tokens and times are handed out here, in arrival order.
  const ClientToken token = next_client_++;
  const int64_t since_ns = options_.env.clock->MonotonicNowNs();
  OnReplica(hosted, [this, token, since_ns, default_ttl_s,
                     request = std::move(request),
                     responder = std::move(responder)](Hosted* h) mutable {
    const bool write = IsWrite(request);
    if (write) {
      const int64_t wall_now_us = options_.env.clock->WallNowUs();
      // The table's default TTL travels in the mutation as an explicit
      // expiry, so every replica applies the same.
      if (default_ttl_s > 0) {
        GiveDefaultTtl(&request, ExpireTsFromTtl(wall_now_us, default_ttl_s));
      }
      absl::StatusOr<WriteRequest> converted = WriteRequestFromProto(request);
      absl::Status valid = converted.ok()
                               ? h->partition->ValidateWrite(*converted)
                               : converted.status();
      if (!valid.ok()) {
        proto::DataResponse refusal;
        StatusToProto(valid, &refusal);
        h->outbox.replies.emplace_back(std::move(responder),
                                       refusal.SerializeAsString());
        return;
      }
      ++counters_->client_writes;
      // A write's answer is its apply result: the request is not kept.
      h->clients.emplace(token,
                         Hosted::Client{{}, std::move(responder), since_ns});
      h->replica->ClientWrite(std::move(request), token, wall_now_us);
    } else {
      ++counters_->client_reads;
      h->clients.emplace(token, Hosted::Client{std::move(request),
                                               std::move(responder), since_ns});
      h->replica->ClientRead(token);
    }
  });
}

// A replica this server reclaimed under a configuration of ballot b comes
// back only through a newer configuration, or as a learner invited at b or
// later (the meta server adds learners without a new ballot): an older
// message, delayed in the network, must not make it a member again with
// nothing.
bool ReplicaHost::MayCreate(Gpid gpid, Ballot ballot, bool learner) const {
  auto it = reclaimed_.find(gpid);
  return it == reclaimed_.end() || ballot > it->second ||
         (learner && ballot == it->second);
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
// They are parsed here to find their replica, and taken on its strand.
void ReplicaHost::HandlePeer(RpcMethod method, NodeId from,
                             const std::string& payload) {
  CheckLease();
  // Parses a `Message` and hands it to its replica's `input` on the
  // replica's strand. Only a group check naming this node a learner, from
  // the partition's primary, creates the replica.
  auto deliver = [&]<typename Message>(
                     void (Replica::*input)(NodeId, const Message&)) {
    Message message;
    if (!message.ParseFromString(payload)) return;
    Gpid gpid;
    bool may_open = false;
    if constexpr (std::is_same_v<Message, proto::PrepareRequest> ||
                  std::is_same_v<Message, proto::GroupCheckRequest>) {
      gpid = GpidOf(message.config());
    } else {
      gpid = Gpid{message.app_id(), message.partition_index()};
    }
    if constexpr (std::is_same_v<Message, proto::GroupCheckRequest>) {
      may_open = message.learner_signature() != 0 && lease_valid_ &&
                 message.config().primary() == from.value &&
                 MayCreate(gpid, message.config().ballot(), /*learner=*/true);
    }
    Hosted* hosted = Target(gpid, may_open);
    if (hosted == nullptr) return;
    OnReplica(hosted,
              [this, from, input, message = std::move(message)](Hosted* h) {
                const Ballot seen = h->replica->ballot();
                (h->replica.get()->*input)(from, message);
                if constexpr (std::is_same_v<Message, proto::PrepareRequest>) {
                  if (options_.on_prepare) {
                    options_.on_prepare(h->gpid, seen, message.mutation(),
                                        h->replica->pending());
                  }
                }
              });
  };
  switch (method) {
    case kPrepareMethod:
      return deliver(&Replica::OnPrepare);
    case kPrepareResponseMethod:
      return deliver(&Replica::OnPrepareResponse);
    case kGroupCheckMethod:
      return deliver(&Replica::OnGroupCheck);
    case kGroupCheckResponseMethod:
      return deliver(&Replica::OnGroupCheckResponse);
    case kLearnMethod:
      return deliver(&Replica::OnLearnRequest);
    case kLearnResponseMethod:
      return deliver(&Replica::OnLearnResponse);
    default:
      return;
  }
}

void ReplicaHost::HandleProposal(const std::string& payload) {
  proto::ConfigProposal proposal;
  if (!proposal.ParseFromString(payload) || !FenceHolds(proposal.fence())) {
    return;
  }
  // Only an assignment makes a replica from nothing: one upgraded to
  // primary was a secondary, and must have its data.
  const Gpid gpid = GpidOf(proposal.config());
  const bool creates =
      proposal.type() == proto::CONFIG_ASSIGN_PRIMARY &&
      MayCreate(gpid, proposal.config().ballot(), /*learner=*/false);
  Hosted* hosted = Target(gpid, creates);
  if (hosted == nullptr) return;
  OnReplicaInLease(hosted, [proposal = std::move(proposal)](Hosted* h) {
    if (proposal.type() == proto::CONFIG_ADD_SECONDARY) {
      h->replica->OnAddLearner(proposal.config(), NodeId{proposal.node()});
    } else if (proposal.type() == proto::CONFIG_DOWNGRADE_TO_SECONDARY) {
      // A request to step down, not a configuration to adopt: `config` is
      // the one the primary serves under now.
      h->replica->OnDowngradeRequest(proposal.config());
    } else {
      h->replica->OnConfig(proposal.config());
    }
  });
}

// --- The host strand's timers ---------------------------------------------

// The host strand judges the lease at every entry point: after a pause, a
// message may come before a beacon does. Each replica judges it by the
// clock at its own steps too.
void ReplicaHost::CheckLease() {
  if (!lease_valid_) return;
  {
    std::lock_guard<std::mutex> lock(lease_mu_);
    if (options_.env.clock->MonotonicNowNs() < lease_until_ns_) return;
    ++lease_lapses_;
  }
  ++counters_->lease_lapses;
  SetLease(false);
}

bool ReplicaHost::FenceHolds(const proto::LeaseFence& fence) {
  CheckLease();
  return lease_valid_ && fence.session() == session_ &&
         fence.beacon() >= lease_first_beacon_;
}

void ReplicaHost::SendBeacon() {
  CheckLease();
  const int64_t send_ns = options_.env.clock->MonotonicNowNs();
  proto::Beacon beacon;
  beacon.set_node(options_.self.value);
  beacon.set_send_time_ns(send_ns);
  beacon.set_session(session_);
  const uint64_t seq = ++beacons_sent_;
  beacon.set_seq(seq);
  rpc_.Call(
      options_.meta, kBeaconMethod, beacon.SerializeAsString(),
      CallOptions{.timeout_ns = options_.beacon_interval_ns},
      [this, alive = std::weak_ptr<bool>(alive_), send_ns,
       seq](absl::StatusOr<std::string> answer) {
        if (!Alive(alive) || !answer.ok()) return;
        proto::BeaconResponse response;
        if (!response.ParseFromString(*answer) || !response.allowed()) {
          return;
        }
        ++counters_->beacons_answered;
        // A lapse is counted before the lease is extended past it.
        CheckLease();
        // The lease runs from when the beacon left, not when the
        // answer came: the meta server's grace started no earlier.
        int64_t until_ns = 0;
        {
          std::lock_guard<std::mutex> lock(lease_mu_);
          lease_until_ns_ =
              std::max(lease_until_ns_, send_ns + options_.lease_ns);
          until_ns = lease_until_ns_;
        }
        if (!lease_valid_ && options_.env.clock->MonotonicNowNs() < until_ns) {
          lease_first_beacon_ = seq;
          SetLease(true);
          SyncConfig();
        }
      });
}

// Every replica takes a step, so that each sees the change at once (a
// replica also sees it at its next step of its own).
void ReplicaHost::SetLease(bool valid) {
  lease_valid_ = valid;
  for (auto& [gpid, hosted] : hosted_) {
    if (!hosted->stopped) OnReplica(hosted.get(), [](Hosted*) {});
  }
}

void ReplicaHost::SyncConfig() {
  proto::ConfigSyncRequest request;
  request.set_node(options_.self.value);
  request.set_session(session_);
  request.set_lease_beacon(lease_first_beacon_);
  request.set_seq(++syncs_sent_);
  for (auto& [gpid, hosted] : hosted_) {
    std::lock_guard<std::mutex> lock(hosted->published_mu);
    if (hosted->published.reclaimed) continue;
    proto::ReplicaReport* report = request.add_replicas();
    *report = hosted->published.report;
    if (hosted->published.stopped) {
      report->set_status(static_cast<int32_t>(ReplicaStatus::kError));
    }
  }
  rpc_.Call(options_.meta, kConfigSyncMethod, request.SerializeAsString(),
            CallOptions{.timeout_ns = options_.config_sync_interval_ns},
            [this, alive = std::weak_ptr<bool>(alive_)](
                absl::StatusOr<std::string> answer) {
              if (!Alive(alive) || !answer.ok()) return;
              proto::ConfigSyncResponse response;
              if (response.ParseFromString(*answer)) OnConfigSync(response);
            });
}

// The answer holds the configuration of every partition this node belongs
// to and of every other one it reported: a replica the meta server removed
// learns so here, and stops acting as a member, even when its primary no
// longer talks to it. Its data stays, and it is still reported, while it
// may be the one to recover the partition from if every member dies; once
// nobody needs it, it is reclaimed. A missing replica is created only when
// the configuration makes this node primary (an assignment whose proposal
// was lost): a secondary without its replica must not start empty.
void ReplicaHost::OnConfigSync(const proto::ConfigSyncResponse& response) {
  if (!FenceHolds(response.fence())) return;
  OnTables(response);
  for (const proto::PartitionConfig& config : response.configs()) {
    const Gpid gpid = GpidOf(config);
    Hosted* hosted =
        Target(gpid, config.primary() == options_.self.value &&
                         MayCreate(gpid, config.ballot(), /*learner=*/false));
    if (hosted == nullptr) continue;
    OnReplicaInLease(hosted, [this, config](Hosted* h) {
      // Judged by the replica's own ballot, before it takes the new one.
      if (Unneeded(*h->replica, config)) return Reclaim(h, config.ballot());
      h->replica->OnConfig(config);
    });
  }
}

// A purged table is gone for good (its id is never given again): its
// replicas are reclaimed, and nothing may create them again.
void ReplicaHost::OnTables(const proto::ConfigSyncResponse& response) {
  for (const proto::TableInfo& table : response.tables()) {
    TableState& state = tables_[table.app_id()];
    state.status = table.status();
    state.default_ttl_s = 0;
    auto ttl = table.envs().find("default_ttl");
    uint32_t parsed = 0;
    if (ttl != table.envs().end() && absl::SimpleAtoi(ttl->second, &parsed)) {
      state.default_ttl_s = parsed;
    }
    if (table.status() != proto::TABLE_PURGED) continue;
    for (auto it = hosted_.lower_bound(Gpid{table.app_id(), 0});
         it != hosted_.end() && it->first.app_id == table.app_id(); ++it) {
      OnReplica(it->second.get(), [this](Hosted* h) {
        Reclaim(h, std::numeric_limits<Ballot>::max());
      });
    }
  }
}

}  // namespace pegasus::replication
