#include "vhdx/image.h"

#include <algorithm>
#include <functional>

#include "vhdx/error.h"
#include "vhdx/structures.h"
#include "vhdx/text.h"

namespace wcow::vhdx {

namespace {

constexpr int kMaxChainDepth = 64;
constexpr uint64_t kBatPageEntries = 512;  // BAT entries read per 4 KiB page
constexpr uint64_t kMaxIoLength = uint64_t{1} << 30;

std::string N(uint64_t v) { return std::to_string(v); }

std::string At(uint64_t offset, uint64_t length) { return "at " + N(offset) + " (+" + N(length) + ")"; }

bool IsKnownItem(const Guid& id) {
  for (const Guid* g : {&kFileParametersItem, &kVirtualDiskSizeItem, &kPage83Item, &kLogicalSectorSizeItem,
                        &kPhysicalSectorSizeItem, &kParentLocatorItem}) {
    if (id == *g) return true;
  }
  return false;
}

// The directory part of a path, with its separator.
std::string DirectoryOf(const std::string& path) {
#ifdef _WIN32
  size_t cut = path.find_last_of("/\\");
#else
  size_t cut = path.find_last_of('/');
#endif
  return cut == std::string::npos ? std::string() : path.substr(0, cut + 1);
}

// A locator's relative_path (Windows separators, maybe a leading `.\`) as a
// path this process can open, relative to the child's directory.
std::string ResolveRelative(const std::string& child, std::string relative) {
#ifndef _WIN32
  std::replace(relative.begin(), relative.end(), '\\', '/');
  if (!relative.empty() && relative[0] == '/') return relative;
#endif
  if (relative.size() > 2 && relative[0] == '.' && (relative[1] == '/' || relative[1] == '\\')) relative.erase(0, 2);
  return DirectoryOf(child) + relative;
}

}  // namespace

Image::Image(const std::string& path, Access access, int chain_depth)
    : path_(path),
      file_(path, access == Access::kRead ? File::Mode::kRead : File::Mode::kReadWrite),
      chain_depth_(chain_depth) {
  info_.path = path;
  info_.file_size = file_.Size();
  uint8_t id[8 + kCreatorBytes] = {};
  size_t got = file_.ReadAt(0, id, sizeof id);
  if (got < 8 || std::memcmp(id, "vhdxfile", 8) != 0) Corrupt("no 'vhdxfile' identifier at offset 0: not a VHDX file");
  std::u16string creator = FromUtf16Le(id + 8, got - 8);
  info_.creator = Utf16ToUtf8(creator.substr(0, creator.find(u'\0')));
  if (info_.file_size < kHeaderSectionSize) {
    Corrupt("truncated file: " + N(info_.file_size) + " bytes, shorter than the 1 MiB header section");
  }
  LoadHeaders();
  LoadRegionTables();
  LoadMetadata();
}

void Image::Corrupt(const std::string& what) const { ThrowCorrupt(path_, what); }

void Image::ReadExact(uint64_t offset, uint8_t* out, size_t length, const char* what) const {
  if (file_.ReadAt(offset, out, length) != length) {
    Corrupt("truncated file: " + std::string(what) + " " + At(offset, length) + " lies beyond the end of the file (" +
            N(file_.Size()) + " bytes)");
  }
}

void Image::LoadHeaders() {
  std::vector<uint8_t> raw[2];
  for (int s = 0; s < 2; ++s) {
    raw[s].resize(kHeaderSize);
    ReadExact(kHeaderOffsets[s], raw[s].data(), kHeaderSize, "header");
    info_.headers[s] = DecodeHeader(raw[s].data(), s + 1);
  }
  const HeaderInfo& a = info_.headers[0];
  const HeaderInfo& b = info_.headers[1];
  if (!a.valid && !b.valid) Corrupt("no valid header: header 1 " + a.problem + "; header 2 " + b.problem);
  if (a.valid && b.valid) {
    // Equal sequence numbers make neither current (MS-VHDX 2.2.2.1); like qemu we
    // accept byte-identical copies, which some Microsoft tools write.
    if (a.sequence_number == b.sequence_number && raw[0] != raw[1]) {
      Corrupt("headers 1 and 2 differ but have the same sequence number " + N(a.sequence_number));
    }
    current_ = b.sequence_number > a.sequence_number ? 1 : 0;
  } else {
    current_ = a.valid ? 0 : 1;
  }
  info_.headers[current_].current = true;
  const HeaderInfo& h = info_.headers[current_];
  if (h.log_offset + h.log_length > info_.file_size) {
    Corrupt("truncated file: log " + At(h.log_offset, h.log_length) + " ends beyond the end of the file (" +
            N(info_.file_size) + " bytes)");
  }
}

void Image::LoadRegionTables() {
  std::vector<uint8_t> raw(kRegionTableSize);
  std::string problems;
  for (int s = 0; s < 2; ++s) {
    ReadExact(kRegionTableOffsets[s], raw.data(), raw.size(), "region table");
    info_.region_tables[s] = DecodeRegionTable(raw.data(), s + 1);
    if (!info_.region_tables[s].valid) {
      problems += (problems.empty() ? "" : "; ") + std::string("region table ") + N(s + 1) + " " +
                  info_.region_tables[s].problem;
    }
  }
  // Unlike a header, a region table is never rewritten in normal operation, so
  // one bad copy is damage, not an interrupted update: fail, as qemu does.
  if (!problems.empty()) Corrupt(problems);
  const auto& entries = info_.region_tables[0].entries;
  const auto& other = info_.region_tables[1].entries;
  bool same = entries.size() == other.size();
  for (size_t i = 0; same && i < entries.size(); ++i) {
    same = entries[i].guid == other[i].guid && entries[i].file_offset == other[i].file_offset &&
           entries[i].length == other[i].length && entries[i].required == other[i].required;
  }
  if (!same) Corrupt("region tables 1 and 2 differ");
  for (const RegionEntry& r : entries) {
    bool known = r.guid == kBatRegion || r.guid == kMetadataRegion;
    if (!known && r.required) Corrupt("unknown required region {" + r.guid.ToString() + "}");
    if (r.file_offset + r.length > info_.file_size) {
      Corrupt("truncated file: region {" + r.guid.ToString() + "} " + At(r.file_offset, r.length) +
              " ends beyond the end of the file (" + N(info_.file_size) + " bytes)");
    }
  }
  const RegionEntry& bat = Region(kBatRegion);
  const RegionEntry& md = Region(kMetadataRegion);
  info_.bat.offset = bat.file_offset;
  info_.bat.length = bat.length;
  info_.metadata_offset = md.file_offset;
  info_.metadata_length = md.length;
  std::vector<Span> fixed = FixedSpans();
  std::sort(fixed.begin(), fixed.end(), [](const Span& x, const Span& y) { return x.offset < y.offset; });
  for (size_t i = 1; i < fixed.size(); ++i) {
    if (fixed[i - 1].offset + fixed[i - 1].length > fixed[i].offset) {
      Corrupt(Describe(fixed[i - 1]) + " overlaps " + Describe(fixed[i]));
    }
  }
}

const RegionEntry& Image::Region(const Guid& guid) const {
  for (const RegionEntry& r : info_.region_tables[0].entries) {
    if (r.guid == guid) return r;
  }
  Corrupt(std::string("region table has no ") + (guid == kBatRegion ? "BAT" : "metadata") + " region");
}

std::vector<Image::Span> Image::FixedSpans() const {
  const HeaderInfo& h = info_.Current();
  return {{0, kHeaderSectionSize, -1},
          {h.log_offset, h.log_length, -2},
          {info_.metadata_offset, info_.metadata_length, -3},
          {info_.bat.offset, info_.bat.length, -4}};
}

std::string Image::Describe(const Span& s) const {
  static const char* const kFixed[] = {"the header section", "the log", "the metadata region", "the BAT region"};
  if (s.index < 0) return std::string(kFixed[-s.index - 1]) + " " + At(s.offset, s.length);
  uint64_t i = static_cast<uint64_t>(s.index);
  const Geometry& g = info_.geometry;
  std::string what = g.IsBitmapIndex(i) ? "sector bitmap block " + N(i / (g.ChunkRatio() + 1))
                                        : "payload block " + N(i - i / (g.ChunkRatio() + 1));
  return "BAT entry " + N(i) + " (" + what + ") " + At(s.offset, s.length);
}

const MetadataItem* Image::Item(const Guid& id) const {
  for (const MetadataItem& m : info_.metadata_items) {
    if (m.item_id == id) return &m;
  }
  return nullptr;
}

std::vector<uint8_t> Image::ItemValue(const std::vector<uint8_t>& region, const Guid& id, uint32_t length,
                                      const char* name) const {
  const MetadataItem* m = Item(id);
  if (m == nullptr) Corrupt(std::string("metadata item ") + name + " is missing");
  if (m->length < length) Corrupt(std::string("metadata item ") + name + " is " + N(m->length) + " bytes, expected " + N(length));
  return std::vector<uint8_t>(region.begin() + m->offset, region.begin() + m->offset + m->length);
}

void Image::LoadMetadata() {
  std::vector<uint8_t> region(info_.metadata_length);
  if (region.size() < kMetadataTableSize) Corrupt("metadata region is smaller than its 64 KiB table");
  ReadExact(info_.metadata_offset, region.data(), region.size(), "metadata region");
  std::string problem = DecodeMetadataTable(region.data(), region.size(), &info_.metadata_items);
  if (!problem.empty()) Corrupt(problem);
  for (const MetadataItem& m : info_.metadata_items) {
    if (m.is_required && !IsKnownItem(m.item_id)) Corrupt("unknown required metadata item {" + m.item_id.ToString() + "}");
  }
  std::vector<uint8_t> params = ItemValue(region, kFileParametersItem, 8, "File Parameters");
  Geometry& g = info_.geometry;
  g.block_size = Get32(params.data());
  info_.leave_blocks_allocated = params[4] & 1;
  g.has_parent = (params[4] & 2) != 0;
  g.virtual_size = Get64(ItemValue(region, kVirtualDiskSizeItem, 8, "Virtual Disk Size").data());
  g.logical_sector = Get32(ItemValue(region, kLogicalSectorSizeItem, 4, "Logical Sector Size").data());
  g.physical_sector = Get32(ItemValue(region, kPhysicalSectorSizeItem, 4, "Physical Sector Size").data());
  info_.page83 = GetGuid(ItemValue(region, kPage83Item, 16, "Page 83 Data").data());
  problem = GeometryProblem(g);
  if (!problem.empty()) Corrupt("metadata: " + problem);
  if (g.has_parent) {
    const MetadataItem* m = Item(kParentLocatorItem);
    if (m == nullptr) Corrupt("HasParent is set but the Parent Locator metadata item is missing");
    ParentLocator locator;
    problem = DecodeParentLocator(region.data() + m->offset, m->length, &locator);
    if (!problem.empty()) Corrupt(problem);
    if (locator.locator_type != kVhdxParentLocatorType) {
      Corrupt("unknown parent locator type {" + locator.locator_type.ToString() + "}");
    }
    const std::string* linkage = locator.Find("parent_linkage");
    Guid parsed;
    if (linkage == nullptr || !Guid::Parse(*linkage, &parsed)) Corrupt("parent locator has no valid parent_linkage");
    if (!locator.Find("relative_path") && !locator.Find("absolute_win32_path") && !locator.Find("volume_path")) {
      Corrupt("parent locator has no relative_path, absolute_win32_path or volume_path");
    }
    info_.parent_locator = std::move(locator);
  }
  BatSummary& bat = info_.bat;
  bat.entries = g.TotalBatEntries();
  bat.chunk_ratio = g.ChunkRatio();
  bat.data_blocks = g.DataBlocks();
  if (bat.length / 8 < bat.entries) {
    Corrupt("BAT out of range: the BAT region holds " + N(bat.length / 8) + " entries, the disk needs " + N(bat.entries));
  }
}

void Image::RequireNoPendingLog() const {
  const Guid& log = info_.Current().log_guid;
  if (!log.IsZero()) {
    Corrupt("the log holds entries to replay (LogGuid {" + log.ToString() + "}); log replay is not supported");
  }
}

void Image::ScanBat() {
  const Geometry& g = info_.geometry;
  BatSummary& bat = info_.bat;
  uint64_t cr = g.ChunkRatio();
  spans_ = FixedSpans();
  std::vector<uint64_t> partial_chunks;  // chunks with a PARTIALLY_PRESENT block
  std::vector<uint8_t> chunk(kMiB);
  for (uint64_t first = 0; first < bat.entries; first += kMiB / 8) {
    uint64_t count = std::min<uint64_t>(kMiB / 8, bat.entries - first);
    ReadExact(bat.offset + first * 8, chunk.data(), count * 8, "BAT");
    for (uint64_t k = 0; k < count; ++k) {
      uint64_t i = first + k;
      uint64_t e = Get64(&chunk[k * 8]);
      uint64_t state = e & kBatStateMask;
      Span span{0, 0, static_cast<int64_t>(i)};
      if (g.IsBitmapIndex(i)) {
        if (state == kNotPresent) {
          ++bat.bitmap_not_present;
        } else if (state == kSectorBitmapPresent) {
          ++bat.bitmap_present;
          span.length = kSectorBitmapBlockSize;
        } else {
          Corrupt("BAT entry " + N(i) + " (sector bitmap block " + N(i / (cr + 1)) + ") has invalid state " + N(state));
        }
      } else {
        switch (state) {
          case kNotPresent:
          case kUndefined:
          case kZero:
          case kUnmapped:
            break;
          case kPartiallyPresent:
            if (!g.has_parent) {
              Corrupt("BAT entry " + N(i) + " is PARTIALLY_PRESENT in a disk without a parent");
            }
            partial_chunks.push_back(i / (cr + 1));
            span.length = g.block_size;
            break;
          case kFullyPresent:
            span.length = g.block_size;
            break;
          default:
            Corrupt("BAT entry " + N(i) + " (payload block " + N(i - i / (cr + 1)) + ") has invalid state " + N(state));
        }
        // A differencing BAT covers whole chunks: entries past the last block are not counted.
        if (i - i / (cr + 1) < bat.data_blocks) ++bat.payload_by_state[state];
      }
      if (span.length != 0) {
        span.offset = e & kBatOffsetMask;
        BlockOffset(i, e, span.length, Describe(span));
        spans_.push_back(span);
      }
    }
  }
  for (uint64_t c : partial_chunks) {
    if ((BatEntry(g.BitmapIndex(c)) & kBatStateMask) != kSectorBitmapPresent) {
      Corrupt("chunk " + N(c) + " has PARTIALLY_PRESENT blocks but no sector bitmap block");
    }
  }
  std::sort(spans_.begin(), spans_.end(), [](const Span& x, const Span& y) { return x.offset < y.offset; });
  for (size_t i = 1; i < spans_.size(); ++i) {
    if (spans_[i - 1].offset + spans_[i - 1].length > spans_[i].offset) {
      Corrupt(Describe(spans_[i - 1]) + " overlaps " + Describe(spans_[i]));
    }
  }
}

uint64_t Image::BatEntry(uint64_t index) {
  auto it = bat_cache_.find(index);
  if (it != bat_cache_.end()) return it->second;
  uint64_t first = index - index % kBatPageEntries;
  uint64_t count = std::min(kBatPageEntries, info_.bat.entries - first);
  uint8_t page[kBatPageEntries * 8];
  ReadExact(info_.bat.offset + first * 8, page, count * 8, "BAT");
  for (uint64_t k = 0; k < count; ++k) bat_cache_[first + k] = Get64(page + 8 * k);
  return bat_cache_[index];
}

void Image::SetBatEntry(uint64_t index, uint64_t entry) {
  uint8_t raw[8];
  Put64(raw, entry);
  file_.WriteAt(info_.bat.offset + index * 8, raw, 8);
  bat_cache_[index] = entry;
}

uint64_t Image::BlockOffset(uint64_t index, uint64_t entry, uint64_t size, const std::string& what) const {
  uint64_t offset = entry & kBatOffsetMask;
  if (offset < kHeaderSectionSize) Corrupt(what + " points into the header section (BAT entry " + N(index) + ")");
  if (offset + size > info_.file_size) {
    Corrupt("truncated file: " + what + " lies beyond the end of the file (" + N(info_.file_size) + " bytes)");
  }
  return offset;
}

uint64_t Image::Allocate(uint64_t size) {
  // New blocks go to the 1 MiB-aligned end of the file; growing the file
  // leaves them zero without writing a byte (MS-VHDX 2.5: blocks are 1 MiB aligned).
  if (alloc_end_ == 0) alloc_end_ = RoundUp(info_.file_size, kMiB);
  uint64_t offset = alloc_end_;
  alloc_end_ += size;
  file_.SetSize(alloc_end_);
  info_.file_size = alloc_end_;
  return offset;
}

void Image::BeginChange() {
  if (changed_) return;
  RequireNoPendingLog();
  HeaderInfo next = info_.headers[current_];
  next.sequence_number += 1;
  next.file_write_guid = Guid::Random();
  // We change what the disk reads back: children linked to the old
  // DataWriteGuid must stop matching (MS-VHDX 2.2.2).
  next.data_write_guid = Guid::Random();
  int other = 1 - current_;
  std::vector<uint8_t> encoded = EncodeHeader(next);
  file_.WriteAt(kHeaderOffsets[other], encoded.data(), encoded.size());
  file_.Flush();
  info_.headers[current_].current = false;
  info_.headers[other] = DecodeHeader(encoded.data(), other + 1);
  info_.headers[other].current = true;
  current_ = other;
  changed_ = true;
}

Image& Image::Parent() {
  if (parent_) return *parent_;
  if (chain_depth_ >= kMaxChainDepth) Corrupt("the parent chain is deeper than 64 disks (a loop?)");
  const ParentLocator& locator = *info_.parent_locator;
  std::vector<std::string> candidates;
  if (const std::string* rel = locator.Find("relative_path")) candidates.push_back(ResolveRelative(path_, *rel));
#ifdef _WIN32
  for (const char* key : {"absolute_win32_path", "volume_path"}) {
    if (const std::string* p = locator.Find(key)) candidates.push_back(*p);
  }
#endif
  std::string tried;
  for (const std::string& c : candidates) {
    if (PathExists(c)) {
      parent_ = std::make_unique<Image>(c, Access::kRead, chain_depth_ + 1);
      break;
    }
    tried += (tried.empty() ? "'" : ", '") + c + "'";
  }
  if (!parent_) {
    throw Error(ErrorCode::kIo, "ENOENT: parent of '" + path_ + "' not found (tried " + (tried.empty() ? "nothing" : tried) + ")",
                path_, "ENOENT");
  }
  Guid linkage;
  Guid::Parse(*locator.Find("parent_linkage"), &linkage);
  const Info& p = parent_->info();
  if (p.Current().data_write_guid != linkage) {
    Corrupt("parent linkage mismatch: the child expects DataWriteGuid {" + linkage.ToString() + "}, '" + p.path +
            "' has {" + p.Current().data_write_guid.ToString() + "}");
  }
  if (p.geometry.virtual_size != info_.geometry.virtual_size || p.geometry.logical_sector != info_.geometry.logical_sector) {
    Corrupt("parent '" + p.path + "' has a different virtual size or logical sector size");
  }
  return *parent_;
}

uint64_t Image::SectorBitmapOffset(uint64_t block, bool allocate) {
  const Geometry& g = info_.geometry;
  uint64_t chunk = block / g.ChunkRatio();
  uint64_t index = g.BitmapIndex(chunk);
  uint64_t e = BatEntry(index);
  uint64_t state = e & kBatStateMask;
  std::string what = "sector bitmap block " + N(chunk);
  if (state == kSectorBitmapPresent) return BlockOffset(index, e, kSectorBitmapBlockSize, what);
  if (state != kNotPresent) Corrupt("BAT entry " + N(index) + " (" + what + ") has invalid state " + N(state));
  if (!allocate) Corrupt("payload block " + N(block) + " is PARTIALLY_PRESENT but " + what + " is not present");
  uint64_t offset = Allocate(kSectorBitmapBlockSize);
  SetBatEntry(index, offset | kSectorBitmapPresent);
  return offset;
}

void Image::Read(uint64_t offset, uint8_t* out, uint64_t length) {
  RequireNoPendingLog();
  CheckRange("read", offset, length);
  ForEachBlock(offset, length, [&](uint64_t block, uint32_t in_block, uint32_t n, uint64_t done) {
    ReadBlock(block, in_block, n, out + done);
  });
}

void Image::CheckRange(const char* op, uint64_t offset, uint64_t length) const {
  uint64_t size = info_.geometry.virtual_size;
  if (offset > size || length > size - offset) {
    ThrowInvalid(std::string(op) + " of " + N(length) + " bytes at " + N(offset) +
                 " runs past the end of the virtual disk (" + N(size) + " bytes)", path_);
  }
}

void Image::ForEachBlock(uint64_t offset, uint64_t length,
                         const std::function<void(uint64_t, uint32_t, uint32_t, uint64_t)>& fn) const {
  uint32_t bs = info_.geometry.block_size;
  for (uint64_t done = 0; done < length;) {
    uint64_t at = offset + done;
    uint32_t in_block = static_cast<uint32_t>(at % bs);
    uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(length - done, bs - in_block));
    fn(at / bs, in_block, n, done);
    done += n;
  }
}

