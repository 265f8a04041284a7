// The C++ client: Pegasus's data API over a whole cluster, and its admin
// operations. It finds each hash key's partition by Pegasus's CRC64 over the
// table's partition count, sends the request to the partition's primary
// from the configuration it cached from the meta server, and when the
// primary refuses (not, or no longer, the primary; the replica is not
// there) or a read goes unanswered, asks the meta server again and retries
// with bounded backoff within the operation's deadline.
//
//   ClientOptions options;
//   options.meta = NodeId{1};
//   auto client = Client::Create({clock, executor, transport, random},
//   options); client->OpenTable("temp", [](absl::StatusOr<Table*> table) {
//     (*table)->Set("user1", "name", "ann", {}, [](absl::Status s) { ... });
//   });
//
// Retries: an operation is sent again only when the outcome of the earlier
// attempt is certain not to have been applied (the replica refused it
// before it got a decree), or when it is a read. A write whose attempt went
// unanswered fails with PERR_TIMEOUT: it may or may not have been applied,
// and sending it again could apply it twice, or after a later write. Never
// retried either (as in Pegasus): PERR_APP_NOT_EXIST, PERR_HANDLER_NOT_FOUND,
// PERR_OPERATION_DISABLED, PERR_BUSY, PERR_APP_SPLITTING,
// PERR_DISK_INSUFFICIENT, and every error about the request itself.
//
// Errors are statuses carrying Pegasus's codes (pegasus/base/status.h):
// PERR_INVALID_HASH_KEY for an empty hash key or one of 64 KiB or more,
// PERR_NOT_FOUND for a missing row, PERR_TIMEOUT when the deadline passed,
// PERR_APP_NOT_EXIST for a table that does not exist (or was dropped).
//
// The same code runs in the simulator and in a host process: everything it
// does goes through the seams in ClientEnv.
//
// Thread-safety: every method may be called from any thread; the work runs
// on env.executor (one strand), and callbacks run there too. Tables live as
// long as their client. Destroy the client on its executor, or once the
// executor runs none of its tasks; callbacks of operations still pending
// then never run.

#ifndef PEGASUS_CLIENT_CLIENT_H_
#define PEGASUS_CLIENT_CLIENT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"
#include "pegasus/base/random.h"
#include "pegasus/proto/data.pb.h"
#include "pegasus/proto/meta.pb.h"
#include "pegasus/runtime/clock.h"
#include "pegasus/runtime/executor.h"
#include "pegasus/runtime/node_env.h"
#include "pegasus/runtime/rpc.h"
#include "pegasus/runtime/transport.h"

