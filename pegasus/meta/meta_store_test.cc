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

TEST_F(InMemoryMetaStoreTest, WriteCompletesLaterNeverInline) {
  InMemoryMetaStore store(&executor_, medium_);
  auto result = Write(store, "k", "v");
  EXPECT_FALSE(result->has_value());
  EXPECT_TRUE(store.LoadAll()->empty());  // not durable before done(OK)
  executor_.RunReady();
  ASSERT_TRUE(result->has_value());
  EXPECT_TRUE(result->value().ok());
  EXPECT_EQ(store.LoadAll()->at("k"), "v");
}

TEST_F(InMemoryMetaStoreTest, CompletedWritesSurviveANewStoreOverTheMedium) {
  {
    InMemoryMetaStore store(&executor_, medium_);
    Write(store, "a", "1");
    Write(store, "a", "2");
    Write(store, "b", "3");
    executor_.RunReady();
  }
  InMemoryMetaStore reopened(&executor_, medium_);
  auto loaded = reopened.LoadAll();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded,
            (std::map<std::string, std::string>{{"a", "2"}, {"b", "3"}}));
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

TEST_F(InMemoryMetaStoreTest, LoadAllCanBeMadeToFail) {
  InMemoryMetaStore store(&executor_, medium_);
  store.set_fail_loads(true);
  EXPECT_TRUE(HasErrorCode(store.LoadAll().status(), ErrorCode::kIoError));
}

}  // namespace
}  // namespace pegasus
