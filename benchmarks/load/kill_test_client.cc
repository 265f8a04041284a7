// kill_test_client: the writers and readers of ./run.sh kill_test. Client
// threads set and get rows of a few hash keys (each set writes a value no
// other writes) for --duration_s while benchmarks/kill_test.py kills and
// restarts servers; once --done_file appears (the cluster healed), every
// key is read back. Writes the client history in the simulator's JSON-lines
// format (docs/history_format.md) for the linearizability checker, and
// prints how many acknowledged writes were lost (must be 0): a key whose
// final value is missing, or was written by an acknowledged write that
// finished before another acknowledged write of the key began.

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "pegasus/base/status.h"
#include "pegasus/net/remote_client.h"
#include "pegasus/runtime/clock.h"
#include "testing/checkers/history.h"

ABSL_FLAG(std::string, meta, "127.0.0.1:34601", "the meta server");
ABSL_FLAG(std::string, table, "temp", "the table");
ABSL_FLAG(double, duration_s, 60, "how long to write and read");
ABSL_FLAG(int, clients, 8, "client threads");
ABSL_FLAG(int, keys, 16, "hash keys written (one sort key each)");
ABSL_FLAG(int64_t, timeout_ms, 1000, "each operation's deadline");
ABSL_FLAG(std::string, done_file, "",
          "after --duration_s, wait for this file before the final reads");
ABSL_FLAG(std::string, history, "", "where the history goes");

namespace {

using pegasus::checkers::Operation;
using pegasus::checkers::OpKind;
using pegasus::checkers::OpResult;

// The monotonic clock: failover.py and kill_test.py compare with theirs.
int64_t NowNs() { return pegasus::RealClock()->MonotonicNowNs(); }

class History {
 public:
  void Add(Operation op) {
    std::lock_guard<std::mutex> lock(mu_);
    ops_.push_back(std::move(op));
  }
  std::vector<Operation> ops() {
    std::lock_guard<std::mutex> lock(mu_);
    return ops_;
  }

