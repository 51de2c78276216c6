//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

// The Rust core is a static library inside this module, one per platform,
// chosen by the build constraints of the #cgo lines below:
// lib/<goos>_<goarch>/libauditchain.a. It is linked by its full path, so
// the collector binary carries the Rust core and needs neither
// LD_LIBRARY_PATH nor a Rust toolchain where it runs; -lm -ldl -lpthread
// are what Rust's std needs from libc on Linux.
//
// In a released module version (`make module`) the libraries are real
// files, prebuilt, with their toolchain and checksums in lib/BUILDINFO. In
// the repository, lib/<goos>_<goarch>/libauditchain.a is a link to
// ../target/release/libauditchain.a that `make lib`-dependent targets
// create (gitignored). The go command re-reads the archive at every link,
// but it does not hash it into its build cache key: a test binary or
// collector that is still in place is not relinked when only the archive
// changed (the Makefile deletes the collector binary first; tests run with
// -count=1).
//
// The header auditchain.h lies in this directory, not behind -I: the go
// command hashes the .h files of the package directory into its build
// cache key but not headers found through -I, so a changed header
// recompiles this package (and re-runs the layout checks below). In the
// repository it is a symlink to ../include/auditchain.h; in a module
// version it is a copy.

/*
#cgo linux,amd64 LDFLAGS: ${SRCDIR}/lib/linux_amd64/libauditchain.a
#cgo linux,arm64 LDFLAGS: ${SRCDIR}/lib/linux_arm64/libauditchain.a
#cgo LDFLAGS: -lm -ldl -lpthread

#include "auditchain.h"
*/
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

const cgoEnabled = true

// errNoEngine is nil: this build has the engine.
var errNoEngine error

// Compile-time checks that the Go mirrors in engine.go agree with the
// header: a mismatch makes one of these array types differ in length, which
// does not compile.
var (
	_ [unsafe.Sizeof(C.auditchain_record_stamp{})]byte            = [unsafe.Sizeof(recordStamp{})]byte{}
	_ [unsafe.Offsetof(C.auditchain_record_stamp{}.count)]byte    = [unsafe.Offsetof(recordStamp{}.count)]byte{}
	_ [unsafe.Offsetof(C.auditchain_record_stamp{}.sequence)]byte = [unsafe.Offsetof(recordStamp{}.sequence)]byte{}
	_ [unsafe.Sizeof(C.auditchain_attr{})]byte                    = [unsafe.Sizeof(attrOp{})]byte{}
	_ [unsafe.Offsetof(C.auditchain_attr{}.kind)]byte             = [unsafe.Offsetof(attrOp{}.kind)]byte{}
	_ [unsafe.Offsetof(C.auditchain_attr{}.value)]byte            = [unsafe.Offsetof(attrOp{}.value)]byte{}
	_ [unsafe.Offsetof(C.auditchain_attr{}.len)]byte              = [unsafe.Offsetof(attrOp{}.len)]byte{}

	_ [C.AUDITCHAIN_RESULT_OK]byte                    = [resultOK]byte{}
	_ [C.AUDITCHAIN_RESULT_NULL_ARGUMENT]byte         = [resultNullArgument]byte{}
	_ [C.AUDITCHAIN_RESULT_INVALID_ARGUMENT]byte      = [resultInvalidArgument]byte{}
	_ [C.AUDITCHAIN_RESULT_INVALID_CONFIG]byte        = [resultInvalidConfig]byte{}
	_ [C.AUDITCHAIN_RESULT_MALFORMED_BATCH]byte       = [resultMalformedBatch]byte{}
	_ [C.AUDITCHAIN_RESULT_REJECTED_RECORD]byte       = [resultRejectedRecord]byte{}
	_ [C.AUDITCHAIN_RESULT_STATE]byte                 = [resultState]byte{}
	_ [C.AUDITCHAIN_RESULT_KEY]byte                   = [resultKey]byte{}
	_ [C.AUDITCHAIN_RESULT_CLOSED]byte                = [resultClosed]byte{}
	_ [C.AUDITCHAIN_RESULT_PANIC]byte                 = [resultPanic]byte{}
	_ [C.AUDITCHAIN_RESULT_CONTENT_HASH_MISMATCH]byte = [resultContentHashMismatch]byte{}
	_ [C.AUDITCHAIN_SIGNAL_LOGS]byte                  = [signalLogs]byte{}
	_ [C.AUDITCHAIN_SIGNAL_TRACES]byte                = [signalTraces]byte{}
	_ [C.AUDITCHAIN_ATTR_KIND_STR]byte                = [attrKindStr]byte{}
	_ [C.AUDITCHAIN_ATTR_KIND_INT]byte                = [attrKindInt]byte{}
	_ [C.AUDITCHAIN_ATTR_KIND_BOOL]byte               = [attrKindBool]byte{}

	_ [C.AUDITCHAIN_WITNESS_ANSWER_COSIGNED]byte                = [answerCosigned]byte{}
	_ [C.AUDITCHAIN_WITNESS_ANSWER_CONFLICT]byte                = [answerConflict]byte{}
	_ [C.AUDITCHAIN_WITNESS_ANSWER_INCONSISTENT]byte            = [answerInconsistent]byte{}
	_ [C.AUDITCHAIN_WITNESS_ANSWER_NOT_ACCEPTED]byte            = [answerNotAccepted]byte{}
	_ [C.AUDITCHAIN_WITNESS_ANSWER_REJECTED]byte                = [answerRejected]byte{}
	_ [C.AUDITCHAIN_WITNESS_ANSWER_RETRY_LATER]byte             = [answerRetryLater]byte{}
	_ [C.AUDITCHAIN_WITNESS_ANSWER_UNREACHABLE]byte             = [answerUnreachable]byte{}
	_ [C.AUDITCHAIN_WITNESS_ANSWER_BAD_ANSWER]byte              = [answerBadAnswer]byte{}
	_ [C.AUDITCHAIN_WITNESS_ANSWER_BAD_COSIGNATURE]byte         = [answerBadCosignature]byte{}
	_ [len(C.auditchain_engine_counters{}.witness_answers)]byte = [answerKinds]byte{}
)

