// computecore.dll: compute systems (open/close, modify, properties), processes
// in a utility VM, the HCS service calls, VM access grants.
//
// Operations follow hcsshim main (internal/hcs/v2, operation.go): an operation
// without callback, the call, then HcsWaitForOperationResult on the call's own
// thread; a call that fails to start still reports the partial result document.
#include <chrono>
#include <thread>
#include <vector>

#include "win/async.h"
#include "win/handles.h"
#include "win/surface.h"

namespace wcow::win {
namespace {

using Clock = std::chrono::steady_clock;

// Waits are cut into slices so a cancel() from JS or the caller's deadline is
// noticed within one slice without touching the operation from the JS thread.
constexpr DWORD kWaitSliceMs = 50;

struct Deadline {
  explicit Deadline(uint32_t timeout_ms)
      : infinite(timeout_ms == 0), at(Clock::now() + std::chrono::milliseconds(timeout_ms)) {}
  DWORD Slice() const {
    if (infinite) return kWaitSliceMs;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<DWORD>(left < kWaitSliceMs ? left : kWaitSliceMs);
  }
  bool Passed() const { return !infinite && Clock::now() >= at; }
  bool infinite;
  Clock::time_point at;
};

bool StillPending(HRESULT hr) { return hr == kHcsOperationTimeout || hr == kTimeout; }

class Operation {
 public:
  Operation() : handle_(HcsCreateOperation(nullptr, nullptr)) {}
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;
  ~Operation() { if (handle_ != nullptr) HcsCloseOperation(handle_); }
  HCS_OPERATION get() const { return handle_; }

