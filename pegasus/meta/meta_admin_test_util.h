// Table operations for MetaCore's tests: a builder for each AdminRequest,
// and checks of what the core answers and the store holds, over a
// MetaHarness. Shared by meta_core_tables_test.cc and meta_core_levels_test.cc.
//
// Thread-safety: none; the test's thread only.

#ifndef PEGASUS_META_META_ADMIN_TEST_UTIL_H_
#define PEGASUS_META_META_ADMIN_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/internal/partition_configs.h"
#include "pegasus/meta/meta_core.h"
#include "pegasus/meta/meta_test_harness.h"

namespace pegasus {

inline constexpr NodeId kN1{1}, kN2{2}, kN3{3}, kN4{4}, kN5{5};
inline const std::set<NodeId> kThree = {kN1, kN2, kN3};
inline const std::set<NodeId> kFour = {kN1, kN2, kN3, kN4};
using Envs = std::map<std::string, std::string>;

inline constexpr int Code(ErrorCode code) { return static_cast<int>(code); }

// --- Requests ------------------------------------------------------------

inline proto::AdminRequest MakeCreate(const std::string& name,
                                      int32_t partitions, int32_t replicas,
                                      const Envs& envs = {},
                                      bool success_if_exist = false) {
  proto::AdminRequest request;
  auto* create = request.mutable_create_table();
  create->set_name(name);
  create->set_partition_count(partitions);
  create->set_replica_count(replicas);
  for (const auto& [key, value] : envs) (*create->mutable_envs())[key] = value;
  create->set_success_if_exist(success_if_exist);
  return request;
}

inline proto::AdminRequest MakeDrop(const std::string& name,
                                    int64_t reserve_seconds = 0) {
  proto::AdminRequest request;
  request.mutable_drop_table()->set_name(name);
  request.mutable_drop_table()->set_reserve_seconds(reserve_seconds);
  return request;
}

inline proto::AdminRequest MakeRecall(int32_t app_id,
                                      const std::string& new_name = "") {
  proto::AdminRequest request;
  request.mutable_recall_table()->set_app_id(app_id);
  request.mutable_recall_table()->set_new_name(new_name);
  return request;
}

inline proto::AdminRequest MakeRename(const std::string& from,
                                      const std::string& to) {
  proto::AdminRequest request;
  request.mutable_rename_table()->set_old_name(from);
  request.mutable_rename_table()->set_new_name(to);
  return request;
}

inline proto::AdminRequest MakeEnvs(const std::string& name,
                                    proto::UpdateEnvsRequest::Op op) {
  proto::AdminRequest request;
  request.mutable_update_envs()->set_name(name);
  request.mutable_update_envs()->set_op(op);
  return request;
}

inline proto::AdminRequest MakeSetEnvs(const std::string& name,
                                       const Envs& envs) {
  proto::AdminRequest request =
      MakeEnvs(name, proto::UpdateEnvsRequest::OP_SET);
  for (const auto& [key, value] : envs) {
    (*request.mutable_update_envs()->mutable_envs())[key] = value;
  }
  return request;
}

inline proto::AdminRequest MakeDelEnvs(const std::string& name,
                                       const std::vector<std::string>& keys) {
  proto::AdminRequest request =
      MakeEnvs(name, proto::UpdateEnvsRequest::OP_DEL);
  for (const std::string& key : keys) {
    request.mutable_update_envs()->add_keys(key);
  }
  return request;
}

inline proto::AdminRequest MakeClearEnvs(const std::string& name,
                                         const std::string& prefix) {
  proto::AdminRequest request =
      MakeEnvs(name, proto::UpdateEnvsRequest::OP_CLEAR);
  request.mutable_update_envs()->set_clear_prefix(prefix);
  return request;
}

inline proto::AdminRequest MakeSetReplicaCount(const std::string& name,
                                               int32_t count) {
  proto::AdminRequest request;
  request.mutable_set_replica_count()->set_name(name);
  request.mutable_set_replica_count()->set_replica_count(count);
  return request;
}

inline proto::AdminRequest MakeSetLevel(proto::MetaLevel level) {
  proto::AdminRequest request;
  request.mutable_set_meta_level()->set_level(level);
  return request;
}

inline proto::AdminRequest MakeListTables(bool include_dropped) {
  proto::AdminRequest request;
  request.mutable_list_tables()->set_include_dropped(include_dropped);
  return request;
}

inline proto::AdminRequest MakeGetLevel() {
  proto::AdminRequest request;
  request.mutable_get_meta_level();
  return request;
}

inline proto::AdminRequest MakeListNodes() {
  proto::AdminRequest request;
  request.mutable_list_nodes();
  return request;
}

inline proto::AdminRequest MakeClusterInfo() {
  proto::AdminRequest request;
  request.mutable_cluster_info();
  return request;
}

// --- What the core and the store hold -------------------------------------

// The names list_tables answers, in its order.
inline std::vector<std::string> Listed(MetaHarness& h, bool include_dropped) {
  const proto::AdminResponse response =
      h.AdminAndSettle(MakeListTables(include_dropped));
  EXPECT_EQ(response.error(), 0);
  std::vector<std::string> names;
  for (const auto& table : response.list_tables().tables()) {
    names.push_back(table.name());
  }
  return names;
}

// The table record the store holds for `app_id`.
inline proto::TableInfo Stored(MetaHarness& h, int32_t app_id) {
  const auto stored = h.medium().Snapshot();
  auto it = stored.find("table/" + std::to_string(app_id));
  PEGASUS_CHECK(it != stored.end()) << "no table " << app_id << " stored";
  proto::TableInfo table;
  PEGASUS_CHECK(table.ParseFromString(it->second));
  return table;
}

inline proto::QueryConfigResponse QueryByName(MetaHarness& h,
                                              const std::string& name) {
  proto::QueryConfigRequest request;
  request.set_app_name(name);
  return h.core().QueryConfig(request);
}

inline proto::QueryConfigResponse QueryById(MetaHarness& h, int32_t app_id) {
  proto::QueryConfigRequest request;
  request.set_app_id(app_id);
  return h.core().QueryConfig(request);
}

inline proto::MetaLevelResponse GetLevel(MetaHarness& h) {
  const proto::AdminResponse response = h.AdminAndSettle(MakeGetLevel());
  EXPECT_EQ(response.error(), 0);
  return response.meta_level();
}

// Expects `request` answered with `code`, writing nothing and changing no
// table.
inline void ExpectRefused(MetaHarness& h, const proto::AdminRequest& request,
                          ErrorCode code) {
  SCOPED_TRACE(request.ShortDebugString());
  const auto stored = h.medium().Snapshot();
  const uint64_t writes = h.writes_issued();
  const std::vector<std::string> tables = Listed(h, true);
  const proto::AdminResponse response = h.AdminAndSettle(request);
  EXPECT_EQ(response.error(), Code(code)) << response.error_message();
  EXPECT_FALSE(response.error_message().empty());
  EXPECT_EQ(response.result_case(), proto::AdminResponse::RESULT_NOT_SET);
  EXPECT_EQ(h.writes_issued(), writes) << "a refusal writes nothing";
  EXPECT_EQ(h.medium().Snapshot(), stored);
  EXPECT_EQ(Listed(h, true), tables);
}

// Creates `name` and heals it on `nodes` (which beacon throughout): every
// partition has a primary and `replicas` members. Returns its id.
inline int32_t MakeHealedTable(MetaHarness& h, const std::string& name,
                               int32_t partitions, int32_t replicas,
                               const std::set<NodeId>& nodes,
                               const Envs& envs = {}) {
  h.BeaconAll(nodes);
  const proto::AdminResponse response =
      h.AdminAndSettle(MakeCreate(name, partitions, replicas, envs));
  EXPECT_EQ(response.error(), 0) << response.error_message();
  const int32_t app_id = response.create_table().app_id();
  Heal(h, nodes);
  for (int32_t i = 0; i < partitions; ++i) {
    const proto::PartitionConfig& config = *h.core().GetConfig(Gpid{app_id, i});
    EXPECT_NE(config.primary(), 0u) << i;
    EXPECT_EQ(meta_internal::MemberCount(config), replicas) << i;
  }
  h.TakeSent();
  return app_id;
}

}  // namespace pegasus

#endif  // PEGASUS_META_META_ADMIN_TEST_UTIL_H_
