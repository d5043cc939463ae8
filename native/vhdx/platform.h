// The engine's only contact with the operating system: positional file I/O,
// rename/unlink, and random bytes. POSIX and Win32 implementations live side
// by side in platform.cc; paths are UTF-8 everywhere and become UTF-16 only
// inside the Win32 branch. Failures throw Error(kIo) carrying the errno name
// (Win32 error codes are mapped to the same names).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace wcow::vhdx {

class File {
 public:
  enum class Mode { kRead, kReadWrite, kCreateNew };
  // Opens regular files only: the open cannot block (a FIFO would hold a
  // libuv worker until a writer came), and anything but a file is refused
  // (a directory with EISDIR, as Node reports it; a FIFO, socket or device as
  // ErrorCode::kCorrupt: not a VHDX file).
  File(const std::string& path, Mode mode);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // Reads up to `length` bytes; returns how many were read (short only at end of file).
  size_t ReadAt(uint64_t offset, void* buffer, size_t length) const;
  void WriteAt(uint64_t offset, const void* buffer, size_t length);
  uint64_t Size() const;
  // The first byte at or after `offset` that may hold data, and in `*end`
  // where that data stops: holes of a sparse file read zero and can be
  // skipped. Without hole support: `offset` itself, `*end` the file's size.
  uint64_t NextData(uint64_t offset, uint64_t* end) const;
  void SetSize(uint64_t size);
  void Flush();
  // Lets unwritten ranges stay unallocated. POSIX files are sparse already;
  // NTFS needs FSCTL_SET_SPARSE (best effort: FAT has no sparse files).
  void MakeSparse();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
#ifdef _WIN32
  void* handle_;
#else
  int fd_;
#endif
};

// Renames `from` to `to`. Without `replace`, an existing `to` fails with
// ErrorCode::kExists and `from` is left in place.
void RenameFile(const std::string& from, const std::string& to, bool replace);
// Best effort, for cleanup paths that already report another error.
void RemoveFileQuietly(const std::string& path) noexcept;
bool PathExists(const std::string& path);
// Makes a rename in the directory of `path` durable (POSIX: fsync the
// directory; NTFS metadata journaling already covers it).
void FlushDirectoryOf(const std::string& path);
void RandomBytes(uint8_t* out, size_t length);

}  // namespace wcow::vhdx
