// A test harness: replicas of one partition wired together by hand. Each
// node's messages wait in one queue until delivered (or dropped), its log
// appends until completed; the test plays the meta server. Every Ready is
// drained and CheckInvariants() called after every input.
//
// For unit tests and scenario scripts of the replica state machine.

#ifndef PEGASUS_REPLICATION_CORE_REPLICA_GROUP_H_
#define PEGASUS_REPLICATION_CORE_REPLICA_GROUP_H_

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "pegasus/base/status.h"
#include "pegasus/replication/core/replica.h"

namespace pegasus::replication {

inline constexpr Gpid kGpid{1, 0};

// Replicas of one partition wired together by hand: messages wait in a
// queue until delivered, log appends until completed, and the test plays
// the meta server.
class ReplicaGroup {
 public:
  explicit ReplicaGroup(int nodes, ReplicaOptions options = {})
      : options(options) {
    for (int i = 1; i <= nodes; ++i) Restart(i, kNoDecree, {});
  }

  // A new incarnation of node `n` with what its storage and log kept, and
  // the last ballot it persisted.
  void Restart(int n, Decree last_applied,
               const std::vector<proto::Mutation>& logged) {
    replicas[n] =
        std::make_unique<Replica>(kGpid, NodeId{uint64_t(n)}, options,
                                  last_applied, logged, persisted_ballot[n]);
    pending_logs[n].clear();
    fetches[n].clear();
    installs[n].clear();
    storage_decree[n] = last_applied;
    Drain(n);
  }
  // A new incarnation of node `n` with everything its storage applied and
  // every completed log append (appends still pending are lost).
  void Restart(int n) { Restart(n, storage_decree[n], logs[n]); }

  Replica& at(int n) { return *replicas.at(n); }

  static proto::PartitionConfig Config(Ballot ballot, int primary,
                                       std::vector<int> secondaries,
                                       int max_replicas = 3) {
    proto::PartitionConfig config;
    config.set_app_id(kGpid.app_id);
    config.set_partition_index(kGpid.partition_index);
    config.set_ballot(ballot);
    config.set_primary(primary);
    for (int s : secondaries) config.add_secondaries(s);
    config.set_max_replica_count(max_replicas);
    return config;
  }

  // The meta server tells every node the configuration.
  void Configure(const proto::PartitionConfig& config) {
    for (auto& [n, replica] : replicas) {
      replica->OnConfig(config);
      Drain(n);
    }
  }

  // The meta server answers node n's proposal: accepted with the new
  // `config`, or refused with `error` and its current one.
  void MetaAnswers(int n, const proto::PartitionConfig& config,
                   ErrorCode error = ErrorCode::kOk) {
    proto::ConfigUpdateResponse response;
    response.set_error(static_cast<int32_t>(error));
    *response.mutable_config() = config;
    at(n).OnConfigUpdateResponse(response);
    Drain(n);
  }

  void Write(int n, const std::string& key, ClientToken client,
             const std::string& value = "v") {
    proto::DataRequest request;
    request.mutable_put()->set_hash_key(key);
    request.mutable_put()->set_sort_key("s");
    request.mutable_put()->set_value(value);
    at(n).ClientWrite(request, client, 1'000);
    Drain(n);
  }

  void Tick(int n, int64_t now_ns) {
    at(n).Tick(now_ns);
    Drain(n);
  }

  // Completes node n's pending log appends, oldest first (not the ones
  // completing them starts).
  void CompleteLogs(int n, absl::Status status = absl::OkStatus()) {
    for (size_t i = pending_logs[n].size(); i > 0; --i) {
      CompleteLog(n, 0, status);
    }
  }
  // Completes node n's pending append at `index` (its log keeps it if
  // `status` is OK).
  void CompleteLog(int n, size_t index, absl::Status status) {
    proto::Mutation m = std::move(pending_logs[n][index]);
    pending_logs[n].erase(pending_logs[n].begin() + index);
    if (status.ok()) logs[n].push_back(m);
    at(n).OnLogAppended(m.ballot(), m.decree(), status);
    Drain(n);
  }
  void CompleteAllLogs() {
    for (auto& [n, replica] : replicas) CompleteLogs(n);
  }

  // Delivers (or drops) the queued message at `index`.
  void DeliverOne(size_t index, bool drop) {
    auto [from, to, body] = std::move(network[index]);
    network.erase(network.begin() + index);
    if (drop || !replicas.count(to)) return;
    network.push_front({from, to, std::move(body)});
    std::deque<std::tuple<int, int, PeerMessageBody>> rest;
    rest.swap(network);
    network.push_back(std::move(rest.front()));
    rest.pop_front();
    Deliver(dead);
    for (auto& m : rest) network.push_back(std::move(m));
  }

  // Delivers queued messages (and those they cause) until none is left;
  // messages to or from `cut` nodes are dropped.
  void Deliver(std::set<int> cut = {}) {
    while (!network.empty()) {
      auto [from, to, body] = std::move(network.front());
      network.pop_front();
      if (cut.count(from) || cut.count(to) || !replicas.count(to)) continue;
      Receive(from, to, body);
    }
  }

  // Node `to` receives `body` from node `from`.
  void Receive(int from, int to, const PeerMessageBody& body) {
    Replica& r = at(to);
    NodeId sender{uint64_t(from)};
    std::visit(
        [&](const auto& m) {
          using T = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<T, proto::PrepareRequest>)
            r.OnPrepare(sender, m);
          if constexpr (std::is_same_v<T, proto::PrepareResponse>)
            r.OnPrepareResponse(sender, m);
          if constexpr (std::is_same_v<T, proto::GroupCheckRequest>)
            r.OnGroupCheck(sender, m);
          if constexpr (std::is_same_v<T, proto::GroupCheckResponse>)
            r.OnGroupCheckResponse(sender, m);
          if constexpr (std::is_same_v<T, proto::LearnRequest>)
            r.OnLearnRequest(sender, m);
          if constexpr (std::is_same_v<T, proto::LearnResponse>)
            r.OnLearnResponse(sender, m);
        },
        body);
    Drain(to);
  }

