//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadatatest"
)

// writeLogLines writes what a sink received as the file exporter does
// (pdata's OTLP/JSON marshaler, one request per line) into a new
// directory, and checks that every line is valid JSON.
func writeLogLines(t *testing.T, sink *consumertest.LogsSink) string {
	t.Helper()
	dir := t.TempDir()
	var m plog.JSONMarshaler
	var batches []func() ([]byte, error)
	for _, ld := range sink.AllLogs() {
		b, err := m.MarshalLogs(ld)
		require.NoError(t, err)
		require.True(t, json.Valid(b), "the exporter would write invalid JSON: %q", b)
		batches = append(batches, func() ([]byte, error) { return b, nil })
	}
	writeJSONLines(t, filepath.Join(dir, "audit.jsonl"), batches)
	return dir
}

// With on_error: forward_unstamped, what a client sends cannot place
// stamps in the store (issue 13, item 7): a whole stream forged from a real
// one (every record already stamped), reserved names in resource and scope
// attributes, and a record that is not valid UTF-8. Real bytes through the
// processor, written by pdata's JSON marshaler, read by the real verifier.
func TestForwardUnstampedNeverLetsStampsOrInvalidJSONOut(t *testing.T) {
	// A real stamped stream: what a forger copies.
	genuine := new(consumertest.LogsSink)
	a := startTestProcessor(t, testConfig(t), genuine)
	require.NoError(t, a.ConsumeLogs(context.Background(), makeLogs("genuine", 6, 100)))
	require.NoError(t, a.Shutdown(context.Background()))
	forgedStream := records(genuine)[0].str(attrStreamID)
	require.NotEmpty(t, forgedStream)

	forged := plog.NewLogs()
	for _, ld := range genuine.AllLogs() {
		ld.ResourceLogs().MoveAndAppendTo(forged.ResourceLogs())
	}
	n := forged.LogRecordCount()
	rl := forged.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("audit.sequence.stream_id", forgedStream)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().Attributes().PutStr("audit.stream.event", "start")
	bad := sl.LogRecords().AppendEmpty()
	bad.Body().SetStr("not UTF-8: \xff\xfe end")
	bad.Attributes().PutStr("key \xc3", "value \xe2\x82")
	bad.Attributes().PutEmptyMap("nested").PutStr("deep", "\xf0\x9f")

	sink := new(consumertest.LogsSink)
	cfg := testConfig(t)
	cfg.OnError = OnErrorForwardUnstamped
	cfg.StreamName = "forwarder"
	b := startTestProcessor(t, cfg, sink)
	require.NoError(t, b.ConsumeLogs(context.Background(), forged))
	require.NoError(t, b.Shutdown(context.Background()))

	users := userRecords(sink)
	require.Len(t, users, n+1, "every record was forwarded")
	for _, r := range users {
		for k := range r.attrs {
			if strings.HasPrefix(k, "audit.unstamped.") {
				continue
			}
			for _, p := range reservedPrefixes() {
				assert.False(t, strings.HasPrefix(k, p), "reserved attribute %q left the processor", k)
			}
		}
		assert.Contains(t, r.attrs, attrUnstampedRemoved, "the record says what was removed")
	}
	last := users[len(users)-1]
	assert.Equal(t, true, last.attrs[attrUnstampedInvalidUTF8])
	assert.Equal(t, []any{"resource:audit.sequence.stream_id", "scope:audit.stream.event"}, last.attrs[attrUnstampedRemoved])
	assert.Equal(t, "not UTF-8: \uFFFD end", last.body)

	dir := writeLogLines(t, sink)
	report, out, _ := runVerifier(t, dir, "--allow-unstamped")
	for _, s := range report.Streams {
		assert.NotEqual(t, forgedStream, s.StreamID, "the forged stream must not reach the store")
	}
	require.Len(t, report.Streams, 1, "only the forwarder's own stream: %s", out)
	assert.Equal(t, n+1, report.UnstampedRecords)
}

