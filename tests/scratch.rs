mod common;
use common::*;
#[test]
fn half() {
    let ex = executor();
    let words = spirv("saxpy");
    let t = std::time::Instant::now();
    let which = std::env::var("CUT").unwrap();
    let cut = match which.as_str() { "half" => words.len() / 2, "one" => words.len() - 1, _ => which.parse().unwrap() };
    eprintln!("len {} cut {cut}", words.len());
    let r = ex.create_kernel(&words[..cut], "main", &[]);
    eprintln!("{:?} after {:?}", r, t.elapsed());
}
