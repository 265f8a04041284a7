// A hand-driven MetaCore for tests: the core, an InMemoryMetaStore and a
// ManualExecutor that is also the clock. Every input is fed at the
// executor's current time; after each, the core's outbox is drained: store
// writes go to the store (they complete when the executor runs), messages
// are collected for the test to inspect.
//
//   MetaHarness h;
//   h.Start();
//   h.Beacon(NodeId{1});
//   ASSERT_TRUE(h.CreateTable("t1", 4, 3).ok());   // writes complete
//   h.Tick();       // the cure assigns primaries
//
// Thread-safety: none; the test's thread only.

#ifndef PEGASUS_META_META_TEST_HARNESS_H_
#define PEGASUS_META_META_TEST_HARNESS_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/meta_core.h"
#include "pegasus/meta/meta_store.h"
#include "pegasus/runtime/manual_executor.h"

namespace pegasus {

inline constexpr int64_t kMsNs = 1'000'000;
inline constexpr int64_t kSecondNs = 1'000'000'000;

struct SentMessage {
  NodeId to;
  OutMessage out;
};

// Options for tests of small clusters that lose most of their nodes: the
// meta server never freezes.
inline MetaOptions NeverFreeze(MetaOptions options = {}) {
  options.min_live_nodes = 0;
  options.min_live_node_percent = 0;
  return options;
}

// The Unix time the harness's wall clock starts at.
inline constexpr int64_t kHarnessWallStartS = 1'767'225'600;

class MetaHarness {
 public:
  explicit MetaHarness(const MetaOptions& options = NeverFreeze())
      : options_(options),
        medium_(std::make_shared<InMemoryMetaStore::Medium>()) {}

  // A new core and store over the medium, recovered from it. Writes of an
  // earlier incarnation still in flight complete on the medium (or not) but
  // are never reported to the new core.
  absl::Status Start() {
    ++generation_;
    // The old incarnation's writes land (or fail) before the new one loads,
    // as with a real store: a read after a restart sees every write the
    // dead process's session completed.
    executor_.RunReady();
    store_ = std::make_unique<InMemoryMetaStore>(&executor_, medium_);
    auto core = MetaCore::Create(options_);
    PEGASUS_CHECK_OK(core.status());
    core_ = *std::move(core);
    auto stored = store_->LoadAll();
    if (!stored.ok()) return stored.status();
    return core_->Recover(*stored, now());
  }

  MetaCore& core() { return *core_; }
  InMemoryMetaStore& store() { return *store_; }
  InMemoryMetaStore::Medium& medium() { return *medium_; }
  ManualExecutor& executor() { return executor_; }
  int64_t now() { return executor_.MonotonicNowNs(); }

  // Hands the core's outbox out: writes to the store, messages to sent().
  void Drain() {
    MetaReady ready = core_->TakeReady();
    for (StoreWrite& write : ready.writes) {
      ++writes_issued_;
      if (write.erase) {
        store_->Delete(std::move(write.key),
                       [this, id = write.write_id,
                        generation = generation_](absl::Status status) {
                         if (generation != generation_) return;
                         core_->OnStoreWriteDone(id, status, now());
                         Drain();
                       });
        continue;
      }
      std::pair<std::string, std::string> entry(write.key, write.value);
      store_->Write(std::move(write.key), std::move(write.value),
                    [this, id = write.write_id, generation = generation_,
                     entry = std::move(entry)](absl::Status status) {
                      // Landed on the medium, whichever incarnation asked.
                      if (status.ok()) acknowledged_.push_back(entry);
                      if (generation != generation_) return;
                      core_->OnStoreWriteDone(id, status, now());
                      Drain();
                    });
    }
    for (auto& [to, out] : ready.messages) {
      sent_.push_back(SentMessage{to, std::move(out)});
    }
  }

  // Runs the store's completions (and whatever they cause).
  void Settle() { executor_.RunReady(); }

  // Moves time forward (running completions due on the way).
  void Advance(int64_t delta_ns) { executor_.AdvanceNs(delta_ns); }

  // A beacon of `node`'s session (its id + 100), numbered in order.
  ReplyToken Beacon(NodeId node) {
    proto::Beacon beacon;
    beacon.set_node(node.value);
    beacon.set_send_time_ns(now());
    beacon.set_session(node.value + 100);
    beacon.set_seq(++beacons_sent_[node]);
    const ReplyToken token = next_token_++;
    core_->OnBeacon(node, beacon, token, now());
    Drain();
    return token;
  }