// goString copies a borrowed auditchain_str into Go memory.
func goString(s C.auditchain_str) string {
	if s.data == nil || s.len == 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(unsafe.Pointer(s.data)), int(s.len)))
}

// attributeKeys is the engine's attribute key table, converted to Go
// strings once per process so that writing stamps never allocates a key.
// The table only grows at the end and an index is never reused.
var attributeKeys = sync.OnceValue(func() []string {
	var keys []string
	for i := C.uint32_t(0); ; i++ {
		k := goString(C.auditchain_attribute_key(i))
		if k == "" {
			return keys
		}
		keys = append(keys, k)
	}
})

// reservedPrefixes are the attribute name prefixes reserved to auditchain,
// from the engine (docs/SPEC.md §4.3), once per process.
var reservedPrefixes = sync.OnceValue(func() []string {
	var out []string
	for i := C.uint32_t(0); ; i++ {
		p := goString(C.auditchain_reserved_prefix(i))
		if p == "" {
			return out
		}
		out = append(out, p)
	}
})

// libraryVersion is the version of the linked Rust core.
func libraryVersion() string {
	return C.GoString(C.auditchain_version())
}

// takeError converts an error the library allocated into a Go error and
// frees it.
func takeError(code C.auditchain_result, cerr *C.auditchain_error) error {
	defer C.auditchain_error_free(cerr)
	c := resultCode(code)
	msg := "unknown error"
	if cerr != nil {
		c = resultCode(C.auditchain_error_code(cerr))
		msg = goString(C.auditchain_error_message(cerr))
	}
	return &engineError{code: c, name: goString(C.auditchain_result_name(C.uint32_t(c))), message: msg}
}

func unixNano(t time.Time) C.uint64_t {
	n := t.UnixNano()
	if n < 0 {
		return 0
	}
	return C.uint64_t(n)
}

// engine owns one auditchain_engine. Every method except free may be
// called from several goroutines at once (the Rust engine serialises what
// needs serialising); free must not race with any other call, which the
// processor guarantees with its RWMutex.
type engine struct {
	h *C.auditchain_engine
}

// newEngine creates the Rust engine from its JSON configuration: it opens,
// locks and (if needed) creates the stream state.
func newEngine(configJSON []byte, now time.Time) (*engine, error) {
	if len(configJSON) == 0 {
		return nil, fmt.Errorf("auditchain: empty engine configuration")
	}
	var h *C.auditchain_engine
	var cerr *C.auditchain_error
	code := C.auditchain_engine_new((*C.uint8_t)(unsafe.Pointer(&configJSON[0])), C.size_t(len(configJSON)), unixNano(now), &h, &cerr)
	// configJSON is only borrowed for the call; the engine keeps no pointer
	// into it.
	runtime.KeepAlive(configJSON)
	if code != C.AUDITCHAIN_RESULT_OK {
		return nil, takeError(code, cerr)
	}
	return &engine{h: h}, nil
}

// streamID returns the id of the engine's stream.
func (e *engine) streamID() string {
	return goString(C.auditchain_engine_stream_id(e.h))
}

