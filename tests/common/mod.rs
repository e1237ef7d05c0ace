//! Shared test helpers: a validated executor, kernels from spirv/, random data.
#![allow(dead_code)]

use gpuasync::{BufferId, BufferKind, Executor, ExecutorDesc, HostDst, KernelId, Op, SubmitFlags};

/// An executor with the validation layer and synchronization validation on.
/// Panics if validation is not really enabled: tests must not pass unvalidated.
pub fn executor() -> Executor {
    executor_with(ExecutorDesc::default())
}

/// Fails the test if the layer reported anything.
pub fn assert_clean(ex: &Executor) {
    assert_eq!(
        ex.validation_message_count(),
        0,
        "validation messages: {:#?}",
        ex.validation_messages()
    );
}

pub fn spirv(name: &str) -> Vec<u32> {
    let path = format!("{}/spirv/{name}.spv", env!("CARGO_MANIFEST_DIR"));
    let mut file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    ash::util::read_spv(&mut file).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn kernel(ex: &Executor, name: &str) -> KernelId {
    ex.create_kernel(&spirv(name), "main", &[]).unwrap_or_else(|e| panic!("kernel {name}: {e}"))
}

/// xorshift64*: a small, seedable generator, so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    /// Uniform in [-1, 1), never all zeros.
    pub fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    pub fn f32s(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f32()).collect()
    }
    pub fn u32s(&mut self, n: usize) -> Vec<u32> {
        (0..n).map(|_| self.next_u32()).collect()
    }
}

pub fn bytes<T: Copy>(v: &[T]) -> &[u8] {
    // SAFETY: test data are plain numbers (f32/u32) with no padding.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast(), std::mem::size_of_val(v)) }
}

pub fn push<T: Copy>(v: &T) -> &[u8] {
    bytes(std::slice::from_ref(v))
}

/// A read into `out`, which the test keeps alive and untouched until the ticket is seen complete.
pub fn read_op<T: Copy>(buffer: BufferId, offset: u64, out: &mut [T]) -> Op<'static> {
    // SAFETY: callers keep `out` alive and untouched until they wait on the ticket.
    let dst = unsafe { HostDst::new(out.as_mut_ptr().cast(), std::mem::size_of_val(out)) };
    Op::Read { buffer, offset, dst }
}

pub fn buffer(ex: &Executor, bytes: usize) -> BufferId {
    ex.create_buffer(bytes as u64, BufferKind::DeviceLocal).expect("create buffer")
}

pub fn groups(n: usize, local: usize) -> [u32; 3] {
    [n.div_ceil(local).max(1) as u32, 1, 1]
}

pub const TIMED: SubmitFlags = SubmitFlags { timestamps: true, no_block: false, op_timestamps: false };
pub const PLAIN: SubmitFlags = SubmitFlags { timestamps: false, no_block: false, op_timestamps: false };

/// The LCG the `lcg` kernel runs, on the host.
pub fn lcg(mut x: u32, iterations: u32) -> u32 {
    for _ in 0..iterations {
        x = x.wrapping_mul(1664525).wrapping_add(1013904223);
    }
    x
}

// ---- helpers added for core.rs, errors.rs, ordering.rs ------------------------

use gpuasync::{Error, ErrorKind};

/// Push constants of `saxpy.comp`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SaxpyParams {
    pub a: f32,
    pub n: u32,
}

/// Push constants of `scale_add.comp`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ScaleAddParams {
    pub a: f32,
    pub b: f32,
    pub n: u32,
}

/// Push constants of `lcg.comp`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LcgParams {
    pub n: u32,
    pub iterations: u32,
}

/// Elements of the "long" lcg dispatch.
pub const LONG_N: usize = 1 << 16;
/// How long the "long" dispatch should keep the device busy, so that a poll right
/// after submit reliably sees it incomplete, without slowing the suite much.
const LONG_TARGET_NS: f64 = 400e6;

