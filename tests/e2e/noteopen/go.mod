// Opens signed notes with golang.org/x/mod/sumdb/note, the reference
// implementation, for the end-to-end tests (tests/e2e/test_hsm.py). Not
// part of the product.
module auditchain.local/tests/e2e/noteopen

go 1.24.0

require golang.org/x/mod v0.24.0
