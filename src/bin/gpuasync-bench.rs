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
//! Usage: gpuasync-bench [--quick] [--json FILE]
//!   --quick  tiny sizes and few repeats: a smoke test (CI, lavapipe), not a timing.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use gpuasync::{BufferId, BufferKind, Executor, ExecutorDesc, HostDst, KernelId, Op, PushUpdate, SubmitFlags};

const TIMED: SubmitFlags = SubmitFlags { timestamps: true, no_block: false };
const PLAIN: SubmitFlags = SubmitFlags { timestamps: false, no_block: false };

fn words(bytes: &[u8]) -> Vec<u32> {
    bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

struct Kernels {
    scale_add: KernelId,
    lcg: KernelId,
    copy: KernelId,
    saxpy4: KernelId,
    read_sum: KernelId,
    triad: KernelId,
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
            triad: k(include_bytes!("../../spirv/triad.spv"))?,
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
        ex.destroy_buffer(src).map_err(err)?;
        ex.destroy_buffer(dst).map_err(err)
    }

    /// `count` tiny lcg submissions on `width` buffers round-robin, then one wait.
    /// Reports the host cost of each submit call and the wall time per kernel.
    fn streamed_independent(&mut self) -> R<()> {
        self.progress("10,000 independent tiny submits");
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
        for rep in 0..self.reps(10).max(3) + 1 {
            for (b, s) in buffers.iter().zip(&seeds) {
                ex.submit(&[Op::Write { buffer: *b, offset: 0, data: bytes(s) }], PLAIN).map_err(err)?;
            }
            ex.wait_all().map_err(err)?;
            let start = Instant::now();
            let mut host = 0u128;
            for i in 0..count {
                let op = Op::Dispatch { kernel: self.k.lcg, buffers: std::slice::from_ref(&buffers[i % width]), push_constants: bytes(&push), groups: [1, 1, 1] };
                let s = Instant::now();
                ex.submit(&[op], PLAIN).map_err(err)?;
                host += s.elapsed().as_nanos();
            }
            ex.wait_all().map_err(err)?;
            let wall = start.elapsed().as_nanos() as f64;
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
            }
        }
        self.rows.push(Row { name: "host cost of one asynchronous single-dispatch submit".into(), unit: "us", stats: Stats::of(submit_cost), ceiling: None, rate: false });
        self.rows.push(Row { name: format!("{count} independent tiny submits then one wait, per kernel"), unit: "us", stats: Stats::of(per_kernel), ceiling: None, rate: false });
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
        for rep in 0..self.reps(10).max(3) + 1 {
            let t = ex.submit(&[Op::Write { buffer: a, offset: 0, data: bytes(&input) }], PLAIN).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            let start = Instant::now();
            for i in 0..count {
                let (src, dst) = if i % 2 == 0 { (a, b) } else { (b, a) };
                let op = Op::Dispatch { kernel: self.k.scale_add, buffers: &[src, dst], push_constants: bytes(&push), groups: [1, 1, 1] };
                ex.submit(&[op], PLAIN).map_err(err)?;
            }
            ex.wait_all().map_err(err)?;
            let wall = start.elapsed().as_nanos() as f64;
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
            }
        }
        self.rows.push(Row { name: format!("{count} dependent tiny submits then one wait, per kernel"), unit: "us", stats: Stats::of(per_kernel), ceiling: None, rate: false });
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
        for rep in 0..reps + 1 {
            let t = ex.submit(&[Op::Write { buffer: a, offset: 0, data: bytes(&input) }], PLAIN).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            let start = Instant::now();
            let t = ex.replay(dep, &[], TIMED).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            let w = start.elapsed().as_nanos() as f64;
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
            }
        }
        self.rows.push(Row { name: format!("recorded batch of {count} dependent dispatches, per dispatch, wall"), unit: "us", stats: Stats::of(wall), ceiling: None, rate: false });
        self.rows.push(Row { name: format!("recorded batch of {count} dependent dispatches, per dispatch, GPU"), unit: "us", stats: Stats::of(gpu), ceiling: None, rate: false });
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
        let (mut wall, mut gpu) = (Vec::new(), Vec::new());
        for rep in 0..reps + 1 {
            ex.wait_all().map_err(err)?;
            let start = Instant::now();
            let t = ex.replay(ind, &[], TIMED).map_err(err)?;
            ex.wait(t, u64::MAX).map_err(err)?;
            let w = start.elapsed().as_nanos() as f64;
            let g = ex.timing(t).map_err(err)?.gpu_ns() as f64;
            if rep > 0 {
                wall.push(w / count as f64 / 1e3);
                gpu.push(g / count as f64 / 1e3);
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
        ex.destroy_batch(dep).map_err(err)?;
        ex.destroy_batch(ind).map_err(err)?;
        let _ = PushUpdate { op: 0, push_constants: &[] };
        for b in bufs.into_iter().chain([a, b]) {
            ex.destroy_buffer(b).map_err(err)?;
        }
        Ok(())
    }

    /// GPU time of one timed submission of `op`, median over repeats.
    fn gpu_times(&self, ops: &[Op<'_>], reps: usize) -> R<Vec<f64>> {
        let mut v = Vec::new();
        for i in 0..reps + 2 {
            let t = self.ex.submit(ops, TIMED).map_err(err)?;
            self.ex.wait(t, u64::MAX).map_err(err)?;
            if i >= 2 {
                v.push(self.ex.timing(t).map_err(err)?.gpu_ns() as f64);
            }
        }
        Ok(v)
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
        // Triad (y = x + y): saxpy's traffic; checked once from fresh y.
        let triad = Op::Dispatch { kernel: self.k.triad, buffers: &[x, y], push_constants: bytes(&push_copy), groups };
        let t = ex.submit(&[Op::Write { buffer: y, offset: 0, data: bytes(&hy) }, triad, read_into(y, &mut out)], PLAIN).map_err(err)?;
        ex.wait(t, u64::MAX).map_err(err)?;
        if (0..n).any(|i| out[i] != hx[i] + hy[i]) {
            return Err("triad kernel: wrong result".into());
        }
        let dma = Op::Copy { src: x, src_offset: 0, dst: y, dst_offset: 0, size: (n * 4) as u64 };
        let (mut copy_rates, mut dma_rates, mut read_rates, mut triad_rates, mut saxpy_rates) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for rep in 0..reps + 2 {
            let c = self.gpu_times(&[copy], 1)?[0];
            let d = self.gpu_times(&[dma], 1)?[0];
            let r = self.gpu_times(&[read_sum], 1)?[0];
            let tr = self.gpu_times(&[triad], 1)?[0];
            let s = self.gpu_times(&[saxpy], 1)?[0];
            if rep >= 2 {
                copy_rates.push((2 * n * 4) as f64 / c);
                dma_rates.push((2 * n * 4) as f64 / d);
                read_rates.push((n * 4 + threads * 16) as f64 / r);
                triad_rates.push((3 * n * 4) as f64 / tr);
                saxpy_rates.push((3 * n * 4) as f64 / s);
            }
        }
        // The ceiling: the best rate any pure data-movement kernel reached in this run.
        let ceiling = [&copy_rates, &dma_rates, &read_rates, &triad_rates].iter().map(|v| Stats::of((*v).clone()).max).fold(0.0, f64::max);
        self.rows.push(Row { name: format!("copy kernel, {n} fp32, GPU time"), unit: "GB/s", stats: Stats::of(copy_rates), ceiling: None, rate: true });
        self.rows.push(Row { name: format!("vkCmdCopyBuffer, {n} fp32, GPU time"), unit: "GB/s", stats: Stats::of(dma_rates), ceiling: None, rate: true });
        self.rows.push(Row { name: format!("read-mostly kernel, {n} fp32, GPU time"), unit: "GB/s", stats: Stats::of(read_rates), ceiling: None, rate: true });
        self.rows.push(Row { name: format!("triad y = x + y, {n} fp32, GPU time"), unit: "GB/s", stats: Stats::of(triad_rates), ceiling: None, rate: true });
        self.rows.push(Row { name: format!("saxpy, {n} fp32, device-local, GPU time"), unit: "GB/s", stats: Stats::of(saxpy_rates), ceiling: Some((ceiling, "best data-movement kernel above")), rate: true });
        ex.destroy_buffer(partial).map_err(err)?;
        ex.destroy_buffer(x).map_err(err)?;
        ex.destroy_buffer(y).map_err(err)
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
        let (mut up, mut down) = (Vec::new(), Vec::new());
        for rep in 0..self.reps(10).max(3) + 1 {
            ex.wait_all().map_err(err)?;
            let start = Instant::now();
            let t = ex.submit(&[Op::Write { buffer: b, offset: 0, data: bytes(&data) }], PLAIN).map_err(err)?;
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
            }
        }
        self.rows.push(Row { name: format!("host -> device write, {} MiB, wall", bytes_n >> 20), unit: "GB/s", stats: Stats::of(up), ceiling: None, rate: true });
        self.rows.push(Row { name: format!("device -> host read, {} MiB, wall", bytes_n >> 20), unit: "GB/s", stats: Stats::of(down), ceiling: None, rate: true });
        ex.destroy_buffer(b).map_err(err)
    }
}

