/* Stand-in computecore.dll: compute systems, operations, processes, service
 * calls. Every call is answered by the server synchronously, so an operation
 * is complete when the call that started it returns; waits return at once. */
#include <stdlib.h>
#include <string.h>

#include "forward.h"

#define EXPORT __declspec(dllexport)

typedef struct {
  DWORD ProcessId;
  DWORD Reserved;
  HANDLE StdInput;
  HANDLE StdOutput;
  HANDLE StdError;
} process_info;

typedef struct {
  HRESULT hr;
  char *doc; /* UTF-8 result document, may be "" */
  int has_info;
  process_info info;
} operation;

typedef struct {
  DWORD pid;
  char *exit_status;
} process;

typedef struct {
  HANDLE pipe;
  char *data;
  size_t len;
} pipe_feed;

static void handle_text(char *buf, const void *h) { wcow_u64(buf, (unsigned long long)(ULONG_PTR)h); }

static void complete(operation *op, HRESULT hr, const char *doc) {
  if (op == NULL) return;
  op->hr = hr;
  free(op->doc);
  op->doc = _strdup(doc);
}

/* Writes the guest process's output into the pipe the caller reads, then closes it. */
static DWORD WINAPI feed(LPVOID arg) {
  pipe_feed *f = (pipe_feed *)arg;
  size_t off = 0;
  DWORD n = 0;
  while (off < f->len && WriteFile(f->pipe, f->data + off, (DWORD)(f->len - off), &n, NULL) && n > 0) off += n;
  CloseHandle(f->pipe);
  free(f->data);
  free(f);
  return 0;
}

static HANDLE output_pipe(const char *data, size_t len) {
  HANDLE r = NULL, w = NULL;
  if (!CreatePipe(&r, &w, NULL, 0)) return NULL;
  pipe_feed *f = (pipe_feed *)malloc(sizeof *f);
  f->pipe = w;
  f->data = (char *)malloc(len + 1);
  memcpy(f->data, data, len);
  f->len = len;
  HANDLE t = CreateThread(NULL, 0, feed, f, 0, NULL);
  if (t) CloseHandle(t);
  return r;
}

EXPORT void *WINAPI HcsCreateOperation(const void *context, void *callback) {
  (void)context; (void)callback;
  return calloc(1, sizeof(operation));
}

EXPORT void WINAPI HcsCloseOperation(void *op) {
  if (op == NULL) return;
  free(((operation *)op)->doc);
  free(op);
}

static HRESULT result_of(operation *op, PWSTR *doc) {
  if (doc) *doc = wcow_local_wide(op->doc ? op->doc : "", 1);
  return op->hr;
}

EXPORT HRESULT WINAPI HcsWaitForOperationResult(void *op, DWORD timeout, PWSTR *doc) {
  (void)timeout;
  return result_of((operation *)op, doc);
}

EXPORT HRESULT WINAPI HcsWaitForOperationResultAndProcessInfo(void *opp, DWORD timeout, process_info *info, PWSTR *doc) {
  (void)timeout;
  operation *op = (operation *)opp;
  if (info && op->has_info) {
    *info = op->info;
    op->has_info = 0; /* the handles now belong to the caller */
  }
  return result_of(op, doc);
}

EXPORT HRESULT WINAPI HcsCancelOperation(void *op) {
  (void)op;
  return S_OK;
}

EXPORT HRESULT WINAPI HcsOpenComputeSystem(PCWSTR id, DWORD access, void **system) {
  (void)access;
  char *a[1] = {wcow_utf8(id)};
  wcow_reply r;
  HRESULT hr = wcow_call("HcsOpenComputeSystem", 1, (const char *const *)a, &r);
  *system = SUCCEEDED(hr) ? (void *)(ULONG_PTR)_strtoui64(wcow_out(&r, 1), NULL, 10) : NULL;
  wcow_reply_free(&r);
  free(a[0]);
  return hr;
}

EXPORT void WINAPI HcsCloseComputeSystem(void *system) {
  char h[24];
  handle_text(h, system);
  const char *a[1] = {h};
  wcow_reply r;
  wcow_call("HcsCloseComputeSystem", 1, a, &r);
  wcow_reply_free(&r);
}

