// Written by hand in the exact shape mdatagen v0.161.0 generates from
// ../../metadata.yaml (telemetry.go.tmpl); see generated_status.go.

package metadata

import (
	"errors"
	"sync"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"go.opentelemetry.io/collector/component"
)

func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter("github.com/auditchain/auditchain/go-wrapper")
}

func Tracer(settings component.TelemetrySettings) trace.Tracer {
	return settings.TracerProvider.Tracer("github.com/auditchain/auditchain/go-wrapper")
}

// TelemetryBuilder provides an interface for components to report telemetry
// as defined in metadata and user config.
type TelemetryBuilder struct {
	meter                                        metric.Meter
	mu                                           sync.Mutex
	registrations                                []metric.Registration
	ProcessorAuditchainBatchesFailed             metric.Int64Counter
	ProcessorAuditchainCheckpointsEmitted        metric.Int64Counter
	ProcessorAuditchainCheckpointsWitnessed      metric.Int64Counter
	ProcessorAuditchainClockSteps                metric.Int64Counter
	ProcessorAuditchainContentHashChecks         metric.Int64Counter
	ProcessorAuditchainRecordsDropped            metric.Int64Counter
	ProcessorAuditchainRecordsForwardedUnstamped metric.Int64Counter
	ProcessorAuditchainRecordsOverflowed         metric.Int64Counter
	ProcessorAuditchainRecordsStamped            metric.Int64Counter
	ProcessorAuditchainRecordsUnselected         metric.Int64Counter
	ProcessorAuditchainStateWrites               metric.Int64Counter
	ProcessorAuditchainWitnessAnswers            metric.Int64Counter
	ProcessorAuditchainWitnessLag                metric.Int64Gauge
	ProcessorIncomingItems                       metric.Int64Counter
	ProcessorInternalDuration                    metric.Float64Histogram
	ProcessorOutgoingItems                       metric.Int64Counter
}

// TelemetryBuilderOption applies changes to default builder.
type TelemetryBuilderOption interface {
	apply(*TelemetryBuilder)
}

type telemetryBuilderOptionFunc func(mb *TelemetryBuilder)

func (tbof telemetryBuilderOptionFunc) apply(mb *TelemetryBuilder) {
	tbof(mb)
}

// Shutdown unregister all registered callbacks for async instruments.
func (builder *TelemetryBuilder) Shutdown() {
	builder.mu.Lock()
	defer builder.mu.Unlock()
	for _, reg := range builder.registrations {
		reg.Unregister()
	}
}

// NewTelemetryBuilder provides a struct with methods to update all internal telemetry
// for a component
func NewTelemetryBuilder(settings component.TelemetrySettings, options ...TelemetryBuilderOption) (*TelemetryBuilder, error) {
	builder := TelemetryBuilder{}
	for _, op := range options {
		op.apply(&builder)
	}
	builder.meter = Meter(settings)
	var err, errs error
	builder.ProcessorAuditchainBatchesFailed, err = builder.meter.Int64Counter(
		"otelcol_processor_auditchain_batches_failed",
		metric.WithDescription("Number of batches the processor could not stamp. They were refused, or forwarded unstamped when on_error is forward_unstamped. [Alpha]"),
		metric.WithUnit("{batch}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorAuditchainCheckpointsEmitted, err = builder.meter.Int64Counter(
		"otelcol_processor_auditchain_checkpoints_emitted",
		metric.WithDescription("Number of checkpoint records the processor emitted into its stream. [Alpha]"),
		metric.WithUnit("{checkpoint}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorAuditchainCheckpointsWitnessed, err = builder.meter.Int64Counter(
		"otelcol_processor_auditchain_checkpoints_witnessed",
		metric.WithDescription("Number of checkpoints whose cosignatures reached witness_quorum. [Alpha]"),
		metric.WithUnit("{checkpoint}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorAuditchainClockSteps, err = builder.meter.Int64Counter(
		"otelcol_processor_auditchain_clock_steps",
		metric.WithDescription("Number of steps of the wall clock the processor detected against its monotonic clock and announced in its stream (clock_step records). [Alpha]"),
		metric.WithUnit("{step}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorAuditchainContentHashChecks, err = builder.meter.Int64Counter(
		"otelcol_processor_auditchain_content_hash_checks",
		metric.WithDescription("Number of stamped log records whose audit.content_hash was checked against their body, by outcome (match, mismatch). [Alpha]"),
		metric.WithUnit("{record}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorAuditchainRecordsDropped, err = builder.meter.Int64Counter(
		"otelcol_processor_auditchain_records_dropped",
		metric.WithDescription("Number of incoming records dropped because they could not be stamped and on_bad_record is drop_record (the batch's other records were stamped and forwarded). [Alpha]"),
		metric.WithUnit("{record}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorAuditchainRecordsForwardedUnstamped, err = builder.meter.Int64Counter(
		"otelcol_processor_auditchain_records_forwarded_unstamped",
		metric.WithDescription("Number of log records forwarded without stamps because stamping failed and on_error is forward_unstamped. [Alpha]"),
		metric.WithUnit("{record}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorAuditchainRecordsOverflowed, err = builder.meter.Int64Counter(
		"otelcol_processor_auditchain_records_overflowed",
		metric.WithDescription("Number of records stamped into the overflow stream because their partition came after max_streams partitions. [Alpha]"),
		metric.WithUnit("{record}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorAuditchainRecordsStamped, err = builder.meter.Int64Counter(
		"otelcol_processor_auditchain_records_stamped",
		metric.WithDescription("Number of incoming log records stamped with a sequence number (the processor's own control records are not counted). [Alpha]"),
		metric.WithUnit("{record}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorAuditchainRecordsUnselected, err = builder.meter.Int64Counter(
		"otelcol_processor_auditchain_records_unselected",
		metric.WithDescription("Number of incoming records the selection (select, policy) passed through unstamped. [Alpha]"),
		metric.WithUnit("{record}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorAuditchainStateWrites, err = builder.meter.Int64Counter(
		"otelcol_processor_auditchain_state_writes",
		metric.WithDescription("Number of durable (fsynced) writes of the stream state; concurrent batches can share one write. [Alpha]"),
		metric.WithUnit("{write}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorAuditchainWitnessAnswers, err = builder.meter.Int64Counter(
		"otelcol_processor_auditchain_witness_answers",
		metric.WithDescription("Number of answers to add-checkpoint requests, by witness and kind of answer (cosigned, conflict, inconsistent, not_accepted, rejected, retry_later, unreachable, bad_answer, bad_cosignature). [Alpha]"),
		metric.WithUnit("{answer}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorAuditchainWitnessLag, err = builder.meter.Int64Gauge(
		"otelcol_processor_auditchain_witness_lag",
		metric.WithDescription("Leaves of the log's newest checkpoint that the witness has not cosigned (0: it cosigned the newest). [Alpha]"),
		metric.WithUnit("{leaf}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorIncomingItems, err = builder.meter.Int64Counter(
		"otelcol_processor_incoming_items",
		metric.WithDescription("Number of items passed to the processor. [Alpha]"),
		metric.WithUnit("{item}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorInternalDuration, err = builder.meter.Float64Histogram(
		"otelcol_processor_internal_duration",
		metric.WithDescription("Duration of time taken to process a batch of telemetry data through the processor. [Alpha]"),
		metric.WithUnit("s"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorOutgoingItems, err = builder.meter.Int64Counter(
		"otelcol_processor_outgoing_items",
		metric.WithDescription("Number of items emitted from the processor. [Alpha]"),
		metric.WithUnit("{item}"),
	)
	errs = errors.Join(errs, err)
	return &builder, errs
}
