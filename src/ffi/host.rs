//! Registered host memory: register and unregister (the analogue of
//! `cudaHostRegister`).

use std::ffi::c_void;

use super::{call, gpuasync_executor, lookup};
use crate::error::gpuasync_status;

/// Register `length` bytes of host memory at `pointer` with the executor, so
/// that writes from it and reads into it copy directly between it and device
/// buffers, with no staging copy on the host (the analogue of
/// `cudaHostRegister`). `pointer` and `length` must both be multiples of the
/// device's `minImportedHostPointerAlignment` (4096 bytes on every known
/// driver): allocate with `posix_memalign` or `aligned_alloc`.
///
/// While registered, a write (`gpuasync_buffer_write`, `GPUASYNC_OP_WRITE`)
/// whose whole source lies inside the range is read by the GPU after the call
/// returns: **do not modify the source until the write's ticket completes.** A
/// read whose whole destination lies inside the range lands there when its
/// ticket completes (no copy during poll or wait). Other ops are staged as
/// before. The memory must stay allocated until `gpuasync_host_unregister` and
/// the completion of the work submitted against it.
///
/// `GPUASYNC_NULL_ARGUMENT` for a null pointer; `GPUASYNC_INVALID_ARGUMENT`
/// for a zero length, a misaligned pointer or length, or a range overlapping a
/// registered one; `GPUASYNC_UNSUPPORTED` when the device lacks
/// VK_EXT_external_memory_host.
#[no_mangle]
pub extern "C" fn gpuasync_host_register(executor: gpuasync_executor, pointer: *mut c_void, length: usize) -> gpuasync_status {
    call(|| {
        let ex = lookup(executor)?;
        // SAFETY: the caller keeps the range allocated while registered and
        // keeps to the contract above (the C API's documented promise).
        unsafe { ex.register_host(pointer.cast(), length) }
    })
}

/// The alignment (bytes) that `gpuasync_host_register` needs of a range's
/// start and length on this executor's device (`minImportedHostPointerAlignment`).
/// `GPUASYNC_UNSUPPORTED` when the device cannot register host memory.
#[no_mangle]
pub extern "C" fn gpuasync_host_alignment(executor: gpuasync_executor, alignment: *mut usize) -> gpuasync_status {
    call(|| {
        super::require!(alignment);
        let Some(a) = lookup(executor)?.host_register_alignment() else {
            crate::error::bail!(Unsupported, "the device cannot register host memory (no VK_EXT_external_memory_host)");
        };
        let a = usize::try_from(a).or_else(|_| crate::error::bail!(Unsupported, "alignment {a} does not fit size_t"))?;
        // SAFETY: checked non-null above.
        unsafe { super::write_out(alignment, a) };
        Ok(())
    })
}

/// Unregister the range registered at `pointer`. Work already submitted
/// against it still completes; the memory may be freed once that work has
/// completed. `GPUASYNC_NULL_ARGUMENT` for a null pointer,
/// `GPUASYNC_INVALID_ARGUMENT` when no registered range starts at `pointer`.
#[no_mangle]
pub extern "C" fn gpuasync_host_unregister(executor: gpuasync_executor, pointer: *mut c_void) -> gpuasync_status {
    call(|| lookup(executor)?.unregister_host(pointer.cast()))
}
