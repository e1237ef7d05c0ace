//! Every misuse is a clear error of the right kind, with a message, that leaves
//! nothing submitted and the executor working (a correct saxpy afterwards).
mod common;
use common::*;
use gpuasync::{BufferId, BufferKind, ErrorKind, Executor, HostDst, KernelId, Op, SpecConstant, WHOLE_SIZE};

/// A submit that must fail with `kind` must not consume a ticket: the next
/// successful submission gets the ticket after the last successful one.
#[track_caller]
fn expect_submit_err(ex: &Executor, ops: &[Op<'_>], kind: ErrorKind) -> gpuasync::Error {
    let before = ex.submit(&[], PLAIN).expect("empty submit");
    let e = expect_err(ex.submit(ops, PLAIN), kind);
    let after = ex.submit(&[], PLAIN).expect("empty submit");
    assert_eq!(after, before + 1, "a failed submit issued a ticket ({kind:?}: {})", e.message);
    assert!(ex.wait(after, u64::MAX).unwrap());
    e
}

fn saxpy_kernel_and_buffers(ex: &Executor, n: usize) -> (KernelId, BufferId, BufferId) {
    (kernel(ex, "saxpy"), buffer(ex, n * 4), buffer(ex, n * 4))
}

#[test]
fn dispatch_wrong_buffer_count() {
    let ex = executor();
    let (k, bx, by) = saxpy_kernel_and_buffers(&ex, 64);
    let bz = buffer(&ex, 256);
    let p = SaxpyParams { a: 2.0, n: 64 };
    for bufs in [&[][..], &[bx][..], &[bx, by, bz][..]] {
        let e = expect_submit_err(
            &ex,
            &[Op::Dispatch { kernel: k, buffers: bufs, push_constants: push(&p), groups: [1, 1, 1] }],
            ErrorKind::KernelMismatch,
        );
        assert!(e.message.contains('2'), "message should say the kernel wants 2 buffers: {}", e.message);
    }
    saxpy_check(&ex, 1000, 1);
    assert_clean(&ex);
}

#[test]
fn dispatch_wrong_push_constant_size() {
    let ex = executor();
    let (k, bx, by) = saxpy_kernel_and_buffers(&ex, 64);
    let p = SaxpyParams { a: 2.0, n: 64 };
    let long = [0u8; 12];
    for pc in [&[][..], &push(&p)[..4], &long[..], &push(&p)[..7]] {
        expect_submit_err(
            &ex,
            &[Op::Dispatch { kernel: k, buffers: &[bx, by], push_constants: pc, groups: [1, 1, 1] }],
            ErrorKind::KernelMismatch,
        );
    }
    saxpy_check(&ex, 1000, 2);
    assert_clean(&ex);
}

#[test]
fn dispatch_group_count_zero_and_over_limit() {
    let ex = executor();
    let (k, bx, by) = saxpy_kernel_and_buffers(&ex, 64);
    let p = SaxpyParams { a: 2.0, n: 64 };
    for g in [[0, 1, 1], [1, 0, 1], [1, 1, 0], [0, 0, 0], [u32::MAX, 1, 1], [1, u32::MAX, 1], [1, 1, u32::MAX]] {
        expect_submit_err(
            &ex,
            &[Op::Dispatch { kernel: k, buffers: &[bx, by], push_constants: push(&p), groups: g }],
            ErrorKind::KernelMismatch,
        );
    }
    saxpy_check(&ex, 1000, 3);
    assert_clean(&ex);
}

#[test]
fn spirv_truncated() {
    let ex = executor();
    let words = spirv("saxpy");
    // The first 3 words: not even a header.
    expect_err(ex.create_kernel(&words[..3], "main", &[]), ErrorKind::InvalidSpirv);
    expect_err(ex.create_kernel(&[], "main", &[]), ErrorKind::InvalidSpirv);
    // The header alone: no entry point.
    expect_err(ex.create_kernel(&words[..5], "main", &[]), ErrorKind::InvalidSpirv);
    saxpy_check(&ex, 1000, 4);
    assert_clean(&ex);
}

// A valid module cut short reaches the driver when the library does not check it
// itself, and lavapipe then aborts or segfaults the process (seen: SIGABRT after
// ~45 s for the half module, SIGSEGV for the one missing its last word). Each case
// therefore runs in a child process with a time limit, so a crash fails this test
// instead of killing every test of the binary.

#[test]
fn spirv_cut_in_half() {
    run_isolated("isolated_spirv_cut_in_half", std::time::Duration::from_secs(10));
}

#[test]
fn spirv_missing_last_word() {
    run_isolated("isolated_spirv_missing_last_word", std::time::Duration::from_secs(10));
}

fn truncated_module_is_rejected(cut: impl Fn(usize) -> usize) {
    let ex = executor();
    let words = spirv("saxpy");
    let n = cut(words.len());
    expect_err(ex.create_kernel(&words[..n], "main", &[]), ErrorKind::InvalidSpirv);
    saxpy_check(&ex, 1000, 40);
    assert_clean(&ex);
}

#[test]
#[ignore = "run in a child process by spirv_cut_in_half"]
fn isolated_spirv_cut_in_half() {
    // 283 words cut to 141: ends inside an OpVariable.
    truncated_module_is_rejected(|len| len / 2);
}

#[test]
#[ignore = "run in a child process by spirv_missing_last_word"]
fn isolated_spirv_missing_last_word() {
    // The last instruction (OpFunctionEnd, one word) is missing.
    truncated_module_is_rejected(|len| len - 1);
}

#[test]
fn spirv_file_truncated_and_missing() {
    let ex = executor();
    let dir = std::env::temp_dir().join(format!("gpuasync-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("does-not-exist.spv");
    expect_err(ex.create_kernel_from_file(&missing, "main", &[]), ErrorKind::Io);
    // A file whose length is not a multiple of 4.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("spirv/saxpy.spv");
    let bytes = std::fs::read(&path).unwrap();
    let odd = dir.join("odd.spv");
    std::fs::write(&odd, &bytes[..bytes.len() / 2 + 1]).unwrap();
    expect_err(ex.create_kernel_from_file(&odd, "main", &[]), ErrorKind::InvalidSpirv);
    // The real file works.
    let k = ex.create_kernel_from_file(&path, "main", &[]).unwrap();
    assert_eq!(ex.kernel_interface(k).unwrap().bindings.len(), 2);
    std::fs::remove_dir_all(&dir).ok();
    saxpy_check(&ex, 1000, 5);
    assert_clean(&ex);
}

#[test]
fn not_spirv_random_words() {
    let ex = executor();
    let mut rng = Rng::new(6);
    let mut words = nonzero_u32s(&mut rng, 256);
    if words[0] == 0x0723_0203 {
        words[0] ^= 1;
    }
    expect_err(ex.create_kernel(&words, "main", &[]), ErrorKind::InvalidSpirv);
    // Byte-swapped SPIR-V (wrong endianness) is not accepted either.
    let swapped: Vec<u32> = spirv("saxpy").iter().map(|w| w.swap_bytes()).collect();
    expect_err(ex.create_kernel(&swapped, "main", &[]), ErrorKind::InvalidSpirv);
    saxpy_check(&ex, 1000, 6);
    assert_clean(&ex);
}

#[test]
fn valid_header_then_random_words() {
    // A correct 5-word header followed by garbage must be rejected, not crash.
    let ex = executor();
    let mut rng = Rng::new(60);
    let header = &spirv("saxpy")[..5];
    for _ in 0..4 {
        let mut words = header.to_vec();
        words.extend(nonzero_u32s(&mut rng, 64));
        expect_err(ex.create_kernel(&words, "main", &[]), ErrorKind::InvalidSpirv);
    }
    saxpy_check(&ex, 1000, 60);
    assert_clean(&ex);
}

#[test]
fn missing_entry_point() {
    let ex = executor();
    let e = expect_err(ex.create_kernel(&spirv("saxpy"), "saxpy_main", &[]), ErrorKind::InvalidSpirv);
    assert!(e.message.contains("saxpy_main"), "message should name the entry point: {}", e.message);
    expect_err(ex.create_kernel(&spirv("saxpy"), "", &[]), ErrorKind::InvalidSpirv);
    expect_err(ex.create_kernel(&spirv("saxpy"), "MAIN", &[]), ErrorKind::InvalidSpirv);
    saxpy_check(&ex, 1000, 7);
    assert_clean(&ex);
}

#[test]
fn unknown_specialization_constant() {
    let ex = executor();
    let e = expect_err(
        ex.create_kernel(&spirv("spec_fill"), "main", &[SpecConstant { id: 0, value: 32 }, SpecConstant { id: 2, value: 1 }]),
        ErrorKind::InvalidArgument,
    );
    assert!(e.message.contains('2'), "message should name the constant id: {}", e.message);
    // saxpy has no specialization constants at all.
    expect_err(ex.create_kernel(&spirv("saxpy"), "main", &[SpecConstant { id: 0, value: 64 }]), ErrorKind::InvalidArgument);
    saxpy_check(&ex, 1000, 8);
    assert_clean(&ex);
}

#[test]
fn ranges_past_the_end() {
    let ex = executor();
    let a = buffer(&ex, 256);
    let b = buffer(&ex, 128);
    let data = [7u8; 16];
    let mut out = vec![0u8; 16];
    let mut big = vec![0u8; 257];
    let cases: Vec<Op<'_>> = vec![
        Op::Write { buffer: a, offset: 248, data: &data },
        Op::Write { buffer: a, offset: 256, data: &data },
        Op::Write { buffer: a, offset: u64::MAX - 3, data: &data },
        read_op(a, 241, &mut out),
        read_op(a, 0, &mut big),
        read_op(a, u64::MAX, &mut out),
        Op::Copy { src: a, src_offset: 0, dst: b, dst_offset: 0, size: 132 },
        Op::Copy { src: a, src_offset: 200, dst: b, dst_offset: 0, size: 64 },
        Op::Copy { src: b, src_offset: 0, dst: a, dst_offset: 224, size: 64 },
        Op::Copy { src: a, src_offset: u64::MAX - 3, dst: b, dst_offset: 0, size: 8 },
        Op::Fill { buffer: a, offset: 0, size: 260, value: 1 },
        Op::Fill { buffer: a, offset: 252, size: 8, value: 1 },
        Op::Fill { buffer: a, offset: 260, size: WHOLE_SIZE, value: 1 },
        Op::Fill { buffer: a, offset: u64::MAX - 3, size: 8, value: 1 },
    ];
    for op in &cases {
        let e = expect_submit_err(&ex, std::slice::from_ref(op), ErrorKind::OutOfRange);
        eprintln!("{op:?}: {}", e.message);
    }
    // The edges themselves are fine: writing and reading the last 16 bytes.
    let mut last = vec![0u8; 16];
    let t = ex.submit(&[Op::Write { buffer: a, offset: 240, data: &data }, read_op(a, 240, &mut last)], PLAIN).unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    assert_eq!(last, data);
    saxpy_check(&ex, 1000, 9);
    assert_clean(&ex);
}

#[test]
fn fill_unaligned() {
    let ex = executor();
    let a = buffer(&ex, 256);
    for (offset, size) in [(1, 8), (2, 8), (3, WHOLE_SIZE), (4, 6), (0, 1)] {
        expect_submit_err(&ex, &[Op::Fill { buffer: a, offset, size, value: 5 }], ErrorKind::InvalidArgument);
    }
    saxpy_check(&ex, 1000, 10);
    assert_clean(&ex);
}

#[test]
fn copy_overlapping_in_one_buffer() {
    let ex = executor();
    let a = buffer(&ex, 1024);
    for (s, d, size) in [(0, 0, 16), (0, 8, 16), (8, 0, 16), (100, 96, 100), (0, 508, 512)] {
        let e = expect_submit_err(
            &ex,
            &[Op::Copy { src: a, src_offset: s, dst: a, dst_offset: d, size }],
            ErrorKind::InvalidArgument,
        );
        assert!(e.message.contains("overlap"), "{}", e.message);
    }
    // Adjacent regions do not overlap: that copy works and moves the right data.
    let mut rng = Rng::new(11);
    let data = nonzero_u32s(&mut rng, 256);
    let mut out = vec![0u32; 256];
    let t = ex
        .submit(
            &[
                Op::Write { buffer: a, offset: 0, data: bytes(&data) },
                Op::Copy { src: a, src_offset: 0, dst: a, dst_offset: 512, size: 512 },
                read_op(a, 0, &mut out),
            ],
            PLAIN,
        )
        .unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    let mut want = data.clone();
    want.copy_within(0..128, 128);
    assert_eq_all(&out, &want, "adjacent copy within a buffer");
    saxpy_check(&ex, 1000, 11);
    assert_clean(&ex);
}

/// Every way a bad buffer handle can be used.
fn expect_invalid_buffer(ex: &Executor, bad: BufferId, good: BufferId, k: KernelId) {
    let data = [1u8; 16];
    let mut out = vec![0u8; 16];
    let p = SaxpyParams { a: 1.0, n: 4 };
    let (bad_first, bad_second) = ([bad, good], [good, bad]);
    let cases: Vec<Op<'_>> = vec![
        Op::Write { buffer: bad, offset: 0, data: &data },
        read_op(bad, 0, &mut out),
        Op::Copy { src: bad, src_offset: 0, dst: good, dst_offset: 0, size: 16 },
        Op::Copy { src: good, src_offset: 0, dst: bad, dst_offset: 0, size: 16 },
        Op::Fill { buffer: bad, offset: 0, size: 16, value: 1 },
        Op::Fill { buffer: bad, offset: 0, size: WHOLE_SIZE, value: 1 },
        Op::Dispatch { kernel: k, buffers: &bad_first, push_constants: push(&p), groups: [1, 1, 1] },
        Op::Dispatch { kernel: k, buffers: &bad_second, push_constants: push(&p), groups: [1, 1, 1] },
    ];
    for op in &cases {
        expect_submit_err(ex, std::slice::from_ref(op), ErrorKind::InvalidHandle);
    }
    expect_err(ex.buffer_size(bad), ErrorKind::InvalidHandle);
    expect_err(ex.buffer_mapped_ptr(bad), ErrorKind::InvalidHandle);
    expect_err(ex.destroy_buffer(bad), ErrorKind::InvalidHandle);
}

#[test]
fn destroyed_and_null_buffer_handles() {
    let ex = executor();
    let k = kernel(&ex, "saxpy");
    let good = buffer(&ex, 64);
    let gone = buffer(&ex, 64);
    ex.destroy_buffer(gone).unwrap();
    expect_invalid_buffer(&ex, gone, good, k);
    // Its slot reused by a new buffer: the old handle stays invalid.
    let reused = buffer(&ex, 64);
    assert_ne!(reused, gone);
    expect_invalid_buffer(&ex, gone, good, k);
    expect_invalid_buffer(&ex, BufferId(0), good, k);
    // A destroyed kernel.
    let k2 = kernel(&ex, "saxpy");
    ex.destroy_kernel(k2).unwrap();
    let p = SaxpyParams { a: 1.0, n: 4 };
    expect_submit_err(
        &ex,
        &[Op::Dispatch { kernel: k2, buffers: &[good, reused], push_constants: push(&p), groups: [1, 1, 1] }],
        ErrorKind::InvalidHandle,
    );
    expect_err(ex.kernel_interface(k2), ErrorKind::InvalidHandle);
    expect_err(ex.destroy_kernel(k2), ErrorKind::InvalidHandle);
    expect_err(ex.kernel_interface(KernelId(0)), ErrorKind::InvalidHandle);
    saxpy_check(&ex, 1000, 12);
    assert_clean(&ex);
}

#[test]
fn buffer_handle_from_another_executor() {
    let ex = executor();
    let other = executor();
    let k = kernel(&ex, "saxpy");
    let good = buffer(&ex, 64);
    // Same slot index and generation in both executors: only the owner differs.
    let foreign = buffer(&other, 64);
    let foreign_k = kernel(&other, "saxpy");
    expect_invalid_buffer(&ex, foreign, good, k);
    let p = SaxpyParams { a: 1.0, n: 4 };
    expect_submit_err(
        &ex,
        &[Op::Dispatch { kernel: foreign_k, buffers: &[good, good], push_constants: push(&p), groups: [1, 1, 1] }],
        ErrorKind::InvalidHandle,
    );
    expect_err(ex.kernel_interface(foreign_k), ErrorKind::InvalidHandle);
    // The other executor still owns and can use its buffer.
    assert_eq!(other.buffer_size(foreign), Ok(64));
    saxpy_check(&ex, 1000, 13);
    saxpy_check(&other, 1000, 14);
    assert_clean(&other);
    assert_clean(&ex);
}

#[test]
fn kernel_handle_used_as_buffer_handle() {
    // The first buffer and the first kernel of an executor: if ids of the two
    // families are not distinguished, the kernel's id resolves to the buffer.
    let ex = executor();
    let good = buffer(&ex, 64);
    let k = kernel(&ex, "saxpy");
    let other = buffer(&ex, 64);
    let as_buffer = BufferId(k.0);
    let as_kernel = KernelId(good.0);
    expect_err(ex.buffer_size(as_buffer), ErrorKind::InvalidHandle);
    expect_invalid_buffer(&ex, as_buffer, other, k);
    expect_err(ex.kernel_interface(as_kernel), ErrorKind::InvalidHandle);
    expect_err(ex.destroy_kernel(as_kernel), ErrorKind::InvalidHandle);
    saxpy_check(&ex, 1000, 15);
    assert_clean(&ex);
}

#[test]
fn zero_size_buffer() {
    let ex = executor();
    for kind in [BufferKind::DeviceLocal, BufferKind::HostVisible, BufferKind::Readback] {
        expect_err(ex.create_buffer(0, kind), ErrorKind::InvalidArgument);
    }
    saxpy_check(&ex, 1000, 16);
    assert_clean(&ex);
}

#[test]
fn mapping_a_device_local_buffer() {
    let ex = executor();
    let b = buffer(&ex, 256);
    expect_err(ex.buffer_mapped_ptr(b), ErrorKind::InvalidArgument);
    // The buffer itself is fine.
    assert_eq!(ex.buffer_size(b), Ok(256));
    saxpy_check(&ex, 1000, 17);
    assert_clean(&ex);
}

#[test]
fn null_read_destination() {
    let ex = executor();
    let b = buffer(&ex, 256);
    // SAFETY: a null destination is what is being tested; it is never written.
    let dst = unsafe { HostDst::new(std::ptr::null_mut(), 16) };
    expect_submit_err(&ex, &[Op::Read { buffer: b, offset: 0, dst }], ErrorKind::NullArgument);
    saxpy_check(&ex, 1000, 18);
    assert_clean(&ex);
}

#[test]
fn error_in_the_middle_of_a_submit_submits_nothing() {
    let ex = executor();
    let mut rng = Rng::new(19);
    let n = 256usize;
    let (k, bx, by) = saxpy_kernel_and_buffers(&ex, n);
    let old_x = nonzero_u32s(&mut rng, n);
    let old_y = nonzero_u32s(&mut rng, n);
    let t0 = ex
        .submit(&[Op::Write { buffer: bx, offset: 0, data: bytes(&old_x) }, Op::Write { buffer: by, offset: 0, data: bytes(&old_y) }], PLAIN)
        .unwrap();
    let new_x = nonzero_u32s(&mut rng, n);
    let sentinel = nonzero_u32s(&mut rng, n);
    let mut read_back = sentinel.clone();
    let p = SaxpyParams { a: 2.0, n: n as u32 };
    let bad_push = [0u8; 4];
    let xy = [bx, by];
    let failing: Vec<Vec<Op<'_>>> = vec![
        // Good write, good fill, bad dispatch, good read.
        vec![
            Op::Write { buffer: bx, offset: 0, data: bytes(&new_x) },
            Op::Fill { buffer: by, offset: 0, size: WHOLE_SIZE, value: 3 },
            Op::Dispatch { kernel: k, buffers: &xy, push_constants: &bad_push, groups: groups(n, 64) },
            read_op(bx, 0, &mut read_back),
        ],
        // Bad op last.
        vec![
            Op::Write { buffer: bx, offset: 0, data: bytes(&new_x) },
            Op::Dispatch { kernel: k, buffers: &xy, push_constants: push(&p), groups: groups(n, 64) },
            Op::Fill { buffer: by, offset: 2, size: 4, value: 3 },
        ],
    ];
    let kinds = [ErrorKind::KernelMismatch, ErrorKind::InvalidArgument];
    for (ops, kind) in failing.iter().zip(kinds) {
        let e = expect_err(ex.submit(ops, PLAIN), kind);
        assert!(e.message.contains("op 2"), "message should name the failing op: {}", e.message);
    }
    // Nothing was submitted: the next ticket follows t0, and the buffers hold the old data.
    let mut x_now = vec![0u32; n];
    let mut y_now = vec![0u32; n];
    let t1 = ex.submit(&[read_op(bx, 0, &mut x_now), read_op(by, 0, &mut y_now)], PLAIN).unwrap();
    assert_eq!(t1, t0 + 1, "failed submits issued tickets");
    assert!(ex.wait(t1, u64::MAX).unwrap());
    assert_eq_all(&x_now, &old_x, "x after failed submits");
    assert_eq_all(&y_now, &old_y, "y after failed submits");
    assert_eq_all(&read_back, &sentinel, "the read of a failed submit must never be delivered");
    let t2 = saxpy_check(&ex, 1000, 20);
    assert_eq!(t2, t1 + 1);
    assert_clean(&ex);
}

