// The random seam. Every random choice in pegasus/ comes from a Random that
// was handed in, so one seed reproduces a whole simulated run.
//
// SeededRandom is xoshiro256** seeded through SplitMix64: fast, small, and
// identical on every platform (unlike std:: distributions, whose output is
// implementation-defined, which is why the helpers below do their own
// arithmetic).
//
// Thread-safety: none; each component owns its generator.

#ifndef PEGASUS_BASE_RANDOM_H_
#define PEGASUS_BASE_RANDOM_H_

#include <cstdint>
#include <string_view>

namespace pegasus {

class Random {
 public:
  virtual ~Random() = default;

  // 64 uniformly distributed bits.
  virtual uint64_t Next64() = 0;

  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t Uniform(uint64_t n);
  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  int64_t UniformIn(int64_t lo, int64_t hi);
  // Uniform in [0, 1).
  double UniformDouble();
  // True with probability p (p <= 0: never; p >= 1: always, without a draw).
  bool Bernoulli(double p);
  // Exponentially distributed with the given mean (>= 0), rounded down.
  int64_t Exponential(int64_t mean);
};

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed);
  uint64_t Next64() override;

 private:
  uint64_t s_[4];
};

// SplitMix64's finalizer: a bijective mix of 64 bits.
uint64_t MixBits(uint64_t x);

// The seed of a named sub-stream of `seed`, so that components derive
// independent generators and adding one does not shift the others' draws.
uint64_t DeriveSeed(uint64_t seed, std::string_view name);
uint64_t DeriveSeed(uint64_t seed, std::string_view name, uint64_t index);

}  // namespace pegasus

#endif  // PEGASUS_BASE_RANDOM_H_
