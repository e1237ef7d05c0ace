//! Chunked staging of large writes (experimental, off by default:
//! `ExecutorDesc::write_chunk_bytes`, `GPUASYNC_WRITE_CHUNK`).
//!
//! A staged write normally copies all of the caller's bytes into one staging
//! buffer in device memory that the host writes through the PCIe BAR, then the
//! GPU copies staging to the buffer: the host's copy *is* the transfer, and
//! nothing overlaps it. Here a large write is cut into chunks, each staged in
//! host memory (`BufferKind::Readback`: cached system RAM that the GPU reads by
//! DMA) and handed to the queue as soon as it is staged, so that the host's
//! copy of chunk k+1 overlaps the GPU's copy of chunk k. Unmeasured on
//! hardware; the benchmark's hand-built version of the same idea is the
//! reference to compare with.
//!
//! What it applies to: a submission of exactly one `Op::Write` whose bytes are
//! not in registered host memory, of at least two chunks, without timestamps,
//! per-op timestamps or `no_block` (a `no_block` submission is queued whole
//! or not at all, and chunks could only be promised one by one). Everything
//! else takes the usual path.
//!
//! Atomicity: the whole write is recorded and handed over under one hold of
//! both the submission lock and the state lock (in that order, the order
//! `Queue::drain` takes them), so no other submission can come between two
//! chunks and see half of the write. The usual hand-over (`Queue::flush`)
//! releases the state lock around vkQueueSubmit2; here `Queue::drain_held`
//! submits under it instead (the submission lock it needs is already held).

use parking_lot::MutexGuard;

use crate::error::{bail, ErrorKind, Result};
use crate::executor::{BufferId, Executor, State};
use crate::memory::{self, BufferKind, RawBuffer};
use crate::submit::{Op, Plan, Staged, SubmitFlags};

