//! The core contract: kernels compute the right thing, tickets, poll, wait,
//! timeouts, mapped buffers, fill/copy, specialization constants, timings, and
//! proof that the validation layer is really on.
mod common;
use common::*;
use gpuasync::{BufferKind, ErrorKind, Executor, Op, SpecConstant, WHOLE_SIZE};

/// One saxpy of `n` elements, each step as its own submission or all in one.
/// Inputs are exact (see `exact_f32s`): `a*x+y` is then exact in f32, so a GPU
/// that fuses it into an FMA gives the same bits as the host, and the comparison
/// can be exact.
fn saxpy(ex: &Executor, n: usize, seed: u64, separate: bool) {
    let mut rng = Rng::new(seed);
    let k = kernel(ex, "saxpy");
    let x = exact_f32s(&mut rng, n, 1024, 8);
    let y = exact_f32s(&mut rng, n, 1 << 16, 12);
    let a = exact_f32s(&mut rng, 1, 64, 4)[0];
    let want: Vec<f32> = x.iter().zip(&y).map(|(x, y)| a * x + y).collect();
    // Inputs are nonzero and `a != 0`, so the result differs from `y` somewhere.
    assert!(want.iter().zip(&y).any(|(w, y)| w != y));
    let bx = buffer(ex, n * 4);
    let by = buffer(ex, n * 4);
    let mut out = vec![f32::NAN; n];
    let p = SaxpyParams { a, n: n as u32 };
    let ops = [
        Op::Write { buffer: bx, offset: 0, data: bytes(&x) },
        Op::Write { buffer: by, offset: 0, data: bytes(&y) },
        Op::Dispatch { kernel: k, buffers: &[bx, by], push_constants: push(&p), groups: groups(n, 64) },
        read_op(by, 0, &mut out),
    ];
    let last = if separate {
        // Write, dispatch and read as three submissions, with no wait between them:
        // the executor must order them through the buffers they share.
        let t1 = ex.submit(&ops[..2], PLAIN).unwrap();
        let t2 = ex.submit(&ops[2..3], PLAIN).unwrap();
        let t3 = ex.submit(&ops[3..], PLAIN).unwrap();
        assert_eq!((t2, t3), (t1 + 1, t1 + 2), "tickets grow by one per submission");
        t3
    } else {
        ex.submit(&ops, PLAIN).unwrap()
    };
    assert!(ex.wait(last, u64::MAX).unwrap());
    assert_eq_all(&out, &want, &format!("saxpy n={n} separate={separate}"));
    ex.destroy_buffer(bx).unwrap();
    ex.destroy_buffer(by).unwrap();
    ex.destroy_kernel(k).unwrap();
}

#[test]
fn saxpy_sizes_one_submission() {
    let ex = executor();
    for (i, n) in [1usize, 63, 64, 65, 4097, 1 << 20].into_iter().enumerate() {
        saxpy(&ex, n, 100 + i as u64, false);
    }
    assert_clean(&ex);
}

#[test]
fn saxpy_sizes_separate_submissions_without_waits() {
    let ex = executor();
    for (i, n) in [1usize, 63, 64, 65, 4097, 1 << 20].into_iter().enumerate() {
        saxpy(&ex, n, 200 + i as u64, true);
    }
    assert_clean(&ex);
}

/// Submit the long lcg over random data with a read of the result into `out`.
fn submit_long_lcg(ex: &Executor, k: gpuasync::KernelId, b: gpuasync::BufferId, input: &[u32], out: &mut [u32], iterations: u32, flags: gpuasync::SubmitFlags) -> u64 {
    let p = LcgParams { n: input.len() as u32, iterations };
    ex.submit(
        &[
            Op::Write { buffer: b, offset: 0, data: bytes(input) },
            Op::Dispatch { kernel: k, buffers: &[b], push_constants: push(&p), groups: groups(input.len(), 64) },
            read_op(b, 0, out),
        ],
        flags,
    )
    .unwrap()
}

