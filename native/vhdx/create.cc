// Creation of dynamic and differencing disks. The layout matches what
// Hyper-V and qemu-img write: header section, log at 1 MiB (empty: LogGuid
// zero), metadata at 2 MiB, BAT at 3 MiB. Only non-zero bytes are written;
// the rest of the file is a hole (an empty 20 GiB disk allocates ~28 KiB).
// The file is built under a temporary name and renamed into place, so a
// failed create leaves nothing behind.
#include <cstdio>

#include "vhdx/error.h"
#include "vhdx/image.h"
#include "vhdx/platform.h"
#include "vhdx/structures.h"
#include "vhdx/text.h"
#include "vhdx/vhdx.h"

namespace wcow::vhdx {

namespace {

constexpr char16_t kCreator[] = u"wcow-resources";

struct Layout {
  Geometry geometry;
  const ParentLocator* locator = nullptr;
};

std::vector<uint8_t> U32(uint32_t v) {
  std::vector<uint8_t> b(4);
  Put32(b.data(), v);
  return b;
}

std::vector<uint8_t> U64(uint64_t v) {
  std::vector<uint8_t> b(8);
  Put64(b.data(), v);
  return b;
}

void WriteLayout(File& f, const Layout& layout) {
  const Geometry& g = layout.geometry;
  std::string creator = Utf16LeBytes(kCreator);
  std::vector<uint8_t> id(8 + creator.size());
  std::memcpy(id.data(), "vhdxfile", 8);
  std::memcpy(id.data() + 8, creator.data(), creator.size());
  // Sized first, then written inside: no write extends the file. The BAT
  // stays a hole (every entry NOT_PRESENT, 0).
  f.SetSize(kBatOffset + g.BatBytes());
  f.WriteAt(0, id.data(), id.size());

  // Two valid headers (sequence 0 and 1, else identical): tools that reject any
  // header CRC error (7-Zip) read both.
  HeaderInfo h;
  h.file_write_guid = Guid::Random();
  h.data_write_guid = Guid::Random();
  h.version = 1;
  h.log_length = kLogLength;
  h.log_offset = kLogOffset;
  for (int s = 0; s < 2; ++s) {
    h.sequence_number = static_cast<uint64_t>(s);
    std::vector<uint8_t> header = EncodeHeader(h);
    f.WriteAt(kHeaderOffsets[s], header.data(), header.size());
  }

  std::vector<RegionEntry> regions = {
      {kBatRegion, kBatOffset, static_cast<uint32_t>(g.BatBytes()), true},
      {kMetadataRegion, kMetadataOffset, kMetadataLength, true},
  };
  std::vector<uint8_t> table = EncodeRegionTable(regions);
  for (uint64_t offset : kRegionTableOffsets) f.WriteAt(offset, table.data(), table.size());

  MetadataBuilder md;
  std::vector<uint8_t> params(8, 0);
  Put32(params.data(), g.block_size);
  Put32(params.data() + 4, g.has_parent ? 2u : 0u);  // LeaveBlocksAllocated 0, HasParent
  md.Add(kFileParametersItem, kMetadataIsRequired, params);
  md.Add(kVirtualDiskSizeItem, kMetadataIsVirtualDisk | kMetadataIsRequired, U64(g.virtual_size));
  Guid page83 = Guid::Random();
  md.Add(kPage83Item, kMetadataIsVirtualDisk | kMetadataIsRequired,
         std::vector<uint8_t>(page83.bytes.begin(), page83.bytes.end()));
  md.Add(kLogicalSectorSizeItem, kMetadataIsVirtualDisk | kMetadataIsRequired, U32(g.logical_sector));
  md.Add(kPhysicalSectorSizeItem, kMetadataIsVirtualDisk | kMetadataIsRequired, U32(g.physical_sector));
  if (layout.locator != nullptr) md.Add(kParentLocatorItem, kMetadataIsRequired, EncodeParentLocator(*layout.locator));
  if (md.Items().size() > kMetadataLength - kMetadataTableSize) ThrowInvalid("parent locator paths are too long");
  std::vector<uint8_t> md_table = md.Table();
  f.WriteAt(kMetadataOffset, md_table.data(), md_table.size());
  f.WriteAt(kMetadataOffset + kMetadataTableSize, md.Items().data(), md.Items().size());
}

std::string TemporaryName(const std::string& path) {
  uint8_t r[6];
  RandomBytes(r, sizeof r);
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
  return path + ".tmp-" + suffix;
}

void CreateAtomically(const std::string& path, const Layout& layout, bool overwrite, bool flush) {
  std::string problem = GeometryProblem(layout.geometry);
  if (!problem.empty()) ThrowInvalid("invalid VHDX geometry: " + problem, path);
  // No existence check first: the final link() (or rename) decides atomically,
  // and the common case pays no extra system call.
  std::string temporary = TemporaryName(path);
  try {
    {
      File f(temporary, File::Mode::kCreateNew);
      f.MakeSparse();
      WriteLayout(f, layout);
      if (flush) f.Flush();
    }  // closed before the rename (Windows cannot rename an open file)
    RenameFile(temporary, path, overwrite);
  } catch (const Error& e) {
    RemoveFileQuietly(temporary);
    // Report the path the caller asked for, not our temporary name.
    if (e.code() == ErrorCode::kIo) throw Error(ErrorCode::kIo, e.what(), path, e.errno_name());
    throw;
  } catch (...) {
    RemoveFileQuietly(temporary);
    throw;
  }
  if (flush) FlushDirectoryOf(path);
}

}  // namespace

void CreateDynamic(const std::string& path, const CreateOptions& o) {
  Layout layout;
  layout.geometry = {o.size_bytes, o.block_size, o.logical_sector, o.physical_sector, false};
  CreateAtomically(path, layout, o.overwrite, o.flush);
}

void CreateDifferencing(const std::string& path, const DifferencingOptions& o) {
  const LocatorPaths& paths = o.locator;
  if (paths.relative_path.empty() && paths.absolute_win32_path.empty() && paths.volume_path.empty()) {
    ThrowInvalid("a differencing disk needs relativePath, absoluteWin32Path or volumePath for its parent", path);
  }
  Image parent(o.parent_path, Image::Access::kRead);
  const Info& p = parent.info();
  if (!p.Current().log_guid.IsZero()) {
    ThrowCorrupt(o.parent_path, "the log holds entries to replay; log replay is not supported");
  }
  Layout layout;
  layout.geometry = p.geometry;
  layout.geometry.has_parent = true;
  if (o.block_size != 0) layout.geometry.block_size = o.block_size;
  // MS-VHDX 2.6.2.6.1: parent_linkage is the parent's DataWriteGuid in braces.
  ParentLocator locator;
  locator.locator_type = kVhdxParentLocatorType;
  locator.entries.emplace_back("parent_linkage", "{" + p.Current().data_write_guid.ToString() + "}");
  if (!paths.relative_path.empty()) locator.entries.emplace_back("relative_path", paths.relative_path);
  if (!paths.volume_path.empty()) locator.entries.emplace_back("volume_path", paths.volume_path);
  if (!paths.absolute_win32_path.empty()) locator.entries.emplace_back("absolute_win32_path", paths.absolute_win32_path);
  layout.locator = &locator;
  CreateAtomically(path, layout, o.overwrite, o.flush);
}

}  // namespace wcow::vhdx
