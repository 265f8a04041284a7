#include "pegasus/meta/meta_store.h"

#include <utility>

#include "pegasus/base/check.h"
#include "pegasus/base/status.h"

namespace pegasus {

std::map<std::string, std::string> InMemoryMetaStore::Medium::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return data_;
}

uint64_t InMemoryMetaStore::Medium::writes_applied() const {
  absl::MutexLock lock(&mu_);
  return writes_applied_;
}

InMemoryMetaStore::InMemoryMetaStore(Executor* executor,
                                     std::shared_ptr<Medium> medium)
    : executor_(executor), medium_(std::move(medium)) {
  PEGASUS_CHECK(executor_ != nullptr);
  PEGASUS_CHECK(medium_ != nullptr);
}

void InMemoryMetaStore::Write(std::string key, std::string value,
                              WriteDone done) {
  Apply(std::move(key), std::move(value), std::move(done));
}

void InMemoryMetaStore::Delete(std::string key, WriteDone done) {
  Apply(std::move(key), std::nullopt, std::move(done));
}

void InMemoryMetaStore::Apply(std::string key, std::optional<std::string> value,
                              WriteDone done) {
  bool fail;
  {
    absl::MutexLock lock(&mu_);
    fail = fail_writes_;
  }
  // The task owns everything it touches, so it may outlive this store (a
  // "crashed" meta server's writes still complete on the medium's side or
  // not at all, exactly as the contract allows).
  executor_->Post([medium = medium_, key = std::move(key),
                   value = std::move(value), done = std::move(done),
                   fail]() mutable {
    if (fail) {
      done(PegasusError(ErrorCode::kIoError, "injected meta store failure"));
      return;
    }
    {
      absl::MutexLock lock(&medium->mu_);
      if (value.has_value()) {
        medium->data_[std::move(key)] = std::move(*value);
      } else {
        medium->data_.erase(key);
      }
      ++medium->writes_applied_;
    }
    done(absl::OkStatus());
  });
}

absl::StatusOr<std::map<std::string, std::string>>
InMemoryMetaStore::LoadAll() {
  {
    absl::MutexLock lock(&mu_);
    if (fail_loads_) {
      return PegasusError(ErrorCode::kIoError, "injected meta store failure");
    }
  }
  return medium_->Snapshot();
}

void InMemoryMetaStore::set_fail_writes(bool fail) {
  absl::MutexLock lock(&mu_);
  fail_writes_ = fail;
}

void InMemoryMetaStore::set_fail_loads(bool fail) {
  absl::MutexLock lock(&mu_);
  fail_loads_ = fail;
}

}  // namespace pegasus