#[test]
fn poll_is_false_then_true_and_stays_true() {
    let ex = executor();
    let k = kernel(&ex, "lcg");
    let mut rng = Rng::new(3);
    let input = nonzero_u32s(&mut rng, LONG_N);
    let want = lcg_reference(&input, long_iters(&ex));
    let b = buffer(&ex, LONG_N * 4);
    let mut out = vec![0u32; LONG_N];
    let t = submit_long_lcg(&ex, k, b, &input, &mut out, long_iters(&ex), PLAIN);
    assert!(!ex.poll(t).unwrap(), "a ~0.5 s kernel polled right after submit is not complete");
    assert!(!ex.poll(t).unwrap(), "polling does not consume or complete the ticket");
    poll_until_done(&ex, t);
    for _ in 0..5 {
        assert!(ex.poll(t).unwrap(), "poll after completion stays true");
    }
    assert!(ex.wait(t, 0).unwrap(), "wait after completion is true at once");
    assert_eq_all(&out, &want, "lcg read delivered by poll");
    assert_clean(&ex);
}

#[test]
fn wait_timeouts_then_wait_forever() {
    let ex = executor();
    let k = kernel(&ex, "lcg");
    let mut rng = Rng::new(4);
    let input = nonzero_u32s(&mut rng, LONG_N);
    let want = lcg_reference(&input, long_iters(&ex));
    let b = buffer(&ex, LONG_N * 4);
    let mut out = vec![0u32; LONG_N];
    let t = submit_long_lcg(&ex, k, b, &input, &mut out, long_iters(&ex), PLAIN);
    assert_eq!(ex.wait(t, 0), Ok(false), "timeout 0 on a long kernel");
    assert_eq!(ex.wait(t, 1_000_000), Ok(false), "timeout 1 ms on a long kernel");
    assert!(!ex.poll(t).unwrap(), "a timed-out wait leaves the ticket incomplete");
    assert_eq!(ex.wait(t, u64::MAX), Ok(true));
    assert_eq_all(&out, &want, "lcg read delivered by wait");
    assert!(ex.poll(t).unwrap());
    assert_clean(&ex);
}

#[test]
fn ticket_zero_is_complete_and_unissued_tickets_are_errors() {
    let ex = executor();
    // Before anything is submitted.
    assert_eq!(ex.poll(0), Ok(true));
    assert_eq!(ex.wait(0, 0), Ok(true));
    assert_eq!(ex.wait(0, u64::MAX), Ok(true));
    expect_err(ex.poll(1), ErrorKind::InvalidArgument);
    expect_err(ex.wait(1, 0), ErrorKind::InvalidArgument);
    expect_err(ex.wait(u64::MAX, 0), ErrorKind::InvalidArgument);
    expect_err(ex.timing(1), ErrorKind::InvalidArgument);

    let t = saxpy_check(&ex, 100, 5);
    assert!(t >= 1);
    assert_eq!(ex.poll(0), Ok(true));
    assert_eq!(ex.wait(0, 0), Ok(true));
    assert_eq!(ex.poll(t), Ok(true));
    expect_err(ex.poll(t + 1), ErrorKind::InvalidArgument);
    expect_err(ex.wait(t + 1, 1_000_000), ErrorKind::InvalidArgument);
    expect_err(ex.wait(t + 1000, u64::MAX), ErrorKind::InvalidArgument);
    expect_err(ex.timing(t + 1), ErrorKind::InvalidArgument);
    // The error changed nothing: the next submission gets the next ticket.
    let t2 = saxpy_check(&ex, 100, 6);
    assert_eq!(t2, t + 1);
    assert_clean(&ex);
}

#[test]
fn host_visible_buffer_mapped_pointer() {
    let ex = executor();
    let k = kernel(&ex, "saxpy");
    let n = 1000usize;
    let mut rng = Rng::new(7);
    let x = exact_f32s(&mut rng, n, 1024, 8);
    let y = exact_f32s(&mut rng, n, 1 << 16, 12);
    let a = exact_f32s(&mut rng, 1, 64, 4)[0];
    let want: Vec<f32> = x.iter().zip(&y).map(|(x, y)| a * x + y).collect();
    let bx = ex.create_buffer((n * 4) as u64, BufferKind::HostVisible).unwrap();
    let by = ex.create_buffer((n * 4) as u64, BufferKind::Readback).unwrap();
    let px = ex.buffer_mapped_ptr(bx).unwrap();
    let py = ex.buffer_mapped_ptr(by).unwrap();
    assert!(!px.is_null() && !py.is_null());
    // x through the mapping (no work in flight), y through a write op.
    // SAFETY: the mapping is n*4 bytes and no GPU work uses the buffer yet.
    unsafe { std::ptr::copy_nonoverlapping(x.as_ptr().cast::<u8>(), px, n * 4) };
    let p = SaxpyParams { a, n: n as u32 };
    let t = ex
        .submit(
            &[
                Op::Write { buffer: by, offset: 0, data: bytes(&y) },
                Op::Dispatch { kernel: k, buffers: &[bx, by], push_constants: push(&p), groups: groups(n, 64) },
            ],
            PLAIN,
        )
        .unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    let mut got = vec![0f32; n];
    // SAFETY: the work that used the buffer is complete.
    unsafe { std::ptr::copy_nonoverlapping(py.cast_const(), got.as_mut_ptr().cast::<u8>(), n * 4) };
    assert_eq_all(&got, &want, "saxpy result seen through the mapped pointer");
    // And the mapped pointer is stable.
    assert_eq!(ex.buffer_mapped_ptr(by).unwrap(), py);
    assert_clean(&ex);
}

