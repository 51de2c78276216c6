package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"
)

// batch is one ConsumeLogs or ConsumeTraces call as the shared path sees
// it: the records, and what to do with them, by signal.
type batch struct {
	// records is how many records came in.
	records int
	// classify evaluates the selection and partition rules per record.
	classify func() classification
	// marshal gives the batch as OTLP protobuf, once.
	marshal func() ([]byte, error)
	// attributes are the attribute maps of the batch's records, in
	// request order (resource, scope, record).
	attributes func() []pcommon.Map
	// join appends the engine's own records to the batch.
	join func(own ownRecords)
	// count is how many records the batch holds now.
	count func() int
	// forward hands the batch to the next consumer.
	forward func(ctx context.Context) error
	// forged marks the records (in request order) that carry an attribute
	// under a reserved prefix, on themselves, their scope or their
	// resource; nil when none does.
	forged func(reserved []string) []bool
	// drop removes the records marked (in request order), and scopes and
	// resources left empty.
	drop func(bad []bool)
	// scrub makes the batch safe to forward unstamped (docs/SPEC.md §4.3)
	// and returns how many records it marked.
	scrub func(reserved []string) int
}

// call is one engine call of a batch: the stream and its stamps.
type call struct {
	st     *stream
	stamps *stampSet
	own    ownRecords
}

// group is the records of one batch that join one stream.
type group struct {
	st        *stream
	selection []byte // nil: every record of the batch
	// overflow: the stream is the overflow stream of partitions beyond
	// max_streams.
	overflow bool
}

// consume stamps a batch, one engine call per stream it feeds, writes the
// stamps onto its records, appends the engines' own records, forwards it
// and settles every call with the next consumer's verdict. It may run
// concurrently; each engine keeps its sequence numbers unique and gap-free
// across calls.
//
// Telemetry as processorhelper records it: the time until the batch is
// handed on, the records in, and the records out (the batch's, plus the
// engine's own records that travel with it; 0 when it is refused).
func (s *stamper) consume(ctx context.Context, b *batch) error {
	start := time.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.running {
		return s.unstamped(ctx, b, start, errNotRunning)
	}
	c := b.classify()
	s.tel.unselected(ctx, b.records-c.chosen)
	if c.chosen == 0 {
		// Nothing to stamp: the batch passes through untouched, unless a
		// record in it would leave looking stamped.
		if bad := b.forged(reservedPrefixes()); bad != nil {
			return s.refuseForged(ctx, b, start, bad)
		}
		s.tel.processed(ctx, start, b.records, b.records)
		return b.forward(ctx)
	}
	groups, err := s.groups(c)
	if err != nil {
		return s.unstamped(ctx, b, start, err)
	}
	req, err := b.marshal()
	if err != nil {
		return s.unstamped(ctx, b, start, consumererror.NewPermanent(err))
	}
	calls, err := s.stampGroups(ctx, req, groups)
	if err != nil {
		return s.unstamped(ctx, b, start, err)
	}
	// Check and decode everything before changing the batch, so that a
	// failure leaves it as it came (and forward_unstamped forwards it
	// clean).
	maps := b.attributes()
	keys := attributeKeys()
	for i := range calls {
		if err = checkStamps(calls[i].stamps, len(maps), keys); err == nil {
			calls[i].own, err = s.ops.decode(calls[i].stamps)
		}
		if err != nil {
			// The numbers were issued and saved, but their records will
			// not leave stamped: announce them as a gap.
			s.abandon(calls)
			return s.unstamped(ctx, b, start, consumererror.NewPermanent(err))
		}
	}
	stamped := 0
	for _, cl := range calls {
		stamped += applyStamps(maps, cl.stamps.records, cl.stamps, keys)
		s.tel.contentHash(ctx, cl.stamps.contentMatched, cl.stamps.contentMismatched)
	}
	s.tel.stamped(ctx, stamped)
	// on_bad_record: drop_record: the records that cannot be stamped never
	// leave; the sender is told below.
	bad, dropped, rejection := rejectedRecords(calls, b.records)
	if dropped > 0 {
		b.drop(bad)
		s.tel.dropped(ctx, dropped)
	}
	for _, g := range groups {
		if g.overflow {
			s.tel.overflowed(ctx, countSelected(g.selection))
		}
	}
	for _, cl := range calls {
		if cl.own.n > 0 {
			s.tel.checkpoints(ctx, cl.stamps.checkpoints)
			b.join(cl.own)
		}
	}
	s.tel.processed(ctx, start, b.records, b.count())
	ids := make([]uint64, len(calls))
	for i, cl := range calls {
		ids[i] = cl.stamps.batchID
		cl.stamps.free()
	}

	err = b.forward(ctx)
	for i, cl := range calls {
		if ids[i] != 0 {
			s.settle(cl.st, ids[i], err == nil)
		}
	}
	if err == nil && dropped > 0 {
		err = s.droppedError(b.records, dropped, rejection)
	}
	return err
}

// rejectedRecords marks the batch's records that some engine call could
// not stamp (on_bad_record: drop_record), in request order: how many, and
// why the first could not; nil and 0 when there are none.
func rejectedRecords(calls []call, records int) ([]bool, int, string) {
	var bad []bool
	n, why := 0, ""
	for _, cl := range calls {
		for _, i := range cl.stamps.rejected {
			if bad == nil {
				bad = make([]bool, records)
			}
			if !bad[i] {
				bad[i] = true
				n++
			}
		}
		if why == "" {
			why = cl.stamps.rejection
		}
	}
	return bad, n, why
}