void Image::ReadBlock(uint64_t block, uint32_t in_block, uint32_t length, uint8_t* out) {
  const Geometry& g = info_.geometry;
  uint64_t index = g.PayloadIndex(block);
  uint64_t e = BatEntry(index);
  uint64_t state = e & kBatStateMask;
  std::string what = "payload block " + N(block);
  switch (state) {
    case kFullyPresent:
      ReadExact(BlockOffset(index, e, g.block_size, what) + in_block, out, length, "payload block");
      return;
    case kNotPresent:
      if (g.has_parent) Parent().Read(block * g.block_size + in_block, out, length);
      else std::memset(out, 0, length);
      return;
    case kZero:
    case kUndefined:
    case kUnmapped:
      std::memset(out, 0, length);
      return;
    case kPartiallyPresent:
      break;
    default:
      Corrupt("BAT entry " + N(index) + " (" + what + ") has invalid state " + N(state));
  }
  if (!g.has_parent) Corrupt("BAT entry " + N(index) + " is PARTIALLY_PRESENT in a disk without a parent");
  uint64_t data = BlockOffset(index, e, g.block_size, what);
  uint64_t bitmap = SectorBitmapOffset(block, false);
  // Sector bits (LSB first, MS-VHDX 2.5.1.3) of the sectors this read touches.
  uint32_t ls = g.logical_sector;
  uint64_t s0 = in_block / ls, s1 = (uint64_t{in_block} + length + ls - 1) / ls;
  uint64_t first_bit = (block % g.ChunkRatio()) * g.SectorsPerBlock() + s0;
  uint64_t first_byte = first_bit / 8, end_byte = (first_bit + (s1 - s0) + 7) / 8;
  std::vector<uint8_t> bits(end_byte - first_byte);
  ReadExact(bitmap + first_byte, bits.data(), bits.size(), "sector bitmap");
  auto present = [&](uint64_t s) {
    uint64_t bit = first_bit + (s - s0) - first_byte * 8;
    return (bits[bit / 8] >> (bit % 8)) & 1;
  };
  for (uint64_t s = s0; s < s1;) {
    uint64_t t = s + 1;
    while (t < s1 && present(t) == present(s)) ++t;
    uint64_t lo = std::max<uint64_t>(s * ls, in_block), hi = std::min<uint64_t>(t * ls, uint64_t{in_block} + length);
    uint8_t* dst = out + (lo - in_block);
    if (present(s)) ReadExact(data + lo, dst, hi - lo, "payload block");
    else Parent().Read(block * g.block_size + lo, dst, hi - lo);
    s = t;
  }
}

