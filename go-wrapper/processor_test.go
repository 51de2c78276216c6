//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
	"github.com/auditchain/auditchain/go-wrapper/internal/metadatatest"
)

func TestStampsRecordsAndChainsThem(t *testing.T) {
	sink := new(consumertest.LogsSink)
	cfg := testConfig(t)
	p := startTestProcessor(t, cfg, sink)

	for b := range 3 {
		require.NoError(t, p.ConsumeLogs(context.Background(), makeLogs(fmt.Sprintf("batch%d", b), 5, 300)))
	}
	require.NoError(t, p.Shutdown(context.Background()))

	all := records(sink)
	users := userRecords(sink)
	require.Len(t, users, 15)
	for _, r := range users {
		assert.Contains(t, r.attrs, attrStreamID)
		assert.Contains(t, r.attrs, attrNumber)
		assert.Contains(t, r.attrs, attrValue)
		assert.Equal(t, "DELETE", r.attrs["audit.action"], "the record's own attributes stay")
	}
	// The stream opens with its start record and ends with the end record,
	// which alone carries audit.sequence.end.
	ordered := byNumber(all)
	assert.Equal(t, "start", ordered[0].event())
	assert.Equal(t, "first_start", ordered[0].str(attrReason))
	last := ordered[len(ordered)-1]
	assert.Equal(t, "end", last.event())
	assert.Equal(t, true, last.attrs[attrEnd])
	for _, r := range ordered[:len(ordered)-1] {
		assert.NotContains(t, r.attrs, attrEnd)
	}
	assertChain(t, all)
}

func TestStampsInBatchOrder(t *testing.T) {
	// The stamps are applied in resource → scope → record order: within
	// one batch, numbers follow pdata's iteration order.
	sink := new(consumertest.LogsSink)
	p := startTestProcessor(t, testConfig(t), sink)
	waitForEvent(t, sink, "start")

	ld := makeLogs("ordered", 9, 200)
	var want []string
	eachLogRecord(ld, func(lr plog.LogRecord) { want = append(want, lr.Body().Str()) })
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	users := byNumber(userRecords(sink))
	require.Len(t, users, len(want))
	for i, r := range users {
		assert.Equal(t, want[i], r.body)
		assert.Equal(t, users[0].number()+int64(i), r.number())
	}
}

func TestConcurrentConsumeLogsIssuesEveryNumberOnce(t *testing.T) {
	sink := new(consumertest.LogsSink)
	cfg := testConfig(t)
	p := newTestProcessor(t, processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))

	const goroutines, batches, perBatch = 16, 20, 7
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for b := range batches {
				assert.NoError(t, p.ConsumeLogs(context.Background(), makeLogs(fmt.Sprintf("g%d-b%d", g, b), perBatch, 120)))
			}
		})
	}
	wg.Wait()
	require.NoError(t, p.Shutdown(context.Background()))

	all := records(sink)
	sent := goroutines * batches * perBatch
	control := len(all) - len(userRecords(sink))
	require.Len(t, userRecords(sink), sent)
	assert.GreaterOrEqual(t, control, 2, "at least the start and end records")

	// Every number 1..N exactly once, N = records sent + control records.
	seen := make(map[int64]int, len(all))
	for _, r := range all {
		seen[r.number()]++
	}
	n := int64(sent + control)
	for i := int64(1); i <= n; i++ {
		assert.Equal(t, 1, seen[i], "sequence number %d", i)
	}
	assert.Len(t, seen, int(n), "no number outside 1..%d", n)
	assertChain(t, all)
}

// preStamped is a batch of three records, the last of which arrives
// already carrying audit.sequence.number.
func preStamped() plog.Logs {
	ld := makeLogs("prestamped", 2, 100)
	lr := ld.ResourceLogs().At(1).ScopeLogs().At(1).LogRecords().AppendEmpty()
	lr.Body().SetStr("I claim to be stamped")
	lr.Attributes().PutInt(attrNumber, 5)
	return ld
}

func TestFailsClosedOnRecordThatIsAlreadyStamped(t *testing.T) {
	sink := new(consumertest.LogsSink)
	p := startTestProcessor(t, testConfig(t), sink)
	waitForEvent(t, sink, "start")
	before := len(records(sink))

	err := p.ConsumeLogs(context.Background(), preStamped())
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "retrying cannot help: %v", err)
	assert.Contains(t, err.Error(), "AUDITCHAIN_RESULT_REJECTED_RECORD")
	assert.Len(t, records(sink), before, "nothing of the refused batch went downstream")
	assert.Empty(t, userRecords(sink))

	// The refusal issued nothing: the next batch continues the stream.
	require.NoError(t, p.ConsumeLogs(context.Background(), makeLogs("after", 3, 100)))
	require.NoError(t, p.Shutdown(context.Background()))
	assertChain(t, records(sink))
}

