//! Chunked staging of large writes (experimental, `ExecutorDesc::write_chunk_bytes`):
//! a write of several chunks is staged in host memory and handed to the GPU
//! chunk by chunk, a ticket per chunk. Every test checks every byte against
//! the data written, and that the write was (or was not) really chunked.
//!
//! The executors here set the chunk themselves (64 KiB), so the suite must run
//! without `GPUASYNC_WRITE_CHUNK` in the environment (it would override them).
mod common;
use common::*;
use gpuasync::{BufferId, ErrorKind, Executor, ExecutorDesc, Op, SubmitFlags};

const CHUNK: usize = 64 << 10;
/// Five chunks and a bit: six chunks, the last a short one.
const LEN: usize = 5 * CHUNK + 1236;

fn desc(chunk: Option<u64>) -> ExecutorDesc {
    assert!(
        std::env::var_os("GPUASYNC_WRITE_CHUNK").is_none(),
        "tests/chunked.rs sets the chunk itself: run it without GPUASYNC_WRITE_CHUNK"
    );
    ExecutorDesc { write_chunk_bytes: chunk, ..Default::default() }
}

/// An executor that stages writes of more than 64 KiB in 64 KiB chunks.
fn chunked_executor() -> Executor {
    executor_with(desc(Some(CHUNK as u64)))
}

/// `n` bytes from a 32-bit LCG (seeded), never zero.
fn lcg_bytes(seed: u32, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((x >> 24) as u8).max(1)
        })
        .collect()
}

/// Unchunked in every executor: timestamps keep a write whole.
const WHOLE: SubmitFlags = SubmitFlags { timestamps: true, no_block: false, op_timestamps: false };

/// Fill `b` with `data` (unchunked) and wait.
fn fill(ex: &Executor, b: BufferId, data: &[u8]) {
    let t = ex.submit(&[Op::Write { buffer: b, offset: 0, data }], WHOLE).expect("setup write");
    assert!(ex.wait(t, u64::MAX).expect("setup wait"));
}

/// The whole of `b` (`len` bytes).
fn read_all(ex: &Executor, b: BufferId, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let t = ex.submit(&[read_op(b, 0, &mut out)], PLAIN).expect("read back");
    assert!(ex.wait(t, u64::MAX).expect("wait for the read"));
    out
}

