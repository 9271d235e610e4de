//! Configuration: one TOML file, `CHAINWATCH_SECTION__KEY` environment overrides, `${VAR}`
//! interpolation for secrets, and command-line flags on top.

use std::{collections::BTreeMap, path::Path, time::Duration};

use chainwatch_chain_core::{PoolConfig, ProviderConfig};
use chainwatch_schema::ChainId;
use serde::Deserialize;

/// A configuration problem, with where it is. Printed as one line; exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ConfigError(pub(crate) String);

fn err(msg: impl Into<String>) -> ConfigError {
    ConfigError(msg.into())
}

/// The whole configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default)]
    pub(crate) database: DatabaseSection,
    #[serde(default)]
    pub(crate) api: ApiSection,
    #[serde(default)]
    pub(crate) pool: PoolSection,
    #[serde(default)]
    pub(crate) ingest: IngestSection,
    #[serde(default)]
    pub(crate) consume: ConsumeSection,
    #[serde(default)]
    pub(crate) kafka: KafkaSection,
    #[serde(default)]
    pub(crate) status: StatusSection,
    #[serde(default)]
    pub(crate) chains: BTreeMap<String, ChainSection>,
}

/// `[database]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DatabaseSection {
    pub(crate) url: Option<String>,
    pub(crate) max_connections: Option<u32>,
}

/// `[api]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiSection {
    pub(crate) listen: Option<String>,
    /// Largest `first` of a paginated field (default 100).
    pub(crate) max_page_size: Option<usize>,
    /// Deepest query accepted (default 16).
    pub(crate) max_depth: Option<usize>,
    /// Most complex query accepted (default 1000).
    pub(crate) max_complexity: Option<usize>,
    /// Largest request body in bytes (default 65536).
    pub(crate) max_body_bytes: Option<usize>,
    /// Longest a query may run, in milliseconds (default 10000).
    pub(crate) query_timeout_ms: Option<u64>,
    /// Origins allowed by CORS (`*` for any); default none.
    #[serde(default)]
    pub(crate) cors_allowed_origins: Vec<String>,
    /// Requests per second one client may sustain on /graphql; absent or 0: unlimited.
    pub(crate) rate_limit_per_second: Option<f64>,
    /// Requests one client may send at once (default 2 × the rate, at least 1).
    pub(crate) rate_limit_burst: Option<u32>,
    /// Identify clients by the last value of this header (set by your ingress), not the peer.
    pub(crate) client_ip_header: Option<String>,
    /// Whether introspection is answered (default true).
    pub(crate) introspection: Option<bool>,
    /// `transaction(chain, hash)` statements run at once; lookups beyond are batched (default 2).
    pub(crate) lookup_concurrency: Option<usize>,
}

impl ApiSection {
    /// The API's read-only store over `store`, with `lookup_concurrency` applied.
    pub(crate) fn api_store(
        &self,
        store: chainwatch_store::Store,
    ) -> Result<chainwatch_store::Store, ConfigError> {
        match self.lookup_concurrency {
            None => Ok(store),
            Some(0) => Err(err("[api] lookup_concurrency must be at least 1, got 0")),
            Some(n) => Ok(store.with_lookup_concurrency(n)),
        }
    }

