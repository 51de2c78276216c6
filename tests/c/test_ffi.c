/*
 * The C ABI exercised from C through the committed header: create an
 * engine, stamp a batch, read the stamps, settle, bad inputs, close, free.
 * Run by `make test-c`, also under valgrind to catch leaks and bad reads.
 */
#define _DEFAULT_SOURCE
#include "auditchain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures = 0;

#define CHECK(cond, ...)                                                \
  do {                                                                  \
    if (!(cond)) {                                                      \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                     \
      fprintf(stderr, "\n");                                            \
      failures++;                                                       \
    }                                                                   \
  } while (0)

static int str_eq(auditchain_str s, const char *c) {
  return s.len == strlen(c) && memcmp(s.data, c, s.len) == 0;
}

static int str_contains(auditchain_str s, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; i + n <= s.len; i++)
    if (memcmp(s.data + i, needle, n) == 0) return 1;
  return 0;
}

/* ---- a minimal protobuf writer for the test batch ---- */

typedef struct {
  uint8_t buf[4096];
  size_t len;
} pb;

static void pb_varint(pb *p, uint64_t v) {
  while (v >= 0x80) {
    p->buf[p->len++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p->buf[p->len++] = (uint8_t)v;
}

static void pb_bytes(pb *p, uint32_t field, const void *data, size_t n) {
  pb_varint(p, ((uint64_t)field << 3) | 2);
  pb_varint(p, n);
  memcpy(p->buf + p->len, data, n);
  p->len += n;
}

static void pb_str(pb *p, uint32_t field, const char *s) { pb_bytes(p, field, s, strlen(s)); }

static void pb_msg(pb *p, uint32_t field, const pb *m) { pb_bytes(p, field, m->buf, m->len); }

/* KeyValue{key, AnyValue{string_value}} */
static pb kv(const char *key, const char *value) {
  pb any = {0}, out = {0};
  pb_str(&any, 1, value);
  pb_str(&out, 1, key);
  pb_msg(&out, 2, &any);
  return out;
}

/* An ExportLogsServiceRequest with `n` records; record `stamped` (if >= 0)
 * already carries an audit.sequence.number attribute. */
static pb batch(int n, int stamped) {
  pb scope_logs = {0}, rl = {0}, req = {0};
  for (int i = 0; i < n; i++) {
    pb lr = {0}, body = {0};
    pb_str(&body, 1, "{\"actor\":\"alice\",\"action\":\"delete\"}");
    pb_msg(&lr, 5, &body);
    pb a = kv("audit.action", "delete");
    pb_msg(&lr, 6, &a);
    if (i == stamped) {
      pb s = kv("audit.sequence.number", "7");
      pb_msg(&lr, 6, &s);
    }
    pb_msg(&scope_logs, 2, &lr);
  }
  pb_msg(&rl, 2, &scope_logs);
  pb_msg(&req, 1, &rl);
  return req;
}

static char state_dir[256];

/* The wall clock the test passes: T0, then a nanosecond later per call.
 * (A jump of more than two seconds against the engine's monotonic clock is a
 * clock step, which the engine announces with a record of its own.) */
#define T0 1795320660000000000ull

static auditchain_result new_engine(const char *name, auditchain_engine **engine, auditchain_error **err) {
  char config[512];
  snprintf(config, sizeof config, "{\"stream_name\":\"%s\",\"state\":{\"directory\":\"%s\"}}", name, state_dir);
  return auditchain_engine_new((const uint8_t *)config, strlen(config), T0, engine, err);
}

static void test_static_tables(void) {
  CHECK(strlen(auditchain_version()) > 0, "version");
  CHECK(str_eq(auditchain_result_name(AUDITCHAIN_RESULT_STATE), "AUDITCHAIN_RESULT_STATE"), "result name");
  CHECK(str_eq(auditchain_result_name(9999), "AUDITCHAIN_RESULT_UNKNOWN"), "unknown result name");
  CHECK(str_eq(auditchain_attribute_key(0), "audit.sequence.stream_id"), "key 0");
  CHECK(auditchain_attribute_key(1000).len == 0, "past the end");
  CHECK(str_eq(auditchain_attribute_key(8), "audit.integrity.content_hash_check"), "key 8: the content-hash mark");
  CHECK(str_eq(auditchain_attribute_key(9), "audit.integrity.stamp"), "key 9: the compact stamp");
  CHECK(str_eq(auditchain_result_name(AUDITCHAIN_RESULT_CONTENT_HASH_MISMATCH),
               "AUDITCHAIN_RESULT_CONTENT_HASH_MISMATCH"), "result name 10");
  /* NULL is accepted by every free function and by the error accessors. */
  auditchain_engine_free(NULL);
  auditchain_stamps_free(NULL);
  auditchain_error_free(NULL);
  CHECK(auditchain_error_code(NULL) == AUDITCHAIN_RESULT_NULL_ARGUMENT, "code of NULL");
  CHECK(auditchain_error_message(NULL).len == 0, "message of NULL");
  CHECK(str_eq(auditchain_reserved_prefix(0), "audit.sequence."), "reserved prefix 0");
  CHECK(str_eq(auditchain_reserved_prefix(3), "audit.unstamped."), "reserved prefix 3");
  CHECK(str_eq(auditchain_reserved_prefix(4), "audit.log."), "reserved prefix 4");
  CHECK(str_eq(auditchain_reserved_prefix(5), "audit.verify."), "reserved prefix 5");
  CHECK(auditchain_reserved_prefix(6).len == 0, "reserved prefixes end");
  auditchain_witness_jobs_free(NULL);
  CHECK(auditchain_witness_jobs_len(NULL) == 0, "no jobs in NULL");
  CHECK(auditchain_witness_jobs_get(NULL, 0) == NULL, "no job in NULL");
}

static void test_bad_config(void) {
  auditchain_engine *engine = NULL;
  auditchain_error *err = NULL;
  const char *bad = "{\"stream_name\":\"a/b\"}";
  auditchain_result r = auditchain_engine_new((const uint8_t *)bad, strlen(bad), 0, &engine, &err);
  CHECK(r == AUDITCHAIN_RESULT_INVALID_CONFIG, "got %u", r);
  CHECK(engine == NULL, "no engine on failure");
  CHECK(auditchain_error_code(err) == AUDITCHAIN_RESULT_INVALID_CONFIG, "error code");
  CHECK(str_contains(auditchain_error_message(err), "stream_name"), "message names the key");
  auditchain_error_free(err);

  /* error_out may be NULL: the code alone still comes back. */
  r = auditchain_engine_new((const uint8_t *)"{", 1, 0, &engine, NULL);
  CHECK(r == AUDITCHAIN_RESULT_INVALID_CONFIG, "got %u", r);
  r = auditchain_engine_new((const uint8_t *)bad, strlen(bad), 0, NULL, NULL);
  CHECK(r == AUDITCHAIN_RESULT_NULL_ARGUMENT, "NULL engine_out: got %u", r);
  r = auditchain_engine_new(NULL, 5, 0, &engine, NULL);
  CHECK(r == AUDITCHAIN_RESULT_NULL_ARGUMENT, "NULL config with a length: got %u", r);
}

static void test_stamp_settle_close(void) {
  auditchain_engine *engine = NULL;
  auditchain_error *err = NULL;
  auditchain_result r = new_engine("c-test", &engine, &err);
  CHECK(r == AUDITCHAIN_RESULT_OK, "engine_new: %.*s", (int)auditchain_error_message(err).len,
        (const char *)auditchain_error_message(err).data);
  if (r != AUDITCHAIN_RESULT_OK) {
    auditchain_error_free(err);
    return;
  }
  auditchain_str id = auditchain_engine_stream_id(engine);
  CHECK(id.len > 8 && memcmp(id.data, "c-test-", 7) == 0, "stream id %.*s", (int)id.len, (const char *)id.data);

  /* A second engine on the same state is refused while the first runs. */
  auditchain_engine *other = NULL;
  r = new_engine("c-test", &other, &err);
  CHECK(r == AUDITCHAIN_RESULT_STATE, "second engine: got %u", r);
  CHECK(str_contains(auditchain_error_message(err), "locked"), "lock message");
  auditchain_error_free(err);
  err = NULL;

  pb req = batch(2, -1);
  auditchain_stamps *stamps = NULL;
  r = auditchain_engine_stamp_logs(engine, req.buf, req.len, T0 + 1, &stamps, &err);
  CHECK(r == AUDITCHAIN_RESULT_OK, "stamp: %u", r);
  auditchain_stamps_view v;
  CHECK(auditchain_stamps_get_view(stamps, &v) == AUDITCHAIN_RESULT_OK, "view");
  CHECK(v.record_count == 2, "records %zu", v.record_count);
  /* Sequence 1 is the stream's start record (in extra), then the batch. */
  CHECK(v.first_sequence == 1 && v.last_sequence == 3, "range %llu..%llu", (unsigned long long)v.first_sequence,
        (unsigned long long)v.last_sequence);
  CHECK(v.records[0].sequence == 2 && v.records[1].sequence == 3, "record sequences");
  CHECK(v.extra_len > 0, "start record emitted");
  CHECK(v.extra_record_count == 1 && v.extra_records[0].sequence == 1, "the start record's stamp");
  CHECK(v.extra_records[0].count > 0 && v.extra_records[0].first + v.extra_records[0].count <= v.attr_count,
        "the start record's attributes lie in attrs");
  CHECK(v.checkpoints == 0, "no checkpoint without a signing key");
  CHECK(v.extra_signal == AUDITCHAIN_SIGNAL_LOGS, "a logs engine emits log records");
  CHECK(v.batch_id != 0, "batch id");
  int saw_value = 0, saw_previous = 0;
  for (uint32_t i = v.records[1].first; i < v.records[1].first + v.records[1].count; i++) {
    const auditchain_attr *a = &v.attrs[i];
    auditchain_str key = auditchain_attribute_key(a->key);
    if (str_eq(key, "audit.sequence.number")) CHECK(a->kind == AUDITCHAIN_ATTR_KIND_INT && a->value == 3, "number");
    if (str_eq(key, "audit.integrity.value") || str_eq(key, "audit.sequence.previous_hash")) {
      CHECK(a->kind == AUDITCHAIN_ATTR_KIND_STR && a->len == 64 && a->value + a->len <= v.text_len, "hex in text");
      saw_value += str_eq(key, "audit.integrity.value");
      saw_previous += str_eq(key, "audit.sequence.previous_hash");
    }
  }
  CHECK(saw_value == 1 && saw_previous == 1, "value %d previous %d", saw_value, saw_previous);
  uint64_t batch_id = v.batch_id;
  auditchain_stamps_free(stamps);

  CHECK(auditchain_engine_settle(engine, batch_id, true, NULL) == AUDITCHAIN_RESULT_OK, "settle");
  r = auditchain_engine_settle(engine, batch_id, true, &err);
  CHECK(r == AUDITCHAIN_RESULT_INVALID_ARGUMENT, "settling twice: %u", r);
  auditchain_error_free(err);
  err = NULL;

  /* A truncated batch is malformed; nothing is issued. */
  stamps = NULL;
  r = auditchain_engine_stamp_logs(engine, req.buf, req.len - 3, T0 + 3, &stamps, &err);
  CHECK(r == AUDITCHAIN_RESULT_MALFORMED_BATCH, "truncated: %u", r);
  CHECK(stamps == NULL, "no stamps on failure");
  CHECK(str_contains(auditchain_error_message(err), "truncated"), "message says why");
  auditchain_error_free(err);
  err = NULL;

  /* A record that arrives already stamped is refused. */
  pb stamped = batch(3, 1);
  r = auditchain_engine_stamp_logs(engine, stamped.buf, stamped.len, T0 + 3, &stamps, &err);
  CHECK(r == AUDITCHAIN_RESULT_REJECTED_RECORD, "already stamped: %u", r);
  CHECK(str_contains(auditchain_error_message(err), "logRecords[1]"), "message locates the record");
  auditchain_error_free(err);
  err = NULL;

  /* Selection: only the second of three records joins the stream. */
  pb three = batch(3, -1);
  const uint8_t select_second[3] = {0, 1, 0};
  r = auditchain_engine_stamp(engine, AUDITCHAIN_SIGNAL_LOGS, three.buf, three.len, select_second, 3, T0 + 3, &stamps, &err);
  CHECK(r == AUDITCHAIN_RESULT_OK, "stamp with a selection: %u", r);
  CHECK(auditchain_stamps_get_view(stamps, &v) == AUDITCHAIN_RESULT_OK, "view");
  CHECK(v.record_count == 3, "one entry per record, selected or not");
  CHECK(v.records[0].count == 0 && v.records[0].sequence == 0, "record 0 passes through unstamped");
  CHECK(v.records[1].count > 0 && v.records[1].sequence == 4, "record 1 is number 4");
  CHECK(v.records[2].count == 0 && v.records[2].sequence == 0, "record 2 passes through unstamped");
  CHECK(v.first_sequence == 4 && v.last_sequence == 4, "one number issued");
  CHECK(auditchain_engine_settle(engine, v.batch_id, true, NULL) == AUDITCHAIN_RESULT_OK, "settle");
  auditchain_stamps_free(stamps);
  stamps = NULL;
  /* A selection of the wrong length, a byte that is not 0 or 1, the wrong
   * signal: refused, nothing issued. */
  r = auditchain_engine_stamp(engine, AUDITCHAIN_SIGNAL_LOGS, three.buf, three.len, select_second, 2, T0 + 3, &stamps, &err);
  CHECK(r == AUDITCHAIN_RESULT_INVALID_ARGUMENT && str_contains(auditchain_error_message(err), "2 entries"),
        "short selection: %u", r);
  auditchain_error_free(err);
  err = NULL;
  const uint8_t bad_select[3] = {0, 2, 0};
  r = auditchain_engine_stamp(engine, AUDITCHAIN_SIGNAL_LOGS, three.buf, three.len, bad_select, 3, T0 + 3, &stamps, NULL);
  CHECK(r == AUDITCHAIN_RESULT_INVALID_ARGUMENT, "selection byte 2: %u", r);
  r = auditchain_engine_stamp(engine, AUDITCHAIN_SIGNAL_TRACES, three.buf, three.len, NULL, 0, T0 + 3, &stamps, &err);
  CHECK(r == AUDITCHAIN_RESULT_INVALID_ARGUMENT && str_contains(auditchain_error_message(err), "traces batch"),
        "a traces batch for a logs engine: %u", r);
  auditchain_error_free(err);
  err = NULL;
  r = auditchain_engine_stamp(engine, 7, three.buf, three.len, NULL, 0, T0 + 3, &stamps, NULL);
  CHECK(r == AUDITCHAIN_RESULT_INVALID_ARGUMENT, "unknown signal: %u", r);
  CHECK(stamps == NULL, "no stamps on failure");

  /* NULL arguments. */
  CHECK(auditchain_engine_stamp_logs(NULL, req.buf, req.len, T0 + 3, &stamps, NULL) == AUDITCHAIN_RESULT_NULL_ARGUMENT, "NULL engine");
  CHECK(auditchain_engine_stamp_logs(engine, req.buf, req.len, T0 + 3, NULL, NULL) == AUDITCHAIN_RESULT_NULL_ARGUMENT, "NULL out");

  /* The next batch continues the numbering: the failures issued nothing. */
  r = auditchain_engine_stamp_logs(engine, req.buf, req.len, T0 + 4, &stamps, NULL);
  CHECK(r == AUDITCHAIN_RESULT_OK, "stamp again");
  CHECK(auditchain_stamps_get_view(stamps, &v) == AUDITCHAIN_RESULT_OK, "view");
  CHECK(v.first_sequence == 5 && v.extra_len == 0, "continues at 5 without extra records");
  CHECK(auditchain_engine_settle(engine, v.batch_id, true, NULL) == AUDITCHAIN_RESULT_OK, "settle");
  auditchain_stamps_free(stamps);

  r = auditchain_engine_close(engine, T0 + 5, &stamps, NULL);
  CHECK(r == AUDITCHAIN_RESULT_OK, "close");
  CHECK(auditchain_stamps_get_view(stamps, &v) == AUDITCHAIN_RESULT_OK, "view");
  CHECK(v.record_count == 0 && v.extra_len > 0, "close emits the end record");
  CHECK(v.first_sequence == 7 && v.last_sequence == 7, "end record is 7");
  CHECK(v.extra_record_count == 1 && v.extra_records[0].sequence == 7, "the end record's stamp");
  int saw_end = 0;
  for (uint32_t i = v.extra_records[0].first; i < v.extra_records[0].first + v.extra_records[0].count; i++) {
    const auditchain_attr *a = &v.attrs[i];
    if (str_eq(auditchain_attribute_key(a->key), "audit.sequence.end"))
      saw_end += a->kind == AUDITCHAIN_ATTR_KIND_BOOL && a->value == 1;
  }
  CHECK(saw_end == 1, "the end record carries audit.sequence.end");
  auditchain_stamps_free(stamps);
  r = auditchain_engine_stamp_logs(engine, req.buf, req.len, T0 + 6, &stamps, &err);
  CHECK(r == AUDITCHAIN_RESULT_CLOSED, "after close: %u", r);
  auditchain_error_free(err);
  auditchain_engine_free(engine);

  /* The lock is released with the engine; the state continues. */
  r = new_engine("c-test", &engine, NULL);
  CHECK(r == AUDITCHAIN_RESULT_OK, "reopen after free");
  auditchain_engine_free(engine);
}

/* on_bad_record: drop_record: a record that cannot be stamped gets an empty
 * stamp and is named in `rejected`; an unselected one passes through. */
static void test_drop_record(void) {
  char config[512];
  snprintf(config, sizeof config, "{\"stream_name\":\"c-drop\",\"on_bad_record\":\"drop_record\"}");
  auditchain_engine *engine = NULL;
  auditchain_error *err = NULL;
  auditchain_result r = auditchain_engine_new((const uint8_t *)config, strlen(config), T0, &engine, &err);
  CHECK(r == AUDITCHAIN_RESULT_OK, "engine_new: %u", r);
  if (r != AUDITCHAIN_RESULT_OK) {
    auditchain_error_free(err);
    return;
  }
  pb four = batch(4, 1);
  const uint8_t select[4] = {1, 1, 0, 1};
  auditchain_stamps *stamps = NULL;
  r = auditchain_engine_stamp(engine, AUDITCHAIN_SIGNAL_LOGS, four.buf, four.len, select, 4, T0 + 1, &stamps, &err);
  CHECK(r == AUDITCHAIN_RESULT_OK, "stamp: %u", r);
  auditchain_stamps_view v;
  CHECK(auditchain_stamps_get_view(stamps, &v) == AUDITCHAIN_RESULT_OK, "view");
  CHECK(v.record_count == 4, "one entry per record");
  CHECK(v.rejected_records == 1 && v.rejected[0] == 1, "record 1 is rejected (%u)", v.rejected_records);
  CHECK(str_contains(v.rejection, "logRecords[1]") && str_contains(v.rejection, "audit.sequence.number"),
        "the rejection locates the record");
  CHECK(v.records[1].count == 0 && v.records[1].sequence == 0, "record 1 has no stamp");
  CHECK(v.records[2].count == 0 && v.records[2].sequence == 0, "record 2 passes through unstamped");
  CHECK(v.records[0].sequence == 2 && v.records[3].sequence == 3, "records 0 and 3 are numbers 2 and 3");
  CHECK(auditchain_engine_settle(engine, v.batch_id, true, NULL) == AUDITCHAIN_RESULT_OK, "settle");
  auditchain_stamps_free(stamps);
  auditchain_engine_free(engine);
}

/* The witness client: a signed log with one witness; after a checkpoint
 * one add-checkpoint request, its answer handed back, counted. */
static void test_witness_jobs(void) {
  char key[300], config[1024];
  snprintf(key, sizeof key, "%s/c-test.sign.key", state_dir);
  FILE *f = fopen(key, "w");
  CHECK(f != NULL, "create the key file");
  if (!f) return;
  fputs("PRIVATE+KEY+c-test+50ff0efb+AV5jA3Q+T40QJjIslOrhBghIIjfZ52EjZL5w5OSq17qQ\n", f);
  fclose(f);
  chmod(key, 0600);
  snprintf(config, sizeof config,
           "{\"stream_name\":\"c-witness\",\"state\":{\"directory\":\"%s\"},\"signing_key_file\":\"%s\","
           "\"checkpoint\":{\"records\":2},"
           "\"witnesses\":[{\"url\":\"http://127.0.0.1:1\",\"key\":"
           "\"witness.example/w1+99d91bd5+BIzYejmlJUoEJZKZoP3WYi6vtaSpXVlTFDm512BL9RIR\",\"timeout\":1000000000}]}",
           state_dir, key);
  auditchain_engine *engine = NULL;
  auditchain_error *err = NULL;
  auditchain_result r = auditchain_engine_new((const uint8_t *)config, strlen(config), T0, &engine, &err);
  CHECK(r == AUDITCHAIN_RESULT_OK, "engine with a witness: %.*s", (int)auditchain_error_message(err).len,
        (const char *)auditchain_error_message(err).data);
  auditchain_error_free(err);
  if (r != AUDITCHAIN_RESULT_OK) return;
  auditchain_witness_jobs *jobs = NULL;
  CHECK(auditchain_engine_witness_jobs(engine, NULL, NULL) == AUDITCHAIN_RESULT_NULL_ARGUMENT, "NULL jobs_out");
  CHECK(auditchain_engine_witness_jobs(engine, &jobs, NULL) == AUDITCHAIN_RESULT_OK, "jobs");
  CHECK(auditchain_witness_jobs_len(jobs) == 0, "no checkpoint yet: no job");
  auditchain_witness_jobs_free(jobs);
  pb req = batch(2, -1);
  auditchain_stamps *stamps = NULL;
  r = auditchain_engine_stamp_logs(engine, req.buf, req.len, T0 + 1, &stamps, NULL);
  CHECK(r == AUDITCHAIN_RESULT_OK, "stamp");
  auditchain_stamps_free(stamps);
  CHECK(auditchain_engine_witness_jobs(engine, &jobs, NULL) == AUDITCHAIN_RESULT_OK, "jobs");
  CHECK(auditchain_witness_jobs_len(jobs) == 1, "one job after a checkpoint: %zu", auditchain_witness_jobs_len(jobs));
  const auditchain_witness_job *j = auditchain_witness_jobs_get(jobs, 0);
  CHECK(j != NULL && auditchain_witness_jobs_get(jobs, 1) == NULL, "job 0 only");
  if (j) {
    CHECK(j->witness == 0 && !j->start && j->size == 3 && j->timeout_ns == 1000000000ull, "job fields");
    CHECK(str_eq(j->url, "http://127.0.0.1:1"), "url");
    CHECK(str_contains(j->body, "old 0\n\nc-test\n3\n"), "body: %.*s", (int)j->body.len, (const char *)j->body.data);
    uint32_t kind = 99;
    const char *why = "connection refused";
    r = auditchain_engine_witness_answer(engine, j->id, 0, NULL, 0, (const uint8_t *)why, strlen(why), T0 + 2, &kind,
                                         NULL);
    CHECK(r == AUDITCHAIN_RESULT_OK && kind == AUDITCHAIN_WITNESS_ANSWER_UNREACHABLE, "unreachable: %u %u", r, kind);
    r = auditchain_engine_witness_answer(engine, j->id, 200, NULL, 0, NULL, 0, T0 + 3, &kind, &err);
    CHECK(r == AUDITCHAIN_RESULT_INVALID_ARGUMENT, "an answer is taken once: %u", r);
    auditchain_error_free(err);
    err = NULL;
  }
  auditchain_witness_jobs_free(jobs);
  uint64_t acked = 9, lag = 9;
  CHECK(auditchain_engine_witness_status(engine, 0, &acked, &lag) == AUDITCHAIN_RESULT_OK && acked == 0 && lag == 3,
        "status: %llu %llu", (unsigned long long)acked, (unsigned long long)lag);
  CHECK(auditchain_engine_witness_status(engine, 1, &acked, &lag) == AUDITCHAIN_RESULT_INVALID_ARGUMENT, "witness 1");
  auditchain_engine_counters c;
  CHECK(auditchain_engine_get_counters(engine, &c) == AUDITCHAIN_RESULT_OK, "counters");
  CHECK(c.witness_sent == 1 && c.witness_answers[AUDITCHAIN_WITNESS_ANSWER_UNREACHABLE] == 1, "witness counters");
  auditchain_engine_free(engine);
}

/* mode: verify's checker: configuration errors, verdicts of unstamped
 * records, a batch that is not protobuf, tick, frees. */
static void test_checker(void) {
  auditchain_checker *chk = NULL;
  auditchain_error *err = NULL;
  const char *bad = "{\"state_directory\":\"/tmp/x\",\"reorder_window\":0}";
  auditchain_result r = auditchain_checker_new((const uint8_t *)bad, strlen(bad), &chk, &err);
  CHECK(r == AUDITCHAIN_RESULT_INVALID_CONFIG, "bad checker config: %u", r);
  CHECK(str_contains(auditchain_error_message(err), "reorder_window"), "the message names the key");
  auditchain_error_free(err);
  err = NULL;

  char config[512];
  snprintf(config, sizeof config, "{\"state_directory\":\"%s/checker\"}", state_dir);
  r = auditchain_checker_new((const uint8_t *)config, strlen(config), &chk, &err);
  CHECK(r == AUDITCHAIN_RESULT_OK, "checker_new: %u", r);
  if (r != AUDITCHAIN_RESULT_OK) {
    auditchain_error_free(err);
    return;
  }
  auditchain_checker *other = NULL;
  r = auditchain_checker_new((const uint8_t *)config, strlen(config), &other, &err);
  CHECK(r == AUDITCHAIN_RESULT_STATE && str_contains(auditchain_error_message(err), "locked"), "second checker: %u", r);
  auditchain_error_free(err);
  err = NULL;

  pb req = batch(2, -1);
  auditchain_verdicts *v = NULL;
  r = auditchain_checker_check(chk, AUDITCHAIN_SIGNAL_LOGS, req.buf, req.len, T0, &v, &err);
  CHECK(r == AUDITCHAIN_RESULT_OK, "check: %u", r);
  size_t n = 0;
  const auditchain_record_verdict *rv = auditchain_verdicts_records(v, &n);
  CHECK(n == 2, "two verdicts, got %zu", n);
  for (size_t i = 0; i < n; i++) {
    CHECK(rv[i].outcome == AUDITCHAIN_VERIFY_OUTCOME_FAILED && str_eq(auditchain_verify_reason_name(rv[i].reason), "unstamped"),
          "record %zu unstamped", i);
  }
  auditchain_verdicts_events(v, &n);
  CHECK(n == 0, "no events");
  auditchain_verdicts_free(v);
  v = NULL;

  const uint8_t garbage[] = {0xff, 0xff, 0xff};
  r = auditchain_checker_check(chk, AUDITCHAIN_SIGNAL_LOGS, garbage, sizeof garbage, T0, &v, &err);
  CHECK(r == AUDITCHAIN_RESULT_MALFORMED_BATCH && v == NULL, "garbage: %u", r);
  auditchain_error_free(err);
  err = NULL;
  r = auditchain_checker_check(chk, 9, req.buf, req.len, T0, &v, &err);
  CHECK(r == AUDITCHAIN_RESULT_INVALID_ARGUMENT, "unknown signal: %u", r);
  auditchain_error_free(err);
  err = NULL;
  CHECK(auditchain_checker_check(NULL, 1, req.buf, req.len, T0, &v, NULL) == AUDITCHAIN_RESULT_NULL_ARGUMENT, "NULL checker");
  CHECK(auditchain_checker_tick(chk, T0, NULL, NULL) == AUDITCHAIN_RESULT_NULL_ARGUMENT, "NULL verdicts_out");
  r = auditchain_checker_tick(chk, T0 + 1, &v, &err);
  CHECK(r == AUDITCHAIN_RESULT_OK, "tick: %u", r);
  auditchain_verdicts_free(v);
  CHECK(auditchain_verify_reason_name(999).len == 0, "unknown reason");
  auditchain_verdicts_free(NULL);
  auditchain_checker_free(chk);
  auditchain_checker_free(NULL);
}

int main(void) {
  snprintf(state_dir, sizeof state_dir, "/tmp/auditchain-c-XXXXXX");
  if (!mkdtemp(state_dir)) {
    perror("mkdtemp");
    return 2;
  }
  test_static_tables();
  test_bad_config();
  test_stamp_settle_close();
  test_drop_record();
  test_witness_jobs();
  test_checker();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", state_dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", state_dir);
  if (failures) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("C ABI test: all checks passed\n");
  return 0;
}
