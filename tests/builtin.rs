//! Built-in kernels (src/builtin.rs; spirv/blas1.comp, reduce.comp, gemm.comp):
//! elementwise ops, reductions and GEMM in f32 and f64, each output element
//! checked against an independent host reference computed in higher precision
//! (exact or double-double), with tolerances derived from the arithmetic the
//! kernels do; elements an op must not touch are checked bit for bit. Then
//! ordering (long dependent chains, reductions sharing their scratch buffer,
//! built-ins in replayed batches) and argument errors.
//!
//! Tolerances are written in terms of `eps` = machine epsilon (2^-23 for f32,
//! 2^-52 for f64), which is twice the unit roundoff u of round-to-nearest: one
//! correctly rounded operation has relative error <= u = eps/2.

mod common;
use common::*;
use gpuasync::{BufferId, Builtin, BuiltinKind, DType, ErrorKind, Executor, GemmTile, Op, Operand, PushUpdate};
use std::ops::{Add, Mul};

// ---- element types ------------------------------------------------------------

trait Elem: Copy + PartialEq + std::fmt::Debug + Add<Output = Self> + Mul<Output = Self> + 'static {
    const DTYPE: DType;
    /// Machine epsilon (2 u).
    const EPS: f64;
    /// Smallest positive normal number.
    const TINY: f64;
    fn to64(self) -> f64;
    /// Round to this type (to nearest).
    fn of(v: f64) -> Self;
    /// Uniform in [-1, 1) with the type's full precision; never zero.
    fn uniform(rng: &mut Rng) -> Self;
    fn bits(self) -> u64;
}

impl Elem for f32 {
    const DTYPE: DType = DType::F32;
    const EPS: f64 = f32::EPSILON as f64;
    const TINY: f64 = f32::MIN_POSITIVE as f64;
    fn to64(self) -> f64 {
        f64::from(self)
    }
    fn of(v: f64) -> Self {
        v as f32
    }
    fn uniform(rng: &mut Rng) -> Self {
        loop {
            let v = rng.f32();
            if v != 0.0 {
                return v;
            }
        }
    }
    fn bits(self) -> u64 {
        u64::from(self.to_bits())
    }
}

impl Elem for f64 {
    const DTYPE: DType = DType::F64;
    const EPS: f64 = f64::EPSILON;
    const TINY: f64 = f64::MIN_POSITIVE;
    fn to64(self) -> f64 {
        self
    }
    fn of(v: f64) -> Self {
        v
    }
    fn uniform(rng: &mut Rng) -> Self {
        loop {
            // 53 random bits: k / 2^52 - 1 for k in [0, 2^53).
            let v = (rng.next_u64() >> 11) as f64 * 2f64.powi(-52) - 1.0;
            if v != 0.0 {
                return v;
            }
        }
    }
    fn bits(self) -> u64 {
        self.to_bits()
    }
}

fn rand_vec<T: Elem>(rng: &mut Rng, n: usize) -> Vec<T> {
    (0..n).map(|_| T::uniform(rng)).collect()
}

fn nan<T: Elem>() -> T {
    T::of(f64::NAN)
}

// ---- exact and double-double host arithmetic -----------------------------------

/// a + b = s + e exactly (Knuth's TwoSum).
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// a * b = p + e exactly (barring underflow), with the host's fused multiply-add.
fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    (p, a.mul_add(b, -p))
}

/// A double-double number hi + lo (|lo| <= ulp(hi)/2): about 106 bits, far
/// more than any tolerance below needs (their relative sizes are >= 2^-60).
#[derive(Clone, Copy, Debug, Default)]
struct Dd {
    hi: f64,
    lo: f64,
}

impl Dd {
    fn new(v: f64) -> Dd {
        Dd { hi: v, lo: 0.0 }
    }
    fn norm(hi: f64, lo: f64) -> Dd {
        let (hi, lo) = two_sum(hi, lo);
        Dd { hi, lo }
    }
    fn prod(a: f64, b: f64) -> Dd {
        let (p, e) = two_prod(a, b);
        Dd::norm(p, e)
    }
    fn add(self, o: Dd) -> Dd {
        let (s, e) = two_sum(self.hi, o.hi);
        Dd::norm(s, e + self.lo + o.lo)
    }
    fn scale(self, a: f64) -> Dd {
        let (p, e) = two_prod(a, self.hi);
        Dd::norm(p, e + a * self.lo)
    }
    /// |got - self|, with a relative error of about 2^-53 of the distance
    /// itself: got - hi is exact when the two are close (Sterbenz), and a
    /// far-off (or NaN) result gives a large (or NaN) distance anyway.
    fn dist(self, got: f64) -> f64 {
        ((got - self.hi) - self.lo).abs()
    }
}

/// An exact sum of f64 values (Shewchuk's non-overlapping expansion, as in
/// Python's math.fsum): the reference for reductions, where heavy cancellation
/// would defeat even double-double accumulation over 300k terms.
#[derive(Clone, Debug, Default)]
struct ExactSum {
    partials: Vec<f64>,
}

impl ExactSum {
    fn add(&mut self, mut x: f64) {
        let mut i = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        self.partials.truncate(i);
        self.partials.push(x);
    }
    /// The sum, faithfully rounded (the partials are non-overlapping and
    /// increasing: adding from the top until a rounding happens).
    fn value(&self) -> f64 {
        let mut it = self.partials.iter().rev();
        let Some(&first) = it.next() else { return 0.0 };
        let mut hi = first;
        for &y in it {
            let s = hi + y;
            let lo = y - (s - hi);
            hi = s;
            if lo != 0.0 {
                break;
            }
        }
        hi
    }
    /// |got - sum|, computed exactly and then rounded.
    fn dist(&self, got: f64) -> f64 {
        if !got.is_finite() {
            return f64::NAN;
        }
        let mut e = self.clone();
        e.add(-got);
        e.value().abs()
    }
}

// ---- buffers, ops, checks --------------------------------------------------------

/// Elements after every operand that no op may touch.
const GUARD: usize = 5;

fn new_buf<T: Elem>(ex: &Executor, len: usize) -> BufferId {
    buffer(ex, len.max(1) * std::mem::size_of::<T>())
}

fn write<T: Elem>(buffer: BufferId, data: &[T]) -> Op<'_> {
    Op::Write { buffer, offset: 0, data: bytes(data) }
}

fn at(buffer: BufferId, offset: usize) -> Operand {
    Operand { buffer, offset: offset as u64, ld: 0 }
}

fn mat(buffer: BufferId, offset: usize, ld: usize) -> Operand {
    Operand { buffer, offset: offset as u64, ld: ld as u64 }
}

#[track_caller]
fn run(ex: &Executor, ops: &[Op<'_>]) {
    let t = ex.submit(ops, PLAIN).expect("submit");
    assert!(ex.wait(t, u64::MAX).expect("wait"));
}

/// A buffer with its initial contents and, after the submission, what was read back.
struct Region<T> {
    buf: BufferId,
    init: Vec<T>,
    got: Vec<T>,
}

impl<T: Elem> Region<T> {
    fn new(ex: &Executor, init: Vec<T>) -> Self {
        let buf = new_buf::<T>(ex, init.len());
        let got = vec![T::of(-7777.0); init.len()];
        Region { buf, init, got }
    }
    fn random(ex: &Executor, rng: &mut Rng, len: usize) -> Self {
        Self::new(ex, rand_vec(rng, len))
    }
    fn write(&self) -> Op<'_> {
        write(self.buf, &self.init)
    }
    fn read(&mut self) -> Op<'static> {
        read_op(self.buf, 0, &mut self.got)
    }
}

/// Check `got` element by element: where `want(i)` is `Some((reference,
/// tolerance))` the distance must be <= the tolerance (0: exactly equal; NaN
/// never passes); elsewhere the element must be bit for bit `init[i]`.
#[track_caller]
fn check<T: Elem>(what: &str, init: &[T], got: &[T], want: impl Fn(usize) -> Option<(Dd, f64)>) {
    assert_eq!(init.len(), got.len(), "{what}: length");
    let mut bad = 0usize;
    let mut first = None;
    for i in 0..got.len() {
        let msg = match want(i) {
            Some((r, tol)) => {
                let d = r.dist(got[i].to64());
                // A NaN distance (a NaN result) fails.
                if d <= tol {
                    None
                } else {
                    Some(format!("{:?}, expected {:e} (+{:e}), off by {d:e} > tolerance {tol:e}", got[i], r.hi, r.lo))
                }
            }
            None => (got[i].bits() != init[i].bits())
                .then(|| format!("{:?}, but it is outside the operand and was {:?} before", got[i], init[i])),
        };
        if let Some(msg) = msg {
            bad += 1;
            first.get_or_insert((i, msg));
        }
    }
    if let Some((i, msg)) = first {
        panic!("{what}: element {i} is {msg} ({bad} of {} elements wrong)", got.len());
    }
}

/// `want` on [off, off + len) from a slice of references; outside unchanged.
fn vec_want(off: usize, want: &[(Dd, f64)]) -> impl Fn(usize) -> Option<(Dd, f64)> + '_ {
    move |i| (i >= off && i < off + want.len()).then(|| want[i - off])
}

// ---- elementwise ------------------------------------------------------------------

const SIZES_L1: [usize; 9] = [0, 1, 255, 256, 257, 1023, 1025, 4097, 100_003];

