// The shell's admin commands, at the meta server.

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "daemons/shell/shell.h"
#include "daemons/shell/shell_internal.h"
#include "pegasus/net/address.h"
#include "pegasus/proto/partition_config.h"

namespace pegasus::shell {
namespace {

std::string Node(uint64_t id) { return id == 0 ? "-" : NodeId{id}.ToString(); }

std::string StatusName(proto::TableStatus status) {
  switch (status) {
    case proto::TABLE_AVAILABLE:
      return "AVAILABLE";
    case proto::TABLE_DROPPED:
      return "DROPPED";
    default:
      return proto::TableStatus_Name(status);
  }
}

std::string LevelName(proto::MetaLevel level) {
  std::string name = proto::MetaLevel_Name(level);
  const std::string prefix = "META_LEVEL_";
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  for (char& c : name) c = static_cast<char>(std::tolower(c));
  return name;
}

absl::StatusOr<proto::MetaLevel> ParseLevel(const std::string& name) {
  for (proto::MetaLevel level :
       {proto::META_LEVEL_STOPPED, proto::META_LEVEL_BLIND,
        proto::META_LEVEL_FREEZED, proto::META_LEVEL_STEADY,
        proto::META_LEVEL_LIVELY}) {
    if (LevelName(level) == name) return level;
  }
  return BadArgument("levels are stopped, blind, freezed, steady and lively");
}

// "1.3" as an app id and a partition index.
absl::StatusOr<Gpid> ParseGpid(const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, '.');
  Gpid gpid;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &gpid.app_id) ||
      !absl::SimpleAtoi(parts[1], &gpid.partition_index)) {
    return BadArgument("a partition is app_id.partition_index, not '" + text +
                       "'");
  }
  return gpid;
}

absl::StatusOr<uint64_t> ParseNode(const std::string& text) {
  absl::StatusOr<NodeId> node = net::ParseServerAddress(text);
  if (!node.ok()) return node.status();
  return node->value;
}

// "k1=v1,k2=v2" as a map.
absl::StatusOr<std::map<std::string, std::string>> ParseEnvs(
    const std::string& text) {
  std::map<std::string, std::string> envs;
  if (text.empty()) return envs;
  const std::vector<std::string> pairs = absl::StrSplit(text, ',');
  for (const std::string& pair : pairs) {
    const size_t equals = pair.find('=');
    if (equals == std::string::npos || equals == 0) {
      return BadArgument("envs are key=value,key=value, not '" + pair + "'");
    }
    envs[pair.substr(0, equals)] = pair.substr(equals + 1);
  }
  return envs;
}

}  // namespace

absl::Status Shell::Ls(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(
      std::vector<proto::TableInfo> tables,
      remote_->sync_client().ListTables(args.Has("all"), Op()));
  TablePrinter table(
      {"app_id", "name", "status", "partitions", "replicas", "envs"});
  for (const proto::TableInfo& info : tables) {
    std::vector<std::string> envs;
    for (const auto& [key, value] : info.envs()) {
      envs.push_back(key + "=" + value);
    }
    std::sort(envs.begin(), envs.end());
    table.AddRow(
        {std::to_string(info.app_id()), info.name(), StatusName(info.status()),
         std::to_string(info.partition_count()),
         std::to_string(info.replica_count()), absl::StrJoin(envs, ",")});
  }
  table.Print(out_);
  out_ << tables.size() << " tables\n";
  return absl::OkStatus();
}

absl::Status Shell::App(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(
      std::vector<proto::PartitionHealthInfo> partitions,
      remote_->sync_client().TableHealth(args.positional[0], Op()));
  TablePrinter table({"pidx", "ballot", "primary", "secondaries", "health"});
  std::map<std::string, int> by_health;
  for (const proto::PartitionHealthInfo& p : partitions) {
    std::vector<std::string> secondaries;
    for (uint64_t s : p.secondaries()) secondaries.push_back(Node(s));
    table.AddRow({std::to_string(p.partition_index()),
                  std::to_string(p.ballot()), Node(p.primary()),
                  absl::StrJoin(secondaries, ","),
                  PartitionHealthName(p.health())});
    ++by_health[PartitionHealthName(p.health())];
  }
  table.Print(out_);
  std::vector<std::string> summary;
  for (const auto& [health, count] : by_health) {
    summary.push_back(std::to_string(count) + " " + health);
  }
  out_ << partitions.size() << " partitions: " << absl::StrJoin(summary, ", ")
       << "\n";
  return absl::OkStatus();
}

