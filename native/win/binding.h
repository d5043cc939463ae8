// Win32 surface of the addon. Implemented by binding.cc on Windows and by
// unsupported.cc elsewhere.
#pragma once
#include <napi.h>

namespace wcow::win {
void Register(Napi::Env env, Napi::Object target);
}
