/* Stand-in HCS DLLs for the wine harness: each exported function forwards its
 * call (function name, arguments as UTF-8, handles as numbers) to the test
 * server (test/wine/server.ts) on 127.0.0.1:$WCOW_HCS_PORT and returns what
 * the server's Host model answered. Wire format, both directions: u32 field
 * count, then per field u32 length + bytes (little-endian). A reply's first
 * field is the HRESULT in decimal; the rest are the outputs. */
#ifndef WCOW_STANDIN_FORWARD_H
#define WCOW_STANDIN_FORWARD_H

#include <winsock2.h>
#include <windows.h>

#define WCOW_MAX_FIELDS 16

typedef struct {
  int count;
  char *field[WCOW_MAX_FIELDS]; /* NUL-terminated copies */
  unsigned len[WCOW_MAX_FIELDS];
} wcow_reply;

/* Sends fn(args…) and fills reply; returns the reply's HRESULT, or a transport
 * failure (HRESULT_FROM_WIN32 of the Winsock error) with reply->count == 0. */
HRESULT wcow_call(const char *fn, int argc, const char *const *argv, wcow_reply *reply);
void wcow_reply_free(wcow_reply *reply);
/* Field i of the reply, "" when absent. */
const char *wcow_out(const wcow_reply *reply, int i);

/* UTF-16 → UTF-8 (malloc'd; NULL → ""). */
char *wcow_utf8(PCWSTR s);
/* UTF-8 → UTF-16 allocated with LocalAlloc (what HCS callers free), NULL for "" when empty_is_null. */
PWSTR wcow_local_wide(const char *s, int empty_is_null);
/* UTF-8 → UTF-16 allocated with CoTaskMemAlloc (what hcsshim frees with CoTaskMemFree), NULL for "" when empty_is_null. */
PWSTR wcow_cotask_wide(const char *s, int empty_is_null);
/* Decimal of an unsigned 64-bit value into buf (>= 24 bytes). */
const char *wcow_u64(char *buf, unsigned long long v);

/* Growable string for JSON arrays of layer descriptors. */
typedef struct { char *s; size_t n, cap; } wcow_buf;
void wcow_buf_add(wcow_buf *b, const char *s);
void wcow_buf_add_json_string(wcow_buf *b, const char *utf8);

#endif