// droppedError is what the sender of a batch is told when records of it
// were dropped (on_bad_record: drop_record): permanent, so that it does not
// resend the records that were stamped and delivered (they would get new
// numbers).
func (s *stamper) droppedError(incoming, dropped int, first string) error {
	err := consumererror.NewPermanent(badInputError{fmt.Errorf(
		"auditchain: %d of %d %s could not be stamped and were dropped (on_bad_record: drop_record); the other %d were stamped and delivered, do not resend them. First: %s",
		dropped, incoming, s.ops.records, incoming-dropped, first)})
	s.logger.Warn("auditchain dropped records it could not stamp",
		zap.String("signal", s.signal.String()), zap.Int("dropped", dropped), zap.Error(err))
	return err
}

// refuseForged handles a batch with nothing selected whose records carry
// reserved attributes, as the engine handles such records when it stamps a
// batch: drop_record drops them and forwards the rest, otherwise the batch
// is refused (or, with on_error: forward_unstamped, forwarded scrubbed).
func (s *stamper) refuseForged(ctx context.Context, b *batch, start time.Time, bad []bool) error {
	n := 0
	for _, x := range bad {
		if x {
			n++
		}
	}
	why := fmt.Sprintf("%d %s carry attributes reserved to auditchain (%v) that the processor did not write", n, s.ops.records, reservedPrefixes())
	if s.cfg.OnBadRecord != OnBadRecordDropRecord || n == b.records {
		return s.unstamped(ctx, b, start, consumererror.NewPermanent(badInputError{fmt.Errorf("auditchain: %s; records must reach auditchain unstamped", why)}))
	}
	b.drop(bad)
	s.tel.dropped(ctx, n)
	s.tel.processed(ctx, start, b.records, b.count())
	if err := b.forward(ctx); err != nil {
		return err
	}
	return s.droppedError(b.records, n, why)
}

// groups splits the selected records by stream: the one stream, or each
// record's partition (opening its stream on first use).
func (s *stamper) groups(c classification) ([]group, error) {
	if s.parts == nil {
		return []group{{st: s.single, selection: c.selected}}, nil
	}
	var groups []group
	index := map[string]int{}
	for i, sel := range c.selected {
		if sel == 0 {
			continue
		}
		key := c.keys[i]
		g, ok := index[key]
		if !ok {
			st, overflow, err := s.parts.get(key)
			if err != nil {
				return nil, err
			}
			// Partitions beyond max_streams share the overflow stream.
			for j := range groups {
				if groups[j].st == st {
					g, ok = j, true
				}
			}
			if !ok {
				g = len(groups)
				groups = append(groups, group{st: st, selection: make([]byte, len(c.selected)), overflow: overflow})
			}
			index[key] = g
		}
		groups[g].selection[i] = 1
	}
	return groups, nil
}

func countSelected(sel []byte) int {
	n := 0
	for _, b := range sel {
		n += int(b)
	}
	return n
}

// stampGroups makes one engine call per group. When one fails, the calls
// already made are settled as not delivered (their numbers become an
// announced gap) and freed.
func (s *stamper) stampGroups(ctx context.Context, req []byte, groups []group) ([]call, error) {
	calls := make([]call, 0, len(groups))
	for _, g := range groups {
		stamps, err := g.st.eng.stamp(s.ops.code, req, g.selection, time.Now())
		if err != nil {
			if errorCode(err) == resultContentHashMismatch {
				s.tel.contentHash(ctx, 0, 1)
			}
			s.abandon(calls)
			return nil, classify(err)
		}
		s.issued(ctx, g.st, stamps)
		calls = append(calls, call{st: g.st, stamps: stamps})
	}
	return calls, nil
}

// abandon settles calls whose records will not leave stamped, and frees
// their stamps.
func (s *stamper) abandon(calls []call) {
	for _, cl := range calls {
		if cl.stamps.issued() {
			s.settle(cl.st, cl.stamps.batchID, false)
		}
		cl.stamps.free()
	}
}

// unstamped handles a batch that could not be stamped: by default it is
// refused with err (fail closed: the receiver tells the client to retry,
// or drops a permanent failure); with on_error: forward_unstamped it goes
// on without stamps, counted.
func (s *stamper) unstamped(ctx context.Context, b *batch, start time.Time, err error) error {
	n := b.records
	if s.cfg.OnError != OnErrorForwardUnstamped {
		s.tel.failed(ctx, 0)
		s.tel.processed(ctx, start, n, 0)
		s.logger.Warn("auditchain refused a batch it could not stamp",
			zap.String("signal", s.signal.String()),
			zap.Int("records", n),
			zap.Bool("permanent", consumererror.IsPermanent(err)),
			zap.Error(err))
		return err
	}
	// Nothing leaves looking stamped, and nothing leaves as invalid JSON.
	marked := b.scrub(reservedPrefixes())
	s.tel.failed(ctx, n)
	s.tel.processed(ctx, start, n, n)
	s.logger.Warn("auditchain forwarded a batch unstamped (on_error: forward_unstamped)",
		zap.String("signal", s.signal.String()), zap.Int("records", n), zap.Int("records_scrubbed", marked), zap.Error(err))
	return b.forward(ctx)
}
