// Fixed-width big-endian integers, the byte order of every on-disk and
// on-wire integer in Pegasus's formats.
//
// REQUIRES for the Decode functions: the input holds at least the width.

#ifndef PEGASUS_BASE_CODING_H_
#define PEGASUS_BASE_CODING_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace pegasus {

inline void PutBigEndian16(std::string* out, uint16_t value) {
  char bytes[2] = {static_cast<char>(value >> 8), static_cast<char>(value)};
  out->append(bytes, 2);
}

inline void PutBigEndian32(std::string* out, uint32_t value) {
  char bytes[4];
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<char>(value >> (24 - 8 * i));
  out->append(bytes, 4);
}

inline void PutBigEndian64(std::string* out, uint64_t value) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(value >> (56 - 8 * i));
  out->append(bytes, 8);
}

inline uint16_t DecodeBigEndian16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}

inline uint32_t DecodeBigEndian32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) |
         (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

inline uint64_t DecodeBigEndian64(const char* p) {
  return (uint64_t{DecodeBigEndian32(p)} << 32) | DecodeBigEndian32(p + 4);
}

}  // namespace pegasus

#endif  // PEGASUS_BASE_CODING_H_
