#include "forward.h"

#include <objbase.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int send_all(SOCKET s, const char *p, int n) {
  while (n > 0) {
    int k = send(s, p, n, 0);
    if (k <= 0) return 0;
    p += k;
    n -= k;
  }
  return 1;
}

static int recv_all(SOCKET s, char *p, int n) {
  while (n > 0) {
    int k = recv(s, p, n, 0);
    if (k <= 0) return 0;
    p += k;
    n -= k;
  }
  return 1;
}

static int send_u32(SOCKET s, unsigned v) {
  unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
  return send_all(s, (const char *)b, 4);
}

static int recv_u32(SOCKET s, unsigned *v) {
  unsigned char b[4];
  if (!recv_all(s, (char *)b, 4)) return 0;
  *v = b[0] | (b[1] << 8) | (b[2] << 16) | ((unsigned)b[3] << 24);
  return 1;
}

static HRESULT wsa_failure(void) { return HRESULT_FROM_WIN32(WSAGetLastError() ? WSAGetLastError() : WSAECONNRESET); }

static BOOL CALLBACK start_winsock(PINIT_ONCE once, PVOID param, PVOID *context) {
  (void)once; (void)param; (void)context;
  WSADATA wsa;
  return WSAStartup(MAKEWORD(2, 2), &wsa) == 0;
}

HRESULT wcow_call(const char *fn, int argc, const char *const *argv, wcow_reply *reply) {
  /* Calls arrive on many threads at once: Winsock must be up before any of them uses it. */
  static INIT_ONCE winsock = INIT_ONCE_STATIC_INIT;
  memset(reply, 0, sizeof *reply);
  if (!InitOnceExecuteOnce(&winsock, start_winsock, NULL, NULL)) return HRESULT_FROM_WIN32(WSANOTINITIALISED);
  char port_text[16];
  if (!GetEnvironmentVariableA("WCOW_HCS_PORT", port_text, sizeof port_text)) return HRESULT_FROM_WIN32(ERROR_ENVVAR_NOT_FOUND);
  SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  if (s == INVALID_SOCKET) return wsa_failure();
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)atoi(port_text));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  HRESULT hr = S_OK;
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
    hr = wsa_failure();
    goto done;
  }
  int ok = send_u32(s, (unsigned)argc + 1) && send_u32(s, (unsigned)strlen(fn)) && send_all(s, fn, (int)strlen(fn));
  for (int i = 0; ok && i < argc; i++) {
    unsigned n = (unsigned)strlen(argv[i]);
    ok = send_u32(s, n) && send_all(s, argv[i], (int)n);
  }
  unsigned count = 0;
  if (!ok || !recv_u32(s, &count) || count == 0 || count > WCOW_MAX_FIELDS) {
    hr = wsa_failure();
    goto done;
  }
  for (unsigned i = 0; i < count; i++) {
    unsigned n = 0;
    if (!recv_u32(s, &n)) { hr = wsa_failure(); wcow_reply_free(reply); goto done; }
    reply->field[i] = (char *)malloc(n + 1);
    if (!recv_all(s, reply->field[i], (int)n)) { hr = wsa_failure(); reply->count = (int)i + 1; wcow_reply_free(reply); goto done; }
    reply->field[i][n] = '\0';
    reply->len[i] = n;
    reply->count = (int)i + 1;
  }
  hr = (HRESULT)strtol(reply->field[0], NULL, 10);
done:
  closesocket(s);
  return hr;
}

void wcow_reply_free(wcow_reply *reply) {
  for (int i = 0; i < reply->count; i++) free(reply->field[i]);
  reply->count = 0;
}

const char *wcow_out(const wcow_reply *reply, int i) { return i < reply->count ? reply->field[i] : ""; }

char *wcow_utf8(PCWSTR s) {
  if (s == NULL) s = L"";
  int n = WideCharToMultiByte(CP_UTF8, 0, s, -1, NULL, 0, NULL, NULL);
  char *out = (char *)malloc(n > 0 ? n : 1);
  if (n <= 0) { out[0] = '\0'; return out; }
  WideCharToMultiByte(CP_UTF8, 0, s, -1, out, n, NULL, NULL);
  return out;
}

static PWSTR wide_with(const char *s, int empty_is_null, void *(*alloc)(size_t)) {
  if (empty_is_null && (s == NULL || *s == '\0')) return NULL;
  int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
  PWSTR out = (PWSTR)alloc((n > 0 ? n : 1) * sizeof(WCHAR));
  if (n <= 0) { out[0] = 0; return out; }
  MultiByteToWideChar(CP_UTF8, 0, s, -1, out, n);
  return out;
}

static void *local_alloc(size_t n) { return LocalAlloc(LMEM_FIXED, n); }
static void *cotask_alloc(size_t n) { return CoTaskMemAlloc(n); }

PWSTR wcow_local_wide(const char *s, int empty_is_null) { return wide_with(s, empty_is_null, local_alloc); }
PWSTR wcow_cotask_wide(const char *s, int empty_is_null) { return wide_with(s, empty_is_null, cotask_alloc); }

const char *wcow_u64(char *buf, unsigned long long v) {
  snprintf(buf, 24, "%llu", v);
  return buf;
}

void wcow_buf_add(wcow_buf *b, const char *s) {
  size_t n = strlen(s);
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2;
    b->s = (char *)realloc(b->s, b->cap);
  }
  memcpy(b->s + b->n, s, n + 1);
  b->n += n;
}

void wcow_buf_add_json_string(wcow_buf *b, const char *utf8) {
  wcow_buf_add(b, "\"");
  char esc[8];
  for (const unsigned char *p = (const unsigned char *)utf8; *p; p++) {
    if (*p == '"' || *p == '\\') { esc[0] = '\\'; esc[1] = (char)*p; esc[2] = 0; wcow_buf_add(b, esc); }
    else if (*p < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", *p); wcow_buf_add(b, esc); }
    else { esc[0] = (char)*p; esc[1] = 0; wcow_buf_add(b, esc); }
  }
  wcow_buf_add(b, "\"");
}
