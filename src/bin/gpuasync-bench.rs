//! gpuasync-bench: measures the executor honestly (see BENCHMARKS.md / DESIGN.md,
//! "Measuring honestly").
//!
//! Every scenario warms up first, repeats, and reports min / median / max. Wall
//! times bracket the work with full synchronisation (everything waited for
//! before the clock starts and before it stops); GPU times come from timestamps
//! written in the command buffer. Inputs are random and results are checked
//! before a time counts. Rates are printed beside the ceiling measured in the
//! same run; a rate above its ceiling is reported as a measurement error.
//!
//! Usage: gpuasync-bench [--quick] [--json FILE] [--seed-json FILE] [--gemm-tiles LIST]
//!   --quick       tiny sizes and few repeats: a smoke test (CI, lavapipe), not a timing;
//!                 rows above their ceilings are marked but do not fail the run.
//!   --json        all rows, for machines (scripts/bench-table.py).
//!   --seed-json   the seed scenario's timelines (scripts/seed-plot.py).
//!   --only        a comma-separated subset of: round_trip, streamed, batch, saxpy,
//!                 transfers, pipeline, fma, level1, gemm, gemm16, seed (ceilings they need run too).
//!   --gemm-tiles  extra GEMM tilings to time, e.g. 128x128x8x8x8,64x64x16x4x4x8
//!                 (BM x BN x BK x TM x TN [x WARP_M]; see spirv/gemm.comp).

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use gpuasync::{
    Builtin, BuiltinKind, BufferId, BufferKind, DType, Executor, ExecutorDesc, HostDst, KernelId, Op, Operand, PushUpdate, SubmitFlags,
};

const TIMED: SubmitFlags = SubmitFlags { timestamps: true, no_block: false, op_timestamps: false };
const PLAIN: SubmitFlags = SubmitFlags { timestamps: false, no_block: false, op_timestamps: false };

fn words(bytes: &[u8]) -> Vec<u32> {
    bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

struct Kernels {
    scale_add: KernelId,
    lcg: KernelId,
    copy: KernelId,
    saxpy4: KernelId,
    read_sum: KernelId,
    read2: KernelId,
    triad: KernelId,
    fma32: KernelId,
    fma64: Option<KernelId>,
}

impl Kernels {
    fn new(ex: &Executor) -> gpuasync::Result<Self> {
        let k = |spv: &[u8]| ex.create_kernel(&words(spv), "main", &[]);
        Ok(Self {
            scale_add: k(include_bytes!("../../spirv/scale_add.spv"))?,
            lcg: k(include_bytes!("../../spirv/lcg.spv"))?,
            copy: k(include_bytes!("../../spirv/copy.spv"))?,
            saxpy4: k(include_bytes!("../../spirv/saxpy4.spv"))?,
            read_sum: k(include_bytes!("../../spirv/read_sum.spv"))?,
            read2: k(include_bytes!("../../spirv/read2.spv"))?,
            triad: k(include_bytes!("../../spirv/triad.spv"))?,
            fma32: k(include_bytes!("../../spirv/fma_chain_f32.spv"))?,
            fma64: if ex.device_info().float64 { Some(k(include_bytes!("../../spirv/fma_chain_f64.spv"))?) } else { None },
        })
    }
}

/// Summary of repeated measurements of one quantity.
#[derive(Clone, Copy)]
struct Stats {
    min: f64,
    median: f64,
    max: f64,
    count: usize,
}

impl Stats {
    fn of(mut v: Vec<f64>) -> Self {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Self { min: v[0], median, max: v[n - 1], count: n }
    }
}

/// How a stream of submissions reached the GPU, per repetition: submissions
/// per command buffer handed to the queue, the share of those hand-overs the
/// flusher thread made (the rest cost the submitting thread a vkQueueSubmit2),
/// the host time per call of vkQueueSubmit2, vkEndCommandBuffer (under the
/// state lock that submits take) and vkBeginCommandBuffer (on the submitting
/// thread, or the flusher with GPUASYNC_PREBEGIN), the flusher wake-ups per command buffer (each a system call on
/// the submitting thread), and the submissions that waited for the state
/// lock, with the time they waited per submission. Where a stream's time per
/// kernel goes, measured beside it.
#[derive(Default)]
struct StreamShape {
    per_command_buffer: Vec<f64>,
    by_flusher: Vec<f64>,
    submit_us: Vec<f64>,
    end_us: Vec<f64>,
    begin_us: Vec<f64>,
    wakes: Vec<f64>,
    lock_waits: Vec<f64>,
    lock_wait_us: Vec<f64>,
    // Of the submits timed one by one: the median, the 90th and 99th
    // percentiles, and the mean less the median (the time that comes in
    // bursts, e.g. once per command buffer).
    p50_us: Vec<f64>,
    p90_us: Vec<f64>,
    p99_us: Vec<f64>,
    above_median_us: Vec<f64>,
}

impl StreamShape {
    /// The distribution of single submits' host times (`ns`, one each; sorted here).
    fn record_submits(&mut self, ns: &mut [u64]) {
        if ns.is_empty() {
            return;
        }
        ns.sort_unstable();
        let at = |q: f64| ns[((ns.len() - 1) as f64 * q).round() as usize] as f64 / 1e3;
        let mean = ns.iter().sum::<u64>() as f64 / ns.len() as f64 / 1e3;
        self.p50_us.push(at(0.5));
        self.p90_us.push(at(0.9));
        self.p99_us.push(at(0.99));
        self.above_median_us.push(mean - at(0.5));
    }

    fn record(&mut self, submits: usize, before: &gpuasync::Stats, after: &gpuasync::Stats) {
        let cbs = (after.queue_submissions - before.queue_submissions).max(1) as f64;
        let flusher = (after.flusher_submissions - before.flusher_submissions) as f64;
        self.per_command_buffer.push(submits as f64 / cbs);
        self.by_flusher.push(100.0 * flusher / cbs);
        self.submit_us.push((after.queue_submit_ns - before.queue_submit_ns) as f64 / cbs / 1e3);
        self.end_us.push((after.end_command_buffer_ns - before.end_command_buffer_ns) as f64 / cbs / 1e3);
        self.begin_us.push((after.begin_command_buffer_ns - before.begin_command_buffer_ns) as f64 / cbs / 1e3);
        self.wakes.push(100.0 * (after.flusher_wakes - before.flusher_wakes) as f64 / cbs);
        let n = submits.max(1) as f64;
        self.lock_waits.push(100.0 * (after.state_lock_waits - before.state_lock_waits) as f64 / n);
        self.lock_wait_us.push((after.state_lock_wait_ns - before.state_lock_wait_ns) as f64 / n / 1e3);
    }

    fn push_rows(self, rows: &mut Vec<Row>, what: &str) {
        if self.per_command_buffer.is_empty() {
            return;
        }
        let row = |name: &str, unit, v| Row { name: format!("{what}: {name}"), unit, stats: Stats::of(v), ceiling: None, rate: false };
        rows.push(row("submissions per command buffer", "", self.per_command_buffer));
        rows.push(row("command buffers handed over by the flusher", "%", self.by_flusher));
        rows.push(row("host time per vkQueueSubmit2", "us", self.submit_us));
        rows.push(row("host time per vkEndCommandBuffer", "us", self.end_us));
        rows.push(row("host time per vkBeginCommandBuffer", "us", self.begin_us));
        rows.push(row("flusher wake-ups per command buffer", "%", self.wakes));
        rows.push(row("submissions that waited for the state lock", "%", self.lock_waits));
        rows.push(row("state-lock wait per submission", "us", self.lock_wait_us));
        if !self.p50_us.is_empty() {
            rows.push(row("one submit's host time, median", "us", self.p50_us));
            rows.push(row("one submit's host time, 90th percentile", "us", self.p90_us));
            rows.push(row("one submit's host time, 99th percentile", "us", self.p99_us));
            rows.push(row("mean host time per submit above the median", "us", self.above_median_us));
        }
    }
}

/// Where a replay's wall time beyond its GPU time goes: the whole excess per
/// replay (wall less the span between its first and last timestamps), and
/// the host time inside vkQueueSubmit2 per replay (a reusable command buffer
/// may cost the driver more to submit than a one-time one).
#[derive(Default)]
struct ReplaySplit {
    excess_us: Vec<f64>,
    submit_us: Vec<f64>,
}

impl ReplaySplit {
    fn record(&mut self, wall_ns: f64, gpu_ns: f64, before: &gpuasync::Stats, after: &gpuasync::Stats) {
        self.excess_us.push((wall_ns - gpu_ns) / 1e3);
        self.submit_us.push((after.queue_submit_ns - before.queue_submit_ns) as f64 / 1e3);
    }

    fn push_rows(self, rows: &mut Vec<Row>, what: &str) {
        if self.excess_us.is_empty() {
            return;
        }
        let row = |name: &str, v| Row { name: format!("{what}: {name}"), unit: "us", stats: Stats::of(v), ceiling: None, rate: false };
        rows.push(row("wall less GPU time, per replay", self.excess_us));
        rows.push(row("host time in vkQueueSubmit2, per replay", self.submit_us));
    }
}

/// One row of the report.
struct Row {
    name: String,
    unit: &'static str,
    stats: Stats,
    /// The ceiling this figure is compared against (same unit, same run), if any.
    ceiling: Option<(f64, &'static str)>,
    /// `true` when larger is better (rates), `false` for times.
    rate: bool,
}

impl Row {
    fn over_ceiling(&self) -> bool {
        self.rate && self.ceiling.is_some_and(|(c, _)| self.stats.median > c * 1.001)
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 + 0.5
    }
}

fn bytes<T: Copy>(v: &[T]) -> &[u8] {
    // SAFETY: plain numeric data without padding.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast(), std::mem::size_of_val(v)) }
}

fn bytes_mut(v: &mut [u32]) -> &mut [u8] {
    // SAFETY: plain u32 data, which any bytes written through the view leave valid;
    // the view borrows `v` exclusively for its lifetime.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast(), std::mem::size_of_val(v)) }
}

fn read_into<T: Copy>(buffer: BufferId, out: &mut [T]) -> Op<'static> {
    // SAFETY: every caller waits on the ticket before touching `out` again.
    let dst = unsafe { HostDst::new(out.as_mut_ptr().cast(), std::mem::size_of_val(out)) };
    Op::Read { buffer, offset: 0, dst }
}

type R<T> = Result<T, String>;

fn err(e: gpuasync::Error) -> String {
    e.message
}

fn lcg(mut x: u32, iterations: u32) -> u32 {
    for _ in 0..iterations {
        x = x.wrapping_mul(1664525).wrapping_add(1013904223);
    }
    x
}

struct Bench<'a> {
    ex: &'a Executor,
    k: Kernels,
    quick: bool,
    rows: Vec<Row>,
    /// Ceilings measured in this run: bandwidth (GB/s), fp32 and fp64 arithmetic (TFLOP/s).
    bandwidth: f64,
    flops32: f64,
    flops64: f64,
    /// GEMM tilings to time besides the library's choice (`--gemm-tiles`).
    tiles: Vec<gpuasync::GemmTile>,
    /// The seed scenario's timelines, for `--seed-json`.
    seed: Vec<SeedRun>,
    /// Lines printed after the table (compiler statistics of GEMM kernels
    /// when GPUASYNC_PIPELINE_STATS=1).
    notes: Vec<String>,
}

/// One run of the seed scenario: per-kernel GPU spans (ns, on the GPU clock)
/// and the wall time around them.
struct SeedRun {
    mode: &'static str,
    wall_ns: f64,
    spans: Vec<(u64, u64)>,
}