fn report(ex: &Executor, rows: &[Row], quick: bool) -> String {
    let info = ex.device_info();
    let mut s = String::new();
    let _ = writeln!(s, "device: {} ({}), Vulkan {}.{}.{}{}", info.name, info.device_type.name(),
        info.api_version >> 22, (info.api_version >> 12) & 0x3ff, info.api_version & 0xfff,
        if quick { "  [--quick: smoke test, not a timing]" } else { "" });
    let _ = writeln!(s, "{:<70} {:>10} {:>10} {:>10} {:>6}  {}", "scenario", "min", "median", "max", "unit", "ceiling");
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

fn run() -> R<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let json_path = args.iter().position(|a| a == "--json").and_then(|i| args.get(i + 1).cloned());
    let ex = Executor::new(&ExecutorDesc { max_in_flight: 16_384, ..Default::default() }).map_err(err)?;
    let k = Kernels::new(&ex).map_err(err)?;
    let mut bench = Bench { ex: &ex, k, quick, rows: Vec::new() };
    bench.round_trip()?;
    bench.streamed_independent()?;
    bench.streamed_dependent()?;
    bench.submit_cost_recording_only()?;
    bench.batch_replay()?;
    bench.saxpy()?;
    bench.transfers()?;
    print!("{}", report(&ex, &bench.rows, quick));
    if let Some(path) = json_path {
        std::fs::write(&path, json(&ex, &bench.rows)).map_err(|e| format!("{path}: {e}"))?;
    }
    if ex.validation_enabled() && ex.validation_message_count() > 0 {
        return Err(format!("{} validation messages", ex.validation_message_count()));
    }
    if bench.rows.iter().any(Row::over_ceiling) {
        return Err("a rate exceeded its measured ceiling: the measurement is wrong".into());
    }
    Ok(())
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
