//! `spirv-val FILE...`: validates each SPIR-V module for Vulkan 1.3 with the
//! SPIRV-Tools that spirv-tools-sys vendors; prints one line per module and
//! exits non-zero if any fails.

use spirv_tools::val::{self, Validator};
use std::process::ExitCode;

fn words(path: &str) -> Result<Vec<u32>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() % 4 != 0 {
        return Err(format!("{} bytes, not whole words", bytes.len()));
    }
    Ok(bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: spirv-val FILE...");
        return ExitCode::from(2);
    }
    let validator = val::create(Some(spirv_tools::TargetEnv::Vulkan_1_3));
    let mut failed = 0;
    for path in &paths {
        let result = words(path).and_then(|w| validator.validate(&w, None).map_err(|e| e.to_string()));
        match result {
            Ok(()) => {}
            Err(e) => {
                failed += 1;
                eprintln!("INVALID: {path}: {e}");
            }
        }
    }
    println!("spirv-val: {} of {} modules valid for Vulkan 1.3", paths.len() - failed, paths.len());
    if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
