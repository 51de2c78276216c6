package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"context"
	"os"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/processor"
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
	rules     *rules[*ottllog.TransformContext]
}

var _ processor.Logs = (*logsProcessor)(nil)

func newLogsProcessor(ctx context.Context, set processor.Settings, cfg *Config, next consumer.Logs) (*logsProcessor, error) {
	r, err := newLogRules(ctx, cfg, set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	p := &logsProcessor{next: next, rules: r}
	ops := signalOps{
		code:    signalLogs,
		records: "log records",
		decode: func(st *stampSet) (ownRecords, error) {
			ld, err := extraLogs(st, attributeKeys())
			if err != nil {
				return ownRecords{}, err
			}
			return ownRecords{data: ld, n: ld.LogRecordCount()}, nil
		},
		send: func(ctx context.Context, own ownRecords) error {
			return next.ConsumeLogs(ctx, own.data.(plog.Logs))
		},
	}
	s, err := newStamper(set, cfg, pipeline.SignalLogs, os.Hostname, ops)
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

// ConsumeLogs stamps the selected records of the batch with one call into
// the engine of each stream they join, writes the stamps onto ld, appends
// the engines' own records, forwards the batch and settles it (see
// stamper.consume).
func (p *logsProcessor) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	return p.consume(ctx, &batch{
		records:    ld.LogRecordCount(),
		classify:   func() classification { return classifyLogs(ctx, p.rules, ld) },
		marshal:    func() ([]byte, error) { return p.marshaler.MarshalLogs(ld) },
		attributes: func() []pcommon.Map { return logAttributes(ld) },
		join: func(own ownRecords) {
			own.data.(plog.Logs).ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
		},
		count:   ld.LogRecordCount,
		forward: func(ctx context.Context) error { return p.next.ConsumeLogs(ctx, ld) },
		forged:  func(reserved []string) []bool { return forgedLogs(ld, reserved) },
		drop:    func(bad []bool) { dropLogRecords(ld, bad) },
		scrub:   func(reserved []string) int { return scrubLogs(ld, reserved) },
	})
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
