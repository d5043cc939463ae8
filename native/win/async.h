// How the Win32 surface runs: argument conversion, coded errors, and calls
// that complete off the event loop.
//
// Every call that can block (HCS operations, vmcompute layer calls, virtdisk)
// runs on a thread of its own, never on the libuv pool: HCS waits can take
// minutes, and four of them would starve fs and dns for the whole process.
// The thread hands its outcome back through a thread-safe function; the
// promise is settled on the JS thread. The native layer stays thin: it
// passes JSON/UTF-8 strings through, and failures carry `code`, `hresult`,
// `result` and `op` as own properties for lib/native.ts to map.
#pragma once
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "win/compat.h"
#include "win/dlls.h"

namespace wcow::win {

// ---- strings ----
std::wstring Utf16Arg(const Napi::CallbackInfo& info, size_t index, const char* what);
std::string Utf8(const wchar_t* s, size_t length = static_cast<size_t>(-1));
std::string HresultHex(HRESULT hr);  // "0x80070015"
std::string GuidString(const GUID& guid);  // lower case, no braces
bool ParseGuid(const std::wstring& text, GUID* guid);

// A UTF-16 string allocated by HCS (freed with LocalFree, as its docs require).
class HcsString {
 public:
  HcsString() = default;
  HcsString(const HcsString&) = delete;
  HcsString& operator=(const HcsString&) = delete;
  ~HcsString() { Reset(); }
  PWSTR* Out() { Reset(); return &value_; }
  std::string Utf8() const { return value_ == nullptr ? std::string() : win::Utf8(value_); }
 private:
  void Reset() { if (value_ != nullptr) LocalFree(value_); value_ = nullptr; }
  PWSTR value_ = nullptr;
};

// ---- outcomes ----
struct Failure {
  std::string code;      // ERR_HCS, ERR_IO, ERR_PLATFORM_UNSUPPORTED, ERR_ABORTED, ERR_INTERNAL
  std::string op;        // the Win32 function that failed
  std::string message;
  HRESULT hresult = S_OK;  // set as `hresult` when not S_OK
  std::string result;    // the HCS result document (UTF-8 JSON), when HCS returned one
};

Failure HcsFailure(const char* op, HRESULT hr, std::string result = {});
Failure UnsupportedFailure(Dll dll);

// What a worker produced: a value (built on the JS thread) or a failure.
struct Outcome {
  std::optional<Failure> failure;
  std::function<Napi::Value(Napi::Env)> value;  // empty: undefined

  static Outcome Ok(std::function<Napi::Value(Napi::Env)> value = nullptr) { return {std::nullopt, std::move(value)}; }
  static Outcome Fail(Failure failure) { return {std::move(failure), nullptr}; }
  static Outcome String(std::string s);
};

Napi::Error MakeError(Napi::Env env, const Failure& failure);
[[noreturn]] void ThrowInvalid(Napi::Env env, const std::string& message);

// Set from the JS thread by cancel(); the worker polls it between waits and
// then cancels the HCS operation itself, so no HCS handle is ever touched
// from two threads.
struct Cancellation {
  std::atomic<bool> requested{false};
};

// Runs `work` on a dedicated thread after checking that `dll` is present.
// Returns a promise; rejects with ERR_PLATFORM_UNSUPPORTED when it is not.
Napi::Promise Run(Napi::Env env, Dll dll, const char* name, std::function<Outcome()> work);

// As Run, for calls into kernel32 only (always present).
Napi::Promise Run(Napi::Env env, const char* name, std::function<Outcome()> work);

// As Run, for HCS operations that can be aborted: returns `{ promise, cancel }`.
Napi::Object RunCancellable(Napi::Env env, Dll dll, const char* name,
                            std::function<Outcome(const Cancellation&)> work);

}  // namespace wcow::win
