//! The experimental upload kernel (`GPUASYNC_UPLOAD_KERNEL`, docs/async.md):
//! writes from registered host memory done by a copy kernel on the compute
//! queue instead of a copy command. Random data, every element checked; the
//! kernel path is asserted taken where it applies (aligned ranges, in pieces
//! above maxStorageBufferRange) and not where it does not (unaligned: a copy);
//! and a pipeline of chunks through three buffers, uploads by the kernel and
//! downloads on the copy lanes, submitted without waits, with its results
//! checked, since the validation layer misses some hazards.
//!
//! The variable is read when an executor is created; both tests set it once
//! (`upload_kernel_on`), before either creates one, so that no test changes
//! the environment while another's driver reads it.
//!
//! On lavapipe (one queue) the lanes share the queue, so the cross-lane waits
//! of `dependent_rounds_across_lanes` are not what orders it there; on the
//! GPU machine (`scripts/gpu-run.sh tests`) the download lane is a copy queue.
mod common;
use common::*;
use gpuasync::{BufferId, Executor, ExecutorDesc, Op, TransferQueues};

fn upload_kernel_on() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::env::set_var("GPUASYNC_UPLOAD_KERNEL", "3"));
}

fn write_op(buffer: BufferId, offset: u64, data: &[u8]) -> Op<'_> {
    Op::Write { buffer, offset, data }
}

/// Write `count` u32s of `src` from element `at` into a fresh buffer at byte
/// `offset`, read the buffer back (staged) and check every element; returns
/// how many kernel uploads the write took.
fn round_trip(ex: &Executor, src: &Aligned, at: usize, count: usize, offset: usize) -> u64 {
    let b = buffer(ex, offset + count * 4);
    let before = ex.stats().kernel_uploads;
    let t = ex.submit(&[write_op(b, offset as u64, src.source(at, count))], PLAIN).unwrap();
    let mut back = vec![0u32; count];
    let t2 = ex.submit(&[read_op(b, offset as u64, &mut back)], PLAIN).unwrap();
    assert!(t2 > t);
    ex.wait(t2, u64::MAX).unwrap();
    let uploads = ex.stats().kernel_uploads - before;
    // SAFETY: `src` holds at least at + count u32s; no GPU work writes it.
    let want = unsafe { std::slice::from_raw_parts(src.ptr.cast::<u32>().add(at), count) };
    assert_eq_all(&back, want, &format!("write of {count} u32s from element {at} to byte {offset}"));
    ex.destroy_buffer(b).unwrap();
    uploads
}

#[test]
fn registered_writes_by_the_upload_kernel() {
    upload_kernel_on();
    let mut rng = Rng::new(71);
    // Declared before the executor, which may still use them when it drops.
    let (align, limit) = {
        let ex = executor();
        let Some(align) = alignment(&ex) else { return };
        (align, ex.device_info().max_storage_buffer_range as usize)
    };
    // Above maxStorageBufferRange by 16 MiB, capped for hosts with little memory.
    let big = (limit + (16 << 20)).min(1 << 30) / align * align;
    let (chunks, n) = (12usize, align); // the pipeline below: n u32s a chunk, four pages
    let mut src = Aligned::new(big, align);
    let mut out = Aligned::new(chunks * n * 4, align);
    let words = rng.u32s(big / 4);
    src.u32s().copy_from_slice(&words);
    let ex = executor();
    src.register(&ex);

    // Aligned: the kernel, in one dispatch.
    assert_eq!(round_trip(&ex, &src, 0, 3 * align / 4, 0), 1, "an aligned write takes the upload kernel");
    assert_eq!(round_trip(&ex, &src, 64, 1000, 256), 1, "16-byte aligned offsets and size take the upload kernel");
    // Unaligned source, destination or size: a copy, still correct.
    assert_eq!(round_trip(&ex, &src, 1, 1000, 0), 0, "an unaligned source is copied");
    assert_eq!(round_trip(&ex, &src, 0, 1000, 4), 0, "an unaligned destination is copied");
    assert_eq!(round_trip(&ex, &src, 0, 1001, 0), 0, "a size not a multiple of 16 is copied");
    // Above maxStorageBufferRange (when it fits this host): the kernel, in pieces.
    if big > limit {
        assert_eq!(round_trip(&ex, &src, 0, big / 4, 0), 1, "a write above maxStorageBufferRange takes the kernel in pieces");
    }

    // A kernel's set bound, an upload (its descriptors pushed to set 0), then
    // the same kernel and set again, in one command buffer: the second
    // dispatch must bind its set again (with cached descriptor sets, the
    // executor's default, it skipped that and read the upload's buffers).
    let k = kernel(&ex, "lcg");
    {
        let m = align; // u32s
        let (b, c) = (buffer(&ex, m * 4), buffer(&ex, m * 4));
        let first = rng.u32s(m);
        ex.wait(ex.submit(&[write_op(b, 0, bytes(&first))], PLAIN).unwrap(), u64::MAX).unwrap();
        let p = LcgParams { n: m as u32, iterations: 5 };
        let step = Op::Dispatch { kernel: k, buffers: std::slice::from_ref(&b), push_constants: push(&p), groups: groups(m, 64) };
        let before = ex.stats().kernel_uploads;
        let t = ex.submit(&[step, write_op(c, 0, src.source(0, m)), step], PLAIN).unwrap();
        ex.wait(t, u64::MAX).unwrap();
        assert_eq!(ex.stats().kernel_uploads - before, 1, "the upload between the dispatches took the kernel");
        let (mut got_b, mut got_c) = (vec![0u32; m], vec![0u32; m]);
        ex.wait(ex.submit(&[read_op(b, 0, &mut got_b), read_op(c, 0, &mut got_c)], PLAIN).unwrap(), u64::MAX).unwrap();
        let want_b: Vec<u32> = first.iter().map(|&x| lcg(x, 10)).collect();
        assert_eq_all(&got_b, &want_b, "a kernel's buffer around an upload");
        assert_eq_all(&got_c, &words[..m], "the upload between two dispatches");
        ex.destroy_buffer(b).unwrap();
        ex.destroy_buffer(c).unwrap();
    }

    // A pipeline: 12 chunks through 3 buffers, each chunk uploaded (by the
    // kernel, on the compute queue), stepped through the lcg kernel and read
    // back into registered memory (a copy lane where the device has one),
    // in three submissions each and no waits: chunk i's upload must wait for
    // chunk i - 3's download from the same buffer.
    out.register(&ex);
    let bufs: Vec<BufferId> = (0..3).map(|_| buffer(&ex, n * 4)).collect();
    let p = LcgParams { n: n as u32, iterations: 9 };
    let before = ex.stats().kernel_uploads;
    let mut last = 0;
    for i in 0..chunks {
        let b = &bufs[i % 3..i % 3 + 1];
        ex.submit(&[write_op(b[0], 0, src.source(i * n, n))], PLAIN).unwrap();
        ex.submit(&[Op::Dispatch { kernel: k, buffers: b, push_constants: push(&p), groups: groups(n, 64) }], PLAIN).unwrap();
        last = ex.submit(&[Op::Read { buffer: b[0], offset: 0, dst: out.destination(i * n, n) }], PLAIN).unwrap();
    }
    ex.wait(last, u64::MAX).unwrap();
    assert_eq!(ex.stats().kernel_uploads - before, chunks as u64, "every chunk's upload took the kernel");
    let want: Vec<u32> = words[..chunks * n].iter().map(|&x| lcg(x, 9)).collect();
    assert_eq_all(out.u32s(), &want, "pipeline through the upload kernel");
    for b in bufs {
        ex.destroy_buffer(b).unwrap();
    }
    ex.unregister_host(out.ptr).unwrap();
    ex.unregister_host(src.ptr).unwrap();
    assert_clean(&ex);
}

