// An open VHDX file: validated on open (file identifier, headers, region
// tables, metadata), BAT entries checked as they are used (or all at once by
// ScanBat), virtual reads and writes, growth. A differencing image opens its
// parent chain on first need.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "vhdx/platform.h"
#include "vhdx/vhdx.h"

namespace wcow::vhdx {

class Image {
 public:
  enum class Access { kRead, kReadWrite };
  Image(const std::string& path, Access access, int chain_depth = 0);

  const Info& info() const { return info_; }
  // Checks every BAT entry (state, placement, overlaps) and counts them into info().bat.
  void ScanBat();
  void Read(uint64_t offset, uint8_t* out, uint64_t length);
  void Write(uint64_t offset, const uint8_t* data, uint64_t length);
  void Expand(uint64_t new_size);
  void Flush() { file_.Flush(); }

 private:
  // An occupied stretch of the file: a fixed structure (index < 0, see
  // FixedSpans) or the block of BAT entry `index`.
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
  std::vector<uint8_t> ItemValue(const std::vector<uint8_t>& region, const Guid& id, uint32_t length, const char* name) const;
  std::vector<Span> FixedSpans() const;
  std::string Describe(const Span& span) const;
  void ZeroIfNonzero(uint64_t offset, uint64_t length);
  void SetSectorBits(uint64_t block, uint64_t first_sector, uint64_t end_sector, bool fresh);
  void RequireNoPendingLog() const;
  void CheckRange(const char* op, uint64_t offset, uint64_t length) const;
  // Calls fn(block, offset in block, bytes, bytes done before) for each block the range touches.
  void ForEachBlock(uint64_t offset, uint64_t length,
                    const std::function<void(uint64_t, uint32_t, uint32_t, uint64_t)>& fn) const;

  uint64_t BatEntry(uint64_t index);
  void SetBatEntry(uint64_t index, uint64_t entry);
  // The file offset of an allocated block, checked against the file's extent.
  uint64_t BlockOffset(uint64_t index, uint64_t entry, uint64_t size, const std::string& what) const;
  uint64_t Allocate(uint64_t size);
  // Before the first change: a new header (sequence + 1, new FileWriteGuid and
  // DataWriteGuid) written to the non-current slot (MS-VHDX 2.2.2.1).
  void BeginChange();

  void ReadBlock(uint64_t block, uint32_t in_block, uint32_t length, uint8_t* out);
  void WriteBlock(uint64_t block, uint32_t in_block, uint32_t length, const uint8_t* data);
  uint64_t SectorBitmapOffset(uint64_t block, bool allocate);
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
  std::vector<Span> spans_;  // filled by ScanBat
};

}  // namespace wcow::vhdx