/// Iterations of the "long" lcg dispatch on this device: calibrated once per
/// process from GPU timestamps (lavapipe needs ~12,000, an H100 ~10^8), so the
/// tests that need work in flight hold on every device.
pub fn long_iters(ex: &Executor) -> u32 {
    static ITERS: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *ITERS.get_or_init(|| {
        let k = kernel(ex, "lcg");
        let b = buffer(ex, LONG_N * 4);
        let mut probe = 2_000u32;
        let iters = loop {
            let p = LcgParams { n: LONG_N as u32, iterations: probe };
            let t = ex
                .submit(&[Op::Dispatch { kernel: k, buffers: &[b], push_constants: push(&p), groups: groups(LONG_N, 64) }], TIMED)
                .expect("calibration dispatch");
            ex.wait(t, u64::MAX).expect("calibration wait");
            let ns = ex.timing(t).expect("calibration timing").gpu_ns().max(1) as f64;
            // Measure on at least 20 ms of work so launch overhead does not dominate.
            if ns > 20e6 || probe >= u32::MAX / 16 {
                // llvmpipe (lavapipe) caps a shader loop at 65,535 iterations and
                // then gives wrong results: stay under it on CPU devices.
                let cap = if ex.device_info().device_type == gpuasync::DeviceType::Cpu { 65_535.0 } else { f64::from(u32::MAX / 2) };
                break (f64::from(probe) * LONG_TARGET_NS / ns).clamp(2_000.0, cap) as u32;
            }
            probe = probe.saturating_mul(((25e6 / ns).ceil() as u32).clamp(2, 1000));
            if ex.device_info().device_type == gpuasync::DeviceType::Cpu {
                probe = probe.min(65_535);
                if probe == 65_535 {
                    break 65_535;
                }
            }
        };
        ex.destroy_buffer(b).expect("destroy calibration buffer");
        ex.destroy_kernel(k).expect("destroy calibration kernel");
        iters
    })
}

/// Assert that `r` failed with `kind` and a non-empty message; return the error.
#[track_caller]
pub fn expect_err<T: std::fmt::Debug>(r: gpuasync::Result<T>, kind: ErrorKind) -> Error {
    match r {
        Ok(v) => panic!("expected a {kind:?} error, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.kind, kind, "wrong error kind; message: {}", e.message);
            assert!(!e.message.trim().is_empty(), "{kind:?} error has an empty message");
            e
        }
    }
}

/// `n` nonzero floats `k / 2^shift` with integer `k` in `[-max_int, max_int]`:
/// few significant bits, so sums and products of them are exact in f32 and a GPU
/// that contracts `a*x+y` into an FMA gives the same bits as the host.
pub fn exact_f32s(rng: &mut Rng, n: usize, max_int: u32, shift: i32) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let k = loop {
                let k = (rng.next_u32() % (2 * max_int + 1)) as i64 - i64::from(max_int);
                if k != 0 {
                    break k;
                }
            };
            k as f32 * 2f32.powi(-shift)
        })
        .collect()
}

/// The affine map (multiplier, increment) equal to `iterations` LCG steps:
/// x -> x*m + c (mod 2^32), by repeated squaring of the one-step map (f o f is
/// x -> m^2 x + (m c + c)), so the host checks 10^8 iterations at once,
/// independently of the GPU.
pub fn lcg_affine(iterations: u32) -> (u32, u32) {
    let (mut m, mut c) = (1u32, 0u32); // the identity
    let (mut pm, mut pc) = (1664525u32, 1013904223u32); // one step, squared as we go
    let mut k = iterations;
    while k > 0 {
        if k & 1 == 1 {
            // apply `p` after the map so far: p(m x + c) = pm m x + (pm c + pc)
            m = pm.wrapping_mul(m);
            c = pm.wrapping_mul(c).wrapping_add(pc);
        }
        pc = pm.wrapping_mul(pc).wrapping_add(pc);
        pm = pm.wrapping_mul(pm);
        k >>= 1;
    }
    (m, c)
}

