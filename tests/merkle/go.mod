// An independent RFC 6962 implementation for the differential test of
// src/core/merkle (tests/merkle_differential.rs): golang.org/x/mod's
// sumdb/tlog, the Go checksum database's own tree code.
module auditchain.local/tests/merkle

go 1.24.0

require golang.org/x/mod v0.24.0
