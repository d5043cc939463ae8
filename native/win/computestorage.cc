// computestorage.dll: writable-layer setup, the layer storage filter, and the
// calls that work on a virtdisk handle (format, mount path, base OS layer).
// All synchronous in the API; each runs on its own thread.
#include "win/async.h"
#include "win/handles.h"
#include "win/surface.h"

namespace wcow::win {

namespace {

Outcome Checked(const char* api, HRESULT hr) { return FAILED(hr) ? Outcome::Fail(HcsFailure(api, hr)) : Outcome::Ok(); }

std::wstring OptionalUtf16Arg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  return index < info.Length() && !info[index].IsUndefined() ? Utf16Arg(info, index, what) : std::wstring();
}

// computestorage takes NULL, not "", for an absent options document.
PCWSTR OrNull(const std::wstring& s) { return s.empty() ? nullptr : s.c_str(); }

}  // namespace

Napi::Value JsInitializeWritableLayer(const Napi::CallbackInfo& info) {
  std::wstring path = Utf16Arg(info, 0, "writableLayerPath");
  std::wstring layer_data = Utf16Arg(info, 1, "layerData");
  std::wstring options = OptionalUtf16Arg(info, 2, "options");
  return Run(info.Env(), Dll::kComputeStorage, "HcsInitializeWritableLayer", [path, layer_data, options] {
    return Checked("HcsInitializeWritableLayer", HcsInitializeWritableLayer(path.c_str(), layer_data.c_str(), OrNull(options)));
  });
}

Napi::Value JsAttachLayerStorageFilter(const Napi::CallbackInfo& info) {
  std::wstring path = Utf16Arg(info, 0, "layerPath");
  std::wstring layer_data = Utf16Arg(info, 1, "layerData");
  return Run(info.Env(), Dll::kComputeStorage, "HcsAttachLayerStorageFilter", [path, layer_data] {
    return Checked("HcsAttachLayerStorageFilter", HcsAttachLayerStorageFilter(path.c_str(), layer_data.c_str()));
  });
}

Napi::Value JsDetachLayerStorageFilter(const Napi::CallbackInfo& info) {
  std::wstring path = Utf16Arg(info, 0, "layerPath");
  return Run(info.Env(), Dll::kComputeStorage, "HcsDetachLayerStorageFilter", [path] {
    return Checked("HcsDetachLayerStorageFilter", HcsDetachLayerStorageFilter(path.c_str()));
  });
}

Napi::Value JsFormatWritableLayerVhd(const Napi::CallbackInfo& info) {
  auto disk = HandleArg(info, 0, "disk");
  return Run(info.Env(), Dll::kComputeStorage, "HcsFormatWritableLayerVhd", [disk] {
    return Checked("HcsFormatWritableLayerVhd", HcsFormatWritableLayerVhd(disk->handle));
  });
}

Napi::Value JsGetLayerVhdMountPath(const Napi::CallbackInfo& info) {
  auto disk = HandleArg(info, 0, "disk");
  return Run(info.Env(), Dll::kComputeStorage, "HcsGetLayerVhdMountPath", [disk] {
    HcsString mount_path;
    HRESULT hr = HcsGetLayerVhdMountPath(disk->handle, mount_path.Out());
    if (FAILED(hr)) return Outcome::Fail(HcsFailure("HcsGetLayerVhdMountPath", hr));
    return Outcome::String(mount_path.Utf8());
  });
}

Napi::Value JsSetupBaseOsLayer(const Napi::CallbackInfo& info) {
  std::wstring path = Utf16Arg(info, 0, "layerPath");
  auto disk = HandleArg(info, 1, "disk");
  std::wstring options = Utf16Arg(info, 2, "options");
  return Run(info.Env(), Dll::kComputeStorage, "HcsSetupBaseOSLayer", [path, disk, options] {
    return Checked("HcsSetupBaseOSLayer", HcsSetupBaseOSLayer(path.c_str(), disk->handle, options.c_str()));
  });
}

// HcsAttachOverlayFilter / HcsDetachOverlayFilter(volumePath, layerData): the UnionFS filter of
// process-isolated CimFS (hcsshim main computestorage/attach.go:49-68, detach.go:35-54). Looked up
// on first use (dlls.h Lazy): a computestorage.dll without them still serves everything else.
namespace {

using OverlayFn = HRESULT(WINAPI*)(PCWSTR volume_path, PCWSTR layer_data);

Napi::Value OverlayCall(const Napi::CallbackInfo& info, const char* api) {
  std::wstring volume = Utf16Arg(info, 0, "volumePath");
  std::wstring layer_data = Utf16Arg(info, 1, "layerData");
  return Run(info.Env(), api, [api, volume, layer_data] {
    const LazyProc& p = Lazy(L"computestorage.dll", "computestorage.dll", api);
    if (p.address == nullptr) return Outcome::Fail(Failure{"ERR_HCS", api, p.problem, S_OK, {}});
    return Checked(api, reinterpret_cast<OverlayFn>(p.address)(volume.c_str(), layer_data.c_str()));
  });
}

}  // namespace

Napi::Value JsAttachOverlayFilter(const Napi::CallbackInfo& info) { return OverlayCall(info, "HcsAttachOverlayFilter"); }

Napi::Value JsDetachOverlayFilter(const Napi::CallbackInfo& info) { return OverlayCall(info, "HcsDetachOverlayFilter"); }

}  // namespace wcow::win
