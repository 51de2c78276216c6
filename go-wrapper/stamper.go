package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"
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

// stamper is the signal-independent half of the processor: it owns the
// engine (one stream of stamped records) and its lifecycle, settling, the
// ticker that emits control records without traffic, and the telemetry. A
// logs processor embeds it today; a traces processor will embed it the
// same way and add its own stamp call.
//
// Locking: every engine call happens under mu held for reading (the Rust
// engine is itself safe for concurrent calls and serialises issuing);
// Shutdown takes mu for writing before close and free, so free never races
// with a call and a batch in flight is settled before the engine goes.
type stamper struct {
	logger     *zap.Logger
	cfg        *Config
	streamName string
	engineJSON []byte
	tel        *telemetry

	// emit sends the engine's own records downstream. They are always
	// logs; for a logs pipeline this is the next consumer.
	emit func(context.Context, plog.Logs) error

	// tickEvery is tickInterval; tests lengthen it to control when the
	// engine's own records go out.
	tickEvery time.Duration

	// wallOffset is added to the wall time passed to the engine: tests
	// step the wall clock with it (the engine's monotonic clock goes on).
	wallOffset atomic.Int64

	mu  sync.RWMutex
	eng *engine // nil before Start and after Shutdown

	// The ticker goroutine: stopTicker asks it to stop after the current
	// tick, cancelTick aborts the tick's downstream send, tickerDone is
	// closed when it has returned.
	stopTicker chan struct{}
	cancelTick context.CancelFunc
	tickerDone chan struct{}
}

func newStamper(set processor.Settings, cfg *Config, signal pipeline.Signal, hostname func() (string, error), emit func(context.Context, plog.Logs) error) (*stamper, error) {
	name := resolveStreamName(cfg.StreamName, set.ID, hostname)
	engineJSON, err := cfg.engineConfigJSON(name)
	if err != nil {
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
		engineJSON: engineJSON,
		tel:        tel,
		emit:       emit,
		tickEvery:  tickInterval,
	}, nil
}

// wallClock is the wall time every engine call gets.
func (s *stamper) wallClock() time.Time {
	return time.Now().Add(time.Duration(s.wallOffset.Load()))
}

// Start opens the stream (the engine creates, resumes or refuses the
// state and takes its lock) and starts the ticker.
func (s *stamper) Start(ctx context.Context, _ component.Host) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eng != nil {
		return errors.New("auditchain: already started")
	}
	eng, err := newEngine(s.engineJSON, s.wallClock())
	if err != nil {
		if errorCode(err) == resultKey {
			// The engine's message names the key (key_file,
			// signing_key_file), the file and the fix; the state
			// directory is beside the point.
			return fmt.Errorf("cannot open stream %q: %w", s.streamName, err)
		}
		return fmt.Errorf("cannot open stream %q in %s: %w", s.streamName, s.cfg.State.Directory, err)
	}
	s.eng = eng
	// The engine wrote the opened (or new) state once already.
	s.tel.syncStateWrites(ctx, eng.stateWrites())
	s.logger.Info("auditchain stream open",
		zap.String("stream_id", eng.streamID()),
		zap.String("stream_name", s.streamName),
		zap.String("state_directory", s.cfg.State.Directory),
		zap.String("library_version", libraryVersion()))

	// The ticker outlives Start, so it must not use Start's context.
	tickCtx, cancel := context.WithCancel(context.Background())
	s.stopTicker = make(chan struct{})
	s.cancelTick = cancel
	s.tickerDone = make(chan struct{})
	go s.runTicker(tickCtx, s.stopTicker, s.tickerDone)
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
	if s.eng == nil {
		return
	}
	st, err := s.eng.tick(s.wallClock())
	if err != nil {
		s.logger.Warn("auditchain tick failed", zap.Error(err))
		return
	}
	if err := s.emitOwn(ctx, s.eng, st); err != nil {
		s.logger.Warn("auditchain could not deliver its own records; the engine will announce the gap", zap.Error(err))
	}
}

// issued accounts for a successful engine call: the state writes so far
// and any warning it reported.
func (s *stamper) issued(ctx context.Context, eng *engine, st *stampSet) {
	c := eng.counters()
	s.tel.syncStateWrites(ctx, c.stateWrites)
	s.tel.syncClockSteps(ctx, c.clockSteps)
	if st.warning != "" {
		s.logger.Warn("auditchain engine warning", zap.String("warning", st.warning))
	}
}

// emitOwn sends the records of a tick or close call downstream on their
// own and settles them. It frees st.
func (s *stamper) emitOwn(ctx context.Context, eng *engine, st *stampSet) error {
	defer st.free()
	s.issued(ctx, eng, st)
	err := checkStamps(st, 0, attributeKeys())
	var extra plog.Logs
	if err == nil {
		extra, err = extraLogs(st, attributeKeys())
	}
	if err == nil && extra.LogRecordCount() > 0 {
		s.tel.checkpoints(ctx, st.checkpoints)
		s.tel.emitted(ctx, extra.LogRecordCount())
		err = s.emit(ctx, extra)
	}
	if st.issued() {
		s.settle(eng, st.batchID, err == nil)
	}
	return err
}

// settle reports the fate of a batch to the engine. A refused batch is
// announced by a gap record in the stream; a settle that fails leaves the
// range unconfirmed, which the next start of the stream reports. Neither
// changes what the caller returns, so the error is only logged.
func (s *stamper) settle(eng *engine, batchID uint64, delivered bool) {
	if err := eng.settle(batchID, delivered); err != nil {
		s.logger.Warn("auditchain settle failed", zap.Uint64("batch_id", batchID), zap.Bool("delivered", delivered), zap.Error(err))
	}
}

// Shutdown stops the ticker, ends the stream cleanly (its last record
// carries audit.sequence.end), sends the final records downstream within
// ctx, and frees the engine, which releases the state lock. It is safe
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

	s.mu.Lock()
	defer s.mu.Unlock()
	eng := s.eng
	s.eng = nil
	if eng == nil {
		return nil
	}
	defer s.tel.shutdown()
	defer eng.free()
	st, err := eng.close(s.wallClock())
	if err != nil {
		return fmt.Errorf("cannot end stream %q cleanly (the next start will resume it): %w", s.streamName, err)
	}
	if err := s.emitOwn(ctx, eng, st); err != nil {
		return fmt.Errorf("the final records of stream %q were not delivered: %w", s.streamName, err)
	}
	// Settling the final records wrote the state once more.
	s.tel.syncStateWrites(ctx, eng.stateWrites())
	s.logger.Info("auditchain stream ended", zap.String("stream_name", s.streamName))
	return nil
}
