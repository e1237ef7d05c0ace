//! Built-in kernels: BLAS-style operations whose SPIR-V is embedded in the
//! library (compiled from `spirv/{blas1,reduce,gemm,gemm_coop,convert,widen}.comp`).
//!
//! A built-in op is an ordinary op of a submission or batch: it expands into
//! one or two dispatches of an embedded kernel, checked here against the
//! buffers, and then ordered by the same hazard tracking as any dispatch.
//! Pipelines are created on first use per (kernel, type, variant) and kept for
//! the executor's life.

use std::collections::HashMap;

use crate::error::{bail, Error, ErrorKind, Result};
use crate::executor::{BufferId, Executor, KernelId};
use crate::kernel::SpecConstant;
use crate::memory::BufferKind;
use crate::submit::Op;

/// Element type of a built-in op.
///
/// The 16-bit types are for the cooperative-matrix GEMM (A and B in the type,
/// C and the accumulation in f32), for `Convert`'s output and `Widen`'s input;
/// the other ops take F32 and F64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F64,
    /// IEEE binary16.
    F16,
    /// bfloat16: the upper half of an f32.
    BF16,
}

impl DType {
    pub fn bytes(self) -> u64 {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
            DType::F16 | DType::BF16 => 2,
        }
    }

    fn is_16bit(self) -> bool {
        matches!(self, DType::F16 | DType::BF16)
    }
}

/// Which built-in operation. Operands are `a`, `b`, `c` of [`Builtin`]:
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BuiltinKind {
    /// `c[0..n) = alpha`
    Fill,
    /// `c = a`
    Copy,
    /// `c = alpha * a` (c may be a itself: BLAS scal)
    Scale,
    /// `c = alpha * a + b` (c may be b itself: BLAS axpy)
    Axpy,
    /// `c = a + b`, elementwise
    Add,
    /// `c = a * b`, elementwise
    Mul,
    /// `c[0] = sum of a`
    Sum,
    /// `c[0] = a . b`
    Dot,
    /// `c[0] = ||a||_2`
    Nrm2,
    /// `c[0] = max |a_i|` (NaN if any a_i is NaN)
    Amax,
    /// `c = alpha * op(a) * op(b) + beta * c`, column-major. With F16 or BF16,
    /// a and b hold that type and c is F32 (cooperative matrices; see
    /// `Executor::cooperative_matrix`).
    Gemm,
    /// `c[i] = a[i]` rounded to the op's type (F16 or BF16; a is F32), to
    /// nearest, ties to even; overflow gives infinity, NaN stays NaN.
    Convert,
    /// `c[i] = a[i]` widened from the op's type (F16 or BF16) to F32 (c is
    /// F32), exactly: subnormals, signed zeros, infinities and NaN payloads kept.
    Widen,
}

/// A vector or matrix inside a buffer: element `offset` is its first element;
/// `ld` is the leading dimension of a matrix (elements between columns).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Operand {
    pub buffer: BufferId,
    pub offset: u64,
    pub ld: u64,
}

impl From<BufferId> for Operand {
    fn from(buffer: BufferId) -> Self {
        Operand { buffer, offset: 0, ld: 0 }
    }
}

/// One built-in operation. Level-1 ops use `n` elements of `a`, `b`, `c`; GEMM
/// uses `m`, `n`, `k`, the transposes and the leading dimensions.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    pub kind: BuiltinKind,
    pub dtype: DType,
    pub m: u64,
    pub n: u64,
    pub k: u64,
    pub alpha: f64,
    pub beta: f64,
    pub trans_a: bool,
    pub trans_b: bool,
    pub a: Operand,
    pub b: Operand,
    pub c: Operand,
}

impl Builtin {
    fn level1(kind: BuiltinKind, dtype: DType, n: u64, alpha: f64, a: Operand, b: Operand, c: Operand) -> Self {
        Builtin { kind, dtype, m: 0, n, k: 0, alpha, beta: 0.0, trans_a: false, trans_b: false, a, b, c }
    }
    pub fn fill(dtype: DType, n: u64, value: f64, c: impl Into<Operand>) -> Self {
        let c = c.into();
        Self::level1(BuiltinKind::Fill, dtype, n, value, c, c, c)
    }
    pub fn copy(dtype: DType, n: u64, a: impl Into<Operand>, c: impl Into<Operand>) -> Self {
        let (a, c) = (a.into(), c.into());
        Self::level1(BuiltinKind::Copy, dtype, n, 0.0, a, a, c)
    }
    pub fn scale(dtype: DType, n: u64, alpha: f64, a: impl Into<Operand>, c: impl Into<Operand>) -> Self {
        let (a, c) = (a.into(), c.into());
        Self::level1(BuiltinKind::Scale, dtype, n, alpha, a, a, c)
    }
    pub fn axpy(dtype: DType, n: u64, alpha: f64, a: impl Into<Operand>, b: impl Into<Operand>, c: impl Into<Operand>) -> Self {
        Self::level1(BuiltinKind::Axpy, dtype, n, alpha, a.into(), b.into(), c.into())
    }
    pub fn add(dtype: DType, n: u64, a: impl Into<Operand>, b: impl Into<Operand>, c: impl Into<Operand>) -> Self {
        Self::level1(BuiltinKind::Add, dtype, n, 0.0, a.into(), b.into(), c.into())
    }
    pub fn mul(dtype: DType, n: u64, a: impl Into<Operand>, b: impl Into<Operand>, c: impl Into<Operand>) -> Self {
        Self::level1(BuiltinKind::Mul, dtype, n, 0.0, a.into(), b.into(), c.into())
    }
    /// `c = a` rounded from F32 to `dtype` (F16 or BF16).
    pub fn convert(dtype: DType, n: u64, a: impl Into<Operand>, c: impl Into<Operand>) -> Self {
        let (a, c) = (a.into(), c.into());
        Self::level1(BuiltinKind::Convert, dtype, n, 0.0, a, a, c)
    }
    /// `c = a` widened from `dtype` (F16 or BF16) to F32.
    pub fn widen(dtype: DType, n: u64, a: impl Into<Operand>, c: impl Into<Operand>) -> Self {
        let (a, c) = (a.into(), c.into());
        Self::level1(BuiltinKind::Widen, dtype, n, 0.0, a, a, c)
    }
    /// `kind` is one of Sum, Nrm2, Amax (one input) or Dot (two).
    pub fn reduce(kind: BuiltinKind, dtype: DType, n: u64, a: impl Into<Operand>, b: impl Into<Operand>, c: impl Into<Operand>) -> Self {
        Self::level1(kind, dtype, n, 0.0, a.into(), b.into(), c.into())
    }
    #[allow(clippy::too_many_arguments)]
    pub fn gemm(
        dtype: DType,
        trans_a: bool,
        trans_b: bool,
        m: u64,
        n: u64,
        k: u64,
        alpha: f64,
        a: Operand,
        b: Operand,
        beta: f64,
        c: Operand,
    ) -> Self {
        Builtin { kind: BuiltinKind::Gemm, dtype, m, n, k, alpha, beta, trans_a, trans_b, a, b, c }
    }
}

