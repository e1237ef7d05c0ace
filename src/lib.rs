//! gpuasync: an asynchronous GPU compute pipeline over Vulkan for Fortran and C.
//!
//! The safe Rust core (`Executor` and friends) knows nothing about C; the C ABI
//! lives in `ffi` and knows nothing about Vulkan. See `include/gpuasync.h` for the
//! C contract and DESIGN.md for the architecture.
#![deny(unsafe_op_in_unsafe_fn)]

mod batch;
mod builtin;
mod chunked;
mod descriptors;
mod device;
mod error;
mod executor;
mod host;
mod kernel;
mod lanes;
mod memory;
mod slots;
mod submit;
mod timing;
mod trace;

pub mod ffi;

/// Hooks for tests (debug builds only): injected failures, so that paths that
/// run out of memory only on a full device are exercised on any; and a look at
/// the GPU's progress that changes nothing.
#[cfg(debug_assertions)]
#[doc(hidden)]
pub mod testing {
    use std::cell::Cell;

    thread_local! {
        static FAIL_STAGING: Cell<bool> = const { Cell::new(false) };
        static BEFORE_WAIT_LOOKUP: Cell<Option<Box<dyn FnOnce()>>> = const { Cell::new(None) };
    }

    /// The next staging allocation (of a submission, or a part of one, that
    /// stages any bytes) made on this thread fails as if device memory were
    /// exhausted.
    pub fn fail_next_staging() {
        FAIL_STAGING.with(|f| f.set(true));
    }

    pub(crate) fn staging_fails() -> bool {
        FAIL_STAGING.with(|f| f.replace(false))
    }

    /// The next `wait` on this thread (of the compute queue alone) runs `f` after
    /// it has found its ticket not yet retired and before it looks the ticket's
    /// bundle up: the moment another thread's poll may retire it.
    pub fn before_next_wait_lookup(f: impl FnOnce() + 'static) {
        BEFORE_WAIT_LOOKUP.with(|h| h.set(Some(Box::new(f))));
    }

    pub(crate) fn run_wait_lookup_hook() {
        if let Some(f) = BEFORE_WAIT_LOOKUP.with(|h| h.take()) {
            f();
        }
    }

    /// Is the flusher awake and watching for submissions to hand over (handoff)?
    pub fn flusher_watching(ex: &crate::Executor) -> bool {
        ex.queue.state.lock().flusher_watching
    }

    /// How many bundles the flusher thread has closed and handed to the queue.
    pub fn flusher_flushes(ex: &crate::Executor) -> u64 {
        ex.queue.flusher_flushes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Has the compute queue's timeline reached `ticket`? Unlike `poll`, this
    /// retires nothing and flushes nothing, so a test can see that the GPU is
    /// done with a ticket that the executor has not yet noticed.
    pub fn timeline_reached(ex: &crate::Executor, ticket: u64) -> crate::Result<bool> {
        Ok(ex.queue.progress()? >= ticket)
    }
}

/// The library's host-side copy of staged bytes (into staging for writes, out
/// of it for reads: several threads for 16 MiB and more), exposed only so that
/// the benchmark can time it as the host's share of a staged transfer. Copies
/// `min(dst.len(), src.len())` bytes.
#[doc(hidden)]
pub fn host_copy(dst: &mut [u8], src: &[u8]) {
    let n = dst.len().min(src.len());
    // SAFETY: `dst` is an exclusively borrowed slice of at least `n` bytes, so it
    // is valid for the writes and cannot overlap `src`.
    unsafe { memory::parallel_copy(dst.as_mut_ptr(), &src[..n]) };
}

pub use batch::{BatchId, PushUpdate};
pub use builtin::{parse_gemm_tile, Builtin, BuiltinKind, DType, GemmTile, Operand};
pub use device::{list_devices, DeviceInfo, DeviceType};
pub use error::{gpuasync_status, Error, ErrorKind, Result};
pub use executor::{BufferId, CooperativeMatrix, Executor, ExecutorDesc, KernelId, TransferQueues};
pub use kernel::{BindingAccess, KernelInterface, SpecConstant};
pub use memory::BufferKind;
pub use submit::{HostDst, Op, SubmitFlags, WHOLE_SIZE};
pub use timing::{Stats, Timing};
