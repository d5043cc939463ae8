// cimfs.dll: CimMountImage / CimDismountImage, as process-isolated CimFS mounts a forked CIM at
// the container's volume GUID (hcsshim main pkg/cimfs/mount_cim.go:36-72). No import library
// exists for cimfs.dll: both are looked up on first use (dlls.h Lazy), and a machine without
// the DLL fails the call with hcsshim's "Failed to load cimfs.dll: …". Each call runs on a
// thread of its own, like the rest of the surface.
#include "win/async.h"
#include "win/surface.h"

namespace wcow::win {
namespace {

// HRESULT CimMountImage(PCWSTR imageContainingPath, PCWSTR imageName, CIM_MOUNT_IMAGE_FLAGS, const GUID* volumeId)
using CimMountImageFn = HRESULT(WINAPI*)(PCWSTR image_path, PCWSTR image_name, ULONG flags, const GUID* volume_id);
// HRESULT CimDismountImage(const GUID* volumeId)
using CimDismountImageFn = HRESULT(WINAPI*)(const GUID* volume_id);

const LazyProc& CimProc(const char* name) { return Lazy(L"cimfs.dll", "cimfs.dll", name); }

GUID GuidArg(const Napi::CallbackInfo& info, size_t index) {
  GUID guid{};
  if (!ParseGuid(Utf16Arg(info, index, "volumeGuid"), &guid)) ThrowInvalid(info.Env(), "volumeGuid must be a GUID");
  return guid;
}

Outcome Checked(const char* api, HRESULT hr) { return FAILED(hr) ? Outcome::Fail(HcsFailure(api, hr)) : Outcome::Ok(); }

Outcome Missing(const char* api, const LazyProc& p) { return Outcome::Fail(Failure{"ERR_HCS", api, p.problem, S_OK, {}}); }

}  // namespace

Napi::Value JsCimMountImage(const Napi::CallbackInfo& info) {
  std::wstring image_path = Utf16Arg(info, 0, "imagePath");
  std::wstring image_name = Utf16Arg(info, 1, "fsName");
  if (info.Length() < 3 || !info[2].IsNumber()) ThrowInvalid(info.Env(), "flags must be a number");
  ULONG flags = info[2].As<Napi::Number>().Uint32Value();
  GUID guid = GuidArg(info, 3);
  return Run(info.Env(), "CimMountImage", [image_path, image_name, flags, guid] {
    const LazyProc& p = CimProc("CimMountImage");
    if (p.address == nullptr) return Missing("CimMountImage", p);
    auto fn = reinterpret_cast<CimMountImageFn>(p.address);
    return Checked("CimMountImage", fn(image_path.c_str(), image_name.c_str(), flags, &guid));
  });
}

Napi::Value JsCimDismountImage(const Napi::CallbackInfo& info) {
  GUID guid = GuidArg(info, 0);
  return Run(info.Env(), "CimDismountImage", [guid] {
    const LazyProc& p = CimProc("CimDismountImage");
    if (p.address == nullptr) return Missing("CimDismountImage", p);
    return Checked("CimDismountImage", reinterpret_cast<CimDismountImageFn>(p.address)(&guid));
  });
}

}  // namespace wcow::win
