//! The pipeline as separate processes over a real Kafka-protocol broker (tansu): `ingest` and
//! `consume` give the same database as `dev`; they survive `kill -9` of themselves and of the
//! broker during a backfill with reorgs; a restarted consumer resumes from its committed offset;
//! two consumers split chains and survive one of them dying.

use std::time::{Duration, Instant};

use chainwatch_schema::ChainId;
use chainwatch_store::Store;
use chainwatch_testkit::{Anvil, Tansu, evm::mixed_traffic};
use serde_json::json;
use sqlx::PgPool;

use crate::support::{Dev, anvil_chain, clean_snapshot, scratch, url_of};

/// A config file with test-friendly timings: fast polling, a short group session.
fn test_config() -> String {
    config_with("", "")
}

/// [`test_config`] plus `[ingest]` settings and more tables.
fn config_with(ingest: &str, tables: &str) -> String {
    let path = scratch("kafka-config").join("chainwatch.toml");
    std::fs::write(
        &path,
        format!(
            "[ingest]\npoll_interval_ms = 200\nheartbeat_interval_ms = 1000\n{ingest}\n\
             [consume]\nlinger_ms = 20\n\n\
             [kafka]\nsession_timeout_ms = 6000\norphan_after_ms = 10000\n\n{tables}"
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// A process restarted whenever it exits, as a Kubernetes Deployment would.
struct Supervised {
    command: &'static str,
    args: Vec<String>,
    proc: Dev,
    exits: Vec<String>,
}

impl Supervised {
    fn start(command: &'static str, args: Vec<String>) -> Self {
        let proc = Dev::start_cmd(command, &args, LOGS);
        Self {
            command,
            args,
            proc,
            exits: Vec::new(),
        }
    }

    /// Restarts the process if it exited, keeping the last lines of its log.
    fn check(&mut self) {
        if !self.proc.running() {
            let logs = self.proc.logs();
            let tail: Vec<&str> = logs.lines().rev().take(3).collect();
            self.exits
                .push(format!("{} exited: {}", self.command, tail.join(" | ")));
            self.proc = Dev::start_cmd(self.command, &self.args, LOGS);
        }
    }

    async fn kill9_and_restart(&mut self, pause: Duration) {
        self.proc.kill9();
        tokio::time::sleep(pause).await;
        self.proc = Dev::start_cmd(self.command, &self.args, LOGS);
    }
}

/// A process [`wait_synced`] watches: checked at every poll, its logs shown on failure.
trait Watched {
    /// Fails (plain process) or restarts it (supervised) when it exited.
    fn tick(&mut self);
    /// What to print when the wait times out.
    fn report(&self) -> String;
}

impl Watched for Dev {
    fn tick(&mut self) {
        assert!(self.running(), "a process exited; logs:\n{}", self.logs());
    }
    fn report(&self) -> String {
        self.logs()
    }
}

impl Watched for Supervised {
    fn tick(&mut self) {
        self.check();
    }
    fn report(&self) -> String {
        format!("{:?}\n{}", self.exits, self.proc.logs())
    }
}

fn ingest_args(config: &str, chain: &str, anvil: &Anvil, brokers: &str) -> Vec<String> {
    [
        "--config",
        config,
        "--chain",
        &format!("{chain}=anvil={}", anvil.url()),
        "--brokers",
        brokers,
        "--start-height",
        "0",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn consume_args(config: &str, brokers: &str, db: &str, chains: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "--config",
        config,
        "--brokers",
        brokers,
        "--database-url",
        db,
    ]
    .map(str::to_owned)
    .to_vec();
    for c in chains {
        v.extend(["--chain".to_owned(), (*c).to_owned()]);
    }
    v
}

const LOGS: &[(&str, &str)] = &[("RUST_LOG", "info,chainwatch=debug,sqlx=warn,rdkafka=warn")];

/// Mines `blocks` blocks holding 0 to 3 transfers each (pseudo-random from `seed`).
async fn mine_traffic(anvil: &Anvil, blocks: u64, seed: u64) -> usize {
    let accts = anvil.accounts().await;
    let mut rng = fastrand::Rng::with_seed(seed);
    anvil.rpc("evm_setAutomine", json!([false])).await;
    let mut txs = 0;
    for _ in 0..blocks {
        for _ in 0..rng.usize(0..=3) {
            let from = &accts[rng.usize(0..4)];
            let to = &accts[4 + rng.usize(0..4)];
            anvil
                .rpc(
                    "eth_sendTransaction",
                    json!([{"from": from, "to": to, "value": format!("0x{:x}", rng.u32(1..1_000_000)), "gas": "0x5208"}]),
                )
                .await;
            txs += 1;
        }
        anvil.rpc("evm_mine", json!([])).await;
    }
    anvil.rpc("evm_setAutomine", json!([true])).await;
    txs
}

/// Replaces the last `depth` blocks with blocks carrying other transfers.
async fn reorg(anvil: &Anvil, depth: u64, salt: u64) {
    let accts = anvil.accounts().await;
    let pairs: Vec<_> = (0..depth)
        .map(|i| json!([{"from": accts[8], "to": accts[9], "value": format!("0x{:x}", 0x1000 + salt * 16 + i)}, i]))
        .collect();
    anvil.rpc("anvil_reorg", json!([depth, pairs])).await;
}

/// Waits until the database's head of `chain` is `anvil`'s head, while `procs` keep running.
async fn wait_synced<P: Watched>(
    store: &Store,
    chain: &ChainId,
    anvil: &Anvil,
    procs: &mut [&mut P],
    within: Duration,
) {
    let deadline = Instant::now() + within;
    loop {
        let head = anvil
            .rpc("eth_getBlockByNumber", json!(["latest", false]))
            .await;
        let hash = head["hash"].as_str().unwrap().to_owned();
        // Before `consume` migrated the database, there is no watermarks table yet.
        if store
            .watermark(chain)
            .await
            .ok()
            .flatten()
            .is_some_and(|w| w.head.is_some_and(|h| h.hash == hash))
        {
            return;
        }
        for p in procs.iter_mut() {
            p.tick();
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = procs.iter().map(|p| p.report()).collect();
            panic!(
                "head {hash} of {chain} not indexed within {within:?}; logs:\n{}",
                logs.join("\n-----\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Duplicate and missing transactions, by SQL, against anvil's canonical chain.
async fn assert_complete(pool: &PgPool, anvil: &Anvil) {
    // The primary key (hash, chain_id) makes duplicate rows impossible; a re-applied reorg
    // would show as duplicate history events.
    let dups: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM transaction_events GROUP BY chain_id, tx_hash, kind, block_hash HAVING count(*) > 1) d",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(dups, 0, "duplicate transaction events");
    let head = anvil.block_number().await;
    let mut canonical = Vec::new();
    for h in 0..=head {
        let b = anvil
            .rpc("eth_getBlockByNumber", json!([format!("0x{h:x}"), false]))
            .await;
        for t in b["transactions"].as_array().unwrap() {
            canonical.push(t.as_str().unwrap().to_owned());
        }
    }
    let indexed: Vec<String> = sqlx::query_scalar(
        "SELECT hash FROM transactions WHERE chain_id = 'evm:31337' ORDER BY block_height, tx_index",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        indexed.len(),
        canonical.len(),
        "indexed vs canonical transaction count"
    );
    assert_eq!(
        indexed, canonical,
        "indexed transactions differ from the canonical chain"
    );
}

/// Acceptance 1: `ingest` and `consume` as processes through Kafka give the same database as
/// `dev` with its in-process bus, reverted transactions and a reorg included.
#[sqlx::test(migrations = false)]
async fn separate_processes_through_kafka_index_like_dev(pool: PgPool) {
    let anvil = Anvil::spawn(&["--slots-in-an-epoch", "8"]).await;
    mixed_traffic(&anvil, 4, 3).await;
    mine_traffic(&anvil, 30, 1).await;
    let broker = Tansu::spawn().await;
    let cfg = test_config();
    let url = url_of(&pool).await;
    let store = Store::from_pool(pool.clone());

    let mut ingest = Dev::start_cmd(
        "ingest",
        &ingest_args(&cfg, "evm:31337", &anvil, &broker.brokers()),
        LOGS,
    );
    ingest.wait_ready().await;
    let mut consume = Dev::start_cmd(
        "consume",
        &consume_args(&cfg, &broker.brokers(), &url, &["evm:31337"]),
        LOGS,
    );
    consume.wait_ready().await;
    wait_synced(
        &store,
        &anvil_chain(),
        &anvil,
        &mut [&mut ingest, &mut consume],
        Duration::from_secs(90),
    )
    .await;
    reorg(&anvil, 3, 1).await;
    mine_traffic(&anvil, 5, 2).await;
    wait_synced(
        &store,
        &anvil_chain(),
        &anvil,
        &mut [&mut ingest, &mut consume],
        Duration::from_secs(90),
    )
    .await;
    let metrics = consume.get("/metrics").await;
    assert!(
        metrics.contains("chainwatch_consume_rows_written_total"),
        "{metrics}"
    );
    assert!(ingest.stop().success(), "{}", ingest.logs());
    assert!(consume.stop().success(), "{}", consume.logs());

    let live = store.snapshot(&anvil_chain()).await.unwrap();
    let clean = clean_snapshot(&anvil, "kafka_same").await;
    assert_eq!(live, clean, "Kafka pipeline's database differs from dev's");
    let reorgs: i64 = sqlx::query_scalar("SELECT count(*) FROM reorgs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(reorgs, 1);
    assert_complete(&pool, &anvil).await;
}

/// Acceptance 2: a backfill of 1,000 blocks with reorgs injected, while ingest, consume and the
/// broker are each killed with SIGKILL at least twice at random points; the database ends equal
/// to a clean index, with no duplicate and no missing transaction.
#[sqlx::test(migrations = false)]
async fn crash_everything_during_a_backfill_with_reorgs(pool: PgPool) {
    let seed = std::env::var("CHAINWATCH_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("crash test seed: {seed} (set CHAINWATCH_CRASH_SEED to replay)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let anvil = Anvil::spawn(&["--slots-in-an-epoch", "8"]).await;
    mixed_traffic(&anvil, 2, 2).await;
    let txs = mine_traffic(&anvil, 1000, seed).await;
    assert!(txs > 1000, "{txs}");
    let mut broker = Tansu::spawn().await;
    let brokers = broker.brokers();
    // The provider is rate-limited (2 requests per block) so that the backfill lasts long
    // enough (about 15 s) for every kill to land in it.
    let cfg = config_with(
        "batch_blocks = 16\n",
        &format!(
            "[chains.\"evm:31337\"]\nproviders = [{{ label = \"anvil\", url = \"{}\", max_rps = 130 }}]\n",
            anvil.url()
        ),
    );
    let url = url_of(&pool).await;
    let store = Store::from_pool(pool.clone());
    let ingest_args: Vec<String> = [
        "--config",
        &cfg,
        "--chain",
        "evm:31337",
        "--brokers",
        &brokers,
        "--start-height",
        "0",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut ingest = Supervised::start("ingest", ingest_args);
    let mut consume = Supervised::start(
        "consume",
        consume_args(&cfg, &brokers, &url, &["evm:31337"]),
    );
    // Start killing once the pipeline has written its first blocks.
    let deadline = Instant::now() + Duration::from_secs(60);
    while store
        .watermark(&anvil_chain())
        .await
        .ok()
        .flatten()
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "nothing indexed within 60 s:\n{}\n{}",
            ingest.proc.logs(),
            consume.proc.logs()
        );
        ingest.check();
        consume.check();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Each victim twice, in a random order, at random moments; reorgs in between.
    let mut plan = vec![
        "ingest", "ingest", "consume", "consume", "broker", "broker", "reorg", "reorg",
    ];
    rng.shuffle(&mut plan);
    let mut kills = Vec::new();
    for (i, step) in plan.iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(rng.u64(300..1500))).await;
        ingest.check();
        consume.check();
        let height = store
            .watermark(&anvil_chain())
            .await
            .ok()
            .flatten()
            .and_then(|w| w.head)
            .map(|h| h.height);
        kills.push(format!(
            "{step}@{}",
            height.map_or("-".into(), |h| h.to_string())
        ));
        let pause = Duration::from_millis(rng.u64(0..1000));
        match *step {
            "ingest" => ingest.kill9_and_restart(pause).await,
            "consume" => consume.kill9_and_restart(pause).await,
            "broker" => {
                broker.kill();
                tokio::time::sleep(pause).await;
                broker.restart().await;
            }
            _ => {
                reorg(&anvil, rng.u64(1..=4), i as u64).await;
                mine_traffic(&anvil, rng.u64(1..5), seed + i as u64).await;
            }
        }
    }
    let head = anvil.block_number().await;
    eprintln!(
        "crash plan (step@indexed height; chain head {head}): {}",
        kills.join(", ")
    );
    // The kills must have hit the backfill, not an idle pipeline.
    let during: usize = kills
        .iter()
        .filter(|k| {
            k.split('@')
                .nth(1)
                .and_then(|h| h.parse::<u64>().ok())
                .is_some_and(|h| h + 100 < head)
        })
        .count();
    assert!(during >= 6, "kills came too late: {kills:?}");
    wait_synced(
        &store,
        &anvil_chain(),
        &anvil,
        &mut [&mut ingest, &mut consume],
        Duration::from_secs(240),
    )
    .await;
    eprintln!(
        "unplanned exits (restarted): {:?} {:?}",
        ingest.exits, consume.exits
    );
    assert!(ingest.proc.stop().success(), "{}", ingest.proc.logs());
    assert!(consume.proc.stop().success(), "{}", consume.proc.logs());

    let live = store.snapshot(&anvil_chain()).await.unwrap();
    let clean = clean_snapshot(&anvil, "kafka_crash").await;
    assert!(
        live == clean,
        "after crashes ({}), the database differs from a clean index (seed {seed})",
        kills.join(", ")
    );
    assert_complete(&pool, &anvil).await;
}

/// Acceptance 3a: a consumer stopped and started again resumes at its committed offset: the
/// second run re-applies nothing (`skipped=0` in its final stats) and the group's offset is at
/// the topic's end.
#[sqlx::test(migrations = false)]
async fn a_restarted_consumer_resumes_from_its_committed_offset(pool: PgPool) {
    let anvil = Anvil::spawn(&[]).await;
    mine_traffic(&anvil, 20, 3).await;
    let broker = Tansu::spawn().await;
    let cfg = test_config();
    let url = url_of(&pool).await;
    let store = Store::from_pool(pool.clone());
    let mut ingest = Dev::start_cmd(
        "ingest",
        &ingest_args(&cfg, "evm:31337", &anvil, &broker.brokers()),
        LOGS,
    );
    let args = consume_args(&cfg, &broker.brokers(), &url, &["evm:31337"]);
    let mut consume = Dev::start_cmd("consume", &args, LOGS);
    wait_synced(
        &store,
        &anvil_chain(),
        &anvil,
        &mut [&mut ingest, &mut consume],
        Duration::from_secs(60),
    )
    .await;
    assert!(consume.stop().success(), "{}", consume.logs());
    let first = consume.logs();
    assert!(first.contains("consumer stopped cleanly"), "{first}");
    // The group's committed offset is the end of the topic: everything read was committed.
    let (committed, end) = committed_and_end(&broker.brokers(), "chainwatch.v1.evm.31337");
    assert_eq!(
        committed, end,
        "committed offset vs end of topic after a clean stop"
    );

    mine_traffic(&anvil, 10, 4).await;
    let mut consume = Dev::start_cmd("consume", &args, LOGS);
    wait_synced(
        &store,
        &anvil_chain(),
        &anvil,
        &mut [&mut ingest, &mut consume],
        Duration::from_secs(60),
    )
    .await;
    assert!(ingest.stop().success(), "{}", ingest.logs());
    assert!(consume.stop().success(), "{}", consume.logs());
    let second = consume.logs();
    let stats = second
        .lines()
        .find(|l| l.contains("consumer stopped cleanly"))
        .unwrap_or_else(|| panic!("{second}"));
    assert!(
        stats.contains("skipped=0"),
        "the restarted consumer re-read applied events: {stats}"
    );
    assert_complete(&pool, &anvil).await;
}

/// The consume group's committed offset of partition 0 of `topic`, and the topic's end.
fn committed_and_end(brokers: &str, topic: &str) -> (i64, i64) {
    use rdkafka::{
        ClientConfig, Offset, TopicPartitionList,
        consumer::{BaseConsumer, Consumer as _},
    };
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "chainwatch-consume")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let committed = c.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    let offset = match committed.elements()[0].offset() {
        Offset::Offset(o) => o,
        other => panic!("no committed offset: {other:?}"),
    };
    let (_, high) = c
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap();
    (offset, high)
}

/// Acceptance 3b: two consume processes in one group split two chains between them; when one
/// dies (SIGKILL), the other takes its chain over and both chains are fully indexed.
///
/// The process killed is the group's leader, the harder case: tansu 0.6 does not start a new
/// generation when a member times out, so the survivor is handed the old assignment and the
/// dead member's chain is left unread until the subscriber's orphan watchdog notices the stalled
/// partition and rejoins the group.
#[sqlx::test(migrations = false)]
async fn two_consumers_split_chains_and_survive_one_dying(pool: PgPool) {
    let a = Anvil::spawn(&[]).await;
    let b = Anvil::spawn(&["--chain-id", "31338"]).await;
    mine_traffic(&a, 10, 5).await;
    mine_traffic(&b, 10, 6).await;
    let broker = Tansu::spawn().await;
    let brokers = broker.brokers();
    let cfg = test_config();
    let url = url_of(&pool).await;
    let store = Store::from_pool(pool.clone());
    let (ca, cb): (ChainId, ChainId) = ("evm:31337".parse().unwrap(), "evm:31338".parse().unwrap());
    let mut ia = Dev::start_cmd(
        "ingest",
        &ingest_args(&cfg, "evm:31337", &a, &brokers),
        LOGS,
    );
    let mut ib = Dev::start_cmd(
        "ingest",
        &ingest_args(&cfg, "evm:31338", &b, &brokers),
        LOGS,
    );
    ia.wait_ready().await;
    ib.wait_ready().await;
    // No --chain: both consumers subscribe to every chain topic under the prefix. librdkafka's
    // group debug log says which one leads the group.
    let consume_cfg = config_with("", "[kafka.properties]\ndebug = \"cgrp\"\n");
    let args = consume_args(&consume_cfg, &brokers, &url, &[]);
    let debug_logs = &[(
        "RUST_LOG",
        "info,chainwatch=debug,sqlx=warn,librdkafka=debug",
    )];
    let mut c1 = Dev::start_cmd("consume", &args, debug_logs);
    let mut c2 = Dev::start_cmd("consume", &args, debug_logs);
    wait_synced(
        &store,
        &ca,
        &a,
        &mut [&mut ia, &mut ib, &mut c1, &mut c2],
        Duration::from_secs(90),
    )
    .await;
    wait_synced(
        &store,
        &cb,
        &b,
        &mut [&mut ia, &mut ib, &mut c1, &mut c2],
        Duration::from_secs(90),
    )
    .await;
    // Once the group settled, each consumer holds one chain.
    let deadline = Instant::now() + Duration::from_secs(60);
    let owners = loop {
        let owns = |d: &Dev, topic: &str| {
            let logs = d.logs();
            let assigned = logs.rfind(&format!("partition assigned: {topic}/0"));
            let revoked = logs.rfind(&format!("partition revoked: {topic}/0"));
            assigned.is_some_and(|a| revoked.is_none_or(|r| r < a))
        };
        let t = ["chainwatch.v1.evm.31337", "chainwatch.v1.evm.31338"];
        let o = (
            owns(&c1, t[0]),
            owns(&c1, t[1]),
            owns(&c2, t[0]),
            owns(&c2, t[1]),
        );
        if (o.0 ^ o.1) && (o.2 ^ o.3) && (o.0 ^ o.2) {
            break o;
        }
        assert!(
            Instant::now() < deadline,
            "chains not split between the consumers: {o:?}\n{}\n-----\n{}",
            c1.logs(),
            c2.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Kill the member that leads the group (see above); it owns one of the chains. New blocks on
    // both chains must still arrive.
    let led = |d: &Dev| d.logs().rfind("I am elected leader");
    let c1_leads = match (led(&c1), led(&c2)) {
        (Some(_), None) => true,
        (None, Some(_)) => false,
        (l1, l2) => panic!("cannot tell the group leader: {l1:?} {l2:?}"),
    };
    let (victim, survivor) = if c1_leads {
        (&mut c1, &mut c2)
    } else {
        (&mut c2, &mut c1)
    };
    eprintln!("owners (c1 31337, c1 31338, c2 31337, c2 31338): {owners:?}; c1 leads: {c1_leads}");
    victim.kill9();
    mine_traffic(&a, 10, 7).await;
    mine_traffic(&b, 10, 8).await;
    wait_synced(
        &store,
        &ca,
        &a,
        &mut [&mut ia, &mut ib, &mut *survivor],
        Duration::from_secs(90),
    )
    .await;
    wait_synced(
        &store,
        &cb,
        &b,
        &mut [&mut ia, &mut ib, &mut *survivor],
        Duration::from_secs(90),
    )
    .await;
    let rejoined = survivor.logs().contains("rejoining the group");
    eprintln!("survivor rejoined the group by its watchdog: {rejoined}");
    for p in [&mut ia, &mut ib, &mut *survivor] {
        assert!(p.stop().success(), "{}", p.logs());
    }
    let dups: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM transactions GROUP BY hash, chain_id HAVING count(*) > 1) d",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(dups, 0);
}

/// `dev --brokers` publishes and consumes through Kafka (the topic fills up) and indexes like
/// `dev` with the in-process bus; a restart resumes from the end of the topic.
#[sqlx::test(migrations = false)]
async fn dev_with_brokers_goes_through_kafka(pool: PgPool) {
    let anvil = Anvil::spawn(&[]).await;
    mixed_traffic(&anvil, 3, 2).await;
    let broker = Tansu::spawn().await;
    let url = url_of(&pool).await;
    let store = Store::from_pool(pool.clone());
    let mut args = crate::support::dev_args(&anvil.url(), &url);
    args.extend(["--brokers".to_owned(), broker.brokers()]);
    let mut dev = Dev::start(&args);
    dev.wait_ready().await;
    dev.wait_indexed(&store, &anvil_chain(), &anvil).await;
    assert!(dev.stop().success(), "{}", dev.logs());
    assert!(dev.logs().contains("using the Kafka bus"), "{}", dev.logs());
    let (_, end) = committed_and_end(&broker.brokers(), "chainwatch.v1.evm.31337");
    assert!(end > 0, "nothing was published to the topic");

    mine_traffic(&anvil, 5, 9).await;
    let mut dev = Dev::start(&args);
    dev.wait_ready().await;
    dev.wait_indexed(&store, &anvil_chain(), &anvil).await;
    assert!(dev.stop().success(), "{}", dev.logs());
    assert!(dev.logs().contains("resuming"), "{}", dev.logs());

    let live = store.snapshot(&anvil_chain()).await.unwrap();
    let clean = clean_snapshot(&anvil, "kafka_dev").await;
    assert_eq!(live, clean, "dev through Kafka differs from dev in process");
}
