// Which of the Host Compute Service DLLs this machine has. computecore,
// computestorage and virtdisk are delay-loaded: a call into one that is missing
// is an SEH exception that kills the process, so every call site checks
// Available() first. vmcompute.dll has no import library and is reached only
// through the function pointers resolved here.
#pragma once
#include <string>

#include "win/compat.h"

namespace wcow::win {

enum class Dll { kComputeCore, kComputeStorage, kVirtDisk, kVmCompute };
constexpr Dll kAllDlls[] = {Dll::kComputeCore, Dll::kComputeStorage, Dll::kVirtDisk, Dll::kVmCompute};

struct DllStatus {
  const char* name;     // "computecore.dll"
  bool available;       // loaded from System32 and every export this addon calls is there
  std::string problem;  // why not, when not
};

// The probe runs once per process (LoadLibraryExW with LOAD_LIBRARY_SEARCH_SYSTEM32,
// then GetProcAddress for each export used), the first time any of these is called.
const DllStatus& Status(Dll dll);
inline bool Available(Dll dll) { return Status(dll).available; }

// WC_LAYER_DESCRIPTOR and DriverInfo as vmcompute.dll takes them
// (hcsshim internal/wclayer/layerutils.go; no public header exists).
struct WcLayerDescriptor {
  GUID LayerId;
  ULONG Flags;
  PCWSTR Path;
};
struct DriverInfo {
  int Flavour;  // 1 = filter driver, the only one hcsshim uses
  PCWSTR HomeDir;
};
static_assert(sizeof(WcLayerDescriptor) == (sizeof(void*) == 8 ? 32 : 24), "vmcompute layout");

// vmcompute.dll exports (signatures from hcsshim's //sys lines; counts are
// pointer-sized there, ULONG_PTR here). One list: it declares the pointers and
// drives the probe.
#define WCOW_VMCOMPUTE_EXPORTS(X)                                                                     \
  X(NameToGuid, HRESULT(WINAPI*)(PCWSTR name, GUID * guid))                                           \
  X(ActivateLayer, HRESULT(WINAPI*)(DriverInfo * info, PCWSTR id))                                    \
  X(DeactivateLayer, HRESULT(WINAPI*)(DriverInfo * info, PCWSTR id))                                  \
  X(PrepareLayer, HRESULT(WINAPI*)(DriverInfo * info, PCWSTR id, WcLayerDescriptor * layers, ULONG_PTR count)) \
  X(UnprepareLayer, HRESULT(WINAPI*)(DriverInfo * info, PCWSTR id))                                   \
  X(GetLayerMountPath, HRESULT(WINAPI*)(DriverInfo * info, PCWSTR id, ULONG_PTR * length, PWSTR buffer)) \
  X(CreateSandboxLayer,                                                                               \
    HRESULT(WINAPI*)(DriverInfo * info, PCWSTR id, PCWSTR parentId, WcLayerDescriptor * layers, ULONG_PTR count)) \
  X(ExpandSandboxSize, HRESULT(WINAPI*)(DriverInfo * info, PCWSTR id, ULONGLONG size))                \
  X(GrantVmAccess, HRESULT(WINAPI*)(PCWSTR vmId, PCWSTR filePath))

struct VmComputeApi {
#define WCOW_DECLARE(name, type) \
  using name##Fn = type;          \
  name##Fn name = nullptr;
  WCOW_VMCOMPUTE_EXPORTS(WCOW_DECLARE)
#undef WCOW_DECLARE
};

// Valid only when Available(Dll::kVmCompute).
const VmComputeApi& VmCompute();

// An export resolved on its first use, as hcsshim's windows.NewLazySystemDLL(dll).NewProc(name)
// resolves it: cimfs.dll (no import library exists for it) and computestorage's overlay filter
// (newer than mingw's import library, and missing on builds that have the rest of computestorage,
// so it must not count in Status). When `address` is null, `problem` is hcsshim's text:
// "Failed to load cimfs.dll: <win32 text>" or "Failed to find <proc> procedure in <dll>: <win32 text>".
struct LazyProc {
  void* address = nullptr;
  std::string problem;
};
const LazyProc& Lazy(const wchar_t* file, const char* dll, const char* proc);

// Go's syscall.Errno.Error(): the system's message, trailing CR/LF removed, or "winapi error #<n>".
std::string Win32Text(DWORD code);

}  // namespace wcow::win
