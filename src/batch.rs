//! Recorded batches: device-side ops (copy, fill, dispatch) recorded once into a
//! command buffer and replayed with one call, the role CUDA graphs play. Push
//! constants may change per replay: the command buffer is re-recorded then (host
//! cost of one recording, no new objects). One replay of a batch is in flight at
//! a time; a replay while the previous one runs waits for it (or returns
//! `WouldBlock` with `SubmitFlags::no_block`).
//!
//! A replay is its own queue submission, ordered with every other submission by
//! its ticket. It begins with one barrier that orders it after all earlier work,
//! and later submissions see its buffer accesses like any other's.

use std::sync::atomic::Ordering;

use ash::vk;
use parking_lot::MutexGuard;

use crate::error::{bail, Error, ErrorKind, Result};
use crate::executor::{BufferId, Executor, Garbage, KernelId, State};
use crate::submit::{Op, Recording, SubmitFlags};

/// A recorded batch handle, packed like `BufferId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BatchId(pub u64);

/// One op of a batch, owned (the caller's slices are copied at creation).
#[derive(Clone, Debug)]
pub(crate) enum BatchOp {
    Copy { src: BufferId, src_offset: u64, dst: BufferId, dst_offset: u64, size: u64 },
    Fill { buffer: BufferId, offset: u64, size: u64, value: u32 },
    Dispatch { kernel: KernelId, buffers: Vec<BufferId>, push_constants: Vec<u8>, groups: [u32; 3] },
}

impl BatchOp {
    fn as_op(&self) -> Op<'_> {
        match self {
            Self::Copy { src, src_offset, dst, dst_offset, size } => {
                Op::Copy { src: *src, src_offset: *src_offset, dst: *dst, dst_offset: *dst_offset, size: *size }
            }
            Self::Fill { buffer, offset, size, value } => {
                Op::Fill { buffer: *buffer, offset: *offset, size: *size, value: *value }
            }
            Self::Dispatch { kernel, buffers, push_constants, groups } => {
                Op::Dispatch { kernel: *kernel, buffers, push_constants, groups: *groups }
            }
        }
    }
}

pub(crate) struct BatchEntry {
    ops: Vec<BatchOp>,
    /// The recorded op of each op the caller gave (`usize::MAX`: a built-in op,
    /// which push updates cannot address).
    index: Vec<usize>,
    /// Every buffer the ops touch and whether they write it, for the tickets
    /// that order later work.
    uses: Vec<(BufferId, bool)>,
    /// The executor's destroy count when the ops were last checked: while it is
    /// unchanged, every buffer and kernel of the batch still exists.
    checked_at: u64,
    /// The recorded command buffer; re-recorded when push constants change.
    pub command_buffer: vk::CommandBuffer,
    /// Push constants the command buffer was recorded with differ from `ops`.
    stale: bool,
    /// The timestamp query pair the batch owns (reset inside its command buffer).
    pub query: Option<u32>,
    /// Ticket of the latest replay (0: never replayed).
    pub last_use: u64,
}

/// A change of one dispatch's push constants for the next replays.
#[derive(Clone, Copy, Debug)]
pub struct PushUpdate<'a> {
    /// Index of a dispatch op in the batch's op list.
    pub op: usize,
    pub push_constants: &'a [u8],
}