/// Submit `ops` and return (its ticket, how many tickets it took, whether it
/// was chunked), from the statistics around it.
fn submit_counted(ex: &Executor, ops: &[Op<'_>], flags: SubmitFlags) -> (u64, u64, bool) {
    let before = ex.stats();
    let t = ex.submit(ops, flags).expect("submit");
    let after = ex.stats();
    assert_eq!(after.submissions, t, "the call returns its last ticket");
    (t, after.submissions - before.submissions, after.chunked_writes > before.chunked_writes)
}

/// Random bytes, a write of six chunks (the last short) at an odd offset into
/// a larger buffer of other random bytes: every byte of the buffer read back
/// is the new data inside the range and the old outside it.
#[test]
fn a_chunked_write_lands_exactly_in_its_range() {
    let ex = chunked_executor();
    let size = 1 << 20;
    let b = buffer(&ex, size);
    let old = lcg_bytes(1, size);
    fill(&ex, b, &old);
    let offset = 4099;
    let data = lcg_bytes(2, LEN);
    let handed = ex.stats().queue_submissions;
    let (t, tickets, chunked) = submit_counted(&ex, &[Op::Write { buffer: b, offset: offset as u64, data: &data }], PLAIN);
    assert!(chunked, "the write was chunked");
    assert_eq!(tickets, LEN.div_ceil(CHUNK) as u64, "a ticket per chunk");
    // Each chunk went to the queue before the call returned (and before the
    // next chunk was staged), each in a command buffer of its own.
    assert_eq!(ex.stats().queue_submissions - handed, tickets, "a vkQueueSubmit2 per chunk");
    assert!(ex.wait(t, u64::MAX).unwrap());
    let mut want = old.clone();
    want[offset..offset + LEN].copy_from_slice(&data);
    assert_eq_all(&read_all(&ex, b, size), &want, "buffer after a chunked write");
    let s = ex.stats();
    assert_eq!(s.completed, s.submissions);
    assert_clean(&ex);
}

/// Work submitted after a chunked write, with no wait between, sees all of it
/// (a copy out of the buffer, and a kernel that updates it in place); work
/// submitted before one sees none of it (a kernel, then a read and a copy
/// that must see the kernel's result, not the new bytes).
#[test]
fn chunked_writes_are_ordered_with_the_work_around_them() {
    let ex = chunked_executor();
    let k = kernel(&ex, "lcg");
    let n = LEN / 4;
    let iters = 57u32;
    let p = LcgParams { n: n as u32, iterations: iters };
    let (a, copy) = (buffer(&ex, LEN), buffer(&ex, LEN));
    let data = nonzero_u32s(&mut Rng::new(3), n);

    // Read-after-write: write (chunked), copy it out, update it in place, read both.
    let (mut a_back, mut copy_back) = (vec![0u32; n], vec![0u32; n]);
    let (_, tickets, chunked) = submit_counted(&ex, &[Op::Write { buffer: a, offset: 0, data: bytes(&data) }], PLAIN);
    assert!(chunked && tickets == LEN.div_ceil(CHUNK) as u64);
    ex.submit(&[Op::Copy { src: a, src_offset: 0, dst: copy, dst_offset: 0, size: LEN as u64 }], PLAIN).unwrap();
    ex.submit(&[Op::Dispatch { kernel: k, buffers: &[a], push_constants: push(&p), groups: groups(n, 64) }], PLAIN).unwrap();
    ex.submit(&[read_op(copy, 0, &mut copy_back)], PLAIN).unwrap();
    let t = ex.submit(&[read_op(a, 0, &mut a_back)], PLAIN).unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    assert_eq_all(&copy_back, &data, "copy of the chunked write");
    let updated = lcg_reference(&data, iters);
    assert_eq_all(&a_back, &updated, "kernel over the chunked write");

    // Write-after-read: a kernel on `a`, a read and a copy of it, then a chunked
    // overwrite, all without waiting: the read and the copy see the kernel's result.
    let fresh = nonzero_u32s(&mut Rng::new(4), n);
    let (mut before_back, mut copy_back, mut after_back) = (vec![0u32; n], vec![0u32; n], vec![0u32; n]);
    ex.submit(&[Op::Dispatch { kernel: k, buffers: &[a], push_constants: push(&p), groups: groups(n, 64) }], PLAIN).unwrap();
    ex.submit(&[read_op(a, 0, &mut before_back)], PLAIN).unwrap();
    ex.submit(&[Op::Copy { src: a, src_offset: 0, dst: copy, dst_offset: 0, size: LEN as u64 }], PLAIN).unwrap();
    let (_, _, chunked) = submit_counted(&ex, &[Op::Write { buffer: a, offset: 0, data: bytes(&fresh) }], PLAIN);
    assert!(chunked);
    ex.submit(&[read_op(copy, 0, &mut copy_back)], PLAIN).unwrap();
    let t = ex.submit(&[read_op(a, 0, &mut after_back)], PLAIN).unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    let twice = lcg_reference(&updated, iters);
    assert_eq_all(&before_back, &twice, "read submitted before the chunked overwrite");
    assert_eq_all(&copy_back, &twice, "copy submitted before the chunked overwrite");
    assert_eq_all(&after_back, &fresh, "read after the chunked overwrite");
    assert_clean(&ex);
}

/// Which writes are chunked: more than one chunk, alone in its submission,
/// not from registered memory, not timed, not `no_block`; none with the
/// setting off. The chunk is rounded down to whole pages; below a page is an
/// error.
#[test]
fn only_large_lone_staged_writes_are_chunked() {
    let ex = chunked_executor();
    let b = buffer(&ex, 4 * CHUNK);
    let data = lcg_bytes(5, 4 * CHUNK);
    let write = |len: usize| Op::Write { buffer: b, offset: 0, data: &data[..len] };
    assert_eq!(submit_counted(&ex, &[write(CHUNK)], PLAIN).1, 1, "one chunk: not chunked");
    assert_eq!(submit_counted(&ex, &[write(CHUNK + 1)], PLAIN).1, 2, "a chunk and a byte: two chunks");
    assert_eq!(submit_counted(&ex, &[write(4 * CHUNK)], PLAIN).1, 4);
    let (_, tickets, chunked) = submit_counted(&ex, &[write(4 * CHUNK), write(2 * CHUNK)], PLAIN);
    assert!(!chunked && tickets == 1, "two ops: not chunked");
    let (_, tickets, chunked) = submit_counted(&ex, &[write(4 * CHUNK)], WHOLE);
    assert!(!chunked && tickets == 1, "timed: not chunked");
    let (_, tickets, chunked) = submit_counted(&ex, &[write(4 * CHUNK)], SubmitFlags { no_block: true, ..PLAIN });
    assert!(!chunked && tickets == 1, "no_block: not chunked");
    assert_eq!(ex.stats().chunked_writes, 2);
    if let Some(align) = alignment(&ex) {
        // From registered memory: the GPU reads it directly, nothing to stage.
        let mut mem = Aligned::new(4 * CHUNK, align.max(4096));
        let words: Vec<u32> = data.chunks(4).map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]])).collect();
        mem.u32s().copy_from_slice(&words);
        mem.register(&ex);
        let (_, tickets, chunked) = submit_counted(&ex, &[Op::Write { buffer: b, offset: 0, data: mem.source(0, CHUNK) }], PLAIN);
        assert!(!chunked && tickets == 1, "registered: not chunked");
        ex.wait_all().unwrap();
        ex.unregister_host(mem.ptr).unwrap();
    }
    ex.wait_all().unwrap();
    assert_eq_all(&read_all(&ex, b, 4 * CHUNK), &data, "after the writes");
    assert_clean(&ex);
    drop(ex);

    let off = executor_with(desc(None));
    let b = buffer(&off, 4 * CHUNK);
    let (t, tickets, chunked) = submit_counted(&off, &[Op::Write { buffer: b, offset: 0, data: &data }], PLAIN);
    assert!(!chunked && tickets == 1, "setting off: not chunked");
    assert!(off.wait(t, u64::MAX).unwrap());
    assert_eq_all(&read_all(&off, b, 4 * CHUNK), &data, "unchunked write");
    assert_eq!(off.stats().chunked_writes, 0);
    assert_clean(&off);
    drop(off);

    // A chunk of 64 KiB + 4000 bytes is rounded down to 64 KiB: a write of
    // 64 KiB + 2000 bytes then takes two chunks.
    let rounded = executor_with(desc(Some(CHUNK as u64 + 4000)));
    let b = buffer(&rounded, 4 * CHUNK);
    let (t, tickets, chunked) = submit_counted(&rounded, &[write_on(b, &data[..CHUNK + 2000])], PLAIN);
    assert!(chunked && tickets == 2, "the chunk was rounded down to whole pages");
    assert!(rounded.wait(t, u64::MAX).unwrap());
    assert_eq_all(&read_all(&rounded, b, 4 * CHUNK)[..CHUNK + 2000], &data[..CHUNK + 2000], "rounded chunks");
    assert_clean(&rounded);
    drop(rounded);

    for bad in [1u64, 100, 4095] {
        let e = expect_err(Executor::new(&ExecutorDesc { validation: true, ..desc(Some(bad)) }), ErrorKind::InvalidArgument);
        assert!(e.message.contains("4096"), "{}", e.message);
    }
}

