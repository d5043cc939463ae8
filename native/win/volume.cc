// The scratch volume, as hcsshim main's ExpandScratchSize grows it
// (internal/wclayer/expandscratchsize.go): open the volume device, read its
// partition's length, read the file system's size, extend the file system.
// kernel32 only (always present); each call runs on its own thread like every
// other call that may block, and handles live in the addon's table (handles.h),
// freed with closeHandle.
#include "win/async.h"
#include "win/handles.h"
#include "win/surface.h"
// After <windows.h> (compat.h), which WIN32_LEAN_AND_MEAN keeps from including it.
#include <winioctl.h>

namespace wcow::win {
namespace {

Failure IoFailure(const char* op, DWORD code) {
  return Failure{"ERR_IO", op, std::string(op) + " failed", HresultFromWin32(code), {}};
}

Napi::Value BigUint(Napi::Env env, uint64_t v) { return Napi::BigInt::New(env, v); }

}  // namespace

Napi::Value JsOpenVolume(const Napi::CallbackInfo& info) {
  std::wstring path = Utf16Arg(info, 0, "path");
  auto handles = HandlesOf(info.Env());
  return Run(info.Env(), "CreateFile", [handles, path] {
    // Go's os.OpenFile(O_RDWR): read and write access, read/write sharing.
    HANDLE h = CreateFileW(path.c_str(), GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                           OPEN_EXISTING, 0, nullptr);
    if (h == INVALID_HANDLE_VALUE) return Outcome::Fail(IoFailure("CreateFile", GetLastError()));
    uint32_t id = handles->AddHandle(h);
    return Outcome::Ok([id](Napi::Env env) { return Napi::Number::New(env, id); });
  });
}

Napi::Value JsDiskLengthInfo(const Napi::CallbackInfo& info) {
  auto volume = HandleArg(info, 0, "volume");
  return Run(info.Env(), "DeviceIoControl", [volume] {
    GET_LENGTH_INFORMATION length{};
    DWORD bytes = 0;
    if (!DeviceIoControl(volume->handle, IOCTL_DISK_GET_LENGTH_INFO, nullptr, 0, &length, sizeof length, &bytes, nullptr)) {
      return Outcome::Fail(IoFailure("IOCTL_DISK_GET_LENGTH_INFO", GetLastError()));
    }
    uint64_t v = static_cast<uint64_t>(length.Length.QuadPart);
    return Outcome::Ok([v](Napi::Env env) { return BigUint(env, v); });
  });
}

Napi::Value JsExtendVolume(const Napi::CallbackInfo& info) {
  auto volume = HandleArg(info, 0, "volume");
  if (info.Length() < 2 || !info[1].IsBigInt()) ThrowInvalid(info.Env(), "sectors must be a bigint");
  bool lossless = true;
  int64_t sectors = info[1].As<Napi::BigInt>().Int64Value(&lossless);
  if (!lossless || sectors <= 0) ThrowInvalid(info.Env(), "sectors must be a positive 64-bit count");
  return Run(info.Env(), "DeviceIoControl", [volume, sectors] {
    // FSCTL_EXTEND_VOLUME takes the new size as a LONGLONG count of 512-byte sectors.
    LONGLONG in = sectors;
    DWORD bytes = 0;
    if (!DeviceIoControl(volume->handle, FSCTL_EXTEND_VOLUME, &in, sizeof in, nullptr, 0, &bytes, nullptr)) {
      return Outcome::Fail(IoFailure("FSCTL_EXTEND_VOLUME", GetLastError()));
    }
    return Outcome::Ok();
  });
}

Napi::Value JsGetDiskFreeSpaceEx(const Napi::CallbackInfo& info) {
  std::wstring path = Utf16Arg(info, 0, "path");
  return Run(info.Env(), "GetDiskFreeSpaceEx", [path] {
    // Only the total, as hcsshim asks (the other two outputs NULL).
    ULARGE_INTEGER total{};
    if (!GetDiskFreeSpaceExW(path.c_str(), nullptr, &total, nullptr)) {
      return Outcome::Fail(IoFailure("GetDiskFreeSpaceEx", GetLastError()));
    }
    uint64_t v = total.QuadPart;
    return Outcome::Ok([v](Napi::Env env) { return BigUint(env, v); });
  });
}

Napi::Value JsCloseHandle(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) ThrowInvalid(info.Env(), "handle must be a handle number");
  return Napi::Boolean::New(info.Env(), HandlesOf(info.Env())->RemoveHandle(info[0].As<Napi::Number>().Uint32Value()));
}

}  // namespace wcow::win
