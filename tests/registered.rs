//! Registered host memory (issue 4, `Executor::register_host`): writes from and
//! reads into registered ranges copy directly between host memory and device
//! buffers. Random round trips with every element checked; a write, a kernel
//! and a read in one submission; unregistering with work in flight (and
//! registering the same bytes again at once); registered and staged ops mixed
//! in one submission, including ordering through registered memory; that
//! registered transfers take no staging budget; and every error status.
mod common;
use common::*;
use gpuasync::{BufferId, ErrorKind, ExecutorDesc, Op, SubmitFlags};

fn write_op(buffer: BufferId, offset: u64, data: &[u8]) -> Op<'_> {
    Op::Write { buffer, offset, data }
}

#[test]
fn random_round_trips() {
    let ex = executor();
    let Some(align) = alignment(&ex) else { return };
    let mut rng = Rng::new(41);
    // One page, several pages, and a larger range (more than the 16 MiB at
    // which staged copies go parallel); sub-ranges at odd offsets inside them.
    for pages in [1usize, 3, (20 << 20) / align] {
        let len = pages * align;
        let words = len / 4;
        let mut src = Aligned::new(len, align);
        let mut dst = Aligned::new(len, align);
        src.u32s().copy_from_slice(&rng.u32s(words));
        src.register(&ex);
        dst.register(&ex);
        let b = buffer(&ex, len);
        // The whole range, then an inner sub-range to another place.
        let t = ex.submit(&[write_op(b, 0, src.source(0, words))], PLAIN).unwrap();
        let t2 = ex.submit(&[Op::Read { buffer: b, offset: 0, dst: dst.destination(0, words) }], PLAIN).unwrap();
        assert!(t2 > t);
        ex.wait(t2, u64::MAX).unwrap();
        assert!(dst.u32s() == src.u32s(), "round trip of {len} bytes differs");
        let (at, count) = (3usize, words - 7);
        let before = dst.u32s().to_vec();
        let t = ex
            .submit(
                &[
                    write_op(b, 4, src.source(at, count)),
                    Op::Read { buffer: b, offset: 4, dst: dst.destination(5, count) },
                ],
                PLAIN,
            )
            .unwrap();
        ex.wait(t, u64::MAX).unwrap();
        let got = dst.u32s();
        for (i, &v) in got.iter().enumerate() {
            let want = if (5..5 + count).contains(&i) { src.u32s()[at + i - 5] } else { before[i] };
            assert_eq!(v, want, "element {i} of {words}");
        }
        ex.destroy_buffer(b).unwrap();
        ex.unregister_host(src.ptr).unwrap();
        ex.unregister_host(dst.ptr).unwrap();
    }
    assert_clean(&ex);
}

#[test]
fn write_kernel_read_in_one_submission() {
    let ex = executor();
    let Some(align) = alignment(&ex) else { return };
    let k = kernel(&ex, "lcg");
    let n = 3 * align; // u32s: twelve pages
    let mut input = Aligned::new(n * 4, align);
    let output = Aligned::new(n * 4, align);
    let mut rng = Rng::new(42);
    input.u32s().copy_from_slice(&rng.u32s(n));
    input.register(&ex);
    output.register(&ex);
    let b = [buffer(&ex, n * 4)];
    let p = LcgParams { n: n as u32, iterations: 17 };
    let t = ex
        .submit(
            &[
                write_op(b[0], 0, input.source(0, n)),
                Op::Dispatch { kernel: k, buffers: &b, push_constants: push(&p), groups: groups(n, 64) },
                Op::Read { buffer: b[0], offset: 0, dst: output.destination(0, n) },
            ],
            PLAIN,
        )
        .unwrap();
    ex.wait(t, u64::MAX).unwrap();
    let mut output = output;
    let input = input.u32s().to_vec();
    for (i, (&got, &x)) in output.u32s().iter().zip(&input).enumerate() {
        assert_eq!(got, lcg(x, 17), "element {i}");
    }
    ex.unregister_host(output.ptr).unwrap();
    assert_clean(&ex);
}

