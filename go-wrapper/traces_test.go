//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
)

// startTracesProcessor creates and starts a traces processor and shuts it
// down when the test ends.
func startTracesProcessor(t testing.TB, cfg *Config, next *consumertest.TracesSink) *tracesProcessor {
	t.Helper()
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(t, err)
	tp := p.(*tracesProcessor)
	require.NoError(t, tp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, tp.Shutdown(context.Background())) })
	return tp
}

// seed002Traces is a batch of seed 002's spans from each service: a
// user.role.update span with enduser.* and audit.* attributes, and a
// health check no audit rule selects.
func seed002Traces(services ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	for i, svc := range services {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", svc)
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("audit-service")
		span := ss.Spans().AppendEmpty()
		span.SetName("user.role.update")
		span.SetKind(ptrace.SpanKindServer)
		span.SetTraceID(pcommon.TraceID{byte(i + 1), 2, 3})
		span.SetSpanID(pcommon.SpanID{byte(i + 1), 1})
		span.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Unix(1_795_320_660, 0)))
		span.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Unix(1_795_320_661, 0)))
		a := span.Attributes()
		a.PutStr("enduser.id", "admin-"+svc)
		a.PutStr("enduser.role", "admin")
		a.PutStr("enduser.ip", "10.0.0.7")
		a.PutStr("audit.action", "role_update")
		a.PutStr("audit.target_user", "user-"+svc)
		a.PutStr("audit.old_value", "viewer")
		a.PutStr("audit.new_value", "editor")
		a.PutStr("audit.resource_type", "user_permission")
		a.PutStr("audit.result", "success")
		span.Status().SetCode(ptrace.StatusCodeOk)
		health := ss.Spans().AppendEmpty()
		health.SetName("GET /healthz")
		health.SetSpanID(pcommon.SpanID{byte(i + 1), 2})
		health.Attributes().PutStr("http.request.method", "GET")
	}
	return td
}

// spanRecord is one span as a sink saw it.
type spanRecord struct {
	name  string
	attrs map[string]any
}

func spanRecords(sink *consumertest.TracesSink) []spanRecord {
	var out []spanRecord
	for _, td := range sink.AllTraces() {
		out = append(out, spanNamesAndAttributes(td)...)
	}
	return out
}

func spanNamesAndAttributes(td ptrace.Traces) []spanRecord {
	var out []spanRecord
	rss := td.ResourceSpans()
	for r := 0; r < rss.Len(); r++ {
		sss := rss.At(r).ScopeSpans()
		for s := 0; s < sss.Len(); s++ {
			spans := sss.At(s).Spans()
			for k := 0; k < spans.Len(); k++ {
				out = append(out, spanRecord{spans.At(k).Name(), spans.At(k).Attributes().AsRaw()})
			}
		}
	}
	return out
}

// streamNameOf is the stream name in a stream id,
// <name>-<YYYYMMDDTHHMMSSZ>-<4 hex digits>.
func streamNameOf(id string) string {
	parts := strings.Split(id, "-")
	return strings.Join(parts[:len(parts)-2], "-")
}

// verifyReport is what the tests read of `auditchain verify --format json`.
type verifyReport struct {
	Verdict          string `json:"verdict"`
	UnstampedRecords int    `json:"unstamped_records"`
	Streams          []struct {
		StreamID string     `json:"stream_id"`
		Signal   string     `json:"signal"`
		Verdict  string     `json:"verdict"`
		Records  uint64     `json:"records"`
		Missing  [][]uint64 `json:"missing"`
		Ended    bool       `json:"ended"`
		Findings []struct {
			Kind     string `json:"kind"`
			Severity string `json:"severity"`
		} `json:"findings"`
	} `json:"streams"`
}

// runVerifier runs the real CLI over dir.
func runVerifier(t testing.TB, dir string, args ...string) (verifyReport, string, error) {
	t.Helper()
	verifier, err := filepath.Abs("../target/release/auditchain")
	require.NoError(t, err)
	_, err = os.Stat(verifier)
	if _, e := os.Stat("lib/BUILDINFO"); e == nil && err != nil {
		t.Skip("a module version, outside the repository: no verifier CLI beside it")
	}
	require.NoError(t, err, "build the CLI first: make cli (make test-go does)")
	out, err := exec.Command(verifier, append(append([]string{"verify", "--format", "json"}, args...), dir)...).Output()
	var r verifyReport
	require.NoError(t, json.Unmarshal(out, &r), "%s", out)
	return r, string(out), err
}

// writeJSONLines writes what the sinks received as the file exporter
// does: one OTLP/JSON request per line.
func writeJSONLines(t testing.TB, path string, batches []func() ([]byte, error)) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	for _, m := range batches {
		b, err := m()
		require.NoError(t, err)
		_, err = f.Write(append(b, '\n'))
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
}

func traceLines(sink *consumertest.TracesSink) []func() ([]byte, error) {
	var out []func() ([]byte, error)
	for _, td := range sink.AllTraces() {
		out = append(out, func() ([]byte, error) { return (&ptrace.JSONMarshaler{}).MarshalTraces(td) })
	}
	return out
}

