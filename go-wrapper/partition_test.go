//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadatatest"
)

func TestPartitionStreamNames(t *testing.T) {
	for _, tt := range []struct {
		values []string
		want   string
	}{
		{[]string{"payments"}, "gw-payments"},
		{[]string{"payments/eu"}, "gw-payments_2Feu"},
		{[]string{"audit.service"}, "gw-audit.service"},
		{[]string{"snake_case"}, "gw-snake_5Fcase"},
		{[]string{""}, "gw-"},
		{[]string{"café"}, "gw-caf_C3_A9"},
		{[]string{"a", "b"}, "gw-a__b"},
		{[]string{"a__b"}, "gw-a_5F_5Fb"},
	} {
		got := partitionStreamName("gw", partitionPart(tt.values))
		assert.Equal(t, tt.want, got, "%q", tt.values)
		assert.NoError(t, checkStreamName(got))
	}
	assert.Equal(t, "gw-_overflow", partitionStreamName("gw", overflowPart))

	// Distinct values give distinct names, also when they look alike.
	seen := map[string]string{}
	for _, v := range []string{"a_b", "a-b", "a.b", "a b", "a/b", "A_b", "a_5Fb", "a", "a__", "_overflow", "x_hdeadbeef"} {
		name := partitionStreamName("gw", partitionPart([]string{v}))
		prev, dup := seen[name]
		assert.False(t, dup, "%q and %q both give %s", v, prev, name)
		seen[name] = v
		assert.NotEqual(t, "gw-_overflow", name)
	}

	// Too long: cut before an escape, then a hash of the whole name.
	long := strings.Repeat("x", 107) + "/" + strings.Repeat("y", 40)
	got := partitionStreamName("gw", partitionPart([]string{long}))
	assert.Len(t, got, len("gw-")+107+len("_h")+16)
	assert.True(t, strings.HasPrefix(got, "gw-"+strings.Repeat("x", 107)+"_h"), got)
	assert.NoError(t, checkStreamName(got))
	other := partitionStreamName("gw", partitionPart([]string{long + "z"}))
	assert.NotEqual(t, got, other, "the hash tells long values apart")
	assert.Len(t, partitionStreamName(strings.Repeat("b", 128), overflowPart), 128)

	assert.Equal(t, "", valueString(nil))
	assert.Equal(t, "42", valueString(int64(42)))
	assert.Equal(t, "x", valueString(pcommon.NewValueStr("x")))
	assert.Equal(t, "", valueString(pcommon.NewValueEmpty()))
}

// serviceLogs is one audit record from each service.
func serviceLogs(services ...string) plog.Logs {
	ld := plog.NewLogs()
	for _, svc := range services {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", svc)
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.Body().SetStr("audit event of " + svc)
		lr.Attributes().PutStr("audit.action", "delete")
	}
	return ld
}

// streamsOf groups what the sink received by stream name, in order.
func streamsOf(sink *consumertest.LogsSink) map[string][]record {
	out := map[string][]record{}
	for _, r := range records(sink) {
		id := r.str(attrStreamID)
		out[streamNameOf(id)] = append(out[streamNameOf(id)], r)
	}
	return out
}

// Beyond max_streams, records of new partitions go to one overflow stream,
// stamped like any other (never unstamped), counted, and the partitions
// already open keep their own streams.
func TestMaxStreamsOverflow(t *testing.T) {
	cfg := testConfig(t)
	cfg.PartitionBy = []string{`resource.attributes["service.name"]`}
	cfg.MaxStreams = 2
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	sink := new(consumertest.LogsSink)
	p := newTestProcessor(t, settingsFor(tel, "auditchain"), cfg, sink)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeLogs(context.Background(), serviceLogs("a", "b", "c")))
	require.NoError(t, p.ConsumeLogs(context.Background(), serviceLogs("d", "a")))
	require.NoError(t, p.Shutdown(context.Background()))

	streams := streamsOf(sink)
	var names []string
	for name, rs := range streams {
		names = append(names, name)
		assertChain(t, rs)
		assert.Equal(t, "end", byNumber(rs)[len(rs)-1].event(), "%s ended", name)
	}
	slices.Sort(names)
	assert.Equal(t, []string{"test-stream-_overflow", "test-stream-a", "test-stream-b"}, names)
	var overflowBodies []string
	for _, r := range streams["test-stream-_overflow"] {
		if r.event() == "" {
			overflowBodies = append(overflowBodies, r.body)
		}
	}
	assert.Equal(t, []string{"audit event of c", "audit event of d"}, overflowBodies)
	assert.Len(t, streams["test-stream-a"], 4, "start, two records, end")
	metadatatest.AssertEqualProcessorAuditchainRecordsOverflowed(t, tel,
		[]metricdata.DataPoint[int64]{own("auditchain", "test-stream", 2)}, metricdatatest.IgnoreTimestamp())
	for _, dir := range []string{"test-stream-a", "test-stream-b", "test-stream-_overflow"} {
		assert.FileExists(t, filepath.Join(cfg.State.Directory, dir, "state.json"))
	}
	_, err := os.Stat(filepath.Join(cfg.State.Directory, "test-stream-c"))
	assert.True(t, os.IsNotExist(err), "no state for a partition past max_streams")
}

