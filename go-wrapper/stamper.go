package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"
)

// tickInterval is how often the engine is asked for the records it owes
// the stream without traffic (the first record, announced gaps, heartbeat
// checkpoints) and for evolving an expired epoch key. It bounds how late a
// checkpoint can be: checkpoint.interval is at least 1s.
const tickInterval = time.Second

// errNotRunning is returned for batches that arrive before Start or after
// Shutdown: nothing can be stamped, so nothing is forwarded.
var errNotRunning = errors.New("auditchain: the processor is not running; the batch was not stamped")

// ownRecords are the engine's own records of one call (start, resume,
// gap, checkpoint, end), decoded and stamped: data is plog.Logs or
// ptrace.Traces, n how many records it holds.
type ownRecords struct {
	data any
	n    int
}

// signalOps is what the stamper needs to know of its signal: how to
// decode the engine's own records and send them on their own.
type signalOps struct {
	code signalCode
	// records names the signal's records in messages: "log records",
	// "spans".
	records string
	decode  func(st *stampSet) (ownRecords, error)
	send    func(ctx context.Context, own ownRecords) error
}

// stamper is the signal-independent half of the processor: it owns the
// streams (one, or one per partition) and their engines and lifecycle,
// settling, the ticker that emits control records without traffic, and
// the telemetry. The logs and traces processors embed it and add their
// own ConsumeLogs / ConsumeTraces around consume (batch.go).
//
// Locking: every engine call happens under mu held for reading (the Rust
// engine is itself safe for concurrent calls and serialises issuing);
// Shutdown takes mu for writing before close and free, so free never races
// with a call and a batch in flight is settled before the engine goes.
// Partition streams are opened under the partitions' own mutex while mu is
// held for reading.
type stamper struct {
	logger     *zap.Logger
	cfg        *Config
	streamName string // the stream's name, or the partitions' base name
	signal     pipeline.Signal
	ops        signalOps
	tel        *telemetry

	// tickEvery is tickInterval; tests lengthen it to control when the
	// engine's own records go out.
	tickEvery time.Duration

	// wallOffset is added to the wall time passed to the engines: tests
	// step the wall clock with it (the engines' monotonic clock goes on).
	wallOffset atomic.Int64

	mu      sync.RWMutex
	running bool
	single  *stream     // without partition_by: opened by Start
	parts   *partitions // with partition_by: streams opened on first use

	// The ticker goroutine: stopTicker asks it to stop after the current
	// tick, cancelTick aborts the tick's downstream send, tickerDone is
	// closed when it has returned.
	stopTicker chan struct{}
	cancelTick context.CancelFunc
	tickerDone chan struct{}
}

// stream is one stream and its engine.
type stream struct {
	name string
	eng  *engine
	// stateWrites and clockSteps are the engine's counts already
	// reported.
	stateWrites atomic.Uint64
	clockSteps  atomic.Uint64
	witnessed   atomic.Uint64
	// witness POSTs the engine's add-checkpoint requests (nil without
	// witnesses).
	witness *witnessClient
}

func newStamper(set processor.Settings, cfg *Config, signal pipeline.Signal, hostname func() (string, error), ops signalOps) (*stamper, error) {
	name := resolveStreamName(cfg.StreamName, set.ID, signal, hostname)
	// The engine configuration is checked once here, so that a bad value
	// fails at creation rather than when a partition's stream opens.
	if _, err := cfg.engineConfigJSON(name, signal); err != nil {
		return nil, err
	}
	tel, err := newTelemetry(set, name, signal)
	if err != nil {
		return nil, err
	}
	return &stamper{
		logger:     set.Logger,
		cfg:        cfg,
		streamName: name,
		signal:     signal,
		ops:        ops,
		tel:        tel,
		tickEvery:  tickInterval,
	}, nil
}

// wallClock is the wall time every engine call gets.
func (s *stamper) wallClock() time.Time {
	return time.Now().Add(time.Duration(s.wallOffset.Load()))
}

// openStream opens (creates, resumes) a stream's engine.
func (s *stamper) openStream(ctx context.Context, name string) (*stream, error) {
	return s.openPartStream(ctx, name, "")
}

