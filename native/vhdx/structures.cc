#include "vhdx/structures.h"

#include <algorithm>

#include "vhdx/crc32c.h"
#include "vhdx/error.h"
#include "vhdx/text.h"

namespace wcow::vhdx {

namespace {

// CRC-32C of a structure of `length` bytes whose checksum field (at byte 4)
// counts as zero. Only the first `used` bytes are given; the rest are zero.
// The structures are mostly zero, so the zero tail is skipped arithmetically.
uint32_t StructureChecksum(const uint8_t* p, size_t used, size_t length) {
  const uint8_t no_checksum[4] = {};
  while (used >= 16 && Get64(p + used - 8) == 0) used -= 8;
  while (used > 8 && p[used - 1] == 0) --used;
  uint32_t crc = Crc32c(p, 4);
  crc = Crc32c(no_checksum, 4, crc);
  crc = Crc32c(p + 8, used - 8, crc);
  return Crc32cZeros(crc, length - used);
}

void Seal(std::vector<uint8_t>* structure, size_t length) {
  Put32(structure->data() + 4, StructureChecksum(structure->data(), structure->size(), length));
}

}  // namespace

HeaderInfo DecodeHeader(const uint8_t* p, int slot) {
  HeaderInfo h;
  h.slot = slot;
  h.offset = kHeaderOffsets[slot - 1];
  h.signature_valid = std::memcmp(p, "head", 4) == 0;
  h.checksum_valid = Get32(p + 4) == StructureChecksum(p, kHeaderSize, kHeaderSize);
  h.sequence_number = Get64(p + 8);
  h.file_write_guid = GetGuid(p + 16);
  h.data_write_guid = GetGuid(p + 32);
  h.log_guid = GetGuid(p + 48);
  h.log_version = Get16(p + 64);
  h.version = Get16(p + 66);
  h.log_length = Get32(p + 68);
  h.log_offset = Get64(p + 72);
  if (!h.signature_valid) h.problem = "no 'head' signature";
  else if (!h.checksum_valid) h.problem = "CRC mismatch";
  else if (h.version != 1) h.problem = "unsupported version " + std::to_string(h.version);
  else if (h.log_version != 0) h.problem = "unsupported log version " + std::to_string(h.log_version);
  else if (h.log_offset % kMiB != 0 || h.log_offset < kHeaderSectionSize || h.log_length % kMiB != 0 || h.log_length == 0)
    h.problem = "log at " + std::to_string(h.log_offset) + " (+" + std::to_string(h.log_length) + ") is not 1 MiB aligned";
  h.valid = h.problem.empty();
  return h;
}

std::vector<uint8_t> EncodeHeader(const HeaderInfo& h) {
  std::vector<uint8_t> b(kHeaderSize, 0);
  std::memcpy(b.data(), "head", 4);
  Put64(&b[8], h.sequence_number);
  PutGuid(&b[16], h.file_write_guid);
  PutGuid(&b[32], h.data_write_guid);
  PutGuid(&b[48], h.log_guid);
  Put16(&b[64], h.log_version);
  Put16(&b[66], h.version);
  Put32(&b[68], h.log_length);
  Put64(&b[72], h.log_offset);
  Seal(&b, kHeaderSize);
  return b;
}

RegionTableInfo DecodeRegionTable(const uint8_t* p, int slot) {
  RegionTableInfo t;
  t.slot = slot;
  t.offset = kRegionTableOffsets[slot - 1];
  if (std::memcmp(p, "regi", 4) != 0) {
    t.problem = "no 'regi' signature";
    return t;
  }
  if (Get32(p + 4) != StructureChecksum(p, kRegionTableSize, kRegionTableSize)) {
    t.problem = "CRC mismatch";
    return t;
  }
  uint32_t count = Get32(p + 8);
  if (count > kMaxRegionEntries) {
    t.problem = "entry count " + std::to_string(count) + " exceeds 2047";
    return t;
  }
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* e = p + 16 + 32 * i;
    RegionEntry r{GetGuid(e), Get64(e + 16), Get32(e + 24), (Get32(e + 28) & 1) != 0};
    if (r.file_offset % kMiB != 0 || r.length % kMiB != 0 || r.file_offset < kHeaderSectionSize) {
      t.problem = "region {" + r.guid.ToString() + "} at " + std::to_string(r.file_offset) + " (+" +
                  std::to_string(r.length) + ") is not 1 MiB aligned after the header section";
      return t;
    }
    t.entries.push_back(r);
  }
  t.valid = true;
  return t;
}

std::vector<uint8_t> EncodeRegionTable(const std::vector<RegionEntry>& entries) {
  std::vector<uint8_t> b(16 + 32 * entries.size(), 0);
  std::memcpy(b.data(), "regi", 4);
  Put32(&b[8], static_cast<uint32_t>(entries.size()));
  for (size_t i = 0; i < entries.size(); ++i) {
    uint8_t* e = &b[16 + 32 * i];
    PutGuid(e, entries[i].guid);
    Put64(e + 16, entries[i].file_offset);
    Put32(e + 24, entries[i].length);
    Put32(e + 28, entries[i].required ? 1 : 0);
  }
  Seal(&b, kRegionTableSize);
  return b;
}

