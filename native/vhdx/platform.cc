#include "vhdx/platform.h"

#include <algorithm>
#include <cerrno>
#include <random>

#include "vhdx/error.h"

#ifdef _WIN32
#include <windows.h>
#include <winioctl.h>

#include "vhdx/text.h"
#else
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace wcow::vhdx {

namespace {

struct ErrnoName {
  const char* name;
  const char* description;
};

// Names as Node reports them (uv_err_name), so `errno` reads the same whichever
// layer failed.
ErrnoName NameOf(int posix_errno);

[[noreturn]] void ThrowIo(int posix_errno, const char* syscall, const std::string& path) {
  ErrnoName n = NameOf(posix_errno);
  throw Error(ErrorCode::kIo, std::string(n.name) + ": " + n.description + ", " + syscall + " '" + path + "'", path,
              n.name);
}

ErrnoName NameOf(int e) {
  switch (e) {
    case ENOENT: return {"ENOENT", "no such file or directory"};
    case EEXIST: return {"EEXIST", "file already exists"};
    case EACCES: return {"EACCES", "permission denied"};
    case EPERM: return {"EPERM", "operation not permitted"};
    case ENOSPC: return {"ENOSPC", "no space left on device"};
    case EISDIR: return {"EISDIR", "illegal operation on a directory"};
    case ENOTDIR: return {"ENOTDIR", "not a directory"};
    case EROFS: return {"EROFS", "read-only file system"};
    case EBUSY: return {"EBUSY", "resource busy or locked"};
    case EMFILE: return {"EMFILE", "too many open files"};
    case ENAMETOOLONG: return {"ENAMETOOLONG", "name too long"};
    case EFBIG: return {"EFBIG", "file too large"};
    case EINVAL: return {"EINVAL", "invalid argument"};
    case EXDEV: return {"EXDEV", "cross-device link not permitted"};
    case ENOMEM: return {"ENOMEM", "not enough memory"};
    case EIO: return {"EIO", "i/o error"};
    default: return {"UNKNOWN", "unknown error"};
  }
}

}  // namespace

#ifdef _WIN32

namespace {

std::wstring Wide(const std::string& path) {
  std::u16string u = Utf8ToUtf16(path, "path");
  return std::wstring(u.begin(), u.end());
}

// Win32 error codes under the errno names Node gives them (libuv's
// uv_translate_sys_error), so callers see one vocabulary on every OS.
int PosixErrnoOf(DWORD error) {
  switch (error) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
      return ENOENT;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
      return EEXIST;
    case ERROR_ACCESS_DENIED:
      return EACCES;
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
      return EBUSY;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
      return ENOSPC;
    case ERROR_WRITE_PROTECT:
      return EROFS;
    case ERROR_TOO_MANY_OPEN_FILES:
      return EMFILE;
    case ERROR_FILENAME_EXCED_RANGE:
      return ENAMETOOLONG;
    case ERROR_DIRECTORY:
      return ENOTDIR;
    case ERROR_NOT_SAME_DEVICE:
      return EXDEV;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
      return ENOMEM;
    case ERROR_INVALID_PARAMETER:
      return EINVAL;
    default:
      return EIO;
  }
}

[[noreturn]] void ThrowLastError(const char* syscall, const std::string& path) {
  ThrowIo(PosixErrnoOf(GetLastError()), syscall, path);
}

OVERLAPPED At(uint64_t offset) {
  OVERLAPPED o{};
  o.Offset = static_cast<DWORD>(offset);
  o.OffsetHigh = static_cast<DWORD>(offset >> 32);
  return o;
}

constexpr size_t kMaxChunk = 1u << 30;

}  // namespace

File::File(const std::string& path, Mode mode) : path_(path) {
  DWORD access = mode == Mode::kRead ? GENERIC_READ : GENERIC_READ | GENERIC_WRITE;
  DWORD disposition = mode == Mode::kCreateNew ? CREATE_NEW : OPEN_EXISTING;
  // Without FILE_FLAG_BACKUP_SEMANTICS a directory fails to open; a pipe opens
  // without waiting (ERROR_PIPE_BUSY at worst) and is refused below.
  HANDLE h = CreateFileW(Wide(path).c_str(), access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                         disposition, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) ThrowLastError("open", path);
  DWORD type = GetFileType(h);
  if (type != FILE_TYPE_DISK) {
    CloseHandle(h);
    ThrowCorrupt(path, std::string("'") + path + "' is a " + (type == FILE_TYPE_PIPE ? "pipe" : "device") +
                           ", not a regular file");
  }
  handle_ = h;
}

