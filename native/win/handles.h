// Handles the addon keeps for JS, per environment (main thread, each worker
// thread): compute systems cached by id, kernel handles (virtual disks,
// volumes) by a number. Workers
// hold a shared_ptr while they use a handle, so close() from JS during a call
// only drops the table's reference and the handle is closed when the call ends.
// The environment's cleanup hook drops the table, closing what JS left open.
#pragma once
#include <napi.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "win/compat.h"

namespace wcow::win {

struct ComputeSystem {
  explicit ComputeSystem(HCS_SYSTEM h) : handle(h) {}
  ComputeSystem(const ComputeSystem&) = delete;
  ComputeSystem& operator=(const ComputeSystem&) = delete;
  ~ComputeSystem() { HcsCloseComputeSystem(handle); }
  HCS_SYSTEM handle;
};

// A kernel handle closed with CloseHandle: a virtual disk (closing it detaches a
// disk attached without PERMANENT_LIFETIME) or a volume.
struct OwnedHandle {
  explicit OwnedHandle(HANDLE h) : handle(h) {}
  OwnedHandle(const OwnedHandle&) = delete;
  OwnedHandle& operator=(const OwnedHandle&) = delete;
  ~OwnedHandle() { CloseHandle(handle); }
  HANDLE handle;
};

class Handles {
 public:
  std::shared_ptr<ComputeSystem> FindSystem(const std::wstring& id);
  // Keeps the first handle when two opens of one id race; the other is closed.
  std::shared_ptr<ComputeSystem> AddSystem(const std::wstring& id, HCS_SYSTEM handle);
  // Caches `handle` for `id`, dropping the one cached before.
  void ReplaceSystem(const std::wstring& id, HCS_SYSTEM handle);
  bool RemoveSystem(const std::wstring& id);

  uint32_t AddHandle(HANDLE handle);
  std::shared_ptr<OwnedHandle> FindHandle(uint32_t id);
  bool RemoveHandle(uint32_t id);

 private:
  std::mutex mutex_;
  std::map<std::wstring, std::shared_ptr<ComputeSystem>> systems_;
  std::map<uint32_t, std::shared_ptr<OwnedHandle>> handles_;
  uint32_t next_handle_ = 1;
};

// This environment's table (created on first use).
std::shared_ptr<Handles> HandlesOf(Napi::Env env);

// The open handle named by argument `index`, `what` naming it in the error
// (throws ERR_INVALID_ARGUMENT).
std::shared_ptr<OwnedHandle> HandleArg(const Napi::CallbackInfo& info, size_t index, const char* what);

}  // namespace wcow::win
