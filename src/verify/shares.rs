//! Work cut into numbered shares that threads take one at a time,
//! whichever is free, so that no thread waits on another's fixed part:
//! the pass's hashing (`rules::walk`) and the log's tree (`rules::log_roots`).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Shares<T> {
    next: AtomicUsize,
    done: Vec<OnceLock<T>>,
}

impl<T> Shares<T> {
    pub fn new(n: usize) -> Self {
        Shares { next: AtomicUsize::new(0), done: (0..n).map(|_| OnceLock::new()).collect() }
    }

    /// Does shares (`f(i)` for share `i`) until none is left.
    pub fn work(&self, f: impl Fn(usize) -> T) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = self.done.get(i) else { return };
            // Each share is taken once: the slot is empty.
            let _ = slot.set(f(i));
        }
    }

    /// The results in share order (precondition: every thread that worked
    /// has returned, so every share is done).
    pub fn into_results(self) -> Vec<T> {
        self.done.into_iter().map(|slot| slot.into_inner().expect("every share was done")).collect()
    }
}

/// `f(0..n)` on `threads` threads, this one among them, in order.
pub fn map<T: Send + Sync>(n: usize, threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let shares = Shares::new(n);
    std::thread::scope(|s| {
        for _ in 1..threads.min(n) {
            s.spawn(|| shares.work(&f));
        }
        shares.work(&f);
    });
    shares.into_results()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_share_order_whatever_the_threads() {
        for threads in [1, 2, 3, 8] {
            for n in [0, 1, 7, 100] {
                let squares = map(n, threads, |i| i * i);
                assert_eq!(squares, (0..n).map(|i| i * i).collect::<Vec<_>>(), "{threads} threads, {n} shares");
            }
        }
    }
}
