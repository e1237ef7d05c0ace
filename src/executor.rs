//! The executor: one Vulkan device, its compute queue and timeline semaphore,
//! and everything in flight on it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use ash::vk;
use gpu_allocator::vulkan::{Allocator, AllocatorCreateDesc};
use gpu_allocator::{AllocationSizes, AllocatorDebugSettings};
use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::batch::BatchEntry;
use crate::descriptors::{DescriptorMode, SetCache};
use crate::device::{self, DeviceInfo, Instance};
use crate::error::{bail, Error, ErrorKind, Result};
use crate::host::{self, HostImport, HostRegion};
use crate::kernel::{self, KernelInterface, Pipeline, SpecConstant};
use crate::memory::{self, BufferKind, RawBuffer, StagingPool};
use crate::slots::{Family, Slots};
use crate::submit::{Bundle, Pending, Plan};
use crate::timing::{Stats, Timing, TimingLog};
use crate::trace::{Clock, Event, Trace};

/// How many submissions may be in flight when the description does not say.
const DEFAULT_MAX_IN_FLIGHT: u32 = 1024;
/// Staging memory that work in flight may hold, when not told.
const DEFAULT_STAGING_BYTES: u64 = 1 << 30;
/// The flusher feeds the GPU when fewer than this many bundles are pending.
const DEFAULT_FLUSH_DEPTH: usize = 2;
/// The largest bound on submissions in flight (two timestamp queries each).
const MAX_IN_FLIGHT_LIMIT: u32 = 1 << 16;
/// How long `wait` spins on the timeline before it sleeps, when not told.
const DEFAULT_SPIN_NS: u64 = 100_000;
/// How long the flusher spins before it sleeps (the GPU still has a bundle
/// queued while it waits, so a late wake-up rarely leaves the GPU idle).
const DEFAULT_FLUSHER_SPIN_NS: u64 = 20_000;
/// Transfer-only submissions smaller than this stay on the compute queue, when
/// not told: there they coalesce with other work, while a transfer-lane
/// submission costs a queue submission of its own (~16 us of GPU time on the
/// H100, about what 1 MiB takes on the bus).
const DEFAULT_TRANSFER_MIN_BYTES: u64 = 1 << 20;

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
    /// How long a wait spins on the timeline before sleeping: `None` for the
    /// default (100 us), `Some(0)` never to spin. `GPUASYNC_SPIN_NS` overrides it.
    pub spin_ns: Option<u64>,
    /// A file to load the pipeline cache from and save it to at teardown;
    /// `GPUASYNC_PIPELINE_CACHE` overrides it.
    pub pipeline_cache: Option<std::path::PathBuf>,
    /// Staging bytes that work in flight may hold (0: 1 GiB); a submission that
    /// would exceed it waits for older work, or is `WouldBlock` with
    /// `SubmitFlags::no_block`. `GPUASYNC_STAGING_BYTES` overrides it.
    pub staging_bytes: u64,
    /// Where large submissions of reads and registered writes run (see `TransferQueues`).
    /// `GPUASYNC_TRANSFER_QUEUE` (`auto`, `off`, `shared`) overrides it.
    pub transfer_queues: TransferQueues,
    /// Such a submission goes to a transfer queue when it moves at least this
    /// many bytes (`None`: 1 MiB; smaller ones are cheaper coalesced
    /// with compute). `GPUASYNC_TRANSFER_MIN_BYTES` overrides it.
    pub transfer_min_bytes: Option<u64>,
    /// Which kernel runs GEMM with 16-bit inputs (see `CooperativeMatrix`).
    /// `GPUASYNC_COOPERATIVE_MATRIX` (`1`/`on`, `0`/`off`, `emulate`) applies
    /// when this is `Auto`; an explicit choice here wins.
    pub cooperative_matrix: CooperativeMatrix,
    /// Experimental, off by default until measured on a GPU: how long the
    /// flusher thread stays awake after it handed work over or was woken,
    /// handing over submissions to an idle GPU itself so that the submitting
    /// thread only records (docs/async.md, "Handoff"). `None` or `Some(0)`:
    /// never. `GPUASYNC_HANDOFF_NS` overrides it.
    pub handoff_ns: Option<u64>,
    /// Experimental, off by default until measured on a GPU: a submission of
    /// one staged write larger than this many bytes is staged and handed to
    /// the GPU chunk by chunk, through host-memory staging, so
    /// that the host's copy of one chunk overlaps the GPU's copy of the last
    /// (docs/async.md, "Chunked staging"). Rounded down to a multiple of 4096;
    /// 1 to 4095 is `InvalidArgument`. `None` or `Some(0)`: never.
    /// `GPUASYNC_WRITE_CHUNK` (a byte count) overrides it.
    pub write_chunk_bytes: Option<u64>,
}

/// Which kernel runs GEMM with F16 / BF16 inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CooperativeMatrix {
    /// As `On`, unless `GPUASYNC_COOPERATIVE_MATRIX` says otherwise.
    #[default]
    Auto,
    /// The device's cooperative matrices where it has them (the kernel is
    /// correct on an H100 and runs there at about 169 TFLOP/s at 8192^3:
    /// docs/kernels.md).
    On,
    /// None: a 16-bit GEMM is `Unsupported`.
    Off,
    /// The same kernel with plain arithmetic in place of cooperative matrices,
    /// on any device: slow, for testing the kernel's tiling where there are
    /// no cooperative matrices (lavapipe).
    Emulate,
}

/// Where submissions that only move data across the bus (reads, and writes
/// from registered host memory) run. On a transfer queue they overlap compute;
/// each transfer queue has its own timeline, and the executor orders work
/// across queues by buffer hazards, as it does inside one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TransferQueues {
    /// The device's dedicated transfer queues (the copy engines) where it has
    /// them: one for submissions that only write, one for those that read
    /// (the same one if the family has a single queue). None otherwise.
    #[default]
    Auto,
    /// Everything on the compute queue.
    Off,
    /// Transfer lanes on the compute queue's family (other queues of it, or
    /// the compute queue itself): the cross-queue machinery without copy
    /// engines, so that it can be tested on any device (lavapipe included).
    Shared,
}

/// The lanes work runs on: 0 the compute queue, 1 uploads, 2 downloads.
pub(crate) const LANES: usize = 3;

/// A transfer lane: a queue (possibly shared with another lane) and the
/// timeline semaphore it signals. A lane signals the tickets of its own
/// submissions, so "counter >= t" means ticket t of that lane is complete.
pub(crate) struct Lane {
    pub raw: vk::Queue,
    pub timeline: vk::Semaphore,
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
    /// A recorded batch's command buffer and timestamp query pair.
    Batch(vk::CommandBuffer, Option<u32>),
    /// A cached descriptor set (and its pool) that named a destroyed object.
    DescriptorSet(vk::DescriptorSet, vk::DescriptorPool),
    /// An unregistered host range: its import and buffer, and what a new
    /// registration of the same bytes must stay ordered after.
    Host { raw: vk::Buffer, memory: vk::DeviceMemory, start: usize, len: usize, last_write: u64 },
}

