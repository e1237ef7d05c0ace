//! Registered host memory (the analogue of `cudaHostRegister`): a range of the
//! caller's memory imported into Vulkan with VK_EXT_external_memory_host, so
//! that writes from it and reads into it copy straight between that memory and
//! device buffers, with no staging and no host copy.
//!
//! Alignment rule: the range's start and length must both be multiples of the
//! device's `minImportedHostPointerAlignment` (4096 on every known driver;
//! `Executor::host_register_alignment`). Anything else is `InvalidArgument`:
//! gpuasync never pins memory outside the caller's range, and never registers
//! less than asked for.
//!
//! Contract: a write whose source lies inside a registered range reads that
//! memory on the GPU, after `submit` returns, so the caller must not modify it
//! until the write's ticket completes (CUDA's pinned-memory contract). A read
//! whose destination lies inside one lands there on the GPU; the bytes are
//! there once the ticket completes (no delivery copy). Ops that are not wholly
//! inside one registration are staged as before.

use std::sync::atomic::Ordering;

use ash::vk;

use crate::error::{bail, Error, Result};
use crate::executor::{Executor, Garbage};

/// One registered range, its imported memory and the buffer bound to it.
pub(crate) struct HostRegion {
    /// Address of the first byte.
    pub start: usize,
    pub len: usize,
    pub raw: vk::Buffer,
    pub memory: vk::DeviceMemory,
    /// Ticket of the last submission that wrote it (a read into it; 0: none).
    pub last_write: u64,
    /// Ticket of the last submission that read or wrote it (0: none).
    pub last_access: u64,
}

impl HostRegion {
    fn end(&self) -> usize {
        self.start + self.len
    }

    /// Does `ptr..ptr+len` (nonempty) lie wholly inside this range?
    fn holds(&self, ptr: usize, len: usize) -> bool {
        ptr >= self.start && ptr.checked_add(len).is_some_and(|end| end <= self.end())
    }
}

/// The registration that holds `ptr..ptr+len` wholly, by index (sorted by start,
/// non-overlapping, so at most one does).
pub(crate) fn find(regions: &[HostRegion], ptr: usize, len: usize) -> Option<usize> {
    if len == 0 {
        return None;
    }
    let i = regions.partition_point(|r| r.start <= ptr).checked_sub(1)?;
    regions[i].holds(ptr, len).then_some(i)
}

/// VK_EXT_external_memory_host on the executor's device.
pub(crate) struct HostImport {
    pub loader: ash::ext::external_memory_host::Device,
    /// `minImportedHostPointerAlignment`.
    pub alignment: u64,
    pub memory: vk::PhysicalDeviceMemoryProperties,
}

const HANDLE_TYPE: vk::ExternalMemoryHandleTypeFlags = vk::ExternalMemoryHandleTypeFlags::HOST_ALLOCATION_EXT;

impl Executor {
    /// The alignment that `register_host` needs of a range's start and length,
    /// or `None` when the device lacks VK_EXT_external_memory_host.
    pub fn host_register_alignment(&self) -> Option<u64> {
        self.host_import.as_ref().map(|h| h.alignment)
    }