/// GEMM tiling: `[BM, BN, BK, TM, TN, WARP_M]` (see spirv/gemm.comp);
/// WARP_M 0 is the plain thread layout.
pub type GemmTile = [u32; 6];

/// Largest element count a level-1 op takes (the kernels index with 32 bits and
/// add up to 4 grid strides to an index).
const MAX_LEVEL1_N: u64 = 1 << 31;
/// Workgroups of a reduction's first pass, at most (records in the scratch buffer).
const MAX_PARTS: u64 = 1024;
/// Workgroups of an elementwise dispatch, at most (grid-stride beyond); the
/// device's own limit may be lower.
const MAX_ELEMENTWISE_GROUPS: u64 = 1 << 20;
const WORKGROUP: u64 = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum KernelKey {
    /// (type, operation, which inputs are the output: 1 a, 2 b, 3 both)
    Blas1(DType, u32, u32),
    Reduce(DType, u32, u32),
    /// (type, tiling, transposes, edge checks needed)
    Gemm(DType, GemmTile, bool, bool, bool),
    /// (16-bit input type, transposes, 16-byte loads of A, of B, emulated)
    GemmCoop(DType, bool, bool, bool, bool, bool),
    /// (output type)
    Convert(DType),
    /// (input type)
    Widen(DType),
}

/// The executor's built-in pipelines and the reductions' scratch buffer.
#[derive(Default)]
pub(crate) struct BuiltinCache {
    kernels: HashMap<KernelKey, KernelId>,
    scratch: Option<BufferId>,
    gemm_tile_f32: Option<GemmTile>,
    gemm_tile_f64: Option<GemmTile>,
}

/// One dispatch a built-in op expands to (owned, so the ops can borrow it).
pub(crate) struct Expanded {
    kernel: KernelId,
    buffers: [BufferId; 6],
    binding_count: usize,
    push: [u8; 64],
    push_len: usize,
    groups: [u32; 3],
}

impl Expanded {
    pub(crate) fn as_op(&self) -> Op<'_> {
        Op::Dispatch {
            kernel: self.kernel,
            buffers: &self.buffers[..self.binding_count],
            push_constants: &self.push[..self.push_len],
            groups: self.groups,
        }
    }
}

/// Push-constant bytes in std430 order.
struct Push {
    bytes: [u8; 64],
    len: usize,
}

impl Push {
    fn new() -> Self {
        Push { bytes: [0; 64], len: 0 }
    }
    fn put(&mut self, b: &[u8]) {
        let align = b.len();
        self.len = self.len.div_ceil(align) * align;
        self.bytes[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }
    fn u32(&mut self, v: u64) {
        // Callers have checked that every value fits 32 bits.
        self.put(&(v as u32).to_le_bytes());
    }
    fn scalar(&mut self, dtype: DType, v: f64) {
        match dtype {
            DType::F64 => self.put(&v.to_le_bytes()),
            // The 16-bit GEMM scales in f32.
            DType::F32 | DType::F16 | DType::BF16 => self.put(&(v as f32).to_le_bytes()),
        }
    }
}

fn spirv_words(bytes: &[u8]) -> Vec<u32> {
    bytes.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect()
}

/// A built-in module as (name, embedded SPIR-V): `spirv/<name>.spv`.
macro_rules! spv {
    ($name:literal) => {
        ($name, include_bytes!(concat!("../spirv/", $name, ".spv")).as_slice())
    };
}

/// The module of a built-in kernel: its name and the embedded SPIR-V.
fn module(key: &KernelKey) -> Option<(&'static str, &'static [u8])> {
    Some(match key {
        KernelKey::Blas1(DType::F32, ..) => spv!("blas1_f32"),
        KernelKey::Blas1(DType::F64, ..) => spv!("blas1_f64"),
        KernelKey::Reduce(DType::F32, ..) => spv!("reduce_f32"),
        KernelKey::Reduce(DType::F64, ..) => spv!("reduce_f64"),
        KernelKey::Gemm(DType::F32, ..) => spv!("gemm_f32"),
        KernelKey::Gemm(DType::F64, ..) => spv!("gemm_f64"),
        KernelKey::GemmCoop(_, false, false, .., true) => spv!("gemm_coop_emu_nn"),
        KernelKey::GemmCoop(_, false, true, .., true) => spv!("gemm_coop_emu_nt"),
        KernelKey::GemmCoop(_, true, false, .., true) => spv!("gemm_coop_emu_tn"),
        KernelKey::GemmCoop(_, true, true, .., true) => spv!("gemm_coop_emu_tt"),
        KernelKey::GemmCoop(DType::BF16, false, false, ..) => spv!("gemm_coop_bf16_nn"),
        KernelKey::GemmCoop(DType::BF16, false, true, ..) => spv!("gemm_coop_bf16_nt"),
        KernelKey::GemmCoop(DType::BF16, true, false, ..) => spv!("gemm_coop_bf16_tn"),
        KernelKey::GemmCoop(DType::BF16, true, true, ..) => spv!("gemm_coop_bf16_tt"),
        KernelKey::GemmCoop(_, false, false, ..) => spv!("gemm_coop_f16_nn"),
        KernelKey::GemmCoop(_, false, true, ..) => spv!("gemm_coop_f16_nt"),
        KernelKey::GemmCoop(_, true, false, ..) => spv!("gemm_coop_f16_tn"),
        KernelKey::GemmCoop(_, true, true, ..) => spv!("gemm_coop_f16_tt"),
        KernelKey::Convert(_) => spv!("convert"),
        KernelKey::Widen(_) => spv!("widen"),
        // expand_builtin sends the 16-bit types to the two kernels above only.
        KernelKey::Blas1(..) | KernelKey::Reduce(..) | KernelKey::Gemm(..) => return None,
    })
}

/// The experimental upload kernel (spirv/upload.comp; `GPUASYNC_UPLOAD_KERNEL`,
/// see `Executor::record_upload`), as SPIR-V words.
pub(crate) fn upload_kernel_words() -> Result<Vec<u32>> {
    let (name, embedded) = spv!("upload");
    Ok(match override_module(name)? {
        Some(bytes) => spirv_words(&bytes),
        None => spirv_words(embedded),
    })
}

/// For kernel development: `GPUASYNC_BUILTIN_DIR=<dir>` makes a built-in
/// kernel load `<dir>/<name>.spv` instead of the embedded module where that
/// file exists, so that variants can be timed and tested without rebuilding
/// (their bindings, push constants and specialization constants must be the
/// embedded module's). Read when the kernel is first used by an executor.
fn override_module(name: &str) -> Result<Option<Vec<u8>>> {
    let Some(dir) = std::env::var_os("GPUASYNC_BUILTIN_DIR").filter(|d| !d.is_empty()) else {
        return Ok(None);
    };
    let path = std::path::Path::new(&dir).join(format!("{name}.spv"));
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() % 4 == 0 && !bytes.is_empty() => Ok(Some(bytes)),
        Ok(_) => bail!(InvalidArgument, "GPUASYNC_BUILTIN_DIR: {} is not SPIR-V (its size is not a whole number of words)", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => bail!(InvalidArgument, "GPUASYNC_BUILTIN_DIR: {}: {e}", path.display()),
    }
}

fn spec_constants(key: &KernelKey) -> Vec<SpecConstant> {
    let c = |id, value| SpecConstant { id, value };
    match *key {
        KernelKey::Blas1(_, op, alias) => vec![c(0, op), c(1, alias)],
        KernelKey::Reduce(_, op, pass) => vec![c(0, op), c(1, pass)],
        KernelKey::Gemm(_, [bm, bn, bk, tm, tn, wm], ta, tb, edge) => vec![
            c(0, bm),
            c(1, bn),
            c(2, bk),
            c(3, tm),
            c(4, tn),
            c(5, u32::from(ta)),
            c(6, u32::from(tb)),
            c(7, (bm / tm) * (bn / tn)),
            c(8, wm),
            c(9, u32::from(edge)),
        ],
        KernelKey::GemmCoop(dtype, _, _, vec_a, vec_b, emulated) => {
            let mut v = vec![c(0, u32::from(vec_a)), c(1, u32::from(vec_b))];
            if emulated {
                v.push(c(2, u32::from(dtype == DType::BF16)));
            }
            v
        }
        KernelKey::Convert(dtype) | KernelKey::Widen(dtype) => vec![c(0, u32::from(dtype == DType::BF16))],
    }
}

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

fn bad(op: BuiltinKind, msg: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("{op:?}: {msg}"))
}