/// fill, copy (also onto itself), scale (out of place and in place), axpy
/// (out of place and in place), add (also a + a through one operand), mul
/// (also c = c * c), for every size; one submission per size, each op with its
/// own output buffer and offset.
///
/// Tolerances: fill and copy move bits: exact. scale, add, mul are one
/// correctly rounded operation: |err| <= u |ref| <= eps |ref| (1 ulp). axpy
/// is alpha * a + b with one or two roundings (the compiler may contract it to
/// an fma): |err| <= u |alpha a| + u (|alpha a| + |b|)(1 + u) <= 2 eps (|alpha a| + |b|).
/// 2 a is exact. TINY covers nothing in practice (no result here is subnormal).
fn elementwise<T: Elem>(seed: u64) {
    let ex = executor();
    let mut rng = Rng::new(seed);
    let eps = T::EPS;
    for (case, &n) in SIZES_L1.iter().enumerate() {
        // Offsets: all 0, all multiples of 4 (the kernels' 4-wide path), or
        // random (mostly the scalar path), by size.
        let off = |rng: &mut Rng| match case % 3 {
            0 => 0,
            1 => 4 * (1 + (rng.next_u32() % 3) as usize),
            _ => 1 + (rng.next_u32() % 11) as usize,
        };
        let alpha = T::of(3.0 * T::uniform(&mut rng).to64()).to64();
        let (oa, ob) = (off(&mut rng), off(&mut rng));
        let ra = Region::<T>::random(&ex, &mut rng, oa + n + GUARD);
        let rb = Region::<T>::random(&ex, &mut rng, ob + n + GUARD);
        let a: Vec<f64> = ra.init[oa..oa + n].iter().map(|v| v.to64()).collect();
        let b: Vec<f64> = rb.init[ob..ob + n].iter().map(|v| v.to64()).collect();

        struct Out<T> {
            name: &'static str,
            region: Region<T>,
            off: usize,
            op: Builtin,
            want: Vec<(Dd, f64)>,
        }
        let mut outs: Vec<Out<T>> = Vec::new();
        let dt = T::DTYPE;
        let nn = n as u64;
        let (pa, pb) = (at(ra.buf, oa), at(rb.buf, ob));
        let tiny = T::TINY;
        let scale_ref = |x: f64| (Dd::prod(alpha, x), eps * (alpha * x).abs() + tiny);
        let axpy_ref = |x: f64, y: f64| (Dd::prod(alpha, x).add(Dd::new(y)), 2.0 * eps * ((alpha * x).abs() + y.abs()) + tiny);
        let mut add_out = |rng: &mut Rng, name, make: &dyn Fn(Operand) -> Builtin, want: &dyn Fn(usize, f64) -> (Dd, f64)| {
            let o = off(rng);
            let region = Region::<T>::random(&ex, rng, o + n + GUARD);
            let c = at(region.buf, o);
            let own: Vec<f64> = region.init[o..o + n].iter().map(|v| v.to64()).collect();
            let want = (0..n).map(|i| want(i, own[i])).collect();
            outs.push(Out { name, op: make(c), region, off: o, want });
        };
        add_out(&mut rng, "fill", &|c| Builtin::fill(dt, nn, alpha, c), &|_, _| (Dd::new(alpha), 0.0));
        add_out(&mut rng, "copy", &|c| Builtin::copy(dt, nn, pa, c), &|i, _| (Dd::new(a[i]), 0.0));
        add_out(&mut rng, "scale", &|c| Builtin::scale(dt, nn, alpha, pa, c), &|i, _| scale_ref(a[i]));
        add_out(&mut rng, "scale in place", &|c| Builtin::scale(dt, nn, alpha, c, c), &|_, own| scale_ref(own));
        add_out(&mut rng, "axpy", &|c| Builtin::axpy(dt, nn, alpha, pa, pb, c), &|i, _| axpy_ref(a[i], b[i]));
        add_out(&mut rng, "axpy in place", &|c| Builtin::axpy(dt, nn, alpha, pa, c, c), &|i, own| axpy_ref(a[i], own));
        add_out(&mut rng, "add", &|c| Builtin::add(dt, nn, pa, pb, c), &|i, _| {
            let (s, e) = two_sum(a[i], b[i]);
            (Dd::norm(s, e), eps * s.abs() + tiny)
        });
        add_out(&mut rng, "add a + a", &|c| Builtin::add(dt, nn, pa, pa, c), &|i, _| (Dd::new(2.0 * a[i]), 0.0));
        add_out(&mut rng, "mul", &|c| Builtin::mul(dt, nn, pa, pb, c), &|i, _| {
            (Dd::prod(a[i], b[i]), eps * (a[i] * b[i]).abs() + tiny)
        });
        // Both inputs the output itself; and a copy onto itself (no change).
        add_out(&mut rng, "mul in place c = c c", &|c| Builtin::mul(dt, nn, c, c, c), &|_, own| {
            (Dd::prod(own, own), eps * own * own + tiny)
        });
        add_out(&mut rng, "copy onto itself", &|c| Builtin::copy(dt, nn, c, c), &|_, own| (Dd::new(own), 0.0));

        let reads: Vec<Op<'static>> = outs.iter_mut().map(|o| o.region.read()).collect();
        let mut ops = vec![ra.write(), rb.write()];
        ops.extend(outs.iter().map(|o| o.region.write()));
        ops.extend(outs.iter().map(|o| Op::Builtin(&o.op)));
        ops.extend(reads);
        run(&ex, &ops);
        drop(ops);
        for o in &outs {
            check(&format!("{dt:?} {} n = {n} offset {}", o.name, o.off), &o.region.init, &o.region.got, vec_want(o.off, &o.want));
        }
        for o in &outs {
            ex.destroy_buffer(o.region.buf).unwrap();
        }
        ex.destroy_buffer(ra.buf).unwrap();
        ex.destroy_buffer(rb.buf).unwrap();
    }
    assert_clean(&ex);
}

#[test]
fn elementwise_f32() {
    elementwise::<f32>(0xE1E3);
}

#[test]
fn elementwise_f64() {
    elementwise::<f64>(0xE1E4);
}

// ---- reductions ----------------------------------------------------------------------

const SIZES_RED: [usize; 10] = [0, 1, 255, 256, 257, 1023, 1024, 1025, 262_145, 300_007];

/// The longest chain of dependent plain additions through which one element's
/// contribution (or rounding error) passes in spirv/reduce.comp: its thread's
/// grid-stride loop (about n / stride elements, stride = 256 * parts, parts =
/// min(ceil(n / 1024), 1024) workgroups), the 256-thread tree (8 levels), the
/// second pass's per-thread loop over records (ceil(parts / 256)) and its
/// tree (8 levels), and the final combination, plus 2 to spare.
fn reduction_depth(n: usize) -> f64 {
    let parts = n.div_ceil(1024).clamp(1, 1024);
    // Elements a thread takes: whole 4-vectors (when the offsets allow) and
    // one scalar of the tail, or scalars only; either way at most this many.
    let per_thread = 4 * n.div_ceil(4 * parts * 256) + 1;
    (per_thread + 8 + parts.div_ceil(256) + 8 + 1 + 2) as f64
}

/// Tolerance of the compensated sum and dot (Sum2 / Dot2 of Ogita, Rump and
/// Oishi), from the structure of the kernel: with D = `reduction_depth(n)`,
/// every TwoSum error e_j satisfies |e_j| <= u |t_j| for its partial sum
/// t_j, and each term is part of at most D partial sums, so sum |e_j| <= u D
/// sum |x_i| (for dot, the TwoProduct errors add u sum |x_i y_i| more).
/// The errors are summed in plain arithmetic along chains of at most D
/// additions: error <= D u * (D + 1) u sum|x|; then the final a0 + a1 is one
/// rounding of (nearly) the exact result. Total:
///     |result - S| <= u |S| + (D + 1)^2 u^2 sum|x|  <=  eps |S| + 2 (D eps)^2 sum|x|
/// (dot: sum|x_i y_i| in place of sum|x|), plus n * TINY against underflow in
/// the error terms (none happens with these data). A naive f32 sum of 300k
/// terms has errors of order sqrt(n) u sum|x|, 10^5 times larger than the
/// second-order term; `cancelling_sums` checks that naive summation fails it.
fn sum_tolerance<T: Elem>(n: usize, s: f64, abs_sum: f64) -> f64 {
    let d = reduction_depth(n) * T::EPS;
    T::EPS * s.abs() + 2.0 * d * d * abs_sum + n as f64 * T::TINY
}

/// Tolerance of nrm2 (Blue's algorithm with plain per-thread sums of squares):
/// each square is one rounding (u relative), all terms are nonnegative, so the
/// sum along chains of at most D additions has relative error <= (D + 1) u;
/// scaling by powers of two is exact; the square root halves the relative
/// error and adds one rounding; combining two accumulators (abig with amed,
/// or amed with asml via hi * sqrt(1 + (lo/hi)^2)) and the final division by
/// the scale add at most ~6 more roundings (sqrt and divide may be 2.5 ulp on
/// some GPUs: counted as 3 each). Total <= ((D + 1)/2 + 1 + 10) u
/// <= (D / 2 + 8) eps relative.
fn nrm2_tolerance<T: Elem>(n: usize, r: f64) -> f64 {
    (reduction_depth(n) / 2.0 + 8.0) * T::EPS * r + T::TINY
}

/// Exact sum of `x` and sum |x|.
fn sum_ref(x: &[f64]) -> (ExactSum, f64) {
    let mut s = ExactSum::default();
    for &v in x {
        s.add(v);
    }
    (s, x.iter().map(|v| v.abs()).sum())
}

/// Exact dot product (each product split exactly by TwoProduct) and sum |x y|.
fn dot_ref(x: &[f64], y: &[f64]) -> (ExactSum, f64) {
    let mut s = ExactSum::default();
    for (&a, &b) in x.iter().zip(y) {
        let (p, e) = two_prod(a, b);
        s.add(p);
        s.add(e);
    }
    (s, x.iter().zip(y).map(|(a, b)| (a * b).abs()).sum())
}

/// ||x||_2 as a double-double: x scaled by a power of two (exact; only
/// contributions below 2^-1000 of the largest could be lost), its squares
/// summed exactly, the square root refined by one Newton step.
fn nrm2_ref(x: &[f64]) -> Dd {
    let max = x.iter().fold(0f64, |m, v| m.max(v.abs()));
    if max == 0.0 {
        return Dd::default();
    }
    let e = max.log2().floor() as i32;
    let down = 2f64.powi(-e);
    let mut s = ExactSum::default();
    for &v in x {
        let (p, q) = two_prod(v * down, v * down);
        s.add(p);
        s.add(q);
    }
    let hi = s.value();
    let mut rest = s.clone();
    rest.add(-hi);
    let lo = rest.value();
    let r = hi.sqrt();
    // sqrt(hi + lo) = r + (hi + lo - r^2) / (2 r) + O(...); r^2 - hi by fma.
    let corr = (lo - r.mul_add(r, -hi)) / (2.0 * r);
    let up = 2f64.powi(e);
    Dd::norm(r * up, corr * up)
}

/// max |x_i|, NaN if any x_i is NaN.
fn amax_ref(x: &[f64]) -> f64 {
    if x.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    x.iter().fold(0f64, |m, v| m.max(v.abs()))
}

#[track_caller]
fn check_amax<T: Elem>(what: &str, got: T, want: f64) {
    if want.is_nan() {
        assert!(got.to64().is_nan(), "{what}: amax is {got:?}, expected NaN");
    } else {
        assert_eq!(got.bits(), T::of(want).bits(), "{what}: amax is {got:?}, expected {want:e} (exactly)");
    }
}

