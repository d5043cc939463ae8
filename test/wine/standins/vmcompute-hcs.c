/* Stand-in vmcompute.dll, second half: the legacy Hcs* compute-system API that
 * hcsshim v0.11.4 uses (vmcompute, not computecore), and the two exports of the
 * hcsshim oracle's fake guest connection (OracleGuestModify, OracleGuestExec)
 * plus its step notes (OracleStep). Every call is synchronous: the server has
 * answered when it returns. Outputs are UTF-16 from CoTaskMemAlloc, which
 * hcsshim frees with CoTaskMemFree.
 *
 * What HCS does locally here (no counterpart on the Host seam): the system
 * callbacks (never notified), the compute-system properties (the id the system
 * was opened with), and the process plumbing — overlapped pipes for the stdio
 * hcsshim asked for, fed with the output the model's Exec produced, then one
 * ProcessExited notification from another thread. */
#include "forward.h"

#include <objbase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __declspec(dllexport)
#define NOTIFY_PROCESS_EXITED 0x00010000u

typedef void(CALLBACK *hcs_callback)(DWORD type, void *context, HRESULT status, PCWSTR data);

typedef struct {
  DWORD ProcessId, Reserved;
  HANDLE StdInput, StdOutput, StdError;
} hcs_process_information;

typedef struct {
  char handle[24]; /* the server's handle, decimal */
  char *id;
} compute_system;

typedef struct {
  DWORD pid;
  int exit_code;
  CRITICAL_SECTION cs; /* guards cb: none runs after HcsUnregisterProcessCallback returns */
  hcs_callback cb;
  void *ctx;
  HANDLE thread;
  HANDLE out_w, err_w, in_r; /* our ends */
  char *out, *err;
  unsigned out_len, err_len;
} process;

/* A failed call's result document (reply field `i`), for hcsshim's error text. */
static void set_result(PWSTR *result, const wcow_reply *r, int i) {
  if (result) *result = wcow_cotask_wide(wcow_out(r, i), 1);
}

/* ---- compute systems ---- */

EXPORT HRESULT WINAPI HcsOpenComputeSystem(PCWSTR id, HANDLE *system, PWSTR *result) {
  char *a[1] = {wcow_utf8(id)};
  wcow_reply r;
  HRESULT hr = wcow_call("HcsOpenComputeSystem", 1, (const char *const *)a, &r);
  *system = NULL;
  if (result) *result = NULL;
  if (SUCCEEDED(hr)) {
    compute_system *cs = (compute_system *)calloc(1, sizeof *cs);
    strncpy(cs->handle, wcow_out(&r, 1), sizeof cs->handle - 1);
    cs->id = a[0];
    *system = cs;
  } else {
    set_result(result, &r, 1);
    free(a[0]);
  }
  wcow_reply_free(&r);
  return hr;
}

/* System notifications are never sent: nothing starts or stops the VM here. */
EXPORT HRESULT WINAPI HcsRegisterComputeSystemCallback(HANDLE system, hcs_callback cb, void *ctx, HANDLE *callback) {
  (void)cb; (void)ctx;
  *callback = system;
  return S_OK;
}

EXPORT HRESULT WINAPI HcsUnregisterComputeSystemCallback(HANDLE callback) {
  (void)callback;
  return S_OK;
}

EXPORT HRESULT WINAPI HcsGetComputeSystemProperties(HANDLE system, PCWSTR query, PWSTR *properties, PWSTR *result) {
  (void)query;
  compute_system *cs = (compute_system *)system;
  if (result) *result = NULL;
  wcow_buf b = {0};
  wcow_buf_add(&b, "{\"Id\":");
  wcow_buf_add_json_string(&b, cs->id);
  wcow_buf_add(&b, ",\"SystemType\":\"VirtualMachine\",\"RuntimeOsType\":\"windows\"}");
  *properties = wcow_cotask_wide(b.s, 0);
  free(b.s);
  return S_OK;
}

EXPORT HRESULT WINAPI HcsModifyComputeSystem(HANDLE system, PCWSTR request, PWSTR *result) {
  compute_system *cs = (compute_system *)system;
  char *doc = wcow_utf8(request);
  const char *a[2] = {cs->handle, doc};
  wcow_reply r;
  HRESULT hr = wcow_call("HcsModifyComputeSystem", 2, a, &r);
  if (result) *result = NULL;
  if (FAILED(hr)) set_result(result, &r, 1);
  wcow_reply_free(&r);
  free(doc);
  return hr;
}

EXPORT HRESULT WINAPI HcsCloseComputeSystem(HANDLE system) {
  compute_system *cs = (compute_system *)system;
  const char *a[1] = {cs->handle};
  wcow_reply r;
  HRESULT hr = wcow_call("HcsCloseComputeSystem", 1, a, &r);
  wcow_reply_free(&r);
  free(cs->id);
  free(cs);
  return hr;
}

/* ---- processes (guestConnection false) ---- */

