//! The fuzz targets' checks (`checks`), shared with the main crate's
//! tests/fuzz_regressions.rs, which replays every input kept under
//! fuzz/regressions/; and the test helpers of tests/support (the OTLP/JSON
//! encoder the differential target uses).

#[path = "../../tests/support/mod.rs"]
pub mod support;

pub mod checks;
