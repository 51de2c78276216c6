//! Reading the JSON files on all threads: the calling thread reads each
//! file a window at a time and cuts its complete lines into jobs of about
//! [`JOB_BYTES`], slices of the window shared with the workers (no copy);
//! worker threads, started once for all the files, parse and hash the
//! jobs, each into a [`Collected`] of its own; the calling thread merges
//! those in input order while the workers go on, so that reading, merging
//! and spilling overlap with parsing, and the next file is read while the
//! workers finish the last jobs of the one before.
//!
//! Protobuf files (framed, or one message each) are cut on the calling
//! thread into their messages, copied into a window, and read by the
//! workers the same way; a message that cannot be read is one error
//! wherever it is read, so it is never read again.
//!
//! A job with a JSON value it cannot read (a value spanning lines, a
//! damaged line) is read again, with every job of its file after it, by the
//! calling thread as a stream ([`json::Values::unread`], or the rest of a
//! file read to its end), whose results are authoritative: the outcome is
//! the one-thread reading's, whatever the cuts.

use super::{Collected, InputError, Keep, Limits, Scratch, json, protobuf, take, take_message};
use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;
use std::sync::{Arc, Mutex, mpsc};

/// Complete lines of a file, for a worker.
struct Job {
    /// Its place among the jobs of the run.
    index: u64,
    /// The file's number and name.
    file: u32,
    name: Arc<str>,
    /// The window its bytes are in, and where.
    window: Arc<Vec<u8>>,
    range: Range<usize>,
    what: What,
}

/// What a job's bytes are.
enum What {
    /// Complete JSON lines, from this line on.
    Lines { first_line: u64 },
    /// Protobuf messages: where each lies in the window, its number in its
    /// file and its byte offset there.
    Messages(Vec<(Range<usize>, (u64, u64))>),
}

impl Job {
    fn bytes(&self) -> &[u8] {
        &self.window[self.range.clone()]
    }

    /// The line a job of JSON lines starts on.
    fn first_line(&self) -> u64 {
        match self.what {
            What::Lines { first_line } => first_line,
            What::Messages(_) => unreachable!("only JSON lines are read again"),
        }
    }
}

impl Done {
    /// It read JSON lines and could not read a value: its lines are read
    /// again on the calling thread, whose reading decides.
    fn to_read_again(&self) -> bool {
        self.part.unreadable > 0 && matches!(self.job.what, What::Lines { .. })
    }
}

/// A job read: what it holds and the errors of its values.
struct Done {
    job: Job,
    part: Collected,
    errors: Vec<InputError>,
}

impl Keep<'_> {
    /// Keeps what a worker read; returns its emptied records' vector.
    fn merge(&mut self, done: Done) -> Vec<crate::verify::records::Entry> {
        self.errors.extend(done.errors);
        self.c.merge(done.part)
    }
}

/// Emptied record vectors of merged parts, for the workers' next parts: a
/// part's vector grown afresh for each job was fresh memory, faulted in
/// page by page (about a tenth of a two-thread run's time in the kernel).
type Rooms = Mutex<Vec<Vec<crate::verify::records::Entry>>>;

/// Runs of complete lines shorter than this are read by one thread, but
/// at a file's end.
const PARALLEL_MIN_BYTES: usize = 4 << 20;

/// About how much of a file one job holds (whole lines, so at least one).
const JOB_BYTES: usize = 2 << 20;