File::~File() { CloseHandle(static_cast<HANDLE>(handle_)); }

size_t File::ReadAt(uint64_t offset, void* buffer, size_t length) const {
  size_t done = 0;
  while (done < length) {
    DWORD want = static_cast<DWORD>(std::min(length - done, kMaxChunk));
    DWORD got = 0;
    OVERLAPPED o = At(offset + done);
    if (!ReadFile(static_cast<HANDLE>(handle_), static_cast<uint8_t*>(buffer) + done, want, &got, &o)) {
      if (GetLastError() == ERROR_HANDLE_EOF) break;
      ThrowLastError("read", path_);
    }
    if (got == 0) break;
    done += got;
  }
  return done;
}

void File::WriteAt(uint64_t offset, const void* buffer, size_t length) {
  size_t done = 0;
  while (done < length) {
    DWORD want = static_cast<DWORD>(std::min(length - done, kMaxChunk));
    DWORD put = 0;
    OVERLAPPED o = At(offset + done);
    if (!WriteFile(static_cast<HANDLE>(handle_), static_cast<const uint8_t*>(buffer) + done, want, &put, &o)) {
      ThrowLastError("write", path_);
    }
    done += put;
  }
}

uint64_t File::Size() const {
  LARGE_INTEGER size;
  if (!GetFileSizeEx(static_cast<HANDLE>(handle_), &size)) ThrowLastError("stat", path_);
  return static_cast<uint64_t>(size.QuadPart);
}

uint64_t File::NextData(uint64_t offset, uint64_t* end) const {
  // FSCTL_QUERY_ALLOCATED_RANGES could skip NTFS holes; reading them costs
  // time only (the BAT is read in 1 MiB pieces either way).
  *end = Size();
  return offset;
}

void File::SetSize(uint64_t size) {
  FILE_END_OF_FILE_INFO info{};
  info.EndOfFile.QuadPart = static_cast<LONGLONG>(size);
  if (!SetFileInformationByHandle(static_cast<HANDLE>(handle_), FileEndOfFileInfo, &info, sizeof info)) {
    ThrowLastError("ftruncate", path_);
  }
}

void File::Flush() {
  if (!FlushFileBuffers(static_cast<HANDLE>(handle_))) ThrowLastError("fsync", path_);
}

void File::MakeSparse() {
  DWORD returned = 0;
  DeviceIoControl(static_cast<HANDLE>(handle_), FSCTL_SET_SPARSE, nullptr, 0, nullptr, 0, &returned, nullptr);
}

void RenameFile(const std::string& from, const std::string& to, bool replace) {
  DWORD flags = MOVEFILE_WRITE_THROUGH | (replace ? MOVEFILE_REPLACE_EXISTING : 0);
  if (!MoveFileExW(Wide(from).c_str(), Wide(to).c_str(), flags)) {
    DWORD error = GetLastError();
    if (!replace && (error == ERROR_ALREADY_EXISTS || error == ERROR_FILE_EXISTS)) {
      throw Error(ErrorCode::kExists, "VHDX '" + to + "' already exists", to);
    }
    ThrowIo(PosixErrnoOf(error), "rename", to);
  }
}

void RemoveFileQuietly(const std::string& path) noexcept {
  try {
    DeleteFileW(Wide(path).c_str());
  } catch (...) {
  }
}

bool PathExists(const std::string& path) { return GetFileAttributesW(Wide(path).c_str()) != INVALID_FILE_ATTRIBUTES; }

void FlushDirectoryOf(const std::string&) {}

#else  // POSIX