namespace pegasus {

namespace client_internal {
class ClientCore;
class TableCore;
}  // namespace client_internal

using ClientEnv = NodeEnv;

struct ClientOptions {
  // The meta server.
  NodeId meta;
  // An operation's deadline when it names none. Default 5 s, as Pegasus's
  // C++ client.
  int64_t default_timeout_ns = 5'000'000'000;
  // How long one attempt of a read waits for its answer before the read is
  // tried again (within the deadline). Default 1 s.
  int64_t read_attempt_timeout_ns = 1'000'000'000;
  // How long a query of the meta server waits. Default 1 s.
  int64_t meta_timeout_ns = 1'000'000'000;
  // Pause before a retry: from min, doubling per attempt up to max, with up
  // to half of it added at random. Defaults 20 ms (Pegasus's retry base)
  // and 1 s.
  int64_t retry_backoff_min_ns = 20'000'000;
  int64_t retry_backoff_max_ns = 1'000'000'000;
};

// Per operation.
struct OpOptions {
  // The operation's deadline from now; 0 means default_timeout_ns.
  int64_t timeout_ns = 0;
};

template <typename T>
using Callback = absl::AnyInvocable<void(absl::StatusOr<T>)>;
using StatusCallback = absl::AnyInvocable<void(absl::Status)>;

// A multi_get's rows, by sort key in the order read; `complete` is false
// when max_kv_count or max_kv_size cut it short (Pegasus's PERR_INCOMPLETE).
struct MultiGetResult {
  std::vector<std::pair<std::string, std::string>> kvs{};
  bool complete = true;
};

struct CheckAndSetResult {
  // Whether the check passed and the value was set (Pegasus answers
  // PERR_TRY_AGAIN when it did not; here that is `succeeded` false).
  bool succeeded = false;
  // With return_check_value: whether the checked row existed, and its value.
  bool check_value_returned = false;
  bool check_value_exist = false;
  std::string check_value{};
};

struct CheckAndSetOptions {
  // The set value's TTL in seconds; 0 = none.
  int64_t set_value_ttl_s = 0;
  bool return_check_value = false;
  OpOptions op{};
};

// One mutation of a check_and_mutate: set (sort_key, value) with a TTL in
// seconds (0 = none), or delete sort_key.
struct Mutation {
  enum class Op { kSet, kDel };
  Op op = Op::kSet;
  std::string sort_key{};
  std::string value{};
  int64_t ttl_s = 0;
};

struct CheckAndMutateOptions {
  bool return_check_value = false;
  OpOptions op{};
};

// A row of batch_get or a scan. `value` is empty when the scan asked for no
// values; `expire_ts_s` is set when it asked for them (seconds since
// 2016-01-01, 0 = none).
struct Row {
  std::string hash_key{};
  std::string sort_key{};
  std::string value{};
  uint32_t expire_ts_s = 0;
  friend bool operator==(const Row&, const Row&) = default;
};

// A batch_get's answer for one key, in the order asked.
struct BatchGetItem {
  std::string hash_key{};
  std::string sort_key{};
  // nullopt when the row does not exist or has expired.
  std::optional<std::string> value{};
};

struct DelRangeOptions {
  bool start_inclusive = true;
  bool stop_inclusive = false;
  // A FilterType of pegasus/storage/partition_types.h on the sort key.
  int32_t sort_key_filter_type = 0;
  std::string sort_key_filter_pattern{};
  OpOptions op{};
};

struct ScanOptions {
  // Rows per call to the server.
  int32_t batch_size = 100;
  bool start_inclusive = true;
  bool stop_inclusive = false;
  // FilterTypes of pegasus/storage/partition_types.h.
  int32_t hash_key_filter_type = 0;
  std::string hash_key_filter_pattern{};
  int32_t sort_key_filter_type = 0;
  std::string sort_key_filter_pattern{};
  bool no_value = false;
  bool return_expire_ts = false;
  // Count the matching rows instead of returning them.
  bool only_return_count = false;
  // Each call's deadline.
  OpOptions op{};
};

// One batch of a scan: its rows (or, with only_return_count, how many
// matched), and whether the scan is over.
struct ScanBatch {
  std::vector<Row> rows{};
  int64_t count = 0;
  bool complete = false;
};

class Scanner;

// Which partition a hash key belongs to among `partition_count`: Pegasus's
// CRC64 of the hash key, modulo the count.
int32_t PartitionOfHashKey(std::string_view hash_key, int32_t partition_count);

// The data API of one table.
class Table {
 public:
  ~Table();
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  const std::string& name() const;

  // --- Writes -------------------------------------------------------------

  // ttl_s: 0 = no TTL (the table's default_ttl env may give one).
  void Set(std::string hash_key, std::string sort_key, std::string value,
           int64_t ttl_s, StatusCallback done, OpOptions options = {});
  void MultiSet(std::string hash_key,
                std::vector<std::pair<std::string, std::string>> kvs,
                int64_t ttl_s, StatusCallback done, OpOptions options = {});
  void Del(std::string hash_key, std::string sort_key, StatusCallback done,
           OpOptions options = {});
  void MultiDel(std::string hash_key, std::vector<std::string> sort_keys,
                StatusCallback done, OpOptions options = {});
  // Adds `increment` to the row's value read as a decimal int64 (a missing
  // row counts as 0); answers the new value. ttl_s: 0 keeps the row's TTL,
  // > 0 sets it, < 0 clears it. PERR_INVALID_ARGUMENT for a value that is
  // not an integer or a sum that overflows. Not retried after a timeout.
  void Incr(std::string hash_key, std::string sort_key, int64_t increment,
            int64_t ttl_s, Callback<int64_t> done, OpOptions options = {});
  // Sets (set_sort_key, set_value) if the row check_sort_key passes
  // check_type (a CheckType of pegasus/storage/partition_types.h) with
  // `operand`. Not retried after a timeout.
  void CheckAndSet(std::string hash_key, std::string check_sort_key,
                   int32_t check_type, std::string operand,
                   std::string set_sort_key, std::string set_value,
                   CheckAndSetOptions options,
                   Callback<CheckAndSetResult> done);
  // Sets `desired` if the row's value is exactly `expected` (a check_and_set
  // of CT_VALUE_BYTES_EQUAL on the same row).
  void CompareExchange(std::string hash_key, std::string sort_key,
                       std::string expected, std::string desired, int64_t ttl_s,
                       Callback<CheckAndSetResult> done,
                       OpOptions options = {});

