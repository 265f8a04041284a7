// A replica server's replicas: the driver of every Replica state machine on
// one node. It hosts each replica's mutation log and storage, carries out
// the replicas' effects (appends, messages, applies, reads, proposals to the
// meta server), serves clients' data requests, beacons the meta server and
// holds the server's lease, and syncs its replicas' configurations.
//
//   ReplicaHostOptions options;
//   options.self = NodeId{3};
//   options.meta = NodeId{1};
//   options.env = {clock, executor, transport, file_system, random,
//                  [&pool](Gpid g) { return pool.Strand(KeyOf(g)); },
//                  log_pool.Strand(0)};
//   options.open_engine = [&](const std::string& dir) {
//     return OpenMemoryEngine(dir, engine_options);
//   };
//   auto host = ReplicaHost::Start(options);   // recovers what is on disk
//
// Layout on disk: the server's log, shared by its replicas, in
// `<data_dir>/slog/` (pegasus/log/shared_log.h); per replica,
// `<data_dir>/<app>.<partition>/` holding storage in `data.<n>/`,
// `current_data` naming n (a learner's checkpoint goes into the next n),
// `ballot` (the highest ballot it acted under), `log_tag` (which of the
// shared log's records are this incarnation's) and, once reclaimed,
// `reclaimed`.
//
// Lease: every beacon the meta server answers extends the lease to the
// beacon's send time plus lease_ns (by this node's monotonic clock). When it
// runs out every replica turns inactive and serves nothing; it must be
// shorter than the meta server's grace period, so the server stops serving
// before the meta server declares it dead and moves its primaries.
//
// Reclaiming: a replica that config sync shows nobody needs (inactive, and
// by a configuration newer than its own neither a member nor among the
// dropped nodes the meta server would recover from) is closed and its
// files deleted, behind a durable mark so a crash midway cannot bring it
// back. Only a newer assignment, or a learner invitation, creates it anew,
// empty. A replica is made from nothing only by an assignment as primary
// (by proposal, or by config sync when the proposal was lost) and by a
// group check inviting a learner.
//
// Clients: writes (IsWrite in pegasus/storage/data_codec.h) are checked
// against the storage layer's rules and replicated; every other data
// request is a read, served by the primary alone on the replica's strand,
// the scanners' get_scanner, scan and clear_scanner included. A scan
// context lives for one primary term, and its id is drawn from ids no other
// term hands out: after a failover or a restart a client's id is reported
// lost (PERR_NOT_FOUND, context id -2), never served from another scan
// (docs/data_api.md, "Scanners on the wire").
//
// Failures: an I/O error in a replica's log, or storage failing to apply a
// committed mutation, stops that replica (it answers nothing and reports
// itself in error) and is reported through on_fatal, since the fate of the
// write is unknown. A replica whose log or storage is corrupt on disk is
// not opened; Start reports it.
//
// Strands: each replica runs on its own strand (HostEnv::replica_executor):
// its state machine, log, storage, clients and timer. The host strand
// (HostEnv::executor) owns the network: it decodes what arrives and hands
// it to the replica's strand, and sends what replicas hand back; it also
// runs beacons, the lease and config sync. Replicas judge the lease by the
// clock at every step, so none serves past it even before the host strand
// notices.
//
// Start runs on the caller's thread: call it before the executors run
// anything of the host's, or on the host strand.
//
// Thread-safety: the clock, the file system, open_engine and the on_*
// callbacks are used from every replica's strand at once, so they must be
// thread-safe; the transport and random only from the host strand. The
// accessors below (replica, storage, ForEachReplica) are for checkers and
// tests that run no strand meanwhile (the simulator), except lease_until_ns
// and stats, which any thread may call. Destroy the host only once its
// executors run none of its tasks (ThreadPool::Shutdown first); tasks left
// queued then do nothing.

#ifndef PEGASUS_REPLICATION_REPLICA_HOST_H_
#define PEGASUS_REPLICATION_REPLICA_HOST_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"
#include "pegasus/base/random.h"
#include "pegasus/log/mutation_log.h"
#include "pegasus/log/shared_log.h"
#include "pegasus/proto/replication.pb.h"
#include "pegasus/replication/core/replica.h"
#include "pegasus/runtime/clock.h"
#include "pegasus/runtime/executor.h"
#include "pegasus/runtime/file_system.h"
#include "pegasus/runtime/rpc.h"
#include "pegasus/runtime/transport.h"
#include "pegasus/storage/storage_engine.h"

