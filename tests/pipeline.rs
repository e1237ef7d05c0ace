//! The asynchronous pipeline (issue 4): long chains of dependent submissions
//! without waits (also behind a long kernel, through full batches and the
//! in-flight bound), exact polls of independent tickets, many threads on one
//! executor, coalesced submission (the flusher hands open work to the queue with
//! no later call), the in-flight bound with non-blocking submits, timestamps of
//! coalesced submissions, an executor dropped with a batch still open, and a wait
//! on a ticket in the middle of a batch.
//!
//! How coalescing shapes these tests (src/submit.rs): a submission to an idle GPU
//! goes to the queue at once; while the GPU is busy, submissions are recorded into
//! one open batch, which the flusher thread hands over when the GPU is down to its
//! last batch (a poll or wait of one of its tickets, or 256 submissions, hands it
//! over earlier). So behind a long kernel (batch 1) the flusher hands over at most
//! one more batch; the tests that need a known layout poll the first ticket after
//! the long kernel (which hands its batch over), after which everything submitted
//! stays in the open batch until the long kernel completes.
//!
//! Every executor here is wrapped in `leak_on_panic`: a failing assertion with
//! reads still outstanding then fails the test instead of crashing the binary.
mod common;
use common::*;
use gpuasync::{BufferId, BufferKind, ErrorKind, Executor, ExecutorDesc, KernelId, Op, SubmitFlags, WHOLE_SIZE};
use std::time::{Duration, Instant};

/// One `dst = src * a + b` dispatch over `n` floats.
fn scale_add_op<'a>(k: KernelId, bufs: &'a [BufferId], p: &'a ScaleAddParams) -> Op<'a> {
    Op::Dispatch { kernel: k, buffers: bufs, push_constants: push(p), groups: groups(p.n as usize, 64) }
}

/// Write `input`, run `iterations` LCG steps over it in place, read it into `out`.
fn lcg_ops<'a>(k: KernelId, b: &'a [BufferId; 1], input: &'a [u32], p: &'a LcgParams, out: &mut [u32]) -> [Op<'a>; 3] {
    [
        Op::Write { buffer: b[0], offset: 0, data: bytes(input) },
        Op::Dispatch { kernel: k, buffers: b, push_constants: push(p), groups: groups(input.len(), 64) },
        read_op(b[0], 0, out),
    ]
}

/// 1,000 submissions of `scale_add` ping-ponging between two buffers, each reading
/// the previous one's output, with no wait (nor poll) in between; one wait at the
/// end. Parameters are chosen so every step is exact in f32 (see
/// `exact_scale_add_params`): the comparison is bit for bit, and any step run out
/// of order, skipped, or reading stale data changes the result.
#[test]
fn dependent_chain_1000() {
    let ex = leak_on_panic(executor());
    let k = kernel(&ex, "scale_add");
    let mut rng = Rng::new(0x4001);
    let n = 2000usize; // not a multiple of the workgroup size
    let x0 = exact_f32s(&mut rng, n, 1024, 8);
    let bufs = [buffer(&ex, n * 4), buffer(&ex, n * 4)];
    let t0 = ex.submit(&[Op::Write { buffer: bufs[0], offset: 0, data: bytes(&x0) }], PLAIN).unwrap();
    let mut want = x0.clone();
    let mut prev = want.clone();
    let mut last = t0;
    const STEPS: usize = 1000;
    for step in 0..STEPS {
        let (a, b) = exact_scale_add_params(&mut rng, &want);
        let (src, dst) = (bufs[step % 2], bufs[(step + 1) % 2]);
        let p = ScaleAddParams { a, b, n: n as u32 };
        let t = ex.submit(&[scale_add_op(k, &[src, dst], &p)], PLAIN).unwrap();
        assert_eq!(t, last + 1, "tickets grow by one per submission (step {step})");
        last = t;
        prev.copy_from_slice(&want);
        for v in &mut want {
            *v = scale_add_exact(*v, a, b);
        }
    }
    assert_ne!(want, x0, "the chain must change the data");
    // STEPS is even: the last step wrote bufs[0]; bufs[1] holds the step before.
    let mut out0 = vec![f32::NAN; n];
    let mut out1 = vec![f32::NAN; n];
    let t = ex.submit(&[read_op(bufs[0], 0, &mut out0), read_op(bufs[1], 0, &mut out1)], PLAIN).unwrap();
    assert_eq!(t, last + 1);
    assert!(ex.wait(t, u64::MAX).unwrap());
    assert_eq_all(&out0, &want, "result of the 1000-step chain");
    assert_eq_all(&out1, &prev, "result of step 999 of the chain");
    // Every earlier ticket is complete once the last one is.
    for t in [t0, t0 + 1, t0 + 500, last] {
        assert!(ex.poll(t).unwrap(), "ticket {t} not complete after a later one");
    }
    assert_clean(&ex);
}

/// 2,500 dependent submissions made behind a long kernel, with no wait until the
/// end, so that they pile up while the GPU is busy. The chain's result is exact;
/// so is the long kernel's.
fn chain_of_2500_behind_a_long_kernel(ex: &Executor, seed: u64) {
    let iters = long_iters(ex);
    let lcg_k = kernel(ex, "lcg");
    let sa_k = kernel(ex, "scale_add");
    let mut rng = Rng::new(seed);
    let long_in = nonzero_u32s(&mut rng, LONG_N);
    let bl = [buffer(ex, LONG_N * 4)];
    let pl = LcgParams { n: LONG_N as u32, iterations: iters };
    let mut long_out = vec![0u32; LONG_N];
    let t_long = ex.submit(&lcg_ops(lcg_k, &bl, &long_in, &pl, &mut long_out), PLAIN).unwrap();
    let n = 64usize;
    let x0 = exact_f32s(&mut rng, n, 1024, 8);
    let bufs = [buffer(ex, n * 4), buffer(ex, n * 4)];
    let mut last = ex.submit(&[Op::Write { buffer: bufs[0], offset: 0, data: bytes(&x0) }], PLAIN).unwrap();
    assert_eq!(last, t_long + 1);
    let mut want = x0.clone();
    const STEPS: usize = 2500;
    for step in 0..STEPS {
        let (a, b) = exact_scale_add_params(&mut rng, &want);
        for v in &mut want {
            *v = scale_add_exact(*v, a, b);
        }
        let p = ScaleAddParams { a, b, n: n as u32 };
        let t = ex.submit(&[scale_add_op(sa_k, &[bufs[step % 2], bufs[(step + 1) % 2]], &p)], PLAIN).unwrap();
        assert_eq!(t, last + 1, "step {step}");
        last = t;
    }
    let mut out = vec![f32::NAN; n];
    let t = ex.submit(&[read_op(bufs[STEPS % 2], 0, &mut out)], PLAIN).unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    assert_eq_all(&out, &want, "result of 2500 steps behind a long kernel");
    assert!(ex.poll(t_long).unwrap());
    assert_eq_all(&long_out, &lcg_reference(&long_in, iters), "long lcg");
}

/// With the default bound of 1,024 submissions in flight, the chain reaches the
/// bound while the long kernel runs: submit waits for the oldest work, then goes on.
#[test]
fn chain_of_2500_at_the_in_flight_bound() {
    let ex = leak_on_panic(executor());
    chain_of_2500_behind_a_long_kernel(&ex, 0x4009);
    assert_clean(&ex);
}