func TestRefusesBatchesWhenNotRunning(t *testing.T) {
	// Without the processor running nothing is stamped and nothing is
	// forwarded; the error is retryable.
	sink := new(consumertest.LogsSink)
	p := newTestProcessor(t, processortest.NewNopSettings(metadata.Type), testConfig(t), sink)
	err := p.ConsumeLogs(context.Background(), makeLogs("early", 2, 100))
	require.ErrorIs(t, err, errNotRunning)
	assert.False(t, consumererror.IsPermanent(err))
	assert.Zero(t, sink.LogRecordCount())
}

func TestForwardUnstampedIsCounted(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	sink := new(consumertest.LogsSink)
	cfg := testConfig(t)
	cfg.OnError = OnErrorForwardUnstamped
	p := newTestProcessor(t, metadatatest.NewSettings(tel), cfg, sink)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, p.Shutdown(context.Background())) })
	waitForEvent(t, sink, "start")

	ld := preStamped()
	n := ld.LogRecordCount()
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))

	users := userRecords(sink)
	require.Len(t, users, n, "the batch was forwarded")
	for _, r := range users {
		assert.NotContains(t, r.attrs, attrValue, "forwarded unstamped")
		assert.NotContains(t, r.attrs, attrStreamID)
	}
	metadatatest.AssertEqualProcessorAuditchainRecordsForwardedUnstamped(t, tel,
		[]metricdata.DataPoint[int64]{own("auditchain", "test-stream", int64(n))}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualProcessorAuditchainBatchesFailed(t, tel,
		[]metricdata.DataPoint[int64]{own("auditchain", "test-stream", 1)}, metricdatatest.IgnoreTimestamp())
	// The batch went out, unstamped: in n, out n.
	metadatatest.AssertEqualProcessorIncomingItems(t, tel,
		[]metricdata.DataPoint[int64]{std("auditchain", int64(n))}, metricdatatest.IgnoreTimestamp())
}

func TestRestartStartsNewStreamNamingPredecessor(t *testing.T) {
	cfg := testConfig(t)

	sink1 := new(consumertest.LogsSink)
	p1 := newTestProcessor(t, processortest.NewNopSettings(metadata.Type), cfg, sink1)
	require.NoError(t, p1.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p1.ConsumeLogs(context.Background(), makeLogs("first", 4, 100)))
	require.NoError(t, p1.Shutdown(context.Background()))
	first := byNumber(records(sink1))
	last := first[len(first)-1]
	require.Equal(t, "end", last.event())

	sink2 := new(consumertest.LogsSink)
	p2 := startTestProcessor(t, cfg, sink2)
	start := waitForEvent(t, sink2, "start")
	assert.Equal(t, "previous_stream_ended", start.str(attrReason))
	assert.Equal(t, last.str(attrStreamID), start.str(attrPredecessorID))
	assert.Equal(t, last.number(), start.attrs["audit.stream.predecessor.sequence"])
	assert.Equal(t, last.str(attrValue), start.str("audit.stream.predecessor.hash"))
	assert.NotEqual(t, last.str(attrStreamID), start.str(attrStreamID), "a new stream")
	assert.Equal(t, int64(1), start.number())

	require.NoError(t, p2.ConsumeLogs(context.Background(), makeLogs("second", 2, 100)))
	require.NoError(t, p2.Shutdown(context.Background()))
	assertChain(t, records(sink2))
}

func TestSecondProcessorOnSameStateIsLocked(t *testing.T) {
	cfg := testConfig(t)
	startTestProcessor(t, cfg, consumertest.NewNop())

	p2 := newTestProcessor(t, processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	err := p2.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "locked")
	assert.Contains(t, err.Error(), `"test-stream"`)
	// A processor whose Start failed shuts down cleanly.
	require.NoError(t, p2.Shutdown(context.Background()))
}

func TestRefusesToStartOnCorruptState(t *testing.T) {
	cfg := testConfig(t)
	p := newTestProcessor(t, processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.Shutdown(context.Background()))
	corruptState(t, cfg)

	p = newTestProcessor(t, processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	err := p.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "state.new_stream")
	require.NoError(t, p.Shutdown(context.Background()))

	// state.new_stream: true starts a new stream on purpose.
	cfg.State.NewStream = true
	sink := new(consumertest.LogsSink)
	startTestProcessor(t, cfg, sink)
	assert.Equal(t, "state_reset", waitForEvent(t, sink, "start").str(attrReason))
}

