/* Stand-in vmcompute.dll: the graph-driver layer calls and NameToGuid. It
 * checks the DriverInfo hcsshim passes ({1, L""}) and sends descriptors as JSON. */
#include <stdio.h>
#include <stdlib.h>

#include "forward.h"

#define EXPORT __declspec(dllexport)

typedef struct { int flavour; PCWSTR home_dir; } driver_info;
typedef struct { GUID id; ULONG flags; PCWSTR path; } layer_descriptor;

static int bad_driver(const driver_info *di) { return di == NULL || di->flavour != 1 || di->home_dir == NULL || di->home_dir[0] != 0; }

static HRESULT call_strings(const char *fn, int argc, char **a, wcow_reply *r) {
  HRESULT hr = wcow_call(fn, argc, (const char *const *)a, r);
  for (int i = 0; i < argc; i++) free(a[i]);
  return hr;
}

static HRESULT layer_call(const char *fn, const driver_info *di, PCWSTR id) {
  if (bad_driver(di)) return E_INVALIDARG;
  char *a[1] = {wcow_utf8(id)};
  wcow_reply r;
  HRESULT hr = call_strings(fn, 1, a, &r);
  wcow_reply_free(&r);
  return hr;
}

static char *descriptors_json(const layer_descriptor *layers, SIZE_T count) {
  wcow_buf b = {0};
  wcow_buf_add(&b, "[");
  for (SIZE_T i = 0; i < count; i++) {
    const GUID *g = &layers[i].id;
    char text[96];
    snprintf(text, sizeof text, "%s{\"layerId\":\"%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x\",\"flags\":%lu,\"path\":",
             i ? "," : "", (unsigned long)g->Data1, g->Data2, g->Data3, g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3],
             g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7], (unsigned long)layers[i].flags);
    wcow_buf_add(&b, text);
    char *path = wcow_utf8(layers[i].path);
    wcow_buf_add_json_string(&b, path);
    free(path);
    wcow_buf_add(&b, "}");
  }
  wcow_buf_add(&b, "]");
  return b.s;
}

static HRESULT layers_call(const char *fn, const driver_info *di, PCWSTR id, const layer_descriptor *layers, SIZE_T count) {
  if (bad_driver(di)) return E_INVALIDARG;
  char *a[2] = {wcow_utf8(id), descriptors_json(layers, count)};
  wcow_reply r;
  HRESULT hr = call_strings(fn, 2, a, &r);
  wcow_reply_free(&r);
  return hr;
}

EXPORT HRESULT WINAPI NameToGuid(PCWSTR name, GUID *guid) {
  char *a[1] = {wcow_utf8(name)};
  wcow_reply r;
  HRESULT hr = call_strings("NameToGuid", 1, a, &r);
  if (SUCCEEDED(hr)) {
    unsigned long d1; unsigned d2, d3, b[8];
    if (sscanf(wcow_out(&r, 1), "%8lx-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x", &d1, &d2, &d3, &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
               &b[6], &b[7]) != 11) {
      hr = E_UNEXPECTED;
    } else {
      guid->Data1 = d1; guid->Data2 = (USHORT)d2; guid->Data3 = (USHORT)d3;
      for (int i = 0; i < 8; i++) guid->Data4[i] = (UCHAR)b[i];
    }
  }
  wcow_reply_free(&r);
  return hr;
}

EXPORT HRESULT WINAPI ActivateLayer(const driver_info *di, PCWSTR id) { return layer_call("ActivateLayer", di, id); }
EXPORT HRESULT WINAPI DeactivateLayer(const driver_info *di, PCWSTR id) { return layer_call("DeactivateLayer", di, id); }
EXPORT HRESULT WINAPI UnprepareLayer(const driver_info *di, PCWSTR id) { return layer_call("UnprepareLayer", di, id); }

EXPORT HRESULT WINAPI PrepareLayer(const driver_info *di, PCWSTR id, const layer_descriptor *layers, SIZE_T count) {
  return layers_call("PrepareLayer", di, id, layers, count);
}

EXPORT HRESULT WINAPI CreateSandboxLayer(const driver_info *di, PCWSTR id, PCWSTR parent, const layer_descriptor *layers, SIZE_T count) {
  if (parent != NULL) return E_INVALIDARG; /* hcsshim passes NULL */
  return layers_call("CreateSandboxLayer", di, id, layers, count);
}

EXPORT HRESULT WINAPI ExpandSandboxSize(const driver_info *di, PCWSTR id, ULONGLONG size) {
  if (bad_driver(di)) return E_INVALIDARG;
  char n[24];
  char *a[2] = {wcow_utf8(id), _strdup(wcow_u64(n, size))};
  wcow_reply r;
  HRESULT hr = call_strings("ExpandSandboxSize", 2, a, &r);
  wcow_reply_free(&r);
  return hr;
}

/* vmcompute's two-call protocol: length in WCHARs (with the NUL) first, then
 * the text. The pair is one GetLayerMountPath of the Host seam: the first call
 * asks the model, the second ("fetch") gets the answer the server kept. */
EXPORT HRESULT WINAPI GetLayerMountPath(const driver_info *di, PCWSTR id, SIZE_T *length, PWSTR buffer) {
  if (bad_driver(di)) return E_INVALIDARG;
  char *a[2] = {wcow_utf8(id), _strdup(buffer == NULL ? "query" : "fetch")};
  wcow_reply r;
  HRESULT hr = call_strings("GetLayerMountPath", 2, a, &r);
  if (SUCCEEDED(hr)) {
    PWSTR w = wcow_local_wide(wcow_out(&r, 1), 0);
    SIZE_T need = w[0] ? wcslen(w) + 1 : 0;
    if (buffer == NULL) *length = need;
    else if (*length < need) hr = HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
    else memcpy(buffer, w, need * sizeof(WCHAR));
    LocalFree(w);
  }
  wcow_reply_free(&r);
  return hr;
}

EXPORT HRESULT WINAPI GrantVmAccess(PCWSTR vm, PCWSTR path) {
  char *a[2] = {wcow_utf8(vm), wcow_utf8(path)};
  wcow_reply r;
  HRESULT hr = call_strings("GrantVmAccess", 2, a, &r);
  wcow_reply_free(&r);
  return hr;
}
