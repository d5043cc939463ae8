// The engine's one exception type. binding.cc turns it into a JS Error with
// own properties `code`, `errno`, `resource` that lib/native.ts maps to a
// WcowError subclass; nothing else in the engine knows about JavaScript.
#pragma once
#include <stdexcept>
#include <string>

namespace wcow::vhdx {

enum class ErrorCode { kExists, kCorrupt, kInvalidArgument, kIo };

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, std::string resource = {}, std::string errno_name = {})
      : std::runtime_error(message), code_(code), resource_(std::move(resource)), errno_(std::move(errno_name)) {}
  ErrorCode code() const { return code_; }
  const std::string& resource() const { return resource_; }
  const std::string& errno_name() const { return errno_; }

 private:
  ErrorCode code_;
  std::string resource_;
  std::string errno_;
};

[[noreturn]] inline void ThrowCorrupt(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::kCorrupt, "corrupt VHDX '" + path + "': " + what, path);
}

[[noreturn]] inline void ThrowInvalid(const std::string& what, const std::string& resource = {}) {
  throw Error(ErrorCode::kInvalidArgument, what, resource);
}

}  // namespace wcow::vhdx