    /// The API settings for `known_chains`; errors name the key.
    pub(crate) fn api_config(
        &self,
        known_chains: Vec<chainwatch_schema::ChainId>,
    ) -> Result<chainwatch_api::ApiConfig, ConfigError> {
        let d = chainwatch_api::ApiConfig::default();
        let positive = |key: &str, v: Option<usize>, default: usize| match v {
            Some(0) => Err(err(format!("[api] {key} must be at least 1, got 0"))),
            Some(v) => Ok(v),
            None => Ok(default),
        };
        let rate_limit = match self.rate_limit_per_second {
            None => None,
            Some(0.0) => None,
            Some(r) if !(r.is_finite() && r > 0.0) => {
                return Err(err(format!(
                    "[api] rate_limit_per_second must be a positive number of requests per second (or 0 for none), got {r}"
                )));
            }
            Some(r) => Some(chainwatch_api::RateLimit {
                per_second: r,
                burst: self
                    .rate_limit_burst
                    .unwrap_or_else(|| ((2.0 * r).ceil() as u32).max(1)),
            }),
        };
        if self.query_timeout_ms == Some(0) {
            return Err(err("[api] query_timeout_ms must be at least 1, got 0"));
        }
        Ok(chainwatch_api::ApiConfig {
            known_chains,
            max_page_size: positive("max_page_size", self.max_page_size, d.max_page_size)?,
            max_depth: positive("max_depth", self.max_depth, d.max_depth)?,
            max_complexity: positive("max_complexity", self.max_complexity, d.max_complexity)?,
            max_body_bytes: positive("max_body_bytes", self.max_body_bytes, d.max_body_bytes)?,
            query_timeout: self
                .query_timeout_ms
                .map_or(d.query_timeout, Duration::from_millis),
            cors_allowed_origins: self.cors_allowed_origins.clone(),
            rate_limit,
            client_ip_header: self.client_ip_header.clone(),
            introspection: self.introspection.unwrap_or(d.introspection),
            tracers: d.tracers,
        })
    }
}

/// `[pool]`: provider pool settings shared by every chain.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PoolSection {
    pub(crate) request_timeout_ms: Option<u64>,
    pub(crate) max_attempts: Option<u32>,
    pub(crate) breaker_threshold: Option<u32>,
    pub(crate) breaker_cooldown_ms: Option<u64>,
    /// Hedged reads: also ask the next-best provider when the first has not answered after
    /// this many milliseconds (off when absent).
    pub(crate) hedge_after_ms: Option<u64>,
}

/// `[ingest]`: defaults for every chain.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IngestSection {
    pub(crate) backfill_concurrency: Option<usize>,
    pub(crate) batch_blocks: Option<u64>,
    pub(crate) poll_interval_ms: Option<u64>,
    pub(crate) heartbeat_interval_ms: Option<u64>,
}

/// `[consume]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsumeSection {
    pub(crate) max_batch: Option<usize>,
    pub(crate) max_batch_txs: Option<usize>,
    pub(crate) linger_ms: Option<u64>,
}

/// `[kafka]`: the Kafka bus of `ingest`, `consume` and `dev --brokers`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KafkaSection {
    pub(crate) brokers: Option<String>,
    pub(crate) topic_prefix: Option<String>,
    pub(crate) partitions: Option<i32>,
    pub(crate) replication: Option<i32>,
    pub(crate) retention_ms: Option<i64>,
    pub(crate) max_message_bytes: Option<usize>,
    pub(crate) max_in_flight_bytes: Option<usize>,
    pub(crate) group_id: Option<String>,
    pub(crate) dead_letter_topic: Option<String>,
    pub(crate) on_poison: Option<String>,
    pub(crate) session_timeout_ms: Option<u64>,
    pub(crate) orphan_after_ms: Option<u64>,
    /// Extra librdkafka properties (`security.protocol`, `sasl.password`, …).
    #[serde(default)]
    pub(crate) properties: BTreeMap<String, toml::Value>,
}

/// `[status]`: the lag SLO `chainwatch status` checks, for chains that set none of their own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusSection {
    /// Most blocks the indexed height may trail the best provider head (default 50).
    pub(crate) max_lag_blocks: Option<u64>,
    /// Most seconds the indexed head's block time may trail now (default 300).
    pub(crate) max_lag_seconds: Option<u64>,
}

/// Default of `[status] max_lag_blocks`.
pub(crate) const DEFAULT_MAX_LAG_BLOCKS: u64 = 50;
/// Default of `[status] max_lag_seconds`.
pub(crate) const DEFAULT_MAX_LAG_SECONDS: u64 = 300;

/// A chain's lag SLO, as `chainwatch status` checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Slo {
    /// Most blocks behind the best provider head.
    pub(crate) max_lag_blocks: u64,
    /// Most seconds behind now.
    pub(crate) max_lag_seconds: u64,
}

