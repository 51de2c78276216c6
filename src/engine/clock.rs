//! Two clocks (docs/SPEC.md §5.6). The caller passes wall time with every
//! call: it goes into records and checkpoints. The engine reads a
//! monotonic clock itself: it paces checkpoints and key epochs, so that a
//! step of the wall clock neither freezes them (backward) nor fires them
//! all at once (forward), and it reveals such steps, which the engine
//! announces in the stream.

use std::time::Instant;

/// A step of the wall clock against the monotonic clock larger than this
/// is announced. Both are read within microseconds of each other on every
/// call, so only a real step (or a caller stalled for seconds between
/// reading the time and calling, as on an overloaded host) comes near it;
/// steps this small do not matter to the heartbeat rule anyway.
pub const STEP_THRESHOLD_NS: i128 = 2_000_000_000;

/// A monotonic clock in nanoseconds from an arbitrary origin. Tests
/// inject their own to step the wall clock deterministically.
pub trait Monotonic: Send + Sync {
    fn now_ns(&self) -> u64;
}

/// The process's monotonic clock (`CLOCK_MONOTONIC` through `Instant`).
pub struct SystemMonotonic(Instant);

impl SystemMonotonic {
    pub fn new() -> SystemMonotonic {
        SystemMonotonic(Instant::now())
    }
}

impl Default for SystemMonotonic {
    fn default() -> Self {
        SystemMonotonic::new()
    }
}

impl Monotonic for SystemMonotonic {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The times of one call: `wall` for what is written, `cadence` for what
/// is paced. Cadence time is the wall time at the engine's start plus the
/// monotonic time since, so it never steps; the saved state's cadence
/// fields (`last_checkpoint_unix_nano`, `epoch_started_unix_nano`) hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Times {
    pub wall: u64,
    pub cadence: u64,
    mono: u64,
}

/// Reads both clocks; needs no lock.
pub struct Clock {
    mono: Box<dyn Monotonic>,
    base_wall: u64,
    base_mono: u64,
}

/// Sees steps of the wall clock: `wall - mono` at the last call.
pub struct Steps {
    offset: i128,
}

impl Clock {
    pub fn new(mono: Box<dyn Monotonic>, wall: u64) -> Clock {
        let base_mono = mono.now_ns();
        Clock { mono, base_wall: wall, base_mono }
    }

    /// The step detector, starting from this clock's start.
    pub fn steps(&self) -> Steps {
        Steps { offset: i128::from(self.base_wall) - i128::from(self.base_mono) }
    }

    /// Reads the monotonic clock for a call made at wall time `wall`.
    /// Call it before waiting for anything, so that both times belong to
    /// the same moment.
    pub fn read(&self, wall: u64) -> Times {
        let mono = self.mono.now_ns();
        Times { wall, cadence: self.base_wall.saturating_add(mono.saturating_sub(self.base_mono)), mono }
    }
}

impl Steps {
    /// The step of the wall clock since the previous call, in nanoseconds
    /// (positive: forward), when it exceeds [`STEP_THRESHOLD_NS`].
    pub fn step(&mut self, t: Times) -> Option<i64> {
        let offset = i128::from(t.wall) - i128::from(t.mono);
        let step = offset - self.offset;
        self.offset = offset;
        (step.abs() > STEP_THRESHOLD_NS).then(|| step.clamp(i64::MIN.into(), i64::MAX.into()) as i64)
    }
}

/// A monotonic clock a test moves by hand.
#[derive(Clone, Default)]
pub struct ManualMonotonic(pub std::sync::Arc<std::sync::atomic::AtomicU64>);

impl ManualMonotonic {
    pub fn advance(&self, ns: u64) {
        self.0.fetch_add(ns, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Monotonic for ManualMonotonic {
    fn now_ns(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_the_wall_clock_moving_against_the_monotonic_one() {
        const S: u64 = 1_000_000_000;
        const T0: u64 = 1_795_320_660 * S;
        let m = ManualMonotonic::default();
        let c = Clock::new(Box::new(m.clone()), T0);
        let mut s = c.steps();
        m.advance(S / 2);
        let t = c.read(T0 + S / 2);
        assert_eq!((t.wall, t.cadence), (T0 + S / 2, T0 + S / 2));
        assert_eq!(s.step(t), None, "both moved alike");
        m.advance(S);
        // The wall clock jumps an hour ahead: cadence time does not.
        let t = c.read(T0 + 3 * S / 2 + 3600 * S);
        assert_eq!(t.cadence, T0 + 3 * S / 2);
        assert_eq!(s.step(t), Some(3600 * S as i64));
        m.advance(S);
        // And back by two hours.
        let t = c.read(T0 + 5 * S / 2 - 3600 * S);
        assert_eq!(s.step(t), Some(-7200 * S as i64));
        assert_eq!(t.cadence, T0 + 5 * S / 2);
    }
}
