//! The crate's error type and its one mapping to the C status codes.

use std::fmt;

use ash::vk;

/// What went wrong, in the terms a caller can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A required pointer or slice was null.
    NullArgument,
    /// A handle that is zero, freed, stale, forged or from another executor.
    InvalidHandle,
    /// An argument that is out of its domain (zero sizes, bad flags, unknown ids).
    InvalidArgument,
    /// An offset and length that do not fit inside a buffer.
    OutOfRange,
    /// A blob that is not valid SPIR-V, or a kernel interface gpuasync cannot drive.
    InvalidSpirv,
    /// A dispatch whose buffers, push constants or group counts do not match its kernel.
    KernelMismatch,
    /// The result does not exist yet (a ticket not complete).
    NotReady,
    /// The call would have to block and the caller asked it not to.
    WouldBlock,
    /// No record of what was asked for (a ticket submitted without timestamps).
    NotFound,
    /// No Vulkan device satisfies gpuasync's requirements, or none matched the selection.
    NoDevice,
    /// The device or the Vulkan installation lacks a feature that was asked for.
    Unsupported,
    /// Device memory is exhausted.
    OutOfDeviceMemory,
    /// Host memory is exhausted.
    OutOfHostMemory,
    /// The device was lost: every outstanding ticket is void.
    DeviceLost,
    /// Any other Vulkan failure.
    Vulkan,
    /// A file could not be read.
    Io,
    /// A bug in gpuasync (a panic caught at the C boundary, a broken invariant).
    Internal,
}

/// An error with a message written for the person reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    /// A Vulkan call failed; `what` names the call's purpose.
    pub fn vulkan(what: &str, result: vk::Result) -> Self {
        let kind = match result {
            vk::Result::ERROR_OUT_OF_DEVICE_MEMORY => ErrorKind::OutOfDeviceMemory,
            vk::Result::ERROR_OUT_OF_HOST_MEMORY => ErrorKind::OutOfHostMemory,
            vk::Result::ERROR_DEVICE_LOST => ErrorKind::DeviceLost,
            vk::Result::ERROR_LAYER_NOT_PRESENT
            | vk::Result::ERROR_EXTENSION_NOT_PRESENT
            | vk::Result::ERROR_FEATURE_NOT_PRESENT
            | vk::Result::ERROR_INCOMPATIBLE_DRIVER => ErrorKind::Unsupported,
            _ => ErrorKind::Vulkan,
        };
        Self::new(kind, format!("{what}: {result}"))
    }

    pub fn status(&self) -> gpuasync_status {
        gpuasync_status::from(self.kind)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<gpu_allocator::AllocationError> for Error {
    fn from(e: gpu_allocator::AllocationError) -> Self {
        use gpu_allocator::AllocationError as A;
        let kind = match e {
            A::OutOfMemory => ErrorKind::OutOfDeviceMemory,
            A::NoCompatibleMemoryTypeFound => ErrorKind::Unsupported,
            _ => ErrorKind::Vulkan,
        };
        Self::new(kind, format!("memory allocation failed: {e}"))
    }
}

/// The status every fallible C function returns. Values are explicit, grouped by
/// kind, and never reused: a retired code stays here as a comment.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gpuasync_status {
    /// Success.
    GPUASYNC_OK = 0,

    // 1..99: the caller passed something wrong.
    /// A required pointer argument was null.
    GPUASYNC_NULL_ARGUMENT = 1,
    /// A handle that is zero, destroyed, stale, forged or belongs to another executor.
    GPUASYNC_INVALID_HANDLE = 2,
    /// An argument outside its domain; the message says which.
    GPUASYNC_INVALID_ARGUMENT = 3,
    /// An offset and size that do not fit inside the buffer.
    GPUASYNC_OUT_OF_RANGE = 4,
    /// A SPIR-V blob that is truncated, malformed, or has an interface gpuasync cannot drive.
    GPUASYNC_INVALID_SPIRV = 5,
    /// A dispatch that does not match its kernel (buffers, push constants, group counts).
    GPUASYNC_KERNEL_MISMATCH = 6,

    // 100..199: not errors; the state of asynchronous work.
    /// `gpuasync_ticket_wait` returned before the ticket completed; nothing changed.
    GPUASYNC_TIMEOUT = 100,
    /// The ticket is not complete yet, so its result does not exist yet.
    GPUASYNC_NOT_READY = 101,
    /// The call would have to block and the caller asked it not to.
    GPUASYNC_WOULD_BLOCK = 102,
    /// No record of what was asked for (for example a ticket submitted without timestamps).
    GPUASYNC_NOT_FOUND = 103,

    // 200..299: the machine cannot do it.
    /// No Vulkan device meets gpuasync's requirements (or matched the selection).
    GPUASYNC_NO_DEVICE = 200,
    /// The device or Vulkan installation lacks a requested feature or layer.
    GPUASYNC_UNSUPPORTED = 201,
    /// Device memory is exhausted.
    GPUASYNC_OUT_OF_DEVICE_MEMORY = 202,
    /// Host memory is exhausted.
    GPUASYNC_OUT_OF_HOST_MEMORY = 203,
    /// The device was lost; outstanding work is void.
    GPUASYNC_DEVICE_LOST = 204,
    /// Any other Vulkan failure; the message has the VkResult.
    GPUASYNC_VULKAN_ERROR = 205,
    /// A file could not be read.
    GPUASYNC_IO_ERROR = 206,

    /// A bug in gpuasync, including a panic caught at the C boundary.
    GPUASYNC_INTERNAL = 999,
}