absl::Status Shell::Create(const Args& args) {
  proto::CreateTableRequest request;
  request.set_name(args.positional[0]);
  PEGASUS_ASSIGN_OR_RETURN(int64_t partitions,
                           args.GetInt("partition_count", 4));
  PEGASUS_ASSIGN_OR_RETURN(int64_t replicas, args.GetInt("replica_count", 3));
  request.set_partition_count(static_cast<int32_t>(partitions));
  request.set_replica_count(static_cast<int32_t>(replicas));
  PEGASUS_ASSIGN_OR_RETURN(auto envs, ParseEnvs(args.Get("envs", "")));
  request.mutable_envs()->insert(envs.begin(), envs.end());
  request.set_success_if_exist(args.Has("success_if_exist"));
  PEGASUS_ASSIGN_OR_RETURN(int32_t app_id,
                           remote_->sync_client().CreateTable(request, Op()));
  out_ << "OK: table " << request.name() << " is app " << app_id << "\n";
  return absl::OkStatus();
}

absl::Status Shell::Drop(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(int64_t reserve, args.GetInt("reserve_seconds", 0));
  PEGASUS_RETURN_IF_ERROR(
      remote_->sync_client().DropTable(args.positional[0], reserve, Op()));
  if (args.positional[0] == table_name_) table_ = nullptr;
  out_ << "OK: dropped; `recall <app_id>` brings it back\n";
  return absl::OkStatus();
}

absl::Status Shell::Recall(const Args& args) {
  int32_t app_id = 0;
  if (!absl::SimpleAtoi(args.positional[0], &app_id)) {
    return BadArgument("recall takes the app id (ls -a lists them)");
  }
  const std::string new_name =
      args.positional.size() > 1 ? args.positional[1] : "";
  PEGASUS_ASSIGN_OR_RETURN(
      proto::TableInfo info,
      remote_->sync_client().RecallTable(app_id, new_name, Op()));
  out_ << "OK: recalled as " << info.name() << "\n";
  return absl::OkStatus();
}

absl::Status Shell::Rename(const Args& args) {
  PEGASUS_RETURN_IF_ERROR(remote_->sync_client().RenameTable(
      args.positional[0], args.positional[1], Op()));
  if (args.positional[0] == table_name_) {
    table_name_ = args.positional[1];
    table_ = nullptr;
  }
  out_ << "OK\n";
  return absl::OkStatus();
}

absl::Status Shell::GetAppEnvs(const Args&) {
  if (table_name_.empty()) return BadArgument("no table in use");
  PEGASUS_ASSIGN_OR_RETURN(std::vector<proto::TableInfo> tables,
                           remote_->sync_client().ListTables(false, Op()));
  for (const proto::TableInfo& info : tables) {
    if (info.name() != table_name_) continue;
    TablePrinter table({"key", "value"});
    std::map<std::string, std::string> sorted(info.envs().begin(),
                                              info.envs().end());
    for (const auto& [key, value] : sorted) table.AddRow({key, value});
    table.Print(out_);
    return absl::OkStatus();
  }
  return PegasusError(ErrorCode::kAppNotExist,
                      "no table " + table_name_ + " (dropped?)");
}

absl::Status Shell::SetAppEnvs(const Args& args) {
  if (table_name_.empty()) return BadArgument("no table in use");
  if (args.positional.size() % 2 != 0) {
    return BadArgument("keys and values come in pairs");
  }
  proto::UpdateEnvsRequest request;
  request.set_name(table_name_);
  request.set_op(proto::UpdateEnvsRequest::OP_SET);
  for (size_t i = 0; i + 1 < args.positional.size(); i += 2) {
    (*request.mutable_envs())[args.positional[i]] = args.positional[i + 1];
  }
  PEGASUS_RETURN_IF_ERROR(remote_->sync_client().UpdateEnvs(request, Op()));
  out_ << "OK\n";
  return absl::OkStatus();
}

