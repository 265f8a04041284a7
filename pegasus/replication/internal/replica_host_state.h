// The replica host's per-replica state, shared by its .cc files
// (replica_host.cc: replicas and their steps; replica_host_messages.cc:
// what comes from clients, peers and the meta server). Not an API: use
// replica_host.h.

#ifndef PEGASUS_REPLICATION_INTERNAL_REPLICA_HOST_STATE_H_
#define PEGASUS_REPLICATION_INTERNAL_REPLICA_HOST_STATE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/strings/str_cat.h"
#include "pegasus/log/shared_log.h"
#include "pegasus/proto/data.pb.h"
#include "pegasus/proto/replication.pb.h"
#include "pegasus/replication/core/replica.h"
#include "pegasus/replication/replica_host.h"
#include "pegasus/runtime/executor.h"
#include "pegasus/runtime/rpc.h"
#include "pegasus/storage/partition.h"
#include "pegasus/storage/storage_engine.h"

namespace pegasus::replication {

struct ReplicaHost::Outbox {
  struct Note {
    NodeId to;
    RpcMethod method = 0;
    std::string payload;
  };
  std::vector<Note> notes;
  std::vector<std::string> proposals;
  struct Answer {
    ClientReply reply;
    int32_t error = 0;
    std::string payload;
  };
  std::vector<Answer> replies;

  bool empty() const {
    return notes.empty() && proposals.empty() && replies.empty();
  }
};

struct ReplicaHost::Hosted : std::enable_shared_from_this<Hosted> {
  struct Client {
    proto::DataRequest request;
    ClientReply reply;
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
  std::unique_ptr<ReplicaLog> log;
  std::unique_ptr<Replica> replica;
  // The primary term (Replica::primary_since) the partition's scan
  // contexts belong to; 0 outside one.
  Ballot scan_term = 0;
  std::map<ClientToken, Client> clients;
  Outbox outbox;
  // Steps for the replica's strand not run yet, and whether a task to run
  // them is posted (OnReplica).
  std::mutex steps_mu;
  std::vector<absl::AnyInvocable<void(Hosted*)>> steps;  // By steps_mu.
  bool steps_posted = false;                             // By steps_mu.
  // A step that makes mutations of the queued client writes is queued
  // (behind the steps already waiting, so the writes among them join).
  bool making_mutations = false;
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

namespace internal {

// Whether the host that made `alive` still lives: a completion running on
// another strand checks it before touching the host.
inline bool Alive(const std::weak_ptr<bool>& alive) {
  std::shared_ptr<bool> live = alive.lock();
  return live != nullptr && *live;
}

}  // namespace internal
}  // namespace pegasus::replication

#endif  // PEGASUS_REPLICATION_INTERNAL_REPLICA_HOST_STATE_H_