impl Executor {
    /// The chunk size a submission of `ops` is staged in, or `None` when it
    /// takes the usual path (see the module comment). The chunk grows where
    /// the write would need more tickets than `max_in_flight`.
    pub(crate) fn write_chunk(&self, ops: &[Op<'_>], flags: SubmitFlags) -> Option<u64> {
        let chunk = self.write_chunk_bytes;
        if chunk == 0 || flags.timestamps || flags.op_timestamps || flags.no_block {
            return None;
        }
        let [Op::Write { data, .. }] = ops else { return None };
        let len = data.len() as u64;
        let chunk = chunk.max(len.div_ceil(self.max_in_flight.max(1)).next_multiple_of(4096));
        (len > chunk).then_some(chunk)
    }

    /// `submit` for a write chosen by `write_chunk`: one ticket per chunk, the
    /// last returned (it covers all: tickets complete in order). `Ok(None)`:
    /// its bytes lie in registered host memory, nothing was done, and the
    /// caller takes the usual path.
    ///
    /// Everything is checked, and what can run out (room in flight, command
    /// buffers, every chunk's staging) obtained, before the first chunk is
    /// recorded, so such an error changes nothing. An error after a chunk was
    /// handed over (a driver failing to begin or end a command buffer, or
    /// vkQueueSubmit2 failing) breaks the executor, as for a split submission:
    /// every later call reports it.
    pub(crate) fn submit_chunked(&self, ops: &[Op<'_>], flags: SubmitFlags, barriers: bool, chunk: u64) -> Result<Option<u64>> {
        let [Op::Write { buffer, offset, data }] = *ops else { return Ok(None) };
        let queue = &*self.queue;
        let chunks = (data.len() as u64).div_ceil(chunk);
        // Lock order: the submission lock, then the state lock (as `drain`).
        let mut held = queue.submit_lock.lock();
        let mut st = queue.state.lock();
        let mut plan = std::mem::take(&mut st.scratch_plan);
        loop {
            if let Some(e) = &st.broken {
                return Err(e.clone());
            }
            self.plan_into(&st, ops, &mut plan)?;
            if plan.direct.first().is_some_and(Option::is_some) {
                st.scratch_plan = plan;
                return Ok(None);
            }
            // Room for a ticket per chunk and for the staging of the whole
            // write (the same as unchunked: chunk sizes are multiples of 16).
            // Waiting for room hands work to the queue (`drain`, which takes
            // the submission lock), so it cannot wait with the submission lock
            // held: first try without waiting; else let go of both locks, wait
            // the usual way, take them back and check again (objects may be
            // gone, room taken meanwhile).
            match self.make_room(&mut st, SubmitFlags { no_block: true, ..flags }, plan.write_bytes, chunks) {
                Ok(_) => break,
                Err(e) if e.kind == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            drop(st);
            drop(held);
            {
                let mut st = queue.state.lock();
                self.make_room(&mut st, flags, plan.write_bytes, chunks)?;
            }
            held = queue.submit_lock.lock();
            st = queue.state.lock();
        }
        let before = st.last_ticket;
        match self.write_chunks(&held, &mut st, buffer, offset, data, chunk, flags, barriers, plan) {
            Ok(ticket) => {
                st.stats.chunked_writes += 1;
                Ok(Some(ticket))
            }
            Err(e) => {
                if st.last_ticket > before {
                    queue.break_queued(&mut st, &e);
                }
                Err(e)
            }
        }
    }

    /// The chunks of `submit_chunked`: obtain what can run out, then for each
    /// chunk copy its bytes into its staging, record its copy as a submission
    /// of its own in a bundle closed at once, and hand that to the queue
    /// before the next chunk's copy starts (else the two would not overlap:
    /// the coalescing policy would leave the bundle open while the GPU is
    /// busy). Returns the last chunk's ticket.
    #[allow(clippy::too_many_arguments)]
    fn write_chunks(
        &self,
        held: &MutexGuard<'_, ()>,
        st: &mut MutexGuard<'_, State>,
        buffer: BufferId,
        offset: u64,
        data: &[u8],
        chunk: u64,
        flags: SubmitFlags,
        barriers: bool,
        mut plan: Plan,
    ) -> Result<u64> {
        let queue = &*self.queue;
        // `write_chunk` keeps `chunk` below the write's length, a `usize`.
        let chunk = usize::try_from(chunk).unwrap_or(usize::MAX);
        // A write uses no descriptor set; this fills `plan.sets` the way
        // `submit_compute` expects when it is handed staging.
        self.prepare_sets(st, &[Op::Write { buffer, offset, data }], &mut plan)?;
        // A command buffer per chunk (the first may join the open bundle): taken,
        // allocating what the free list lacks, then all returned for the
        // chunks to take.
        let mut reserved = Vec::new();
        let mut taken = Ok(());
        for _ in 0..data.len().div_ceil(chunk) {
            match self.queue.take_command_buffer(st, 0) {
                Ok(cb) => reserved.push(cb),
                Err(e) => {
                    taken = Err(e);
                    break;
                }
            }
        }
        for cb in reserved {
            st.recycle_command_buffer(0, cb);
        }
        taken?;
        let staging = self.chunk_staging(st, data, chunk)?;

        let mut staging = staging.into_iter();
        let mut ticket = 0;
        for (k, part) in data.chunks(chunk).enumerate() {
            let Some(mut buf) = staging.next() else { bail!(Internal, "chunked write: staging missing for chunk {k}") };
            let Some(dst) = buf.mapped().and_then(|m| m.get_mut(..part.len())) else {
                self.free_staging(st, std::iter::once(buf).chain(staging).collect());
                bail!(Internal, "chunked write: staging for chunk {k} is not mapped or too small");
            };
            // SAFETY: `dst` is an exclusively borrowed slice of `part.len()` bytes
            // of this chunk's staging, which no GPU work uses yet.
            unsafe { memory::parallel_copy(dst.as_mut_ptr(), part) };
            let at = (k * chunk) as u64;
            let op = [Op::Write { buffer, offset: offset + at, data: part }];
            let mut part_plan = plan.clone();
            part_plan.write_bytes = (part.len() as u64).next_multiple_of(16);
            part_plan.write_bytes_exact = part.len() as u64;
            let staged = Staged { buffers: vec![buf], write_base: Some(0), read_base: None };
            // `close`: the bundle goes to `to_submit`, and `drain_held` hands it
            // (and any bundle closed before it) to the queue, both locks held.
            let sent = self
                .submit_compute(st, &op, flags, barriers, None, part_plan, true, Some(staged))
                .and_then(|t| queue.drain_held(held, st).map(|()| t));
            match sent {
                Ok(t) => ticket = t,
                Err(e) => {
                    self.free_staging(st, staging.collect());
                    return Err(e);
                }
            }
        }
        Ok(ticket)
    }

    /// Host-memory staging for every chunk of `data`, all obtained before any
    /// is used, so that running out changes nothing.
    fn chunk_staging(&self, st: &mut State, data: &[u8], chunk: usize) -> Result<Vec<RawBuffer>> {
        #[cfg(debug_assertions)]
        if crate::testing::staging_fails() {
            bail!(OutOfDeviceMemory, "staging: device memory exhausted (injected by a test)");
        }
        let mut staging = Vec::with_capacity(data.len().div_ceil(chunk));
        for part in data.chunks(chunk) {
            let bytes = (part.len() as u64).next_multiple_of(16);
            if let Err(e) = self.alloc_staging(st, bytes, BufferKind::Readback, &mut staging) {
                self.free_staging(st, staging);
                return Err(e);
            }
        }
        if staging.iter_mut().any(|s| s.mapped().is_none()) {
            self.free_staging(st, staging);
            bail!(Internal, "staging memory is not mapped");
        }
        Ok(staging)
    }
}
