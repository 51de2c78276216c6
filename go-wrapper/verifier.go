package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"
)

// mode: verify (docs/SPEC.md §12): the processor checks the stamped
// records it is given with one call into the Rust checker per batch and
// marks or drops those that fail. It holds no hashing: the batch goes to
// the checker as OTLP protobuf, the verdicts come back one per record.

// The verdicts' numbers, as in include/auditchain.h (checked at compile
// time in checker_cgo.go).
const (
	verifyOK            = 0
	verifyDuplicate     = 1
	verifyHeld          = 2
	verifyFailedOutcome = 3

	eventResolved   = 1
	eventMissing    = 2
	eventSilent     = 3
	eventCheckpoint = 4

	resultMalformedBatchCode = resultMalformedBatch
)

// recordVerdict mirrors auditchain_record_verdict.
type recordVerdict struct {
	outcome uint32
	reason  uint32
}

type verifyEvent struct {
	kind, outcome, reason uint32
	sequence, count       uint64
	streamID, message     string
}

type verdicts struct {
	records []recordVerdict
	events  []verifyEvent
}

// verifier is the part of a verifying processor common to both signals.
type verifier struct {
	logger    *zap.Logger
	cfg       *Config
	signal    pipeline.Signal
	code      signalCode
	stateDir  string
	tel       *verifyTelemetry
	tickEvery time.Duration

	mu      sync.RWMutex
	chk     *checker
	stop    chan struct{}
	stopped chan struct{}
}

func newVerifier(set processor.Settings, cfg *Config, signal pipeline.Signal, code signalCode) (*verifier, error) {
	stateDir := cfg.checkerState(set.ID, signal)
	if _, err := cfg.checkerConfigJSON(stateDir); err != nil {
		return nil, err
	}
	tel, err := newVerifyTelemetry(set)
	if err != nil {
		return nil, err
	}
	return &verifier{logger: set.Logger, cfg: cfg, signal: signal, code: code, stateDir: stateDir, tel: tel, tickEvery: tickInterval}, nil
}

// Start opens (creates) and locks the checker's state directory, loads the
// streams saved there and starts the ticker (held records past
// reorder_timeout, silent streams).
func (v *verifier) Start(_ context.Context, _ component.Host) error {
	js, err := v.cfg.checkerConfigJSON(v.stateDir)
	if err != nil {
		return err
	}
	chk, err := newChecker(js)
	if err != nil {
		return fmt.Errorf("auditchain (mode: verify): cannot start the checker in %s: %w", v.stateDir, err)
	}
	v.mu.Lock()
	v.chk = chk
	v.stop = make(chan struct{})
	v.stopped = make(chan struct{})
	v.mu.Unlock()
	go v.runTicker(v.stop, v.stopped)
	v.logger.Info("auditchain verifying",
		zap.String("signal", v.signal.String()),
		zap.String("state_directory", v.stateDir),
		zap.String("on_failure", string(v.cfg.OnFailure)),
		zap.Int("reorder_window", v.cfg.ReorderWindow),
		zap.Int("public_keys", len(v.cfg.PublicKeys)),
		zap.Bool("keyed", v.cfg.KeyFile != ""),
		zap.String("library_version", libraryVersion()))
	return nil
}

func (v *verifier) runTicker(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(v.tickEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		v.mu.RLock()
		if v.chk != nil {
			out, err := v.chk.tick(time.Now())
			if err != nil {
				v.logger.Warn("auditchain verify tick failed", zap.Error(err))
			} else {
				v.report(context.Background(), out.events)
			}
		}
		v.mu.RUnlock()
	}
}

// Shutdown stops the ticker and frees the checker (its state is already
// durable after every call).
func (v *verifier) Shutdown(context.Context) error {
	v.mu.Lock()
	stop, done := v.stop, v.stopped
	v.stop = nil
	v.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.chk != nil {
		v.chk.free()
		v.chk = nil
	}
	return nil
}

func (v *verifier) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

// verify checks one batch: the verdicts, one per record in request order,
// counted and reported. A batch the checker cannot take is refused (never
// forwarded as if verified): permanently when it is not well-formed, else
// for a retry.
func (v *verifier) verify(ctx context.Context, request []byte) (*verdicts, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.chk == nil {
		return nil, errors.New("auditchain (mode: verify): not started")
	}
	out, err := v.chk.check(v.code, request, time.Now())
	if err != nil {
		v.tel.batchFailed(ctx)
		err = fmt.Errorf("auditchain (mode: verify): the batch cannot be verified: %w", err)
		if errorCode(err) == resultMalformedBatchCode {
			return nil, consumererror.NewPermanent(err)
		}
		return nil, err
	}
	for _, r := range out.records {
		v.tel.record(ctx, r.outcome, reasonName(r.reason))
	}
	v.report(ctx, out.events)
	return out, nil
}

