/*
 * One million calls through the C ABI with flat memory: stamp a batch, read
 * its view, settle it, free it; every 16th call also a malformed batch
 * (error path) and a tick. Prints the resident set size after a warm-up
 * and at the end (from /proc/self/statm) and fails if it grew by more than
 * RSS_SLACK_KIB. Run by `make test-c` natively, and with fewer calls under
 * valgrind and AddressSanitizer (argv[1] is the call count; argv[2]
 * "--no-rss-limit" under ASan, whose quarantine keeps freed memory
 * resident: there LeakSanitizer checks instead).
 */
#define _DEFAULT_SOURCE
#include "auditchain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RSS_SLACK_KIB 4096

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
  fclose(f);
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ExportLogsServiceRequest{resource_logs{scope_logs{log_records{body: "audit ..."}}}} */
static size_t batch(uint8_t *buf, unsigned i) {
  char body[64];
  int n = snprintf(body, sizeof body, "user-%u deleted document %u", i % 97, i);
  uint8_t any[80], lr[96], sl[112], rl[128];
  size_t a = 0, l = 0, s = 0, r = 0, q = 0;
  any[a++] = 0x0a, any[a++] = (uint8_t)n, memcpy(any + a, body, (size_t)n), a += (size_t)n;
  lr[l++] = 0x2a, lr[l++] = (uint8_t)a, memcpy(lr + l, any, a), l += a;
  sl[s++] = 0x12, sl[s++] = (uint8_t)l, memcpy(sl + s, lr, l), s += l;
  rl[r++] = 0x12, rl[r++] = (uint8_t)s, memcpy(rl + r, sl, s), r += s;
  buf[q++] = 0x0a, buf[q++] = (uint8_t)r, memcpy(buf + q, rl, r), q += r;
  return q;
}

static int one_call(auditchain_engine *e, unsigned i, uint64_t now) {
  uint8_t req[160];
  size_t len = batch(req, i);
  auditchain_stamps *stamps = NULL;
  auditchain_error *err = NULL;
  static const uint8_t selected[1] = {1};
  if (auditchain_engine_stamp(e, AUDITCHAIN_SIGNAL_LOGS, req, len, selected, 1, now, &stamps, &err) !=
      AUDITCHAIN_RESULT_OK) {
    fprintf(stderr, "call %u: stamp failed: %.*s\n", i, (int)auditchain_error_message(err).len,
            (const char *)auditchain_error_message(err).data);
    auditchain_error_free(err);
    return 1;
  }
  auditchain_stamps_view v;
  if (auditchain_stamps_get_view(stamps, &v) != AUDITCHAIN_RESULT_OK || v.record_count != 1 ||
      v.records[0].sequence == 0 || v.rejected_records != 0) {
    fprintf(stderr, "call %u: bad view\n", i);
    auditchain_stamps_free(stamps);
    return 1;
  }
  uint64_t batch_id = v.batch_id;
  auditchain_stamps_free(stamps);
  if (auditchain_engine_settle(e, batch_id, true, NULL) != AUDITCHAIN_RESULT_OK) return 1;
  if (i % 16 == 0) {
    /* The error path allocates an error; the tick may emit nothing. */
    if (auditchain_engine_stamp(e, AUDITCHAIN_SIGNAL_LOGS, req, len - 2, selected, 1, now, &stamps, &err) !=
        AUDITCHAIN_RESULT_MALFORMED_BATCH)
      return 1;
    auditchain_error_free(err);
    if (auditchain_engine_tick(e, now, &stamps, NULL) != AUDITCHAIN_RESULT_OK) return 1;
    if (auditchain_stamps_get_view(stamps, &v) == AUDITCHAIN_RESULT_OK && v.batch_id != 0)
      auditchain_engine_settle(e, v.batch_id, true, NULL);
    auditchain_stamps_free(stamps);
  }
  return 0;
}

int main(int argc, char **argv) {
  unsigned calls = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000000u;
  int rss_limit = !(argc > 2 && strcmp(argv[2], "--no-rss-limit") == 0);
  unsigned warmup = calls / 10;
  const char *config = "{\"stream_name\":\"rss\"}"; /* state in memory: no fsync per call */
  auditchain_engine *e = NULL;
  uint64_t now = 1795320660000000000ull;
  if (auditchain_engine_new((const uint8_t *)config, strlen(config), now, &e, NULL) != AUDITCHAIN_RESULT_OK) {
    fprintf(stderr, "engine_new failed\n");
    return 2;
  }
  long before = 0;
  for (unsigned i = 0; i < calls; i++) {
    if (i == warmup) before = rss_kib();
    if (one_call(e, i, now + (uint64_t)i * 1000u)) return 1;
  }
  long after = rss_kib();
  auditchain_stamps *stamps = NULL;
  if (auditchain_engine_close(e, now + (uint64_t)calls * 1000u, &stamps, NULL) != AUDITCHAIN_RESULT_OK) return 1;
  auditchain_stamps_free(stamps);
  auditchain_engine_free(e);
  printf("FFI calls: %u stamp+view+settle+free (and %u error + tick), RSS after %u-call warm-up %ld KiB, at the end %ld KiB (%+ld KiB)\n",
         calls, calls / 16, warmup, before, after, after - before);
  if (rss_limit && after - before > RSS_SLACK_KIB) {
    fprintf(stderr, "RSS grew by %ld KiB over %u calls (allowed %d KiB)\n", after - before, calls - warmup, RSS_SLACK_KIB);
    return 1;
  }
  return 0;
}
