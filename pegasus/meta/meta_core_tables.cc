// MetaCore's tables: the table operations (one at a time, each persisted
// before it is answered), queries, purging dropped tables, and recovering
// tables and the meta level from the store.

#include <algorithm>
#include <utility>

#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/internal/guardian.h"
#include "pegasus/meta/internal/partition_configs.h"
#include "pegasus/meta/internal/tables.h"
#include "pegasus/meta/meta_core.h"

namespace pegasus {

using meta_internal::CheckEnvs;
using meta_internal::CheckTableName;
using meta_internal::TableKey;

namespace {

absl::Status AppNotExist(const std::string& name) {
  return PegasusError(ErrorCode::kAppNotExist,
                      "no table named \"" + name + "\"");
}

bool IsQuery(const proto::AdminRequest& request) {
  switch (request.op_case()) {
    case proto::AdminRequest::kListTables:
    case proto::AdminRequest::kGetMetaLevel:
    case proto::AdminRequest::kListNodes:
    case proto::AdminRequest::kClusterInfo:
    case proto::AdminRequest::kTableHealth:
      return true;
    default:
      return false;
  }
}

}  // namespace

absl::Status MetaCore::RecoverTables(
    const std::map<std::string, std::string>& stored) {
  for (const auto& [key, value] : stored) {
    if (key == meta_internal::kMetaLevelKey) {
      std::optional<proto::MetaLevel> level =
          meta_internal::DecodeMetaLevel(value);
      if (!level) {
        return PegasusError(ErrorCode::kCorruption,
                            "meta store entry " + key + ": not a meta level");
      }
      level_ = *level;
      continue;
    }
    if (!meta_internal::IsTableKey(key)) continue;
    std::optional<int32_t> app_id = meta_internal::ParseTableKey(key);
    if (!app_id) {
      return PegasusError(ErrorCode::kCorruption,
                          "meta store entry " + key + ": not a table key");
    }
    PEGASUS_ASSIGN_OR_RETURN(proto::TableInfo table,
                             meta_internal::ParseTable(*app_id, value));
    if (static_cast<int>(tables_.size()) >= options_.max_tables) {
      return PegasusError(ErrorCode::kCorruption,
                          "more tables stored than max_tables");
    }
    if (table.status() == proto::TABLE_AVAILABLE &&
        !names_.emplace(table.name(), *app_id).second) {
      return PegasusError(ErrorCode::kCorruption,
                          "two available tables are named " + table.name());
    }
    tables_[*app_id] = std::move(table);
  }
  return absl::OkStatus();
}

// --- Requests ----------------------------------------------------------------

void MetaCore::OnAdmin(NodeId from, const proto::AdminRequest& request,
                       ReplyToken reply_token, int64_t now_ns,
                       int64_t wall_now_s) {
  AdvanceTime(now_ns);
  if (!ready_) {
    ReplyAdmin(from, reply_token, meta_internal::MetaNotReady());
    return;
  }
  if (request.op_case() == proto::AdminRequest::OP_NOT_SET) {
    ++stats_.malformed_messages;
    ReplyAdmin(from, reply_token,
               PegasusError(ErrorCode::kInvalidArgument,
                            "the request names no operation"));
    return;
  }
  if (IsQuery(request)) {
    absl::StatusOr<proto::AdminResponse> answer = Query(request);
    ReplyAdmin(from, reply_token, answer.status(),
               answer.ok() ? *std::move(answer) : proto::AdminResponse());
    return;
  }
  // Operations on one partition's configuration: they write no table
  // record, are checked against the configuration as it is now, and need
  // level steady or lively (so never run at stopped).
  if (request.has_balance()) {
    OnBalance(from, request.balance(), reply_token);
    return;
  }
  if (request.has_propose()) {
    OnPropose(from, request.propose(), reply_token);
    return;
  }
  if (static_cast<int>(admin_queue_.size()) >= options_.max_pending_admin) {
    ReplyAdmin(from, reply_token,
               PegasusError(ErrorCode::kBusy,
                            "too many table operations are waiting"));
    return;
  }
  AdminOp op;
  op.from = from;
  op.token = reply_token;
  op.request = request;
  op.wall_now_s = wall_now_s;
  admin_queue_.push_back(std::move(op));
  if (admin_queue_.size() == 1) RunAdmin();
}

absl::StatusOr<proto::AdminResponse> MetaCore::Query(
    const proto::AdminRequest& request) const {
  if (!ready_) return meta_internal::MetaNotReady();
  proto::AdminResponse response;
  switch (request.op_case()) {
    case proto::AdminRequest::kListTables: {
      auto* list = response.mutable_list_tables();
      for (const auto& [app_id, table] : tables_) {
        if (table.status() == proto::TABLE_AVAILABLE ||
            (table.status() == proto::TABLE_DROPPED &&
             request.list_tables().include_dropped())) {
          *list->add_tables() = table;
        }
      }
      break;
    }
    case proto::AdminRequest::kGetMetaLevel: {
      auto* level = response.mutable_meta_level();
      level->set_level(level_);
      level->set_effective_level(effective_level_);
      break;
    }
    case proto::AdminRequest::kListNodes: {
      meta_internal::LoadMap loads;
      for (const auto& [gpid, partition] : partitions_) {
        meta_internal::CountLoad(partition.config, +1, loads);
      }
      for (NodeId node : nodes_.Nodes()) loads[node];
      auto* list = response.mutable_list_nodes();
      for (const auto& [node, load] : loads) {
        proto::NodeInfo* info = list->add_nodes();
        info->set_node(node.value);
        info->set_alive(nodes_.IsAlive(node));
        info->set_primaries(load.primaries);
        info->set_secondaries(load.replicas - load.primaries);
      }
      break;
    }
    case proto::AdminRequest::kClusterInfo: {
      auto* info = response.mutable_cluster_info();
      info->set_meta_node(options_.self.value);
      info->set_level(level_);
      info->set_effective_level(effective_level_);
      const std::vector<NodeId> alive = nodes_.AliveNodes();
      info->set_alive_nodes(static_cast<int32_t>(alive.size()));
      int32_t dead = 0;
      for (NodeId node : nodes_.Nodes()) dead += nodes_.IsDead(node) ? 1 : 0;
      info->set_dead_nodes(dead);
      for (const auto& [app_id, table] : tables_) {
        if (table.status() == proto::TABLE_AVAILABLE) {
          info->set_available_tables(info->available_tables() + 1);
        } else if (table.status() == proto::TABLE_DROPPED) {
          info->set_dropped_tables(info->dropped_tables() + 1);
        }
      }
      info->set_partitions(static_cast<int32_t>(partitions_.size()));
      std::map<proto::PartitionHealth, int32_t> counts;
      for (const auto& [gpid, partition] : partitions_) {
        if (TableAvailable(gpid.app_id)) ++counts[HealthOf(gpid)];
      }
      info->set_healthy_partitions(counts[proto::HEALTH_HEALTHY]);
      info->set_writable_ill_partitions(counts[proto::HEALTH_WRITABLE_ILL]);
      info->set_unwritable_partitions(counts[proto::HEALTH_UNWRITABLE]);
      info->set_unreadable_partitions(counts[proto::HEALTH_UNREADABLE]);
      info->set_dead_partitions(counts[proto::HEALTH_DEAD]);
      break;
    }
    case proto::AdminRequest::kTableHealth: {
      const proto::TableInfo* table = FindTable(request.table_health().name());
      if (table == nullptr) return AppNotExist(request.table_health().name());
      auto* health = response.mutable_table_health();
      health->set_app_id(table->app_id());
      for (int32_t index = 0; index < table->partition_count(); ++index) {
        const Gpid gpid{table->app_id(), index};
        const proto::PartitionConfig& config = partitions_.at(gpid).config;
        proto::PartitionHealthInfo* info = health->add_partitions();
        info->set_partition_index(index);
        info->set_ballot(config.ballot());
        info->set_primary(config.primary());
        *info->mutable_secondaries() = config.secondaries();
        info->set_health(HealthOf(gpid));
      }
      break;
    }
    default:
      return PegasusError(ErrorCode::kInvalidArgument, "not a query");
  }
  return response;
}

proto::PartitionHealth MetaCore::HealthOf(Gpid gpid) const {
  const proto::PartitionConfig& config = partitions_.at(gpid).config;
  const int32_t wanted = tables_.at(gpid.app_id).replica_count();
  int32_t alive = 0;
  for (NodeId member : meta_internal::Members(config)) {
    alive += nodes_.IsAlive(member) ? 1 : 0;
  }
  if (config.primary() == 0 || !nodes_.IsAlive(NodeId{config.primary()})) {
    return alive > 0 ? proto::HEALTH_UNREADABLE : proto::HEALTH_DEAD;
  }
  if (alive >= wanted && meta_internal::MemberCount(config) == alive) {
    return proto::HEALTH_HEALTHY;
  }
  return alive >= std::min(2, wanted) ? proto::HEALTH_WRITABLE_ILL
                                      : proto::HEALTH_UNWRITABLE;
}

proto::QueryConfigResponse MetaCore::QueryConfig(
    const proto::QueryConfigRequest& request) const {
  proto::QueryConfigResponse response;
  const proto::TableInfo* table = request.app_id() != 0
                                      ? GetTable(request.app_id())
                                      : FindTable(request.app_name());
  absl::Status status;
  if (!ready_) {
    status = meta_internal::MetaNotReady();
  } else if (table == nullptr || table->status() != proto::TABLE_AVAILABLE) {
    status = request.app_id() != 0
                 ? PegasusError(
                       ErrorCode::kAppNotExist,
                       "no table with id " + std::to_string(request.app_id()))
                 : AppNotExist(request.app_name());
  }
  if (!status.ok()) {
    response.set_error(static_cast<int32_t>(ToErrorCode(status)));
    response.set_error_message(std::string(status.message()));
    return response;
  }
  response.set_app_id(table->app_id());
  response.set_app_name(table->name());
  response.set_partition_count(table->partition_count());
  for (int32_t index = 0; index < table->partition_count(); ++index) {
    *response.add_partitions() =
        partitions_.at(Gpid{table->app_id(), index}).config;
  }
  return response;
}

void MetaCore::ReplyAdmin(NodeId to, ReplyToken token,
                          const absl::Status& status,
                          proto::AdminResponse response) {
  if (token == kNoReplyToken) return;
  if (!status.ok()) response.Clear();
  response.set_error(static_cast<int32_t>(ToErrorCode(status)));
  response.set_error_message(std::string(status.message()));
  Send(to, token, std::move(response));
}

void MetaCore::PurgeExpiredTables(int64_t now_ns, int64_t wall_now_s) {
  AdvanceTime(now_ns);
  if (!ready_ || level_ == proto::META_LEVEL_STOPPED) return;
  for (const auto& [app_id, table] : tables_) {
    if (table.status() != proto::TABLE_DROPPED ||
        table.expire_time_s() > wall_now_s) {
      continue;
    }
    const bool queued = std::any_of(
        admin_queue_.begin(), admin_queue_.end(),
        [id = app_id](const AdminOp& op) { return op.purge_app_id == id; });
    if (queued ||
        static_cast<int>(admin_queue_.size()) >= options_.max_pending_admin) {
      continue;
    }
    AdminOp op;
    op.wall_now_s = wall_now_s;
    op.purge_app_id = app_id;
    admin_queue_.push_back(std::move(op));
    if (admin_queue_.size() == 1) RunAdmin();
  }
}

// --- Running operations --------------------------------------------------

void MetaCore::RunAdmin() {
  if (admin_queue_.empty() || admin_write_id_ != 0 ||
      admin_queue_.front().creating) {
    return;
  }
  AdminOp& op = admin_queue_.front();
  const absl::Status status = StartAdmin(op);
  // Refused, or answered without a write: the next one runs.
  if (!status.ok() || op.write_id == 0) FinishAdmin(status);
}

absl::Status MetaCore::StartAdmin(AdminOp& op) {
  // Checked when the op runs, not when it arrives: a level change queued
  // before it decides.
  if (level_ == proto::META_LEVEL_STOPPED && !op.request.has_set_meta_level()) {
    return PegasusError(ErrorCode::kOperationDisabled,
                        "the meta server is at level stopped");
  }
  if (op.purge_app_id != 0) {
    auto it = tables_.find(op.purge_app_id);
    // Recalled meanwhile: nothing to purge.
    if (it == tables_.end() || it->second.status() != proto::TABLE_DROPPED ||
        it->second.expire_time_s() > op.wall_now_s) {
      return absl::OkStatus();
    }
    proto::TableInfo tombstone = it->second;
    tombstone.set_status(proto::TABLE_PURGED);
    tombstone.clear_envs();
    return StartTableWrite(op, std::move(tombstone));
  }
  const proto::AdminRequest& request = op.request;
  switch (request.op_case()) {
    case proto::AdminRequest::kCreateTable:
      return StartCreate(op);
    case proto::AdminRequest::kDropTable: {
      const auto& drop = request.drop_table();
      const proto::TableInfo* table = FindTable(drop.name());
      if (table == nullptr) return AppNotExist(drop.name());
      if (drop.reserve_seconds() < 0) {
        return PegasusError(ErrorCode::kInvalidArgument,
                            "reserve_seconds must be >= 0");
      }
      proto::TableInfo next = *table;
      next.set_status(proto::TABLE_DROPPED);
      next.set_drop_time_s(op.wall_now_s);
      next.set_expire_time_s(op.wall_now_s +
                             (drop.reserve_seconds() > 0
                                  ? drop.reserve_seconds()
                                  : options_.dropped_table_hold_s));
      return StartTableWrite(op, std::move(next));
    }
    case proto::AdminRequest::kRecallTable: {
      const auto& recall = request.recall_table();
      auto it = tables_.find(recall.app_id());
      if (it == tables_.end() || it->second.status() == proto::TABLE_PURGED) {
        return PegasusError(ErrorCode::kAppNotExist,
                            "no dropped table with id " +
                                std::to_string(recall.app_id()) +
                                " (a purged table cannot be recalled)");
      }
      if (it->second.status() == proto::TABLE_AVAILABLE) {
        return PegasusError(
            ErrorCode::kAppExist,
            "table " + std::to_string(recall.app_id()) + " is not dropped");
      }
      const std::string name =
          recall.new_name().empty() ? it->second.name() : recall.new_name();
      PEGASUS_RETURN_IF_ERROR(CheckTableName(name));
      if (names_.count(name) > 0) {
        return PegasusError(
            ErrorCode::kAppExist,
            "a table named \"" + name + "\" exists: recall under a new name");
      }
      proto::TableInfo next = it->second;
      next.set_name(name);
      next.set_status(proto::TABLE_AVAILABLE);
      next.set_drop_time_s(0);
      next.set_expire_time_s(0);
      return StartTableWrite(op, std::move(next));
    }
    case proto::AdminRequest::kRenameTable: {
      const auto& rename = request.rename_table();
      const proto::TableInfo* table = FindTable(rename.old_name());
      if (table == nullptr) return AppNotExist(rename.old_name());
      PEGASUS_RETURN_IF_ERROR(CheckTableName(rename.new_name()));
      if (names_.count(rename.new_name()) > 0) {
        return PegasusError(
            ErrorCode::kAppExist,
            "a table named \"" + rename.new_name() + "\" exists");
      }
      proto::TableInfo next = *table;
      next.set_name(rename.new_name());
      return StartTableWrite(op, std::move(next));
    }
    case proto::AdminRequest::kUpdateEnvs: {
      const auto& update = request.update_envs();
      const proto::TableInfo* table = FindTable(update.name());
      if (table == nullptr) return AppNotExist(update.name());
      proto::TableInfo next = *table;
      auto* envs = next.mutable_envs();
      switch (update.op()) {
        case proto::UpdateEnvsRequest::OP_SET:
          if (update.envs().empty()) {
            return PegasusError(ErrorCode::kInvalidArgument, "no env to set");
          }
          for (const auto& [key, value] : update.envs()) (*envs)[key] = value;
          break;
        case proto::UpdateEnvsRequest::OP_DEL:
          for (const std::string& key : update.keys()) envs->erase(key);
          break;
        case proto::UpdateEnvsRequest::OP_CLEAR:
          for (auto it = envs->begin(); it != envs->end();) {
            it = it->first.rfind(update.clear_prefix(), 0) == 0
                     ? envs->erase(it)
                     : std::next(it);
          }
          break;
        default:
          return PegasusError(ErrorCode::kInvalidArgument,
                              "an env update must set, del or clear");
      }
      PEGASUS_RETURN_IF_ERROR(CheckEnvs(next.envs()));
      return StartTableWrite(op, std::move(next));
    }
    case proto::AdminRequest::kSetReplicaCount: {
      const auto& set = request.set_replica_count();
      const proto::TableInfo* table = FindTable(set.name());
      if (table == nullptr) return AppNotExist(set.name());
      if (set.replica_count() < kMinReplicaCount ||
          set.replica_count() > kMaxReplicaCount) {
        return PegasusError(ErrorCode::kInvalidRepCount,
                            "replica_count must be within [1, 5]");
      }
      proto::TableInfo next = *table;
      next.set_replica_count(set.replica_count());
      return StartTableWrite(op, std::move(next));
    }
    case proto::AdminRequest::kSetMetaLevel: {
      const proto::MetaLevel level = request.set_meta_level().level();
      if (!meta_internal::IsMetaLevel(level)) {
        return PegasusError(ErrorCode::kInvalidArgument,
                            "not a meta level: " + std::to_string(level));
      }
      op.level = level;
      op.write_id = next_write_id_++;
      admin_write_id_ = op.write_id;
      out_.writes.push_back(
          StoreWrite{op.write_id, std::string(meta_internal::kMetaLevelKey),
                     meta_internal::EncodeMetaLevel(level)});
      ++stats_.writes_started;
      return absl::OkStatus();
    }
    default:
      return PegasusError(ErrorCode::kInvalidArgument, "not a table operation");
  }
}

absl::Status MetaCore::StartCreate(AdminOp& op) {
  const proto::CreateTableRequest& create = op.request.create_table();
  PEGASUS_RETURN_IF_ERROR(CheckTableName(create.name()));
  if (const proto::TableInfo* existing = FindTable(create.name())) {
    if (!create.success_if_exist()) {
      return PegasusError(ErrorCode::kAppExist,
                          "a table named \"" + create.name() + "\" exists");
    }
    // The existing table is the answer only if it is the one asked for.
    if (create.partition_count() != existing->partition_count() ||
        create.replica_count() != existing->replica_count()) {
      return PegasusError(
          ErrorCode::kInvalidArgument,
          "a table named \"" + create.name() + "\" exists with " +
              std::to_string(existing->partition_count()) + " partitions and " +
              std::to_string(existing->replica_count()) +
              " replicas, not the ones asked for");
    }
    proto::AdminResponse response;
    response.mutable_create_table()->set_app_id(existing->app_id());
    ReplyAdmin(op.from, op.token, absl::OkStatus(), std::move(response));
    op.token = kNoReplyToken;
    return absl::OkStatus();
  }
  if (!meta_internal::IsPowerOfTwo(create.partition_count()) ||
      create.partition_count() > options_.max_partitions_per_table ||
      create.partition_count() >
          options_.max_partitions - static_cast<int>(partitions_.size())) {
    return PegasusError(ErrorCode::kInvalidParCount,
                        "partition_count must be a power of two within [1, " +
                            std::to_string(options_.max_partitions_per_table) +
                            "] and fit max_partitions");
  }
  if (create.replica_count() < kMinReplicaCount ||
      create.replica_count() > kMaxReplicaCount) {
    return PegasusError(ErrorCode::kInvalidRepCount,
                        "replica_count must be within [1, 5]");
  }
  PEGASUS_RETURN_IF_ERROR(CheckEnvs(create.envs()));
  if (static_cast<int>(tables_.size()) >= options_.max_tables) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        "max_tables tables exist (dropped ones included)");
  }
  proto::TableInfo table;
  table.set_app_id(tables_.empty() ? 1 : tables_.rbegin()->first + 1);
  table.set_name(create.name());
  table.set_status(proto::TABLE_AVAILABLE);
  table.set_partition_count(create.partition_count());
  table.set_replica_count(create.replica_count());
  *table.mutable_envs() = create.envs();
  table.set_create_time_s(op.wall_now_s);
  return StartTableWrite(op, std::move(table));
}

