// vmcompute.dll: the graph-driver layer calls and NameToGuid, which have no
// computecore/computestorage replacement (docs/layers.md#creating-the-scratch). Resolved at run time
// (dlls.cc). DriverInfo is hcsshim's {FilterDriver, HomeDir ""}: with an empty
// home directory every `id` argument is the layer's full folder path.
#include <mutex>
#include <vector>

#include "win/async.h"
#include "win/surface.h"

namespace wcow::win {
namespace {

DriverInfo StdDriverInfo() { return DriverInfo{1, L""}; }

struct Descriptors {
  std::vector<GUID> ids;
  std::vector<ULONG> flags;
  std::vector<std::wstring> paths;

  // The WC_LAYER_DESCRIPTOR array, pointing into `paths` (valid while this lives).
  std::vector<WcLayerDescriptor> Build() const {
    std::vector<WcLayerDescriptor> out(paths.size());
    for (size_t i = 0; i < paths.size(); ++i) out[i] = WcLayerDescriptor{ids[i], flags[i], paths[i].c_str()};
    return out;
  }
};

// [{ layerId, flags, path }] as hcsshim's layerPathsToDescriptors builds them.
Descriptors DescriptorsArg(const Napi::CallbackInfo& info, size_t index) {
  if (index >= info.Length() || !info[index].IsArray()) ThrowInvalid(info.Env(), "layers must be an array");
  Napi::Array array = info[index].As<Napi::Array>();
  Descriptors d;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsObject()) ThrowInvalid(info.Env(), "each layer must be an object");
    Napi::Object o = item.As<Napi::Object>();
    Napi::Value id = o.Get("layerId"), flags = o.Get("flags"), path = o.Get("path");
    if (!id.IsString() || !path.IsString() || !(flags.IsUndefined() || flags.IsNumber())) {
      ThrowInvalid(info.Env(), "a layer is { layerId: string, flags: number, path: string }");
    }
    std::u16string id16 = id.As<Napi::String>().Utf16Value();
    GUID guid;
    if (!ParseGuid(std::wstring(id16.begin(), id16.end()), &guid)) ThrowInvalid(info.Env(), "layerId must be a GUID");
    std::u16string path16 = path.As<Napi::String>().Utf16Value();
    d.ids.push_back(guid);
    d.flags.push_back(flags.IsUndefined() ? 0 : flags.As<Napi::Number>().Uint32Value());
    d.paths.emplace_back(path16.begin(), path16.end());
  }
  return d;
}

Outcome Checked(const char* api, HRESULT hr) { return FAILED(hr) ? Outcome::Fail(HcsFailure(api, hr)) : Outcome::Ok(); }

// hcsshim serializes PrepareLayer process-wide: "temporary workaround for a
// Windows bug" (internal/wclayer/preparelayer.go:15,39-40).
std::mutex prepare_layer_mutex;

using LayerFn = HRESULT(WINAPI*)(DriverInfo*, PCWSTR);

Napi::Value LayerCall(const Napi::CallbackInfo& info, const char* api, LayerFn VmComputeApi::*fn) {
  std::wstring path = Utf16Arg(info, 0, "path");
  return Run(info.Env(), Dll::kVmCompute, api, [api, fn, path] {
    DriverInfo di = StdDriverInfo();
    return Checked(api, (VmCompute().*fn)(&di, path.c_str()));
  });
}

}  // namespace

Napi::Value JsNameToGuid(const Napi::CallbackInfo& info) {
  std::wstring name = Utf16Arg(info, 0, "name");
  return Run(info.Env(), Dll::kVmCompute, "NameToGuid", [name] {
    GUID guid{};
    HRESULT hr = VmCompute().NameToGuid(name.c_str(), &guid);
    if (FAILED(hr)) return Outcome::Fail(HcsFailure("NameToGuid", hr));
    return Outcome::String(GuidString(guid));
  });
}

Napi::Value JsActivateLayer(const Napi::CallbackInfo& info) {
  return LayerCall(info, "ActivateLayer", &VmComputeApi::ActivateLayer);
}