/// Everything behind the executor's lock. The lock is held briefly and never
/// across a blocking wait.
pub(crate) struct State {
    /// `None` only during teardown.
    pub allocator: Option<Allocator>,
    pub buffers: Slots<BufferEntry>,
    pub kernels: Slots<KernelEntry>,
    pub batches: Slots<BatchEntry>,
    /// The highest ticket handed out.
    pub last_ticket: u64,
    /// The command buffer that submissions are being recorded into, not yet
    /// handed to the queue (see `submit`, "coalesced submission").
    pub open: Option<Bundle>,
    /// Bundles closed for the GPU (handed over, or in `to_submit`) and not yet
    /// retired, oldest first.
    pub in_flight: VecDeque<Bundle>,
    /// Closed bundles waiting for `Queue::drain` to hand them over, in the
    /// order they were closed (ticket order on each lane).
    pub to_submit: VecDeque<Pending>,
    pub command_pool: vk::CommandPool,
    pub free_commands: Vec<vk::CommandBuffer>,
    /// Command buffers of the transfer lanes (their queue family's pool; null
    /// when there are no transfer lanes or they share the compute family).
    pub transfer_pool: vk::CommandPool,
    pub transfer_free: Vec<vk::CommandBuffer>,
    /// Transfer-lane bundles (one submission each) not yet retired, in ticket
    /// order.
    pub transfer_in_flight: VecDeque<Bundle>,
    /// Timestamp queries: two per timed submission; null when the queue has none.
    pub query_pool: vk::QueryPool,
    pub free_queries: Vec<u32>,
    pub timings: TimingLog,
    pub op_timings: crate::timing::OpTimingLog,
    pub garbage: Vec<(u64, Garbage)>,
    /// Set when a queue submission failed: its tickets can never complete.
    pub broken: Option<Error>,
    /// How many buffers and kernels have been destroyed (batches re-check their
    /// objects when it changes).
    pub destroyed: u64,
    /// Reused by every submit so that checking ops allocates nothing.
    pub scratch_plan: Plan,
    /// The hazard map of the last closed compute bundle, emptied, for the next
    /// one to open with (growing a fresh map cost each bundle several rehashes).
    pub spare_hazards: crate::submit::Hazards,
    /// Descriptor sets per (kernel, buffers), in `DescriptorMode::Cached`.
    pub set_cache: SetCache,
    /// Staging buffers kept for reuse.
    pub staging_pool: StagingPool,
    /// Counters behind `Executor::stats`.
    pub stats: Stats,
    /// Staging bytes held by bundles not yet retired (the budget's use).
    pub staging_in_use: u64,
    /// Registered host ranges, sorted by start, non-overlapping.
    pub hosts: Vec<HostRegion>,
    /// The flusher is awake and watching for fresh bundles (handoff): a
    /// submission leaves its bundle to it instead of handing it over itself.
    pub flusher_watching: bool,
    /// A command buffer of `command_pool` already begun (one-time submit) by
    /// the flusher for the next compute bundle (`Queue::prebegin_next`), so that
    /// the submission that opens it does not pay for vkBeginCommandBuffer.
    pub ready: Option<vk::CommandBuffer>,
}

/// The submission side of the executor, shared with the flusher thread: the
/// queue, its timeline semaphore, and the state lock.
pub(crate) struct Queue {
    /// A clone of the executor's device dispatch table (it owns nothing).
    pub device: ash::Device,
    pub raw: vk::Queue,
    pub timeline: vk::Semaphore,
    /// Transfer lanes 1 (uploads) and 2 (downloads): none, one (both kinds),
    /// or two. Lane 0 is `raw` and `timeline`.
    pub lanes: Vec<Lane>,
    /// `State::transfer_in_flight.len()`, readable without the lock.
    pub transfer_pending: AtomicU64,
    pub state: Mutex<State>,
    /// Held while handing bundles to the queue (the queue's external
    /// synchronisation). Taken before the state lock, never while holding it.
    pub submit_lock: Mutex<()>,
    /// Set with `State::broken`: read without the lock on the poll/wait path.
    pub broken: AtomicBool,
    /// vkQueueSubmit2 calls made.
    pub queue_submissions: AtomicU64,
    /// How long the flusher spins before sleeping when it waits for the GPU.
    pub flusher_spin_ns: u64,
    /// The flusher hands the open bundle over when fewer than this many bundles
    /// are pending on the GPU (`GPUASYNC_FLUSH_DEPTH`, 1 or more).
    pub flush_depth: usize,
    /// Wakes the flusher when a bundle is left open.
    pub wake: Condvar,
    pub shutdown: AtomicBool,
    /// How long the flusher stays awake after handing over or being woken,
    /// taking over the hand-over of submissions to an idle GPU from the
    /// threads that make them (`GPUASYNC_HANDOFF_NS`; 0, the default: never).
    pub handoff_ns: u64,
    /// Experimental, off by default until measured on a GPU: the flusher
    /// begins the next bundle's command buffer after each hand-over
    /// (`GPUASYNC_PREBEGIN=1`; docs/async.md, "Pre-begun command buffers").
    pub prebegin: bool,
    /// Set (under the state lock, while `State::flusher_watching`) by a
    /// submission that left a fresh bundle for the watching flusher.
    pub kick: AtomicBool,
    /// Bundles the flusher thread closed and handed over (`Stats::flusher_flushes`).
    pub flusher_flushes: AtomicU64,
    /// vkQueueSubmit2 calls made on the flusher thread (`Stats::flusher_submissions`).
    pub flusher_submissions: AtomicU64,
    /// Nanoseconds spent in vkQueueSubmit2 and in vkEndCommandBuffer of
    /// coalesced bundles, on all threads (`Stats`).
    pub queue_submit_ns: AtomicU64,
    pub end_ns: AtomicU64,
    /// Nanoseconds in vkBeginCommandBuffer opening bundles (or beginning
    /// them ahead, `prebegin`) and re-recorded batches
    /// (`Stats::begin_command_buffer_ns`).
    pub begin_ns: AtomicU64,
    /// Submissions that found the state lock held and waited for it, and the
    /// nanoseconds they waited (`Stats::state_lock_waits`, `state_lock_wait_ns`).
    pub lock_waits: AtomicU64,
    pub lock_wait_ns: AtomicU64,
    /// Submissions that woke the sleeping flusher (`Stats::flusher_wakes`).
    pub flusher_wakes: AtomicU64,
    /// The highest ticket handed out, readable without the lock.
    pub issued: AtomicU64,
    /// The highest ticket handed to the queue (the rest are in `to_submit` or the
    /// open bundle).
    pub submitted: AtomicU64,
    /// The highest ticket whose completion has been processed (reads delivered).
    pub retired: AtomicU64,
}

/// The upload kernel (spirv/upload.comp) and the most workgroups a dispatch of
/// it takes. Its pipeline lives outside the kernel table, so no caller can
/// name or destroy it, as long as the executor.
pub(crate) struct UploadKernel {
    pub pipeline: kernel::Pipeline,
    pub groups: u32,
}

/// One Vulkan device driven asynchronously. `Send + Sync`: any thread may submit,
/// poll and wait.
pub struct Executor {
    pub(crate) device: ash::Device,
    pub(crate) push_descriptor: ash::khr::push_descriptor::Device,
    pub(crate) info: DeviceInfo,
    pub(crate) limits: vk::PhysicalDeviceLimits,
    pub(crate) timestamp_mask: u64,
    /// Queries are reset from the host at retire (else inside the command buffer).
    pub(crate) host_query_reset: bool,
    pipeline_cache: vk::PipelineCache,
    pipeline_cache_path: Option<std::path::PathBuf>,
    pub(crate) max_in_flight: u64,
    /// Staging bytes work in flight may hold.
    pub(crate) staging_budget: u64,
    pub(crate) descriptor_mode: DescriptorMode,
    /// `maxPushDescriptors`: the most bindings a kernel may have in push mode.
    push_descriptor_limit: u32,
    pub(crate) spin_ns: u64,
    pub(crate) epoch: Instant,
    /// `epoch` on CLOCK_MONOTONIC, nanoseconds (the clock of calibrated timestamps).
    epoch_monotonic_ns: u64,
    calibration: Option<ash::ext::calibrated_timestamps::Device>,
    /// Set when pipelines keep their compiler statistics (GPUASYNC_PIPELINE_STATS).
    pipeline_stats: Option<ash::khr::pipeline_executable_properties::Device>,
    /// VK_EXT_external_memory_host, where the device has it (registered host memory).
    pub(crate) host_import: Option<HostImport>,
    /// The trace being recorded, if any (`trace`); `tracing` mirrors it for the hot path.
    pub(crate) trace: Mutex<Option<Trace>>,
    pub(crate) tracing: AtomicBool,
    /// Built-in kernels created so far, and the reductions' scratch buffer.
    pub(crate) builtins: Mutex<crate::builtin::BuiltinCache>,
    pub(crate) queue: Arc<Queue>,
    /// The queue families that share every buffer (concurrent sharing, so no
    /// ownership transfers are needed) when transfer lanes run on a family of
    /// their own; empty when one family does everything.
    pub(crate) sharing: Vec<u32>,
    /// Transfer-only submissions moving at least this many bytes take a transfer lane.
    pub(crate) transfer_min_bytes: u64,
    /// Transfer lanes write timestamps (same clock width, queries reset on the host).
    pub(crate) transfer_timestamps: bool,
    /// Large staged writes go to the GPU in chunks of this many bytes (0: never;
    /// see `chunked`).
    pub(crate) write_chunk_bytes: u64,
    /// The cooperative-matrix GEMMs this device runs (fp16, bf16 inputs).
    pub(crate) coop: crate::device::CoopSupport,
    /// Writes from registered host memory done by a kernel on the compute
    /// queue instead of a copy (experimental: `GPUASYNC_UPLOAD_KERNEL`).
    pub(crate) upload_kernel: Option<UploadKernel>,
    flusher: Option<std::thread::JoinHandle<()>>,
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

/// CLOCK_MONOTONIC now, in nanoseconds (the host domain of calibrated timestamps).
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64)
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "off" | "no"))
}

