// Non-Windows builds: the Win32 surface exists with the same names (surface.h)
// so the TypeScript facade has one shape, and every call fails with a coded
// error. probe() answers, so callers can ask why without catching.
#include "win/binding.h"

#include "win/surface.h"

namespace wcow::win {

static Napi::Value Unsupported(const Napi::CallbackInfo& info) {
  Napi::Error err = Napi::Error::New(info.Env(), "the Windows Host Compute Service is not available on this platform");
  err.Set("code", Napi::String::New(info.Env(), "ERR_PLATFORM_UNSUPPORTED"));
  throw err;
}

static Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  for (const char* dll : {"computecore.dll", "computestorage.dll", "virtdisk.dll", "vmcompute.dll"}) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("available", Napi::Boolean::New(env, false));
    entry.Set("problem", Napi::String::New(env, "not a Windows build"));
    out.Set(dll, entry);
  }
  return out;
}

void Register(Napi::Env env, Napi::Object target) {
  target.Set("available", Napi::Boolean::New(env, false));
  target.Set("probe", Napi::Function::New(env, Probe, "probe"));
#define WCOW_REGISTER(js, cpp) target.Set(#js, Napi::Function::New(env, Unsupported, #js));
  WCOW_WIN_FUNCTIONS(WCOW_REGISTER)
#undef WCOW_REGISTER
}

}  // namespace wcow::win
