//! The header, Cargo.toml and the library agree on the version; the C status
//! names match the Rust enum.

use std::ffi::CStr;

fn header() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/gpuasync.h")).expect("include/gpuasync.h")
}

fn define(header: &str, name: &str) -> u32 {
    let prefix = format!("#define {name} ");
    let line = header.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("{name} missing from header"));
    line[prefix.len()..].trim().parse().unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn header_cargo_and_library_versions_agree() {
    let h = header();
    let (major, minor, patch) = (
        define(&h, "GPUASYNC_VERSION_MAJOR"),
        define(&h, "GPUASYNC_VERSION_MINOR"),
        define(&h, "GPUASYNC_VERSION_PATCH"),
    );
    let cargo = (
        env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap(),
        env!("CARGO_PKG_VERSION_MINOR").parse().unwrap(),
        env!("CARGO_PKG_VERSION_PATCH").parse().unwrap(),
    );
    assert_eq!((major, minor, patch), cargo, "header version macros vs Cargo.toml");
    assert_eq!(gpuasync::ffi::status::gpuasync_version(), major * 10000 + minor * 100 + patch);
}

#[test]
fn every_status_in_the_header_has_its_name() {
    let h = header();
    let mut seen = 0;
    for line in h.lines() {
        let line = line.trim();
        let Some((name, value)) = line.strip_suffix(',').and_then(|l| l.split_once(" = ")) else { continue };
        if !name.starts_with("GPUASYNC_") {
            continue;
        }
        let code: i32 = value.parse().expect("status value");
        let got = gpuasync::ffi::status::gpuasync_status_string(code);
        // SAFETY: gpuasync_status_string returns a static NUL-terminated string.
        let got = unsafe { CStr::from_ptr(got) }.to_str().unwrap();
        assert_eq!(got, name);
        seen += 1;
    }
    assert!(seen >= 19, "found only {seen} status codes in the header");
}

/// The C ABI's array arguments: a length whose bytes no array can hold, or a
/// pointer not aligned for its element type, is `GPUASYNC_INVALID_ARGUMENT`
/// with a message, never undefined behaviour in `slice::from_raw_parts`.
/// (Both are checked before the executor handle, so none is needed.)
#[test]
fn absurd_lengths_and_misaligned_arrays_are_invalid_arguments() {
    use gpuasync::ffi::{gpuasync_executor, gpuasync_kernel, kernel::gpuasync_kernel_create, status::gpuasync_last_error};
    let words = [0x0723_0203u32; 8];
    let mut kernel = gpuasync_kernel { id: 0 };
    let last_error = || {
        let mut buf = vec![0 as std::ffi::c_char; 256];
        gpuasync_last_error(buf.as_mut_ptr(), buf.len());
        // SAFETY: gpuasync_last_error NUL-terminates what it writes.
        unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
    };
    let cases: [(*const u32, usize, &str); 2] = [
        (words.as_ptr(), usize::MAX, "more than any array can hold"),
        // SAFETY: one byte into an array of 32 bytes.
        (unsafe { words.as_ptr().cast::<u8>().add(1) }.cast::<u32>(), 4, "not aligned"),
    ];
    for (ptr, count, want) in cases {
        let status = gpuasync_kernel_create(gpuasync_executor { id: 0 }, ptr, count, c"main".as_ptr(), std::ptr::null(), 0, &mut kernel);
        assert_eq!(status, gpuasync::gpuasync_status::GPUASYNC_INVALID_ARGUMENT, "{want}");
        let message = last_error();
        assert!(message.contains(want), "{message}");
        assert_eq!(kernel.id, 0, "no kernel is written on an error");
    }
}