Napi::Value JsDeactivateLayer(const Napi::CallbackInfo& info) {
  return LayerCall(info, "DeactivateLayer", &VmComputeApi::DeactivateLayer);
}

Napi::Value JsUnprepareLayer(const Napi::CallbackInfo& info) {
  return LayerCall(info, "UnprepareLayer", &VmComputeApi::UnprepareLayer);
}

Napi::Value JsPrepareLayer(const Napi::CallbackInfo& info) {
  std::wstring path = Utf16Arg(info, 0, "path");
  Descriptors parents = DescriptorsArg(info, 1);
  return Run(info.Env(), Dll::kVmCompute, "PrepareLayer", [path, parents] {
    DriverInfo di = StdDriverInfo();
    std::vector<WcLayerDescriptor> layers = parents.Build();
    std::lock_guard<std::mutex> lock(prepare_layer_mutex);
    return Checked("PrepareLayer", VmCompute().PrepareLayer(&di, path.c_str(), layers.empty() ? nullptr : layers.data(),
                                                            layers.size()));
  });
}

Napi::Value JsCreateSandboxLayer(const Napi::CallbackInfo& info) {
  std::wstring path = Utf16Arg(info, 0, "path");
  Descriptors parents = DescriptorsArg(info, 1);
  return Run(info.Env(), Dll::kVmCompute, "CreateSandboxLayer", [path, parents] {
    DriverInfo di = StdDriverInfo();
    std::vector<WcLayerDescriptor> layers = parents.Build();
    // parentId is NULL, as hcsshim passes it.
    return Checked("CreateSandboxLayer", VmCompute().CreateSandboxLayer(
                                             &di, path.c_str(), nullptr, layers.empty() ? nullptr : layers.data(),
                                             layers.size()));
  });
}

Napi::Value JsGetLayerMountPath(const Napi::CallbackInfo& info) {
  std::wstring path = Utf16Arg(info, 0, "path");
  return Run(info.Env(), Dll::kVmCompute, "GetLayerMountPath", [path] {
    DriverInfo di = StdDriverInfo();
    // First call asks for the length; zero means "no mount path", not an error
    // (internal/wclayer/getlayermountpath.go:19-51).
    ULONG_PTR length = 0;
    HRESULT hr = VmCompute().GetLayerMountPath(&di, path.c_str(), &length, nullptr);
    if (FAILED(hr)) return Outcome::Fail(HcsFailure("GetLayerMountPath", hr));
    if (length == 0) return Outcome::String(std::string());
    std::vector<wchar_t> buffer(length + 1, L'\0');
    hr = VmCompute().GetLayerMountPath(&di, path.c_str(), &length, buffer.data());
    if (FAILED(hr)) return Outcome::Fail(HcsFailure("GetLayerMountPath", hr));
    return Outcome::String(Utf8(buffer.data()));  // up to the first NUL
  });
}

Napi::Value JsExpandSandboxSize(const Napi::CallbackInfo& info) {
  std::wstring path = Utf16Arg(info, 0, "path");
  if (info.Length() < 2 || !info[1].IsBigInt()) ThrowInvalid(info.Env(), "size must be a bigint");
  bool lossless = true;
  uint64_t size = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) ThrowInvalid(info.Env(), "size must fit in 64 bits");
  return Run(info.Env(), Dll::kVmCompute, "ExpandSandboxSize", [path, size] {
    DriverInfo di = StdDriverInfo();
    return Checked("ExpandSandboxSize", VmCompute().ExpandSandboxSize(&di, path.c_str(), size));
  });
}

Napi::Value JsVmcomputeGrantVmAccess(const Napi::CallbackInfo& info) {
  std::wstring vm_id = Utf16Arg(info, 0, "vmId");
  std::wstring path = Utf16Arg(info, 1, "path");
  return Run(info.Env(), Dll::kVmCompute, "GrantVmAccess", [vm_id, path] {
    return Checked("GrantVmAccess", VmCompute().GrantVmAccess(vm_id.c_str(), path.c_str()));
  });
}

}  // namespace wcow::win
