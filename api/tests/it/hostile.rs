//! Issue 6, acceptance 3: a table of malformed and hostile requests sent over real HTTP. Each
//! one gets errors that all carry `extensions.code` (and, for a bad argument, the argument's
//! name and the field's path); none gets a 500, and the server keeps answering afterwards.

use std::{net::SocketAddr, time::Duration};

use chainwatch_api::{ApiConfig, RateLimit, router, serve};
use chainwatch_store::Store;
use chainwatch_testkit::{http_get, http_post};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{CHAIN, populate};

/// What a row expects.
struct Row {
    what: &'static str,
    body: String,
    status: u16,
    code: &'static str,
    /// The argument a BAD_REQUEST names, with the field path it must carry.
    argument: Option<(&'static str, &'static str)>,
}

fn gql(query: &str) -> String {
    json!({ "query": query }).to_string()
}

fn bad(what: &'static str, query: &str, field: &'static str, argument: &'static str) -> Row {
    Row {
        what,
        body: gql(query),
        status: 200,
        code: "BAD_REQUEST",
        argument: Some((argument, field)),
    }
}

fn coded(what: &'static str, body: String, status: u16, code: &'static str) -> Row {
    Row {
        what,
        body,
        status,
        code,
        argument: None,
    }
}

const HASH: &str = "0xabcdef0000000000000000000000000000000000000000000000000000000001";

