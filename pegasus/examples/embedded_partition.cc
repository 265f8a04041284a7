// Embeds one partition of the store in this process: opens a RocksDB engine
// in a directory, runs Pegasus's data operations on it, and shows that a
// flushed state and its decree survive a reopen.
//
//   bazel run //pegasus/examples:embedded_partition -- /tmp/my_partition
//   ./run.sh example /tmp/my_partition

#include <stdlib.h>

#include <cstdio>
#include <string>
#include <vector>

#include "pegasus/base/status.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/runtime/clock.h"
#include "pegasus/storage/partition.h"
#include "pegasus/storage/rocksdb/rocksdb_engine.h"

namespace {

using namespace pegasus;

// This process decides what "now" is; the partition never reads a clock.
int64_t NowUs() { return RealClock()->WallNowUs(); }

void Check(const absl::Status& status, const char* what) {
  if (status.ok()) return;
  std::fprintf(stderr, "%s failed: %s (%s)\n", what, status.ToString().c_str(),
               std::string(ErrorCodeName(ToErrorCode(status))).c_str());
  std::exit(1);
}

// Applies one mutation of `requests` and checks each response.
void Write(Partition& partition, Decree decree, std::vector<WriteRequest> requests) {
  auto responses = partition.ApplyMutation(decree, NowUs(), requests);
  Check(responses.status(), "apply mutation");
  for (const WriteResponse& response : *responses) Check(response.status, "write");
}

void Run(const std::string& dir) {
  RocksDbEngineOptions engine_options;
  engine_options.block_cache_size_bytes = 16 << 20;
  auto engine = OpenRocksDbEngine(dir, engine_options);
  Check(engine.status(), "open engine");
  Decree decree = (*engine)->LastAppliedDecree();
  std::printf("opened %s at decree %lld\n", dir.c_str(), static_cast<long long>(decree));

  {
    Partition partition(engine->get(), PartitionOptions());
    // Writes: each mutation is atomic and carries the next decree.
    Write(partition, ++decree,
          {PutRequest{"user:1", "name", "Ann", 0},
           MultiPutRequest{"user:1", {{"city", "Oslo"}, {"lang", "nb"}}, 0},
           PutRequest{"user:1", "session", "xyz", ExpireTsFromTtl(NowUs(), 60)}});
    Write(partition, ++decree, {IncrRequest{"user:1", "visits", 1, 0}});

    CheckAndSetRequest cas;
    cas.hash_key = "user:1";
    cas.check_sort_key = "name";
    cas.check_type = CheckType::kValueBytesEqual;
    cas.check_operand = "Ann";
    cas.set_diff_sort_key = true;
    cas.set_sort_key = "verified";
    cas.set_value = "yes";
    Write(partition, ++decree, {cas});

    // Reads, judged at this process's time.
    GetResponse name = partition.Get("user:1", "name", NowUs());
    Check(name.status, "get");
    std::printf("get user:1/name = %s\n", name.value.c_str());

    MultiGetRequest range;
    range.hash_key = "user:1";
    MultiGetResponse rows = partition.MultiGet(range, NowUs());
    Check(rows.status, "multi_get");
    for (const KeyValue& kv : rows.kvs) {
      std::printf("  user:1/%-8s = %s\n", kv.key.c_str(), kv.value.c_str());
    }
    TtlResponse ttl = partition.Ttl("user:1", "session", NowUs());
    Check(ttl.status, "ttl");
    std::printf("ttl user:1/session = %d s\n", ttl.ttl_s);

    ScanResponse scan = partition.GetScanner(GetScannerRequest::ForFullScan(), NowUs());
    Check(scan.status, "scan");
    std::printf("full scan: %zu rows\n", scan.kvs.size());
  }

  // Only flushed state survives: the mutation log is the write-ahead log.
  Check((*engine)->Flush(), "flush");
  engine->reset();
  auto reopened = OpenRocksDbEngine(dir, engine_options);
  Check(reopened.status(), "reopen");
  Partition partition(reopened->get(), PartitionOptions());
  std::printf("reopened at decree %lld; user:1/visits = %s\n",
              static_cast<long long>((*reopened)->LastAppliedDecree()),
              partition.Get("user:1", "visits", NowUs()).value.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  if (argc > 1) {
    dir = argv[1];
  } else {
    char pattern[] = "/tmp/pegasus_example_XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = pattern;
  }
  Run(dir);
  return 0;
}