/// Runs `read` with `limits.threads` workers reading the jobs of its
/// [`Flow`]; what was sent must be drained ([`Flow::drain`]) before it
/// returns.
pub(super) fn with_workers<T>(limits: Limits, read: impl FnOnce(&mut Flow<'_>) -> T) -> T {
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let rooms: Rooms = Mutex::new(Vec::new());
    let (result, shared) = std::thread::scope(|s| {
        for _ in 0..limits.threads {
            let (job_rx, done_tx, rooms) = (&job_rx, done_tx.clone(), &rooms);
            s.spawn(move || {
                let mut scratch = Scratch::new();
                // Kept from job to job and file to file: grown once to the
                // longest line.
                let mut arena = super::read::node::Arena::new();
                // The lock is held only while a job is taken.
                while let Ok(job) = job_rx.lock().map_err(drop).and_then(|rx| rx.recv().map_err(drop)) {
                    let mut part = Collected::default();
                    if let Some(room) = rooms.lock().ok().and_then(|mut r| r.pop()) {
                        part.give_room(room);
                    }
                    let mut part_errors = Vec::new();
                    match &job.what {
                        What::Lines { first_line } => {
                            let mut reader =
                                json::Values::over(job.bytes(), *first_line, limits.max_value_bytes).with_arena(arena);
                            while let Some((line, value)) = reader.next_value() {
                                take(&mut part, &mut part_errors, &mut scratch, job.file, &job.name, line, value);
                            }
                            arena = reader.into_arena();
                        }
                        What::Messages(messages) => {
                            for (range, at) in messages {
                                let bytes = Ok(&job.window[range.clone()]);
                                let (c, e) = (&mut part, &mut part_errors);
                                take_message(
                                    c,
                                    e,
                                    &mut scratch,
                                    job.file,
                                    &job.name,
                                    *at,
                                    bytes,
                                    limits.max_value_bytes,
                                );
                            }
                        }
                    }
                    if done_tx.send(Done { job, part, errors: part_errors }).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let mut flow = Flow {
            limits,
            rooms: &rooms,
            tx: job_tx,
            rx: done_rx,
            sent: 0,
            merged: 0,
            ready: BTreeMap::new(),
            handed: VecDeque::new(),
            spare: Vec::new(),
            windows: 0,
            open: None,
        };
        let result = read(&mut flow);
        assert_eq!(flow.merged, flow.sent, "every job sent is merged");
        (result, flow.sent > 0)
        // Dropping the sender (with `flow`) ends the workers.
    });
    // What the workers freed stays in their malloc arenas: given back once
    // they are done, the peak does not grow with the files read (issue 11).
    if shared {
        super::release_freed_memory();
    }
    result
}

/// The jobs in flight and the results not yet merged.
pub(super) struct Flow<'r> {
    limits: Limits,
    rooms: &'r Rooms,
    tx: mpsc::Sender<Job>,
    rx: mpsc::Receiver<Done>,
    /// Jobs sent so far; the next job's index.
    sent: u64,
    /// Jobs merged (or read again) so far; the next to merge.
    merged: u64,
    /// Results received out of order, by job index.
    ready: BTreeMap<u64, Done>,
    /// The windows handed to jobs, oldest first, until their jobs are
    /// merged.
    handed: VecDeque<Arc<Vec<u8>>>,
    /// Windows whose jobs were merged, for reading on: a fresh one would be
    /// mapped and faulted in page by page, and unmapped when freed.
    spare: Vec<Vec<u8>>,
    /// Windows sent since freed memory was last given back.
    windows: u32,
    /// The file being read, while [`Flow::read_file`] reads it.
    open: Option<u32>,
}

/// Windows sent between two calls of [`super::release_freed_memory`]
/// (about 64 MB read; a call costs a system call per malloc arena).
const TRIM_EVERY: u32 = 8;

/// Emptied record vectors kept for the workers, at most: one per job in
/// flight.
const ROOMS: usize = 2 * IN_FLIGHT as usize;

/// How much of a file is read and cut into jobs at a time.
const WINDOW: usize = 8 << 20;

/// Jobs sent and not yet merged, at most, before the next window's are
/// sent: bounds the memory of jobs in flight (their bytes and what they
/// hold) to about two windows.
const IN_FLIGHT: u64 = (WINDOW / JOB_BYTES) as u64;

impl Flow<'_> {
    /// Reads one JSON file: its jobs go on while the next file is read;
    /// what it reads itself (a window too short to share, a value spanning
    /// lines) comes after every job sent before is merged.
    pub(super) fn read_file<R: std::io::Read>(&mut self, keep: &mut Keep<'_>, reader: R) {
        let room = self.spare.pop().unwrap_or_default();
        let mut values = json::Values::with_limit(reader, 1, self.limits.max_value_bytes).with_room(room);
        self.open = Some(keep.file);
        let name: Arc<str> = Arc::from(keep.name);
        self.run(keep, &mut values, &name);
        self.open = None;
        self.spare.push(values.into_room());
    }

    fn run<R: std::io::Read>(&mut self, keep: &mut Keep<'_>, values: &mut json::Values<R>, name: &Arc<str>) {
        loop {
            values.fill_to(WINDOW);
            let Some(jobs) = self.cut(values, keep.file, name) else {
                if values.finished() {
                    return;
                }
                // Too little at hand to share (a value spanning lines, or
                // a read error to report after the values before it): what
                // was sent is merged first, then a window is read here.
                self.drain_with(keep, Some(values));
                let stop = values.offset() + WINDOW as u64;
                while values.offset() < stop {
                    let Some((line, value)) = values.next_value() else { return };
                    keep.take(line, value);
                }
                continue;
            };
            self.wait_for_room(keep);
            if self.failed() {
                self.read_again(keep, values, jobs);
                continue;
            }
            self.send(keep, jobs);
        }
    }

    /// Reads one protobuf file (framed, or one whole message): its messages
    /// are copied into windows of about [`WINDOW`] and read by the workers,
    /// [`JOB_BYTES`] at a time. A frame that cannot be read is reported
    /// here (the report orders errors by their place in the inputs).
    pub(super) fn read_messages<R: std::io::Read>(
        &mut self,
        keep: &mut Keep<'_>,
        messages: &mut protobuf::Messages<R>,
    ) {
        let name: Arc<str> = Arc::from(keep.name);
        let mut window = self.spare.pop().unwrap_or_default();
        window.clear();
        let mut parts = Vec::new();
        loop {
            let frame = messages.next();
            let Some(protobuf::Frame { number, offset, bytes }) = frame else { break };
            match bytes {
                Ok(bytes) => {
                    let start = window.len();
                    window.extend_from_slice(bytes);
                    parts.push((start..window.len(), (number, offset)));
                    if window.len() >= WINDOW {
                        window = self.send_messages(keep, window, &mut parts, &name);
                    }
                }
                Err(why) => {
                    window = self.send_messages(keep, window, &mut parts, &name);
                    let Keep { c, errors, scratch, file, name } = keep;
                    take_message(c, errors, scratch, *file, name, (number, offset), Err(why), 0);
                }
            }
        }
        let window = self.send_messages(keep, window, &mut parts, &name);
        self.spare.push(window);
    }

    /// Sends the messages of `window` (`parts`) as jobs of about
    /// [`JOB_BYTES`] each; returns an empty window to go on with.
    fn send_messages(
        &mut self,
        keep: &mut Keep<'_>,
        window: Vec<u8>,
        parts: &mut Vec<(Range<usize>, (u64, u64))>,
        name: &Arc<str>,
    ) -> Vec<u8> {
        if parts.is_empty() {
            return window;
        }
        self.wait_for_room(keep);
        let window = Arc::new(window);
        self.handed.push_back(window.clone());
        let mut jobs = Vec::new();
        let mut rest = parts.drain(..).peekable();
        while let Some(first) = rest.next() {
            let (start, mut end) = (first.0.start, first.0.end);
            let mut messages = vec![first];
            while let Some(next) = rest.next_if(|_| end - start < JOB_BYTES) {
                end = next.0.end;
                messages.push(next);
            }
            jobs.push(Job {
                index: self.sent + jobs.len() as u64,
                file: keep.file,
                name: name.clone(),
                window: window.clone(),
                range: start..end,
                what: What::Messages(messages),
            });
        }
        drop(rest);
        self.send(keep, jobs);
        let mut next = self.spare.pop().unwrap_or_default();
        next.clear();
        next
    }

    /// Waits, merging, until few enough jobs are in flight to send more, or
    /// the next to merge is a job of the open file to read again (the
    /// caller's to read). Jobs of files read to their end that could not
    /// read a value are read again meanwhile.
    fn wait_for_room(&mut self, keep: &mut Keep<'_>) {
        loop {
            if self.failed_in_file_read() {
                self.read_file_again(keep);
            } else if self.sent - self.merged > IN_FLIGHT && !self.failed() {
                self.wait_if_due();
                self.merge_ready(keep);
            } else {
                return;
            }
        }
    }

    /// Sends `jobs` (numbered from the next to send) and merges what is
    /// ready.
    fn send(&mut self, keep: &mut Keep<'_>, jobs: Vec<Job>) {
        for job in jobs {
            if self.tx.send(job).is_err() {
                unreachable!("the workers end only when the sender is dropped");
            }
            self.sent += 1;
        }
        self.merge_ready(keep);
        self.windows += 1;
        if self.windows == TRIM_EVERY {
            self.windows = 0;
            super::release_freed_memory();
        }
    }

    /// The complete lines at hand, when there are enough to share (or the
    /// file ends with them), cut into jobs (numbered from the next to send)
    /// and consumed from `values`.
    fn cut<R: std::io::Read>(&mut self, values: &mut json::Values<R>, file: u32, name: &Arc<str>) -> Option<Vec<Job>> {
        let room = self.spare.pop().unwrap_or_default();
        let min = if values.at_end() { 1 } else { PARALLEL_MIN_BYTES };
        let handed = match values.hand_over(min, JOB_BYTES, room) {
            Ok(handed) => handed,
            Err(room) => {
                self.spare.push(room);
                return None;
            }
        };
        let window = Arc::new(handed.bytes);
        self.handed.push_back(window.clone());
        let jobs = handed.parts.into_iter().enumerate().map(|(i, (range, first_line))| Job {
            index: self.sent + i as u64,
            file,
            name: name.clone(),
            window: window.clone(),
            range,
            what: What::Lines { first_line },
        });
        Some(jobs.collect())
    }

    /// Takes back the windows no job holds any more, oldest first.
    fn reclaim(&mut self) {
        while let Some(w) = self.handed.pop_front() {
            match Arc::try_unwrap(w) {
                Ok(bytes) => self.spare.push(bytes),
                Err(w) => return self.handed.push_front(w),
            }
        }
    }

    /// Waits for one result, when one is still to come.
    fn wait_if_due(&mut self) {
        if (self.ready.len() as u64) < self.sent - self.merged {
            let done = self.rx.recv().expect("a verifier thread panicked");
            self.ready.insert(done.job.index, done);
        }
    }

    /// Merges the results that are next in order, up to the first job that
    /// could not read a value (left to be read again).
    fn merge_ready(&mut self, keep: &mut Keep<'_>) {
        while let Ok(done) = self.rx.try_recv() {
            self.ready.insert(done.job.index, done);
        }
        while let Some(entry) = self.ready.first_entry().filter(|e| *e.key() == self.merged) {
            if entry.get().to_read_again() {
                return;
            }
            let room = keep.merge(entry.remove());
            if let Ok(mut rooms) = self.rooms.lock()
                && rooms.len() < ROOMS
                && room.capacity() > 0
            {
                rooms.push(room);
            }
            self.merged += 1;
        }
        self.reclaim();
    }

    /// The next job to merge could not read a JSON value.
    fn failed(&self) -> bool {
        self.ready.get(&self.merged).is_some_and(Done::to_read_again)
    }

    /// The next job to merge could not read a value, and its file was read
    /// to its end.
    fn failed_in_file_read(&self) -> bool {
        self.ready.get(&self.merged).is_some_and(|d| d.to_read_again() && Some(d.job.file) != self.open)
    }

    /// Waits for every job sent and merges them in order, reading again
    /// those that could not read a value (of files read to their end).
    pub(super) fn drain(&mut self, keep: &mut Keep<'_>) {
        self.drain_with::<std::io::Empty>(keep, None);
    }

    /// [`Flow::drain`]; a job of the open file, `values`, that could not
    /// read a value is read again there, with those after it.
    fn drain_with<R: std::io::Read>(&mut self, keep: &mut Keep<'_>, mut values: Option<&mut json::Values<R>>) {
        while self.merged < self.sent {
            self.wait_if_due();
            self.merge_ready(keep);
            if self.failed_in_file_read() {
                self.read_file_again(keep);
            } else if self.failed() {
                let values = values.as_deref_mut().expect("a job of the open file is read again in it");
                self.read_again(keep, values, Vec::new());
            }
        }
    }

    /// Every result still to come, in order.
    fn wait_for_all(&mut self) -> BTreeMap<u64, Done> {
        while (self.ready.len() as u64) < self.sent - self.merged {
            self.wait_if_due();
        }
        std::mem::take(&mut self.ready)
    }

    /// Reads again, on this thread, the bytes of the first unmerged job, of
    /// every job sent after it and of `unsent`, all of the open file (they
    /// end where `values` stands: nothing was read from it since they were
    /// cut).
    fn read_again<R: std::io::Read>(&mut self, keep: &mut Keep<'_>, values: &mut json::Values<R>, unsent: Vec<Job>) {
        let sent = self.wait_for_all().into_values().map(|d| d.job);
        let jobs: Vec<Job> = sent.chain(unsent).collect();
        debug_assert!(jobs.iter().all(|j| j.file == keep.file));
        self.sent = jobs.last().map_or(self.sent, |j| j.index + 1);
        let first_line = jobs[0].first_line();
        let bytes: Vec<u8> = jobs.iter().flat_map(|j| j.bytes().iter().copied()).collect();
        drop(jobs);
        self.reclaim();
        let stop = values.offset();
        values.unread(&bytes, first_line);
        while values.offset() < stop {
            let Some((line, value)) = values.next_value() else { break };
            keep.take(line, value);
        }
        self.merged = self.sent;
    }

    /// Reads again, on this thread, the first unmerged job and every job of
    /// its file after it: the rest of a file read to its end, so read as a
    /// stream to the end, as one thread reads it. The jobs of the files
    /// after it stand.
    fn read_file_again(&mut self, keep: &mut Keep<'_>) {
        let mut ready = self.wait_for_all();
        let file = ready.get(&self.merged).map(|d| d.job.file).expect("the job that failed");
        let mut jobs = Vec::new();
        while let Some(e) = ready.first_entry().filter(|e| e.get().job.file == file) {
            jobs.push(e.remove().job);
        }
        self.ready = ready;
        self.merged = jobs.last().map_or(self.merged, |j| j.index + 1);
        let (first_line, name) = (jobs[0].first_line(), jobs[0].name.clone());
        let bytes: Vec<u8> = jobs.iter().flat_map(|j| j.bytes().iter().copied()).collect();
        drop(jobs);
        self.reclaim();
        let mut values = json::Values::with_limit(&bytes[..], first_line, self.limits.max_value_bytes);
        while let Some((line, value)) = values.next_value() {
            take(keep.c, keep.errors, keep.scratch, file, &name, line, value);
        }
    }
}