// openPartStream opens the stream of partition part (empty: the
// processor's one stream); the partition's log origin ends in /<part>.
func (s *stamper) openPartStream(ctx context.Context, name, part string) (*stream, error) {
	js, err := s.cfg.partitionConfigJSON(name, part, s.signal)
	if err != nil {
		return nil, err
	}
	eng, err := newEngine(js, s.wallClock())
	if err != nil {
		if errorCode(err) == resultKey {
			// The engine's message names the key (key_file,
			// signing_key_file), the file and the fix; the state
			// directory is beside the point.
			return nil, fmt.Errorf("cannot open stream %q: %w", name, err)
		}
		return nil, fmt.Errorf("cannot open stream %q in %s: %w", name, s.cfg.State.Directory, err)
	}
	st := &stream{name: name, eng: eng}
	if len(s.cfg.Witnesses) > 0 {
		st.witness = newWitnessClient(s, st)
		if !s.cfg.partitioned() {
			// The saved checkpoint goes to every witness before anything
			// is stamped: a witness that holds more reveals a rolled-back
			// state. (A partition's stream opens with its first batch,
			// which must not wait: its check runs in the background and a
			// refusal is logged as an error.)
			if err := st.witness.startCheck(ctx); err != nil {
				eng.free()
				return nil, fmt.Errorf("auditchain: stream %q refuses to start: %w", name, err)
			}
		}
		if s.running {
			st.witness.run()
			st.witness.notify()
		}
	}
	// The engine wrote the opened (or new) state once already.
	s.tel.syncCounters(ctx, st)
	s.logger.Info("auditchain stream open",
		zap.String("stream_id", eng.streamID()),
		zap.String("stream_name", name),
		zap.String("signal", s.signal.String()),
		zap.String("state_directory", s.cfg.State.Directory),
		zap.String("library_version", libraryVersion()))
	return st, nil
}

// Start opens the stream (the engine creates, resumes or refuses the
// state and takes its lock) and starts the ticker. A partitioned
// processor opens each partition's stream when its first record arrives.
func (s *stamper) Start(ctx context.Context, _ component.Host) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return errors.New("auditchain: already started")
	}
	if s.cfg.partitioned() {
		s.parts = newPartitions(s.streamName, s.cfg.maxStreams(),
			func(name, part string) (*stream, error) { return s.openPartStream(context.Background(), name, part) },
			func(part string) {
				s.logger.Warn("auditchain has max_streams partitions open: records of further partitions go to the overflow stream",
					zap.Int("max_streams", s.cfg.maxStreams()), zap.String("partition", part),
					zap.String("overflow_stream", partitionStreamName(s.streamName, overflowPart)))
			})
	} else {
		st, err := s.openStream(ctx, s.streamName)
		if err != nil {
			return err
		}
		s.single = st
	}
	s.running = true
	if s.single != nil && s.single.witness != nil {
		s.single.witness.run()
	}

	// The ticker outlives Start, so it must not use Start's context.
	tickCtx, cancel := context.WithCancel(context.Background())
	s.stopTicker = make(chan struct{})
	s.cancelTick = cancel
	s.tickerDone = make(chan struct{})
	go s.runTicker(tickCtx, s.stopTicker, s.tickerDone)
	return nil
}

// streams returns the open streams.
func (s *stamper) streams() []*stream {
	if s.parts != nil {
		return s.parts.all()
	}
	if s.single != nil {
		return []*stream{s.single}
	}
	return nil
}

