//! Issue 6, acceptance 5: the console in headless Chromium (Debian `chromium` driven by npm
//! `playwright-core`, both installed by `.ci/run`). A reverted transaction indexed from anvil is
//! searched by hash and its failure reason is on the page; the screenshot is written to
//! `target/console/reverted.png`.

use std::{path::PathBuf, process::Command};

use chainwatch_store::Store;
use chainwatch_testkit::{Anvil, evm};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{Dev, anvil_chain, dev_args, url_of};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[sqlx::test(migrations = false)]
async fn console_shows_a_reverted_transactions_failure_reason(pool: PgPool) {
    let anvil = Anvil::spawn(&[]).await;
    let from = anvil.accounts().await.remove(0);
    let runtime = evm::reverting_runtime(&evm::error_string("console: insufficient allowance"));
    let contract = evm::deploy(&anvil, &from, &runtime).await;
    let hash = evm::send(&anvil, &from, json!({"to": contract, "gas": "0x186a0"})).await;
    let receipt = evm::receipt(&anvil, &hash).await;
    assert_eq!(receipt["status"], "0x0", "{receipt}");

    let url = url_of(&pool).await;
    let mut dev = Dev::start(&dev_args(&anvil.url(), &url));
    dev.wait_ready().await;
    let store = Store::from_pool(pool.clone());
    dev.wait_indexed(&store, &anvil_chain(), &anvil).await;

    let dir = repo_root().join("target/console");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("reverted.png");
    let _ = std::fs::remove_file(&shot);
    let tools =
        std::env::var("CHAINWATCH_TOOLS").unwrap_or_else(|_| "/opt/chainwatch-tools".into());
    let out = Command::new("node")
        .arg(repo_root().join("scripts/console/check.mjs"))
        .arg(format!("http://{}/", dev.listen))
        // Upper case: the console and the API normalize it.
        .arg(hash.to_uppercase().replacen("0X", "0x", 1))
        .arg(&shot)
        .env("CHAINWATCH_TOOLS", &tools)
        .output()
        .expect("cannot run node: run 'bash .ci/run' once (it installs node, chromium and playwright-core)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser check failed:\n{stdout}\n{stderr}"
    );
    let page: Value = serde_json::from_str(stdout.trim().lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    assert_eq!(
        page["failureMessage"], "console: insufficient allowance",
        "{page:#}"
    );
    assert!(
        page["failure"].as_str().unwrap().contains("REVERTED"),
        "{page:#}"
    );
    assert!(page["card"].as_str().unwrap().contains(&hash), "{page:#}");
    assert!(
        page["chains"].as_str().unwrap().contains("evm:31337"),
        "{page:#}"
    );
    assert_eq!(page["pageErrors"], json!([]), "{page:#}");
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "no screenshot"
    );
    assert!(dev.stop().success());
}
