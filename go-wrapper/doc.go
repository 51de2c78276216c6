// Package auditchainprocessor is the OpenTelemetry Collector processor
// `auditchain`: it makes audit logs tamper-evident by stamping every record
// with its place in a hash chain (OTEP 0267 `audit.sequence.*` and
// `audit.integrity.*` attributes).
//
// The canonical form, the chain and the durable stream state live in a Rust
// core linked statically through cgo (auditchain.h, and
// lib/<goos>_<goarch>/libauditchain.a, prebuilt in a module version; see
// engine_cgo.go); this package is the collector-facing
// shim: configuration, lifecycle, one cgo call per batch, writing the
// returned stamps onto the pdata it already holds, and self-telemetry.
//
// Without cgo, or on a platform without a prebuilt core (anything but
// linux/amd64 and linux/arm64), the package still compiles, but creating the
// processor fails with an error saying why.
//
// internal/metadata is written by hand in the shape that mdatagen generates
// from metadata.yaml (see the note in internal/metadata/generated_status.go).
package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"
