//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
)

// Attribute names the processor writes (docs/SPEC.md §4, §5).
const (
	attrStreamID      = "audit.sequence.stream_id"
	attrNumber        = "audit.sequence.number"
	attrPrevious      = "audit.sequence.previous_hash"
	attrEnd           = "audit.sequence.end"
	attrValue         = "audit.integrity.value"
	attrAlgorithm     = "audit.integrity.algorithm"
	attrCanonical     = "audit.integrity.canonicalization"
	attrPredecessorID = "audit.stream.predecessor.id"
	attrReason        = "audit.stream.reason"
	attrUnconfirmed   = "audit.stream.unconfirmed"
)

// testConfig is a valid configuration whose state lives in a fresh
// temporary directory.
func testConfig(t testing.TB) *Config {
	cfg := createDefaultConfig()
	cfg.StreamName = "test-stream"
	cfg.State.Directory = t.TempDir()
	return cfg
}

// newTestProcessor creates (but does not start) a logs processor.
func newTestProcessor(t testing.TB, set processor.Settings, cfg *Config, next consumer.Logs) *logsProcessor {
	t.Helper()
	p, err := NewFactory().CreateLogs(context.Background(), set, cfg, next)
	require.NoError(t, err)
	return p.(*logsProcessor)
}

// startTestProcessor creates and starts a processor and shuts it down when
// the test ends.
func startTestProcessor(t testing.TB, cfg *Config, next consumer.Logs) *logsProcessor {
	t.Helper()
	p := newTestProcessor(t, processortest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, p.Shutdown(context.Background())) })
	return p
}

// makeLogs builds a batch of n records of about bodySize bytes spread over
// two resources with two scopes each, the shape a receiver hands over.
func makeLogs(prefix string, n, bodySize int) plog.Logs {
	ld := plog.NewLogs()
	body := strings.Repeat("x", max(bodySize-100, 1))
	var scopes [4]plog.LogRecordSlice
	for r := range 2 {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", r))
		for s := range 2 {
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(fmt.Sprintf("scope-%d", s))
			scopes[r*2+s] = sl.LogRecords()
		}
	}
	ts := pcommon.NewTimestampFromTime(time.Unix(1_700_000_000, 0))
	for i := range n {
		lr := scopes[i%4].AppendEmpty()
		lr.SetTimestamp(ts + pcommon.Timestamp(i))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.Body().SetStr(fmt.Sprintf("%s-%d %s", prefix, i, body))
		lr.Attributes().PutStr("audit.action", "DELETE")
		lr.Attributes().PutStr("enduser.id", fmt.Sprintf("user-%d", i%7))
		lr.Attributes().PutInt("http.response.status_code", 204)
	}
	return ld
}

// record is one log record as the sink saw it.
type record struct {
	body  string
	attrs map[string]any
}

func (r record) str(k string) string {
	s, _ := r.attrs[k].(string)
	return s
}

func (r record) number() int64 {
	n, _ := r.attrs[attrNumber].(int64)
	return n
}

func (r record) event() string { return r.str("audit.stream.event") }

// records flattens everything a sink received, in arrival order.
func records(sink *consumertest.LogsSink) []record {
	var out []record
	for _, ld := range sink.AllLogs() {
		eachLogRecord(ld, func(lr plog.LogRecord) {
			out = append(out, record{body: lr.Body().AsString(), attrs: lr.Attributes().AsRaw()})
		})
	}
	return out
}

// userRecords are the records that are not the engine's own.
func userRecords(sink *consumertest.LogsSink) []record {
	return slices.DeleteFunc(records(sink), func(r record) bool { return r.event() != "" })
}

// waitForEvent waits until a control record with audit.stream.event ==
// event has reached the sink, and returns it.
func waitForEvent(t testing.TB, sink *consumertest.LogsSink, event string) record {
	t.Helper()
	var found record
	require.Eventually(t, func() bool {
		for _, r := range records(sink) {
			if r.event() == event {
				found = r
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond, "no %q record reached the sink", event)
	return found
}

// byNumber sorts records by sequence number.
func byNumber(rs []record) []record {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b record) int { return int(a.number() - b.number()) })
	return rs
}

// assertChain checks that rs (one stream, every record) numbers 1..len(rs)
// without gap or duplicate, and that each record's previous_hash is the
// previous record's audit.integrity.value.
func assertChain(t testing.TB, rs []record) {
	t.Helper()
	rs = byNumber(rs)
	require.NotEmpty(t, rs)
	streamID := rs[0].str(attrStreamID)
	require.NotEmpty(t, streamID)
	for i, r := range rs {
		require.Equal(t, int64(i+1), r.number(), "sequence numbers must be 1..N without gap or duplicate")
		assert.Equal(t, streamID, r.str(attrStreamID))
		assert.Len(t, r.str(attrValue), 64, "audit.integrity.value is 64 hex digits")
		assert.NotEmpty(t, r.str(attrAlgorithm))
		assert.NotEmpty(t, r.str(attrCanonical))
		if i == 0 {
			assert.NotContains(t, r.attrs, attrPrevious, "the genesis record has no previous hash")
			continue
		}
		assert.Equal(t, rs[i-1].str(attrValue), r.str(attrPrevious), "record %d does not link to record %d", r.number(), rs[i-1].number())
	}
}

// flakyConsumer refuses batches while fail is set and hands the others to
// a sink.
type flakyConsumer struct {
	*consumertest.LogsSink
	mu   sync.Mutex
	fail error
}

func (f *flakyConsumer) setFail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

func (f *flakyConsumer) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	f.mu.Lock()
	err := f.fail
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.LogsSink.ConsumeLogs(ctx, ld)
}

// corruptState overwrites the saved state of cfg's stream.
func corruptState(t testing.TB, cfg *Config) {
	t.Helper()
	path := filepath.Join(cfg.State.Directory, cfg.StreamName, "state.json")
	_, err := os.Stat(path)
	require.NoError(t, err, "the state file is where the engine keeps it")
	require.NoError(t, os.WriteFile(path, []byte("{not json"), 0o600))
}

var errDownstream = errors.New("downstream refused the batch")
