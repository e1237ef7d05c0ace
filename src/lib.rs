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

pub use batch::{BatchId, PushUpdate};
pub use builtin::{parse_gemm_tile, Builtin, BuiltinKind, DType, GemmTile, Operand};
pub use device::{list_devices, DeviceInfo, DeviceType};
pub use error::{gpuasync_status, Error, ErrorKind, Result};
pub use executor::{BufferId, CooperativeMatrix, Executor, ExecutorDesc, KernelId, TransferQueues};
pub use kernel::{BindingAccess, KernelInterface, SpecConstant};
pub use memory::BufferKind;
pub use submit::{HostDst, Op, SubmitFlags, WHOLE_SIZE};
pub use timing::{Stats, Timing};
