// The CI-sized sweeps: every seed in a range runs the default world (5
// servers, 16 clients) with swarm faults and must pass every check; the
// first seeds also run twice and must give the same digest. One sweep runs
// the replicated cluster (a meta server and replica servers), one the
// single-copy service.

#include <cstdint>
#include <string>
#include <tuple>

#include "gtest/gtest.h"
#include "testing/sim/simulation.h"

namespace pegasus::sim {
namespace {

constexpr uint64_t kFirstSeed = 1;
constexpr uint64_t kClusterSeeds = 500;
constexpr uint64_t kSingleCopySeeds = 200;
constexpr uint64_t kDeterminismSeeds = 10;
constexpr int64_t kSecond = 1'000'000'000;

class SweepTest
    : public ::testing::TestWithParam<std::tuple<ServiceKind, uint64_t>> {};

TEST_P(SweepTest, SeedPassesEveryCheck) {
  const auto [service, seed] = GetParam();
  SimulationOptions options;
  options.service = service;
  options.seed = seed;
  options.duration_ns = 10 * kSecond;
  const SimulationResult result = RunSimulation(options);
  std::string violations;
  for (const std::string& violation : result.violations) {
    violations += "\n  " + violation;
  }
  for (const std::string& note : result.notes) violations += "\n  " + note;
  const std::string replay =
      std::string("bazel run //testing/sim:simulate -- --service=") +
      ServiceKindName(service) + " --seed=" + std::to_string(seed) +
      " --duration_s=10";
  EXPECT_TRUE(result.ok()) << "faults " << result.faults << violations << "\n"
                           << result.linearizability.explanation
                           << "\nreplay: " << replay;
  EXPECT_GT(result.ops_ok, 0u);
  if (seed < kFirstSeed + kDeterminismSeeds) {
    EXPECT_EQ(RunSimulation(options).digest, result.digest)
        << "seed " << seed << " is not deterministic; find the first "
        << "divergence with: " << replay << " --verify_determinism";
  }
}

std::string Name(
    const ::testing::TestParamInfo<std::tuple<ServiceKind, uint64_t>>& info) {
  return std::string(ServiceKindName(std::get<0>(info.param))) + "_" +
         std::to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(
    Cluster, SweepTest,
    ::testing::Combine(::testing::Values(ServiceKind::kCluster),
                       ::testing::Range(kFirstSeed, kFirstSeed + kClusterSeeds)),
    Name);

INSTANTIATE_TEST_SUITE_P(
    SingleCopy, SweepTest,
    ::testing::Combine(::testing::Values(ServiceKind::kSingleCopy),
                       ::testing::Range(kFirstSeed,
                                        kFirstSeed + kSingleCopySeeds)),
    Name);

}  // namespace
}  // namespace pegasus::sim
