// What the load tool drives: a store that reads, writes and scans records.
// Each worker thread gets a Session of its own.

#ifndef BENCHMARKS_LOAD_TARGET_H_
#define BENCHMARKS_LOAD_TARGET_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "benchmarks/load/workload.h"

namespace pegasus::load {

class Session {
 public:
  virtual ~Session() = default;
  // Found or not, a read that was answered is OK (not found counts apart).
  virtual absl::Status Read(const RecordKey& key, bool* found) = 0;
  virtual absl::Status Write(const RecordKey& key,
                             const std::string& value) = 0;
  // Up to `count` records from `start` on; sets how many came.
  virtual absl::Status Scan(const RecordKey& start, int count, int* rows) = 0;
};

class Target {
 public:
  virtual ~Target() = default;
  virtual std::string name() const = 0;
  // A session for worker `index`.
  virtual std::unique_ptr<Session> NewSession(int index) = 0;
};

}  // namespace pegasus::load

#endif  // BENCHMARKS_LOAD_TARGET_H_
