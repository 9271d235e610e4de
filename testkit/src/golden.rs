//! Golden files: normalized output compared byte for byte with a checked-in file, rewritten
//! with `UPDATE_GOLDEN=1` (then review the diff before committing: the goldens are the spec).

use std::path::Path;

/// Whether this run rewrites golden files (`UPDATE_GOLDEN=1`).
pub fn updating() -> bool {
    std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1")
}

/// Compares `text` with the golden file at `path`, or writes it there with `UPDATE_GOLDEN=1`.
/// Panics naming the file and how to regenerate it when they differ or the file is missing.
pub fn check(path: &Path, text: &str) {
    if updating() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    assert!(
        want == text,
        "output differs from {}; rerun with UPDATE_GOLDEN=1 and review the diff",
        path.display()
    );
}