 private:
  HCS_OPERATION handle_;
};

enum class WaitEnd { kDone, kCancelled, kTimedOut };

// Waits for `op` to finish; on cancel or deadline cancels it (hcsshim main does
// the same on timeout) and reports why.
WaitEnd WaitOperation(HCS_OPERATION op, const Cancellation& cancel, const Deadline& deadline, HRESULT* hr,
                      HcsString* doc, HCS_PROCESS_INFORMATION* process_info = nullptr) {
  for (;;) {
    *hr = process_info != nullptr ? HcsWaitForOperationResultAndProcessInfo(op, deadline.Slice(), process_info, doc->Out())
                                  : HcsWaitForOperationResult(op, deadline.Slice(), doc->Out());
    if (!StillPending(*hr)) return WaitEnd::kDone;
    if (cancel.requested || deadline.Passed()) {
      HcsCancelOperation(op);
      return cancel.requested ? WaitEnd::kCancelled : WaitEnd::kTimedOut;
    }
  }
}

Outcome Interrupted(const char* api, WaitEnd end, HRESULT hr) {
  if (end == WaitEnd::kCancelled) return Outcome::Fail(Failure{"ERR_ABORTED", api, std::string(api) + " was cancelled", S_OK, {}});
  return Outcome::Fail(HcsFailure(api, kHcsOperationTimeout));
}

uint32_t TimeoutArg(const Napi::CallbackInfo& info, size_t index) {
  if (index >= info.Length() || info[index].IsUndefined()) return 0;
  if (!info[index].IsNumber()) ThrowInvalid(info.Env(), "timeoutMs must be a number");
  double ms = info[index].As<Napi::Number>().DoubleValue();
  if (!(ms >= 0) || ms > 0xFFFFFFFEu) ThrowInvalid(info.Env(), "timeoutMs must be between 0 and 4294967294");
  return static_cast<uint32_t>(ms);
}

// The cached handle for `id`, opening it on first use.
bool AcquireSystem(Handles& handles, const std::wstring& id, std::shared_ptr<ComputeSystem>* system, Outcome* failure) {
  *system = handles.FindSystem(id);
  if (*system) return true;
  HCS_SYSTEM h = nullptr;
  HRESULT hr = HcsOpenComputeSystem(id.c_str(), GENERIC_ALL, &h);
  if (FAILED(hr)) {
    *failure = Outcome::Fail(HcsFailure("HcsOpenComputeSystem", hr));
    return false;
  }
  *system = handles.AddSystem(id, h);
  return true;
}

// Runs one operation-tracked call on a compute system and returns its result document.
Outcome SystemOperation(Handles& handles, const std::wstring& id, const char* api, const Cancellation& cancel,
                        uint32_t timeout_ms, const std::function<HRESULT(HCS_SYSTEM, HCS_OPERATION)>& call) {
  std::shared_ptr<ComputeSystem> system;
  Outcome failure;
  if (!AcquireSystem(handles, id, &system, &failure)) return failure;
  Operation op;
  if (op.get() == nullptr) return Outcome::Fail(HcsFailure("HcsCreateOperation", E_OUTOFMEMORY));
  HcsString doc;
  HRESULT hr = call(system->handle, op.get());
  if (FAILED(hr)) {
    HcsWaitForOperationResult(op.get(), 0, doc.Out());  // the partial result, when there is one
    return Outcome::Fail(HcsFailure(api, hr, doc.Utf8()));
  }
  WaitEnd end = WaitOperation(op.get(), cancel, Deadline(timeout_ms), &hr, &doc);
  if (end != WaitEnd::kDone) return Interrupted(api, end, hr);
  if (FAILED(hr)) return Outcome::Fail(HcsFailure(api, hr, doc.Utf8()));
  return Outcome::String(doc.Utf8());
}

// Reads a pipe to its end (the process closed it, or exited).
void Drain(HANDLE pipe, std::string* out) {
  if (pipe == nullptr || pipe == INVALID_HANDLE_VALUE) return;
  char buf[16384];
  DWORD n = 0;
  while (ReadFile(pipe, buf, sizeof buf, &n, nullptr) && n > 0) out->append(buf, n);
  CloseHandle(pipe);
}

void CloseIfSet(HANDLE h) {
  if (h != nullptr && h != INVALID_HANDLE_VALUE) CloseHandle(h);
}

struct ProcessResult {
  uint32_t process_id = 0;
  std::string exit_status;  // ProcessStatus JSON from HcsWaitForProcessExit
  std::string stdout_text;
  std::string stderr_text;
};

class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { if (handle != nullptr) HcsCloseProcess(handle); }
  HCS_PROCESS handle = nullptr;
};

Outcome RunProcess(Handles& handles, const std::wstring& id, const std::wstring& parameters, const Cancellation& cancel,
                   uint32_t timeout_ms) {
  std::shared_ptr<ComputeSystem> system;
  Outcome failure;
  if (!AcquireSystem(handles, id, &system, &failure)) return failure;
  Deadline deadline(timeout_ms);
  Process process;
  HCS_PROCESS_INFORMATION info{};
  {
    Operation op;
    if (op.get() == nullptr) return Outcome::Fail(HcsFailure("HcsCreateOperation", E_OUTOFMEMORY));
    HcsString doc;
    HRESULT hr = HcsCreateProcess(system->handle, parameters.c_str(), op.get(), nullptr, &process.handle);
    if (FAILED(hr)) {
      HcsWaitForOperationResult(op.get(), 0, doc.Out());
      return Outcome::Fail(HcsFailure("HcsCreateProcess", hr, doc.Utf8()));
    }
    // The create operation itself carries the std handles (the documented way
    // to get them for a process this caller created).
    WaitEnd end = WaitOperation(op.get(), cancel, deadline, &hr, &doc, &info);
    if (end != WaitEnd::kDone) return Interrupted("HcsCreateProcess", end, hr);
    if (FAILED(hr)) return Outcome::Fail(HcsFailure("HcsCreateProcess", hr, doc.Utf8()));
  }
  CloseIfSet(info.StdInput);  // nothing is written to the guest process
  ProcessResult result;
  result.process_id = info.ProcessId;
  // One reader per pipe: a process that fills stderr while we block on stdout
  // would otherwise never exit.
  std::thread out_reader(Drain, info.StdOutput, &result.stdout_text);
  std::thread err_reader(Drain, info.StdError, &result.stderr_text);

  HRESULT hr = S_OK;
  HcsString status;
  bool aborted = false;
  for (;;) {
    hr = HcsWaitForProcessExit(process.handle, deadline.Slice(), status.Out());
    if (!StillPending(hr)) break;
    if (cancel.requested || deadline.Passed()) {
      // An aborted exec must not leave the guest process running (hcsshim
      // kills it when the context ends); then wait for its exit as usual.
      aborted = true;
      Operation kill;
      if (kill.get() != nullptr && SUCCEEDED(HcsTerminateProcess(process.handle, kill.get(), nullptr))) {
        HcsWaitForOperationResult(kill.get(), 5000, nullptr);
      }
      hr = HcsWaitForProcessExit(process.handle, 5000, status.Out());
      break;
    }
  }
  out_reader.join();
  err_reader.join();
  if (aborted) return Interrupted("HcsWaitForProcessExit", cancel.requested ? WaitEnd::kCancelled : WaitEnd::kTimedOut, hr);
  if (FAILED(hr)) return Outcome::Fail(HcsFailure("HcsWaitForProcessExit", hr, status.Utf8()));
  result.exit_status = status.Utf8();
  return Outcome::Ok([result](Napi::Env env) -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    o.Set("processId", Napi::Number::New(env, result.process_id));
    o.Set("exitStatus", Napi::String::New(env, result.exit_status));
    o.Set("stdout", Napi::String::New(env, result.stdout_text));
    o.Set("stderr", Napi::String::New(env, result.stderr_text));
    return o;
  });
}

// HcsModifyServiceSettings / HcsGetServiceProperties: synchronous, one output
// that is the answer on success and the error document on failure.
Outcome ServiceCall(const char* api, HRESULT (WINAPI* fn)(PCWSTR, PWSTR*), const std::wstring& document) {
  HcsString result;
  HRESULT hr = fn(document.c_str(), result.Out());
  if (FAILED(hr)) return Outcome::Fail(HcsFailure(api, hr, result.Utf8()));
  return Outcome::String(result.Utf8());
}

