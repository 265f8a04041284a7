// The checks of a simulated run: the invariants after every event of a
// server, and convergence, liveness and linearizability at the end.

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pegasus/base/crc64.h"
#include "pegasus/base/random.h"
#include "pegasus/storage/storage_engine.h"
#include "testing/checkers/linearizability.h"
#include "testing/sim/cluster.h"
#include "testing/sim/simulation_internal.h"

namespace pegasus::sim::internal {
namespace {

// A hash of every row a storage engine holds, in key order.
uint64_t StorageDigest(const StorageEngine& engine) {
  std::unique_ptr<StorageIterator> it = engine.NewIterator(IteratorOptions{});
  uint64_t digest = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    digest = MixBits(digest ^ Crc64(it->key()));
    digest = MixBits(digest ^ Crc64(it->value()));
  }
  return digest;
}

}  // namespace

// Invariant 3 of docs/replication.md's checks: a committed decree has one
// mutation, whichever replica applies it, whenever.
void Simulation::RecordApply(int server, Gpid gpid,
                             const proto::Mutation& mutation) {
  proto::Mutation content = mutation;
  content.clear_ballot();
  content.clear_last_committed();
  std::string bytes;
  content.SerializeToString(&bytes);
  auto [it, first] = committed_[gpid].emplace(mutation.decree(), bytes);
  Decree& max = max_committed_[gpid.partition_index];
  if (mutation.decree() > max) {
    max = mutation.decree();
    commit_rose_.push_back(gpid.partition_index);
  }
  if (!first && it->second != bytes) {
    Violation(absl::StrCat("divergence: n", server + 1,
                           " applied a different "
                           "mutation at ",
                           gpid.ToString(), " decree ", mutation.decree(),
                           " (ballot ", mutation.ballot(), ") at ",
                           world_.now_ns(), " ns"));
  }
}

// Invariant 4: a replica never accepts (logs or acknowledges) a prepare of
// an older ballot than one it has seen.
void Simulation::CheckPrepareBallot(int server, Gpid gpid, Ballot seen,
                                    const proto::Mutation& mutation,
                                    const replication::Ready& ready) {
  if (mutation.ballot() >= seen) return;
  auto same = [&](Ballot ballot, Decree decree) {
    return ballot == mutation.ballot() && decree == mutation.decree();
  };
  bool accepted = false;
  for (const replication::LogAppend& append : ready.log_appends) {
    accepted |= same(append.mutation.ballot(), append.mutation.decree());
  }
  for (const replication::PeerMessage& message : ready.messages) {
    const auto* ack = std::get_if<proto::PrepareResponse>(&message.body);
    accepted |= ack != nullptr && ack->error() == proto::REPLICA_OK &&
                same(ack->ballot(), ack->decree());
  }
  if (!accepted) return;
  Violation(absl::StrCat("stale prepare accepted: n", server + 1, " took ",
                         gpid.ToString(), " decree ", mutation.decree(),
                         " of ballot ", mutation.ballot(), " after ballot ",
                         seen, " at ", world_.now_ns(), " ns"));
}

// Invariant 2, the commit invariant, checked for the replicas of the server
// whose event just ran: a serving primary has committed every decree ever
// committed in its partition (no committed write is lost in a change of
// primary), and every secondary of its ballot holds every decree the
// primary committed.
void Simulation::CheckCommitPoint(int index, Gpid gpid,
                                  const replication::Replica& replica,
                                  bool serving) {
  using replication::ReplicaStatus;
  const replication::Replica* primary = nullptr;
  std::vector<std::pair<int, const replication::Replica*>> secondaries;
  auto replica_on = [&](uint64_t node) -> const replication::Replica* {
    if (node == 0 || node > static_cast<uint64_t>(options_.servers)) {
      return nullptr;
    }
    const replication::ReplicaHost* host = HostOf(static_cast<int>(node) - 1);
    if (host == nullptr) return nullptr;
    const replication::Replica* r = host->replica(gpid);
    return r != nullptr && r->ballot() == replica.ballot() ? r : nullptr;
  };
  if (replica.status() == ReplicaStatus::kPrimary) {
    primary = &replica;
    for (uint64_t node : replica.config().secondaries()) {
      const replication::Replica* r = replica_on(node);
      if (r != nullptr && r->status() == ReplicaStatus::kSecondary) {
        secondaries.emplace_back(static_cast<int>(node) - 1, r);
      }
    }
    const Decree committed = max_committed_[gpid.partition_index];
    if (serving && replica.last_committed() < committed) {
      Violation(absl::StrCat(
          "lost commit: n", index + 1, " serves ", gpid.ToString(),
          " as primary (ballot ", replica.ballot(), ") committed through ",
          replica.last_committed(), ", but decree ", committed,
          " was committed at ", world_.now_ns(), " ns"));
    }
  } else if (replica.status() == ReplicaStatus::kSecondary) {
    primary = replica_on(replica.config().primary());
    if (primary == nullptr || primary->status() != ReplicaStatus::kPrimary) {
      return;
    }
    secondaries.emplace_back(index, &replica);
  }
  // Every decree up to the primary's commit point: committed at the
  // secondary, or in its prepared list (a gap would slip past a comparison
  // of last prepared decrees).
  for (const auto& [server, secondary] : secondaries) {
    Decree missing = kNoDecree;
    for (Decree d = secondary->last_committed() + 1;
         d <= primary->last_committed() && missing == kNoDecree; ++d) {
      if (secondary->MutationAt(d) == nullptr) missing = d;
    }
    if (missing == kNoDecree) continue;
    Violation(absl::StrCat("commit invariant: ", gpid.ToString(), " primary n",
                           primary->config().primary(), " committed through ",
                           primary->last_committed(), " but secondary n",
                           server + 1, " lacks decree ", missing,
                           " (committed through ", secondary->last_committed(),
                           ", prepared through ", secondary->last_prepared(),
                           ", ballot ", replica.ballot(), ") at ",
                           world_.now_ns(), " ns"));
  }
}

