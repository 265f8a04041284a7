// MetaStore: where the meta server persists what it owns (partition
// configurations now; tables later), as string keys and values.
//
// The interface is asynchronous because ZooKeeper is: a write is answered
// later. MetaCore never calls a MetaStore itself; it emits the writes it
// needs (MetaReady::writes) and its driver carries them out here and feeds
// each result back (MetaCore::OnStoreWriteDone).
//
// Contract, for every implementation:
//   - Write(key, value, done): `done` runs exactly once, later, on the
//     store's executor, never inline inside Write. done(OK) means durable:
//     from then on, LoadAll() on this store and on a new store instance over
//     the same medium (the same directory, the same ZooKeeper path) returns
//     `value` for `key`, until the key is written again. A failed write
//     (done(error)) may or may not have taken effect; the caller must not
//     act on it and may write again.
//   - Delete(key, done): as Write, for the key's removal. done(OK) means
//     durable: from then on LoadAll() does not return `key`, until it is
//     written again. Deleting a key that is not there succeeds. A failed
//     delete may or may not have taken effect.
//   - Writes and deletes of one key complete, and take effect, in the order
//     they were issued. (MetaCore keeps at most one write per partition key
//     in flight, but relies on this order when it deletes a purged table's
//     partition key while a write of it is in flight.)
//   - LoadAll(): every key and its latest durable value. Called when the
//     meta server starts, before any Write.
//
// Errors: Write reports PERR_IO_ERROR (retry later) through `done`; an
// implementation may also refuse, with a code of its own, a write it can
// never carry out (LocalFileMetaStore: a key and value over its size limits,
// a corrupt file). LoadAll reports PERR_IO_ERROR when the medium cannot be
// read and PERR_CORRUPTION when it holds something that does not parse.
//
// Implementations: InMemoryMetaStore (below; tests and the simulator);
// LocalFileMetaStore (local_file_meta_store.h; one meta server, its own
// directory). A ZooKeeper one comes later behind the same interface.
// testing/conformance/meta_store_conformance_test.cc runs this contract
// against each.

#ifndef PEGASUS_META_META_STORE_H_
#define PEGASUS_META_META_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "pegasus/runtime/executor.h"

namespace pegasus {

class MetaStore {
 public:
  using WriteDone = absl::AnyInvocable<void(absl::Status)>;

  virtual ~MetaStore() = default;

  // Sets `key` to `value`; `done` reports the outcome (see the contract
  // above).
  virtual void Write(std::string key, std::string value, WriteDone done) = 0;

  // Removes `key`; `done` reports the outcome (see the contract above).
  virtual void Delete(std::string key, WriteDone done) = 0;

  // Every key with its latest durable value.
  virtual absl::StatusOr<std::map<std::string, std::string>> LoadAll() = 0;
};

// A MetaStore in memory. What it stores lives in a Medium, which outlives
// store instances: a test "restarts" the meta server by making a new store
// over the same Medium, and sees exactly the writes that completed OK.
//
// A write takes effect on the medium in the task that runs its `done`, just
// before done(OK); a write whose task never runs (its executor discarded)
// never takes effect, as a write in flight at a crash may not.
//
// Thread-safety: Write and LoadAll may be called from any thread; `done`
// runs on the executor given at construction, which must outlive the tasks
// this store posts to it.
class InMemoryMetaStore final : public MetaStore {
 public:
  // The keys and values that survive a restart.
  class Medium {
   public:
    std::map<std::string, std::string> Snapshot() const;
    // Writes and deletes applied so far (OK completions), for tests.
    uint64_t writes_applied() const;

   private:
    friend class InMemoryMetaStore;
    mutable absl::Mutex mu_;
    std::map<std::string, std::string> data_;
    uint64_t writes_applied_ = 0;
  };

  InMemoryMetaStore(Executor* executor, std::shared_ptr<Medium> medium);

  void Write(std::string key, std::string value, WriteDone done) override;
  void Delete(std::string key, WriteDone done) override;
  absl::StatusOr<std::map<std::string, std::string>> LoadAll() override;

  // While set, every Write and Delete issued fails with PERR_IO_ERROR (and
  // changes nothing); LoadAll fails the same way. For tests of error paths.
  void set_fail_writes(bool fail);
  void set_fail_loads(bool fail);

 private:
  Executor* const executor_;
  // Write (a value) or Delete (none).
  void Apply(std::string key, std::optional<std::string> value, WriteDone done);

  const std::shared_ptr<Medium> medium_;
  absl::Mutex mu_;
  bool fail_writes_ = false;
  bool fail_loads_ = false;
};

}  // namespace pegasus

#endif  // PEGASUS_META_META_STORE_H_