absl::Status Shell::DelAppEnvs(const Args& args) {
  if (table_name_.empty()) return BadArgument("no table in use");
  proto::UpdateEnvsRequest request;
  request.set_name(table_name_);
  request.set_op(proto::UpdateEnvsRequest::OP_DEL);
  for (const std::string& key : args.positional) request.add_keys(key);
  PEGASUS_RETURN_IF_ERROR(remote_->sync_client().UpdateEnvs(request, Op()));
  out_ << "OK\n";
  return absl::OkStatus();
}

absl::Status Shell::ClearAppEnvs(const Args& args) {
  if (table_name_.empty()) return BadArgument("no table in use");
  proto::UpdateEnvsRequest request;
  request.set_name(table_name_);
  request.set_op(proto::UpdateEnvsRequest::OP_CLEAR);
  request.set_clear_prefix(args.Get("prefix", ""));
  PEGASUS_RETURN_IF_ERROR(remote_->sync_client().UpdateEnvs(request, Op()));
  out_ << "OK\n";
  return absl::OkStatus();
}

absl::Status Shell::GetReplicaCount(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(std::vector<proto::TableInfo> tables,
                           remote_->sync_client().ListTables(false, Op()));
  for (const proto::TableInfo& info : tables) {
    if (info.name() == args.positional[0]) {
      out_ << info.replica_count() << "\n";
      return absl::OkStatus();
    }
  }
  return PegasusError(ErrorCode::kAppNotExist,
                      "no table " + args.positional[0]);
}

absl::Status Shell::SetReplicaCount(const Args& args) {
  int32_t count = 0;
  if (!absl::SimpleAtoi(args.positional[1], &count)) {
    return BadArgument("the replica count is a number");
  }
  PEGASUS_RETURN_IF_ERROR(
      remote_->sync_client().SetReplicaCount(args.positional[0], count, Op()));
  out_ << "OK\n";
  return absl::OkStatus();
}

absl::Status Shell::Nodes(const Args&) {
  PEGASUS_ASSIGN_OR_RETURN(std::vector<proto::NodeInfo> nodes,
                           remote_->sync_client().ListNodes(Op()));
  TablePrinter table({"address", "status", "primaries", "secondaries"});
  int alive = 0;
  for (const proto::NodeInfo& node : nodes) {
    alive += node.alive() ? 1 : 0;
    table.AddRow({Node(node.node()), node.alive() ? "ALIVE" : "UNALIVE",
                  std::to_string(node.primaries()),
                  std::to_string(node.secondaries())});
  }
  table.Print(out_);
  out_ << nodes.size() << " replica servers, " << alive << " alive\n";
  return absl::OkStatus();
}

absl::Status Shell::ClusterInfo(const Args&) {
  PEGASUS_ASSIGN_OR_RETURN(proto::ClusterInfoResponse info,
                           remote_->sync_client().ClusterInfo(Op()));
  TablePrinter table({"key", "value"});
  table.AddRow({"meta_server", Node(info.meta_node())});
  table.AddRow({"meta_level", LevelName(info.level())});
  table.AddRow({"effective_level", LevelName(info.effective_level())});
  table.AddRow({"alive_nodes", std::to_string(info.alive_nodes())});
  table.AddRow({"dead_nodes", std::to_string(info.dead_nodes())});
  table.AddRow({"available_tables", std::to_string(info.available_tables())});
  table.AddRow({"dropped_tables", std::to_string(info.dropped_tables())});
  table.AddRow({"partitions", std::to_string(info.partitions())});
  table.AddRow({"healthy", std::to_string(info.healthy_partitions())});
  table.AddRow(
      {"writable_ill", std::to_string(info.writable_ill_partitions())});
  table.AddRow({"unwritable", std::to_string(info.unwritable_partitions())});
  table.AddRow({"unreadable", std::to_string(info.unreadable_partitions())});
  table.AddRow({"dead", std::to_string(info.dead_partitions())});
  table.Print(out_);
  return absl::OkStatus();
}

