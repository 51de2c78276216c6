//! auditchain: tamper-evident audit logs for the OpenTelemetry Collector.
//!
//! The crate is the core behind the collector processor `auditchain` (which
//! reaches it through the C ABI in [`ffi`]) and the `auditchain` CLI. The
//! contract it implements is docs/SPEC.md; docs/ARCHITECTURE.md maps the
//! layers:
//!
//! - [`core`]: the canonical form, the protobuf wire reader, chain links,
//!   keys, signed notes and the attribute vocabulary. Imports nothing else
//!   of the crate.
//! - [`engine`]: the stamping engine: opening a stream, issuing links, the
//!   delivery ledger, durable state, control records. Imports `core`.
//! - [`ffi`]: the C ABI over the engine; every `#[repr(C)]` type and every
//!   `extern "C"` function lives here.
//! - [`verify`]: reading exported files and applying the verification
//!   rules of SPEC §8. Imports `core`, never `engine` or `ffi`.
//! - [`gate`]: the online checker of the processor's `mode: verify`
//!   (SPEC §8.19). Imports `core`.

pub mod core;
pub mod engine;
pub mod ffi;
pub mod gate;
pub mod verify;
