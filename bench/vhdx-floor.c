/* The physical floor of creating a VHDX file (issue 14): the same syscalls a
 * durable createVhdx needs and nothing else. It writes the non-zero bytes of a
 * template file (one our engine made) into a new temporary file sized with
 * ftruncate, fsyncs it, links it to its final name, removes the temporary name
 * and fsyncs the directory. Built by bench/vhdx.ts at bench time.
 *
 * usage: vhdx-floor <template> <directory> <rounds> <flush 0|1>
 * Prints one line per timed round: milliseconds. One untimed round first.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct run {
  off_t offset;
  size_t length;
  unsigned char *bytes;
};

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* Non-zero stretches of the template; gaps under 64 bytes are written through
 * (one pwrite beats two for a few zeros, as our engine does). */
static size_t load(const char *template, struct run **out, off_t *size) {
  int fd = open(template, O_RDONLY);
  if (fd < 0) die("open template");
  struct stat st;
  if (fstat(fd, &st) != 0) die("fstat template");
  *size = st.st_size;
  size_t cap = 16, n = 0;
  struct run *runs = malloc(cap * sizeof *runs);
  unsigned char page[65536];
  off_t start = -1, last = -1;
  for (off_t at = 0; at < st.st_size;) {
    /* Skip holes: the template is sparse (a 20 GiB disk is a few pages). */
    off_t data = lseek(fd, at, SEEK_DATA);
    if (data < 0) break;
    ssize_t got = pread(fd, page, sizeof page, data);
    if (got <= 0) break;
    for (ssize_t i = 0; i < got; ++i) {
      if (page[i] == 0) continue;
      off_t here = data + i;
      if (start >= 0 && here - last > 64) {
        if (n == cap) runs = realloc(runs, (cap *= 2) * sizeof *runs);
        runs[n].offset = start;
        runs[n].length = (size_t)(last + 1 - start);
        n++;
        start = -1;
      }
      if (start < 0) start = here;
      last = here;
    }
    at = data + got;
  }
  if (start >= 0) {
    if (n == cap) runs = realloc(runs, (cap *= 2) * sizeof *runs);
    runs[n].offset = start;
    runs[n].length = (size_t)(last + 1 - start);
    n++;
  }
  for (size_t i = 0; i < n; ++i) {
    runs[i].bytes = malloc(runs[i].length);
    if (pread(fd, runs[i].bytes, runs[i].length, runs[i].offset) != (ssize_t)runs[i].length) die("read template");
  }
  close(fd);
  *out = runs;
  return n;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s <template> <directory> <rounds> <flush 0|1>\n", argv[0]);
    return 2;
  }
  struct run *runs;
  off_t size;
  size_t n = load(argv[1], &runs, &size);
  int rounds = atoi(argv[3]), flush = atoi(argv[4]);
  char tmp[4096], final[4096];
  snprintf(tmp, sizeof tmp, "%s/floor.vhdx.tmp", argv[2]);
  snprintf(final, sizeof final, "%s/floor.vhdx", argv[2]);
  for (int r = -1; r < rounds; ++r) {
    unlink(final);
    double t0 = now_ms();
    int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) die("open");
    if (ftruncate(fd, size) != 0) die("ftruncate");
    for (size_t i = 0; i < n; ++i) {
      if (pwrite(fd, runs[i].bytes, runs[i].length, runs[i].offset) != (ssize_t)runs[i].length) die("pwrite");
    }
    if (flush && fsync(fd) != 0) die("fsync");
    close(fd);
    if (link(tmp, final) != 0) die("link");
    if (unlink(tmp) != 0) die("unlink");
    if (flush) {
      int dfd = open(argv[2], O_RDONLY | O_CLOEXEC);
      if (dfd < 0 || fsync(dfd) != 0) die("fsync directory");
      close(dfd);
    }
    double t1 = now_ms();
    if (r >= 0) printf("%.4f\n", t1 - t0);
  }
  unlink(final);
  return 0;
}
