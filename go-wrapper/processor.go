package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"
)

// logsProcessor stamps log batches.
//
// It implements processor.Logs itself instead of using processorhelper:
// processorhelper calls the next consumer after the process function has
// returned, but the engine must learn whether the stamped batch was
// accepted downstream (settle), so that a refused batch is announced as a
// gap in the stream instead of looking like a deletion. That needs the
// next consumer's result inside the processor.
type logsProcessor struct {
	*stamper
	next      consumer.Logs
	marshaler plog.ProtoMarshaler
}

var _ processor.Logs = (*logsProcessor)(nil)

func newLogsProcessor(set processor.Settings, cfg *Config, next consumer.Logs) (*logsProcessor, error) {
	p := &logsProcessor{next: next}
	s, err := newStamper(set, cfg, pipeline.SignalLogs, os.Hostname, next.ConsumeLogs)
	if err != nil {
		return nil, err
	}
	p.stamper = s
	return p, nil
}

// Capabilities reports that the processor changes the batches it is given
// (it adds attributes and appends its own records).
func (p *logsProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

// ConsumeLogs stamps the batch with one call into the engine, writes the
// stamps onto ld, appends the engine's own records, forwards the batch and
// settles it. It may run concurrently; the engine keeps sequence numbers
// unique and gap-free across calls.
//
// Telemetry as processorhelper records it: the time until the batch is
// handed on, the records in, and the records out (the batch's, plus the
// engine's own records that travel with it; 0 when it is refused).
func (p *logsProcessor) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	start := time.Now()
	incoming := ld.LogRecordCount()
	p.mu.RLock()
	defer p.mu.RUnlock()
	eng := p.eng
	if eng == nil {
		return p.unstamped(ctx, ld, start, errNotRunning)
	}

	req, err := p.marshaler.MarshalLogs(ld)
	if err != nil {
		return p.unstamped(ctx, ld, start, consumererror.NewPermanent(err))
	}
	st, err := eng.stampLogs(req, p.wallClock())
	if err != nil {
		return p.unstamped(ctx, ld, start, classify(err))
	}
	p.issued(ctx, eng, st)

	// Check and decode everything before changing ld, so that a failure
	// leaves the batch as it came (and forward_unstamped forwards it
	// clean).
	err = checkStamps(st, ld.LogRecordCount(), attributeKeys())
	var extra plog.Logs
	if err == nil {
		extra, err = extraLogs(st, attributeKeys())
	}
	stamped := 0
	var bad []bool
	if err == nil {
		bad = rejectedRecords(st)
		stamped = applyLogStamps(ld, st.records, st, attributeKeys())
	}
	batchID, checkpoints := st.batchID, st.checkpoints
	rejected, rejection := st.rejected, st.rejection
	st.free()
	if err != nil {
		// The numbers were issued and saved, but their records will not
		// leave stamped: announce them as a gap.
		if batchID != 0 {
			p.settle(eng, batchID, false)
		}
		return p.unstamped(ctx, ld, start, consumererror.NewPermanent(err))
	}
	p.tel.stamped(ctx, stamped)
	if rejected > 0 {
		// on_bad_record: drop_record: the records that could not be
		// stamped never leave; the sender is told below.
		dropLogRecords(ld, bad)
		p.tel.dropped(ctx, rejected)
	}
	if extra.LogRecordCount() > 0 {
		p.tel.checkpoints(ctx, checkpoints)
		extra.ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
	}
	p.tel.processed(ctx, start, incoming, ld.LogRecordCount())

	err = p.next.ConsumeLogs(ctx, ld)
	if batchID != 0 {
		p.settle(eng, batchID, err == nil)
	}
	if err == nil && rejected > 0 {
		err = consumererror.NewPermanent(badInputError{fmt.Errorf(
			"auditchain: %d of %d log records could not be stamped and were dropped (on_bad_record: drop_record); the other %d were stamped and delivered, do not resend them. First: %s",
			rejected, incoming, incoming-rejected, rejection)})
		p.logger.Warn("auditchain dropped records it could not stamp", zap.Int("dropped", rejected), zap.Error(err))
	}
	return err
}

// rejectedRecords marks the batch's records the engine did not stamp
// because they cannot be stamped (on_bad_record: drop_record), in the
// order of applyLogStamps; nil when there are none.
func rejectedRecords(st *stampSet) []bool {
	if st.rejected == 0 {
		return nil
	}
	bad := make([]bool, len(st.records))
	for i, r := range st.records {
		bad[i] = r.count == 0 && r.sequence == 0
	}
	return bad
}

// dropLogRecords removes the records marked in bad (resource, scope,
// record order) and the scopes and resources left empty.
func dropLogRecords(ld plog.Logs, bad []bool) {
	i := 0
	ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(plog.LogRecord) bool {
				drop := bad[i]
				i++
				return drop
			})
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
}

// unstamped handles a batch that could not be stamped: by default it is
// refused with err (fail closed: the receiver tells the client to retry,
// or drops a permanent failure); with on_error: forward_unstamped it goes
// on without stamps, counted.
func (p *logsProcessor) unstamped(ctx context.Context, ld plog.Logs, start time.Time, err error) error {
	n := ld.LogRecordCount()
	if p.cfg.OnError != OnErrorForwardUnstamped {
		p.tel.failed(ctx, 0)
		p.tel.processed(ctx, start, n, 0)
		p.logger.Warn("auditchain refused a batch it could not stamp",
			zap.Int("log_records", ld.LogRecordCount()),
			zap.Bool("permanent", consumererror.IsPermanent(err)),
			zap.Error(err))
		return err
	}
	// Nothing leaves looking stamped, and nothing leaves as invalid JSON.
	marked := scrubUnstamped(ld, reservedPrefixes())
	p.tel.failed(ctx, n)
	p.tel.processed(ctx, start, n, n)
	p.logger.Warn("auditchain forwarded a batch unstamped (on_error: forward_unstamped)",
		zap.Int("log_records", n), zap.Int("records_scrubbed", marked), zap.Error(err))
	return p.next.ConsumeLogs(ctx, ld)
}
