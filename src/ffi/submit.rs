//! Submissions: an ordered list of ops in, a ticket out.

use std::ffi::c_void;

use super::builtin::{builtin_at, gpuasync_builtin};
use super::{call, gpuasync_buffer, gpuasync_executor, gpuasync_kernel, gpuasync_ticket, lookup, require, slice, write_out};
use crate::builtin::Builtin;
use crate::error::{bail, gpuasync_status, Error, Result};
use crate::executor::{BufferId, KernelId};
use crate::submit::{HostDst, Op, SubmitFlags};

/// `gpuasync_op.kind`: copy `size` bytes from `host_src` into `buffer` at `offset`.
/// The bytes are copied before the submit returns.
pub const GPUASYNC_OP_WRITE: u32 = 1;
/// `gpuasync_op.kind`: copy `size` bytes of `buffer` at `offset` into `host_dst`.
/// The bytes land during the first gpuasync call that finds the ticket
/// complete (at the latest the poll or wait that reports it complete); keep
/// `host_dst` valid and untouched until then.
pub const GPUASYNC_OP_READ: u32 = 2;
/// `gpuasync_op.kind`: copy `size` bytes from `src` at `src_offset` to `buffer`
/// at `offset`.
pub const GPUASYNC_OP_COPY: u32 = 3;
/// `gpuasync_op.kind`: fill `size` bytes (or `GPUASYNC_WHOLE_SIZE`) of `buffer`
/// at `offset` with `fill_value`; offset and size are multiples of 4.
pub const GPUASYNC_OP_FILL: u32 = 4;
/// `gpuasync_op.kind`: run `kernel` over `groups`, with `bindings[i]` at binding
/// i and `push_constant_size` bytes of `push_constants`.
pub const GPUASYNC_OP_DISPATCH: u32 = 5;
/// `gpuasync_op.kind`: the built-in operation `*builtin` (see
/// `gpuasync_builtin`), ordered like a dispatch.
pub const GPUASYNC_OP_BUILTIN: u32 = 6;

/// `size` meaning "to the end of the buffer" (fills).
pub const GPUASYNC_WHOLE_SIZE: u64 = u64::MAX;

/// Submit flag: write GPU timestamps around the submission (see
/// `gpuasync_ticket_timing`).
pub const GPUASYNC_SUBMIT_TIMESTAMPS: u32 = 1;
/// Submit flag: never block; return `GPUASYNC_WOULD_BLOCK` (nothing submitted)
/// when the executor is at its bound of submissions in flight.
pub const GPUASYNC_SUBMIT_NO_BLOCK: u32 = 2;
/// Submit flag: also time every op (implies `GPUASYNC_SUBMIT_TIMESTAMPS`; see
/// `gpuasync_ticket_op_timing`). Each op's timestamps wait for the work before
/// it, so the submission's ops run one after another while timed this way.
pub const GPUASYNC_SUBMIT_OP_TIMESTAMPS: u32 = 4;

const KNOWN_FLAGS: u32 = GPUASYNC_SUBMIT_TIMESTAMPS | GPUASYNC_SUBMIT_NO_BLOCK | GPUASYNC_SUBMIT_OP_TIMESTAMPS;

/// One step of a submission; fields a kind does not use are ignored (zero them).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct gpuasync_op {
    /// One of `GPUASYNC_OP_*`.
    pub kind: u32,
    /// Write, read and fill target; copy destination.
    pub buffer: gpuasync_buffer,
    /// Byte offset in `buffer`.
    pub offset: u64,
    /// Bytes to write, read, copy or fill.
    pub size: u64,
    /// Copy source.
    pub src: gpuasync_buffer,
    /// Byte offset in `src`.
    pub src_offset: u64,
    /// Write: the host bytes.
    pub host_src: *const c_void,
    /// Read: the host destination.
    pub host_dst: *mut c_void,
    /// Fill: the 32-bit pattern.
    pub fill_value: u32,
    /// Dispatch: workgroup counts in x, y, z (each >= 1).
    pub groups: [u32; 3],
    /// Dispatch: the kernel.
    pub kernel: gpuasync_kernel,
    /// Dispatch: one buffer per kernel binding, in binding order.
    pub bindings: *const gpuasync_buffer,
    pub binding_count: u32,
    /// Dispatch: bytes of the push-constant block (exactly the kernel's size).
    pub push_constant_size: u32,
    pub push_constants: *const c_void,
    /// Builtin: the operation (read during the call; null is
    /// `GPUASYNC_NULL_ARGUMENT`).
    pub builtin: *const gpuasync_builtin,
}

/// Flags the core understands; unknown bits are an error, so a newer caller's
/// flag is never silently ignored.
pub(crate) fn flags(bits: u32) -> Result<SubmitFlags> {
    if bits & !KNOWN_FLAGS != 0 {
        bail!(InvalidArgument, "unknown submit flags {:#x}", bits & !KNOWN_FLAGS);
    }
    Ok(SubmitFlags {
        timestamps: bits & GPUASYNC_SUBMIT_TIMESTAMPS != 0,
        no_block: bits & GPUASYNC_SUBMIT_NO_BLOCK != 0,
        op_timestamps: bits & GPUASYNC_SUBMIT_OP_TIMESTAMPS != 0,
    })
}

fn host_len(size: u64) -> Result<usize> {
    usize::try_from(size).or_else(|_| bail!(InvalidArgument, "size {size} does not fit in memory"))
}