#[test]
fn duplicate_specialization_constant_and_absurd_in_flight_bound() {
    let ex = executor();
    let spec = [gpuasync::SpecConstant { id: 1, value: 5 }, gpuasync::SpecConstant { id: 1, value: 6 }];
    expect_err(ex.create_kernel(&spirv("spec_fill"), "main", &spec), ErrorKind::InvalidArgument);
    let desc = gpuasync::ExecutorDesc { validation: true, max_in_flight: u32::MAX, ..Default::default() };
    expect_err(gpuasync::Executor::new(&desc), ErrorKind::InvalidArgument);
    let k = kernel(&ex, "spec_fill");
    ex.destroy_kernel(k).unwrap();
    assert_clean(&ex);
}

/// A read or write whose length overflows is OutOfRange (checked before
/// anything else, the staging budget included), never a panic.
#[test]
fn absurd_lengths_are_out_of_range() {
    let ex = executor();
    let b = buffer(&ex, 1024);
    let mut one = [0u8; 1];
    // SAFETY: the read is refused before anything could be written.
    let huge = unsafe { gpuasync::HostDst::new(one.as_mut_ptr(), usize::MAX) };
    let nb = gpuasync::SubmitFlags { no_block: true, ..PLAIN };
    for flags in [PLAIN, nb] {
        expect_err(ex.submit(&[Op::Read { buffer: b, offset: 0, dst: huge }], flags), ErrorKind::OutOfRange);
        expect_err(ex.submit(&[Op::Read { buffer: b, offset: 1, dst: huge }], flags), ErrorKind::OutOfRange);
    }
    assert_clean(&ex);
}