// stampLogs stamps one OTLP logs batch (ExportLogsServiceRequest bytes).
// On success the returned stamps are durable in the stream state; the
// caller must free them and, when they issued numbers, settle them.
func (e *engine) stampLogs(request []byte, now time.Time) (*stampSet, error) {
	return e.stamp(signalLogs, request, nil, now)
}

// stamp stamps the selected records of one OTLP batch of signal (the
// engine's): request holds the export request's protobuf bytes, selection
// one byte per record (1: stamp it, 0: pass it through), or nil for every
// record. On success the returned stamps are durable in the stream state;
// the caller must free them and, when they issued numbers, settle them.
func (e *engine) stamp(signal signalCode, request, selection []byte, now time.Time) (*stampSet, error) {
	var ptr, sel *C.uint8_t
	if len(request) > 0 {
		ptr = (*C.uint8_t)(unsafe.Pointer(&request[0]))
	}
	if len(selection) > 0 {
		sel = (*C.uint8_t)(unsafe.Pointer(&selection[0]))
	}
	var out *C.auditchain_stamps
	var cerr *C.auditchain_error
	code := C.auditchain_engine_stamp(e.h, C.uint32_t(signal), ptr, C.size_t(len(request)), sel, C.size_t(len(selection)),
		unixNano(now), &out, &cerr)
	// The request and selection are passed as Go pointers to pointer-free
	// memory and are only read during the call (cgo pointer rules; the Rust
	// side never keeps them). Keep them reachable until it has returned.
	runtime.KeepAlive(request)
	runtime.KeepAlive(selection)
	if code != C.AUDITCHAIN_RESULT_OK {
		return nil, takeError(code, cerr)
	}
	return newStampSet(out)
}

// tick emits the control records that are due without traffic.
func (e *engine) tick(now time.Time) (*stampSet, error) {
	var out *C.auditchain_stamps
	var cerr *C.auditchain_error
	if code := C.auditchain_engine_tick(e.h, unixNano(now), &out, &cerr); code != C.AUDITCHAIN_RESULT_OK {
		return nil, takeError(code, cerr)
	}
	return newStampSet(out)
}

// settle tells the engine whether the records of batchID were accepted
// downstream.
func (e *engine) settle(batchID uint64, delivered bool) error {
	var cerr *C.auditchain_error
	if code := C.auditchain_engine_settle(e.h, C.uint64_t(batchID), C.bool(delivered), &cerr); code != C.AUDITCHAIN_RESULT_OK {
		return takeError(code, cerr)
	}
	return nil
}

// close ends the stream cleanly; the returned stamps carry its final
// records.
func (e *engine) close(now time.Time) (*stampSet, error) {
	var out *C.auditchain_stamps
	var cerr *C.auditchain_error
	if code := C.auditchain_engine_close(e.h, unixNano(now), &out, &cerr); code != C.AUDITCHAIN_RESULT_OK {
		return nil, takeError(code, cerr)
	}
	return newStampSet(out)
}

// counters are the engine's counters: durable state writes (concurrent
// batches can share one write, group commit, so this is not the number of
// batches), and steps of the wall clock it announced.
func (e *engine) counters() engineCounters {
	var c C.auditchain_engine_counters
	if C.auditchain_engine_get_counters(e.h, &c) != C.AUDITCHAIN_RESULT_OK {
		return engineCounters{}
	}
	out := engineCounters{
		stateWrites:      uint64(c.state_writes),
		clockSteps:       uint64(c.clock_steps),
		witnessSent:      uint64(c.witness_sent),
		witnessWitnessed: uint64(c.witness_witnessed),
	}
	for i := range out.witnessAnswers {
		out.witnessAnswers[i] = uint64(c.witness_answers[i])
	}
	return out
}

// witnessJobs takes the add-checkpoint requests the engine has ready,
// copied into Go memory.
func (e *engine) witnessJobs() ([]witnessJob, error) {
	var jobs *C.auditchain_witness_jobs
	var cerr *C.auditchain_error
	if code := C.auditchain_engine_witness_jobs(e.h, &jobs, &cerr); code != C.AUDITCHAIN_RESULT_OK {
		return nil, takeError(code, cerr)
	}
	defer C.auditchain_witness_jobs_free(jobs)
	n := int(C.auditchain_witness_jobs_len(jobs))
	out := make([]witnessJob, 0, n)
	for i := 0; i < n; i++ {
		j := C.auditchain_witness_jobs_get(jobs, C.size_t(i))
		if j == nil {
			break
		}
		out = append(out, witnessJob{
			id:      uint64(j.id),
			witness: int(j.witness),
			start:   bool(j.start),
			size:    uint64(j.size),
			timeout: time.Duration(j.timeout_ns),
			url:     goString(j.url),
			body:    []byte(goString(j.body)),
		})
	}
	return out, nil
}