    /// Register `len` bytes of host memory at `ptr` (both multiples of
    /// `host_register_alignment`), so that writes from it and reads into it go
    /// straight between it and device buffers (see the module docs for the
    /// contract). `NullArgument` for a null pointer; `InvalidArgument` for a
    /// zero length, a misaligned range or one overlapping an existing
    /// registration; `Unsupported` without VK_EXT_external_memory_host.
    ///
    /// # Safety
    /// `ptr..ptr+len` must be memory of this process, readable and writable,
    /// that stays allocated until `unregister_host(ptr)` returns and the work
    /// submitted against it has completed (or the executor is dropped). While
    /// registered, the rules of the module docs govern access to it.
    pub unsafe fn register_host(&self, ptr: *mut u8, len: usize) -> Result<()> {
        if ptr.is_null() {
            bail!(NullArgument, "host pointer is null");
        }
        if len == 0 {
            bail!(InvalidArgument, "registered length must be nonzero");
        }
        let Some(import) = &self.host_import else {
            bail!(Unsupported, "device {} lacks VK_EXT_external_memory_host: host memory cannot be registered", self.info.name);
        };
        let align = import.alignment;
        let start = ptr as usize;
        if start as u64 % align != 0 || len as u64 % align != 0 {
            bail!(
                InvalidArgument,
                "host range {start:#x}+{len} is not aligned: its start and length must be multiples of {align} bytes \
                 (the device's minImportedHostPointerAlignment; allocate it with posix_memalign or an aligned layout)"
            );
        }
        let Some(end) = start.checked_add(len) else {
            bail!(InvalidArgument, "host range {start:#x}+{len} wraps around the address space");
        };
        let overlap = |st: &crate::executor::State| -> Result<()> {
            match st.hosts.iter().find(|r| r.start < end && start < r.end()) {
                Some(r) => bail!(
                    InvalidArgument,
                    "host range {start:#x}+{len} overlaps the registered range {:#x}+{}",
                    r.start,
                    r.len
                ),
                None => Ok(()),
            }
        };
        overlap(&self.queue.state.lock())?;
        // Importing pins the pages, which can take milliseconds for a large
        // range: done without the state lock, so other threads keep submitting.
        // SAFETY: the caller's contract keeps the range valid while registered.
        let (raw, memory) = unsafe { self.import_host(import, ptr, len as u64) }?;
        let mut st = self.queue.state.lock();
        // Another thread may have registered an overlapping range meanwhile.
        if let Err(e) = overlap(&st) {
            drop(st);
            destroy(&self.device, raw, memory);
            return Err(e);
        }
        // Work in flight on an earlier registration of these bytes is ordered
        // by its tickets: inherit them, and close the open bundle if it holds
        // such work (within a bundle, hazards are tracked per Vulkan buffer).
        let (mut last_write, mut last_access) = (0, 0);
        for (ticket, g) in &st.garbage {
            if let Garbage::Host { start: s, len: l, last_write: w, .. } = g {
                if *s < end && start < s + l {
                    last_write = last_write.max(*w);
                    last_access = last_access.max(*ticket);
                }
            }
        }
        if last_access > self.queue.submitted.load(Ordering::Acquire) {
            if let Err(e) = self.queue.flush(&mut st) {
                drop(st);
                destroy(&self.device, raw, memory);
                return Err(e);
            }
        }
        let region = HostRegion { start, len, raw, memory, last_write, last_access };
        let at = st.hosts.partition_point(|r| r.start < start);
        st.hosts.insert(at, region);
        Ok(())
    }

    /// Forget the registration that starts at `ptr`. Work already submitted
    /// against it still completes; the imported memory is released when it has.
    /// `InvalidArgument` when no registration starts at `ptr`.
    pub fn unregister_host(&self, ptr: *mut u8) -> Result<()> {
        if ptr.is_null() {
            bail!(NullArgument, "host pointer is null");
        }
        let mut st = self.queue.state.lock();
        let Some(i) = st.hosts.iter().position(|r| r.start == ptr as usize) else {
            bail!(InvalidArgument, "no registered host range starts at {:#x}", ptr as usize);
        };
        let r = st.hosts.remove(i);
        let garbage = Garbage::Host { raw: r.raw, memory: r.memory, start: r.start, len: r.len, last_write: r.last_write };
        self.defer(&mut st, r.last_access, garbage);
        Ok(())
    }