impl Executor {
    /// Record `ops` (copies, fills and dispatches; no host reads or writes) into a
    /// batch to replay. Checked now against buffers and kernels, like a submit.
    pub fn create_batch(&self, ops: &[Op<'_>]) -> Result<BatchId> {
        // Built-in ops become their dispatches; the index maps the caller's op
        // numbers (push updates use them) to the recorded ones.
        self.with_expanded(ops, |expanded, index, _| self.create_batch_expanded(expanded, index.to_vec()))
    }

    fn create_batch_expanded(&self, ops: &[Op<'_>], index: Vec<usize>) -> Result<BatchId> {
        let mut owned = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            owned.push(match *op {
                Op::Copy { src, src_offset, dst, dst_offset, size } => BatchOp::Copy { src, src_offset, dst, dst_offset, size },
                Op::Fill { buffer, offset, size, value } => BatchOp::Fill { buffer, offset, size, value },
                Op::Dispatch { kernel, buffers, push_constants, groups } => BatchOp::Dispatch {
                    kernel,
                    buffers: buffers.to_vec(),
                    push_constants: push_constants.to_vec(),
                    groups,
                },
                Op::Builtin(_) => bail!(Internal, "op {i}: built-in op left unexpanded"),
                Op::Write { .. } | Op::Read { .. } => bail!(
                    InvalidArgument,
                    "op {i}: a batch holds device-side ops (copy, fill, dispatch); write and read with a submit"
                ),
            });
        }
        let mut st = self.queue.state.lock();
        let plan_ops: Vec<Op<'_>> = owned.iter().map(BatchOp::as_op).collect();
        let plan = self.plan(&st, &plan_ops)?;
        drop(plan_ops);
        let uses = plan.uses.iter().map(|u| (u.id, u.write)).collect();
        let command_buffer = self.queue.take_command_buffer(&mut st, 0)?;
        let query = st.free_queries.pop();
        let checked_at = st.destroyed;
        let entry = BatchEntry { ops: owned, index, uses, checked_at, command_buffer, stale: true, query, last_use: 0 };
        match st.batches.insert(entry) {
            Ok(id) => Ok(BatchId(id)),
            Err(entry) => {
                st.free_commands.push(entry.command_buffer);
                if let Some(q) = entry.query {
                    st.free_queries.push(q);
                }
                bail!(OutOfHostMemory, "too many live batches (2^24)")
            }
        }
    }

    /// Replay a batch, with `updates` applied to its push constants (they stay
    /// for later replays). Returns the replay's ticket.
    pub fn replay(&self, id: BatchId, updates: &[PushUpdate<'_>], flags: SubmitFlags) -> Result<u64> {
        if !self.tracing.load(Ordering::Relaxed) {
            return self.replay_untraced(id, updates, flags);
        }
        let start = self.host_ns();
        let ticket = self.replay_untraced(id, updates, SubmitFlags { timestamps: true, ..flags });
        self.trace_host("replay", start, *ticket.as_ref().unwrap_or(&0));
        ticket
    }

    fn replay_untraced(&self, id: BatchId, updates: &[PushUpdate<'_>], flags: SubmitFlags) -> Result<u64> {
        let queue = &*self.queue;
        let mut st = queue.state.lock();
        if let Some(e) = &st.broken {
            return Err(e.clone());
        }
        self.check_updates(&st, id, updates)?;
        self.make_room(&mut st, flags, 0, 1)?;
        // One replay in flight per batch: its command buffer (and queries) are reused.
        loop {
            let last = st.batches.get(id.0).ok_or_else(|| invalid_batch(id))?.last_use;
            if last <= queue.retired.load(Ordering::Acquire) {
                break;
            }
            let reached = self.reached(&st)?;
            if reached >= last {
                self.retire(&mut st, reached);
                continue;
            }
            if flags.no_block {
                bail!(WouldBlock, "the batch's previous replay (ticket {last}) is still in flight");
            }
            MutexGuard::unlocked(&mut st, || {
                queue.drain()?;
                if queue.lanes.is_empty() {
                    queue.wait_for(last, u64::MAX)
                } else {
                    // Completion is in ticket order across lanes: wait for
                    // every lane up to `last`, not the compute queue alone.
                    self.wait_lanes(last, u64::MAX)
                }
            })?;
        }
        // Apply the updates (a change means re-recording); undone if the replay fails.
        let ticket = st.last_ticket + 1;
        let mut undo = Vec::new();
        {
            let entry = st.batches.get_mut(id.0).ok_or_else(|| invalid_batch(id))?;
            for u in updates {
                let op = entry.index.get(u.op).copied().unwrap_or(usize::MAX);
                if let Some(BatchOp::Dispatch { push_constants, .. }) = entry.ops.get_mut(op) {
                    if push_constants.as_slice() != u.push_constants {
                        undo.push((op, push_constants.clone(), entry.stale));
                        push_constants.copy_from_slice(u.push_constants);
                        entry.stale = true;
                    }
                }
            }
        }
        let entry = st.batches.get(id.0).ok_or_else(|| invalid_batch(id))?;
        let (cb, stale, query, unchecked) =
            (entry.command_buffer, entry.stale, entry.query, entry.checked_at != st.destroyed);
        // The batch's buffers and kernels must still exist: checked again only if
        // something was destroyed since, or to re-record.
        if stale || unchecked {
            let ops = std::mem::take(&mut st.batches.get_mut(id.0).ok_or_else(|| invalid_batch(id))?.ops);
            let checked = self.check_and_record(&mut st, &ops, cb, ticket, query, stale);
            let destroyed = st.destroyed;
            if let Some(e) = st.batches.get_mut(id.0) {
                e.ops = ops;
                if checked.is_ok() {
                    e.stale = false;
                    e.checked_at = destroyed;
                }
            }
            if let Err(e) = checked {
                if let Some(entry) = st.batches.get_mut(id.0) {
                    for (op, old, stale) in undo.into_iter().rev() {
                        if let Some(BatchOp::Dispatch { push_constants, .. }) = entry.ops.get_mut(op) {
                            *push_constants = old;
                        }
                        entry.stale = stale || entry.stale;
                    }
                }
                return Err(e);
            }
        }

        // Queue the replay behind everything recorded before it, and after the
        // transfer-lane work on its buffers.
        queue.close_bundle(&mut st)?;
        let deps = {
            let entry = st.batches.get(id.0).ok_or_else(|| invalid_batch(id))?;
            let accesses = entry
                .uses
                .iter()
                .filter_map(|&(b, write)| st.buffers.get(b.0).map(|e| ((e.last_write, e.last_access), write)));
            self.cross_lane_deps_of(&st, accesses, 0)
        };
        let mut bundle = crate::submit::Bundle::replay(cb, ticket);
        if let (true, Some(q)) = (flags.timestamps, query) {
            bundle.queries.push((ticket, q, self.host_ns(), false));
        }
        st.last_ticket = ticket;
        queue.issued.store(ticket, Ordering::Release);
        let Some(entry) = st.batches.get_mut(id.0) else { return Err(invalid_batch(id)) };
        entry.last_use = ticket;
        let (uses, ops) = (std::mem::take(&mut entry.uses), std::mem::take(&mut entry.ops));
        for &(buffer, write) in &uses {
            if let Some(b) = st.buffers.get_mut(buffer.0) {
                b.last_access = ticket;
                if write {
                    b.last_write = ticket;
                }
            }
        }
        for op in &ops {
            if let BatchOp::Dispatch { kernel, .. } = op {
                if let Some(k) = st.kernels.get_mut(kernel.0) {
                    k.last_use = ticket;
                }
            }
        }
        if let Some(entry) = st.batches.get_mut(id.0) {
            entry.uses = uses;
            entry.ops = ops;
        }
        let mut waits = deps;
        waits[0] = 0;
        bundle.waits = waits;
        let covers = st.last_ticket;
        st.to_submit.push_back(crate::submit::Pending { command_buffer: cb, lane: 0, signal: ticket, covers, waits });
        st.in_flight.push_back(bundle);
        MutexGuard::unlocked(&mut st, || queue.drain())?;
        Ok(ticket)
    }

    /// Check a batch's ops against the live buffers and kernels, and re-record its
    /// command buffer when `record` (no replay of it is in flight).
    fn check_and_record(
        &self,
        st: &mut State,
        ops: &[BatchOp],
        cb: vk::CommandBuffer,
        ticket: u64,
        query: Option<u32>,
        record: bool,
    ) -> Result<()> {
        let plan_ops: Vec<Op<'_>> = ops.iter().map(BatchOp::as_op).collect();
        let mut plan = self.plan(st, &plan_ops).map_err(|e| {
            Error::new(e.kind, format!("batch no longer valid (destroyed buffer or kernel?): {}", e.message))
        })?;
        if record {
            self.prepare_sets(st, &plan_ops, &mut plan)?;
            let mut bundle = self.begin_bundle(cb, ticket, vk::CommandBufferUsageFlags::empty())?;
            bundle.recycle = false;
            // One barrier first: the replay follows all earlier work on its buffers.
            bundle.ordered_after_earlier = true;
            crate::submit::leading_barrier(&self.device, cb);
            let rec = Recording { write_base: None, read_base: None, query, barriers: true, staging_offset: 0, reset_query: true, op_queries: None };
            self.record(st, &mut bundle, &plan_ops, &plan, &rec);
            let host_visible_writes = plan.uses.iter().any(|u| {
                u.write && st.buffers.get(u.id.0).is_some_and(|b| b.kind != crate::memory::BufferKind::DeviceLocal)
            });
            if host_visible_writes {
                crate::submit::host_barrier(&self.device, cb, 0);
            }
            // SAFETY: `cb` is recording, owned by the batch, with no replay in flight.
            unsafe { self.device.end_command_buffer(cb) }.map_err(|e| Error::vulkan("vkEndCommandBuffer", e))?;
        }
        Ok(())
    }

    fn check_updates(&self, st: &State, id: BatchId, updates: &[PushUpdate<'_>]) -> Result<()> {
        let entry = st.batches.get(id.0).ok_or_else(|| invalid_batch(id))?;
        for u in updates {
            if entry.index.get(u.op) == Some(&usize::MAX) {
                bail!(InvalidArgument, "push update for op {}: a built-in op takes no push updates", u.op);
            }
            match entry.index.get(u.op).and_then(|&i| entry.ops.get(i)) {
                Some(BatchOp::Dispatch { push_constants, .. }) => {
                    if push_constants.len() != u.push_constants.len() {
                        bail!(
                            KernelMismatch,
                            "push update for op {}: the kernel's block is {} bytes, the update has {}",
                            u.op,
                            push_constants.len(),
                            u.push_constants.len()
                        );
                    }
                }
                Some(_) => bail!(InvalidArgument, "push update for op {}: not a dispatch", u.op),
                None => bail!(InvalidArgument, "push update for op {}: the batch has {} ops", u.op, entry.index.len()),
            }
        }
        Ok(())
    }

    /// Destroy a batch; deferred until its last replay completes.
    pub fn destroy_batch(&self, id: BatchId) -> Result<()> {
        let mut st = self.queue.state.lock();
        let entry = st.batches.remove(id.0).ok_or_else(|| invalid_batch(id))?;
        self.defer(&mut st, entry.last_use, Garbage::Batch(entry.command_buffer, entry.query));
        Ok(())
    }
}

pub(crate) fn invalid_batch(id: BatchId) -> Error {
    Error::new(
        ErrorKind::InvalidHandle,
        format!("batch handle {:#x} is null, destroyed, or belongs to another executor", id.0),
    )
}
