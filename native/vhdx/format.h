// MS-VHDX on-disk constants and the arithmetic that follows from them
// (reference: MS-VHDX v1.0 sections 2.1-2.6 and docs/native.md#vhdx-layout).
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <string>

namespace wcow::vhdx {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kTiB = kMiB * kMiB;

// Header section (the first 1 MiB).
constexpr uint64_t kHeaderSectionSize = kMiB;
constexpr uint64_t kHeaderOffsets[2] = {64 * kKiB, 128 * kKiB};
constexpr size_t kHeaderSize = 4 * kKiB;
constexpr uint64_t kRegionTableOffsets[2] = {192 * kKiB, 256 * kKiB};
constexpr size_t kRegionTableSize = 64 * kKiB;
constexpr uint32_t kMaxRegionEntries = 2047;
constexpr size_t kCreatorBytes = 512;

// Layout of the files we create: log, metadata and BAT each start on a 1 MiB
// boundary, in that order, as Hyper-V and qemu-img lay them out.
constexpr uint64_t kLogOffset = kMiB;
constexpr uint32_t kLogLength = static_cast<uint32_t>(kMiB);
constexpr uint64_t kMetadataOffset = 2 * kMiB;
constexpr uint32_t kMetadataLength = static_cast<uint32_t>(kMiB);
constexpr uint64_t kBatOffset = 3 * kMiB;

constexpr size_t kMetadataTableSize = 64 * kKiB;
constexpr uint16_t kMaxMetadataEntries = 2047;
constexpr uint64_t kMaxVirtualSize = 64 * kTiB;
constexpr uint64_t kMinBlockSize = kMiB;
constexpr uint64_t kMaxBlockSize = 256 * kMiB;
// One sector bitmap block (1 MiB) holds a bit for 2^23 sectors (MS-VHDX 2.5.1).
constexpr uint64_t kSectorBitmapBlockSize = kMiB;
constexpr uint64_t kSectorsPerBitmapBlock = uint64_t{1} << 23;

// BAT entry states (MS-VHDX 2.5.1.1, 2.5.1.2).
enum BatState : uint8_t {
  kNotPresent = 0,
  kUndefined = 1,
  kZero = 2,
  kUnmapped = 3,
  kFullyPresent = 6,
  kPartiallyPresent = 7,
};
constexpr uint8_t kSectorBitmapPresent = 6;
constexpr uint64_t kBatStateMask = 7;
constexpr uint64_t kBatOffsetMask = ~(kMiB - 1);  // FileOffsetMB: bits 20-63

// A GUID in the on-disk (Windows, mixed-endian) byte order.
struct Guid {
  std::array<uint8_t, 16> bytes{};
  bool operator==(const Guid& o) const { return bytes == o.bytes; }
  bool operator!=(const Guid& o) const { return !(*this == o); }
  bool IsZero() const { return *this == Guid{}; }
  std::string ToString() const;  // upper case, no braces
  static Guid Random();
  static Guid Of(uint32_t d1, uint16_t d2, uint16_t d3, std::array<uint8_t, 8> d4);
  // Parses `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`, braces optional; false if malformed.
  static bool Parse(const std::string& text, Guid* out);
};

// Region table entries (MS-VHDX 2.2.3.2).
extern const Guid kBatRegion;
extern const Guid kMetadataRegion;
// Metadata items (MS-VHDX 2.6.2).
extern const Guid kFileParametersItem;
extern const Guid kVirtualDiskSizeItem;
extern const Guid kPage83Item;
extern const Guid kLogicalSectorSizeItem;
extern const Guid kPhysicalSectorSizeItem;
extern const Guid kParentLocatorItem;
// The one parent locator type VHDX defines (MS-VHDX 2.6.2.6.1).
extern const Guid kVhdxParentLocatorType;

// Little-endian field access.
inline uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t Get32(const uint8_t* p) { return Get16(p) | (static_cast<uint32_t>(Get16(p + 2)) << 16); }
inline uint64_t Get64(const uint8_t* p) { return Get32(p) | (static_cast<uint64_t>(Get32(p + 4)) << 32); }
inline void Put16(uint8_t* p, uint16_t v) { p[0] = static_cast<uint8_t>(v); p[1] = static_cast<uint8_t>(v >> 8); }
inline void Put32(uint8_t* p, uint32_t v) { Put16(p, static_cast<uint16_t>(v)); Put16(p + 2, static_cast<uint16_t>(v >> 16)); }
inline void Put64(uint8_t* p, uint64_t v) { Put32(p, static_cast<uint32_t>(v)); Put32(p + 4, static_cast<uint32_t>(v >> 32)); }
inline Guid GetGuid(const uint8_t* p) { Guid g; std::memcpy(g.bytes.data(), p, 16); return g; }
inline void PutGuid(uint8_t* p, const Guid& g) { std::memcpy(p, g.bytes.data(), 16); }

inline uint64_t RoundUp(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }
inline bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// The disk's shape, and the BAT arithmetic of MS-VHDX 2.5.
struct Geometry {
  uint64_t virtual_size = 0;
  uint32_t block_size = 0;
  uint32_t logical_sector = 0;
  uint32_t physical_sector = 0;
  bool has_parent = false;

  uint64_t ChunkRatio() const { return kSectorsPerBitmapBlock * logical_sector / block_size; }
  uint64_t DataBlocks() const { return (virtual_size + block_size - 1) / block_size; }
  uint64_t SectorsPerBlock() const { return block_size / logical_sector; }
  // A differencing disk needs every chunk's sector bitmap entry; a dynamic
  // disk's BAT stops at its last payload block.
  uint64_t TotalBatEntries() const {
    uint64_t blocks = DataBlocks(), cr = ChunkRatio();
    return has_parent ? (blocks + cr - 1) / cr * (cr + 1) : blocks + (blocks - 1) / cr;
  }
  uint64_t BatBytes() const { return RoundUp(TotalBatEntries() * 8, kMiB); }
  uint64_t PayloadIndex(uint64_t block) const { return block + block / ChunkRatio(); }
  uint64_t BitmapIndex(uint64_t chunk) const { return chunk * (ChunkRatio() + 1) + ChunkRatio(); }
  bool IsBitmapIndex(uint64_t index) const { return (index + 1) % (ChunkRatio() + 1) == 0; }
};

// What is wrong with a disk's shape (sizes, powers of two, limits), or "" if
// nothing. Shared by argument validation and by the corruption checks.
std::string GeometryProblem(const Geometry& g);

}  // namespace wcow::vhdx
