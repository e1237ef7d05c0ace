//! The C ABI, and nothing else: argument checks, the panic boundary, handle
//! lookup and status mapping. One file per object family; each export reads as
//! check arguments, call the safe core, map the result.
//!
//! Conventions (stated for C users in `include/gpuasync.h`): every fallible call
//! returns `gpuasync_status`; outputs are written only on success; a null
//! pointer is `GPUASYNC_NULL_ARGUMENT` unless documented optional; a zero length
//! with a null pointer is an empty slice; no panic crosses the boundary.
#![allow(non_camel_case_types)]
// C entry points take raw pointers by design: each checks them (null, length)
// and documents what the caller guarantees, as rustls-ffi does.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use once_cell::sync::Lazy;
use parking_lot::Mutex;

use crate::error::{gpuasync_status, Error, ErrorKind, Result};
use crate::executor::Executor;
use crate::slots::{Family, Slots};

pub mod batch;
pub mod buffer;
pub mod builtin;
pub mod device;
pub mod executor;
pub mod host;
pub mod kernel;
pub mod status;
pub mod submit;

/// An executor: one device and its asynchronous queue. Zero is the null handle.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct gpuasync_executor {
    pub id: u64,
}

/// A buffer of device memory, owned by one executor. Zero is the null handle.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct gpuasync_buffer {
    pub id: u64,
}

/// A compute kernel (pipeline) owned by one executor. Zero is the null handle.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct gpuasync_kernel {
    pub id: u64,
}

/// The value the executor's timeline reaches when a submission is complete.
/// Ticket 0 is "nothing" and always complete.
pub type gpuasync_ticket = u64;

/// Owner tag of the executor registry: never handed to an executor.
pub(crate) const REGISTRY_TAG: u16 = u16::MAX;

static EXECUTORS: Lazy<Mutex<Slots<Arc<Executor>>>> = Lazy::new(|| Mutex::new(Slots::new(REGISTRY_TAG, Family::Executor)));

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Keep `message` for `gpuasync_last_error`. Called outside `catch_unwind`,
/// so it must not panic: `try_with` fails quietly (the message is lost) when
/// the thread's locals are being torn down, for example in a thread-exit
/// destructor that calls gpuasync.
fn set_last_error(message: &str) {
    let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut slot) = e.try_borrow_mut() {
            *slot = message;
        }
    });
}

pub(crate) fn with_last_error<R>(f: impl FnOnce(&CStr) -> R) -> R {
    LAST_ERROR.with(|e| f(&e.borrow()))
}

/// Run an export's body: a panic becomes `GPUASYNC_INTERNAL`, an error becomes
/// its status with the message kept for `gpuasync_last_error`.
pub(crate) fn guard(body: impl FnOnce() -> Result<gpuasync_status>) -> gpuasync_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.status()
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!("internal error in gpuasync (please report): {what}"));
            gpuasync_status::GPUASYNC_INTERNAL
        }
    }
}

/// `guard` for the common case of a body that either succeeds or fails.
pub(crate) fn call(body: impl FnOnce() -> Result<()>) -> gpuasync_status {
    guard(|| body().map(|()| gpuasync_status::GPUASYNC_OK))
}

pub(crate) fn null(name: &str) -> Error {
    Error::new(ErrorKind::NullArgument, format!("{name} is null"))
}

/// Write an output only after the call succeeded. A misaligned pointer
/// (which C code can pass) is written unaligned rather than being undefined
/// behaviour.
///
/// # Safety
/// `out` must be non-null (checked at the start of the export) and valid for
/// a write of `T`.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) {
    // SAFETY: the caller's contract: non-null and writable for a `T`;
    // `write_unaligned` needs no alignment.
    unsafe { out.write_unaligned(value) }
}

/// A caller's slice; a zero length with a null pointer is empty. A length
/// whose bytes exceed `isize::MAX`, or a pointer not aligned for `T`, is
/// `InvalidArgument` (`from_raw_parts` requires both).
///
/// # Safety
/// If `len > 0`, `ptr` must be valid for reads of `len` elements for `'a`.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize, name: &str) -> Result<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(null(name));
    }
    if len > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(Error::new(ErrorKind::InvalidArgument, format!("{name}: {len} elements is more than any array can hold")));
    }
    if !ptr.is_aligned() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("{name} is not aligned to {} bytes", std::mem::align_of::<T>()),
        ));
    }
    // SAFETY: non-null, aligned, at most isize::MAX bytes, and the caller
    // promises `len` readable elements.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A caller's NUL-terminated UTF-8 string.
///
/// # Safety
/// `ptr` must be null or a valid NUL-terminated string for `'a`.
pub(crate) unsafe fn string<'a>(ptr: *const c_char, name: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-null and NUL-terminated per the caller's promise.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("{name} is not valid UTF-8")))
}

pub(crate) fn lookup(handle: gpuasync_executor) -> Result<Arc<Executor>> {
    EXECUTORS.lock().get(handle.id).cloned().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidHandle,
            format!("executor handle {:#x} is null, destroyed or invalid", handle.id),
        )
    })
}

pub(crate) fn register(executor: Executor) -> Result<gpuasync_executor> {
    EXECUTORS
        .lock()
        .insert(Arc::new(executor))
        .map(|id| gpuasync_executor { id })
        .map_err(|_| Error::new(ErrorKind::OutOfHostMemory, "too many live executors"))
}

pub(crate) fn unregister(handle: gpuasync_executor) -> Result<Arc<Executor>> {
    EXECUTORS.lock().remove(handle.id).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidHandle,
            format!("executor handle {:#x} is null, destroyed or invalid", handle.id),
        )
    })
}

/// Check that output pointers are non-null before doing any work.
macro_rules! require {
    ($($ptr:ident),+) => {
        $(if $ptr.is_null() { return Err($crate::ffi::null(stringify!($ptr))); })+
    };
}
pub(crate) use require;