/// Elements [first, end) of an operand, in bytes of its buffer.
#[derive(Clone, Copy)]
struct Extent {
    buffer: BufferId,
    start: u64,
    end: u64,
}

impl Extent {
    fn overlaps(&self, other: &Extent) -> bool {
        self.buffer == other.buffer && self.start < other.end && other.start < self.end && self.start < self.end
    }
    fn same(&self, other: &Extent) -> bool {
        self.buffer == other.buffer && self.start == other.start && self.end == other.end
    }
}

/// A GEMM tiling that a device can run: shared memory and invocations within
/// its limits, and the divisibility the kernel relies on.
fn tile_fits(tile: GemmTile, dtype: DType, shared_limit: u32, invocations_limit: u32) -> bool {
    let [bm, bn, bk, tm, tn, wm] = tile.map(u64::from);
    // Sizes beyond any device's workgroup; below them nothing here overflows u64.
    if [bm, bn, bk, tm, tn].iter().any(|&v| v == 0 || v > 4096) || tm % 4 != 0 || tn % 4 != 0 {
        return false;
    }
    if bm % tm != 0 || bn % tn != 0 {
        return false;
    }
    let threads = (bm / tm) * (bn / tn);
    if threads > u64::from(invocations_limit) || (bm * bk) % threads != 0 || (bn * bk) % threads != 0 {
        return false;
    }
    if wm != 0 && (!matches!(wm, 1 | 2 | 4 | 8 | 16 | 32) || (bm / tm) % wm != 0 || (bn / tn) % (32 / wm) != 0) {
        return false;
    }
    let shared = 2 * bk * (bm + bn + 8) * dtype.bytes(); // rows padded by 4 elements
    shared <= u64::from(shared_limit)
}

/// Parse `BMxBNxBKxTMxTN[xWARP_M]` (as in `GPUASYNC_GEMM_TILE`).
pub fn parse_gemm_tile(s: &str) -> Option<GemmTile> {
    let mut v: Vec<u32> = s.trim().split('x').map(|p| p.trim().parse().ok()).collect::<Option<_>>()?;
    if v.len() == 5 {
        v.push(0);
    }
    <[u32; 6]>::try_from(v).ok()
}

impl BuiltinCache {
    pub(crate) fn from_env() -> Self {
        let tile = std::env::var("GPUASYNC_GEMM_TILE").ok().and_then(|s| parse_gemm_tile(&s));
        BuiltinCache { gemm_tile_f32: tile, gemm_tile_f64: tile, ..Default::default() }
    }
}

impl Executor {
    /// Submit one built-in op; returns its ticket (see `submit`).
    pub fn run_builtin(&self, op: &Builtin, flags: crate::submit::SubmitFlags) -> Result<u64> {
        self.submit(&[Op::Builtin(op)], flags)
    }

