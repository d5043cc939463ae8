/* Stand-in virtdisk.dll. It reads the parameter blocks at the Windows SDK's
 * byte offsets (not through any header), so a caller using mingw's wrong
 * CREATE_VIRTUAL_DISK_PARAMETERS layout sends the server a garbage parent path.
 * Handles are real (event) handles: callers close them with CloseHandle. */
#define _WIN32_WINNT 0x0600 /* keep mingw's <windows.h> from declaring virtdisk's functions */
#include <stdlib.h>
#include <string.h>

#include "forward.h"

#define EXPORT __declspec(dllexport)

static unsigned u32_at(const void *base, size_t off) { unsigned v; memcpy(&v, (const char *)base + off, 4); return v; }
static unsigned long long u64_at(const void *base, size_t off) { unsigned long long v; memcpy(&v, (const char *)base + off, 8); return v; }
static PCWSTR ptr_at(const void *base, size_t off) { PCWSTR v; memcpy(&v, (const char *)base + off, sizeof v); return v; }

static DWORD win32_of(HRESULT hr) { return SUCCEEDED(hr) ? ERROR_SUCCESS : (DWORD)(hr & 0xFFFF); }

static DWORD forward_new_handle(const char *fn, int argc, const char *const *a, HANDLE *handle) {
  *handle = CreateEventW(NULL, TRUE, FALSE, NULL);
  char h[24];
  wcow_u64(h, (unsigned long long)(ULONG_PTR)*handle);
  const char *args[12];
  args[0] = h;
  for (int i = 0; i < argc; i++) args[i + 1] = a[i];
  wcow_reply r;
  HRESULT hr = wcow_call(fn, argc + 1, args, &r);
  wcow_reply_free(&r);
  if (FAILED(hr)) {
    CloseHandle(*handle);
    *handle = NULL;
  }
  return win32_of(hr);
}

EXPORT DWORD WINAPI CreateVirtualDisk(void *type, PCWSTR path, DWORD access, void *sd, DWORD flags, ULONG provider_flags,
                                      const void *params, void *overlapped, HANDLE *handle) {
  (void)type; (void)sd; (void)provider_flags; (void)overlapped;
  char n[9][24];
  char *p = wcow_utf8(path);
  char *parent = wcow_utf8(u32_at(params, 0) == 2 ? ptr_at(params, 48) : NULL);
  const char *a[10] = {p, wcow_u64(n[0], u32_at(params, 0)), wcow_u64(n[1], u64_at(params, 24)), wcow_u64(n[2], u32_at(params, 32)),
                       wcow_u64(n[3], u32_at(params, 36)), wcow_u64(n[4], u32_at(params, 40)), parent,
                       wcow_u64(n[5], u32_at(params, 64)), wcow_u64(n[6], flags), wcow_u64(n[7], access)};
  DWORD code = forward_new_handle("CreateVirtualDisk", 10, a, handle);
  free(p);
  free(parent);
  return code;
}

EXPORT DWORD WINAPI OpenVirtualDisk(void *type, PCWSTR path, DWORD access, DWORD flags, const void *params, HANDLE *handle) {
  (void)type;
  char n[5][24];
  char *p = wcow_utf8(path);
  const char *a[6] = {p, wcow_u64(n[0], u32_at(params, 0)), wcow_u64(n[1], u32_at(params, 4)), wcow_u64(n[2], u32_at(params, 8)),
                      wcow_u64(n[3], flags), wcow_u64(n[4], access)};
  DWORD code = forward_new_handle("OpenVirtualDisk", 6, a, handle);
  free(p);
  return code;
}

static DWORD handle_call(const char *fn, HANDLE handle, int argc, const char *const *extra, wcow_reply *r) {
  char h[24];
  const char *a[8];
  a[0] = wcow_u64(h, (unsigned long long)(ULONG_PTR)handle);
  for (int i = 0; i < argc; i++) a[i + 1] = extra[i];
  return win32_of(wcow_call(fn, argc + 1, a, r));
}

EXPORT DWORD WINAPI AttachVirtualDisk(HANDLE handle, void *sd, DWORD flags, ULONG provider_flags, const void *params, void *overlapped) {
  (void)sd; (void)provider_flags; (void)overlapped;
  char n[2][24];
  /* Parameters are optional: hcsshim's ExpandScratchSize passes none (reported as version 0). */
  const char *a[2] = {wcow_u64(n[0], params == NULL ? 0 : u32_at(params, 0)), wcow_u64(n[1], flags)};
  wcow_reply r;
  DWORD code = handle_call("AttachVirtualDisk", handle, 2, a, &r);
  wcow_reply_free(&r);
  return code;
}

EXPORT DWORD WINAPI DetachVirtualDisk(HANDLE handle, DWORD flags, ULONG provider_flags) {
  (void)flags; (void)provider_flags;
  wcow_reply r;
  DWORD code = handle_call("DetachVirtualDisk", handle, 0, NULL, &r);
  wcow_reply_free(&r);
  return code;
}

EXPORT DWORD WINAPI GetVirtualDiskPhysicalPath(HANDLE handle, PULONG size_bytes, PWSTR path) {
  wcow_reply r;
  DWORD code = handle_call("GetVirtualDiskPhysicalPath", handle, 0, NULL, &r);
  if (code == ERROR_SUCCESS) {
    PWSTR w = wcow_local_wide(wcow_out(&r, 1), 0);
    ULONG need = (ULONG)((wcslen(w) + 1) * sizeof(WCHAR));
    if (*size_bytes < need) code = ERROR_INSUFFICIENT_BUFFER;
    else memcpy(path, w, need);
    *size_bytes = need;
    LocalFree(w);
  }
  wcow_reply_free(&r);
  return code;
}
