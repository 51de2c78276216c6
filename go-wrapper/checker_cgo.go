//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

// The online checker of mode: verify through the C ABI
// (src/ffi/checker.rs). The library is linked by engine_cgo.go.

/*
#include "auditchain.h"
*/
import "C"

import (
	"errors"
	"runtime"
	"time"
	"unsafe"
)

// Compile-time checks that the Go mirrors agree with the header.
var (
	_ [unsafe.Sizeof(C.auditchain_record_verdict{})]byte = [unsafe.Sizeof(recordVerdict{})]byte{}
	_ [C.AUDITCHAIN_VERIFY_OUTCOME_OK]byte               = [verifyOK]byte{}
	_ [C.AUDITCHAIN_VERIFY_OUTCOME_DUPLICATE]byte        = [verifyDuplicate]byte{}
	_ [C.AUDITCHAIN_VERIFY_OUTCOME_HELD]byte             = [verifyHeld]byte{}
	_ [C.AUDITCHAIN_VERIFY_OUTCOME_FAILED]byte           = [verifyFailedOutcome]byte{}
	_ [C.AUDITCHAIN_VERIFY_EVENT_KIND_RESOLVED]byte      = [eventResolved]byte{}
	_ [C.AUDITCHAIN_VERIFY_EVENT_KIND_MISSING]byte       = [eventMissing]byte{}
	_ [C.AUDITCHAIN_VERIFY_EVENT_KIND_SILENT]byte        = [eventSilent]byte{}
	_ [C.AUDITCHAIN_VERIFY_EVENT_KIND_CHECKPOINT]byte    = [eventCheckpoint]byte{}
)

// checker owns one auditchain_checker; check and tick may run
// concurrently, free must not race with them (the verifier's lock).
type checker struct {
	h *C.auditchain_checker
}

func newChecker(configJSON []byte) (*checker, error) {
	if len(configJSON) == 0 {
		return nil, errors.New("auditchain: empty checker configuration")
	}
	var h *C.auditchain_checker
	var cerr *C.auditchain_error
	code := C.auditchain_checker_new((*C.uint8_t)(unsafe.Pointer(&configJSON[0])), C.size_t(len(configJSON)), &h, &cerr)
	runtime.KeepAlive(configJSON)
	if code != C.AUDITCHAIN_RESULT_OK {
		return nil, takeError(code, cerr)
	}
	return &checker{h: h}, nil
}

// takeVerdicts copies the library's verdicts into Go memory and frees them.
func takeVerdicts(v *C.auditchain_verdicts) *verdicts {
	defer C.auditchain_verdicts_free(v)
	out := &verdicts{}
	var n C.size_t
	recs := C.auditchain_verdicts_records(v, &n)
	if n > 0 {
		src := unsafe.Slice((*recordVerdict)(unsafe.Pointer(recs)), int(n))
		out.records = append([]recordVerdict(nil), src...)
	}
	evs := C.auditchain_verdicts_events(v, &n)
	if n > 0 {
		for _, e := range unsafe.Slice(evs, int(n)) {
			out.events = append(out.events, verifyEvent{
				kind:     uint32(e.kind),
				outcome:  uint32(e.outcome),
				reason:   uint32(e.reason),
				sequence: uint64(e.sequence),
				count:    uint64(e.count),
				streamID: goString(e.stream_id),
				message:  goString(e.message),
			})
		}
	}
	return out
}

func (c *checker) check(signal signalCode, request []byte, now time.Time) (*verdicts, error) {
	var v *C.auditchain_verdicts
	var cerr *C.auditchain_error
	var p *C.uint8_t
	if len(request) > 0 {
		p = (*C.uint8_t)(unsafe.Pointer(&request[0]))
	}
	code := C.auditchain_checker_check(c.h, C.uint32_t(signal), p, C.size_t(len(request)), unixNano(now), &v, &cerr)
	runtime.KeepAlive(request)
	if code != C.AUDITCHAIN_RESULT_OK {
		return nil, takeError(code, cerr)
	}
	return takeVerdicts(v), nil
}

func (c *checker) tick(now time.Time) (*verdicts, error) {
	var v *C.auditchain_verdicts
	var cerr *C.auditchain_error
	code := C.auditchain_checker_tick(c.h, unixNano(now), &v, &cerr)
	if code != C.AUDITCHAIN_RESULT_OK {
		return nil, takeError(code, cerr)
	}
	return takeVerdicts(v), nil
}

func (c *checker) free() {
	C.auditchain_checker_free(c.h)
	c.h = nil
}

// reasonName is the name of a failure reason (audit.verify.reason).
func reasonName(r uint32) string {
	return goString(C.auditchain_verify_reason_name(C.uint32_t(r)))
}