File::File(const std::string& path, Mode mode) : path_(path) {
  // O_NONBLOCK: opening a FIFO returns at once instead of waiting for a
  // writer; on a regular file it changes nothing.
  int flags = O_CLOEXEC | O_NONBLOCK | (mode == Mode::kRead ? O_RDONLY : O_RDWR);
  if (mode == Mode::kCreateNew) flags |= O_CREAT | O_EXCL;
  fd_ = ::open(path.c_str(), flags, 0666);
  if (fd_ < 0) ThrowIo(errno, "open", path);
  // O_CREAT | O_EXCL made a new regular file (it fails on anything that exists, a link
  // included): nothing to check, and a create makes no call the floor does not (issue 14).
  if (mode == Mode::kCreateNew) return;
  struct stat st;
  int e = ::fstat(fd_, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
  if (e != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    if (e != 0) ThrowIo(e, "open", path);
    const char* kind = S_ISFIFO(st.st_mode) ? "FIFO" : S_ISSOCK(st.st_mode) ? "socket" : "device";
    ThrowCorrupt(path, "'" + path + "' is a " + kind + ", not a regular file");
  }
}

File::~File() { ::close(fd_); }

size_t File::ReadAt(uint64_t offset, void* buffer, size_t length) const {
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd_, static_cast<uint8_t*>(buffer) + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowIo(errno, "read", path_);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

void File::WriteAt(uint64_t offset, const void* buffer, size_t length) {
  size_t done = 0;
  while (done < length) {
    ssize_t n =
        ::pwrite(fd_, static_cast<const uint8_t*>(buffer) + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowIo(errno, "write", path_);
    }
    done += static_cast<size_t>(n);
  }
}

uint64_t File::Size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) ThrowIo(errno, "stat", path_);
  return static_cast<uint64_t>(st.st_size);
}

uint64_t File::NextData(uint64_t offset, uint64_t* end) const {
  *end = Size();
#ifdef SEEK_DATA
  off_t data = ::lseek(fd_, static_cast<off_t>(offset), SEEK_DATA);
  if (data < 0) return errno == ENXIO ? *end : offset;  // ENXIO: only a hole follows; else no SEEK_DATA here
  off_t hole = ::lseek(fd_, data, SEEK_HOLE);
  if (hole > data) *end = static_cast<uint64_t>(hole);
  return static_cast<uint64_t>(data);
#else
  return offset;
#endif
}

void File::SetSize(uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) ThrowIo(errno, "ftruncate", path_);
}

void File::Flush() {
  if (::fsync(fd_) != 0) ThrowIo(errno, "fsync", path_);
}

void File::MakeSparse() {}

void RenameFile(const std::string& from, const std::string& to, bool replace) {
  if (replace) {
    if (::rename(from.c_str(), to.c_str()) != 0) ThrowIo(errno, "rename", to);
    return;
  }
  // link() fails atomically when `to` exists; rename() would replace it.
  if (::link(from.c_str(), to.c_str()) == 0) {
    ::unlink(from.c_str());
    return;
  }
  int e = errno;
  if (e == EEXIST) throw Error(ErrorCode::kExists, "VHDX '" + to + "' already exists", to);
  // File systems without hard links (FAT, some FUSE mounts): check, then rename.
  if (e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == ENOSYS) {
    if (PathExists(to)) throw Error(ErrorCode::kExists, "VHDX '" + to + "' already exists", to);
    if (::rename(from.c_str(), to.c_str()) == 0) return;
    e = errno;
  }
  ThrowIo(e, "rename", to);
}

void RemoveFileQuietly(const std::string& path) noexcept { ::unlink(path.c_str()); }

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

void FlushDirectoryOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) ThrowIo(errno, "open", dir);
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) ThrowIo(e, "fsync", dir);
}

#endif

void RandomBytes(uint8_t* out, size_t length) {
  // std::random_device draws from the OS generator on every toolchain we build
  // with (getrandom//dev/urandom on Linux, rand_s with mingw-w64 and MSVC).
  // One per thread: opening the device per call cost more than the bytes.
  thread_local std::random_device rd;
  for (size_t i = 0; i < length; i += 4) {
    uint32_t v = rd();
    for (size_t k = 0; k < 4 && i + k < length; ++k) out[i + k] = static_cast<uint8_t>(v >> (8 * k));
  }
}

}  // namespace wcow::vhdx
