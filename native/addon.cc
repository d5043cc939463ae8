// Module registration: the portable VHDX engine on every OS, the Win32 surface
// (HCS, computestorage, virtdisk, vmcompute) only where it exists — elsewhere
// native/win/unsupported.cc registers the same names, each failing with
// ERR_PLATFORM_UNSUPPORTED, so lib/native.ts has one shape to type.
#include <napi.h>

#include "vhdx/binding.h"
#include "win/binding.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  wcow::vhdx::Register(env, exports);
  Napi::Object win = Napi::Object::New(env);
  wcow::win::Register(env, win);
  exports.Set("win", win);
  return exports;
}

NODE_API_MODULE(wcow_resources, Init)
