//! Kernels: create from SPIR-V (memory or file), describe, destroy, dispatch.

use std::ffi::{c_char, c_void};
use std::path::Path;

use super::submit::submit_one;
use super::{call, gpuasync_buffer, gpuasync_executor, gpuasync_kernel, gpuasync_ticket, lookup, require, slice, string, write_out};
use crate::error::{gpuasync_status, Result};
use crate::executor::{BufferId, KernelId};
use crate::kernel::SpecConstant;
use crate::submit::Op;

/// A 32-bit (or bool) specialization constant: GLSL `layout(constant_id = id)`.
/// Floats are passed as their bit pattern.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct gpuasync_spec_constant {
    pub id: u32,
    pub value: u32,
}

/// A kernel's interface, as reflected from its SPIR-V.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct gpuasync_kernel_info {
    /// Storage buffers at set 0, bindings 0 .. binding_count-1.
    pub binding_count: u32,
    /// Bytes of the push-constant block (0: none).
    pub push_constant_size: u32,
    /// Workgroup size after specialization.
    pub local_size: [u32; 3],
}

/// # Safety
/// `spec` must be valid for `spec_count` elements.
unsafe fn spec_constants(spec: *const gpuasync_spec_constant, spec_count: usize) -> Result<Vec<SpecConstant>> {
    // SAFETY: forwarded from the caller.
    let spec = unsafe { slice(spec, spec_count, "spec") }?;
    Ok(spec.iter().map(|s| SpecConstant { id: s.id, value: s.value }).collect())
}

/// Build a kernel from `word_count` 32-bit SPIR-V words and the compute entry
/// point `entry` (usually "main"), with optional specialization constants
/// (`spec` may be null when `spec_count` is 0). Its interface (bindings,
/// push-constant size, workgroup size) is reflected and checked on every dispatch.
/// `GPUASYNC_UNSUPPORTED` when it needs more than the device offers: push
/// constants, workgroup invocations, or workgroup (`shared`) memory
/// (`gpuasync_device_info.max_shared_memory`; counted after specialization).
#[no_mangle]
pub extern "C" fn gpuasync_kernel_create(
    executor: gpuasync_executor,
    words: *const u32,
    word_count: usize,
    entry: *const c_char,
    spec: *const gpuasync_spec_constant,
    spec_count: usize,
    kernel: *mut gpuasync_kernel,
) -> gpuasync_status {
    call(|| {
        require!(kernel, entry);
        // SAFETY: the caller provides `word_count` words, a C string and `spec_count` constants.
        let (words, entry, spec) = unsafe {
            (slice(words, word_count, "words")?, string(entry, "entry")?, spec_constants(spec, spec_count)?)
        };
        let id = lookup(executor)?.create_kernel(words, entry, &spec)?;
        // SAFETY: checked non-null above.
        unsafe { write_out(kernel, gpuasync_kernel { id: id.0 }) };
        Ok(())
    })
}

/// Like `gpuasync_kernel_create`, from a `.spv` file (`GPUASYNC_IO_ERROR` when
/// it cannot be read).
#[no_mangle]
pub extern "C" fn gpuasync_kernel_create_from_file(
    executor: gpuasync_executor,
    path: *const c_char,
    entry: *const c_char,
    spec: *const gpuasync_spec_constant,
    spec_count: usize,
    kernel: *mut gpuasync_kernel,
) -> gpuasync_status {
    call(|| {
        require!(kernel);
        let (path, entry, spec) =
            // SAFETY: the caller provides C strings and `spec_count` constants.
            unsafe { (string(path, "path")?, string(entry, "entry")?, spec_constants(spec, spec_count)?) };
        let id = lookup(executor)?.create_kernel_from_file(Path::new(path), entry, &spec)?;
        // SAFETY: checked non-null above.
        unsafe { write_out(kernel, gpuasync_kernel { id: id.0 }) };
        Ok(())
    })
}

/// Describe a kernel's interface.
#[no_mangle]
pub extern "C" fn gpuasync_kernel_describe(
    executor: gpuasync_executor,
    kernel: gpuasync_kernel,
    info: *mut gpuasync_kernel_info,
) -> gpuasync_status {
    call(|| {
        require!(info);
        let i = lookup(executor)?.kernel_interface(KernelId(kernel.id))?;
        let out = gpuasync_kernel_info {
            binding_count: i.bindings.len() as u32,
            push_constant_size: i.push_constant_size,
            local_size: i.local_size,
        };
        // SAFETY: checked non-null above.
        unsafe { write_out(info, out) };
        Ok(())
    })
}

/// Destroy a kernel; submitted work that uses it still completes.
#[no_mangle]
pub extern "C" fn gpuasync_kernel_destroy(executor: gpuasync_executor, kernel: gpuasync_kernel) -> gpuasync_status {
    call(|| lookup(executor)?.destroy_kernel(KernelId(kernel.id)))
}

/// Dispatch one kernel as its own submission: `buffers[i]` at binding i,
/// `push_constant_size` bytes of `push_constants`, `groups_x * groups_y *
/// groups_z` workgroups. Returns the ticket at once.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn gpuasync_kernel_dispatch(
    executor: gpuasync_executor,
    kernel: gpuasync_kernel,
    buffers: *const gpuasync_buffer,
    buffer_count: usize,
    push_constants: *const c_void,
    push_constant_size: usize,
    groups_x: u32,
    groups_y: u32,
    groups_z: u32,
    flags: u32,
    ticket: *mut gpuasync_ticket,
) -> gpuasync_status {
    call(|| {
        // SAFETY: the caller provides `buffer_count` handles and `push_constant_size` bytes.
        let (handles, push) = unsafe {
            (slice(buffers, buffer_count, "buffers")?, slice(push_constants.cast::<u8>(), push_constant_size, "push_constants")?)
        };
        let ids: Vec<BufferId> = handles.iter().map(|b| BufferId(b.id)).collect();
        let op = Op::Dispatch {
            kernel: KernelId(kernel.id),
            buffers: &ids,
            push_constants: push,
            groups: [groups_x, groups_y, groups_z],
        };
        submit_one(executor, op, flags, ticket)
    })
}
