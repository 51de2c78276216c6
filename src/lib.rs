//! auditchain: tamper-evident audit logs for the OpenTelemetry Collector.
//!
//! The crate is the core behind the collector processor `auditchain` (which
//! reaches it through the C ABI in [`ffi`]) and the `auditchain` CLI. The
//! contract it implements is docs/SPEC.md.

pub mod attrs;
pub mod canonical;
pub mod chain;
pub mod config;
pub mod control;
pub mod engine;
pub mod error;
pub mod ffi;
pub mod keys;
pub mod note;
pub mod protowire;
pub mod stamps;
pub mod state;
pub mod stream;
pub mod timefmt;
pub mod verify;
