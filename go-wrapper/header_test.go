package auditchainprocessor

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The package includes the header from its own directory so that the go
// command's build cache sees header changes (see engine_cgo.go). In the
// repository it is a symlink to ../include/auditchain.h (a copy would
// drift); in a module version made by `make module` it is a copy whose
// checksum lib/BUILDINFO records.
func TestHeaderIsInPackage(t *testing.T) {
	fi, err := os.Lstat("auditchain.h")
	require.NoError(t, err, "auditchain.h must be in the package directory")
	if fi.Mode()&os.ModeSymlink != 0 {
		target, err := os.Readlink("auditchain.h")
		require.NoError(t, err)
		assert.Equal(t, "../include/auditchain.h", target)
		_, err = os.Stat("auditchain.h")
		assert.NoError(t, err, "the symlink resolves")
		return
	}
	require.True(t, fi.Mode().IsRegular(), "auditchain.h is a symlink or a regular file")
	info, err := os.ReadFile("lib/BUILDINFO")
	require.NoError(t, err, "a module version records the header's checksum in lib/BUILDINFO")
	assert.Contains(t, string(info), "header_sha256="+fileSHA256(t, "auditchain.h"))
}

// In a module version every prebuilt library matches the checksum that
// lib/BUILDINFO records for it. In the repository there is no BUILDINFO.
func TestPrebuiltLibrariesMatchBuildInfo(t *testing.T) {
	info, err := os.ReadFile("lib/BUILDINFO")
	if os.IsNotExist(err) {
		t.Skip("no lib/BUILDINFO: a repository checkout, not a module version")
	}
	require.NoError(t, err)
	libs := 0
	for _, line := range strings.Split(string(info), "\n") {
		key, value, ok := strings.Cut(line, "=")
		if !ok || !strings.HasSuffix(key, ".sha256") || !strings.HasPrefix(key, "lib/") {
			continue
		}
		libs++
		path := strings.TrimSuffix(key, ".sha256")
		assert.Equal(t, value, fileSHA256(t, path), path)
	}
	assert.NotZero(t, libs, "BUILDINFO names at least one library")
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
