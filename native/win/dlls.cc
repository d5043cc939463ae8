#include "win/dlls.h"

#include <map>
#include <mutex>

namespace wcow::win {
namespace {

struct DllSpec {
  Dll dll;
  const wchar_t* file;
  const char* name;
  // Every export this addon calls: a DLL from an older Windows that lacks one
  // counts as missing, so no call can reach an unresolved delay-load thunk.
  std::initializer_list<const char*> exports;
};

const DllSpec kSpecs[] = {
    {Dll::kComputeCore, L"computecore.dll", "computecore.dll",
     {"HcsCreateOperation", "HcsCloseOperation", "HcsWaitForOperationResult",
      "HcsWaitForOperationResultAndProcessInfo", "HcsCancelOperation", "HcsOpenComputeSystem",
      "HcsCloseComputeSystem", "HcsModifyComputeSystem", "HcsGetComputeSystemProperties", "HcsCreateProcess",
      "HcsWaitForProcessExit", "HcsTerminateProcess", "HcsCloseProcess",
      "HcsModifyServiceSettings", "HcsGetServiceProperties", "HcsGrantVmAccess", "HcsRevokeVmAccess"}},
    {Dll::kComputeStorage, L"computestorage.dll", "computestorage.dll",
     {"HcsInitializeWritableLayer", "HcsAttachLayerStorageFilter", "HcsDetachLayerStorageFilter",
      "HcsFormatWritableLayerVhd", "HcsGetLayerVhdMountPath", "HcsSetupBaseOSLayer"}},
    {Dll::kVirtDisk, L"virtdisk.dll", "virtdisk.dll",
     {"CreateVirtualDisk", "OpenVirtualDisk", "AttachVirtualDisk", "DetachVirtualDisk",
      "GetVirtualDiskPhysicalPath"}},
#define WCOW_NAME(name, type) #name,
    {Dll::kVmCompute, L"vmcompute.dll", "vmcompute.dll", {WCOW_VMCOMPUTE_EXPORTS(WCOW_NAME)}},
#undef WCOW_NAME
};

struct Probe {
  DllStatus status[4];
  VmComputeApi vmcompute{};
};

const Probe& Probed() {
  static Probe probe;
  static std::once_flag once;
  std::call_once(once, [] {
    for (const DllSpec& spec : kSpecs) {
      DllStatus& s = probe.status[static_cast<int>(spec.dll)];
      s.name = spec.name;
      // System32 only: these are OS components, and a DLL of the same name
      // next to node.exe or in the current directory must not be picked up.
      // The module stays loaded, so the delay-load helper later finds this one.
      HMODULE module = LoadLibraryExW(spec.file, nullptr, LOAD_LIBRARY_SEARCH_SYSTEM32);
      if (module == nullptr) {
        s.problem = std::string(spec.name) + " could not be loaded (Win32 error " + std::to_string(GetLastError()) + ")";
        continue;
      }
      s.available = true;
      for (const char* name : spec.exports) {
        if (GetProcAddress(module, name) == nullptr) {
          s.available = false;
          s.problem = std::string(spec.name) + " lacks " + name;
          break;
        }
      }
      if (spec.dll == Dll::kVmCompute && s.available) {
#define WCOW_RESOLVE(name, type) \
  probe.vmcompute.name = reinterpret_cast<type>(reinterpret_cast<void*>(GetProcAddress(module, #name)));
        WCOW_VMCOMPUTE_EXPORTS(WCOW_RESOLVE)
#undef WCOW_RESOLVE
      }
    }
  });
  return probe;
}

}  // namespace

const DllStatus& Status(Dll dll) { return Probed().status[static_cast<int>(dll)]; }

const VmComputeApi& VmCompute() { return Probed().vmcompute; }

std::string Win32Text(DWORD code) {
  wchar_t* buffer = nullptr;
  DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                           nullptr, code, 0, reinterpret_cast<wchar_t*>(&buffer), 0, nullptr);
  if (n == 0 || buffer == nullptr) return "winapi error #" + std::to_string(code);
  while (n > 0 && (buffer[n - 1] == L'\r' || buffer[n - 1] == L'\n')) --n;
  std::string text;
  int len = WideCharToMultiByte(CP_UTF8, 0, buffer, static_cast<int>(n), nullptr, 0, nullptr, nullptr);
  if (len > 0) {
    text.resize(len);
    WideCharToMultiByte(CP_UTF8, 0, buffer, static_cast<int>(n), text.data(), len, nullptr, nullptr);
  }
  LocalFree(buffer);
  return text;
}

const LazyProc& Lazy(const wchar_t* file, const char* dll, const char* proc) {
  static std::mutex mutex;
  static std::map<std::string, LazyProc> resolved;  // never erased: references stay valid
  std::lock_guard<std::mutex> lock(mutex);
  std::string key = std::string(dll) + "!" + proc;
  auto found = resolved.find(key);
  if (found != resolved.end()) return found->second;
  LazyProc& p = resolved[key];
  // System32 only, like the probe above (and Go's NewLazySystemDLL).
  HMODULE module = LoadLibraryExW(file, nullptr, LOAD_LIBRARY_SEARCH_SYSTEM32);
  if (module == nullptr) {
    p.problem = std::string("Failed to load ") + dll + ": " + Win32Text(GetLastError());
  } else if ((p.address = reinterpret_cast<void*>(GetProcAddress(module, proc))) == nullptr) {
    p.problem = std::string("Failed to find ") + proc + " procedure in " + dll + ": " + Win32Text(GetLastError());
  }
  return p;
}

}  // namespace wcow::win