    /// Use this GEMM tiling (`[BM, BN, BK, TM, TN]`) for `dtype` instead of the
    /// library's choice, or go back to it with `None`. For tuning and
    /// benchmarks; a tiling the device cannot run is `Unsupported`.
    pub fn set_gemm_tile(&self, dtype: DType, tile: Option<GemmTile>) -> Result<()> {
        if let Some(t) = tile {
            if !tile_fits(t, dtype, self.limits.max_compute_shared_memory_size, self.limits.max_compute_work_group_invocations) {
                bail!(Unsupported, "GEMM tile {t:?} does not fit this device for {dtype:?} (shared memory, invocations or divisibility)");
            }
        }
        let mut cache = self.builtins.lock();
        match dtype {
            DType::F32 => cache.gemm_tile_f32 = tile,
            DType::F64 => cache.gemm_tile_f64 = tile,
            DType::F16 | DType::BF16 => bail!(Unsupported, "the {dtype:?} GEMM has one tiling (spirv/gemm_coop.comp)"),
        }
        Ok(())
    }

    /// The compiler statistics (see `kernel_statistics`) of the GEMM kernel this
    /// executor uses for an m x n (no transposes) problem of `dtype`, with the
    /// tiling it picks. A tuning aid.
    pub fn gemm_statistics(&self, dtype: DType, m: u64, n: u64) -> Result<Vec<String>> {
        if dtype.is_16bit() {
            self.check_cooperative_matrix(dtype)?;
            let kernel = self.builtin_kernel(KernelKey::GemmCoop(dtype, false, false, true, true, self.coop.emulated))?;
            return self.kernel_statistics(kernel);
        }
        let tile = self.gemm_tile(dtype, m, n);
        let edge = m % u64::from(tile[0]) != 0 || n % u64::from(tile[1]) != 0;
        let kernel = self.builtin_kernel(KernelKey::Gemm(dtype, tile, false, false, edge))?;
        self.kernel_statistics(kernel)
    }

    /// The kernel for `key`, created on first use.
    fn builtin_kernel(&self, key: KernelKey) -> Result<KernelId> {
        let mut cache = self.builtins.lock();
        if let Some(&k) = cache.kernels.get(&key) {
            return Ok(k);
        }
        let Some((name, embedded)) = module(&key) else {
            bail!(Internal, "no built-in kernel for {key:?}");
        };
        let words = match override_module(name)? {
            Some(bytes) => spirv_words(&bytes),
            None => spirv_words(embedded),
        };
        let id = self.create_kernel(&words, "main", &spec_constants(&key))?;
        cache.kernels.insert(key, id);
        Ok(id)
    }

    /// The reductions' scratch buffer (4 elements per first-pass workgroup).
    fn reduction_scratch(&self) -> Result<BufferId> {
        let mut cache = self.builtins.lock();
        if let Some(b) = cache.scratch {
            return Ok(b);
        }
        let b = self.create_buffer(MAX_PARTS * 4 * 8, BufferKind::DeviceLocal)?;
        cache.scratch = Some(b);
        Ok(b)
    }

    fn gemm_tile(&self, dtype: DType, m: u64, n: u64) -> GemmTile {
        let (shared, invocations) = (self.limits.max_compute_shared_memory_size, self.limits.max_compute_work_group_invocations);
        let chosen = {
            let cache = self.builtins.lock();
            match dtype {
                DType::F64 => cache.gemm_tile_f64,
                DType::F32 | DType::F16 | DType::BF16 => cache.gemm_tile_f32,
            }
        };
        if let Some(t) = chosen {
            if tile_fits(t, dtype, shared, invocations) {
                return t;
            }
        }
        // Measured on the H100 (docs/kernels.md, tuning log): 128 x 64 tiles,
        // 8 x 8 per thread (128 threads), BK = 16 were fastest from 1024 up
        // (42 TFLOP/s at 8192, 31 at 1024); 64 x 64 x 16 with 4 x 4 per thread
        // for problems too small to give 128 x 64 tiles to the whole GPU. Tiles
        // that do not fit the device are skipped; the last always fits the
        // Vulkan minimum limits (16 KiB shared, 128 invocations).
        let candidates: [(GemmTile, u64); 3] = match dtype {
            DType::F32 | DType::F16 | DType::BF16 => [([128, 64, 16, 8, 8, 0], 96), ([64, 64, 16, 4, 4, 0], 0), ([64, 64, 8, 4, 4, 0], 0)],
            DType::F64 => [([128, 64, 8, 8, 8, 0], 512), ([64, 64, 8, 4, 4, 0], 0), ([32, 32, 8, 4, 4, 0], 0)],
        };
        let tiles = |t: GemmTile| ceil_div(m, u64::from(t[0])) * ceil_div(n, u64::from(t[1]));
        candidates
            .into_iter()
            .filter(|&(t, min_tiles)| tiles(t) >= min_tiles)
            .map(|(t, _)| t)
            .chain([[32, 32, 8, 4, 4, 0]])
            .find(|&t| tile_fits(t, dtype, shared, invocations))
            .unwrap_or([32, 32, 8, 4, 4, 0])
    }

    /// Check that `count` elements from `o.offset` (or a `rows` x `cols` matrix
    /// with leading dimension `o.ld`) lie inside `o.buffer`; return the extent.
    fn extent(&self, kind: BuiltinKind, what: &str, o: &Operand, dtype: DType, rows: u64, cols: u64) -> Result<Extent> {
        let size = self
            .buffer_size(o.buffer)
            .map_err(|e| Error::new(e.kind, format!("{kind:?}: {what}: {}", e.message)))?;
        // A dispatch binds whole buffers, and no binding may exceed the device's
        // maxStorageBufferRange (at least 128 MiB; 4 GiB - 1 on an H100).
        let range = u64::from(self.limits.max_storage_buffer_range);
        if size > range {
            bail!(
                Unsupported,
                "{kind:?}: {what}'s buffer is {size} bytes; built-in kernels bind whole buffers and this device binds at most {range} (maxStorageBufferRange)"
            );
        }
        let elements = size / dtype.bytes();
        let span = if rows == 0 || cols == 0 {
            0
        } else {
            (cols - 1).checked_mul(o.ld).and_then(|v| v.checked_add(rows))
                .ok_or_else(|| bad(kind, format!("{what}: {rows} x {cols} with leading dimension {} overflows", o.ld)))?
        };
        let end = o.offset.checked_add(span).ok_or_else(|| bad(kind, format!("{what}: offset {} overflows", o.offset)))?;
        if end > elements {
            bail!(
                OutOfRange,
                "{kind:?}: {what} needs elements {}..{end} of its buffer, which holds {elements} {dtype:?} elements",
                o.offset
            );
        }
        if end > u64::from(u32::MAX) {
            bail!(Unsupported, "{kind:?}: {what} reaches element {end}; built-in kernels address at most 2^32 - 1 elements");
        }
        let bytes = dtype.bytes();
        Ok(Extent { buffer: o.buffer, start: o.offset * bytes, end: end * bytes })
    }

