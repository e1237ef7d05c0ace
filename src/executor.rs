//! The executor: one Vulkan device, its compute queue and timeline semaphore,
//! and everything in flight on it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::Instant;

use ash::vk;
use gpu_allocator::vulkan::{Allocator, AllocatorCreateDesc};
use gpu_allocator::{AllocationSizes, AllocatorDebugSettings};
use parking_lot::{Mutex, MutexGuard};

use crate::device::{self, DeviceInfo, Instance};
use crate::error::{bail, Error, ErrorKind, Result};
use crate::kernel::{self, KernelInterface, Pipeline, SpecConstant};
use crate::memory::{self, BufferKind, RawBuffer};
use crate::slots::{Family, Slots};
use crate::submit::InFlight;
use crate::timing::{Timing, TimingLog};

/// How many submissions may be in flight when the description does not say.
const DEFAULT_MAX_IN_FLIGHT: u32 = 1024;

/// How to create an executor. `Default` gives the best device, no validation.
#[derive(Clone, Debug, Default)]
pub struct ExecutorDesc {
    /// Device index or case-insensitive name substring; `GPUASYNC_DEVICE` overrides it.
    pub device: Option<String>,
    /// Load the Khronos validation layer with synchronization validation.
    /// `GPUASYNC_VALIDATION=1` turns it on too.
    pub validation: bool,
    /// Submissions in flight before a submit waits for the oldest (0: 1024).
    pub max_in_flight: u32,
}

/// A buffer handle: index + generation + owning executor (see `slots`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BufferId(pub u64);

/// A kernel handle, packed like `BufferId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KernelId(pub u64);

pub(crate) struct BufferEntry {
    pub buffer: RawBuffer,
    pub kind: BufferKind,
    /// Ticket of the last submission that wrote it (0: none).
    pub last_write: u64,
    /// Ticket of the last submission that read or wrote it (0: none).
    pub last_access: u64,
}

pub(crate) struct KernelEntry {
    pub pipeline: Pipeline,
    pub interface: KernelInterface,
    pub last_use: u64,
}

/// Objects whose destruction waits for a ticket.
pub(crate) enum Garbage {
    Buffer(RawBuffer),
    Kernel(Pipeline),
}

/// Everything behind the executor's lock. The lock is held briefly and never
/// across a blocking wait.
pub(crate) struct State {
    /// `None` only during teardown.
    pub allocator: Option<Allocator>,
    pub buffers: Slots<BufferEntry>,
    pub kernels: Slots<KernelEntry>,
    /// The highest ticket handed out.
    pub last_ticket: u64,
    pub in_flight: VecDeque<InFlight>,
    pub command_pool: vk::CommandPool,
    pub free_commands: Vec<vk::CommandBuffer>,
    /// Timestamp queries: two per submission; null when the queue has no timestamps.
    pub query_pool: vk::QueryPool,
    pub free_queries: Vec<u32>,
    pub timings: TimingLog,
    pub garbage: Vec<(u64, Garbage)>,
}

/// One Vulkan device driven asynchronously. `Send + Sync`: any thread may submit,
/// poll and wait.
pub struct Executor {
    pub(crate) device: ash::Device,
    pub(crate) push_descriptor: ash::khr::push_descriptor::Device,
    pub(crate) info: DeviceInfo,
    pub(crate) limits: vk::PhysicalDeviceLimits,
    pub(crate) queue: vk::Queue,
    pub(crate) timeline: vk::Semaphore,
    pub(crate) timestamp_mask: u64,
    pipeline_cache: vk::PipelineCache,
    pub(crate) max_in_flight: usize,
    /// The highest ticket whose completion has been processed (reads delivered).
    pub(crate) retired: AtomicU64,
    /// The highest ticket handed out, readable without the lock.
    pub(crate) issued: AtomicU64,
    pub(crate) epoch: Instant,
    pub(crate) state: Mutex<State>,
    // Dropped last: the device above is destroyed in `Drop` before this.
    instance: Instance,
}

static NEXT_TAG: AtomicU16 = AtomicU16::new(1);

/// A nonzero tag per executor, marking its handles. 0xFFFF is kept for the C
/// layer's executor registry, so no executor's handles can pass for an executor.
fn next_tag() -> u16 {
    loop {
        let tag = NEXT_TAG.fetch_add(1, Ordering::Relaxed);
        if tag != 0 && tag != u16::MAX {
            return tag;
        }
    }
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "off" | "no"))
}