/// Length of the union of intervals: time with at least one kernel running.
fn busy_ns(spans: &[(u64, u64)]) -> u64 {
    let mut v = spans.to_vec();
    v.sort_unstable();
    let (mut total, mut cur) = (0u64, None::<(u64, u64)>);
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

impl Bench<'_> {
    fn reps(&self, full: usize) -> usize {
        if self.quick { (full / 50).max(3) } else { full }
    }

    fn progress(&self, what: &str) {
        eprintln!("[bench] {what}");
    }

    /// A tiny dispatch (one workgroup of scale_add), submit + wait, per round trip.
    fn round_trip(&mut self) -> R<()> {
        self.progress("round trip");
        let ex = self.ex;
        let n = 64usize;
        let src = ex.create_buffer(256, BufferKind::DeviceLocal).map_err(err)?;
        let dst = ex.create_buffer(256, BufferKind::DeviceLocal).map_err(err)?;
        let input: Vec<f32> = (0..n).map(|i| i as f32 * 0.25 + 1.0).collect();
        let t = ex.submit(&[Op::Write { buffer: src, offset: 0, data: bytes(&input) }], PLAIN).map_err(err)?;
        ex.wait(t, u64::MAX).map_err(err)?;
        let push = [1.5f32.to_bits(), 0.5f32.to_bits(), n as u32];
        let dispatch = Op::Dispatch { kernel: self.k.scale_add, buffers: &[src, dst], push_constants: bytes(&push), groups: [1, 1, 1] };
        self.heat()?;
        let mut samples = Vec::new();
        for i in 0..(100 + self.reps(2000)) {
            let start = Instant::now();
            let t = ex.submit(&[dispatch], PLAIN).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            if i >= 100 {
                samples.push(start.elapsed().as_nanos() as f64 / 1e3);
            }
        }
        let mut out = vec![0f32; n];
        let t = ex.submit(&[read_into(dst, &mut out)], PLAIN).map_err(err)?;
        ex.wait(t, u64::MAX).map_err(err)?;
        for i in 0..n {
            if out[i] != input[i] * 1.5 + 0.5 {
                return Err(format!("round trip: wrong result at {i}"));
            }
        }
        self.rows.push(Row { name: "tiny dispatch, submit + wait, per round trip".into(), unit: "us", stats: Stats::of(samples), ceiling: None, rate: false });
        // The same with its data: write 256 bytes, dispatch, read 256 bytes back,
        // one submission and one wait (a small step of a host-driven loop).
        let mut rng = Rng(0x51ed);
        let mut samples = Vec::new();
        for i in 0..(100 + self.reps(2000)) {
            let input: Vec<f32> = (0..n).map(|_| (rng.next() % 4096) as f32).collect();
            out.fill(f32::NAN);
            let start = Instant::now();
            let ops = [Op::Write { buffer: src, offset: 0, data: bytes(&input) }, dispatch, read_into(dst, &mut out)];
            let t = ex.submit(&ops, PLAIN).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            let elapsed = start.elapsed().as_nanos() as f64 / 1e3;
            if let Some(e) = (0..n).find(|&e| out[e] != input[e] * 1.5 + 0.5) {
                return Err(format!("round trip with data: wrong result at {e}"));
            }
            if i >= 100 {
                samples.push(elapsed);
            }
        }
        self.rows.push(Row { name: "256-byte write, tiny dispatch, 256-byte read, submit + wait, per round trip".into(), unit: "us", stats: Stats::of(samples), ceiling: None, rate: false });
        ex.destroy_buffer(src).map_err(err)?;
        ex.destroy_buffer(dst).map_err(err)
    }

    /// `count` tiny lcg submissions on `width` buffers round-robin, then one wait.
    /// Reports the host cost of each submit call and the wall time per kernel.
    fn streamed_independent(&mut self) -> R<()> {
        self.progress("10,000 independent tiny submits");
        self.heat()?;
        let ex = self.ex;
        let count = if self.quick { 500 } else { 10_000 };
        let width = 256usize;
        let n = 64usize;
        let mut rng = Rng(0x1234_5678);
        let seeds: Vec<Vec<u32>> = (0..width).map(|_| (0..n).map(|_| rng.next() as u32).collect()).collect();
        let buffers: Vec<BufferId> = (0..width).map(|_| ex.create_buffer((n * 4) as u64, BufferKind::DeviceLocal)).collect::<Result<_, _>>().map_err(err)?;
        let push = [n as u32, 1u32];
        let mut per_kernel = Vec::new();
        let mut submit_cost = Vec::new();
        let mut write_cost = Vec::new();
        let mut shape = StreamShape::default();
        let mut times = Vec::with_capacity(count);
        for rep in 0..self.reps(10).max(3) + 1 {
            let w = Instant::now();
            for (b, s) in buffers.iter().zip(&seeds) {
                ex.submit(&[Op::Write { buffer: *b, offset: 0, data: bytes(s) }], PLAIN).map_err(err)?;
            }
            let writes = w.elapsed().as_nanos() as f64 / width as f64 / 1e3;
            ex.wait_all().map_err(err)?;
            if rep > 0 {
                write_cost.push(writes);
            }
            let before = ex.stats();
            times.clear();
            let start = Instant::now();
            for i in 0..count {
                let op = Op::Dispatch { kernel: self.k.lcg, buffers: std::slice::from_ref(&buffers[i % width]), push_constants: bytes(&push), groups: [1, 1, 1] };
                let s = Instant::now();
                ex.submit(&[op], PLAIN).map_err(err)?;
                times.push(s.elapsed().as_nanos() as u64);
            }
            let host: u64 = times.iter().sum();
            ex.wait_all().map_err(err)?;
            let wall = start.elapsed().as_nanos() as f64;
            let after = ex.stats();
            // Check every buffer: buffer j ran ceil((count - j) / width) steps.
            for (j, (b, s)) in buffers.iter().zip(&seeds).enumerate() {
                let steps = (count - j).div_ceil(width);
                let mut out = vec![0u32; n];
                let t = ex.submit(&[read_into(*b, &mut out)], PLAIN).map_err(err)?;
                ex.wait(t, u64::MAX).map_err(err)?;
                for e in 0..n {
                    if out[e] != lcg(s[e], steps as u32) {
                        return Err(format!("independent stream: buffer {j} element {e} wrong"));
                    }
                }
            }
            if rep > 0 {
                per_kernel.push(wall / count as f64 / 1e3);
                submit_cost.push(host as f64 / count as f64 / 1e3);
                shape.record(count, &before, &after);
                shape.record_submits(&mut times);
            }
        }
        self.rows.push(Row { name: "host cost of one asynchronous single-dispatch submit".into(), unit: "us", stats: Stats::of(submit_cost), ceiling: None, rate: false });
        self.rows.push(Row { name: format!("{count} independent tiny submits then one wait, per kernel"), unit: "us", stats: Stats::of(per_kernel), ceiling: None, rate: false });
        self.rows.push(Row { name: format!("host cost of one asynchronous {}-byte write", n * 4), unit: "us", stats: Stats::of(write_cost), ceiling: None, rate: false });
        shape.push_rows(&mut self.rows, &format!("{count} independent tiny submits"));
        for b in buffers {
            ex.destroy_buffer(b).map_err(err)?;
        }
        Ok(())
    }

    /// `count` tiny scale_add submissions, each reading the previous output.
    fn streamed_dependent(&mut self) -> R<()> {
        self.progress("10,000 dependent tiny submits");
        let ex = self.ex;
        let count = if self.quick { 500 } else { 10_000 };
        let n = 64usize;
        let a = ex.create_buffer((n * 4) as u64, BufferKind::DeviceLocal).map_err(err)?;
        let b = ex.create_buffer((n * 4) as u64, BufferKind::DeviceLocal).map_err(err)?;
        let mut rng = Rng(99);
        // Random integers: x -> x * 1 + 1 stays exact in f32 for this many steps (< 2^24).
        let input: Vec<f32> = (0..n).map(|_| (rng.next() % 1000) as f32).collect();
        let push = [1.0f32.to_bits(), 1.0f32.to_bits(), n as u32];
        let mut per_kernel = Vec::new();
        let mut shape = StreamShape::default();
        for rep in 0..self.reps(10).max(3) + 1 {
            let t = ex.submit(&[Op::Write { buffer: a, offset: 0, data: bytes(&input) }], PLAIN).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            let before = ex.stats();
            let start = Instant::now();
            for i in 0..count {
                let (src, dst) = if i % 2 == 0 { (a, b) } else { (b, a) };
                let op = Op::Dispatch { kernel: self.k.scale_add, buffers: &[src, dst], push_constants: bytes(&push), groups: [1, 1, 1] };
                ex.submit(&[op], PLAIN).map_err(err)?;
            }
            ex.wait_all().map_err(err)?;
            let wall = start.elapsed().as_nanos() as f64;
            let after = ex.stats();
            let last = if count % 2 == 1 { b } else { a };
            let mut out = vec![0f32; n];
            let t = ex.submit(&[read_into(last, &mut out)], PLAIN).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            for e in 0..n {
                if out[e] != input[e] + count as f32 {
                    return Err(format!("dependent chain: element {e} is {} not {}", out[e], input[e] + count as f32));
                }
            }
            if rep > 0 {
                per_kernel.push(wall / count as f64 / 1e3);
                shape.record(count, &before, &after);
            }
        }
        self.rows.push(Row { name: format!("{count} dependent tiny submits then one wait, per kernel"), unit: "us", stats: Stats::of(per_kernel), ceiling: None, rate: false });
        shape.push_rows(&mut self.rows, &format!("{count} dependent tiny submits"));
        ex.destroy_buffer(a).map_err(err)?;
        ex.destroy_buffer(b).map_err(err)
    }

    /// Host cost of a submit that only records (the GPU is kept busy by a long
    /// kernel, so no submit hands a bundle to the queue).
    fn submit_cost_recording_only(&mut self) -> R<()> {
        self.progress("submit cost while the GPU is busy");
        let ex = self.ex;
        let n = 64usize;
        let count = if self.quick { 200 } else { 2000 };
        let long_n = 1usize << 20;
        let busy = ex.create_buffer((long_n * 4) as u64, BufferKind::DeviceLocal).map_err(err)?;
        let bufs: Vec<BufferId> = (0..64).map(|_| ex.create_buffer((n * 4) as u64, BufferKind::DeviceLocal)).collect::<Result<_, _>>().map_err(err)?;
        let push = [n as u32, 1u32];
        // Calibrate a busy kernel of ~20 ms (enough to cover the submits).
        let mut iters = 64u32;
        loop {
            let p = [long_n as u32, iters];
            let t = ex.submit(&[Op::Dispatch { kernel: self.k.lcg, buffers: &[busy], push_constants: bytes(&p), groups: [(long_n / 64) as u32, 1, 1] }], TIMED).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            let ns = ex.timing(t).map_err(err)?.gpu_ns() as f64;
            if ns > 20e6 || iters > 1 << 28 {
                break;
            }
            iters = (f64::from(iters) * (25e6 / ns.max(1.0)).min(64.0)) as u32 + 1;
        }
        let mut samples = Vec::new();
        for _ in 0..self.reps(10).max(3) {
            ex.wait_all().map_err(err)?;
            let p = [long_n as u32, iters];
            ex.submit(&[Op::Dispatch { kernel: self.k.lcg, buffers: &[busy], push_constants: bytes(&p), groups: [(long_n / 64) as u32, 1, 1] }], PLAIN).map_err(err)?;
            let start = Instant::now();
            for i in 0..count {
                let op = Op::Dispatch { kernel: self.k.lcg, buffers: std::slice::from_ref(&bufs[i % 64]), push_constants: bytes(&push), groups: [1, 1, 1] };
                ex.submit(&[op], PLAIN).map_err(err)?;
            }
            samples.push(start.elapsed().as_nanos() as f64 / count as f64 / 1e3);
        }
        ex.wait_all().map_err(err)?;
        self.rows.push(Row { name: "host cost of one submit while the GPU is busy (recording only)".into(), unit: "us", stats: Stats::of(samples), ceiling: None, rate: false });
        for b in bufs {
            ex.destroy_buffer(b).map_err(err)?;
        }
        ex.destroy_buffer(busy).map_err(err)
    }

    /// A recorded batch of 1000 tiny dispatches replayed: dependent (each reads
    /// the previous output) and independent (each its own buffer).
    fn batch_replay(&mut self) -> R<()> {
        self.progress("recorded batches of 1000 dispatches");
        self.heat()?;
        let ex = self.ex;
        let n = 64usize;
        let count = 1000usize;
        let reps = self.reps(20).max(3);
        // Dependent: scale_add ping-pong a -> b -> a ...; x -> x + 1 each step.
        let (a, b) = (ex.create_buffer(256, BufferKind::DeviceLocal).map_err(err)?, ex.create_buffer(256, BufferKind::DeviceLocal).map_err(err)?);
        let push = [1.0f32.to_bits(), 1.0f32.to_bits(), n as u32];
        let ab = [a, b];
        let ba = [b, a];
        let ops: Vec<Op> = (0..count)
            .map(|i| Op::Dispatch { kernel: self.k.scale_add, buffers: if i % 2 == 0 { &ab } else { &ba }, push_constants: bytes(&push), groups: [1, 1, 1] })
            .collect();
        let dep = ex.create_batch(&ops).map_err(err)?;
        let mut rng = Rng(11);
        let input: Vec<f32> = (0..n).map(|_| (rng.next() % 1000) as f32).collect();
        let mut wall = Vec::new();
        let mut gpu = Vec::new();
        let mut split = ReplaySplit::default();
        for rep in 0..reps + 1 {
            let t = ex.submit(&[Op::Write { buffer: a, offset: 0, data: bytes(&input) }], PLAIN).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            let before = ex.stats();
            let start = Instant::now();
            let t = ex.replay(dep, &[], TIMED).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            let w = start.elapsed().as_nanos() as f64;
            let after = ex.stats();
            let g = ex.timing(t).map_err(err)?.gpu_ns() as f64;
            let mut out = vec![0f32; n];
            let t = ex.submit(&[read_into(a, &mut out)], PLAIN).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            if (0..n).any(|e| out[e] != input[e] + count as f32) {
                return Err("dependent batch: wrong result".into());
            }
            if rep > 0 {
                wall.push(w / count as f64 / 1e3);
                gpu.push(g / count as f64 / 1e3);
                split.record(w, g, &before, &after);
            }
        }
        self.rows.push(Row { name: format!("recorded batch of {count} dependent dispatches, per dispatch, wall"), unit: "us", stats: Stats::of(wall), ceiling: None, rate: false });
        self.rows.push(Row { name: format!("recorded batch of {count} dependent dispatches, per dispatch, GPU"), unit: "us", stats: Stats::of(gpu), ceiling: None, rate: false });
        split.push_rows(&mut self.rows, &format!("recorded batch of {count} dependent dispatches"));
        // Independent: lcg (1 step) on `count` separate buffers.
        let bufs: Vec<BufferId> = (0..count).map(|_| ex.create_buffer(256, BufferKind::DeviceLocal)).collect::<Result<_, _>>().map_err(err)?;
        let seeds: Vec<u32> = (0..n).map(|_| rng.next() as u32).collect();
        let lp = [n as u32, 1u32];
        let ops: Vec<Op> = bufs
            .iter()
            .map(|b| Op::Dispatch { kernel: self.k.lcg, buffers: std::slice::from_ref(b), push_constants: bytes(&lp), groups: [1, 1, 1] })
            .collect();
        let ind = ex.create_batch(&ops).map_err(err)?;
        for b in &bufs {
            ex.submit(&[Op::Write { buffer: *b, offset: 0, data: bytes(&seeds) }], PLAIN).map_err(err)?;
        }
        let (mut wall, mut gpu, mut split) = (Vec::new(), Vec::new(), ReplaySplit::default());
        for rep in 0..reps + 1 {
            ex.wait_all().map_err(err)?;
            let before = ex.stats();
            let start = Instant::now();
            let t = ex.replay(ind, &[], TIMED).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            let w = start.elapsed().as_nanos() as f64;
            let after = ex.stats();
            let g = ex.timing(t).map_err(err)?.gpu_ns() as f64;
            if rep > 0 {
                wall.push(w / count as f64 / 1e3);
                gpu.push(g / count as f64 / 1e3);
                split.record(w, g, &before, &after);
            }
        }
        let replays = reps as u32 + 1;
        for (j, b) in bufs.iter().enumerate().step_by(37) {
            let mut out = vec![0u32; n];
            let t = ex.submit(&[read_into(*b, &mut out)], PLAIN).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            if (0..n).any(|e| out[e] != lcg(seeds[e], replays)) {
                return Err(format!("independent batch: buffer {j} wrong"));
            }
        }
        self.rows.push(Row { name: format!("recorded batch of {count} independent dispatches, per dispatch, wall"), unit: "us", stats: Stats::of(wall), ceiling: None, rate: false });
        self.rows.push(Row { name: format!("recorded batch of {count} independent dispatches, per dispatch, GPU"), unit: "us", stats: Stats::of(gpu), ceiling: None, rate: false });
        split.push_rows(&mut self.rows, &format!("recorded batch of {count} independent dispatches"));
        ex.destroy_batch(dep).map_err(err)?;
        ex.destroy_batch(ind).map_err(err)?;
        let _ = PushUpdate { op: 0, push_constants: &[] };
        for b in bufs.into_iter().chain([a, b]) {
            ex.destroy_buffer(b).map_err(err)?;
        }
        Ok(())
    }

    /// Keep the GPU fully busy for 2.5 s (FMA chains) before a scenario whose
    /// figures depend on its clocks. On the lent H100 the SM clock fell to
    /// 345 MHz within a second of idling (or of light, host-bound work) and came
    /// back in steps (1275, 1590, then 1980 MHz), each held about a second under
    /// load (nvidia-smi log beside the published run), so a short warm-up could
    /// settle on a plateau. Not in --quick.
    fn heat(&self) -> R<()> {
        if self.quick {
            return Ok(());
        }
        let out = self.ex.create_buffer(132 * 64 * 256 * 4, BufferKind::DeviceLocal).map_err(err)?;
        let mut push = Vec::new();
        push.extend_from_slice(&0.999_999f32.to_le_bytes());
        push.extend_from_slice(&1e-7f32.to_le_bytes());
        push.extend_from_slice(&64u32.to_le_bytes());
        let op = Op::Dispatch { kernel: self.k.fma32, buffers: &[out], push_constants: &push, groups: [132 * 64, 1, 1] };
        let start = Instant::now();
        while start.elapsed().as_secs_f64() < 2.5 {
            let t = self.ex.submit(&[op, op, op, op], PLAIN).map_err(err)?;
            self.ex.wait(t, u64::MAX).map_err(err)?;
        }
        self.ex.destroy_buffer(out).map_err(err)
    }

    /// GPU time (ns) of one timed submission of `ops`, no warm-up (for loops that
    /// interleave kernels and drop their first rounds).
    fn gpu_time(&self, ops: &[Op<'_>]) -> R<f64> {
        let t = self.ex.submit(ops, TIMED).map_err(err)?;
        self.ex.wait(t, u64::MAX).map_err(err)?;
        Ok(self.ex.timing(t).map_err(err)?.gpu_ns() as f64)
    }

    /// GPU times (ns) of `reps` timed submissions of `ops`, after a warm-up
    /// that lasts until the clocks have settled under this load: on the H100 a
    /// GPU left idle for a second (while the host prepares data) ran at about
    /// 60% speed for several hundred ms of load. Warm-up runs go in windows of
    /// at least 50 ms of GPU time until two windows agree within 2% (and at
    /// least 200 ms, at most 3 s); --quick only runs twice.
    fn gpu_times(&self, ops: &[Op<'_>], reps: usize) -> R<Vec<f64>> {
        let once = || self.gpu_time(ops);
        once()?;
        once()?;
        if !self.quick {
            let (mut total, mut last) = (0.0, f64::INFINITY);
            loop {
                let (mut window, mut runs) = (0.0, 0u32);
                while window < 50e6 && runs < 10_000 {
                    window += once()?;
                    runs += 1;
                }
                total += window;
                let mean = window / f64::from(runs);
                if (total >= 200e6 && (mean - last).abs() <= 0.02 * mean) || total >= 3e9 {
                    break;
                }
                last = mean;
            }
        }
        (0..reps).map(|_| once()).collect()
    }

    /// saxpy over 2^28 floats in device-local memory, beside the bandwidth ceiling:
    /// the better of a copy kernel and vkCmdCopyBuffer, measured interleaved with
    /// saxpy so clock changes affect both alike.
    fn saxpy(&mut self) -> R<()> {
        let ex = self.ex;
        let n: usize = if self.quick { 1 << 16 } else { 1 << 28 };
        self.progress(&format!("saxpy and bandwidth ceiling, n = {n}"));
        let max_groups = ex.device_info().max_workgroup_count[0] as usize;
        let groups = [((n / 4).div_ceil(256)).min(max_groups) as u32, 1, 1];
        let x = ex.create_buffer((n * 4) as u64, BufferKind::DeviceLocal).map_err(err)?;
        let y = ex.create_buffer((n * 4) as u64, BufferKind::DeviceLocal).map_err(err)?;
        let mut rng = Rng(7);
        let hx: Vec<f32> = (0..n).map(|_| rng.f32()).collect();
        let hy: Vec<f32> = (0..n).map(|_| rng.f32()).collect();
        let reps = self.reps(20);

        // Check the copy kernel once: x -> y.
        let t = ex.submit(&[Op::Write { buffer: x, offset: 0, data: bytes(&hx) }], PLAIN).map_err(err)?;
        ex.wait(t, u64::MAX).map_err(err)?;
        let push_copy = [(n / 4) as u32];
        let copy = Op::Dispatch { kernel: self.k.copy, buffers: &[x, y], push_constants: bytes(&push_copy), groups };
        let mut out = vec![0f32; n];
        let t = ex.submit(&[copy, read_into(y, &mut out)], PLAIN).map_err(err)?;
        ex.wait(t, u64::MAX).map_err(err)?;
        if out != hx {
            return Err("copy kernel: wrong result".into());
        }
        // Check saxpy once, from fresh y: y = a x + y.
        let a = 1.25f32;
        let push = [a.to_bits(), (n / 4) as u32];
        let saxpy = Op::Dispatch { kernel: self.k.saxpy4, buffers: &[x, y], push_constants: bytes(&push), groups };
        let t = ex.submit(&[Op::Write { buffer: y, offset: 0, data: bytes(&hy) }, saxpy, read_into(y, &mut out)], PLAIN).map_err(err)?;
        ex.wait(t, u64::MAX).map_err(err)?;
        for i in 0..n {
            let want = a * hx[i] + hy[i];
            if (out[i] - want).abs() > 1e-6 * want.abs() {
                return Err(format!("saxpy: element {i} is {} not {want}", out[i]));
            }
        }
        // Read-mostly ceiling: each invocation sums 16 vec4s and writes one.
        let per = 16usize;
        let sum_groups = [((n / 4).div_ceil(256 * per)).min(max_groups) as u32, 1, 1];
        let threads = sum_groups[0] as usize * 256;
        let partial = ex.create_buffer((threads * 16) as u64, BufferKind::DeviceLocal).map_err(err)?;
        let read_sum = Op::Dispatch { kernel: self.k.read_sum, buffers: &[x, partial], push_constants: bytes(&push_copy), groups: sum_groups };
        let mut sums = vec![0f32; threads * 4];
        let t = ex.submit(&[read_sum, read_into(partial, &mut sums)], PLAIN).map_err(err)?;
        ex.wait(t, u64::MAX).map_err(err)?;
        for (tid, lanes) in sums.chunks(4).enumerate().step_by(97) {
            for (lane, got) in lanes.iter().enumerate() {
                let mut want = 0f64;
                let mut i = tid;
                while i < n / 4 {
                    want += f64::from(hx[4 * i + lane]);
                    i += threads;
                }
                if (f64::from(*got) - want).abs() > 1e-5 * want.abs().max(1.0) {
                    return Err(format!("read_sum: invocation {tid} lane {lane} is {got}, not {want}"));
                }
            }
        }
        // Two-array read ceiling (dot's traffic): x . y per invocation, checked.
        let groups2 = [1024u32.min(sum_groups[0].max(1)), 1, 1];
        let threads2 = groups2[0] as usize * 256;
        let partial2 = ex.create_buffer((threads2 * 16) as u64, BufferKind::DeviceLocal).map_err(err)?;
        let t = ex.submit(&[Op::Write { buffer: y, offset: 0, data: bytes(&hy) }], PLAIN).map_err(err)?;
        ex.wait(t, u64::MAX).map_err(err)?;
        let read2 = Op::Dispatch { kernel: self.k.read2, buffers: &[x, y, partial2], push_constants: bytes(&push_copy), groups: groups2 };
        let mut sums2 = vec![0f32; threads2 * 4];
        let t = ex.submit(&[read2, read_into(partial2, &mut sums2)], PLAIN).map_err(err)?;
        ex.wait(t, u64::MAX).map_err(err)?;
        for (tid, lanes) in sums2.chunks(4).enumerate().step_by(89) {
            for (lane, got) in lanes.iter().enumerate() {
                let (mut want, mut mag) = (0f64, 0f64);
                let mut i = tid;
                while i < n / 4 {
                    let v = f64::from(hx[4 * i + lane]) * f64::from(hy[4 * i + lane]);
                    want += v;
                    mag += v.abs();
                    i += threads2;
                }
                if (f64::from(*got) - want).abs() > 1e-5 * mag.max(1.0) {
                    return Err(format!("read2: invocation {tid} lane {lane} is {got}, not {want}"));
                }
            }
        }
        // Triad (y = x + y): saxpy's traffic; checked once from fresh y.
        let triad = Op::Dispatch { kernel: self.k.triad, buffers: &[x, y], push_constants: bytes(&push_copy), groups };
        let t = ex.submit(&[Op::Write { buffer: y, offset: 0, data: bytes(&hy) }, triad, read_into(y, &mut out)], PLAIN).map_err(err)?;
        ex.wait(t, u64::MAX).map_err(err)?;
        if (0..n).any(|i| out[i] != hx[i] + hy[i]) {
            return Err("triad kernel: wrong result".into());
        }
        let dma = Op::Copy { src: x, src_offset: 0, dst: y, dst_offset: 0, size: (n * 4) as u64 };
        // Settle the clocks under load first (the rounds below interleave
        // kernels and drop only their first two).
        self.heat()?;
        self.gpu_times(&[copy], 1)?;
        let (mut copy_rates, mut dma_rates, mut read_rates, mut triad_rates, mut saxpy_rates) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut read2_rates = Vec::new();
        for rep in 0..reps + 2 {
            let c = self.gpu_time(&[copy])?;
            let d = self.gpu_time(&[dma])?;
            let r = self.gpu_time(&[read_sum])?;
            let r2 = self.gpu_time(&[read2])?;
            let tr = self.gpu_time(&[triad])?;
            let s = self.gpu_time(&[saxpy])?;
            if rep >= 2 {
                copy_rates.push((2 * n * 4) as f64 / c);
                dma_rates.push((2 * n * 4) as f64 / d);
                read_rates.push((n * 4 + threads * 16) as f64 / r);
                read2_rates.push((2 * n * 4 + threads2 * 16) as f64 / r2);
                triad_rates.push((3 * n * 4) as f64 / tr);
                saxpy_rates.push((3 * n * 4) as f64 / s);
            }
        }
        // The ceiling: the best rate any pure data-movement kernel reached in this run.
        let ceiling = [&copy_rates, &dma_rates, &read_rates, &read2_rates, &triad_rates].iter().map(|v| Stats::of((*v).clone()).max).fold(0.0, f64::max);
        self.bandwidth = ceiling;
        self.rows.push(Row { name: format!("copy kernel, {n} fp32, GPU time"), unit: "GB/s", stats: Stats::of(copy_rates), ceiling: None, rate: true });
        self.rows.push(Row { name: format!("vkCmdCopyBuffer, {n} fp32, GPU time"), unit: "GB/s", stats: Stats::of(dma_rates), ceiling: None, rate: true });
        self.rows.push(Row { name: format!("read-mostly kernel, {n} fp32, GPU time"), unit: "GB/s", stats: Stats::of(read_rates), ceiling: None, rate: true });
        self.rows.push(Row { name: format!("two-array read kernel (x . y), {n} fp32, GPU time"), unit: "GB/s", stats: Stats::of(read2_rates), ceiling: None, rate: true });
        self.rows.push(Row { name: format!("triad y = x + y, {n} fp32, GPU time"), unit: "GB/s", stats: Stats::of(triad_rates), ceiling: None, rate: true });
        self.rows.push(Row { name: format!("saxpy, {n} fp32, device-local, GPU time"), unit: "GB/s", stats: Stats::of(saxpy_rates), ceiling: Some((ceiling, "best data-movement kernel above")), rate: true });
        ex.destroy_buffer(partial).map_err(err)?;
        ex.destroy_buffer(partial2).map_err(err)?;
        ex.destroy_buffer(x).map_err(err)?;
        ex.destroy_buffer(y).map_err(err)
    }

    /// Arithmetic ceilings: the FMA-chain kernel in fp32 (and fp64 where the
    /// device has it), TFLOP/s from GPU timestamps; the best of the repeats is
    /// the ceiling later rates are held against.
    fn fma_ceiling(&mut self) -> R<()> {
        self.progress("arithmetic ceiling (FMA chains)");
        self.heat()?;
        let ex = self.ex;
        let groups: u32 = if self.quick { 64 } else { 132 * 64 };
        let out = ex.create_buffer(u64::from(groups) * 256 * 8, BufferKind::DeviceLocal).map_err(err)?;
        for (name, kernel, double) in [("fp32", Some(self.k.fma32), false), ("fp64", self.k.fma64, true)] {
            let Some(kernel) = kernel else { continue };
            let iters: u32 = if self.quick { 4 } else if double { 64 } else { 256 };
            let mut push = Vec::new();
            if double {
                push.extend_from_slice(&0.999_999f64.to_le_bytes());
                push.extend_from_slice(&1e-7f64.to_le_bytes());
            } else {
                push.extend_from_slice(&0.999_999f32.to_le_bytes());
                push.extend_from_slice(&1e-7f32.to_le_bytes());
            }
            push.extend_from_slice(&iters.to_le_bytes());
            push.resize(push.len().div_ceil(8) * 8, 0);
            let size = ex.kernel_interface(kernel).map_err(err)?.push_constant_size as usize;
            push.truncate(size);
            let op = Op::Dispatch { kernel, buffers: &[out], push_constants: &push, groups: [groups, 1, 1] };
            let flops = f64::from(groups) * 256.0 * f64::from(iters) * 16.0 * 8.0 * 2.0;
            let rates: Vec<f64> = self.gpu_times(&[op], self.reps(10))?.iter().map(|ns| flops / ns / 1e3).collect();
            let st = Stats::of(rates);
            if double {
                self.flops64 = st.max;
            } else {
                self.flops32 = st.max;
            }
            self.rows.push(Row { name: format!("FMA-chain kernel, {name}, GPU time (arithmetic ceiling)"), unit: "TFLOP/s", stats: st, ceiling: None, rate: true });
        }
        ex.destroy_buffer(out).map_err(err)
    }

    /// Built-in level-1 kernels over 2^28 fp32 (axpy, sum, dot), GB/s of the
    /// bytes they must move, beside the bandwidth ceiling; results checked.
    fn builtin_level1(&mut self) -> R<()> {
        let ex = self.ex;
        let n: usize = if self.quick { 1 << 16 } else { 1 << 28 };
        self.progress(&format!("built-in axpy, sum, dot, n = {n}"));
        let mut rng = Rng(17);
        let hx: Vec<f32> = (0..n).map(|_| rng.f32()).collect();
        let hy: Vec<f32> = (0..n).map(|_| rng.f32()).collect();
        let x = ex.create_buffer((n * 4) as u64, BufferKind::DeviceLocal).map_err(err)?;
        let y = ex.create_buffer((n * 4) as u64, BufferKind::DeviceLocal).map_err(err)?;
        let r = ex.create_buffer(16, BufferKind::DeviceLocal).map_err(err)?;
        let t = ex.submit(&[Op::Write { buffer: x, offset: 0, data: bytes(&hx) }, Op::Write { buffer: y, offset: 0, data: bytes(&hy) }], PLAIN).map_err(err)?;
        ex.wait(t, u64::MAX).map_err(err)?;
        let at = |buffer, offset| Operand { buffer, offset, ld: 0 };
        let nn = n as u64;
        let sum = Builtin::reduce(BuiltinKind::Sum, DType::F32, nn, x, x, at(r, 0));
        let dot = Builtin::reduce(BuiltinKind::Dot, DType::F32, nn, x, y, at(r, 1));
        // Check sum and dot once (f64 references; the kernels are compensated).
        let mut got = [0f32; 4];
        let t = ex.submit(&[Op::Builtin(&sum), Op::Builtin(&dot), read_into(r, &mut got)], PLAIN).map_err(err)?;
        ex.wait(t, u64::MAX).map_err(err)?;
        let want_sum: f64 = hx.iter().map(|&v| f64::from(v)).sum();
        let want_dot: f64 = hx.iter().zip(&hy).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
        for (what, g, w) in [("sum", got[0], want_sum), ("dot", got[1], want_dot)] {
            if (f64::from(g) - w).abs() > 4.0 * f64::from(f32::EPSILON) * w.abs() {
                return Err(format!("built-in {what}: {g} but the f64 reference is {w}"));
            }
        }
        // axpy: y = 2 x + y, checked once on fresh y.
        let axpy = Builtin::axpy(DType::F32, nn, 2.0, x, y, y);
        let mut out = vec![0f32; n];
        let t = ex.submit(&[Op::Builtin(&axpy), read_into(y, &mut out)], PLAIN).map_err(err)?;
        ex.wait(t, u64::MAX).map_err(err)?;
        for i in (0..n).step_by(997) {
            let want = 2.0 * f64::from(hx[i]) + f64::from(hy[i]);
            if (f64::from(out[i]) - want).abs() > 2.0 * f64::from(f32::EPSILON) * want.abs() {
                return Err(format!("built-in axpy: element {i} is {} not {want}", out[i]));
            }
        }
        let reps = self.reps(20);
        let z = ex.create_buffer((n * 4) as u64, BufferKind::DeviceLocal).map_err(err)?;
        self.heat()?;
        let axpy_out = Builtin::axpy(DType::F32, nn, 2.0, x, y, z);
        let copy = Builtin::copy(DType::F32, nn, x, z);
        for (name, op, moved) in [
            ("axpy (in place, y = a x + y)", axpy, 3 * n * 4),
            ("axpy (out of place, z = a x + y)", axpy_out, 3 * n * 4),
            ("copy", copy, 2 * n * 4),
            ("sum", sum, n * 4),
            ("dot", dot, 2 * n * 4),
        ] {
            let rates: Vec<f64> = self.gpu_times(&[Op::Builtin(&op)], reps)?.iter().map(|ns| moved as f64 / ns).collect();
            self.rows.push(Row {
                name: format!("built-in {name}, {n} fp32, GPU time"),
                unit: "GB/s",
                stats: Stats::of(rates),
                ceiling: Some((self.bandwidth, "bandwidth ceiling, same run")),
                rate: true,
            });
        }
        for b in [x, y, z, r] {
            ex.destroy_buffer(b).map_err(err)?;
        }
        Ok(())
    }

    /// A random `rows` x `cols` matrix uploaded into a new buffer.
    fn matrix(&self, rng: &mut Rng, len: usize, double: bool) -> R<(BufferId, Vec<f64>)> {
        let host: Vec<f64> = (0..len).map(|_| f64::from(rng.f32()) - 1.0).collect();
        let b = self.ex.create_buffer((len * if double { 8 } else { 4 }) as u64, BufferKind::DeviceLocal).map_err(err)?;
        let t = if double {
            self.ex.submit(&[Op::Write { buffer: b, offset: 0, data: bytes(&host) }], PLAIN)
        } else {
            let h32: Vec<f32> = host.iter().map(|&v| v as f32).collect();
            self.ex.submit(&[Op::Write { buffer: b, offset: 0, data: bytes(&h32) }], PLAIN)
        }
        .map_err(err)?;
        self.ex.wait(t, u64::MAX).map_err(err)?;
        Ok((b, host))
    }

    /// Check sampled elements of C = A B (square, column-major, alpha 1, beta 0)
    /// against an f64 reference; tolerance 2 k eps sum|a||b| (fp rounding bound).
    fn check_gemm(&self, c: BufferId, a: &[f64], b: &[f64], m: usize, double: bool, what: &str) -> R<()> {
        let eps = if double { f64::EPSILON } else { f64::from(f32::EPSILON) };
        let mut rng = Rng(99);
        let mut got = vec![0f64; 1];
        let mut got32 = vec![0f32; 1];
        for _ in 0..16 {
            let (i, j) = ((rng.next() as usize) % m, (rng.next() as usize) % m);
            let idx = (i + j * m) as u64;
            let value = if double {
                // SAFETY: the destination outlives the read, which is waited for below before it is used.
                let dst = unsafe { HostDst::new(got.as_mut_ptr().cast(), 8) };
                let t = self.ex.submit(&[Op::Read { buffer: c, offset: idx * 8, dst }], PLAIN).map_err(err)?;
                self.ex.wait(t, u64::MAX).map_err(err)?;
                got[0]
            } else {
                // SAFETY: the destination outlives the read, which is waited for below before it is used.
                let dst = unsafe { HostDst::new(got32.as_mut_ptr().cast(), 4) };
                let t = self.ex.submit(&[Op::Read { buffer: c, offset: idx * 4, dst }], PLAIN).map_err(err)?;
                self.ex.wait(t, u64::MAX).map_err(err)?;
                f64::from(got32[0])
            };
            let (mut want, mut mag) = (0f64, 0f64);
            for l in 0..m {
                let (x, y) = if double { (a[i + l * m], b[l + j * m]) } else { (f64::from(a[i + l * m] as f32), f64::from(b[l + j * m] as f32)) };
                want += x * y;
                mag += (x * y).abs();
            }
            if (value - want).abs() > 2.0 * m as f64 * eps * mag + 1e-30 {
                return Err(format!("{what}: C({i},{j}) = {value}, the f64 reference is {want}"));
            }
        }
        Ok(())
    }

    /// GEMM C = A B at square sizes (fp32, and fp64 at 4096), TFLOP/s from GPU
    /// timestamps beside the FMA ceiling; the library's tiling, then each tiling
    /// given with --gemm-tiles. Results checked on sampled elements.
    fn gemm(&mut self) -> R<()> {
        let ex = self.ex;
        let mut cases: Vec<(usize, bool)> = if self.quick { vec![(96, false), (64, true)] } else { vec![(1024, false), (4096, false), (8192, false), (4097, false), (8191, false), (4096, true)] };
        if !ex.device_info().float64 {
            cases.retain(|c| !c.1);
        }
        let mut rng = Rng(5);
        for (m, double) in cases {
            let name = if double { "DGEMM fp64" } else { "SGEMM fp32" };
            self.progress(&format!("{name} {m}^3"));
            let (a, ha) = self.matrix(&mut rng, m * m, double)?;
            let (b, hb) = self.matrix(&mut rng, m * m, double)?;
            let (c, _) = self.matrix(&mut rng, m * m, double)?;
            let mm = m as u64;
            let op = |buf| Operand { buffer: buf, offset: 0, ld: mm };
            let dtype = if double { DType::F64 } else { DType::F32 };
            let g = Builtin::gemm(dtype, false, false, mm, mm, mm, 1.0, op(a), op(b), 0.0, op(c));
            let flops = 2.0 * (m as f64).powi(3);
            let reps = self.reps(if m >= 8192 { 5 } else if m >= 4096 { 10 } else { 20 }).max(3);
            let ceiling = if double { self.flops64 } else { self.flops32 };
            self.heat()?;
            let mut variants: Vec<Option<gpuasync::GemmTile>> = vec![None];
            variants.extend(self.tiles.iter().copied().map(Some));
            for tile in variants {
                if ex.set_gemm_tile(dtype, tile).is_err() {
                    continue;
                }
                // Clear C so the check sees this variant's result.
                let t = ex.submit(&[Op::Fill { buffer: c, offset: 0, size: gpuasync::WHOLE_SIZE, value: 0x7fc0_0000 }], PLAIN).map_err(err)?;
                ex.wait(t, u64::MAX).map_err(err)?;
                let times = self.gpu_times(&[Op::Builtin(&g)], reps)?;
                let label = match tile {
                    None => String::new(),
                    Some(t) => format!(", tile {}x{}x{} thread {}x{}{}", t[0], t[1], t[2], t[3], t[4], if t[5] > 0 { format!(" warp {}x{}", t[5], 32 / t[5]) } else { String::new() }),
                };
                self.check_gemm(c, &ha, &hb, m, double, &format!("{name} {m}{label}"))?;
                if let Ok(stats) = ex.gemm_statistics(dtype, mm, mm) {
                    self.notes.push(format!("{name} {m}{label}: {}", stats.join(", ")));
                }
                self.rows.push(Row {
                    name: format!("built-in {name} {m}^3{label}, GPU time"),
                    unit: "TFLOP/s",
                    stats: Stats::of(times.iter().map(|ns| flops / ns / 1e3).collect()),
                    ceiling: Some((ceiling, "FMA-chain ceiling, same run")),
                    rate: true,
                });
            }
            ex.set_gemm_tile(dtype, None).map_err(err)?;
            for buf in [a, b, c] {
                ex.destroy_buffer(buf).map_err(err)?;
            }
        }
        Ok(())
    }

    /// The cooperative-matrix GEMM (fp16 and bf16 inputs, f32 C) at square
    /// sizes, TFLOP/s from GPU timestamps, where the device has it. Inputs are
    /// random f32 matrices rounded on the device by the Convert built-in;
    /// sampled elements of C are checked against an f64 sum of the rounded
    /// inputs (read back). No ceiling of the same run: the FMA chains measure
    /// the CUDA cores, not the tensor cores; cuBLAS stands beside it instead.
    fn gemm16(&mut self) -> R<()> {
        let ex = self.ex;
        let mut rng = Rng(7);
        if !ex.cooperative_matrix_shapes().is_empty() {
            self.notes.push(format!("cooperative-matrix shapes: {}", ex.cooperative_matrix_shapes().join("; ")));
        }
        for dtype in [DType::F16, DType::BF16] {
            if !ex.cooperative_matrix(dtype) {
                self.notes.push(format!("{dtype:?} GEMM: not on this device (no cooperative-matrix support for it)"));
                continue;
            }
            let sizes: &[usize] = if self.quick { &[160] } else if dtype == DType::F16 { &[4096, 8192, 8191] } else { &[8192] };
            for &m in sizes {
                let how = if ex.cooperative_matrix_emulated() { "emulated, no matrix units" } else { "cooperative matrices" };
                let name = format!("{dtype:?} GEMM (f32 C, {how})");
                self.progress(&format!("{name} {m}^3"));
                let mm = m as u64;
                let mut halves = Vec::new();
                for _ in 0..2 {
                    let (f, _) = self.matrix(&mut rng, m * m, false)?;
                    let h = ex.create_buffer((m * m * 2).div_ceil(4) as u64 * 4, BufferKind::DeviceLocal).map_err(err)?;
                    let conv = Builtin::convert(dtype, mm * mm, f, h);
                    let t = ex.submit(&[Op::Builtin(&conv)], PLAIN).map_err(err)?;
                    ex.wait(t, u64::MAX).map_err(err)?;
                    ex.destroy_buffer(f).map_err(err)?;
                    halves.push(h);
                }
                let (a, b) = (halves[0], halves[1]);
                let c = ex.create_buffer(mm * mm * 4, BufferKind::DeviceLocal).map_err(err)?;
                let t = ex.submit(&[Op::Fill { buffer: c, offset: 0, size: gpuasync::WHOLE_SIZE, value: 0x7fc0_0000 }], PLAIN).map_err(err)?;
                ex.wait(t, u64::MAX).map_err(err)?;
                let op = |buf| Operand { buffer: buf, offset: 0, ld: mm };
                let g = Builtin::gemm(dtype, false, false, mm, mm, mm, 1.0, op(a), op(b), 0.0, op(c));
                let flops = 2.0 * (m as f64).powi(3);
                let reps = self.reps(if m >= 8192 { 10 } else { 20 }).max(3);
                self.heat()?;
                let times = self.gpu_times(&[Op::Builtin(&g)], reps)?;
                // Check sampled elements against the rounded inputs.
                let mut ha = vec![0u16; m * m];
                let mut hb = vec![0u16; m * m];
                let t = ex.submit(&[read_into(a, &mut ha), read_into(b, &mut hb)], PLAIN).map_err(err)?;
                ex.wait(t, u64::MAX).map_err(err)?;
                let decode = |h: u16| -> f64 {
                    if dtype == DType::BF16 {
                        return f64::from(f32::from_bits(u32::from(h) << 16));
                    }
                    let (e, f) = (i32::from((h >> 10) & 0x1F), f64::from(h & 0x3FF));
                    let v = if e == 0 { f * 2f64.powi(-24) } else { (1.0 + f / 1024.0) * 2f64.powi(e - 15) };
                    if h & 0x8000 != 0 { -v } else { v }
                };
                let mut crng = Rng(101);
                let mut got = vec![0f32; 1];
                for _ in 0..16 {
                    let (i, j) = ((crng.next() as usize) % m, (crng.next() as usize) % m);
                    // SAFETY: the destination outlives the read, which is waited for below before it is used.
                    let dst = unsafe { HostDst::new(got.as_mut_ptr().cast(), 4) };
                    let t = ex.submit(&[Op::Read { buffer: c, offset: ((i + j * m) * 4) as u64, dst }], PLAIN).map_err(err)?;
                    ex.wait(t, u64::MAX).map_err(err)?;
                    let (mut want, mut mag) = (0f64, 0f64);
                    for l in 0..m {
                        let p = decode(ha[i + l * m]) * decode(hb[l + j * m]);
                        want += p;
                        mag += p.abs();
                    }
                    // Exact products, an f32 sum of m terms (tensor cores may
                    // truncate: 2u per addition): m eps sum|a b|.
                    if (f64::from(got[0]) - want).abs() > m as f64 * f64::from(f32::EPSILON) * mag + 1e-30 {
                        return Err(format!("{name} {m}: C({i},{j}) = {}, the f64 reference is {want}", got[0]));
                    }
                }
                if let Ok(stats) = ex.gemm_statistics(dtype, mm, mm) {
                    self.notes.push(format!("{name} {m}: {}", stats.join(", ")));
                }
                self.rows.push(Row {
                    name: format!("built-in {name} {m}^3, GPU time"),
                    unit: "TFLOP/s",
                    stats: Stats::of(times.iter().map(|ns| flops / ns / 1e3).collect()),
                    ceiling: None,
                    rate: true,
                });
                for buf in [a, b, c] {
                    ex.destroy_buffer(buf).map_err(err)?;
                }
            }
        }
        Ok(())
    }

    /// The seed scenario: 20 SGEMM 1024 (each into its own C, as a fresh output
    /// per call like the CUDA anchor's A @ B), run (a) one by one with a wait
    /// after each, (b) all submitted then one wait, (c) as one recorded batch.
    /// Wall time with full synchronisation; GPU busy = union of the timestamped
    /// spans; GPU span = first begin to last end; utilisation = busy / wall.
    fn seed(&mut self) -> R<()> {
        let ex = self.ex;
        let m: usize = if self.quick { 128 } else { 1024 };
        let count = 20usize;
        self.progress(&format!("seed scenario: {count} x SGEMM {m}"));
        let mut rng = Rng(23);
        let (a, ha) = self.matrix(&mut rng, m * m, false)?;
        let (b, hb) = self.matrix(&mut rng, m * m, false)?;
        let mut cs = Vec::new();
        for _ in 0..count {
            cs.push(self.matrix(&mut rng, m * m, false)?.0);
        }
        let mm = m as u64;
        let op = |buf| Operand { buffer: buf, offset: 0, ld: mm };
        let gemms: Vec<Builtin> = cs.iter().map(|&c| Builtin::gemm(DType::F32, false, false, mm, mm, mm, 1.0, op(a), op(b), 0.0, op(c))).collect();
        let ops: Vec<Op> = gemms.iter().map(Op::Builtin).collect();
        let batch = ex.create_batch(&ops).map_err(err)?;
        let flops = count as f64 * 2.0 * (m as f64).powi(3);
        let reps = self.reps(10).max(3);
        // One run of a mode: wall time and tickets, with or without timestamps.
        let run = |mode: &str, flags: SubmitFlags| -> R<(f64, Vec<u64>)> {
            ex.wait_all().map_err(err)?;
            let start = Instant::now();
            let mut tickets = Vec::with_capacity(count);
            match mode.as_bytes()[0] {
                b'a' => {
                    for o in &ops {
                        let t = ex.submit(std::slice::from_ref(o), flags).map_err(err)?;
                        ex.wait(t, u64::MAX).map_err(err)?;
                        tickets.push(t);
                    }
                }
                b'b' => {
                    for o in &ops {
                        tickets.push(ex.submit(std::slice::from_ref(o), flags).map_err(err)?);
                    }
                    ex.wait(*tickets.last().unwrap_or(&0), u64::MAX).map_err(err)?;
                }
                _ => {
                    let t = ex.replay(batch, &[], flags).map_err(err)?;
                    ex.wait(t, u64::MAX).map_err(err)?;
                    tickets.push(t);
                }
            }
            Ok((start.elapsed().as_nanos() as f64, tickets))
        };
        for mode in ["a: one by one, wait after each", "b: all submitted, one wait", "c: recorded batch, one replay"] {
            self.heat()?;
            let mut runs: Vec<SeedRun> = Vec::new();
            // Without timestamps first: a timestamp between kernels can keep the
            // GPU from overlapping them, so this is the wall time users see.
            let mut plain = Vec::new();
            for rep in 0..reps + 1 {
                let (wall_ns, _) = run(mode, PLAIN)?;
                if rep > 0 {
                    plain.push(wall_ns / 1e6);
                }
            }
            for rep in 0..reps + 1 {
                let (wall_ns, tickets) = run(mode, TIMED)?;
                let spans = tickets
                    .iter()
                    .map(|&t| ex.timing(t).map(|tm| (tm.gpu_begin_ns, tm.gpu_end_ns)))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(err)?;
                if rep > 0 {
                    runs.push(SeedRun { mode, wall_ns, spans });
                }
            }
            // Results: every C equals A B (sampled), from the last run of this mode.
            for (i, &c) in cs.iter().enumerate().step_by(7) {
                self.check_gemm(c, &ha, &hb, m, false, &format!("seed {mode}, C{i}"))?;
            }
            let wall: Vec<f64> = runs.iter().map(|r| r.wall_ns).collect();
            let busy: Vec<f64> = runs.iter().map(|r| busy_ns(&r.spans) as f64).collect();
            let span: Vec<f64> = runs
                .iter()
                .map(|r| (r.spans.iter().map(|s| s.1).max().unwrap_or(0) - r.spans.iter().map(|s| s.0).min().unwrap_or(0)) as f64)
                .collect();
            let util: Vec<f64> = busy.iter().zip(&wall).map(|(b, w)| 100.0 * b / w).collect();
            let tag = &mode[..1];
            let row = |name: String, unit, v: &Vec<f64>, ceiling, rate| Row { name, unit, stats: Stats::of(v.clone()), ceiling, rate };
            self.rows.push(row(format!("seed {mode}: wall, no timestamps"), "ms", &plain, None, false));
            self.rows.push(row(format!("seed {tag}: wall, timestamps per submission"), "ms", &wall.iter().map(|v| v / 1e6).collect(), None, false));
            self.rows.push(row(format!("seed {tag}: GPU busy (union of spans)"), "ms", &busy.iter().map(|v| v / 1e6).collect(), None, false));
            self.rows.push(row(format!("seed {tag}: GPU span (first begin to last end)"), "ms", &span.iter().map(|v| v / 1e6).collect(), None, false));
            self.rows.push(row(format!("seed {tag}: utilisation (busy / wall)"), "%", &util, Some((100.0, "all of the wall time")), true));
            self.rows.push(row(format!("seed {tag}: GPU busy per kernel"), "us", &busy.iter().map(|v| v / count as f64 / 1e3).collect(), None, false));
            self.rows.push(row(
                format!("seed {tag}: achieved rate over wall time (no timestamps)"),
                "TFLOP/s",
                &plain.iter().map(|w| flops / w / 1e9).collect(),
                Some((self.flops32, "FMA-chain ceiling, same run")),
                true,
            ));
            self.rows.push(row(
                format!("seed {tag}: achieved rate over wall time"),
                "TFLOP/s",
                &wall.iter().map(|w| flops / w / 1e3).collect(),
                Some((self.flops32, "FMA-chain ceiling, same run")),
                true,
            ));
            // Keep the run with the median wall time for the timeline plot.
            runs.sort_by(|x, y| x.wall_ns.total_cmp(&y.wall_ns));
            let median = runs.swap_remove(runs.len() / 2);
            self.seed.push(median);
        }
        ex.destroy_batch(batch).map_err(err)?;
        for buf in cs.into_iter().chain([a, b]) {
            ex.destroy_buffer(buf).map_err(err)?;
        }
        Ok(())
    }

    /// The upload / compute / download pipeline: `chunks` chunks stream through
    /// three device buffers (one submission per chunk: write, kernel, read, no
    /// waits in between; completed reads are collected by polls). Against the
    /// bound max(transfer, compute) from the same pieces measured alone.
    fn pipeline(&mut self) -> R<()> {
        let ex = self.ex;
        let (chunk, chunks) = if self.quick { (1usize << 18, 6usize) } else { (8usize << 20, 32usize) };
        self.progress(&format!("upload / compute / download pipeline, {chunks} chunks of {} MiB", (chunk * 4) >> 20));
        let mut rng = Rng(41);
        let input: Vec<u32> = (0..chunk * chunks).map(|_| rng.next() as u32).collect();
        let mut output = vec![0u32; chunk * chunks];
        let base = format!("{chunks} chunks of {} MiB", (chunk * 4) >> 20);
        // One submission per chunk (write, kernel, read: on the compute queue
        // when staged; split across the lanes by the executor when the host
        // arrays are registered), and three (upload, kernel, download: the
        // transfers on the transfer lanes where the device has them).
        for split in [false, true] {
            let label = if split { format!("{base}, three submissions each") } else { format!("{base}, one submission each") };
            self.pipeline_with(&input, &mut output, chunk, &label, split)?;
            // The same with the host arrays registered (no staging copies).
            let label = format!("{label}, registered host memory");
            if with_registered(ex, &input, |rin, rout| self.pipeline_with(rin, rout, chunk, &label, split))?.is_none() {
                eprintln!("registered pipeline skipped: the device lacks VK_EXT_external_memory_host");
            }
        }
        Ok(())
    }

    /// One pipeline measurement over `input` -> `output` (see `pipeline`).
    fn pipeline_with(&mut self, input: &[u32], output: &mut [u32], chunk: usize, label: &str, split: bool) -> R<()> {
        let ex = self.ex;
        let chunks = input.len() / chunk;
        let bufs: Vec<BufferId> =
            (0..3).map(|_| ex.create_buffer((chunk * 4) as u64, BufferKind::DeviceLocal)).collect::<Result<_, _>>().map_err(err)?;
        let groups = [(chunk as u32).div_ceil(64), 1, 1];
        // Each stage alone over all the chunks (every chunk's upload, or every
        // kernel, or every download, submitted as the pipeline submits them;
        // wall time, fastest of the repeats). The pipeline can
        // at best overlap the stages completely, so its wall is at least the
        // slowest stage's. Whole stages rather than one chunk times the count:
        // a lone chunk pays what a stream of them hides (lavapipe's worker
        // threads waking, measured: one kernel 1.9 to 2.7 ms between passes,
        // and the bound from single chunks came out above a pipeline's wall).
        let reps = self.reps(10).max(3);
        // Settle the clocks first (the host has just spent a while making data).
        self.gpu_times(&[Op::Fill { buffer: bufs[0], offset: 0, size: gpuasync::WHOLE_SIZE, value: 1 }], 1)?;
        // Touch every page of the output first: a fresh vector's pages fault
        // in on first write, which the pipeline's timed reps never pay.
        output.iter_mut().for_each(|v| *v = 1);
        // At most three chunks of a stage in flight, as in the pipeline, where
        // chunk i's upload waits on the GPU for chunk i-3's download (the same
        // buffer): there no stage ever has more than three chunks outstanding.
        // Finished tickets are collected as the pipeline collects them; a
        // staged read's bytes reach the host when its completion is observed,
        // and its staging is reused only after that. With every chunk in
        // flight at once, as before, the download stage alone took longer
        // than the whole pipeline (199 against 154 ms on the H100,
        // 2026-12-07); it then held 1 GiB of staging, past the 512 MiB kept
        // for reuse, the suspected cause (not measured).
        let depth = bufs.len();
        let stage = |ops: &mut dyn FnMut(usize) -> R<u64>| -> R<f64> {
            let mut best = f64::INFINITY;
            for _ in 0..reps + 1 {
                ex.wait_all().map_err(err)?;
                let start = Instant::now();
                let mut pending = std::collections::VecDeque::new();
                for i in 0..chunks {
                    if pending.len() == depth {
                        if let Some(t) = pending.pop_front() {
                            ex.wait(t, u64::MAX).map_err(err)?;
                        }
                    }
                    pending.push_back(ops(i)?);
                    collect_finished(ex, &mut pending)?;
                }
                if let Some(&t) = pending.back() {
                    ex.wait(t, u64::MAX).map_err(err)?;
                }
                best = best.min(start.elapsed().as_nanos() as f64);
            }
            Ok(best)
        };
        let up = stage(&mut |i| {
            ex.submit(&[Op::Write { buffer: bufs[i % 3], offset: 0, data: bytes(&input[i * chunk..(i + 1) * chunk]) }], PLAIN).map_err(err)
        })?;
        let out_ptr = output.as_mut_ptr();
        let down = stage(&mut |i| {
            // SAFETY: chunk i of `output` (in bounds: i < chunks); each rep waits
            // for its last ticket, which covers every earlier read, before the
            // next rep (or anything after this stage) touches `output`.
            let dst = unsafe { HostDst::new(out_ptr.add(i * chunk).cast(), chunk * 4) };
            ex.submit(&[Op::Read { buffer: bufs[i % 3], offset: 0, dst }], PLAIN).map_err(err)
        })?;
        let transfer = up.max(down) / chunks as f64;
        // Both directions at once, all chunks: chunk i's upload beside chunk
        // i's download from another buffer, submitted as the pipeline submits
        // its transfers (no kernels). Where the directions share a bus or an
        // engine, this is what the transfers of the whole pipeline need at
        // least: reported with an efficiency against it, beside the target's
        // bound (each stage alone), not in place of it.
        let both = stage(&mut |i| {
            ex.submit(&[Op::Write { buffer: bufs[i % 3], offset: 0, data: bytes(&input[i * chunk..(i + 1) * chunk]) }], PLAIN)
                .map_err(err)?;
            // SAFETY: as for the download stage: chunk i of `output`, and the
            // stage waits for its last ticket before anything else touches it.
            let dst = unsafe { HostDst::new(out_ptr.add(i * chunk).cast(), chunk * 4) };
            // Completion is in ticket order: this ticket covers the upload too.
            ex.submit(&[Op::Read { buffer: bufs[(i + 1) % 3], offset: 0, dst }], PLAIN).map_err(err)
        })?;
        self.heat()?;
        // Calibrate the kernel so that it takes about as long as the slower transfer.
        let probe = 64u32;
        let push = bytes(&[chunk as u32, probe]).to_vec();
        let probe_ns = Stats::of(self.gpu_times(&[Op::Dispatch { kernel: self.k.lcg, buffers: &bufs[..1], push_constants: &push, groups }], reps)?).median;
        let iters = ((f64::from(probe) * transfer / probe_ns) as u32).max(1);
        let push = bytes(&[chunk as u32, iters]).to_vec();
        let compute = stage(&mut |i| {
            ex.submit(&[Op::Dispatch { kernel: self.k.lcg, buffers: &bufs[i % 3..i % 3 + 1], push_constants: &push, groups }], PLAIN).map_err(err)
        })?;
        // The bound of a three-stage pipeline: every chunk passes the slowest
        // stage, and at best the stages overlap completely (uploads, kernels and
        // downloads of different chunks at once).
        let bound = up.max(down).max(compute);
        // The pipeline.
        let split_before = ex.stats().split_submissions;
        let mut walls = Vec::new();
        for rep in 0..reps.min(5) + 1 {
            output.iter_mut().for_each(|v| *v = 0);
            ex.wait_all().map_err(err)?;
            let start = Instant::now();
            let mut pending = std::collections::VecDeque::new();
            for (i, (src, dst)) in input.chunks(chunk).zip(output.chunks_mut(chunk)).enumerate() {
                let b = &bufs[i % 3..i % 3 + 1];
                let ops = [
                    Op::Write { buffer: b[0], offset: 0, data: bytes(src) },
                    Op::Dispatch { kernel: self.k.lcg, buffers: b, push_constants: &push, groups },
                    read_into(b[0], dst),
                ];
                if split {
                    ex.submit(&ops[..1], PLAIN).map_err(err)?;
                    ex.submit(&ops[1..2], PLAIN).map_err(err)?;
                    pending.push_back(ex.submit(&ops[2..], PLAIN).map_err(err)?);
                } else {
                    pending.push_back(ex.submit(&ops, PLAIN).map_err(err)?);
                }
                // Collect finished chunks (their reads land now) without blocking.
                collect_finished(ex, &mut pending)?;
            }
            if let Some(&t) = pending.back() {
                ex.wait(t, u64::MAX).map_err(err)?;
            }
            let wall = start.elapsed().as_nanos() as f64;
            // Every element: iters LCG steps, as one affine map x -> a x + c.
            let (mut a, mut c) = (1u32, 0u32);
            for _ in 0..iters {
                a = a.wrapping_mul(1664525);
                c = c.wrapping_mul(1664525).wrapping_add(1013904223);
            }
            if let Some(i) = (0..input.len()).find(|&i| output[i] != input[i].wrapping_mul(a).wrapping_add(c)) {
                return Err(format!("pipeline: element {i} is {} not {}", output[i], input[i].wrapping_mul(a).wrapping_add(c)));
            }
            if rep > 0 {
                walls.push(wall);
            }
        }
        let splits = ex.stats().split_submissions - split_before;
        if splits > 0 {
            self.notes.push(format!("pipeline, {label}: {splits} submissions split across the queues by the executor"));
        }
        self.rows.push(Row { name: format!("pipeline, {label}: upload stage alone, all chunks, wall"), unit: "ms", stats: Stats::of(vec![up / 1e6]), ceiling: None, rate: false });
        self.rows.push(Row { name: format!("pipeline, {label}: download stage alone, all chunks, wall"), unit: "ms", stats: Stats::of(vec![down / 1e6]), ceiling: None, rate: false });
        self.rows.push(Row { name: format!("pipeline, {label}: kernel stage alone, all chunks, wall"), unit: "ms", stats: Stats::of(vec![compute / 1e6]), ceiling: None, rate: false });
        self.rows.push(Row { name: format!("pipeline, {label}: uploads and downloads at once, all chunks, wall"), unit: "ms", stats: Stats::of(vec![both / 1e6]), ceiling: None, rate: false });
        self.rows.push(Row { name: format!("pipeline, {label}: bound, the slowest stage alone"), unit: "ms", stats: Stats::of(vec![bound / 1e6]), ceiling: None, rate: false });
        self.rows.push(Row { name: format!("pipeline, {label}: wall"), unit: "ms", stats: Stats::of(walls.iter().map(|w| w / 1e6).collect()), ceiling: None, rate: false });
        for (what, bound) in [("efficiency, bound / wall", bound), ("efficiency against max(transfers both ways at once, kernel stage) / wall", both.max(compute))] {
            self.rows.push(Row {
                name: format!("pipeline, {label}: {what}"),
                unit: "%",
                stats: Stats::of(walls.iter().map(|w| 100.0 * bound / w).collect()),
                ceiling: Some((100.0, "the bound")),
                rate: true,
            });
        }
        for b in bufs {
            ex.destroy_buffer(b).map_err(err)?;
        }
        Ok(())
    }

    /// Host -> device and device -> host through gpuasync's writes and reads
    /// (staging included), wall time with full synchronisation.
    fn transfers(&mut self) -> R<()> {
        let ex = self.ex;
        let bytes_n: usize = if self.quick { 1 << 20 } else { 256 << 20 };
        self.progress(&format!("host <-> device transfers, {} MiB", bytes_n >> 20));
        let b = ex.create_buffer(bytes_n as u64, BufferKind::DeviceLocal).map_err(err)?;
        let mut rng = Rng(3);
        let data: Vec<u32> = (0..bytes_n / 4).map(|_| rng.next() as u32).collect();
        let mut back = vec![0u32; bytes_n / 4];
        let (mut up, mut down, mut staged) = (Vec::new(), Vec::new(), Vec::new());
        for rep in 0..self.reps(10).max(3) + 1 {
            ex.wait_all().map_err(err)?;
            let start = Instant::now();
            let t = ex.submit(&[Op::Write { buffer: b, offset: 0, data: bytes(&data) }], PLAIN).map_err(err)?;
            // The submit call copies the bytes into staging before it returns.
            let s = start.elapsed().as_nanos() as f64;
            ex.wait(t, u64::MAX).map_err(err)?;
            let w = start.elapsed().as_nanos() as f64;
            let start = Instant::now();
            let t = ex.submit(&[read_into(b, &mut back)], PLAIN).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            let r = start.elapsed().as_nanos() as f64;
            if back != data {
                return Err("transfer: data came back wrong".into());
            }
            back.iter_mut().for_each(|v| *v = 0);
            if rep > 0 {
                up.push(bytes_n as f64 / w);
                down.push(bytes_n as f64 / r);
                staged.push(bytes_n as f64 / s);
            }
        }
        self.rows.push(Row { name: format!("host -> device write, {} MiB, wall", bytes_n >> 20), unit: "GB/s", stats: Stats::of(up), ceiling: None, rate: true });
        self.rows.push(Row { name: format!("device -> host read, {} MiB, wall", bytes_n >> 20), unit: "GB/s", stats: Stats::of(down), ceiling: None, rate: true });
        self.rows.push(Row { name: format!("  the write's submit call (its copy into staging), {} MiB", bytes_n >> 20), unit: "GB/s", stats: Stats::of(staged), ceiling: None, rate: true });
        self.staged_parts(b, &data, &mut back)?;
        let registered = self.registered_transfers(b, &data, bytes_n);
        ex.wait_all().map_err(err)?;
        ex.destroy_buffer(b).map_err(err)?;
        registered
    }

    /// Where a staged transfer's time goes: the GPU's copy between staging and
    /// the buffer (timestamps), and the host's copy alone (the library's own
    /// copy routine, between two host arrays). A staged write is the host's
    /// copy into staging and then the GPU's; a read the GPU's, then the host's
    /// copy out in the wait.
    fn staged_parts(&mut self, b: BufferId, data: &[u32], back: &mut [u32]) -> R<()> {
        let ex = self.ex;
        let bytes_n = std::mem::size_of_val(data);
        let reps = self.reps(10).max(3);
        let mut host = Vec::new();
        for rep in 0..reps + 1 {
            let start = Instant::now();
            gpuasync::host_copy(bytes_mut(back), bytes(data));
            let h = start.elapsed().as_nanos() as f64;
            if back != data {
                return Err("host copy: data came out wrong".into());
            }
            back.iter_mut().for_each(|v| *v = 0);
            if rep > 0 {
                host.push(bytes_n as f64 / h);
            }
        }
        self.rows.push(Row { name: format!("  host copy alone (the library's, host array to host array), {} MiB", bytes_n >> 20), unit: "GB/s", stats: Stats::of(host), ceiling: None, rate: true });
        if !ex.device_info().timestamps {
            return Ok(());
        }
        let (mut up, mut down) = (Vec::new(), Vec::new());
        for rep in 0..reps + 1 {
            ex.wait_all().map_err(err)?;
            let t = ex.submit(&[Op::Write { buffer: b, offset: 0, data: bytes(data) }], TIMED).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            let w = ex.timing(t).map_err(err)?.gpu_ns() as f64;
            let t = ex.submit(&[read_into(b, back)], TIMED).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            let r = ex.timing(t).map_err(err)?.gpu_ns() as f64;
            if back != data {
                return Err("timed transfer: data came back wrong".into());
            }
            back.iter_mut().for_each(|v| *v = 0);
            if rep > 0 {
                up.push(bytes_n as f64 / w);
                down.push(bytes_n as f64 / r);
            }
        }
        // Timestamps keep a submission on a queue that can write them, the compute queue here when the copy queues cannot.
        self.rows.push(Row { name: format!("  the write's GPU copy out of staging (timestamps), {} MiB", bytes_n >> 20), unit: "GB/s", stats: Stats::of(up), ceiling: None, rate: true });
        self.rows.push(Row { name: format!("  the read's GPU copy into staging (timestamps), {} MiB", bytes_n >> 20), unit: "GB/s", stats: Stats::of(down), ceiling: None, rate: true });
        Ok(())
    }

    /// The same transfers from and into registered host memory (page-aligned,
    /// registered once outside the timing): the GPU copies directly, no staging.
    fn registered_transfers(&mut self, b: BufferId, data: &[u32], bytes_n: usize) -> R<()> {
        let ex = self.ex;
        let reps = self.reps(10).max(3);
        // A second buffer, the source of the downloads that run beside uploads.
        let b2 = ex.create_buffer(bytes_n as u64, BufferKind::DeviceLocal).map_err(err)?;
        let ran = with_registered(ex, data, |source, back| {
            // The repetitions run back to back, as a program streaming data
            // does and as CUDA's pinned copies are timed: with the GPU idle
            // for ~100 ms before it (a full check of 256 MiB here), a 256 MiB
            // upload ran at 30-32 GB/s on every queue of an H100 in raw Vulkan
            // too (tools/xfer-probe --gap-ms 100; 49-51 back to back). So
            // each read is checked at sampled elements between repetitions
            // (microseconds; those are zeroed again for the next one), and
            // the last one in full after the loop. Repetition 0 is a warm-up.
            let samples: Vec<usize> = (0..4096).map(|i| (i * 7919 + 13) % back.len().max(1)).collect();
            let check = |back: &mut [u32], what: &str| -> R<()> {
                for &i in &samples {
                    if back[i] != data[i] {
                        return Err(format!("{what}: element {i} came back wrong"));
                    }
                    back[i] = 0;
                }
                Ok(())
            };
            let (mut up, mut down) = (Vec::new(), Vec::new());
            ex.wait_all().map_err(err)?;
            for rep in 0..reps + 1 {
                let start = Instant::now();
                let t = ex.submit(&[Op::Write { buffer: b, offset: 0, data: bytes(source) }], PLAIN).map_err(err)?;
                ex.wait(t, u64::MAX).map_err(err)?;
                let w = start.elapsed().as_nanos() as f64;
                let start = Instant::now();
                let t = ex.submit(&[read_into(b, back)], PLAIN).map_err(err)?;
                ex.wait(t, u64::MAX).map_err(err)?;
                let r = start.elapsed().as_nanos() as f64;
                check(back, "registered transfer")?;
                if rep > 0 {
                    up.push(bytes_n as f64 / w);
                    down.push(bytes_n as f64 / r);
                }
            }
            // The last read, in full (the sampled elements were zeroed).
            let t = ex.submit(&[read_into(b, back)], PLAIN).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            if back != data {
                return Err("registered transfer: data came back wrong".into());
            }
            // Both directions at once: an upload into `b` and a download of
            // `b2` (a copy of the same data), on the two transfer queues where
            // the device has them; back to back as above.
            let copy = Op::Copy { src: b, src_offset: 0, dst: b2, dst_offset: 0, size: bytes_n as u64 };
            ex.wait(ex.submit(&[copy], PLAIN).map_err(err)?, u64::MAX).map_err(err)?;
            back.iter_mut().for_each(|v| *v = 0);
            ex.wait_all().map_err(err)?;
            let mut both = Vec::new();
            for rep in 0..reps + 1 {
                let start = Instant::now();
                ex.submit(&[Op::Write { buffer: b, offset: 0, data: bytes(source) }], PLAIN).map_err(err)?;
                let t = ex.submit(&[read_into(b2, back)], PLAIN).map_err(err)?;
                // Completion is in ticket order: this covers the upload too.
                ex.wait(t, u64::MAX).map_err(err)?;
                let wb = start.elapsed().as_nanos() as f64;
                check(back, "registered transfers at once")?;
                if rep > 0 {
                    both.push(2.0 * bytes_n as f64 / wb);
                }
            }
            let (cw, cr) = chunked_through(ex, b, data, back, reps)?;
            Ok((up, down, both, cw, cr))
        });
        ex.destroy_buffer(b2).map_err(err)?;
        let Some((up, down, both, cw, cr)) = ran? else {
            eprintln!("registered-memory rows skipped: the device lacks VK_EXT_external_memory_host");
            return Ok(());
        };
        self.rows.push(Row { name: format!("host -> device write from registered memory, {} MiB, wall", bytes_n >> 20), unit: "GB/s", stats: Stats::of(up), ceiling: None, rate: true });
        self.rows.push(Row { name: format!("device -> host read into registered memory, {} MiB, wall", bytes_n >> 20), unit: "GB/s", stats: Stats::of(down), ceiling: None, rate: true });
        self.rows.push(Row { name: format!("both at once, registered, {} MiB each way, wall (bytes both ways)", bytes_n >> 20), unit: "GB/s", stats: Stats::of(both), ceiling: None, rate: true });
        let c = chunk_bytes(bytes_n);
        let chunk = if c >= 1 << 20 { format!("{} MiB", c >> 20) } else { format!("{} KiB", c >> 10) };
        self.rows.push(Row { name: format!("  write staged by hand in {chunk} chunks through registered memory, wall"), unit: "GB/s", stats: Stats::of(cw), ceiling: None, rate: true });
        self.rows.push(Row { name: format!("  read staged by hand in {chunk} chunks through registered memory, wall"), unit: "GB/s", stats: Stats::of(cr), ceiling: None, rate: true });
        Ok(())
    }
}

/// The chunk of `chunked_through`: 32 MiB, or an eighth of a smaller transfer
/// (at least one page).
fn chunk_bytes(bytes_n: usize) -> usize {
    (32usize << 20).min(bytes_n / 8).max(4096)
}

/// What chunked staging through host memory (not yet in the library) would
/// give, built from the public API: a staged write copies chunk k into
/// registered host memory (the staging) and submits its DMA, so that the copy
/// of chunk k+1 overlaps the DMA of chunk k; a staged read submits every
/// chunk's DMA into registered memory, then copies each chunk out to an
/// ordinary array as soon as its ticket completes. `staging` is registered;
/// `data` is what `b` must hold; wall times, bytes per ns.
fn chunked_through(ex: &Executor, b: BufferId, data: &[u32], staging: &mut [u32], reps: usize) -> R<(Vec<f64>, Vec<f64>)> {
    let bytes_n = std::mem::size_of_val(data);
    let chunk = chunk_bytes(bytes_n);
    // The reads' destination: an ordinary array, its pages touched first.
    let mut out = vec![1u32; data.len()];
    let (mut w, mut r) = (Vec::new(), Vec::new());
    for rep in 0..reps + 1 {
        ex.wait_all().map_err(err)?;
        let start = Instant::now();
        let mut last = 0;
        {
            let mut rest: &mut [u8] = bytes_mut(staging);
            for (k, src) in bytes(data).chunks(chunk).enumerate() {
                let (dst, tail) = rest.split_at_mut(src.len());
                rest = tail;
                gpuasync::host_copy(dst, src);
                // `dst` is not written again until every ticket has completed (wait below).
                last = ex.submit(&[Op::Write { buffer: b, offset: (k * chunk) as u64, data: dst }], PLAIN).map_err(err)?;
            }
        }
        ex.wait(last, u64::MAX).map_err(err)?;
        let wt = start.elapsed().as_nanos() as f64;
        staging.iter_mut().for_each(|v| *v = 0);
        let start = Instant::now();
        let mut tickets = Vec::new();
        for (k, dst) in staging.chunks_mut(chunk / 4).enumerate() {
            let op = Op::Read { buffer: b, offset: (k * chunk) as u64, dst: {
                // SAFETY: `dst` is not touched until its ticket has completed (below).
                unsafe { HostDst::new(dst.as_mut_ptr().cast(), std::mem::size_of_val(dst)) }
            } };
            tickets.push(ex.submit(&[op], PLAIN).map_err(err)?);
        }
        let words = chunk / 4;
        for (k, t) in tickets.iter().enumerate() {
            ex.wait(*t, u64::MAX).map_err(err)?;
            // Chunk k has landed: only now is a reference to it made.
            let range = k * words..((k + 1) * words).min(data.len());
            gpuasync::host_copy(bytes_mut(&mut out[range.clone()]), bytes(&staging[range]));
        }
        let rt = start.elapsed().as_nanos() as f64;
        if out != data {
            return Err("chunked transfers: data came back wrong".into());
        }
        out.iter_mut().for_each(|v| *v = 1);
        if rep > 0 {
            w.push(bytes_n as f64 / wt);
            r.push(bytes_n as f64 / rt);
        }
    }
    Ok((w, r))
}

/// Run `f` on a copy of `data` and a zeroed array of the same length, both
/// page-aligned and registered with `ex` (registered host memory: writes from
/// the first and reads into the second go without staging); then wait for all
/// work, unregister and free them. `None` when the device cannot register host
/// memory. `data`'s size must be a multiple of the import alignment.
fn with_registered<T>(ex: &Executor, data: &[u32], f: impl FnOnce(&[u32], &mut [u32]) -> R<T>) -> R<Option<T>> {
    let Some(align) = ex.host_register_alignment() else { return Ok(None) };
    let bytes_n = std::mem::size_of_val(data);
    let layout = std::alloc::Layout::from_size_align(bytes_n.max(1), (align as usize).max(4096)).map_err(|e| e.to_string())?;
    /// Aligned host memory, freed on drop (after the work on it: see below).
    struct Host(*mut u8, std::alloc::Layout);
    impl Drop for Host {
        fn drop(&mut self) {
            if !self.0.is_null() {
                // SAFETY: allocated below with this layout.
                unsafe { std::alloc::dealloc(self.0, self.1) };
            }
        }
    }
    // SAFETY: the layout has a nonzero size.
    let (src, dst) = unsafe { (Host(std::alloc::alloc(layout), layout), Host(std::alloc::alloc_zeroed(layout), layout)) };
    if src.0.is_null() || dst.0.is_null() {
        return Err("registered host memory: out of host memory".into());
    }
    // SAFETY: both hold `data.len()` u32s (page-aligned, so aligned for u32),
    // live until this function returns, and nothing else refers to them.
    let (source, target) = unsafe {
        (
            std::slice::from_raw_parts_mut(src.0.cast::<u32>(), data.len()),
            std::slice::from_raw_parts_mut(dst.0.cast::<u32>(), data.len()),
        )
    };
    source.copy_from_slice(data);
    // SAFETY: both stay allocated until after they are unregistered and the
    // work on them has completed (wait_all below, before they drop); `f` gets
    // the source only as a shared slice, so it is not modified while writes run.
    unsafe {
        ex.register_host(src.0, bytes_n).map_err(err)?;
        if let Err(e) = ex.register_host(dst.0, bytes_n) {
            ex.unregister_host(src.0).map_err(err)?;
            return Err(err(e));
        }
    }
    let result = f(source, target);
    ex.wait_all().map_err(err)?;
    ex.unregister_host(src.0).map_err(err)?;
    ex.unregister_host(dst.0).map_err(err)?;
    result.map(Some)
}

fn report(ex: &Executor, rows: &[Row], quick: bool) -> String {
    let info = ex.device_info();
    let mut s = String::new();
    let _ = writeln!(s, "device: {} ({}), Vulkan {}.{}.{}{}", info.name, info.device_type.name(),
        info.api_version >> 22, (info.api_version >> 12) & 0x3ff, info.api_version & 0xfff,
        if quick { "  [--quick: smoke test, not a timing]" } else { "" });
    let _ = writeln!(s, "transfer lanes: {}{}", ex.transfer_lanes(),
        if ex.transfer_lanes_dedicated() { " (a transfer-only queue family)" } else { "" });
    let _ = writeln!(s, "{:<70} {:>10} {:>10} {:>10} {:>6}  ceiling", "scenario", "min", "median", "max", "unit");
    for r in rows {
        let ceiling = match r.ceiling {
            Some((c, what)) => format!("{c:.1} ({what})"),
            None => String::new(),
        };
        if r.over_ceiling() {
            let _ = writeln!(s, "{:<70} MEASUREMENT ERROR: median {:.1} {} exceeds its ceiling {ceiling}", r.name, r.stats.median, r.unit);
        } else {
            let _ = writeln!(s, "{:<70} {:>10.2} {:>10.2} {:>10.2} {:>6}  {ceiling}", r.name, r.stats.min, r.stats.median, r.stats.max, r.unit);
        }
    }
    s
}

fn json(ex: &Executor, rows: &[Row]) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut s = format!("{{\"device\":\"{}\",\"rows\":[", esc(&ex.device_info().name));
    for (i, r) in rows.iter().enumerate() {
        let _ = write!(s, "{}{{\"name\":\"{}\",\"unit\":\"{}\",\"min\":{},\"median\":{},\"max\":{},\"count\":{},\"ceiling\":{},\"measurement_error\":{}}}",
            if i > 0 { "," } else { "" }, esc(&r.name), r.unit, r.stats.min, r.stats.median, r.stats.max, r.stats.count,
            r.ceiling.map_or("null".into(), |(c, _)| c.to_string()), r.over_ceiling());
    }
    s.push_str("]}\n");
    s
}

/// Pops the tickets at the front of `pending` that have completed (a poll
/// delivers a finished read's bytes), without blocking.
fn collect_finished(ex: &Executor, pending: &mut std::collections::VecDeque<u64>) -> R<()> {
    while let Some(&t) = pending.front() {
        if !ex.poll(t).map_err(err)? {
            break;
        }
        pending.pop_front();
    }
    Ok(())
}

/// The seed scenario's timelines: per mode, the wall time and each kernel's GPU
/// span relative to the mode's first begin (ns). Plotted by scripts/seed-plot.py.
fn seed_json_text(runs: &[SeedRun]) -> String {
    let mut s = String::from("{\"modes\":[");
    for (i, r) in runs.iter().enumerate() {
        let first = r.spans.iter().map(|s| s.0).min().unwrap_or(0);
        let spans: Vec<String> = r.spans.iter().map(|(b, e)| format!("[{},{}]", b - first, e - first)).collect();
        let _ = write!(s, "{}{{\"mode\":\"{}\",\"wall_ns\":{},\"busy_ns\":{},\"spans\":[{}]}}",
            if i > 0 { "," } else { "" }, r.mode, r.wall_ns, busy_ns(&r.spans), spans.join(","));
    }
    s.push_str("]}\n");
    s
}

fn run() -> R<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let json_path = args.iter().position(|a| a == "--json").and_then(|i| args.get(i + 1).cloned());
    let ex = Executor::new(&ExecutorDesc { max_in_flight: 16_384, ..Default::default() }).map_err(err)?;
    let k = Kernels::new(&ex).map_err(err)?;
    let mut tiles = Vec::new();
    if let Some(list) = args.iter().position(|a| a == "--gemm-tiles").and_then(|i| args.get(i + 1)) {
        for t in list.split(',') {
            tiles.push(gpuasync::parse_gemm_tile(t).ok_or_else(|| format!("--gemm-tiles: {t:?} is not BMxBNxBKxTMxTN[xWARP_M]"))?);
        }
    }
    let seed_json = args.iter().position(|a| a == "--seed-json").and_then(|i| args.get(i + 1).cloned());
    let mut bench = Bench { ex: &ex, k, quick, rows: Vec::new(), bandwidth: 0.0, flops32: 0.0, flops64: 0.0, tiles, seed: Vec::new(), notes: Vec::new() };
    // --only a,b,...: run just these scenarios (plus the ceilings they are held against).
    let only: Option<Vec<String>> =
        args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).map(|l| l.split(',').map(str::to_owned).collect());
    let wants = |name: &str| only.as_ref().map_or(true, |l| l.iter().any(|x| x == name));
    if wants("round_trip") {
        bench.round_trip()?;
    }
    if wants("streamed") {
        bench.streamed_independent()?;
        bench.streamed_dependent()?;
        bench.submit_cost_recording_only()?;
    }
    if wants("batch") {
        bench.batch_replay()?;
    }
    if wants("saxpy") || wants("level1") {
        bench.saxpy()?;
    }
    if wants("transfers") {
        bench.transfers()?;
    }
    if wants("pipeline") {
        bench.pipeline()?;
    }
    if wants("fma") || wants("gemm") || wants("seed") {
        bench.fma_ceiling()?;
    }
    if wants("level1") {
        bench.builtin_level1()?;
    }
    if wants("gemm") {
        bench.gemm()?;
    }
    if wants("gemm") || wants("gemm16") {
        bench.gemm16()?;
    }
    if wants("seed") {
        bench.seed()?;
    }
    print!("{}", report(&ex, &bench.rows, quick));
    for line in &bench.notes {
        println!("{line}");
    }
    if let Some(path) = json_path {
        std::fs::write(&path, json(&ex, &bench.rows)).map_err(|e| format!("{path}: {e}"))?;
    }
    if let Some(path) = seed_json {
        std::fs::write(&path, seed_json_text(&bench.seed)).map_err(|e| format!("{path}: {e}"))?;
    }
    if ex.validation_enabled() && ex.validation_message_count() > 0 {
        return Err(format!("{} validation messages", ex.validation_message_count()));
    }
    if quick {
        // A --quick run times a handful of repeats of tiny sizes; on lavapipe
        // (CI) the device is a CPU shared with the host thread and the same
        // stage ran 9.0 to 14.1 ms between passes, so a ratio of two such
        // times can land on either side of 100%. The row is still marked in
        // the table and the JSON; only full runs fail on it.
        for r in bench.rows.iter().filter(|r| r.over_ceiling()) {
            eprintln!("gpuasync-bench: --quick: {} is above its ceiling (a smoke test's timings are noise; a full run fails on this)", r.name);
        }
        return Ok(());
    }
    check_ceilings(&bench.rows)
}

