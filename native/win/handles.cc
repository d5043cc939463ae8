#include "win/handles.h"

#include "win/async.h"

namespace wcow::win {

std::shared_ptr<ComputeSystem> Handles::FindSystem(const std::wstring& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = systems_.find(id);
  return it == systems_.end() ? nullptr : it->second;
}

std::shared_ptr<ComputeSystem> Handles::AddSystem(const std::wstring& id, HCS_SYSTEM handle) {
  auto fresh = std::make_shared<ComputeSystem>(handle);
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, inserted] = systems_.emplace(id, fresh);
  return it->second;
}

void Handles::ReplaceSystem(const std::wstring& id, HCS_SYSTEM handle) {
  auto fresh = std::make_shared<ComputeSystem>(handle);
  std::shared_ptr<ComputeSystem> dropped;  // closed outside the lock
  std::lock_guard<std::mutex> lock(mutex_);
  std::shared_ptr<ComputeSystem>& slot = systems_[id];
  dropped = std::move(slot);
  slot = std::move(fresh);
}

bool Handles::RemoveSystem(const std::wstring& id) {
  std::shared_ptr<ComputeSystem> dropped;  // closed outside the lock
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = systems_.find(id);
  if (it == systems_.end()) return false;
  dropped = std::move(it->second);
  systems_.erase(it);
  return true;
}

uint32_t Handles::AddHandle(HANDLE handle) {
  auto owned = std::make_shared<OwnedHandle>(handle);
  std::lock_guard<std::mutex> lock(mutex_);
  uint32_t id = next_handle_++;
  handles_.emplace(id, std::move(owned));
  return id;
}

std::shared_ptr<OwnedHandle> Handles::FindHandle(uint32_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = handles_.find(id);
  return it == handles_.end() ? nullptr : it->second;
}

bool Handles::RemoveHandle(uint32_t id) {
  std::shared_ptr<OwnedHandle> dropped;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = handles_.find(id);
  if (it == handles_.end()) return false;
  dropped = std::move(it->second);
  handles_.erase(it);
  return true;
}

std::shared_ptr<OwnedHandle> HandleArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (index >= info.Length() || !info[index].IsNumber()) ThrowInvalid(info.Env(), std::string(what) + " must be a handle number");
  auto owned = HandlesOf(info.Env())->FindHandle(info[index].As<Napi::Number>().Uint32Value());
  if (!owned) ThrowInvalid(info.Env(), std::string(what) + " handle is closed or unknown");
  return owned;
}

std::shared_ptr<Handles> HandlesOf(Napi::Env env) {
  // Keyed by napi_env rather than instance data, which the VHDX engine may use.
  static std::mutex mutex;
  static std::map<napi_env, std::shared_ptr<Handles>> tables;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = tables.find(env);
  if (it != tables.end()) return it->second;
  auto table = std::make_shared<Handles>();
  tables.emplace(env, table);
  env.AddCleanupHook([raw = static_cast<napi_env>(env)] {
    std::shared_ptr<Handles> dropped;
    std::lock_guard<std::mutex> lock(mutex);
    auto found = tables.find(raw);
    if (found != tables.end()) {
      dropped = std::move(found->second);
      tables.erase(found);
    }
  });
  return table;
}

}  // namespace wcow::win