    /// Expand `op` into the dispatches that carry it out, appended to `out`.
    pub(crate) fn expand_builtin(&self, op: &Builtin, out: &mut Vec<Expanded>) -> Result<()> {
        let kind = op.kind;
        let dtype = op.dtype;
        if dtype == DType::F64 && !self.info.float64 {
            bail!(Unsupported, "{kind:?}: the device has no float64 support (shaderFloat64)");
        }
        if dtype.is_16bit() && !matches!(kind, BuiltinKind::Gemm | BuiltinKind::Convert | BuiltinKind::Widen) {
            bail!(Unsupported, "{kind:?}: no {dtype:?} variant; the 16-bit types are for Gemm's inputs, Convert's output and Widen's input");
        }
        match kind {
            BuiltinKind::Gemm if dtype.is_16bit() => self.expand_gemm_coop(op, out),
            BuiltinKind::Gemm => self.expand_gemm(op, out),
            BuiltinKind::Convert | BuiltinKind::Widen => self.expand_convert(op, out),
            BuiltinKind::Sum | BuiltinKind::Dot | BuiltinKind::Nrm2 | BuiltinKind::Amax => self.expand_reduce(op, out),
            _ => self.expand_elementwise(op, out),
        }
    }

    fn expand_elementwise(&self, op: &Builtin, out: &mut Vec<Expanded>) -> Result<()> {
        let (kind, dtype, n) = (op.kind, op.dtype, op.n);
        if n > MAX_LEVEL1_N {
            bail!(Unsupported, "{kind:?}: n = {n} is above the built-in limit of 2^31 elements");
        }
        let (code, reads_a, reads_b) = match kind {
            BuiltinKind::Fill => (0, false, false),
            BuiltinKind::Copy => (1, true, false),
            BuiltinKind::Scale => (2, true, false),
            BuiltinKind::Axpy => (3, true, true),
            BuiltinKind::Add => (4, true, true),
            _ => (5, true, true),
        };
        let c = self.extent(kind, "c", &op.c, dtype, n, 1)?;
        // An input may be the output itself (in place) but must not partly
        // overlap it; in place, the kernel reads it through the output binding.
        let mut alias = 0;
        for (used, name, o, bit) in [(reads_a, "a", &op.a, 1), (reads_b, "b", &op.b, 2)] {
            if used {
                let e = self.extent(kind, name, o, dtype, n, 1)?;
                if e.overlaps(&c) && !e.same(&c) {
                    bail!(InvalidArgument, "{kind:?}: {name} and c overlap without being the same elements");
                }
                if n > 0 && e.same(&c) {
                    alias |= bit;
                }
            }
        }
        if n == 0 {
            return Ok(());
        }
        let kernel = self.builtin_kernel(KernelKey::Blas1(dtype, code, alias))?;
        let a_off = if reads_a { op.a.offset } else { 0 };
        let b_off = if reads_b { op.b.offset } else { 0 };
        // 4-wide loads and stores when every offset allows them.
        let n4 = if (a_off | b_off | op.c.offset) % 4 == 0 { n / 4 } else { 0 };
        let mut push = Push::new();
        push.scalar(dtype, op.alpha);
        push.u32(n);
        push.u32(a_off);
        push.u32(b_off);
        push.u32(op.c.offset);
        push.u32(n4);
        // Unused inputs bind the output (any valid buffer; the kernel does not read it).
        let a = if reads_a { op.a.buffer } else { op.c.buffer };
        let b = if reads_b { op.b.buffer } else { op.c.buffer };
        let items = n4.max(n - 4 * n4);
        let groups = ceil_div(items, WORKGROUP).clamp(1, MAX_ELEMENTWISE_GROUPS.min(u64::from(self.info.max_workgroup_count[0])));
        out.push(Expanded {
            kernel,
            buffers: [a, b, op.c.buffer, a, b, op.c.buffer],
            binding_count: 6,
            push: push.bytes,
            push_len: push.len,
            groups: [groups as u32, 1, 1],
        });
        Ok(())
    }

    fn expand_reduce(&self, op: &Builtin, out: &mut Vec<Expanded>) -> Result<()> {
        let (kind, dtype, n) = (op.kind, op.dtype, op.n);
        if n > MAX_LEVEL1_N {
            bail!(Unsupported, "{kind:?}: n = {n} is above the built-in limit of 2^31 elements");
        }
        let code = match kind {
            BuiltinKind::Sum => 0,
            BuiltinKind::Dot => 1,
            BuiltinKind::Nrm2 => 2,
            _ => 3,
        };
        let r = self.extent(kind, "c (the result)", &op.c, dtype, 1, 1)?;
        let a = self.extent(kind, "a", &op.a, dtype, n, 1)?;
        let b_buffer = if kind == BuiltinKind::Dot {
            let b = self.extent(kind, "b", &op.b, dtype, n, 1)?;
            if b.overlaps(&r) {
                bail!(InvalidArgument, "{kind:?}: the result c overlaps input b");
            }
            op.b.buffer
        } else {
            op.a.buffer
        };
        if a.overlaps(&r) {
            bail!(InvalidArgument, "{kind:?}: the result c overlaps input a");
        }
        let scratch = self.reduction_scratch()?;
        let parts = ceil_div(n, WORKGROUP * 4).min(MAX_PARTS);
        let buffers = [op.a.buffer, b_buffer, scratch, op.c.buffer, op.a.buffer, b_buffer];
        let b_off = if kind == BuiltinKind::Dot { op.b.offset } else { 0 };
        // 4-wide loads when the offsets allow them.
        let n4 = if (op.a.offset | b_off) % 4 == 0 { n / 4 } else { 0 };
        let push = |parts: u64| {
            let mut p = Push::new();
            p.u32(n);
            p.u32(op.a.offset);
            p.u32(b_off);
            p.u32(op.c.offset);
            p.u32(parts);
            p.u32(n4);
            p
        };
        if parts > 0 {
            let p = push(parts);
            out.push(Expanded {
                kernel: self.builtin_kernel(KernelKey::Reduce(dtype, code, 0))?,
                buffers,
                binding_count: 6,
                push: p.bytes,
                push_len: p.len,
                groups: [parts as u32, 1, 1],
            });
        }
        let p = push(parts);
        out.push(Expanded {
            kernel: self.builtin_kernel(KernelKey::Reduce(dtype, code, 1))?,
            buffers,
            binding_count: 6,
            push: p.bytes,
            push_len: p.len,
            groups: [1, 1, 1],
        });
        Ok(())
    }

