// virtdisk.dll: create (dynamic or differencing), open, attach, detach VHDX and
// ask for the attached disk's physical path. Parameter blocks come from
// compat.h (SDK layouts). Like go-winio, the storage type is left zeroed so
// virtdisk infers it from the extension, and access is VIRTUAL_DISK_ACCESS_NONE,
// which Version2 parameters require.
#include <vector>

#include "win/async.h"
#include "win/handles.h"
#include "win/surface.h"

namespace wcow::win {
namespace {

uint32_t U32Option(const Napi::Object& options, const char* key, uint32_t fallback) {
  Napi::Value v = options.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) ThrowInvalid(options.Env(), std::string(key) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 0xFFFFFFFFu) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    ThrowInvalid(options.Env(), std::string(key) + " must be a 32-bit unsigned integer");
  }
  return static_cast<uint32_t>(d);
}

bool BoolOption(const Napi::Object& options, const char* key) {
  Napi::Value v = options.Get(key);
  return !v.IsUndefined() && v.ToBoolean().Value();
}

Napi::Object OptionsArg(const Napi::CallbackInfo& info, size_t index) {
  if (index >= info.Length() || info[index].IsUndefined()) return Napi::Object::New(info.Env());
  if (!info[index].IsObject()) ThrowInvalid(info.Env(), "options must be an object");
  return info[index].As<Napi::Object>();
}

Outcome Win32Result(const char* api, DWORD code) {
  return code == ERROR_SUCCESS ? Outcome::Ok() : Outcome::Fail(HcsFailure(api, HresultFromWin32(code)));
}

Napi::Value DiskId(Napi::Env env, uint32_t id) { return Napi::Number::New(env, id); }

}  // namespace

Napi::Value JsCreateVirtualDisk(const Napi::CallbackInfo& info) {
  std::wstring path = Utf16Arg(info, 0, "path");
  Napi::Object options = OptionsArg(info, 1);
  Napi::Value size = options.Get("maximumSize");
  bool lossless = true;
  uint64_t maximum_size = size.IsBigInt() ? size.As<Napi::BigInt>().Uint64Value(&lossless)
                          : size.IsNumber() ? static_cast<uint64_t>(size.As<Napi::Number>().Int64Value())
                                            : 0;
  if (!lossless) ThrowInvalid(info.Env(), "maximumSize must fit in 64 bits");
  Napi::Value parent = options.Get("parentPath");
  std::wstring parent_path;
  if (!parent.IsUndefined()) {
    if (!parent.IsString()) ThrowInvalid(info.Env(), "parentPath must be a string");
    std::u16string p = parent.As<Napi::String>().Utf16Value();
    parent_path.assign(p.begin(), p.end());
  }
  // A differencing disk takes its size from the parent; a base disk needs one.
  if (parent_path.empty() && maximum_size == 0) ThrowInvalid(info.Env(), "maximumSize is required without parentPath");
  CreateVirtualDiskParametersV2 params{};
  params.Version = kCreateVirtualDiskVersion2;
  params.Version2.MaximumSize = maximum_size;
  params.Version2.BlockSizeInBytes = U32Option(options, "blockSizeInBytes", 0);
  params.Version2.SectorSizeInBytes = U32Option(options, "sectorSizeInBytes", 0);
  params.Version2.PhysicalSectorSizeInBytes = U32Option(options, "physicalSectorSizeInBytes", 0);
  params.Version2.OpenFlags = U32Option(options, "openFlags", 0);
  uint32_t flags = U32Option(options, "flags", 0);
  auto handles = HandlesOf(info.Env());
  return Run(info.Env(), Dll::kVirtDisk, "CreateVirtualDisk", [handles, path, parent_path, params, flags]() mutable {
    params.Version2.ParentPath = parent_path.empty() ? nullptr : parent_path.c_str();
    VIRTUAL_STORAGE_TYPE type{};
    HANDLE h = nullptr;
    DWORD code = ::CreateVirtualDisk(&type, path.c_str(), VIRTUAL_DISK_ACCESS_NONE, nullptr,
                                     static_cast<CREATE_VIRTUAL_DISK_FLAG>(flags), 0,
                                     reinterpret_cast<PCREATE_VIRTUAL_DISK_PARAMETERS>(&params), nullptr, &h);
    if (code != ERROR_SUCCESS) return Outcome::Fail(HcsFailure("CreateVirtualDisk", HresultFromWin32(code)));
    uint32_t id = handles->AddHandle(h);
    return Outcome::Ok([id](Napi::Env env) { return DiskId(env, id); });
  });
}

