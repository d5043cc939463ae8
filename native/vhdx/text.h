// UTF-8 <-> UTF-16LE, written out by hand so that the same code serves the
// on-disk strings (creator, parent locator keys and values are UTF-16LE on
// every OS) and Windows path conversion.
#pragma once
#include <cstdint>
#include <string>

namespace wcow::vhdx {

// Throws ErrorCode::kInvalidArgument on malformed UTF-8 (`what` names the value).
std::u16string Utf8ToUtf16(const std::string& utf8, const char* what);
// Unpaired surrogates become U+FFFD: the result is for display and comparison.
std::string Utf16ToUtf8(const std::u16string& utf16);
// Little-endian UTF-16 bytes of a string, and back.
std::string Utf16LeBytes(const std::u16string& s);
std::u16string FromUtf16Le(const uint8_t* bytes, size_t byte_length);

}  // namespace wcow::vhdx