func logLines(sink *consumertest.LogsSink) []func() ([]byte, error) {
	var out []func() ([]byte, error)
	for _, ld := range sink.AllLogs() {
		out = append(out, func() ([]byte, error) { return (&plog.JSONMarshaler{}).MarshalLogs(ld) })
	}
	return out
}

// TestSelectedSpansAndLogsPerServiceVerifyTogether is seed 002 in one
// process: a traces and a logs processor with the same select and
// partition_by, two services; only the audit records are stamped, one
// stream per service and signal, and the real verifier passes them all in
// one run, naming each stream's signal.
func TestSelectedSpansAndLogsPerServiceVerifyTogether(t *testing.T) {
	cfg := testConfig(t)
	cfg.Select = []string{`attributes["audit.action"] != nil`}
	cfg.PartitionBy = []string{`resource.attributes["service.name"]`}

	traces := new(consumertest.TracesSink)
	tp := startTracesProcessor(t, cfg, traces)
	require.NoError(t, tp.ConsumeTraces(context.Background(), seed002Traces("svc-a", "svc-b")))
	require.NoError(t, tp.ConsumeTraces(context.Background(), seed002Traces("svc-b")))

	logs := new(consumertest.LogsSink)
	logCfg := *cfg
	logCfg.StreamName = "test-logs"
	lp := startTestProcessor(t, &logCfg, logs)
	ld := makeLogs("audit", 6, 200) // two services, every record has audit.action
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
	lr.Body().SetStr("GET /healthz 200")
	require.NoError(t, lp.ConsumeLogs(context.Background(), ld))

	// Before shutdown: the audit spans carry stamps of their service's
	// stream, the health checks nothing; each stream's start span travels
	// with its first batch.
	var streams []string
	for _, s := range spanRecords(traces) {
		switch s.name {
		case "GET /healthz":
			assert.Equal(t, map[string]any{"http.request.method": "GET"}, s.attrs, "passed through untouched")
		case "user.role.update":
			id, _ := s.attrs[attrStreamID].(string)
			svc := strings.TrimPrefix(s.attrs["enduser.id"].(string), "admin-")
			assert.True(t, strings.HasPrefix(id, "test-stream-"+svc+"-"), "%s in stream %s", svc, id)
			streams = append(streams, id)
		case "auditchain.start":
			assert.Equal(t, "start", s.attrs["audit.stream.event"])
			assert.Contains(t, s.attrs, "audit.stream.body")
		default:
			t.Errorf("unexpected span %q", s.name)
		}
	}
	slices.Sort(streams)
	assert.Len(t, slices.Compact(streams), 2, "one stream per service")
	for _, dir := range []string{"test-stream-svc-a", "test-stream-svc-b", "test-logs-svc-0", "test-logs-svc-1"} {
		assert.FileExists(t, filepath.Join(cfg.State.Directory, dir, "state.json"), "own state per partition")
	}

	require.NoError(t, tp.Shutdown(context.Background()))
	require.NoError(t, lp.Shutdown(context.Background()))
	dir := t.TempDir()
	writeJSONLines(t, filepath.Join(dir, "traces.jsonl"), traceLines(traces))
	writeJSONLines(t, filepath.Join(dir, "logs.jsonl"), logLines(logs))

	r, out, err := runVerifier(t, dir, "--allow-unstamped")
	require.NoError(t, err, "verify failed:\n%s", out)
	require.Equal(t, "pass", r.Verdict, out)
	assert.Equal(t, 3+1, r.UnstampedRecords, "three health-check spans and one log record")
	var got []string
	for _, s := range r.Streams {
		assert.True(t, s.Ended, out)
		assert.Empty(t, s.Missing)
		got = append(got, fmt.Sprintf("%s %s %d", s.Signal, streamNameOf(s.StreamID), s.Records))
	}
	slices.Sort(got)
	// Each stream: its audit records, the start and the end record
	// (makeLogs puts records 0, 1, 4, 5 under svc-0, 2 and 3 under svc-1).
	assert.Equal(t, []string{
		"logs test-logs-svc-0 6", "logs test-logs-svc-1 4",
		"traces test-stream-svc-a 3", "traces test-stream-svc-b 4",
	}, got, out)
}

// TestTracesSpansCanBeForwardedUnstampedOnlyWhenConfigured checks the
// traces processor fails closed like the logs processor: a span that
// already carries a stamp refuses the batch.
func TestTracesProcessorFailsClosed(t *testing.T) {
	sink := new(consumertest.TracesSink)
	p := startTracesProcessor(t, testConfig(t), sink)
	td := seed002Traces("svc-a")
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).Attributes().PutInt(attrNumber, 7)
	err := p.ConsumeTraces(context.Background(), td)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "spans[1]")
	assert.Contains(t, err.Error(), "already carries the auditchain attribute")
	for _, s := range spanRecords(sink) {
		assert.NotEqual(t, "user.role.update", s.name, "nothing of the refused batch went on")
	}
}