absl::Status MetaCore::StartTableWrite(AdminOp& op, proto::TableInfo table) {
  op.write_id = next_write_id_++;
  admin_write_id_ = op.write_id;
  out_.writes.push_back(StoreWrite{op.write_id, TableKey(table.app_id()),
                                   table.SerializeAsString()});
  op.table = std::move(table);
  ++stats_.writes_started;
  return absl::OkStatus();
}

void MetaCore::OnAdminWriteDone(const absl::Status& status) {
  AdminOp& op = admin_queue_.front();
  admin_write_id_ = 0;
  op.write_id = 0;
  if (!status.ok()) {
    ++stats_.writes_failed;
    FinishAdmin(PegasusError(
        ErrorCode::kIoError,
        "persisting the change failed: " + std::string(status.message())));
    return;
  }
  if (op.level != proto::META_LEVEL_INVALID) {
    level_ = op.level;
    effective_level_ = ComputeEffectiveLevel();
    proto::AdminResponse response;
    response.mutable_meta_level()->set_level(level_);
    response.mutable_meta_level()->set_effective_level(effective_level_);
    FinishAdmin(absl::OkStatus(), std::move(response));
    return;
  }
  const bool created = tables_.count(op.table.app_id()) == 0;
  AdoptTable(op.table);
  if (op.table.status() == proto::TABLE_PURGED) ForgetPartitions(op.table);
  if (!created) {
    proto::AdminResponse response;
    if (op.request.has_recall_table()) {
      *response.mutable_recall_table()->mutable_table() = op.table;
    }
    FinishAdmin(absl::OkStatus(), std::move(response));
    return;
  }
  // The table is durable: now its partitions, answered once all are.
  op.creating = true;
  for (int32_t index = 0; index < op.table.partition_count(); ++index) {
    const Gpid gpid{op.table.app_id(), index};
    Partition& partition = AddNewPartition(gpid, op.table.replica_count());
    StartWrite(gpid, partition, partition.config, proto::CONFIG_INVALID,
               NodeId{}, NodeId{}, {});
  }
  MaybeFinishCreate();
}

