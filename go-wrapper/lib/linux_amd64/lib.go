// Package linux_amd64 holds the prebuilt Rust core of the auditchain processor for
// linux/amd64: libauditchain.a, linked by the #cgo LDFLAGS of
// ../../engine_cgo.go. It has no Go code; this file makes the directory a
// package so that `go mod vendor` keeps it (see ../../includelib.go).
package linux_amd64
