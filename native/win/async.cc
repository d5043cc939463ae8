#include "win/async.h"

#include <process.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace wcow::win {

// ---- strings ----

std::wstring Utf16Arg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (index >= info.Length() || !info[index].IsString()) ThrowInvalid(info.Env(), std::string(what) + " must be a string");
  // Napi gives UTF-16 directly: lossless for every path, including unpaired surrogates.
  std::u16string u16 = info[index].As<Napi::String>().Utf16Value();
  if (u16.find(u'\0') != std::u16string::npos) ThrowInvalid(info.Env(), std::string(what) + " must not contain NUL");
  return std::wstring(u16.begin(), u16.end());
}

std::string Utf8(const wchar_t* s, size_t length) {
  int n = length == static_cast<size_t>(-1) ? -1 : static_cast<int>(length);
  int bytes = WideCharToMultiByte(CP_UTF8, 0, s, n, nullptr, 0, nullptr, nullptr);
  if (bytes <= 0) return std::string();
  std::string out(static_cast<size_t>(bytes), '\0');
  WideCharToMultiByte(CP_UTF8, 0, s, n, out.data(), bytes, nullptr, nullptr);
  if (n == -1) out.pop_back();  // the converted terminator
  return out;
}

std::string HresultHex(HRESULT hr) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08lX", static_cast<unsigned long>(static_cast<uint32_t>(hr)));
  return buf;
}

std::string GuidString(const GUID& g) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                static_cast<unsigned long>(g.Data1), g.Data2, g.Data3, g.Data4[0], g.Data4[1], g.Data4[2],
                g.Data4[3], g.Data4[4], g.Data4[5], g.Data4[6], g.Data4[7]);
  return buf;
}

bool ParseGuid(const std::wstring& text, GUID* guid) {
  std::wstring s = text;
  if (s.size() == 38 && s.front() == L'{' && s.back() == L'}') s = s.substr(1, 36);
  if (s.size() != 36) return false;
  uint8_t bytes[16];
  size_t b = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != L'-') return false;
      ++i;
      continue;
    }
    int v = 0;
    for (int k = 0; k < 2; ++k, ++i) {
      wchar_t c = s[i];
      int d = c >= L'0' && c <= L'9' ? c - L'0' : c >= L'a' && c <= L'f' ? c - L'a' + 10 : c >= L'A' && c <= L'F' ? c - L'A' + 10 : -1;
      if (d < 0) return false;
      v = v * 16 + d;
    }
    bytes[b++] = static_cast<uint8_t>(v);
  }
  // The text is big-endian; GUID's first three fields are little-endian integers.
  guid->Data1 = (uint32_t(bytes[0]) << 24) | (uint32_t(bytes[1]) << 16) | (uint32_t(bytes[2]) << 8) | bytes[3];
  guid->Data2 = static_cast<uint16_t>((bytes[4] << 8) | bytes[5]);
  guid->Data3 = static_cast<uint16_t>((bytes[6] << 8) | bytes[7]);
  for (int i = 0; i < 8; ++i) guid->Data4[i] = bytes[8 + i];
  return true;
}

// ---- outcomes and errors ----

Failure HcsFailure(const char* op, HRESULT hr, std::string result) {
  return Failure{"ERR_HCS", op, std::string(op) + " failed with HRESULT " + HresultHex(hr), hr, std::move(result)};
}

Failure UnsupportedFailure(Dll dll) {
  const DllStatus& s = Status(dll);
  return Failure{"ERR_PLATFORM_UNSUPPORTED", "", "the Windows Host Compute Service is not available: " + s.problem,
                 S_OK, {}};
}

Outcome Outcome::String(std::string s) {
  return Ok([s = std::move(s)](Napi::Env env) -> Napi::Value { return Napi::String::New(env, s); });
}

Napi::Error MakeError(Napi::Env env, const Failure& f) {
  Napi::Error err = Napi::Error::New(env, f.message);
  err.Set("code", Napi::String::New(env, f.code));
  if (!f.op.empty()) err.Set("op", Napi::String::New(env, f.op));
  if (f.hresult != S_OK) err.Set("hresult", Napi::String::New(env, HresultHex(f.hresult)));
  if (!f.result.empty()) {
    // The result document goes to JS as an object, like the simulated host's.
    Napi::Object json = env.Global().Get("JSON").As<Napi::Object>();
    try {
      err.Set("result", json.Get("parse").As<Napi::Function>().Call(json, {Napi::String::New(env, f.result)}));
    } catch (const Napi::Error&) {
      // Not JSON (should not happen with HCS): keep it readable in the message.
      err.Set("message", Napi::String::New(env, f.message + ": " + f.result));
    }
  }
  return err;
}