#[test]
fn fill_and_copy() {
    let ex = executor();
    let mut rng = Rng::new(8);
    // 4n + 2 bytes: a WHOLE_SIZE fill covers the largest multiple of 4 and leaves
    // the last two bytes alone.
    let n = 777usize;
    let bytes_len = n * 4 + 2;
    let init: Vec<u8> = (0..bytes_len).map(|_| (rng.next_u32() as u8) | 1).collect();
    let src_data = nonzero_u32s(&mut rng, n);
    let (v1, v2) = (rng.next_u32() | 1, rng.next_u32() | 2);
    let a = ex.create_buffer(bytes_len as u64, BufferKind::DeviceLocal).unwrap();
    let b = ex.create_buffer(bytes_len as u64, BufferKind::DeviceLocal).unwrap();
    let c = buffer(&ex, n * 4);

    // Partial fill of `a` at [64, 64+400) bytes.
    let mut got_a = vec![0u8; bytes_len];
    let t = ex
        .submit(
            &[
                Op::Write { buffer: a, offset: 0, data: &init },
                Op::Fill { buffer: a, offset: 64, size: 400, value: v1 },
                read_op(a, 0, &mut got_a),
            ],
            PLAIN,
        )
        .unwrap();
    // WHOLE_SIZE fill of `b`, and a fill with WHOLE_SIZE from an offset of `c`.
    let mut got_b = vec![0u8; bytes_len];
    let mut got_c = vec![0u32; n];
    let t2 = ex
        .submit(
            &[
                Op::Write { buffer: b, offset: 0, data: &init },
                Op::Fill { buffer: b, offset: 0, size: WHOLE_SIZE, value: v2 },
                read_op(b, 0, &mut got_b),
                Op::Write { buffer: c, offset: 0, data: bytes(&src_data) },
                Op::Fill { buffer: c, offset: 40, size: WHOLE_SIZE, value: v1 },
                read_op(c, 0, &mut got_c),
            ],
            PLAIN,
        )
        .unwrap();
    assert!(ex.wait(t2, u64::MAX).unwrap());
    assert!(ex.poll(t).unwrap());

    let mut want_a = init.clone();
    for w in want_a[64..464].chunks_mut(4) {
        w.copy_from_slice(&v1.to_ne_bytes());
    }
    assert_eq_all(&got_a, &want_a, "partial fill");
    let mut want_b = init.clone();
    for w in want_b[..n * 4].chunks_mut(4) {
        w.copy_from_slice(&v2.to_ne_bytes());
    }
    assert_eq_all(&got_b, &want_b, "WHOLE_SIZE fill");
    let mut want_c = src_data.clone();
    want_c[10..].fill(v1);
    assert_eq_all(&got_c, &want_c, "WHOLE_SIZE fill from an offset");

    // Copies: between buffers at offsets, and within one buffer (disjoint regions).
    let d = buffer(&ex, n * 4);
    let src2 = nonzero_u32s(&mut rng, n);
    let dst_init = nonzero_u32s(&mut rng, n);
    let mut got_d = vec![0u32; n];
    let mut got_c2 = vec![0u32; n];
    let t3 = ex
        .submit(
            &[
                Op::Write { buffer: c, offset: 0, data: bytes(&src2) },
                Op::Write { buffer: d, offset: 0, data: bytes(&dst_init) },
                // d[100..400] = c[7..307]
                Op::Copy { src: c, src_offset: 7 * 4, dst: d, dst_offset: 100 * 4, size: 300 * 4 },
                // c[500..700] = c[0..200] (same buffer, no overlap)
                Op::Copy { src: c, src_offset: 0, dst: c, dst_offset: 500 * 4, size: 200 * 4 },
                read_op(d, 0, &mut got_d),
                read_op(c, 0, &mut got_c2),
            ],
            PLAIN,
        )
        .unwrap();
    assert!(ex.wait(t3, u64::MAX).unwrap());
    let mut want_d = dst_init.clone();
    want_d[100..400].copy_from_slice(&src2[7..307]);
    assert_eq_all(&got_d, &want_d, "copy between buffers");
    let mut want_c2 = src2.clone();
    want_c2.copy_within(0..200, 500);
    assert_eq_all(&got_c2, &want_c2, "copy within a buffer");
    assert_clean(&ex);
}

