//! Buffers through gpu-allocator: device-local, host-visible (mapped), and the
//! staging memory that carries writes and reads.

use ash::vk;
use gpu_allocator::vulkan::{Allocation, AllocationCreateDesc, AllocationScheme, Allocator};
use gpu_allocator::MemoryLocation;

use crate::error::{Error, Result};

/// Where a buffer lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum BufferKind {
    /// Device-local memory: the fastest for kernels; reached through writes and reads.
    DeviceLocal = 0,
    /// Host-visible, mapped memory (device-local where the device has such a heap):
    /// the host may view it directly through `Executor::buffer_mapped_ptr`.
    HostVisible = 1,
    /// Host-visible, host-cached memory, for data the host reads back often.
    Readback = 2,
}

impl BufferKind {
    pub fn from_u32(v: u32) -> Option<Self> {
        match v {
            0 => Some(Self::DeviceLocal),
            1 => Some(Self::HostVisible),
            2 => Some(Self::Readback),
            _ => None,
        }
    }

    fn location(self) -> MemoryLocation {
        match self {
            Self::DeviceLocal => MemoryLocation::GpuOnly,
            Self::HostVisible => MemoryLocation::CpuToGpu,
            Self::Readback => MemoryLocation::GpuToCpu,
        }
    }
}

/// A `vk::Buffer` and the memory bound to it.
pub(crate) struct RawBuffer {
    pub raw: vk::Buffer,
    pub allocation: Allocation,
    pub size: u64,
    pub kind: BufferKind,
}

impl RawBuffer {
    /// The mapped bytes of a host-visible buffer.
    pub fn mapped(&mut self) -> Option<&mut [u8]> {
        self.allocation.mapped_slice_mut()
    }
}

const USAGE: vk::BufferUsageFlags = vk::BufferUsageFlags::from_raw(
    vk::BufferUsageFlags::STORAGE_BUFFER.as_raw()
        | vk::BufferUsageFlags::TRANSFER_SRC.as_raw()
        | vk::BufferUsageFlags::TRANSFER_DST.as_raw(),
);

/// Create a buffer of `size` bytes (nonzero) with memory from `kind`'s location;
/// `name` labels the allocation in gpu-allocator's reports.
/// Exclusive sharing, or concurrent sharing between `families` (two or more:
/// the compute queue's and the transfer queues').
pub(crate) fn sharing_info<'a>(info: vk::BufferCreateInfo<'a>, families: &'a [u32]) -> vk::BufferCreateInfo<'a> {
    if families.len() > 1 {
        info.sharing_mode(vk::SharingMode::CONCURRENT).queue_family_indices(families)
    } else {
        info.sharing_mode(vk::SharingMode::EXCLUSIVE)
    }
}

pub(crate) fn create_buffer(
    device: &ash::Device,
    allocator: &mut Allocator,
    size: u64,
    kind: BufferKind,
    name: &str,
    sharing: &[u32],
) -> Result<RawBuffer> {
    let info = sharing_info(vk::BufferCreateInfo::default().size(size).usage(USAGE), sharing);
    // SAFETY: `info` is fully initialised and `size` is nonzero (callers check).
    let raw = unsafe { device.create_buffer(&info, None) }
        .map_err(|e| Error::vulkan("vkCreateBuffer", e))?;
    // SAFETY: `raw` was just created from `device`.
    let requirements = unsafe { device.get_buffer_memory_requirements(raw) };
    let allocation = allocator.allocate(&AllocationCreateDesc {
        name,
        requirements,
        location: kind.location(),
        linear: true,
        allocation_scheme: AllocationScheme::GpuAllocatorManaged,
    });
    let allocation = match allocation {
        Ok(a) => a,
        Err(e) => {
            // SAFETY: `raw` is unused and owned here.
            unsafe { device.destroy_buffer(raw, None) };
            return Err(e.into());
        }
    };
    // SAFETY: the allocation satisfies `requirements` and is bound exactly once.
    let bound = unsafe { device.bind_buffer_memory(raw, allocation.memory(), allocation.offset()) };
    if let Err(e) = bound {
        let _ = allocator.free(allocation);
        // SAFETY: `raw` is unused and owned here.
        unsafe { device.destroy_buffer(raw, None) };
        return Err(Error::vulkan("vkBindBufferMemory", e));
    }
    Ok(RawBuffer { raw, allocation, size, kind })
}

/// Destroy a buffer and free its memory. The caller guarantees the GPU is done with it.
pub(crate) fn destroy_buffer(device: &ash::Device, allocator: &mut Allocator, buffer: RawBuffer) {
    // SAFETY: the caller guarantees no pending GPU work uses `buffer.raw`.
    unsafe { device.destroy_buffer(buffer.raw, None) };
    if let Err(e) = allocator.free(buffer.allocation) {
        eprintln!("gpuasync: freeing buffer memory failed: {e}");
    }
}