void Image::Write(uint64_t offset, const uint8_t* data, uint64_t length) {
  RequireNoPendingLog();
  CheckRange("write", offset, length);
  if (length == 0) return;
  const Geometry& g = info_.geometry;
  BeginChange();
  std::vector<uint8_t> aligned;
  uint32_t ls = g.logical_sector;
  if (g.has_parent && (offset % ls != 0 || (offset + length) % ls != 0)) {
    // The sector bitmap marks whole sectors: complete the partial edge sectors
    // with what the disk reads there now (which may come from the parent).
    uint64_t a0 = offset - offset % ls, a1 = RoundUp(offset + length, ls);
    aligned.resize(a1 - a0);
    Read(a0, aligned.data(), ls);
    Read(a1 - ls, aligned.data() + (a1 - ls - a0), ls);
    std::memcpy(aligned.data() + (offset - a0), data, length);
    offset = a0;
    data = aligned.data();
    length = aligned.size();
  }
  ForEachBlock(offset, length, [&](uint64_t block, uint32_t in_block, uint32_t n, uint64_t done) {
    WriteBlock(block, in_block, n, data + done);
  });
}

void Image::WriteBlock(uint64_t block, uint32_t in_block, uint32_t length, const uint8_t* data) {
  const Geometry& g = info_.geometry;
  uint64_t index = g.PayloadIndex(block);
  uint64_t e = BatEntry(index);
  uint64_t state = e & kBatStateMask;
  std::string what = "payload block " + N(block);
  uint64_t s0 = in_block / g.logical_sector, s1 = (uint64_t{in_block} + length) / g.logical_sector;
  switch (state) {
    case kFullyPresent:
      file_.WriteAt(BlockOffset(index, e, g.block_size, what) + in_block, data, length);
      return;
    case kPartiallyPresent:
      if (!g.has_parent) Corrupt("BAT entry " + N(index) + " is PARTIALLY_PRESENT in a disk without a parent");
      file_.WriteAt(BlockOffset(index, e, g.block_size, what) + in_block, data, length);
      SetSectorBits(block, s0, s1, false);
      return;
    case kNotPresent:
    case kZero:
    case kUndefined:
    case kUnmapped:
      break;
    default:
      Corrupt("BAT entry " + N(index) + " (" + what + ") has invalid state " + N(state));
  }
  // Order: data, then sector bits, then the BAT entry, so that a crash leaves
  // the block unreferenced rather than referenced and unwritten.
  uint64_t offset = Allocate(g.block_size);
  file_.WriteAt(offset + in_block, data, length);
  bool from_parent = g.has_parent && state == kNotPresent;
  if (from_parent && length < g.block_size) {
    SetSectorBits(block, s0, s1, true);
    SetBatEntry(index, offset | kPartiallyPresent);
  } else {
    // The rest of the new block is zero, which is what the block read before.
    SetBatEntry(index, offset | kFullyPresent);
  }
}