static HRESULT system_call(const char *fn, void *system, void *op, PCWSTR document) {
  char h[24];
  handle_text(h, system);
  char *doc = wcow_utf8(document);
  const char *a[2] = {h, doc};
  wcow_reply r;
  HRESULT hr = wcow_call(fn, 2, a, &r);
  if (r.count == 0) { free(doc); return hr; } /* transport failure: the call itself fails */
  complete((operation *)op, hr, wcow_out(&r, 1));
  wcow_reply_free(&r);
  free(doc);
  return S_OK;
}

EXPORT HRESULT WINAPI HcsModifyComputeSystem(void *system, void *op, PCWSTR configuration, HANDLE identity) {
  (void)identity;
  return system_call("HcsModifyComputeSystem", system, op, configuration);
}

EXPORT HRESULT WINAPI HcsGetComputeSystemProperties(void *system, void *op, PCWSTR query) {
  return system_call("HcsGetComputeSystemProperties", system, op, query);
}

/* Reply: hr, process id, ProcessStatus JSON, stdout, stderr, error document. */
EXPORT HRESULT WINAPI HcsCreateProcess(void *system, PCWSTR parameters, void *opp, const void *sd, void **proc) {
  (void)sd;
  operation *op = (operation *)opp;
  char h[24];
  handle_text(h, system);
  char *params = wcow_utf8(parameters);
  const char *a[2] = {h, params};
  wcow_reply r;
  HRESULT hr = wcow_call("HcsCreateProcess", 2, a, &r);
  free(params);
  if (r.count == 0) return hr;
  *proc = NULL;
  if (FAILED(hr)) {
    complete(op, hr, wcow_out(&r, 5));
  } else {
    process *p = (process *)calloc(1, sizeof *p);
    p->pid = (DWORD)strtoul(wcow_out(&r, 1), NULL, 10);
    p->exit_status = _strdup(wcow_out(&r, 2));
    *proc = p;
    complete(op, S_OK, "");
    op->has_info = 1;
    op->info.ProcessId = p->pid;
    op->info.StdInput = NULL;
    op->info.StdOutput = output_pipe(wcow_out(&r, 3), r.count > 3 ? r.len[3] : 0);
    op->info.StdError = output_pipe(wcow_out(&r, 4), r.count > 4 ? r.len[4] : 0);
  }
  wcow_reply_free(&r);
  return S_OK;
}

EXPORT HRESULT WINAPI HcsWaitForProcessExit(void *proc, DWORD timeout, PWSTR *result) {
  (void)timeout;
  if (result) *result = wcow_local_wide(((process *)proc)->exit_status, 1);
  return S_OK;
}

EXPORT HRESULT WINAPI HcsTerminateProcess(void *proc, void *op, PCWSTR options) {
  (void)proc; (void)options;
  complete((operation *)op, S_OK, "");
  return S_OK;
}

EXPORT void WINAPI HcsCloseProcess(void *proc) {
  if (proc == NULL) return;
  free(((process *)proc)->exit_status);
  free(proc);
}

static HRESULT service_call(const char *fn, PCWSTR document, PWSTR *result) {
  char *doc = wcow_utf8(document);
  const char *a[1] = {doc};
  wcow_reply r;
  HRESULT hr = wcow_call(fn, 1, a, &r);
  if (result) *result = wcow_local_wide(wcow_out(&r, 1), 1);
  wcow_reply_free(&r);
  free(doc);
  return hr;
}

EXPORT HRESULT WINAPI HcsModifyServiceSettings(PCWSTR settings, PWSTR *result) {
  return service_call("HcsModifyServiceSettings", settings, result);
}

EXPORT HRESULT WINAPI HcsGetServiceProperties(PCWSTR query, PWSTR *result) {
  return service_call("HcsGetServiceProperties", query, result);
}

static HRESULT access_call(const char *fn, PCWSTR vm, PCWSTR path) {
  char *a[2] = {wcow_utf8(vm), wcow_utf8(path)};
  wcow_reply r;
  HRESULT hr = wcow_call(fn, 2, (const char *const *)a, &r);
  wcow_reply_free(&r);
  free(a[0]);
  free(a[1]);
  return hr;
}

EXPORT HRESULT WINAPI HcsGrantVmAccess(PCWSTR vm, PCWSTR path) { return access_call("HcsGrantVmAccess", vm, path); }
EXPORT HRESULT WINAPI HcsRevokeVmAccess(PCWSTR vm, PCWSTR path) { return access_call("HcsRevokeVmAccess", vm, path); }
