//! Measurement invariants on real submissions: for a run of timed work, the
//! GPU time the GPU was busy (union of the spans) is at most the GPU span
//! (first begin to last end), which is at most the wall time the host saw
//! around the run with full synchronisation. The benchmark reports exactly
//! these three; if one could exceed the next, its utilisation figures would be
//! wrong.

mod common;

use common::*;
use gpuasync::Op;

fn union_ns(spans: &[(u64, u64)]) -> u64 {
    let mut v = spans.to_vec();
    v.sort_unstable();
    let mut total = 0;
    let mut cur: Option<(u64, u64)> = None;
    for (b, e) in v {
        cur = match cur {
            Some((cb, ce)) if b <= ce => Some((cb, ce.max(e))),
            Some((cb, ce)) => {
                total += ce - cb;
                Some((b, e))
            }
            None => Some((b, e)),
        };
    }
    total + cur.map_or(0, |(b, e)| e - b)
}

/// Runs `count` timed lcg dispatches of growing size (independent buffers, so
/// coalesced ones may overlap on the GPU), waiting (a) after each or (b) once,
/// and checks union <= span <= wall, and that every result is right.
fn check_run(wait_each: bool) {
    let ex = executor();
    let k = kernel(&ex, "lcg");
    let mut rng = Rng::new(if wait_each { 61 } else { 62 });
    let count = 8usize;
    let n = 1usize << 14;
    let inputs: Vec<Vec<u32>> = (0..count).map(|_| nonzero_u32s(&mut rng, n)).collect();
    let bufs: Vec<_> = (0..count).map(|_| buffer(&ex, n * 4)).collect();
    let mut outs = vec![vec![0u32; n]; count];
    let params: Vec<LcgParams> = (0..count).map(|i| LcgParams { n: n as u32, iterations: 50 * (i as u32 + 1) }).collect();
    // Uploads first, outside the timed run.
    for (b, input) in bufs.iter().zip(&inputs) {
        let t = ex.submit(&[Op::Write { buffer: *b, offset: 0, data: bytes(input) }], PLAIN).unwrap();
        assert!(ex.wait(t, u64::MAX).unwrap());
    }
    ex.wait_all().unwrap();
    let start = std::time::Instant::now();
    let mut tickets = Vec::new();
    for (i, b) in bufs.iter().enumerate() {
        let op = Op::Dispatch { kernel: k, buffers: std::slice::from_ref(b), push_constants: push(&params[i]), groups: groups(n, 64) };
        let t = ex.submit(&[op], TIMED).unwrap();
        if wait_each {
            assert!(ex.wait(t, u64::MAX).unwrap());
        }
        tickets.push(t);
    }
    assert!(ex.wait(*tickets.last().unwrap(), u64::MAX).unwrap());
    let wall = start.elapsed().as_nanos() as u64;
    let spans: Vec<(u64, u64)> = tickets
        .iter()
        .map(|&t| {
            let tm = ex.timing(t).unwrap();
            assert!(tm.gpu_end_ns >= tm.gpu_begin_ns, "{tm:?}");
            (tm.gpu_begin_ns, tm.gpu_end_ns)
        })
        .collect();
    let busy = union_ns(&spans);
    let span = spans.iter().map(|s| s.1).max().unwrap() - spans.iter().map(|s| s.0).min().unwrap();
    assert!(busy > 0, "no GPU time recorded: {spans:?}");
    assert!(busy <= span, "busy {busy} ns > span {span} ns: {spans:?}");
    assert!(span <= wall, "GPU span {span} ns > wall {wall} ns around the run: {spans:?}");
    for (i, (b, out)) in bufs.iter().zip(outs.iter_mut()).enumerate() {
        let t = ex.submit(&[read_op(*b, 0, out)], PLAIN).unwrap();
        assert!(ex.wait(t, u64::MAX).unwrap());
        assert_eq_all(out, &lcg_reference(&inputs[i], params[i].iterations), "lcg result");
    }
    assert_clean(&ex);
}

#[test]
fn busy_le_span_le_wall_waiting_after_each() {
    check_run(true);
}

#[test]
fn busy_le_span_le_wall_waiting_once() {
    check_run(false);
}

