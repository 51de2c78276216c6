#![no_main]
//! See auditchain_fuzz::checks::json_differential.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| auditchain_fuzz::checks::json_differential(data));
