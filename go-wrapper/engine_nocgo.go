//go:build !cgo

package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import "time"

// Without cgo there is no Rust core to link. The package still compiles so
// that a collector build without cgo fails clearly at processor creation
// instead of at link time with missing symbols.

const cgoEnabled = false

var attributeKeys = func() []string { return nil }

func libraryVersion() string { return "" }

type engine struct{}

func newEngine([]byte, time.Time) (*engine, error) { return nil, errCgoRequired }

func (*engine) streamID() string { return "" }

func (*engine) stampLogs([]byte, time.Time) (*stampSet, error) { return nil, errCgoRequired }

func (*engine) tick(time.Time) (*stampSet, error) { return nil, errCgoRequired }

func (*engine) settle(uint64, bool) error { return errCgoRequired }

func (*engine) close(time.Time) (*stampSet, error) { return nil, errCgoRequired }

func (*engine) stateWrites() uint64 { return 0 }

func (*engine) free() {}
