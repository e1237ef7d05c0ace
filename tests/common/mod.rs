//! Shared test helpers: a validated executor, kernels from spirv/, random data.
#![allow(dead_code)]

use gpuasync::{BufferId, BufferKind, Executor, ExecutorDesc, HostDst, KernelId, Op, SubmitFlags};

/// An executor with the validation layer and synchronization validation on.
/// Panics if validation is not really enabled: tests must not pass unvalidated.
pub fn executor() -> Executor {
    let ex = Executor::new(&ExecutorDesc { validation: true, ..Default::default() })
        .unwrap_or_else(|e| panic!("cannot create a validated executor: {e}"));
    assert!(ex.validation_enabled(), "validation layer was requested but is not active");
    ex
}

/// Fails the test if the layer reported anything.
pub fn assert_clean(ex: &Executor) {
    assert_eq!(
        ex.validation_message_count(),
        0,
        "validation messages: {:#?}",
        ex.validation_messages()
    );
}

pub fn spirv(name: &str) -> Vec<u32> {
    let path = format!("{}/spirv/{name}.spv", env!("CARGO_MANIFEST_DIR"));
    let mut file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    ash::util::read_spv(&mut file).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn kernel(ex: &Executor, name: &str) -> KernelId {
    ex.create_kernel(&spirv(name), "main", &[]).unwrap_or_else(|e| panic!("kernel {name}: {e}"))
}

/// xorshift64*: a small, seedable generator, so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    /// Uniform in [-1, 1), never all zeros.
    pub fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    pub fn f32s(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f32()).collect()
    }
    pub fn u32s(&mut self, n: usize) -> Vec<u32> {
        (0..n).map(|_| self.next_u32()).collect()
    }
}

pub fn bytes<T: Copy>(v: &[T]) -> &[u8] {
    // SAFETY: test data are plain numbers (f32/u32) with no padding.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast(), std::mem::size_of_val(v)) }
}

pub fn push<T: Copy>(v: &T) -> &[u8] {
    bytes(std::slice::from_ref(v))
}

/// A read into `out`, which the test keeps alive and untouched until the ticket is seen complete.
pub fn read_op<T: Copy>(buffer: BufferId, offset: u64, out: &mut [T]) -> Op<'static> {
    // SAFETY: callers keep `out` alive and untouched until they wait on the ticket.
    let dst = unsafe { HostDst::new(out.as_mut_ptr().cast(), std::mem::size_of_val(out)) };
    Op::Read { buffer, offset, dst }
}

pub fn buffer(ex: &Executor, bytes: usize) -> BufferId {
    ex.create_buffer(bytes as u64, BufferKind::DeviceLocal).expect("create buffer")
}

pub fn groups(n: usize, local: usize) -> [u32; 3] {
    [n.div_ceil(local).max(1) as u32, 1, 1]
}

pub const TIMED: SubmitFlags = SubmitFlags { timestamps: true };
pub const PLAIN: SubmitFlags = SubmitFlags { timestamps: false };

/// The LCG the `lcg` kernel runs, on the host.
pub fn lcg(mut x: u32, iterations: u32) -> u32 {
    for _ in 0..iterations {
        x = x.wrapping_mul(1664525).wrapping_add(1013904223);
    }
    x
}