void MetaCore::MaybeFinishCreate() {
  if (admin_queue_.empty() || !admin_queue_.front().creating) return;
  const int32_t app_id = admin_queue_.front().table.app_id();
  for (auto it = partitions_.lower_bound(Gpid{app_id, 0});
       it != partitions_.end() && it->first.app_id == app_id; ++it) {
    if (!it->second.durable) return;
  }
  proto::AdminResponse response;
  response.mutable_create_table()->set_app_id(app_id);
  FinishAdmin(absl::OkStatus(), std::move(response));
}

void MetaCore::FinishAdmin(const absl::Status& status,
                           proto::AdminResponse response) {
  AdminOp op = std::move(admin_queue_.front());
  admin_queue_.pop_front();
  ReplyAdmin(op.from, op.token, status, std::move(response));
  RunAdmin();
}

void MetaCore::AdoptTable(const proto::TableInfo& table) {
  auto it = tables_.find(table.app_id());
  if (it != tables_.end() && it->second.status() == proto::TABLE_AVAILABLE) {
    names_.erase(it->second.name());
  }
  if (table.status() == proto::TABLE_AVAILABLE) {
    names_[table.name()] = table.app_id();
  }
  tables_[table.app_id()] = table;
}

// Partitions with a write in flight go when it completes. Their keys are
// deleted now: the store applies a key's writes and deletes in issue order,
// so a deletion lands after the write in flight.
void MetaCore::ForgetPartitions(const proto::TableInfo& table) {
  const int32_t app_id = table.app_id();
  for (auto it = partitions_.lower_bound(Gpid{app_id, 0});
       it != partitions_.end() && it->first.app_id == app_id;) {
    if (it->second.pending) {
      ++it;
      continue;
    }
    checked_ballots_.erase(it->first);
    it = partitions_.erase(it);
  }
  for (int32_t index = 0; index < table.partition_count(); ++index) {
    StartDelete(meta_internal::PartitionKey(Gpid{app_id, index}));
  }
}

void MetaCore::StartDelete(std::string key) {
  const uint64_t write_id = next_write_id_++;
  out_.writes.push_back(
      StoreWrite{write_id, std::move(key), std::string(), /*erase=*/true});
  deletes_in_flight_.insert(write_id);
}

}  // namespace pegasus
