package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// This file holds the Go side of the C ABI that does not need cgo: result
// codes, the error type, and the stamps as Go sees them. engine_cgo.go
// fills them from the Rust core; engine_nocgo.go stands in without cgo.

// errCgoRequired is returned when the processor is created in a binary
// built without cgo.
var errCgoRequired = errors.New("the auditchain processor requires cgo: its chain engine is a Rust library linked through cgo; " +
	"build the collector with CGO_ENABLED=1 (in an ocb manifest: dist.cgo_enabled: true)")

// errNoCoreFor is returned when the processor is created on a platform
// for which the module ships no prebuilt Rust core (lib/<goos>_<goarch>).
func errNoCoreFor(goos, goarch string) error {
	return fmt.Errorf("the auditchain processor has no Rust core for %s/%s: the module ships it for linux/amd64 and linux/arm64 only", goos, goarch)
}

// resultCode mirrors `auditchain_result` (include/auditchain.h). The cgo
// file checks at compile time that the values agree with the header.
type resultCode uint32

const (
	resultOK              resultCode = 0
	resultNullArgument    resultCode = 1
	resultInvalidArgument resultCode = 2
	resultInvalidConfig   resultCode = 3
	resultMalformedBatch  resultCode = 4
	resultRejectedRecord  resultCode = 5
	resultState           resultCode = 6
	resultKey             resultCode = 7
	resultClosed          resultCode = 8
	resultPanic           resultCode = 9
	// resultContentHashMismatch: a selected record's audit.content_hash
	// does not match its body and content_hash.on_mismatch is reject.
	resultContentHashMismatch resultCode = 10
)

// signalCode mirrors `auditchain_signal`: what a batch and the engine's
// own records are.
type signalCode uint32

const (
	signalLogs   signalCode = 1
	signalTraces signalCode = 2
)

// attrKind mirrors `auditchain_attr_kind`.
type attrKind uint32

const (
	attrKindStr  attrKind = 1
	attrKindInt  attrKind = 2
	attrKindBool attrKind = 3
)

// recordStamp has the memory layout of `auditchain_record_stamp`: the
// attribute operations of one record are attrs[first : first+count].
type recordStamp struct {
	first    uint32
	count    uint32
	sequence uint64
}

// attrOp has the memory layout of `auditchain_attr`.
type attrOp struct {
	key   uint32
	kind  attrKind
	value uint64
	len   uint64
}

// stampSet is the result of one stamping call, read in place from the
// memory the Rust core owns. records, extraRecords and attrs point into C
// memory and are valid only until release is called; text and extra are Go copies and
// stay valid afterwards (the attribute values written on pdata share
// text's backing array).
type stampSet struct {
	records []recordStamp
	attrs   []attrOp
	// text is the one Go string that string operations slice.
	text string
	// extra is an OTLP protobuf export request of extraSignal (the
	// engine's: ExportLogsServiceRequest or ExportTraceServiceRequest) of
	// the records the engine emits itself (stream start, resume, gap, end,
	// checkpoints), or empty. They come unstamped: extraRecords are their
	// stamps, written the same way as records onto the batch.
	extra        []byte
	extraSignal  signalCode
	extraRecords []recordStamp
	// contentMatched and contentMismatched count the stamped records whose
	// audit.content_hash was checked (the mismatched ones carry the mark).
	contentMatched    int
	contentMismatched int
	// checkpoints is how many of the extra records are signed checkpoints.
	checkpoints int
	// batchID identifies the call for settle; 0 when nothing was issued.
	batchID uint64
	// firstSequence..lastSequence are the numbers the call issued,
	// including the extra records (both 0 when none).
	firstSequence uint64
	lastSequence  uint64
	// warning is a problem the engine reports without failing the call
	// (for example a checkpoint file it could not append to); empty when
	// none.
	warning string
	// rejected are the indices (into records, ascending) of the batch's
	// records that cannot be stamped (on_bad_record: drop_record): their
	// record stamps are empty, and unlike records the selection passed
	// over they must not be forwarded. rejection is why the first cannot.
	rejected  []uint32
	rejection string

	release func()
}