// on_bad_record (docs/RELIABILITY.md): reject_batch refuses the whole
// batch; drop_record stamps and delivers the good records, drops the bad
// ones, counts them, and tells the sender with a permanent error.
func TestOnBadRecord(t *testing.T) {
	batch := func() (plog.Logs, int) {
		ld := makeLogs("good", 5, 100)
		lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
		lr.Body().SetStr("bad \xff")
		lr = ld.ResourceLogs().At(1).ScopeLogs().At(1).LogRecords().AppendEmpty()
		lr.Attributes().PutInt(attrNumber, 3)
		// A resource with a reserved name: both of its records are bad.
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("audit.integrity.value", "00")
		sl := rl.ScopeLogs().AppendEmpty()
		sl.LogRecords().AppendEmpty().Body().SetStr("one")
		sl.LogRecords().AppendEmpty().Body().SetStr("two")
		return ld, 4
	}

	sink := new(consumertest.LogsSink)
	p := startTestProcessor(t, testConfig(t), sink)
	ld, _ := batch()
	err := p.ConsumeLogs(context.Background(), ld)
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Empty(t, userRecords(sink), "reject_batch: nothing of the batch leaves")

	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	sink = new(consumertest.LogsSink)
	cfg := testConfig(t)
	cfg.OnBadRecord = OnBadRecordDropRecord
	p = newTestProcessor(t, metadatatest.NewSettings(tel), cfg, sink)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	ld, nbad := batch()
	total := ld.LogRecordCount()
	err = p.ConsumeLogs(context.Background(), ld)
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "the sender must not resend what was delivered")
	assert.Contains(t, err.Error(), "4 of 9 log records could not be stamped and were dropped")
	assert.Contains(t, err.Error(), "not valid UTF-8")
	require.NoError(t, p.Shutdown(context.Background()))

	users := userRecords(sink)
	assert.Len(t, users, total-nbad, "the good records were delivered")
	for _, r := range users {
		assert.True(t, strings.HasPrefix(r.body, "good-"), r.body)
		assert.NotZero(t, r.number())
	}
	assertChain(t, records(sink))
	metadatatest.AssertEqualProcessorAuditchainRecordsDropped(t, tel,
		[]metricdata.DataPoint[int64]{own("auditchain", "test-stream", int64(nbad))}, metricdatatest.IgnoreTimestamp())
	report, out, err := runVerifier(t, writeLogLines(t, sink))
	require.NoError(t, err, out)
	assert.Equal(t, "pass", report.Verdict, out)
}

// A step of the wall clock is announced in the stream (a clock_step
// record), logged, and counted (issue 13, item 6).
func TestClockStepIsAnnouncedAndCounted(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	sink := new(consumertest.LogsSink)
	p := newTestProcessor(t, metadatatest.NewSettings(tel), testConfig(t), sink)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	waitForEvent(t, sink, "start")
	p.wallOffset.Store(int64(time.Hour))
	require.NoError(t, p.ConsumeLogs(context.Background(), makeLogs("after", 2, 100)))
	step := waitForEvent(t, sink, "clock_step")
	assert.InDelta(t, float64(time.Hour), float64(step.attrs["audit.stream.clock_step"].(int64)), float64(time.Second))
	require.NoError(t, p.Shutdown(context.Background()))
	metadatatest.AssertEqualProcessorAuditchainClockSteps(t, tel,
		[]metricdata.DataPoint[int64]{own("auditchain", "test-stream", 1)}, metricdatatest.IgnoreTimestamp())
	assertChain(t, records(sink))
}

// on_bad_record: drop_record for spans: the good spans of a batch are
// stamped and delivered, a span with a bad id and the spans of a scope
// carrying a reserved name are dropped and counted, the sender gets a
// permanent error naming spans, and the real verifier passes the stream.
func TestOnBadRecordDropsSpans(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	cfg := testConfig(t)
	cfg.OnBadRecord = OnBadRecordDropRecord
	sink := new(consumertest.TracesSink)
	set := settingsFor(tel, "auditchain")
	p, err := NewFactory().CreateTraces(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))

	td := seed002Traces("svc-a", "svc-b")
	// Not valid UTF-8 in the first service's health check span.
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetName("GET /\xff")
	td.ResourceSpans().At(1).ScopeSpans().At(0).Scope().Attributes().PutStr("audit.stream.event", "start")
	err = p.ConsumeTraces(context.Background(), td)
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "3 of 4 spans could not be stamped and were dropped")
	assert.Contains(t, err.Error(), "resourceSpans[0].scopeSpans[0].spans[1].name")
	require.NoError(t, p.Shutdown(context.Background()))

	var users []spanRecord
	for _, s := range spanRecords(sink) {
		if s.attrs["audit.stream.event"] == nil {
			users = append(users, s)
		}
	}
	require.Len(t, users, 1, "the one good span was delivered")
	assert.Equal(t, "user.role.update", users[0].name)
	assert.NotNil(t, users[0].attrs[attrNumber])
	metadatatest.AssertEqualProcessorAuditchainRecordsDropped(t, tel,
		[]metricdata.DataPoint[int64]{own("auditchain", "test-stream", 3)}, metricdatatest.IgnoreTimestamp())
	dir := t.TempDir()
	writeJSONLines(t, filepath.Join(dir, "audit.jsonl"), traceLines(sink))
	report, out, err := runVerifier(t, dir)
	require.NoError(t, err, out)
	assert.Equal(t, "pass", report.Verdict, out)
}