Outcome AccessCall(const char* api, HRESULT (WINAPI* fn)(PCWSTR, PCWSTR), const std::wstring& vm_id,
                   const std::wstring& path) {
  HRESULT hr = fn(vm_id.c_str(), path.c_str());
  return FAILED(hr) ? Outcome::Fail(HcsFailure(api, hr)) : Outcome::Ok();
}

}  // namespace

Napi::Value JsOpenComputeSystem(const Napi::CallbackInfo& info) {
  std::wstring id = Utf16Arg(info, 0, "id");
  auto handles = HandlesOf(info.Env());
  // Always a fresh handle: a compute system re-created under the same id makes
  // a cached handle stale. It replaces the cached one (closed once unused).
  return Run(info.Env(), Dll::kComputeCore, "HcsOpenComputeSystem", [handles, id] {
    HCS_SYSTEM h = nullptr;
    HRESULT hr = HcsOpenComputeSystem(id.c_str(), GENERIC_ALL, &h);
    if (FAILED(hr)) return Outcome::Fail(HcsFailure("HcsOpenComputeSystem", hr));
    handles->ReplaceSystem(id, h);
    return Outcome::Ok();
  });
}

Napi::Value JsCloseComputeSystem(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), HandlesOf(info.Env())->RemoveSystem(Utf16Arg(info, 0, "id")));
}

Napi::Value JsModifyComputeSystem(const Napi::CallbackInfo& info) {
  std::wstring id = Utf16Arg(info, 0, "id");
  std::wstring configuration = Utf16Arg(info, 1, "configuration");
  uint32_t timeout = TimeoutArg(info, 2);
  auto handles = HandlesOf(info.Env());
  return RunCancellable(info.Env(), Dll::kComputeCore, "HcsModifyComputeSystem",
                        [handles, id, configuration, timeout](const Cancellation& cancel) {
                          return SystemOperation(*handles, id, "HcsModifyComputeSystem", cancel, timeout,
                                                 [&](HCS_SYSTEM s, HCS_OPERATION op) {
                                                   return HcsModifyComputeSystem(s, op, configuration.c_str(), nullptr);
                                                 });
                        });
}

Napi::Value JsGetComputeSystemProperties(const Napi::CallbackInfo& info) {
  std::wstring id = Utf16Arg(info, 0, "id");
  std::wstring query = Utf16Arg(info, 1, "query");
  uint32_t timeout = TimeoutArg(info, 2);
  auto handles = HandlesOf(info.Env());
  return RunCancellable(info.Env(), Dll::kComputeCore, "HcsGetComputeSystemProperties",
                        [handles, id, query, timeout](const Cancellation& cancel) {
                          return SystemOperation(*handles, id, "HcsGetComputeSystemProperties", cancel, timeout,
                                                 [&](HCS_SYSTEM s, HCS_OPERATION op) {
                                                   return HcsGetComputeSystemProperties(s, op, query.c_str());
                                                 });
                        });
}

Napi::Value JsCreateProcess(const Napi::CallbackInfo& info) {
  std::wstring id = Utf16Arg(info, 0, "id");
  std::wstring parameters = Utf16Arg(info, 1, "parameters");
  uint32_t timeout = TimeoutArg(info, 2);
  auto handles = HandlesOf(info.Env());
  return RunCancellable(info.Env(), Dll::kComputeCore, "HcsCreateProcess",
                        [handles, id, parameters, timeout](const Cancellation& cancel) {
                          return RunProcess(*handles, id, parameters, cancel, timeout);
                        });
}

Napi::Value JsModifyServiceSettings(const Napi::CallbackInfo& info) {
  std::wstring settings = Utf16Arg(info, 0, "settings");
  return Run(info.Env(), Dll::kComputeCore, "HcsModifyServiceSettings",
             [settings] { return ServiceCall("HcsModifyServiceSettings", HcsModifyServiceSettings, settings); });
}

Napi::Value JsGetServiceProperties(const Napi::CallbackInfo& info) {
  std::wstring query = Utf16Arg(info, 0, "query");
  return Run(info.Env(), Dll::kComputeCore, "HcsGetServiceProperties",
             [query] { return ServiceCall("HcsGetServiceProperties", HcsGetServiceProperties, query); });
}

Napi::Value JsGrantVmAccess(const Napi::CallbackInfo& info) {
  std::wstring vm_id = Utf16Arg(info, 0, "vmId");
  std::wstring path = Utf16Arg(info, 1, "path");
  return Run(info.Env(), Dll::kComputeCore, "HcsGrantVmAccess",
             [vm_id, path] { return AccessCall("HcsGrantVmAccess", HcsGrantVmAccess, vm_id, path); });
}

Napi::Value JsRevokeVmAccess(const Napi::CallbackInfo& info) {
  std::wstring vm_id = Utf16Arg(info, 0, "vmId");
  std::wstring path = Utf16Arg(info, 1, "path");
  return Run(info.Env(), Dll::kComputeCore, "HcsRevokeVmAccess",
             [vm_id, path] { return AccessCall("HcsRevokeVmAccess", HcsRevokeVmAccess, vm_id, path); });
}

}  // namespace wcow::win
