//! Buffers: create, destroy, map, and the single-op write, read, fill and copy.

use std::ffi::c_void;

use super::submit::submit_one;
use super::{call, gpuasync_buffer, gpuasync_executor, gpuasync_ticket, lookup, null, require, slice, write_out};
use crate::error::{gpuasync_status, Error, ErrorKind};
use crate::executor::BufferId;
use crate::memory::BufferKind;
use crate::submit::{HostDst, Op};

/// Buffer kind: device-local memory (the default; fastest for kernels).
pub const GPUASYNC_BUFFER_DEVICE_LOCAL: u32 = 0;
/// Buffer kind: host-visible, mapped memory; see `gpuasync_buffer_map`.
pub const GPUASYNC_BUFFER_HOST_VISIBLE: u32 = 1;
/// Buffer kind: host-visible, host-cached memory for results read often.
pub const GPUASYNC_BUFFER_READBACK: u32 = 2;

/// Create a buffer of `size` bytes (nonzero) of kind `GPUASYNC_BUFFER_*`.
#[no_mangle]
pub extern "C" fn gpuasync_buffer_create(
    executor: gpuasync_executor,
    size: u64,
    kind: u32,
    buffer: *mut gpuasync_buffer,
) -> gpuasync_status {
    call(|| {
        require!(buffer);
        let kind = BufferKind::from_u32(kind)
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, format!("unknown buffer kind {kind}")))?;
        let id = lookup(executor)?.create_buffer(size, kind)?;
        // SAFETY: checked non-null above.
        unsafe { write_out(buffer, gpuasync_buffer { id: id.0 }) };
        Ok(())
    })
}

/// Destroy a buffer. Submitted work that uses it still completes correctly; its
/// memory is freed when that work is done. The handle is invalid at once.
#[no_mangle]
pub extern "C" fn gpuasync_buffer_destroy(executor: gpuasync_executor, buffer: gpuasync_buffer) -> gpuasync_status {
    call(|| lookup(executor)?.destroy_buffer(BufferId(buffer.id)))
}

/// The buffer's size in bytes.
#[no_mangle]
pub extern "C" fn gpuasync_buffer_size(
    executor: gpuasync_executor,
    buffer: gpuasync_buffer,
    size: *mut u64,
) -> gpuasync_status {
    call(|| {
        require!(size);
        let s = lookup(executor)?.buffer_size(BufferId(buffer.id))?;
        // SAFETY: checked non-null above.
        unsafe { write_out(size, s) };
        Ok(())
    })
}

/// The host address of a host-visible or readback buffer (zero copy). Valid
/// until the buffer is destroyed; do not touch it while submitted work that uses
/// the buffer is in flight.
#[no_mangle]
pub extern "C" fn gpuasync_buffer_map(
    executor: gpuasync_executor,
    buffer: gpuasync_buffer,
    pointer: *mut *mut c_void,
) -> gpuasync_status {
    call(|| {
        require!(pointer);
        let p = lookup(executor)?.buffer_mapped_ptr(BufferId(buffer.id))?;
        // SAFETY: checked non-null above.
        unsafe { write_out(pointer, p.cast()) };
        Ok(())
    })
}

/// Write `size` bytes of `data` into the buffer at `offset`, asynchronously.
/// `data` is copied before the call returns, so it is free at once.
#[no_mangle]
pub extern "C" fn gpuasync_buffer_write(
    executor: gpuasync_executor,
    buffer: gpuasync_buffer,
    offset: u64,
    data: *const c_void,
    size: usize,
    flags: u32,
    ticket: *mut gpuasync_ticket,
) -> gpuasync_status {
    call(|| {
        // SAFETY: the caller provides `size` readable bytes at `data`.
        let data = unsafe { slice(data.cast::<u8>(), size, "data") }?;
        submit_one(executor, Op::Write { buffer: BufferId(buffer.id), offset, data }, flags, ticket)
    })
}

/// Read `size` bytes of the buffer at `offset` into `destination`,
/// asynchronously. The bytes land during the first gpuasync call that finds
/// the ticket complete (at the latest the poll or wait that reports it
/// complete): keep `destination` valid and untouched until then (Fortran:
/// `asynchronous`).
#[no_mangle]
pub extern "C" fn gpuasync_buffer_read(
    executor: gpuasync_executor,
    buffer: gpuasync_buffer,
    offset: u64,
    destination: *mut c_void,
    size: usize,
    flags: u32,
    ticket: *mut gpuasync_ticket,
) -> gpuasync_status {
    call(|| {
        if destination.is_null() && size > 0 {
            return Err(null("destination"));
        }
        // SAFETY: the documented contract of this function is `HostDst::new`'s.
        let dst = unsafe { HostDst::new(destination.cast(), size) };
        submit_one(executor, Op::Read { buffer: BufferId(buffer.id), offset, dst }, flags, ticket)
    })
}

/// Fill `size` bytes (or `GPUASYNC_WHOLE_SIZE`) at `offset` with the 32-bit
/// `value`; offset and size are multiples of 4.
#[no_mangle]
pub extern "C" fn gpuasync_buffer_fill(
    executor: gpuasync_executor,
    buffer: gpuasync_buffer,
    offset: u64,
    size: u64,
    value: u32,
    flags: u32,
    ticket: *mut gpuasync_ticket,
) -> gpuasync_status {
    call(|| submit_one(executor, Op::Fill { buffer: BufferId(buffer.id), offset, size, value }, flags, ticket))
}

/// Copy `size` bytes from `source` at `source_offset` to `destination` at
/// `destination_offset` (regions in one buffer must not overlap).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn gpuasync_buffer_copy(
    executor: gpuasync_executor,
    source: gpuasync_buffer,
    source_offset: u64,
    destination: gpuasync_buffer,
    destination_offset: u64,
    size: u64,
    flags: u32,
    ticket: *mut gpuasync_ticket,
) -> gpuasync_status {
    let op = Op::Copy {
        src: BufferId(source.id),
        src_offset: source_offset,
        dst: BufferId(destination.id),
        dst_offset: destination_offset,
        size,
    };
    call(|| submit_one(executor, op, flags, ticket))
}
