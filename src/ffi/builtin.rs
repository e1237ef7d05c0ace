//! Built-in kernels: BLAS-style operations on buffers, submitted on their own
//! (`gpuasync_builtin_submit`) or as an op of a submission or batch
//! (`GPUASYNC_OP_BUILTIN`).

use super::submit::submit_one;
use super::{call, gpuasync_buffer, gpuasync_executor, gpuasync_ticket, null, require};
use crate::builtin::{Builtin, BuiltinKind, DType, Operand};
use crate::error::{bail, gpuasync_status, Result};
use crate::executor::BufferId;
use crate::submit::Op;

/// `gpuasync_builtin.kind`: `c[i] = alpha` for i < n. Uses `c`.
pub const GPUASYNC_BUILTIN_FILL: u32 = 1;
/// `gpuasync_builtin.kind`: `c[i] = a[i]` for i < n. Uses `a`, `c`.
pub const GPUASYNC_BUILTIN_COPY: u32 = 2;
/// `gpuasync_builtin.kind`: `c[i] = alpha * a[i]` (BLAS scal when `c` is
/// `a`). Uses `a`, `c`.
pub const GPUASYNC_BUILTIN_SCALE: u32 = 3;
/// `gpuasync_builtin.kind`: `c[i] = alpha * a[i] + b[i]` (BLAS axpy when `c`
/// is `b`). Uses `a`, `b`, `c`.
pub const GPUASYNC_BUILTIN_AXPY: u32 = 4;
/// `gpuasync_builtin.kind`: `c[i] = a[i] + b[i]`. Uses `a`, `b`, `c`.
pub const GPUASYNC_BUILTIN_ADD: u32 = 5;
/// `gpuasync_builtin.kind`: `c[i] = a[i] * b[i]`. Uses `a`, `b`, `c`.
pub const GPUASYNC_BUILTIN_MUL: u32 = 6;
/// `gpuasync_builtin.kind`: `c[c.offset] = sum of a[i]`, i < n (compensated:
/// Sum2). Uses `a`, `c`; n = 0 writes 0.
pub const GPUASYNC_BUILTIN_SUM: u32 = 7;
/// `gpuasync_builtin.kind`: `c[c.offset] = sum of a[i] * b[i]`, i < n
/// (compensated: Dot2). Uses `a`, `b`, `c`; n = 0 writes 0.
pub const GPUASYNC_BUILTIN_DOT: u32 = 8;
/// `gpuasync_builtin.kind`: `c[c.offset] = sqrt(sum of a[i]^2)`, i < n,
/// without overflow or harmful underflow (Blue's algorithm). Uses `a`, `c`;
/// n = 0 writes 0.
pub const GPUASYNC_BUILTIN_NRM2: u32 = 9;
/// `gpuasync_builtin.kind`: `c[c.offset] = max |a[i]|`, i < n; NaN if any
/// a[i] is NaN. Uses `a`, `c`; n = 0 writes 0.
pub const GPUASYNC_BUILTIN_AMAX: u32 = 10;
/// `gpuasync_builtin.kind`: `C = alpha * op(A) * op(B) + beta * C`, column-major
/// as BLAS gemm: C is m x n, op(A) m x k, op(B) k x n; op(X) is X or its
/// transpose (`trans_a`, `trans_b`); element (i, j) of an operand is at
/// `offset + i + j * ld`. beta = 0 never reads C; alpha = 0 or k = 0 never
/// reads A or B. With `GPUASYNC_F16` or `GPUASYNC_BF16`, A and B hold that
/// type and C is `GPUASYNC_F32` (accumulated in f32, on cooperative matrices:
/// `GPUASYNC_UNSUPPORTED` where `gpuasync_executor_cooperative_matrix` says no).
pub const GPUASYNC_BUILTIN_GEMM: u32 = 11;
/// `gpuasync_builtin.kind`: `c[i] = a[i]` rounded from f32 to the op's type
/// (`GPUASYNC_F16` or `GPUASYNC_BF16`), to nearest with ties to even;
/// overflow gives infinity, NaN stays NaN. Uses `a` (f32 elements), `c`. The
/// 16-bit elements are written as 32-bit words: `c`'s buffer must reach the
/// word holding its last element (sizes that are multiples of 4 bytes always
/// do); halves outside the range keep their values.
pub const GPUASYNC_BUILTIN_CONVERT: u32 = 12;
/// `gpuasync_builtin.kind`: `c[i] = a[i]` widened from the op's type
/// (`GPUASYNC_F16` or `GPUASYNC_BF16`) to f32, exactly (subnormals, signed
/// zeros, infinities and NaN payloads kept). Uses `a` (16-bit elements, read
/// as 32-bit words: its buffer must reach the word holding its last element),
/// `c` (f32 elements).
pub const GPUASYNC_BUILTIN_WIDEN: u32 = 13;

