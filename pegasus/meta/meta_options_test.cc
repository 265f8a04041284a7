#include "pegasus/meta/meta_options.h"

#include "gtest/gtest.h"
#include "pegasus/base/status.h"

namespace pegasus {
namespace {

bool Invalid(const MetaOptions& options) {
  return HasErrorCode(ValidateMetaOptions(options),
                      ErrorCode::kInvalidArgument);
}

TEST(MetaOptionsTest, DefaultsAreValid) {
  EXPECT_TRUE(ValidateMetaOptions(MetaOptions{}).ok());
  EXPECT_LT(MetaOptions{}.lease_ns, MetaOptions{}.grace_ns);
}

TEST(MetaOptionsTest, LeaseNotShorterThanGraceIsRejected) {
  EXPECT_TRUE(Invalid({.grace_ns = 4'000'000'000, .lease_ns = 4'000'000'000}));
  EXPECT_TRUE(Invalid({.grace_ns = 4'000'000'000, .lease_ns = 5'000'000'000}));
  EXPECT_TRUE(ValidateMetaOptions(
                  {.grace_ns = 4'000'000'000, .lease_ns = 3'999'999'999})
                  .ok());
}

TEST(MetaOptionsTest, LeaseNotShorterThanGraceIsAcceptedOnlyForThePlantedBug) {
  EXPECT_TRUE(ValidateMetaOptions({.grace_ns = 4'000'000'000,
                                   .lease_ns = 5'000'000'000,
                                   .allow_lease_ge_grace = true})
                  .ok());
}

TEST(MetaOptionsTest, EveryBadValueIsRejected) {
  EXPECT_TRUE(Invalid({.grace_ns = 0}));
  EXPECT_TRUE(Invalid({.lease_ns = 0}));
  EXPECT_TRUE(Invalid({.lease_ns = -1, .allow_lease_ge_grace = true}));
  EXPECT_TRUE(Invalid({.add_secondary_delay_ns = -1}));
  EXPECT_TRUE(Invalid({.max_last_drops = 0}));
  EXPECT_TRUE(Invalid({.max_nodes = 0}));
  EXPECT_TRUE(Invalid({.max_partitions_per_table = 0}));
  EXPECT_TRUE(Invalid({.max_partitions = 0}));
  EXPECT_TRUE(Invalid({.max_replicas_per_sync = 0}));
  EXPECT_TRUE(Invalid({.max_waiters_per_change = 0}));
  EXPECT_TRUE(ValidateMetaOptions({.add_secondary_delay_ns = 0}).ok());
}

TEST(MetaOptionsTest, BadBalancerValuesAreRejected) {
  EXPECT_TRUE(Invalid({.balancer_interval_ns = 0}));
  EXPECT_TRUE(Invalid({.move_step_timeout_ns = 0}));
  EXPECT_TRUE(Invalid({.move_retry_ns = -1}));
  MetaOptions options;
  options.balancer.max_moves_per_round = 1;
  EXPECT_TRUE(Invalid(options));
  EXPECT_EQ(MetaOptions{}.balancer_interval_ns, 10'000'000'000)
      << "Pegasus's lb_interval_ms";
}

}  // namespace
}  // namespace pegasus
