/* Stand-in computestorage.dll: each call forwarded; virtdisk handles travel as numbers. */
#include <stdlib.h>

#include "forward.h"

#define EXPORT __declspec(dllexport)

static HRESULT forward_strings(const char *fn, int argc, PCWSTR *args, wcow_reply *r) {
  char *a[4];
  for (int i = 0; i < argc; i++) a[i] = wcow_utf8(args[i]);
  HRESULT hr = wcow_call(fn, argc, (const char *const *)a, r);
  for (int i = 0; i < argc; i++) free(a[i]);
  return hr;
}

static HRESULT simple(const char *fn, int argc, PCWSTR *args) {
  wcow_reply r;
  HRESULT hr = forward_strings(fn, argc, args, &r);
  wcow_reply_free(&r);
  return hr;
}

EXPORT HRESULT WINAPI HcsInitializeWritableLayer(PCWSTR path, PCWSTR layer_data, PCWSTR options) {
  PCWSTR a[3] = {path, layer_data, options}; /* options NULL travels as "" */
  return simple("HcsInitializeWritableLayer", 3, a);
}

EXPORT HRESULT WINAPI HcsAttachLayerStorageFilter(PCWSTR path, PCWSTR layer_data) {
  PCWSTR a[2] = {path, layer_data};
  return simple("HcsAttachLayerStorageFilter", 2, a);
}

EXPORT HRESULT WINAPI HcsDetachLayerStorageFilter(PCWSTR path) {
  PCWSTR a[1] = {path};
  return simple("HcsDetachLayerStorageFilter", 1, a);
}

static void handle_text(char *buf, HANDLE h) { wcow_u64(buf, (unsigned long long)(ULONG_PTR)h); }

EXPORT HRESULT WINAPI HcsFormatWritableLayerVhd(HANDLE vhd) {
  char h[24];
  handle_text(h, vhd);
  const char *a[1] = {h};
  wcow_reply r;
  HRESULT hr = wcow_call("HcsFormatWritableLayerVhd", 1, a, &r);
  wcow_reply_free(&r);
  return hr;
}

EXPORT HRESULT WINAPI HcsGetLayerVhdMountPath(HANDLE vhd, PWSTR *mount_path) {
  char h[24];
  handle_text(h, vhd);
  const char *a[1] = {h};
  wcow_reply r;
  HRESULT hr = wcow_call("HcsGetLayerVhdMountPath", 1, a, &r);
  *mount_path = SUCCEEDED(hr) ? wcow_local_wide(wcow_out(&r, 1), 0) : NULL;
  wcow_reply_free(&r);
  return hr;
}

EXPORT HRESULT WINAPI HcsSetupBaseOSLayer(PCWSTR path, HANDLE vhd, PCWSTR options) {
  char h[24];
  handle_text(h, vhd);
  char *a[3] = {wcow_utf8(path), h, wcow_utf8(options)};
  wcow_reply r;
  HRESULT hr = wcow_call("HcsSetupBaseOSLayer", 3, (const char *const *)a, &r);
  wcow_reply_free(&r);
  free(a[0]);
  free(a[2]);
  return hr;
}

/* The overlay filter of process-isolated CimFS (hcsshim main computestorage/attach.go). */
EXPORT HRESULT WINAPI HcsAttachOverlayFilter(PCWSTR volume_path, PCWSTR layer_data) {
  PCWSTR a[2] = {volume_path, layer_data};
  return simple("HcsAttachOverlayFilter", 2, a);
}

EXPORT HRESULT WINAPI HcsDetachOverlayFilter(PCWSTR volume_path, PCWSTR layer_data) {
  PCWSTR a[2] = {volume_path, layer_data};
  return simple("HcsDetachOverlayFilter", 2, a);
}
