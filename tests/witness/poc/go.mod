// Proof-of-concept tlog-witness client (C2SP tlog-witness add-checkpoint),
// driven by tests/witness/test_witness_protocol.py. Not part of the product:
// it shows, with real witnesses, what the processor's witnessing will do.
module auditchain.local/tests/witness/poc

go 1.24.0

require golang.org/x/mod v0.24.0