/// The host reference of the `lcg` kernel over a whole vector, checked against the
/// plain step-by-step `lcg` on a few elements (when that is quick).
pub fn lcg_reference(input: &[u32], iterations: u32) -> Vec<u32> {
    let (m, c) = lcg_affine(iterations);
    let out: Vec<u32> = input.iter().map(|&x| x.wrapping_mul(m).wrapping_add(c)).collect();
    if iterations <= 1 << 20 {
        for i in [0, input.len() / 2, input.len() - 1] {
            assert_eq!(out[i], lcg(input[i], iterations), "affine LCG reference disagrees with lcg()");
        }
    }
    for k in [0u32, 1, 2, 3, 1000, 4097] {
        assert_eq!(lcg_affine(k).0.wrapping_mul(12345).wrapping_add(lcg_affine(k).1), lcg(12345, k), "lcg_affine({k})");
    }
    out
}

/// Random nonzero u32s.
pub fn nonzero_u32s(rng: &mut Rng, n: usize) -> Vec<u32> {
    (0..n).map(|_| rng.next_u32() | 1).collect()
}

/// Poll `ticket` until it completes (sleeping 1 ms between polls); panics after 60 s.
pub fn poll_until_done(ex: &Executor, ticket: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ex.poll(ticket).expect("poll") {
        assert!(std::time::Instant::now() < deadline, "ticket {ticket} did not complete in 60 s");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Compare element by element, naming the first mismatch.
#[track_caller]
pub fn assert_eq_all<T: PartialEq + std::fmt::Debug>(got: &[T], want: &[T], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
        let bad = (0..got.len()).filter(|&i| got[i] != want[i]).count();
        panic!("{what}: element {i} is {:?}, expected {:?} ({bad} of {} differ)", got[i], want[i], got.len());
    }
}

/// Run one correct saxpy (write, dispatch, read in one submission) of `n`
/// elements with exact inputs and check every element: the executor still works.
/// Returns the ticket.
pub fn saxpy_check(ex: &Executor, n: usize, seed: u64) -> u64 {
    let mut rng = Rng::new(seed);
    let k = kernel(ex, "saxpy");
    let x = exact_f32s(&mut rng, n, 1024, 8);
    let y = exact_f32s(&mut rng, n, 1 << 16, 12);
    let a = exact_f32s(&mut rng, 1, 64, 4)[0];
    let want: Vec<f32> = x.iter().zip(&y).map(|(x, y)| a * x + y).collect();
    let bx = buffer(ex, n * 4);
    let by = buffer(ex, n * 4);
    let mut out = vec![f32::NAN; n];
    let p = SaxpyParams { a, n: n as u32 };
    let t = ex
        .submit(
            &[
                Op::Write { buffer: bx, offset: 0, data: bytes(&x) },
                Op::Write { buffer: by, offset: 0, data: bytes(&y) },
                Op::Dispatch { kernel: k, buffers: &[bx, by], push_constants: push(&p), groups: groups(n, 64) },
                read_op(by, 0, &mut out),
            ],
            PLAIN,
        )
        .expect("saxpy submit");
    assert!(ex.wait(t, u64::MAX).expect("saxpy wait"));
    assert_eq_all(&out, &want, "saxpy after the error");
    ex.destroy_buffer(bx).unwrap();
    ex.destroy_buffer(by).unwrap();
    ex.destroy_kernel(k).unwrap();
    t
}

/// Run the `#[ignore]`d test `name` of this test binary in a child process and
/// fail if it fails, crashes (a driver abort or segfault would otherwise kill every
/// test of the binary) or runs past `limit` (then it is killed).
pub fn run_isolated(name: &str, limit: std::time::Duration) {
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().expect("current test binary");
    let dir = std::env::temp_dir();
    let log_path = dir.join(format!("gpuasync-isolated-{}-{name}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).expect("child log");
    let mut child = Command::new(exe)
        .args([name, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("child log"))
        .stderr(log)
        .spawn()
        .expect("spawn the isolated test");
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the isolated test") {
            break Some(status);
        }
        if std::time::Instant::now() >= deadline {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    std::fs::remove_file(&log_path).ok();
    let tail: String = {
        let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    };
    match status {
        None => panic!("isolated test {name} ran past {limit:?} and was killed; its output:\n{tail}"),
        Some(s) if !s.success() => panic!("isolated test {name} failed or crashed ({s}); its output:\n{tail}"),
        Some(_) => assert!(
            output.contains("1 passed"),
            "isolated test {name} did not run (filter matched nothing?); its output:\n{tail}"
        ),
    }
}

// ---- helpers added for pipeline.rs --------------------------------------------

/// Like `executor()`, with the rest of the description taken from `desc`
/// (validation is forced on and checked).
///
/// Cooperative matrices stay off unless the test asks for them: the layer
/// these tests load (Debian's 1.3.239) predates VK_KHR_cooperative_matrix and
/// VK_KHR_shader_bfloat16 and reports their feature structures as unknown at
/// vkCreateDevice (H100, 2026-12-07), so on a device that has them the
/// default (on) would fail every test that never runs the 16-bit GEMM. The
/// tests of that GEMM ask for it and read the layer's messages themselves
/// (tests/half.rs).
pub fn executor_with(desc: ExecutorDesc) -> Executor {
    let cooperative_matrix = match desc.cooperative_matrix {
        gpuasync::CooperativeMatrix::Auto => gpuasync::CooperativeMatrix::Off,
        chosen => chosen,
    };
    let ex = Executor::new(&ExecutorDesc { validation: true, cooperative_matrix, ..desc })
        .unwrap_or_else(|e| panic!("cannot create a validated executor: {e}"));
    assert!(ex.validation_enabled(), "validation layer was requested but is not active");
    ex
}

/// How many bits after the binary point `v` needs (0 for integers and zero).
pub fn frac_bits(v: f32) -> u32 {
    if v == 0.0 || !v.is_finite() {
        return 0;
    }
    let bits = v.to_bits();
    let exp = ((bits >> 23) & 0xff) as i32 - 127;
    let mant = (bits & 0x7f_ffff) | 0x80_0000;
    (23 - exp - mant.trailing_zeros() as i32).max(0) as u32
}

/// Choose `(a, b)` for one `dst = src * a + b` step over `values` such that the
/// result is exact in f32 (so the GPU gives the same bits with or without FMA
/// contraction): `|a|` in {1/2, 1, 2} with a random sign, `b = k/16` with
/// `0 < |k| <= 32`. Values keep at most 10 fractional bits (halving adds one,
/// doubling removes one) and stay well below 2^13 in magnitude, so at most 23
/// significant bits; `scale_add_exact` asserts the exactness of every step.
pub fn exact_scale_add_params(rng: &mut Rng, values: &[f32]) -> (f32, f32) {
    let f = values.iter().map(|&v| frac_bits(v)).max().unwrap_or(0);
    let m = values.iter().fold(0f32, |m, v| m.max(v.abs()));
    let mag = if f >= 10 {
        2.0
    } else if m >= 256.0 {
        0.5
    } else {
        [0.5f32, 1.0, 2.0][(rng.next_u32() % 3) as usize]
    };
    let a = if rng.next_u32() & 1 == 0 { mag } else { -mag };
    let k = loop {
        let k = (rng.next_u32() % 65) as i32 - 32;
        if k != 0 {
            break k;
        }
    };
    (a, k as f32 / 16.0)
}

/// `v * a + b` on the host, asserting that the f32 result is exact (equal to the
/// same computation in f64), so no rounding choice on the GPU can change it.
#[track_caller]
pub fn scale_add_exact(v: f32, a: f32, b: f32) -> f32 {
    let r = v * a + b;
    assert_eq!(
        f64::from(r),
        f64::from(v) * f64::from(a) + f64::from(b),
        "test bug: {v} * {a} + {b} is not exact in f32"
    );
    r
}

/// `a * x + y` on the host (the `saxpy` kernel), asserting exactness as above.
#[track_caller]
pub fn saxpy_exact(a: f32, x: f32, y: f32) -> f32 {
    let r = a * x + y;
    assert_eq!(
        f64::from(r),
        f64::from(a) * f64::from(x) + f64::from(y),
        "test bug: {a} * {x} + {y} is not exact in f32"
    );
    r
}

/// Read `n` values of type `T` through a mapped pointer with volatile loads, so
/// the compiler cannot cache them across a sleep while the GPU writes them.
///
/// # Safety
/// `ptr` must point at `n` readable, initialised values of `T`.
pub unsafe fn read_mapped<T: Copy>(ptr: *const T, n: usize) -> Vec<T> {
    // SAFETY: the caller's promise.
    (0..n).map(|i| unsafe { std::ptr::read_volatile(ptr.add(i)) }).collect()
}

/// An executor that is leaked instead of dropped when the test panics. Dropping an
/// executor delivers outstanding reads, but on unwind the read destinations
/// (locals declared after the executor) are freed first: dropping it then would
/// write into freed memory and crash the whole test binary, hiding the failure.
/// Leaked, its reads are never delivered (only poll, wait and drop deliver).
pub struct LeakOnPanic(std::mem::ManuallyDrop<Executor>);

pub fn leak_on_panic(ex: Executor) -> LeakOnPanic {
    LeakOnPanic(std::mem::ManuallyDrop::new(ex))
}

impl std::ops::Deref for LeakOnPanic {
    type Target = Executor;
    fn deref(&self) -> &Executor {
        &self.0
    }
}

impl Drop for LeakOnPanic {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            // SAFETY: dropped exactly once, here; never used afterwards.
            unsafe { std::mem::ManuallyDrop::drop(&mut self.0) };
        }
    }
}

/// A strict little JSON checker (RFC 8259 grammar, no dependencies): Ok when
/// `text` is exactly one JSON value.
pub fn check_json(text: &str) -> Result<(), String> {
    fn ws(b: &[u8], mut i: usize) -> usize {
        while i < b.len() && matches!(b[i], b' ' | b'\n' | b'\r' | b'\t') {
            i += 1;
        }
        i
    }
    fn value(b: &[u8], i: usize) -> Result<usize, String> {
        let i = ws(b, i);
        match b.get(i) {
            Some(b'{') => {
                let mut i = ws(b, i + 1);
                if b.get(i) == Some(&b'}') {
                    return Ok(i + 1);
                }
                loop {
                    i = string(b, ws(b, i))?;
                    i = ws(b, i);
                    if b.get(i) != Some(&b':') {
                        return Err(format!("':' expected at {i}"));
                    }
                    i = ws(b, value(b, i + 1)?);
                    match b.get(i) {
                        Some(b',') => i += 1,
                        Some(b'}') => return Ok(i + 1),
                        _ => return Err(format!("',' or '}}' expected at {i}")),
                    }
                }
            }
            Some(b'[') => {
                let mut i = ws(b, i + 1);
                if b.get(i) == Some(&b']') {
                    return Ok(i + 1);
                }
                loop {
                    i = ws(b, value(b, i)?);
                    match b.get(i) {
                        Some(b',') => i += 1,
                        Some(b']') => return Ok(i + 1),
                        _ => return Err(format!("',' or ']' expected at {i}")),
                    }
                }
            }
            Some(b'"') => string(b, i),
            Some(b't') if b[i..].starts_with(b"true") => Ok(i + 4),
            Some(b'f') if b[i..].starts_with(b"false") => Ok(i + 5),
            Some(b'n') if b[i..].starts_with(b"null") => Ok(i + 4),
            Some(c) if *c == b'-' || c.is_ascii_digit() => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_digit() || matches!(b[j], b'.' | b'e' | b'E' | b'+' | b'-')) {
                    j += 1;
                }
                std::str::from_utf8(&b[i..j]).ok().and_then(|s| s.parse::<f64>().ok()).ok_or(format!("bad number at {i}"))?;
                Ok(j)
            }
            _ => Err(format!("value expected at {i}")),
        }
    }
    fn string(b: &[u8], i: usize) -> Result<usize, String> {
        if b.get(i) != Some(&b'"') {
            return Err(format!("string expected at {i}"));
        }
        let mut i = i + 1;
        while i < b.len() {
            match b[i] {
                b'"' => return Ok(i + 1),
                b'\\' => i += 2,
                c if c < 0x20 => return Err(format!("control character in string at {i}")),
                _ => i += 1,
            }
        }
        Err("unterminated string".into())
    }
    let b = text.as_bytes();
    let end = ws(b, value(b, 0)?);
    if end == b.len() { Ok(()) } else { Err(format!("trailing data at {end}")) }
}