/// Staging buffers kept for reuse once the work that used them is done, so
/// that transfers do not pay for allocating (and the kernel for zeroing and
/// mapping) fresh host memory every time. Sizes are rounded up to powers of two
/// (64 KiB at least) so buffers fit later requests; at most `limit` bytes are
/// kept (`GPUASYNC_STAGING_POOL_BYTES`, default 512 MiB).
pub(crate) struct StagingPool {
    free: Vec<RawBuffer>,
    bytes: u64,
    limit: u64,
}

/// The smallest staging allocation.
const MIN_STAGING: u64 = 64 << 10;

impl StagingPool {
    pub fn new() -> Self {
        let limit = std::env::var("GPUASYNC_STAGING_POOL_BYTES")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(512 << 20);
        Self { free: Vec::new(), bytes: 0, limit }
    }

    /// A staging buffer of at least `bytes` of `kind`: a kept one if one fits,
    /// else a new one of the rounded size.
    pub fn take(
        &mut self,
        device: &ash::Device,
        allocator: &mut Allocator,
        bytes: u64,
        kind: BufferKind,
        sharing: &[u32],
    ) -> Result<RawBuffer> {
        // Round up so buffers fit later requests, but only sizes the pool may keep:
        // a larger transfer gets exactly what it needs.
        let rounded = bytes.max(MIN_STAGING).checked_next_power_of_two().unwrap_or(bytes);
        let size = if rounded <= self.limit { rounded } else { bytes };
        // The common case first: a kept buffer of exactly the rounded size, the
        // most recently returned one (a stream of small transfers keeps many of
        // one size, and scanning them all cost each write ~0.5 us).
        let exact = self.free.iter().rposition(|b| b.kind == kind && b.size == size);
        let best = exact.or_else(|| {
            self.free
                .iter()
                .enumerate()
                .filter(|(_, b)| b.kind == kind && b.size >= bytes && b.size <= 2 * size)
                .min_by_key(|(_, b)| b.size)
                .map(|(i, _)| i)
        });
        if let Some(i) = best {
            let b = self.free.swap_remove(i);
            self.bytes -= b.size;
            return Ok(b);
        }
        let name = if kind == BufferKind::Readback { "gpuasync staging (reads)" } else { "gpuasync staging (writes)" };
        create_buffer(device, allocator, size, kind, name, sharing)
    }

    /// Keep `buffer` for reuse (the GPU is done with it), or free it when the
    /// pool is full, oldest first.
    pub fn give(&mut self, device: &ash::Device, allocator: &mut Allocator, buffer: RawBuffer) {
        if buffer.size > self.limit {
            return destroy_buffer(device, allocator, buffer);
        }
        while self.bytes + buffer.size > self.limit && !self.free.is_empty() {
            let old = self.free.remove(0);
            self.bytes -= old.size;
            destroy_buffer(device, allocator, old);
        }
        self.bytes += buffer.size;
        self.free.push(buffer);
    }

    pub fn destroy_all(&mut self, device: &ash::Device, allocator: &mut Allocator) {
        for b in self.free.drain(..) {
            destroy_buffer(device, allocator, b);
        }
        self.bytes = 0;
    }
}

/// Copies at least this large are spread over several threads: one thread's
/// memcpy into write-combined staging memory runs at ~10 GB/s, well below what
/// the bus and the memory system carry.
const PARALLEL_COPY_BYTES: usize = 16 << 20;

/// Copy `src` to `dst`, on several threads for large copies; falls back to one
/// thread if the system refuses more.
///
/// # Safety
/// `dst` must be valid for writes of `src.len()` bytes (it may be
/// uninitialized) and must not overlap `src` or be accessed by anyone else
/// during the call.
pub(crate) unsafe fn parallel_copy(dst: *mut u8, src: &[u8]) {
    // Asked only for large copies: available_parallelism reads /proc and cgroup
    // files (~15 us), which a small write must not pay. It is asked each time
    // because it follows the calling thread's affinity (an MPI rank pinned to
    // one core copies on one thread).
    let threads = if src.len() < PARALLEL_COPY_BYTES {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
    };
    if threads < 2 {
        // SAFETY: the caller's contract.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
        return;
    }
    // Chunks of whole pages (whole cache lines when `dst` is page-aligned, as
    // staging memory is).
    let chunk = src.len().div_ceil(threads).next_multiple_of(4096);
    /// A destination pointer that may cross to the copying threads.
    #[derive(Clone, Copy)]
    struct Dst(*mut u8);
    // SAFETY: each thread writes a disjoint range of the caller's destination,
    // which the caller keeps valid and unaliased for the whole call.
    unsafe impl Send for Dst {}
    let base = Dst(dst);
    std::thread::scope(|scope| {
        let mut fallback = Vec::new();
        for (i, s) in src.chunks(chunk).enumerate() {
            let spawned = std::thread::Builder::new().spawn_scoped(scope, move || {
                let d = base;
                // SAFETY: `i * chunk .. i * chunk + s.len()` lies inside the caller's
                // destination and no other thread writes it.
                unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), d.0.add(i * chunk), s.len()) };
            });
            if spawned.is_err() {
                fallback.push((i, s));
            }
        }
        for (i, s) in fallback {
            // SAFETY: as above, on this thread.
            unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), base.0.add(i * chunk), s.len()) };
        }
    });
}