namespace pegasus::replication {

// The answer to one client's data request: its Pegasus error code and the
// serialized proto::DataResponse.
using ClientReply =
    absl::AnyInvocable<void(int32_t error, std::string response)>;

// One answer to a client, for metrics.
struct ClientAnswer {
  // The operation: proto::DataRequest::OpCase (OP_NOT_SET for a request
  // that did not parse).
  int op = 0;
  // The Pegasus error code (0 = OK).
  int32_t error = 0;
  // From the request's arrival to its answer, by the host's clock.
  int64_t latency_ns = 0;
  size_t request_bytes = 0;
  size_t response_bytes = 0;
};

// One key per partition, for choosing its strand.
inline uint64_t StrandKeyOf(Gpid gpid) {
  return static_cast<uint64_t>(gpid.app_id) << 32 |
         static_cast<uint32_t>(gpid.partition_index);
}

struct HostEnv {
  Clock* clock = nullptr;
  Executor* executor = nullptr;
  Transport* transport = nullptr;
  FileSystem* file_system = nullptr;
  Random* random = nullptr;
  // The strand replica `gpid` runs on; the same gpid must always get the
  // same one. Unset: every replica runs on `executor`. With a ThreadPool,
  // off the worker of `executor` (Strand(0)), which a replica's reads of
  // storage would otherwise stall:
  //   [&pool](Gpid g) { return pool.StrandOffWorkerZero(StrandKeyOf(g)); }
  std::function<Executor*(Gpid)> replica_executor;
  // The shared log's strand: its writes and syncs block it, so with threads
  // it should be a worker of its own, not one replicas or the network run
  // on. Null: `executor`.
  Executor* log_executor = nullptr;
};

using EngineFactory =
    std::function<absl::StatusOr<std::unique_ptr<StorageEngine>>(
        const std::string& dir)>;

struct ReplicaHostOptions {
  NodeId self;
  // The meta server.
  NodeId meta;
  HostEnv env;
  // Where replicas live. Default "/data".
  std::string data_dir = "/data";
  // Opens (creating if missing) a storage engine in a directory. Required.
  EngineFactory open_engine;
  ReplicaOptions replica;
  MutationLogOptions::SyncPolicy log_sync_policy =
      MutationLogOptions::SyncPolicy::kEveryGroupCommit;
  // The shared log's segment size; also what it keeps of each replica's
  // newest records for learners (SharedLogOptions::replica_reserve_bytes),
  // within the newest four segments' worth of the log
  // (SharedLogOptions::reserve_window_bytes).
  int64_t log_segment_bytes = int64_t{4} << 20;
  // A replica is ticked when its next timeout is due (Replica::NextTickNs),
  // but never twice within this long. Default 10 ms.
  int64_t tick_interval_ns = 10'000'000;
  // Beacons to the meta server. Default every 500 ms.
  int64_t beacon_interval_ns = 500'000'000;
  // The lease a answered beacon grants, from its send time. Must be shorter
  // than the meta server's grace. Default 3 s.
  int64_t lease_ns = 3'000'000'000;
  // Configuration sync with the meta server. Default every 1 s.
  int64_t config_sync_interval_ns = 1'000'000'000;
  // Storage is flushed and the log garbage collected this often. Default
  // 60 s. Each flush of RocksDB writes a small file per replica, which reads
  // then search and compactions merge: with 2 s, three replica servers on 2
  // cores served 64 clients' gets 1.27x slower (puts 1.14x).
  int64_t checkpoint_interval_ns = 60'000'000'000;
  // A learner is sent at most this many bytes of log per answer.
  int64_t max_learn_bytes = int64_t{8} << 20;
  // A client whose answer has not come this long is let go (its write's
  // outcome may be unknown to the replica). Default 10 s.
  int64_t client_timeout_ns = 10'000'000'000;
  // Runs each replica's CheckInvariants() after every step: for the
  // simulator and tests, off in production (it walks the prepared list).
  bool check_invariants = false;
  // The callbacks below run on the replica's strand.
  // Called with every mutation a replica applies, after it is applied: for
  // checkers (the simulator compares every replica's history) and metrics.
  std::function<void(Gpid, const proto::Mutation&)> on_apply;
  // Called after a replica took a prepare, with the ballot it had seen
  // before and the effects it is about to carry out: for checkers (a
  // replica never accepts a prepare of an older ballot than it has seen).
  std::function<void(Gpid, Ballot seen, const proto::Mutation&, const Ready&)>
      on_prepare;
  // Called when a replica stops on an error.
  std::function<void(Gpid, const absl::Status&)> on_fatal;
  // Called on the host strand with every answer to a client: for metrics.
  std::function<void(const ClientAnswer&)> on_client_answer;
};

struct ReplicaHostStats {
  uint64_t client_writes = 0;
  uint64_t client_reads = 0;
  uint64_t applies = 0;
  uint64_t beacons_answered = 0;
  uint64_t lease_lapses = 0;
  uint64_t learns_from_log = 0;
  uint64_t learns_from_checkpoint = 0;
  uint64_t checkpoints_installed = 0;
  uint64_t replicas_reclaimed = 0;
};

class ReplicaHost {
 public:
  // Recovers every replica under data_dir and starts the timers. Fails on a
  // replica whose log or storage is corrupt (PERR_CORRUPTION, naming it).
  static absl::StatusOr<std::unique_ptr<ReplicaHost>> Start(
      const ReplicaHostOptions& options);
  ~ReplicaHost();