/// `gpuasync_builtin.type`: 32-bit IEEE floats (`float`).
pub const GPUASYNC_F32: u32 = 1;
/// `gpuasync_builtin.type`: 64-bit IEEE floats (`double`); needs a device with
/// float64 support (`gpuasync_device_info.float64`), else `GPUASYNC_UNSUPPORTED`.
pub const GPUASYNC_F64: u32 = 2;
/// `gpuasync_builtin.type`: IEEE binary16, for GEMM's A and B, CONVERT's
/// output and WIDEN's input only (other kinds: `GPUASYNC_UNSUPPORTED`).
pub const GPUASYNC_F16: u32 = 3;
/// `gpuasync_builtin.type`: bfloat16 (the upper 16 bits of an f32), for GEMM's
/// A and B, CONVERT's output and WIDEN's input only.
pub const GPUASYNC_BF16: u32 = 4;

/// A vector or matrix inside a buffer, in elements of the op's type.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct gpuasync_operand {
    /// The buffer holding it (of the executor the op is submitted to).
    pub buffer: gpuasync_buffer,
    /// Its first element: an index in elements (not bytes) into `buffer`.
    pub offset: u64,
    /// GEMM: the leading dimension, elements from one column to the next; at
    /// least max(1, rows of the stored matrix), else `GPUASYNC_INVALID_ARGUMENT`.
    /// Ignored by the other kinds.
    pub ld: u64,
}

/// One built-in operation (`GPUASYNC_BUILTIN_*`): see each kind for what it
/// computes and which operands it uses. In the level-1 kinds (all but GEMM),
/// `x[i]` is element `x.offset + i` of operand x's buffer, for i < n. Fields
/// and operands a kind does not use are ignored (zero them). Every element an operand uses must lie inside its
/// buffer (`GPUASYNC_OUT_OF_RANGE`); an input may be the output itself (same
/// buffer and offset: in place) but must not partly overlap it, and a
/// reduction's result must not overlap its inputs (`GPUASYNC_INVALID_ARGUMENT`).
/// The kernels index with 32 bits: n above 2^31, or an operand reaching
/// element 2^32 - 1 or beyond, is `GPUASYNC_UNSUPPORTED`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct gpuasync_builtin {
    /// One of `GPUASYNC_BUILTIN_*`; any other value is `GPUASYNC_INVALID_ARGUMENT`.
    pub kind: u32,
    /// Element type: `GPUASYNC_F32`, `GPUASYNC_F64`, or (GEMM, CONVERT and
    /// WIDEN only) `GPUASYNC_F16`, `GPUASYNC_BF16`; any other value is
    /// `GPUASYNC_INVALID_ARGUMENT`.
    pub r#type: u32,
    /// GEMM: 1 to use A transposed, 0 as stored; any other value is
    /// `GPUASYNC_INVALID_ARGUMENT`.
    pub trans_a: u32,
    /// GEMM: 1 to use B transposed, 0 as stored; any other value is
    /// `GPUASYNC_INVALID_ARGUMENT`.
    pub trans_b: u32,
    /// GEMM: rows of C and of op(A).
    pub m: u64,
    /// Level-1 kinds: the number of elements. GEMM: columns of C and of op(B).
    pub n: u64,
    /// GEMM: columns of op(A), rows of op(B).
    pub k: u64,
    /// FILL: the value; SCALE, AXPY, GEMM: the scale factor. Rounded to the
    /// element type.
    pub alpha: f64,
    /// GEMM: the factor of C. Rounded to the element type.
    pub beta: f64,
    /// First input (GEMM: A).
    pub a: gpuasync_operand,
    /// Second input (GEMM: B).
    pub b: gpuasync_operand,
    /// Output (GEMM: C, also an input unless beta = 0). Reductions write one
    /// element, at `c.offset`.
    pub c: gpuasync_operand,
}

fn operand(o: &gpuasync_operand) -> Operand {
    Operand { buffer: BufferId(o.buffer.id), offset: o.offset, ld: o.ld }
}

fn dtype_of(value: u32) -> Result<DType> {
    Ok(match value {
        GPUASYNC_F32 => DType::F32,
        GPUASYNC_F64 => DType::F64,
        GPUASYNC_F16 => DType::F16,
        GPUASYNC_BF16 => DType::BF16,
        other => bail!(InvalidArgument, "unknown element type {other} (GPUASYNC_F32, GPUASYNC_F64, GPUASYNC_F16 or GPUASYNC_BF16)"),
    })
}

