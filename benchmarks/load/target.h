// What the load tool drives: a store that reads, writes and scans records,
// asynchronously. Each of the runner's clients has a Session of its own and
// keeps one operation in flight on it, starting the next from the last
// one's completion, so no thread waits on an answer.

#ifndef BENCHMARKS_LOAD_TARGET_H_
#define BENCHMARKS_LOAD_TARGET_H_

#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "benchmarks/load/workload.h"

namespace pegasus::load {

// How an operation ended. Found or not, a read that was answered is OK.
struct OpResult {
  absl::Status status;
  bool found = true;  // A read's record was there.
};

// Runs once per operation, on any thread (the target's own), possibly
// before the call that started the operation returns. (The runner copes,
// but a target that always answers inline runs its clients one after
// another on the caller's thread: real targets answer on their own.)
using OpDone = absl::AnyInvocable<void(OpResult)>;

class Session {
 public:
  virtual ~Session() = default;
  virtual void Read(const RecordKey& key, OpDone done) = 0;
  virtual void Write(const RecordKey& key, std::string value, OpDone done) = 0;
  // Up to `count` records from `start` on.
  virtual void Scan(const RecordKey& start, int count, OpDone done) = 0;
};

class Target {
 public:
  virtual ~Target() = default;
  virtual std::string name() const = 0;
  // A session for client `index`.
  virtual std::unique_ptr<Session> NewSession(int index) = 0;
};

}  // namespace pegasus::load

#endif  // BENCHMARKS_LOAD_TARGET_H_
