package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	"go.uber.org/zap"
)

// The witness client's HTTP half (docs/SPEC.md §5.5). The engine makes
// every add-checkpoint body and takes every decision; this only POSTs the
// bodies to <url>/add-checkpoint and hands status, Content-Type and body
// back. It never blocks stamping: requests go out from goroutines of their
// own, one worker per witness, after the checkpoint has left with the
// batch that carried it.

// maxAnswerBytes bounds what is read of an answer (the engine refuses
// more than 64 KiB: a witness sends a few signature lines).
const maxAnswerBytes = 64<<10 + 1

// witnessQueue is how many requests wait for one witness; past it a
// request is answered "not sent" at once (the next checkpoint supersedes
// it).
const witnessQueue = 16

// witnessClient sends one stream's requests.
type witnessClient struct {
	s    *stamper
	st   *stream
	http *http.Client
	// queues has one channel per witness, served by its worker.
	queues []chan witnessJob
	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newWitnessClient(s *stamper, st *stream) *witnessClient {
	ctx, cancel := context.WithCancel(context.Background())
	c := &witnessClient{
		s:      s,
		st:     st,
		http:   &http.Client{Transport: http.DefaultTransport},
		wake:   make(chan struct{}, 1),
		ctx:    ctx,
		cancel: cancel,
	}
	for range s.cfg.Witnesses {
		c.queues = append(c.queues, make(chan witnessJob, witnessQueue))
	}
	return c
}

// post sends one request and returns the answer; status 0 when there was
// none (body then says why).
func (c *witnessClient) post(ctx context.Context, j witnessJob) (int, string, []byte) {
	timeout := j.timeout
	if timeout <= 0 {
		timeout = DefaultWitnessTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.url+"/add-checkpoint", bytes.NewReader(j.body))
	if err != nil {
		return 0, "", []byte(err.Error())
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", []byte(err.Error())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return 0, "", []byte(fmt.Sprintf("reading the answer (HTTP %d): %v", resp.StatusCode, err))
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// answer hands an answer to the engine, counts it, and sends the records
// it owes the stream (a cosignature record) at once. Returns the engine's
// refusal (a rolled-back state, at start).
func (c *witnessClient) answer(ctx context.Context, j witnessJob, status int, ct string, body []byte) (answerKind, error) {
	kind, err := c.st.eng.witnessAnswer(j.id, status, ct, body, c.s.wallClock())
	_, lag, ok := c.st.eng.witnessStatus(j.witness)
	c.s.tel.witnessAnswer(ctx, j.url, kind, lag, ok)
	return kind, err
}

// startCheck sends the saved checkpoint to every witness (the engine's
// start requests) and waits for the answers: a witness that holds a
// larger size, or another tree, refuses the start; one that cannot be
// reached is a warning.
func (c *witnessClient) startCheck(ctx context.Context) error {
	return c.sendReady(ctx)
}

// finalCheckpoint sends the final checkpoint of a stream that just ended
// to the witnesses, within the shutdown's ctx, so that it is cosigned (its
// cosignature is recorded in checkpoint.file: the stream takes no more
// records). The workers have stopped already.
func (c *witnessClient) finalCheckpoint(ctx context.Context) {
	if err := c.sendReady(ctx); err != nil {
		c.s.logger.Error("auditchain witness", zap.String("stream_name", c.st.name), zap.Error(err))
	}
}

// sendReady sends every ready request at once and hands the answers back;
// returns the engine's refusal, if any.
func (c *witnessClient) sendReady(ctx context.Context) error {
	jobs, err := c.st.eng.witnessJobs()
	if err != nil {
		return err
	}
	type result struct {
		j      witnessJob
		status int
		ct     string
		body   []byte
	}
	results := make([]result, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, ct, body := c.post(ctx, j)
			results[i] = result{j, st, ct, body}
		}()
	}
	wg.Wait()
	var refusal error
	for _, r := range results {
		kind, err := c.answer(ctx, r.j, r.status, r.ct, r.body)
		switch {
		case err != nil && refusal == nil:
			refusal = err
		case kind == answerUnreachable && r.j.start:
			c.s.logger.Warn("auditchain could not reach a witness at start; its check of the saved checkpoint is skipped",
				zap.String("stream_name", c.st.name), zap.String("witness", r.j.url), zap.ByteString("error", r.body))
		case kind == answerUnreachable:
			c.s.logger.Warn("auditchain could not reach a witness with the final checkpoint",
				zap.String("stream_name", c.st.name), zap.String("witness", r.j.url), zap.ByteString("error", r.body))
		}
	}
	return refusal
}

// run starts the dispatcher and the workers.
func (c *witnessClient) run() {
	for i := range c.queues {
		c.wg.Add(1)
		go c.worker(i)
	}
	c.wg.Add(1)
	go c.dispatch()
}

// notify says that the engine may have requests ready (a checkpoint left).
func (c *witnessClient) notify() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *witnessClient) dispatch() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.wake:
		}
		c.s.mu.RLock()
		if !c.s.running {
			c.s.mu.RUnlock()
			continue
		}
		jobs, err := c.st.eng.witnessJobs()
		c.s.mu.RUnlock()
		if err != nil {
			c.s.logger.Warn("auditchain witness requests", zap.String("stream_name", c.st.name), zap.Error(err))
			continue
		}
		for _, j := range jobs {
			select {
			case c.queues[j.witness] <- j:
			default:
				c.handle(j, 0, "", []byte("not sent: the witness's queue is full"))
			}
		}
	}
}

func (c *witnessClient) worker(i int) {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case j := <-c.queues[i]:
			status, ct, body := c.post(c.ctx, j)
			if c.ctx.Err() != nil {
				return
			}
			c.handle(j, status, ct, body)
		}
	}
}

// handle passes an answer on under the stamper's read lock, logs what
// the engine reports, and emits the records it owes (the cosignature
// record) right away, as the ticker would.
func (c *witnessClient) handle(j witnessJob, status int, ct string, body []byte) {
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	if !c.s.running {
		return
	}
	kind, err := c.answer(c.ctx, j, status, ct, body)
	if err != nil {
		// Not at start: the engine only refuses the check at start. Report
		// loudly; stamping goes on.
		c.s.logger.Error("auditchain witness", zap.String("stream_name", c.st.name), zap.String("witness", j.url), zap.Error(err))
		return
	}
	if j.start && kind == answerUnreachable {
		c.s.logger.Warn("auditchain could not reach a witness to check the saved checkpoint",
			zap.String("stream_name", c.st.name), zap.String("witness", j.url), zap.ByteString("error", body))
	}
	stamps, err := c.st.eng.tick(c.s.wallClock())
	if err != nil {
		c.s.logger.Warn("auditchain tick failed", zap.String("stream_name", c.st.name), zap.Error(err))
		return
	}
	if err := c.s.emitOwn(c.ctx, c.st, stamps); err != nil {
		c.s.logger.Warn("auditchain could not deliver its own records; the engine will announce the gap",
			zap.String("stream_name", c.st.name), zap.Error(err))
	}
}

// stop cancels requests in flight and waits for the goroutines.
func (c *witnessClient) stop() {
	c.cancel()
	c.wg.Wait()
}
