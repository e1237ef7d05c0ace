//! Recorded batches: replayed many times with changing push constants, checked
//! against a host reference; misuse gives clear errors.

mod common;
use common::*;
use gpuasync::{ErrorKind, Op, PushUpdate, SubmitFlags};

/// A batch of two dependent scale_add dispatches (A -> B, B -> A) replayed 1000
/// times; each replay gets new (a, b) for both. Powers of two and small integers
/// keep every value exact in f32, so the reference is exact.
#[test]
fn replay_1000_times_with_changing_push_constants() {
    let ex = executor();
    let k = kernel(&ex, "scale_add");
    let n = 256usize;
    let mut rng = Rng::new(0xBA7C);
    let x0: Vec<f32> = (0..n).map(|_| (rng.next_u32() % 64) as f32 + 1.0).collect();
    let (a, b) = (buffer(&ex, n * 4), buffer(&ex, n * 4));
    let t = ex.submit(&[Op::Write { buffer: a, offset: 0, data: bytes(&x0) }], PLAIN).unwrap();
    let first = ScaleAddParams { a: 1.0, b: 0.0, n: n as u32 };
    let batch = ex
        .create_batch(&[
            Op::Dispatch { kernel: k, buffers: &[a, b], push_constants: push(&first), groups: groups(n, 64) },
            Op::Dispatch { kernel: k, buffers: &[b, a], push_constants: push(&first), groups: groups(n, 64) },
        ])
        .unwrap();
    let mut want = x0.clone();
    let mut last = t;
    for i in 0..1000 {
        // Alternate doubling/halving with small integer offsets: values stay small
        // integers or halves, exact in f32.
        let (a1, b1) = if i % 2 == 0 { (2.0f32, (rng.next_u32() % 8) as f32) } else { (0.5f32, 0.0) };
        let (a2, b2) = (1.0f32, -((rng.next_u32() % 4) as f32));
        let p1 = ScaleAddParams { a: a1, b: b1, n: n as u32 };
        let p2 = ScaleAddParams { a: a2, b: b2, n: n as u32 };
        let updates = [PushUpdate { op: 0, push_constants: push(&p1) }, PushUpdate { op: 1, push_constants: push(&p2) }];
        let t = ex.replay(batch, &updates, PLAIN).unwrap();
        assert_eq!(t, last + 1, "replays take consecutive tickets");
        last = t;
        for v in want.iter_mut() {
            *v = (*v * a1 + b1) * a2 + b2;
        }
    }
    let mut out = vec![f32::NAN; n];
    let t = ex.submit(&[read_op(a, 0, &mut out)], PLAIN).unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    assert_eq_all(&out, &want, "after 1000 replays");
    ex.destroy_batch(batch).unwrap();
    assert_clean(&ex);
}

/// Replays without push updates reuse the recorded command buffer; a replay's
/// timing is reported like any submission's; submissions around replays are
/// ordered by their buffers.
#[test]
fn replays_interleave_with_submissions_and_report_timing() {
    let ex = executor();
    let k = kernel(&ex, "scale_add");
    let n = 100usize;
    let mut rng = Rng::new(5);
    let x0: Vec<f32> = (0..n).map(|_| (rng.next_u32() % 100) as f32).collect();
    let (a, b) = (buffer(&ex, n * 4), buffer(&ex, n * 4));
    let p = ScaleAddParams { a: 1.0, b: 3.0, n: n as u32 };
    let batch = ex
        .create_batch(&[Op::Dispatch { kernel: k, buffers: &[a, b], push_constants: push(&p), groups: groups(n, 64) }])
        .unwrap();
    let back = ScaleAddParams { a: 1.0, b: -1.0, n: n as u32 };
    ex.submit(&[Op::Write { buffer: a, offset: 0, data: bytes(&x0) }], PLAIN).unwrap();
    let mut want = x0.clone();
    let mut timed = 0;
    for i in 0..50 {
        // replay: b = a + 3; submit: a = b - 1  => a grows by 2 each round.
        let t = ex.replay(batch, &[], if i % 10 == 0 { TIMED } else { PLAIN }).unwrap();
        if i % 10 == 0 {
            timed = t;
        }
        ex.submit(&[Op::Dispatch { kernel: k, buffers: &[b, a], push_constants: push(&back), groups: groups(n, 64) }], PLAIN)
            .unwrap();
        want.iter_mut().for_each(|v| *v += 2.0);
    }
    let mut out = vec![f32::NAN; n];
    let t = ex.submit(&[read_op(a, 0, &mut out)], PLAIN).unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    assert_eq_all(&out, &want, "replays interleaved with submissions");
    let timing = ex.timing(timed).unwrap();
    assert!(timing.gpu_end_ns >= timing.gpu_begin_ns);
    assert!(timing.host_complete_ns >= timing.host_submit_ns);
    assert_clean(&ex);
}

