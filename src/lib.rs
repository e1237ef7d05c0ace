//! gpuasync: an asynchronous GPU compute pipeline over Vulkan for Fortran and C.
//!
//! The safe Rust core (`Executor` and friends) knows nothing about C; the C ABI
//! lives in `ffi` and knows nothing about Vulkan. See `include/gpuasync.h` for the
//! C contract and DESIGN.md for the architecture.
#![deny(unsafe_op_in_unsafe_fn)]

mod batch;
mod builtin;
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

/// Failures injected by tests (debug builds only): paths that run out of
/// memory only on a full device are exercised on any.
#[cfg(debug_assertions)]
#[doc(hidden)]
pub mod testing {
    use std::cell::Cell;

    thread_local! {
        static FAIL_STAGING: Cell<bool> = const { Cell::new(false) };
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
