//! Transfer lanes: large submissions that only move data across the bus
//! (reads, and writes from registered host memory; see `Executor::lane_for`)
//! run on queues of their own (the copy engines, where the device has a
//! transfer-only queue family), so that uploads and downloads overlap compute.
//!
//! Lane 0 is the compute queue; lane 1 takes submissions that only write;
//! lane 2, where the family has a second queue, those that read back to the
//! host (else lane 1 takes both). Each lane has its own timeline
//! semaphore and signals the tickets of its own submissions, so a lane counter
//! at or past t says that ticket t of that lane is complete. Tickets stay one
//! sequence for the whole executor.
//!
//! Ordering across lanes follows buffer hazards, as inside one lane: a
//! submission waits (on the GPU, a timeline wait) for the other lanes' last
//! writer of what it reads and last access of what it writes. Across lanes a
//! read also waits for the last access, so that the accesses to a buffer from
//! different lanes form one chain and its two tickets (last write, last
//! access) keep describing everything a later submission must follow. Waits
//! only ever name work closed earlier: a submission that follows compute work
//! still open hands it to the queue first, and a compute bundle that would
//! gain a wait is closed first when it already holds submissions (so they do
//! not wait too).
//!
//! Buffers are created with concurrent sharing between the two queue families,
//! so no queue-family ownership transfers are needed: the semaphore waits carry
//! the memory dependencies.
//!
//! Completion is still reported in ticket order: a ticket is complete when it
//! and every ticket before it are (`Executor::reached`), so reads land and
//! objects are freed in order.

use std::sync::atomic::Ordering;
use std::time::Instant;

use ash::vk;
use parking_lot::MutexGuard;

use crate::error::{Error, Result};
use crate::executor::{Executor, Queue, State, LANES};
use crate::submit::{buffer_barrier, host_barrier, Op, Pending, Plan, Recording, Staged, SubmitFlags, Use};

/// How `Executor::split_for` splits a submission: `ops[..head]` on the
/// upload lane, `ops[head..tail]` on the compute queue, `ops[tail..]` on the
/// download lane; `parts` of them are not empty (2 or 3), a ticket each.
#[derive(Clone, Copy)]
pub(crate) struct Split {
    pub head: usize,
    pub tail: usize,
    pub parts: u64,
}

impl State {
    /// Return a command buffer to the free list of its lane's pool.
    pub(crate) fn recycle_command_buffer(&mut self, lane: usize, cb: vk::CommandBuffer) {
        if lane != 0 && self.transfer_pool != vk::CommandPool::null() {
            self.transfer_free.push(cb);
        } else {
            self.free_commands.push(cb);
        }
    }

    /// The lane of a ticket that is not yet retired (0 for any other).
    pub(crate) fn lane_of(&self, ticket: u64) -> usize {
        match self.transfer_in_flight.binary_search_by_key(&ticket, |b| b.last_ticket) {
            Ok(i) => self.transfer_in_flight[i].lane,
            Err(_) => 0,
        }
    }
}

impl Queue {
    /// The value lane `lane`'s timeline has reached.
    pub(crate) fn lane_progress(&self, lane: usize) -> Result<u64> {
        // SAFETY: the semaphore is a live timeline semaphore of this device.
        unsafe { self.device.get_semaphore_counter_value(self.lane(lane).1) }
            .map_err(|e| Error::vulkan("vkGetSemaphoreCounterValue", e))
    }

