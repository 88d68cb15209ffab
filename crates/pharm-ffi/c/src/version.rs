//! The library's version and ABI version.

/// The ABI version: raised whenever an exported signature, a struct layout or a result
/// value changes meaning. The shared library's name carries it (`libpharm_ffi.so.1`).
pub const PHARM_ABI_VERSION: u32 = 1;

/// The library's version as NUL-terminated text (`"0.1.0"`). Static: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn pharm_version() -> *const std::ffi::c_char {
    crate::boundary::guard_value(std::ptr::null(), || {
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
    })
}

/// The ABI version the library was built with; compare it with `PHARM_ABI_VERSION` from
/// the header you compiled against.
#[unsafe(no_mangle)]
pub extern "C" fn pharm_abi_version() -> u32 {
    crate::boundary::guard_value(0, || PHARM_ABI_VERSION)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_crate_version() {
        // SAFETY: a static NUL-terminated string.
        let text = unsafe { std::ffi::CStr::from_ptr(pharm_version()) };
        assert_eq!(text.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn build_script_names_the_same_abi() {
        let script = include_str!("../build.rs");
        assert!(script.contains(&format!("const ABI: u32 = {PHARM_ABI_VERSION};")));
    }
}
