// The portable VHDX engine (MS-VHDX v1.0): create dynamic and differencing
// disks, inspect and validate them, grow them, read and write their virtual
// bytes. Synchronous and JavaScript-free; binding.cc runs each call on a
// worker thread. Every failure is a wcow::vhdx::Error (error.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vhdx/format.h"

namespace wcow::vhdx {

struct HeaderInfo {
  int slot = 0;  // 1 (at 64 KiB) or 2 (at 128 KiB), as MS-VHDX numbers them
  uint64_t offset = 0;
  bool signature_valid = false;
  bool checksum_valid = false;
  bool valid = false;
  bool current = false;
  std::string problem;  // why it is not valid
  uint64_t sequence_number = 0;
  Guid file_write_guid, data_write_guid, log_guid;
  uint16_t log_version = 0, version = 0;
  uint32_t log_length = 0;
  uint64_t log_offset = 0;
};

struct RegionEntry {
  Guid guid;
  uint64_t file_offset = 0;
  uint32_t length = 0;
  bool required = false;
};

struct RegionTableInfo {
  int slot = 0;
  uint64_t offset = 0;
  bool valid = false;
  std::string problem;
  std::vector<RegionEntry> entries;
};

struct MetadataItem {
  Guid item_id;
  uint32_t offset = 0;  // from the start of the metadata region
  uint32_t length = 0;
  bool is_user = false, is_virtual_disk = false, is_required = false;
};

struct ParentLocator {
  Guid locator_type;
  std::vector<std::pair<std::string, std::string>> entries;  // key -> value, in file order
  const std::string* Find(const std::string& key) const;
};

struct BatSummary {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t entries = 0;  // TotalBATEntries of the disk (not the region's capacity)
  uint64_t chunk_ratio = 0;
  uint64_t data_blocks = 0;
  uint64_t payload_by_state[8] = {};
  uint64_t bitmap_present = 0;
  uint64_t bitmap_not_present = 0;
};

struct Info {
  std::string path;
  uint64_t file_size = 0;
  std::string creator;
  Geometry geometry;
  bool leave_blocks_allocated = false;
  Guid page83;
  HeaderInfo headers[2];
  RegionTableInfo region_tables[2];
  uint64_t metadata_offset = 0;
  uint32_t metadata_length = 0;
  std::vector<MetadataItem> metadata_items;
  std::optional<ParentLocator> parent_locator;
  BatSummary bat;
  const HeaderInfo& Current() const { return headers[0].current ? headers[0] : headers[1]; }
};

// Where a differencing disk's parent is, as recorded in its parent locator.
// Empty strings are left out; at least one must be set.
struct LocatorPaths {
  std::string relative_path;
  std::string absolute_win32_path;
  std::string volume_path;
};

struct CreateOptions {
  uint64_t size_bytes = 0;
  uint32_t block_size = static_cast<uint32_t>(kMiB);
  uint32_t logical_sector = 512;
  uint32_t physical_sector = 4096;
  bool overwrite = false;
  bool flush = true;
};

struct DifferencingOptions {
  std::string parent_path;  // the parent as this process opens it
  LocatorPaths locator;     // the parent as the child records it
  uint32_t block_size = 0;  // 0: the parent's
  bool overwrite = false;
  bool flush = true;
};

void CreateDynamic(const std::string& path, const CreateOptions& options);
void CreateDifferencing(const std::string& path, const DifferencingOptions& options);
Info Inspect(const std::string& path);
void Expand(const std::string& path, uint64_t new_size);
std::vector<uint8_t> ReadVirtual(const std::string& path, uint64_t offset, uint64_t length);
void WriteVirtual(const std::string& path, uint64_t offset, const std::vector<uint8_t>& data);

}  // namespace wcow::vhdx
