//! Group commit: one state write makes every batch issued before it
//! durable, so concurrent batches share fsyncs instead of queueing for one
//! each. A batch returns only once a write that includes it has completed.

use super::error::Error;
use super::store::StateStore;
use std::sync::{Condvar, Mutex};

#[derive(Default)]
struct Durability {
    /// Every state version up to this one is on disk.
    durable: u64,
    /// A write is in progress (by one of the callers).
    writing: bool,
    /// The last failed write: versions up to this one, after `durable`, failed.
    failure: Option<(u64, Error)>,
}

pub(super) struct GroupCommit {
    /// `None`: the state is kept in memory only.
    store: Option<StateStore>,
    durability: Mutex<Durability>,
    durable_changed: Condvar,
}

impl GroupCommit {
    /// `store` already holds state version 1.
    pub fn new(store: Option<StateStore>) -> GroupCommit {
        GroupCommit {
            store,
            durability: Mutex::new(Durability { durable: 1, ..Durability::default() }),
            durable_changed: Condvar::new(),
        }
    }

    /// Successful state writes so far.
    pub fn writes(&self) -> u64 {
        self.store.as_ref().map_or(0, StateStore::writes)
    }

    /// Waits until state version `version` is on disk, writing it (and all
    /// versions issued meanwhile) if no other caller is already writing.
    /// `snapshot` returns the current version and its serialised state.
    pub fn make_durable(&self, version: u64, snapshot: impl Fn() -> (u64, String)) -> Result<(), Error> {
        let Some(store) = &self.store else { return Ok(()) };
        let mut d = self.durability.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if d.durable >= version {
                return Ok(());
            }
            if let Some((upto, e)) = &d.failure
                && version <= *upto
            {
                return Err(e.clone());
            }
            if d.writing {
                d = self.durable_changed.wait(d).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            d.writing = true;
            drop(d);
            let (snapshot_version, json) = snapshot();
            let result = store.save_json(&json);
            d = self.durability.lock().unwrap_or_else(|p| p.into_inner());
            d.writing = false;
            match result {
                Ok(()) => d.durable = d.durable.max(snapshot_version),
                Err(e) => d.failure = Some((snapshot_version, e)),
            }
            self.durable_changed.notify_all();
        }
    }
}