std::string DecodeMetadataTable(const uint8_t* p, size_t region_length, std::vector<MetadataItem>* items) {
  if (std::memcmp(p, "metadata", 8) != 0) return "metadata table has no 'metadata' signature";
  uint16_t count = Get16(p + 10);
  if (count > kMaxMetadataEntries) return "metadata table entry count " + std::to_string(count) + " exceeds 2047";
  for (uint16_t i = 0; i < count; ++i) {
    const uint8_t* e = p + 32 + 32 * i;
    uint32_t flags = Get32(e + 24);
    MetadataItem m{GetGuid(e), Get32(e + 16), Get32(e + 20), (flags & kMetadataIsUser) != 0,
                   (flags & kMetadataIsVirtualDisk) != 0, (flags & kMetadataIsRequired) != 0};
    bool placed = m.length == 0 ? m.offset == 0
                                : m.offset >= kMetadataTableSize && uint64_t{m.offset} + m.length <= region_length;
    if (!placed) {
      return "metadata item {" + m.item_id.ToString() + "} at " + std::to_string(m.offset) + " (+" +
             std::to_string(m.length) + ") lies outside the metadata region";
    }
    // MS-VHDX 2.6.1.2: at most 1 MiB each, and no two items overlap.
    if (m.length > kMiB) {
      return "metadata item {" + m.item_id.ToString() + "} is " + std::to_string(m.length) + " bytes, more than 1 MiB";
    }
    for (const MetadataItem& o : *items) {
      if (m.length != 0 && o.length != 0 && m.offset < o.offset + o.length && o.offset < m.offset + m.length) {
        return "metadata items {" + o.item_id.ToString() + "} and {" + m.item_id.ToString() + "} overlap";
      }
    }
    items->push_back(m);
  }
  return {};
}

void MetadataBuilder::Add(const Guid& id, uint32_t flags, std::vector<uint8_t> value) {
  MetadataItem m;
  m.item_id = id;
  m.offset = static_cast<uint32_t>(kMetadataTableSize + items_.size());
  m.length = static_cast<uint32_t>(value.size());
  m.is_user = flags & kMetadataIsUser;
  m.is_virtual_disk = flags & kMetadataIsVirtualDisk;
  m.is_required = flags & kMetadataIsRequired;
  entries_.push_back(m);
  items_.insert(items_.end(), value.begin(), value.end());
}

std::vector<uint8_t> MetadataBuilder::Table() const {
  std::vector<uint8_t> b(32 + 32 * entries_.size(), 0);
  std::memcpy(b.data(), "metadata", 8);
  Put16(&b[10], static_cast<uint16_t>(entries_.size()));
  for (size_t i = 0; i < entries_.size(); ++i) {
    const MetadataItem& m = entries_[i];
    uint8_t* e = &b[32 + 32 * i];
    PutGuid(e, m.item_id);
    Put32(e + 16, m.offset);
    Put32(e + 20, m.length);
    Put32(e + 24, (m.is_user ? kMetadataIsUser : 0) | (m.is_virtual_disk ? kMetadataIsVirtualDisk : 0) |
                      (m.is_required ? kMetadataIsRequired : 0));
  }
  return b;
}

const std::string* ParentLocator::Find(const std::string& key) const {
  for (const auto& kv : entries) {
    if (kv.first == key) return &kv.second;
  }
  return nullptr;
}

std::string DecodeParentLocator(const uint8_t* p, size_t length, ParentLocator* out) {
  if (length < 20) return "parent locator is " + std::to_string(length) + " bytes, shorter than its header";
  out->locator_type = GetGuid(p);
  uint16_t count = Get16(p + 18);
  if (20 + size_t{count} * 12 > length) return "parent locator entries run past the item";
  for (uint16_t i = 0; i < count; ++i) {
    const uint8_t* e = p + 20 + 12 * i;
    uint32_t key_offset = Get32(e), value_offset = Get32(e + 4);
    uint16_t key_length = Get16(e + 8), value_length = Get16(e + 10);
    if (uint64_t{key_offset} + key_length > length || uint64_t{value_offset} + value_length > length ||
        key_length == 0 || value_length == 0 || key_length % 2 || value_length % 2) {
      return "parent locator entry " + std::to_string(i) + " lies outside the item";
    }
    out->entries.emplace_back(Utf16ToUtf8(FromUtf16Le(p + key_offset, key_length)),
                              Utf16ToUtf8(FromUtf16Le(p + value_offset, value_length)));
  }
  return {};
}

std::vector<uint8_t> EncodeParentLocator(const ParentLocator& locator) {
  size_t count = locator.entries.size();
  std::vector<uint8_t> b(20 + 12 * count, 0);
  PutGuid(b.data(), locator.locator_type);
  Put16(&b[18], static_cast<uint16_t>(count));
  for (size_t i = 0; i < count; ++i) {
    std::string key = Utf16LeBytes(Utf8ToUtf16(locator.entries[i].first, "parent locator key"));
    std::string value = Utf16LeBytes(Utf8ToUtf16(locator.entries[i].second, locator.entries[i].first.c_str()));
    if (value.size() > 0xFFFF) ThrowInvalid(locator.entries[i].first + " is longer than a parent locator allows");
    uint8_t* e = &b[20 + 12 * i];
    Put32(e, static_cast<uint32_t>(b.size()));
    Put16(e + 8, static_cast<uint16_t>(key.size()));
    b.insert(b.end(), key.begin(), key.end());
    e = &b[20 + 12 * i];  // insert may have moved the buffer
    Put32(e + 4, static_cast<uint32_t>(b.size()));
    Put16(e + 10, static_cast<uint16_t>(value.size()));
    b.insert(b.end(), value.begin(), value.end());
  }
  return b;
}

}  // namespace wcow::vhdx
