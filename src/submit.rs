//! Recording ops into a command buffer, with the barriers their buffers need,
//! handing it to the queue, and the tickets that say when it is done.
//!
//! Coalesced submission: every `submit` records into the executor's open
//! command buffer (a `Bundle`). A lone submission to an idle GPU is handed to
//! the queue at once (latency). While the GPU is busy, the bundle stays open for
//! more; the flusher thread hands it over as soon as the GPU is down to its last
//! bundle, a poll or wait that needs one of its tickets hands it over at once,
//! and so does reaching `MAX_BUNDLE_SUBMISSIONS`. ("Its last bundle" is the
//! default `GPUASYNC_FLUSH_DEPTH` of 2: fewer than that many pending.) So the GPU never idles while
//! work is pending, no work waits for a later call, and the submitting thread
//! does not pay for vkQueueSubmit2 while the GPU is busy. Each separate command
//! buffer costs the GPU microseconds; a dispatch inside one, a fraction of one.
//! A ticket completes when its whole bundle does (the queue signals the bundle's
//! last ticket), never before its own work. With a handoff time (experimental,
//! `GPUASYNC_HANDOFF_NS`), the flusher stays awake that long after it worked and
//! takes over the hand-over to an idle GPU too (see `Queue::flusher_loop`).
//!
//! Barriers: inside a bundle, one memory barrier between ops with a real hazard
//! on a buffer (read-after-write, write-after-read, write-after-write), none
//! between independent ops. Across bundles (one queue, submission order), a
//! barrier before the first op that touches a buffer an earlier bundle used with
//! a hazard; one such barrier orders everything after it behind all earlier
//! bundles.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::Ordering;

use ash::vk;

use parking_lot::MutexGuard;

use crate::error::{bail, Error, ErrorKind, Result};
use crate::executor::{invalid_buffer, invalid_kernel, teardown, BufferId, Executor, KernelId, Queue, State, LANES};
use crate::descriptors::DescriptorMode;
use crate::host;
use crate::memory::{self, BufferKind, RawBuffer};

/// Fill or read to the end of the buffer.
pub const WHOLE_SIZE: u64 = u64::MAX;

