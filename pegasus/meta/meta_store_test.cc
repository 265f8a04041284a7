#include "pegasus/meta/meta_store.h"

#include <memory>
#include <optional>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/runtime/manual_executor.h"

namespace pegasus {
namespace {

class InMemoryMetaStoreTest : public ::testing::Test {
 protected:
  // Writes and returns a slot for the outcome, filled when done runs.
  std::shared_ptr<std::optional<absl::Status>> Write(MetaStore& store,
                                                     std::string key,
                                                     std::string value) {
    auto result = std::make_shared<std::optional<absl::Status>>();
    store.Write(std::move(key), std::move(value),
                [result](absl::Status status) { *result = status; });
    return result;
  }

  ManualExecutor executor_;
  std::shared_ptr<InMemoryMetaStore::Medium> medium_ =
      std::make_shared<InMemoryMetaStore::Medium>();
};

// The contract every MetaStore shares is tested in
// testing/conformance/meta_store_conformance_test.cc; these are the
// in-memory store's own promises.

TEST_F(InMemoryMetaStoreTest, WriteTakesEffectInTheTaskThatRunsItsDone) {
  InMemoryMetaStore store(&executor_, medium_);
  auto result = Write(store, "k", "v");
  EXPECT_TRUE(medium_->Snapshot().empty());
  EXPECT_EQ(medium_->writes_applied(), 0u);
  executor_.RunReady();
  ASSERT_TRUE(result->has_value());
  EXPECT_TRUE(result->value().ok());
  EXPECT_EQ(medium_->Snapshot(),
            (std::map<std::string, std::string>{{"k", "v"}}));
}

TEST_F(InMemoryMetaStoreTest, MediumCountsTheWritesApplied) {
  InMemoryMetaStore store(&executor_, medium_);
  Write(store, "a", "1");
  Write(store, "a", "2");
  Write(store, "b", "3");
  store.set_fail_writes(true);
  Write(store, "b", "4");
  executor_.RunReady();
  EXPECT_EQ(medium_->writes_applied(), 3u);
}

TEST_F(InMemoryMetaStoreTest, FailedWriteChangesNothing) {
  InMemoryMetaStore store(&executor_, medium_);
  Write(store, "k", "old");
  executor_.RunReady();
  store.set_fail_writes(true);
  auto result = Write(store, "k", "new");
  store.set_fail_writes(false);  // decided when the write was issued
  executor_.RunReady();
  ASSERT_TRUE(result->has_value());
  EXPECT_TRUE(HasErrorCode(result->value(), ErrorCode::kIoError));
  EXPECT_EQ(store.LoadAll()->at("k"), "old");
}

}  // namespace
}  // namespace pegasus
