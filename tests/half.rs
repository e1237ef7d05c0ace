//! 16-bit floats: the Convert built-in (F32 -> F16 / BF16) on every device, and
//! the cooperative-matrix GEMM (F16 / BF16 inputs, F32 C), which runs where the
//! device has VK_KHR_cooperative_matrix (the H100; not lavapipe, where it must
//! say Unsupported), and everywhere as the emulated kernel (the same tiling,
//! plain arithmetic in place of the matrix units), which is how lavapipe
//! checks the kernel's addressing. Every output element is checked against an independent
//! host reference: conversions bit for bit against rounding done in f64
//! arithmetic (not the kernel's integer method), GEMM against an f64 sum with
//! a tolerance from the arithmetic; elements an op must not touch, bit for bit.

mod common;
use common::*;
use gpuasync::{BufferId, Builtin, BuiltinKind, CooperativeMatrix, DType, ErrorKind, Executor, ExecutorDesc, Op, Operand};

const PLAIN: gpuasync::SubmitFlags = gpuasync::SubmitFlags { timestamps: false, no_block: false, op_timestamps: false };

#[track_caller]
fn run(ex: &Executor, ops: &[Op<'_>]) {
    let t = ex.submit(ops, PLAIN).expect("submit");
    assert!(ex.wait(t, u64::MAX).expect("wait"));
}

fn at(buffer: BufferId, offset: usize) -> Operand {
    Operand { buffer, offset: offset as u64, ld: 0 }
}

fn mat(buffer: BufferId, offset: usize, ld: usize) -> Operand {
    Operand { buffer, offset: offset as u64, ld: ld as u64 }
}

/// 2^e, exactly.
fn pow2(e: i32) -> f64 {
    2f64.powi(e)
}

/// The unbiased exponent of a positive normal f64.
fn exponent(a: f64) -> i32 {
    ((a.to_bits() >> 52) & 0x7FF) as i32 - 1023
}

/// Round `r` (>= 0) to an integer, ties to even.
fn round_half_even(r: f64) -> f64 {
    let f = r.floor();
    match (r - f).partial_cmp(&0.5) {
        Some(std::cmp::Ordering::Greater) => f + 1.0,
        Some(std::cmp::Ordering::Less) => f,
        _ => {
            if f % 2.0 == 0.0 {
                f
            } else {
                f + 1.0
            }
        }
    }
}

/// x rounded to binary16 (to nearest, ties to even), as bits; None for NaN.
/// Done on values: the spacing of binary16 numbers at |x| is 2^(e - 10), e the
/// exponent clamped to the subnormal range's -14.
fn f16_ref(x: f32) -> Option<u16> {
    if x.is_nan() {
        return None;
    }
    let sign: u16 = if x.is_sign_negative() { 0x8000 } else { 0 };
    let a = f64::from(x).abs();
    if a == 0.0 {
        return Some(sign);
    }
    // 65504 is the largest finite value; from 65520, halfway to 2^16, on, infinity.
    if a >= 65520.0 {
        return Some(sign | 0x7C00);
    }
    let e = exponent(a).max(-14);
    let q = pow2(e - 10);
    let value = round_half_even(a / q) * q;
    if value < pow2(-14) {
        return Some(sign | (value / pow2(-24)) as u16);
    }
    let ev = exponent(value);
    let mant = (value / pow2(ev) - 1.0) * 1024.0;
    assert_eq!(mant.fract(), 0.0);
    Some(sign | (((ev + 15) as u16) << 10) | mant as u16)
}

/// x rounded to bfloat16 (8-bit exponent like f32, 7 stored mantissa bits).
fn bf16_ref(x: f32) -> Option<u16> {
    if x.is_nan() {
        return None;
    }
    let sign: u16 = if x.is_sign_negative() { 0x8000 } else { 0 };
    let a = f64::from(x).abs();
    if a == 0.0 {
        return Some(sign);
    }
    if a.is_infinite() {
        return Some(sign | 0x7F80);
    }
    let q = pow2(exponent(a).max(-126) - 7);
    let value = round_half_even(a / q) * q;
    if value >= pow2(128) {
        return Some(sign | 0x7F80);
    }
    let bits = (value as f32).to_bits();
    assert_eq!(bits & 0xFFFF, 0, "{value} is not a bfloat16");
    Some(sign | (bits >> 16) as u16)
}

fn f16_value(h: u16) -> f64 {
    assert!((h >> 10) & 0x1F != 31, "test inputs are finite");
    f16_value_any(h)
}

/// A binary16 pattern's value: infinities and NaN too.
fn f16_value_any(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let e = i32::from((h >> 10) & 0x1F);
    let m = f64::from(h & 0x3FF);
    sign * match (e, m == 0.0) {
        (31, true) => f64::INFINITY,
        (31, false) => f64::NAN,
        (0, _) => m * pow2(-24),
        _ => (1.0 + m / 1024.0) * pow2(e - 15),
    }
}

fn bf16_value(h: u16) -> f64 {
    f64::from(f32::from_bits(u32::from(h) << 16))
}

/// Values that exercise every rounding path: random bit patterns over the
/// whole f32 range, random values near 1 and in the f16 subnormal range, and
/// exact ties, the overflow thresholds, zeros, infinities and NaNs.
fn conversion_inputs(rng: &mut Rng) -> Vec<f32> {
    let mut v: Vec<f32> = vec![
        0.0, -0.0, 1.0, -1.0, 65504.0, 65519.0, 65520.0, -65520.0, 65536.0, 1e30, -1e30,
        f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, f32::MAX, f32::MIN_POSITIVE, 1e-45,
        // f16 ties: 1 + 2^-11 (to 1), 1 + 3 * 2^-11 (to 1 + 2^-9), 2^-25 (to 0),
        // 3 * 2^-25 (to 2^-23), 2^-14 - 2^-25 (to 2^-14, the smallest normal).
        1.0 + 2f32.powi(-11), 1.0 + 3.0 * 2f32.powi(-11), 2f32.powi(-25), 3.0 * 2f32.powi(-25),
        2f32.powi(-14) - 2f32.powi(-25), 2f32.powi(-24), 1.5 * 2f32.powi(-24),
        // bf16 ties: 1 + 2^-8 (to 1), 1 + 3 * 2^-8 (to 1 + 2^-6), the largest
        // finite f32 (rounds to infinity in bf16).
        1.0 + 2f32.powi(-8), 1.0 + 3.0 * 2f32.powi(-8), -(1.0 + 2f32.powi(-8)),
    ];
    for _ in 0..3000 {
        v.push(f32::from_bits(rng.next_u32()));
    }
    for _ in 0..2000 {
        v.push(1.0 + (rng.f32() * 0.5));
    }
    for _ in 0..2000 {
        v.push(rng.f32() * 2f32.powi(-13));
    }
    for _ in 0..2000 {
        v.push(rng.f32() * 70000.0);
    }
    v
}

/// Convert `input` on the device into the 16-bit halves [c_off, c_off + n) of
/// a buffer whose other halves hold random sentinels; returns every half.
fn convert_on_device(ex: &Executor, dtype: DType, input: &[f32], a_off: usize, c_off: usize, rng: &mut Rng) -> (Vec<u16>, Vec<u16>) {
    let n = input.len();
    let mut a_host = vec![0f32; a_off];
    a_host.extend_from_slice(input);
    let halves = (c_off + n + 3).div_ceil(2) * 2;
    let init: Vec<u16> = (0..halves).map(|_| rng.next_u32() as u16).collect();
    let a = buffer(ex, a_host.len() * 4);
    let c = buffer(ex, halves * 2);
    let mut got = vec![0u16; halves];
    run(ex, &[
        Op::Write { buffer: a, offset: 0, data: bytes(&a_host) },
        Op::Write { buffer: c, offset: 0, data: bytes(&init) },
    ]);
    let conv = Builtin::convert(dtype, n as u64, at(a, a_off), at(c, c_off));
    run(ex, &[Op::Builtin(&conv), read_op(c, 0, &mut got)]);
    for b in [a, c] {
        ex.destroy_buffer(b).expect("destroy");
    }
    (init, got)
}

#[test]
fn convert_rounds_to_nearest_even() {
    let ex = executor();
    let mut rng = Rng::new(71);
    let input = conversion_inputs(&mut rng);
    type Reference = fn(f32) -> Option<u16>;
    let cases: [(DType, Reference, u16); 2] = [(DType::F16, f16_ref, 0x7C00), (DType::BF16, bf16_ref, 0x7F80)];
    for (dtype, reference, exp_mask) in cases {
        // Odd and even output offsets (the first and last 32-bit words shared
        // with halves the op must keep), an odd count.
        for (a_off, c_off, n) in [(0, 0, input.len()), (3, 5, input.len() - 2), (1, 2, 1), (0, 1, 2)] {
            let (init, got) = convert_on_device(&ex, dtype, &input[..n], a_off, c_off, &mut rng);
            for (i, (&g, &want0)) in got.iter().zip(&init).enumerate() {
                if i < c_off || i >= c_off + n {
                    assert_eq!(g, want0, "{dtype:?}: half {i} outside the range changed");
                    continue;
                }
                let x = input[i - c_off];
                match reference(x) {
                    Some(want) => assert_eq!(g, want, "{dtype:?}: {x:e} ({:#010x}) became {g:#06x}, not {want:#06x}", x.to_bits()),
                    None => {
                        assert!(g & exp_mask == exp_mask && g & !exp_mask & 0x7FFF != 0, "{dtype:?}: NaN became {g:#06x}");
                        assert_eq!(g & 0x8000 != 0, x.is_sign_negative(), "{dtype:?}: NaN lost its sign");
                    }
                }
            }
        }
    }
    assert_clean(&ex);
}

/// Every 16-bit pattern widened to f32 on the device: the value exactly (f16
/// decoded in f64 here, subnormals included; bf16 is the f32's upper half),
/// zeros with their sign, NaNs still NaN with sign and payload; at an odd
/// input offset into a buffer of other f32 values that must stay as they were.
/// Then a round trip: convert then widen gives the host-rounded values.
#[test]
fn widen_is_exact_for_every_pattern() {
    let ex = executor();
    let mut rng = Rng::new(83);
    let patterns: Vec<u16> = (0..=u16::MAX).collect();
    let a_off = 3;
    let mut a_host = vec![0x1234u16; a_off];
    a_host.extend_from_slice(&patterns);
    a_host.push(0x4321);
    let a = buffer(&ex, a_host.len() * 2);
    let c_off = 5;
    let init: Vec<u32> = (0..c_off + patterns.len() + 4).map(|_| rng.next_u32()).collect();
    let c = buffer(&ex, init.len() * 4);
    for (dtype, value) in [(DType::F16, f16_value_any as fn(u16) -> f64), (DType::BF16, bf16_value)] {
        let mut got = vec![0u32; init.len()];
        let widen = Builtin::widen(dtype, patterns.len() as u64, at(a, a_off), at(c, c_off));
        run(&ex, &[
            Op::Write { buffer: a, offset: 0, data: bytes(&a_host) },
            Op::Write { buffer: c, offset: 0, data: bytes(&init) },
            Op::Builtin(&widen),
            read_op(c, 0, &mut got),
        ]);
        for (i, (&g, &w0)) in got.iter().zip(&init).enumerate() {
            if i < c_off || i >= c_off + patterns.len() {
                assert_eq!(g, w0, "{dtype:?}: element {i} outside the range changed");
                continue;
            }
            let h = patterns[i - c_off];
            let v = value(h);
            let f = f32::from_bits(g);
            if v.is_nan() {
                let payload = if dtype == DType::BF16 { u32::from(h & 0x7F) << 16 } else { u32::from(h & 0x3FF) << 13 };
                assert!(f.is_nan() && g & 0x007F_FFFF == payload, "{dtype:?}: NaN {h:#06x} became {g:#010x}");
            } else {
                assert_eq!(f64::from(f), v, "{dtype:?}: {h:#06x} became {f:e} ({g:#010x})");
            }
            assert_eq!(g >> 31, u32::from(h >> 15), "{dtype:?}: {h:#06x}: sign");
        }
    }
    // Convert then widen: the f32 inputs rounded as the host rounds them.
    let input = conversion_inputs(&mut rng);
    let x = buffer(&ex, input.len() * 4);
    let halves = buffer(&ex, input.len().div_ceil(2) * 4);
    let y = buffer(&ex, input.len() * 4);
    type Reference = fn(f32) -> Option<u16>;
    type Value = fn(u16) -> f64;
    let cases: [(DType, Reference, Value); 2] = [(DType::F16, f16_ref, f16_value_any), (DType::BF16, bf16_ref, bf16_value)];
    for (dtype, reference, value) in cases {
        let mut back = vec![0f32; input.len()];
        let n = input.len() as u64;
        let (to, from) = (Builtin::convert(dtype, n, x, halves), Builtin::widen(dtype, n, halves, y));
        run(&ex, &[
            Op::Write { buffer: x, offset: 0, data: bytes(&input) },
            Op::Builtin(&to),
            Op::Builtin(&from),
            read_op(y, 0, &mut back),
        ]);
        for (&v, &b) in input.iter().zip(&back) {
            match reference(v) {
                Some(h) => assert_eq!(f64::from(b), value(h), "{dtype:?}: {v:e} came back as {b:e}"),
                None => assert!(b.is_nan(), "{dtype:?}: NaN came back as {b:e}"),
            }
        }
    }
    for b in [a, c, x, halves, y] {
        ex.destroy_buffer(b).expect("destroy");
    }
    assert_clean(&ex);
}

#[test]
fn convert_and_16bit_errors() {
    let ex = executor();
    let a = buffer(&ex, 64);
    let c = buffer(&ex, 64);
    let odd = buffer(&ex, 6);
    // The output type is 16-bit, and Widen's input type.
    let e = expect_err(ex.run_builtin(&Builtin::convert(DType::F32, 4, at(a, 0), at(c, 0)), PLAIN), ErrorKind::InvalidArgument);
    assert!(e.message.contains("F16 or BF16"), "{}", e.message);
    let e = expect_err(ex.run_builtin(&Builtin::widen(DType::F64, 4, at(a, 0), at(c, 0)), PLAIN), ErrorKind::InvalidArgument);
    assert!(e.message.contains("F16 or BF16"), "{}", e.message);
    // Widen reads 16-bit elements as words too; its f32 output must fit.
    expect_err(ex.run_builtin(&Builtin::widen(DType::F16, 3, at(odd, 0), at(c, 0)), PLAIN), ErrorKind::InvalidArgument);
    expect_err(ex.run_builtin(&Builtin::widen(DType::F16, 17, at(c, 0), at(a, 0)), PLAIN), ErrorKind::OutOfRange);
    // Out of range, overlapping.
    expect_err(ex.run_builtin(&Builtin::convert(DType::F16, 17, at(a, 0), at(c, 0)), PLAIN), ErrorKind::OutOfRange);
    expect_err(ex.run_builtin(&Builtin::convert(DType::F16, 8, at(a, 0), at(a, 0)), PLAIN), ErrorKind::InvalidArgument);
    // A 6-byte buffer's third half shares a word with nothing: refused, not overrun.
    let e = expect_err(ex.run_builtin(&Builtin::convert(DType::BF16, 3, at(a, 0), at(odd, 0)), PLAIN), ErrorKind::InvalidArgument);
    assert!(e.message.contains("multiple of 4"), "{}", e.message);
    // Other ops have no 16-bit variants.
    for op in [
        Builtin::reduce(BuiltinKind::Sum, DType::F16, 4, at(a, 0), at(a, 0), at(c, 0)),
        Builtin::axpy(DType::BF16, 4, 1.0, at(a, 0), at(c, 0), at(c, 0)),
    ] {
        expect_err(ex.run_builtin(&op, PLAIN), ErrorKind::Unsupported);
    }
    expect_err(ex.set_gemm_tile(DType::F16, Some([64, 64, 16, 4, 4, 0])), ErrorKind::Unsupported);
    // Nothing ran: no validation messages either.
    for b in [a, c, odd] {
        ex.destroy_buffer(b).expect("destroy");
    }
    assert_clean(&ex);
}

#[test]
fn gemm_16bit_is_unsupported_without_cooperative_matrices() {
    let ex = executor();
    let a = buffer(&ex, 256);
    let c = buffer(&ex, 256);
    for dtype in [DType::F16, DType::BF16] {
        let op = Builtin::gemm(dtype, false, false, 4, 4, 4, 1.0, mat(a, 0, 4), mat(a, 0, 4), 0.0, mat(c, 0, 4));
        if ex.cooperative_matrix(dtype) {
            // Such a device runs it (the GPU tests below check the results).
            run(&ex, &[Op::Builtin(&op)]);
        } else {
            let e = expect_err(ex.run_builtin(&op, PLAIN), ErrorKind::Unsupported);
            assert!(e.message.contains("cooperative"), "{}", e.message);
        }
    }
    assert!(!ex.cooperative_matrix(DType::F32) && !ex.cooperative_matrix(DType::F64));
    assert_clean(&ex);
}

/// One GEMM case: C (m x n, ld ldc, at c_off) = alpha op(A) op(B) + beta C.
#[derive(Clone, Copy, Debug)]
struct Case {
    m: usize,
    n: usize,
    k: usize,
    ta: bool,
    tb: bool,
    alpha: f32,
    beta: f32,
    /// Extra rows in each leading dimension and the operands' offsets: 0 and
    /// 0 for the 16-byte-load path, others for the 16-bit-load one.
    pad: usize,
    off: usize,
}

fn gemm_case(ex: &Executor, dtype: DType, case: Case, rng: &mut Rng) {
    let Case { m, n, k, ta, tb, alpha, beta, pad, off } = case;
    type Encode = fn(f32) -> Option<u16>;
    type Decode = fn(u16) -> f64;
    let (encode, value): (Encode, Decode) = if dtype == DType::BF16 { (bf16_ref, bf16_value) } else { (f16_ref, f16_value) };
    let (ar, ac) = if ta { (k, m) } else { (m, k) };
    let (br, bc) = if tb { (n, k) } else { (k, n) };
    let (lda, ldb, ldc) = (ar.max(1) + pad, br.max(1) + pad, m.max(1) + pad);
    // Stored matrices with random 16-bit values in [-1, 1) (never zero) in
    // their rows and random bits in the padding, which must not matter.
    let mut stored = |rows: usize, cols: usize, ld: usize| -> Vec<u16> {
        let len = (off + ld * cols.max(1)).div_ceil(2) * 2;
        (0..len)
            .map(|i| {
                let inside = i >= off && (i - off) % ld < rows && (i - off) / ld < cols;
                if inside {
                    loop {
                        let v = rng.f32();
                        if let Some(h) = encode(v).filter(|&h| h & 0x7FFF != 0) {
                            break h;
                        }
                    }
                } else {
                    rng.next_u32() as u16 | 0x7C00 // NaN or infinity in f16: would poison C if read
                }
            })
            .collect()
    };
    let a_host = stored(ar, ac, lda);
    let b_host = stored(br, bc, ldb);
    let c_len = off + ldc * n.max(1);
    // beta = 0: C starts as NaN, which must not leak into the result.
    let c_init: Vec<f32> = (0..c_len).map(|_| if beta == 0.0 { f32::NAN } else { rng.f32() }).collect();
    let a = buffer(ex, a_host.len() * 2);
    let b = buffer(ex, b_host.len() * 2);
    let c = buffer(ex, c_len * 4);
    let mut got = vec![0f32; c_len];
    run(ex, &[
        Op::Write { buffer: a, offset: 0, data: bytes(&a_host) },
        Op::Write { buffer: b, offset: 0, data: bytes(&b_host) },
        Op::Write { buffer: c, offset: 0, data: bytes(&c_init) },
    ]);
    let op = Builtin::gemm(dtype, ta, tb, m as u64, n as u64, k as u64, f64::from(alpha), mat(a, off, lda), mat(b, off, ldb), f64::from(beta), mat(c, off, ldc));
    run(ex, &[Op::Builtin(&op), read_op(c, 0, &mut got)]);
    let op_a = |i: usize, l: usize| value(a_host[off + if ta { l + i * lda } else { i + l * lda }]);
    let op_b = |l: usize, j: usize| value(b_host[off + if tb { j + l * ldb } else { l + j * ldb }]);
    // Products of two 16-bit values are exact in f32 (11 + 11 or 8 + 8
    // significant bits); the k-term f32 sum errs by at most k u sum|a b| with
    // round-to-nearest, and tensor cores may truncate instead (2u per
    // addition); alpha and beta add two more roundings. So
    // |got - exact| <= (k + 2) eps (|alpha| sum|a b| + |beta c|), eps = 2^-23.
    let eps = f64::from(f32::EPSILON);
    let mut bad = Vec::new();
    for (idx, (&g, &c0)) in got.iter().zip(&c_init).enumerate() {
        let inside = idx >= off && (idx - off) % ldc < m && (idx - off) / ldc < n;
        if !inside {
            if g.to_bits() != c0.to_bits() {
                bad.push(format!("element {idx} outside C changed: {c0} -> {g}"));
            }
            continue;
        }
        let (i, j) = ((idx - off) % ldc, (idx - off) / ldc);
        let (mut sum, mut abs) = (0.0f64, 0.0f64);
        for l in 0..k {
            let p = op_a(i, l) * op_b(l, j);
            sum += p;
            abs += p.abs();
        }
        let c_term = if beta == 0.0 { 0.0 } else { f64::from(beta) * f64::from(c0) };
        let want = f64::from(alpha) * sum + c_term;
        let tol = (k as f64 + 2.0) * eps * (f64::from(alpha).abs() * abs + c_term.abs());
        let d = (f64::from(g) - want).abs();
        // A NaN distance (a NaN result) fails too.
        if d.is_nan() || d > tol {
            bad.push(format!("C({i},{j}) = {g}, want {want} (|diff| {d:e} > {tol:e})"));
        }
    }
    assert!(bad.is_empty(), "{dtype:?} {case:?}: {} bad elements, first: {:?}", bad.len(), &bad[..bad.len().min(5)]);
    for buf in [a, b, c] {
        ex.destroy_buffer(buf).expect("destroy");
    }
}

/// `full`: every size on every transpose pair; otherwise (the emulated kernel,
/// on a CPU device) the large sizes on one pair each.
fn gemm_16bit(ex: Executor, dtype: DType, full: bool, clean: fn(&Executor)) {
    assert!(
        ex.cooperative_matrix(dtype),
        "this device has no cooperative-matrix {dtype:?} GEMM (it runs on the GPU machine); the driver lists: {:?}",
        ex.cooperative_matrix_shapes()
    );
    let mut rng = Rng::new(if dtype == DType::BF16 { 97 } else { 89 });
    let c = |m, n, k, ta, tb, alpha, beta, pad, off| Case { m, n, k, ta, tb, alpha, beta, pad, off };
    let mut cases = Vec::new();
    // Sizes around the 256 x 128 x 32 block (and version 3's 128 x 128): 1,
    // block - 1, block, block + 1, odd primes; every transpose pair; both
    // load paths.
    let pairs = [(false, false), (false, true), (true, false), (true, true)];
    let sizes = [(1, 1, 1), (127, 128, 31), (128, 128, 32), (129, 129, 33), (61, 67, 71), (257, 131, 200), (384, 256, 512), (255, 127, 33)];
    for (s, &(m, n, k)) in sizes.iter().enumerate() {
        for (p, &(ta, tb)) in pairs.iter().enumerate() {
            if full || m * n * k < 1 << 20 || p == s % 4 {
                cases.push(c(m, n, k, ta, tb, 1.0, 0.0, 0, 0));
                cases.push(c(m, n, k, ta, tb, -0.75, 1.5, 3, 5));
            }
        }
    }
    // alpha = 0 and k = 0: C = beta C, A and B unread; beta = 0 with NaN in C.
    cases.push(c(70, 50, 40, false, false, 0.0, 2.0, 1, 1));
    cases.push(c(70, 50, 0, true, false, 1.0, -0.5, 0, 0));
    cases.push(c(33, 17, 300, false, true, 0.5, 0.0, 8, 8));
    for case in cases {
        gemm_case(&ex, dtype, case, &mut rng);
    }
    clean(&ex);
}

/// The validation layer must be silent, but for what a layer older than the
/// extensions cannot know. The Debian layer these tests load (1.3.239, here
/// and on the GPU machine) predates VK_KHR_cooperative_matrix (1.3.255) and
/// VK_KHR_shader_bfloat16 (1.4.311): it reports their feature structures
/// (sType 1000506000, 1000141000) as unknown at vkCreateDevice and their
/// SPIR-V capabilities and extensions as invalid when the module is made
/// (on the H100: "A SPIR-V Capability (Unhandled OpCapability) was
/// declared", "A SPIR-V Extension (SPV_KHR_cooperative_matrix) was
/// declared"), and then fails to run its own spirv-opt over the module to
/// apply the specialization constants (VUID-...-06719, "attempted to apply
/// specialization constants with spirv-opt but failed"): it can validate
/// nothing about these modules. Those messages, and only those, are let
/// through; every result is checked on the data above. All messages must
/// have been kept (the executor keeps the first 256: the layer reports
/// several messages for every cooperative-matrix module it sees, and 64, the
/// number kept before, is within reach of one test) so that none goes unread.
fn clean_but_for_unknown_extensions(ex: &Executor) {
    let count = ex.validation_message_count();
    let messages = ex.validation_messages();
    assert_eq!(count as usize, messages.len(), "more validation messages than were kept: {messages:#?}");
    let unknown = [
        "1000506000",
        "1000141000",
        "6022",
        "5116",
        "5118",
        "Unhandled OpCapability",
        "(SPV_KHR_cooperative_matrix) was declared",
        "(SPV_KHR_bfloat16) was declared",
        "attempted to apply specialization constants with spirv-opt but failed",
        // The layer's own warning at device creation (H100, 2026-12-07).
        "Device Extension VK_KHR_cooperative_matrix is not supported by this layer",
        "Device Extension VK_KHR_shader_bfloat16 is not supported by this layer",
    ];
    let other: Vec<&String> = messages.iter().filter(|m| !unknown.iter().any(|u| m.contains(u))).collect();
    assert!(other.is_empty(), "validation messages: {other:#?}");
}

/// An executor that uses the device's cooperative matrices (on, whatever
/// GPUASYNC_COOPERATIVE_MATRIX says: the GPU tests run the real kernel).
fn on_the_device() -> Executor {
    executor_with(ExecutorDesc { cooperative_matrix: CooperativeMatrix::On, ..Default::default() })
}

#[test]
#[ignore = "needs VK_KHR_cooperative_matrix (run on the GPU machine: scripts/gpu-run.sh tests)"]
fn gemm_f16_matches_an_f64_reference() {
    gemm_16bit(on_the_device(), DType::F16, true, clean_but_for_unknown_extensions);
}

#[test]
#[ignore = "needs VK_KHR_cooperative_matrix and VK_KHR_shader_bfloat16 (run on the GPU machine)"]
fn gemm_bf16_matches_an_f64_reference() {
    let ex = on_the_device();
    if !ex.cooperative_matrix(DType::BF16) && ex.cooperative_matrix(DType::F16) {
        // A device with fp16 cooperative matrices but not bf16 ones (no
        // VK_KHR_shader_bfloat16, or no bf16 at the kernel's 16 x 16 x 16):
        // the GEMM must then say so, not run.
        let a = buffer(&ex, 256);
        let op = Builtin::gemm(DType::BF16, false, false, 4, 4, 4, 1.0, mat(a, 0, 4), mat(a, 0, 4), 0.0, mat(a, 0, 4));
        let e = expect_err(ex.run_builtin(&op, PLAIN), ErrorKind::Unsupported);
        assert!(e.message.contains("BF16"), "{}", e.message);
        eprintln!("bf16 GEMM NOT RUN on this device (Unsupported, as it should be): {}; shapes: {:?}", e.message, ex.cooperative_matrix_shapes());
        clean_but_for_unknown_extensions(&ex);
        return;
    }
    gemm_16bit(ex, DType::BF16, true, clean_but_for_unknown_extensions);
}

fn emulating() -> Executor {
    executor_with(ExecutorDesc { cooperative_matrix: CooperativeMatrix::Emulate, ..Default::default() })
}

/// The kernel's tiling, edges, transposes, load paths and epilogue on every
/// device, with plain arithmetic where the matrix units would multiply (its
/// products are exact as theirs are, its sums round to nearest).
#[test]
fn gemm_f16_emulated_matches_an_f64_reference() {
    gemm_16bit(emulating(), DType::F16, false, assert_clean);
}

#[test]
fn gemm_bf16_emulated_matches_an_f64_reference() {
    gemm_16bit(emulating(), DType::BF16, false, assert_clean);
}

/// The 16-bit GEMM keeps its matrices in registers: in no shipped module does
/// a function-memory variable hold an array of cooperative matrices. Such an
/// array, indexed at run time by a loop that did not unroll, is what made the
/// NVIDIA compiler keep every invocation's 64 accumulator floats in local
/// memory (256 bytes of it, 31 TFLOP/s on an H100; docs/kernels.md, tuning
/// log); glslc's optimizer turns the arrays into plain values only where every
/// loop over them unrolls.
#[test]
fn gemm_coop_modules_keep_their_matrices_out_of_memory() {
    const OP_TYPE_ARRAY: u32 = 28;
    const OP_TYPE_POINTER: u32 = 32;
    const OP_VARIABLE: u32 = 59;
    const OP_TYPE_COOPERATIVE_MATRIX_KHR: u32 = 4456;
    const STORAGE_FUNCTION: u32 = 7;
    for module in ["f16_nn", "f16_nt", "f16_tn", "f16_tt", "bf16_nn", "bf16_nt", "bf16_tn", "bf16_tt"] {
        let words = spirv(&format!("gemm_coop_{module}"));
        // Ids of cooperative-matrix types, of arrays (of arrays) of them, of
        // function-memory pointers to such arrays; variables of those pointers.
        // (A variable of one matrix is a value the compiler keeps in registers.)
        let mut matrices = std::collections::HashSet::new();
        let mut arrays = std::collections::HashSet::new();
        let mut pointers = std::collections::HashSet::new();
        let mut at = 5;
        while at < words.len() {
            let count = (words[at] >> 16) as usize;
            assert!(count > 0 && at + count <= words.len(), "{module}: malformed at word {at}");
            let ins = &words[at..at + count];
            match ins[0] & 0xffff {
                OP_TYPE_COOPERATIVE_MATRIX_KHR => {
                    matrices.insert(ins[1]);
                }
                OP_TYPE_ARRAY if matrices.contains(&ins[2]) || arrays.contains(&ins[2]) => {
                    arrays.insert(ins[1]);
                }
                OP_TYPE_POINTER if ins[2] == STORAGE_FUNCTION && arrays.contains(&ins[3]) => {
                    pointers.insert(ins[1]);
                }
                OP_VARIABLE if pointers.contains(&ins[1]) => {
                    panic!("{module}: variable %{} is an array of cooperative matrices in function memory", ins[2]);
                }
                _ => {}
            }
            at += count;
        }
        assert!(!matrices.is_empty(), "{module}: no cooperative-matrix types found");
    }
}
