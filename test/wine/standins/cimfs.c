/* Stand-in cimfs.dll: CimMountImage / CimDismountImage forwarded to the test server, the
 * volume GUID as lower-case text without braces, the flags in decimal. */
#include <stdio.h>
#include <stdlib.h>

#include "forward.h"

#define EXPORT __declspec(dllexport)

static void guid_text(char *buf, const GUID *g) {
  snprintf(buf, 40, "%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", (unsigned long)g->Data1, g->Data2, g->Data3,
           g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
}

EXPORT HRESULT WINAPI CimMountImage(PCWSTR image_path, PCWSTR image_name, ULONG flags, const GUID *volume_id) {
  char guid[40], f[24];
  guid_text(guid, volume_id);
  wcow_u64(f, flags);
  char *a[4] = {wcow_utf8(image_path), wcow_utf8(image_name), f, guid};
  wcow_reply r;
  HRESULT hr = wcow_call("CimMountImage", 4, (const char *const *)a, &r);
  wcow_reply_free(&r);
  free(a[0]);
  free(a[1]);
  return hr;
}

EXPORT HRESULT WINAPI CimDismountImage(const GUID *volume_id) {
  char guid[40];
  guid_text(guid, volume_id);
  const char *a[1] = {guid};
  wcow_reply r;
  HRESULT hr = wcow_call("CimDismountImage", 1, a, &r);
  wcow_reply_free(&r);
  return hr;
}