/// Per-op timestamps: every op of a submission gets a span; a kernel with 20x
/// the work takes longer; the spans follow one another inside the
/// submission's span; a built-in op counts as one op; without the flag there
/// are none.
#[test]
fn per_op_timings() {
    let ex = executor();
    let k = kernel(&ex, "lcg");
    let mut rng = Rng::new(63);
    let n = 1usize << 14;
    let input = nonzero_u32s(&mut rng, n);
    let b = buffer(&ex, n * 4);
    let x = buffer(&ex, n * 4);
    let r = buffer(&ex, 16);
    let xs: Vec<f32> = rng.f32s(n);
    let (short, long) = (LcgParams { n: n as u32, iterations: 100 }, LcgParams { n: n as u32, iterations: 2000 });
    fn lcg<'a>(k: gpuasync::KernelId, b: &'a gpuasync::BufferId, p: &'a LcgParams, n: usize) -> Op<'a> {
        Op::Dispatch { kernel: k, buffers: std::slice::from_ref(b), push_constants: push(p), groups: groups(n, 64) }
    }
    let sum = gpuasync::Builtin::reduce(gpuasync::BuiltinKind::Sum, gpuasync::DType::F32, n as u64, x, x, r);
    let mut out = vec![0u32; n];
    let mut total = [0f32; 1];
    let flags = gpuasync::SubmitFlags { op_timestamps: true, ..PLAIN };
    let ops = [
        Op::Write { buffer: b, offset: 0, data: bytes(&input) },
        Op::Write { buffer: x, offset: 0, data: bytes(&xs) },
        lcg(k, &b, &short, n),
        lcg(k, &b, &long, n),
        Op::Builtin(&sum),
        read_op(b, 0, &mut out),
        read_op(r, 0, &mut total),
    ];
    let t = ex.submit(&ops, flags).unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    let whole = ex.timing(t).expect("per-op timestamps imply submission timestamps");
    let spans: Vec<(u64, u64)> = (0..ops.len() as u32)
        .map(|i| {
            let tm = ex.op_timing(t, i).unwrap_or_else(|e| panic!("op {i}: {e}"));
            assert_eq!((tm.host_submit_ns, tm.host_complete_ns), (whole.host_submit_ns, whole.host_complete_ns));
            (tm.gpu_begin_ns, tm.gpu_end_ns)
        })
        .collect();
    for (i, &(b0, e0)) in spans.iter().enumerate() {
        assert!(b0 <= e0, "op {i}: {spans:?}");
        assert!(whole.gpu_begin_ns <= b0 && e0 <= whole.gpu_end_ns, "op {i} outside the submission {whole:?}: {spans:?}");
        if i > 0 {
            assert!(spans[i - 1].1 <= b0, "op {i} began before op {} ended: {spans:?}", i - 1);
        }
    }
    let (d_short, d_long) = (spans[2].1 - spans[2].0, spans[3].1 - spans[3].0);
    assert!(d_long > d_short, "20x the LCG steps took {d_long} ns, 1x took {d_short} ns");
    // The built-in sum (two dispatches) is one op; there is no op 7.
    assert!(spans[4].1 > spans[4].0, "{spans:?}");
    expect_err(ex.op_timing(t, ops.len() as u32), gpuasync::ErrorKind::NotFound);
    // Results are right too.
    assert_eq_all(&out, &lcg_reference(&lcg_reference(&input, 100), 2000), "lcg chain");
    let want: f64 = xs.iter().map(|&v| f64::from(v)).sum();
    assert!((f64::from(total[0]) - want).abs() <= 1e-3 * xs.iter().map(|v| f64::from(v.abs())).sum::<f64>(), "{} vs {want}", total[0]);
    // Without the flag: no per-op timing, only the submission's.
    let t2 = ex.submit(&[lcg(k, &b, &short, n)], TIMED).unwrap();
    assert!(ex.wait(t2, u64::MAX).unwrap());
    ex.timing(t2).unwrap();
    expect_err(ex.op_timing(t2, 0), gpuasync::ErrorKind::NotFound);
    assert_clean(&ex);
}