/// Vulkan objects created one by one; destroyed in reverse if a later step fails.
struct Parts<'a> {
    device: &'a ash::Device,
    timeline: vk::Semaphore,
    lane_timelines: Vec<vk::Semaphore>,
    pool: vk::CommandPool,
    transfer_pool: vk::CommandPool,
    queries: vk::QueryPool,
    cache: vk::PipelineCache,
    done: bool,
}

impl Drop for Parts<'_> {
    fn drop(&mut self) {
        if !self.done {
            // SAFETY: the objects were created from `device`, never used, and are
            // destroyed once; null handles are ignored.
            unsafe {
                self.device.destroy_pipeline_cache(self.cache, None);
                self.device.destroy_query_pool(self.queries, None);
                self.device.destroy_command_pool(self.pool, None);
                self.device.destroy_command_pool(self.transfer_pool, None);
                self.device.destroy_semaphore(self.timeline, None);
                for &t in &self.lane_timelines {
                    self.device.destroy_semaphore(t, None);
                }
                self.device.destroy_device(None);
            }
        }
    }
}

impl Executor {
    pub fn new(desc: &ExecutorDesc) -> Result<Self> {
        if desc.max_in_flight > MAX_IN_FLIGHT_LIMIT {
            bail!(InvalidArgument, "max_in_flight {} is above the limit of {MAX_IN_FLIGHT_LIMIT}", desc.max_in_flight);
        }
        let validation = desc.validation || env_flag("GPUASYNC_VALIDATION");
        let instance = Instance::new(validation)?;
        let devices = instance.devices()?;
        let selector = std::env::var("GPUASYNC_DEVICE").ok().or_else(|| desc.device.clone());
        let (physical, info) = device::choose(&devices, selector.as_deref())?.clone();
        let Some((family, timestamp_bits)) = instance.compute_queue_family(physical) else {
            bail!(NoDevice, "device {} has no compute queue", info.name);
        };
        // `single` (experimental, environment only): `Auto` with one copy
        // queue for both directions, to measure whether alternating between
        // two copy queues costs (docs/async.md, "Transfer queues").
        let mut copy_queues = 2;
        let mode = match std::env::var("GPUASYNC_TRANSFER_QUEUE").ok().as_deref().map(str::trim) {
            None | Some("") => desc.transfer_queues,
            Some("auto" | "on" | "1") => TransferQueues::Auto,
            Some("single") => {
                copy_queues = 1;
                TransferQueues::Auto
            }
            Some("off" | "0") => TransferQueues::Off,
            Some("shared") => TransferQueues::Shared,
            Some(other) => bail!(InvalidArgument, "GPUASYNC_TRANSFER_QUEUE={other}: expected auto, single, off or shared"),
        };
        let transfer_min_bytes = match std::env::var("GPUASYNC_TRANSFER_MIN_BYTES") {
            Ok(v) => v.trim().parse().map_err(|_| {
                Error::new(ErrorKind::InvalidArgument, format!("GPUASYNC_TRANSFER_MIN_BYTES={v}: expected a byte count"))
            })?,
            Err(_) => desc.transfer_min_bytes.unwrap_or(DEFAULT_TRANSFER_MIN_BYTES),
        };
        let write_chunk_bytes = match std::env::var("GPUASYNC_WRITE_CHUNK") {
            Ok(v) => v.trim().parse().map_err(|_| {
                Error::new(ErrorKind::InvalidArgument, format!("GPUASYNC_WRITE_CHUNK={v}: expected a byte count"))
            })?,
            Err(_) => desc.write_chunk_bytes.unwrap_or(0),
        };
        // Whole pages: each chunk's staging copy starts page-aligned.
        if (1..4096).contains(&write_chunk_bytes) {
            bail!(InvalidArgument, "write chunk of {write_chunk_bytes} bytes: expected 0 (off) or at least 4096");
        }
        let write_chunk_bytes = write_chunk_bytes & !4095;
        // The transfer lanes: (family, queue index) of lanes 1 and 2, and the
        // family's timestamp bits.
        let (lane_queues, transfer_family, lane_timestamp_bits): (Vec<(u32, u32)>, Option<u32>, u32) = match mode {
            TransferQueues::Off => (Vec::new(), None, 0),
            TransferQueues::Auto => match instance.transfer_queue_family(physical) {
                Some((f, n, bits)) => ((0..n.min(copy_queues)).map(|q| (f, q)).collect(), Some(f), bits),
                None => (Vec::new(), None, 0),
            },
            TransferQueues::Shared => {
                // Queues 1 and 2 of the compute family where it has them, else
                // the compute queue itself (lanes still have their own timelines).
                let n = instance.queue_count(physical, family).max(1);
                ((1..3).map(|q| (family, q.min(n - 1))).collect(), None, timestamp_bits)
            }
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
        let host_query_reset = avail12.host_query_reset == vk::TRUE;
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
            .host_query_reset(host_query_reset);
        let mut f13 = vk::PhysicalDeviceVulkan13Features::default()
            .synchronization2(true)
            .subgroup_size_control(avail13.subgroup_size_control == vk::TRUE)
            .compute_full_subgroups(avail13.compute_full_subgroups == vk::TRUE)
            .maintenance4(avail13.maintenance4 == vk::TRUE);
        // Compiler statistics of pipelines (registers and the like), a tuning aid
        // asked for with GPUASYNC_PIPELINE_STATS=1 where the driver offers them.
        let pipeline_stats = env_flag("GPUASYNC_PIPELINE_STATS")
            && instance.has_extension(physical, ash::khr::pipeline_executable_properties::NAME);
        let mut fstats = vk::PhysicalDevicePipelineExecutablePropertiesFeaturesKHR::default().pipeline_executable_info(true);
        let mut features = vk::PhysicalDeviceFeatures2::default()
            .features(base)
            .push_next(&mut f11)
            .push_next(&mut f12)
            .push_next(&mut f13);
        if pipeline_stats {
            features = features.push_next(&mut fstats);
        }
        // Cooperative matrices (tensor cores) for the fp16 / bf16 GEMM, where
        // the device runs the built-in kernel's shape.
        let coop_env = std::env::var("GPUASYNC_COOPERATIVE_MATRIX").ok().filter(|_| desc.cooperative_matrix == CooperativeMatrix::Auto);
        let coop_mode = match coop_env.as_deref().map(str::trim) {
            None | Some("") => desc.cooperative_matrix,
            Some("1" | "on") => CooperativeMatrix::On,
            Some("0" | "off") => CooperativeMatrix::Off,
            Some("emulate") => CooperativeMatrix::Emulate,
            Some(other) => bail!(InvalidArgument, "GPUASYNC_COOPERATIVE_MATRIX={other}: expected 1, 0 or emulate"),
        };
        let mut coop = instance.cooperative_matrix_support(physical);
        match coop_mode {
            CooperativeMatrix::On | CooperativeMatrix::Auto => {}
            CooperativeMatrix::Off => coop = device::CoopSupport { f16: false, bf16: false, ..coop },
            CooperativeMatrix::Emulate => coop = device::CoopSupport { f16: true, bf16: true, emulated: true, ..coop },
        }
        let mut fcoop = vk::PhysicalDeviceCooperativeMatrixFeaturesKHR::default().cooperative_matrix(true);
        if (coop.f16 || coop.bf16) && !coop.emulated {
            features = features.push_next(&mut fcoop);
        }
        let mut fbf16 = device::Bfloat16Features {
            shader_bfloat16_type: vk::TRUE,
            shader_bfloat16_cooperative_matrix: vk::TRUE,
            ..Default::default()
        };
        if coop.bf16 && !coop.emulated {
            fbf16.p_next = features.p_next;
            features.p_next = (&mut fbf16 as *mut device::Bfloat16Features).cast();
        }
        let priorities = [1.0f32; 3];
        let compute_queues = 1 + lane_queues.iter().filter(|q| q.0 == family).map(|q| q.1).max().unwrap_or(0) as usize;
        let transfer_queues = lane_queues.iter().filter(|q| Some(q.0) == transfer_family).count();
        let mut queues = vec![vk::DeviceQueueCreateInfo::default()
            .queue_family_index(family)
            .queue_priorities(&priorities[..compute_queues])];
        if let Some(f) = transfer_family {
            queues.push(vk::DeviceQueueCreateInfo::default().queue_family_index(f).queue_priorities(&priorities[..transfer_queues]));
        }
        // Calibrated timestamps put GPU spans on the host clock in traces.
        let calibration = instance.has_extension(physical, ash::ext::calibrated_timestamps::NAME) && {
            let loader = ash::ext::calibrated_timestamps::Instance::new(&instance.entry, &instance.raw);
            // SAFETY: a plain query on a physical device of this instance.
            let domains = unsafe { loader.get_physical_device_calibrateable_time_domains(physical) }.unwrap_or_default();
            domains.contains(&vk::TimeDomainEXT::DEVICE) && domains.contains(&vk::TimeDomainEXT::CLOCK_MONOTONIC)
        };
        let mut extensions = vec![ash::khr::push_descriptor::NAME.as_ptr()];
        if calibration {
            extensions.push(ash::ext::calibrated_timestamps::NAME.as_ptr());
        }
        if pipeline_stats {
            extensions.push(ash::khr::pipeline_executable_properties::NAME.as_ptr());
        }
        if (coop.f16 || coop.bf16) && !coop.emulated {
            extensions.push(ash::khr::cooperative_matrix::NAME.as_ptr());
        }
        if coop.bf16 && !coop.emulated {
            extensions.push(device::BFLOAT16_EXTENSION.as_ptr());
        }
        // Registered host memory (`register_host`), where the driver offers it.
        let external_memory_host = instance.has_extension(physical, ash::ext::external_memory_host::NAME);
        if external_memory_host {
            extensions.push(ash::ext::external_memory_host::NAME.as_ptr());
        }
        let info_create = vk::DeviceCreateInfo::default()
            .queue_create_infos(&queues)
            .enabled_extension_names(&extensions)
            .push_next(&mut features);
        // SAFETY: every pointer in the create info refers to live locals; the features
        // enabled were reported available above.
        let raw = unsafe { instance.raw.create_device(physical, &info_create, None) }
            .map_err(|e| Error::vulkan("vkCreateDevice", e))?;
        let mut parts = Parts {
            device: &raw,
            timeline: vk::Semaphore::null(),
            lane_timelines: Vec::new(),
            pool: vk::CommandPool::null(),
            transfer_pool: vk::CommandPool::null(),
            queries: vk::QueryPool::null(),
            cache: vk::PipelineCache::null(),
            done: false,
        };
        // SAFETY: plain query on the physical device of this instance.
        let props = unsafe { instance.raw.get_physical_device_properties(physical) };
        let mut push_props = vk::PhysicalDevicePushDescriptorPropertiesKHR::default();
        let mut host_props = vk::PhysicalDeviceExternalMemoryHostPropertiesEXT::default();
        let mut props2 = vk::PhysicalDeviceProperties2::default().push_next(&mut push_props);
        if external_memory_host {
            props2 = props2.push_next(&mut host_props);
        }
        // SAFETY: as above; the chain holds a live local.
        unsafe { instance.raw.get_physical_device_properties2(physical, &mut props2) };
        let push_descriptor_limit = push_props.max_push_descriptors;
        let host_import = external_memory_host.then(|| HostImport {
            loader: ash::ext::external_memory_host::Device::new(&instance.raw, &raw),
            alignment: host_props.min_imported_host_pointer_alignment.max(1),
            // SAFETY: a plain query on the physical device of this instance.
            memory: unsafe { instance.raw.get_physical_device_memory_properties(physical) },
        });
        let push_descriptor = ash::khr::push_descriptor::Device::new(&instance.raw, &raw);
        // SAFETY: queue 0 of `family` was requested above.
        let queue = unsafe { raw.get_device_queue(family, 0) };
        let max_in_flight = if desc.max_in_flight == 0 { DEFAULT_MAX_IN_FLIGHT } else { desc.max_in_flight };


        let mut timeline_info = vk::SemaphoreTypeCreateInfo::default()
            .semaphore_type(vk::SemaphoreType::TIMELINE)
            .initial_value(0);
        let info_sem = vk::SemaphoreCreateInfo::default().push_next(&mut timeline_info);
        // SAFETY: the create infos below point at live locals; the device is valid.
        parts.timeline = unsafe { raw.create_semaphore(&info_sem, None) }
            .map_err(|e| Error::vulkan("vkCreateSemaphore (timeline)", e))?;
        for _ in &lane_queues {
            // SAFETY: as above.
            let t = unsafe { raw.create_semaphore(&info_sem, None) }
                .map_err(|e| Error::vulkan("vkCreateSemaphore (transfer timeline)", e))?;
            parts.lane_timelines.push(t);
        }
        if let Some(f) = transfer_family {
            let info = vk::CommandPoolCreateInfo::default()
                .queue_family_index(f)
                .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER);
            // SAFETY: as above.
            parts.transfer_pool = unsafe { raw.create_command_pool(&info, None) }
                .map_err(|e| Error::vulkan("vkCreateCommandPool (transfer)", e))?;
        }
        let pool_info = vk::CommandPoolCreateInfo::default()
            .queue_family_index(family)
            .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER);
        // SAFETY: as above.
        parts.pool = unsafe { raw.create_command_pool(&pool_info, None) }
            .map_err(|e| Error::vulkan("vkCreateCommandPool", e))?;
        let timestamps = timestamp_bits > 0 && info.timestamps;
        let mut free_queries = Vec::new();
        if timestamps {
            let count = 2 * max_in_flight;
            let info = vk::QueryPoolCreateInfo::default().query_type(vk::QueryType::TIMESTAMP).query_count(count);
            // SAFETY: as above.
            parts.queries = unsafe { raw.create_query_pool(&info, None) }
                .map_err(|e| Error::vulkan("vkCreateQueryPool", e))?;
            if host_query_reset {
                // SAFETY: the pool is new and unused; hostQueryReset was enabled.
                unsafe { raw.reset_query_pool(parts.queries, 0, count) };
            }
            free_queries = (0..count).step_by(2).rev().collect();
        }
        let cache_path = std::env::var_os("GPUASYNC_PIPELINE_CACHE")
            .map(std::path::PathBuf::from)
            .or_else(|| desc.pipeline_cache.clone());
        let initial = cache_path.as_ref().and_then(|p| std::fs::read(p).ok()).unwrap_or_default();
        let cache_info = vk::PipelineCacheCreateInfo::default().initial_data(&initial);
        // SAFETY: as above; drivers check the cache header and ignore foreign data.
        parts.cache = match unsafe { raw.create_pipeline_cache(&cache_info, None) } {
            Ok(c) => c,
            // A corrupt file must not stop the program: start with an empty cache.
            // SAFETY: as above.
            Err(_) => unsafe { raw.create_pipeline_cache(&vk::PipelineCacheCreateInfo::default(), None) }
                .map_err(|e| Error::vulkan("vkCreatePipelineCache", e))?,
        };

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
        })?;
        let spin_ns = std::env::var("GPUASYNC_SPIN_NS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .or(desc.spin_ns)
            .unwrap_or(DEFAULT_SPIN_NS);

        let (timeline, pool, queries, cache) = (parts.timeline, parts.pool, parts.queries, parts.cache);
        let transfer_pool = parts.transfer_pool;
        let lanes: Vec<Lane> = lane_queues
            .iter()
            .zip(&parts.lane_timelines)
            // SAFETY: every (family, index) here was requested at device creation.
            .map(|(&(f, q), &timeline)| Lane { raw: unsafe { raw.get_device_queue(f, q) }, timeline })
            .collect();
        parts.done = true;
        drop(parts);
        let queue = Arc::new(Queue {
            device: raw.clone(),
            raw: queue,
            timeline,
            lanes,
            transfer_pending: AtomicU64::new(0),
            state: Mutex::new(State {
                allocator: Some(allocator),
                buffers: Slots::new(tag, Family::Buffer),
                kernels: Slots::new(tag, Family::Kernel),
                batches: Slots::new(tag, Family::Batch),
                last_ticket: 0,
                open: None,
                in_flight: VecDeque::new(),
                to_submit: VecDeque::new(),
                command_pool: pool,
                free_commands: Vec::new(),
                transfer_pool,
                transfer_free: Vec::new(),
                transfer_in_flight: VecDeque::new(),
                query_pool: queries,
                free_queries,
                timings: TimingLog::default(),
                op_timings: Default::default(),
                garbage: Vec::new(),
                broken: None,
                destroyed: 0,
                scratch_plan: Plan::default(),
                spare_hazards: crate::submit::Hazards::default(),
                set_cache: SetCache::default(),
                staging_pool: StagingPool::new(),
                stats: Stats::default(),
                staging_in_use: 0,
                hosts: Vec::new(),
                flusher_watching: false,
                ready: None,
            }),
            submit_lock: Mutex::new(()),
            broken: AtomicBool::new(false),
            queue_submissions: AtomicU64::new(0),
            flusher_spin_ns: std::env::var("GPUASYNC_FLUSHER_SPIN_NS")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(spin_ns.min(DEFAULT_FLUSHER_SPIN_NS)),
            flush_depth: std::env::var("GPUASYNC_FLUSH_DEPTH")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .filter(|&d| d >= 1)
                .unwrap_or(DEFAULT_FLUSH_DEPTH),
            wake: Condvar::new(),
            shutdown: AtomicBool::new(false),
            handoff_ns: std::env::var("GPUASYNC_HANDOFF_NS")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(desc.handoff_ns.unwrap_or(0)),
            prebegin: std::env::var("GPUASYNC_PREBEGIN").is_ok_and(|v| matches!(v.trim(), "1" | "on")),
            kick: AtomicBool::new(false),
            flusher_flushes: AtomicU64::new(0),
            flusher_submissions: AtomicU64::new(0),
            queue_submit_ns: AtomicU64::new(0),
            end_ns: AtomicU64::new(0),
            begin_ns: AtomicU64::new(0),
            lock_waits: AtomicU64::new(0),
            lock_wait_ns: AtomicU64::new(0),
            flusher_wakes: AtomicU64::new(0),
            issued: AtomicU64::new(0),
            submitted: AtomicU64::new(0),
            retired: AtomicU64::new(0),
        });
        let mut executor = Self {
            push_descriptor,
            limits: props.limits,
            timestamp_mask: if timestamp_bits >= 64 { u64::MAX } else { (1u64 << timestamp_bits) - 1 },
            host_query_reset,
            pipeline_cache: cache,
            pipeline_cache_path: cache_path,
            max_in_flight: u64::from(max_in_flight),
            staging_budget: std::env::var("GPUASYNC_STAGING_BYTES")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .filter(|&b| b > 0)
                .unwrap_or(if desc.staging_bytes == 0 { DEFAULT_STAGING_BYTES } else { desc.staging_bytes }),
            descriptor_mode: DescriptorMode::from_env(),
            push_descriptor_limit,
            spin_ns,
            epoch: Instant::now(),
            epoch_monotonic_ns: monotonic_ns(),
            calibration: calibration.then(|| ash::ext::calibrated_timestamps::Device::new(&instance.raw, &raw)),
            pipeline_stats: pipeline_stats.then(|| ash::khr::pipeline_executable_properties::Device::new(&instance.raw, &raw)),
            host_import,
            trace: Mutex::new(None),
            tracing: AtomicBool::new(false),
            builtins: Mutex::new(crate::builtin::BuiltinCache::from_env()),
            queue,
            sharing: transfer_family.map(|f| vec![family, f]).unwrap_or_default(),
            transfer_min_bytes,
            transfer_timestamps: timestamps && host_query_reset && lane_timestamp_bits == timestamp_bits,
            write_chunk_bytes,
            coop,
            upload_kernel: None,
            flusher: None,
            device: raw,
            info: DeviceInfo { timestamps, ..info },
            instance,
        };
        if let Some(path) = std::env::var_os("GPUASYNC_TRACE") {
            // A debugging aid: a problem with it warns, it does not stop the program.
            if let Err(e) = executor.trace_to(std::path::PathBuf::from(path)) {
                eprintln!("gpuasync: GPUASYNC_TRACE ignored: {e}");
            }
        }
        // Experimental (docs/async.md): registered writes done by a copy kernel
        // on the compute queue, so that they overlap the copy engines' reads
        // (on an H100, 73 GB/s both ways against 60 for two copy engines).
        let upload_groups = match std::env::var("GPUASYNC_UPLOAD_KERNEL") {
            Ok(v) if !v.trim().is_empty() => v.trim().parse::<u32>().map_err(|_| {
                Error::new(ErrorKind::InvalidArgument, format!("GPUASYNC_UPLOAD_KERNEL={v}: expected a workgroup count (0: off)"))
            })?,
            _ => 0,
        };
        if upload_groups > 0 && executor.host_import.is_some() {
            let words = crate::builtin::upload_kernel_words()?;
            let (pipeline, _) = executor.build_pipeline(&words, "main", &[], DescriptorMode::Push)?;
            // At most the device's workgroup count per dispatch.
            let groups = upload_groups.min(executor.limits.max_compute_work_group_count[0]);
            executor.upload_kernel = Some(UploadKernel { pipeline, groups });
        }
        let flusher = Arc::clone(&executor.queue);
        executor.flusher = Some(
            std::thread::Builder::new()
                .name("gpuasync-flusher".into())
                .spawn(move || flusher.flusher_loop())
                .map_err(|e| Error::new(ErrorKind::OutOfHostMemory, format!("cannot start the flusher thread: {e}")))?,
        );
        Ok(executor)
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

    /// The first validation messages reported (at most 256).
    pub fn validation_messages(&self) -> Vec<String> {
        self.instance.log.kept.lock().clone()
    }

    // ---- buffers -------------------------------------------------------------

    pub fn create_buffer(&self, size: u64, kind: BufferKind) -> Result<BufferId> {
        if size == 0 {
            bail!(InvalidArgument, "buffer size must be nonzero");
        }
        let mut state = self.queue.state.lock();
        let name = match kind {
            BufferKind::DeviceLocal => "gpuasync device-local buffer",
            BufferKind::HostVisible => "gpuasync host-visible buffer",
            BufferKind::Readback => "gpuasync readback buffer",
        };
        let st = &mut *state;
        let allocator = st.allocator.as_mut().ok_or_else(teardown)?;
        let buffer = memory::create_buffer(&self.device, allocator, size, kind, name, &self.sharing)?;
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
        let mut state = self.queue.state.lock();
        let Some(entry) = state.buffers.remove(id.0) else {
            return Err(invalid_buffer(id));
        };
        state.destroyed += 1;
        for set in state.set_cache.evict_buffer(entry.buffer.raw) {
            self.defer(&mut state, entry.last_access, Garbage::DescriptorSet(set.0, set.1));
        }
        self.defer(&mut state, entry.last_access, Garbage::Buffer(entry.buffer));
        Ok(())
    }

    pub fn buffer_size(&self, id: BufferId) -> Result<u64> {
        let state = self.queue.state.lock();
        state.buffers.get(id.0).map(|b| b.buffer.size).ok_or_else(|| invalid_buffer(id))
    }

    /// The host address of a host-visible or readback buffer's memory. The caller
    /// must not touch it while submitted work that uses the buffer is in flight.
    pub fn buffer_mapped_ptr(&self, id: BufferId) -> Result<*mut u8> {
        let mut state = self.queue.state.lock();
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
    /// specialization constants. `Unsupported` when it needs more than the
    /// device offers: push constants, workgroup invocations, or workgroup
    /// (`shared`) memory (`DeviceInfo::max_shared_memory`, after specialization).
    pub fn create_kernel(&self, words: &[u32], entry: &str, spec: &[SpecConstant]) -> Result<KernelId> {
        let (pipeline, interface) = self.build_pipeline(words, entry, spec, self.descriptor_mode)?;
        let mut state = self.queue.state.lock();
        match state.kernels.insert(KernelEntry { pipeline, interface, last_use: 0 }) {
            Ok(id) => Ok(KernelId(id)),
            Err(entry) => {
                // SAFETY: the pipeline was never used by any submission.
                unsafe { entry.pipeline.destroy(&self.device) };
                bail!(OutOfHostMemory, "too many live kernels (2^24)")
            }
        }
    }

    /// `create_kernel`'s checks and pipeline, with the descriptor mode given
    /// (the upload kernel, which no caller can name, always pushes its
    /// descriptors: it binds ranges of buffers).
    fn build_pipeline(&self, words: &[u32], entry: &str, spec: &[SpecConstant], mode: DescriptorMode) -> Result<(kernel::Pipeline, KernelInterface)> {
        let interface = kernel::reflect(words, entry, spec)?;
        let max_push = self.limits.max_push_constants_size;
        if interface.push_constant_size > max_push {
            bail!(
                Unsupported,
                "kernel's push constants are {} bytes, the device allows {max_push}",
                interface.push_constant_size
            );
        }
        if mode == DescriptorMode::Push
            && interface.bindings.len() as u32 > self.push_descriptor_limit
        {
            bail!(
                Unsupported,
                "kernel has {} bindings; push descriptors allow {} on this device (use GPUASYNC_DESCRIPTORS=cached)",
                interface.bindings.len(),
                self.push_descriptor_limit
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
        let max_shared = self.limits.max_compute_shared_memory_size;
        if interface.workgroup_memory > u64::from(max_shared) {
            bail!(
                Unsupported,
                "kernel declares at least {} bytes of workgroup (shared) memory; the device allows {max_shared}",
                interface.workgroup_memory
            );
        }
        let pipeline = kernel::create_pipeline(
            &self.device,
            mode,
            self.pipeline_cache,
            words,
            entry,
            &interface,
            spec,
            self.pipeline_stats.is_some(),
        )?;
        Ok((pipeline, interface))
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

    /// The driver's compiler statistics for a kernel (register count, shared
    /// memory and the like; names and meanings are the driver's), as
    /// "name = value" lines. A tuning aid: `Unsupported` unless the executor was
    /// created with `GPUASYNC_PIPELINE_STATS=1` on a driver that has
    /// VK_KHR_pipeline_executable_properties.
    pub fn kernel_statistics(&self, id: KernelId) -> Result<Vec<String>> {
        let Some(loader) = &self.pipeline_stats else {
            bail!(Unsupported, "pipeline statistics need GPUASYNC_PIPELINE_STATS=1 and VK_KHR_pipeline_executable_properties");
        };
        let state = self.queue.state.lock();
        let pipeline = state.kernels.get(id.0).ok_or_else(|| invalid_kernel(id))?.pipeline.raw;
        let info = vk::PipelineInfoKHR::default().pipeline(pipeline);
        // SAFETY: the pipeline is live (the state lock keeps it from being
        // destroyed) and was created with CAPTURE_STATISTICS.
        let executables = unsafe { loader.get_pipeline_executable_properties(&info) }
            .map_err(|e| Error::vulkan("vkGetPipelineExecutablePropertiesKHR", e))?;
        let mut lines = Vec::new();
        for index in 0..executables.len() as u32 {
            let exec = vk::PipelineExecutableInfoKHR::default().pipeline(pipeline).executable_index(index);
            // SAFETY: as above; `index` is below the executable count.
            let stats = unsafe { loader.get_pipeline_executable_statistics(&exec) }
                .map_err(|e| Error::vulkan("vkGetPipelineExecutableStatisticsKHR", e))?;
            for s in stats {
                let name = s.name_as_c_str().map(|c| c.to_string_lossy().into_owned()).unwrap_or_default();
                // SAFETY: `format` says which member of the union the driver wrote.
                let value = unsafe {
                    match s.format {
                        vk::PipelineExecutableStatisticFormatKHR::BOOL32 => (s.value.b32 != 0).to_string(),
                        vk::PipelineExecutableStatisticFormatKHR::INT64 => s.value.i64.to_string(),
                        vk::PipelineExecutableStatisticFormatKHR::UINT64 => s.value.u64.to_string(),
                        _ => s.value.f64.to_string(),
                    }
                };
                lines.push(format!("{name} = {value}"));
            }
        }
        Ok(lines)
    }

    pub fn kernel_interface(&self, id: KernelId) -> Result<KernelInterface> {
        let state = self.queue.state.lock();
        state.kernels.get(id.0).map(|k| k.interface.clone()).ok_or_else(|| invalid_kernel(id))
    }

    /// A kernel's workgroup size, without copying the rest of its interface
    /// (on the submit path of the built-in 16-bit GEMM).
    pub(crate) fn kernel_local_size(&self, id: KernelId) -> Result<[u32; 3]> {
        let state = self.queue.state.lock();
        state.kernels.get(id.0).map(|k| k.interface.local_size).ok_or_else(|| invalid_kernel(id))
    }

    /// Destroy a kernel; deferred until submitted work that uses it completes.
    pub fn destroy_kernel(&self, id: KernelId) -> Result<()> {
        let mut state = self.queue.state.lock();
        let Some(entry) = state.kernels.remove(id.0) else {
            return Err(invalid_kernel(id));
        };
        state.destroyed += 1;
        for set in state.set_cache.evict_layout(entry.pipeline.set_layout) {
            self.defer(&mut state, entry.last_use, Garbage::DescriptorSet(set.0, set.1));
        }
        self.defer(&mut state, entry.last_use, Garbage::Kernel(entry.pipeline));
        Ok(())
    }

    pub(crate) fn defer(&self, state: &mut State, ticket: u64, garbage: Garbage) {
        if ticket <= self.queue.retired.load(Ordering::Acquire) {
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
            Garbage::DescriptorSet(set, pool) => {
                // SAFETY: the pool allows freeing sets; no pending work uses `set`.
                if let Err(e) = unsafe { self.device.free_descriptor_sets(pool, &[set]) } {
                    eprintln!("gpuasync: freeing a descriptor set failed: {e}");
                }
            }
            Garbage::Host { raw, memory, .. } => host::destroy(&self.device, raw, memory),
            Garbage::Batch(cb, query) => {
                state.free_commands.push(cb);
                if let Some(q) = query {
                    if self.host_query_reset {
                        // SAFETY: the batch's last replay has completed.
                        unsafe { self.device.reset_query_pool(state.query_pool, q, 2) };
                    }
                    state.free_queries.push(q);
                }
            }
        }
    }

    // ---- completion ----------------------------------------------------------

    fn check_issued(&self, ticket: u64) -> Result<()> {
        if self.queue.broken.load(Ordering::Acquire) {
            if let Some(e) = &self.queue.state.lock().broken {
                return Err(e.clone());
            }
        }
        let issued = self.queue.issued.load(Ordering::Acquire);
        if ticket > issued {
            bail!(InvalidArgument, "ticket {ticket} was never issued (the latest is {issued})");
        }
        Ok(())
    }

    /// Hand the open bundle to the queue if it holds `ticket`, so that waiting for
    /// `ticket` cannot wait for a later call.
    fn flush_for(&self, ticket: u64) -> Result<()> {
        if ticket > self.queue.submitted.load(Ordering::Acquire) {
            let mut st = self.queue.state.lock();
            if let Some(e) = &st.broken {
                return Err(e.clone());
            }
            if ticket > self.queue.submitted.load(Ordering::Acquire) {
                // Close the open bundle if it holds the ticket (or, with transfer
                // lanes, a ticket before it), and hand over whatever is queued
                // (possibly by another thread, which the submission lock waits for).
                if st.open.as_ref().is_some_and(|b| b.first_ticket <= ticket) {
                    self.queue.flush(&mut st)?;
                } else {
                    MutexGuard::unlocked(&mut st, || self.queue.drain())?;
                }
            }
        }
        Ok(())
    }

    /// Has `ticket` completed? Never waits for the GPU (it may wait briefly for
    /// another thread's lock). Delivers the reads of every submission found
    /// complete. Ticket 0 is always complete.
    pub fn poll(&self, ticket: u64) -> Result<bool> {
        if !self.tracing.load(Ordering::Relaxed) {
            return self.poll_untraced(ticket);
        }
        let start = self.host_ns();
        let done = self.poll_untraced(ticket);
        self.trace_host(if matches!(done, Ok(true)) { "poll (done)" } else { "poll" }, start, ticket);
        done
    }

    fn poll_untraced(&self, ticket: u64) -> Result<bool> {
        if ticket <= self.queue.retired.load(Ordering::Acquire) {
            return Ok(true);
        }
        self.check_issued(ticket)?;
        self.flush_for(ticket)?;
        if !self.queue.lanes.is_empty() {
            // Without transfers in flight, a compute timeline short of the ticket
            // answers without the lock (a transfer committed since is answered by
            // the next poll).
            if self.queue.transfer_pending.load(Ordering::Acquire) == 0 && self.queue.progress()? < ticket {
                return Ok(false);
            }
            let mut st = self.queue.state.lock();
            let reached = self.reached(&st)?;
            self.retire(&mut st, reached);
            return Ok(reached >= ticket);
        }
        let reached = self.queue.progress()?;
        if reached < ticket {
            return Ok(false);
        }
        self.retire(&mut self.queue.state.lock(), reached);
        Ok(true)
    }

    /// Block until `ticket` completes or `timeout_ns` passes. `Ok(false)` is a
    /// timeout: nothing changed. `u64::MAX` waits forever. Spins on the timeline
    /// for up to the executor's spin time before it sleeps in the driver.
    pub fn wait(&self, ticket: u64, timeout_ns: u64) -> Result<bool> {
        if !self.tracing.load(Ordering::Relaxed) {
            return self.wait_untraced(ticket, timeout_ns);
        }
        let start = self.host_ns();
        let done = self.wait_untraced(ticket, timeout_ns);
        self.trace_host(if matches!(done, Ok(false)) { "wait (timeout)" } else { "wait" }, start, ticket);
        done
    }

    fn wait_untraced(&self, ticket: u64, timeout_ns: u64) -> Result<bool> {
        if ticket <= self.queue.retired.load(Ordering::Acquire) {
            return Ok(true);
        }
        self.check_issued(ticket)?;
        self.flush_for(ticket)?;
        if !self.queue.lanes.is_empty() {
            return self.wait_lanes(ticket, timeout_ns);
        }
        // Wait for the value the queue really signals: the last ticket of the
        // bundle holding `ticket`. (The same moment; and the validation layer of
        // Vulkan SDK 1.3.239 times out when a wait names a value no submission
        // signals exactly.)
        #[cfg(debug_assertions)]
        crate::testing::run_wait_lookup_hook();
        let signal = {
            let st = self.queue.state.lock();
            if ticket <= self.queue.retired.load(Ordering::Acquire) {
                return Ok(true);
            }
            if let Some(e) = &st.broken {
                return Err(e.clone());
            }
            match st.in_flight.iter().find(|b| b.first_ticket <= ticket && ticket <= b.last_ticket) {
                Some(b) => b.last_ticket,
                // Retired by another thread since the check above.
                None => return Ok(true),
            }
        };
        if !self.queue.spin_then_wait(signal, self.spin_ns, timeout_ns)? {
            return Ok(false);
        }
        let reached = self.queue.progress()?.max(signal);
        self.retire(&mut self.queue.state.lock(), reached);
        Ok(true)
    }

    /// Wait for everything submitted so far.
    pub fn wait_all(&self) -> Result<()> {
        let last = self.queue.issued.load(Ordering::Acquire);
        self.wait(last, u64::MAX).map(|_| ())
    }

    /// Process every bundle whose last ticket is <= `reached`: deliver reads,
    /// collect timestamps, recycle command buffers, free deferred objects. Runs only
    /// on the threads of callers (poll, wait, submit), never on the flusher.
    pub(crate) fn retire(&self, st: &mut State, reached: u64) {
        let now = self.host_ns();
        // Both lists, merged in ticket order (timing logs are kept sorted).
        loop {
            let main = st.in_flight.front().map(|b| b.last_ticket).filter(|&t| t <= reached);
            let transfer = st.transfer_in_flight.front().map(|b| b.last_ticket).filter(|&t| t <= reached);
            let done = match (main, transfer) {
                (Some(m), Some(t)) if t < m => st.transfer_in_flight.pop_front(),
                (Some(_), _) => st.in_flight.pop_front(),
                (None, Some(_)) => st.transfer_in_flight.pop_front(),
                (None, None) => None,
            };
            let Some(done) = done else { break };
            self.finish(st, done, now);
        }
        self.queue.transfer_pending.store(st.transfer_in_flight.len() as u64, Ordering::Release);
        if st.garbage.iter().any(|(t, _)| *t <= reached) {
            let (ready, waiting): (Vec<_>, Vec<_>) =
                std::mem::take(&mut st.garbage).into_iter().partition(|(t, _)| *t <= reached);
            st.garbage = waiting;
            for (_, g) in ready {
                self.destroy_garbage(st, g);
            }
        }
        // With transfer lanes `reached` counts only complete tickets, all handed
        // over, while `submitted` may lag behind a drain still returning.
        let submitted = if self.queue.lanes.is_empty() { self.queue.submitted.load(Ordering::Acquire) } else { u64::MAX };
        self.queue.retired.fetch_max(reached.min(submitted), Ordering::AcqRel);
    }

    /// The GPU times (ns) written into queries `base, base + 1` by a completed
    /// command buffer (each query pair's begin is always followed by its end:
    /// see `record`), or `None` if the driver fails to return them.
    fn read_span(&self, st: &State, base: u32) -> Option<(u64, u64)> {
        let mut ticks = [0u64; 2];
        // SAFETY: both queries were written by the completed command buffer.
        let got = unsafe {
            self.device.get_query_pool_results(
                st.query_pool,
                base,
                &mut ticks,
                vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WAIT,
            )
        };
        let period = self.info.timestamp_period_ns;
        let to_ns = |t: u64| ((t & self.timestamp_mask) as f64 * period) as u64;
        got.ok().map(|()| (to_ns(ticks[0]), to_ns(ticks[1])))
    }

    fn finish(&self, st: &mut State, mut done: Bundle, now_ns: u64) {
        done.deliver_reads();
        for &(ticket, base, host_submit_ns, pooled) in &done.queries {
            if let Some((gpu_begin_ns, gpu_end_ns)) = self.read_span(st, base) {
                let timing = Timing { gpu_begin_ns, gpu_end_ns, host_submit_ns, host_complete_ns: now_ns };
                st.stats.timed_submissions += 1;
                st.stats.gpu_time_ns += timing.gpu_ns();
                st.timings.push(ticket, timing);
                if self.tracing.load(Ordering::Relaxed) {
                    if let Some(trace) = self.trace.lock().as_mut() {
                        trace.push(Event {
                            name: match done.lane {
                                0 => "submission",
                                1 => "transfer queue (uploads)",
                                _ => "transfer queue (downloads)",
                            },
                            clock: Clock::Gpu,
                            start_ns: timing.gpu_begin_ns,
                            dur_ns: timing.gpu_ns(),
                            thread: 0,
                            ticket,
                        });
                    }
                }
            }
            if pooled {
                if self.host_query_reset {
                    // SAFETY: the command buffer that used these queries has completed.
                    unsafe { self.device.reset_query_pool(st.query_pool, base, 2) };
                }
                st.free_queries.push(base);
            }
        }
        for &(ticket, base, op) in &done.op_queries {
            if let Some((begin, end)) = self.read_span(st, base) {
                st.op_timings.push(ticket, op, begin, end);
            }
            if self.host_query_reset {
                // SAFETY: the command buffer that used these queries has completed.
                unsafe { self.device.reset_query_pool(st.query_pool, base, 2) };
            }
            st.free_queries.push(base);
        }
        if done.recycle {
            st.recycle_command_buffer(done.lane, done.command_buffer);
        }
        st.staging_in_use -= done.staging_charge;
        if let Some(allocator) = st.allocator.as_mut() {
            for staging in done.staging.drain(..) {
                st.staging_pool.give(&self.device, allocator, staging);
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
        if ticket == 0 {
            bail!(NotFound, "ticket 0 stands for no work and has no timing");
        }
        if !self.poll(ticket)? {
            bail!(NotReady, "ticket {ticket} is not complete yet");
        }
        let state = self.queue.state.lock();
        state.timings.get(ticket).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("ticket {ticket} was submitted without timestamps, or its record was dropped (the newest 4096 are kept)"),
            )
        })
    }

    /// GPU span of op `op` (its index in the submitted list; a built-in op
    /// counts as one) of a submission made with `SubmitFlags::op_timestamps`:
    /// `gpu_begin_ns` when all work before the op was done, `gpu_end_ns` when
    /// the op was, so the spans of a submission's ops follow one another. Host
    /// times are the submission's. `NotReady` while incomplete, `NotFound`
    /// without per-op timestamps (or older than the newest 4096 such).
    pub fn op_timing(&self, ticket: u64, op: u32) -> Result<Timing> {
        let whole = self.timing(ticket)?;
        let state = self.queue.state.lock();
        let (gpu_begin_ns, gpu_end_ns) = state.op_timings.get(ticket, op).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("ticket {ticket} has no timing for op {op}: not submitted with per-op timestamps, no such op, or dropped (the newest 4096 are kept)"),
            )
        })?;
        Ok(Timing { gpu_begin_ns, gpu_end_ns, ..whole })
    }

    /// Start recording a trace (Chrome/Perfetto JSON) into `path`, replacing any
    /// trace in progress (which is written first). While tracing, every
    /// submission carries timestamps.
    pub fn trace_to(&self, path: std::path::PathBuf) -> Result<()> {
        if !self.info.timestamps {
            bail!(Unsupported, "device {} cannot write timestamps on its compute queue", self.info.name);
        }
        let offset = self.calibrated_offset();
        let old = self.trace.lock().replace(Trace::new(path, offset));
        self.tracing.store(true, Ordering::Release);
        match old {
            Some(t) => t.write(&self.info.name),
            None => Ok(()),
        }
    }

    /// Stop tracing and write the file (spans of work still in flight are not in it).
    pub fn trace_stop(&self) -> Result<()> {
        let trace = {
            let mut guard = self.trace.lock();
            self.tracing.store(false, Ordering::Release);
            guard.take()
        };
        match trace {
            Some(t) => t.write(&self.info.name),
            None => Ok(()),
        }
    }

    /// Host-epoch ns minus GPU ns, from one calibrated pair of timestamps.
    fn calibrated_offset(&self) -> Option<i128> {
        let calibration = self.calibration.as_ref()?;
        let infos = [
            vk::CalibratedTimestampInfoEXT::default().time_domain(vk::TimeDomainEXT::DEVICE),
            vk::CalibratedTimestampInfoEXT::default().time_domain(vk::TimeDomainEXT::CLOCK_MONOTONIC),
        ];
        // SAFETY: the extension is enabled on this device; the infos are valid.
        let (stamps, _deviation) = unsafe { calibration.get_calibrated_timestamps(&infos) }.ok()?;
        let gpu_ns = ((stamps[0] & self.timestamp_mask) as f64 * self.info.timestamp_period_ns) as i128;
        let host_ns = i128::from(stamps[1]) - i128::from(self.epoch_monotonic_ns);
        Some(host_ns - gpu_ns)
    }

    /// Record a host span (`start` from `host_ns`) if tracing.
    pub(crate) fn trace_host(&self, name: &'static str, start: u64, ticket: u64) {
        if !self.tracing.load(Ordering::Relaxed) {
            return;
        }
        let end = self.host_ns();
        if let Some(trace) = self.trace.lock().as_mut() {
            let thread = trace.thread();
            trace.push(Event { name, clock: Clock::Host, start_ns: start, dur_ns: end.saturating_sub(start), thread, ticket });
        }
    }

    /// Counters of what the executor has done so far.
    pub fn stats(&self) -> Stats {
        let st = self.queue.state.lock();
        Stats {
            submissions: st.last_ticket,
            queue_submissions: self.queue.queue_submissions.load(Ordering::Relaxed),
            completed: self.queue.retired.load(Ordering::Acquire),
            flusher_flushes: self.queue.flusher_flushes.load(Ordering::Relaxed),
            flusher_submissions: self.queue.flusher_submissions.load(Ordering::Relaxed),
            queue_submit_ns: self.queue.queue_submit_ns.load(Ordering::Relaxed),
            end_command_buffer_ns: self.queue.end_ns.load(Ordering::Relaxed),
            begin_command_buffer_ns: self.queue.begin_ns.load(Ordering::Relaxed),
            state_lock_waits: self.queue.lock_waits.load(Ordering::Relaxed),
            state_lock_wait_ns: self.queue.lock_wait_ns.load(Ordering::Relaxed),
            flusher_wakes: self.queue.flusher_wakes.load(Ordering::Relaxed),
            ..st.stats
        }
    }

    /// How many transfer lanes the executor has (0, 1 or 2; see `TransferQueues`).
    pub fn transfer_lanes(&self) -> usize {
        self.queue.lanes.len()
    }

    /// Whether the transfer lanes run on a transfer-only queue family (the
    /// copy engines), not on the compute queue's family.
    pub fn transfer_lanes_dedicated(&self) -> bool {
        self.sharing.len() > 1
    }

    fn save_pipeline_cache(&self) {
        let Some(path) = &self.pipeline_cache_path else { return };
        // SAFETY: the cache is live and owned by this executor.
        match unsafe { self.device.get_pipeline_cache_data(self.pipeline_cache) } {
            Ok(data) => {
                // Write then rename, so a reader never sees half a file.
                let tmp = path.with_extension("tmp");
                if let Err(e) = std::fs::write(&tmp, data).and_then(|()| std::fs::rename(&tmp, path)) {
                    eprintln!("gpuasync: cannot save the pipeline cache to {}: {e}", path.display());
                }
            }
            Err(e) => eprintln!("gpuasync: cannot read the pipeline cache: {e}"),
        }
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

pub(crate) fn teardown() -> Error {
    Error::new(ErrorKind::Internal, "executor is being destroyed")
}

impl Drop for Executor {
    fn drop(&mut self) {
        // Teardown in one order: submit what is open, stop the flusher, wait for
        // the GPU, retire (delivering reads), resources, allocator, pools, device;
        // the instance (with its messenger) drops after this.
        {
            let mut st = self.queue.state.lock();
            if let Err(e) = self.queue.flush(&mut st) {
                eprintln!("gpuasync: submitting open work at teardown failed: {e}");
            }
            self.queue.shutdown.store(true, Ordering::Release);
            self.queue.wake.notify_all();
        }
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
        // SAFETY: waits for the queue of this device; no other thread submits now
        // (the flusher has stopped and `drop` has exclusive access).
        if let Err(e) = unsafe { self.device.device_wait_idle() } {
            eprintln!("gpuasync: waiting for the device at teardown failed: {e}");
        }
        self.save_pipeline_cache();
        let mut st = self.queue.state.lock();
        let now = self.host_ns();
        while let Some(done) = st.in_flight.pop_front() {
            self.finish(&mut st, done, now);
        }
        while let Some(done) = st.transfer_in_flight.pop_front() {
            self.finish(&mut st, done, now);
        }
        // A pre-begun command buffer goes with its pool, destroyed below.
        st.ready = None;
        if let Some(open) = st.open.take() {
            // Only left when its submission failed: nothing of it ran.
            st.free_commands.push(open.command_buffer);
            if let Some(allocator) = st.allocator.as_mut() {
                for staging in open.staging {
                    memory::destroy_buffer(&self.device, allocator, staging);
                }
            }
        }
        drop(st);
        if let Err(e) = self.trace_stop() {
            eprintln!("gpuasync: {e}");
        }
        let mut st = self.queue.state.lock();
        let garbage: Vec<_> = st.garbage.drain(..).map(|(_, g)| g).collect();
        for g in garbage {
            self.destroy_garbage(&mut st, g);
        }
        let buffers: Vec<_> = st.buffers.drain().collect();
        for b in buffers {
            self.destroy_garbage(&mut st, Garbage::Buffer(b.buffer));
        }
        if let Some(upload) = self.upload_kernel.take() {
            self.destroy_garbage(&mut st, Garbage::Kernel(upload.pipeline));
        }
        let kernels: Vec<_> = st.kernels.drain().collect();
        for k in kernels {
            self.destroy_garbage(&mut st, Garbage::Kernel(k.pipeline));
        }
        let batches: Vec<_> = st.batches.drain().collect();
        for b in batches {
            self.destroy_garbage(&mut st, Garbage::Batch(b.command_buffer, b.query));
        }
        for r in std::mem::take(&mut st.hosts) {
            host::destroy(&self.device, r.raw, r.memory);
        }
        st.set_cache.destroy(&self.device);
        let state = &mut *st;
        if let Some(allocator) = state.allocator.as_mut() {
            state.staging_pool.destroy_all(&self.device, allocator);
        }
        drop(st.allocator.take());
        // SAFETY: the device is idle and every object below was created from it and
        // is destroyed exactly once (null handles are ignored by Vulkan).
        unsafe {
            self.device.destroy_command_pool(st.command_pool, None);
            self.device.destroy_command_pool(st.transfer_pool, None);
            self.device.destroy_query_pool(st.query_pool, None);
            self.device.destroy_pipeline_cache(self.pipeline_cache, None);
            self.device.destroy_semaphore(self.queue.timeline, None);
            for lane in &self.queue.lanes {
                self.device.destroy_semaphore(lane.timeline, None);
            }
            self.device.destroy_device(None);
        }
    }
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("device", &self.info.name)
            .field("issued", &self.queue.issued.load(Ordering::Relaxed))
            .field("retired", &self.queue.retired.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}
