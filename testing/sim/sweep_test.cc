// The CI-sized sweep: every seed in a range runs the default world (5
// servers, 16 clients) with swarm faults and must pass every check; the
// first seeds also run twice and must give the same digest.

#include <cstdint>
#include <string>

#include "gtest/gtest.h"
#include "testing/sim/simulation.h"

namespace pegasus::sim {
namespace {

constexpr uint64_t kFirstSeed = 1;
constexpr uint64_t kSeeds = 200;
constexpr uint64_t kDeterminismSeeds = 20;
constexpr int64_t kSecond = 1'000'000'000;

class SweepTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(SweepTest, SeedPassesEveryCheck) {
  SimulationOptions options;
  options.seed = GetParam();
  options.duration_ns = 10 * kSecond;
  const SimulationResult result = RunSimulation(options);
  std::string violations;
  for (const std::string& violation : result.violations) {
    violations += "\n  " + violation;
  }
  EXPECT_TRUE(result.ok())
      << "faults " << result.faults << violations << "\n"
      << result.linearizability.explanation
      << "\nreplay: bazel run //testing/sim:simulate -- --seed=" << GetParam()
      << " --duration_s=10";
  EXPECT_GT(result.ops_ok, 0u);
  if (GetParam() < kFirstSeed + kDeterminismSeeds) {
    EXPECT_EQ(RunSimulation(options).digest, result.digest)
        << "seed " << GetParam() << " is not deterministic; find the first "
        << "divergence with: bazel run //testing/sim:simulate -- --seed="
        << GetParam() << " --duration_s=10 --verify_determinism";
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, SweepTest,
                         ::testing::Range(kFirstSeed, kFirstSeed + kSeeds));

}  // namespace
}  // namespace pegasus::sim
