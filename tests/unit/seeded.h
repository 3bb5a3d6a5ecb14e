// Seeded randomness for the property tests: one generator and one seed list, so every
// randomized test prints its seed and replays it the same way (BROKERGW_SEED=<n>).
// Test threads only; no state beyond the generator object.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <vector>

namespace brokergw::proptest {

// SplitMix64: tiny and identical on every platform, unlike the std distributions.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, n) for test generation.
  std::int64_t below(std::int64_t n) { return static_cast<std::int64_t>(next() % n); }
  bool one_in(std::int64_t n) { return below(n) == 0; }

 private:
  std::uint64_t state_;
};

inline constexpr std::uint64_t kDefaultSeed = 20240601;

// BROKERGW_SEED alone when set (replay), else the default seed and a few fixed others.
inline std::vector<std::uint64_t> seeds() {
  if (const char* env = std::getenv("BROKERGW_SEED"); env != nullptr && *env != '\0') {
    return {std::strtoull(env, nullptr, 0)};
  }
  constexpr std::uint64_t kExtraSeeds[] = {1, 42, 0xB10CB00C, 0xDEADBEEFCAFEF00D};
  std::vector<std::uint64_t> out{kDefaultSeed};
  out.insert(out.end(), std::begin(kExtraSeeds), std::end(kExtraSeeds));
  return out;
}

}  // namespace brokergw::proptest