// witnessAnswer hands a witness's answer to request id back to the
// engine (status 0: no answer, body says why). The error is the engine's
// refusal to start (AUDITCHAIN_RESULT_STATE) or a bad call.
func (e *engine) witnessAnswer(id uint64, status int, contentType string, body []byte, now time.Time) (answerKind, error) {
	var ct, b *C.uint8_t
	ctBytes := []byte(contentType)
	if len(ctBytes) > 0 {
		ct = (*C.uint8_t)(unsafe.Pointer(&ctBytes[0]))
	}
	if len(body) > 0 {
		b = (*C.uint8_t)(unsafe.Pointer(&body[0]))
	}
	if status < 0 || status > math.MaxUint16 {
		status = 0
	}
	var kind C.uint32_t
	var cerr *C.auditchain_error
	code := C.auditchain_engine_witness_answer(e.h, C.uint64_t(id), C.uint16_t(status), ct, C.size_t(len(ctBytes)),
		b, C.size_t(len(body)), unixNano(now), &kind, &cerr)
	runtime.KeepAlive(ctBytes)
	runtime.KeepAlive(body)
	if code != C.AUDITCHAIN_RESULT_OK {
		return answerBadAnswer, takeError(code, cerr)
	}
	return answerKind(kind), nil
}

// witnessStatus is witness i's acknowledged size and lag.
func (e *engine) witnessStatus(i int) (acked, lag uint64, ok bool) {
	var a, l C.uint64_t
	if C.auditchain_engine_witness_status(e.h, C.uint32_t(i), &a, &l) != C.AUDITCHAIN_RESULT_OK {
		return 0, 0, false
	}
	return uint64(a), uint64(l), true
}

// free releases the engine and its state lock. Safe on nil and twice.
func (e *engine) free() {
	if e == nil || e.h == nil {
		return
	}
	C.auditchain_engine_free(e.h)
	e.h = nil
}

// newStampSet reads stamps in place. records, extraRecords and attrs alias
// C memory (no copy: they are read once while the stamps are written onto pdata); text
// is copied into one Go string and extra into one Go slice, because
// both outlive the C object (pdata keeps the attribute values, and the
// protobuf decoder may keep references into its input).
func newStampSet(s *C.auditchain_stamps) (*stampSet, error) {
	var v C.auditchain_stamps_view
	if code := C.auditchain_stamps_get_view(s, &v); code != C.AUDITCHAIN_RESULT_OK {
		C.auditchain_stamps_free(s)
		return nil, takeError(code, nil)
	}
	if v.text_len > math.MaxInt32 || v.extra_len > math.MaxInt32 {
		// C.GoStringN and C.GoBytes take a C int.
		C.auditchain_stamps_free(s)
		return nil, fmt.Errorf("auditchain: stamps too large (%d bytes of text, %d bytes of extra records)", uint64(v.text_len), uint64(v.extra_len))
	}
	set := &stampSet{
		batchID:       uint64(v.batch_id),
		firstSequence: uint64(v.first_sequence),
		lastSequence:  uint64(v.last_sequence),
		warning:       goString(v.warning),
		rejection:     goString(v.rejection),
		release:       func() { C.auditchain_stamps_free(s) },
	}
	if v.record_count > 0 {
		set.records = unsafe.Slice((*recordStamp)(unsafe.Pointer(v.records)), int(v.record_count))
	}
	if v.rejected_records > 0 {
		set.rejected = unsafe.Slice((*uint32)(unsafe.Pointer(v.rejected)), int(v.rejected_records))
	}
	if v.extra_record_count > 0 {
		set.extraRecords = unsafe.Slice((*recordStamp)(unsafe.Pointer(v.extra_records)), int(v.extra_record_count))
	}
	set.checkpoints = int(v.checkpoints)
	set.extraSignal = signalCode(v.extra_signal)
	set.contentMatched = int(v.content_hash_matched)
	set.contentMismatched = int(v.content_hash_mismatched)
	if v.attr_count > 0 {
		set.attrs = unsafe.Slice((*attrOp)(unsafe.Pointer(v.attrs)), int(v.attr_count))
	}
	if v.text_len > 0 {
		set.text = C.GoStringN((*C.char)(unsafe.Pointer(v.text)), C.int(v.text_len))
	}
	if v.extra_len > 0 {
		set.extra = C.GoBytes(unsafe.Pointer(v.extra), C.int(v.extra_len))
	}
	return set, nil
}