/// sum, dot, nrm2 and amax of one vector (dot with a second one) for every
/// size, the four in one submission (they share the scratch buffer), results
/// at odd slots of a result buffer prefilled with garbage: n = 0 must write 0.
fn reductions<T: Elem>(seed: u64) {
    let ex = executor();
    let mut rng = Rng::new(seed);
    for (case, &n) in SIZES_RED.iter().enumerate() {
        // Offsets: zero, multiples of 4 (4-wide loads), or not, by size.
        let (ox, oy) = [(0, 0), (4, 8), (3, 5)][case % 3];
        let rx = Region::<T>::random(&ex, &mut rng, ox + n + GUARD);
        let ry = Region::<T>::random(&ex, &mut rng, oy + n + GUARD);
        let x: Vec<f64> = rx.init[ox..ox + n].iter().map(|v| v.to64()).collect();
        let y: Vec<f64> = ry.init[oy..oy + n].iter().map(|v| v.to64()).collect();
        let garbage: Vec<T> = (0..9).map(|i| T::of(if i % 2 == 1 { 12345.5 } else { -1.0 - i as f64 })).collect();
        let mut rr = Region::new(&ex, garbage);
        let dt = T::DTYPE;
        let nn = n as u64;
        let (px, py) = (at(rx.buf, ox), at(ry.buf, oy));
        let ops_b = [
            Builtin::reduce(BuiltinKind::Sum, dt, nn, px, px, at(rr.buf, 1)),
            Builtin::reduce(BuiltinKind::Dot, dt, nn, px, py, at(rr.buf, 3)),
            Builtin::reduce(BuiltinKind::Nrm2, dt, nn, px, px, at(rr.buf, 5)),
            Builtin::reduce(BuiltinKind::Amax, dt, nn, px, px, at(rr.buf, 7)),
        ];
        let rd = rr.read();
        let mut ops = vec![rx.write(), ry.write(), rr.write()];
        ops.extend(ops_b.iter().map(Op::Builtin));
        ops.push(rd);
        run(&ex, &ops);
        drop(ops);

        let what = |k: &str| format!("{dt:?} {k} n = {n}");
        let (s, abs_s) = sum_ref(&x);
        let (d, abs_d) = dot_ref(&x, &y);
        let nrm = nrm2_ref(&x);
        // Sum and dot: the distance to the exact value, exactly.
        let got = &rr.got;
        let (ds, dd) = (s.dist(got[1].to64()), d.dist(got[3].to64()));
        let (ts, td) = (sum_tolerance::<T>(n, s.value(), abs_s), sum_tolerance::<T>(n, d.value(), abs_d));
        assert!(ds <= ts, "{}: {:?}, exact {:e}, off by {ds:e} > {ts:e}", what("sum"), got[1], s.value());
        assert!(dd <= td, "{}: {:?}, exact {:e}, off by {dd:e} > {td:e}", what("dot"), got[3], d.value());
        check_amax(&what("amax"), got[7], amax_ref(&x));
        // nrm2, and the slots that must be untouched (1, 3, 7 were checked above).
        let nrm_want = |i: usize| match i {
            1 | 3 | 7 => Some((Dd::new(got[i].to64()), 0.0)),
            5 => Some((nrm, nrm2_tolerance::<T>(n, nrm.hi))),
            _ => None,
        };
        check(&what("results (nrm2 at 5)"), &rr.init, &rr.got, nrm_want);
        if n == 0 {
            assert!([1, 3, 5, 7].iter().all(|&i| got[i].to64() == 0.0), "{}: n = 0 must write 0: {got:?}", what("all"));
        }
        for b in [rx.buf, ry.buf, rr.buf] {
            ex.destroy_buffer(b).unwrap();
        }
    }
    assert_clean(&ex);
}

#[test]
fn reductions_f32() {
    reductions::<f32>(0x5EED_0032);
}

#[test]
fn reductions_f64() {
    reductions::<f64>(0x5EED_0064);
}

