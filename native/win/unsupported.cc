// Non-Windows builds: the Win32 surface exists with the same names so the
// TypeScript facade has one shape, and every call fails with a coded error.
#include "win/binding.h"

namespace wcow::win {

static Napi::Value Unsupported(const Napi::CallbackInfo& info) {
  Napi::Error err = Napi::Error::New(info.Env(), "the Windows Host Compute Service is not available on this platform");
  err.Set("code", Napi::String::New(info.Env(), "ERR_PLATFORM_UNSUPPORTED"));
  throw err;
}

void Register(Napi::Env env, Napi::Object target) {
  target.Set("available", Napi::Boolean::New(env, false));
  target.Set("probe", Napi::Function::New(env, Unsupported, "probe"));
}

}  // namespace wcow::win