fn transpose(value: u32, name: &str) -> Result<bool> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => bail!(InvalidArgument, "{name} = {other}; it must be 0 (as stored) or 1 (transposed)"),
    }
}

impl gpuasync_builtin {
    /// The core op this C struct describes, or why it describes none.
    pub(crate) fn to_core(self) -> Result<Builtin> {
        let kind = match self.kind {
            GPUASYNC_BUILTIN_FILL => BuiltinKind::Fill,
            GPUASYNC_BUILTIN_COPY => BuiltinKind::Copy,
            GPUASYNC_BUILTIN_SCALE => BuiltinKind::Scale,
            GPUASYNC_BUILTIN_AXPY => BuiltinKind::Axpy,
            GPUASYNC_BUILTIN_ADD => BuiltinKind::Add,
            GPUASYNC_BUILTIN_MUL => BuiltinKind::Mul,
            GPUASYNC_BUILTIN_SUM => BuiltinKind::Sum,
            GPUASYNC_BUILTIN_DOT => BuiltinKind::Dot,
            GPUASYNC_BUILTIN_NRM2 => BuiltinKind::Nrm2,
            GPUASYNC_BUILTIN_AMAX => BuiltinKind::Amax,
            GPUASYNC_BUILTIN_GEMM => BuiltinKind::Gemm,
            GPUASYNC_BUILTIN_CONVERT => BuiltinKind::Convert,
            GPUASYNC_BUILTIN_WIDEN => BuiltinKind::Widen,
            other => bail!(InvalidArgument, "unknown built-in kind {other} (GPUASYNC_BUILTIN_*)"),
        };
        let dtype = dtype_of(self.r#type)?;
        // The transposes mean something to GEMM only; other kinds ignore them,
        // as they ignore every field they do not use.
        let (trans_a, trans_b) = if kind == BuiltinKind::Gemm {
            (transpose(self.trans_a, "trans_a")?, transpose(self.trans_b, "trans_b")?)
        } else {
            (false, false)
        };
        Ok(Builtin {
            kind,
            dtype,
            m: self.m,
            n: self.n,
            k: self.k,
            alpha: self.alpha,
            beta: self.beta,
            trans_a,
            trans_b,
            a: operand(&self.a),
            b: operand(&self.b),
            c: operand(&self.c),
        })
    }
}

/// The core op behind a caller's pointer; `name` names the pointer in messages.
///
/// # Safety
/// `op` must be null or point to a readable `gpuasync_builtin`.
pub(crate) unsafe fn builtin_at(op: *const gpuasync_builtin, name: &str) -> Result<Builtin> {
    // SAFETY: the caller passes null or a readable struct.
    match unsafe { op.as_ref() } {
        Some(op) => op.to_core(),
        None => Err(null(name)),
    }
}

/// Whether GEMM with `type` inputs (`GPUASYNC_F16` or `GPUASYNC_BF16`) runs on
/// this executor (`supported` = 1): the device has VK_KHR_cooperative_matrix
/// with the kernel's 16 x 16 x 16 shape (and VK_KHR_shader_bfloat16 for bf16),
/// unless GPUASYNC_COOPERATIVE_MATRIX=0 was set when the executor was created;
/// or, on any device, GPUASYNC_COOPERATIVE_MATRIX=emulate (the same kernel with plain
/// arithmetic: slow, for testing). 0 for the other types;
/// `GPUASYNC_INVALID_ARGUMENT` for an unknown one.
#[no_mangle]
pub extern "C" fn gpuasync_executor_cooperative_matrix(
    executor: gpuasync_executor,
    r#type: u32,
    supported: *mut u32,
) -> gpuasync_status {
    call(|| {
        require!(supported);
        let dtype = dtype_of(r#type)?;
        let answer = super::lookup(executor)?.cooperative_matrix(dtype);
        // SAFETY: checked non-null above.
        unsafe { super::write_out(supported, u32::from(answer)) };
        Ok(())
    })
}

/// Submit one built-in op as its own submission and return its ticket at once;
/// it is ordered after earlier work on its buffers like any submission. On
/// error nothing is submitted. `flags`: `GPUASYNC_SUBMIT_*` bits.
#[no_mangle]
pub extern "C" fn gpuasync_builtin_submit(
    executor: gpuasync_executor,
    op: *const gpuasync_builtin,
    flags: u32,
    ticket: *mut gpuasync_ticket,
) -> gpuasync_status {
    call(|| {
        require!(op, ticket);
        // SAFETY: checked non-null; the caller passes a readable struct.
        let builtin = unsafe { builtin_at(op, "op")? };
        submit_one(executor, Op::Builtin(&builtin), flags, ticket)
    })
}