 private:
  std::mutex mu_;
  std::vector<Operation> ops_;
};

std::string Key(int k) { return "kill" + std::to_string(k); }

// One get of `key`, recorded; the value, or nullopt if the read failed.
std::optional<std::optional<std::string>> Get(pegasus::SyncTable& table,
                                              const std::string& key,
                                              int client, History& history,
                                              int64_t timeout_ms) {
  Operation op;
  op.client = client;
  op.kind = OpKind::kGet;
  op.hashkey = key;
  op.sortkeys = {"s"};
  op.call_ns = NowNs();
  absl::StatusOr<std::string> value =
      table.Get(key, "s", {.timeout_ns = timeout_ms * 1'000'000});
  op.return_ns = NowNs();
  std::optional<std::optional<std::string>> result;
  if (value.ok()) {
    op.read = {*value};
    result = std::optional<std::string>(*value);
  } else if (pegasus::HasErrorCode(value.status(),
                                   pegasus::ErrorCode::kNotFound)) {
    op.read = {std::nullopt};
    result = std::optional<std::string>();
  } else {
    op.result = OpResult::kFailed;  // A read changes nothing.
    op.error = std::string(
        pegasus::ErrorCodeName(pegasus::ToErrorCode(value.status())));
  }
  history.Add(std::move(op));
  return result;
}

void Work(pegasus::SyncTable table, int client, int64_t end_ns,
          History& history) {
  std::mt19937_64 rng(client * 7919 + 1);
  const int keys = absl::GetFlag(FLAGS_keys);
  const int64_t timeout_ms = absl::GetFlag(FLAGS_timeout_ms);
  for (int64_t seq = 0; NowNs() < end_ns; ++seq) {
    const std::string key = Key(static_cast<int>(rng() % keys));
    if (rng() % 2 == 0) {
      Get(table, key, client, history, timeout_ms);
      continue;
    }
    Operation op;
    op.client = client;
    op.kind = OpKind::kSet;
    op.hashkey = key;
    op.sortkeys = {"s"};
    op.values = {"c" + std::to_string(client) + "-" + std::to_string(seq)};
    op.call_ns = NowNs();
    absl::Status status = table.Set(key, "s", op.values[0], 0,
                                    {.timeout_ns = timeout_ms * 1'000'000});
    op.return_ns = NowNs();
    if (!status.ok()) {
      // A write the client got no clear answer to may still take effect:
      // only an acknowledged one is known to have.
      op.result = OpResult::kUnknown;
      op.error =
          std::string(pegasus::ErrorCodeName(pegasus::ToErrorCode(status)));
    }
    history.Add(std::move(op));
  }
}

// Keys whose final value loses an acknowledged write.
int CountLost(const std::vector<Operation>& ops,
              const std::map<std::string, std::optional<std::string>>& final) {
  std::map<std::string, const Operation*> writer_of;           // By value.
  std::map<std::string, std::vector<const Operation*>> acked;  // By key.
  for (const Operation& op : ops) {
    if (op.kind != OpKind::kSet) continue;
    writer_of[op.values[0]] = &op;
    if (op.result == OpResult::kOk) acked[op.hashkey].push_back(&op);
  }
  int lost = 0;
  for (const auto& [key, value] : final) {
    const auto& writes = acked[key];
    if (writes.empty()) continue;
    if (!value.has_value() || writer_of.count(*value) == 0) {
      std::cout << "lost: " << key << " reads "
                << (value ? "an unknown value" : "nothing") << "\n";
      ++lost;
      continue;
    }
    const Operation* writer = writer_of[*value];
    if (writer->result != OpResult::kOk) continue;  // May have come last.
    for (const Operation* other : writes) {
      if (other->call_ns > writer->return_ns) {
        std::cout << "lost: " << key << " reads " << *value
                  << ", but the acknowledged " << other->values[0]
                  << " was written after it\n";
        ++lost;
        break;
      }
    }
  }
  return lost;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  pegasus::net::RemoteClientOptions options;
  options.meta = absl::GetFlag(FLAGS_meta);
  std::vector<std::unique_ptr<pegasus::net::RemoteClient>> remotes;
  std::vector<pegasus::SyncTable> tables;
  for (int i = 0; i < absl::GetFlag(FLAGS_clients); ++i) {
    auto remote = pegasus::net::RemoteClient::Connect(options);
    auto table =
        remote.ok()
            ? (*remote)->sync_client().OpenTable(absl::GetFlag(FLAGS_table))
            : absl::StatusOr<pegasus::SyncTable>(remote.status());
    if (!table.ok()) {
      std::cerr << "kill_test_client: " << table.status() << "\n";
      return 2;
    }
    tables.push_back(*table);
    remotes.push_back(*std::move(remote));
  }
  History history;
  const int64_t end_ns =
      NowNs() + static_cast<int64_t>(absl::GetFlag(FLAGS_duration_s) * 1e9);
  std::vector<std::thread> workers;
  for (int i = 0; i < static_cast<int>(tables.size()); ++i) {
    workers.emplace_back(Work, tables[i], i, end_ns, std::ref(history));
  }
  for (std::thread& w : workers) w.join();
  const std::string done = absl::GetFlag(FLAGS_done_file);
  while (!done.empty() && !std::filesystem::exists(done)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Every key read back, retried until a read is answered.
  std::map<std::string, std::optional<std::string>> final;
  for (int k = 0; k < absl::GetFlag(FLAGS_keys); ++k) {
    for (int attempt = 0; attempt < 120; ++attempt) {
      auto value = Get(tables[0], Key(k), static_cast<int>(tables.size()),
                       history, 1000);
      if (value.has_value()) {
        final[Key(k)] = *value;
        break;
      }
    }
    if (final.count(Key(k)) == 0) {
      std::cout << "could not read " << Key(k) << " back\n";
      return 2;
    }
  }
  std::vector<Operation> ops = history.ops();
  int acked = 0, unknown = 0;
  for (const Operation& op : ops) {
    if (op.kind != OpKind::kSet) continue;
    ++(op.result == OpResult::kOk ? acked : unknown);
  }
  const int lost = CountLost(ops, final);
  std::cout << ops.size() << " operations: " << acked
            << " acknowledged writes, " << unknown
            << " writes of unknown outcome\n";
  std::cout << "lost acknowledged writes: " << lost << "\n";
  if (!absl::GetFlag(FLAGS_history).empty()) {
    absl::Status written =
        pegasus::checkers::WriteHistoryFile(absl::GetFlag(FLAGS_history), ops);
    if (!written.ok()) {
      std::cerr << "kill_test_client: " << written << "\n";
      return 2;
    }
  }
  return lost == 0 ? 0 : 1;
}