/// `[chains."family:network"]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChainSection {
    #[serde(default)]
    pub(crate) providers: Vec<ProviderConfig>,
    pub(crate) start_height: Option<u64>,
    pub(crate) max_reorg_depth: Option<u64>,
    pub(crate) backfill_concurrency: Option<usize>,
    pub(crate) poll_interval_ms: Option<u64>,
    /// EVM: `"tags"` (the node's safe/finalized tags, the default) or `"depth"`.
    pub(crate) finality: Option<String>,
    /// EVM: confirmations below latest that count as safe / finalized (by depth, or when the
    /// node rejects the tags).
    pub(crate) safe_depth: Option<u64>,
    pub(crate) finalized_depth: Option<u64>,
    /// EVM: a directory of JSON ABIs whose custom errors decode failure reasons.
    pub(crate) abi_dir: Option<std::path::PathBuf>,
    /// Solana: the commitment ingest follows, `"processed"`, `"confirmed"` (the default) or
    /// `"finalized"`. Read only by a build with the `solana` feature.
    #[cfg_attr(not(feature = "solana"), allow(dead_code))]
    pub(crate) commitment: Option<String>,
    /// Providers that must agree on the head's block hash (default: a majority of those that
    /// answer). Only used with more than one provider.
    pub(crate) quorum: Option<usize>,
    /// Blocks a provider may trail the agreeing providers before it is set aside (default 10).
    pub(crate) max_provider_lag_blocks: Option<u64>,
    /// `chainwatch status`: most blocks behind the best provider head (overrides `[status]`).
    pub(crate) max_lag_blocks: Option<u64>,
    /// `chainwatch status`: most seconds behind now (overrides `[status]`).
    pub(crate) max_lag_seconds: Option<u64>,
}

impl Config {
    /// The lag SLO of `chain`: the flags, else its `[chains."id"]` keys, else `[status]`, else
    /// 50 blocks and 300 seconds.
    pub(crate) fn slo(
        &self,
        chain: &str,
        max_lag_blocks: Option<u64>,
        max_lag_seconds: Option<u64>,
    ) -> Slo {
        let section = self.chains.get(chain);
        Slo {
            max_lag_blocks: max_lag_blocks
                .or(section.and_then(|s| s.max_lag_blocks))
                .or(self.status.max_lag_blocks)
                .unwrap_or(DEFAULT_MAX_LAG_BLOCKS),
            max_lag_seconds: max_lag_seconds
                .or(section.and_then(|s| s.max_lag_seconds))
                .or(self.status.max_lag_seconds)
                .unwrap_or(DEFAULT_MAX_LAG_SECONDS),
        }
    }