/// Unregister (and register the same bytes again) while a write from and a
/// read into the range wait behind a long kernel: the work completes with the
/// right data, and work on the new registration is ordered after it.
#[test]
fn unregister_with_work_in_flight() {
    let ex = executor();
    let Some(align) = alignment(&ex) else { return };
    let k = kernel(&ex, "lcg");
    let n = 2 * align / 4;
    let mut host = Aligned::new(2 * n * 4, align);
    let mut rng = Rng::new(43);
    let data = rng.u32s(n);
    host.u32s()[..n].copy_from_slice(&data);
    host.register(&ex);
    // A long kernel on `busy`; then copy the first half through `b`, which the
    // long kernel also uses, so both transfers wait for it.
    let busy = buffer(&ex, LONG_N * 4);
    let b = buffer(&ex, n * 4);
    let lp = LcgParams { n: LONG_N as u32, iterations: long_iters(&ex) };
    let long = ex
        .submit(&[Op::Dispatch { kernel: k, buffers: &[busy], push_constants: push(&lp), groups: groups(LONG_N, 64) }], PLAIN)
        .unwrap();
    let t = ex
        .submit(
            &[
                Op::Copy { src: busy, src_offset: 0, dst: b, dst_offset: 0, size: 4 },
                write_op(b, 0, host.source(0, n)),
                Op::Read { buffer: b, offset: 0, dst: host.destination(n, n) },
            ],
            PLAIN,
        )
        .unwrap();
    assert!(!ex.poll(long).unwrap(), "the long kernel finished too soon for this test");
    ex.unregister_host(host.ptr).unwrap();
    // Again at once: a write from the second half (which the read above fills)
    // must see the read's data.
    host.register(&ex);
    let c = buffer(&ex, n * 4);
    let mut back = vec![0u32; n];
    let t2 = ex.submit(&[write_op(c, 0, host.source(n, n)), read_op(c, 0, &mut back)], PLAIN).unwrap();
    ex.unregister_host(host.ptr).unwrap();
    ex.wait(t2, u64::MAX).unwrap();
    assert!(ex.poll(t).unwrap());
    assert_eq!(&host.u32s()[n..], &data[..], "read into unregistered memory");
    assert_eq!(back, data, "write from re-registered memory");
    assert_clean(&ex);
}

/// Registered and staged writes and reads in one submission, including a range
/// that straddles a registration's end (staged) and ordering through
/// registered memory (a read into it, then a write from it).
#[test]
fn registered_and_staged_mixed() {
    let ex = executor();
    let Some(align) = alignment(&ex) else { return };
    let n = align / 4 * 2;
    let mut reg = Aligned::new(4 * n * 4, align);
    let mut rng = Rng::new(44);
    let staged_in = rng.u32s(n);
    reg.u32s()[..n].copy_from_slice(&rng.u32s(n));
    let reg_in = reg.u32s()[..n].to_vec();
    // Register only the first three quarters: the last quarter is plain memory.
    // SAFETY: inside the allocation, which outlives the executor.
    unsafe { ex.register_host(reg.ptr, 3 * n * 4) }.unwrap();
    let (b1, b2, b3) = (buffer(&ex, n * 4), buffer(&ex, n * 4), buffer(&ex, n * 4));
    let mut staged_out = vec![0u32; n];
    let mut twice = vec![0u32; n];
    // Straddles the end of the registration: staged.
    let straddle = reg.destination(3 * n - 5, n);
    let ops = [
        write_op(b1, 0, reg.source(0, n)),
        write_op(b2, 0, bytes(&staged_in)),
        Op::Read { buffer: b2, offset: 0, dst: reg.destination(n, n) },
        read_op(b1, 0, &mut staged_out),
        Op::Read { buffer: b1, offset: 0, dst: straddle },
        // Through registered memory: b2's data, read into it above, goes to b3.
        write_op(b3, 0, reg.source(n, n)),
        read_op(b3, 0, &mut twice),
    ];
    let t = ex.submit(&ops, PLAIN).unwrap();
    ex.wait(t, u64::MAX).unwrap();
    assert_eq!(staged_out, reg_in, "registered write, staged read");
    assert_eq!(&reg.u32s()[n..2 * n], &staged_in[..], "staged write, registered read");
    assert_eq!(&reg.u32s()[3 * n - 5..4 * n - 5], &reg_in[..], "straddling read");
    assert_eq!(twice, staged_in, "read into registered memory, then written from it");
    ex.unregister_host(reg.ptr).unwrap();
    assert_clean(&ex);
}

