package auditchainprocessor

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The package includes the header through a symlink in its own directory
// so that the go command's build cache sees header changes (see
// engine_cgo.go). A copy would drift; a missing link would make cached
// builds stale.
func TestHeaderIsLinkedIntoPackage(t *testing.T) {
	target, err := os.Readlink("auditchain.h")
	require.NoError(t, err, "auditchain.h must be a symlink to ../include/auditchain.h")
	assert.Equal(t, "../include/auditchain.h", target)
	_, err = os.Stat("auditchain.h")
	assert.NoError(t, err, "the symlink resolves")
}