  void BeaconAll(const std::set<NodeId>& nodes) {
    for (NodeId node : nodes) Beacon(node);
  }

  ReplyToken ConfigUpdate(NodeId from,
                          const proto::ConfigUpdateRequest& request) {
    const ReplyToken token = next_token_++;
    core_->OnConfigUpdate(from, request, token, now());
    Drain();
    return token;
  }

  ReplyToken ConfigSync(NodeId from,
                        const std::vector<proto::ReplicaReport>& replicas) {
    proto::ConfigSyncRequest request;
    request.set_node(from.value);
    for (const auto& replica : replicas) *request.add_replicas() = replica;
    // As under a lease its latest beacon started.
    request.set_session(from.value + 100);
    request.set_lease_beacon(beacons_sent(from));
    request.set_seq(++syncs_sent_[from]);
    const ReplyToken token = next_token_++;
    core_->OnConfigSync(from, request, token, now());
    Drain();
    return token;
  }

  void Tick() {
    core_->Tick(now());
    core_->PurgeExpiredTables(now(), wall_now_s());
    Drain();
  }

  // The wall clock: kHarnessWallStartS plus the time advanced.
  int64_t wall_now_s() { return kHarnessWallStartS + now() / kSecondNs; }

  // A table operation, fed now; its answer comes under the token.
  ReplyToken Admin(const proto::AdminRequest& request) {
    const ReplyToken token = next_token_++;
    core_->OnAdmin(NodeId{99}, request, token, now(), wall_now_s());
    Drain();
    return token;
  }

  // A table operation carried out to its answer (the store's writes
  // complete). CHECK-fails when it is not answered.
  proto::AdminResponse AdminAndSettle(const proto::AdminRequest& request) {
    const ReplyToken token = Admin(request);
    Settle();
    std::optional<proto::AdminResponse> response =
        ResponseFor<proto::AdminResponse>(token);
    PEGASUS_CHECK(response.has_value()) << "no answer to the table operation";
    return *response;
  }

  // Creates a table and lets its writes complete: OK, or the error the
  // meta server answered.
  absl::Status CreateTable(const std::string& name, int32_t partition_count,
                           int32_t replica_count) {
    proto::AdminRequest request;
    auto* create = request.mutable_create_table();
    create->set_name(name);
    create->set_partition_count(partition_count);
    create->set_replica_count(replica_count);
    return StatusOf(AdminAndSettle(request));
  }

  static absl::Status StatusOf(const proto::AdminResponse& response) {
    if (response.error() == 0) return absl::OkStatus();
    return PegasusError(static_cast<ErrorCode>(response.error()),
                        response.error_message());
  }

  // Tick, then let the writes it started complete.
  void TickAndSettle() {
    Tick();
    Settle();
  }

  // For `duration_ns`, every step_ns: `alive` beacon, the core ticks, and
  // the store's writes complete.
  void Run(int64_t duration_ns, const std::set<NodeId>& alive,
           int64_t step_ns = 100 * kMsNs) {
    for (int64_t t = 0; t < duration_ns; t += step_ns) {
      Advance(step_ns);
      BeaconAll(alive);
      TickAndSettle();
    }
  }

  std::vector<SentMessage>& sent() { return sent_; }
  // Every (key, value) the store acknowledged a write of, in order: what
  // was durable at each moment, including values overwritten (or deleted)
  // since.
  const std::vector<std::pair<std::string, std::string>>& acknowledged() const {
    return acknowledged_;
  }
  std::vector<SentMessage> TakeSent() { return std::exchange(sent_, {}); }
  uint64_t writes_issued() const { return writes_issued_; }
  // How many beacons Beacon() sent for `node`: the seq of its latest.
  uint64_t beacons_sent(NodeId node) const {
    auto it = beacons_sent_.find(node);
    return it == beacons_sent_.end() ? 0 : it->second;
  }

  // The response with `token`, if one was sent, as type T.
  template <typename T>
  std::optional<T> ResponseFor(ReplyToken token) const {
    for (const SentMessage& m : sent_) {
      if (m.out.reply_token != token) continue;
      if (const T* message = std::get_if<T>(&m.out.message)) return *message;
    }
    return std::nullopt;
  }

  // The proposals sent, in order, with their destinations.
  std::vector<std::pair<NodeId, proto::ConfigProposal>> Proposals() const {
    std::vector<std::pair<NodeId, proto::ConfigProposal>> proposals;
    for (const SentMessage& m : sent_) {
      if (const auto* p = std::get_if<proto::ConfigProposal>(&m.out.message)) {
        proposals.emplace_back(m.to, *p);
      }
    }
    return proposals;
  }