/// Host memory that a read fills when its ticket is first seen complete.
#[derive(Clone, Copy, Debug)]
pub struct HostDst {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: a `HostDst` is only written through by the executor while the caller's
// promise (see `HostDst::new`) holds; the pointer itself is plain data.
unsafe impl Send for HostDst {}
// SAFETY: as above; `&HostDst` gives no access to the memory.
unsafe impl Sync for HostDst {}

impl HostDst {
    /// # Safety
    /// `ptr` must be valid for writes of `len` bytes from the submit until a poll or
    /// wait first reports the read's ticket complete (or the executor is dropped),
    /// and nothing else may access that memory in between.
    pub unsafe fn new(ptr: *mut u8, len: usize) -> Self {
        Self { ptr, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// One step of a submission.
#[derive(Clone, Copy, Debug)]
pub enum Op<'a> {
    /// Copy `data` into the buffer at `offset`. The bytes are copied before
    /// `submit` returns, unless `data` lies inside registered host memory
    /// (`Executor::register_host`): then the GPU copies it directly, and it must
    /// not be modified until the ticket completes.
    Write { buffer: BufferId, offset: u64, data: &'a [u8] },
    /// Copy `dst.len()` bytes of the buffer at `offset` into host memory
    /// (directly, with no staging, when `dst` lies inside registered host memory).
    Read { buffer: BufferId, offset: u64, dst: HostDst },
    /// Copy between buffers (regions of one buffer must not overlap).
    Copy { src: BufferId, src_offset: u64, dst: BufferId, dst_offset: u64, size: u64 },
    /// Fill `size` bytes (or `WHOLE_SIZE`) at `offset` with a 32-bit pattern;
    /// offset and size are multiples of 4.
    Fill { buffer: BufferId, offset: u64, size: u64, value: u32 },
    /// Run a kernel: `buffers[i]` binds to binding `i`.
    Dispatch { kernel: KernelId, buffers: &'a [BufferId], push_constants: &'a [u8], groups: [u32; 3] },
    /// A built-in operation (`Builtin`): expands into one or two dispatches of
    /// an embedded kernel, ordered like any other dispatch.
    Builtin(&'a crate::builtin::Builtin),
}

/// Options of one submission.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubmitFlags {
    /// Write GPU timestamps at the start and end of the submission.
    pub timestamps: bool,
    /// Return `WouldBlock` instead of waiting when the executor is at its bound of
    /// submissions in flight or of staging memory in flight.
    pub no_block: bool,
    /// Also time every op (implies `timestamps`; see `Executor::op_timing`).
    /// Each op's timestamps wait for all earlier work, so the ops of the
    /// submission run one after another while it is on.
    pub op_timestamps: bool,
}

/// A closed bundle waiting for `Queue::drain`.
pub(crate) struct Pending {
    pub command_buffer: vk::CommandBuffer,
    /// The lane whose queue runs it (0: compute, see `executor::LANES`).
    pub lane: usize,
    /// The value it signals on its lane's timeline: its last ticket.
    pub signal: u64,
    /// Once it is handed over, every ticket up to this one has been.
    pub covers: u64,
    /// Per lane, a value of that lane's timeline to wait for first (0: none).
    pub waits: [u64; LANES],
}

/// A bundle goes to the queue when it holds this many submissions.
const MAX_BUNDLE_SUBMISSIONS: u32 = 256;

/// A closed bundle's hazard map is kept for the next one up to this capacity.
const MAX_SPARE_HAZARDS: usize = 1024;

/// A command buffer of one or more submissions, open for recording or handed to
/// the queue; what its completion releases.
pub(crate) struct Bundle {
    pub command_buffer: vk::CommandBuffer,
    /// The lane it runs on (0: the compute queue).
    pub lane: usize,
    /// Per lane, the timeline value it waits for before it starts (0: none).
    pub waits: [u64; LANES],
    /// Tickets `first_ticket..=last_ticket` live in this bundle; the queue signals
    /// `last_ticket` when it is done, so all complete together.
    pub first_ticket: u64,
    pub last_ticket: u64,
    pub submissions: u32,
    hazards: Hazards,
    /// A barrier in this bundle already orders what follows after all earlier bundles.
    pub ordered_after_earlier: bool,
    bound_pipeline: vk::Pipeline,
    /// The descriptor set (and layout) bound last, to skip binding it again.
    bound_set: vk::DescriptorSet,
    bound_layout: vk::PipelineLayout,
    /// The host reads something this bundle writes (reads, mapped buffers).
    pub host_reads: bool,
    pub staging: Vec<RawBuffer>,
    /// (index into `staging`, offset there, destination)
    pub reads: Vec<(usize, usize, HostDst)>,
    /// Staging bytes charged to the executor's budget for this bundle.
    pub staging_charge: u64,
    /// (ticket, first of its two queries, host submit time, whether the pair
    /// returns to the executor's pool at retire)
    pub queries: Vec<(u64, u32, u64, bool)>,
    /// Per-op timestamps: (ticket, first of the op's two queries, the caller's
    /// op index); the pairs return to the pool at retire.
    pub op_queries: Vec<(u64, u32, u32)>,
    /// The command buffer returns to the free list at retire (false for a
    /// recorded batch's, which the batch keeps).
    pub recycle: bool,
}

impl Bundle {
    /// A bundle recorded into `cb` (begun already), whose first ticket is `ticket`.
    pub(crate) fn begun(cb: vk::CommandBuffer, ticket: u64) -> Bundle {
        Bundle {
            command_buffer: cb,
            lane: 0,
            waits: [0; LANES],
            first_ticket: ticket,
            last_ticket: ticket,
            submissions: 0,
            hazards: Hazards::default(),
            ordered_after_earlier: false,
            bound_pipeline: vk::Pipeline::null(),
            bound_set: vk::DescriptorSet::null(),
            bound_layout: vk::PipelineLayout::null(),
            host_reads: false,
            staging: Vec::new(),
            staging_charge: 0,
            reads: Vec::new(),
            queries: Vec::new(),
            op_queries: Vec::new(),
            recycle: true,
        }
    }

    /// The in-flight record of a recorded batch's replay: its command buffer
    /// belongs to the batch and is not recycled.
    pub(crate) fn replay(command_buffer: vk::CommandBuffer, ticket: u64) -> Self {
        Self { submissions: 1, ordered_after_earlier: true, recycle: false, ..Self::begun(command_buffer, ticket) }
    }

    /// Copy completed reads from staging into the callers' memory.
    pub fn deliver_reads(&mut self) {
        for &(index, offset, dst) in &self.reads {
            let Some(src) = self.staging.get_mut(index).and_then(|s| s.mapped()) else { continue };
            let Some(src) = src.get(offset..offset + dst.len) else { continue };
            // SAFETY: `HostDst::new`'s contract keeps `dst` valid for writes of
            // `len` bytes (possibly uninitialized) and unaliased until this delivery.
            unsafe { memory::parallel_copy(dst.ptr, src) };
        }
        self.reads.clear();
    }
}

/// A buffer as one op uses it.
#[derive(Clone, Copy)]
pub(crate) struct Use {
    pub id: BufferId,
    raw: vk::Buffer,
    read: bool,
    pub write: bool,
    /// `raw` is a registered host range's buffer (`id` is then null).
    pub host: bool,
}

impl Use {
    fn buffer(id: BufferId, raw: vk::Buffer, read: bool, write: bool) -> Self {
        Self { id, raw, read, write, host: false }
    }
}

/// Staging buffers of one submission (`Executor::stage`), and where its writes'
/// and reads' regions start in them.
pub(crate) struct Staged {
    pub buffers: Vec<RawBuffer>,
    pub write_base: Option<usize>,
    pub read_base: Option<usize>,
}

/// Accesses since the last barrier in the command buffer being recorded: which
/// buffers were read and which written. A hash map (keyed by the raw handle, with
/// a multiplicative hash: handles are distinct integers) keeps a bundle of a
/// thousand independent submissions linear, not quadratic.
#[derive(Default)]
pub(crate) struct Hazards {
    touched: HashMap<u64, (bool, bool), BuildHasherDefault<HandleHasher>>,
}

impl Hazards {
    /// Would `uses` conflict with accesses since the last barrier?
    fn conflicts(&self, uses: &[Use]) -> bool {
        uses.iter().any(|u| {
            self.touched
                .get(&vk::Handle::as_raw(u.raw))
                .is_some_and(|&(read, write)| write || (u.write && read))
        })
    }

    fn record(&mut self, uses: &[Use]) {
        for u in uses {
            let t = self.touched.entry(vk::Handle::as_raw(u.raw)).or_default();
            t.0 |= u.read;
            t.1 |= u.write;
        }
    }

    fn clear(&mut self) {
        self.touched.clear();
    }
}

/// Hashes one u64 (a Vulkan handle) by a multiply: enough for distinct handles.
#[derive(Default)]
struct HandleHasher(u64);

impl Hasher for HandleHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01B3);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (v ^ (v >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

const SHADER_OR_TRANSFER: vk::PipelineStageFlags2 = vk::PipelineStageFlags2::from_raw(
    vk::PipelineStageFlags2::COMPUTE_SHADER.as_raw() | vk::PipelineStageFlags2::ALL_TRANSFER.as_raw(),
);

fn barrier(
    device: &ash::Device,
    cb: vk::CommandBuffer,
    src: vk::PipelineStageFlags2,
    src_access: vk::AccessFlags2,
    dst: vk::PipelineStageFlags2,
    dst_access: vk::AccessFlags2,
) {
    let barrier = [vk::MemoryBarrier2::default()
        .src_stage_mask(src)
        .src_access_mask(src_access)
        .dst_stage_mask(dst)
        .dst_access_mask(dst_access)];
    let info = vk::DependencyInfo::default().memory_barriers(&barrier);
    // SAFETY: `cb` is in the recording state, owned by the open bundle under the lock.
    unsafe { device.cmd_pipeline_barrier2(cb, &info) };
}

/// Make staging copies and writes to mapped buffers visible to the host, which
/// reads them after the ticket completes: a semaphore wait alone does not.
/// A transfer lane's queue knows no shader stages: it names transfers alone.
pub(crate) fn host_barrier(device: &ash::Device, cb: vk::CommandBuffer, lane: usize) {
    let (stages, access) = if lane == 0 {
        (SHADER_OR_TRANSFER, vk::AccessFlags2::SHADER_STORAGE_WRITE | vk::AccessFlags2::TRANSFER_WRITE)
    } else {
        (vk::PipelineStageFlags2::ALL_TRANSFER, vk::AccessFlags2::TRANSFER_WRITE)
    };
    barrier(device, cb, stages, access, vk::PipelineStageFlags2::HOST, vk::AccessFlags2::HOST_READ);
}

/// The barrier a recorded batch begins with: all earlier work on its buffers.
pub(crate) fn leading_barrier(device: &ash::Device, cb: vk::CommandBuffer) {
    buffer_barrier(device, cb, 0);
}

/// The barrier between accesses to the same buffer: writes by copies, fills and
/// shaders made visible to later reads and writes by the same (on a transfer
/// lane, by copies and fills alone).
pub(crate) fn buffer_barrier(device: &ash::Device, cb: vk::CommandBuffer, lane: usize) {
    if lane != 0 {
        let transfer = vk::PipelineStageFlags2::ALL_TRANSFER;
        let access = vk::AccessFlags2::TRANSFER_READ | vk::AccessFlags2::TRANSFER_WRITE;
        return barrier(device, cb, transfer, vk::AccessFlags2::TRANSFER_WRITE, transfer, access);
    }
    barrier(
        device,
        cb,
        SHADER_OR_TRANSFER,
        vk::AccessFlags2::SHADER_STORAGE_WRITE | vk::AccessFlags2::TRANSFER_WRITE,
        SHADER_OR_TRANSFER,
        vk::AccessFlags2::SHADER_STORAGE_READ
            | vk::AccessFlags2::SHADER_STORAGE_WRITE
            | vk::AccessFlags2::TRANSFER_READ
            | vk::AccessFlags2::TRANSFER_WRITE,
    );
}

impl State {
    /// The (last write, last access) tickets of the buffer or registered host
    /// range a use names.
    pub(crate) fn tickets_of(&self, u: &Use) -> Option<(u64, u64)> {
        if u.host {
            self.hosts.iter().find(|h| h.raw == u.raw).map(|h| (h.last_write, h.last_access))
        } else {
            self.buffers.get(u.id.0).map(|b| (b.last_write, b.last_access))
        }
    }
}

thread_local! {
    /// Set on the flusher thread, to count the queue submissions it makes.
    static ON_FLUSHER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Remove the bundle of `lane` that signals `ticket` from its in-flight list.
fn take_bundle(st: &mut State, lane: usize, ticket: u64) -> Option<Bundle> {
    let list = if lane == 0 { &mut st.in_flight } else { &mut st.transfer_in_flight };
    let i = list.iter().position(|b| b.last_ticket == ticket)?;
    list.remove(i)
}

impl Queue {
    /// Lane `lane`'s queue and timeline (lane 0: the compute queue).
    pub(crate) fn lane(&self, lane: usize) -> (vk::Queue, vk::Semaphore) {
        match lane.checked_sub(1).and_then(|i| self.lanes.get(i)) {
            Some(l) => (l.raw, l.timeline),
            None => (self.raw, self.timeline),
        }
    }

    /// The value the GPU's timeline has reached.
    pub(crate) fn progress(&self) -> Result<u64> {
        // SAFETY: the semaphore is a live timeline semaphore of this device.
        unsafe { self.device.get_semaphore_counter_value(self.timeline) }
            .map_err(|e| Error::vulkan("vkGetSemaphoreCounterValue", e))
    }

    /// Sleep in the driver until the timeline reaches `ticket` or the timeout
    /// passes (`Ok(false)`). Called without the state lock.
    pub(crate) fn wait_for(&self, ticket: u64, timeout_ns: u64) -> Result<bool> {
        let semaphores = [self.timeline];
        let values = [ticket];
        let info = vk::SemaphoreWaitInfo::default().semaphores(&semaphores).values(&values);
        // SAFETY: the semaphore is live; the info points at live locals.
        match unsafe { self.device.wait_semaphores(&info, timeout_ns) } {
            Ok(()) => Ok(true),
            Err(vk::Result::TIMEOUT) => Ok(false),
            Err(e) => Err(Error::vulkan("vkWaitSemaphores", e)),
        }
    }

    /// How many bundles handed over (or queued to be) the GPU has not finished.
    fn bundles_pending(&self, st: &State) -> Result<usize> {
        let progress = self.progress()?;
        Ok(st.in_flight.iter().rev().take_while(|b| b.last_ticket > progress).count())
    }

    /// Close the open bundle and queue it for the GPU; `drain` hands it over. Split
    /// in two so that the slow vkQueueSubmit2 (microseconds) runs without the state
    /// lock, while bundles still reach the queue in ticket order.
    pub(crate) fn close_bundle(&self, st: &mut State) -> Result<()> {
        let Some(mut bundle) = st.open.take() else { return Ok(()) };
        let cb = bundle.command_buffer;
        // Closed bundles record nothing more: their hazard map serves the next,
        // unless it grew large (clearing it at every barrier costs its capacity).
        let mut hazards = std::mem::take(&mut bundle.hazards);
        if hazards.touched.capacity() <= MAX_SPARE_HAZARDS {
            hazards.clear();
            st.spare_hazards = hazards;
        }
        if bundle.host_reads {
            host_barrier(&self.device, cb, 0);
        }
        let start = std::time::Instant::now();
        // SAFETY: `cb` is recording and owned by the bundle, under the state lock.
        let ended = unsafe { self.device.end_command_buffer(cb) };
        self.end_ns.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        if let Err(e) = ended {
            let e = Error::vulkan("vkEndCommandBuffer", e);
            self.discard(st, bundle);
            self.break_queued(st, &e);
            return Err(e);
        }
        st.to_submit.push_back(Pending {
            command_buffer: cb,
            lane: 0,
            signal: bundle.last_ticket,
            covers: st.last_ticket,
            waits: bundle.waits,
        });
        st.in_flight.push_back(bundle);
        Ok(())
    }

    /// Hand every closed bundle to the queue, in order. Never called with the
    /// state lock held (lock order: submission lock, then state lock).
    pub(crate) fn drain(&self) -> Result<()> {
        let _queue = self.submit_lock.lock();
        loop {
            let next = {
                let mut st = self.state.lock();
                if let Some(e) = st.broken.clone() {
                    // Nothing more goes to the queue: what waits would signal values
                    // past the lost tickets and make them look complete.
                    self.break_queued(&mut st, &e);
                    return Err(e);
                }
                st.to_submit.pop_front()
            };
            let Some(next) = next else { return Ok(()) };
            if let Err(e) = self.hand_over(&next) {
                let mut st = self.state.lock();
                return Err(self.hand_over_failed(&mut st, &next, e));
            }
        }
    }

    /// `drain` for a caller that holds both the submission lock (`_queue`, its
    /// guard) and the state lock, and keeps them: the bundles reach the queue
    /// with no other submission able to come between (chunked writes).
    pub(crate) fn drain_held(&self, _queue: &MutexGuard<'_, ()>, st: &mut State) -> Result<()> {
        if let Some(e) = st.broken.clone() {
            self.break_queued(st, &e);
            return Err(e);
        }
        while let Some(next) = st.to_submit.pop_front() {
            if let Err(e) = self.hand_over(&next) {
                return Err(self.hand_over_failed(st, &next, e));
            }
        }
        Ok(())
    }

    /// vkQueueSubmit2 of one closed bundle. The caller holds the submission lock
    /// and took `next` from the front of `to_submit`.
    fn hand_over(&self, next: &Pending) -> std::result::Result<(), vk::Result> {
        let (cb, ticket) = (next.command_buffer, next.signal);
        let cbs = [vk::CommandBufferSubmitInfo::default().command_buffer(cb)];
        let (raw, timeline) = self.lane(next.lane);
        let signal = [vk::SemaphoreSubmitInfo::default()
            .semaphore(timeline)
            .value(ticket)
            .stage_mask(vk::PipelineStageFlags2::ALL_COMMANDS)];
        let mut waits = [vk::SemaphoreSubmitInfo::default(); LANES];
        let mut n = 0;
        for (lane, &value) in next.waits.iter().enumerate() {
            if value > 0 {
                waits[n] = vk::SemaphoreSubmitInfo::default()
                    .semaphore(self.lane(lane).1)
                    .value(value)
                    .stage_mask(vk::PipelineStageFlags2::ALL_COMMANDS);
                n += 1;
            }
        }
        let submit = [vk::SubmitInfo2::default()
            .wait_semaphore_infos(&waits[..n])
            .command_buffer_infos(&cbs)
            .signal_semaphore_infos(&signal)];
        // SAFETY: `cb` is executable; every queue is externally synchronised by
        // the submission lock; bundles leave `to_submit` in ticket order on each
        // lane, so `ticket` is above every value its lane signalled before, and
        // every value waited for was signalled by a submission handed over
        // earlier (dependencies point at bundles closed before this one).
        let start = std::time::Instant::now();
        unsafe { self.device.queue_submit2(raw, &submit, vk::Fence::null()) }?;
        self.queue_submit_ns.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.submitted.fetch_max(next.covers, Ordering::AcqRel);
        self.queue_submissions.fetch_add(1, Ordering::Relaxed);
        if ON_FLUSHER.get() {
            self.flusher_submissions.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// `next` could not be handed over: its tickets and every later one can
    /// never complete. Break the executor; the error to report.
    fn hand_over_failed(&self, st: &mut State, next: &Pending, e: vk::Result) -> Error {
        let ticket = next.signal;
        let e = Error::vulkan("vkQueueSubmit2", e);
        let e = Error::new(e.kind, format!("{}; tickets from {ticket} on can never complete", e.message));
        st.broken = Some(e.clone());
        self.broken.store(true, Ordering::Release);
        if let Some(bundle) = take_bundle(st, next.lane, ticket) {
            self.discard(st, bundle);
        }
        self.break_queued(st, &e);
        e
    }

    /// The executor is broken: drop every bundle not yet handed to the queue
    /// (the open one and those waiting in `to_submit`). None of them ran; their
    /// reads are never delivered.
    pub(crate) fn break_queued(&self, st: &mut State, e: &Error) {
        if st.broken.is_none() {
            st.broken = Some(e.clone());
        }
        self.broken.store(true, Ordering::Release);
        let lost: Vec<(usize, u64)> = st.to_submit.drain(..).map(|p| (p.lane, p.signal)).collect();
        for (lane, ticket) in lost {
            if let Some(bundle) = take_bundle(st, lane, ticket) {
                self.discard(st, bundle);
            }
        }
        self.transfer_pending.store(st.transfer_in_flight.len() as u64, Ordering::Release);
        if let Some(open) = st.open.take() {
            // SAFETY: the open bundle's command buffer is recording and owned by
            // it; ending it lets the pool reset it later.
            let _ = unsafe { self.device.end_command_buffer(open.command_buffer) };
            self.discard(st, open);
        }
    }

    /// Free a bundle that never reached the queue: its command buffer (unless a
    /// batch owns it), staging, and pooled queries.
    pub(crate) fn discard(&self, st: &mut State, bundle: Bundle) {
        if bundle.recycle {
            st.recycle_command_buffer(bundle.lane, bundle.command_buffer);
        }
        for &(_, base, _, pooled) in &bundle.queries {
            if pooled {
                st.free_queries.push(base);
            }
        }
        for &(_, base, _) in &bundle.op_queries {
            st.free_queries.push(base);
        }
        st.staging_in_use -= bundle.staging_charge;
        if let Some(allocator) = st.allocator.as_mut() {
            for staging in bundle.staging {
                st.staging_pool.give(&self.device, allocator, staging);
            }
        }
    }

    /// The state lock, for a submission: when another thread holds it, the
    /// wait is counted (`Stats::state_lock_waits`, `state_lock_wait_ns`).
    pub(crate) fn lock_counted(&self) -> MutexGuard<'_, State> {
        if let Some(st) = self.state.try_lock() {
            return st;
        }
        let start = std::time::Instant::now();
        let st = self.state.lock();
        self.lock_wait_ns.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.lock_waits.fetch_add(1, Ordering::Relaxed);
        st
    }

    /// Begin recording `cb` (timed in `Stats::begin_command_buffer_ns`). The
    /// caller holds the state lock, which guards the command pools.
    pub(crate) fn begin_command_buffer(&self, cb: vk::CommandBuffer, usage: vk::CommandBufferUsageFlags) -> Result<()> {
        let begin = vk::CommandBufferBeginInfo::default().flags(usage);
        let start = std::time::Instant::now();
        // SAFETY: `cb` is idle (fresh, retired, or a batch's with no replay in
        // flight), its pool allows resets, and the caller holds the state lock.
        let begun = unsafe { self.device.begin_command_buffer(cb, &begin) };
        self.begin_ns.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        begun.map_err(|e| Error::vulkan("vkBeginCommandBuffer", e))
    }

    /// With `prebegin` on, begin the next compute bundle's command buffer now
    /// (on the flusher, after a hand-over), so that the submission that opens
    /// the bundle only records.
    fn prebegin_next(&self, st: &mut State) {
        if !self.prebegin || st.ready.is_some() || st.broken.is_some() {
            return;
        }
        let begun = self.take_command_buffer(st, 0).and_then(|cb| {
            self.begin_command_buffer(cb, vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT).map(|()| cb).inspect_err(|_| {
                st.free_commands.push(cb);
            })
        });
        match begun {
            Ok(cb) => st.ready = Some(cb),
            Err(e) => eprintln!("gpuasync: flusher: {e}"),
        }
    }

    /// A command buffer for `lane`: from its pool's free list, else a new one
    /// (transfer lanes have a pool of their own when their family differs).
    pub(crate) fn take_command_buffer(&self, st: &mut State, lane: usize) -> Result<vk::CommandBuffer> {
        let own = lane != 0 && st.transfer_pool != vk::CommandPool::null();
        let (pool, free) = if own { (st.transfer_pool, &mut st.transfer_free) } else { (st.command_pool, &mut st.free_commands) };
        if let Some(cb) = free.pop() {
            return Ok(cb);
        }
        let info = vk::CommandBufferAllocateInfo::default()
            .command_pool(pool)
            .level(vk::CommandBufferLevel::PRIMARY)
            .command_buffer_count(1);
        // SAFETY: the pools are externally synchronised by the state lock.
        let cbs = unsafe { self.device.allocate_command_buffers(&info) }
            .map_err(|e| Error::vulkan("vkAllocateCommandBuffers", e))?;
        cbs.into_iter().next().ok_or_else(|| Error::new(ErrorKind::Internal, "no command buffer returned"))
    }

    /// Wake the flusher if it sleeps (counted in `Stats::flusher_wakes`).
    pub(crate) fn wake_flusher(&self) {
        if self.wake.notify_one() {
            self.flusher_wakes.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Close the open bundle and hand it over: the whole flush, for callers that
    /// hold the state lock (it is released around the queue submission).
    pub(crate) fn flush(&self, st: &mut MutexGuard<'_, State>) -> Result<()> {
        self.close_bundle(st)?;
        MutexGuard::unlocked(st, || self.drain())
    }

    /// Spin on the GPU's progress up to `spin_ns`, then sleep in the driver until
    /// it reaches `ticket` or `timeout_ns` has passed in all.
    pub(crate) fn spin_then_wait(&self, ticket: u64, spin_ns: u64, timeout_ns: u64) -> Result<bool> {
        let start = std::time::Instant::now();
        let spin = spin_ns.min(timeout_ns);
        while self.progress()? < ticket {
            let elapsed = start.elapsed().as_nanos() as u64;
            if elapsed >= spin {
                return self.wait_for(ticket, timeout_ns.saturating_sub(elapsed));
            }
            // About 0.2-0.5 us between queries, so spinning does not hammer the driver.
            for _ in 0..64 {
                std::hint::spin_loop();
            }
        }
        Ok(true)
    }

    /// The flusher thread: hands the open bundle to the GPU when the GPU is down
    /// to its last bundle, so work never waits for a later call, and the threads
    /// that submit never pay for vkQueueSubmit2 while the GPU is busy. It submits
    /// only; it never touches user memory (reads are delivered by poll and wait).
    ///
    /// With a handoff time (`handoff_ns`), it also stays awake that long after
    /// it handed a bundle over or was woken, watching for fresh bundles: a
    /// submission to an idle GPU made meanwhile only records, and the flusher
    /// pays for vkQueueSubmit2 on its own core.
    pub(crate) fn flusher_loop(self: std::sync::Arc<Self>) {
        ON_FLUSHER.set(true);
        let mut st = self.state.lock();
        let mut watch = false;
        while !self.shutdown.load(Ordering::Acquire) {
            if st.broken.is_some() {
                self.wake.wait(&mut st);
                continue;
            }
            if st.open.is_none() {
                if watch && self.handoff_ns > 0 {
                    watch = self.watch(&mut st);
                } else {
                    self.wake.wait(&mut st);
                    watch = true;
                }
                continue;
            }
            match self.bundles_pending(&st) {
                Ok(pending) if pending < self.flush_depth => {
                    match self.flush(&mut st) {
                        Ok(()) => {
                            self.flusher_flushes.fetch_add(1, Ordering::Relaxed);
                            self.prebegin_next(&mut st);
                        }
                        Err(e) => eprintln!("gpuasync: flusher: {e}"),
                    }
                    watch = true;
                }
                Ok(_) => {
                    // Wait until fewer than `flush_depth` bundles are pending; bounded
                    // so that shutdown is noticed.
                    let target = st.in_flight[st.in_flight.len() - self.flush_depth].last_ticket;
                    let spin = self.flusher_spin_ns;
                    // Never wait for a value whose bundle is not handed over yet: drain
                    // first (it also waits out a drain in progress on another thread).
                    let waited = MutexGuard::unlocked(&mut st, || {
                        self.drain()?;
                        self.spin_then_wait(target, spin, 2_000_000)
                    });
                    if let Err(e) = waited {
                        eprintln!("gpuasync: flusher: {e}");
                        self.wake.wait_for(&mut st, std::time::Duration::from_millis(2));
                    }
                }
                Err(e) => {
                    eprintln!("gpuasync: flusher: {e}");
                    self.wake.wait_for(&mut st, std::time::Duration::from_millis(2));
                }
            }
        }
    }
}

impl Queue {
    /// Spin, without the state lock, until a submission kicks (it left a fresh
    /// bundle for the flusher) or the handoff time passes. Returns whether it
    /// was kicked. `flusher_watching` changes only under the lock, and a kick
    /// is only given while it is set, so a bundle left for the flusher is
    /// always seen: by the kick, or open when the flusher takes the lock back.
    fn watch(&self, st: &mut MutexGuard<'_, State>) -> bool {
        st.flusher_watching = true;
        let start = std::time::Instant::now();
        let limit = std::time::Duration::from_nanos(self.handoff_ns);
        let kicked = MutexGuard::unlocked(st, || loop {
            if self.kick.swap(false, Ordering::AcqRel) {
                return true;
            }
            if self.shutdown.load(Ordering::Acquire) || start.elapsed() >= limit {
                return false;
            }
            for _ in 0..64 {
                std::hint::spin_loop();
            }
        });
        st.flusher_watching = false;
        self.kick.store(false, Ordering::Release);
        kicked
    }
}

impl Executor {
    /// Record `ops` as one submission and return its ticket at once. An error
    /// found in the ops changes nothing. An error handing work to the queue
    /// breaks the executor (every later call reports it) and drops the work not
    /// yet handed over, this submission's included: nothing of it will land in
    /// the caller's memory.
    pub fn submit(&self, ops: &[Op<'_>], flags: SubmitFlags) -> Result<u64> {
        if ops.iter().any(|op| matches!(op, Op::Builtin(_))) {
            return self.with_expanded(ops, |ops, _, origin| self.submit_traced(ops, flags, Some(origin)));
        }
        self.submit_traced(ops, flags, None)
    }

    fn submit_traced(&self, ops: &[Op<'_>], flags: SubmitFlags, origin: Option<&[usize]>) -> Result<u64> {
        if !self.tracing.load(Ordering::Relaxed) {
            return self.submit_inner(ops, flags, true, origin);
        }
        let start = self.host_ns();
        let ticket = self.submit_inner(ops, SubmitFlags { timestamps: true, ..flags }, true, origin);
        self.trace_host("submit", start, *ticket.as_ref().unwrap_or(&0));
        ticket
    }

    /// `ops` with every built-in op replaced by the dispatches that carry it out,
    /// for each given op its index in the new list (`usize::MAX` for a built-in
    /// op), and for each new op the given op it comes from.
    pub(crate) fn with_expanded<R>(
        &self,
        ops: &[Op<'_>],
        f: impl FnOnce(&[Op<'_>], &[usize], &[usize]) -> Result<R>,
    ) -> Result<R> {
        let mut expanded = Vec::new();
        let mut spans = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            if let Op::Builtin(b) = op {
                let start = expanded.len();
                self.expand_builtin(b, &mut expanded)
                    .map_err(|e| Error::new(e.kind, format!("op {i}: {}", e.message)))?;
                spans.push(Some(start..expanded.len()));
            } else {
                spans.push(None);
            }
        }
        let mut out = Vec::with_capacity(ops.len() + expanded.len());
        let mut index = Vec::with_capacity(ops.len());
        // For each op of `out`, the caller's op it came from, and for a
        // built-in's dispatches which of how many it is (for error messages).
        let mut origin = Vec::with_capacity(ops.len() + expanded.len());
        for (i, (op, span)) in ops.iter().zip(spans).enumerate() {
            match span {
                Some(r) => {
                    index.push(usize::MAX);
                    let parts = r.len();
                    origin.extend((0..parts).map(|j| (i, Some((j, parts)))));
                    out.extend(expanded[r].iter().map(crate::builtin::Expanded::as_op));
                }
                None => {
                    index.push(out.len());
                    origin.push((i, None));
                    out.push(*op);
                }
            }
        }
        let callers: Vec<usize> = origin.iter().map(|o| o.0).collect();
        f(&out, &index, &callers).map_err(|e| caller_op_numbers(e, &origin))
    }

    /// `origin[i]`: the caller's op that op i comes from (built-in ops expand to
    /// several), for per-op timings; `None`: the ops as given.
    pub(crate) fn submit_inner(&self, ops: &[Op<'_>], flags: SubmitFlags, barriers: bool, origin: Option<&[usize]>) -> Result<u64> {
        let queue = &*self.queue;
        // A large staged write, in chunks (experimental; never with the
        // setting off). It takes the locks itself.
        if let Some(chunk) = self.write_chunk(ops, flags) {
            if let Some(ticket) = self.submit_chunked(ops, flags, barriers, chunk)? {
                return Ok(ticket);
            }
        }
        let mut st = queue.lock_counted();
        if let Some(e) = &st.broken {
            return Err(e.clone());
        }
        // Check the ops first (their sizes are trusted from then on), then wait for
        // room; if that released the lock, check again: objects may be gone.
        // A submission split across the lanes takes a ticket per part: room
        // for all of them, so that a producer running at the bound keeps
        // splitting (the split is chosen again if the lock was released).
        let mut plan = std::mem::take(&mut st.scratch_plan);
        self.plan_into(&st, ops, &mut plan)?;
        let split = loop {
            let split = self.split_for(ops, &plan, flags);
            let tickets = split.map_or(1, |s| s.parts);
            if !self.make_room(&mut st, flags, plan.write_bytes + plan.read_bytes, tickets)? {
                break split;
            }
            self.plan_into(&st, ops, &mut plan)?;
        };
        let lane = self.lane_for(ops, &plan, flags);
        if lane != 0 {
            return self.submit_transfer(st, lane, ops, flags, plan, barriers);
        }
        if let Some(split) = split {
            return self.submit_split(st, ops, flags, barriers, plan, split);
        }
        self.submit_compute(&mut st, ops, flags, barriers, origin, plan, false, None)
    }

    /// Transfer-lane work that a compute submission of `plan` must follow: its
    /// bundle waits for it. A bundle that already holds submissions is closed
    /// first, so that they do not wait too (dependencies point at bundles closed
    /// earlier).
    fn close_before_waits(&self, st: &mut State, plan: &Plan) -> Result<()> {
        let waits = self.cross_lane_deps(st, &plan.uses, 0);
        if waits.iter().any(|&w| w > 0)
            && st.open.as_ref().is_some_and(|b| b.submissions > 0 && waits.iter().zip(&b.waits).any(|(w, o)| w > o))
        {
            self.queue.close_bundle(st)?;
        }
        Ok(())
    }

    /// The compute-queue part of `submit_inner`: record `ops` (planned as
    /// `plan`) into the open bundle. `close`: a later part of a split
    /// submission waits for this one, so its bundle is closed (queued for
    /// `Queue::drain`, which the caller does) instead of left open.
    /// `prepared`: the ops' staging, when the caller staged them and found
    /// their descriptor sets (`plan.sets`) already (a split submission does,
    /// before recording its first part).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn submit_compute(
        &self,
        st: &mut MutexGuard<'_, State>,
        ops: &[Op<'_>],
        flags: SubmitFlags,
        barriers: bool,
        origin: Option<&[usize]>,
        mut plan: Plan,
        close: bool,
        prepared: Option<Staged>,
    ) -> Result<u64> {
        let queue = &*self.queue;
        let timestamps = (flags.timestamps || flags.op_timestamps) && st.query_pool != vk::QueryPool::null();
        let op_timestamps = flags.op_timestamps && timestamps;
        let ready = if op_timestamps && st.free_queries.len() < ops.len() + 1 {
            Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "per-op timestamps for {} ops need {} query pairs; {} are free (the executor keeps max_in_flight pairs)",
                    ops.len(),
                    ops.len() + 1,
                    st.free_queries.len()
                ),
            ))
        } else if prepared.is_some() {
            self.close_before_waits(st, &plan)
        } else {
            self.prepare_sets(st, ops, &mut plan).and_then(|()| self.close_before_waits(st, &plan))
        };
        if let Err(e) = ready {
            if let Some(staged) = prepared {
                self.free_staging(st, staged.buffers);
            }
            return Err(e);
        }
        let waits = self.cross_lane_deps(st, &plan.uses, 0);

        let Staged { buffers: staging, write_base, read_base } = match prepared {
            Some(staged) => staged,
            None => self.stage(st, ops, &plan)?,
        };
        let ticket = st.last_ticket + 1;
        let mut bundle = match self.open_bundle(st, ticket) {
            Ok(b) => b,
            Err(e) => {
                self.free_staging(st, staging);
                return Err(e);
            }
        };

        let query = if timestamps { st.free_queries.pop() } else { None };
        // One pair per op (u32::MAX: none left, the op goes untimed).
        let op_queries: Vec<u32> =
            if op_timestamps { ops.iter().map(|_| st.free_queries.pop().unwrap_or(u32::MAX)).collect() } else { Vec::new() };
        let offset = bundle.staging.len();
        let rec = Recording { write_base: write_base.map(|i| (i, staging[i].raw)), read_base: read_base.map(|i| (i, staging[i].raw)), query, barriers, staging_offset: offset, reset_query: false, op_queries: op_timestamps.then_some(op_queries.as_slice()) };
        self.record(st, &mut bundle, ops, &plan, &rec);

        // Recorded: commit the new state.
        for (w, &new) in bundle.waits.iter_mut().zip(&waits) {
            *w = (*w).max(new);
        }
        self.commit(st, &mut bundle, ticket, ops, &plan, staging, query, &op_queries, origin);
        let full = bundle.submissions >= MAX_BUNDLE_SUBMISSIONS;
        let fresh = bundle.submissions == 1;
        st.open = Some(bundle);
        st.scratch_plan = plan;

        // A lone submission to an idle GPU goes at once (latency); while the GPU
        // is busy, the bundle stays open for more and the flusher hands it over
        // when the GPU is down to its last bundle (throughput, and the submitting
        // thread does not pay for vkQueueSubmit2).
        // From here on the submission is committed: a failure to hand it over
        // breaks the executor (its bundle is dropped, so nothing lands in the
        // caller's memory later) and is reported as this call's error.
        // With a handoff time, a flusher awake and watching takes the hand-over
        // instead, and one asleep is woken after this thread handed over, to
        // watch for the next submission.
        if close {
            queue.close_bundle(st)?;
        } else if full {
            queue.flush(st)?;
        } else if fresh && st.flusher_watching {
            queue.kick.store(true, Ordering::Release);
        } else if fresh && queue.bundles_pending(st).map_or(true, |p| p == 0) {
            queue.flush(st)?;
            if queue.handoff_ns > 0 {
                queue.wake_flusher();
            }
        } else if fresh {
            queue.wake_flusher();
        }
        Ok(ticket)
    }

    /// A recorded submission becomes part of `bundle` with `ticket`: the
    /// executor's ticket, statistics, staging charge, queries, and the tickets
    /// of every buffer and kernel it uses.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn commit(
        &self,
        st: &mut State,
        bundle: &mut Bundle,
        ticket: u64,
        ops: &[Op<'_>],
        plan: &Plan,
        staging: Vec<RawBuffer>,
        query: Option<u32>,
        op_queries: &[u32],
        origin: Option<&[usize]>,
    ) {
        st.last_ticket = ticket;
        self.queue.issued.store(ticket, Ordering::Release);
        bundle.last_ticket = ticket;
        bundle.submissions += 1;
        st.stats.bytes_written += plan.write_bytes_exact;
        st.stats.bytes_read += plan.read_bytes_exact;
        // The budget is charged what was asked for, and released the same at retire.
        let charge = plan.write_bytes + plan.read_bytes;
        st.staging_in_use += charge;
        bundle.staging_charge += charge;
        bundle.staging.extend(staging);
        if let Some(q) = query {
            bundle.queries.push((ticket, q, self.host_ns(), true));
        }
        for (i, &q) in op_queries.iter().enumerate() {
            if q != u32::MAX {
                let caller_op = origin.and_then(|o| o.get(i)).copied().unwrap_or(i);
                bundle.op_queries.push((ticket, q, caller_op as u32));
            }
        }
        for u in &plan.uses {
            if u.host {
                if let Some(h) = st.hosts.iter_mut().find(|h| h.raw == u.raw) {
                    h.last_access = ticket;
                    if u.write {
                        h.last_write = ticket;
                    }
                }
                continue;
            }
            if let Some(b) = st.buffers.get_mut(u.id.0) {
                b.last_access = ticket;
                if u.write {
                    b.last_write = ticket;
                    bundle.host_reads |= b.kind != BufferKind::DeviceLocal;
                }
            }
        }
        for op in ops {
            if let Op::Dispatch { kernel, .. } = op {
                if let Some(k) = st.kernels.get_mut(kernel.0) {
                    k.last_use = ticket;
                }
            }
        }
    }

    /// Wait (without the lock) until `tickets` more submissions fit under
    /// `max_in_flight` outstanding and `staging` more bytes fit the staging budget (a submission
    /// needing more than the whole budget runs when nothing else holds staging),
    /// or fail with `WouldBlock` if the caller may not block.
    /// Returns whether it released the lock on the way.
    pub(crate) fn make_room(&self, st: &mut MutexGuard<'_, State>, flags: SubmitFlags, staging: u64, tickets: u64) -> Result<bool> {
        let queue = &*self.queue;
        let fits = |st: &State| {
            st.last_ticket + tickets - queue.retired.load(Ordering::Acquire) <= self.max_in_flight
                && (staging == 0 || st.staging_in_use == 0 || st.staging_in_use + staging <= self.staging_budget)
        };
        let mut released = false;
        loop {
            if fits(st) {
                return Ok(released);
            }
            let reached = self.reached(st)?;
            self.retire(st, reached);
            if fits(st) {
                return Ok(released);
            }
            if flags.no_block {
                bail!(
                    WouldBlock,
                    "the executor is at its bound ({} submissions in flight at most, {} bytes of staging)",
                    self.max_in_flight,
                    self.staging_budget
                );
            }
            // The oldest unfinished work, of whichever lane (closing the open
            // bundle if that is it).
            let Some((lane, oldest)) = self.blocker(st)? else {
                // The GPU finished the rest since `reached` was read above.
                let reached = self.reached(st)?;
                self.retire(st, reached);
                if fits(st) {
                    return Ok(released);
                }
                return Err(Error::new(ErrorKind::Internal, "in-flight bound reached with nothing in flight"));
            };
            // Drain first: never wait for a value whose bundle is not handed over.
            released = true;
            MutexGuard::unlocked(st, || {
                queue.drain()?;
                queue.wait_all(&[(lane, oldest)], 0, u64::MAX)
            })?;
            if let Some(e) = &st.broken {
                return Err(e.clone());
            }
        }
    }

    /// The open bundle, or a new one beginning with `ticket`.
    fn open_bundle(&self, st: &mut State, ticket: u64) -> Result<Bundle> {
        if let Some(open) = st.open.take() {
            return Ok(open);
        }
        // One the flusher began ahead (`GPUASYNC_PREBEGIN`), else a fresh one.
        let mut bundle = match st.ready.take() {
            Some(cb) => Bundle::begun(cb, ticket),
            None => {
                let cb = self.queue.take_command_buffer(st, 0)?;
                self.begin_bundle(cb, ticket, vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT).inspect_err(|_| {
                    st.free_commands.push(cb);
                })?
            }
        };
        bundle.hazards = std::mem::take(&mut st.spare_hazards);
        Ok(bundle)
    }

    /// Begin recording `cb` as a bundle whose first ticket is `ticket`.
    pub(crate) fn begin_bundle(
        &self,
        cb: vk::CommandBuffer,
        ticket: u64,
        usage: vk::CommandBufferUsageFlags,
    ) -> Result<Bundle> {
        self.queue.begin_command_buffer(cb, usage)?;
        Ok(Bundle::begun(cb, ticket))
    }

    /// Check every op against its buffers and kernel before anything is recorded.
    pub(crate) fn plan(&self, st: &State, ops: &[Op<'_>]) -> Result<Plan> {
        let mut plan = Plan::default();
        self.plan_into(st, ops, &mut plan)?;
        Ok(plan)
    }

    /// `plan`, filling a reused `Plan` (no allocation on the hot path).
    pub(crate) fn plan_into(&self, st: &State, ops: &[Op<'_>], plan: &mut Plan) -> Result<()> {
        plan.uses.clear();
        plan.op_uses.clear();
        plan.direct.clear();
        plan.write_bytes = 0;
        plan.read_bytes = 0;
        plan.write_bytes_exact = 0;
        plan.read_bytes_exact = 0;
        for (i, op) in ops.iter().enumerate() {
            let start = plan.uses.len();
            let context = |e: Error| Error::new(e.kind, format!("op {i}: {}", e.message));
            let mut direct = None;
            match *op {
                Op::Write { buffer, offset, data } => {
                    let raw = range(st, buffer, offset, data.len() as u64).map_err(context)?;
                    plan.uses.push(Use::buffer(buffer, raw, false, true));
                    plan.write_bytes_exact += data.len() as u64;
                    if let Some(h) = host::find(&st.hosts, data.as_ptr() as usize, data.len()) {
                        // From registered memory: the GPU reads it, no staging.
                        let h = &st.hosts[h];
                        plan.uses.push(Use { id: BufferId(0), raw: h.raw, read: true, write: false, host: true });
                        direct = Some((data.as_ptr() as usize - h.start) as u64);
                    } else {
                        plan.write_bytes += align16(data.len() as u64);
                    }
                }
                Op::Read { buffer, offset, dst } => {
                    if dst.ptr.is_null() && dst.len > 0 {
                        return Err(context(Error::new(ErrorKind::NullArgument, "read destination is null")));
                    }
                    let raw = range(st, buffer, offset, dst.len as u64).map_err(context)?;
                    plan.uses.push(Use::buffer(buffer, raw, true, false));
                    plan.read_bytes_exact += dst.len as u64;
                    if let Some(h) = host::find(&st.hosts, dst.ptr as usize, dst.len) {
                        // Into registered memory: the GPU writes it, no delivery.
                        let h = &st.hosts[h];
                        plan.uses.push(Use { id: BufferId(0), raw: h.raw, read: false, write: true, host: true });
                        direct = Some((dst.ptr as usize - h.start) as u64);
                    } else {
                        plan.read_bytes += align16(dst.len as u64);
                    }
                }
                Op::Copy { src, src_offset, dst, dst_offset, size } => {
                    let s = range(st, src, src_offset, size).map_err(context)?;
                    let d = range(st, dst, dst_offset, size).map_err(context)?;
                    if s == d && src_offset < dst_offset + size && dst_offset < src_offset + size && size > 0 {
                        return Err(context(Error::new(
                            ErrorKind::InvalidArgument,
                            "copy source and destination overlap in the same buffer",
                        )));
                    }
                    plan.uses.push(Use::buffer(src, s, true, false));
                    plan.uses.push(Use::buffer(dst, d, false, true));
                }
                Op::Fill { buffer, offset, size, value: _ } => {
                    let total = st.buffers.get(buffer.0).ok_or_else(|| context(invalid_buffer(buffer)))?.buffer.size;
                    let size = if size == WHOLE_SIZE { total.saturating_sub(offset) & !3 } else { size };
                    if offset % 4 != 0 || size % 4 != 0 {
                        return Err(context(Error::new(
                            ErrorKind::InvalidArgument,
                            format!("fill offset ({offset}) and size ({size}) must be multiples of 4"),
                        )));
                    }
                    let raw = range(st, buffer, offset, size).map_err(context)?;
                    plan.uses.push(Use::buffer(buffer, raw, false, true));
                }
                Op::Dispatch { kernel, buffers, push_constants, groups } => {
                    self.check_dispatch(st, kernel, buffers, push_constants, groups).map_err(context)?;
                    let interface = &st.kernels.get(kernel.0).ok_or_else(|| invalid_kernel(kernel))?.interface;
                    for (b, access) in buffers.iter().zip(&interface.bindings) {
                        let raw = st.buffers.get(b.0).ok_or_else(|| context(invalid_buffer(*b)))?.buffer.raw;
                        plan.uses.push(Use::buffer(*b, raw, access.read, access.write));
                    }
                }
                // Expanded by `with_expanded` before any plan is made.
                Op::Builtin(_) => {
                    return Err(context(Error::new(ErrorKind::Internal, "built-in op reached the planner unexpanded")))
                }
            }
            plan.op_uses.push(start..plan.uses.len());
            plan.direct.push(direct);
        }
        Ok(())
    }

    fn check_dispatch(
        &self,
        st: &State,
        kernel: KernelId,
        buffers: &[BufferId],
        push_constants: &[u8],
        groups: [u32; 3],
    ) -> Result<()> {
        let k = st.kernels.get(kernel.0).ok_or_else(|| invalid_kernel(kernel))?;
        let want = k.interface.bindings.len();
        if buffers.len() != want {
            bail!(KernelMismatch, "kernel has {want} storage-buffer bindings, the dispatch passed {} buffers", buffers.len());
        }
        let push = k.interface.push_constant_size as usize;
        if push_constants.len() != push {
            bail!(KernelMismatch, "kernel's push-constant block is {push} bytes, the dispatch passed {}", push_constants.len());
        }
        let max = self.limits.max_compute_work_group_count;
        for axis in 0..3 {
            if groups[axis] == 0 || groups[axis] > max[axis] {
                bail!(
                    KernelMismatch,
                    "group count {:?} is outside 1..={:?} on axis {}",
                    groups,
                    max,
                    ["x", "y", "z"][axis]
                );
            }
        }
        let limit = u64::from(self.limits.max_storage_buffer_range);
        for (i, b) in buffers.iter().enumerate() {
            let entry = st.buffers.get(b.0).ok_or_else(|| {
                Error::new(ErrorKind::InvalidHandle, format!("binding {i}: {}", invalid_buffer(*b).message))
            })?;
            if entry.buffer.size > limit {
                bail!(
                    KernelMismatch,
                    "binding {i}: buffer of {} bytes is larger than the device's maxStorageBufferRange ({limit})",
                    entry.buffer.size
                );
            }
        }
        Ok(())
    }

    /// A staging buffer of `bytes` (none for 0), pushed onto `staging`.
    pub(crate) fn alloc_staging(&self, st: &mut State, bytes: u64, kind: BufferKind, staging: &mut Vec<RawBuffer>) -> Result<Option<usize>> {
        if bytes == 0 {
            return Ok(None);
        }
        let allocator = st.allocator.as_mut().ok_or_else(teardown)?;
        staging.push(st.staging_pool.take(&self.device, allocator, bytes, kind, &self.sharing)?);
        Ok(Some(staging.len() - 1))
    }

    /// Copy every write's bytes into one staging buffer; returns its index.
    /// Writes from registered host memory (`plan.direct`) are not staged.
    pub(crate) fn stage_writes(&self, st: &mut State, ops: &[Op<'_>], plan: &Plan, staging: &mut Vec<RawBuffer>) -> Result<Option<usize>> {
        let Some(index) = self.alloc_staging(st, plan.write_bytes, BufferKind::HostVisible, staging)? else {
            return Ok(None);
        };
        let Some(mapped) = staging[index].mapped() else {
            let staging = std::mem::take(staging);
            self.free_staging(st, staging);
            bail!(Internal, "staging memory is not mapped");
        };
        let mut at = 0usize;
        for (op, direct) in ops.iter().zip(&plan.direct) {
            if let (Op::Write { data, .. }, None) = (op, direct) {
                let region = &mut mapped[at..at + data.len()];
                // SAFETY: `region` is a live, exclusively borrowed slice of data.len() bytes.
                unsafe { memory::parallel_copy(region.as_mut_ptr(), data) };
                at += align16(data.len() as u64) as usize;
            }
        }
        Ok(Some(index))
    }

    /// A submission's staging: one host-visible buffer holding every staged
    /// write's bytes (copied in here), one for every staged read.
    pub(crate) fn stage(&self, st: &mut State, ops: &[Op<'_>], plan: &Plan) -> Result<Staged> {
        #[cfg(debug_assertions)]
        if plan.write_bytes + plan.read_bytes > 0 && crate::testing::staging_fails() {
            bail!(OutOfDeviceMemory, "staging: device memory exhausted (injected by a test)");
        }
        let mut buffers = Vec::new();
        let write_base = self.stage_writes(st, ops, plan, &mut buffers)?;
        match self.alloc_staging(st, plan.read_bytes, BufferKind::Readback, &mut buffers) {
            Ok(read_base) => Ok(Staged { buffers, write_base, read_base }),
            Err(e) => {
                self.free_staging(st, buffers);
                Err(e)
            }
        }
    }

    pub(crate) fn free_staging(&self, st: &mut State, staging: Vec<RawBuffer>) {
        if let Some(allocator) = st.allocator.as_mut() {
            for s in staging {
                st.staging_pool.give(&self.device, allocator, s);
            }
        }
    }

    pub(crate) fn record(&self, st: &mut State, bundle: &mut Bundle, ops: &[Op<'_>], plan: &Plan, rec: &Recording) {
        let d = &self.device;
        let cb = bundle.command_buffer;
        if let Some(q) = rec.query {
            // SAFETY: queries `q, q+1` belong to this submission alone; they were
            // reset on the host at retire, or are reset here.
            unsafe {
                if rec.reset_query || !self.host_query_reset {
                    d.cmd_reset_query_pool(cb, st.query_pool, q, 2);
                }
                d.cmd_write_timestamp2(cb, vk::PipelineStageFlags2::TOP_OF_PIPE, st.query_pool, q);
            }
        }
        if rec.barriers && !bundle.ordered_after_earlier {
            // Earlier bundles may still touch these buffers: order this submission
            // after them where it shares a buffer with a hazard.
            let after_earlier = plan.uses.iter().any(|u| {
                st.tickets_of(u).is_some_and(|(last_write, last_access)| {
                    let conflict = if u.write { last_access } else { last_write };
                    conflict > 0 && conflict < bundle.first_ticket
                })
            });
            if after_earlier {
                buffer_barrier(d, cb, bundle.lane);
                bundle.ordered_after_earlier = true;
                bundle.hazards.clear();
            }
        }

        let mut write_at = 0u64;
        let mut read_at = 0u64;
        for (op_index, (op, uses)) in ops.iter().zip(&plan.op_uses).enumerate() {
            let uses = &plan.uses[uses.clone()];
            if rec.barriers && bundle.hazards.conflicts(uses) {
                buffer_barrier(d, cb, bundle.lane);
                bundle.ordered_after_earlier = true;
                bundle.hazards.clear();
            }
            bundle.hazards.record(uses);
            // Per-op timestamps: begin once everything before the op is done,
            // end once the op is (both at ALL_COMMANDS, so the op's span is the
            // time it adds in stream order).
            let op_query = rec.op_queries.and_then(|q| q.get(op_index)).copied().filter(|&q| q != u32::MAX);
            if let Some(q) = op_query {
                // SAFETY: queries `q, q+1` belong to this op alone; reset on the
                // host at retire, or here.
                unsafe {
                    if !self.host_query_reset {
                        d.cmd_reset_query_pool(cb, st.query_pool, q, 2);
                    }
                    d.cmd_write_timestamp2(cb, vk::PipelineStageFlags2::ALL_COMMANDS, st.query_pool, q);
                }
            }
            let direct = plan.direct.get(op_index).copied().flatten();
            match *op {
                Op::Write { offset, data, .. } if direct.is_some() => {
                    let (src_offset, size) = (direct.unwrap_or(0), data.len() as u64);
                    if bundle.lane == 0 && self.record_upload(bundle, uses[1].raw, uses[0].raw, src_offset, offset, size) {
                        st.stats.kernel_uploads += 1;
                    } else {
                        let region = [vk::BufferCopy { src_offset, dst_offset: offset, size }];
                        // SAFETY: the registered range's buffer holds `data` (found in
                        // `plan`) and stays alive until this ticket completes; the
                        // destination range was checked in `plan`.
                        unsafe { d.cmd_copy_buffer(cb, uses[1].raw, uses[0].raw, &region) };
                    }
                }
                Op::Read { offset, dst, .. } if direct.is_some() => {
                    let region = [vk::BufferCopy { src_offset: offset, dst_offset: direct.unwrap_or(0), size: dst.len as u64 }];
                    // SAFETY: as above, the other way.
                    unsafe { d.cmd_copy_buffer(cb, uses[0].raw, uses[1].raw, &region) };
                    bundle.host_reads = true;
                }
                Op::Write { offset, data, .. } => {
                    if let (false, Some((_, staging))) = (data.is_empty(), rec.write_base) {
                        let region = [vk::BufferCopy { src_offset: write_at, dst_offset: offset, size: data.len() as u64 }];
                        // SAFETY: both buffers are live and the ranges were checked in `plan`.
                        unsafe { d.cmd_copy_buffer(cb, staging, uses[0].raw, &region) };
                    }
                    write_at += align16(data.len() as u64);
                }
                Op::Read { offset, dst, .. } => {
                    if let (false, Some((index, staging))) = (dst.is_empty(), rec.read_base) {
                        let region = [vk::BufferCopy { src_offset: offset, dst_offset: read_at, size: dst.len as u64 }];
                        // SAFETY: as above.
                        unsafe { d.cmd_copy_buffer(cb, uses[0].raw, staging, &region) };
                        bundle.reads.push((rec.staging_offset + index, read_at as usize, dst));
                        bundle.host_reads = true;
                    }
                    read_at += align16(dst.len as u64);
                }
                Op::Copy { src_offset, dst_offset, size, .. } => {
                    if size > 0 {
                        let region = [vk::BufferCopy { src_offset, dst_offset, size }];
                        // SAFETY: as above; overlap was rejected in `plan`.
                        unsafe { d.cmd_copy_buffer(cb, uses[0].raw, uses[1].raw, &region) };
                    }
                }
                Op::Fill { buffer, offset, size, value } => {
                    let total = st.buffers.get(buffer.0).map_or(0, |b| b.buffer.size);
                    let size = if size == WHOLE_SIZE { total.saturating_sub(offset) & !3 } else { size };
                    if size > 0 {
                        // SAFETY: as above; alignment was checked in `plan`.
                        unsafe { d.cmd_fill_buffer(cb, uses[0].raw, offset, size, value) };
                    }
                }
                // Expanded before planning; `plan` rejects it.
                Op::Builtin(_) => {}
                Op::Dispatch { kernel, push_constants, groups, .. } => 'dispatch: {
                    // Checked in `plan`; a missing kernel records nothing (and
                    // still gets its end timestamp below).
                    let Some(k) = st.kernels.get(kernel.0) else { break 'dispatch };
                    let (pipeline, layout) = (k.pipeline.raw, k.pipeline.layout);
                    if bundle.bound_pipeline != pipeline {
                        // SAFETY: the pipeline is live (checked in `plan`).
                        unsafe { d.cmd_bind_pipeline(cb, vk::PipelineBindPoint::COMPUTE, pipeline) };
                        bundle.bound_pipeline = pipeline;
                    }
                    let set = plan.sets.get(op_index).copied().unwrap_or_default();
                    self.bind_buffers(bundle, layout, set, uses);
                    // SAFETY: the push-constant size equals the kernel's block (checked
                    // in `plan`); group counts are within the device limits.
                    unsafe {
                        if !push_constants.is_empty() {
                            d.cmd_push_constants(cb, layout, vk::ShaderStageFlags::COMPUTE, 0, push_constants);
                        }
                        d.cmd_dispatch(cb, groups[0], groups[1], groups[2]);
                    }
                }
            }
            if let Some(q) = op_query {
                // SAFETY: as for the op's first timestamp.
                unsafe { d.cmd_write_timestamp2(cb, vk::PipelineStageFlags2::ALL_COMMANDS, st.query_pool, q + 1) };
            }
        }
        if let Some(q) = rec.query {
            // SAFETY: as for the first timestamp.
            unsafe { d.cmd_write_timestamp2(cb, vk::PipelineStageFlags2::BOTTOM_OF_PIPE, st.query_pool, q + 1) };
        }
    }

    /// Make sure every dispatch's descriptor set exists (cached mode), so that
    /// recording cannot fail after the submission is committed.
    pub(crate) fn prepare_sets(&self, st: &mut State, ops: &[Op<'_>], plan: &mut Plan) -> Result<()> {
        plan.sets.clear();
        if self.descriptor_mode == DescriptorMode::Push {
            return Ok(());
        }
        for (op, uses) in ops.iter().zip(&plan.op_uses) {
            let mut set = vk::DescriptorSet::null();
            if let Op::Dispatch { kernel, .. } = op {
                let uses = &plan.uses[uses.clone()];
                if let (false, Some(k)) = (uses.is_empty(), st.kernels.get(kernel.0)) {
                    let set_layout = k.pipeline.set_layout;
                    let mut raw = [vk::Buffer::null(); 32];
                    let heap: Vec<vk::Buffer>;
                    let list: &[vk::Buffer] = if uses.len() <= raw.len() {
                        for (r, u) in raw.iter_mut().zip(uses) {
                            *r = u.raw;
                        }
                        &raw[..uses.len()]
                    } else {
                        heap = uses.iter().map(|u| u.raw).collect();
                        &heap
                    };
                    set = st.set_cache.get(&self.device, set_layout, list)?;
                }
            }
            plan.sets.push(set);
        }
        Ok(())
    }

    /// Bind a dispatch's buffers the executor's way (see `descriptors`): the
    /// set `prepare_sets` found, unless it is bound already.
    fn bind_buffers(&self, bundle: &mut Bundle, layout: vk::PipelineLayout, set: vk::DescriptorSet, uses: &[Use]) {
        if self.descriptor_mode == DescriptorMode::Push || uses.is_empty() {
            return self.push_bindings(bundle.command_buffer, layout, uses);
        }
        if set == bundle.bound_set && layout == bundle.bound_layout {
            return;
        }
        // SAFETY: the set was made for this kernel's layout and its buffers are
        // live (checked in `plan`); the command buffer is recording.
        unsafe {
            self.device.cmd_bind_descriptor_sets(
                bundle.command_buffer,
                vk::PipelineBindPoint::COMPUTE,
                layout,
                0,
                &[set],
                &[],
            )
        };
        bundle.bound_set = set;
        bundle.bound_layout = layout;
    }

    /// Record a write of `size` bytes from registered host memory (`src` at
    /// `src_offset`) into `dst` at `dst_offset` as dispatches of the upload
    /// kernel (experimental, `GPUASYNC_UPLOAD_KERNEL`), on the compute queue
    /// (lane 0). False, with nothing recorded, where it does not apply: no
    /// upload kernel, or offsets not multiples of 16 bytes and of
    /// minStorageBufferOffsetAlignment, or a size not a multiple of 16 (a
    /// copy does those). Ranges above maxStorageBufferRange go in pieces.
    fn record_upload(&self, bundle: &mut Bundle, src: vk::Buffer, dst: vk::Buffer, src_offset: u64, dst_offset: u64, size: u64) -> bool {
        let Some(k) = &self.upload_kernel else { return false };
        let (pipeline, layout) = (k.pipeline.raw, k.pipeline.layout);
        let align = self.limits.min_storage_buffer_offset_alignment.max(16);
        if size == 0 || src_offset % align != 0 || dst_offset % align != 0 || size % 16 != 0 {
            return false;
        }
        let piece_max = u64::from(self.limits.max_storage_buffer_range).min(1 << 30) / align * align;
        if piece_max == 0 {
            return false;
        }
        let (d, cb) = (&self.device, bundle.command_buffer);
        if bundle.bound_pipeline != pipeline {
            // SAFETY: the upload kernel's pipeline lives as long as the executor.
            unsafe { d.cmd_bind_pipeline(cb, vk::PipelineBindPoint::COMPUTE, pipeline) };
            bundle.bound_pipeline = pipeline;
        }
        let mut done = 0;
        while done < size {
            let piece = (size - done).min(piece_max);
            let infos = [
                [vk::DescriptorBufferInfo { buffer: src, offset: src_offset + done, range: piece }],
                [vk::DescriptorBufferInfo { buffer: dst, offset: dst_offset + done, range: piece }],
            ];
            let writes = [0, 1].map(|b| {
                vk::WriteDescriptorSet::default()
                    .dst_binding(b as u32)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .buffer_info(&infos[b])
            });
            let words = piece / 16;
            let groups = words.div_ceil(256).min(u64::from(k.groups)).max(1) as u32;
            // SAFETY: both buffers are live storage buffers (registered ranges
            // are created with storage usage) holding these ranges (checked in
            // `plan`), offsets aligned and ranges within maxStorageBufferRange
            // (above); the layout is the kernel's push-descriptor layout, with 4
            // bytes of push constants; `cb` is recording on a compute queue.
            unsafe {
                self.push_descriptor.cmd_push_descriptor_set(cb, vk::PipelineBindPoint::COMPUTE, layout, 0, &writes);
                d.cmd_push_constants(cb, layout, vk::ShaderStageFlags::COMPUTE, 0, &(words as u32).to_le_bytes());
                d.cmd_dispatch(cb, groups, 1, 1);
            }
            done += piece;
        }
        // The pushed set took set 0 with another layout: a cached-mode
        // dispatch after it must bind its set again.
        bundle.bound_set = vk::DescriptorSet::null();
        bundle.bound_layout = layout;
        true
    }

    /// Bind a dispatch's buffers with push descriptors (no descriptor sets to
    /// allocate or cache), without allocating for up to 16 bindings.
    fn push_bindings(&self, cb: vk::CommandBuffer, layout: vk::PipelineLayout, uses: &[Use]) {
        const INLINE: usize = 16;
        if uses.is_empty() {
            return;
        }
        if uses.len() > INLINE {
            for (start, chunk) in (0..).step_by(INLINE).zip(uses.chunks(INLINE)) {
                self.push_binding_range(cb, layout, start, chunk);
            }
        } else {
            self.push_binding_range(cb, layout, 0, uses);
        }
    }

    fn push_binding_range(&self, cb: vk::CommandBuffer, layout: vk::PipelineLayout, first: u32, uses: &[Use]) {
        let mut infos = [[vk::DescriptorBufferInfo::default(); 1]; 16];
        let mut writes = [vk::WriteDescriptorSet::default(); 16];
        for (i, u) in uses.iter().enumerate() {
            infos[i][0] = vk::DescriptorBufferInfo { buffer: u.raw, offset: 0, range: vk::WHOLE_SIZE };
        }
        for (i, info) in infos.iter().take(uses.len()).enumerate() {
            writes[i] = vk::WriteDescriptorSet::default()
                .dst_binding(first + i as u32)
                .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                .buffer_info(info);
        }
        // SAFETY: the writes match the kernel's push-descriptor set layout (binding
        // count checked in `plan`); all buffers are live; `cb` is recording.
        unsafe {
            self.push_descriptor.cmd_push_descriptor_set(
                cb,
                vk::PipelineBindPoint::COMPUTE,
                layout,
                0,
                &writes[..uses.len()],
            )
        };
    }

    /// Record two fills of one buffer with no barrier between them: a
    /// write-after-write hazard that synchronization validation must report. Tests
    /// call it to prove validation is really on; the GPU result is harmless.
    #[doc(hidden)]
    pub fn validation_canary(&self) -> Result<()> {
        let buffer = self.create_buffer(256, BufferKind::DeviceLocal)?;
        let fill = |value| Op::Fill { buffer, offset: 0, size: WHOLE_SIZE, value };
        let ticket = self.submit_inner(&[fill(1), fill(2)], SubmitFlags::default(), false, None);
        let waited = ticket.and_then(|t| self.wait(t, u64::MAX));
        self.destroy_buffer(buffer)?;
        waited.map(|_| ())
    }
}

#[derive(Clone, Default)]
pub(crate) struct Plan {
    /// Per op, the descriptor set of a dispatch in cached mode (else null).
    pub sets: Vec<vk::DescriptorSet>,
    /// Bytes the writes and reads carry (the staging sizes above are aligned).
    pub write_bytes_exact: u64,
    pub read_bytes_exact: u64,
    pub uses: Vec<Use>,
    op_uses: Vec<std::ops::Range<usize>>,
    /// Per op, for a write or read wholly inside a registered host range, the
    /// offset of its host bytes in that range's buffer (the op's uses are then
    /// the device buffer and that buffer); else `None` (staged).
    pub direct: Vec<Option<u64>>,
    pub write_bytes: u64,
    pub read_bytes: u64,
}

pub(crate) struct Recording<'a> {
    /// (index in this submission's staging, raw buffer)
    pub write_base: Option<(usize, vk::Buffer)>,
    pub read_base: Option<(usize, vk::Buffer)>,
    pub query: Option<u32>,
    pub barriers: bool,
    /// Where this submission's staging buffers start in the bundle's list.
    pub staging_offset: usize,
    /// Reset the queries inside the command buffer (recorded batches replay it).
    pub reset_query: bool,
    /// Per-op timestamps: for op i, the first of its two queries.
    pub op_queries: Option<&'a [u32]>,
}

fn align16(n: u64) -> u64 {
    (n + 15) & !15
}

/// Resolve a buffer and check that `offset..offset+len` lies inside it.
fn range(st: &State, id: BufferId, offset: u64, len: u64) -> Result<vk::Buffer> {
    let entry = st.buffers.get(id.0).ok_or_else(|| invalid_buffer(id))?;
    let size = entry.buffer.size;
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(entry.buffer.raw),
        _ => bail!(OutOfRange, "range {offset}..{offset}+{len} does not fit in a buffer of {size} bytes"),
    }
}

/// An error about "op N" of an expanded op list, renumbered as the caller's op
/// (and which dispatch of a built-in op it concerns).
fn caller_op_numbers(e: Error, origin: &[(usize, Option<(usize, usize)>)]) -> Error {
    let Some(rest) = e.message.strip_prefix("op ") else { return e };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (Ok(n), Some(tail)) = (rest[..digits].parse::<usize>(), rest[digits..].strip_prefix(": ")) else { return e };
    match origin.get(n) {
        Some(&(i, None)) => Error::new(e.kind, format!("op {i}: {tail}")),
        Some(&(i, Some((j, parts)))) => {
            Error::new(e.kind, format!("op {i} (built-in, dispatch {} of {parts}): {tail}", j + 1))
        }
        None => e,
    }
}