/// A kernel declaring more workgroup (shared) memory than the device allows is
/// refused when it is made, with the sizes in the message, instead of reaching
/// the driver (undefined behaviour there). The array's length comes from a
/// specialization constant, so the check follows specialization: at the
/// limit the kernel is made and runs correctly, one element past it is not.
#[test]
fn workgroup_memory_beyond_the_device_is_unsupported() {
    let ex = executor();
    let limit = ex.device_info().max_shared_memory;
    assert!(limit >= 16 << 10, "Vulkan guarantees 16 KiB of shared memory, the device reports {limit}");
    let n = limit / 4;
    let words = spirv("shared_reverse");
    let e = expect_err(ex.create_kernel(&words, "main", &[SpecConstant { id: 0, value: n + 1 }]), ErrorKind::Unsupported);
    assert!(e.message.contains(&format!("{}", 4 * (n + 1))) && e.message.contains(&limit.to_string()), "{}", e.message);
    let k = ex.create_kernel(&words, "main", &[SpecConstant { id: 0, value: n }]).expect("a kernel at the limit");
    let mut rng = Rng::new(31);
    let data = rng.u32s(n as usize);
    let (a, b) = (buffer(&ex, data.len() * 4), buffer(&ex, data.len() * 4));
    let mut got = vec![0u32; data.len()];
    let t = ex
        .submit(
            &[
                Op::Write { buffer: a, offset: 0, data: bytes(&data) },
                Op::Dispatch { kernel: k, buffers: &[a, b], push_constants: &[], groups: [1, 1, 1] },
                read_op(b, 0, &mut got),
            ],
            PLAIN,
        )
        .unwrap();
    ex.wait(t, u64::MAX).unwrap();
    let want: Vec<u32> = data.iter().rev().copied().collect();
    assert_eq_all(&got, &want, "reversed through shared memory");
    assert_clean(&ex);
}