impl Executor {
    pub fn new(desc: &ExecutorDesc) -> Result<Self> {
        let validation = desc.validation || env_flag("GPUASYNC_VALIDATION");
        let instance = Instance::new(validation)?;
        let devices = instance.devices()?;
        let selector = std::env::var("GPUASYNC_DEVICE").ok().or_else(|| desc.device.clone());
        let (physical, info) = device::choose(&devices, selector.as_deref())?.clone();
        let Some((family, timestamp_bits)) = instance.compute_queue_family(physical) else {
            bail!(NoDevice, "device {} has no compute queue", info.name);
        };

        // Enable what gpuasync needs, plus the shader features the device offers,
        // so users' kernels may use them.
        let mut avail12 = vk::PhysicalDeviceVulkan12Features::default();
        let mut avail13 = vk::PhysicalDeviceVulkan13Features::default();
        let mut avail11 = vk::PhysicalDeviceVulkan11Features::default();
        let mut avail = vk::PhysicalDeviceFeatures2::default()
            .push_next(&mut avail11)
            .push_next(&mut avail12)
            .push_next(&mut avail13);
        // SAFETY: `physical` comes from this instance; the chain holds live locals.
        unsafe { instance.raw.get_physical_device_features2(physical, &mut avail) };
        let a = avail.features;
        let base = vk::PhysicalDeviceFeatures::default()
            .shader_float64(a.shader_float64 == vk::TRUE)
            .shader_int64(a.shader_int64 == vk::TRUE)
            .shader_int16(a.shader_int16 == vk::TRUE);
        let mut f11 = vk::PhysicalDeviceVulkan11Features::default()
            .storage_buffer16_bit_access(avail11.storage_buffer16_bit_access == vk::TRUE);
        let mut f12 = vk::PhysicalDeviceVulkan12Features::default()
            .timeline_semaphore(true)
            .shader_float16(avail12.shader_float16 == vk::TRUE)
            .shader_int8(avail12.shader_int8 == vk::TRUE)
            .storage_buffer8_bit_access(avail12.storage_buffer8_bit_access == vk::TRUE)
            .scalar_block_layout(avail12.scalar_block_layout == vk::TRUE)
            .vulkan_memory_model(avail12.vulkan_memory_model == vk::TRUE)
            .vulkan_memory_model_device_scope(avail12.vulkan_memory_model_device_scope == vk::TRUE)
            .host_query_reset(avail12.host_query_reset == vk::TRUE);
        let mut f13 = vk::PhysicalDeviceVulkan13Features::default()
            .synchronization2(true)
            .subgroup_size_control(avail13.subgroup_size_control == vk::TRUE)
            .compute_full_subgroups(avail13.compute_full_subgroups == vk::TRUE)
            .maintenance4(avail13.maintenance4 == vk::TRUE);
        let mut features = vk::PhysicalDeviceFeatures2::default()
            .features(base)
            .push_next(&mut f11)
            .push_next(&mut f12)
            .push_next(&mut f13);
        let priorities = [1.0f32];
        let queues = [vk::DeviceQueueCreateInfo::default()
            .queue_family_index(family)
            .queue_priorities(&priorities)];
        let extensions = [ash::khr::push_descriptor::NAME.as_ptr()];
        let info_create = vk::DeviceCreateInfo::default()
            .queue_create_infos(&queues)
            .enabled_extension_names(&extensions)
            .push_next(&mut features);
        // SAFETY: every pointer in the create info refers to live locals; the features
        // enabled were reported available above.
        let raw = unsafe { instance.raw.create_device(physical, &info_create, None) }
            .map_err(|e| Error::vulkan("vkCreateDevice", e))?;
        // SAFETY: plain queries on the device just created.
        let props = unsafe { instance.raw.get_physical_device_properties(physical) };
        let push_descriptor = ash::khr::push_descriptor::Device::new(&instance.raw, &raw);
        // SAFETY: queue 0 of `family` was requested above.
        let queue = unsafe { raw.get_device_queue(family, 0) };

        // From here on, `Executor::drop` cleans up whatever has been created.
        let tag = next_tag();
        let mut debug_settings = AllocatorDebugSettings::default();
        debug_settings.log_leaks_on_shutdown = cfg!(debug_assertions);
        let allocator = Allocator::new(&AllocatorCreateDesc {
            instance: instance.raw.clone(),
            device: raw.clone(),
            physical_device: physical,
            debug_settings,
            buffer_device_address: false,
            allocation_sizes: AllocationSizes::default(),
        });
        let allocator = match allocator {
            Ok(a) => a,
            Err(e) => {
                // SAFETY: nothing was created from the device yet.
                unsafe { raw.destroy_device(None) };
                return Err(e.into());
            }
        };
        let timestamps = timestamp_bits > 0 && info.timestamps;
        let executor = Self {
            push_descriptor,
            limits: props.limits,
            queue,
            timeline: vk::Semaphore::null(),
            timestamp_mask: if timestamp_bits >= 64 { u64::MAX } else { (1u64 << timestamp_bits) - 1 },
            pipeline_cache: vk::PipelineCache::null(),
            max_in_flight: if desc.max_in_flight == 0 { DEFAULT_MAX_IN_FLIGHT } else { desc.max_in_flight } as usize,
            retired: AtomicU64::new(0),
            issued: AtomicU64::new(0),
            epoch: Instant::now(),
            state: Mutex::new(State {
                allocator: Some(allocator),
                buffers: Slots::new(tag, Family::Buffer),
                kernels: Slots::new(tag, Family::Kernel),
                last_ticket: 0,
                in_flight: VecDeque::new(),
                command_pool: vk::CommandPool::null(),
                free_commands: Vec::new(),
                query_pool: vk::QueryPool::null(),
                free_queries: Vec::new(),
                timings: TimingLog::default(),
                garbage: Vec::new(),
            }),
            device: raw,
            info: DeviceInfo { timestamps, ..info },
            instance,
        };
        executor.create_sync_objects(family, timestamps)
    }

