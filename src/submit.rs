//! Recording ops into a command buffer, with the barriers their buffers need,
//! submitting it, and the tickets that say when it is done.

use std::sync::atomic::Ordering;

use ash::vk;

use crate::error::{bail, Error, ErrorKind, Result};
use crate::executor::{invalid_buffer, invalid_kernel, BufferId, Executor, KernelId, State};
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
    /// `submit` returns.
    Write { buffer: BufferId, offset: u64, data: &'a [u8] },
    /// Copy `dst.len()` bytes of the buffer at `offset` into host memory.
    Read { buffer: BufferId, offset: u64, dst: HostDst },
    /// Copy between buffers (regions of one buffer must not overlap).
    Copy { src: BufferId, src_offset: u64, dst: BufferId, dst_offset: u64, size: u64 },
    /// Fill `size` bytes (or `WHOLE_SIZE`) at `offset` with a 32-bit pattern;
    /// offset and size are multiples of 4.
    Fill { buffer: BufferId, offset: u64, size: u64, value: u32 },
    /// Run a kernel: `buffers[i]` binds to binding `i`.
    Dispatch { kernel: KernelId, buffers: &'a [BufferId], push_constants: &'a [u8], groups: [u32; 3] },
}

/// Options of one submission.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubmitFlags {
    /// Write GPU timestamps at the start and end of the submission.
    pub timestamps: bool,
}

/// A submitted command buffer and what its completion releases.
pub(crate) struct InFlight {
    pub ticket: u64,
    pub command_buffer: vk::CommandBuffer,
    pub staging: Vec<RawBuffer>,
    /// (index into `staging`, offset there, destination)
    pub reads: Vec<(usize, usize, HostDst)>,
    pub query: Option<u32>,
    pub host_submit_ns: u64,
}

impl InFlight {
    /// Copy completed reads from staging into the callers' memory.
    pub fn deliver_reads(&mut self) {
        for &(index, offset, dst) in &self.reads {
            let Some(src) = self.staging.get_mut(index).and_then(|s| s.mapped()) else { continue };
            let Some(src) = src.get(offset..offset + dst.len) else { continue };
            // SAFETY: `HostDst::new`'s contract keeps `dst` valid and unaliased until
            // this delivery; the staging range was bounds-checked just above.
            unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.ptr, dst.len) };
        }
        self.reads.clear();
    }
}

/// A buffer as one op uses it.
#[derive(Clone, Copy)]
struct Use {
    id: BufferId,
    raw: vk::Buffer,
    read: bool,
    write: bool,
}

/// Buffers the host can see through a mapping.
fn host_visible(st: &State, id: BufferId) -> bool {
    st.buffers.get(id.0).is_some_and(|b| b.kind != BufferKind::DeviceLocal)
}

/// Accesses since the last barrier in the command buffer being recorded.
#[derive(Default)]
struct Hazards {
    touched: Vec<(vk::Buffer, bool, bool)>,
}

impl Hazards {
    /// Would `uses` conflict with accesses since the last barrier?
    fn conflicts(&self, uses: &[Use]) -> bool {
        uses.iter().any(|u| {
            self.touched
                .iter()
                .any(|&(raw, read, write)| raw == u.raw && (write || (u.write && read)))
        })
    }

    fn record(&mut self, uses: &[Use]) {
        for u in uses {
            match self.touched.iter_mut().find(|(raw, _, _)| *raw == u.raw) {
                Some(t) => {
                    t.1 |= u.read;
                    t.2 |= u.write;
                }
                None => self.touched.push((u.raw, u.read, u.write)),
            }
        }
    }
}

const SHADER_OR_TRANSFER: vk::PipelineStageFlags2 = vk::PipelineStageFlags2::from_raw(
    vk::PipelineStageFlags2::COMPUTE_SHADER.as_raw() | vk::PipelineStageFlags2::ALL_TRANSFER.as_raw(),
);