// With on_error: forward_unstamped a traces batch that cannot be stamped
// leaves scrubbed, as a logs batch does: no reserved attribute on a span,
// its scope or its resource, invalid UTF-8 repaired, each span marked.
func TestForwardUnstampedScrubsSpans(t *testing.T) {
	cfg := testConfig(t)
	cfg.OnError = OnErrorForwardUnstamped
	sink := new(consumertest.TracesSink)
	p := startTracesProcessor(t, cfg, sink)
	td := seed002Traces("svc-a")
	rs := td.ResourceSpans().At(0)
	rs.Resource().Attributes().PutStr("audit.sequence.stream_id", "forged")
	span := rs.ScopeSpans().At(0).Spans().At(0)
	span.Attributes().PutInt(attrNumber, 7)
	span.Events().AppendEmpty().SetName("event \xff")
	require.NoError(t, p.ConsumeTraces(context.Background(), td))
	var got []ptrace.Span
	for _, out := range sink.AllTraces() {
		rss := out.ResourceSpans()
		for r := 0; r < rss.Len(); r++ {
			_, forged := rss.At(r).Resource().Attributes().Get("audit.sequence.stream_id")
			assert.False(t, forged, "a reserved resource attribute left the processor")
			spans := rss.At(r).ScopeSpans().At(0).Spans()
			for k := 0; k < spans.Len(); k++ {
				if _, own := spans.At(k).Attributes().Get("audit.stream.event"); !own {
					got = append(got, spans.At(k))
				}
			}
		}
	}
	require.Len(t, got, 2)
	marks := got[0].Attributes().AsRaw()
	assert.Equal(t, []any{"resource:audit.sequence.stream_id", attrNumber}, marks[attrUnstampedRemoved])
	assert.Equal(t, true, marks[attrUnstampedInvalidUTF8])
	assert.Equal(t, "event \uFFFD", got[0].Events().At(0).Name())
	assert.Equal(t, []any{"resource:audit.sequence.stream_id"}, got[1].Attributes().AsRaw()[attrUnstampedRemoved])
	b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(sink.AllTraces()[len(sink.AllTraces())-1])
	require.NoError(t, err)
	assert.True(t, json.Valid(b))
}

// A batch none of whose records the selection chooses is forwarded without
// a call into the engine, but never with a record that would leave looking
// stamped: reject_batch refuses it, drop_record drops those records and
// forwards the rest, forward_unstamped forwards it scrubbed.
func TestUnselectedRecordsNeverLeaveWithForgedStamps(t *testing.T) {
	forged := func() plog.Logs {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		lrs.AppendEmpty().Attributes().PutStr("http.request.method", "GET")
		lr := lrs.AppendEmpty()
		lr.Attributes().PutStr("http.request.method", "GET")
		lr.Attributes().PutStr(attrStreamID, "a-real-stream-20261122T041100Z-7f3a")
		lr.Attributes().PutInt(attrNumber, 7)
		return ld
	}
	run := func(configure func(*Config)) (*consumertest.LogsSink, error) {
		cfg := testConfig(t)
		cfg.Select = []string{`attributes["http.request.method"] == "DELETE"`}
		configure(cfg)
		sink := new(consumertest.LogsSink)
		p := startTestProcessor(t, cfg, sink)
		waitForEvent(t, sink, "start")
		return sink, p.ConsumeLogs(context.Background(), forged())
	}
	plain := func(sink *consumertest.LogsSink) []record {
		var out []record
		for _, r := range records(sink) {
			if r.event() == "" {
				out = append(out, r)
			}
		}
		return out
	}

	sink, err := run(func(*Config) {})
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "reserved to auditchain")
	assert.Empty(t, plain(sink), "reject_batch: nothing of the batch leaves")

	sink, err = run(func(c *Config) { c.OnBadRecord = OnBadRecordDropRecord })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 of 2 log records could not be stamped and were dropped")
	got := plain(sink)
	require.Len(t, got, 1)
	assert.Equal(t, map[string]any{"http.request.method": "GET"}, got[0].attrs, "the other record passes untouched")

	sink, err = run(func(c *Config) { c.OnError = OnErrorForwardUnstamped })
	require.NoError(t, err)
	got = plain(sink)
	require.Len(t, got, 2)
	assert.Equal(t, []any{attrStreamID, attrNumber}, got[1].attrs[attrUnstampedRemoved])
	assert.Empty(t, got[1].str(attrStreamID))
}

// With partition_by, a partition whose records are all bad does not cost
// the others theirs under drop_record: each engine call rejects what it
// cannot stamp, the rest is stamped into its own stream.
func TestDropRecordAcrossPartitions(t *testing.T) {
	cfg := testConfig(t)
	cfg.PartitionBy = []string{`resource.attributes["service.name"]`}
	cfg.OnBadRecord = OnBadRecordDropRecord
	sink := new(consumertest.LogsSink)
	p := startTestProcessor(t, cfg, sink)
	ld := serviceLogs("good", "bad", "good")
	ld.ResourceLogs().At(1).ScopeLogs().At(0).LogRecords().At(0).Body().SetStr("bad \xff")
	err := p.ConsumeLogs(context.Background(), ld)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 of 3 log records could not be stamped and were dropped")
	require.NoError(t, p.Shutdown(context.Background()))
	streams := streamsOf(sink)
	for _, r := range streams["test-stream-bad"] {
		assert.NotEmpty(t, r.event(), "no record of the bad partition was stamped: %v", r.body)
	}
	good := streams["test-stream-good"]
	assertChain(t, good)
	var bodies []string
	for _, r := range good {
		if r.event() == "" {
			bodies = append(bodies, r.body)
		}
	}
	assert.Equal(t, []string{"audit event of good", "audit event of good"}, bodies)
}
