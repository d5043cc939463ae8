// Encoding and decoding of the fixed VHDX structures: headers (MS-VHDX 2.2.2),
// region tables (2.2.3), the metadata table (2.6.1) and the parent locator
// (2.6.2.6). Pure functions over byte buffers; decoding reports problems as
// text and leaves the decision (use the other copy, or fail) to the caller.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "vhdx/vhdx.h"

namespace wcow::vhdx {

HeaderInfo DecodeHeader(const uint8_t* block, int slot);
// A 4 KiB header with its checksum.
std::vector<uint8_t> EncodeHeader(const HeaderInfo& header);

RegionTableInfo DecodeRegionTable(const uint8_t* table, int slot);
// The used prefix of a 64 KiB region table, its checksum computed over the
// whole table with the rest zero (a new file needs only the prefix written).
std::vector<uint8_t> EncodeRegionTable(const std::vector<RegionEntry>& entries);

// Parses the 64 KiB metadata table at the start of a metadata region of
// `region_length` bytes; returns "" or what is wrong.
std::string DecodeMetadataTable(const uint8_t* table, size_t region_length, std::vector<MetadataItem>* items);

constexpr uint32_t kMetadataIsUser = 1;
constexpr uint32_t kMetadataIsVirtualDisk = 2;
constexpr uint32_t kMetadataIsRequired = 4;

// Builds a metadata region: the table, then the items packed from 64 KiB on.
class MetadataBuilder {
 public:
  void Add(const Guid& id, uint32_t flags, std::vector<uint8_t> value);
  // The table's used prefix (the rest of its 64 KiB is zero).
  std::vector<uint8_t> Table() const;
  // The item values, to be written at kMetadataTableSize into the region.
  const std::vector<uint8_t>& Items() const { return items_; }

 private:
  std::vector<MetadataItem> entries_;
  std::vector<uint8_t> items_;
};

// Returns "" or what is wrong.
std::string DecodeParentLocator(const uint8_t* item, size_t length, ParentLocator* out);
std::vector<uint8_t> EncodeParentLocator(const ParentLocator& locator);

}  // namespace wcow::vhdx
