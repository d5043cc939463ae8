#include "vhdx/image.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "vhdx/error.h"
#include "vhdx/structures.h"
#include "vhdx/text.h"

namespace wcow::vhdx {

namespace {

constexpr int kMaxChainDepth = 64;
constexpr uint64_t kBatPageEntries = 512;  // BAT entries read per 4 KiB page
constexpr uint64_t kMaxIoLength = uint64_t{1} << 30;
// No VHDX needs more file than 64 TiB of blocks plus its BAT, bitmaps,
// metadata and log: a structure or block past 128 TiB is refused, which caps
// the SpaceMap at 16 MiB.
constexpr uint64_t kMaxFileMiB = 128 * kMiB;

std::string N(uint64_t v) { return std::to_string(v); }

std::string At(uint64_t offset, uint64_t length) { return "at " + N(offset) + " (+" + N(length) + ")"; }

// offset + length <= size, without the sum wrapping around 2^64.
bool Fits(uint64_t offset, uint64_t length, uint64_t size) { return offset <= size && length <= size - offset; }

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
  space_.Reset(std::min(RoundUp(info_.file_size, kMiB) / kMiB, kMaxFileMiB));
  LoadHeaders();
  LoadRegionTables();
  LoadMetadata();
  CheckBat();
}

void SpaceMap::Reset(uint64_t mib) {
  size_ = mib;
  bits_.assign((mib + 63) / 64, 0);
}

bool SpaceMap::Claim(uint64_t first, uint64_t count) {
  if (first > size_ || count > size_ - first || !IsFree(first, count)) return false;
  for (uint64_t m = first; m < first + count; ++m) bits_[m / 64] |= uint64_t{1} << (m % 64);
  return true;
}

bool SpaceMap::IsFree(uint64_t first, uint64_t count) const {
  for (uint64_t m = first; m < first + count && m < size_; ++m) {
    if (Taken(m)) return false;
  }
  return true;
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
  if (!Fits(h.log_offset, h.log_length, info_.file_size)) {
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
  for (size_t i = 0; i < entries.size(); ++i) {
    const RegionEntry& r = entries[i];
    bool known = r.guid == kBatRegion || r.guid == kMetadataRegion;
    if (!known && r.required) Corrupt("unknown required region {" + r.guid.ToString() + "}");
    if (!Fits(r.file_offset, r.length, info_.file_size)) {
      Corrupt("truncated file: region {" + r.guid.ToString() + "} " + At(r.file_offset, r.length) +
              " ends beyond the end of the file (" + N(info_.file_size) + " bytes)");
    }
    for (size_t k = 0; k < i; ++k) {
      if (entries[k].guid == r.guid) Corrupt("region {" + r.guid.ToString() + "} is listed twice");
    }
  }
  const RegionEntry& bat = Region(kBatRegion);
  const RegionEntry& md = Region(kMetadataRegion);
  info_.bat.offset = bat.file_offset;
  info_.bat.length = bat.length;
  info_.metadata_offset = md.file_offset;
  info_.metadata_length = md.length;
  // Every structure takes its space first; BAT entries must then stay off it.
  const HeaderInfo& h = info_.Current();
  std::vector<std::pair<Span, std::string>> fixed = {
      {{0, kHeaderSectionSize, 0}, "the header section"},
      {{h.log_offset, h.log_length, 0}, "the log"},
      {{md.file_offset, md.length, 0}, "the metadata region"},
      {{bat.file_offset, bat.length, 0}, "the BAT region"},
  };
  for (const RegionEntry& r : entries) {
    if (r.guid != kBatRegion && r.guid != kMetadataRegion) {
      fixed.push_back({{r.file_offset, r.length, 0}, "region {" + r.guid.ToString() + "}"});
    }
  }
  for (auto& [span, name] : fixed) {
    fixed_names_.push_back(std::move(name));
    span.index = -static_cast<int64_t>(fixed_names_.size());
    Claim(span);
    fixed_.push_back(span);
  }
}

const RegionEntry& Image::Region(const Guid& guid) const {
  for (const RegionEntry& r : info_.region_tables[0].entries) {
    if (r.guid == guid) return r;
  }
  Corrupt(std::string("region table has no ") + (guid == kBatRegion ? "BAT" : "metadata") + " region");
}

std::string Image::Describe(const Span& s) const {
  if (s.index < 0) return fixed_names_[static_cast<size_t>(-s.index - 1)] + " " + At(s.offset, s.length);
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

std::vector<uint8_t> Image::ItemValue(const Guid& id, uint32_t length, const char* name) const {
  const MetadataItem* m = Item(id);
  if (m == nullptr) Corrupt(std::string("metadata item ") + name + " is missing");
  if (m->length < length) Corrupt(std::string("metadata item ") + name + " is " + N(m->length) + " bytes, expected " + N(length));
  // Read item by item: the region's declared length costs nothing (it may be 4 GiB of holes).
  std::vector<uint8_t> value(m->length);
  ReadExact(info_.metadata_offset + m->offset, value.data(), value.size(), "metadata item");
  return value;
}

void Image::LoadMetadata() {
  if (info_.metadata_length < kMetadataTableSize) Corrupt("metadata region is smaller than its 64 KiB table");
  std::vector<uint8_t> table(kMetadataTableSize);
  ReadExact(info_.metadata_offset, table.data(), table.size(), "metadata table");
  std::string problem = DecodeMetadataTable(table.data(), info_.metadata_length, &info_.metadata_items);
  if (!problem.empty()) Corrupt(problem);
  for (const MetadataItem& m : info_.metadata_items) {
    if (m.is_required && !IsKnownItem(m.item_id)) Corrupt("unknown required metadata item {" + m.item_id.ToString() + "}");
  }
  std::vector<uint8_t> params = ItemValue(kFileParametersItem, 8, "File Parameters");
  Geometry& g = info_.geometry;
  g.block_size = Get32(params.data());
  info_.leave_blocks_allocated = params[4] & 1;
  g.has_parent = (params[4] & 2) != 0;
  g.virtual_size = Get64(ItemValue(kVirtualDiskSizeItem, 8, "Virtual Disk Size").data());
  g.logical_sector = Get32(ItemValue(kLogicalSectorSizeItem, 4, "Logical Sector Size").data());
  g.physical_sector = Get32(ItemValue(kPhysicalSectorSizeItem, 4, "Physical Sector Size").data());
  info_.page83 = GetGuid(ItemValue(kPage83Item, 16, "Page 83 Data").data());
  problem = GeometryProblem(g);
  if (!problem.empty()) Corrupt("metadata: " + problem);
  if (g.has_parent) {
    if (Item(kParentLocatorItem) == nullptr) Corrupt("HasParent is set but the Parent Locator metadata item is missing");
    std::vector<uint8_t> item = ItemValue(kParentLocatorItem, 0, "Parent Locator");
    ParentLocator locator;
    problem = DecodeParentLocator(item.data(), item.size(), &locator);
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

void Image::Claim(const Span& span) {
  if (!Fits(span.offset, span.length, info_.file_size)) {
    Corrupt("truncated file: " + Describe(span) + " lies beyond the end of the file (" + N(info_.file_size) + " bytes)");
  }
  uint64_t first = span.offset / kMiB, count = span.length / kMiB;
  if (space_.Claim(first, count)) return;
  if (first + count > space_.size()) Corrupt(Describe(span) + " lies beyond 128 TiB, further than any VHDX reaches");
  // Name what was there first: a structure, or an earlier entry (found by a
  // second pass, paid only on the way to an error).
  auto overlaps = [&](uint64_t offset, uint64_t length) {
    return offset < span.offset + span.length && span.offset < offset + length;
  };
  for (const Span& f : fixed_) {
    if (overlaps(f.offset, f.length)) Corrupt(Describe(f) + " overlaps " + Describe(span));
  }
  uint64_t before = span.index < 0 ? 0 : static_cast<uint64_t>(span.index);
  std::optional<Span> owner;
  ForEachEntry(before, [&](uint64_t i, uint64_t e) {
    uint64_t length = EntryLength(i, e);
    if (!owner && length != 0 && overlaps(e & kBatOffsetMask, length)) owner = Span{e & kBatOffsetMask, length, static_cast<int64_t>(i)};
  });
  Corrupt((owner ? Describe(*owner) : std::string("another block")) + " overlaps " + Describe(span));
}

uint64_t Image::EntryLength(uint64_t index, uint64_t entry) const {
  uint64_t state = entry & kBatStateMask;
  if (info_.geometry.IsBitmapIndex(index)) return state == kSectorBitmapPresent ? kSectorBitmapBlockSize : 0;
  return state == kFullyPresent || state == kPartiallyPresent ? info_.geometry.block_size : 0;
}

void Image::ForEachEntry(uint64_t count, const std::function<void(uint64_t, uint64_t)>& fn) const {
  const uint64_t begin = info_.bat.offset, end = begin + count * 8;
  std::vector<uint8_t> piece;
  for (uint64_t at = begin; at < end;) {
    uint64_t data_end = 0;
    uint64_t data = std::max(at, file_.NextData(at, &data_end));
    if (data >= end) break;
    data -= (data - begin) % 8;  // entry-aligned (holes are too, in practice)
    uint64_t stop = std::min(end, data + kMiB);
    if (data_end > data) stop = std::min(stop, begin + RoundUp(data_end - begin, 8));
    piece.resize(stop - data);
    ReadExact(data, piece.data(), piece.size(), "BAT");
    for (uint64_t k = 0; k < piece.size(); k += 8) {
      uint64_t e = Get64(&piece[k]);
      if (e != 0) fn((data - begin + k) / 8, e);
    }
    at = stop;
  }
}

void Image::CheckBat() {
  const Geometry& g = info_.geometry;
  BatSummary& bat = info_.bat;
  const uint64_t cr = g.ChunkRatio();
  constexpr uint64_t kNone = ~uint64_t{0};
  // The chunk of the last PARTIALLY_PRESENT block while its sector bitmap
  // entry (which follows the chunk's payload entries) has not been seen.
  uint64_t pending = kNone;
  auto no_bitmap = [&]() { Corrupt("chunk " + N(pending) + " has PARTIALLY_PRESENT blocks but no sector bitmap block"); };
  ForEachEntry(bat.entries, [&](uint64_t i, uint64_t e) {
    if (pending != kNone && i > g.BitmapIndex(pending)) no_bitmap();
    uint64_t state = e & kBatStateMask;
    if (g.IsBitmapIndex(i)) {
      if (state == kNotPresent) return;
      if (state != kSectorBitmapPresent) {
        Corrupt("BAT entry " + N(i) + " (sector bitmap block " + N(i / (cr + 1)) + ") has invalid state " + N(state));
      }
      ++bat.bitmap_present;
      if (i / (cr + 1) == pending) pending = kNone;
    } else {
      switch (state) {
        case kNotPresent:
        case kUndefined:
        case kZero:
        case kUnmapped:
        case kFullyPresent:
          break;
        case kPartiallyPresent:
          if (!g.has_parent) Corrupt("BAT entry " + N(i) + " is PARTIALLY_PRESENT in a disk without a parent");
          pending = i / (cr + 1);
          break;
        default:
          Corrupt("BAT entry " + N(i) + " (payload block " + N(i - i / (cr + 1)) + ") has invalid state " + N(state));
      }
      // A differencing BAT covers whole chunks: entries past the last block are not counted.
      if (state != kNotPresent && i - i / (cr + 1) < bat.data_blocks) ++bat.payload_by_state[state];
    }
    uint64_t length = EntryLength(i, e);
    if (length != 0) Claim({e & kBatOffsetMask, length, static_cast<int64_t>(i)});
  });
  if (pending != kNone) no_bitmap();
  uint64_t counted = 0;
  for (uint64_t n : bat.payload_by_state) counted += n;
  bat.payload_by_state[kNotPresent] = bat.data_blocks - counted;
  bat.bitmap_not_present = bat.entries / (cr + 1) - bat.bitmap_present;
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

uint64_t Image::SectorBitmapOffset(uint64_t block) {
  uint64_t index = info_.geometry.BitmapIndex(block / info_.geometry.ChunkRatio());
  uint64_t e = BatEntry(index);
  // The open check left only NOT_PRESENT otherwise, and guarantees a bitmap
  // for every PARTIALLY_PRESENT block that reads need one for.
  if ((e & kBatStateMask) == kSectorBitmapPresent) return e & kBatOffsetMask;
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
  // The open check allowed only valid states, placed blocks and (for
  // PARTIALLY_PRESENT) a disk with a parent and a sector bitmap.
  switch (state) {
    case kFullyPresent:
      ReadExact((e & kBatOffsetMask) + in_block, out, length, "payload block");
      return;
    case kNotPresent:
      if (g.has_parent) Parent().Read(block * g.block_size + in_block, out, length);
      else std::memset(out, 0, length);
      return;
    case kPartiallyPresent:
      break;
    default:  // ZERO, UNDEFINED, UNMAPPED
      std::memset(out, 0, length);
      return;
  }
  uint64_t data = e & kBatOffsetMask;
  uint64_t bitmap = SectorBitmapOffset(block);
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
  // Whatever can refuse the write does so before the first byte changes: the
  // whole parent chain opened and checked, the edge sectors read.
  for (Image* image = this; image->info_.geometry.has_parent; image = image->parent_.get()) {
    image->Parent().RequireNoPendingLog();
  }
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
  BeginChange();
  ForEachBlock(offset, length, [&](uint64_t block, uint32_t in_block, uint32_t n, uint64_t done) {
    WriteBlock(block, in_block, n, data + done);
  });
}

void Image::WriteBlock(uint64_t block, uint32_t in_block, uint32_t length, const uint8_t* data) {
  const Geometry& g = info_.geometry;
  uint64_t index = g.PayloadIndex(block);
  uint64_t e = BatEntry(index);
  uint64_t state = e & kBatStateMask;
  uint64_t s0 = in_block / g.logical_sector, s1 = (uint64_t{in_block} + length) / g.logical_sector;
  // Placed blocks passed the open check: they lie in the file, off every
  // structure and every other block.
  if (state == kFullyPresent || state == kPartiallyPresent) {
    file_.WriteAt((e & kBatOffsetMask) + in_block, data, length);
    if (state == kPartiallyPresent) SetSectorBits(block, s0, s1, false);
    return;
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
  uint64_t bitmap = SectorBitmapOffset(block);
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
  BeginChange();
  uint64_t old_entries = old.TotalBatEntries(), new_entries = next.TotalBatEntries();
  RegionEntry bat = Region(kBatRegion);
  if (bat.length < new_entries * 8) {
    // Grow the BAT region where it is if nothing follows it, else move it to
    // the end of the file. Block indices do not depend on the disk size
    // (MS-VHDX 2.5), so the old entries are copied unchanged.
    uint64_t need = next.BatBytes();
    bool fits = space_.IsFree((bat.file_offset + bat.length) / kMiB, (need - bat.length) / kMiB);
    // Every structure and block lies within the file (the open check).
    uint64_t target = fits ? bat.file_offset : RoundUp(info_.file_size, kMiB);
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

Info Inspect(const std::string& path) { return Image(path, Image::Access::kRead).info(); }

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