    /// Reads `path`: interpolates `${VAR}`, parses TOML, applies `CHAINWATCH_*__*` overrides.
    pub(crate) fn load(path: &Path) -> Result<Self, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(format!("cannot read config file {name}: {e}")))?;
        Self::parse(&name, &text, std::env::vars())
    }

    /// Parses configuration text; `env` supplies `${VAR}` values and overrides.
    pub(crate) fn parse(
        name: &str,
        text: &str,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = env.collect();
        let text = interpolate(name, text, &env)?;
        let mut table: toml::Table =
            toml::from_str(&text).map_err(|e| toml_error(name, &text, &e))?;
        let overridden = apply_env_overrides(&mut table, &env)?;
        let cfg = if overridden {
            let again = toml::to_string(&table)
                .map_err(|e| err(format!("{name}: cannot apply environment overrides: {e}")))?;
            toml::from_str::<Self>(&again).map_err(|e| {
                err(format!(
                    "{name} (with CHAINWATCH_* overrides): {}",
                    e.message()
                ))
            })?
        } else {
            toml::from_str::<Self>(&text).map_err(|e| toml_error(name, &text, &e))?
        };
        Ok(cfg)
    }

    /// The pool settings.
    pub(crate) fn pool_config(&self) -> PoolConfig {
        let d = PoolConfig::default();
        PoolConfig {
            request_timeout: self
                .pool
                .request_timeout_ms
                .map_or(d.request_timeout, Duration::from_millis),
            max_attempts: self.pool.max_attempts.unwrap_or(d.max_attempts),
            breaker_threshold: self.pool.breaker_threshold.unwrap_or(d.breaker_threshold),
            breaker_cooldown: self
                .pool
                .breaker_cooldown_ms
                .map_or(d.breaker_cooldown, Duration::from_millis),
            hedge_after: self.pool.hedge_after_ms.map(Duration::from_millis),
            ..d
        }
    }

    /// The Kafka settings when brokers are given (flag/env first, then `[kafka] brokers`);
    /// `None` when there are none.
    pub(crate) fn kafka_config(
        &self,
        brokers_flag: Option<&str>,
    ) -> Result<Option<chainwatch_bus::kafka::KafkaConfig>, ConfigError> {
        let k = &self.kafka;
        let Some(brokers) = brokers_flag
            .map(str::to_owned)
            .or_else(|| k.brokers.clone())
        else {
            return Ok(None);
        };
        let mut c = chainwatch_bus::kafka::KafkaConfig::new(brokers);
        if let Some(v) = &k.topic_prefix {
            c.topic_prefix = v.clone();
        }
        if let Some(v) = k.partitions {
            c.partitions = v;
        }
        if let Some(v) = k.replication {
            c.replication = v;
        }
        c.retention_ms = k.retention_ms;
        if let Some(v) = k.max_message_bytes {
            c.max_message_bytes = v;
        }
        if let Some(v) = k.max_in_flight_bytes {
            c.max_in_flight_bytes = v;
        }
        if let Some(v) = &k.group_id {
            c.group_id = v.clone();
        }
        if let Some(v) = &k.dead_letter_topic {
            c.dead_letter_topic = v.clone();
        }
        if let Some(v) = &k.on_poison {
            c.on_poison = v
                .parse()
                .map_err(|e| err(format!("kafka.on_poison: {e}")))?;
        }
        if let Some(v) = k.session_timeout_ms {
            c.session_timeout = Duration::from_millis(v);
        }
        if let Some(v) = k.orphan_after_ms {
            c.orphan_after = Duration::from_millis(v);
        }
        for (name, value) in &k.properties {
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(_) | toml::Value::Boolean(_) | toml::Value::Float(_) => {
                    value.to_string()
                }
                _ => {
                    return Err(err(format!(
                        "kafka.properties.\"{name}\": expected a string, number or boolean"
                    )));
                }
            };
            c.properties.insert(name.clone(), text);
        }
        c.validate().map_err(|e| err(format!("[kafka]: {e}")))?;
        Ok(Some(c))
    }

    /// Validated chains: ids parse, families are supported, provider lists are non-empty.
    pub(crate) fn chains(
        &self,
        supported: &[&str],
    ) -> Result<Vec<(ChainId, &ChainSection)>, ConfigError> {
        let mut out = Vec::new();
        for (key, section) in &self.chains {
            let id: ChainId = key
                .parse()
                .map_err(|e| err(format!("chains.\"{key}\": {e}")))?;
            if !supported.contains(&id.family()) {
                return Err(err(format!(
                    "chains.\"{key}\": unknown chain family `{}` (this build supports: {})",
                    id.family(),
                    supported.join(", ")
                )));
            }
            if section.providers.is_empty() {
                return Err(err(format!(
                    "chains.\"{key}\": empty provider list (add providers = [{{ label = \"…\", url = \"…\" }}] or --chain {key}=URL)"
                )));
            }
            for (i, p) in section.providers.iter().enumerate() {
                if p.label.trim().is_empty() {
                    return Err(err(format!("chains.\"{key}\".providers[{i}]: empty label")));
                }
                if !(p.url.starts_with("http://") || p.url.starts_with("https://")) {
                    return Err(err(format!(
                        "chains.\"{key}\".providers[{i}] (`{}`): url must start with http:// or https://",
                        p.label
                    )));
                }
            }
            out.push((id, section));
        }
        if out.is_empty() {
            return Err(err(
                "no chains configured: add a [chains.\"evm:1\"] table to the config file or pass --chain ID=URL",
            ));
        }
        Ok(out)
    }

    /// Adds a provider from `--chain ID=URL` or `--chain ID=LABEL=URL`.
    pub(crate) fn add_chain_flag(&mut self, spec: &str) -> Result<(), ConfigError> {
        let (id, rest) = spec
            .split_once('=')
            .ok_or_else(|| err(format!("--chain {spec}: expected ID=URL or ID=LABEL=URL")))?;
        let (label, url) = if rest.starts_with("http://") || rest.starts_with("https://") {
            (None, rest)
        } else {
            let (l, u) = rest.split_once('=').ok_or_else(|| {
                err(format!(
                    "--chain {id}=…: expected a URL starting with http:// or https://"
                ))
            })?;
            (Some(l.to_owned()), u)
        };
        let section = self.chains.entry(id.to_owned()).or_default();
        let label = label.unwrap_or_else(|| format!("{id}#{}", section.providers.len() + 1));
        section.providers.push(ProviderConfig::new(label, url));
        Ok(())
    }
}

