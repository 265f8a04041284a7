// Pegasus's CRC64: the reflected polynomial 0x9a6c9329ac4bc9b5, with the
// running value inverted before and after each call (the CRC-64/NVME
// parameters). Routing depends on it bit for bit: a hash key lands in
// partition Crc64(hash_key) % partition_count, as in Pegasus.
//
// Thread-safety: pure functions.

#ifndef PEGASUS_BASE_CRC64_H_
#define PEGASUS_BASE_CRC64_H_

#include <cstdint>
#include <string_view>

namespace pegasus {

// Continues a CRC: Crc64Extend(Crc64(a), b) == Crc64(a + b).
uint64_t Crc64Extend(uint64_t crc, std::string_view data);

inline uint64_t Crc64(std::string_view data) { return Crc64Extend(0, data); }

}  // namespace pegasus

#endif  // PEGASUS_BASE_CRC64_H_
