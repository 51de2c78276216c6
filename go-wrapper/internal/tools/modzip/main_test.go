package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

const testModule = "example.com/Some/mod"

func tree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+testModule+"\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "lib", "linux_amd64"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib", "linux_amd64", "libx.a"), []byte("!<arch>\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.go"), []byte("package mod\n"), 0o644))
	return dir
}

func TestWritesProxyLayout(t *testing.T) {
	dir, proxy := tree(t), t.TempDir()
	var out strings.Builder
	require.NoError(t, run(dir, testModule, "v0.2.0", proxy, "2026-12-01T10:00:00Z", &out))
	require.NoError(t, run(dir, testModule, "v0.1.0", proxy, "2026-11-01T10:00:00Z", io.Discard))

	// Upper-case letters are escaped as the go command expects.
	vdir := filepath.Join(proxy, "example.com", "!some", "mod", "@v")
	list, err := os.ReadFile(filepath.Join(vdir, "list"))
	require.NoError(t, err)
	assert.Equal(t, "v0.1.0\nv0.2.0\n", string(list), "sorted by semver, each once")
	info, err := os.ReadFile(filepath.Join(vdir, "v0.2.0.info"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"Version":"v0.2.0","Time":"2026-12-01T10:00:00Z"}`, string(info))
	mod, err := os.ReadFile(filepath.Join(vdir, "v0.2.0.mod"))
	require.NoError(t, err)
	assert.Contains(t, string(mod), "module "+testModule)
	files, err := modzip.CheckZip(module.Version{Path: testModule, Version: "v0.2.0"}, filepath.Join(vdir, "v0.2.0.zip"))
	require.NoError(t, err)
	p := testModule + "@v0.2.0/"
	assert.ElementsMatch(t, []string{p + "go.mod", p + "lib/linux_amd64/libx.a", p + "x.go"}, files.Valid)
	assert.Regexp(t, `^example.com/Some/mod v0.2.0 h1:\S+=\nexample.com/Some/mod v0.2.0/go.mod h1:\S+=\n$`, out.String())
}

// A symbolic link would be left out of the zip silently by x/mod/zip; here
// it is an error, so that a module version is never missing a file.
func TestRefusesWhatAZipCannotHold(t *testing.T) {
	dir := tree(t)
	require.NoError(t, os.Symlink("x.go", filepath.Join(dir, "link.h")))
	err := run(dir, testModule, "v0.1.0", t.TempDir(), "2026-12-01T10:00:00Z", io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "link.h")
}

func TestRefusesAnotherModulePath(t *testing.T) {
	err := run(tree(t), "example.com/other", "v0.1.0", t.TempDir(), "2026-12-01T10:00:00Z", io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "declares module")
}
