// MetaCore's glue: recovery, tables, requests from replica servers and store
// completions. The cure (Tick) and the invariants are in meta_core_cure.cc.

#include "pegasus/meta/meta_core.h"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <utility>
#include <variant>

#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/internal/partition_configs.h"
#include "pegasus/meta/internal/tables.h"

namespace pegasus {

using meta_internal::CheckConfigWellFormed;
using meta_internal::CheckMembersWellFormed;
using meta_internal::GpidOf;
using meta_internal::IsMember;
using meta_internal::PartitionKey;

namespace {

absl::Status Corrupt(const std::string& key, const std::string& why) {
  return PegasusError(ErrorCode::kCorruption,
                      "meta store entry " + key + ": " + why);
}

bool IsPrimaryRequest(proto::ConfigType type) {
  return type == proto::CONFIG_DOWNGRADE_TO_INACTIVE ||
         type == proto::CONFIG_REMOVE ||
         type == proto::CONFIG_UPGRADE_TO_SECONDARY ||
         type == proto::CONFIG_DOWNGRADE_TO_SECONDARY ||
         type == proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT;
}

// What can be said of a request without looking at the partition.
absl::Status CheckUpdateShape(NodeId from,
                              const proto::ConfigUpdateRequest& request) {
  if (from.value == 0 || request.from() != from.value) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        "request.from does not name the sender");
  }
  if (!IsPrimaryRequest(request.type())) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        proto::ConfigType_Name(request.type()) +
                            " is not a change a primary may ask for");
  }
  if (request.node() == 0) {
    return PegasusError(ErrorCode::kInvalidArgument, "request.node is 0");
  }
  return CheckMembersWellFormed(request.config());
}

// The configuration `request` must lead to from `current`, or why not.
absl::StatusOr<proto::PartitionConfig> ExpectedConfig(
    const proto::PartitionConfig& current, NodeId from,
    const proto::ConfigUpdateRequest& request, int max_last_drops) {
  const NodeId node{request.node()};
  const proto::ConfigType type = request.type();
  if ((type == proto::CONFIG_DOWNGRADE_TO_INACTIVE ||
       type == proto::CONFIG_REMOVE) &&
      !meta_internal::IsSecondary(current, node)) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        "a primary may only drop a secondary");
  }
  if ((type == proto::CONFIG_DOWNGRADE_TO_SECONDARY ||
       type == proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT) &&
      node != from) {
    return PegasusError(
        ErrorCode::kInvalidArgument,
        proto::ConfigType_Name(type) + " must name the primary itself");
  }
  PEGASUS_ASSIGN_OR_RETURN(
      proto::PartitionConfig next,
      meta_internal::ApplyChange(current, type, node, max_last_drops));
  if (!meta_internal::SameMembers(next, request.config())) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        "the proposed members are not the current ones with "
                        "exactly this change");
  }
  return next;
}