    /// The checks every GEMM passes (leading dimensions, 32-bit sizes, extents,
    /// no overlap of C with A or B); returns the k to run (0 when alpha or k is
    /// 0: C = beta * C, and A and B are not read) and whether alpha is zero.
    fn check_gemm(&self, op: &Builtin) -> Result<(u64, bool)> {
        let kind = BuiltinKind::Gemm;
        let (dtype, m, n) = (op.dtype, op.m, op.n);
        // alpha as the kernel gets it: an f32 GEMM's alpha of 1e-50 is 0.
        let alpha_zero = match dtype {
            DType::F64 => op.alpha == 0.0,
            DType::F32 | DType::F16 | DType::BF16 => op.alpha as f32 == 0.0,
        };
        // k == 0 is the same case: C = beta * C, with alpha not applied (an
        // infinite alpha times an empty sum would make NaN).
        let alpha_zero = alpha_zero || op.k == 0;
        let k = if alpha_zero { 0 } else { op.k };
        let (a_rows, a_cols) = if op.trans_a { (op.k, m) } else { (m, op.k) };
        let (b_rows, b_cols) = if op.trans_b { (n, op.k) } else { (op.k, n) };
        for (name, ld, rows) in [("lda", op.a.ld, a_rows), ("ldb", op.b.ld, b_rows), ("ldc", op.c.ld, m)] {
            if ld < rows.max(1) {
                bail!(InvalidArgument, "Gemm: {name} = {ld} is less than max(1, {rows}), the rows of the stored matrix");
            }
        }
        for (name, v) in [("m", m), ("n", n), ("k", op.k), ("lda", op.a.ld), ("ldb", op.b.ld), ("ldc", op.c.ld)] {
            if v > u64::from(u32::MAX) {
                bail!(Unsupported, "Gemm: {name} = {v} does not fit the kernels' 32-bit indices");
            }
        }
        // The 16-bit GEMM's C is f32.
        let c_type = if dtype.is_16bit() { DType::F32 } else { dtype };
        let c = self.extent(kind, "C", &op.c, c_type, m, n)?;
        if k > 0 && m > 0 && n > 0 {
            let a = self.extent(kind, "A", &op.a, dtype, a_rows, a_cols)?;
            let b = self.extent(kind, "B", &op.b, dtype, b_rows, b_cols)?;
            if a.overlaps(&c) || b.overlaps(&c) {
                bail!(InvalidArgument, "Gemm: C overlaps A or B");
            }
            if dtype.is_16bit() {
                self.whole_words(kind, "A", &a)?;
                self.whole_words(kind, "B", &b)?;
            }
        }
        Ok((k, alpha_zero))
    }

    /// 16-bit elements are read (and `Convert` writes them) as 32-bit words:
    /// the word holding the extent's last element must lie inside the buffer.
    fn whole_words(&self, kind: BuiltinKind, what: &str, e: &Extent) -> Result<()> {
        let size = self.buffer_size(e.buffer)?;
        if e.end > e.start && e.end.div_ceil(4) * 4 > size {
            bail!(
                InvalidArgument,
                "{kind:?}: {what} ends at byte {} of a {size}-byte buffer; 16-bit elements are accessed as 32-bit words, so the buffer must reach byte {} (make it a multiple of 4 bytes)",
                e.end,
                e.end.div_ceil(4) * 4
            );
        }
        Ok(())
    }

    fn expand_gemm(&self, op: &Builtin, out: &mut Vec<Expanded>) -> Result<()> {
        let (dtype, m, n) = (op.dtype, op.m, op.n);
        let (k, alpha_zero) = self.check_gemm(op)?;
        if m == 0 || n == 0 {
            return Ok(());
        }
        let tile = self.gemm_tile(dtype, m, n);
        let groups = [ceil_div(m, u64::from(tile[0])), ceil_div(n, u64::from(tile[1]))];
        let max = self.info.max_workgroup_count;
        if groups[0] > u64::from(max[0]) || groups[1] > u64::from(max[1]) {
            bail!(Unsupported, "Gemm: {m} x {n} needs {} x {} workgroups; the device allows {} x {}", groups[0], groups[1], max[0], max[1]);
        }
        // Sizes that are tile multiples run the kernel without bounds checks.
        // Otherwise, when the tile-multiple interior is large, it runs
        // unchecked and the rest (the k remainder, the last rows, the last
        // columns) in thin pieces with checks: on the H100 the checked kernel
        // ran at 28.5 TFLOP/s at 4097^3 against 41.5 unchecked at 4096^3.
        let [bm, bn, bk] = [u64::from(tile[0]), u64::from(tile[1]), u64::from(tile[2])];
        let (m0, n0, k0) = (m - m % bm, n - n % bn, k - k % bk);
        let split = (m0, n0, k0) != (m, n, k) && m0 >= 4 * bm && n0 >= 4 * bn && k0 >= 4 * bk;
        let pieces: Vec<GemmPiece> = if split {
            let mut v = vec![GemmPiece { rows: 0..m0, cols: 0..n0, ks: 0..k0, accumulate: false }];
            if k0 < k {
                v.push(GemmPiece { rows: 0..m0, cols: 0..n0, ks: k0..k, accumulate: true });
            }
            if m0 < m {
                v.push(GemmPiece { rows: m0..m, cols: 0..n, ks: 0..k, accumulate: false });
            }
            if n0 < n {
                v.push(GemmPiece { rows: 0..m0, cols: n0..n, ks: 0..k, accumulate: false });
            }
            v
        } else {
            vec![GemmPiece { rows: 0..m, cols: 0..n, ks: 0..k, accumulate: false }]
        };
        // With k == 0 the kernel never reads A or B; bind C in their place so a
        // caller may pass any handle there.
        let (a, b) = if k == 0 { (op.c.buffer, op.c.buffer) } else { (op.a.buffer, op.b.buffer) };
        for piece in pieces {
            let (pm, pn, pk) = (piece.rows.end - piece.rows.start, piece.cols.end - piece.cols.start, piece.ks.end - piece.ks.start);
            let (r0, c0, l0) = (piece.rows.start, piece.cols.start, piece.ks.start);
            let edge = pm % bm != 0 || pn % bn != 0 || pk % bk != 0;
            let kernel = self.builtin_kernel(KernelKey::Gemm(dtype, tile, op.trans_a, op.trans_b, edge))?;
            // Element (i, l) of op(A) for the piece is op(A)(r0 + i, l0 + l), and so on.
            let a_off = op.a.offset + if op.trans_a { l0 + r0 * op.a.ld } else { r0 + l0 * op.a.ld };
            let b_off = op.b.offset + if op.trans_b { c0 + l0 * op.b.ld } else { l0 + c0 * op.b.ld };
            let c_off = op.c.offset + r0 + c0 * op.c.ld;
            let mut p = Push::new();
            p.scalar(dtype, if alpha_zero { 0.0 } else { op.alpha });
            p.scalar(dtype, if piece.accumulate { 1.0 } else { op.beta });
            // Offsets of a piece lie inside the operand's extent, checked above
            // to end below 2^32 elements.
            for v in [pm, pn, pk, op.a.ld, op.b.ld, op.c.ld, if k == 0 { 0 } else { a_off }, if k == 0 { 0 } else { b_off }, c_off] {
                p.u32(v);
            }
            out.push(Expanded {
                kernel,
                buffers: [a, b, op.c.buffer, op.c.buffer, op.c.buffer, op.c.buffer],
                binding_count: 3,
                push: p.bytes,
                push_len: p.len,
                groups: [ceil_div(pm, bm) as u32, ceil_div(pn, bn) as u32, 1],
            });
        }
        Ok(())
    }