    /// Spin up to `spin_ns`, then sleep in the driver, until every (lane,
    /// value) in `targets` is reached or `timeout_ns` has passed (`Ok(false)`).
    /// Called without the state lock; every value must be one its lane signals,
    /// and there is at most one target per lane.
    pub(crate) fn wait_all(&self, targets: &[(usize, u64)], spin_ns: u64, timeout_ns: u64) -> Result<bool> {
        let start = Instant::now();
        let spin = spin_ns.min(timeout_ns);
        loop {
            let mut done = true;
            for &(lane, value) in targets {
                done &= self.lane_progress(lane)? >= value;
            }
            if done {
                return Ok(true);
            }
            if start.elapsed().as_nanos() as u64 >= spin {
                break;
            }
            for _ in 0..64 {
                std::hint::spin_loop();
            }
        }
        // At most one target per lane: fixed arrays, no allocation on the wait path.
        let n = targets.len().min(LANES);
        let (mut semaphores, mut values) = ([vk::Semaphore::null(); LANES], [0u64; LANES]);
        for (i, &(lane, value)) in targets.iter().take(n).enumerate() {
            semaphores[i] = self.lane(lane).1;
            values[i] = value;
        }
        let info = vk::SemaphoreWaitInfo::default().semaphores(&semaphores[..n]).values(&values[..n]);
        let left = timeout_ns.saturating_sub(start.elapsed().as_nanos() as u64);
        // SAFETY: the semaphores are live; the info points at live locals.
        match unsafe { self.device.wait_semaphores(&info, left) } {
            Ok(()) => Ok(true),
            Err(vk::Result::TIMEOUT) => Ok(false),
            Err(e) => Err(Error::vulkan("vkWaitSemaphores", e)),
        }
    }
}

impl Executor {
    /// The highest ticket T such that every ticket up to T is complete.
    /// Without transfer lanes, the compute timeline's value.
    pub(crate) fn reached(&self, st: &State) -> Result<u64> {
        let main = self.queue.progress()?;
        if self.queue.lanes.is_empty() {
            return Ok(main);
        }
        // The first ticket not complete: the first of the oldest unfinished
        // compute bundle (or of the open one), or an unfinished transfer.
        let mut low = u64::MAX;
        if let Some(b) = st.in_flight.iter().find(|b| b.last_ticket > main) {
            low = b.first_ticket;
        } else if let Some(b) = &st.open {
            low = b.first_ticket;
        }
        let mut counters = [None; LANES];
        for b in &st.transfer_in_flight {
            if b.first_ticket >= low {
                break;
            }
            let counter = match counters[b.lane] {
                Some(c) => c,
                None => *counters[b.lane].insert(self.queue.lane_progress(b.lane)?),
            };
            if counter < b.last_ticket {
                low = b.first_ticket;
                break;
            }
        }
        let mut reached = if low == u64::MAX { st.last_ticket } else { low - 1 };
        // Inside a finished compute bundle (its tickets around an unfinished
        // transfer's): it retires as a whole, so stop before it, or a ticket
        // would read complete before its bundle delivers its reads.
        if let Some(b) = st.in_flight.iter().find(|b| b.first_ticket <= reached && reached < b.last_ticket) {
            reached = b.first_ticket - 1;
        }
        Ok(reached)
    }

    /// What holds `reached` back, as (lane, value to wait for): the unfinished
    /// bundle with the lowest first ticket. The open bundle is closed (queued
    /// for `Queue::drain`) when it is that one. `None`: nothing unfinished.
    pub(crate) fn blocker(&self, st: &mut State) -> Result<Option<(usize, u64)>> {
        let main = self.queue.progress()?;
        // (first ticket, lane, value); the open bundle has no value yet.
        let mut best: Option<(u64, usize, Option<u64>)> = None;
        if let Some(b) = st.in_flight.iter().find(|b| b.last_ticket > main) {
            best = Some((b.first_ticket, 0, Some(b.last_ticket)));
        } else if let Some(b) = &st.open {
            best = Some((b.first_ticket, 0, None));
        }
        let mut counters = [None; LANES];
        for b in &st.transfer_in_flight {
            if best.is_some_and(|x| b.first_ticket >= x.0) {
                break;
            }
            let counter = match counters[b.lane] {
                Some(c) => c,
                None => *counters[b.lane].insert(self.queue.lane_progress(b.lane)?),
            };
            if counter < b.last_ticket {
                best = Some((b.first_ticket, b.lane, Some(b.last_ticket)));
                break;
            }
        }
        match best {
            None => Ok(None),
            Some((_, lane, Some(value))) => Ok(Some((lane, value))),
            Some((_, _, None)) => {
                self.queue.close_bundle(st)?;
                Ok(st.in_flight.back().map(|b| (0, b.last_ticket)))
            }
        }
    }

