// The replica host's messages: clients' data requests, peers' replication
// messages, the meta server's proposals, and the host's own beacons and
// config syncs (its lease and what it learns of tables and partitions).

#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/proto/partition_config.h"
#include "pegasus/replication/internal/replica_host_state.h"
#include "pegasus/replication/replica_host.h"
#include "pegasus/replication/wire.h"
#include "pegasus/storage/data_codec.h"
#include "pegasus/storage/partition.h"

namespace pegasus::replication {
namespace {

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
        if (mutate.operation() == static_cast<int32_t>(MutateOperation::kPut) &&
            mutate.set_expire_ts_s() == 0) {
          mutate.set_set_expire_ts_s(expire_ts_s);
        }
      }
      break;
    default:
      break;
  }
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

}  // namespace

using internal::Alive;

void ReplicaHost::RegisterHandlers() {
  rpc_.RegisterHandler(kDataMethod, [this](NodeId, std::string payload,
                                           RpcEndpoint::Responder responder) {
    ClientReply reply = [responder = std::move(responder)](
                            int32_t, std::string response) mutable {
      responder.Reply(std::move(response));
    };
    proto::DataRequest request;
    if (!request.ParseFromString(payload)) {
      reply = Measured(/*op=*/0, payload.size(), std::move(reply));
      proto::DataResponse refusal;
      StatusToProto(
          PegasusError(ErrorCode::kInvalidArgument, "malformed data request"),
          &refusal);
      reply(refusal.error(), refusal.SerializeAsString());
      return;
    }
    HandleData(std::move(request), payload.size(), std::move(reply));
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

void ReplicaHost::ServeData(proto::DataRequest request, ClientReply reply) {
  // Its size only matters to the metrics hook.
  const size_t bytes = options_.on_client_answer ? request.ByteSizeLong() : 0;
  options_.env.executor->Post([this, alive = std::weak_ptr<bool>(alive_),
                               request = std::move(request), bytes,
                               reply = std::move(reply)]() mutable {
    if (Alive(alive)) {
      HandleData(std::move(request), bytes, std::move(reply));
    }
  });
}

ClientReply ReplicaHost::Measured(int op, size_t request_bytes,
                                  ClientReply reply) {
  if (!options_.on_client_answer) return reply;
  return
      [this, op, request_bytes, since_ns = options_.env.clock->MonotonicNowNs(),
       reply = std::move(reply)](int32_t error, std::string response) mutable {
        options_.on_client_answer(ClientAnswer{
            .op = op,
            .error = error,
            .latency_ns = options_.env.clock->MonotonicNowNs() - since_ns,
            .request_bytes = request_bytes,
            .response_bytes = response.size()});
        reply(error, std::move(response));
      };
}

void ReplicaHost::HandleData(proto::DataRequest request, size_t request_bytes,
                             ClientReply reply) {
  CheckLease();
  reply = Measured(static_cast<int>(request.op_case()), request_bytes,
                   std::move(reply));
  const Gpid gpid{request.app_id(), request.partition_index()};
  Hosted* hosted = Find(gpid);
  auto table = tables_.find(gpid.app_id);
  const bool dropped =
      table != tables_.end() && table->second.status != proto::TABLE_AVAILABLE;
  if (hosted == nullptr || hosted->stopped || dropped) {
    proto::DataResponse refusal;
    StatusToProto(
        PegasusError(
            ErrorCode::kObjectNotFound,
            dropped ? "table " + std::to_string(gpid.app_id) + " is dropped"
                    : "replica " + gpid.ToString() + " is not on " +
                          options_.self.ToString()),
        &refusal);
    reply(refusal.error(), refusal.SerializeAsString());
    return;
  }
  const uint32_t default_ttl_s =
      table == tables_.end() ? 0 : table->second.default_ttl_s;
  // Tokens and times are handed out here, in arrival order.
  const ClientToken token = next_client_++;
  const int64_t since_ns = options_.env.clock->MonotonicNowNs();
  OnReplica(hosted, [this, token, since_ns, default_ttl_s,
                     request = std::move(request),
                     reply = std::move(reply)](Hosted* h) mutable {
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
        h->outbox.replies.push_back(
            {std::move(reply), refusal.error(), refusal.SerializeAsString()});
        return;
      }
      ++counters_->client_writes;
      // A write's answer is its apply result: the request is not kept.
      h->clients.emplace(token, Hosted::Client{{}, std::move(reply), since_ns});
      h->replica->QueueClientWrite(std::move(request), token, wall_now_us);
      MakeMutationsSoon(h);
    } else {
      ++counters_->client_reads;
      h->clients.emplace(token, Hosted::Client{std::move(request),
                                               std::move(reply), since_ns});
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
  beacon.set_session_start_us(session_start_us_);
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

std::vector<proto::ReplicaReport> ReplicaHost::Reports() const {
  std::vector<proto::ReplicaReport> reports;
  for (const auto& [gpid, hosted] : hosted_) {
    std::lock_guard<std::mutex> lock(hosted->published_mu);
    if (hosted->published.reclaimed) continue;
    reports.push_back(hosted->published.report);
    if (hosted->published.stopped) {
      reports.back().set_status(static_cast<int32_t>(ReplicaStatus::kError));
    }
  }
  return reports;
}

void ReplicaHost::SyncConfig() {
  proto::ConfigSyncRequest request;
  request.set_node(options_.self.value);
  request.set_session(session_);
  request.set_lease_beacon(lease_first_beacon_);
  request.set_seq(++syncs_sent_);
  for (proto::ReplicaReport& report : Reports()) {
    *request.add_replicas() = std::move(report);
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