fn write_on(buffer: BufferId, data: &[u8]) -> Op<'_> {
    Op::Write { buffer, offset: 0, data }
}

/// `GPUASYNC_WRITE_CHUNK` overrides the description; a value that is not a
/// byte count, or below a page, is an error at executor creation. (In a child
/// process: the environment is the process's.)
#[test]
fn the_environment_variable_is_checked() {
    let exe = std::env::current_exe().expect("current test binary");
    for (value, ok) in [("abc", false), ("-1", false), ("100", false), ("0", true), ("65536", true)] {
        let out = std::process::Command::new(&exe)
            .args(["env_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env("GPUASYNC_WRITE_CHUNK", value)
            .env("CHUNKED_TEST_EXPECT_OK", if ok { "1" } else { "0" })
            .output()
            .expect("run the child test");
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && text.contains("1 passed"), "GPUASYNC_WRITE_CHUNK={value}:\n{text}");
    }
}

/// Run by `the_environment_variable_is_checked` with the variable set.
#[test]
#[ignore]
fn env_child() {
    let Ok(expect) = std::env::var("CHUNKED_TEST_EXPECT_OK") else {
        eprintln!("env_child runs only under the_environment_variable_is_checked");
        return;
    };
    let ok = expect == "1";
    let value = std::env::var("GPUASYNC_WRITE_CHUNK").unwrap_or_default();
    // The description asks for no chunking; the variable decides. (Cooperative
    // matrices off, as in `executor_with`: Debian's layer predates them.)
    let made = Executor::new(&ExecutorDesc { validation: true, cooperative_matrix: gpuasync::CooperativeMatrix::Off, ..Default::default() });
    if !ok {
        let e = expect_err(made, ErrorKind::InvalidArgument);
        assert!(e.message.contains("GPUASYNC_WRITE_CHUNK") || e.message.contains("4096"), "{}", e.message);
        return;
    }
    let ex = made.expect("executor");
    let b = buffer(&ex, 4 * CHUNK);
    let data = lcg_bytes(6, 4 * CHUNK);
    let (t, tickets, chunked) = submit_counted(&ex, &[write_on(b, &data)], PLAIN);
    let want = if value == "0" { 1 } else { 4 };
    assert_eq!((tickets, chunked), (want, want > 1), "GPUASYNC_WRITE_CHUNK={value}");
    assert!(ex.wait(t, u64::MAX).unwrap());
    assert_eq_all(&read_all(&ex, b, 4 * CHUNK), &data, "written");
    assert_clean(&ex);
}

/// A chunked write that cannot be done changes nothing: a range out of
/// bounds, a destroyed buffer, running out of staging memory (debug builds).
/// No ticket is taken, the buffer keeps its bytes, and the executor goes on.
#[test]
fn a_failed_chunked_write_changes_nothing() {
    let ex = chunked_executor();
    let size = 4 * CHUNK;
    let b = buffer(&ex, size);
    let old = lcg_bytes(7, size);
    fill(&ex, b, &old);
    let data = lcg_bytes(8, 3 * CHUNK + 100);
    let before = ex.stats();
    let past_end = Op::Write { buffer: b, offset: (CHUNK + 1) as u64, data: &data };
    expect_err(ex.submit(&[past_end], PLAIN), ErrorKind::OutOfRange);
    let gone = buffer(&ex, size);
    ex.destroy_buffer(gone).unwrap();
    expect_err(ex.submit(&[write_on(gone, &data)], PLAIN), ErrorKind::InvalidHandle);
    #[cfg(debug_assertions)]
    {
        gpuasync::testing::fail_next_staging();
        expect_err(ex.submit(&[write_on(b, &data)], PLAIN), ErrorKind::OutOfDeviceMemory);
    }
    let after = ex.stats();
    assert_eq!((after.submissions, after.chunked_writes), (before.submissions, before.chunked_writes), "no ticket taken");
    assert_eq_all(&read_all(&ex, b, size), &old, "buffer after the failed writes");

    // Still works: the same write in range.
    let (t, tickets, chunked) = submit_counted(&ex, &[Op::Write { buffer: b, offset: 10, data: &data }], PLAIN);
    assert!(chunked && tickets == 4);
    assert!(ex.wait(t, u64::MAX).unwrap());
    let mut want = old;
    want[10..10 + data.len()].copy_from_slice(&data);
    assert_eq_all(&read_all(&ex, b, size), &want, "buffer after a good write");
    assert_clean(&ex);
}

/// `no_block` and timed submissions of a large write stay whole (a ticket
/// each) and are correct; a timed one has its timing.
#[test]
fn no_block_and_timed_writes_stay_whole() {
    let ex = chunked_executor();
    let b = buffer(&ex, LEN + 64);
    let data = lcg_bytes(9, LEN);
    let (t, tickets, chunked) = submit_counted(&ex, &[Op::Write { buffer: b, offset: 64, data: &data }], SubmitFlags { no_block: true, ..PLAIN });
    assert!(!chunked && tickets == 1, "no_block stays whole");
    assert!(ex.wait(t, u64::MAX).unwrap());
    assert_eq_all(&read_all(&ex, b, LEN + 64)[64..], &data, "no_block write");

    let data = lcg_bytes(10, LEN);
    let (t, tickets, chunked) = submit_counted(&ex, &[Op::Write { buffer: b, offset: 0, data: &data }], WHOLE);
    assert!(!chunked && tickets == 1, "timed stays whole");
    assert!(ex.wait(t, u64::MAX).unwrap());
    assert_eq_all(&read_all(&ex, b, LEN + 64)[..LEN], &data, "timed write");
    if ex.device_info().timestamps {
        assert!(ex.timing(t).is_ok(), "the timed write has its timing");
    }
    let op_timed = SubmitFlags { op_timestamps: true, ..PLAIN };
    let (t, tickets, chunked) = submit_counted(&ex, &[Op::Write { buffer: b, offset: 0, data: &data }], op_timed);
    assert!(!chunked && tickets == 1, "per-op timed stays whole");
    assert!(ex.wait(t, u64::MAX).unwrap());
    assert_clean(&ex);
}

/// At a small in-flight bound and staging budget, back-to-back chunked writes
/// wait for room (with their locks let go) and stay correct; a write of more
/// chunks than the bound takes larger chunks.
#[test]
fn chunked_writes_respect_the_in_flight_bound_and_staging_budget() {
    let ex = executor_with(ExecutorDesc { max_in_flight: 4, staging_bytes: 3 * CHUNK as u64, ..desc(Some(CHUNK as u64)) });
    let k = kernel(&ex, "lcg");
    let n = LEN / 4;
    let bufs: Vec<BufferId> = (0..3).map(|_| buffer(&ex, LEN)).collect();
    let datas: Vec<Vec<u32>> = (0..6).map(|i| nonzero_u32s(&mut Rng::new(20 + i), n)).collect();
    let p = LcgParams { n: n as u32, iterations: 200 };
    let before = ex.stats();
    for (i, d) in datas.iter().enumerate() {
        let b = bufs[i % 3];
        // A kernel ahead keeps the GPU busy, so the next write must wait.
        ex.submit(&[Op::Dispatch { kernel: k, buffers: &[b], push_constants: push(&p), groups: groups(n, 64) }], PLAIN).unwrap();
        let (_, tickets, chunked) = submit_counted(&ex, &[write_on(b, bytes(d))], PLAIN);
        // Six chunks would pass the bound of four: four larger ones.
        assert!(chunked && tickets == 4, "tickets {tickets}");
    }
    ex.wait_all().unwrap();
    assert_eq!(ex.stats().chunked_writes - before.chunked_writes, 6);
    for (i, b) in bufs.iter().enumerate() {
        let mut back = vec![0u32; n];
        ex.wait(ex.submit(&[read_op(*b, 0, &mut back)], PLAIN).unwrap(), u64::MAX).unwrap();
        assert_eq_all(&back, &datas[i + 3], &format!("buffer {i}"));
    }
    assert_clean(&ex);
}

/// Another thread never sees half of a chunked write: while one thread writes
/// whole versions of a buffer (chunked), another reads it whole, again and
/// again, and every read is exactly one version.
#[test]
fn other_threads_see_all_or_none_of_a_chunked_write() {
    let ex = chunked_executor();
    let len = 8 * CHUNK;
    let b = buffer(&ex, len);
    let versions: Vec<Vec<u8>> = (0..12).map(|v| lcg_bytes(100 + v, len)).collect();
    fill(&ex, b, &versions[0]);
    std::thread::scope(|s| {
        let ex = &ex;
        let versions = &versions;
        s.spawn(move || {
            for round in 0..3 {
                for v in versions.iter().skip(usize::from(round == 0)) {
                    ex.submit(&[write_on(b, v)], PLAIN).expect("chunked write");
                }
            }
        });
        for i in 0..40 {
            let back = read_all(ex, b, len);
            let v = versions.iter().position(|v| v[..16] == back[..16]);
            let v = v.unwrap_or_else(|| panic!("read {i}: the first bytes match no version"));
            assert_eq_all(&back, &versions[v], &format!("read {i} (version {v})"));
        }
    });
    ex.wait_all().unwrap();
    assert_clean(&ex);
}