// ---- registered host memory (registered.rs, transfer.rs) --------------------

/// Host memory aligned to the import alignment, freed on drop. Declare it
/// before the executor, so that the executor (which may still use it) drops first.
pub struct Aligned {
    pub ptr: *mut u8,
    layout: std::alloc::Layout,
}

impl Aligned {
    pub fn new(len: usize, align: usize) -> Self {
        let layout = std::alloc::Layout::from_size_align(len, align).expect("layout");
        // SAFETY: `len` is nonzero in every test.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        assert!(!ptr.is_null(), "out of host memory");
        Self { ptr, layout }
    }

    pub fn len(&self) -> usize {
        self.layout.size()
    }

    /// The memory as u32s. Only while no GPU work on it is in flight.
    pub fn u32s(&mut self) -> &mut [u32] {
        // SAFETY: the allocation is `len` bytes, aligned, zero-initialised and
        // owned by `self`; tests use it only while no GPU work touches it.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.cast(), self.len() / 4) }
    }

    /// `count` u32s from element `at`, as a write's source (the test keeps them
    /// unmodified until the write's ticket completes).
    pub fn source(&self, at: usize, count: usize) -> &'static [u8] {
        assert!((at + count) * 4 <= self.len());
        // SAFETY: inside the allocation, which outlives the submissions that use it.
        unsafe { std::slice::from_raw_parts(self.ptr.add(at * 4), count * 4) }
    }

    /// `count` u32s from element `at`, as a read's destination.
    pub fn destination(&self, at: usize, count: usize) -> gpuasync::HostDst {
        assert!((at + count) * 4 <= self.len());
        // SAFETY: inside the allocation; the test does not touch it until it has
        // waited for the read's ticket.
        unsafe { gpuasync::HostDst::new(self.ptr.add(at * 4), count * 4) }
    }

    pub fn register(&self, ex: &gpuasync::Executor) {
        // SAFETY: the allocation outlives the executor (declared before it).
        unsafe { ex.register_host(self.ptr, self.len()) }.expect("register host memory");
    }
}

impl Drop for Aligned {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr, self.layout) };
    }
}

/// The import alignment; lavapipe and NVIDIA have the extension, so it is
/// required there. Elsewhere, `None`: the caller skips with a message.
pub fn alignment(ex: &gpuasync::Executor) -> Option<usize> {
    let info = ex.device_info();
    let known = info.name.contains("llvmpipe") || info.vendor_id == 0x10de;
    match ex.host_register_alignment() {
        Some(a) => Some(a as usize),
        None if known => panic!("{} must offer VK_EXT_external_memory_host", info.name),
        None => {
            eprintln!("SKIP: device {} lacks VK_EXT_external_memory_host; registered memory is untested here", info.name);
            None
        }
    }
}