/// A rate above the ceiling measured beside it is a measurement error: the
/// run fails (full runs; see `run` for --quick).
fn check_ceilings(rows: &[Row]) -> R<()> {
    match rows.iter().find(|r| r.over_ceiling()) {
        Some(r) => Err(format!("{}: a rate exceeded its measured ceiling: the measurement is wrong", r.name)),
        None => Ok(()),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gpuasync-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(median: f64, ceiling: Option<f64>, rate: bool) -> Row {
        Row {
            name: "planted".into(),
            unit: "GB/s",
            stats: Stats { min: median, median, max: median, count: 1 },
            ceiling: ceiling.map(|c| (c, "test ceiling")),
            rate,
        }
    }

    #[test]
    fn ceiling_guard_rejects_an_impossible_figure() {
        // A planted rate 10% above its ceiling: flagged, printed as an error
        // instead of a number, marked in the JSON, and the run fails.
        let planted = row(3300.0, Some(3000.0), true);
        assert!(planted.over_ceiling());
        let rows = vec![row(2900.0, Some(3000.0), true), planted];
        assert!(check_ceilings(&rows).is_err());
        // Within the ceiling, times, and rows without one pass.
        let fine = vec![row(2999.0, Some(3000.0), true), row(5.0, Some(1.0), false), row(1e9, None, true)];
        assert!(fine.iter().all(|r| !r.over_ceiling()));
        assert!(check_ceilings(&fine).is_ok());
    }

    #[test]
    fn busy_is_the_union_of_spans_and_never_exceeds_the_span() {
        assert_eq!(busy_ns(&[]), 0);
        assert_eq!(busy_ns(&[(10, 20)]), 10);
        // Overlapping, nested, touching and disjoint spans, unordered.
        let spans = [(30, 40), (10, 20), (15, 25), (12, 14), (25, 27), (50, 60)];
        assert_eq!(busy_ns(&spans), (27 - 10) + (40 - 30) + (60 - 50));
        let span = spans.iter().map(|s| s.1).max().unwrap() - spans.iter().map(|s| s.0).min().unwrap();
        assert!(busy_ns(&spans) <= span);
        // Sum of spans (what a naive "busy" would add up) exceeds the union here.
        let sum: u64 = spans.iter().map(|(b, e)| e - b).sum();
        assert!(sum > busy_ns(&spans));
    }
}