    /// Create the timeline semaphore, command pool, query pool and pipeline cache.
    fn create_sync_objects(mut self, family: u32, timestamps: bool) -> Result<Self> {
        let mut timeline_info = vk::SemaphoreTypeCreateInfo::default()
            .semaphore_type(vk::SemaphoreType::TIMELINE)
            .initial_value(0);
        let info = vk::SemaphoreCreateInfo::default().push_next(&mut timeline_info);
        // SAFETY: `info` points at live locals; the device is valid.
        self.timeline = unsafe { self.device.create_semaphore(&info, None) }
            .map_err(|e| Error::vulkan("vkCreateSemaphore (timeline)", e))?;
        // SAFETY: as above.
        self.pipeline_cache =
            unsafe { self.device.create_pipeline_cache(&vk::PipelineCacheCreateInfo::default(), None) }
                .map_err(|e| Error::vulkan("vkCreatePipelineCache", e))?;
        let pool_info = vk::CommandPoolCreateInfo::default()
            .queue_family_index(family)
            .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER);
        let state = self.state.get_mut();
        // SAFETY: as above.
        state.command_pool = unsafe { self.device.create_command_pool(&pool_info, None) }
            .map_err(|e| Error::vulkan("vkCreateCommandPool", e))?;
        if timestamps {
            let count = 2 * self.max_in_flight as u32;
            let info = vk::QueryPoolCreateInfo::default()
                .query_type(vk::QueryType::TIMESTAMP)
                .query_count(count);
            // SAFETY: as above.
            state.query_pool = unsafe { self.device.create_query_pool(&info, None) }
                .map_err(|e| Error::vulkan("vkCreateQueryPool", e))?;
            state.free_queries = (0..count).step_by(2).rev().collect();
        }
        Ok(self)
    }

    /// The device this executor runs on.
    pub fn device_info(&self) -> &DeviceInfo {
        &self.info
    }

    /// True when the validation layer (with synchronization validation) is loaded
    /// and its messages are being counted.
    pub fn validation_enabled(&self) -> bool {
        self.instance.validation_enabled()
    }

    /// How many validation messages (warnings and errors) have been reported.
    pub fn validation_message_count(&self) -> u64 {
        self.instance.log.count.load(Ordering::Relaxed)
    }

    /// The first validation messages reported (at most 64).
    pub fn validation_messages(&self) -> Vec<String> {
        self.instance.log.kept.lock().clone()
    }

    // ---- buffers -------------------------------------------------------------

    pub fn create_buffer(&self, size: u64, kind: BufferKind) -> Result<BufferId> {
        if size == 0 {
            bail!(InvalidArgument, "buffer size must be nonzero");
        }
        let mut state = self.state.lock();
        let name = match kind {
            BufferKind::DeviceLocal => "gpuasync device-local buffer",
            BufferKind::HostVisible => "gpuasync host-visible buffer",
            BufferKind::Readback => "gpuasync readback buffer",
        };
        let st = &mut *state;
        let allocator = st.allocator.as_mut().ok_or_else(teardown)?;
        let buffer = memory::create_buffer(&self.device, allocator, size, kind, name)?;
        let entry = BufferEntry { buffer, kind, last_write: 0, last_access: 0 };
        match st.buffers.insert(entry) {
            Ok(id) => Ok(BufferId(id)),
            Err(entry) => {
                if let Some(allocator) = st.allocator.as_mut() {
                    memory::destroy_buffer(&self.device, allocator, entry.buffer);
                }
                bail!(OutOfHostMemory, "too many live buffers (2^24)")
            }
        }
    }

    /// Destroy a buffer. Work already submitted that uses it still completes; the
    /// memory is freed when that work is done.
    pub fn destroy_buffer(&self, id: BufferId) -> Result<()> {
        let mut state = self.state.lock();
        let Some(entry) = state.buffers.remove(id.0) else {
            return Err(invalid_buffer(id));
        };
        self.defer(&mut state, entry.last_access, Garbage::Buffer(entry.buffer));
        Ok(())
    }

    pub fn buffer_size(&self, id: BufferId) -> Result<u64> {
        let state = self.state.lock();
        state.buffers.get(id.0).map(|b| b.buffer.size).ok_or_else(|| invalid_buffer(id))
    }

    /// The host address of a host-visible or readback buffer's memory. The caller
    /// must not touch it while submitted work that uses the buffer is in flight.
    pub fn buffer_mapped_ptr(&self, id: BufferId) -> Result<*mut u8> {
        let mut state = self.state.lock();
        let entry = state.buffers.get_mut(id.0).ok_or_else(|| invalid_buffer(id))?;
        if entry.kind == BufferKind::DeviceLocal {
            bail!(InvalidArgument, "buffer is device-local; create it host-visible to map it");
        }
        match entry.buffer.mapped() {
            Some(bytes) => Ok(bytes.as_mut_ptr()),
            None => bail!(Internal, "host-visible buffer has no mapping"),
        }
    }

    // ---- kernels -------------------------------------------------------------

    /// Build a compute kernel from SPIR-V words, entry point `entry`, with 32-bit
    /// specialization constants.
    pub fn create_kernel(&self, words: &[u32], entry: &str, spec: &[SpecConstant]) -> Result<KernelId> {
        let interface = kernel::reflect(words, entry, spec)?;
        let max_push = self.limits.max_push_constants_size;
        if interface.push_constant_size > max_push {
            bail!(
                Unsupported,
                "kernel's push constants are {} bytes, the device allows {max_push}",
                interface.push_constant_size
            );
        }
        let max_invocations = self.limits.max_compute_work_group_invocations;
        let [x, y, z] = interface.local_size;
        if x == 0 || y == 0 || z == 0 || u64::from(x) * u64::from(y) * u64::from(z) > u64::from(max_invocations) {
            bail!(
                Unsupported,
                "workgroup size {x}x{y}x{z} is outside the device's limit of {max_invocations} invocations"
            );
        }
        let pipeline = kernel::create_pipeline(&self.device, self.pipeline_cache, words, entry, &interface, spec)?;
        let mut state = self.state.lock();
        match state.kernels.insert(KernelEntry { pipeline, interface, last_use: 0 }) {
            Ok(id) => Ok(KernelId(id)),
            Err(entry) => {
                // SAFETY: the pipeline was never used by any submission.
                unsafe { entry.pipeline.destroy(&self.device) };
                bail!(OutOfHostMemory, "too many live kernels (2^24)")
            }
        }
    }

    /// Like `create_kernel`, from a `.spv` file.
    pub fn create_kernel_from_file(
        &self,
        path: &std::path::Path,
        entry: &str,
        spec: &[SpecConstant],
    ) -> Result<KernelId> {
        let words = kernel::read_spv_file(path)?;
        self.create_kernel(&words, entry, spec)
    }

    pub fn kernel_interface(&self, id: KernelId) -> Result<KernelInterface> {
        let state = self.state.lock();
        state.kernels.get(id.0).map(|k| k.interface.clone()).ok_or_else(|| invalid_kernel(id))
    }

    /// Destroy a kernel; deferred until submitted work that uses it completes.
    pub fn destroy_kernel(&self, id: KernelId) -> Result<()> {
        let mut state = self.state.lock();
        let Some(entry) = state.kernels.remove(id.0) else {
            return Err(invalid_kernel(id));
        };
        self.defer(&mut state, entry.last_use, Garbage::Kernel(entry.pipeline));
        Ok(())
    }

    fn defer(&self, state: &mut State, ticket: u64, garbage: Garbage) {
        if ticket <= self.retired.load(Ordering::Acquire) {
            self.destroy_garbage(state, garbage);
        } else {
            state.garbage.push((ticket, garbage));
        }
    }

    fn destroy_garbage(&self, state: &mut State, garbage: Garbage) {
        match garbage {
            Garbage::Buffer(buffer) => {
                if let Some(allocator) = state.allocator.as_mut() {
                    memory::destroy_buffer(&self.device, allocator, buffer);
                }
            }
            // SAFETY: garbage is destroyed only once its last ticket has completed.
            Garbage::Kernel(pipeline) => unsafe { pipeline.destroy(&self.device) },
        }
    }

    // ---- completion ----------------------------------------------------------

    /// The value the GPU's timeline has reached.
    pub(crate) fn gpu_progress(&self) -> Result<u64> {
        // SAFETY: the semaphore is a live timeline semaphore of this device.
        unsafe { self.device.get_semaphore_counter_value(self.timeline) }
            .map_err(|e| Error::vulkan("vkGetSemaphoreCounterValue", e))
    }

    fn check_issued(&self, ticket: u64) -> Result<()> {
        let issued = self.issued.load(Ordering::Acquire);
        if ticket > issued {
            bail!(InvalidArgument, "ticket {ticket} was never issued (the latest is {issued})");
        }
        Ok(())
    }

    /// Has `ticket` completed? Never blocks. Delivers the reads of every submission
    /// found complete. Ticket 0 is always complete.
    pub fn poll(&self, ticket: u64) -> Result<bool> {
        if ticket <= self.retired.load(Ordering::Acquire) {
            return Ok(true);
        }
        self.check_issued(ticket)?;
        let reached = self.gpu_progress()?;
        if reached < ticket {
            return Ok(false);
        }
        self.retire(&mut self.state.lock(), reached);
        Ok(true)
    }

    /// Block until `ticket` completes or `timeout_ns` passes. `Ok(false)` is a
    /// timeout: nothing changed. `u64::MAX` waits forever.
    pub fn wait(&self, ticket: u64, timeout_ns: u64) -> Result<bool> {
        if ticket <= self.retired.load(Ordering::Acquire) {
            return Ok(true);
        }
        self.check_issued(ticket)?;
        if !self.wait_gpu(ticket, timeout_ns)? {
            return Ok(false);
        }
        let reached = self.gpu_progress()?.max(ticket);
        self.retire(&mut self.state.lock(), reached);
        Ok(true)
    }

    /// Wait for everything submitted so far.
    pub fn wait_all(&self) -> Result<()> {
        let last = self.issued.load(Ordering::Acquire);
        self.wait(last, u64::MAX).map(|_| ())
    }

    /// Wait on the timeline without any lock held.
    pub(crate) fn wait_gpu(&self, ticket: u64, timeout_ns: u64) -> Result<bool> {
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

    /// Process every in-flight submission with a ticket <= `reached`: deliver
    /// reads, collect timestamps, recycle command buffers, free deferred objects.
    pub(crate) fn retire(&self, state: &mut MutexGuard<'_, State>, reached: u64) {
        let now = self.host_ns();
        while state.in_flight.front().is_some_and(|f| f.ticket <= reached) {
            let Some(done) = state.in_flight.pop_front() else { break };
            self.finish(state, done, now);
        }
        if state.garbage.iter().any(|(t, _)| *t <= reached) {
            let (ready, waiting): (Vec<_>, Vec<_>) =
                std::mem::take(&mut state.garbage).into_iter().partition(|(t, _)| *t <= reached);
            state.garbage = waiting;
            for (_, g) in ready {
                self.destroy_garbage(state, g);
            }
        }
        self.retired.fetch_max(reached.min(state.last_ticket), Ordering::AcqRel);
    }

    fn finish(&self, state: &mut State, mut done: InFlight, now_ns: u64) {
        done.deliver_reads();
        if let Some(base) = done.query {
            let mut ticks = [0u64; 2];
            // SAFETY: both queries were written by the completed command buffer.
            let got = unsafe {
                self.device.get_query_pool_results(
                    state.query_pool,
                    base,
                    &mut ticks,
                    vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WAIT,
                )
            };
            if got.is_ok() {
                let period = self.info.timestamp_period_ns;
                let to_ns = |t: u64| ((t & self.timestamp_mask) as f64 * period) as u64;
                state.timings.push(
                    done.ticket,
                    Timing {
                        gpu_begin_ns: to_ns(ticks[0]),
                        gpu_end_ns: to_ns(ticks[1]),
                        host_submit_ns: done.host_submit_ns,
                        host_complete_ns: now_ns,
                    },
                );
            }
            state.free_queries.push(base);
        }
        state.free_commands.push(done.command_buffer);
        if let Some(allocator) = state.allocator.as_mut() {
            for staging in done.staging.drain(..) {
                memory::destroy_buffer(&self.device, allocator, staging);
            }
        }
    }

    /// Nanoseconds since the executor was created, on the host clock.
    pub(crate) fn host_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// GPU timestamps and host times of a submission made with timestamps.
    pub fn timing(&self, ticket: u64) -> Result<Timing> {
        if !self.info.timestamps {
            bail!(Unsupported, "device {} cannot write timestamps on its compute queue", self.info.name);
        }
        self.check_issued(ticket)?;
        if ticket == 0 || !self.poll(ticket)? {
            if ticket == 0 {
                bail!(NotFound, "ticket 0 stands for no work and has no timing");
            }
            bail!(NotReady, "ticket {ticket} is not complete yet");
        }
        let state = self.state.lock();
        state.timings.get(ticket).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("ticket {ticket} was submitted without timestamps, or its record was dropped (the newest 4096 are kept)"),
            )
        })
    }
}

