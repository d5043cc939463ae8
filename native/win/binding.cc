// Windows build of the Win32 surface: registers the functions named in
// surface.h and reports which DLLs this machine has.
#include "win/binding.h"

#include "win/dlls.h"
#include "win/surface.h"

namespace wcow::win {
namespace {

Napi::Value JsProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  for (Dll dll : kAllDlls) {
    const DllStatus& s = Status(dll);
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("available", Napi::Boolean::New(env, s.available));
    if (!s.available) entry.Set("problem", Napi::String::New(env, s.problem));
    out.Set(s.name, entry);
  }
  return out;
}

}  // namespace

void Register(Napi::Env env, Napi::Object target) {
  bool all = true;
  for (Dll dll : kAllDlls) all = all && Available(dll);
  target.Set("available", Napi::Boolean::New(env, all));
  target.Set("probe", Napi::Function::New(env, JsProbe, "probe"));
#define WCOW_REGISTER(js, cpp) target.Set(#js, Napi::Function::New(env, Js##cpp, #js));
  WCOW_WIN_FUNCTIONS(WCOW_REGISTER)
#undef WCOW_REGISTER
}

}  // namespace wcow::win