    /// For a submission on `lane` that makes `uses`: per other lane, the
    /// latest ticket of that lane it must wait for (0: none).
    pub(crate) fn cross_lane_deps(&self, st: &State, uses: &[Use], lane: usize) -> [u64; LANES] {
        self.cross_lane_deps_of(st, uses.iter().filter_map(|u| st.tickets_of(u).map(|t| (t, u.write))), lane)
    }

    /// `cross_lane_deps` over ((last write, last access), writes) pairs.
    pub(crate) fn cross_lane_deps_of(
        &self,
        st: &State,
        accesses: impl Iterator<Item = ((u64, u64), bool)>,
        lane: usize,
    ) -> [u64; LANES] {
        let mut deps = [0; LANES];
        if st.transfer_in_flight.is_empty() && lane == 0 {
            return deps;
        }
        let retired = self.queue.retired.load(Ordering::Acquire);
        for ((last_write, last_access), write) in accesses {
            // A write follows every earlier access, a read the last write; and
            // across lanes a read follows the last access too (see the module
            // comment), a wait that only costs where two lanes read one buffer.
            let hazard = if write { last_access } else { last_write };
            for t in [hazard, last_access] {
                if t > retired {
                    let l = st.lane_of(t);
                    if l != lane {
                        deps[l] = deps[l].max(t);
                    }
                }
            }
        }
        deps
    }

