//! Gives the shared library a versioned name (`libpharm_ffi.so.<ABI>`), so a till that
//! linked against one ABI never loads a library of another.

fn main() {
    // Keep in step with `PHARM_ABI_VERSION` in src/version.rs (a test checks both).
    const ABI: u32 = 1;
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" || target_os == "freebsd" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libpharm_ffi.so.{ABI}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