    /// Whether this executor runs the GEMM with `dtype` inputs on cooperative
    /// matrices (F16 or BF16; false for the others, which never need them).
    pub fn cooperative_matrix(&self, dtype: DType) -> bool {
        match dtype {
            DType::F16 => self.coop.f16,
            DType::BF16 => self.coop.bf16,
            DType::F32 | DType::F64 => false,
        }
    }

    /// Whether the 16-bit GEMM runs on the emulated kernel
    /// (`CooperativeMatrix::Emulate`: plain arithmetic, no matrix units).
    pub fn cooperative_matrix_emulated(&self) -> bool {
        self.coop.emulated
    }

    /// The cooperative-matrix shapes the device's driver lists (empty without
    /// VK_KHR_cooperative_matrix), as "MxNxK A*B+C->Result scope".
    pub fn cooperative_matrix_shapes(&self) -> &[String] {
        &self.coop.shapes
    }

    /// `Unsupported`, saying why, unless the GEMM with `dtype` inputs runs here.
    fn check_cooperative_matrix(&self, dtype: DType) -> Result<()> {
        if !self.cooperative_matrix(dtype) {
            let needs = if dtype == DType::BF16 { "VK_KHR_cooperative_matrix and VK_KHR_shader_bfloat16" } else { "VK_KHR_cooperative_matrix" };
            bail!(
                Unsupported,
                "Gemm: {dtype:?} inputs need cooperative matrices ({needs}, with the 16 x 16 x 16 shape, f32 accumulation and subgroups of exactly 32); {} lists no such shape",
                self.info.name
            );
        }
        Ok(())
    }

    /// The 16-bit GEMM: one dispatch of the cooperative-matrix kernel over
    /// 256 x 128 blocks of C (spirv/gemm_coop.comp; the tuning variant
    /// `m128`, version 3, 128 x 128).
    fn expand_gemm_coop(&self, op: &Builtin, out: &mut Vec<Expanded>) -> Result<()> {
        let dtype = op.dtype;
        self.check_cooperative_matrix(dtype)?;
        let (m, n) = (op.m, op.n);
        let (k, alpha_zero) = self.check_gemm(op)?;
        if m == 0 || n == 0 {
            return Ok(());
        }
        // 16-byte loads where every column of the stored matrix starts on a
        // 16-byte boundary (8 elements); the kernel falls back to 16-bit loads.
        let vec_a = op.a.offset % 8 == 0 && op.a.ld % 8 == 0;
        let vec_b = op.b.offset % 8 == 0 && op.b.ld % 8 == 0;
        let kernel = self.builtin_kernel(KernelKey::GemmCoop(dtype, op.trans_a, op.trans_b, vec_a, vec_b, self.coop.emulated))?;
        // Blocks of (invocations) x 128: every subgroup computes 64 x 64, so
        // the shipped 256 invocations make 256 rows, and the tuning variant
        // m128's 128 (GPUASYNC_BUILTIN_DIR; spirv/gemm_coop.comp, BLOCK_M) 128.
        let rows = u64::from(self.kernel_local_size(kernel)?[0]).max(1);
        let groups = [ceil_div(m, rows), ceil_div(n, 128)];
        let max = self.info.max_workgroup_count;
        if groups[0] > u64::from(max[0]) || groups[1] > u64::from(max[1]) {
            bail!(Unsupported, "Gemm: {m} x {n} needs {} x {} workgroups; the device allows {} x {}", groups[0], groups[1], max[0], max[1]);
        }
        let (a, b) = if k == 0 { (op.c.buffer, op.c.buffer) } else { (op.a.buffer, op.b.buffer) };
        let mut p = Push::new();
        p.scalar(DType::F32, if alpha_zero { 0.0 } else { op.alpha });
        p.scalar(DType::F32, op.beta);
        // Checked to fit 32 bits (check_gemm, extent).
        for v in [m, n, k, op.a.ld, op.b.ld, op.c.ld, if k == 0 { 0 } else { op.a.offset }, if k == 0 { 0 } else { op.b.offset }, op.c.offset] {
            p.u32(v);
        }
        out.push(Expanded {
            kernel,
            buffers: [a, b, op.c.buffer, a, b, op.c.buffer],
            binding_count: 5,
            push: p.bytes,
            push_len: p.len,
            groups: [groups[0] as u32, groups[1] as u32, 1],
        });
        Ok(())
    }

