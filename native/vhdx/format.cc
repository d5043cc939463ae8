#include "vhdx/format.h"

#include <cstdio>

#include "vhdx/platform.h"

namespace wcow::vhdx {

Guid Guid::Of(uint32_t d1, uint16_t d2, uint16_t d3, std::array<uint8_t, 8> d4) {
  Guid g;
  Put32(g.bytes.data(), d1);
  Put16(g.bytes.data() + 4, d2);
  Put16(g.bytes.data() + 6, d3);
  std::memcpy(g.bytes.data() + 8, d4.data(), 8);
  return g;
}

std::string Guid::ToString() const {
  const uint8_t* b = bytes.data();
  char text[37];
  std::snprintf(text, sizeof text, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", Get32(b), Get16(b + 4),
                Get16(b + 6), b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return text;
}

Guid Guid::Random() {
  Guid g;
  RandomBytes(g.bytes.data(), 16);
  // RFC 4122 version 4, variant 1 (data3's high nibble; the first byte of data4).
  g.bytes[7] = static_cast<uint8_t>((g.bytes[7] & 0x0F) | 0x40);
  g.bytes[8] = static_cast<uint8_t>((g.bytes[8] & 0x3F) | 0x80);
  return g;
}

bool Guid::Parse(const std::string& text, Guid* out) {
  std::string t = text;
  if (t.size() == 38 && t.front() == '{' && t.back() == '}') t = t.substr(1, 36);
  if (t.size() != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-') return false;
  uint8_t raw[16];  // in text order
  size_t n = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = nibble(t[i]), lo = nibble(t[i + 1]);
    if (hi < 0 || lo < 0) return false;
    raw[n++] = static_cast<uint8_t>(hi << 4 | lo);
    ++i;
  }
  std::array<uint8_t, 8> d4;
  std::memcpy(d4.data(), raw + 8, 8);
  *out = Of(static_cast<uint32_t>(raw[0]) << 24 | raw[1] << 16 | raw[2] << 8 | raw[3],
            static_cast<uint16_t>(raw[4] << 8 | raw[5]), static_cast<uint16_t>(raw[6] << 8 | raw[7]), d4);
  return true;
}

const Guid kBatRegion = Guid::Of(0x2DC27766, 0xF623, 0x4200, {0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08});
const Guid kMetadataRegion = Guid::Of(0x8B7CA206, 0x4790, 0x4B9A, {0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E});
const Guid kFileParametersItem =
    Guid::Of(0xCAA16737, 0xFA36, 0x4D43, {0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B});
const Guid kVirtualDiskSizeItem =
    Guid::Of(0x2FA54224, 0xCD1B, 0x4876, {0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8});
const Guid kPage83Item = Guid::Of(0xBECA12AB, 0xB2E6, 0x4523, {0x93, 0xEF, 0xC3, 0x09, 0xE0, 0x00, 0xC7, 0x46});
const Guid kLogicalSectorSizeItem =
    Guid::Of(0x8141BF1D, 0xA96F, 0x4709, {0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F});
const Guid kPhysicalSectorSizeItem =
    Guid::Of(0xCDA348C7, 0x445D, 0x4471, {0x9C, 0xC9, 0xE9, 0x88, 0x52, 0x51, 0xC5, 0x56});
const Guid kParentLocatorItem =
    Guid::Of(0xA8D35F2D, 0xB30B, 0x454D, {0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C});
const Guid kVhdxParentLocatorType =
    Guid::Of(0xB04AEFB7, 0xD19E, 0x4A81, {0xB7, 0x89, 0x25, 0xB8, 0xE9, 0x44, 0x59, 0x13});

std::string GeometryProblem(const Geometry& g) {
  auto n = [](uint64_t v) { return std::to_string(v); };
  if (g.block_size < kMinBlockSize || g.block_size > kMaxBlockSize || !IsPowerOfTwo(g.block_size)) {
    return "block size " + n(g.block_size) + " is not a power of two from 1 MiB to 256 MiB";
  }
  if (g.logical_sector != 512 && g.logical_sector != 4096) {
    return "logical sector size " + n(g.logical_sector) + " is not 512 or 4096";
  }
  if (g.physical_sector != 512 && g.physical_sector != 4096) {
    return "physical sector size " + n(g.physical_sector) + " is not 512 or 4096";
  }
  if (g.virtual_size == 0) return "virtual size is 0";
  if (g.virtual_size % g.logical_sector != 0) {
    return "virtual size " + n(g.virtual_size) + " is not a multiple of the logical sector size " + n(g.logical_sector);
  }
  if (g.virtual_size > kMaxVirtualSize) return "virtual size " + n(g.virtual_size) + " exceeds the 64 TiB limit";
  return {};
}

}  // namespace wcow::vhdx
