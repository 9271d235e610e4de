//! `chainwatch serve`: the API alone over an existing database.

use std::time::Duration;

use chainwatch_testkit::{free_port, http_post};
use sqlx::PgPool;

use crate::support::{bin, url_of};

#[sqlx::test(migrations = false)]
async fn serves_graphql_over_an_existing_database(pool: PgPool) {
    let url = url_of(&pool).await;
    assert!(
        bin()
            .args(["migrate", "--database-url", &url])
            .status()
            .unwrap()
            .success()
    );
    let listen = format!("127.0.0.1:{}", free_port());
    let mut child = bin()
        .args(["serve", "--database-url", &url, "--listen", &listen])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let body =
        r#"{"query":"{ chains { id } transaction(chain: \"evm:1\", hash: \"0x12\") { hash } }"}"#;
    let mut answer = None;
    for _ in 0..100 {
        if let Ok((200, text)) = http_post(&format!("http://{listen}/graphql"), body).await {
            answer = Some(text);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&answer.expect("serve did not answer")).unwrap();
    assert_eq!(v["data"]["chains"], serde_json::json!([]), "{v}");
    assert_eq!(v["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{v}");
    assert!(status.success(), "serve must exit cleanly on SIGTERM");
}
