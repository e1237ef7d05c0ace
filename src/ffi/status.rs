//! Status names, the per-thread last error message, and the library version.

use std::ffi::c_char;

use super::with_last_error;
use crate::error::gpuasync_status;

const fn parse(s: &str) -> u32 {
    let bytes = s.as_bytes();
    let mut value = 0;
    let mut i = 0;
    while i < bytes.len() {
        value = value * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    value
}

pub(crate) const VERSION_MAJOR: u32 = parse(env!("CARGO_PKG_VERSION_MAJOR"));
pub(crate) const VERSION_MINOR: u32 = parse(env!("CARGO_PKG_VERSION_MINOR"));
pub(crate) const VERSION_PATCH: u32 = parse(env!("CARGO_PKG_VERSION_PATCH"));

/// The library's version as `MAJOR * 10000 + MINOR * 100 + PATCH`; equal to the
/// header's `GPUASYNC_VERSION` when header and library match.
#[no_mangle]
pub extern "C" fn gpuasync_version() -> u32 {
    // Constants; the guard only keeps the rule that no panic crosses the C boundary.
    std::panic::catch_unwind(|| VERSION_MAJOR * 10000 + VERSION_MINOR * 100 + VERSION_PATCH).unwrap_or(0)
}

/// The name of a status code (for example "GPUASYNC_TIMEOUT"), or
/// "GPUASYNC_UNKNOWN_STATUS" for a value that is not one. The string is static.
#[no_mangle]
pub extern "C" fn gpuasync_status_string(status: i32) -> *const c_char {
    use gpuasync_status::*;
    const ALL: [gpuasync_status; 19] = [
        GPUASYNC_OK, GPUASYNC_NULL_ARGUMENT, GPUASYNC_INVALID_HANDLE, GPUASYNC_INVALID_ARGUMENT,
        GPUASYNC_OUT_OF_RANGE, GPUASYNC_INVALID_SPIRV, GPUASYNC_KERNEL_MISMATCH, GPUASYNC_TIMEOUT,
        GPUASYNC_NOT_READY, GPUASYNC_WOULD_BLOCK, GPUASYNC_NOT_FOUND, GPUASYNC_NO_DEVICE,
        GPUASYNC_UNSUPPORTED, GPUASYNC_OUT_OF_DEVICE_MEMORY, GPUASYNC_OUT_OF_HOST_MEMORY,
        GPUASYNC_DEVICE_LOST, GPUASYNC_VULKAN_ERROR, GPUASYNC_IO_ERROR, GPUASYNC_INTERNAL,
    ];
    // Names are stored NUL-terminated so the pointer is a valid C string.
    static NAMES: once_cell::sync::Lazy<Vec<(i32, std::ffi::CString)>> = once_cell::sync::Lazy::new(|| {
        ALL.iter()
            .map(|s| (*s as i32, std::ffi::CString::new(s.name()).unwrap_or_default()))
            .collect()
    });
    std::panic::catch_unwind(|| {
        NAMES
            .iter()
            .find(|(code, _)| *code == status)
            .map_or(c"GPUASYNC_UNKNOWN_STATUS".as_ptr(), |(_, name)| name.as_ptr())
    })
    .unwrap_or(c"GPUASYNC_UNKNOWN_STATUS".as_ptr())
}

/// Copy the calling thread's last error message into `buffer` (at most `length`
/// bytes, always NUL-terminated when `length > 0`, truncated if needed). Returns
/// the full message length without the NUL, so a caller can size a buffer; 0
/// when no error has happened on this thread. With `buffer` null (or `length`
/// 0) nothing is copied: a size query.
#[no_mangle]
pub extern "C" fn gpuasync_last_error(buffer: *mut c_char, length: usize) -> usize {
    let copied = std::panic::catch_unwind(|| {
        with_last_error(|message| {
            let bytes = message.to_bytes();
            if !buffer.is_null() && length > 0 {
                let n = bytes.len().min(length - 1);
                // SAFETY: the caller gives `length` writable bytes at `buffer`;
                // `n + 1 <= length`.
                unsafe {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), buffer, n);
                    buffer.add(n).write(0);
                }
            }
            bytes.len()
        })
    });
    copied.unwrap_or(0)
}
