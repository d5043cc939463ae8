#include "vhdx/crc32c.h"

#include <array>

namespace wcow::vhdx {

namespace {

constexpr uint32_t kPoly = 0x82F63B78u;

// Byte-wise table: the checksummed structures are short once their zero
// tails go through Crc32cZeros.
constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kTable = MakeTable();

// a × b modulo the polynomial, both in the reflected bit order (bit 31 is x^0).
constexpr uint32_t MultiplyModP(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t bit = 1u << 31; bit != 0; bit >>= 1) {
    if (a & bit) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;  // b × x
  }
  return product;
}

// kPowers[k] = x^(8 × 2^k) mod P: what feeding 2^k zero bytes multiplies the register by.
constexpr std::array<uint32_t, 64> MakePowers() {
  std::array<uint32_t, 64> p{};
  uint32_t x8 = 1u << 23;  // x^8
  p[0] = x8;
  for (size_t k = 1; k < p.size(); ++k) p[k] = MultiplyModP(p[k - 1], p[k - 1]);
  return p;
}
constexpr std::array<uint32_t, 64> kPowers = MakePowers();

}  // namespace

uint32_t Crc32c(const uint8_t* data, size_t length, uint32_t crc) {
  crc = ~crc;
  for (size_t i = 0; i < length; ++i) crc = kTable[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

uint32_t Crc32cZeros(uint32_t crc, uint64_t count) {
  // A zero byte maps the register r to r × x^8 (mod P): count zeros multiply it by x^(8 count).
  uint32_t r = ~crc;
  for (size_t k = 0; count != 0; ++k, count >>= 1) {
    if (count & 1) r = MultiplyModP(kPowers[k], r);
  }
  return ~r;
}

}  // namespace wcow::vhdx
