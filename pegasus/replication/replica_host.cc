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
#include "pegasus/replication/internal/replica_host_state.h"
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
// The tag of this incarnation's records in the shared log.
constexpr char kLogTagFile[] = "log_tag";
constexpr char kSharedLogDir[] = "slog";
// Where a replica kept a log of its own before the shared log.
constexpr char kOwnLogDir[] = "plog";

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

using internal::Alive;

ReplicaHost::ReplicaHost(const ReplicaHostOptions& options)
    : options_(options),
      session_(options.env.random->Next64() | 1),
      session_start_us_(options.env.clock->WallNowUs()),
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
  SharedLogOptions log_options;
  log_options.log.file_system = fs;
  log_options.log.executor = options_.env.log_executor != nullptr
                                 ? options_.env.log_executor
                                 : options_.env.executor;
  log_options.log.dir = options_.data_dir + "/" + kSharedLogDir;
  log_options.log.sync_policy = options_.log_sync_policy;
  log_options.log.max_segment_bytes = options_.log_segment_bytes;
  log_options.log.max_group_commit_bytes = options_.log_segment_bytes / 2;
  // The replicas bound what they have in the log's queue (their windows of
  // prepared mutations), and a refused append stops a replica for good: the
  // log shared by all of them takes whatever they send.
  log_options.log.max_pending_bytes = std::numeric_limits<int64_t>::max();
  log_options.replica_reserve_bytes = options_.log_segment_bytes;
  log_options.reserve_window_bytes = 4 * options_.log_segment_bytes;
  absl::StatusOr<std::unique_ptr<SharedLog>> log = SharedLog::Open(log_options);
  if (!log.ok()) {
    return PegasusError(
        ToErrorCode(log.status()),
        absl::StrCat("the shared log: ", log.status().message()));
  }
  log_ = *std::move(log);
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
    // Its records are not in the shared log: opened as it is, the replica
    // would go on without them, acknowledged writes among them.
    const std::string own_log = dir + "/" + kOwnLogDir;
    if (fs->FileExists(own_log)) {
      PEGASUS_ASSIGN_OR_RETURN(std::vector<std::string> segments,
                               fs->ListDir(own_log));
      if (!segments.empty()) {
        return PegasusError(
            ErrorCode::kNotSupported,
            absl::StrCat("replica ", gpid.ToString(), " has a log of its own (",
                         own_log,
                         ") from a build without the shared log; this build "
                         "would not replay it. Remove the replica's directory "
                         "to have it learn from the others again"));
      }
    }
    absl::StatusOr<Hosted*> opened = Open(gpid);
    if (!opened.ok()) {
      return PegasusError(ToErrorCode(opened.status()),
                          absl::StrCat("replica ", gpid.ToString(), ": ",
                                       opened.status().message()));
    }
  }
  // Every replica on disk is open: what is left in the log is of replicas
  // reclaimed before a crash finished their directories.
  log_->ForgetUnattached();
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

  // A replica without a tag is new here (or new again): none of the shared
  // log's records are its own. The tag is durable before any record has it.
  const std::string tag_file = hosted->dir + "/" + kLogTagFile;
  PEGASUS_ASSIGN_OR_RETURN(int64_t tag, ReadNumberFile(fs, tag_file));
  if (tag == 0) {
    tag = static_cast<int64_t>(options_.env.random->Next64() >> 1) | 1;
    PEGASUS_RETURN_IF_ERROR(
        WriteFileAtomically(fs, tag_file, std::to_string(tag)));
  }
  std::vector<LogRecord> records;
  hosted->log =
      log_->Attach(gpid, static_cast<uint64_t>(tag), hosted->strand, &records);
  std::vector<proto::Mutation> logged;
  for (const LogRecord& record : records) {
    proto::Mutation& mutation = logged.emplace_back();
    if (!mutation.ParseFromString(record.payload) ||
        mutation.decree() != record.decree) {
      return PegasusError(ErrorCode::kCorruption,
                          absl::StrCat("log record at decree ", record.decree,
                                       " is not a mutation"));
    }
  }
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