// free releases the C memory behind records and attrs. It is safe to call
// more than once and on a nil stampSet.
func (s *stampSet) free() {
	if s == nil || s.release == nil {
		return
	}
	s.release()
	s.release = nil
	s.records = nil
	s.extraRecords = nil
	s.attrs = nil
	s.rejected = nil
}

// issued reports whether the call issued sequence numbers, which means the
// Rust core made one durable state write and the caller owes a settle.
func (s *stampSet) issued() bool { return s.batchID != 0 }

// engineCounters mirrors `auditchain_engine_counters`.
type engineCounters struct {
	stateWrites uint64
	clockSteps  uint64
	// witnessSent counts add-checkpoint requests handed out,
	// witnessAnswers the answers by kind (answerKind), witnessWitnessed
	// the checkpoints whose cosignatures reached witness_quorum.
	witnessSent      uint64
	witnessAnswers   [answerKinds]uint64
	witnessWitnessed uint64
}

// answerKind mirrors `auditchain_witness_answer`: what a witness's answer
// to add-checkpoint was.
type answerKind uint32

const (
	answerCosigned answerKind = iota
	answerConflict
	answerInconsistent
	answerNotAccepted
	answerRejected
	answerRetryLater
	answerUnreachable
	answerBadAnswer
	answerBadCosignature
	answerKinds = 9
)

// answerNames are the values of the `answer` metric attribute.
var answerNames = [answerKinds]string{
	"cosigned", "conflict", "inconsistent", "not_accepted", "rejected", "retry_later", "unreachable", "bad_answer", "bad_cosignature",
}

func (k answerKind) String() string {
	if k < answerKinds {
		return answerNames[k]
	}
	return "unknown"
}

// witnessJob is one add-checkpoint request the engine made (copied into
// Go memory): POST body to <url>/add-checkpoint, hand the answer back
// with its id.
type witnessJob struct {
	id      uint64
	witness int
	start   bool
	size    uint64
	timeout time.Duration
	url     string
	body    []byte
}

// engineError is an error returned by the Rust core.
type engineError struct {
	code    resultCode
	name    string // e.g. "AUDITCHAIN_RESULT_STATE"
	message string
}

func (e *engineError) Error() string {
	if e.name == "" {
		return fmt.Sprintf("auditchain: %s (code %d)", e.message, e.code)
	}
	return fmt.Sprintf("auditchain: %s (%s)", e.message, e.name)
}

// errorCode returns the engine's result code of err, or resultOK when err
// does not come from the engine.
func errorCode(err error) resultCode {
	var ee *engineError
	if errors.As(err, &ee) {
		return ee.code
	}
	return resultOK
}

// classify wraps a stamping error for the receiver: a batch the engine
// refuses for what it contains (malformed protobuf, a record that cannot be
// stamped as it is) fails the same way however often it is retried, so it
// becomes a permanent error, marked as the sender's fault; everything else
// (state I/O, a closed engine, a panic) may succeed on retry and stays
// retryable.
func classify(err error) error {
	switch errorCode(err) {
	case resultMalformedBatch, resultRejectedRecord, resultContentHashMismatch:
		return consumererror.NewPermanent(badInputError{err})
	default:
		return err
	}
}

// badInputError marks an error as caused by what the client sent. The OTLP
// receivers answer a permanent error without a gRPC status with INTERNAL
// (HTTP 500), which tells the client the collector is at fault; this
// status makes it INVALID_ARGUMENT (HTTP 400): do not retry, fix the data.
type badInputError struct{ err error }

func (e badInputError) Error() string { return e.err.Error() }

func (e badInputError) Unwrap() error { return e.err }

func (e badInputError) GRPCStatus() *status.Status {
	return status.New(codes.InvalidArgument, e.err.Error())
}
