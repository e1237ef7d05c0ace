//! Ordering across submissions without waits, and objects destroyed while their
//! work is in flight (including the executor itself).
mod common;
use common::*;
use gpuasync::Op;

#[test]
fn buffer_destroyed_while_in_flight() {
    let ex = executor();
    let k = kernel(&ex, "lcg");
    let mut rng = Rng::new(1);
    let input = nonzero_u32s(&mut rng, LONG_N);
    let want = lcg_reference(&input, long_iters(&ex));
    let b = buffer(&ex, LONG_N * 4);
    let mut out = vec![0u32; LONG_N];
    let p = LcgParams { n: LONG_N as u32, iterations: long_iters(&ex) };
    let t = ex
        .submit(
            &[
                Op::Write { buffer: b, offset: 0, data: bytes(&input) },
                Op::Dispatch { kernel: k, buffers: &[b], push_constants: push(&p), groups: groups(LONG_N, 64) },
                read_op(b, 0, &mut out),
            ],
            PLAIN,
        )
        .unwrap();
    ex.destroy_buffer(b).unwrap();
    assert!(!ex.poll(t).unwrap(), "the long kernel should still be running");
    // The handle is dead at once, though its memory lives on until the work is done.
    expect_err(ex.buffer_size(b), gpuasync::ErrorKind::InvalidHandle);
    // New buffers made meanwhile must not take the in-flight buffer's memory: fill
    // one (ordered after the kernel on the queue) and check both results.
    let fresh = buffer(&ex, LONG_N * 4);
    let v = rng.next_u32() | 1;
    let mut fresh_out = vec![0u32; LONG_N];
    let t2 = ex
        .submit(&[Op::Fill { buffer: fresh, offset: 0, size: gpuasync::WHOLE_SIZE, value: v }, read_op(fresh, 0, &mut fresh_out)], PLAIN)
        .unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    assert_eq_all(&out, &want, "lcg result read from a buffer destroyed in flight");
    assert!(ex.wait(t2, u64::MAX).unwrap());
    assert!(fresh_out.iter().all(|&x| x == v), "fill of a buffer created meanwhile");
    assert_clean(&ex);
}

#[test]
fn kernel_destroyed_while_in_flight() {
    let ex = executor();
    let k = kernel(&ex, "lcg");
    let mut rng = Rng::new(2);
    let input = nonzero_u32s(&mut rng, LONG_N);
    let want = lcg_reference(&input, long_iters(&ex));
    let b = buffer(&ex, LONG_N * 4);
    let mut out = vec![0u32; LONG_N];
    let p = LcgParams { n: LONG_N as u32, iterations: long_iters(&ex) };
    let t = ex
        .submit(
            &[
                Op::Write { buffer: b, offset: 0, data: bytes(&input) },
                Op::Dispatch { kernel: k, buffers: &[b], push_constants: push(&p), groups: groups(LONG_N, 64) },
                read_op(b, 0, &mut out),
            ],
            PLAIN,
        )
        .unwrap();
    ex.destroy_kernel(k).unwrap();
    assert!(!ex.poll(t).unwrap(), "the long kernel should still be running");
    expect_err(ex.kernel_interface(k), gpuasync::ErrorKind::InvalidHandle);
    // A new kernel built meanwhile works too.
    let k2 = kernel(&ex, "lcg");
    let small = nonzero_u32s(&mut rng, 100);
    let b2 = buffer(&ex, 400);
    let mut out2 = vec![0u32; 100];
    let p2 = LcgParams { n: 100, iterations: 17 };
    let t2 = ex
        .submit(
            &[
                Op::Write { buffer: b2, offset: 0, data: bytes(&small) },
                Op::Dispatch { kernel: k2, buffers: &[b2], push_constants: push(&p2), groups: groups(100, 64) },
                read_op(b2, 0, &mut out2),
            ],
            PLAIN,
        )
        .unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    assert_eq_all(&out, &want, "lcg result of a kernel destroyed in flight");
    assert!(ex.wait(t2, u64::MAX).unwrap());
    assert_eq_all(&out2, &lcg_reference(&small, 17), "kernel created meanwhile");
    assert_clean(&ex);
}