void Image::SetSectorBits(uint64_t block, uint64_t s0, uint64_t s1, bool fresh) {
  const Geometry& g = info_.geometry;
  uint64_t bitmap = SectorBitmapOffset(block, true);
  uint64_t block_bit = (block % g.ChunkRatio()) * g.SectorsPerBlock();
  // A freshly allocated block: its whole bit range is rewritten (stale bits
  // from an earlier life of this block would otherwise show through).
  uint64_t first_byte = fresh ? block_bit / 8 : (block_bit + s0) / 8;
  uint64_t end_byte = fresh ? (block_bit + g.SectorsPerBlock()) / 8 : (block_bit + s1 + 7) / 8;
  std::vector<uint8_t> bits(end_byte - first_byte, 0);
  if (!fresh) ReadExact(bitmap + first_byte, bits.data(), bits.size(), "sector bitmap");
  for (uint64_t s = s0; s < s1; ++s) {
    uint64_t bit = block_bit + s - first_byte * 8;
    bits[bit / 8] = static_cast<uint8_t>(bits[bit / 8] | (1u << (bit % 8)));
  }
  file_.WriteAt(bitmap + first_byte, bits.data(), bits.size());
}

void Image::ZeroIfNonzero(uint64_t offset, uint64_t length) {
  std::vector<uint8_t> chunk;
  uint64_t end = std::min(offset + length, info_.file_size);  // past the end reads zero already
  for (uint64_t at = offset; at < end; at += kMiB) {
    chunk.assign(std::min(kMiB, end - at), 0);
    file_.ReadAt(at, chunk.data(), chunk.size());
    if (std::any_of(chunk.begin(), chunk.end(), [](uint8_t b) { return b != 0; })) {
      std::fill(chunk.begin(), chunk.end(), 0);
      file_.WriteAt(at, chunk.data(), chunk.size());
    }
  }
}