pub(crate) fn invalid_buffer(id: BufferId) -> Error {
    Error::new(
        ErrorKind::InvalidHandle,
        format!("buffer handle {:#x} is null, destroyed, or belongs to another executor", id.0),
    )
}

pub(crate) fn invalid_kernel(id: KernelId) -> Error {
    Error::new(
        ErrorKind::InvalidHandle,
        format!("kernel handle {:#x} is null, destroyed, or belongs to another executor", id.0),
    )
}

fn teardown() -> Error {
    Error::new(ErrorKind::Internal, "executor is being destroyed")
}

impl Drop for Executor {
    fn drop(&mut self) {
        // Teardown in one order: wait for the GPU, retire, resources, allocator,
        // pools, device; the instance (with its messenger) drops after this.
        let last = *self.issued.get_mut();
        if last > 0 {
            if let Err(e) = self.wait_gpu(last, u64::MAX) {
                eprintln!("gpuasync: waiting for work at teardown failed: {e}");
            }
        }
        // SAFETY: waits for all queues of this device; nothing else is submitting
        // because `drop` has exclusive access.
        unsafe { self.device.device_wait_idle() }.ok();
        let state = self.state.get_mut();
        let mut state = std::mem::replace(
            state,
            State {
                allocator: None,
                buffers: Slots::new(1, Family::Buffer),
                kernels: Slots::new(1, Family::Kernel),
                last_ticket: 0,
                in_flight: VecDeque::new(),
                command_pool: vk::CommandPool::null(),
                free_commands: Vec::new(),
                query_pool: vk::QueryPool::null(),
                free_queries: Vec::new(),
                timings: TimingLog::default(),
                garbage: Vec::new(),
            },
        );
        let now = self.host_ns();
        while let Some(done) = state.in_flight.pop_front() {
            self.finish(&mut state, done, now);
        }
        let garbage: Vec<_> = state.garbage.drain(..).map(|(_, g)| g).collect();
        for g in garbage {
            self.destroy_garbage(&mut state, g);
        }
        let buffers: Vec<_> = state.buffers.drain().collect();
        for b in buffers {
            self.destroy_garbage(&mut state, Garbage::Buffer(b.buffer));
        }
        let kernels: Vec<_> = state.kernels.drain().collect();
        for k in kernels {
            self.destroy_garbage(&mut state, Garbage::Kernel(k.pipeline));
        }
        drop(state.allocator.take());
        // SAFETY: the device is idle and every object below was created from it and
        // is destroyed exactly once (null handles are ignored by Vulkan).
        unsafe {
            self.device.destroy_command_pool(state.command_pool, None);
            self.device.destroy_query_pool(state.query_pool, None);
            self.device.destroy_pipeline_cache(self.pipeline_cache, None);
            self.device.destroy_semaphore(self.timeline, None);
            self.device.destroy_device(None);
        }
    }
}