/// With room for 4,096 in flight, the open batch behind the long kernel fills to
/// its size bound (256 submissions) and is handed over while the GPU is busy.
#[test]
fn chain_of_2500_through_full_batches() {
    let ex = leak_on_panic(executor_with(ExecutorDesc { max_in_flight: 4096, ..Default::default() }));
    chain_of_2500_behind_a_long_kernel(&ex, 0x400a);
    assert_clean(&ex);
}

/// What one submission of `independent_tickets_poll_exact` produces, and where.
struct Job {
    what: &'static str,
    ticket: u64,
    /// Host memory its read fills (u32 words; floats compared by bits).
    out: Vec<u32>,
    want: Vec<u32>,
    sentinel: Vec<u32>,
    /// Seen complete by a poll.
    done: bool,
}

/// Independent submissions, a long LCG among short ones, interleaved. Every
/// ticket is polled repeatedly, in a shuffled order each round:
/// - while `poll(t)` is false, `t`'s read destination is untouched (reads land only
///   when a poll first observes completion, never behind the program's back);
/// - the first time `poll(t)` is true, `t`'s results are already in its read
///   destination, complete and correct;
/// - one queue completes in submission order (a timeline signal also covers all
///   earlier work on the queue): once `t` is complete, every earlier ticket is too,
///   with its data delivered.
#[test]
fn independent_tickets_poll_exact() {
    let ex = leak_on_panic(executor());
    let iters = long_iters(&ex);
    let lcg_k = kernel(&ex, "lcg");
    let saxpy_k = kernel(&ex, "saxpy");
    let sa_k = kernel(&ex, "scale_add");
    let mut rng = Rng::new(0x4002);
    let mut jobs: Vec<Job> = Vec::new();
    let mut new_job = |what, want: Vec<u32>, rng: &mut Rng| {
        let sentinel = nonzero_u32s(rng, want.len());
        assert_ne!(sentinel, want);
        jobs.push(Job { what, ticket: 0, out: sentinel.clone(), want, sentinel, done: false });
        jobs.len() - 1
    };

    // Inputs and host references.
    let long_in = nonzero_u32s(&mut rng, LONG_N);
    let mid_n = 1usize << 14;
    let mid_in = nonzero_u32s(&mut rng, mid_n);
    let mid_iters = iters / 2;
    let sx = exact_f32s(&mut rng, 1000, 1024, 8);
    let sy = exact_f32s(&mut rng, 1000, 1 << 16, 12);
    let sa = exact_f32s(&mut rng, 1, 64, 4)[0];
    let small_in = nonzero_u32s(&mut rng, 4096);
    let src_f = exact_f32s(&mut rng, 333, 1024, 8);
    let (a2, b2) = exact_scale_add_params(&mut rng, &src_f);
    let fill_v = rng.next_u32() | 1;
    let small_in2 = nonzero_u32s(&mut rng, 100);

    let j_saxpy = new_job(
        "short saxpy",
        sx.iter().zip(&sy).map(|(&x, &y)| saxpy_exact(sa, x, y).to_bits()).collect(),
        &mut rng,
    );
    let j_long = new_job("long lcg", lcg_reference(&long_in, iters), &mut rng);
    let j_small = new_job("short lcg", lcg_reference(&small_in, 37), &mut rng);
    let j_fill = new_job("fill", vec![fill_v; 500], &mut rng);
    let j_mid = new_job("medium lcg", lcg_reference(&mid_in, mid_iters), &mut rng);
    let j_sa = new_job("scale_add", src_f.iter().map(|&v| scale_add_exact(v, a2, b2).to_bits()).collect(), &mut rng);
    let j_small2 = new_job("short lcg 2", lcg_reference(&small_in2, 5), &mut rng);

    // Buffers, one set per job: the submissions share nothing, so none waits for another.
    let bx = buffer(&ex, 4000);
    let by = buffer(&ex, 4000);
    let bl = [buffer(&ex, LONG_N * 4)];
    let bm = [buffer(&ex, mid_n * 4)];
    let bs = [buffer(&ex, 4096 * 4)];
    let bs2 = [buffer(&ex, 400)];
    let bf = buffer(&ex, 2000);
    let bsrc = buffer(&ex, 333 * 4);
    let bdst = buffer(&ex, 333 * 4);

    let ps = SaxpyParams { a: sa, n: 1000 };
    let pl = LcgParams { n: LONG_N as u32, iterations: iters };
    let pm = LcgParams { n: mid_n as u32, iterations: mid_iters };
    let psm = LcgParams { n: 4096, iterations: 37 };
    let psm2 = LcgParams { n: 100, iterations: 5 };
    let psa = ScaleAddParams { a: a2, b: b2, n: 333 };
    // Submit in the interleaved order short, long, short, short, medium, short, short.
    {
        let out = jobs[j_saxpy].out.as_mut_slice();
        jobs[j_saxpy].ticket = ex
            .submit(
                &[
                    Op::Write { buffer: bx, offset: 0, data: bytes(&sx) },
                    Op::Write { buffer: by, offset: 0, data: bytes(&sy) },
                    Op::Dispatch { kernel: saxpy_k, buffers: &[bx, by], push_constants: push(&ps), groups: groups(1000, 64) },
                    read_op(by, 0, out),
                ],
                PLAIN,
            )
            .unwrap();
    }
    jobs[j_long].ticket = ex.submit(&lcg_ops(lcg_k, &bl, &long_in, &pl, &mut jobs[j_long].out), PLAIN).unwrap();
    jobs[j_small].ticket = ex.submit(&lcg_ops(lcg_k, &bs, &small_in, &psm, &mut jobs[j_small].out), PLAIN).unwrap();
    jobs[j_fill].ticket = ex
        .submit(
            &[Op::Fill { buffer: bf, offset: 0, size: WHOLE_SIZE, value: fill_v }, read_op(bf, 0, &mut jobs[j_fill].out)],
            PLAIN,
        )
        .unwrap();
    jobs[j_mid].ticket = ex.submit(&lcg_ops(lcg_k, &bm, &mid_in, &pm, &mut jobs[j_mid].out), PLAIN).unwrap();
    jobs[j_sa].ticket = ex
        .submit(
            &[
                Op::Write { buffer: bsrc, offset: 0, data: bytes(&src_f) },
                scale_add_op(sa_k, &[bsrc, bdst], &psa),
                read_op(bdst, 0, &mut jobs[j_sa].out),
            ],
            PLAIN,
        )
        .unwrap();
    jobs[j_small2].ticket = ex.submit(&lcg_ops(lcg_k, &bs2, &small_in2, &psm2, &mut jobs[j_small2].out), PLAIN).unwrap();
    for (i, j) in jobs.iter().enumerate() {
        assert_eq!(j.ticket, jobs[0].ticket + i as u64, "tickets grow by one per submission");
    }

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    let mut first_polls_false = vec![0u32; jobs.len()];
    let mut rounds = 0u32;
    while jobs.iter().any(|j| !j.done) {
        assert!(Instant::now() < deadline, "tickets did not complete in 60 s");
        rounds += 1;
        // Fisher-Yates shuffle of the polling order.
        for i in (1..order.len()).rev() {
            order.swap(i, (rng.next_u32() as usize) % (i + 1));
        }
        for &i in &order {
            if jobs[i].done {
                assert!(ex.poll(jobs[i].ticket).unwrap(), "{}: ticket {} was complete, now is not", jobs[i].what, jobs[i].ticket);
                continue;
            }
            let t = jobs[i].ticket;
            if !ex.poll(t).unwrap() {
                first_polls_false[i] += 1;
                assert_eq_all(&jobs[i].out, &jobs[i].sentinel, &format!("{}: ticket {t} not complete, yet its read destination was written", jobs[i].what));
                continue;
            }
            // First time seen complete: the data must be there right now.
            jobs[i].done = true;
            assert_eq_all(&jobs[i].out, &jobs[i].want, &format!("{} (ticket {t}) when poll first said complete", jobs[i].what));
            // In order on one queue: every earlier ticket is complete, its data delivered.
            for job in jobs.iter_mut() {
                if job.ticket < t {
                    assert!(ex.poll(job.ticket).unwrap(), "ticket {t} complete before earlier ticket {}", job.ticket);
                    assert_eq_all(&job.out, &job.want, &format!("{} (ticket {}), earlier than complete ticket {t}", job.what, job.ticket));
                    job.done = true;
                }
            }
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    // The long kernel (~0.5 s) must have been seen incomplete at least once, and so
    // must everything after it: otherwise the test proved nothing about polls.
    assert!(first_polls_false[j_long] > 0, "the long lcg was never seen running");
    assert!(first_polls_false[j_small2] > 0, "the last submission was never seen incomplete");
    assert!(rounds > 2);
    // Polling an old ticket is always valid, and ticket 0 is always complete.
    assert!(ex.poll(0).unwrap());
    for j in &jobs {
        assert!(ex.poll(j.ticket).unwrap());
        assert!(ex.wait(j.ticket, 0).unwrap());
    }
    assert_clean(&ex);
}

/// 8 threads share one executor, each making 2,000 small dependent submissions
/// (a chain over its own two buffers: `scale_add` ping-pong and in-place `saxpy`
/// reading one shared read-only buffer), with polls and waits (checked against
/// the host) interleaved. Every thread's final result is exact; the shared buffer
/// is unchanged.
#[test]
fn eight_threads() {
    const THREADS: usize = 8;
    const STEPS: usize = 2000;
    let n = 64usize;
    let ex = leak_on_panic(executor());
    let sa_k = kernel(&ex, "scale_add");
    let saxpy_k = kernel(&ex, "saxpy");
    let mut rng = Rng::new(0x4003);
    let x = exact_f32s(&mut rng, n, 1024, 8);
    let bx = buffer(&ex, n * 4);
    let t = ex.submit(&[Op::Write { buffer: bx, offset: 0, data: bytes(&x) }], PLAIN).unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());

    let results: Vec<(Vec<f32>, Vec<f32>, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|thread| {
                let (ex, x) = (&ex, &x);
                s.spawn(move || {
                    let mut rng = Rng::new(0x4003_0000 + thread as u64);
                    let y0 = exact_f32s(&mut rng, n, 1024, 8);
                    let bufs = [buffer(ex, n * 4), buffer(ex, n * 4)];
                    let mut last = ex.submit(&[Op::Write { buffer: bufs[0], offset: 0, data: bytes(&y0) }], PLAIN).unwrap();
                    let mut want = y0;
                    let mut cur = 0usize; // which buffer holds the current values
                    let mut checks = 0usize;
                    for step in 0..STEPS {
                        let mut out = vec![f32::NAN; n];
                        let check = step % 250 == 249;
                        let t = if rng.next_u32() % 4 == 0 {
                            // y = a * x + y in place, x shared; a in {±1/2, ±1}.
                            let a = [0.5f32, -0.5, 1.0, -1.0][(rng.next_u32() % 4) as usize];
                            let p = SaxpyParams { a, n: n as u32 };
                            let b = [bx, bufs[cur]];
                            let ops = [
                                Op::Dispatch { kernel: saxpy_k, buffers: &b, push_constants: push(&p), groups: groups(n, 64) },
                                read_op(bufs[cur], 0, &mut out),
                            ];
                            for (v, &xi) in want.iter_mut().zip(x) {
                                *v = saxpy_exact(a, xi, *v);
                            }
                            ex.submit(&ops[..if check { 2 } else { 1 }], PLAIN).unwrap()
                        } else {
                            let (a, b) = exact_scale_add_params(&mut rng, &want);
                            let p = ScaleAddParams { a, b, n: n as u32 };
                            let bb = [bufs[cur], bufs[1 - cur]];
                            cur = 1 - cur;
                            let ops = [scale_add_op(sa_k, &bb, &p), read_op(bufs[cur], 0, &mut out)];
                            for v in &mut want {
                                *v = scale_add_exact(*v, a, b);
                            }
                            ex.submit(&ops[..if check { 2 } else { 1 }], PLAIN).unwrap()
                        };
                        assert!(t > last, "thread {thread}: ticket {t} after {last}");
                        last = t;
                        if check {
                            // A wait in the middle of the chain, checked against the host.
                            assert!(ex.wait(t, u64::MAX).unwrap());
                            assert_eq_all(&out, &want, &format!("thread {thread} after step {step}"));
                            checks += 1;
                        } else if step % 37 == 0 {
                            // A poll in the middle: either answer is fine, it must not fail.
                            let _ = ex.poll(t).unwrap();
                        }
                    }
                    let mut out = vec![f32::NAN; n];
                    let t = ex.submit(&[read_op(bufs[cur], 0, &mut out)], PLAIN).unwrap();
                    assert!(ex.wait(t, u64::MAX).unwrap());
                    for b in bufs {
                        ex.destroy_buffer(b).unwrap();
                    }
                    (out, want, checks)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread panicked")).collect()
    });
    for (thread, (got, want, checks)) in results.iter().enumerate() {
        assert_eq_all(got, want, &format!("thread {thread} final result"));
        assert_eq!(*checks, STEPS / 250);
    }
    // All 8 chains differ (different seeds): a mix-up between threads would show.
    for i in 0..THREADS {
        for j in i + 1..THREADS {
            assert_ne!(results[i].1, results[j].1);
        }
    }
    let mut xs = vec![f32::NAN; n];
    let t = ex.submit(&[read_op(bx, 0, &mut xs)], PLAIN).unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    assert_eq_all(&xs, &x, "shared read-only buffer after all threads");
    assert_clean(&ex);
}

/// Coalesced work is handed to the queue without a later call. A long LCG runs;
/// behind it, 50 tiny submissions are made (the first one depends on the long
/// kernel's output; they write host-visible buffers), which are recorded into the
/// open batch. Then the test makes no library call at all: it sleeps until well
/// after the long kernel would have finished (3x its duration, measured first) and
/// reads the host-visible buffers through pointers taken before the submissions.
/// They must already hold the final values: the flusher thread submitted the
/// open batch by itself.
#[test]
fn flusher_submits_without_a_later_call() {
    let ex = leak_on_panic(executor());
    let iters = long_iters(&ex);
    let lcg_k = kernel(&ex, "lcg");
    let sa_k = kernel(&ex, "scale_add");
    let mut rng = Rng::new(0x4004);
    let long_in = nonzero_u32s(&mut rng, LONG_N);
    let long_want = lcg_reference(&long_in, iters);
    let bl = [buffer(&ex, LONG_N * 4)];
    let pl = LcgParams { n: LONG_N as u32, iterations: iters };

    // Measure the long kernel alone (submit to observed completion).
    let mut scratch = vec![0u32; LONG_N];
    let start = Instant::now();
    let t = ex.submit(&lcg_ops(lcg_k, &bl, &long_in, &pl, &mut scratch), PLAIN).unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    let long_time = start.elapsed();
    assert_eq_all(&scratch, &long_want, "long lcg (calibration)");

    // Host-visible buffers: a ping-pong chain h[0] <-> h[1], and `hf`, whose first
    // 64 words receive a copy of the long kernel's output and the rest fills.
    let n = 256usize;
    const TINY: usize = 50;
    let h = [
        ex.create_buffer((n * 4) as u64, BufferKind::HostVisible).unwrap(),
        ex.create_buffer((n * 4) as u64, BufferKind::HostVisible).unwrap(),
    ];
    let hf_words = 64 + TINY * 16;
    let hf = ex.create_buffer((hf_words * 4) as u64, BufferKind::HostVisible).unwrap();
    let ph = [ex.buffer_mapped_ptr(h[0]).unwrap(), ex.buffer_mapped_ptr(h[1]).unwrap()];
    let phf = ex.buffer_mapped_ptr(hf).unwrap();
    // Known old contents (no work uses these buffers yet).
    let old: Vec<u32> = nonzero_u32s(&mut rng, hf_words);
    // SAFETY: the mappings hold n*4 and hf_words*4 bytes; no GPU work touches them yet.
    unsafe {
        std::ptr::copy_nonoverlapping(old.as_ptr().cast::<u8>(), phf, hf_words * 4);
        std::ptr::copy_nonoverlapping(old.as_ptr().cast::<u8>(), ph[1], n * 4);
    }

    let x0 = exact_f32s(&mut rng, n, 1024, 8);
    let mut want = x0.clone();
    let mut want_f = old.clone();
    let long_out_sentinel = nonzero_u32s(&mut rng, LONG_N);
    let mut long_out = long_out_sentinel.clone();
    let fresh_in = nonzero_u32s(&mut rng, LONG_N);
    let fresh_want = lcg_reference(&fresh_in, iters);
    want_f[..64].copy_from_slice(&fresh_want[..64]);

    let t_long = ex.submit(&lcg_ops(lcg_k, &bl, &fresh_in, &pl, &mut long_out), PLAIN).unwrap();
    let submitted_at = Instant::now();
    let mut tickets = Vec::new();
    // 1: depends on the long kernel (copies its output), writes the chain's start.
    tickets.push(
        ex.submit(
            &[
                Op::Copy { src: bl[0], src_offset: 0, dst: hf, dst_offset: 0, size: 64 * 4 },
                Op::Write { buffer: h[0], offset: 0, data: bytes(&x0) },
            ],
            PLAIN,
        )
        .unwrap(),
    );
    // Hand the first tiny submission's batch over now (it waits for the long
    // kernel on the GPU): the 49 after it go into a new open batch, which only the
    // flusher can submit once the test stops calling the library.
    assert!(!ex.poll(tickets[0]).unwrap(), "the long kernel should still be running");
    let params: Vec<ScaleAddParams> = (0..TINY - 1)
        .map(|_| {
            let (a, b) = exact_scale_add_params(&mut rng, &want);
            for v in &mut want {
                *v = scale_add_exact(*v, a, b);
            }
            ScaleAddParams { a, b, n: n as u32 }
        })
        .collect();
    let fills: Vec<u32> = (0..TINY).map(|_| rng.next_u32() | 1).collect();
    for (i, &v) in fills.iter().enumerate() {
        want_f[64 + i * 16..64 + (i + 1) * 16].fill(v);
    }
    // 2..=50: the chain h[0] -> h[1] -> ..., each with a fill of its own 16 words.
    for i in 0..TINY - 1 {
        let bb = [h[i % 2], h[(i + 1) % 2]];
        let fill = Op::Fill { buffer: hf, offset: ((64 + i * 16) * 4) as u64, size: 64, value: fills[i] };
        tickets.push(ex.submit(&[scale_add_op(sa_k, &bb, &params[i]), fill], PLAIN).unwrap());
    }
    // The last fill alone.
    let last_fill = Op::Fill { buffer: hf, offset: ((64 + (TINY - 1) * 16) * 4) as u64, size: 64, value: fills[TINY - 1] };
    tickets.push(ex.submit(&[last_fill], PLAIN).unwrap());
    let all_submitted = submitted_at.elapsed();
    for (i, &t) in tickets.iter().enumerate() {
        assert_eq!(t, t_long + 1 + i as u64);
    }
    // TINY-1 chain steps: odd, so the result is in h[1].
    let final_h = (TINY - 1) % 2;

    // No library call from here until the check: the long kernel is still running,
    // so the copy of its output cannot have happened yet.
    // SAFETY: the pointers map hf_words and n words; the GPU may be writing other
    // parts, which the volatile loads tolerate (u32/f32 have no invalid values).
    let early = unsafe { read_mapped(phf.cast::<u32>().cast_const(), 64) };
    assert_eq!(
        early,
        old[..64],
        "the long kernel ({long_time:?} alone) finished before the {} tiny submissions were made ({all_submitted:?}): \
         the test cannot tell coalesced work from work submitted by a later call",
        TINY
    );
    std::thread::sleep(3 * long_time);
    // Still no library call. On a loaded machine the long kernel may run slower
    // than it did alone: keep watching the memory (still without calls) up to 30 s.
    let watch_deadline = Instant::now() + Duration::from_secs(30);
    let (got_h, got_f) = loop {
        // SAFETY: as above.
        let got_h: Vec<f32> = unsafe { read_mapped(ph[final_h].cast::<f32>().cast_const(), n) };
        // SAFETY: as above.
        let got_f: Vec<u32> = unsafe { read_mapped(phf.cast::<u32>().cast_const(), hf_words) };
        if (got_h == want && got_f == want_f) || Instant::now() > watch_deadline {
            break (got_h, got_f);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let seen_after = submitted_at.elapsed();
    assert_eq_all(&got_f, &want_f, &format!("host-visible buffer {seen_after:?} after submitting, with no later call"));
    assert_eq_all(&got_h, &want, &format!("host-visible chain result {seen_after:?} after submitting, with no later call"));
    // The long kernel's read lands only when a poll or wait observes it.
    assert_eq_all(&long_out, &long_out_sentinel, "a read delivered with no library call");

    // Now the normal way.
    let last = *tickets.last().unwrap();
    assert!(ex.wait(last, u64::MAX).unwrap());
    assert!(ex.poll(t_long).unwrap());
    assert_eq_all(&long_out, &fresh_want, "long lcg read");
    // SAFETY: all work using the buffers is complete.
    let got_h: Vec<f32> = unsafe { read_mapped(ph[final_h].cast::<f32>().cast_const(), n) };
    assert_eq_all(&got_h, &want, "chain result after wait");
    assert_clean(&ex);
}

/// `max_in_flight = 4`: behind a long LCG, non-blocking submits succeed until 4
/// submissions are outstanding; the next returns `WouldBlock` and changes nothing
/// (its write never happens, its read is never delivered, ticket numbering goes
/// on by exactly one). A blocking submit at the bound waits for the oldest work
/// and succeeds. Every earlier submission's data are correct.
#[test]
fn no_block_would_block() {
    let ex = leak_on_panic(executor_with(ExecutorDesc { max_in_flight: 4, ..Default::default() }));
    let iters = long_iters(&ex);
    let lcg_k = kernel(&ex, "lcg");
    let mut rng = Rng::new(0x4005);
    let nb = SubmitFlags { no_block: true, ..Default::default() };
    let long_in = nonzero_u32s(&mut rng, LONG_N);
    let bl = [buffer(&ex, LONG_N * 4)];
    let pl = LcgParams { n: LONG_N as u32, iterations: iters };
    let mut long_out = vec![0u32; LONG_N];
    let t1 = ex.submit(&lcg_ops(lcg_k, &bl, &long_in, &pl, &mut long_out), nb).unwrap();

    let m = 300usize;
    let data: Vec<Vec<u32>> = (0..3).map(|_| nonzero_u32s(&mut rng, m)).collect();
    let bufs: Vec<BufferId> = (0..3).map(|_| buffer(&ex, m * 4)).collect();
    let mut outs = vec![vec![0u32; m]; 3];
    let mut tickets = vec![t1];
    for i in 0..3 {
        let ops = [Op::Write { buffer: bufs[i], offset: 0, data: bytes(&data[i]) }, read_op(bufs[i], 0, &mut outs[i])];
        let t = ex.submit(&ops, nb).unwrap();
        assert_eq!(t, t1 + 1 + i as u64);
        tickets.push(t);
    }
    // 4 outstanding: a non-blocking submit (that would overwrite bufs[0] and read it)
    // is refused, twice, and leaves everything as it was.
    let garbage = nonzero_u32s(&mut rng, m);
    let sentinel = nonzero_u32s(&mut rng, m);
    let mut rejected_out = sentinel.clone();
    for _ in 0..2 {
        let ops = [Op::Write { buffer: bufs[0], offset: 0, data: bytes(&garbage) }, read_op(bufs[0], 0, &mut rejected_out)];
        expect_err(ex.submit(&ops, nb), ErrorKind::WouldBlock);
    }
    assert!(!ex.poll(t1).unwrap(), "the long kernel should still be running");
    // A blocking submit at the bound waits for the oldest work (the long kernel), then
    // succeeds with the next ticket.
    let mut check0 = vec![0u32; m];
    let t5 = ex.submit(&[read_op(bufs[0], 0, &mut check0)], PLAIN).unwrap();
    assert_eq!(t5, t1 + 4, "ticket numbering continues by exactly one after WouldBlock");
    assert!(ex.poll(t1).unwrap(), "the blocking submit returned before the oldest submission completed");
    ex.wait_all().unwrap();
    assert_eq_all(&long_out, &lcg_reference(&long_in, iters), "long lcg");
    for i in 0..3 {
        assert_eq_all(&outs[i], &data[i], &format!("submission {} behind the long kernel", i + 2));
    }
    assert_eq_all(&check0, &data[0], "buffer 0 after the refused overwrite");
    assert_eq_all(&rejected_out, &sentinel, "the refused submission's read destination");
    // Nothing outstanding: a non-blocking submit goes through, numbered next.
    let t6 = ex.submit(&[read_op(bufs[1], 0, &mut check0)], nb).unwrap();
    assert_eq!(t6, t5 + 1);
    assert!(ex.wait(t6, u64::MAX).unwrap());
    assert_eq_all(&check0, &data[1], "non-blocking read after the bound cleared");
    assert_clean(&ex);
}

/// Many timed tiny submissions coalesced behind a long timed kernel: every ticket
/// has a timing with gpu_end >= gpu_begin and host_complete >= host_submit;
/// gpu_begin (and host_submit) never decrease from one ticket to the next; the
/// long kernel's GPU span lies within its host window; every result is correct.
#[test]
fn timestamps_in_coalesced_batches() {
    let ex = leak_on_panic(executor());
    let iters = long_iters(&ex);
    assert!(ex.device_info().timestamps, "lavapipe writes timestamps; this test needs them");
    let lcg_k = kernel(&ex, "lcg");
    let mut rng = Rng::new(0x4006);
    let long_in = nonzero_u32s(&mut rng, LONG_N);
    let bl = [buffer(&ex, LONG_N * 4)];
    let pl = LcgParams { n: LONG_N as u32, iterations: iters };
    let mut long_out = vec![0u32; LONG_N];
    let t_long = ex.submit(&lcg_ops(lcg_k, &bl, &long_in, &pl, &mut long_out), TIMED).unwrap();

    const TINY: usize = 200;
    let bufs: Vec<BufferId> = (0..8).map(|_| buffer(&ex, 64)).collect();
    let values: Vec<u32> = (0..TINY).map(|_| rng.next_u32() | 1).collect();
    let mut outs = vec![vec![0u32; 16]; TINY];
    let mut tickets = vec![t_long];
    for (i, out) in outs.iter_mut().enumerate() {
        let b = bufs[i % bufs.len()];
        let t = ex.submit(&[Op::Fill { buffer: b, offset: 0, size: WHOLE_SIZE, value: values[i] }, read_op(b, 0, out)], TIMED).unwrap();
        assert_eq!(t, t_long + 1 + i as u64);
        tickets.push(t);
    }
    assert!(!ex.poll(t_long).unwrap(), "the long kernel should still be running");
    assert!(ex.wait(*tickets.last().unwrap(), u64::MAX).unwrap());
    assert_eq_all(&long_out, &lcg_reference(&long_in, iters), "long lcg");
    for (i, out) in outs.iter().enumerate() {
        assert!(out.iter().all(|&v| v == values[i]), "tiny submission {i}: {out:?}, expected {}", values[i]);
    }
    let timings: Vec<_> = tickets.iter().map(|&t| (t, ex.timing(t).unwrap_or_else(|e| panic!("timing of ticket {t}: {e}")))).collect();
    for &(t, tm) in &timings {
        assert!(tm.gpu_end_ns >= tm.gpu_begin_ns, "ticket {t}: {tm:?}");
        assert!(tm.host_complete_ns >= tm.host_submit_ns, "ticket {t}: {tm:?}");
        assert!(tm.gpu_begin_ns > 0, "ticket {t}: no GPU timestamp: {tm:?}");
    }
    for w in timings.windows(2) {
        let ((t0, a), (t1, b)) = (w[0], w[1]);
        assert!(b.gpu_begin_ns >= a.gpu_begin_ns, "gpu_begin went back from ticket {t0} to {t1}: {a:?} then {b:?}");
        assert!(b.host_submit_ns >= a.host_submit_ns, "host_submit went back from ticket {t0} to {t1}: {a:?} then {b:?}");
    }
    let long = timings[0].1;
    assert!(long.gpu_ns() > 0, "a ~0.5 s kernel took no GPU time: {long:?}");
    // The kernel ran between the submit and the wait that saw it complete: its GPU
    // span fits in that host window (1% and 1 ms of slack for clock differences).
    let window = long.host_complete_ns - long.host_submit_ns;
    assert!(
        long.gpu_ns() <= window + window / 100 + 1_000_000,
        "GPU span {} ns of the long kernel exceeds its host window {window} ns: timestamps mis-scaled? {long:?}",
        long.gpu_ns()
    );
    assert_clean(&ex);
}

/// Submissions left in the open batch while the GPU is busy, with reads into host
/// vectors; the executor is dropped without any poll or wait: dropping submits the
/// open batch, waits, and delivers every read with the right data.
#[test]
fn drop_with_open_batch() {
    let ex = leak_on_panic(executor());
    let iters = long_iters(&ex);
    let lcg_k = kernel(&ex, "lcg");
    let sa_k = kernel(&ex, "scale_add");
    let mut rng = Rng::new(0x4007);
    let long_in = nonzero_u32s(&mut rng, LONG_N);
    let long_want = lcg_reference(&long_in, iters);
    let bl = [buffer(&ex, LONG_N * 4)];
    let pl = LcgParams { n: LONG_N as u32, iterations: iters };
    let long_sentinel = nonzero_u32s(&mut rng, LONG_N);
    let mut long_out = long_sentinel.clone();
    let t_long = ex.submit(&lcg_ops(lcg_k, &bl, &long_in, &pl, &mut long_out), PLAIN).unwrap();

    // Batch 2: one independent submission. Then 20 more go to the open batch: a
    // chain over two buffers with a read after each step, and a read of the long
    // kernel's buffer (which depends on it) every 5 steps.
    let n = 500usize;
    let x0 = exact_f32s(&mut rng, n, 1024, 8);
    let bufs = [buffer(&ex, n * 4), buffer(&ex, n * 4)];
    let t2 = ex.submit(&[Op::Write { buffer: bufs[0], offset: 0, data: bytes(&x0) }], PLAIN).unwrap();
    assert_eq!(t2, t_long + 1);
    // Hand t2's batch over, so everything after it stays in the open batch.
    assert!(!ex.poll(t2).unwrap(), "the long kernel should still be running");
    const STEPS: usize = 20;
    let mut want = x0.clone();
    let mut wants = Vec::new();
    let sentinel: Vec<f32> = (0..n).map(|i| -(i as f32) - 0.125).collect();
    let mut outs = vec![sentinel.clone(); STEPS];
    let mut long_reads = vec![long_sentinel[..1000].to_vec(); STEPS / 5];
    let mut long_reads_it = long_reads.iter_mut();
    let mut last = t2;
    for (step, out) in outs.iter_mut().enumerate() {
        let (a, b) = exact_scale_add_params(&mut rng, &want);
        for v in &mut want {
            *v = scale_add_exact(*v, a, b);
        }
        wants.push(want.clone());
        let p = ScaleAddParams { a, b, n: n as u32 };
        let bb = [bufs[step % 2], bufs[(step + 1) % 2]];
        let mut ops = vec![scale_add_op(sa_k, &bb, &p), read_op(bb[1], 0, out)];
        if step % 5 == 4 {
            ops.push(read_op(bl[0], 0, long_reads_it.next().unwrap()));
        }
        let t = ex.submit(&ops, PLAIN).unwrap();
        assert_eq!(t, last + 1);
        last = t;
    }
    assert!(!ex.poll(t_long).unwrap(), "the long kernel should still be running");
    // Nothing is delivered before a poll or wait sees it complete.
    assert!(outs.iter().all(|o| *o == sentinel), "a read of the open batch was delivered early");
    assert_eq_all(&long_out, &long_sentinel, "a read of the long kernel delivered before any poll or wait");
    assert_clean(&ex);
    drop(ex);
    assert_eq_all(&long_out, &long_want, "long lcg read delivered by drop");
    for (step, (out, want)) in outs.iter().zip(&wants).enumerate() {
        assert_eq_all(out, want, &format!("chain step {step} read delivered by drop"));
    }
    for (i, r) in long_reads.iter().enumerate() {
        assert_eq_all(r, &long_want[..1000], &format!("read {i} of the long kernel's buffer delivered by drop"));
    }
}


/// `wait` on a ticket in the middle of a coalesced batch. Behind a long kernel
/// (batch 1) and one more submission (batch 2, handed over by a poll), tickets t3
/// and t4 share the open batch 3, which signals the timeline only with t4. Waiting for t3 must work
/// like waiting for any ticket: complete, its data delivered, and no validation
/// message.
///
/// The host wait should be for the value the queue really signals (the batch's
/// last ticket), not for t3: all tickets of a batch complete together, so it is
/// the same wait. The Khronos validation layer installed here (1.3.239) only
/// resolves a host wait whose value some submission signals exactly: for a value
/// between two signals it blocks 10 s inside vkWaitSemaphores' bookkeeping and
/// reports UNASSIGNED-VkSemaphore-state-timeout (fixed upstream much later, in
/// Vulkan-ValidationLayers PR 8519). `eight_threads` meets the same case whenever
/// no other thread happens to poll meanwhile.
#[test]
fn wait_on_a_ticket_inside_a_coalesced_batch() {
    let ex = leak_on_panic(executor());
    let iters = long_iters(&ex);
    let lcg_k = kernel(&ex, "lcg");
    let sa_k = kernel(&ex, "scale_add");
    let mut rng = Rng::new(0x4008);
    let long_in = nonzero_u32s(&mut rng, LONG_N);
    let bl = [buffer(&ex, LONG_N * 4)];
    let pl = LcgParams { n: LONG_N as u32, iterations: iters };
    let mut long_out = vec![0u32; LONG_N];
    let t1 = ex.submit(&lcg_ops(lcg_k, &bl, &long_in, &pl, &mut long_out), PLAIN).unwrap();
    let n = 300usize;
    let x0 = exact_f32s(&mut rng, n, 1024, 8);
    let bufs = [buffer(&ex, n * 4), buffer(&ex, n * 4)];
    let t2 = ex.submit(&[Op::Write { buffer: bufs[0], offset: 0, data: bytes(&x0) }], PLAIN).unwrap();
    // Hand t2's batch over: t3 and t4 then share a new open batch.
    assert!(!ex.poll(t2).unwrap(), "the long kernel should still be running");
    let (a3, b3) = exact_scale_add_params(&mut rng, &x0);
    let want3: Vec<f32> = x0.iter().map(|&v| scale_add_exact(v, a3, b3)).collect();
    let (a4, b4) = exact_scale_add_params(&mut rng, &want3);
    let want4: Vec<f32> = want3.iter().map(|&v| scale_add_exact(v, a4, b4)).collect();
    let (p3, p4) = (ScaleAddParams { a: a3, b: b3, n: n as u32 }, ScaleAddParams { a: a4, b: b4, n: n as u32 });
    let mut out3 = vec![f32::NAN; n];
    let mut out4 = vec![f32::NAN; n];
    let t3 = ex.submit(&[scale_add_op(sa_k, &[bufs[0], bufs[1]], &p3), read_op(bufs[1], 0, &mut out3)], PLAIN).unwrap();
    let t4 = ex.submit(&[scale_add_op(sa_k, &[bufs[1], bufs[0]], &p4), read_op(bufs[0], 0, &mut out4)], PLAIN).unwrap();
    assert_eq!((t2, t3, t4), (t1 + 1, t1 + 2, t1 + 3));
    assert!(!ex.poll(t1).unwrap(), "the long kernel should still be running");
    assert!(ex.wait(t3, u64::MAX).unwrap());
    assert_eq_all(&out3, &want3, "ticket in the middle of a batch");
    assert_clean(&ex);
    assert!(ex.wait(t4, u64::MAX).unwrap());
    assert_eq_all(&out4, &want4, "last ticket of the batch");
    assert_eq_all(&long_out, &lcg_reference(&long_in, iters), "long lcg");
    assert_clean(&ex);
}

/// A wait on a ticket that another thread retires at the same moment reports it
/// complete (not TIMEOUT, and without waiting for later work). Found by review:
/// the wait once picked the next bundle's signal when its own had just retired.
/// The moment is made exact: the waiting thread stops (a debug-build hook) after
/// it has found the ticket not retired, while the other thread's poll retires it.
#[cfg(debug_assertions)]
#[test]
fn wait_races_a_poll_that_retires_the_ticket() {
    // The hook is on the compute-queue-alone path: no transfer lanes.
    let ex = leak_on_panic(executor_with(ExecutorDesc { transfer_queues: gpuasync::TransferQueues::Off, ..Default::default() }));
    let k = kernel(&ex, "lcg");
    let small = ex.create_buffer(256, gpuasync::BufferKind::HostVisible).unwrap();
    let busy = buffer(&ex, LONG_N * 4);
    // A fortieth of the calibrated long kernel (~10 ms): still running when t1 is
    // done, so that t1's wait has a later bundle it could wrongly pick.
    let p = LcgParams { n: LONG_N as u32, iterations: (long_iters(&ex) / 40).max(1) };
    let long = Op::Dispatch { kernel: k, buffers: &[busy], push_constants: push(&p), groups: groups(LONG_N, 64) };
    // Rounds in which t2 was already done at its first poll (a loaded machine)
    // retire t1 there, before the race: they are skipped, and enough rounds
    // must race.
    let (mut raced, mut attempts) = (0, 0);
    while raced < 20 {
        attempts += 1;
        assert!(attempts <= 200, "only {raced} of 200 rounds found t2 still running");
        let round = attempts;
        let t1 = ex.submit(&[Op::Fill { buffer: small, offset: 0, size: 256, value: round }], PLAIN).unwrap();
        let t2 = ex.submit(&[long], PLAIN).unwrap();
        if ex.poll(t2).unwrap() {
            continue;
        }
        raced += 1;
        // Let the GPU finish t1 (not retired: nothing polls it) while t2 runs.
        let start = std::time::Instant::now();
        while !gpuasync::testing::timeline_reached(&ex, t1).unwrap() {
            assert!(start.elapsed().as_secs() < 30, "round {round}: t1 never completed");
            std::hint::spin_loop();
        }
        let go = std::sync::Arc::new(std::sync::Barrier::new(2));
        let done = std::sync::Arc::new(std::sync::Barrier::new(2));
        let ex: &gpuasync::Executor = &ex;
        std::thread::scope(|s| {
            let (go_a, done_a) = (go.clone(), done.clone());
            // Results are unwrapped after the barriers, so that an error on
            // one thread cannot leave the other waiting at one forever.
            let a = s.spawn(move || {
                go_a.wait();
                let polled = ex.poll(t1);
                done_a.wait();
                polled
            });
            let b = s.spawn(move || {
                let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                let (go_b, done_b, ran_b) = (go.clone(), done.clone(), ran.clone());
                gpuasync::testing::before_next_wait_lookup(move || {
                    ran_b.store(true, std::sync::atomic::Ordering::SeqCst);
                    go_b.wait();
                    done_b.wait();
                });
                let waited = ex.wait(t1, 0);
                let ran = ran.load(std::sync::atomic::Ordering::SeqCst);
                if !ran {
                    // Release the polling thread, then fail below.
                    go.wait();
                    done.wait();
                }
                (waited, ran)
            });
            assert!(a.join().unwrap().unwrap(), "round {round}: poll of a completed ticket");
            let (waited, ran) = b.join().unwrap();
            let waited = waited.unwrap();
            assert!(ran, "the wait never reached its bundle lookup (this test needs the compute queue alone)");
            assert!(waited, "round {round}: wait(0) of a completed ticket timed out");
        });
        assert!(ex.wait(t2, u64::MAX).unwrap());
    }
    assert_clean(&ex);
}

/// Handoff (`ExecutorDesc::handoff_ns`): a submission to an idle GPU made while
/// the flusher is awake is handed over by the flusher, not by the submitting
/// thread, and still needs no later call. Each round submits one fill to an
/// idle GPU and then makes no library call until the fill shows in mapped
/// memory and the timeline has passed it. With a long handoff time, each fill
/// is made once the flusher is seen watching, and every one is the flusher's;
/// without one, none is.
#[cfg(debug_assertions)]
#[test]
fn handoff_lets_the_flusher_hand_over_to_an_idle_gpu() {
    assert!(
        std::env::var_os("GPUASYNC_HANDOFF_NS").is_none(),
        "GPUASYNC_HANDOFF_NS overrides the handoff time this test sets; run it without"
    );
    const ROUNDS: u32 = 20;
    for handoff in [Some(2_000_000_000u64), None] {
        // The rounds watch the compute queue's timeline, which a read on a
        // transfer lane never reaches: no lanes (unless the environment says
        // otherwise, which the check below refuses).
        let desc = ExecutorDesc { handoff_ns: handoff, transfer_queues: gpuasync::TransferQueues::Off, ..Default::default() };
        let ex = leak_on_panic(executor_with(desc));
        assert_eq!(ex.transfer_lanes(), 0, "this test needs the compute queue alone (not GPUASYNC_TRANSFER_QUEUE=shared)");
        let small = ex.create_buffer(256, BufferKind::HostVisible).unwrap();
        let seen = ex.buffer_mapped_ptr(small).unwrap().cast::<u32>();
        let mut rng = Rng::new(0x4a4d);
        let before = gpuasync::testing::flusher_flushes(&ex);
        for round in 0..ROUNDS {
            let value = rng.next_u32() | 1;
            let start = Instant::now();
            // With handoff, the first fill's hand-over (this thread's) wakes the
            // flusher; later ones wait for it to be watching. (Yield: lavapipe's
            // threads need the CPU that this thread and the flusher spin on.)
            while handoff.is_some() && round > 0 && !gpuasync::testing::flusher_watching(&ex) {
                assert!(start.elapsed().as_secs() < 30, "round {round}: the flusher never watched");
                std::thread::yield_now();
            }
            let t = ex.submit(&[Op::Fill { buffer: small, offset: 0, size: 256, value }], PLAIN).unwrap();
            // SAFETY: the mapping holds 64 u32s; the GPU writes them (volatile read).
            while unsafe { seen.read_volatile() } != value || !gpuasync::testing::timeline_reached(&ex, t).unwrap() {
                assert!(start.elapsed().as_secs() < 30, "{handoff:?}, round {round}: the fill never landed with no later call");
                std::thread::yield_now();
            }
            let mut out = vec![0u32; 64];
            assert!(ex.wait(ex.submit(&[read_op(small, 0, &mut out)], PLAIN).unwrap(), u64::MAX).unwrap());
            assert_eq_all(&out, &vec![value; 64], &format!("{handoff:?}, round {round}"));
            // The read's hand-over (and its wait) may be either thread's: let the
            // GPU go idle again, without a call, before the next round's fill.
            while !gpuasync::testing::timeline_reached(&ex, t + 1).unwrap() {
                assert!(start.elapsed().as_secs() < 30, "{handoff:?}, round {round}: the read's ticket never passed on the timeline");
                std::thread::yield_now();
            }
        }
        let by_flusher = gpuasync::testing::flusher_flushes(&ex) - before;
        match handoff {
            // Each round's fill after the first, at least; reads may add more.
            Some(_) => assert!(by_flusher >= u64::from(ROUNDS - 1), "handoff on: the flusher handed over {by_flusher} bundles, not every fill after the first"),
            None => assert_eq!(by_flusher, 0, "handoff off: the flusher handed over bundles for an idle GPU"),
        }
        assert_clean(&ex);
    }
}

/// Executor statistics: coalesced submissions share queue submissions; bytes
/// moved by writes and reads are counted exactly; timed spans are summed.
#[test]
fn stats_count_what_happened() {
    let ex = leak_on_panic(executor());
    let k = kernel(&ex, "lcg");
    let iters = long_iters(&ex);
    let before = ex.stats();
    let busy = buffer(&ex, LONG_N * 4);
    let p = LcgParams { n: LONG_N as u32, iterations: iters };
    ex.submit(&[Op::Dispatch { kernel: k, buffers: &[busy], push_constants: push(&p), groups: groups(LONG_N, 64) }], PLAIN)
        .unwrap();
    let small = buffer(&ex, 1024);
    let mut rng = Rng::new(3);
    let mut written = 0u64;
    let mut outs = vec![vec![0u32; 16]; 100];
    for (i, out) in outs.iter_mut().enumerate() {
        let data = rng.u32s(1 + i % 200);
        written += (data.len() * 4) as u64;
        ex.submit(&[Op::Write { buffer: small, offset: 0, data: bytes(&data) }, read_op(small, 0, out)], TIMED).unwrap();
    }
    ex.wait_all().unwrap();
    let s = ex.stats();
    assert_eq!(s.submissions - before.submissions, 101);
    assert_eq!(s.completed, s.submissions);
    assert!(
        s.queue_submissions - before.queue_submissions < 101,
        "submissions behind a busy GPU share command buffers ({} queue submissions for 101)",
        s.queue_submissions - before.queue_submissions
    );
    assert_eq!(s.bytes_written - before.bytes_written, written);
    assert_eq!(s.bytes_read - before.bytes_read, 100 * 64);
    assert_eq!(s.timed_submissions - before.timed_submissions, 100);
    assert!(s.gpu_time_ns > before.gpu_time_ns);
    assert_clean(&ex);
}

/// The staging budget: transfers larger than the whole budget still run (alone)
/// and come back right; while older work holds the budget, a non-blocking submit
/// that needs staging is WouldBlock and changes nothing, a blocking one waits.
#[test]
fn staging_budget_smaller_than_a_transfer() {
    let ex = leak_on_panic(executor_with(ExecutorDesc { staging_bytes: 64 << 10, ..Default::default() }));
    let mut rng = Rng::new(0x57a9);
    // 1 MiB through a 64 KiB budget, both ways.
    let big = rng.u32s(1 << 18);
    let b = buffer(&ex, big.len() * 4);
    let mut back = vec![0u32; big.len()];
    let t = ex.submit(&[Op::Write { buffer: b, offset: 0, data: bytes(&big) }], PLAIN).unwrap();
    let r = ex.submit(&[read_op(b, 0, &mut back)], PLAIN).unwrap();
    assert!(r > t && ex.wait(r, u64::MAX).unwrap());
    assert_eq_all(&back, &big, "1 MiB through a 64 KiB staging budget");

    // Hold the budget behind a long kernel.
    let k = kernel(&ex, "lcg");
    let iters = long_iters(&ex);
    let busy = buffer(&ex, LONG_N * 4);
    let p = LcgParams { n: LONG_N as u32, iterations: iters };
    let small = buffer(&ex, 40 << 10);
    let first = rng.u32s(10 << 10);
    let second = rng.u32s(10 << 10);
    let long = ex.submit(&[Op::Dispatch { kernel: k, buffers: &[busy], push_constants: push(&p), groups: groups(LONG_N, 64) }], PLAIN).unwrap();
    let t1 = ex.submit(&[Op::Write { buffer: small, offset: 0, data: bytes(&first) }], PLAIN).unwrap();
    let nb = SubmitFlags { no_block: true, ..PLAIN };
    expect_err(ex.submit(&[Op::Write { buffer: small, offset: 0, data: bytes(&second) }], nb), ErrorKind::WouldBlock);
    let mut check = vec![0u32; first.len()];
    // A read needs staging too: also refused while the budget is held.
    expect_err(ex.submit(&[read_op(small, 0, &mut check)], nb), ErrorKind::WouldBlock);
    // Work without staging is not held back by the budget.
    let fill = ex.submit(&[Op::Fill { buffer: busy, offset: 0, size: 16, value: 1 }], nb).unwrap();
    assert_eq!((t1, fill), (long + 1, long + 2), "refused submissions take no ticket");
    // The budget counts the bytes asked for, not the (rounded-up) staging
    // buffers: 40 KiB + 40 KiB does not fit 64 KiB (refused above), but
    // 40 KiB + 16 bytes does, although the first write's buffer is 64 KiB.
    let tiny = [7u32; 4];
    let t_tiny = ex.submit(&[Op::Write { buffer: busy, offset: 64, data: bytes(&tiny) }], nb).unwrap();
    assert_eq!(t_tiny, fill + 1);
    // A blocking submit waits for the first write to retire, then goes.
    let t2 = ex.submit(&[read_op(small, 0, &mut check)], PLAIN).unwrap();
    assert!(ex.wait(t2, u64::MAX).unwrap());
    assert_eq_all(&check, &first, "the write before the refused ones landed; the refused one did not");
    assert_clean(&ex);
}

/// The trace: valid JSON, host spans for submit/poll/wait on the host process,
/// one GPU span per submission on the GPU process, GPU spans inside the host's
/// view of the run (on one clock).
#[test]
fn trace_file_has_host_and_gpu_tracks() {
    assert!(check_json(r#"{"a":[1,2.5e3,"x\"y",true,null],"b":{}}"#).is_ok());
    assert!(check_json(r#"{"a":[1,2,]}"#).is_err(), "the checker rejects bad JSON");
    let ex = leak_on_panic(executor());
    let path = std::env::temp_dir().join(format!("gpuasync-trace-{}.json", std::process::id()));
    ex.trace_to(path.clone()).unwrap();
    let k = kernel(&ex, "scale_add");
    let n = 256usize;
    let (a, b) = (buffer(&ex, n * 4), buffer(&ex, n * 4));
    let x = exact_f32s(&mut Rng::new(9), n, 100, 0);
    let p = ScaleAddParams { a: 1.0, b: 1.0, n: n as u32 };
    let mut out = vec![0f32; n];
    let mut tickets = vec![ex.submit(&[Op::Write { buffer: a, offset: 0, data: bytes(&x) }], PLAIN).unwrap()];
    for i in 0..20 {
        let (src, dst) = if i % 2 == 0 { (a, b) } else { (b, a) };
        tickets.push(ex.submit(&[Op::Dispatch { kernel: k, buffers: &[src, dst], push_constants: push(&p), groups: groups(n, 64) }], PLAIN).unwrap());
    }
    tickets.push(ex.submit(&[read_op(a, 0, &mut out)], PLAIN).unwrap());
    let _ = ex.poll(tickets[5]).unwrap();
    assert!(ex.wait(*tickets.last().unwrap(), u64::MAX).unwrap());
    assert_eq_all(&out, &x.iter().map(|v| v + 20.0).collect::<Vec<_>>(), "work under tracing");
    ex.trace_stop().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).ok();
    check_json(&text).unwrap_or_else(|e| panic!("trace is not valid JSON: {e}"));
    let count = |needle: &str| text.matches(needle).count();
    assert_eq!(count(r#""name":"submit","cat":"host""#), tickets.len(), "one host span per submit");
    // Named "submission" on the compute queue, "transfer queue (...)" on a lane.
    assert_eq!(count(r#""cat":"gpu","ph":"X","pid":2"#), tickets.len(), "one GPU span per submission");
    assert!(count(r#""name":"wait""#) >= 1 && count(r#""name":"poll"#) >= 1);
    assert!(text.contains("\"process_name\"") && text.contains("GPU queue"));
    // Every span starts at or after the trace's origin.
    assert!(!text.contains("\"ts\":-"), "a span starts before the origin");
    assert_clean(&ex);
}