// Each partition's stream survives a restart like a single stream: after a
// clean shutdown the next start of a partition names its predecessor.
func TestPartitionStreamsContinueAcrossRestarts(t *testing.T) {
	cfg := testConfig(t)
	cfg.PartitionBy = []string{`resource.attributes["service.name"]`}
	first := new(consumertest.LogsSink)
	p := newTestProcessor(t, settingsFor(componenttest.NewTelemetry(), "auditchain"), cfg, first)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeLogs(context.Background(), serviceLogs("a", "b")))
	require.NoError(t, p.Shutdown(context.Background()))
	ended := map[string]string{}
	for name, rs := range streamsOf(first) {
		ended[name] = rs[0].str(attrStreamID)
	}

	second := new(consumertest.LogsSink)
	p = startTestProcessor(t, cfg, second)
	require.NoError(t, p.ConsumeLogs(context.Background(), serviceLogs("b")))
	streams := streamsOf(second)
	require.Len(t, streams, 1, "a partition's stream opens with its first record")
	start := byNumber(streams["test-stream-b"])[0]
	assert.Equal(t, "start", start.event())
	assert.Equal(t, "previous_stream_ended", start.str(attrReason))
	assert.Equal(t, ended["test-stream-b"], start.str(attrPredecessorID))

	// A second processor on the same state and partition is refused.
	other := newTestProcessor(t, settingsFor(componenttest.NewTelemetry(), "auditchain"), cfg, new(consumertest.LogsSink))
	require.NoError(t, other.Start(context.Background(), componenttest.NewNopHost()))
	err := other.ConsumeLogs(context.Background(), serviceLogs("b"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "locked")
	require.NoError(t, other.Shutdown(context.Background()))
}

// The content-hash check, marking: the mark is written, the outcome
// counted; rejecting: the batch is refused as the sender's fault.
func TestContentHashMarkAndReject(t *testing.T) {
	// Matching hashes are tested against real Python in tests/content_hash.rs
	// and end to end; here the claim is simply wrong.
	body := `{"action": "delete", "actor": "alice"}`
	logs := func(claim string) plog.Logs {
		ld := plog.NewLogs()
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.Body().SetStr(body)
		lr.Attributes().PutStr("audit.content_hash", claim)
		return ld
	}
	cfg := testConfig(t)
	cfg.ContentHash = ContentHashConfig{Check: true, OnMismatch: "mark"}
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	sink := new(consumertest.LogsSink)
	p := newTestProcessor(t, settingsFor(tel, "auditchain"), cfg, sink)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, p.Shutdown(context.Background())) })
	require.NoError(t, p.ConsumeLogs(context.Background(), logs(strings.Repeat("0", 64))))
	recs := userRecords(sink)
	require.Len(t, recs, 1)
	assert.Equal(t, "mismatch", recs[0].attrs["audit.integrity.content_hash_check"])
	assert.NotZero(t, recs[0].number(), "stamped all the same")
	set := func(outcome string, v int64) metricdata.DataPoint[int64] {
		return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.String("processor", "auditchain"),
			attribute.String("stream_name", "test-stream"), attribute.String("outcome", outcome)), Value: v}
	}
	metadatatest.AssertEqualProcessorAuditchainContentHashChecks(t, tel,
		[]metricdata.DataPoint[int64]{set("match", 0), set("mismatch", 1)}, metricdatatest.IgnoreTimestamp())

	cfg = testConfig(t)
	cfg.ContentHash = ContentHashConfig{Check: true, OnMismatch: "reject"}
	rejecting := startTestProcessor(t, cfg, new(consumertest.LogsSink))
	err := rejecting.ConsumeLogs(context.Background(), logs(strings.Repeat("0", 64)))
	require.Error(t, err)
	assert.Equal(t, resultContentHashMismatch, errorCode(err))
	assert.Contains(t, err.Error(), "audit.content_hash does not match the body")
}
