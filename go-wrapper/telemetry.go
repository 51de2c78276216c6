package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
)

// telemetry reports the processor's own metrics (documentation.md) through
// the collector's meter provider.
type telemetry struct {
	tb *metadata.TelemetryBuilder
	// stateWrites is the engine's write count already reported.
	stateWrites atomic.Uint64
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	return &telemetry{tb: tb}, nil
}

// syncStateWrites reports the engine's durable state writes since the last
// call. The engine counts them because concurrent batches share writes
// (group commit): a batch is not a write.
func (t *telemetry) syncStateWrites(ctx context.Context, total uint64) {
	for {
		last := t.stateWrites.Load()
		if total <= last {
			return
		}
		if t.stateWrites.CompareAndSwap(last, total) {
			t.tb.ProcessorAuditchainStateWrites.Add(ctx, int64(total-last))
			return
		}
	}
}

// stamped counts incoming records that joined the stream.
func (t *telemetry) stamped(ctx context.Context, records int) {
	if records > 0 {
		t.tb.ProcessorAuditchainRecordsStamped.Add(ctx, int64(records))
	}
}

// checkpoints counts checkpoint records among the engine's own records.
// It is called whenever such records go out, also with 0, so that the
// metric exists (at 0) as soon as the stream has emitted anything.
func (t *telemetry) checkpoints(ctx context.Context, n int) {
	t.tb.ProcessorAuditchainCheckpointsEmitted.Add(ctx, int64(n))
}

// failed counts a batch that could not be stamped and, when it was
// forwarded anyway, its records.
func (t *telemetry) failed(ctx context.Context, forwardedUnstamped int) {
	t.tb.ProcessorAuditchainBatchesFailed.Add(ctx, 1)
	if forwardedUnstamped > 0 {
		t.tb.ProcessorAuditchainRecordsForwardedUnstamped.Add(ctx, int64(forwardedUnstamped))
	}
}

func (t *telemetry) shutdown() {
	t.tb.Shutdown()
}