/* A connected pipe: *ours synchronous, *theirs opened FILE_FLAG_OVERLAPPED (go-winio binds it to a completion port). */
static BOOL pipe_pair(HANDLE *ours, HANDLE *theirs, BOOL they_read) {
  static LONG n;
  char name[96];
  snprintf(name, sizeof name, "\\\\.\\pipe\\wcow-standin-%lu-%ld", GetCurrentProcessId(), InterlockedIncrement(&n));
  *ours = CreateNamedPipeA(name, (they_read ? PIPE_ACCESS_OUTBOUND : PIPE_ACCESS_INBOUND) | FILE_FLAG_FIRST_PIPE_INSTANCE,
                           PIPE_TYPE_BYTE, 1, 65536, 65536, 0, NULL);
  if (*ours == INVALID_HANDLE_VALUE) { *ours = NULL; return FALSE; }
  *theirs = CreateFileA(name, they_read ? GENERIC_READ : GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
  if (*theirs == INVALID_HANDLE_VALUE) { CloseHandle(*ours); *ours = *theirs = NULL; return FALSE; }
  ConnectNamedPipe(*ours, NULL);
  return TRUE;
}

static void close_handle(HANDLE *h) {
  if (*h) { CloseHandle(*h); *h = NULL; }
}

static void write_all(HANDLE h, const char *p, unsigned n) {
  DWORD k = 0;
  while (h && n > 0 && WriteFile(h, p, n, &k, NULL) && k > 0) { p += k; n -= k; }
}

static char *copy_field(const wcow_reply *r, int i, unsigned *len) {
  *len = i < r->count ? r->len[i] : 0;
  char *s = (char *)malloc(*len + 1);
  memcpy(s, wcow_out(r, i), *len);
  s[*len] = 0;
  return s;
}

/* Reply: hr, process id, ProcessStatus JSON (ExitCode), stdout, stderr; a failure: hr, result document. */
EXPORT HRESULT WINAPI HcsCreateProcess(HANDLE system, PCWSTR parameters, hcs_process_information *info, HANDLE *proc,
                                       PWSTR *result) {
  compute_system *cs = (compute_system *)system;
  char *params = wcow_utf8(parameters);
  const char *a[2] = {cs->handle, params};
  wcow_reply r;
  HRESULT hr = wcow_call("HcsCreateProcess", 2, a, &r);
  memset(info, 0, sizeof *info);
  *proc = NULL;
  if (result) *result = NULL;
  if (FAILED(hr)) {
    set_result(result, &r, 1);
    wcow_reply_free(&r);
    free(params);
    return hr;
  }
  process *p = (process *)calloc(1, sizeof *p);
  InitializeCriticalSection(&p->cs);
  p->pid = (DWORD)strtoul(wcow_out(&r, 1), NULL, 10);
  const char *code = strstr(wcow_out(&r, 2), "\"ExitCode\":");
  p->exit_code = code ? atoi(code + strlen("\"ExitCode\":")) : 0;
  p->out = copy_field(&r, 3, &p->out_len);
  p->err = copy_field(&r, 4, &p->err_len);
  wcow_reply_free(&r);
  info->ProcessId = p->pid;
  BOOL ok = TRUE;
  /* Output for a pipe hcsshim did not ask for is dropped, as the guest would. */
  if (strstr(params, "\"CreateStdInPipe\":true")) ok = ok && pipe_pair(&p->in_r, &info->StdInput, FALSE);
  if (strstr(params, "\"CreateStdOutPipe\":true")) ok = ok && pipe_pair(&p->out_w, &info->StdOutput, TRUE);
  if (strstr(params, "\"CreateStdErrPipe\":true")) ok = ok && pipe_pair(&p->err_w, &info->StdError, TRUE);
  free(params);
  if (!ok) return HRESULT_FROM_WIN32(GetLastError());
  *proc = p;
  return S_OK;
}

/* The process has run (the model's Exec): its output, EOF on every pipe, then ProcessExited once. */
static DWORD WINAPI process_exits(LPVOID arg) {
  process *p = (process *)arg;
  write_all(p->out_w, p->out, p->out_len);
  write_all(p->err_w, p->err, p->err_len);
  close_handle(&p->out_w);
  close_handle(&p->err_w);
  close_handle(&p->in_r);
  EnterCriticalSection(&p->cs);
  if (p->cb) p->cb(NOTIFY_PROCESS_EXITED, p->ctx, S_OK, NULL);
  LeaveCriticalSection(&p->cs);
  return 0;
}

EXPORT HRESULT WINAPI HcsRegisterProcessCallback(HANDLE proc, hcs_callback cb, void *ctx, HANDLE *callback) {
  process *p = (process *)proc;
  EnterCriticalSection(&p->cs);
  p->cb = cb;
  p->ctx = ctx;
  LeaveCriticalSection(&p->cs);
  *callback = p;
  /* From another thread, after this call has returned. */
  p->thread = CreateThread(NULL, 0, process_exits, p, 0, NULL);
  return p->thread ? S_OK : HRESULT_FROM_WIN32(GetLastError());
}

EXPORT HRESULT WINAPI HcsUnregisterProcessCallback(HANDLE callback) {
  process *p = (process *)callback;
  EnterCriticalSection(&p->cs); /* waits for a notification in flight */
  p->cb = NULL;
  LeaveCriticalSection(&p->cs);
  return S_OK;
}

EXPORT HRESULT WINAPI HcsGetProcessProperties(HANDLE proc, PWSTR *properties, PWSTR *result) {
  process *p = (process *)proc;
  char buf[128];
  snprintf(buf, sizeof buf, "{\"ProcessId\":%lu,\"Exited\":true,\"ExitCode\":%d,\"LastWaitResult\":0}", (unsigned long)p->pid,
           p->exit_code);
  *properties = wcow_cotask_wide(buf, 0);
  if (result) *result = NULL;
  return S_OK;
}

/* Only a killed process is terminated; it has already exited here. */
EXPORT HRESULT WINAPI HcsTerminateProcess(HANDLE proc, PWSTR *result) {
  (void)proc;
  if (result) *result = NULL;
  return S_OK;
}

EXPORT HRESULT WINAPI HcsCloseProcess(HANDLE proc) {
  process *p = (process *)proc;
  if (p->thread) { WaitForSingleObject(p->thread, INFINITE); CloseHandle(p->thread); }
  close_handle(&p->out_w);
  close_handle(&p->err_w);
  close_handle(&p->in_r);
  DeleteCriticalSection(&p->cs);
  free(p->out);
  free(p->err);
  free(p);
  return S_OK;
}

/* ---- HCS service ---- */

EXPORT HRESULT WINAPI HcsModifyServiceSettings(PCWSTR settings, PWSTR *result) {
  char *a[1] = {wcow_utf8(settings)};
  wcow_reply r;
  HRESULT hr = wcow_call("HcsModifyServiceSettings", 1, (const char *const *)a, &r);
  if (result) *result = NULL;
  if (FAILED(hr)) set_result(result, &r, 1);
  wcow_reply_free(&r);
  free(a[0]);
  return hr;
}

EXPORT HRESULT WINAPI HcsGetServiceProperties(PCWSTR query, PWSTR *properties, PWSTR *result) {
  char *a[1] = {wcow_utf8(query)};
  wcow_reply r;
  HRESULT hr = wcow_call("HcsGetServiceProperties", 1, (const char *const *)a, &r);
  *properties = NULL;
  if (result) *result = NULL;
  if (SUCCEEDED(hr)) *properties = wcow_cotask_wide(wcow_out(&r, 1), 0);
  else set_result(result, &r, 1);
  wcow_reply_free(&r);
  free(a[0]);
  return hr;
}

/* ---- the oracle's fake guest connection ---- */

EXPORT HRESULT WINAPI OracleGuestModify(PCWSTR uvm_id, PCWSTR request, PWSTR *result) {
  char *a[2] = {wcow_utf8(uvm_id), wcow_utf8(request)};
  wcow_reply r;
  HRESULT hr = wcow_call("OracleGuestModify", 2, (const char *const *)a, &r);
  *result = NULL;
  if (FAILED(hr)) set_result(result, &r, 1);
  wcow_reply_free(&r);
  free(a[0]);
  free(a[1]);
  return hr;
}

/* Reply: hr, stdout, stderr, exit code; a failure (the process did not start): hr, result document. */
EXPORT HRESULT WINAPI OracleGuestExec(PCWSTR uvm_id, PCWSTR parameters, PWSTR *stdout_text, PWSTR *stderr_text, DWORD *exit_code,
                                      PWSTR *result) {
  char *a[2] = {wcow_utf8(uvm_id), wcow_utf8(parameters)};
  wcow_reply r;
  HRESULT hr = wcow_call("OracleGuestExec", 2, (const char *const *)a, &r);
  *stdout_text = *stderr_text = *result = NULL;
  *exit_code = 0;
  if (SUCCEEDED(hr)) {
    *stdout_text = wcow_cotask_wide(wcow_out(&r, 1), 0);
    *stderr_text = wcow_cotask_wide(wcow_out(&r, 2), 0);
    *exit_code = (DWORD)strtoul(wcow_out(&r, 3), NULL, 10);
  } else {
    set_result(result, &r, 1);
  }
  wcow_reply_free(&r);
  free(a[0]);
  free(a[1]);
  return hr;
}

/* A JSON note that starts a phase of the oracle's run; the calls that follow belong to it. */
EXPORT void WINAPI OracleStep(PCWSTR note) {
  char *a[1] = {wcow_utf8(note)};
  wcow_reply r;
  wcow_call("OracleStep", 1, (const char *const *)a, &r);
  wcow_reply_free(&r);
  free(a[0]);
}
