#include "pegasus/base/random.h"

#include <cmath>

#include "pegasus/base/check.h"

namespace pegasus {
namespace {

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// FNV-1a: a stable hash of a stream name.
uint64_t HashName(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

uint64_t MixBits(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t DeriveSeed(uint64_t seed, std::string_view name) {
  return MixBits(MixBits(seed) ^ HashName(name));
}

uint64_t DeriveSeed(uint64_t seed, std::string_view name, uint64_t index) {
  return MixBits(DeriveSeed(seed, name) + 0x9e3779b97f4a7c15ULL * (index + 1));
}

uint64_t Random::Uniform(uint64_t n) {
  PEGASUS_CHECK_GT(n, 0u);
  // Lemire's multiply-shift with rejection: unbiased and platform-independent.
  uint64_t x = Next64();
  unsigned __int128 m = static_cast<unsigned __int128>(x) * n;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      x = Next64();
      m = static_cast<unsigned __int128>(x) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

int64_t Random::UniformIn(int64_t lo, int64_t hi) {
  PEGASUS_CHECK_LE(lo, hi);
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  if (span == UINT64_MAX) return static_cast<int64_t>(Next64());
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + Uniform(span + 1));
}

double Random::UniformDouble() {
  return static_cast<double>(Next64() >> 11) * 0x1.0p-53;
}

bool Random::Bernoulli(double p) {
  if (p <= 0) return false;
  if (p >= 1) return true;
  return UniformDouble() < p;
}

int64_t Random::Exponential(int64_t mean) {
  PEGASUS_CHECK_GE(mean, 0);
  if (mean == 0) return 0;
  // 1 - u is in (0, 1], so the logarithm is finite.
  const double u = 1.0 - UniformDouble();
  return static_cast<int64_t>(-std::log(u) * static_cast<double>(mean));
}

SeededRandom::SeededRandom(uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t& word : s_) {
    x += 0x9e3779b97f4a7c15ULL;
    word = MixBits(x);
  }
}

uint64_t SeededRandom::Next64() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

}  // namespace pegasus