#[test]
fn specialization_constants() {
    let ex = executor();
    let mut rng = Rng::new(9);
    let value = rng.next_u32() | 1;
    let k = ex
        .create_kernel(&spirv("spec_fill"), "main", &[SpecConstant { id: 0, value: 32 }, SpecConstant { id: 1, value }])
        .unwrap();
    let iface = ex.kernel_interface(k).unwrap();
    assert_eq!(iface.local_size, [32, 1, 1]);
    assert_eq!(iface.push_constant_size, 4);
    assert_eq!(iface.bindings.len(), 1);
    assert!(iface.bindings[0].write);

    // 1000 elements in ceil(1000/32) = 32 groups: only a workgroup of 32 covers them.
    let n = 1000usize;
    let sentinel = nonzero_u32s(&mut rng, n);
    let b = buffer(&ex, n * 4);
    let mut out = vec![0u32; n];
    let pn = n as u32;
    let t = ex
        .submit(
            &[
                Op::Write { buffer: b, offset: 0, data: bytes(&sentinel) },
                Op::Dispatch { kernel: k, buffers: &[b], push_constants: push(&pn), groups: groups(n, 32) },
                read_op(b, 0, &mut out),
            ],
            PLAIN,
        )
        .unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    let want: Vec<u32> = (0..n as u32).map(|i| value.wrapping_add(i)).collect();
    assert_eq_all(&out, &want, "spec_fill out[i] = value + i");

    // Without specialization the defaults apply: local size 1, value 7.
    let k1 = ex.create_kernel(&spirv("spec_fill"), "main", &[]).unwrap();
    assert_eq!(ex.kernel_interface(k1).unwrap().local_size, [1, 1, 1]);
    let m = 100usize;
    let mut out1 = vec![0u32; m];
    let pm = m as u32;
    let t = ex
        .submit(
            &[
                Op::Dispatch { kernel: k1, buffers: &[b], push_constants: push(&pm), groups: [m as u32, 1, 1] },
                read_op(b, 0, &mut out1),
            ],
            PLAIN,
        )
        .unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    let want1: Vec<u32> = (0..m as u32).map(|i| 7 + i).collect();
    assert_eq_all(&out1, &want1, "spec_fill with default constants");
    assert_clean(&ex);
}

