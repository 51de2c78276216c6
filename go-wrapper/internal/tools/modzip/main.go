// Command modzip writes one version of a Go module into a directory laid
// out as a GOPROXY (https://go.dev/ref/mod#goproxy-protocol), which the go
// command reads through GOPROXY=file:///that/directory:
//
//	<proxy>/<escaped module path>/@v/list
//	<proxy>/<escaped module path>/@v/<version>.info
//	<proxy>/<escaped module path>/@v/<version>.mod
//	<proxy>/<escaped module path>/@v/<version>.zip
//
// The zip is made by golang.org/x/mod/zip, the code the go command itself
// uses, from a module tree that `make module` staged (distribution/module.sh).
// The tree must be complete: a file that the module zip format cannot hold
// (a symbolic link, a file in a nested module) is an error here, not a
// silent omission. It prints the go.sum lines of the version.
//
//	go run ./internal/tools/modzip -dir TREE -module PATH -version vX.Y.Z -proxy DIR -time RFC3339
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

func main() {
	dir := flag.String("dir", "", "the module tree (holds go.mod)")
	path := flag.String("module", "", "the module path; must match the tree's go.mod")
	version := flag.String("version", "", "the version, vX.Y.Z")
	proxy := flag.String("proxy", "", "the GOPROXY directory to write into")
	stamp := flag.String("time", "", "the version's time for the .info file (RFC 3339), e.g. the commit time")
	flag.Parse()
	if *dir == "" || *path == "" || *version == "" || *proxy == "" || *stamp == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*dir, *path, *version, *proxy, *stamp, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "modzip:", err)
		os.Exit(1)
	}
}

func run(dir, path, version, proxy, stamp string, out io.Writer) error {
	m := module.Version{Path: path, Version: version}
	if err := module.Check(path, version); err != nil {
		return err
	}
	if semver.Canonical(version) != version {
		return fmt.Errorf("version %q is not canonical semver (vMAJOR.MINOR.PATCH[-pre])", version)
	}
	when, err := time.Parse(time.RFC3339, stamp)
	if err != nil {
		return fmt.Errorf("-time: %w", err)
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	if got := modfile.ModulePath(gomod); got != path {
		return fmt.Errorf("%s/go.mod declares module %q, not %q", dir, got, path)
	}

	// Everything in the tree goes into the zip, or it is an error.
	checked, err := modzip.CheckDir(dir)
	if err != nil {
		return err
	}
	if len(checked.Omitted) > 0 || len(checked.Invalid) > 0 {
		var msgs []string
		for _, f := range append(checked.Omitted, checked.Invalid...) {
			msgs = append(msgs, fmt.Sprintf("%s: %v", f.Path, f.Err))
		}
		return fmt.Errorf("the module tree has files a module zip cannot hold:\n  %s", strings.Join(msgs, "\n  "))
	}

	escaped, err := module.EscapePath(path)
	if err != nil {
		return err
	}
	vdir := filepath.Join(proxy, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}
	zipPath := filepath.Join(vdir, version+".zip")
	old, _ := dirhash.HashZip(zipPath, dirhash.Hash1) // "" when there is none

	var buf bytes.Buffer
	if err := modzip.CreateFromDir(&buf, m, dir); err != nil {
		return err
	}
	if err := writeFile(zipPath, buf.Bytes()); err != nil {
		return err
	}
	if _, err := modzip.CheckZip(m, zipPath); err != nil {
		return fmt.Errorf("the written zip does not check: %w", err)
	}
	if err := writeFile(filepath.Join(vdir, version+".mod"), gomod); err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    string
	}{version, when.UTC().Format(time.RFC3339)})
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(vdir, version+".info"), append(info, '\n')); err != nil {
		return err
	}
	if err := addToList(filepath.Join(vdir, "list"), version); err != nil {
		return err
	}

	zipHash, err := dirhash.HashZip(zipPath, dirhash.Hash1)
	if err != nil {
		return err
	}
	modHash, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gomod)), nil
	})
	if err != nil {
		return err
	}
	if old != "" && old != zipHash {
		fmt.Fprintf(os.Stderr, "modzip: warning: replaced %s@%s in %s (%s, now %s); a published version must never change: "+
			"anyone who fetched the old one gets a checksum mismatch\n", path, version, proxy, old, zipHash)
	}
	fmt.Fprintf(out, "%s %s %s\n%s %s/go.mod %s\n", path, version, zipHash, path, version, modHash)
	return nil
}

// writeFile replaces path atomically, so that a reader never sees a
// partial zip.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// addToList adds version to the proxy's list of versions, one a line,
// sorted by semver.
func addToList(path, version string) error {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	versions := strings.Fields(string(data))
	if !slices.Contains(versions, version) {
		versions = append(versions, version)
	}
	semver.Sort(versions)
	return writeFile(path, []byte(strings.Join(versions, "\n")+"\n"))
}