impl Executor {
    /// Record `ops` into one command buffer and submit it; returns the ticket at
    /// once. On error nothing was submitted and nothing changed.
    pub fn submit(&self, ops: &[Op<'_>], flags: SubmitFlags) -> Result<u64> {
        self.submit_inner(ops, flags, true)
    }

    pub(crate) fn submit_inner(&self, ops: &[Op<'_>], flags: SubmitFlags, barriers: bool) -> Result<u64> {
        let mut state = self.state.lock();
        // Bound the work in flight: wait (without the lock) for the oldest.
        while state.in_flight.len() >= self.max_in_flight {
            let reached = self.gpu_progress()?;
            self.retire(&mut state, reached);
            if let Some(oldest) = state.in_flight.front().map(|f| f.ticket) {
                drop(state);
                self.wait_gpu(oldest, u64::MAX)?;
                state = self.state.lock();
            }
        }
        let st = &mut *state;
        let plan = self.plan(st, ops)?;
        let timestamps = flags.timestamps && st.query_pool != vk::QueryPool::null();

        // Staging: one host-visible buffer for all writes, one for all reads.
        let mut staging = Vec::new();
        let write_base = self.stage_writes(st, ops, plan.write_bytes, &mut staging)?;
        let read_base = match self.alloc_staging(st, plan.read_bytes, BufferKind::Readback, &mut staging) {
            Ok(i) => i,
            Err(e) => {
                self.free_staging(st, staging);
                return Err(e);
            }
        };

        let command_buffer = match self.take_command_buffer(st) {
            Ok(cb) => cb,
            Err(e) => {
                self.free_staging(st, staging);
                return Err(e);
            }
        };
        let query = if timestamps { st.free_queries.pop() } else { None };
        let ticket = st.last_ticket + 1;
        let mut reads = Vec::new();
        let recorded = self.record(
            st,
            command_buffer,
            ops,
            &plan,
            Recording { staging: &staging, write_base, read_base, query, barriers },
            &mut reads,
        );
        let submitted = recorded.and_then(|()| self.queue_submit(command_buffer, ticket));
        if let Err(e) = submitted {
            st.free_commands.push(command_buffer);
            if let Some(q) = query {
                st.free_queries.push(q);
            }
            self.free_staging(st, staging);
            return Err(e);
        }

        // Submitted: commit the new state.
        st.last_ticket = ticket;
        self.issued.store(ticket, Ordering::Release);
        for u in &plan.uses {
            if let Some(b) = st.buffers.get_mut(u.id.0) {
                b.last_access = ticket;
                if u.write {
                    b.last_write = ticket;
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
        st.in_flight.push_back(InFlight {
            ticket,
            command_buffer,
            staging,
            reads,
            query,
            host_submit_ns: self.host_ns(),
        });
        Ok(ticket)
    }

    /// Check every op against its buffers and kernel before anything is recorded.
    fn plan(&self, st: &State, ops: &[Op<'_>]) -> Result<Plan> {
        let mut plan = Plan::default();
        for (i, op) in ops.iter().enumerate() {
            let start = plan.uses.len();
            let context = |e: Error| Error::new(e.kind, format!("op {i}: {}", e.message));
            match *op {
                Op::Write { buffer, offset, data } => {
                    let raw = range(st, buffer, offset, data.len() as u64).map_err(context)?;
                    plan.uses.push(Use { id: buffer, raw, read: false, write: true });
                    plan.write_bytes += align16(data.len() as u64);
                }
                Op::Read { buffer, offset, dst } => {
                    if dst.ptr.is_null() && dst.len > 0 {
                        return Err(context(Error::new(ErrorKind::NullArgument, "read destination is null")));
                    }
                    let raw = range(st, buffer, offset, dst.len as u64).map_err(context)?;
                    plan.uses.push(Use { id: buffer, raw, read: true, write: false });
                    plan.read_bytes += align16(dst.len as u64);
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
                    plan.uses.push(Use { id: src, raw: s, read: true, write: false });
                    plan.uses.push(Use { id: dst, raw: d, read: false, write: true });
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
                    plan.uses.push(Use { id: buffer, raw, read: false, write: true });
                }
                Op::Dispatch { kernel, buffers, push_constants, groups } => {
                    self.check_dispatch(st, kernel, buffers, push_constants, groups).map_err(context)?;
                    let interface = &st.kernels.get(kernel.0).ok_or_else(|| invalid_kernel(kernel))?.interface;
                    for (b, access) in buffers.iter().zip(&interface.bindings) {
                        let raw = st.buffers.get(b.0).ok_or_else(|| context(invalid_buffer(*b)))?.buffer.raw;
                        plan.uses.push(Use { id: *b, raw, read: access.read, write: access.write });
                    }
                }
            }
            plan.op_uses.push(start..plan.uses.len());
        }
        Ok(plan)
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

    fn alloc_staging(&self, st: &mut State, bytes: u64, kind: BufferKind, staging: &mut Vec<RawBuffer>) -> Result<usize> {
        if bytes == 0 {
            return Ok(usize::MAX);
        }
        let name = if kind == BufferKind::Readback { "gpuasync staging (reads)" } else { "gpuasync staging (writes)" };
        let allocator = st.allocator.as_mut().ok_or_else(|| Error::new(ErrorKind::Internal, "no allocator"))?;
        staging.push(memory::create_buffer(&self.device, allocator, bytes, kind, name)?);
        Ok(staging.len() - 1)
    }

    /// Copy every write's bytes into one staging buffer; returns its index.
    fn stage_writes(&self, st: &mut State, ops: &[Op<'_>], bytes: u64, staging: &mut Vec<RawBuffer>) -> Result<usize> {
        let index = self.alloc_staging(st, bytes, BufferKind::HostVisible, staging)?;
        if index == usize::MAX {
            return Ok(index);
        }
        let Some(mapped) = staging[index].mapped() else {
            let staging = std::mem::take(staging);
            self.free_staging(st, staging);
            bail!(Internal, "staging memory is not mapped");
        };
        let mut at = 0usize;
        for op in ops {
            if let Op::Write { data, .. } = op {
                mapped[at..at + data.len()].copy_from_slice(data);
                at += align16(data.len() as u64) as usize;
            }
        }
        Ok(index)
    }

    fn free_staging(&self, st: &mut State, staging: Vec<RawBuffer>) {
        if let Some(allocator) = st.allocator.as_mut() {
            for s in staging {
                memory::destroy_buffer(&self.device, allocator, s);
            }
        }
    }

    fn take_command_buffer(&self, st: &mut State) -> Result<vk::CommandBuffer> {
        if let Some(cb) = st.free_commands.pop() {
            return Ok(cb);
        }
        let info = vk::CommandBufferAllocateInfo::default()
            .command_pool(st.command_pool)
            .level(vk::CommandBufferLevel::PRIMARY)
            .command_buffer_count(1);
        // SAFETY: the pool is externally synchronised by the state lock.
        let cbs = unsafe { self.device.allocate_command_buffers(&info) }
            .map_err(|e| Error::vulkan("vkAllocateCommandBuffers", e))?;
        cbs.into_iter().next().ok_or_else(|| Error::new(ErrorKind::Internal, "no command buffer returned"))
    }

    fn barrier(&self, cb: vk::CommandBuffer, src: vk::PipelineStageFlags2, src_access: vk::AccessFlags2, dst: vk::PipelineStageFlags2, dst_access: vk::AccessFlags2) {
        let barrier = [vk::MemoryBarrier2::default()
            .src_stage_mask(src)
            .src_access_mask(src_access)
            .dst_stage_mask(dst)
            .dst_access_mask(dst_access)];
        let info = vk::DependencyInfo::default().memory_barriers(&barrier);
        // SAFETY: `cb` is in the recording state, owned by this submission.
        unsafe { self.device.cmd_pipeline_barrier2(cb, &info) };
    }

    /// The barrier between accesses to the same buffer: writes by copies, fills and
    /// shaders made visible to later reads and writes by the same.
    fn buffer_barrier(&self, cb: vk::CommandBuffer) {
        self.barrier(
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

    fn record(
        &self,
        st: &State,
        cb: vk::CommandBuffer,
        ops: &[Op<'_>],
        plan: &Plan,
        rec: Recording<'_>,
        reads: &mut Vec<(usize, usize, HostDst)>,
    ) -> Result<()> {
        let d = &self.device;
        let begin = vk::CommandBufferBeginInfo::default().flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT);
        // SAFETY: `cb` is idle (fresh or retired) and its pool allows resets.
        unsafe { d.begin_command_buffer(cb, &begin) }.map_err(|e| Error::vulkan("vkBeginCommandBuffer", e))?;
        if let Some(q) = rec.query {
            // SAFETY: queries `q, q+1` belong to this submission alone.
            unsafe {
                d.cmd_reset_query_pool(cb, st.query_pool, q, 2);
                d.cmd_write_timestamp2(cb, vk::PipelineStageFlags2::TOP_OF_PIPE, st.query_pool, q);
            }
        }
        // Earlier submissions on this queue may still touch these buffers: one
        // conservative barrier orders this submission after them where they share one.
        let after_earlier = plan.uses.iter().any(|u| {
            st.buffers
                .get(u.id.0)
                .is_some_and(|b| (u.read && b.last_write > 0) || (u.write && b.last_access > 0))
        });
        if rec.barriers && after_earlier {
            self.buffer_barrier(cb);
        }

        let mut hazards = Hazards::default();
        let mut write_at = 0u64;
        let mut read_at = 0u64;
        let mut bound = vk::Pipeline::null();
        for (op, uses) in ops.iter().zip(&plan.op_uses) {
            let uses = &plan.uses[uses.clone()];
            if rec.barriers && hazards.conflicts(uses) {
                self.buffer_barrier(cb);
                hazards = Hazards::default();
            }
            hazards.record(uses);
            match *op {
                Op::Write { offset, data, .. } => {
                    if !data.is_empty() {
                        let region = [vk::BufferCopy { src_offset: write_at, dst_offset: offset, size: data.len() as u64 }];
                        // SAFETY: both buffers are live and the ranges were checked in `plan`.
                        unsafe { d.cmd_copy_buffer(cb, rec.staging[rec.write_base].raw, uses[0].raw, &region) };
                    }
                    write_at += align16(data.len() as u64);
                }
                Op::Read { offset, dst, .. } => {
                    if !dst.is_empty() {
                        let region = [vk::BufferCopy { src_offset: offset, dst_offset: read_at, size: dst.len as u64 }];
                        // SAFETY: as above.
                        unsafe { d.cmd_copy_buffer(cb, uses[0].raw, rec.staging[rec.read_base].raw, &region) };
                        reads.push((rec.read_base, read_at as usize, dst));
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
                Op::Dispatch { kernel, push_constants, groups, .. } => {
                    let k = st.kernels.get(kernel.0).ok_or_else(|| invalid_kernel(kernel))?;
                    if bound != k.pipeline.raw {
                        // SAFETY: the pipeline is live (kernel resolved above).
                        unsafe { d.cmd_bind_pipeline(cb, vk::PipelineBindPoint::COMPUTE, k.pipeline.raw) };
                        bound = k.pipeline.raw;
                    }
                    let infos: Vec<[vk::DescriptorBufferInfo; 1]> = uses
                        .iter()
                        .map(|u| [vk::DescriptorBufferInfo { buffer: u.raw, offset: 0, range: vk::WHOLE_SIZE }])
                        .collect();
                    let writes: Vec<_> = infos
                        .iter()
                        .enumerate()
                        .map(|(i, info)| {
                            vk::WriteDescriptorSet::default()
                                .dst_binding(i as u32)
                                .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                                .buffer_info(info)
                        })
                        .collect();
                    // SAFETY: the writes match the kernel's push-descriptor set layout
                    // (binding count checked in `plan`); all buffers are live.
                    unsafe {
                        if !writes.is_empty() {
                            self.push_descriptor.cmd_push_descriptor_set(
                                cb,
                                vk::PipelineBindPoint::COMPUTE,
                                k.pipeline.layout,
                                0,
                                &writes,
                            );
                        }
                        if !push_constants.is_empty() {
                            d.cmd_push_constants(cb, k.pipeline.layout, vk::ShaderStageFlags::COMPUTE, 0, push_constants);
                        }
                        d.cmd_dispatch(cb, groups[0], groups[1], groups[2]);
                    }
                }
            }
        }
        if !reads.is_empty() || plan.uses.iter().any(|u| u.write && host_visible(st, u.id)) {
            // Make the staging copies (and writes to mapped buffers) visible to the
            // host: a semaphore wait alone does not.
            self.barrier(
                cb,
                SHADER_OR_TRANSFER,
                vk::AccessFlags2::SHADER_STORAGE_WRITE | vk::AccessFlags2::TRANSFER_WRITE,
                vk::PipelineStageFlags2::HOST,
                vk::AccessFlags2::HOST_READ,
            );
        }
        if let Some(q) = rec.query {
            // SAFETY: as for the first timestamp.
            unsafe { d.cmd_write_timestamp2(cb, vk::PipelineStageFlags2::BOTTOM_OF_PIPE, st.query_pool, q + 1) };
        }
        // SAFETY: `cb` is recording.
        unsafe { d.end_command_buffer(cb) }.map_err(|e| Error::vulkan("vkEndCommandBuffer", e))
    }

    fn queue_submit(&self, cb: vk::CommandBuffer, ticket: u64) -> Result<()> {
        let cbs = [vk::CommandBufferSubmitInfo::default().command_buffer(cb)];
        let signal = [vk::SemaphoreSubmitInfo::default()
            .semaphore(self.timeline)
            .value(ticket)
            .stage_mask(vk::PipelineStageFlags2::ALL_COMMANDS)];
        let submit = [vk::SubmitInfo2::default().command_buffer_infos(&cbs).signal_semaphore_infos(&signal)];
        // SAFETY: the queue is externally synchronised by the state lock; `ticket`
        // is greater than every value signalled before (tickets grow under the lock).
        unsafe { self.device.queue_submit2(self.queue, &submit, vk::Fence::null()) }
            .map_err(|e| Error::vulkan("vkQueueSubmit2", e))
    }

    /// Record two fills of one buffer with no barrier between them: a
    /// write-after-write hazard that synchronization validation must report. Tests
    /// call it to prove validation is really on; the GPU result is harmless.
    #[doc(hidden)]
    pub fn validation_canary(&self) -> Result<()> {
        let buffer = self.create_buffer(256, BufferKind::DeviceLocal)?;
        let fill = |value| Op::Fill { buffer, offset: 0, size: WHOLE_SIZE, value };
        let ticket = self.submit_inner(&[fill(1), fill(2)], SubmitFlags::default(), false);
        let waited = ticket.and_then(|t| self.wait(t, u64::MAX));
        self.destroy_buffer(buffer)?;
        waited.map(|_| ())
    }
}

#[derive(Default)]
struct Plan {
    uses: Vec<Use>,
    op_uses: Vec<std::ops::Range<usize>>,
    write_bytes: u64,
    read_bytes: u64,
}

struct Recording<'a> {
    staging: &'a [RawBuffer],
    write_base: usize,
    read_base: usize,
    query: Option<u32>,
    barriers: bool,
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
