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
pub(crate) fn create_buffer(
    device: &ash::Device,
    allocator: &mut Allocator,
    size: u64,
    kind: BufferKind,
    name: &str,
) -> Result<RawBuffer> {
    let info = vk::BufferCreateInfo::default()
        .size(size)
        .usage(USAGE)
        .sharing_mode(vk::SharingMode::EXCLUSIVE);
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
    Ok(RawBuffer { raw, allocation, size })
}

/// Destroy a buffer and free its memory. The caller guarantees the GPU is done with it.
pub(crate) fn destroy_buffer(device: &ash::Device, allocator: &mut Allocator, buffer: RawBuffer) {
    // SAFETY: the caller guarantees no pending GPU work uses `buffer.raw`.
    unsafe { device.destroy_buffer(buffer.raw, None) };
    if let Err(e) = allocator.free(buffer.allocation) {
        eprintln!("gpuasync: freeing buffer memory failed: {e}");
    }
}