// report logs and counts the events of a call.
func (v *verifier) report(ctx context.Context, events []verifyEvent) {
	for _, e := range events {
		switch e.kind {
		case eventResolved:
			v.tel.resolved(ctx, e.outcome, reasonName(e.reason))
			if e.outcome == verifyFailedOutcome {
				v.logger.Warn("auditchain verify: a held record failed", zap.String("stream_id", e.streamID),
					zap.Uint64("sequence", e.sequence), zap.String("reason", reasonName(e.reason)), zap.String("message", e.message))
			} else {
				v.logger.Debug(e.message)
			}
		case eventMissing:
			v.tel.missing(ctx, int64(e.count))
			v.logger.Warn("auditchain verify: records missing", zap.String("stream_id", e.streamID),
				zap.Uint64("first", e.sequence), zap.Uint64("count", e.count), zap.String("message", e.message))
		case eventSilent:
			v.tel.silent(ctx)
			v.logger.Warn("auditchain verify: stream silent past its heartbeat", zap.String("stream_id", e.streamID),
				zap.String("message", e.message))
		case eventCheckpoint:
			v.tel.checkpoint(ctx)
			v.logger.Debug(e.message)
		}
	}
}

// judge applies on_failure to the records (attribute maps in request
// order); it returns which to drop.
func (v *verifier) judge(attrs []pcommon.Map, out *verdicts) ([]bool, int, error) {
	if len(attrs) != len(out.records) {
		return nil, 0, fmt.Errorf("auditchain (mode: verify): %d verdicts for %d records", len(out.records), len(attrs))
	}
	drop := make([]bool, len(attrs))
	n := 0
	for i, r := range out.records {
		if r.outcome != verifyFailedOutcome {
			continue
		}
		n++
		if v.cfg.OnFailure == OnFailureDrop {
			drop[i] = true
			continue
		}
		attrs[i].PutStr(VerifyResultAttribute, verifyFailed)
		attrs[i].PutStr(VerifyReasonAttribute, reasonName(r.reason))
	}
	return drop, n, nil
}

// logsVerifier is mode: verify for logs.
type logsVerifier struct {
	*verifier
	next      consumer.Logs
	marshaler plog.ProtoMarshaler
}

func newLogsVerifier(set processor.Settings, cfg *Config, next consumer.Logs) (*logsVerifier, error) {
	v, err := newVerifier(set, cfg, pipeline.SignalLogs, signalLogs)
	if err != nil {
		return nil, err
	}
	return &logsVerifier{verifier: v, next: next}, nil
}

func (p *logsVerifier) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	req, err := p.marshaler.MarshalLogs(ld)
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("auditchain (mode: verify): cannot marshal the batch: %w", err))
	}
	out, err := p.verify(ctx, req)
	if err != nil {
		return err
	}
	drop, failed, err := p.judge(logAttributes(ld), out)
	if err != nil {
		return err
	}
	if failed > 0 && p.cfg.OnFailure == OnFailureDrop {
		dropLogRecords(ld, drop)
		p.tel.dropped(ctx, failed)
		if ld.LogRecordCount() == 0 {
			return nil
		}
	}
	return p.next.ConsumeLogs(ctx, ld)
}

// tracesVerifier is mode: verify for traces.
type tracesVerifier struct {
	*verifier
	next      consumer.Traces
	marshaler ptrace.ProtoMarshaler
}

func newTracesVerifier(set processor.Settings, cfg *Config, next consumer.Traces) (*tracesVerifier, error) {
	v, err := newVerifier(set, cfg, pipeline.SignalTraces, signalTraces)
	if err != nil {
		return nil, err
	}
	return &tracesVerifier{verifier: v, next: next}, nil
}

func (p *tracesVerifier) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	req, err := p.marshaler.MarshalTraces(td)
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("auditchain (mode: verify): cannot marshal the batch: %w", err))
	}
	out, err := p.verify(ctx, req)
	if err != nil {
		return err
	}
	drop, failed, err := p.judge(spanAttributes(td), out)
	if err != nil {
		return err
	}
	if failed > 0 && p.cfg.OnFailure == OnFailureDrop {
		dropSpans(td, drop)
		p.tel.dropped(ctx, failed)
		if td.SpanCount() == 0 {
			return nil
		}
	}
	return p.next.ConsumeTraces(ctx, td)
}