/// A chain of 200 submissions, each `dst = src * a + b` ping-ponging between two
/// buffers with random `a`, `b` per step, with no wait until the end.
///
/// Tolerance: the GPU may contract `src*a+b` into an FMA (one rounding instead of
/// two), so the host's two-rounding f32 reference can differ by up to one ulp of
/// the result per step. With |a| <= 3/4 an earlier difference shrinks by at least
/// 3/4 per step, so the accumulated difference is below ulp(max|v|) / (1 - 3/4)
/// = 4 ulp(max|v|). Values stay below 1/(1-3/4) + max|v0| = 5 in magnitude
/// (ulp(5) = 2^-21), so 1e-5 (> 4 * 2^-21 ~ 1.9e-6, with margin) bounds the
/// honest difference, while one step read out of order changes a value by
/// O(|b|) ~ 0.5.
#[test]
fn chain_of_200_submissions_ping_pong() {
    let ex = executor();
    let k = kernel(&ex, "scale_add");
    let mut rng = Rng::new(3);
    let n = 1000usize;
    let x0 = rng.f32s(n).into_iter().map(|v| if v == 0.0 { 0.25 } else { v }).collect::<Vec<_>>();
    let bufs = [buffer(&ex, n * 4), buffer(&ex, n * 4)];
    let t0 = ex.submit(&[Op::Write { buffer: bufs[0], offset: 0, data: bytes(&x0) }], PLAIN).unwrap();
    let mut want = x0.clone();
    let mut last = t0;
    for step in 0..200 {
        // a in [1/4, 3/4] with a random sign, b in [-1, 1) and nonzero.
        let mag = 0.25 + 0.5 * (rng.f32() + 1.0) / 2.0;
        let a = if rng.next_u32() & 1 == 0 { mag } else { -mag };
        let b = loop {
            let b = rng.f32();
            if b != 0.0 {
                break b;
            }
        };
        let (src, dst) = (bufs[step % 2], bufs[(step + 1) % 2]);
        let p = ScaleAddParams { a, b, n: n as u32 };
        let t = ex
            .submit(&[Op::Dispatch { kernel: k, buffers: &[src, dst], push_constants: push(&p), groups: groups(n, 64) }], PLAIN)
            .unwrap();
        assert_eq!(t, last + 1);
        last = t;
        for v in &mut want {
            *v = *v * a + b;
        }
    }
    // 200 steps end in bufs[0].
    let mut out = vec![f32::NAN; n];
    let t = ex.submit(&[read_op(bufs[0], 0, &mut out)], PLAIN).unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    let worst = (0..n).map(|i| (out[i] - want[i]).abs()).fold(0f32, f32::max);
    for i in 0..n {
        assert!(
            (out[i] - want[i]).abs() <= 1e-5,
            "element {i}: GPU {} vs host {} (worst difference {worst})",
            out[i],
            want[i]
        );
    }
    assert!(want.iter().all(|v| v.abs() <= 5.0));
    assert_clean(&ex);
}

/// Submission 1 reads A (scale_add A -> B); submission 2 overwrites A; no wait in
/// between. B must be computed from the old A. A is large so the kernel is still
/// reading when the second submission arrives.
#[test]
fn write_after_read_across_submissions() {
    let ex = executor();
    let k = kernel(&ex, "scale_add");
    let mut rng = Rng::new(4);
    let n = 1usize << 18;
    // Exact inputs (k/2^8 with |k| <= 2^10; a = 3/4 exactly, b = k/2^4): the
    // result is exact with or without FMA contraction.
    let old_a = exact_f32s(&mut rng, n, 1024, 8);
    let new_a = exact_f32s(&mut rng, n, 1024, 8);
    let (a, b) = (0.75f32, exact_f32s(&mut rng, 1, 64, 4)[0]);
    let ba = buffer(&ex, n * 4);
    let bb = buffer(&ex, n * 4);
    let p = ScaleAddParams { a, b, n: n as u32 };
    let t1 = ex
        .submit(
            &[
                Op::Write { buffer: ba, offset: 0, data: bytes(&old_a) },
                Op::Dispatch { kernel: k, buffers: &[ba, bb], push_constants: push(&p), groups: groups(n, 64) },
            ],
            PLAIN,
        )
        .unwrap();
    let t2 = ex.submit(&[Op::Write { buffer: ba, offset: 0, data: bytes(&new_a) }], PLAIN).unwrap();
    let mut out_b = vec![f32::NAN; n];
    let mut out_a = vec![f32::NAN; n];
    let t3 = ex.submit(&[read_op(bb, 0, &mut out_b), read_op(ba, 0, &mut out_a)], PLAIN).unwrap();
    assert_eq!((t2, t3), (t1 + 1, t1 + 2));
    assert!(ex.wait(t3, u64::MAX).unwrap());
    let want_b: Vec<f32> = old_a.iter().map(|x| x * a + b).collect();
    let from_new: Vec<f32> = new_a.iter().map(|x| x * a + b).collect();
    assert_ne!(want_b, from_new);
    assert_eq_all(&out_b, &want_b, "B from the old A");
    assert_eq_all(&out_a, &new_a, "A after the second write");
    assert_clean(&ex);
}

/// Dropping the executor with work in flight waits for it and delivers its reads.
/// Validation is checked just before the drop (messages during teardown, if any,
/// are printed by the library's callback but can no longer be counted).
#[test]
fn executor_dropped_with_work_in_flight() {
    let ex = executor();
    let k = kernel(&ex, "lcg");
    let mut rng = Rng::new(5);
    let input = nonzero_u32s(&mut rng, LONG_N);
    let want = lcg_reference(&input, long_iters(&ex));
    let b = buffer(&ex, LONG_N * 4);
    let sentinel = nonzero_u32s(&mut rng, LONG_N);
    let mut out = sentinel.clone();
    let mut out2 = sentinel.clone();
    let p = LcgParams { n: LONG_N as u32, iterations: long_iters(&ex) };
    let t = ex
        .submit(
            &[
                Op::Write { buffer: b, offset: 0, data: bytes(&input) },
                Op::Dispatch { kernel: k, buffers: &[b], push_constants: push(&p), groups: groups(LONG_N, 64) },
                read_op(b, 0, &mut out),
            ],
            PLAIN,
        )
        .unwrap();
    // A second submission depending on the first, also in flight at the drop.
    let t2 = ex.submit(&[read_op(b, 0, &mut out2)], PLAIN).unwrap();
    assert_eq!(t2, t + 1);
    assert!(!ex.poll(t).unwrap(), "the long kernel should still be running");
    assert_clean(&ex);
    drop(ex);
    assert_eq_all(&out, &want, "read delivered by the executor's drop");
    assert_eq_all(&out2, &want, "second read delivered by the executor's drop");
}