/// A C op translated: a core op borrowing the caller's memory, or a built-in
/// op converted into the core's own struct (which the core op then borrows).
enum Translated<'a> {
    Op(Op<'a>),
    Builtin(Builtin),
}

/// Translate a C op; the borrowed pointers live as long as the submit call.
/// A dispatch's handles go to `bindings[index]` (its `buffers` are set later).
///
/// # Safety
/// The op's pointers must be valid as documented on `gpuasync_op`.
unsafe fn translate<'a>(op: &'a gpuasync_op, index: usize, bindings: &mut [Vec<BufferId>]) -> Result<Translated<'a>> {
    let buffer = BufferId(op.buffer.id);
    Ok(Translated::Op(match op.kind {
        GPUASYNC_OP_WRITE => Op::Write {
            buffer,
            offset: op.offset,
            // SAFETY: the caller provides `size` readable bytes at `host_src`.
            data: unsafe { slice(op.host_src.cast::<u8>(), host_len(op.size)?, "op.host_src")? },
        },
        GPUASYNC_OP_READ => {
            let len = host_len(op.size)?;
            if len > 0 && op.host_dst.is_null() {
                return Err(super::null("op.host_dst"));
            }
            // SAFETY: the C contract of GPUASYNC_OP_READ is `HostDst::new`'s.
            let dst = unsafe { HostDst::new(op.host_dst.cast(), len) };
            Op::Read { buffer, offset: op.offset, dst }
        }
        GPUASYNC_OP_COPY => Op::Copy {
            src: BufferId(op.src.id),
            src_offset: op.src_offset,
            dst: buffer,
            dst_offset: op.offset,
            size: op.size,
        },
        GPUASYNC_OP_FILL => Op::Fill { buffer, offset: op.offset, size: op.size, value: op.fill_value },
        GPUASYNC_OP_DISPATCH => {
            // SAFETY: the caller provides `binding_count` handles at `bindings`.
            let handles = unsafe { slice(op.bindings, op.binding_count as usize, "op.bindings")? };
            bindings[index] = handles.iter().map(|b| BufferId(b.id)).collect();
            // SAFETY: the caller provides `push_constant_size` readable bytes.
            let push = unsafe { slice(op.push_constants.cast::<u8>(), op.push_constant_size as usize, "op.push_constants")? };
            Op::Dispatch { kernel: KernelId(op.kernel.id), buffers: &[], push_constants: push, groups: op.groups }
        }
        GPUASYNC_OP_BUILTIN => {
            // SAFETY: the caller provides null or a readable struct at `builtin`.
            let builtin = unsafe { builtin_at(op.builtin, "op.builtin") }
                .map_err(|e| Error::new(e.kind, format!("op {index}: {}", e.message)))?;
            return Ok(Translated::Builtin(builtin));
        }
        other => bail!(InvalidArgument, "op {index}: unknown kind {other}"),
    }))
}

/// Translate C ops into core ops (borrowing the caller's memory, and the
/// dispatches' handles and built-in ops converted here) and hand them to `f`.
///
/// # Safety
/// The ops' pointers must be valid as documented on `gpuasync_op`.
pub(crate) unsafe fn with_ops<R>(ops: &[gpuasync_op], f: impl FnOnce(&[Op<'_>]) -> Result<R>) -> Result<R> {
    let mut bindings = vec![Vec::new(); ops.len()];
    let mut translated = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        // SAFETY: forwarded from the caller.
        translated.push(unsafe { translate(op, i, &mut bindings)? });
    }
    let core: Vec<Op<'_>> = translated
        .iter()
        .zip(&bindings)
        .map(|(t, b)| match *t {
            Translated::Op(Op::Dispatch { kernel, push_constants, groups, .. }) => {
                Op::Dispatch { kernel, buffers: b, push_constants, groups }
            }
            Translated::Op(op) => op,
            Translated::Builtin(ref builtin) => Op::Builtin(builtin),
        })
        .collect();
    f(&core)
}

/// Submit `op_count` ops as one unit of work and return its ticket at once.
/// Barriers are inserted between ops that touch the same buffer, and the work is
/// ordered after earlier submissions that touch the same buffers. On error
/// nothing is submitted. `flags`: `GPUASYNC_SUBMIT_*` bits.
#[no_mangle]
pub extern "C" fn gpuasync_executor_submit(
    executor: gpuasync_executor,
    ops: *const gpuasync_op,
    op_count: usize,
    flags: u32,
    ticket: *mut gpuasync_ticket,
) -> gpuasync_status {
    call(|| {
        require!(ticket);
        let flags = self::flags(flags)?;
        // SAFETY: the caller provides `op_count` ops at `ops`.
        let ops = unsafe { slice(ops, op_count, "ops")? };
        let ex = lookup(executor)?;
        // SAFETY: the caller's op pointers follow `gpuasync_op`'s contract.
        let t = unsafe { with_ops(ops, |ops| ex.submit(ops, flags)) }?;
        // SAFETY: checked non-null above.
        unsafe { write_out(ticket, t) };
        Ok(())
    })
}

/// Submit one op: the body of the single-op calls in buffer.rs and kernel.rs,
/// run inside their panic boundary.
pub(crate) fn submit_one(executor: gpuasync_executor, op: Op<'_>, flags: u32, ticket: *mut gpuasync_ticket) -> Result<()> {
    require!(ticket);
    let flags = self::flags(flags)?;
    let t = lookup(executor)?.submit(&[op], flags)?;
    // SAFETY: checked non-null above; the caller passes a writable ticket.
    unsafe { write_out(ticket, t) };
    Ok(())
}
