#include "pegasus/base/random.h"

#include <map>
#include <set>

#include "gtest/gtest.h"

namespace pegasus {
namespace {

TEST(RandomTest, SameSeedGivesSameStream) {
  SeededRandom a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.Next64();
    EXPECT_EQ(x, b.Next64());
    differs |= x != c.Next64();
  }
  EXPECT_TRUE(differs);
}

// The stream is part of the simulator's reproducibility contract: a change
// here changes every recorded seed's run.
TEST(RandomTest, StreamIsStableAcrossBuilds) {
  SeededRandom r(0);
  const uint64_t first = r.Next64();
  SeededRandom again(0);
  EXPECT_EQ(first, again.Next64());
  EXPECT_NE(first, 0u);
  EXPECT_EQ(MixBits(0), 0u);
  EXPECT_EQ(MixBits(1), 0x5692161d100b05e5ULL);
}

TEST(RandomTest, DerivedSeedsAreIndependentOfSiblings) {
  EXPECT_NE(DeriveSeed(1, "network"), DeriveSeed(1, "disk"));
  EXPECT_NE(DeriveSeed(1, "node", 0), DeriveSeed(1, "node", 1));
  EXPECT_NE(DeriveSeed(1, "node", 0), DeriveSeed(2, "node", 0));
  // A node's seed depends only on the run's seed and its own index.
  EXPECT_EQ(DeriveSeed(7, "node", 3), DeriveSeed(7, "node", 3));
}

TEST(RandomTest, UniformStaysInRangeAndCoversIt) {
  SeededRandom r(5);
  std::map<uint64_t, int> counts;
  for (int i = 0; i < 7000; ++i) {
    const uint64_t x = r.Uniform(7);
    ASSERT_LT(x, 7u);
    ++counts[x];
  }
  ASSERT_EQ(counts.size(), 7u);
  for (const auto& [value, count] : counts) {
    EXPECT_GT(count, 800) << value;
    EXPECT_LT(count, 1200) << value;
  }
  for (int i = 0; i < 1000; ++i) {
    const int64_t y = r.UniformIn(-3, 3);
    EXPECT_GE(y, -3);
    EXPECT_LE(y, 3);
  }
  EXPECT_EQ(r.UniformIn(9, 9), 9);
}

TEST(RandomTest, BernoulliAndExponentialHaveTheirMeans) {
  SeededRandom r(11);
  int hits = 0;
  int64_t sum = 0;
  for (int i = 0; i < 20000; ++i) {
    hits += r.Bernoulli(0.25);
    sum += r.Exponential(1000);
  }
  EXPECT_NEAR(hits / 20000.0, 0.25, 0.02);
  EXPECT_NEAR(sum / 20000.0, 1000, 50);
  EXPECT_FALSE(r.Bernoulli(0));
  EXPECT_TRUE(r.Bernoulli(1));
  EXPECT_EQ(r.Exponential(0), 0);
  for (int i = 0; i < 1000; ++i) {
    const double d = r.UniformDouble();
    EXPECT_GE(d, 0.0);
    EXPECT_LT(d, 1.0);
  }
}

}  // namespace
}  // namespace pegasus