#[test]
fn batch_misuse_is_a_clear_error() {
    let ex = executor();
    let k = kernel(&ex, "scale_add");
    let lcg_k = kernel(&ex, "lcg");
    let n = 64usize;
    let (a, b) = (buffer(&ex, n * 4), buffer(&ex, n * 4));
    let data = vec![1.5f32; n];
    let mut out = vec![0f32; n];
    let p = ScaleAddParams { a: 2.0, b: 1.0, n: n as u32 };
    let dispatch = Op::Dispatch { kernel: k, buffers: &[a, b], push_constants: push(&p), groups: groups(n, 64) };

    expect_err(ex.create_batch(&[Op::Write { buffer: a, offset: 0, data: bytes(&data) }]), ErrorKind::InvalidArgument);
    expect_err(ex.create_batch(&[dispatch, read_op(b, 0, &mut out)]), ErrorKind::InvalidArgument);
    let bad = Op::Dispatch { kernel: k, buffers: &[a], push_constants: push(&p), groups: [1, 1, 1] };
    expect_err(ex.create_batch(&[bad]), ErrorKind::KernelMismatch);

    let batch = ex.create_batch(&[Op::Fill { buffer: a, offset: 0, size: 16, value: 7 }, dispatch]).unwrap();
    let short = [0u8; 4];
    expect_err(ex.replay(batch, &[PushUpdate { op: 1, push_constants: &short }], PLAIN), ErrorKind::KernelMismatch);
    expect_err(ex.replay(batch, &[PushUpdate { op: 0, push_constants: push(&p) }], PLAIN), ErrorKind::InvalidArgument);
    expect_err(ex.replay(batch, &[PushUpdate { op: 9, push_constants: push(&p) }], PLAIN), ErrorKind::InvalidArgument);
    expect_err(ex.replay(gpuasync::BatchId(a.0), &[], PLAIN), ErrorKind::InvalidHandle);

    // One replay in flight: with no_block, a second replay is WouldBlock while a
    // long kernel keeps the first one waiting.
    let iters = long_iters(&ex);
    let bl = buffer(&ex, LONG_N * 4);
    let lp = LcgParams { n: LONG_N as u32, iterations: iters };
    let long = ex.submit(&[Op::Dispatch { kernel: lcg_k, buffers: &[bl], push_constants: push(&lp), groups: groups(LONG_N, 64) }], PLAIN).unwrap();
    let r1 = ex.replay(batch, &[], PLAIN).unwrap();
    let nb = SubmitFlags { no_block: true, ..PLAIN };
    expect_err(ex.replay(batch, &[], nb), ErrorKind::WouldBlock);
    let r2 = ex.replay(batch, &[], PLAIN).unwrap();
    assert_eq!((r1, r2), (long + 1, long + 2), "a refused replay takes no ticket");
    assert!(ex.wait(r2, u64::MAX).unwrap());

    // A batch whose buffer was destroyed cannot replay.
    ex.destroy_buffer(b).unwrap();
    expect_err(ex.replay(batch, &[], PLAIN), ErrorKind::InvalidHandle);
    // Destroying a batch with a replay in flight is deferred; its handle dies at once.
    let batch2 = ex.create_batch(&[Op::Fill { buffer: a, offset: 0, size: 16, value: 9 }]).unwrap();
    let long2 = ex.submit(&[Op::Dispatch { kernel: lcg_k, buffers: &[bl], push_constants: push(&lp), groups: groups(LONG_N, 64) }], PLAIN).unwrap();
    let r3 = ex.replay(batch2, &[], PLAIN).unwrap();
    ex.destroy_batch(batch2).unwrap();
    expect_err(ex.replay(batch2, &[], PLAIN), ErrorKind::InvalidHandle);
    assert!(ex.wait(r3, u64::MAX).unwrap() && long2 < r3);
    let mut words = vec![0u32; 4];
    let t = ex.submit(&[read_op(a, 0, &mut words)], PLAIN).unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    assert_eq!(words, vec![9; 4], "the deferred batch still ran");
    assert_clean(&ex);
}

/// A batch that writes a host-visible buffer: after its replay completes the
/// host sees the data through the mapping (the replay ends with a barrier to the
/// host, as submissions do).
#[test]
fn batch_writes_reach_a_mapped_buffer() {
    let ex = executor();
    let k = kernel(&ex, "scale_add");
    let n = 512usize;
    let mut rng = Rng::new(77);
    let x: Vec<f32> = (0..n).map(|_| (rng.next_u32() % 1000) as f32).collect();
    let src = buffer(&ex, n * 4);
    let dst = ex.create_buffer((n * 4) as u64, gpuasync::BufferKind::HostVisible).unwrap();
    let mapped = ex.buffer_mapped_ptr(dst).unwrap().cast::<f32>();
    ex.submit(&[Op::Write { buffer: src, offset: 0, data: bytes(&x) }], PLAIN).unwrap();
    let p = ScaleAddParams { a: 2.0, b: 1.0, n: n as u32 };
    let batch = ex
        .create_batch(&[Op::Dispatch { kernel: k, buffers: &[src, dst], push_constants: push(&p), groups: groups(n, 64) }])
        .unwrap();
    for round in 0..3 {
        let b = round as f32;
        let p = ScaleAddParams { a: 2.0, b, n: n as u32 };
        let t = ex.replay(batch, &[PushUpdate { op: 0, push_constants: push(&p) }], PLAIN).unwrap();
        assert!(ex.wait(t, u64::MAX).unwrap());
        // SAFETY: the mapping holds n floats and no work on `dst` is in flight.
        let got = unsafe { std::slice::from_raw_parts(mapped, n) }.to_vec();
        let want: Vec<f32> = x.iter().map(|v| v * 2.0 + b).collect();
        assert_eq_all(&got, &want, "host-visible output of a replay");
    }
    assert_clean(&ex);
}