// After each event of server `index`: the commit invariant for the
// replicas the event could change, and invariant 1: at most one replica of
// a partition serves as primary at any instant (ReplicaHost::Serves: a
// primary past reconciliation, under a lease unexpired by its server's
// clock). A replica changes only in a step on its own strand; the host
// strand changes only the lease and which replicas there are, and a
// replica starts serving only through one of these (time passing only ends
// leases). So an event on a replica's strand looks at that replica, an
// event on the host strand at all of them if the lease or the replicas
// changed, and what each server served stands while its lease does. When a
// partition's highest commit rose, its serving primaries are looked at
// again too.
void Simulation::CheckServer(int index, int strand) {
  const replication::ReplicaHost* host = HostOf(index);
  if (host == nullptr) {
    std::fill(serving_[index].begin(), serving_[index].end(), 0);
  } else if (strand != 0 &&
             processes_[index]->StrandKey(strand) == kLogStrandKey) {
    // The shared log's strand: it changes no replica (they take its
    // acknowledgements in steps of their own).
  } else if (strand != 0) {
    const Gpid gpid = GpidOfStrandKey(processes_[index]->StrandKey(strand));
    if (const replication::Replica* replica = host->replica(gpid)) {
      CheckReplica(index, *host, *replica);
    } else {
      serving_[index][gpid.partition_index] = 0;  // Reclaimed.
    }
  } else {
    const std::pair<int64_t, size_t> now{host->lease_until_ns(),
                                         host->replica_count()};
    if (now != walked_[index]) {
      walked_[index] = now;
      host->ForEachReplica(
          [&](Gpid, const replication::Replica& replica, const StorageEngine&) {
            CheckReplica(index, *host, replica);
          });
    }
  }
  std::vector<int32_t> rose;
  rose.swap(commit_rose_);
  for (int32_t partition : rose) {
    for (int other = 0; other < options_.servers; ++other) {
      const replication::ReplicaHost* their = HostOf(other);
      if (serving_[other][partition] == 0 || their == nullptr) continue;
      if (const replication::Replica* replica =
              their->replica(Gpid{options_.workload.app_id, partition})) {
        CheckReplica(other, *their, *replica);
      }
    }
  }
}

void Simulation::CheckReplica(int index, const replication::ReplicaHost& host,
                              const replication::Replica& replica) {
  const Gpid gpid = replica.gpid();
  const int32_t partition = gpid.partition_index;
  const bool serves = host.Serves(replica);
  // The commit invariant can break only when one of the two sides moves:
  // looked at again when this replica's view changed.
  const CommitView view{
      replica.status(),        replica.ballot(), replica.last_committed(),
      replica.last_prepared(), serves,           max_committed_[partition]};
  CommitView& last = commit_views_[index][partition];
  if (!(view == last)) {
    last = view;
    CheckCommitPoint(index, gpid, replica, serves);
  }
  // A secondary serves only under the planted secondary_read.
  serving_[index][partition] = serves ? replica.ballot() : 0;
  if (!serves) return;
  if (quiet_ && replica.status() == replication::ReplicaStatus::kPrimary) {
    first_served_after_quiet_.emplace(gpid, world_.now_ns());
  }
  for (int other = 0; other < options_.servers; ++other) {
    if (other == index || serving_[other][partition] == 0 ||
        !LeaseHeld(other, HostOf(other))) {
      continue;
    }
    Violation(absl::StrCat("two primaries serve ", gpid.ToString(), ": n",
                           other + 1, " (ballot ", serving_[other][partition],
                           ") and n", index + 1, " (ballot ", replica.ballot(),
                           ") at ", world_.now_ns(), " ns"));
  }
}

bool Simulation::LeaseHeld(int index, const replication::ReplicaHost* host) {
  return host != nullptr &&
         host->lease_until_ns() > processes_[index]->MonotonicNowNs();
}

