// resolvePath: go-winio fs.ResolvePath, which hcsshim applies to the scratch
// VHD before attaching it (docs/layers.md#scratch-on-scsi): the final path of the open file,
// by volume GUID (`\\?\Volume{…}\layers\s1\sandbox.vhdx`) — what HCS receives.
#include <vector>

#include "win/async.h"
#include "win/surface.h"

namespace wcow::win {
namespace {

class File {
 public:
  explicit File(HANDLE h) : handle(h) {}
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() { if (handle != INVALID_HANDLE_VALUE) CloseHandle(handle); }
  HANDLE handle;
};

DWORD FinalPath(HANDLE h, DWORD flags, std::wstring* out) {
  std::vector<wchar_t> buffer(MAX_PATH);
  for (;;) {
    DWORD n = GetFinalPathNameByHandleW(h, buffer.data(), static_cast<DWORD>(buffer.size()), flags);
    if (n == 0) return GetLastError();
    if (n < buffer.size()) {
      out->assign(buffer.data(), n);
      return ERROR_SUCCESS;
    }
    buffer.resize(n + 1);  // n is the size needed, terminator included
  }
}

}  // namespace

Napi::Value JsResolvePath(const Napi::CallbackInfo& info) {
  std::wstring path = Utf16Arg(info, 0, "path");
  return Run(info.Env(), "resolvePath", [path] {
    // FILE_ANY_ACCESS with backup semantics opens directories too and needs no
    // rights on the file's contents (go-winio openMetadata).
    File file(CreateFileW(path.c_str(), 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                          OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, nullptr));
    if (file.handle == INVALID_HANDLE_VALUE) {
      return Outcome::Fail(Failure{"ERR_IO", "CreateFile", "failed to resolve path: CreateFile failed",
                                   HresultFromWin32(GetLastError()), {}});
    }
    std::wstring resolved;
    DWORD code = FinalPath(file.handle, FILE_NAME_NORMALIZED | VOLUME_NAME_GUID, &resolved);
    // A volume without a GUID path (some network or subst drives) falls back to
    // the DOS name; a path component we may not read falls back to the opened name.
    if (code == ERROR_PATH_NOT_FOUND) code = FinalPath(file.handle, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS, &resolved);
    if (code == ERROR_ACCESS_DENIED) code = FinalPath(file.handle, FILE_NAME_OPENED | VOLUME_NAME_GUID, &resolved);
    if (code != ERROR_SUCCESS) {
      return Outcome::Fail(Failure{"ERR_IO", "GetFinalPathNameByHandle",
                                   "failed to resolve path: GetFinalPathNameByHandle failed", HresultFromWin32(code), {}});
    }
    if (resolved.rfind(L"\\\\?\\UNC\\", 0) == 0) resolved = L"\\\\" + resolved.substr(8);
    return Outcome::String(Utf8(resolved.c_str(), resolved.size()));
  });
}

}  // namespace wcow::win
