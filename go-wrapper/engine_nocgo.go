//go:build !(cgo && linux && (amd64 || arm64))

package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"runtime"
	"time"
)

// Without cgo, or on a platform the module has no prebuilt Rust core for,
// there is nothing to link. The package still compiles so that such a
// collector build fails clearly at processor creation instead of at link
// time with missing symbols.

const cgoEnabled = false

// errNoEngine says why this build has no engine.
var errNoEngine = func() error {
	if runtime.GOOS == "linux" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") {
		return errCgoRequired
	}
	return errNoCoreFor(runtime.GOOS, runtime.GOARCH)
}()

var attributeKeys = func() []string { return nil }

var reservedPrefixes = func() []string { return nil }

func libraryVersion() string { return "" }

type engine struct{}

func newEngine([]byte, time.Time) (*engine, error) { return nil, errNoEngine }

func (*engine) streamID() string { return "" }

func (*engine) stampLogs([]byte, time.Time) (*stampSet, error) { return nil, errNoEngine }

func (*engine) stamp(signalCode, []byte, []byte, time.Time) (*stampSet, error) {
	return nil, errNoEngine
}

func (*engine) tick(time.Time) (*stampSet, error) { return nil, errNoEngine }

func (*engine) settle(uint64, bool) error { return errNoEngine }

func (*engine) close(time.Time) (*stampSet, error) { return nil, errNoEngine }

func (*engine) counters() engineCounters { return engineCounters{} }

func (*engine) free() {}

func (*engine) witnessJobs() ([]witnessJob, error) { return nil, errNoEngine }

func (*engine) witnessAnswer(uint64, int, string, []byte, time.Time) (answerKind, error) {
	return answerBadAnswer, errNoEngine
}

func (*engine) witnessStatus(int) (uint64, uint64, bool) { return 0, 0, false }
