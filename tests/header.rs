//! The committed C header must be exactly what cbindgen generates from the
//! current C ABI: C and Go code compile against the committed file.

#[test]
fn committed_header_matches_the_generated_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/include/auditchain.h");
    let committed = std::fs::read_to_string(path).expect("include/auditchain.h exists");
    let generated = auditchain::ffi::GENERATED_HEADER;
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map(|i| i + 1)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()) + 1);
        panic!("include/auditchain.h is stale (first difference at line {line}): run `make header` and commit it");
    }
}