  ReplicaHost(const ReplicaHost&) = delete;
  ReplicaHost& operator=(const ReplicaHost&) = delete;

  // For checkers and tests: the replica of `gpid` on this node, or null.
  const Replica* replica(Gpid gpid) const;
  // The storage of `gpid`, or null.
  const StorageEngine* storage(Gpid gpid) const;
  size_t replica_count() const { return hosted_.size(); }
  // Calls `fn` with every replica on this node, in gpid order.
  void ForEachReplica(
      absl::FunctionRef<void(Gpid, const Replica&, const StorageEngine&)> fn)
      const;
  // Whether `replica` (one of this host's) would serve a read at this
  // instant: it serves reads, the lease holds by the clock, and no lapse
  // came since its last step (its next step turns it inactive first).
  bool Serves(const Replica& replica) const;
  // Whether the host strand last found the lease held.
  bool lease_valid() const { return lease_valid_; }
  // When the lease runs out, by this node's monotonic clock.
  int64_t lease_until_ns() const;
  ReplicaHostStats stats() const;

  // A client's data request that came some other way than the transport,
  // parsed already: the daemons' gRPC service. It is served as one from the
  // transport would be, and `reply` is called once, on the host strand,
  // unless the host is destroyed first (then it is destroyed uncalled).
  // Thread-safety: callable from any thread.
  void ServeData(proto::DataRequest request, ClientReply reply);

  // What this host tells the meta server of its replicas now, one report
  // each (a stopped replica's status is kError). Call on the host strand.
  std::vector<proto::ReplicaReport> Reports() const;

 private:
  struct Hosted;
  struct Outbox;
  struct Counters;

  explicit ReplicaHost(const ReplicaHostOptions& options);
  absl::Status RecoverAll();
  absl::StatusOr<Hosted*> Open(Gpid gpid);
  Hosted* Find(Gpid gpid);
  // The running replica of `gpid`, opened first if `may_open`; else null.
  Hosted* Target(Gpid gpid, bool may_open);
  bool MayCreate(Gpid gpid, Ballot ballot, bool learner) const;
  void RegisterHandlers();

  // On the replica's strand, later: Enter, `step`, Process. Steps posted
  // while earlier ones still wait run in the same task, in post order, and
  // Leave once after the last: their replies and notes go to the host
  // strand together, and the strand is woken once for all of them.
  void OnReplica(Hosted* hosted, absl::AnyInvocable<void(Hosted*)> step);
  // Runs the steps OnReplica queued for `hosted`.
  void RunQueuedSteps(Hosted* hosted);
  // The same, for what the meta server sent: `step` is skipped if a lapse
  // came in between, which fences the message off (FenceHolds).
  void OnReplicaInLease(Hosted* hosted, absl::AnyInvocable<void(Hosted*)> step);
  // Posts a step that makes mutations of the client writes queued by then,
  // unless one is posted already.
  void MakeMutationsSoon(Hosted* hosted);
  // A step on the replica's strand: Enter, `step` unless the replica
  // stopped, Leave.
  void RunStep(Hosted* hosted, absl::FunctionRef<void(Hosted*)> step);
  // Enter tells the replica the time and the lease; Leave carries out its
  // effects, hands what goes over the network to the host strand, publishes
  // its report and sets its timer.
  void Enter(Hosted* hosted);
  void Leave(Hosted* hosted);
  // Runs a replica's effects until it has none.
  void Process(Hosted* hosted);
  void StartAppends(Hosted* hosted, std::vector<LogAppend> appends);
  void ApplyCommitted(Hosted* hosted, std::vector<Apply> applies);
  void Reply(Hosted* hosted, ClientToken client,
             const proto::DataResponse& response);
  void SendOutbox(Hosted* hosted);
  void ScheduleTick(Hosted* hosted);
  void TickReplica(Hosted* hosted);
  void Checkpoint(Hosted* hosted);
  void ServeReads(Hosted* hosted, std::vector<ServeRead> reads);
  // Drops the partition's scan contexts when the replica's primary term
  // (Replica::primary_since) is not the one they were opened in.
  void SyncScanTerm(Hosted* hosted);
  // The lease holds by the clock now, and no lapse came since the
  // replica's last Enter.
  bool LeaseHolds(const Hosted& hosted) const;
  // Reads the log for a learner, then (a step later) answers it from the
  // log or from a checkpoint.
  void FetchForLearner(Hosted* hosted, const LearnFetch& fetch);
  void AnswerLearner(Hosted* hosted, const LearnFetch& fetch,
                     absl::StatusOr<std::vector<LogRecord>> records);
  void Install(Hosted* hosted, const InstallCheckpoint& install);
  void Halt(Hosted* hosted);
  void Stop(Hosted* hosted, const absl::Status& status);
  void Reclaim(Hosted* hosted, Ballot ballot);