    /// Import `ptr..ptr+len` and bind a transfer buffer to it.
    ///
    /// # Safety
    /// As `register_host`; `ptr` and `len` are aligned and nonzero.
    unsafe fn import_host(&self, import: &HostImport, ptr: *mut u8, len: u64) -> Result<(vk::Buffer, vk::DeviceMemory)> {
        let d = &self.device;
        let mut props = vk::MemoryHostPointerPropertiesEXT::default();
        // SAFETY: the extension is enabled on this device; `ptr` is an aligned
        // host pointer (the caller's contract) and `props` a live local.
        let got = unsafe {
            (import.loader.fp().get_memory_host_pointer_properties_ext)(d.handle(), HANDLE_TYPE, ptr.cast(), &mut props)
        };
        if got != vk::Result::SUCCESS {
            return Err(Error::vulkan("vkGetMemoryHostPointerPropertiesEXT", got));
        }
        // Storage too where the experimental upload kernel reads it (GPUASYNC_UPLOAD_KERNEL).
        let mut usage = vk::BufferUsageFlags::TRANSFER_SRC | vk::BufferUsageFlags::TRANSFER_DST;
        if self.upload_kernel.is_some() {
            usage |= vk::BufferUsageFlags::STORAGE_BUFFER;
        }
        let mut external = vk::ExternalMemoryBufferCreateInfo::default().handle_types(HANDLE_TYPE);
        let info = crate::memory::sharing_info(
            vk::BufferCreateInfo::default()
                .size(len)
                .usage(usage),
            &self.sharing,
        )
        .push_next(&mut external);
        // SAFETY: the info is complete and points at live locals; `len` is nonzero.
        let raw = unsafe { d.create_buffer(&info, None) }.map_err(|e| Error::vulkan("vkCreateBuffer (host import)", e))?;
        // SAFETY: `raw` was just created from this device.
        let requirements = unsafe { d.get_buffer_memory_requirements(raw) };
        let bits = props.memory_type_bits & requirements.memory_type_bits;
        let types = &import.memory.memory_types[..import.memory.memory_type_count as usize];
        // Prefer host-coherent memory: the host then sees the GPU's writes once
        // the ticket completes, and the GPU the host's at submission, with no
        // flush or invalidate.
        let coherent = vk::MemoryPropertyFlags::HOST_COHERENT;
        let pick = (0..types.len() as u32)
            .filter(|&i| bits & (1 << i) != 0)
            .max_by_key(|&i| types[i as usize].property_flags.contains(coherent));
        let Some(type_index) = pick.filter(|_| requirements.size <= len) else {
            // SAFETY: `raw` is unused and owned here.
            unsafe { d.destroy_buffer(raw, None) };
            bail!(Unsupported, "the device offers no memory type to import this host range into a transfer buffer");
        };
        let mut import_info = vk::ImportMemoryHostPointerInfoEXT::default().handle_type(HANDLE_TYPE).host_pointer(ptr.cast());
        let alloc = vk::MemoryAllocateInfo::default().allocation_size(len).memory_type_index(type_index).push_next(&mut import_info);
        // SAFETY: the pointer and size are aligned to minImportedHostPointerAlignment
        // and the type is one vkGetMemoryHostPointerPropertiesEXT allowed.
        let memory = match unsafe { d.allocate_memory(&alloc, None) } {
            Ok(m) => m,
            Err(e) => {
                // SAFETY: `raw` is unused and owned here.
                unsafe { d.destroy_buffer(raw, None) };
                return Err(Error::vulkan("vkAllocateMemory (host import)", e));
            }
        };
        // SAFETY: the memory is large enough for the buffer and bound exactly once.
        if let Err(e) = unsafe { d.bind_buffer_memory(raw, memory, 0) } {
            // SAFETY: both are unused and owned here.
            unsafe {
                d.destroy_buffer(raw, None);
                d.free_memory(memory, None);
            }
            return Err(Error::vulkan("vkBindBufferMemory (host import)", e));
        }
        Ok((raw, memory))
    }
}

/// Release an imported range. The caller guarantees the GPU is done with it.
pub(crate) fn destroy(device: &ash::Device, raw: vk::Buffer, memory: vk::DeviceMemory) {
    // SAFETY: no pending work uses the buffer or memory (the caller's guarantee);
    // the memory was imported, so freeing it leaves the host's memory alone.
    unsafe {
        device.destroy_buffer(raw, None);
        device.free_memory(memory, None);
    }
}
