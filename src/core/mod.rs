//! The core: what a record's stamp is made of and how it is computed and
//! checked, shared by the engine (which stamps) and the verifier (which
//! checks). Nothing here knows about streams being opened, what a state
//! holds, the C ABI or files being verified (`durable` is only the file
//! discipline both state stores share): the core imports no other layer.

/// The version of docs/SPEC.md this crate implements (its title line).
pub const SPEC_VERSION: u32 = 1;

pub mod canonical;
pub mod chain;
pub mod content_hash;
pub mod durable;
pub mod hex;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod pyjson;
pub mod ranges;
pub mod stamp;
pub mod time;
pub mod tlog;
pub mod vocab;
pub mod wire;