 private:
  const MetaOptions options_;
  ManualExecutor executor_;
  std::shared_ptr<InMemoryMetaStore::Medium> medium_;
  std::unique_ptr<InMemoryMetaStore> store_;
  std::unique_ptr<MetaCore> core_;
  uint64_t generation_ = 0;
  ReplyToken next_token_ = 1;
  uint64_t writes_issued_ = 0;
  std::map<NodeId, uint64_t> beacons_sent_;
  std::map<NodeId, uint64_t> syncs_sent_;
  std::vector<SentMessage> sent_;
  std::vector<std::pair<std::string, std::string>> acknowledged_;
};

// A primary's request for (type, node) on `current`, as a correct primary
// builds it: the current members with that change, ballot + 1.
inline proto::ConfigUpdateRequest MakeUpdate(
    const proto::PartitionConfig& current, proto::ConfigType type, NodeId node,
    NodeId from) {
  proto::PartitionConfig next = current;
  next.set_ballot(current.ballot() + 1);
  auto* secondaries = next.mutable_secondaries();
  switch (type) {
    case proto::CONFIG_UPGRADE_TO_SECONDARY:
      next.add_secondaries(node.value);
      break;
    case proto::CONFIG_DOWNGRADE_TO_SECONDARY:
      next.set_primary(0);
      next.add_secondaries(node.value);
      break;
    case proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT:
      break;
    default:
      secondaries->erase(
          std::remove(secondaries->begin(), secondaries->end(), node.value),
          secondaries->end());
      break;
  }
  proto::ConfigUpdateRequest request;
  *request.mutable_config() = next;
  request.set_type(type);
  request.set_node(node.value);
  request.set_from(from.value);
  return request;
}

// The proposals of `type` sent so far, as (destination, proposal).
inline std::vector<std::pair<NodeId, proto::ConfigProposal>> ProposalsOf(
    const MetaHarness& h, proto::ConfigType type) {
  std::vector<std::pair<NodeId, proto::ConfigProposal>> out;
  for (const auto& [to, proposal] : h.Proposals()) {
    if (proposal.type() == type) out.emplace_back(to, proposal);
  }
  return out;
}

// Plays the primaries' part for the proposals sent so far (and clears
// them): each CONFIG_ADD_SECONDARY for the current ballot is answered with
// an UPGRADE_TO_SECONDARY request, as a primary does once its learner has
// caught up; with `step_downs`, a primary asked to step down
// (CONFIG_DOWNGRADE_TO_SECONDARY of its current ballot) also proposes its
// own downgrade. Then lets the writes complete.
inline void PlayPrimaries(MetaHarness& h, bool step_downs) {
  for (const auto& [to, proposal] : h.Proposals()) {
    const Gpid gpid{proposal.config().app_id(),
                    proposal.config().partition_index()};
    const proto::PartitionConfig* config = h.core().GetConfig(gpid);
    if (config == nullptr || config->primary() != to.value ||
        config->ballot() != proposal.config().ballot() ||
        h.core().HasChangeInFlight(gpid)) {
      continue;
    }
    if (proposal.type() == proto::CONFIG_ADD_SECONDARY) {
      h.ConfigUpdate(to, MakeUpdate(*config, proto::CONFIG_UPGRADE_TO_SECONDARY,
                                    NodeId{proposal.node()}, to));
    } else if (step_downs &&
               proposal.type() == proto::CONFIG_DOWNGRADE_TO_SECONDARY &&
               proposal.node() == to.value) {
      h.ConfigUpdate(
          to,
          MakeUpdate(*config, proto::CONFIG_DOWNGRADE_TO_SECONDARY, to, to));
    }
  }
  h.TakeSent();
  h.Settle();
}

// The learners only.
inline void CompleteLearners(MetaHarness& h) {
  PlayPrimaries(h, /*step_downs=*/false);
}

// The learners and the step-downs.
inline void AnswerProposals(MetaHarness& h) {
  PlayPrimaries(h, /*step_downs=*/true);
}

// `rounds` steps of 100 ms in which `alive` beacon, the core ticks, and
// primaries complete the learners they are asked for.
inline void Heal(MetaHarness& h, const std::set<NodeId>& alive,
                 int rounds = 30) {
  for (int i = 0; i < rounds; ++i) {
    h.Advance(100 * kMsNs);
    h.BeaconAll(alive);
    h.TickAndSettle();
    CompleteLearners(h);
  }
}

}  // namespace pegasus

#endif  // PEGASUS_META_META_TEST_HARNESS_H_