/// Registered transfers take no staging: with a budget of one page and staged
/// work in flight, a non-blocking registered write goes at once where a staged
/// one would block.
#[test]
fn registered_transfers_take_no_staging() {
    let ex = executor_with(ExecutorDesc { staging_bytes: 4096, ..Default::default() });
    let Some(align) = alignment(&ex) else { return };
    let k = kernel(&ex, "lcg");
    let busy = buffer(&ex, LONG_N * 4);
    let len = 64 * align;
    let mut host = Aligned::new(len, align);
    let data = Rng::new(45).u32s(len / 4);
    host.u32s().copy_from_slice(&data);
    host.register(&ex);
    let b = buffer(&ex, len);
    let lp = LcgParams { n: LONG_N as u32, iterations: long_iters(&ex) };
    let long = ex
        .submit(&[Op::Dispatch { kernel: k, buffers: &[busy], push_constants: push(&lp), groups: groups(LONG_N, 64) }], PLAIN)
        .unwrap();
    let small = [7u32; 256];
    let no_block = SubmitFlags { no_block: true, ..PLAIN };
    ex.submit(&[Op::Copy { src: busy, src_offset: 0, dst: b, dst_offset: 0, size: 4 }, write_op(b, 0, bytes(&small))], PLAIN)
        .unwrap();
    assert!(!ex.poll(long).unwrap(), "the long kernel finished too soon for this test");
    let plain = vec![1u32; len / 4];
    expect_err(ex.submit(&[write_op(b, 0, bytes(&plain))], no_block), ErrorKind::WouldBlock);
    let t = ex.submit(&[write_op(b, 0, host.source(0, len / 4))], no_block).unwrap();
    let mut back = vec![0u32; len / 4];
    let t2 = ex.submit(&[read_op(b, 0, &mut back)], PLAIN).unwrap();
    assert!(t2 > t);
    ex.wait(t2, u64::MAX).unwrap();
    assert_eq!(back, data);
    assert_clean(&ex);
}

#[test]
fn register_errors() {
    let ex = executor();
    let Some(align) = alignment(&ex) else { return };
    let host = Aligned::new(4 * align, align);
    let p = host.ptr;
    // SAFETY (every call below): inside the allocation, which outlives the executor.
    unsafe {
        expect_err(ex.register_host(std::ptr::null_mut(), align), ErrorKind::NullArgument);
        expect_err(ex.register_host(p, 0), ErrorKind::InvalidArgument);
        expect_err(ex.register_host(p.add(64), align), ErrorKind::InvalidArgument);
        expect_err(ex.register_host(p, align + 4), ErrorKind::InvalidArgument);
        ex.register_host(p.add(align), 2 * align).unwrap();
        // The same range, one overlapping its start, one inside, one over its end.
        expect_err(ex.register_host(p.add(align), 2 * align), ErrorKind::InvalidArgument);
        expect_err(ex.register_host(p, 2 * align), ErrorKind::InvalidArgument);
        expect_err(ex.register_host(p.add(2 * align), align), ErrorKind::InvalidArgument);
        expect_err(ex.register_host(p.add(2 * align), 2 * align), ErrorKind::InvalidArgument);
        // Neighbours on both sides are fine.
        ex.register_host(p, align).unwrap();
        ex.register_host(p.add(3 * align), align).unwrap();
    }
    expect_err(ex.unregister_host(std::ptr::null_mut()), ErrorKind::NullArgument);
    // SAFETY: pointer arithmetic inside the allocation.
    expect_err(ex.unregister_host(unsafe { p.add(2 * align) }), ErrorKind::InvalidArgument);
    let unknown = Aligned::new(align, align);
    expect_err(ex.unregister_host(unknown.ptr), ErrorKind::InvalidArgument);
    for at in [0, 1, 3] {
        // SAFETY: as above.
        let q = unsafe { p.add(at * align) };
        ex.unregister_host(q).unwrap();
        expect_err(ex.unregister_host(q), ErrorKind::InvalidArgument);
    }
    assert_clean(&ex);
}