fn rows() -> Vec<Row> {
    let tx =
        |hash: &str| format!(r#"{{ transaction(chain: "{CHAIN}", hash: "{hash}") {{ hash }} }}"#);
    let page = |args: &str| {
        format!(
            r#"{{ transactions(chain: "{CHAIN}", address: "0x{}"{args}) {{ edges {{ cursor }} }} }}"#,
            "1".repeat(40)
        )
    };
    // 20 levels of nesting (the limit is 16).
    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {}name{} }} }} }} }} }}",
        "ofType { ".repeat(16),
        " }".repeat(16)
    );
    // 3000 aliases of one cheap field: 6000 fields, above the complexity limit of 5000.
    let aliases: String = (0..3000).map(|i| format!("a{i}:chains{{id}}")).collect();
    // Ten aliased pages of 100 transactions with their timelines: each field counts once per
    // item, about 8000 in all, above the limit of 5000.
    let expensive: String = (0..10)
        .map(|i| {
            format!(
                r#"p{i}: transactions(chain: "{CHAIN}", address: "0x{}", first: 100) {{ edges {{ node {{ hash timeline {{ kind at }} blockHeight failure {{ kind message }} }} }} }} "#,
                "1".repeat(40)
            )
        })
        .collect();
    vec![
        bad("hash: not hex", &tx("0xzz"), "transaction", "hash"),
        bad("hash: 63 hex digits", &tx(&HASH[..65]), "transaction", "hash"),
        bad("hash: 65 hex digits", &tx(&format!("{HASH}0")), "transaction", "hash"),
        bad("hash: no 0x on EVM", &tx(&HASH[2..]), "transaction", "hash"),
        bad("hash: empty", &tx(""), "transaction", "hash"),
        bad("hash: unicode", &tx("0x\u{0663}\u{0664}"), "transaction", "hash"),
        bad("hash: SQL", &tx("' OR 1=1; DROP TABLE transactions; --"), "transaction", "hash"),
        bad("hash: 10k characters", &tx(&"a".repeat(10_000)), "transaction", "hash"),
        bad(
            "chain: unknown",
            &format!(r#"{{ transaction(chain: "evm:999999", hash: "{HASH}") {{ hash }} }}"#),
            "transaction",
            "chain",
        ),
        bad(
            "chain: no network",
            &format!(r#"{{ transaction(chain: "evm", hash: "{HASH}") {{ hash }} }}"#),
            "transaction",
            "chain",
        ),
        bad(
            "chain: spaces",
            &format!(r#"{{ transaction(chain: " evm : 1 ", hash: "{HASH}") {{ hash }} }}"#),
            "transaction",
            "chain",
        ),
        bad("chain: unknown in chain()", r#"{ chain(id: "solana:nowhere") { id } }"#, "chain", "id"),
        bad(
            "address: too short",
            &format!(r#"{{ transactions(chain: "{CHAIN}", address: "0x123") {{ edges {{ cursor }} }} }}"#),
            "transactions",
            "address",
        ),
        bad(
            "address: not hex",
            &format!(r#"{{ transactions(chain: "{CHAIN}", address: "0x{}") {{ edges {{ cursor }} }} }}"#, "g".repeat(40)),
            "transactions",
            "address",
        ),
        bad("first: negative", &page(", first: -1"), "transactions", "first"),
        bad("first: zero", &page(", first: 0"), "transactions", "first"),
        bad("first: huge", &page(", first: 1000000"), "transactions", "first"),
        bad("after: not a cursor", &page(r#", after: "not-a-cursor!!""#), "transactions", "after"),
        bad("after: base64 of junk", &page(r#", after: "AAAA""#), "transactions", "after"),
        bad("since: not a time", &page(r#", since: "yesterday""#), "transactions", "since"),
        bad(
            "until before since",
            &page(r#", since: "2024-02-01T00:00:00Z", until: "2024-01-01T00:00:00Z""#),
            "transactions",
            "until",
        ),
        bad("reorgs: first negative", &format!(r#"{{ reorgs(chain: "{CHAIN}", first: -5) {{ edges {{ cursor }} }} }}"#), "reorgs", "first"),
        bad(
            "block: height and hash",
            &format!(r#"{{ block(chain: "{CHAIN}", height: 1, hash: "{HASH}") {{ height }} }}"#),
            "block",
            "height",
        ),
        bad("transactionsByHash: bad hash", r#"{ transactionsByHash(hash: "0x!") { hash } }"#, "transactionsByHash", "hash"),
        bad(
            "traceTransaction: unknown chain",
            &format!(r#"{{ traceTransaction(chain: "evm:424242", hash: "{HASH}") {{ status }} }}"#),
            "traceTransaction",
            "chain",
        ),
        coded("first: above Int", gql(&page(", first: 2147483648")), 200, "GRAPHQL_VALIDATION_FAILED"),
        coded("block: negative height", gql(&format!(r#"{{ block(chain: "{CHAIN}", height: -1) {{ height }} }}"#)), 200, "GRAPHQL_VALIDATION_FAILED"),
        coded("status: unknown enum", gql(&page(", status: BOGUS")), 200, "GRAPHQL_VALIDATION_FAILED"),
        coded("unknown field", gql("{ transaction { nope } }"), 200, "GRAPHQL_VALIDATION_FAILED"),
        coded(
            "variable of the wrong type",
            json!({"query": "query ($f: Int) { reorgs(chain: \"evm:31337\", first: $f) { edges { cursor } } }", "variables": {"f": "ten"}}).to_string(),
            200,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        coded("syntax error", gql("{ transaction(chain: "), 200, "GRAPHQL_PARSE_FAILED"),
        coded("deep query", gql(&deep), 200, "QUERY_TOO_DEEP"),
        coded("alias amplification", gql(&format!("{{ {aliases} }}")), 200, "QUERY_TOO_COMPLEX"),
        coded("expensive query", gql(&format!("{{ {expensive} }}")), 200, "QUERY_TOO_COMPLEX"),
        coded(
            "oversized body",
            gql(&format!("{{ chains {{ id }} }} # {}", "x".repeat(200_000))),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        coded("not JSON", "{{{{ nope".into(), 400, "BAD_REQUEST"),
        coded("JSON but no query", json!({"q": 1}).to_string(), 400, "BAD_REQUEST"),
        coded("a batch", json!([{"query": "{ chains { id } }"}]).to_string(), 400, "BAD_REQUEST"),
        coded("empty body", String::new(), 400, "BAD_REQUEST"),
    ]
}

async fn start(store: Store, cfg: ApiConfig) -> (SocketAddr, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cancel = CancellationToken::new();
    tokio::spawn(serve(listener, router(store, cfg), cancel.clone()));
    (addr, cancel)
}

fn check(what: &str, status: u16, text: &str, want_status: u16, code: &str) -> Value {
    assert_ne!(status, 500, "{what}: 500: {text}");
    assert_eq!(status, want_status, "{what}: {text}");
    let v: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
    let errs = v["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no errors: {text}"));
    assert!(!errs.is_empty(), "{what}: {text}");
    for e in errs {
        assert!(
            e["extensions"]["code"].is_string(),
            "{what}: an error without a code: {text}"
        );
        assert!(
            !e["message"].as_str().unwrap_or("").is_empty(),
            "{what}: {text}"
        );
    }
    assert!(
        errs.iter().any(|e| e["extensions"]["code"] == code),
        "{what}: expected code {code}: {text}"
    );
    v
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn hostile_inputs_get_coded_errors_never_a_500(pool: PgPool) {
    let store = Store::from_pool(pool);
    populate(&store).await;
    let cfg = ApiConfig {
        max_body_bytes: 64 * 1024,
        ..ApiConfig::default()
    };
    let (addr, cancel) = start(store.clone(), cfg).await;
    let url = format!("http://{addr}/graphql");
    let rows = rows();
    assert!(rows.len() >= 30, "{} rows", rows.len());
    for row in &rows {
        let (status, text) = http_post(&url, &row.body).await.unwrap();
        let v = check(row.what, status, &text, row.status, row.code);
        if let Some((argument, field)) = row.argument {
            let e = v["errors"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["extensions"]["code"] == "BAD_REQUEST")
                .unwrap();
            assert_eq!(
                e["extensions"]["argument"], argument,
                "{}: {text}",
                row.what
            );
            assert_eq!(e["path"][0], field, "{}: {text}", row.what);
            // Secrets and internals stay out of messages.
            assert!(
                !text.contains("sqlx") && !text.contains("postgres"),
                "{}: {text}",
                row.what
            );
        }
    }
    // Still serving.
    let (status, _) = http_get(&format!("http://{addr}/healthz")).await.unwrap();
    assert_eq!(status, 200);
    let (status, text) = http_post(
        &url,
        &gql(&format!(
            r#"{{ transaction(chain: "{CHAIN}", hash: "{HASH}") {{ hash }} }}"#
        )),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{text}");
    cancel.cancel();
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn a_flooding_client_is_rate_limited_and_a_slow_query_times_out(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    populate(&store).await;
    let cfg = ApiConfig {
        rate_limit: Some(RateLimit {
            per_second: 1.0,
            burst: 3,
        }),
        ..ApiConfig::default()
    };
    let (addr, cancel) = start(store.clone(), cfg).await;
    let url = format!("http://{addr}/graphql");
    let body = gql("{ chains { id } }");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (status, text) = http_post(&url, &body).await.unwrap();
        if status == 429 {
            check("flood", status, &text, 429, "RATE_LIMITED");
        }
        statuses.push(status);
    }
    assert_eq!(&statuses[..3], [200, 200, 200], "{statuses:?}");
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    // Health checks are not limited.
    assert_eq!(
        http_get(&format!("http://{addr}/healthz")).await.unwrap().0,
        200
    );
    cancel.cancel();

    // A query running past the timeout gets TIMEOUT, not a hang: here the query waits on a lock
    // another session holds on the table it reads.
    let cfg = ApiConfig {
        query_timeout: Duration::from_millis(500),
        ..ApiConfig::default()
    };
    let mut locker = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE address_transactions IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *locker)
        .await
        .unwrap();
    let (addr, cancel) = start(store, cfg).await;
    let (status, text) = http_post(
        &format!("http://{addr}/graphql"),
        &gql(&format!(
            r#"{{ transactions(chain: "{CHAIN}", address: "0x{}") {{ edges {{ cursor }} }} }}"#,
            "1".repeat(40)
        )),
    )
    .await
    .unwrap();
    check("timeout", status, &text, 200, "TIMEOUT");
    locker.rollback().await.unwrap();
    cancel.cancel();
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn cors_and_introspection_follow_the_config(pool: PgPool) {
    let store = Store::from_pool(pool);
    let cfg = ApiConfig {
        cors_allowed_origins: vec!["https://app.example.com".into()],
        introspection: false,
        ..ApiConfig::default()
    };
    let (addr, cancel) = start(store, cfg).await;
    // A CORS preflight from the allowed origin, and one from another origin.
    let preflight = |origin: &str| {
        format!(
            "OPTIONS /graphql HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n"
        )
    };
    let raw = |req: String| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(req.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf).to_ascii_lowercase()
    };
    let ok = raw(preflight("https://app.example.com")).await;
    assert!(
        ok.contains("access-control-allow-origin: https://app.example.com"),
        "{ok}"
    );
    let other = raw(preflight("https://evil.example.net")).await;
    assert!(!other.contains("access-control-allow-origin"), "{other}");

    // Introspection off: the schema is not shown (async-graphql answers null, no error).
    let (status, text) = http_post(
        &format!("http://{addr}/graphql"),
        &gql("{ __schema { types { name } } }"),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(v["data"]["__schema"].is_null(), "{text}");
    cancel.cancel();
}