Napi::Value JsOpenVirtualDisk(const Napi::CallbackInfo& info) {
  std::wstring path = Utf16Arg(info, 0, "path");
  Napi::Object options = OptionsArg(info, 1);
  OpenVirtualDiskParametersV2 params{};
  params.Version = kOpenVirtualDiskVersion2;
  params.GetInfoOnly = BoolOption(options, "getInfoOnly");
  params.ReadOnly = BoolOption(options, "readOnly");
  uint32_t flags = U32Option(options, "flags", 0);
  auto handles = HandlesOf(info.Env());
  return Run(info.Env(), Dll::kVirtDisk, "OpenVirtualDisk", [handles, path, params, flags]() mutable {
    VIRTUAL_STORAGE_TYPE type{};
    HANDLE h = nullptr;
    DWORD code = ::OpenVirtualDisk(&type, path.c_str(), VIRTUAL_DISK_ACCESS_NONE,
                                   static_cast<OPEN_VIRTUAL_DISK_FLAG>(flags),
                                   reinterpret_cast<POPEN_VIRTUAL_DISK_PARAMETERS>(&params), &h);
    if (code != ERROR_SUCCESS) return Outcome::Fail(HcsFailure("OpenVirtualDisk", HresultFromWin32(code)));
    uint32_t id = handles->AddHandle(h);
    return Outcome::Ok([id](Napi::Env env) { return DiskId(env, id); });
  });
}

Napi::Value JsAttachVirtualDisk(const Napi::CallbackInfo& info) {
  auto disk = HandleArg(info, 0, "disk");
  Napi::Object options = OptionsArg(info, 1);
  uint32_t flags = U32Option(options, "flags", 0);
  // Version 0: no parameter block at all, as hcsshim's ExpandScratchSize attaches.
  uint32_t version = U32Option(options, "version", kAttachVirtualDiskVersion2);
  if (version != 0 && version != kAttachVirtualDiskVersion2) ThrowInvalid(info.Env(), "version must be 0 or 2");
  return Run(info.Env(), Dll::kVirtDisk, "AttachVirtualDisk", [disk, flags, version] {
    AttachVirtualDiskParametersV2 params{};
    params.Version = kAttachVirtualDiskVersion2;
    auto* block = version == 0 ? nullptr : reinterpret_cast<PATTACH_VIRTUAL_DISK_PARAMETERS>(&params);
    return Win32Result("AttachVirtualDisk",
                       ::AttachVirtualDisk(disk->handle, nullptr, static_cast<ATTACH_VIRTUAL_DISK_FLAG>(flags), 0, block, nullptr));
  });
}

Napi::Value JsDetachVirtualDisk(const Napi::CallbackInfo& info) {
  auto disk = HandleArg(info, 0, "disk");
  return Run(info.Env(), Dll::kVirtDisk, "DetachVirtualDisk", [disk] {
    return Win32Result("DetachVirtualDisk", ::DetachVirtualDisk(disk->handle, DETACH_VIRTUAL_DISK_FLAG_NONE, 0));
  });
}

Napi::Value JsGetVirtualDiskPhysicalPath(const Napi::CallbackInfo& info) {
  auto disk = HandleArg(info, 0, "disk");
  return Run(info.Env(), Dll::kVirtDisk, "GetVirtualDiskPhysicalPath", [disk] {
    std::vector<wchar_t> buffer(MAX_PATH);
    for (;;) {
      ULONG bytes = static_cast<ULONG>(buffer.size() * sizeof(wchar_t));
      DWORD code = ::GetVirtualDiskPhysicalPath(disk->handle, &bytes, buffer.data());
      if (code == ERROR_INSUFFICIENT_BUFFER) {
        buffer.resize(bytes / sizeof(wchar_t) + 1);
        continue;
      }
      if (code != ERROR_SUCCESS) return Outcome::Fail(HcsFailure("GetVirtualDiskPhysicalPath", HresultFromWin32(code)));
      return Outcome::String(Utf8(buffer.data()));
    }
  });
}

}  // namespace wcow::win