bool IsRepeat(NodeId requester, proto::ConfigType type, NodeId node,
              int64_t ballot, NodeId from,
              const proto::ConfigUpdateRequest& request) {
  return requester == from && type == request.type() &&
         node.value == request.node() && ballot == request.config().ballot();
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetaCore>> MetaCore::Create(
    const MetaOptions& options) {
  PEGASUS_RETURN_IF_ERROR(ValidateMetaOptions(options));
  return std::unique_ptr<MetaCore>(new MetaCore(options));
}

MetaCore::MetaCore(const MetaOptions& options)
    : options_(options),
      now_ns_(std::numeric_limits<int64_t>::min()),
      nodes_(options.grace_ns, options.max_nodes),
      level_(options.level_on_start),
      effective_level_(options.level_on_start) {}

void MetaCore::AdvanceTime(int64_t now_ns) {
  now_ns_ = std::max(now_ns_, now_ns);
}

MetaCore::Partition* MetaCore::FindPartition(Gpid gpid) {
  auto it = partitions_.find(gpid);
  return it == partitions_.end() ? nullptr : &it->second;
}

absl::Status MetaCore::Recover(const std::map<std::string, std::string>& stored,
                               int64_t now_ns) {
  if (ready_) {
    return PegasusError(ErrorCode::kInvalidArgument, "already recovered");
  }
  AdvanceTime(now_ns);
  absl::Status status = RecoverTables(stored);
  for (auto it = stored.begin(); status.ok() && it != stored.end(); ++it) {
    if (meta_internal::IsPartitionKey(it->first)) {
      status = RecoverPartition(it->first, it->second);
    }
  }
  if (!status.ok()) {
    partitions_.clear();
    tables_.clear();
    names_.clear();
    out_.writes.clear();
    deletes_in_flight_.clear();
    level_ = options_.level_on_start;
    return status;
  }
  // A partition whose creation write never completed was never assigned:
  // it is created anew (the cure writes it first).
  for (const auto& [app_id, table] : tables_) {
    if (table.status() == proto::TABLE_PURGED) continue;
    for (int32_t index = 0; index < table.partition_count(); ++index) {
      if (partitions_.count(Gpid{app_id, index}) == 0) {
        AddNewPartition(Gpid{app_id, index}, table.replica_count());
      }
    }
  }
  for (const auto& [gpid, partition] : partitions_) {
    for (NodeId node : meta_internal::Members(partition.config)) {
      nodes_.Expect(node, now_ns_);
    }
  }
  effective_level_ = ComputeEffectiveLevel();
  last_round_ns_ = now_ns_;
  ready_ = true;
  return absl::OkStatus();
}

absl::Status MetaCore::RecoverPartition(const std::string& key,
                                        const std::string& value) {
  const std::optional<Gpid> gpid = meta_internal::ParsePartitionKey(key);
  if (!gpid) return Corrupt(key, "not a partition key");
  auto table = tables_.find(gpid->app_id);
  if (table == tables_.end()) return Corrupt(key, "belongs to no table");
  // A purged table's partitions are gone: only its tombstone counts. A key
  // left by a deletion the meta server did not see through is deleted now.
  if (table->second.status() == proto::TABLE_PURGED) {
    StartDelete(key);
    return absl::OkStatus();
  }
  if (gpid->partition_index >= table->second.partition_count()) {
    return Corrupt(key, "beyond its table's partition count");
  }
  proto::PartitionConfig config;
  if (!config.ParseFromString(value)) return Corrupt(key, "does not parse");
  if (GpidOf(config) != *gpid) return Corrupt(key, "names another partition");
  // Options may have shrunk since the entry was written: keep the newest.
  auto* drops = config.mutable_last_drops();
  const int excess = drops->size() - options_.max_last_drops;
  if (excess > 0) drops->erase(drops->begin(), drops->begin() + excess);
  absl::Status status = CheckConfigWellFormed(config, options_.max_last_drops);
  if (!status.ok()) return Corrupt(key, std::string(status.message()));
  if (static_cast<int>(partitions_.size()) >= options_.max_partitions) {
    return Corrupt(key, "more partitions stored than max_partitions");
  }
  Partition& partition = partitions_[*gpid];
  partition.config = std::move(config);
  partition.durable = true;
  return absl::OkStatus();
}

MetaCore::Partition& MetaCore::AddNewPartition(Gpid gpid,
                                               int32_t replica_count) {
  Partition& partition = partitions_[gpid];
  partition.config.set_app_id(gpid.app_id);
  partition.config.set_partition_index(gpid.partition_index);
  partition.config.set_ballot(0);
  partition.config.set_max_replica_count(replica_count);
  return partition;
}

bool MetaCore::TableAvailable(int32_t app_id) const {
  auto it = tables_.find(app_id);
  return it != tables_.end() && it->second.status() == proto::TABLE_AVAILABLE;
}

void MetaCore::OnBeacon(NodeId from, const proto::Beacon& beacon,
                        ReplyToken reply_token, int64_t now_ns) {
  AdvanceTime(now_ns);
  ++stats_.beacons;
  if (from.value == 0 || beacon.node() != from.value) {
    ++stats_.malformed_messages;
    return;
  }
  proto::BeaconResponse response;
  response.set_send_time_ns(beacon.send_time_ns());
  response.set_allowed(
      ready_ && nodes_.OnBeacon(from, now_ns_, beacon.session(),
                                beacon.session_start_us(), beacon.seq()));
  Send(from, reply_token, std::move(response));
}

void MetaCore::OnConfigSync(NodeId from,
                            const proto::ConfigSyncRequest& request,
                            ReplyToken reply_token, int64_t now_ns) {
  AdvanceTime(now_ns);
  proto::ConfigSyncResponse response;
  if (!ready_) {
    response.set_error(static_cast<int>(ErrorCode::kTryAgain));
  } else if (from.value == 0 || request.node() != from.value ||
             request.replicas_size() > options_.max_replicas_per_sync) {
    ++stats_.malformed_messages;
    response.set_error(static_cast<int>(ErrorCode::kInvalidArgument));
  } else {
    std::set<Gpid> reported;
    std::set<int32_t> apps;
    for (const proto::ReplicaReport& report : request.replicas()) {
      const Gpid gpid{report.app_id(), report.partition_index()};
      if (partitions_.count(gpid) > 0) reported.insert(gpid);
      // A purged table's replicas learn it from the table's tombstone.
      if (tables_.count(gpid.app_id) > 0) apps.insert(gpid.app_id);
    }
    // Every partition the node belongs to, and every other one it reported
    // (a replica the node should no longer act for learns so).
    for (const auto& [gpid, partition] : partitions_) {
      if (partition.durable &&
          (IsMember(partition.config, from) || reported.count(gpid) > 0)) {
        *response.add_configs() = partition.config;
        apps.insert(gpid.app_id);
      }
    }
    for (int32_t app_id : apps) *response.add_tables() = tables_.at(app_id);
    // Only a current sync's reports count: one that was in flight when its
    // node was declared dead, or that a later one overtook, may describe
    // replicas the node no longer has, or not yet those it has.
    if (nodes_.AcceptSync(from, request)) reports_[from] = std::move(reported);
  }
  Send(from, reply_token, std::move(response));
}

void MetaCore::OnConfigUpdate(NodeId from,
                              const proto::ConfigUpdateRequest& request,
                              ReplyToken reply_token, int64_t now_ns) {
  AdvanceTime(now_ns);
  const Gpid gpid = GpidOf(request.config());
  Partition* partition = ready_ ? FindPartition(gpid) : nullptr;
  absl::Status status = CheckUpdateShape(from, request);
  if (!status.ok()) {
    ++stats_.malformed_messages;
  } else if (!ready_) {
    status = meta_internal::MetaNotReady();
  } else if (partition == nullptr) {
    status = PegasusError(ErrorCode::kObjectNotFound,
                          "no partition " + gpid.ToString());
  } else if (effective_level_ < proto::META_LEVEL_FREEZED) {
    status = PegasusError(ErrorCode::kOperationDisabled,
                          "configuration changes are off at meta level " +
                              proto::MetaLevel_Name(effective_level_));
  } else if (!TableAvailable(gpid.app_id)) {
    // A dropped table's partitions stay as they were until it is recalled.
    status = PegasusError(ErrorCode::kAppNotExist,
                          "the table of " + gpid.ToString() + " is dropped");
  } else {
    status = AcceptUpdate(gpid, *partition, from, request, reply_token);
  }
  if (status.ok()) return;
  ++stats_.updates_rejected;
  proto::PartitionConfig config;
  if (partition != nullptr) {
    config = partition->config;
  } else {
    config.set_app_id(gpid.app_id);
    config.set_partition_index(gpid.partition_index);
  }
  ReplyUpdate(from, reply_token, status, config);
}

// OK when the request was accepted (its answer comes after the write) or
// answered already; else why it is refused.
absl::Status MetaCore::AcceptUpdate(Gpid gpid, Partition& partition,
                                    NodeId from,
                                    const proto::ConfigUpdateRequest& request,
                                    ReplyToken reply_token) {
  const proto::PartitionConfig& current = partition.config;
  if (partition.pending) {
    return WaitWithRepeat(*partition.pending, from, request, reply_token);
  }
  const std::optional<AcceptedUpdate>& last = partition.last_update;
  if (last && last->ballot == current.ballot() &&
      IsRepeat(last->requester, last->type, last->node, last->ballot, from,
               request)) {
    ReplyUpdate(from, reply_token, absl::OkStatus(), current);
    return absl::OkStatus();
  }
  if (current.primary() != from.value) {
    return PegasusError(ErrorCode::kServerChanged,
                        from.ToString() + " is not the primary");
  }
  if (request.config().ballot() != current.ballot() + 1) {
    return PegasusError(ErrorCode::kServerChanged,
                        "the ballot is " + std::to_string(current.ballot()));
  }
  PEGASUS_ASSIGN_OR_RETURN(
      proto::PartitionConfig next,
      ExpectedConfig(current, from, request, options_.max_last_drops));
  FollowReplicaCount(partition, next);
  ++stats_.updates_accepted;
  StartWrite(gpid, partition, std::move(next), request.type(),
             NodeId{request.node()}, from, {Waiter{from, reply_token}});
  return absl::OkStatus();
}

// One change per partition is in flight; a request is not queued behind
// it (its ballot will be stale), except a repeat of that very change (an
// RPC retry), which gets the same answer when the write completes.
absl::Status MetaCore::WaitWithRepeat(PendingChange& pending, NodeId from,
                                      const proto::ConfigUpdateRequest& request,
                                      ReplyToken reply_token) {
  if (!IsRepeat(pending.requester, pending.type, pending.node,
                pending.config.ballot(), from, request)) {
    return PegasusError(ErrorCode::kServerChanged,
                        "a configuration change is in flight");
  }
  if (static_cast<int>(pending.waiters.size()) >=
      options_.max_waiters_per_change) {
    return PegasusError(ErrorCode::kBusy, "too many repeats waiting");
  }
  pending.waiters.push_back(Waiter{from, reply_token});
  return absl::OkStatus();
}

void MetaCore::ReplyUpdate(NodeId to, ReplyToken token,
                           const absl::Status& status,
                           const proto::PartitionConfig& config) {
  proto::ConfigUpdateResponse response;
  response.set_error(static_cast<int>(ToErrorCode(status)));
  response.set_error_message(std::string(status.message()));
  *response.mutable_config() = config;
  Send(to, token, std::move(response));
}

// What goes to replica servers, beacon answers aside, carries the fence
// (proto::LeaseFence).
void MetaCore::Send(NodeId to, ReplyToken token, MetaMessage message) {
  std::visit(
      [&](auto& body) {
        using Body = std::decay_t<decltype(body)>;
        if constexpr (!std::is_same_v<Body, proto::BeaconResponse> &&
                      !std::is_same_v<Body, proto::AdminResponse>) {
          *body.mutable_fence() = nodes_.Fence(to);
        }
      },
      message);
  out_.messages.emplace_back(to, OutMessage{token, std::move(message)});
}

void MetaCore::StartWrite(Gpid gpid, Partition& partition,
                          proto::PartitionConfig config, proto::ConfigType type,
                          NodeId node, NodeId requester,
                          std::vector<Waiter> waiters) {
  PEGASUS_CHECK(!partition.pending) << gpid.ToString();
  const uint64_t write_id = next_write_id_++;
  out_.writes.push_back(
      StoreWrite{write_id, PartitionKey(gpid), config.SerializeAsString()});
  partition.pending =
      PendingChange{write_id,  std::move(config),  type,        node,
                    requester, std::move(waiters), std::nullopt};
  writes_in_flight_[write_id] = gpid;
  ++stats_.writes_started;
}

void MetaCore::OnStoreWriteDone(uint64_t write_id, const absl::Status& status,
                                int64_t now_ns) {
  AdvanceTime(now_ns);
  if (write_id != 0 && write_id == admin_write_id_) {
    OnAdminWriteDone(status);
    return;
  }
  if (deletes_in_flight_.erase(write_id) > 0) {
    ++(status.ok() ? stats_.keys_deleted : stats_.deletes_failed);
    return;
  }
  auto it = writes_in_flight_.find(write_id);
  if (it == writes_in_flight_.end()) {
    ++stats_.unknown_write_completions;
    return;
  }
  Partition& partition = partitions_.at(it->second);
  writes_in_flight_.erase(it);
  PEGASUS_CHECK(partition.pending && partition.pending->write_id == write_id);
  PendingChange change = std::move(*partition.pending);
  partition.pending.reset();
  if (status.ok()) {
    const Gpid gpid = GpidOf(change.config);
    CompleteChange(partition, std::move(change));
    // A partition of a table purged meanwhile goes now.
    auto table = tables_.find(gpid.app_id);
    if (table != tables_.end() &&
        table->second.status() == proto::TABLE_PURGED) {
      partitions_.erase(gpid);
      checked_ballots_.erase(gpid);
    }
    MaybeFinishCreate();
    return;
  }
  // Nothing changes. A primary hears of it and may ask again; the meta
  // server's own change is decided afresh by a later Tick.
  ++stats_.writes_failed;
  const absl::Status failed = PegasusError(
      ErrorCode::kIoError,
      "persisting the configuration failed: " + std::string(status.message()));
  for (const Waiter& waiter : change.waiters) {
    ReplyUpdate(waiter.node, waiter.token, failed, partition.config);
  }
  if (change.admin_waiter) {
    ReplyAdmin(change.admin_waiter->node, change.admin_waiter->token, failed);
  }
}

// The write is durable: the change is current. Only now does anyone hear of
// it, so no node ever acts on a ballot the meta server could forget.
void MetaCore::CompleteChange(Partition& partition, PendingChange change) {
  const int64_t expected_ballot =
      partition.durable ? partition.config.ballot() + 1 : 0;
  PEGASUS_CHECK_EQ(change.config.ballot(), expected_ballot)
      << "a persisted ballot must be one more than the one before";
  partition.config = change.config;
  partition.durable = true;
  partition.last_add_secondary_ns.reset();
  if (change.requester.value != 0) {
    partition.last_update = AcceptedUpdate{
        partition.config.ballot(), change.requester, change.type, change.node};
    for (const Waiter& waiter : change.waiters) {
      ReplyUpdate(waiter.node, waiter.token, absl::OkStatus(),
                  partition.config);
    }
  } else if (change.type != proto::CONFIG_INVALID) {
    ProposeToMembers(change);
  }
  if (change.admin_waiter) {
    ReplyAdmin(change.admin_waiter->node, change.admin_waiter->token,
               absl::OkStatus());
  }
  if (partition.move) AdvanceMove(GpidOf(change.config), partition, change);
}

MetaReady MetaCore::TakeReady() { return std::exchange(out_, MetaReady{}); }

void MetaCore::FollowReplicaCount(const Partition& partition,
                                  proto::PartitionConfig& next) const {
  auto table = tables_.find(next.app_id());
  if (table == tables_.end()) return;
  // A copy has one member beyond the table's count from its learner's
  // upgrade to its last step, which removes `from` and ends the extra.
  const bool copying =
      partition.move &&
      partition.move->move.kind != balance::MoveKind::kMovePrimary &&
      partition.move->phase != MovePhase::kRemove;
  next.set_max_replica_count(
      std::max(table->second.replica_count() + (copying ? 1 : 0),
               meta_internal::MemberCount(next)));
}

const proto::TableInfo* MetaCore::GetTable(int32_t app_id) const {
  auto it = tables_.find(app_id);
  return it == tables_.end() ? nullptr : &it->second;
}

const proto::TableInfo* MetaCore::FindTable(const std::string& name) const {
  auto it = names_.find(name);
  return it == names_.end() ? nullptr : GetTable(it->second);
}

const proto::PartitionConfig* MetaCore::GetConfig(Gpid gpid) const {
  auto it = partitions_.find(gpid);
  return it == partitions_.end() ? nullptr : &it->second.config;
}

bool MetaCore::HasChangeInFlight(Gpid gpid) const {
  auto it = partitions_.find(gpid);
  return it != partitions_.end() && it->second.pending.has_value();
}

std::vector<Gpid> MetaCore::Partitions() const {
  std::vector<Gpid> gpids;
  for (const auto& [gpid, partition] : partitions_) gpids.push_back(gpid);
  return gpids;
}

NodeStatus MetaCore::GetNodeStatus(NodeId node) const {
  return nodes_.Status(node);
}

std::vector<NodeId> MetaCore::AliveNodes() const { return nodes_.AliveNodes(); }

}  // namespace pegasus