  // --- Reads --------------------------------------------------------------

  // PERR_NOT_FOUND when the row does not exist or has expired.
  void Get(std::string hash_key, std::string sort_key,
           Callback<std::string> done, OpOptions options = {});
  // The rows of `sort_keys` (all of the hash key's when empty), at most
  // max_kv_count rows and max_kv_size bytes (<= 0: no limit).
  void MultiGet(std::string hash_key, std::vector<std::string> sort_keys,
                int32_t max_kv_count, int32_t max_kv_size,
                Callback<MultiGetResult> done, OpOptions options = {});
  // Any multi_get the wire carries: ranges, filters, no_value, reverse
  // (the request's app and partition are filled in here).
  void MultiGetRange(proto::MultiGetRequest request,
                     Callback<MultiGetResult> done, OpOptions options = {});

  // Applies `mutations` in order, atomically, if the row check_sort_key
  // passes the check (as CheckAndSet). Not retried after a timeout.
  void CheckAndMutate(std::string hash_key, std::string check_sort_key,
                      int32_t check_type, std::string operand,
                      std::vector<Mutation> mutations,
                      CheckAndMutateOptions options,
                      Callback<CheckAndSetResult> done);
  // Deletes the rows of `hash_key` with sort keys from start to stop (an
  // empty stop: to the end) that pass the filter, a page at a time (a
  // no-value multi_get, then a multi_del of what it found), until none is
  // left; answers how many were deleted. Not atomic: a failure leaves the
  // pages before it deleted.
  void DelRange(std::string hash_key, std::string start_sort_key,
                std::string stop_sort_key, DelRangeOptions options,
                Callback<int64_t> done);
  // The number of rows of a hash key.
  void SortKeyCount(std::string hash_key, Callback<int64_t> done,
                    OpOptions options = {});
  // A row's remaining TTL in seconds, -1 when it has none; PERR_NOT_FOUND
  // when it does not exist.
  void Ttl(std::string hash_key, std::string sort_key, Callback<int32_t> done,
           OpOptions options = {});
  // Whether the row exists (and has not expired).
  void Exist(std::string hash_key, std::string sort_key, Callback<bool> done,
             OpOptions options = {});
  // The sort keys of a hash key (values left empty in the result).
  void MultiGetSortKeys(std::string hash_key, int32_t max_kv_count,
                        int32_t max_kv_size, Callback<MultiGetResult> done,
                        OpOptions options = {});
  // Rows of any hash keys: one request per partition, sent in parallel.
  // Not atomic across partitions; the first partition's error fails it.
  void BatchGet(std::vector<std::pair<std::string, std::string>> keys,
                Callback<std::vector<BatchGetItem>> done,
                OpOptions options = {});

  // --- Scanners -------------------------------------------------------------

  // The rows of one hash key from start_sort_key to stop_sort_key (empty:
  // to the end), in sort key order.
  std::unique_ptr<Scanner> GetScanner(std::string hash_key,
                                      std::string start_sort_key,
                                      std::string stop_sort_key,
                                      ScanOptions options = {});
  // The whole table, split over at most `max_split_count` scanners that
  // each walk their share of the partitions, one partition at a time; rows
  // come in no particular order across partitions. Answers once the table's
  // partition count is known.
  void GetUnorderedScanners(
      int max_split_count, ScanOptions options,
      Callback<std::vector<std::unique_ptr<Scanner>>> done);

  // --- Any request ----------------------------------------------------------

