//go:build auditchain_includelib

package auditchainprocessor

// Never built (no build uses the tag): it names the directories of the
// prebuilt static libraries as packages, so that `go mod vendor` copies
// them, and the libraries in them, into a vendor tree. The go command
// vendors only directories of imported packages (golang/go#26366); the
// same trick as wasmtime-go's includebuild.go.
import (
	_ "github.com/auditchain/auditchain/go-wrapper/lib/linux_amd64"
	_ "github.com/auditchain/auditchain/go-wrapper/lib/linux_arm64"
)
