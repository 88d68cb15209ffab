//! The committed header `include/pharm.h` is what cbindgen makes of the sources today.
//! Regenerate it with `PHARM_BLESS=1 cargo test -p pharm-ffi --test header`.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

#[test]
fn committed_header_is_fresh() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .unwrap()
        .write(&mut generated);
    let path = crate_dir.join("include/pharm.h");
    if std::env::var_os("PHARM_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/pharm.h is stale: regenerate it with PHARM_BLESS=1 cargo test -p pharm-ffi --test header"
    );
}