// At the end, after the faults stopped: every partition has a serving
// primary (liveness), and replicas of a partition at the same commit point
// hold the same data (convergence).
void Simulation::CheckConvergence() {
  std::map<Gpid, std::map<Decree, std::pair<int, uint64_t>>> seen;
  for (int index : Servers()) {
    const replication::ReplicaHost* host = HostOf(index);
    if (host == nullptr) continue;
    host->ForEachReplica([&](Gpid gpid, const replication::Replica& replica,
                             const StorageEngine& storage) {
      if (replica.status() != replication::ReplicaStatus::kPrimary &&
          replica.status() != replication::ReplicaStatus::kSecondary) {
        return;
      }
      const uint64_t digest = StorageDigest(storage);
      auto [it, first] = seen[gpid].emplace(replica.last_committed(),
                                            std::make_pair(index, digest));
      if (!first && it->second.second != digest) {
        Violation(absl::StrCat("no convergence: ", gpid.ToString(),
                               " at decree ", replica.last_committed(),
                               " differs between n", it->second.first + 1,
                               " and n", index + 1));
      }
    });
  }
  // Liveness: after the faults stopped, every partition had a serving
  // primary and acknowledged a client's write, each within the bound (not
  // necessarily at the very end).
  const int64_t bound_ns = quiet_ns() + kLivenessBoundNs;
  std::set<Gpid> served, written;
  for (const auto& [gpid, at_ns] : first_served_after_quiet_) {
    if (at_ns <= bound_ns) served.insert(gpid);
  }
  for (const checkers::Operation& op : history_) {
    if (op.kind == checkers::OpKind::kGet ||
        op.kind == checkers::OpKind::kMultiGet ||
        op.result != checkers::OpResult::kOk || op.call_ns < quiet_ns() ||
        op.return_ns > bound_ns) {
      continue;
    }
    written.insert(Gpid{options_.workload.app_id,
                        PartitionOf(op.hashkey, options_.partition_count)});
  }
  std::set<int32_t> keyed;
  for (const std::string& key : WorkloadHashKeys(options_.workload)) {
    keyed.insert(PartitionOf(key, options_.partition_count));
  }
  std::vector<std::string> unhealed;
  for (int32_t p = 0; p < options_.partition_count; ++p) {
    const Gpid gpid{options_.workload.app_id, p};
    if (!served.count(gpid)) {
      unhealed.push_back(gpid.ToString() + " (no serving primary)");
    } else if (!written.count(gpid)) {
      unhealed.push_back(gpid.ToString() +
                         (keyed.count(p) ? " (no write acknowledged)"
                                         : " (no hash key of the workload "
                                           "maps to it)"));
    }
  }
  if (!unhealed.empty()) {
    Violation(absl::StrCat("liveness: within ", kLivenessBoundNs / kSecond,
                           " s after the faults stopped, ",
                           absl::StrJoin(unhealed, ", ")));
    // What each of them looks like, to debug by.
    for (int32_t p = 0; p < options_.partition_count; ++p) {
      const Gpid gpid{options_.workload.app_id, p};
      if (served.count(gpid) && written.count(gpid)) continue;
      std::string line = absl::StrCat("  ", gpid.ToString(), ": meta ");
      const proto::PartitionConfig* config = MetaConfig(gpid);
      absl::StrAppend(&line,
                      config == nullptr ? "-" : config->ShortDebugString());
      for (int index : Servers()) {
        const replication::ReplicaHost* host = HostOf(index);
        if (host == nullptr) {
          absl::StrAppend(&line, "; n", index + 1, " down");
          continue;
        }
        const replication::Replica* replica = host->replica(gpid);
        if (replica == nullptr) continue;
        absl::StrAppend(&line, "; n", index + 1, " ",
                        replication::ReplicaStatusName(replica->status()), " b",
                        replica->ballot(), " c", replica->last_committed(),
                        " p", replica->last_prepared(),
                        host->lease_valid() ? "" : " nolease");
      }
      notes_.push_back(line);
    }
  }
}

void Simulation::Check(SimulationResult* result) {
  for (const checkers::Operation& op : history_) {
    switch (op.result) {
      case checkers::OpResult::kOk:
        ++result->ops_ok;
        break;
      case checkers::OpResult::kFailed:
        ++result->ops_failed;
        break;
      case checkers::OpResult::kUnknown:
        ++result->ops_unknown;
        break;
    }
  }
  checkers::CheckOptions check;
  check.time_budget_ms = options_.check_budget_ms;
  result->linearizability = checkers::CheckLinearizability(history_, check);
  switch (result->linearizability.verdict) {
    case checkers::Verdict::kLinearizable:
      break;
    case checkers::Verdict::kNotLinearizable:
      Violation("history not linearizable at hashkey '" +
                result->linearizability.hashkey + "'");
      break;
    case checkers::Verdict::kUnknown:
      Violation("linearizability undecided within " +
                std::to_string(options_.check_budget_ms) + " ms at hashkey '" +
                result->linearizability.hashkey + "'");
      break;
  }
  result->violations = violations_;
  result->notes = notes_;
  result->history = std::move(history_);
}

}  // namespace pegasus::sim::internal