/// Replaces `${VAR}` with the variable's value; a missing variable is an error naming the line.
fn interpolate(
    name: &str,
    text: &str,
    env: &BTreeMap<String, String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    for (lineno, line) in text.split_inclusive('\n').enumerate() {
        if line.trim_start().starts_with('#') {
            // Comments may mention ${VAR} in prose; they are not values.
            out.push_str(line);
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| err(format!("{name}:{}: unterminated ${{ in value", lineno + 1)))?;
            let var = &after[..end];
            let value = env.get(var).ok_or_else(|| {
                err(format!(
                    "{name}:{}: environment variable {var} is not set (referenced as ${{{var}}})",
                    lineno + 1
                ))
            })?;
            // Values land inside TOML strings: escape what would break them.
            out.push_str(&value.replace('\\', "\\\\").replace('"', "\\\""));
            rest = &after[end + 1..];
        }
        out.push_str(rest);
    }
    Ok(out)
}

/// `CHAINWATCH_DATABASE__URL=…` sets `[database] url`. Values that parse as integers or booleans
/// are typed. Returns whether anything was set.
fn apply_env_overrides(
    table: &mut toml::Table,
    env: &BTreeMap<String, String>,
) -> Result<bool, ConfigError> {
    let mut any = false;
    for (k, v) in env {
        let Some(path) = k.strip_prefix("CHAINWATCH_") else {
            continue;
        };
        if !path.contains("__") {
            continue;
        }
        let parts: Vec<String> = path.split("__").map(|p| p.to_ascii_lowercase()).collect();
        let mut cur = &mut *table;
        for p in &parts[..parts.len() - 1] {
            let entry = cur
                .entry(p.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            cur = entry
                .as_table_mut()
                .ok_or_else(|| err(format!("{k}: `{p}` is not a table in the config")))?;
        }
        let value = if let Ok(i) = v.parse::<i64>() {
            toml::Value::Integer(i)
        } else if let Ok(b) = v.parse::<bool>() {
            toml::Value::Boolean(b)
        } else {
            toml::Value::String(v.clone())
        };
        cur.insert(parts[parts.len() - 1].clone(), value);
        any = true;
    }
    Ok(any)
}

fn toml_error(name: &str, text: &str, e: &toml::de::Error) -> ConfigError {
    let msg = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            err(format!("{name}:{line}:{col}: {msg}"))
        }
        None => err(format!("{name}: {msg}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::parse(
            "test.toml",
            text,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn interpolates_secrets_and_applies_overrides() {
        let cfg = parse(
            "# set ${KEY} in the environment\n[chains.\"evm:1\"]\nproviders = [{ label = \"alchemy\", url = \"https://x.example/v2/${KEY}\" }]\n",
            &[("KEY", "s3cret"), ("CHAINWATCH_DATABASE__URL", "postgres://db/x"), ("CHAINWATCH_POOL__REQUEST_TIMEOUT_MS", "1500")],
        )
        .unwrap();
        assert_eq!(
            cfg.chains["evm:1"].providers[0].url,
            "https://x.example/v2/s3cret"
        );
        assert_eq!(cfg.database.url.as_deref(), Some("postgres://db/x"));
        assert_eq!(
            cfg.pool_config().request_timeout,
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn errors_name_the_place() {
        let e = parse("[chains.\"evm:1\"]\nproviders = [\n", &[])
            .unwrap_err()
            .0;
        assert!(e.starts_with("test.toml:"), "{e}");
        assert!(!e.contains('\n'));
        let e = parse("[chains.\"evm:1\"]\nurl = \"${NOPE}\"\n", &[])
            .unwrap_err()
            .0;
        assert_eq!(
            e,
            "test.toml:2: environment variable NOPE is not set (referenced as ${NOPE})"
        );
        let e = parse("[chains.\"evm:1\"]\nbogus = 1\n", &[]).unwrap_err().0;
        assert!(e.contains("test.toml:2") && e.contains("bogus"), "{e}");
        let cfg = parse(
            "[chains.\"foo:1\"]\nproviders = [{ label = \"a\", url = \"http://x\" }]\n",
            &[],
        )
        .unwrap();
        let e = cfg.chains(&["evm"]).unwrap_err().0;
        assert_eq!(
            e,
            "chains.\"foo:1\": unknown chain family `foo` (this build supports: evm)"
        );
        let cfg = parse("[chains.\"evm:1\"]\nproviders = []\n", &[]).unwrap();
        assert!(
            cfg.chains(&["evm"])
                .unwrap_err()
                .0
                .contains("empty provider list")
        );
    }

    #[test]
    fn example_config_parses_and_validates() {
        let text = include_str!("../../../chainwatch.example.toml");
        let cfg = parse(
            text,
            &[("DATABASE_URL", "postgres://x/y"), ("ALCHEMY_KEY", "k")],
        )
        .unwrap();
        let chains = cfg.chains(&["evm"]).unwrap();
        assert_eq!(chains[0].0.as_str(), "evm:1");
        assert_eq!(chains[0].1.providers.len(), 2);
        assert_eq!(cfg.consume.max_batch_txs, Some(20000));
        assert!(format!("{:?}", chains[0].1.providers).contains("<redacted>"));
        // No brokers in the example: Kafka stays off until --brokers or the env sets them.
        assert!(cfg.kafka_config(None).unwrap().is_none());
        let k = cfg.kafka_config(Some("k:9092")).unwrap().unwrap();
        assert_eq!(k.group_id, "chainwatch-consume");
        assert_eq!(k.orphan_after, Duration::from_secs(60));
        // Per-chain SLO keys win over [status]; flags win over both.
        assert_eq!(cfg.status.max_lag_seconds, Some(300));
        assert_eq!(
            cfg.slo("evm:1", None, None),
            Slo {
                max_lag_blocks: 20,
                max_lag_seconds: 120
            }
        );
        assert_eq!(cfg.slo("evm:1", Some(5), None).max_lag_blocks, 5);
        assert_eq!(cfg.slo("evm:10", None, None).max_lag_blocks, 50);
        assert_eq!(
            Config::default().slo("evm:1", None, None),
            Slo {
                max_lag_blocks: DEFAULT_MAX_LAG_BLOCKS,
                max_lag_seconds: DEFAULT_MAX_LAG_SECONDS
            }
        );
    }

    #[test]
    fn environment_alone_configures_without_a_file() {
        let cfg = parse(
            "",
            &[
                ("CHAINWATCH_KAFKA__BROKERS", "k:9092"),
                ("CHAINWATCH_KAFKA__ON_POISON", "skip"),
                ("PATH", "/bin"),
            ],
        )
        .unwrap();
        let k = cfg.kafka_config(None).unwrap().unwrap();
        assert_eq!(
            (k.brokers.as_str(), k.on_poison),
            ("k:9092", chainwatch_bus::kafka::PoisonPolicy::Skip)
        );
        assert!(
            parse("", &[])
                .unwrap()
                .kafka_config(None)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn kafka_section_and_flag() {
        let cfg = parse(
            "[kafka]\nbrokers = \"k1:9092,k2:9092\"\non_poison = \"skip\"\nretention_ms = 604800000\n[kafka.properties]\n\"security.protocol\" = \"SASL_SSL\"\n\"sasl.password\" = \"${KPASS}\"\n\"socket.keepalive.enable\" = true\n",
            &[("KPASS", "hunter2")],
        )
        .unwrap();
        let k = cfg.kafka_config(None).unwrap().unwrap();
        assert_eq!(k.brokers, "k1:9092,k2:9092");
        assert_eq!(k.on_poison, chainwatch_bus::kafka::PoisonPolicy::Skip);
        assert_eq!(k.retention_ms, Some(604_800_000));
        assert_eq!(k.properties["sasl.password"], "hunter2");
        assert_eq!(k.properties["socket.keepalive.enable"], "true");
        assert!(!format!("{k:?}").contains("hunter2"), "{k:?}");
        // The flag wins over the file; no brokers at all means no Kafka.
        assert_eq!(
            cfg.kafka_config(Some("x:1")).unwrap().unwrap().brokers,
            "x:1"
        );
        assert!(Config::default().kafka_config(None).unwrap().is_none());
        let bad = parse("[kafka]\nbrokers = \"k:1\"\non_poison = \"ignore\"\n", &[]).unwrap();
        let e = bad.kafka_config(None).unwrap_err().0;
        assert_eq!(
            e,
            "kafka.on_poison: \"ignore\": expected \"stop\" or \"skip\""
        );
        let bad = parse(
            "[kafka]\nbrokers = \"k:1\"\ndead_letter_topic = \"chainwatch.v1.dlq\"\n",
            &[],
        )
        .unwrap();
        let e = bad.kafka_config(None).unwrap_err().0;
        assert!(
            e.starts_with("[kafka]: bus configuration: dead_letter_topic"),
            "{e}"
        );
    }

    #[test]
    fn chain_flags_add_providers() {
        let mut cfg = Config::default();
        cfg.add_chain_flag("evm:31337=http://127.0.0.1:8545")
            .unwrap();
        cfg.add_chain_flag("evm:31337=backup=http://127.0.0.1:8546")
            .unwrap();
        let p = &cfg.chains["evm:31337"].providers;
        assert_eq!(
            (p[0].label.as_str(), p[1].label.as_str()),
            ("evm:31337#1", "backup")
        );
        assert!(cfg.add_chain_flag("evm:1").is_err());
        assert!(cfg.add_chain_flag("evm:1=ftp://x").is_err());
    }

    #[tokio::test]
    async fn api_section_sets_the_lookup_concurrency() {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .unwrap();
        let store = chainwatch_store::Store::from_pool(pool);
        let api = |text: &str| parse(text, &[]).unwrap().api;
        let d = api("").api_store(store.clone()).unwrap();
        assert_eq!(
            d.lookup_concurrency(),
            chainwatch_store::lookup::DEFAULT_CONCURRENCY
        );
        let s = api("[api]\nlookup_concurrency = 6\n")
            .api_store(store.clone())
            .unwrap();
        assert_eq!(s.lookup_concurrency(), 6);
        let e = api("[api]\nlookup_concurrency = 0\n")
            .api_store(store)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lookup_concurrency must be at least 1"), "{e}");
    }

    #[test]
    fn api_section_sets_the_protections_and_rejects_nonsense() {
        let cfg = parse(
            "[api]\nmax_body_bytes = 1024\nquery_timeout_ms = 250\ncors_allowed_origins = [\"*\"]\n\
             rate_limit_per_second = 5\nclient_ip_header = \"x-forwarded-for\"\nintrospection = false\n",
            &[],
        )
        .unwrap();
        let a = cfg.api.api_config(Vec::new()).unwrap();
        assert_eq!(a.max_body_bytes, 1024);
        assert_eq!(a.query_timeout, Duration::from_millis(250));
        assert_eq!(a.cors_allowed_origins, ["*"]);
        let r = a.rate_limit.unwrap();
        assert_eq!((r.per_second, r.burst), (5.0, 10));
        assert_eq!(a.client_ip_header.as_deref(), Some("x-forwarded-for"));
        assert!(!a.introspection);
        // Defaults: no rate limit, introspection on.
        let d = Config::default().api.api_config(Vec::new()).unwrap();
        assert!(d.rate_limit.is_none() && d.introspection);
        for (text, key) in [
            (
                "[api]\nrate_limit_per_second = -1\n",
                "rate_limit_per_second",
            ),
            ("[api]\nmax_page_size = 0\n", "max_page_size"),
            ("[api]\nquery_timeout_ms = 0\n", "query_timeout_ms"),
        ] {
            let e = parse(text, &[])
                .unwrap()
                .api
                .api_config(Vec::new())
                .unwrap_err()
                .0;
            assert!(e.contains(key), "{e}");
        }
        let off = parse("[api]\nrate_limit_per_second = 0\n", &[]).unwrap();
        assert!(off.api.api_config(Vec::new()).unwrap().rate_limit.is_none());
    }
}
