// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of VHDX
// headers and region tables (MS-VHDX 2.2.2, 2.2.3).
#pragma once
#include <cstddef>
#include <cstdint>

namespace wcow::vhdx {
uint32_t Crc32c(const uint8_t* data, size_t length);
}