  // Any single-hash-key data request the wire carries
  // (pegasus/proto/data.proto), routed by its hash key, with its app and
  // partition filled in here. Answers the replica's response, its error
  // included (PERR_NOT_FOUND and the like are in the response), or why no
  // response came. `read` says whether it may be sent again after an
  // unanswered attempt: only for requests that change nothing.
  void Send(proto::DataRequest request, bool read,
            Callback<proto::DataResponse> done, OpOptions options = {});

 private:
  friend class client_internal::ClientCore;
  explicit Table(std::unique_ptr<client_internal::TableCore> core);
  std::unique_ptr<client_internal::TableCore> core_;
};

// A scan, batch by batch. When the server loses the scan's context (its
// primary changed, the context idled out or was evicted) the scanner opens
// a new one just after the last row it returned, so every row in range is
// returned once; scans are not snapshots. A count-only scan cannot resume
// that way and fails with PERR_NOT_FOUND instead.
//
// Thread-safety: one Next at a time; the scanner must outlive its calls'
// callbacks or be destroyed on the client's executor.
class Scanner {
 public:
  ~Scanner();
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  // The next batch; once a batch says complete, Next answers an empty
  // complete batch.
  void Next(Callback<ScanBatch> done);

 private:
  friend class Table;
  struct State;
  explicit Scanner(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// A cluster: its tables and its admin operations.
class Client {
 public:
  static std::unique_ptr<Client> Create(const ClientEnv& env,
                                        const ClientOptions& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The table named `name`, once the meta server confirmed it exists
  // (PERR_APP_NOT_EXIST otherwise). Opening a table twice gives the same
  // Table; it lives as long as the client.
  void OpenTable(std::string name, Callback<Table*> done);

  // --- Admin --------------------------------------------------------------
  // Each sends one proto::AdminRequest to the meta server and answers its
  // AdminResponse's result, or its error as a status. Table operations are
  // sent once (never retried: a create that timed out may have happened).

  void CreateTable(proto::CreateTableRequest request, Callback<int32_t> done,
                   OpOptions options = {});
  void DropTable(std::string name, int64_t reserve_seconds, StatusCallback done,
                 OpOptions options = {});
  void RecallTable(int32_t app_id, std::string new_name,
                   Callback<proto::TableInfo> done, OpOptions options = {});
  void RenameTable(std::string old_name, std::string new_name,
                   StatusCallback done, OpOptions options = {});
  void ListTables(bool include_dropped,
                  Callback<std::vector<proto::TableInfo>> done,
                  OpOptions options = {});
  void UpdateEnvs(proto::UpdateEnvsRequest request, StatusCallback done,
                  OpOptions options = {});
  void SetReplicaCount(std::string name, int32_t replica_count,
                       StatusCallback done, OpOptions options = {});
  void SetMetaLevel(proto::MetaLevel level,
                    Callback<proto::MetaLevelResponse> done,
                    OpOptions options = {});
  void GetMetaLevel(Callback<proto::MetaLevelResponse> done,
                    OpOptions options = {});
  void ListNodes(Callback<std::vector<proto::NodeInfo>> done,
                 OpOptions options = {});
  void ClusterInfo(Callback<proto::ClusterInfoResponse> done,
                   OpOptions options = {});
  // Every partition of a table with its members and health (healthy,
  // writable but ill, unwritable, unreadable, dead: meta.proto's
  // PartitionHealth).
  void TableHealth(std::string name,
                   Callback<std::vector<proto::PartitionHealthInfo>> done,
                   OpOptions options = {});
  // An operator's move of one replica (meta.proto's BalanceRequest:
  // move_pri, copy_pri, copy_sec), carried out as the balancer's own;
  // answered once the move has started. Needs meta level steady or lively.
  void Balance(proto::BalanceRequest request, StatusCallback done,
               OpOptions options = {});
  // One configuration proposal sent to a partition's node (ProposeRequest);
  // proposals the meta server could not make safe are refused with the
  // reason.
  void Propose(proto::ProposeRequest request, StatusCallback done,
               OpOptions options = {});
  // Any admin request, answered with the whole response (error included).
  void Admin(proto::AdminRequest request, Callback<proto::AdminResponse> done,
             OpOptions options = {});

 private:
  explicit Client(std::unique_ptr<client_internal::ClientCore> core);
  std::unique_ptr<client_internal::ClientCore> core_;
};

}  // namespace pegasus

#endif  // PEGASUS_CLIENT_CLIENT_H_