/// Rounds of upload (the kernel, compute queue), step, download (a transfer
/// lane: the device's copy queues, or compute-family lanes on lavapipe) and
/// step again through one buffer, 300 long, without a wait: each upload must
/// wait for the previous round's download (write after read across lanes) and
/// each download for its step. Every round's result is checked.
#[test]
fn dependent_rounds_across_lanes() {
    upload_kernel_on();
    let (rounds, n) = (300usize, 1024usize);
    let mut host = Aligned::new((2 * rounds * n * 4).next_multiple_of(1 << 16), 1 << 16);
    let desc = ExecutorDesc { transfer_min_bytes: Some(0), ..Default::default() };
    let mut ex = executor_with(desc.clone());
    if ex.transfer_lanes() == 0 {
        drop(ex);
        ex = executor_with(ExecutorDesc { transfer_queues: TransferQueues::Shared, ..desc });
    }
    let Some(_) = alignment(&ex) else { return };
    host.register(&ex);
    let k = kernel(&ex, "lcg");
    let mut rng = Rng::new(72);
    let inputs = rng.u32s(rounds * n);
    host.u32s()[..rounds * n].copy_from_slice(&inputs);
    let b = [buffer(&ex, n * 4)];
    let p = LcgParams { n: n as u32, iterations: 3 };
    let step = Op::Dispatch { kernel: k, buffers: &b, push_constants: push(&p), groups: groups(n, 64) };
    let before = ex.stats();
    for i in 0..rounds {
        ex.submit(&[write_op(b[0], 0, host.source(i * n, n))], PLAIN).unwrap();
        ex.submit(&[step], PLAIN).unwrap();
        ex.submit(&[Op::Read { buffer: b[0], offset: 0, dst: host.destination((rounds + i) * n, n) }], PLAIN).unwrap();
        ex.submit(&[step], PLAIN).unwrap();
    }
    ex.wait_all().unwrap();
    let got = host.u32s()[rounds * n..2 * rounds * n].to_vec();
    let want: Vec<u32> = inputs.iter().map(|&x| lcg(x, 3)).collect();
    assert_eq_all(&got, &want, "rounds through the upload kernel and a download lane");
    let s = ex.stats();
    assert_eq!(s.kernel_uploads - before.kernel_uploads, rounds as u64, "every upload took the kernel");
    assert_eq!(s.transfer_submissions - before.transfer_submissions, rounds as u64, "every download took a lane");
    let mut last = vec![0u32; n];
    ex.wait(ex.submit(&[read_op(b[0], 0, &mut last)], PLAIN).unwrap(), u64::MAX).unwrap();
    let want_last: Vec<u32> = inputs[(rounds - 1) * n..].iter().map(|&x| lcg(x, 6)).collect();
    assert_eq_all(&last, &want_last, "the last round's second step");
    ex.unregister_host(host.ptr).unwrap();
    assert_clean(&ex);
}
