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
