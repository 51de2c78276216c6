//go:build !(cgo && linux && (amd64 || arm64))

package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import "time"

type checker struct{}

func newChecker([]byte) (*checker, error) { return nil, errNoEngine }

func (*checker) check(signalCode, []byte, time.Time) (*verdicts, error) { return nil, errNoEngine }

func (*checker) tick(time.Time) (*verdicts, error) { return nil, errNoEngine }

func (*checker) free() {}

func reasonName(uint32) string { return "" }
