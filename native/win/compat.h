// The one place Win32 headers are included for native/win, and the one place
// the SDK layouts that mingw-w64 gets wrong are defined
// (docs/native.md#mingw-header-pitfalls).
#pragma once

// <windows.h> must come before the HCS headers; the Windows SDK's <windows.h>
// does not include <virtdisk.h> (mingw's does), so include it explicitly.
#include <windows.h>
#include <virtdisk.h>
#include <computedefs.h>
#include <computecore.h>
#include <computestorage.h>

#include <cstddef>
#include <cstdint>

namespace wcow::win {

// HRESULTs this layer produces or tests for (winerror.h in newer SDKs only).
constexpr HRESULT kHcsOperationTimeout = static_cast<HRESULT>(0x80370118);
constexpr HRESULT kTimeout = static_cast<HRESULT>(0x800705B4);  // HRESULT_FROM_WIN32(ERROR_TIMEOUT)

inline HRESULT HresultFromWin32(DWORD code) {
  return code == ERROR_SUCCESS ? S_OK : static_cast<HRESULT>((code & 0x0000FFFF) | (FACILITY_WIN32 << 16) | 0x80000000);
}

// virtdisk: mingw-w64 declares VIRTUAL_STORAGE_TYPE_VENDOR_MICROSOFT without
// defining it; the SDK value.
constexpr GUID kVendorMicrosoft = {0xEC984AEC, 0xA0F9, 0x47E9, {0x90, 0x1F, 0x71, 0x41, 0x5A, 0x66, 0x34, 0x5B}};
constexpr ULONG kStorageTypeVhdx = 3;  // VIRTUAL_STORAGE_TYPE_DEVICE_VHDX

// CREATE_VIRTUAL_DISK_PARAMETERS Version2 as the Windows SDK lays it out. mingw's
// lacks PhysicalSectorSizeInBytes, which puts ParentPath 8 bytes early: a
// differencing disk created through it would get garbage as its parent.
struct CreateVirtualDiskParametersV2 {
  ULONG Version;  // CREATE_VIRTUAL_DISK_VERSION_2
  // The SDK's union holds ULONGLONGs, so it (and UniqueId) starts at offset 8.
  struct alignas(8) Fields {
    GUID UniqueId;
    ULONGLONG MaximumSize;
    ULONG BlockSizeInBytes;
    ULONG SectorSizeInBytes;
    ULONG PhysicalSectorSizeInBytes;
    PCWSTR ParentPath;
    PCWSTR SourcePath;
    ULONG OpenFlags;  // OPEN_VIRTUAL_DISK_FLAG
    VIRTUAL_STORAGE_TYPE ParentVirtualStorageType;
    VIRTUAL_STORAGE_TYPE SourceVirtualStorageType;
    GUID ResiliencyGuid;
  } Version2;
};
#if defined(_WIN64)
#define WCOW_V2_OFFSET(field) (offsetof(CreateVirtualDiskParametersV2, Version2) + offsetof(CreateVirtualDiskParametersV2::Fields, field))
static_assert(WCOW_V2_OFFSET(UniqueId) == 8, "SDK layout");
static_assert(WCOW_V2_OFFSET(MaximumSize) == 24, "SDK layout");
static_assert(WCOW_V2_OFFSET(BlockSizeInBytes) == 32, "SDK layout");
static_assert(WCOW_V2_OFFSET(SectorSizeInBytes) == 36, "SDK layout");
static_assert(WCOW_V2_OFFSET(PhysicalSectorSizeInBytes) == 40, "SDK layout");
static_assert(WCOW_V2_OFFSET(ParentPath) == 48, "SDK layout");
static_assert(WCOW_V2_OFFSET(SourcePath) == 56, "SDK layout");
static_assert(WCOW_V2_OFFSET(OpenFlags) == 64, "SDK layout");
static_assert(WCOW_V2_OFFSET(ParentVirtualStorageType) == 68, "SDK layout");
static_assert(WCOW_V2_OFFSET(SourceVirtualStorageType) == 88, "SDK layout");
static_assert(WCOW_V2_OFFSET(ResiliencyGuid) == 108, "SDK layout");
#undef WCOW_V2_OFFSET
#endif
constexpr ULONG kCreateVirtualDiskVersion2 = 2;

// OPEN_VIRTUAL_DISK_PARAMETERS Version2 (same in both headers, restated so
// every virtdisk parameter block comes from this file).
struct OpenVirtualDiskParametersV2 {
  ULONG Version;  // OPEN_VIRTUAL_DISK_VERSION_2
  BOOL GetInfoOnly;
  BOOL ReadOnly;
  GUID ResiliencyGuid;
};
constexpr ULONG kOpenVirtualDiskVersion2 = 2;

// ATTACH_VIRTUAL_DISK_PARAMETERS Version2 and the flags mingw-w64 lacks.
struct AttachVirtualDiskParametersV2 {
  ULONG Version;  // ATTACH_VIRTUAL_DISK_VERSION_2
  ULONGLONG RestrictedOffset;
  ULONGLONG RestrictedLength;
};
constexpr ULONG kAttachVirtualDiskVersion2 = 2;
constexpr ULONG kAttachFlagNoSecurityDescriptor = 0x10;

}  // namespace wcow::win