impl From<ErrorKind> for gpuasync_status {
    fn from(kind: ErrorKind) -> Self {
        use gpuasync_status::*;
        match kind {
            ErrorKind::NullArgument => GPUASYNC_NULL_ARGUMENT,
            ErrorKind::InvalidHandle => GPUASYNC_INVALID_HANDLE,
            ErrorKind::InvalidArgument => GPUASYNC_INVALID_ARGUMENT,
            ErrorKind::OutOfRange => GPUASYNC_OUT_OF_RANGE,
            ErrorKind::InvalidSpirv => GPUASYNC_INVALID_SPIRV,
            ErrorKind::KernelMismatch => GPUASYNC_KERNEL_MISMATCH,
            ErrorKind::NotReady => GPUASYNC_NOT_READY,
            ErrorKind::WouldBlock => GPUASYNC_WOULD_BLOCK,
            ErrorKind::NotFound => GPUASYNC_NOT_FOUND,
            ErrorKind::NoDevice => GPUASYNC_NO_DEVICE,
            ErrorKind::Unsupported => GPUASYNC_UNSUPPORTED,
            ErrorKind::OutOfDeviceMemory => GPUASYNC_OUT_OF_DEVICE_MEMORY,
            ErrorKind::OutOfHostMemory => GPUASYNC_OUT_OF_HOST_MEMORY,
            ErrorKind::DeviceLost => GPUASYNC_DEVICE_LOST,
            ErrorKind::Vulkan => GPUASYNC_VULKAN_ERROR,
            ErrorKind::Io => GPUASYNC_IO_ERROR,
            ErrorKind::Internal => GPUASYNC_INTERNAL,
        }
    }
}

impl gpuasync_status {
    /// The code's name, as C spells it.
    pub fn name(self) -> &'static str {
        use gpuasync_status::*;
        match self {
            GPUASYNC_OK => "GPUASYNC_OK",
            GPUASYNC_NULL_ARGUMENT => "GPUASYNC_NULL_ARGUMENT",
            GPUASYNC_INVALID_HANDLE => "GPUASYNC_INVALID_HANDLE",
            GPUASYNC_INVALID_ARGUMENT => "GPUASYNC_INVALID_ARGUMENT",
            GPUASYNC_OUT_OF_RANGE => "GPUASYNC_OUT_OF_RANGE",
            GPUASYNC_INVALID_SPIRV => "GPUASYNC_INVALID_SPIRV",
            GPUASYNC_KERNEL_MISMATCH => "GPUASYNC_KERNEL_MISMATCH",
            GPUASYNC_TIMEOUT => "GPUASYNC_TIMEOUT",
            GPUASYNC_NOT_READY => "GPUASYNC_NOT_READY",
            GPUASYNC_WOULD_BLOCK => "GPUASYNC_WOULD_BLOCK",
            GPUASYNC_NOT_FOUND => "GPUASYNC_NOT_FOUND",
            GPUASYNC_NO_DEVICE => "GPUASYNC_NO_DEVICE",
            GPUASYNC_UNSUPPORTED => "GPUASYNC_UNSUPPORTED",
            GPUASYNC_OUT_OF_DEVICE_MEMORY => "GPUASYNC_OUT_OF_DEVICE_MEMORY",
            GPUASYNC_OUT_OF_HOST_MEMORY => "GPUASYNC_OUT_OF_HOST_MEMORY",
            GPUASYNC_DEVICE_LOST => "GPUASYNC_DEVICE_LOST",
            GPUASYNC_VULKAN_ERROR => "GPUASYNC_VULKAN_ERROR",
            GPUASYNC_IO_ERROR => "GPUASYNC_IO_ERROR",
            GPUASYNC_INTERNAL => "GPUASYNC_INTERNAL",
        }
    }
}

/// Shorthand for building an `Err` with a formatted message.
macro_rules! bail {
    ($kind:ident, $($fmt:tt)+) => {
        return Err($crate::error::Error::new($crate::error::ErrorKind::$kind, format!($($fmt)+)))
    };
}
pub(crate) use bail;
