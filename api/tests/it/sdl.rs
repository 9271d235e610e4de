//! The SDL snapshot in `schema/graphql/schema.graphql`.

use std::path::PathBuf;

#[test]
fn sdl_matches_the_snapshot() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/graphql/schema.graphql");
    let sdl = chainwatch_api::sdl();
    if std::env::var_os("UPDATE_SNAPSHOT").is_some_and(|v| v == "1") {
        std::fs::write(&path, &sdl).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == sdl,
        "{} differs from chainwatch_api::sdl(); if the change is intended, rerun with UPDATE_SNAPSHOT=1 and commit the file.\n--- new SDL ---\n{sdl}",
        path.display()
    );
}