absl::Status Shell::Propose(const Args& args) {
  static const std::map<std::string, proto::ProposeType> kTypes = {
      {"assign_primary", proto::PROPOSE_ASSIGN_PRIMARY},
      {"upgrade_to_primary", proto::PROPOSE_UPGRADE_TO_PRIMARY},
      {"add_secondary", proto::PROPOSE_ADD_SECONDARY},
      {"upgrade_to_secondary", proto::PROPOSE_UPGRADE_TO_SECONDARY},
      {"downgrade_to_secondary", proto::PROPOSE_DOWNGRADE_TO_SECONDARY},
      {"downgrade_to_inactive", proto::PROPOSE_DOWNGRADE_TO_INACTIVE},
      {"remove", proto::PROPOSE_REMOVE}};
  PEGASUS_ASSIGN_OR_RETURN(Gpid gpid, ParseGpid(args.Get("gpid", "")));
  auto type = kTypes.find(args.Get("type", ""));
  if (type == kTypes.end()) {
    return BadArgument(
        "--type is one of assign_primary, upgrade_to_primary, add_secondary, "
        "upgrade_to_secondary, downgrade_to_secondary, downgrade_to_inactive, "
        "remove");
  }
  proto::ProposeRequest request;
  request.set_app_id(gpid.app_id);
  request.set_partition_index(gpid.partition_index);
  request.set_type(type->second);
  PEGASUS_ASSIGN_OR_RETURN(uint64_t node, ParseNode(args.Get("node", "")));
  request.set_node(node);
  if (!args.Get("target", "").empty()) {
    PEGASUS_ASSIGN_OR_RETURN(uint64_t target,
                             ParseNode(args.Get("target", "")));
    request.set_target(target);
  }
  PEGASUS_RETURN_IF_ERROR(remote_->sync_client().Propose(request, Op()));
  out_ << "OK: proposed\n";
  return absl::OkStatus();
}

absl::Status Shell::Balance(const Args& args) {
  static const std::map<std::string, proto::BalanceRequest::Kind> kKinds = {
      {"move_pri", proto::BalanceRequest::MOVE_PRIMARY},
      {"copy_pri", proto::BalanceRequest::COPY_PRIMARY},
      {"copy_sec", proto::BalanceRequest::COPY_SECONDARY}};
  PEGASUS_ASSIGN_OR_RETURN(Gpid gpid, ParseGpid(args.Get("gpid", "")));
  auto kind = kKinds.find(args.Get("type", ""));
  if (kind == kKinds.end()) {
    return BadArgument("--type is move_pri, copy_pri or copy_sec");
  }
  proto::BalanceRequest request;
  request.set_app_id(gpid.app_id);
  request.set_partition_index(gpid.partition_index);
  request.set_kind(kind->second);
  PEGASUS_ASSIGN_OR_RETURN(uint64_t from, ParseNode(args.Get("from", "")));
  PEGASUS_ASSIGN_OR_RETURN(uint64_t to, ParseNode(args.Get("to", "")));
  request.set_from(from);
  request.set_to(to);
  PEGASUS_RETURN_IF_ERROR(remote_->sync_client().Balance(request, Op()));
  out_ << "OK: the move has started (app shows its progress)\n";
  return absl::OkStatus();
}

absl::Status Shell::GetMetaLevel(const Args&) {
  PEGASUS_ASSIGN_OR_RETURN(proto::MetaLevelResponse level,
                           remote_->sync_client().GetMetaLevel(Op()));
  out_ << LevelName(level.level());
  if (level.effective_level() != level.level()) {
    out_ << " (acting at " << LevelName(level.effective_level()) << ")";
  }
  out_ << "\n";
  return absl::OkStatus();
}

absl::Status Shell::SetMetaLevel(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(proto::MetaLevel level,
                           ParseLevel(args.positional[0]));
  PEGASUS_ASSIGN_OR_RETURN(proto::MetaLevelResponse set,
                           remote_->sync_client().SetMetaLevel(level, Op()));
  out_ << "OK: " << LevelName(set.level()) << "\n";
  return absl::OkStatus();
}

}  // namespace pegasus::shell