func TestDownstreamRefusalIsAnnouncedAsGap(t *testing.T) {
	next := &flakyConsumer{LogsSink: new(consumertest.LogsSink)}
	p := newTestProcessor(t, processortest.NewNopSettings(metadata.Type), testConfig(t), next)
	// Only the immediate first tick: the gap record must travel with the
	// next batch, not with a tick.
	p.tickEvery = time.Hour
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, p.Shutdown(context.Background())) })
	waitForEvent(t, next.LogsSink, "start")

	next.setFail(errDownstream)
	err := p.ConsumeLogs(context.Background(), makeLogs("refused", 3, 100))
	require.ErrorIs(t, err, errDownstream, "the next consumer's error goes back to the receiver")
	next.setFail(nil)

	before := next.LogsSink.AllLogs()
	require.NoError(t, p.ConsumeLogs(context.Background(), makeLogs("accepted", 2, 100)))
	all := next.LogsSink.AllLogs()
	require.Len(t, all, len(before)+1)

	// The gap record came with the accepted batch.
	sink := new(consumertest.LogsSink)
	require.NoError(t, sink.ConsumeLogs(context.Background(), all[len(all)-1]))
	var gap *record
	for _, r := range records(sink) {
		if r.event() == "gap" {
			gap = &r
		}
	}
	require.NotNil(t, gap, "the next batch carries a gap record")
	// Start record is 1; the refused batch was 2-4.
	assert.Equal(t, []any{"2-4"}, gap.attrs[attrUnconfirmed])
}

func TestTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	sink := new(consumertest.LogsSink)
	p := newTestProcessor(t, metadatatest.NewSettings(tel), testConfig(t), sink)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost())) // state write 1 (open)
	waitForEvent(t, sink, "start")                                                // write 2 (tick)

	require.NoError(t, p.ConsumeLogs(context.Background(), makeLogs("a", 3, 100))) // write 3
	require.NoError(t, p.ConsumeLogs(context.Background(), makeLogs("b", 4, 100))) // write 4
	require.Error(t, p.ConsumeLogs(context.Background(), preStamped()))            // failed, no write
	require.NoError(t, p.Shutdown(context.Background()))                           // writes 5 (close), 6 (final settle)

	ts := metricdatatest.IgnoreTimestamp()
	one := func(v int64) []metricdata.DataPoint[int64] {
		return []metricdata.DataPoint[int64]{own("auditchain", "test-stream", v)}
	}
	metadatatest.AssertEqualProcessorAuditchainRecordsStamped(t, tel, one(7), ts)
	metadatatest.AssertEqualProcessorAuditchainStateWrites(t, tel, one(6), ts)
	metadatatest.AssertEqualProcessorAuditchainBatchesFailed(t, tel, one(1), ts)
	// No checkpoints without signing_key_file (TestSignedCheckpoints
	// counts real ones), nothing forwarded unstamped with on_error:
	// reject; both series exist all the same.
	metadatatest.AssertEqualProcessorAuditchainCheckpointsEmitted(t, tel, one(0), ts)
	metadatatest.AssertEqualProcessorAuditchainRecordsForwardedUnstamped(t, tel, one(0), ts)
	// TestTelemetryPerInstance checks the standard processor metrics.
}

func TestShutdownWhoseEndRecordIsRefused(t *testing.T) {
	cfg := testConfig(t)
	next := &flakyConsumer{LogsSink: new(consumertest.LogsSink)}
	p := newTestProcessor(t, processortest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	waitForEvent(t, next.LogsSink, "start")
	require.NoError(t, p.ConsumeLogs(context.Background(), makeLogs("a", 2, 100)))

	next.setFail(errDownstream)
	err := p.Shutdown(context.Background())
	require.ErrorIs(t, err, errDownstream)
	assert.Contains(t, err.Error(), "were not delivered")
	require.NoError(t, p.Shutdown(context.Background()), "the engine is gone; a second Shutdown is a no-op")

	// The next stream names the old stream's end record (number 4) as never
	// confirmed.
	sink := new(consumertest.LogsSink)
	startTestProcessor(t, cfg, sink)
	start := waitForEvent(t, sink, "start")
	assert.Equal(t, []any{"4"}, start.attrs["audit.stream.predecessor.unconfirmed"])
}
