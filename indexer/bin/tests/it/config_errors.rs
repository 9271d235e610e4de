//! Bad configuration exits non-zero with one clear line naming the problem and where it is.

use chainwatch_testkit::Anvil;
use sqlx::PgPool;

use crate::support::{bin, scratch, url_of};

/// Runs `chainwatch dev` with `config` (TOML text) and `args`; returns (exit code, last stderr line).
fn run(config: Option<&str>, args: &[&str]) -> (i32, String) {
    let dir = scratch("config");
    let mut cmd = bin();
    cmd.arg("dev")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("DATABASE_URL");
    if let Some(text) = config {
        let path = dir.join("bad.toml");
        std::fs::write(&path, text).unwrap();
        cmd.arg("--config").arg(path);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "expected one error line, got:\n{stderr}");
    (out.status.code().unwrap_or(-1), errors[0].to_owned())
}

const DB: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[test]
fn unknown_chain_family() {
    let (code, line) = run(
        Some("[chains.\"foo:1\"]\nproviders = [{ label = \"a\", url = \"http://127.0.0.1:9\" }]\n"),
        &["--database-url", DB],
    );
    assert_eq!(code, 2);
    assert!(
        line.contains("chains.\"foo:1\"") && line.contains("unknown chain family `foo`"),
        "{line}"
    );
}

#[test]
fn empty_provider_list() {
    let (code, line) = run(
        Some("[chains.\"evm:1\"]\nproviders = []\n"),
        &["--database-url", DB],
    );
    assert_eq!(code, 2);
    assert!(
        line.contains("chains.\"evm:1\"") && line.contains("empty provider list"),
        "{line}"
    );
}

#[test]
fn malformed_toml() {
    let (code, line) = run(
        Some("[chains.\"evm:1\"]\nproviders = [\n  { label = \"a\" url = 1 }\n"),
        &["--database-url", DB],
    );
    assert_eq!(code, 2);
    assert!(line.contains("bad.toml:3:"), "{line}");
}

#[test]
fn unreachable_database() {
    let (code, line) = run(
        None,
        &[
            "--chain",
            "evm:1=http://127.0.0.1:9",
            "--database-url",
            "postgres://postgres:hunter2@127.0.0.1:9/chainwatch",
        ],
    );
    assert_ne!(code, 0);
    assert!(
        line.contains("cannot connect to the database at 127.0.0.1:9/chainwatch"),
        "{line}"
    );
    assert!(!line.contains("hunter2"), "password leaked: {line}");
}

#[sqlx::test(migrations = false)]
async fn chain_id_that_does_not_match_the_node(pool: PgPool) {
    let anvil = Anvil::spawn(&[]).await;
    let url = url_of(&pool).await;
    let spec = format!("evm:1=local={}", anvil.url());
    let (code, line) =
        tokio::task::spawn_blocking(move || run(None, &["--chain", &spec, "--database-url", &url]))
            .await
            .unwrap();
    assert_ne!(code, 0);
    assert!(
        line.contains("evm:1") && line.contains("`local`") && line.contains("31337"),
        "{line}"
    );
    assert!(!line.contains(&anvil.url()), "provider URL leaked: {line}");
}

#[sqlx::test(migrations = false)]
async fn aptos_chain_id_that_does_not_match_the_node(pool: PgPool) {
    let node = chainwatch_testkit::AptosNode::start(
        chainwatch_testkit::aptos_chain(std::path::Path::new(crate::aptos::APTOS)),
        10_004,
    )
    .await;
    node.with(|s| s.chain_id = 2);
    let url = url_of(&pool).await;
    let node_url = node.stub.url_with_secret("SECRETKEY0123456789");
    let spec = format!("aptos:1=testnet-node={node_url}");
    let (code, line) =
        tokio::task::spawn_blocking(move || run(None, &["--chain", &spec, "--database-url", &url]))
            .await
            .unwrap();
    assert_ne!(code, 0);
    assert!(
        line.contains(
            "provider `testnet-node` reports chain id 2 but the chain is configured as aptos:1"
        ),
        "{line}"
    );
    assert!(
        !line.contains("SECRETKEY") && !line.contains("127.0.0.1"),
        "provider URL leaked: {line}"
    );
}

#[test]
fn evm_only_keys_on_an_aptos_chain() {
    let (code, line) = run(
        Some(
            "[chains.\"aptos:1\"]\nfinality = \"tags\"\nproviders = [{ label = \"a\", url = \"http://127.0.0.1:9/v1\" }]\n",
        ),
        &["--database-url", DB],
    );
    assert_ne!(code, 0);
    assert!(
        line.contains("chains.\"aptos:1\".finality applies to EVM chains only"),
        "{line}"
    );
}