/// Random permutation (Fisher-Yates).
fn shuffle<V>(rng: &mut Rng, v: &mut [V]) {
    for i in (1..v.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// Sums and dots whose terms cancel heavily: pairs +-v of size `big` hide
/// 20,003 terms in [-1, 1). The naive sum in T (checked here) is far outside
/// the tolerance; the compensated kernels must be within it.
fn cancelling_sums<T: Elem>(seed: u64, big: f64) {
    let ex = executor();
    let mut rng = Rng::new(seed);
    let pairs = 40_000;
    let n = 2 * pairs + 20_003;
    let mut xs: Vec<T> = Vec::with_capacity(n);
    let mut xd: Vec<(T, T)> = Vec::with_capacity(n);
    for _ in 0..pairs {
        let v = T::of(big * T::uniform(&mut rng).to64());
        xs.push(v);
        xs.push(T::of(-v.to64()));
        let w = T::of(1.0 + T::uniform(&mut rng).to64().abs());
        xd.push((v, w));
        xd.push((v, T::of(-w.to64())));
    }
    for _ in 2 * pairs..n {
        xs.push(T::uniform(&mut rng));
        xd.push((T::uniform(&mut rng), T::uniform(&mut rng)));
    }
    shuffle(&mut rng, &mut xs);
    shuffle(&mut rng, &mut xd);
    let (dx, dy): (Vec<T>, Vec<T>) = xd.iter().copied().unzip();
    let (bs, bx, by) = (new_buf::<T>(&ex, n), new_buf::<T>(&ex, n), new_buf::<T>(&ex, n));
    let mut rr = Region::new(&ex, vec![nan::<T>(); 2]);
    let dt = T::DTYPE;
    let nn = n as u64;
    let b = [
        Builtin::reduce(BuiltinKind::Sum, dt, nn, bs, bs, at(rr.buf, 0)),
        Builtin::reduce(BuiltinKind::Dot, dt, nn, bx, by, at(rr.buf, 1)),
    ];
    let rd = rr.read();
    run(&ex, &[write(bs, &xs), write(bx, &dx), write(by, &dy), Op::Builtin(&b[0]), Op::Builtin(&b[1]), rd]);

    let x64: Vec<f64> = xs.iter().map(|v| v.to64()).collect();
    let (s, abs_s) = sum_ref(&x64);
    let tol = sum_tolerance::<T>(n, s.value(), abs_s);
    let naive = xs.iter().fold(T::of(0.0), |acc, &v| acc + v);
    assert!(
        s.dist(naive.to64()) > 10.0 * tol,
        "{dt:?}: the data do not defeat naive summation (naive {naive:?}, exact {:e}, tolerance {tol:e})",
        s.value()
    );
    let d = s.dist(rr.got[0].to64());
    assert!(d <= tol, "{dt:?} cancelling sum: {:?}, exact {:e}, off by {d:e} > {tol:e} (naive: {naive:?})", rr.got[0], s.value());

    let (dxs, dys): (Vec<f64>, Vec<f64>) = xd.iter().map(|(a, b)| (a.to64(), b.to64())).unzip();
    let (p, abs_p) = dot_ref(&dxs, &dys);
    let tol = sum_tolerance::<T>(n, p.value(), abs_p);
    let naive = xd.iter().fold(T::of(0.0), |acc, &(a, b)| acc + a * b);
    assert!(p.dist(naive.to64()) > 10.0 * tol, "{dt:?}: the data do not defeat a naive dot (naive {naive:?})");
    let d = p.dist(rr.got[1].to64());
    assert!(d <= tol, "{dt:?} cancelling dot: {:?}, exact {:e}, off by {d:e} > {tol:e} (naive: {naive:?})", rr.got[1], p.value());
    assert_clean(&ex);
}

#[test]
fn cancelling_sums_f32() {
    cancelling_sums::<f32>(31, 2f64.powi(20));
}

#[test]
fn cancelling_sums_f64() {
    cancelling_sums::<f64>(32, 2f64.powi(40));
}

/// `count` values of magnitude in [base/2, base) with random signs and mantissas.
fn magnitudes<T: Elem>(rng: &mut Rng, classes: &[(f64, usize)]) -> Vec<T> {
    let mut v = Vec::new();
    for &(base, count) in classes {
        for _ in 0..count {
            let r = T::uniform(rng).to64();
            v.push(T::of(base * (0.5 + 0.5 * r.abs()).copysign(r)));
        }
    }
    shuffle(rng, &mut v);
    v
}

/// nrm2 where naive squaring overflows (huge) or underflows (tiny), and with
/// values spread over Blue's three accumulators (thresholds TSML, TBIG: 2^-63
/// and 2^52 for f32, 2^-511 and 2^486 for f64), so every combination in
/// `finish` runs; also amax of the same vectors.
fn nrm2_extremes<T: Elem>(seed: u64, huge: f64, tiny: f64, tsml: f64, tbig: f64) {
    let ex = executor();
    let mut rng = Rng::new(seed);
    let n = 20_000;
    let cases: Vec<(&str, Vec<(f64, usize)>)> = vec![
        ("huge", vec![(huge, n)]),
        ("tiny", vec![(tiny, n)]),
        ("one huge", vec![(huge, 1)]),
        ("one tiny", vec![(tiny, 1)]),
        ("around TBIG (abig + amed)", vec![(tbig * 4.0, n / 2), (tbig / 2.0, n / 2)]),
        ("around TSML (amed + asml, comparable)", vec![(tsml * 3.0, n / 2), (tsml / 3.0, n / 2)]),
        ("asml dominates amed", vec![(tsml * 1.5, 3), (tsml / 2.0, n)]),
        ("all three ranges", vec![(huge, 10), (1.0, n), (tiny, n)]),
        ("mid and tiny", vec![(1.0, 100), (tiny, n)]),
    ];
    let data: Vec<Vec<T>> = cases.iter().map(|(_, c)| magnitudes::<T>(&mut rng, c)).collect();
    let bufs: Vec<BufferId> = data.iter().map(|d| new_buf::<T>(&ex, d.len())).collect();
    let mut rr = Region::new(&ex, vec![nan::<T>(); 2 * cases.len()]);
    let dt = T::DTYPE;
    let b: Vec<Builtin> = (0..cases.len())
        .flat_map(|i| {
            let len = data[i].len() as u64;
            [
                Builtin::reduce(BuiltinKind::Nrm2, dt, len, bufs[i], bufs[i], at(rr.buf, 2 * i)),
                Builtin::reduce(BuiltinKind::Amax, dt, len, bufs[i], bufs[i], at(rr.buf, 2 * i + 1)),
            ]
        })
        .collect();
    let mut ops: Vec<Op> = data.iter().zip(&bufs).map(|(d, &buf)| write(buf, d)).collect();
    ops.extend(b.iter().map(Op::Builtin));
    ops.push(rr.read());
    run(&ex, &ops);
    drop(ops);
    for (i, (name, _)) in cases.iter().enumerate() {
        let x: Vec<f64> = data[i].iter().map(|v| v.to64()).collect();
        let r = nrm2_ref(&x);
        let got = rr.got[2 * i];
        let tol = nrm2_tolerance::<T>(x.len(), r.hi);
        let d = r.dist(got.to64());
        assert!(d <= tol, "{dt:?} nrm2 {name}: {got:?}, expected {:e}, off by {d:e} > {tol:e}", r.hi);
        check_amax(&format!("{dt:?} amax {name}"), rr.got[2 * i + 1], amax_ref(&x));
        if *name == "huge" {
            let naive = data[i].iter().fold(T::of(0.0), |acc, &v| acc + v * v);
            assert!(naive.to64().is_infinite(), "{dt:?}: naive squares of the huge values do not overflow");
        }
        if *name == "tiny" {
            let naive = data[i].iter().fold(T::of(0.0), |acc, &v| acc + v * v).to64().sqrt();
            assert!((naive - r.hi).abs() > 0.5 * r.hi, "{dt:?}: naive squares of the tiny values do not underflow");
        }
    }
    assert_clean(&ex);
}

#[test]
fn nrm2_extremes_f32() {
    nrm2_extremes::<f32>(41, 1e30, 1e-30, 2f64.powi(-63), 2f64.powi(52));
}

#[test]
fn nrm2_extremes_f64() {
    nrm2_extremes::<f64>(42, 1e300, 1e-300, 2f64.powi(-511), 2f64.powi(486));
}

/// amax: a NaN anywhere gives NaN (first, middle, last element, vectors that
/// fill one or many workgroups); a negative element with the largest magnitude
/// gives its absolute value; -inf gives +inf.
fn amax_special<T: Elem>(seed: u64) {
    let ex = executor();
    let mut rng = Rng::new(seed);
    let mut vecs: Vec<(String, Vec<T>)> = Vec::new();
    for n in [1usize, 1025, 300_007] {
        for pos in [0, n / 2, n - 1] {
            let mut x = rand_vec::<T>(&mut rng, n);
            x[pos] = nan();
            vecs.push((format!("NaN at {pos} of {n}"), x));
        }
    }
    for n in [1usize, 257, 70_001] {
        let mut x = rand_vec::<T>(&mut rng, n);
        let j = (rng.next_u64() % n as u64) as usize;
        x[j] = T::of(-3.5);
        vecs.push((format!("-3.5 at {j} of {n}"), x));
        let neg: Vec<T> = rand_vec::<T>(&mut rng, n).into_iter().map(|v| T::of(-v.to64().abs())).collect();
        vecs.push((format!("all negative, {n}"), neg));
        let mut x = rand_vec::<T>(&mut rng, n);
        x[n - 1 - j] = T::of(f64::NEG_INFINITY);
        vecs.push((format!("-inf at {} of {n}", n - 1 - j), x));
    }
    let bufs: Vec<BufferId> = vecs.iter().map(|(_, v)| new_buf::<T>(&ex, v.len())).collect();
    let mut rr = Region::new(&ex, vec![T::of(7.0); vecs.len()]);
    let b: Vec<Builtin> = vecs
        .iter()
        .zip(&bufs)
        .enumerate()
        .map(|(i, ((_, v), &buf))| Builtin::reduce(BuiltinKind::Amax, T::DTYPE, v.len() as u64, buf, buf, at(rr.buf, i)))
        .collect();
    let mut ops: Vec<Op> = vecs.iter().zip(&bufs).map(|((_, v), &buf)| write(buf, v)).collect();
    ops.extend(b.iter().map(Op::Builtin));
    ops.push(rr.read());
    run(&ex, &ops);
    drop(ops);
    for (i, (name, v)) in vecs.iter().enumerate() {
        let x: Vec<f64> = v.iter().map(|v| v.to64()).collect();
        check_amax(&format!("{:?} {name}", T::DTYPE), rr.got[i], amax_ref(&x));
    }
    assert_clean(&ex);
}

#[test]
fn amax_special_f32() {
    amax_special::<f32>(51);
}

#[test]
fn amax_special_f64() {
    amax_special::<f64>(52);
}

// ---- GEMM --------------------------------------------------------------------------------

/// One GEMM: C = alpha op(A) op(B) + beta C, column-major, with padding
/// (ld - stored rows) and element offsets per matrix; `nan` fills that
/// matrix's whole buffer with NaN instead of random numbers.
#[derive(Clone, Copy, Debug)]
struct Gemm {
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f64,
    beta: f64,
    pad: [usize; 3],
    off: [usize; 3],
    nan: [bool; 3],
}

impl Gemm {
    fn new(ta: bool, tb: bool, m: usize, n: usize, k: usize) -> Self {
        Gemm { ta, tb, m, n, k, alpha: 1.0, beta: 0.0, pad: [0; 3], off: [0; 3], nan: [false; 3] }
    }
    /// Stored rows and columns of A, B, C.
    fn dims(&self) -> [(usize, usize); 3] {
        let (m, n, k) = (self.m, self.n, self.k);
        [if self.ta { (k, m) } else { (m, k) }, if self.tb { (n, k) } else { (k, n) }, (m, n)]
    }
    fn ld(&self, w: usize) -> usize {
        self.dims()[w].0.max(1) + self.pad[w]
    }
    /// Elements of the buffer holding matrix `w`.
    fn len(&self, w: usize) -> usize {
        let (rows, cols) = self.dims()[w];
        let span = if rows == 0 || cols == 0 { 0 } else { (cols - 1) * self.ld(w) + rows };
        self.off[w] + span + GUARD
    }
    fn builtin<T: Elem>(&self, bufs: [BufferId; 3]) -> Builtin {
        let o = |w: usize| mat(bufs[w], self.off[w], self.ld(w));
        Builtin::gemm(T::DTYPE, self.ta, self.tb, self.m as u64, self.n as u64, self.k as u64, self.alpha, o(0), o(1), self.beta, o(2))
    }
}

/// Check C after `g`: `a`, `b`, `c0` are the buffers holding A, B and C before
/// (they may be one buffer), `got` C's buffer after. Reference in
/// double-double: sum_l op(A)_il op(B)_lj (products exact, sums ~2^-100
/// relative), times alpha, plus beta C_ij. alpha and beta as the element type
/// rounds them (the kernel gets them so). alpha == 0 (after that rounding):
/// A and B are not read (BLAS), so NaN there must not show; beta == 0: C is not
/// read. Tolerance: the kernel accumulates k products by fma (or mul + add:
/// one or two roundings each) into acc, |acc - exact| <= (k + 1) u sum_l
/// |a_il b_lj| (to first order), then alpha * acc, beta * c and their sum are
/// three more roundings:
///     |C - Cref| <= (k + 3) eps (|alpha| (|op(A)| |op(B)|)_ij + |beta C_ij|)
/// (eps = 2u: a factor 2 to spare). Elements of C's buffer outside the m x n
/// matrix (padding rows, before the offset, the guard after) must be unchanged.
#[track_caller]
fn check_gemm<T: Elem>(what: &str, g: &Gemm, a: &[T], b: &[T], c0: &[T], got: &[T]) {
    let (lda, ldb, ldc) = (g.ld(0), g.ld(1), g.ld(2));
    let alpha = T::of(g.alpha).to64();
    let beta = T::of(g.beta).to64();
    let k = if alpha == 0.0 { 0 } else { g.k };
    let opa = |i: usize, l: usize| {
        let (r, c) = if g.ta { (l, i) } else { (i, l) };
        a[g.off[0] + r + c * lda].to64()
    };
    let opb = |l: usize, j: usize| {
        let (r, c) = if g.tb { (j, l) } else { (l, j) };
        b[g.off[1] + r + c * ldb].to64()
    };
    let want = |idx: usize| {
        let rel = idx.checked_sub(g.off[2])?;
        let (i, j) = (rel % ldc, rel / ldc);
        if i >= g.m || j >= g.n {
            return None;
        }
        let mut acc = Dd::default();
        let mut abs = 0.0;
        for l in 0..k {
            let (x, y) = (opa(i, l), opb(l, j));
            acc = acc.add(Dd::prod(x, y));
            abs += (x * y).abs();
        }
        // BLAS: with k = 0 (or alpha = 0) C = beta C, alpha is not applied (an
        // infinite alpha must not turn the empty sum into NaN).
        let (mut r, mut mag) = if k == 0 { (Dd::default(), 0.0) } else { (acc.scale(alpha), alpha.abs() * abs) };
        if beta != 0.0 {
            let c = c0[idx].to64();
            r = r.add(Dd::prod(beta, c));
            mag += (beta * c).abs();
        }
        Some((r, (k + 3) as f64 * T::EPS * mag + T::TINY))
    };
    check(what, c0, got, want);
}

/// Run `cases` in one submission, each with its own three buffers (random or
/// NaN), and check them.
fn run_gemms<T: Elem>(ex: &Executor, rng: &mut Rng, cases: &[Gemm], what: &str) {
    struct Run<T> {
        g: Gemm,
        bufs: [BufferId; 3],
        init: [Vec<T>; 3],
        op: Builtin,
    }
    let runs: Vec<Run<T>> = cases
        .iter()
        .map(|&g| {
            let init: [Vec<T>; 3] =
                std::array::from_fn(|w| if g.nan[w] { vec![nan::<T>(); g.len(w)] } else { rand_vec(rng, g.len(w)) });
            let bufs = std::array::from_fn(|w| new_buf::<T>(ex, g.len(w)));
            Run { g, bufs, init, op: g.builtin::<T>(bufs) }
        })
        .collect();
    let mut got: Vec<Vec<T>> = runs.iter().map(|r| vec![T::of(-7777.0); r.init[2].len()]).collect();
    let mut ops: Vec<Op> = runs.iter().flat_map(|r| (0..3).map(|w| write(r.bufs[w], &r.init[w]))).collect();
    ops.extend(runs.iter().map(|r| Op::Builtin(&r.op)));
    ops.extend(runs.iter().zip(got.iter_mut()).map(|(r, out)| read_op(r.bufs[2], 0, out)));
    run(ex, &ops);
    drop(ops);
    for (r, out) in runs.iter().zip(&got) {
        check_gemm(&format!("{what}: {:?} {:?}", T::DTYPE, r.g), &r.g, &r.init[0], &r.init[1], &r.init[2], out);
        for b in r.bufs {
            ex.destroy_buffer(b).unwrap();
        }
    }
}

/// Transpose combinations (trans_a, trans_b). Each combination is a pipeline
/// to compile, about a second each on lavapipe without its shader cache: the
/// library's main tilings get all four, others NN and TT (which still take
/// both load paths of A and of B) or NT and TN.
type Combos = &'static [(bool, bool)];
const ALL4: Combos = &[(false, false), (true, false), (false, true), (true, true)];
const NN_TT: Combos = &[(false, false), (true, true)];
const NT_TN: Combos = &[(false, true), (true, false)];

/// Shapes at the edges of a tiling: m and n in {1, tile - 1, tile, tile + 1,
/// 2 tile + 1, 67, 97}, k in {1, BK - 1, BK, BK + 1, 67, 97, BM - 1, BM + 1};
/// each with every transpose combination of `combos`, random alpha, beta
/// (some 0 or 1), paddings and offsets (some zero).
fn gemm_tile_cases(rng: &mut Rng, tile: GemmTile, combos: &[(bool, bool)]) -> Vec<Gemm> {
    let [bm, bn, bk] = [tile[0] as usize, tile[1] as usize, tile[2] as usize];
    let shapes = [
        (bm - 1, bn + 1, 67),
        (bm, bn, bk + 1),
        (bm + 1, bn - 1, bk),
        (1, 97, bk - 1),
        (97, 1, 97),
        (67, bn, 1),
        (2 * bm + 1, 3, bm + 1),
        (5, 2 * bn + 1, bm - 1),
        // Tile multiples in m, n and k: the kernel without bounds checks.
        (bm, bn, 2 * bk),
        (2 * bm, bn, 3 * bk),
    ];
    let mut cases = Vec::new();
    for (s, &(m, n, k)) in shapes.iter().enumerate() {
        for (t, &(ta, tb)) in combos.iter().enumerate() {
            let v = s * 4 + t;
            let mut r = |max: u32| (rng.next_u32() % max) as usize;
            let (pad, off) = if v % 5 == 0 { ([0; 3], [0; 3]) } else { ([r(4), r(4), r(4)], [r(6), r(6), r(6)]) };
            let alpha = 2.0 * f64::from(rng.f32());
            let beta = match v % 3 {
                0 => 0.0,
                1 => 1.0,
                _ => 2.0 * f64::from(rng.f32()),
            };
            cases.push(Gemm { alpha, beta, pad, off, ..Gemm::new(ta, tb, m, n, k) });
        }
    }
    cases
}

/// A tiling `[BM, BN, BK, TM, TN]` with the plain thread layout (WARP_M 0),
/// or all six entries.
fn tile(t: &[u32]) -> GemmTile {
    let mut g = GemmTile::default();
    g[..t.len()].copy_from_slice(t);
    g
}

fn gemm_tiled<T: Elem>(tiles: &[(&[u32], Combos)], seed: u64) {
    let ex = executor();
    let mut rng = Rng::new(seed);
    for &(t, combos) in tiles {
        let tile = tile(t);
        ex.set_gemm_tile(T::DTYPE, Some(tile)).unwrap_or_else(|e| panic!("tile {tile:?}: {e}"));
        let cases = gemm_tile_cases(&mut rng, tile, combos);
        run_gemms::<T>(&ex, &mut rng, &cases, &format!("tile {tile:?}"));
    }
    ex.set_gemm_tile(T::DTYPE, None).unwrap();
    assert_clean(&ex);
}

/// The library's f32 tilings (src/builtin.rs `gemm_tile`): 128x64x16 with 8x8
/// per thread (from 96 such tiles), 64x64x16 (smaller problems), 64x64x8 and
/// the 32x32 fallback. The large ones are forced: problems big enough to
/// choose them are too slow on a CPU device.
#[test]
fn gemm_f32_library_tiles() {
    gemm_tiled::<f32>(
        &[(&[128, 64, 16, 8, 8], ALL4), (&[64, 64, 16, 4, 4], ALL4), (&[64, 64, 8, 4, 4], NT_TN), (&[32, 32, 8, 4, 4], NT_TN)],
        0x6E11,
    );
}

/// The library's f64 tilings: 128x64 with 8x8 per thread (from 512 tiles),
/// 64x64, the 32x32 fallback.
#[test]
fn gemm_f64_library_tiles() {
    gemm_tiled::<f64>(&[(&[128, 64, 8, 8, 8], ALL4), (&[64, 64, 8, 4, 4], ALL4), (&[32, 32, 8, 4, 4], NN_TT)], 0x6E12);
}

/// Sizes that are not tile multiples but have a large tile-multiple interior
/// are split by the library: the interior without bounds checks, then the k
/// remainder (accumulated onto it), the last rows and the last columns with
/// checks. Every combination of remainders, transposes, paddings, offsets,
/// and beta = 0 with NaN in C (the accumulating piece must not bring back the
/// old C).
fn gemm_split<T: Elem>(t: &[u32], seed: u64) {
    let ex = executor();
    let mut rng = Rng::new(seed);
    let tile = tile(t);
    ex.set_gemm_tile(T::DTYPE, Some(tile)).unwrap();
    let [bm, bn, bk] = [t[0] as usize, t[1] as usize, t[2] as usize];
    let (m0, n0, k0) = (4 * bm, 4 * bn, 4 * bk);
    let shapes = [(m0 + 5, n0 + 3, k0 + 7), (m0, n0, k0 + 1), (m0 + 1, n0, k0), (m0, n0 + bn - 1, k0), (m0 + bm - 1, n0 + 1, k0 + bk - 1)];
    let mut cases = Vec::new();
    for (s, &(m, n, k)) in shapes.iter().enumerate() {
        for (c, &(ta, tb)) in ALL4.iter().enumerate() {
            let v = 4 * s + c;
            let (beta, nan) = if v % 3 == 0 { (0.0, [false, false, true]) } else { (0.5 + f64::from(rng.f32()), [false; 3]) };
            let (pad, off) = if v % 2 == 0 { ([0; 3], [0; 3]) } else { ([1, 2, 3], [3, 2, 1]) };
            cases.push(Gemm { alpha: 1.0 + f64::from(rng.f32()), beta, nan, pad, off, ..Gemm::new(ta, tb, m, n, k) });
        }
    }
    run_gemms::<T>(&ex, &mut rng, &cases, &format!("split, tile {tile:?}"));
    ex.set_gemm_tile(T::DTYPE, None).unwrap();
    assert_clean(&ex);
}

#[test]
fn gemm_split_f32() {
    gemm_split::<f32>(&[128, 64, 16, 8, 8], 0x5A11);
}

#[test]
fn gemm_split_f64() {
    gemm_split::<f64>(&[64, 64, 8, 4, 4], 0x5A12);
}

/// Tiles with BM != BN, TM != TN and BK = 16: a mix-up of the kernel's
/// row and column roles would show here and not with square tiles.
#[test]
fn gemm_rectangular_tiles() {
    gemm_tiled::<f32>(&[(&[64, 32, 8, 4, 4], NT_TN), (&[32, 64, 16, 8, 4], NN_TT)], 0x6E13);
    gemm_tiled::<f64>(&[(&[64, 32, 8, 4, 4], NN_TT), (&[32, 64, 16, 8, 4], NT_TN)], 0x6E14);
}

/// Warp layouts (WARP_M threads of a warp along m; spirv/gemm.comp).
#[test]
fn gemm_warp_layouts() {
    gemm_tiled::<f32>(&[(&[128, 128, 8, 8, 8, 2], NN_TT), (&[64, 32, 8, 4, 4, 16], &[(false, true)])], 0x6E16);
    gemm_tiled::<f64>(&[(&[128, 64, 8, 8, 8, 4], &[(true, false)])], 0x6E17);
}

/// The library's own choice (no tile set), a few shapes in both types.
#[test]
fn gemm_default_tiling() {
    let ex = executor();
    let mut rng = Rng::new(0x6E15);
    let cases = [
        Gemm { alpha: 1.5, beta: 0.5, ..Gemm::new(false, false, 67, 45, 33) },
        Gemm { alpha: -0.75, beta: 2.0, pad: [3, 0, 1], off: [1, 2, 3], ..Gemm::new(true, true, 150, 97, 131) },
        Gemm { alpha: 1.0, beta: 0.25, pad: [0, 5, 0], off: [7, 0, 2], ..Gemm::new(false, false, 129, 130, 65) },
        Gemm { alpha: 0.5, beta: -1.0, pad: [1, 1, 1], off: [0, 0, 1], ..Gemm::new(true, true, 33, 140, 97) },
    ];
    run_gemms::<f32>(&ex, &mut rng, &cases[..2], "default tiling");
    run_gemms::<f64>(&ex, &mut rng, &cases[2..], "default tiling");
    assert_clean(&ex);
}

/// alpha and beta special cases and empty dimensions, in one submission (NN
/// and TT only, to compile two pipelines):
/// k = 0 (C = beta C), m = 0 or n = 0 (C untouched), beta = 0 with NaN in C
/// (NaN must not leak), alpha = 0 with NaN in A and B (not read: C = beta C;
/// and C = 0 with beta = 0 too), beta = 1, 1 x 1 x 1; for f32 also an alpha
/// that rounds to 0 in f32 (the kernel's alpha is 0: A and B must not be read).
fn gemm_special<T: Elem>(seed: u64) {
    let ex = executor();
    let mut rng = Rng::new(seed);
    let g = Gemm::new;
    let nan_ab = [true, true, false];
    let mut cases = vec![
        Gemm { alpha: 1.5, beta: 0.75, nan: nan_ab, ..g(false, false, 37, 29, 0) },
        Gemm { alpha: -2.0, beta: -0.5, nan: nan_ab, pad: [2, 2, 2], off: [1, 1, 1], ..g(true, true, 70, 3, 0) },
        Gemm { alpha: 1.0, beta: 0.0, nan: [true, true, true], ..g(true, true, 5, 6, 0) },
        Gemm { alpha: 1.0, beta: 2.0, off: [0, 0, 4], ..g(false, false, 0, 5, 4) },
        Gemm { alpha: 1.0, beta: 2.0, off: [3, 3, 0], ..g(true, true, 5, 0, 4) },
        Gemm { alpha: 1.0, beta: 0.0, nan: [false, false, true], ..g(false, true, 0, 0, 3) },
        Gemm { alpha: -1.25, beta: 0.0, nan: [false, false, true], pad: [2, 1, 3], off: [1, 0, 2], ..g(false, false, 67, 45, 33) },
        Gemm { alpha: 0.5, beta: 0.0, nan: [false, false, true], ..g(true, true, 64, 65, 9) },
        Gemm { alpha: 0.0, beta: -0.5, nan: nan_ab, pad: [1, 2, 3], ..g(false, false, 40, 30, 20) },
        Gemm { alpha: 0.0, beta: 0.0, nan: [true, true, true], ..g(true, true, 33, 65, 17) },
        Gemm { alpha: 0.5, beta: 1.0, ..g(true, true, 65, 33, 70) },
        Gemm { alpha: 1.0, beta: 1.0, ..g(false, false, 97, 67, 1) },
        Gemm { alpha: 3.0, beta: 0.0, ..g(false, false, 1, 1, 1) },
        Gemm { alpha: -1.0, beta: 1.0, off: [2, 3, 4], ..g(true, true, 1, 1, 1) },
        // k = 0 with an infinite alpha: C = beta C, no NaN from inf * 0.
        Gemm { alpha: f64::INFINITY, beta: 1.0, ..g(false, false, 7, 5, 0) },
        Gemm { alpha: f64::NEG_INFINITY, beta: 0.0, nan: [false, false, true], ..g(true, false, 3, 4, 0) },
    ];
    if T::DTYPE == DType::F32 {
        cases.push(Gemm { alpha: 1e-50, beta: 0.5, nan: nan_ab, ..g(false, false, 20, 20, 20) });
    }
    run_gemms::<T>(&ex, &mut rng, &cases, "special");
    assert_clean(&ex);
}

#[test]
fn gemm_special_f32() {
    gemm_special::<f32>(0x59E1);
}

#[test]
fn gemm_special_f64() {
    gemm_special::<f64>(0x59E2);
}

/// Operands sharing one buffer: A and C in disjoint parts of the same buffer;
/// A passed as both A and B (C = A A^T, C = A^T A). The whole buffer is
/// checked: only C's elements change.
#[test]
fn gemm_operands_in_one_buffer() {
    fn one<T: Elem>(ex: &Executor, rng: &mut Rng, ta: bool) {
        let (m, k) = (45usize, 38usize);
        // op(A) = A (m x k) with B = A^T, or op(A) = A^T (A stored k x m) with B = A.
        let rows = if ta { k } else { m };
        let cols = if ta { m } else { k };
        let lda = rows + 3;
        let (oa, oc) = (2usize, 2 + lda * cols + 7);
        let ldc = m + 1;
        let total = oc + ldc * m + GUARD;
        let mut r = Region::<T>::random(ex, rng, total);
        let a = mat(r.buf, oa, lda);
        let g = Gemm { alpha: -1.5, beta: 0.5, pad: [3, 3, 1], off: [oa, oa, oc], ..Gemm::new(ta, !ta, m, m, k) };
        let op = Builtin::gemm(T::DTYPE, ta, !ta, m as u64, m as u64, k as u64, g.alpha, a, a, g.beta, mat(r.buf, oc, ldc));
        let rd = r.read();
        run(ex, &[r.write(), Op::Builtin(&op), rd]);
        check_gemm(&format!("{:?} one buffer {g:?}", T::DTYPE), &g, &r.init, &r.init, &r.init, &r.got);
    }
    let ex = executor();
    let mut rng = Rng::new(0x0B0F);
    one::<f32>(&ex, &mut rng, false);
    one::<f64>(&ex, &mut rng, true);
    assert_clean(&ex);
}

// ---- ordering and composition ----------------------------------------------------

/// 200 dependent built-in submissions, never waited on: z = alpha x + y,
/// y = alpha x + z, y = alpha x + y (in place), y = +-y (scale in place), in
/// turn (read-after-write and write-after-read on y and z); then dot(y, x) and
/// a read. Small integers keep every f32 step exact (|y| < 2^16), so y is
/// compared exactly; the dot with the reduction tolerance.
#[test]
fn chain_of_200_dependent_builtins() {
    let ex = executor();
    let mut rng = Rng::new(0xC4A1);
    let n = 5003;
    let int = |rng: &mut Rng, max: u32| loop {
        let v = (rng.next_u32() % (2 * max + 1)) as i32 - max as i32;
        if v != 0 {
            break v as f32;
        }
    };
    let x: Vec<f32> = (0..n).map(|_| int(&mut rng, 64)).collect();
    let y0: Vec<f32> = (0..n).map(|_| int(&mut rng, 1000)).collect();
    let (bx, by, bz, br) = (new_buf::<f32>(&ex, n), new_buf::<f32>(&ex, n), new_buf::<f32>(&ex, n), new_buf::<f32>(&ex, 1));
    ex.submit(&[write(bx, &x), write(by, &y0), Op::Fill { buffer: br, offset: 0, size: 4, value: 0x7FC0_0000 }], PLAIN)
        .unwrap();
    let mut y: Vec<f64> = y0.iter().map(|&v| f64::from(v)).collect();
    let mut z = vec![0f64; n];
    let nn = n as u64;
    let f = DType::F32;
    let mut last = 0;
    for i in 0..200 {
        let alpha = f64::from(int(&mut rng, 3));
        let op = match i % 4 {
            0 => {
                z = (0..n).map(|j| alpha * f64::from(x[j]) + y[j]).collect();
                Builtin::axpy(f, nn, alpha, bx, by, bz)
            }
            1 => {
                y = (0..n).map(|j| alpha * f64::from(x[j]) + z[j]).collect();
                Builtin::axpy(f, nn, alpha, bx, bz, by)
            }
            2 => {
                y = (0..n).map(|j| alpha * f64::from(x[j]) + y[j]).collect();
                Builtin::axpy(f, nn, alpha, bx, by, by)
            }
            _ => {
                let s = alpha.signum();
                y.iter_mut().for_each(|v| *v *= s);
                Builtin::scale(f, nn, s, by, by)
            }
        };
        let t = ex.run_builtin(&op, PLAIN).unwrap();
        assert!(t > last, "tickets increase");
        last = t;
    }
    ex.run_builtin(&Builtin::reduce(BuiltinKind::Dot, f, nn, by, bx, br), PLAIN).unwrap();
    let mut out_y = vec![f32::NAN; n];
    let mut out_r = [f32::NAN];
    let t = ex.submit(&[read_op(by, 0, &mut out_y), read_op(br, 0, &mut out_r)], PLAIN).unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    assert!(y.iter().all(|v| v.abs() < 65536.0), "the chain stays exact in f32");
    let want: Vec<f32> = y.iter().map(|&v| v as f32).collect();
    assert_eq_all(&out_y, &want, "y after 200 dependent builtins");
    let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let (d, abs) = dot_ref(&y, &x64);
    let tol = sum_tolerance::<f32>(n, d.value(), abs);
    let dist = d.dist(f64::from(out_r[0]));
    assert!(dist <= tol, "dot after the chain: {}, exact {:e}, off by {dist:e} > {tol:e}", out_r[0], d.value());
    assert_clean(&ex);
}

/// Many independent reductions (both types, all kinds, several sizes) in one
/// submission share one scratch buffer; plus mul(x, y) -> w then sum(w) in the
/// same submission (a reduction reading a built-in's output). All must be right.
#[test]
fn reductions_in_one_submission_share_scratch() {
    fn setup<T: Elem>(ex: &Executor, rng: &mut Rng, sizes: &[usize]) -> (Vec<Vec<T>>, Vec<BufferId>, Region<T>) {
        let data: Vec<Vec<T>> = sizes.iter().map(|&n| rand_vec(rng, n)).collect();
        let bufs = data.iter().map(|d| new_buf::<T>(ex, d.len())).collect();
        let results = Region::new(ex, vec![nan::<T>(); 4 * sizes.len() + 2]);
        (data, bufs, results)
    }
    fn ops<T: Elem>(bufs: &[BufferId], data: &[Vec<T>], r: BufferId) -> Vec<Builtin> {
        let kinds = [BuiltinKind::Sum, BuiltinKind::Dot, BuiltinKind::Nrm2, BuiltinKind::Amax];
        let mut v = Vec::new();
        for (i, d) in data.iter().enumerate() {
            let other = bufs[(i + 1) % bufs.len()];
            for (q, &kind) in kinds.iter().enumerate() {
                let len = d.len().min(data[(i + 1) % data.len()].len()) as u64;
                let len = if kind == BuiltinKind::Dot { len } else { d.len() as u64 };
                v.push(Builtin::reduce(kind, T::DTYPE, len, bufs[i], other, at(r, 4 * i + q)));
            }
        }
        v
    }
    fn verify<T: Elem>(data: &[Vec<T>], got: &[T]) {
        for (i, d) in data.iter().enumerate() {
            let x: Vec<f64> = d.iter().map(|v| v.to64()).collect();
            let o: Vec<f64> = data[(i + 1) % data.len()].iter().map(|v| v.to64()).collect();
            let n = x.len();
            let what = |k: &str| format!("{:?} {k} #{i} (n = {n})", T::DTYPE);
            let (s, abs) = sum_ref(&x);
            let dist = s.dist(got[4 * i].to64());
            assert!(dist <= sum_tolerance::<T>(n, s.value(), abs), "{}: {:?} vs {:e}", what("sum"), got[4 * i], s.value());
            let m = n.min(o.len());
            let (d, abs) = dot_ref(&x[..m], &o[..m]);
            let dist = d.dist(got[4 * i + 1].to64());
            assert!(dist <= sum_tolerance::<T>(m, d.value(), abs), "{}: {:?} vs {:e}", what("dot"), got[4 * i + 1], d.value());
            let r = nrm2_ref(&x);
            let dist = r.dist(got[4 * i + 2].to64());
            assert!(dist <= nrm2_tolerance::<T>(n, r.hi), "{}: {:?} vs {:e}", what("nrm2"), got[4 * i + 2], r.hi);
            check_amax(&what("amax"), got[4 * i + 3], amax_ref(&x));
        }
    }
    let ex = executor();
    let mut rng = Rng::new(0x5C8A);
    let (d32, b32, mut r32) = setup::<f32>(&ex, &mut rng, &[5000, 70_001, 300, 262_145]);
    let (d64, b64, mut r64) = setup::<f64>(&ex, &mut rng, &[1025, 9, 150_000]);
    let o32 = ops(&b32, &d32, r32.buf);
    let o64 = ops(&b64, &d64, r64.buf);
    // w = x * y (f32, n = 5000) then sum(w) into the last slot but one of r32.
    let n = d32[0].len();
    let mut w_got = vec![f32::NAN; n];
    let bw = new_buf::<f32>(&ex, n);
    let mul = Builtin::mul(DType::F32, n as u64, b32[0], b32[1], bw);
    let sum_w = Builtin::reduce(BuiltinKind::Sum, DType::F32, n as u64, bw, bw, at(r32.buf, 4 * d32.len()));
    let reads = [r32.read(), r64.read(), read_op(bw, 0, &mut w_got)];
    let mut ops_v: Vec<Op> = d32.iter().zip(&b32).map(|(d, &b)| write(b, d)).collect();
    ops_v.extend(d64.iter().zip(&b64).map(|(d, &b)| write(b, d)));
    ops_v.extend([r32.write(), r64.write()]);
    // Interleave the two types' reductions (the scratch holds f32 then f64 records).
    for i in 0..o32.len().max(o64.len()) {
        ops_v.extend(o32.get(i).map(Op::Builtin));
        ops_v.extend(o64.get(i).map(Op::Builtin));
        if i == 3 {
            ops_v.extend([Op::Builtin(&mul), Op::Builtin(&sum_w)]);
        }
    }
    ops_v.extend(reads);
    run(&ex, &ops_v);
    drop(ops_v);
    verify(&d32, &r32.got);
    verify(&d64, &r64.got);
    // mul is one correctly rounded f32 product: the host's f32 product, exactly.
    let w: Vec<f32> = d32[0].iter().zip(&d32[1]).map(|(a, b)| a * b).collect();
    assert_eq_all(&w_got, &w, "mul before sum");
    let w64: Vec<f64> = w.iter().map(|&v| f64::from(v)).collect();
    let (s, abs) = sum_ref(&w64);
    let got = r32.got[4 * d32.len()];
    assert!(s.dist(f64::from(got)) <= sum_tolerance::<f32>(n, s.value(), abs), "sum of a mul's output: {got} vs {:e}", s.value());
    assert!(r32.got[4 * d32.len() + 1].is_nan() && r64.got[4 * d64.len()].is_nan(), "unused result slots were written");
    assert_clean(&ex);
}

/// A batch holding three GEMMs (f32 C1 = 1.25 A B; f32 C2 = -0.5 C1^T D +
/// 0.5 C2, which depends on C1 and accumulates across replays; f64 H = P^T P),
/// an ordinary dispatch between them, and two reductions (f32 sum of C2, f64
/// nrm2 of H), replayed 5 times; between replays separate submits write new A,
/// B, D, P and X (never waited on before the replay). After each replay every
/// output is checked, C2, the sum and nrm2 against references computed from
/// the GPU's own inputs to them (C1, previous C2, H) read back. The ordinary
/// dispatch's push constants are updated through its op index (which counts
/// the built-in ops as one op each); a push update for a built-in op is
/// InvalidArgument and takes no ticket.
#[test]
fn builtins_in_a_replayed_batch() {
    let ex = executor();
    let mut rng = Rng::new(0xBA7C);
    let (m, n, k, p) = (40usize, 36usize, 50usize, 20usize);
    let (pr, ps) = (45usize, 33usize);
    let nx = 300usize;
    let b32 = |len| new_buf::<f32>(&ex, len);
    let (ba, bb, bc1, bd, bc2, bx, by) = (b32(m * k), b32(k * n), b32(m * n), b32(m * p), b32(n * p), b32(nx), b32(nx));
    let (bp, bh) = (new_buf::<f64>(&ex, pr * ps), new_buf::<f64>(&ex, ps * ps));
    let mut rr32 = Region::new(&ex, vec![f32::NAN; 2]);
    let mut rr64 = Region::new(&ex, vec![f64::NAN; 2]);
    let sk = kernel(&ex, "scale_add");
    let g1 = Gemm { alpha: 1.25, beta: 0.0, ..Gemm::new(false, false, m, n, k) };
    let g2 = Gemm { alpha: -0.5, beta: 0.5, ..Gemm::new(true, false, n, p, m) };
    let g3 = Gemm { alpha: 1.0, beta: 0.0, ..Gemm::new(true, false, ps, ps, pr) };
    let ops_b = [
        g1.builtin::<f32>([ba, bb, bc1]),
        g2.builtin::<f32>([bc1, bd, bc2]),
        g3.builtin::<f64>([bp, bp, bh]),
        Builtin::reduce(BuiltinKind::Sum, DType::F32, (n * p) as u64, bc2, bc2, at(rr32.buf, 1)),
        Builtin::reduce(BuiltinKind::Nrm2, DType::F64, (ps * ps) as u64, bh, bh, at(rr64.buf, 1)),
    ];
    let p0 = ScaleAddParams { a: 1.0, b: 0.0, n: nx as u32 };
    let bufs_xy = [bx, by];
    let batch = ex
        .create_batch(&[
            Op::Builtin(&ops_b[0]),
            Op::Builtin(&ops_b[1]),
            Op::Dispatch { kernel: sk, buffers: &bufs_xy, push_constants: push(&p0), groups: groups(nx, 64) },
            Op::Builtin(&ops_b[2]),
            Op::Builtin(&ops_b[3]),
            Op::Builtin(&ops_b[4]),
        ])
        .unwrap();
    let mut c2: Vec<f32> = rand_vec(&mut rng, n * p);
    ex.submit(&[write(bc2, &c2), rr32.write(), rr64.write()], PLAIN).unwrap();
    for round in 0..5 {
        let a: Vec<f32> = rand_vec(&mut rng, m * k);
        let b: Vec<f32> = rand_vec(&mut rng, k * n);
        let d: Vec<f32> = rand_vec(&mut rng, m * p);
        let pm: Vec<f64> = rand_vec(&mut rng, pr * ps);
        let x: Vec<f32> = (0..nx).map(|_| (rng.next_u32() % 1000) as f32 - 500.0).collect();
        ex.submit(&[write(ba, &a), write(bb, &b), write(bd, &d)], PLAIN).unwrap();
        let last = ex.submit(&[write(bp, &pm), write(bx, &x)], PLAIN).unwrap();
        let prm = ScaleAddParams { a: (round + 2) as f32, b: -(round as f32), n: nx as u32 };
        for bad in [0, 1, 3, 5] {
            let e = expect_err(ex.replay(batch, &[PushUpdate { op: bad, push_constants: push(&prm) }], PLAIN), ErrorKind::InvalidArgument);
            assert!(e.message.contains("built-in"), "message: {}", e.message);
        }
        expect_err(ex.replay(batch, &[PushUpdate { op: 6, push_constants: push(&prm) }], PLAIN), ErrorKind::InvalidArgument);
        let t = ex.replay(batch, &[PushUpdate { op: 2, push_constants: push(&prm) }], PLAIN).unwrap();
        let (mut c1_got, mut c2_got, mut h_got, mut y_got) = (vec![0f32; m * n], vec![0f32; n * p], vec![0f64; ps * ps], vec![0f32; nx]);
        let (rd32, rd64) = (rr32.read(), rr64.read());
        let tr = ex
            .submit(&[read_op(bc1, 0, &mut c1_got), read_op(bc2, 0, &mut c2_got), read_op(bh, 0, &mut h_got), read_op(by, 0, &mut y_got), rd32, rd64], PLAIN)
            .unwrap();
        assert_eq!((t, tr), (last + 1, last + 2), "the refused replays took no ticket");
        assert!(ex.wait(tr, u64::MAX).unwrap());
        let what = |s: &str| format!("replay {round}: {s}");
        check_gemm(&what("C1"), &g1, &a, &b, &vec![f32::NAN; m * n], &c1_got);
        check_gemm(&what("C2"), &g2, &c1_got, &d, &c2, &c2_got);
        check_gemm(&what("H"), &g3, &pm, &pm, &vec![f64::NAN; ps * ps], &h_got);
        let want_y: Vec<f32> = x.iter().map(|v| v * prm.a + prm.b).collect();
        assert_eq_all(&y_got, &want_y, &what("the ordinary dispatch with updated push constants"));
        let c2_64: Vec<f64> = c2_got.iter().map(|&v| f64::from(v)).collect();
        let (s, abs) = sum_ref(&c2_64);
        let dist = s.dist(f64::from(rr32.got[1]));
        assert!(dist <= sum_tolerance::<f32>(n * p, s.value(), abs), "{}: {} vs {:e}", what("sum(C2)"), rr32.got[1], s.value());
        let r = nrm2_ref(&h_got);
        assert!(r.dist(rr64.got[1]) <= nrm2_tolerance::<f64>(ps * ps, r.hi), "{}: {} vs {:e}", what("nrm2(H)"), rr64.got[1], r.hi);
        assert!(rr32.got[0].is_nan() && rr64.got[0].is_nan(), "{}", what("slot 0 was written"));
        c2 = c2_got;
    }
    ex.destroy_batch(batch).unwrap();
    assert_clean(&ex);
}

// ---- errors ------------------------------------------------------------------------------

/// One correct built-in submission (f64 axpy then sum), checked: the
/// executor still works after an error.
fn still_works(ex: &Executor) {
    let mut rng = Rng::new(99);
    let n = 1000;
    let x: Vec<f64> = rand_vec(&mut rng, n);
    let (bx, by) = (new_buf::<f64>(ex, n), new_buf::<f64>(ex, n + 1));
    let mut out = vec![f64::NAN; n + 1];
    let axpy = Builtin::axpy(DType::F64, n as u64, 2.0, bx, bx, by);
    let sum = Builtin::reduce(BuiltinKind::Sum, DType::F64, n as u64, by, by, at(by, n));
    run(ex, &[write(bx, &x), Op::Builtin(&axpy), Op::Builtin(&sum), read_op(by, 0, &mut out)]);
    let want: Vec<f64> = x.iter().map(|v| 3.0 * v).collect();
    assert_eq_all(&out[..n], &want, "axpy after an error");
    let (s, abs) = sum_ref(&want);
    assert!(s.dist(out[n]) <= sum_tolerance::<f64>(n, s.value(), abs), "sum after an error");
    ex.destroy_buffer(bx).unwrap();
    ex.destroy_buffer(by).unwrap();
}

/// Each bad op is refused with the right kind, through submit, run_builtin and
/// create_batch alike, leaves earlier ops of its submission undone, and leaves
/// the executor working.
#[test]
fn argument_errors() {
    let ex = executor();
    let f = DType::F32;
    let d = DType::F64;
    let b100 = new_buf::<f32>(&ex, 100);
    let c100 = new_buf::<f32>(&ex, 100);
    let m64 = new_buf::<f32>(&ex, 64 * 64);
    let gm = |ta, tb, mm, nn, kk, a: Operand, b: Operand, c: Operand| Builtin::gemm(f, ta, tb, mm, nn, kk, 1.0, a, b, 0.5, c);
    let m8 = |off, ld| mat(m64, off, ld);
    let cases: Vec<(&str, Builtin, ErrorKind)> = vec![
        // out of range
        ("axpy n past the end", Builtin::axpy(f, 101, 1.0, b100, c100, c100), ErrorKind::OutOfRange),
        ("copy offset + n past the end", Builtin::copy(f, 60, at(b100, 50), c100), ErrorKind::OutOfRange),
        ("fill past the end", Builtin::fill(f, 1, 0.0, at(c100, 100)), ErrorKind::OutOfRange),
        ("f64 view of a 400-byte buffer", Builtin::scale(d, 51, 2.0, b100, b100), ErrorKind::OutOfRange),
        ("sum result past the end", Builtin::reduce(BuiltinKind::Sum, f, 10, b100, b100, at(c100, 100)), ErrorKind::OutOfRange),
        ("dot b too short", Builtin::reduce(BuiltinKind::Dot, f, 100, b100, at(c100, 1), at(m64, 0)), ErrorKind::OutOfRange),
        ("n = 2^31 is in range of the limit, not of the buffer", Builtin::reduce(BuiltinKind::Amax, f, 1 << 31, b100, b100, c100), ErrorKind::OutOfRange),
        ("gemm C too small", gm(false, false, 20, 20, 4, m8(0, 20), m8(400, 4), mat(c100, 0, 20)), ErrorKind::OutOfRange),
        ("gemm A too small", gm(false, false, 10, 10, 20, mat(b100, 0, 10), m8(0, 20), mat(c100, 0, 10)), ErrorKind::OutOfRange),
        ("gemm B (transposed) too small", gm(false, true, 4, 30, 5, m8(0, 4), mat(b100, 0, 30), m8(1000, 4)), ErrorKind::OutOfRange),
        // leading dimensions
        ("lda < m", gm(false, false, 8, 4, 4, m8(0, 7), m8(100, 4), m8(200, 8)), ErrorKind::InvalidArgument),
        ("lda < k (A transposed)", gm(true, false, 8, 4, 6, m8(0, 5), m8(100, 6), m8(200, 8)), ErrorKind::InvalidArgument),
        ("ldb < k", gm(false, false, 8, 4, 6, m8(0, 8), m8(100, 5), m8(200, 8)), ErrorKind::InvalidArgument),
        ("ldb < n (B transposed)", gm(false, true, 8, 4, 6, m8(0, 8), m8(100, 3), m8(200, 8)), ErrorKind::InvalidArgument),
        ("ldc < m", gm(false, false, 8, 4, 6, m8(0, 8), m8(100, 6), m8(200, 7)), ErrorKind::InvalidArgument),
        ("ldc = 0 with m = 0", gm(false, false, 0, 4, 6, m8(0, 1), m8(100, 6), m8(200, 0)), ErrorKind::InvalidArgument),
        // overlaps
        ("gemm C overlaps A", gm(false, false, 8, 8, 8, m8(0, 8), m8(100, 8), m8(60, 8)), ErrorKind::InvalidArgument),
        ("gemm C overlaps B", gm(false, false, 8, 8, 8, m8(0, 8), m8(100, 8), m8(120, 8)), ErrorKind::InvalidArgument),
        ("gemm C is A", gm(false, false, 8, 8, 8, m8(0, 8), m8(100, 8), m8(0, 8)), ErrorKind::InvalidArgument),
        ("add: a partly overlaps c", Builtin::add(f, 50, at(b100, 0), c100, at(b100, 1)), ErrorKind::InvalidArgument),
        ("axpy: b partly overlaps c", Builtin::axpy(f, 50, 1.0, c100, at(b100, 10), at(b100, 0)), ErrorKind::InvalidArgument),
        ("scale: a partly overlaps c", Builtin::scale(f, 50, 1.0, at(b100, 49), at(b100, 0)), ErrorKind::InvalidArgument),
        ("copy: c inside a", Builtin::copy(f, 50, at(b100, 0), at(b100, 25)), ErrorKind::InvalidArgument),
        ("sum: result inside the input", Builtin::reduce(BuiltinKind::Sum, f, 50, b100, b100, at(b100, 49)), ErrorKind::InvalidArgument),
        ("dot: result inside b", Builtin::reduce(BuiltinKind::Dot, f, 50, b100, c100, at(c100, 10)), ErrorKind::InvalidArgument),
        // sizes beyond the kernels' 32-bit indexing
        ("axpy n = 2^31 + 1", Builtin::axpy(f, (1 << 31) + 1, 1.0, b100, b100, c100), ErrorKind::Unsupported),
        ("fill n = 2^40", Builtin::fill(f, 1 << 40, 1.0, c100), ErrorKind::Unsupported),
        ("sum n = 2^31 + 1", Builtin::reduce(BuiltinKind::Sum, d, (1 << 31) + 1, b100, b100, c100), ErrorKind::Unsupported),
    ];
    let mut rng = Rng::new(5);
    let canary: Vec<f32> = rand_vec(&mut rng, 100);
    let other: Vec<f32> = rand_vec(&mut rng, 100);
    run(&ex, &[write(c100, &canary), write(b100, &other), Op::Fill { buffer: m64, offset: 0, size: 64 * 64 * 4, value: 0 }]);
    for (name, op, kind) in &cases {
        let e = expect_err(ex.run_builtin(op, PLAIN), *kind);
        println!("{name}: {kind:?}: {}", e.message);
        // In a submission, after a write: refused as a whole, naming the op.
        let junk = vec![-1f32; 100];
        let e = expect_err(ex.submit(&[write(c100, &junk), Op::Builtin(op)], PLAIN), *kind);
        assert!(e.message.contains("op 1"), "{name}: the message names the op: {}", e.message);
        expect_err(ex.create_batch(&[Op::Builtin(op)]), *kind);
    }
    let mut out = vec![0f32; 100];
    run(&ex, &[read_op(c100, 0, &mut out)]);
    assert_eq_all(&out, &canary, "writes of refused submissions must not happen");
    still_works(&ex);

    // Exact in-place is allowed (elementwise); operands may share a buffer without overlapping.
    ex.run_builtin(&Builtin::axpy(f, 50, 1.0, at(b100, 50), at(b100, 0), at(b100, 0)), PLAIN).unwrap();
    ex.run_builtin(&Builtin::scale(f, 50, 2.0, at(b100, 0), at(b100, 50)), PLAIN).unwrap();
    ex.run_builtin(&Builtin::reduce(BuiltinKind::Sum, f, 50, b100, b100, at(b100, 50)), PLAIN).unwrap();

    // Destroyed and forged buffer handles.
    let gone = new_buf::<f32>(&ex, 100);
    ex.destroy_buffer(gone).unwrap();
    let forged = BufferId(b100.0 ^ 0x5A5A_0000);
    for bad in [gone, forged] {
        expect_err(ex.run_builtin(&Builtin::copy(f, 10, bad, c100), PLAIN), ErrorKind::InvalidHandle);
        expect_err(ex.run_builtin(&Builtin::copy(f, 10, c100, bad), PLAIN), ErrorKind::InvalidHandle);
        expect_err(ex.run_builtin(&Builtin::reduce(BuiltinKind::Dot, f, 10, b100, bad, c100), PLAIN), ErrorKind::InvalidHandle);
        expect_err(ex.run_builtin(&gm(false, false, 4, 4, 4, mat(bad, 0, 4), m8(0, 4), m8(100, 4)), PLAIN), ErrorKind::InvalidHandle);
        expect_err(ex.run_builtin(&gm(false, false, 4, 4, 4, m8(0, 4), m8(100, 4), mat(bad, 0, 4)), PLAIN), ErrorKind::InvalidHandle);
    }
    // A GEMM tiling the device cannot run, or that breaks the kernel's divisibility.
    for dt in [f, d] {
        expect_err(ex.set_gemm_tile(dt, Some(tile(&[64, 64, 8, 6, 4]))), ErrorKind::Unsupported);
        expect_err(ex.set_gemm_tile(dt, Some(tile(&[512, 512, 32, 16, 16]))), ErrorKind::Unsupported);
        expect_err(ex.set_gemm_tile(dt, Some(tile(&[0, 64, 8, 4, 4]))), ErrorKind::Unsupported);
        // WARP_M must be a power of two dividing the threads along m.
        expect_err(ex.set_gemm_tile(dt, Some(tile(&[64, 64, 8, 4, 4, 3]))), ErrorKind::Unsupported);
        expect_err(ex.set_gemm_tile(dt, Some(tile(&[64, 64, 8, 4, 4, 32]))), ErrorKind::Unsupported);
        // Sizes whose products overflow 32 bits: refused, not a panic or a wrap.
        expect_err(ex.set_gemm_tile(dt, Some(tile(&[1 << 31, 64, 8, 4, 4]))), ErrorKind::Unsupported);
        expect_err(ex.set_gemm_tile(dt, Some(tile(&[1 << 31, 1 << 31, 1, 1 << 31, 1 << 31]))), ErrorKind::Unsupported);
    }
    // A buffer larger than the device binds (maxStorageBufferRange: 128 MiB on
    // lavapipe, 4 GiB - 1 on an H100): a plain Unsupported, whatever part of it
    // the op uses; a buffer of exactly the limit works.
    let range = ex.device_info().max_storage_buffer_range;
    match ex.create_buffer(range + 16, gpuasync::BufferKind::DeviceLocal) {
        Ok(big) => {
            let e = expect_err(ex.run_builtin(&Builtin::reduce(BuiltinKind::Sum, f, 16, big, big, c100), PLAIN), ErrorKind::Unsupported);
            assert!(e.message.contains("maxStorageBufferRange"), "{}", e.message);
            ex.destroy_buffer(big).unwrap();
            let edge = ex.create_buffer(range, gpuasync::BufferKind::DeviceLocal).unwrap();
            let t = ex.run_builtin(&Builtin::fill(f, 16, 1.0, edge), PLAIN).unwrap();
            assert!(ex.wait(t, u64::MAX).unwrap());
            ex.destroy_buffer(edge).unwrap();
        }
        // Only a device without that much memory gets here (not lavapipe, not an H100).
        Err(e) => eprintln!("no buffer of {} bytes on this device ({e}); the oversized-buffer check did not run", range + 16),
    }
    // Errors name the caller's op, not the position among expanded dispatches.
    let junk = [0u8; 16];
    let sum = Builtin::reduce(BuiltinKind::Sum, f, 100, b100, b100, c100);
    let e = expect_err(ex.submit(&[Op::Builtin(&sum), Op::Write { buffer: c100, offset: 1 << 20, data: &junk }], PLAIN), ErrorKind::OutOfRange);
    assert!(e.message.starts_with("op 1: "), "{}", e.message);
    still_works(&ex);
    let mut rng = Rng::new(6);
    run_gemms::<f32>(&ex, &mut rng, &[Gemm { alpha: 0.5, beta: 0.5, ..Gemm::new(true, false, 30, 20, 10) }], "after errors");
    assert_clean(&ex);
}