    /// The lane a submission runs on: a transfer lane for submissions of
    /// reads and writes from registered host memory alone that move at least
    /// `transfer_min_bytes` and need no per-op timestamps (nor timestamps
    /// where transfer lanes cannot write them).
    pub(crate) fn lane_for(&self, ops: &[Op<'_>], plan: &Plan, flags: SubmitFlags) -> usize {
        let lanes = self.queue.lanes.len();
        if lanes == 0 || ops.is_empty() || flags.op_timestamps || (flags.timestamps && !self.transfer_timestamps) {
            return 0;
        }
        // Only what crosses the bus gains from a copy engine. Staging for
        // writes is device memory the host writes through the BAR, so a staged
        // write's copy is device to device, as are copies and fills: a copy
        // engine does those at ~180 GB/s on an H100, the compute queue at
        // ~3 TB/s. They stay on the compute queue.
        let mut reads = false;
        for (op, direct) in ops.iter().zip(&plan.direct) {
            match op {
                // With the upload kernel, registered writes run on the compute queue.
                Op::Write { .. } if direct.is_some() && self.upload_kernel.is_none() => {}
                Op::Read { .. } => reads = true,
                _ => return 0,
            }
        }
        let bytes = plan.write_bytes_exact + plan.read_bytes_exact;
        if bytes < self.transfer_min_bytes {
            return 0;
        }
        if reads {
            lanes
        } else {
            1
        }
    }

    /// `submit` for a transfer-only submission on transfer lane `lane`: its own
    /// command buffer, handed to the lane's queue before returning.
    pub(crate) fn submit_transfer(
        &self,
        mut st: MutexGuard<'_, State>,
        lane: usize,
        ops: &[Op<'_>],
        flags: SubmitFlags,
        mut plan: Plan,
        barriers: bool,
    ) -> Result<u64> {
        let queue = &*self.queue;
        // Compute work this follows must be handed to its queue first, so that
        // the value waited for is signalled by a submission made earlier.
        loop {
            let deps = self.cross_lane_deps(&st, &plan.uses, lane);
            if deps[0] <= queue.submitted.load(Ordering::Acquire) {
                break;
            }
            if st.open.as_ref().is_some_and(|o| o.first_ticket <= deps[0]) {
                queue.flush(&mut st)?;
            } else {
                MutexGuard::unlocked(&mut st, || queue.drain())?;
            }
            // The lock was released: objects may be gone, or the bound reached.
            self.plan_into(&st, ops, &mut plan)?;
            if self.make_room(&mut st, flags, plan.write_bytes + plan.read_bytes, 1)? {
                self.plan_into(&st, ops, &mut plan)?;
            }
        }
        // With the lock released a registration may have gone (its writes are
        // staged now): choose again, from the start.
        if self.lane_for(ops, &plan, flags) != lane {
            st.scratch_plan = plan;
            drop(st);
            return self.submit_inner(ops, flags, barriers, None);
        }
        let ticket = self.record_transfer(&mut st, lane, ops, flags, &plan, barriers)?;
        st.scratch_plan = plan;
        MutexGuard::unlocked(&mut st, || queue.drain())?;
        Ok(ticket)
    }

    /// Record a transfer-only submission on transfer lane `lane` as a command
    /// buffer of its own, closed and queued for `Queue::drain` (which the
    /// caller does, without the lock). Every compute bundle it waits for must
    /// be closed already, so that it is handed over first.
    fn record_transfer(
        &self,
        st: &mut MutexGuard<'_, State>,
        lane: usize,
        ops: &[Op<'_>],
        flags: SubmitFlags,
        plan: &Plan,
        barriers: bool,
    ) -> Result<u64> {
        let queue = &*self.queue;
        let deps = self.cross_lane_deps(st, &plan.uses, lane);
        let mut waits = [0; LANES];
        for (l, &t) in deps.iter().enumerate() {
            waits[l] = match (t, l) {
                (0, _) => 0,
                // The compute lane signals the last ticket of the bundle holding t.
                (_, 0) => st.in_flight.iter().find(|b| b.first_ticket <= t && t <= b.last_ticket).map_or(0, |b| b.last_ticket),
                _ => t,
            };
        }

        let Staged { buffers: staging, write_base, read_base } = self.stage(st, ops, plan)?;
        let ticket = st.last_ticket + 1;
        let bundle = self.queue.take_command_buffer(st, lane).and_then(|cb| {
            self.begin_bundle(cb, ticket, vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT)
                .inspect_err(|_| st.recycle_command_buffer(lane, cb))
        });
        let mut bundle = match bundle {
            Ok(b) => b,
            Err(e) => {
                self.free_staging(st, staging);
                return Err(e);
            }
        };
        bundle.lane = lane;
        bundle.waits = waits;
        // Earlier submissions on this lane's queue may touch the same buffers:
        // one barrier orders this one after them (the copy engine runs them one
        // after another anyway).
        if barriers {
            buffer_barrier(&self.device, bundle.command_buffer, lane);
            bundle.ordered_after_earlier = true;
        }
        let query = if flags.timestamps && self.transfer_timestamps { st.free_queries.pop() } else { None };
        let rec = Recording {
            write_base: write_base.map(|i| (i, staging[i].raw)),
            read_base: read_base.map(|i| (i, staging[i].raw)),
            query,
            barriers,
            staging_offset: 0,
            reset_query: false,
            op_queries: None,
        };
        self.record(st, &mut bundle, ops, plan, &rec);
        self.commit(st, &mut bundle, ticket, ops, plan, staging, query, &[], None);
        st.stats.transfer_submissions += 1;

        // Close it and hand it over now: transfers are large, and a wait on one
        // must never name a value whose submission is not on its way.
        let cb = bundle.command_buffer;
        if bundle.host_reads {
            host_barrier(&self.device, cb, lane);
        }
        // SAFETY: `cb` is recording and owned by the bundle, under the state lock.
        if let Err(e) = unsafe { self.device.end_command_buffer(cb) } {
            let e = Error::vulkan("vkEndCommandBuffer", e);
            queue.discard(st, bundle);
            queue.break_queued(st, &e);
            return Err(e);
        }
        let covers = st.open.as_ref().map_or(ticket, |o| o.first_ticket - 1);
        st.to_submit.push_back(Pending { command_buffer: cb, lane, signal: ticket, covers, waits });
        st.transfer_in_flight.push_back(bundle);
        queue.transfer_pending.store(st.transfer_in_flight.len() as u64, Ordering::Release);
        Ok(ticket)
    }

    /// Where a submission that also computes is split across the lanes:
    /// `(head, tail)` such that `ops[..head]` are writes from registered host
    /// memory for the upload lane, `ops[tail..]` reads into registered host
    /// memory for the download lane, and what lies between (not empty) runs on
    /// the compute queue, each part moving at least `transfer_min_bytes` (a
    /// part that does not stays with the compute part). `None`: not split, as
    /// without transfer lanes, with timestamps (a part would be timed alone),
    /// or where the in-flight bound is below a ticket per part (the caller
    /// makes room for them all).
    pub(crate) fn split_for(&self, ops: &[Op<'_>], plan: &Plan, flags: SubmitFlags) -> Option<Split> {
        if self.queue.lanes.is_empty() || flags.timestamps || flags.op_timestamps {
            return None;
        }
        let (mut head, mut head_bytes) = (0, 0u64);
        while let Some(Op::Write { data, .. }) = ops.get(head) {
            // With the upload kernel, registered writes stay with the compute part.
            if plan.direct[head].is_none() || self.upload_kernel.is_some() {
                break;
            }
            head_bytes += data.len() as u64;
            head += 1;
        }
        let (mut tail, mut tail_bytes) = (ops.len(), 0u64);
        while tail > head {
            let Op::Read { dst, .. } = &ops[tail - 1] else { break };
            if plan.direct[tail - 1].is_none() {
                break;
            }
            tail_bytes += dst.len() as u64;
            tail -= 1;
        }
        if head_bytes < self.transfer_min_bytes.max(1) {
            head = 0;
        }
        // With a single transfer lane the download part would sit on the
        // upload lane waiting for the kernel, and the next chunk's upload
        // behind it: the reads then stay with the compute part (unless the
        // upload kernel does the uploads, on the compute queue).
        if tail_bytes < self.transfer_min_bytes.max(1) || (self.queue.lanes.len() < 2 && self.upload_kernel.is_none()) {
            tail = ops.len();
        }
        let parts = 1 + u64::from(head > 0) + u64::from(tail < ops.len());
        (parts > 1 && head < tail && parts <= self.max_in_flight).then_some(Split { head, tail, parts })
    }

    /// `submit` for a submission split by `split_for`: the upload part on its
    /// lane, the compute part, the download part on its lane, each a ticket
    /// of its own (in that order, so they complete in that order); the last
    /// is returned, and covers the whole. The parts are ordered by the same
    /// buffer hazards as any submissions, and recorded under one hold of the
    /// lock, so no other submission comes between them. What the parts need
    /// that can run out is obtained first (`split_parts`), so running out
    /// changes nothing; an error after a part was recorded (a driver failing
    /// to begin or end a command buffer) breaks the executor, as an error
    /// handing work to the queue does: no part of it runs.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn submit_split(
        &self,
        mut st: MutexGuard<'_, State>,
        ops: &[Op<'_>],
        flags: SubmitFlags,
        barriers: bool,
        whole: Plan,
        split: Split,
    ) -> Result<u64> {
        let queue = &*self.queue;
        st.scratch_plan = whole;
        let before = st.last_ticket;
        let ticket = match self.split_parts(&mut st, ops, flags, barriers, split.head, split.tail) {
            Ok(t) => t,
            Err(e) => {
                if st.last_ticket > before {
                    queue.break_queued(&mut st, &e);
                }
                return Err(e);
            }
        };
        st.stats.split_submissions += 1;
        MutexGuard::unlocked(&mut st, || queue.drain())?;
        Ok(ticket)
    }

    /// The parts of `submit_split`, recorded in order; the last one's ticket.
    fn split_parts(
        &self,
        st: &mut MutexGuard<'_, State>,
        ops: &[Op<'_>],
        flags: SubmitFlags,
        barriers: bool,
        head: usize,
        tail: usize,
    ) -> Result<u64> {
        let queue = &*self.queue;
        let plan_of = |st: &State, part: &[Op<'_>]| {
            let mut plan = Plan::default();
            self.plan_into(st, part, &mut plan).map(|()| plan)
        };
        let last = if tail < ops.len() { queue.lanes.len() } else { 0 };
        // What can fail for want of memory is obtained before the first part is
        // recorded, so that such a failure changes nothing: every part's plan,
        // the middle's descriptor sets and staging, a command buffer per part.
        let head_plan = plan_of(st, &ops[..head])?;
        let mut plan = plan_of(st, &ops[head..tail])?;
        let tail_plan = plan_of(st, &ops[tail..])?;
        self.prepare_sets(st, &ops[head..tail], &mut plan)?;
        // (Taken, then all returned: the transfer lanes may share one free list.)
        let mut reserved = [(0, vk::CommandBuffer::null()); 3];
        let mut taken = Ok(());
        for (slot, lane) in reserved.iter_mut().zip([(head > 0).then_some(1), Some(0), (last > 0).then_some(last)]) {
            if let Some(lane) = lane {
                match self.queue.take_command_buffer(st, lane) {
                    Ok(cb) => *slot = (lane, cb),
                    Err(e) => {
                        taken = Err(e);
                        break;
                    }
                }
            }
        }
        for (lane, cb) in reserved.into_iter().filter(|&(_, cb)| cb != vk::CommandBuffer::null()) {
            st.recycle_command_buffer(lane, cb);
        }
        taken?;
        let staged = self.stage(st, &ops[head..tail], &plan)?;
        if head > 0 {
            // Compute work the upload follows is closed first, so that it is
            // handed to its queue before the upload that waits for it.
            let deps = self.cross_lane_deps(st, &head_plan.uses, 1);
            let closed = if st.open.as_ref().is_some_and(|o| o.first_ticket <= deps[0]) { queue.close_bundle(st) } else { Ok(()) };
            if let Err(e) = closed.and_then(|()| self.record_transfer(st, 1, &ops[..head], flags, &head_plan, barriers)) {
                self.free_staging(st, staged.buffers);
                return Err(e);
            }
        }
        let ticket = self.submit_compute(st, &ops[head..tail], flags, barriers, None, plan, last > 0, Some(staged))?;
        if last == 0 {
            return Ok(ticket);
        }
        self.record_transfer(st, last, &ops[tail..], flags, &tail_plan, barriers)
    }

    /// `wait` with transfer lanes: wait until `ticket` and every ticket before
    /// it are complete (each lane up to its last ticket at or before `ticket`).
    pub(crate) fn wait_lanes(&self, ticket: u64, timeout_ns: u64) -> Result<bool> {
        let start = Instant::now();
        loop {
            let targets = {
                let mut st = self.queue.state.lock();
                if let Some(e) = &st.broken {
                    return Err(e.clone());
                }
                let reached = self.reached(&st)?;
                self.retire(&mut st, reached);
                if reached >= ticket {
                    return Ok(true);
                }
                let mut targets = [(0usize, 0u64); LANES];
                let mut n = 0;
                if let Some(b) = st.in_flight.iter().rev().find(|b| b.first_ticket <= ticket) {
                    targets[n] = (0, b.last_ticket);
                    n += 1;
                }
                for lane in 1..=self.queue.lanes.len() {
                    let last = st.transfer_in_flight.iter().rev().find(|b| b.lane == lane && b.last_ticket <= ticket);
                    if let Some(b) = last {
                        targets[n] = (lane, b.last_ticket);
                        n += 1;
                    }
                }
                (targets, n)
            };
            let (targets, n) = targets;
            let elapsed = start.elapsed().as_nanos() as u64;
            if !self.queue.wait_all(&targets[..n], self.spin_ns, timeout_ns.saturating_sub(elapsed))? {
                return Ok(false);
            }
        }
    }
}
