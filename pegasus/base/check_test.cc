#include "pegasus/base/check.h"

#include "gtest/gtest.h"
#include "pegasus/base/status.h"

namespace pegasus {
namespace {

TEST(CheckDeathTest, FailedCheckAbortsWithConditionAndMessage) {
  int decree = 3;
  EXPECT_DEATH(PEGASUS_CHECK(decree > 5) << "decree " << decree,
               "check failed: decree > 5 decree 3");
}

TEST(CheckDeathTest, FailedComparisonPrintsBothValues) {
  int ballot = 7;
  EXPECT_DEATH(PEGASUS_CHECK_EQ(ballot, 8), "ballot == 8 \\(7 vs. 8\\)");
  EXPECT_DEATH(PEGASUS_CHECK_LT(ballot, 7), "ballot < 7 \\(7 vs. 7\\)");
}

TEST(CheckDeathTest, CheckOkAbortsOnError) {
  EXPECT_DEATH(PEGASUS_CHECK_OK(absl::InternalError("disk gone")),
               "disk gone");
}

TEST(CheckTest, PassingChecksEvaluateOperandsOnce) {
  int calls = 0;
  auto next = [&] { return ++calls; };
  PEGASUS_CHECK(next() == 1);
  PEGASUS_CHECK_EQ(next(), 2);
  PEGASUS_CHECK_GE(next(), 3) << "unused";
  PEGASUS_CHECK_OK(absl::OkStatus());
  EXPECT_EQ(calls, 3);
}

TEST(CheckTest, ChecksStayOnInOptimizedBuilds) {
  // PEGASUS_CHECK is not compiled out under NDEBUG: it must still fire.
  EXPECT_DEATH(PEGASUS_CHECK(false), "check failed");
}

}  // namespace
}  // namespace pegasus