    /// F32 -> F16 / BF16 (spirv/convert.comp: one invocation per 32-bit word
    /// of the output, which keeps the halves outside the range as they were)
    /// and back (spirv/widen.comp: one per element).
    fn expand_convert(&self, op: &Builtin, out: &mut Vec<Expanded>) -> Result<()> {
        let (kind, dtype, n) = (op.kind, op.dtype, op.n);
        let widen = kind == BuiltinKind::Widen;
        if !dtype.is_16bit() {
            let role = if widen { "input type is F16 or BF16 (the output is F32)" } else { "output type is F16 or BF16 (the input is F32)" };
            bail!(InvalidArgument, "{kind:?}: the {role}, not {dtype:?}");
        }
        if n > MAX_LEVEL1_N {
            bail!(Unsupported, "{kind:?}: n = {n} is above the built-in limit of 2^31 elements");
        }
        let (a_type, c_type) = if widen { (dtype, DType::F32) } else { (DType::F32, dtype) };
        let a = self.extent(kind, "a", &op.a, a_type, n, 1)?;
        let c = self.extent(kind, "c", &op.c, c_type, n, 1)?;
        if a.overlaps(&c) {
            bail!(InvalidArgument, "{kind:?}: a and c overlap");
        }
        if n == 0 {
            return Ok(());
        }
        self.whole_words(kind, if widen { "a" } else { "c" }, if widen { &a } else { &c })?;
        let words = (op.c.offset + n).div_ceil(2) - op.c.offset / 2;
        let mut p = Push::new();
        for v in [n, op.a.offset, op.c.offset] {
            p.u32(v);
        }
        if !widen {
            p.u32(words);
        }
        let items = if widen { n } else { words };
        let groups = ceil_div(items, WORKGROUP).clamp(1, MAX_ELEMENTWISE_GROUPS.min(u64::from(self.info.max_workgroup_count[0])));
        let key = if widen { KernelKey::Widen(dtype) } else { KernelKey::Convert(dtype) };
        out.push(Expanded {
            kernel: self.builtin_kernel(key)?,
            buffers: [op.a.buffer, op.c.buffer, op.c.buffer, op.c.buffer, op.c.buffer, op.c.buffer],
            binding_count: 2,
            push: p.bytes,
            push_len: p.len,
            groups: [groups as u32, 1, 1],
        });
        Ok(())
    }
}

/// A block of C computed by one dispatch: rows x cols of C over the k range
/// `ks`; `accumulate` adds to C (beta = 1) instead of applying the caller's beta.
struct GemmPiece {
    rows: std::ops::Range<u64>,
    cols: std::ops::Range<u64>,
    ks: std::ops::Range<u64>,
    accumulate: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_respect_limits() {
        assert!(tile_fits([128, 128, 8, 8, 8, 0], DType::F32, 49152, 1024));
        assert!(tile_fits([128, 128, 8, 8, 8, 8], DType::F32, 49152, 1024));
        assert!(!tile_fits([128, 128, 8, 8, 8, 32], DType::F32, 49152, 1024));
        assert!(!tile_fits([128, 128, 8, 8, 8, 0], DType::F32, 8192, 1024));
        assert!(!tile_fits([128, 128, 8, 6, 8, 0], DType::F32, 49152, 1024));
        assert!(tile_fits([32, 32, 8, 4, 4, 0], DType::F64, 16384, 128));
        assert_eq!(parse_gemm_tile("64x64x16x4x4"), Some([64, 64, 16, 4, 4, 0]));
        assert_eq!(parse_gemm_tile("128x128x8x8x8x8"), Some([128, 128, 8, 8, 8, 8]));
        assert_eq!(parse_gemm_tile("64x64"), None);
    }

    #[test]
    fn cooperative_matrix_modules_reflect() {
        // The rewritten KHR modules must get through the reflection every
        // kernel passes (lavapipe never creates their pipelines): five
        // bindings, only C (2) written, 44 bytes of push constants.
        for ta in [false, true] {
            for tb in [false, true] {
                for dtype in [DType::F16, DType::BF16] {
                    for emulated in [false, true] {
                    let key = KernelKey::GemmCoop(dtype, ta, tb, true, false, emulated);
                    let words = spirv_words(module(&key).expect("module").1);
                    let i = crate::kernel::reflect(&words, "main", &spec_constants(&key)).expect("reflect");
                    assert_eq!(i.bindings.len(), 5, "{key:?}");
                    let written: Vec<bool> = i.bindings.iter().map(|b| b.write).collect();
                    assert_eq!(written, [false, false, true, false, false], "{key:?}");
                    assert_eq!(i.push_constant_size, 44, "{key:?}");
                    // Blocks of 256 x 128: 8 subgroups of 64 x 64.
                    let rows = 256;
                    assert_eq!(i.local_size, [rows, 1, 1], "{key:?}");
                    // Shared tiles (rows padded by 8 halves: A's 32 x (rows + 8)
                    // or rows x 40, B's 128 x 40 or 32 x 136) and the scratch
                    // (a 16 x 16 f32 fragment for each subgroup), which the
                    // emulation does without (lavapipe allows 32 KiB).
                    let a = if ta { rows * 40 * 2 } else { 32 * (rows + 8) * 2 };
                    let b = if tb { 32 * 136 * 2 } else { 128 * 40 * 2 };
                    let scratch = if emulated { 0 } else { rows / 32 * 16 * 16 * 4 };
                    let shared = a + b + scratch;
                    assert!(!emulated || shared <= 32768, "{key:?}: {shared} bytes of shared memory");
                    assert_eq!(i.workgroup_memory, u64::from(shared), "{key:?}");
                    }
                }
            }
        }
        let i = crate::kernel::reflect(&spirv_words(module(&KernelKey::Convert(DType::BF16)).expect("module").1), "main", &[]).expect("reflect");
        assert_eq!(i.push_constant_size, 16);
        let i = crate::kernel::reflect(&spirv_words(module(&KernelKey::Widen(DType::F16)).expect("module").1), "main", &[]).expect("reflect");
        assert_eq!(i.push_constant_size, 12);
    }

    #[test]
    fn push_layout_is_std430() {
        let mut p = Push::new();
        p.scalar(DType::F64, 1.0);
        p.scalar(DType::F64, 2.0);
        p.u32(3);
        assert_eq!(p.len, 20);
        let mut q = Push::new();
        q.scalar(DType::F32, 1.0);
        q.u32(7);
        assert_eq!(q.len, 8);
    }
}