// The task holds the replica weakly: once the host forgot a reclaimed
// replica (or is gone), it does nothing.
void ReplicaHost::OnReplica(Hosted* hosted,
                            absl::AnyInvocable<void(Hosted*)> step) {
  {
    std::lock_guard<std::mutex> lock(hosted->steps_mu);
    hosted->steps.push_back(std::move(step));
    if (hosted->steps_posted) return;
    hosted->steps_posted = true;
  }
  hosted->strand->Post([this, weak = hosted->weak_from_this()] {
    std::shared_ptr<Hosted> h = weak.lock();
    if (h != nullptr) RunQueuedSteps(h.get());
  });
}

// Each step's effects are processed before the next step enters, as
// separate tasks would; only what Leave does is shared.
void ReplicaHost::RunQueuedSteps(Hosted* hosted) {
  std::vector<absl::AnyInvocable<void(Hosted*)>> steps;
  {
    std::lock_guard<std::mutex> lock(hosted->steps_mu);
    steps.swap(hosted->steps);
    hosted->steps_posted = false;
  }
  if (hosted->stopped) return;
  for (absl::AnyInvocable<void(Hosted*)>& step : steps) {
    if (hosted->stopped) break;
    Enter(hosted);
    if (!hosted->stopped) step(hosted);
    Process(hosted);
  }
  Leave(hosted);
}

// The step is queued behind the steps already waiting, so the client writes
// among them share mutations instead of taking one each.
void ReplicaHost::MakeMutationsSoon(Hosted* hosted) {
  if (hosted->making_mutations) return;
  hosted->making_mutations = true;
  OnReplica(hosted, [](Hosted* h) {
    h->making_mutations = false;
    h->replica->MakeMutations();
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
  hosted->outbox.replies.push_back({std::move(it->second.reply),
                                    response.error(),
                                    response.SerializeAsString()});
  hosted->clients.erase(it);
}

// What goes over the network is sent from the host strand, in one task for
// each Leave (one for a whole batch of steps).
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
    for (Outbox::Answer& answer : outbox.replies) {
      answer.reply(answer.error, std::move(answer.payload));
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

// Storage is flushed so the log behind it can be collected: in the
// background, so the replica's strand goes on meanwhile (a memtable of a
// busy minute takes a while to write); the log goes as far as the flushes
// already done reach, and what this one makes durable goes next time.
void ReplicaHost::Checkpoint(Hosted* hosted) {
  absl::Status status = hosted->engine->StartFlush();
  if (!status.ok()) {
    Stop(hosted, status);
    return;
  }
  hosted->log->GarbageCollect(std::min(hosted->engine->LastDurableDecree(),
                                       hosted->replica->log_keep_from() - 1));
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
  // From the oldest record kept, not from the start: a tail-drop marker
  // below the start still voids records above it logged before it.
  hosted->log->Read(
      kNoDecree + 1, options_.max_learn_bytes,
      [this, weak = hosted->weak_from_this(), replica = hosted->replica.get(),
       fetch](absl::StatusOr<std::vector<LogRecord>> records) mutable {
        std::shared_ptr<Hosted> hosted = weak.lock();
        if (hosted == nullptr || hosted->stopped ||
            hosted->replica.get() != replica) {
          return;
        }
        RunStep(hosted.get(), [&](Hosted* h) {
          AnswerLearner(h, fetch, std::move(records));
        });
      });
}

void ReplicaHost::AnswerLearner(
    Hosted* hosted, const LearnFetch& fetch,
    absl::StatusOr<std::vector<LogRecord>> records) {
  Replica* replica = hosted->replica.get();
  proto::LearnResponse data;
  Decree min_logged = kNoDecree;
  if (records.ok()) {
    for (const LogRecord& record : *records) {
      if (min_logged == kNoDecree || record.decree < min_logged) {
        min_logged = record.decree;
      }
    }
  }
  if (min_logged != kNoDecree && min_logged <= fetch.start_decree) {
    std::vector<proto::Mutation> logged;
    bool parsed = true;
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
  if (hosted->log != nullptr) hosted->log->Drop();
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

}  // namespace pegasus::replication
