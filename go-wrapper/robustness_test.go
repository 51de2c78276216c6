//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
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
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadatatest"
)

// verifierReport is the part of `auditchain verify --format json` these
// tests read.
type verifierReport struct {
	Verdict          string `json:"verdict"`
	UnstampedRecords int    `json:"unstamped_records"`
	Streams          []struct {
		StreamID string `json:"stream_id"`
		Verdict  string `json:"verdict"`
		Records  int    `json:"records"`
	} `json:"streams"`
}

// writeJSONLines writes what a sink received as the file exporter does
// (pdata's OTLP/JSON marshaler, one request per line) and checks that
// every line is valid JSON.
func writeJSONLines(t *testing.T, sink *consumertest.LogsSink) string {
	t.Helper()
	dir := t.TempDir()
	var m plog.JSONMarshaler
	var out []byte
	for _, ld := range sink.AllLogs() {
		b, err := m.MarshalLogs(ld)
		require.NoError(t, err)
		require.True(t, json.Valid(b), "the exporter would write invalid JSON: %q", b)
		out = append(append(out, b...), '\n')
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "audit.jsonl"), out, 0o600))
	return dir
}

// runVerifier runs the real CLI on dir (skipped in a module version).
func runVerifier(t *testing.T, dir string, args ...string) verifierReport {
	t.Helper()
	verifier, err := filepath.Abs("../target/release/auditchain")
	require.NoError(t, err)
	if _, err := os.Stat(verifier); err != nil {
		if _, e := os.Stat("lib/BUILDINFO"); e == nil {
			t.Skip("a module version, outside the repository: no verifier CLI beside it")
		}
		require.NoError(t, err, "build the CLI first: make cli (make test-go does)")
	}
	out, _ := exec.Command(verifier, append(append([]string{"verify", "--format", "json"}, args...), dir)...).Output()
	var r verifierReport
	require.NoError(t, json.Unmarshal(out, &r), "%s", out)
	return r
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

	dir := writeJSONLines(t, sink)
	report := runVerifier(t, dir, "--allow-unstamped")
	for _, s := range report.Streams {
		assert.NotEqual(t, forgedStream, s.StreamID, "the forged stream must not reach the store")
	}
	require.Len(t, report.Streams, 1, "only the forwarder's own stream")
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
	report := runVerifier(t, writeJSONLines(t, sink))
	assert.Equal(t, "pass", report.Verdict)
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