#[test]
fn timing_records() {
    let ex = executor();
    assert!(ex.device_info().timestamps, "lavapipe writes timestamps; this test needs them");
    let k = kernel(&ex, "lcg");
    let mut rng = Rng::new(10);

    // Incomplete: NotReady (the long kernel, timed).
    let input = nonzero_u32s(&mut rng, LONG_N);
    let b = buffer(&ex, LONG_N * 4);
    let mut out = vec![0u32; LONG_N];
    let long = submit_long_lcg(&ex, k, b, &input, &mut out, long_iters(&ex), TIMED);
    expect_err(ex.timing(long), ErrorKind::NotReady);
    assert!(ex.wait(long, u64::MAX).unwrap());
    assert_eq_all(&out, &lcg_reference(&input, long_iters(&ex)), "long lcg");
    let tl = ex.timing(long).unwrap();
    assert!(tl.gpu_end_ns >= tl.gpu_begin_ns, "{tl:?}");
    assert!(tl.host_complete_ns >= tl.host_submit_ns, "{tl:?}");
    assert!(tl.gpu_ns() > 0, "a ~0.5 s kernel took no GPU time: {tl:?}");

    // Untimed: NotFound, also after completion.
    let n = 4096usize;
    let small = nonzero_u32s(&mut rng, n);
    let bs = buffer(&ex, n * 4);
    let mut o1 = vec![0u32; n];
    let untimed = submit_long_lcg(&ex, k, bs, &small, &mut o1, 10, PLAIN);
    assert!(ex.wait(untimed, u64::MAX).unwrap());
    expect_err(ex.timing(untimed), ErrorKind::NotFound);
    expect_err(ex.timing(0), ErrorKind::NotFound);
    assert_eq_all(&o1, &lcg_reference(&small, 10), "untimed lcg");

    // More work takes more GPU time: 10x the iterations (about 11 ms vs 110 ms
    // on lavapipe; the comparison holds with a wide margin of noise).
    let base = 300u32;
    let big_n = 1usize << 16;
    let data = nonzero_u32s(&mut rng, big_n);
    let mut o2b = vec![0u32; big_n];
    let mut o3b = vec![0u32; big_n];
    let t_short = submit_long_lcg(&ex, k, b, &data, &mut o2b, base, TIMED);
    let t_long = submit_long_lcg(&ex, k, b, &data, &mut o3b, base * 10, TIMED);
    assert!(ex.wait(t_long, u64::MAX).unwrap());
    assert!(ex.poll(t_short).unwrap());
    let (ts, tlong) = (ex.timing(t_short).unwrap(), ex.timing(t_long).unwrap());
    for t in [ts, tlong] {
        assert!(t.gpu_end_ns >= t.gpu_begin_ns, "{t:?}");
        assert!(t.host_complete_ns >= t.host_submit_ns, "{t:?}");
    }
    assert!(tlong.host_submit_ns >= ts.host_submit_ns, "{ts:?} then {tlong:?}");
    assert!(
        tlong.gpu_ns() > ts.gpu_ns(),
        "10x the iterations should take longer on the GPU: {} ns vs {} ns",
        tlong.gpu_ns(),
        ts.gpu_ns()
    );
    assert_eq_all(&o2b, &lcg_reference(&data, base), "short timed lcg");
    assert_eq_all(&o3b, &lcg_reference(&data, base * 10), "long timed lcg");
    assert_clean(&ex);
}

#[test]
fn validation_canary_is_reported() {
    // The canary's executor is a separate one: it is supposed to get messages.
    let canary = executor();
    assert_eq!(canary.validation_message_count(), 0);
    canary.validation_canary().unwrap();
    assert!(
        canary.validation_message_count() > 0,
        "a write-after-write hazard without a barrier was not reported: validation is not really on"
    );
    // A clean executor next to it stays clean while doing real work.
    let ex = executor();
    saxpy_check(&ex, 1000, 11);
    assert_clean(&ex);
}

/// Transfers big enough to be copied into and out of staging on several
/// threads (>= 16 MiB), and of sizes that do not divide evenly: every element
/// comes back.
#[test]
fn large_transfers_round_trip() {
    let ex = executor();
    let mut rng = Rng::new(0x1a76e);
    for n in [(24 << 20) / 4 + 3, (64 << 20) / 4] {
        let data = rng.u32s(n);
        let b = buffer(&ex, n * 4);
        let mut back = vec![0u32; n];
        let t = ex.submit(&[Op::Write { buffer: b, offset: 0, data: bytes(&data) }], PLAIN).unwrap();
        let r = ex.submit(&[read_op(b, 0, &mut back)], PLAIN).unwrap();
        assert!(r > t);
        assert!(ex.wait(r, u64::MAX).unwrap());
        assert_eq_all(&back, &data, "large round trip");
        ex.destroy_buffer(b).unwrap();
    }
    assert_clean(&ex);
}

/// The pipeline cache is saved to its file at teardown and loaded by the next
/// executor; a corrupt file is ignored, not an error.
#[test]
fn pipeline_cache_file_round_trip() {
    let dir = std::env::temp_dir().join(format!("gpuasync-cache-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("pipelines.bin");
    let desc = || gpuasync::ExecutorDesc { validation: true, pipeline_cache: Some(path.clone()), ..Default::default() };
    {
        let ex = executor_with(desc());
        kernel(&ex, "saxpy");
        assert_clean(&ex);
    }
    let saved = std::fs::read(&path).expect("the cache file was written at teardown");
    assert!(saved.len() > 16, "cache file holds a header and data ({} bytes)", saved.len());
    {
        let ex = executor_with(desc());
        kernel(&ex, "saxpy");
        assert_clean(&ex);
    }
    std::fs::write(&path, b"not a pipeline cache").unwrap();
    {
        let ex = executor_with(desc());
        kernel(&ex, "saxpy");
        assert_clean(&ex);
    }
    std::fs::remove_dir_all(&dir).ok();
}
