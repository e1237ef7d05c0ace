//! GPU timestamps per submission, and the log that keeps the recent ones.

use std::collections::VecDeque;

/// How many timed submissions are remembered.
const KEPT: usize = 4096;

/// When a submission ran, from GPU timestamps scaled by the device's
/// `timestampPeriod`, and when the host submitted it and first saw it complete.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    /// GPU clock, nanoseconds: the submission's first command started.
    pub gpu_begin_ns: u64,
    /// GPU clock, nanoseconds: the submission's last command finished.
    pub gpu_end_ns: u64,
    /// Host clock, nanoseconds since the executor was created: the submit call.
    pub host_submit_ns: u64,
    /// Host clock, nanoseconds since the executor was created: the first poll or
    /// wait that observed completion. An upper bound on the true completion time.
    pub host_complete_ns: u64,
}

impl Timing {
    /// Time the GPU spent on the submission.
    pub fn gpu_ns(&self) -> u64 {
        self.gpu_end_ns.saturating_sub(self.gpu_begin_ns)
    }
}

/// The newest `KEPT` timings, in ticket order.
#[derive(Default)]
pub(crate) struct TimingLog {
    entries: VecDeque<(u64, Timing)>,
}

impl TimingLog {
    /// Add a timing. Submissions of different queues retire interleaved (a
    /// compute bundle's tickets around a transfer's), so the entry goes in
    /// ticket order: nearly always at the end.
    pub fn push(&mut self, ticket: u64, timing: Timing) {
        if self.entries.len() == KEPT {
            self.entries.pop_front();
        }
        let at = self.entries.partition_point(|(t, _)| *t < ticket);
        self.entries.insert(at, (ticket, timing));
    }

    pub fn get(&self, ticket: u64) -> Option<Timing> {
        self.entries
            .binary_search_by_key(&ticket, |(t, _)| *t)
            .ok()
            .map(|i| self.entries[i].1)
    }
}

/// Per-op GPU spans of the newest `KEPT` submissions made with per-op
/// timestamps: (ticket, [(caller's op, begin ns, end ns)]), in ticket order.
#[derive(Default)]
pub(crate) struct OpTimingLog {
    entries: VecDeque<(u64, OpSpans)>,
}

/// (caller's op, begin ns, end ns) of one submission's ops.
type OpSpans = Vec<(u32, u64, u64)>;

impl OpTimingLog {
    /// Add one op's span (several for a built-in op: they are merged).
    pub fn push(&mut self, ticket: u64, op: u32, begin: u64, end: u64) {
        if self.entries.back().map(|e| e.0) != Some(ticket) {
            if self.entries.len() == KEPT {
                self.entries.pop_front();
            }
            self.entries.push_back((ticket, Vec::new()));
        }
        if let Some((_, spans)) = self.entries.back_mut() {
            match spans.iter_mut().find(|s| s.0 == op) {
                Some(s) => {
                    s.1 = s.1.min(begin);
                    s.2 = s.2.max(end);
                }
                None => spans.push((op, begin, end)),
            }
        }
    }

    pub fn get(&self, ticket: u64, op: u32) -> Option<(u64, u64)> {
        let i = self.entries.binary_search_by_key(&ticket, |(t, _)| *t).ok()?;
        self.entries[i].1.iter().find(|s| s.0 == op).map(|s| (s.1, s.2))
    }
}

/// What an executor has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Tickets issued: submissions (one per part of a split one) and batch replays.
    pub submissions: u64,
    /// Command buffers handed to the queue (vkQueueSubmit2 calls): fewer than
    /// `submissions` when small submissions were coalesced.
    pub queue_submissions: u64,
    /// The highest ticket whose completion has been processed.
    pub completed: u64,
    /// Bytes copied from the host into buffers by writes.
    pub bytes_written: u64,
    /// Bytes copied from buffers to the host by reads.
    pub bytes_read: u64,
    /// Submissions made with timestamps whose timing has been collected.
    pub timed_submissions: u64,
    /// Sum of their GPU spans (end - begin), nanoseconds. Spans of submissions
    /// coalesced into one command buffer can overlap, so this can exceed the
    /// time the GPU was busy: compare it with the GPU span of the whole run.
    pub gpu_time_ns: u64,
    /// Submissions that ran on a transfer lane (see `TransferQueues`), parts
    /// of split submissions included.
    pub transfer_submissions: u64,
    /// Submissions split into an upload, a compute and a download part across
    /// the lanes (each part takes a ticket of its own; the submission's
    /// ticket is its last part's).
    pub split_submissions: u64,
    /// Writes staged and handed to the GPU in chunks (experimental,
    /// `ExecutorDesc::write_chunk_bytes`; each chunk takes a ticket of its
    /// own, the call returns the last). Not in the C struct.
    pub chunked_writes: u64,
    /// Writes from registered host memory done by the upload kernel on the
    /// compute queue (experimental, `GPUASYNC_UPLOAD_KERNEL`). Not in the C struct.
    pub kernel_uploads: u64,
    /// Times the flusher thread closed the open bundle and handed it to the
    /// queue; the other queue submissions were made on the threads that
    /// submit, poll and wait. Not in the C struct.
    pub flusher_flushes: u64,
    /// Queue submissions (vkQueueSubmit2 calls) made on the flusher thread;
    /// `queue_submissions` less these were made on the callers' threads.
    /// Not in the C struct.
    pub flusher_submissions: u64,
    /// Nanoseconds spent inside vkQueueSubmit2, on all threads: where the
    /// host time of handing work over goes. Not in the C struct.
    pub queue_submit_ns: u64,
    /// Nanoseconds spent inside vkEndCommandBuffer closing coalesced bundles
    /// (under the state lock, so submitting threads may wait on it). Not in
    /// the C struct.
    pub end_command_buffer_ns: u64,
    /// Nanoseconds spent inside vkBeginCommandBuffer opening command buffers
    /// (coalesced bundles, and batches when they are re-recorded), on the
    /// threads that submit and replay, and on the flusher with
    /// `GPUASYNC_PREBEGIN` (always under the state lock). Not in the C
    /// struct.
    pub begin_command_buffer_ns: u64,
    /// Submissions that found the state lock held (by another submitting
    /// thread, the flusher, a poll or a wait) and waited for it. Not in the C
    /// struct.
    pub state_lock_waits: u64,
    /// Nanoseconds those submissions waited for the state lock. Not in the C
    /// struct.
    pub state_lock_wait_ns: u64,
    /// Submissions that woke the flusher thread from its sleep (a wake-up is
    /// a system call on the submitting thread). Not in the C struct.
    pub flusher_wakes: u64,
}