void Image::Expand(uint64_t new_size) {
  RequireNoPendingLog();
  const Geometry old = info_.geometry;
  if (old.has_parent) ThrowInvalid("cannot expand differencing disk '" + path_ + "': its size is its parent's", path_);
  if (new_size < old.virtual_size) {
    ThrowInvalid("cannot shrink '" + path_ + "' from " + N(old.virtual_size) + " to " + N(new_size) +
                 " bytes: a VHDX only grows", path_);
  }
  Geometry next = old;
  next.virtual_size = new_size;
  std::string problem = GeometryProblem(next);
  if (!problem.empty()) ThrowInvalid("invalid new size: " + problem, path_);
  if (new_size == old.virtual_size) return;
  ScanBat();
  BeginChange();
  uint64_t old_entries = old.TotalBatEntries(), new_entries = next.TotalBatEntries();
  RegionEntry bat = Region(kBatRegion);
  if (bat.length < new_entries * 8) {
    // Grow the BAT region where it is if nothing follows it, else move it to
    // the end of the file. Block indices do not depend on the disk size
    // (MS-VHDX 2.5), so the old entries are copied unchanged.
    uint64_t need = next.BatBytes();
    uint64_t grown_end = bat.file_offset + need, end = info_.file_size;
    bool fits = true;
    for (const Span& s : spans_) {
      if (s.index == -4) continue;  // the BAT itself
      end = std::max(end, s.offset + s.length);
      if (s.offset < grown_end && s.offset + s.length > bat.file_offset) fits = false;
    }
    uint64_t target = fits ? bat.file_offset : RoundUp(end, kMiB);
    if (!fits) {
      std::vector<uint8_t> chunk;
      for (uint64_t at = 0; at < old_entries * 8; at += kMiB) {
        chunk.resize(std::min(kMiB, old_entries * 8 - at));
        ReadExact(bat.file_offset + at, chunk.data(), chunk.size(), "BAT");
        file_.WriteAt(target + at, chunk.data(), chunk.size());
      }
    }
    if (target + need > info_.file_size) {
      file_.SetSize(target + need);
      info_.file_size = target + need;
      alloc_end_ = 0;
    }
    bat.file_offset = target;
    bat.length = static_cast<uint32_t>(need);
    std::vector<RegionEntry> entries = info_.region_tables[0].entries;
    for (RegionEntry& r : entries) {
      if (r.guid == kBatRegion) r = bat;
    }
    std::vector<uint8_t> table = EncodeRegionTable(entries);
    table.resize(kRegionTableSize);  // the whole table: clears what the old one left
    for (int s = 0; s < 2; ++s) {
      file_.WriteAt(kRegionTableOffsets[s], table.data(), table.size());
      info_.region_tables[s].entries = entries;
    }
    info_.bat.offset = bat.file_offset;
    info_.bat.length = bat.length;
    bat_cache_.clear();
  }
  // Bytes past a BAT's last entry are undefined (MS-VHDX 2.5); the new entries must read NOT_PRESENT.
  ZeroIfNonzero(bat.file_offset + old_entries * 8, (new_entries - old_entries) * 8);
  uint8_t size[8];
  Put64(size, new_size);
  file_.WriteAt(info_.metadata_offset + Item(kVirtualDiskSizeItem)->offset, size, 8);
  info_.geometry = next;
  info_.bat.entries = new_entries;
  info_.bat.data_blocks = next.DataBlocks();
}

Info Inspect(const std::string& path) {
  Image image(path, Image::Access::kRead);
  image.ScanBat();
  return image.info();
}

void Expand(const std::string& path, uint64_t new_size) {
  Image image(path, Image::Access::kReadWrite);
  image.Expand(new_size);
  image.Flush();
}

std::vector<uint8_t> ReadVirtual(const std::string& path, uint64_t offset, uint64_t length) {
  if (length > kMaxIoLength) ThrowInvalid("a read is limited to 1 GiB, got " + N(length) + " bytes", path);
  Image image(path, Image::Access::kRead);
  std::vector<uint8_t> out(length);
  image.Read(offset, out.data(), length);
  return out;
}

void WriteVirtual(const std::string& path, uint64_t offset, const std::vector<uint8_t>& data) {
  Image image(path, Image::Access::kReadWrite);
  image.Write(offset, data.data(), data.size());
  image.Flush();
}

}  // namespace wcow::vhdx
