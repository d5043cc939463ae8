// The names of the Win32 surface (exports.win), one list for both builds:
// binding.cc registers the implementations, unsupported.cc registers the same
// names failing with ERR_PLATFORM_UNSUPPORTED. lib/host/native/native-types.ts
// types them. X(jsName, Name): the C++ function is JsName (plain names would
// collide with Win32's own CreateVirtualDisk, CreateProcess, …).
#pragma once
#include <napi.h>

#define WCOW_WIN_FUNCTIONS(X)                                 \
  /* computecore.dll */                                       \
  X(openComputeSystem, OpenComputeSystem)                     \
  X(closeComputeSystem, CloseComputeSystem)                   \
  X(modifyComputeSystem, ModifyComputeSystem)                 \
  X(getComputeSystemProperties, GetComputeSystemProperties)   \
  X(createProcess, CreateProcess)                             \
  X(modifyServiceSettings, ModifyServiceSettings)             \
  X(getServiceProperties, GetServiceProperties)               \
  X(grantVmAccess, GrantVmAccess)                             \
  X(revokeVmAccess, RevokeVmAccess)                           \
  /* computestorage.dll */                                    \
  X(initializeWritableLayer, InitializeWritableLayer)         \
  X(attachLayerStorageFilter, AttachLayerStorageFilter)       \
  X(detachLayerStorageFilter, DetachLayerStorageFilter)       \
  X(formatWritableLayerVhd, FormatWritableLayerVhd)           \
  X(getLayerVhdMountPath, GetLayerVhdMountPath)               \
  X(setupBaseOsLayer, SetupBaseOsLayer)                       \
  X(attachOverlayFilter, AttachOverlayFilter)                 \
  X(detachOverlayFilter, DetachOverlayFilter)                 \
  /* cimfs.dll (resolved on first use) */                     \
  X(cimMountImage, CimMountImage)                             \
  X(cimDismountImage, CimDismountImage)                       \
  /* virtdisk.dll */                                          \
  X(createVirtualDisk, CreateVirtualDisk)                     \
  X(openVirtualDisk, OpenVirtualDisk)                         \
  X(attachVirtualDisk, AttachVirtualDisk)                     \
  X(detachVirtualDisk, DetachVirtualDisk)                     \
  X(getVirtualDiskPhysicalPath, GetVirtualDiskPhysicalPath)   \
  /* vmcompute.dll (resolved at run time) */                  \
  X(nameToGuid, NameToGuid)                                   \
  X(activateLayer, ActivateLayer)                             \
  X(deactivateLayer, DeactivateLayer)                         \
  X(prepareLayer, PrepareLayer)                               \
  X(unprepareLayer, UnprepareLayer)                           \
  X(getLayerMountPath, GetLayerMountPath)                     \
  X(createSandboxLayer, CreateSandboxLayer)                   \
  X(expandSandboxSize, ExpandSandboxSize)                     \
  X(vmcomputeGrantVmAccess, VmcomputeGrantVmAccess)           \
  /* kernel32 */                                              \
  X(resolvePath, ResolvePath)                                 \
  X(openVolume, OpenVolume)                                   \
  X(diskLengthInfo, DiskLengthInfo)                           \
  X(extendVolume, ExtendVolume)                               \
  X(getDiskFreeSpaceEx, GetDiskFreeSpaceEx)                   \
  X(closeHandle, CloseHandle)

#if defined(_WIN32)
namespace wcow::win {
#define WCOW_DECLARE_FUNCTION(js, cpp) Napi::Value Js##cpp(const Napi::CallbackInfo& info);
WCOW_WIN_FUNCTIONS(WCOW_DECLARE_FUNCTION)
#undef WCOW_DECLARE_FUNCTION
}  // namespace wcow::win
#endif