  // `request_bytes`: its size on the wire, for on_client_answer.
  void HandleData(proto::DataRequest request, size_t request_bytes,
                  ClientReply reply);
  // `reply`, also reporting to on_client_answer when it is set.
  ClientReply Measured(int op, size_t request_bytes, ClientReply reply);
  void HandlePeer(RpcMethod method, NodeId from, const std::string& payload);
  void HandleProposal(const std::string& payload);

  void CheckLease();
  // Whether a message the meta server sent with `fence` may be acted on:
  // the lease holds, and the fence names a beacon of this session no older
  // than the one whose answer started the lease. What the meta server sent
  // before it declared this server dead is fenced off so, however late it
  // comes (docs/replication.md, "Fencing the meta server's messages").
  bool FenceHolds(const proto::LeaseFence& fence);
  void SendBeacon();
  void SetLease(bool valid);
  void SyncConfig();
  void OnConfigSync(const proto::ConfigSyncResponse& response);
  void OnTables(const proto::ConfigSyncResponse& response);
  struct Periodic {
    int64_t interval_ns = 0;
    void (ReplicaHost::*method)() = nullptr;
    TimerId timer = kNoTimer;
  };
  void Arm(size_t index);

  const ReplicaHostOptions options_;
  // A random nonzero id for this start: beacons carry it, with their seq.
  const uint64_t session_;
  // The wall clock when the session started: orders the host's sessions at
  // the meta server.
  const int64_t session_start_us_;
  RpcEndpoint rpc_;
  // Every replica's log; outlives hosted_.
  std::unique_ptr<SharedLog> log_;
  // The host strand's: the map changes only there; an entry goes when its
  // replica is reclaimed (tasks hold replicas weakly).
  std::map<Gpid, std::shared_ptr<Hosted>> hosted_;
  // Replicas reclaimed here, with the ballot of the configuration that
  // showed nobody needed them.
  std::map<Gpid, Ballot> reclaimed_;
  // What config sync last said of each table the host has replicas of:
  // a dropped table's replicas serve no client; a purged one's are
  // reclaimed; default_ttl is given to later writes without a TTL.
  struct TableState {
    proto::TableStatus status = proto::TABLE_AVAILABLE;
    uint32_t default_ttl_s = 0;
  };
  std::map<int32_t, TableState> tables_;
  std::vector<Periodic> periodic_;
  bool lease_valid_ = false;
  // Beacons sent this session, and the seq of the one whose answer started
  // the lease (after its last lapse).
  uint64_t beacons_sent_ = 0;
  uint64_t lease_first_beacon_ = 0;
  uint64_t syncs_sent_ = 0;
  ClientToken next_client_ = 1;
  // Written by the host strand, read by every replica's strand; both
  // guarded by lease_mu_.
  mutable std::mutex lease_mu_;
  int64_t lease_until_ns_ = 0;
  // Lapses the host strand has seen: a replica that finds this moved since
  // its last step went through a lapse, even if the lease holds again.
  uint64_t lease_lapses_ = 0;
  std::unique_ptr<Counters> counters_;
  // Outlives posted callbacks: they check it before touching the host.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace pegasus::replication

#endif  // PEGASUS_REPLICATION_REPLICA_HOST_H_
