// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of VHDX
// headers and region tables (MS-VHDX 2.2.2, 2.2.3).
#pragma once
#include <cstddef>
#include <cstdint>

namespace wcow::vhdx {
// The CRC of `data` (pass the CRC of what came before to continue one; 0 to start).
uint32_t Crc32c(const uint8_t* data, size_t length, uint32_t crc = 0);
// The CRC after `count` more zero bytes, in O(log count): a 64 KiB region
// table is 80 used bytes and zeros.
uint32_t Crc32cZeros(uint32_t crc, uint64_t count);
}  // namespace wcow::vhdx
