package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"context"
	"fmt"
	"os"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspan"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/processor"
)

// tracesProcessor stamps spans (seed 002's audit trail from traces): every
// selected span joins a stream exactly as a log record does, and the
// engine's own records are spans of that stream (docs/SPEC.md §5.4), so
// the same exporter carries them. It implements processor.Traces itself
// for the reason logsProcessor does.
type tracesProcessor struct {
	*stamper
	next      consumer.Traces
	marshaler ptrace.ProtoMarshaler
	rules     *rules[*ottlspan.TransformContext]
}

var _ processor.Traces = (*tracesProcessor)(nil)

func newTracesProcessor(ctx context.Context, set processor.Settings, cfg *Config, next consumer.Traces) (*tracesProcessor, error) {
	r, err := newSpanRules(ctx, cfg, set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	p := &tracesProcessor{next: next, rules: r}
	ops := signalOps{
		code:    signalTraces,
		records: "spans",
		decode: func(st *stampSet) (ownRecords, error) {
			td, err := extraTraces(st, attributeKeys())
			if err != nil {
				return ownRecords{}, err
			}
			return ownRecords{data: td, n: td.SpanCount()}, nil
		},
		send: func(ctx context.Context, own ownRecords) error {
			return next.ConsumeTraces(ctx, own.data.(ptrace.Traces))
		},
	}
	s, err := newStamper(set, cfg, pipeline.SignalTraces, os.Hostname, ops)
	if err != nil {
		return nil, err
	}
	p.stamper = s
	return p, nil
}

// Capabilities reports that the processor changes the batches it is given.
func (p *tracesProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

// ConsumeTraces stamps the selected spans of the batch, as ConsumeLogs
// does log records.
func (p *tracesProcessor) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	return p.consume(ctx, &batch{
		records:    td.SpanCount(),
		classify:   func() classification { return classifySpans(ctx, p.rules, td) },
		marshal:    func() ([]byte, error) { return p.marshaler.MarshalTraces(td) },
		attributes: func() []pcommon.Map { return spanAttributes(td) },
		join: func(own ownRecords) {
			own.data.(ptrace.Traces).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
		},
		count:   td.SpanCount,
		forward: func(ctx context.Context) error { return p.next.ConsumeTraces(ctx, td) },
		forged:  func(reserved []string) []bool { return forgedSpans(td, reserved) },
		drop:    func(bad []bool) { dropSpans(td, bad) },
		scrub:   func(reserved []string) int { return scrubSpans(td, reserved) },
	})
}

// dropSpans removes the spans marked in bad (resource, scope, span order)
// and the scopes and resources left empty.
func dropSpans(td ptrace.Traces, bad []bool) {
	i := 0
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(ptrace.Span) bool {
				drop := bad[i]
				i++
				return drop
			})
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
}

// spanAttributes is the attribute map of every span of td, in the order
// resource, scope, span: the order of the OTLP request, which the
// engine's stamps follow.
func spanAttributes(td ptrace.Traces) []pcommon.Map {
	maps := make([]pcommon.Map, 0, td.SpanCount())
	rss := td.ResourceSpans()
	for r := 0; r < rss.Len(); r++ {
		sss := rss.At(r).ScopeSpans()
		for sc := 0; sc < sss.Len(); sc++ {
			spans := sss.At(sc).Spans()
			for k := 0; k < spans.Len(); k++ {
				maps = append(maps, spans.At(k).Attributes())
			}
		}
	}
	return maps
}

// extraTraces decodes the spans the engine emits itself and writes their
// stamps, exactly as the batch's spans get theirs. s must have passed
// checkStamps. Empty input gives empty traces.
func extraTraces(s *stampSet, keys []string) (ptrace.Traces, error) {
	if len(s.extra) == 0 {
		if len(s.extraRecords) != 0 {
			return ptrace.Traces{}, fmt.Errorf("auditchain: the engine returned %d stamps for no records of its own", len(s.extraRecords))
		}
		return ptrace.NewTraces(), nil
	}
	if s.extraSignal != signalTraces {
		return ptrace.Traces{}, fmt.Errorf("auditchain: the engine's own records are of signal %d, not traces", s.extraSignal)
	}
	var u ptrace.ProtoUnmarshaler
	td, err := u.UnmarshalTraces(s.extra)
	if err != nil {
		return ptrace.Traces{}, fmt.Errorf("auditchain: cannot decode the engine's own spans: %w", err)
	}
	if n := td.SpanCount(); n != len(s.extraRecords) {
		return ptrace.Traces{}, fmt.Errorf("auditchain: the engine returned %d stamps for %d spans of its own", len(s.extraRecords), n)
	}
	applyStamps(spanAttributes(td), s.extraRecords, s, keys)
	return td, nil
}
