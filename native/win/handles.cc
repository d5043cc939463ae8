#include "win/handles.h"

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

uint32_t Handles::AddDisk(HANDLE handle) {
  auto disk = std::make_shared<VirtualDisk>(handle);
  std::lock_guard<std::mutex> lock(mutex_);
  uint32_t id = next_disk_++;
  disks_.emplace(id, std::move(disk));
  return id;
}

std::shared_ptr<VirtualDisk> Handles::FindDisk(uint32_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = disks_.find(id);
  return it == disks_.end() ? nullptr : it->second;
}

bool Handles::RemoveDisk(uint32_t id) {
  std::shared_ptr<VirtualDisk> dropped;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = disks_.find(id);
  if (it == disks_.end()) return false;
  dropped = std::move(it->second);
  disks_.erase(it);
  return true;
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
