// An open VHDX file, validated whole on open: file identifier, headers,
// region tables, metadata, and every BAT entry against the file's structures
// and the other entries. What passes cannot make a read return another
// structure's bytes or a write overwrite one. Virtual reads and writes,
// growth. A differencing image opens its parent chain on first need (a write:
// before its first change).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "vhdx/platform.h"
#include "vhdx/vhdx.h"

namespace wcow::vhdx {

// Which MiB of a file are taken, one bit each (every structure and block is
// 1 MiB aligned): overlaps are found in one streaming pass over the BAT, in
// memory that follows the file's size (16 MiB at the 128 TiB cap), not the
// number of entries.
class SpaceMap {
 public:
  void Reset(uint64_t mib);
  uint64_t size() const { return size_; }
  // Marks [first, first + count) taken; false, marking nothing, if any of it was.
  bool Claim(uint64_t first, uint64_t count);
  bool IsFree(uint64_t first, uint64_t count) const;

 private:
  bool Taken(uint64_t mib) const { return mib < size_ && ((bits_[mib / 64] >> (mib % 64)) & 1) != 0; }
  uint64_t size_ = 0;
  std::vector<uint64_t> bits_;
};

class Image {
 public:
  enum class Access { kRead, kReadWrite };
  Image(const std::string& path, Access access, int chain_depth = 0);

  const Info& info() const { return info_; }
  void Read(uint64_t offset, uint8_t* out, uint64_t length);
  void Write(uint64_t offset, const uint8_t* data, uint64_t length);
  void Expand(uint64_t new_size);
  void Flush() { file_.Flush(); }

 private:
  // An occupied stretch of the file: a fixed structure (index < 0, named by
  // fixed_names_[-index - 1]) or the block of BAT entry `index`.
  struct Span {
    uint64_t offset, length;
    int64_t index;
  };

  [[noreturn]] void Corrupt(const std::string& what) const;
  void ReadExact(uint64_t offset, uint8_t* out, size_t length, const char* what) const;
  void LoadHeaders();
  void LoadRegionTables();
  void LoadMetadata();
  const RegionEntry& Region(const Guid& guid) const;
  const MetadataItem* Item(const Guid& id) const;
  std::vector<uint8_t> ItemValue(const Guid& id, uint32_t length, const char* name) const;
  std::string Describe(const Span& span) const;
  // Marks a structure or block taken, or fails naming what it collides with.
  void Claim(const Span& span);
  // Every BAT entry: state, placement, overlaps; counts them into info().bat.
  void CheckBat();
  // The block size BAT entry `index` occupies in state `entry` (0: none).
  uint64_t EntryLength(uint64_t index, uint64_t entry) const;
  // Calls fn(index, entry) for each non-zero entry below `count`, reading the
  // BAT in pieces of at most 1 MiB and skipping its holes.
  void ForEachEntry(uint64_t count, const std::function<void(uint64_t, uint64_t)>& fn) const;
  void ZeroIfNonzero(uint64_t offset, uint64_t length);
  void SetSectorBits(uint64_t block, uint64_t first_sector, uint64_t end_sector, bool fresh);
  void RequireNoPendingLog() const;
  void CheckRange(const char* op, uint64_t offset, uint64_t length) const;
  // Calls fn(block, offset in block, bytes, bytes done before) for each block the range touches.
  void ForEachBlock(uint64_t offset, uint64_t length,
                    const std::function<void(uint64_t, uint32_t, uint32_t, uint64_t)>& fn) const;

  uint64_t BatEntry(uint64_t index);
  void SetBatEntry(uint64_t index, uint64_t entry);
  uint64_t Allocate(uint64_t size);
  // Before the first change: a new header (sequence + 1, new FileWriteGuid and
  // DataWriteGuid) written to the non-current slot (MS-VHDX 2.2.2.1).
  void BeginChange();

  void ReadBlock(uint64_t block, uint32_t in_block, uint32_t length, uint8_t* out);
  void WriteBlock(uint64_t block, uint32_t in_block, uint32_t length, const uint8_t* data);
  // The sector bitmap block of `block`'s chunk, allocated if it has none yet.
  uint64_t SectorBitmapOffset(uint64_t block);
  Image& Parent();

  std::string path_;
  File file_;
  int chain_depth_;
  Info info_;
  int current_ = 0;  // index into info_.headers
  bool changed_ = false;
  uint64_t alloc_end_ = 0;
  std::unordered_map<uint64_t, uint64_t> bat_cache_;
  std::unique_ptr<Image> parent_;
  std::vector<Span> fixed_;  // the structures, in the order claimed
  std::vector<std::string> fixed_names_;
  SpaceMap space_;
};

}  // namespace wcow::vhdx
