// Node-API surface of the portable VHDX engine.
#pragma once
#include <napi.h>

namespace wcow::vhdx {
void Register(Napi::Env env, Napi::Object exports);
}
