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