  // Storage on node n finished installing the checkpoint it was asked to.
  void CompleteInstall(int n) {
    InstallCheckpoint install = std::move(installs[n].front());
    installs[n].erase(installs[n].begin());
    storage_decree[n] = install.checkpoint_decree;
    at(n).OnCheckpointInstalled(install.checkpoint_decree);
    Drain(n);
  }

  // Logs and messages until nothing moves.
  void Settle(std::set<int> cut = {}) {
    for (int round = 0; round < 50; ++round) {
      Deliver(cut);
      bool any = false;
      for (auto& [n, logs] : pending_logs) {
        if (!logs.empty() && !cut.count(n)) {
          CompleteLogs(n);
          any = true;
        }
      }
      if (!any && network.empty()) return;
    }
  }

  void Drain(int n) {
    Ready ready = at(n).TakeReady();
    at(n).CheckInvariants();
    if (on_ready) on_ready(n, ready);
    if (ready.persist_ballot != 0) persisted_ballot[n] = ready.persist_ballot;
    for (LogAppend& append : ready.log_appends) {
      pending_logs[n].push_back(std::move(append.mutation));
    }
    for (PeerMessage& message : ready.messages) {
      network.push_back({n, int(message.to.value), std::move(message.body)});
    }
    for (auto& request : ready.meta_requests) meta_inbox.push_back(request);
    for (Apply& apply : ready.applies) {
      applied[n].push_back(apply.mutation);
      storage_decree[n] = std::max(storage_decree[n], apply.mutation.decree());
      for (ClientToken client : apply.clients) {
        if (client != kNoClient) acked.push_back(client);
      }
    }
    for (ServeRead& read : ready.reads) reads.push_back(read.client);
    for (ClientError& error : ready.errors) {
      errors[error.client] = ToErrorCode(error.status);
      error_messages[error.client] = std::string(error.status.message());
    }
    for (LearnFetch& fetch : ready.learn_fetches) fetches[n].push_back(fetch);
    for (InstallCheckpoint& install : ready.installs) {
      installs[n].push_back(install);
    }
    if (!ready.fatal.ok()) fatal[n] = ready.fatal;
  }

  std::vector<Decree> AppliedDecrees(int n) {
    std::vector<Decree> out;
    for (const proto::Mutation& m : applied[n]) out.push_back(m.decree());
    return out;
  }

  ReplicaOptions options;
  std::map<int, std::unique_ptr<Replica>> replicas;
  std::map<int, std::vector<proto::Mutation>> pending_logs;
  std::map<int, std::vector<proto::Mutation>> logs;
  std::deque<std::tuple<int, int, PeerMessageBody>> network;
  std::vector<proto::ConfigUpdateRequest> meta_inbox;
  std::map<int, std::vector<proto::Mutation>> applied;
  std::vector<ClientToken> acked;
  std::vector<ClientToken> reads;
  std::map<ClientToken, ErrorCode> errors;
  std::map<ClientToken, std::string> error_messages;
  // By the node that must serve (fetches) or carry out (installs) them.
  std::map<int, std::vector<LearnFetch>> fetches;
  std::map<int, std::vector<InstallCheckpoint>> installs;
  // The highest decree each node's storage holds (applied or installed).
  std::map<int, Decree> storage_decree;
  // The last ballot each node persisted (Ready::persist_ballot).
  std::map<int, Ballot> persisted_ballot;
  // Called with every Ready before the group carries it out.
  std::function<void(int n, const Ready& ready)> on_ready;
  std::map<int, absl::Status> fatal;
  std::set<int> dead;
};

}  // namespace pegasus::replication

#endif  // PEGASUS_REPLICATION_CORE_REPLICA_GROUP_H_