// runTicker ticks once right away, so that the stream's first record goes
// out without waiting for traffic, then every tickInterval.
func (s *stamper) runTicker(ctx context.Context, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(s.tickEvery)
	defer t.Stop()
	for {
		s.tick(ctx)
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

func (s *stamper) tick(ctx context.Context) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.running {
		return
	}
	for _, st := range s.streams() {
		stamps, err := st.eng.tick(s.wallClock())
		if err != nil {
			s.logger.Warn("auditchain tick failed", zap.String("stream_name", st.name), zap.Error(err))
			continue
		}
		if err := s.emitOwn(ctx, st, stamps); err != nil {
			s.logger.Warn("auditchain could not deliver its own records; the engine will announce the gap",
				zap.String("stream_name", st.name), zap.Error(err))
		}
	}
}

// issued accounts for a successful engine call: the state writes and clock
// steps so far and any warning it reported.
func (s *stamper) issued(ctx context.Context, st *stream, stamps *stampSet) {
	s.tel.syncCounters(ctx, st)
	if stamps.warning != "" {
		s.logger.Warn("auditchain engine warning", zap.String("stream_name", st.name), zap.String("warning", stamps.warning))
	}
	if stamps.checkpoints > 0 && st.witness != nil {
		// The checkpoint is durable: its add-checkpoint requests are ready.
		st.witness.notify()
	}
}

// emitOwn sends the records of a tick or close call downstream on their
// own and settles them. It frees stamps.
func (s *stamper) emitOwn(ctx context.Context, st *stream, stamps *stampSet) error {
	defer stamps.free()
	s.issued(ctx, st, stamps)
	err := checkStamps(stamps, 0, attributeKeys())
	var own ownRecords
	if err == nil {
		own, err = s.ops.decode(stamps)
	}
	if err == nil && own.n > 0 {
		s.tel.checkpoints(ctx, stamps.checkpoints)
		s.tel.emitted(ctx, own.n)
		err = s.ops.send(ctx, own)
	}
	if stamps.issued() {
		s.settle(st, stamps.batchID, err == nil)
	}
	return err
}

// settle reports the fate of a batch to the engine. A refused batch is
// announced by a gap record in the stream; a settle that fails leaves the
// range unconfirmed, which the next start of the stream reports. Neither
// changes what the caller returns, so the error is only logged.
func (s *stamper) settle(st *stream, batchID uint64, delivered bool) {
	if err := st.eng.settle(batchID, delivered); err != nil {
		s.logger.Warn("auditchain settle failed", zap.String("stream_name", st.name),
			zap.Uint64("batch_id", batchID), zap.Bool("delivered", delivered), zap.Error(err))
	}
}

// Shutdown stops the ticker, ends every stream cleanly (its last record
// carries audit.sequence.end), sends the final records downstream within
// ctx, and frees the engines, which releases the state locks. It is safe
// without Start and when called twice.
func (s *stamper) Shutdown(ctx context.Context) error {
	if s.stopTicker != nil {
		close(s.stopTicker)
		select {
		case <-s.tickerDone:
		case <-ctx.Done():
			// Abort a tick stuck downstream; its records become a gap
			// announced in the final records.
			s.cancelTick()
			<-s.tickerDone
		}
		s.cancelTick()
		s.stopTicker = nil
	}

	// The witness clients stop first (they call the engines under the
	// read lock); requests in flight are abandoned, and the next start
	// sends the saved checkpoint again.
	s.mu.RLock()
	open := s.streams()
	s.mu.RUnlock()
	for _, st := range open {
		if st.witness != nil {
			st.witness.stop()
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return nil
	}
	s.running = false
	defer s.tel.shutdown()
	var errs []error
	for _, st := range s.streams() {
		errs = append(errs, s.closeStream(ctx, st))
	}
	s.single = nil
	if s.parts != nil {
		s.parts.clear()
	}
	return errors.Join(errs...)
}

// closeStream ends one stream and frees its engine.
func (s *stamper) closeStream(ctx context.Context, st *stream) error {
	defer st.eng.free()
	stamps, err := st.eng.close(s.wallClock())
	if err != nil {
		return fmt.Errorf("cannot end stream %q cleanly (the next start will resume it): %w", st.name, err)
	}
	if err := s.emitOwn(ctx, st, stamps); err != nil {
		return fmt.Errorf("the final records of stream %q were not delivered: %w", st.name, err)
	}
	if st.witness != nil {
		st.witness.finalCheckpoint(ctx)
	}
	// Settling the final records wrote the state once more.
	s.tel.syncCounters(ctx, st)
	s.logger.Info("auditchain stream ended", zap.String("stream_name", st.name))
	return nil
}
