//! A profiling aid, not a user command: canonicalises and hashes a batch
//! of 1000 seed-000-like audit records (as the processor receives them,
//! OTLP protobuf) a fixed number of times, so that `perf stat -e
//! instructions:u` gives instructions per record independent of the load
//! on the machine (docs/BENCHMARKS.md). `hash_loop [ITERATIONS] [stamp]`:
//! with `stamp`, the whole stamping call (hash, link, stamps) instead.

#[path = "../tests/support/mod.rs"]
mod support;

use auditchain::engine::config::EngineConfig;
use auditchain::engine::{Engine, hash_log_records};
use prost::Message;
use std::hint::black_box;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().map_or(1000, |a| a.parse().expect("ITERATIONS is a number"));
    let stamp = args.next().as_deref() == Some("stamp");
    let req = support::request((0..1000).map(support::audit_record)).encode_to_vec();
    let engine = Engine::new(EngineConfig::new("bench"), 1).expect("an in-memory engine");
    let t = std::time::Instant::now();
    for _ in 0..n {
        if stamp {
            let s = engine.stamp_logs(black_box(&req), 2).expect("stamped");
            engine.settle(s.batch_id, true).expect("settled");
        } else {
            black_box(hash_log_records(black_box(&req)).expect("hashed"));
        }
    }
    let per = t.elapsed().as_nanos() as f64 / (n * 1000) as f64;
    println!("{} records, {per:.0} ns/record", n * 1000);
}