void ThrowInvalid(Napi::Env env, const std::string& message) {
  Napi::Error err = Napi::TypeError::New(env, message);
  err.Set("code", Napi::String::New(env, "ERR_INVALID_ARGUMENT"));
  throw err;
}

// ---- running off the event loop ----
namespace {

struct Job {
  Napi::Promise::Deferred deferred;
  Outcome outcome;
};

void Settle(Napi::Env env, Napi::Function, std::nullptr_t*, Job* job) {
  std::unique_ptr<Job> owned(job);
  if (env == nullptr) return;  // the environment is going away: nobody waits for the promise
  try {
    if (job->outcome.failure) {
      job->deferred.Reject(MakeError(env, *job->outcome.failure).Value());
    } else {
      job->deferred.Resolve(job->outcome.value ? job->outcome.value(env) : env.Undefined());
    }
  } catch (const Napi::Error& e) {
    job->deferred.Reject(e.Value());
  }
}

using Settler = Napi::TypedThreadSafeFunction<std::nullptr_t, Job, Settle>;

// The worker is a plain Win32 thread, not a detached std::thread: in
// mingw-w64's winpthreads, detach() of a thread that has already returned from
// its routine puts its descriptor back in the pool while the thread's
// DLL_THREAD_DETACH callback still points at it; the callback then "cleans up"
// the descriptor again after it was handed to a new thread (closes that
// thread's handles, re-pools it while it runs). Seen as hangs and crashes
// (handles closed under sockets and pipes) and as a worker whose pthread_self()
// equalled the pipe reader it had just started (join() -> EDEADLK ->
// std::terminate). Threads that are only joined (the readers) are safe.
unsigned __stdcall RunWorker(void* arg) {
  std::unique_ptr<std::function<void()>> body(static_cast<std::function<void()>*>(arg));
  (*body)();
  return 0;
}

Napi::Promise Start(Napi::Env env, const char* name, std::function<Outcome()> work) {
  auto* job = new Job{Napi::Promise::Deferred::New(env), {}};
  Napi::Promise promise = job->deferred.Promise();
  Settler settler = Settler::New(env, name, 0, 1);
  auto* body = new std::function<void()>([settler, job, work = std::move(work)]() mutable {
    try {
      job->outcome = work();
    } catch (const std::exception& e) {
      job->outcome = Outcome::Fail(Failure{"ERR_INTERNAL", "", e.what(), S_OK, {}});
    }
    // Fails only while the environment shuts down; then the job is ours to drop.
    if (settler.BlockingCall(job) != napi_ok) delete job;
    settler.Release();
  });
  uintptr_t thread = _beginthreadex(nullptr, 0, RunWorker, body, 0, nullptr);
  if (thread == 0) {
    int error = errno;
    delete body;
    settler.Release();
    delete job;
    throw Napi::Error::New(env, std::string("cannot start a thread for ") + name + ": " + std::strerror(error));
  }
  CloseHandle(reinterpret_cast<HANDLE>(thread));  // nobody joins it
  return promise;
}

Napi::Promise Rejected(Napi::Env env, const Failure& failure) {
  Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
  d.Reject(MakeError(env, failure).Value());
  return d.Promise();
}

}  // namespace

Napi::Promise Run(Napi::Env env, Dll dll, const char* name, std::function<Outcome()> work) {
  if (!Available(dll)) return Rejected(env, UnsupportedFailure(dll));
  return Start(env, name, std::move(work));
}

Napi::Promise Run(Napi::Env env, const char* name, std::function<Outcome()> work) {
  return Start(env, name, std::move(work));
}

Napi::Object RunCancellable(Napi::Env env, Dll dll, const char* name,
                            std::function<Outcome(const Cancellation&)> work) {
  auto cancellation = std::make_shared<Cancellation>();
  Napi::Object op = Napi::Object::New(env);
  op.Set("cancel", Napi::Function::New(env, [cancellation](const Napi::CallbackInfo&) {
           cancellation->requested = true;
         }, "cancel"));
  if (!Available(dll)) {
    op.Set("promise", Rejected(env, UnsupportedFailure(dll)));
    return op;
  }
  op.Set("promise", Start(env, name, [cancellation, work = std::move(work)] { return work(*cancellation); }));
  return op;
}

}  // namespace wcow::win
