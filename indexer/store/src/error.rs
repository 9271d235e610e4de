//! Store errors.

use chainwatch_schema::{BlockRef, ChainId};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL could not be parsed.
    #[error("invalid database URL: {reason}")]
    BadUrl {
        /// What is wrong (the URL itself is not repeated).
        reason: String,
    },
    /// The server could not be reached or refused the login.
    #[error("cannot connect to the database at {target}")]
    Connect {
        /// `host:port/database`, no credentials.
        target: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database query failed")]
    Query(#[from] sqlx::Error),
    /// The statement that answered a batch of lookups (see [`crate::lookup`]) failed: every
    /// lookup of the batch gets this same error.
    #[error("database query failed (a batch of lookups)")]
    Batched(#[source] std::sync::Arc<Self>),
    /// A revert would remove a finalized block: the chain broke its finality promise or the
    /// stream is corrupt. The chain's consumer stops.
    #[error(
        "chain {chain}: revert to {to} would remove finalized blocks (finalized height {finalized})"
    )]
    RevertBelowFinalized {
        /// The chain.
        chain: ChainId,
        /// The revert target.
        to: BlockRef,
        /// The finalized height.
        finalized: u64,
    },
    /// An applied block does not extend the indexed head: events are missing or out of order.
    #[error(
        "chain {chain}: block {block} does not extend the indexed head {head} (parent {parent}); the event stream has a gap or a missed revert"
    )]
    Discontinuity {
        /// The chain.
        chain: ChainId,
        /// The block being applied.
        block: BlockRef,
        /// Its parent hash.
        parent: String,
        /// The indexed head.
        head: BlockRef,
    },
    /// An event kind this build does not know how to apply (a newer producer). Stops the chain
    /// rather than skipping it silently.
    #[error("chain {chain}: event seq {seq} of kind `{kind}` is not supported by this consumer")]
    UnsupportedEvent {
        /// The chain.
        chain: ChainId,
        /// Its sequence number.
        seq: u64,
        /// The event kind.
        kind: &'static str,
    },
    /// A value does not fit the schema (e.g. a height above `i64::MAX`).
    #[error("value out of range: {0}")]
    OutOfRange(String),
}

/// Removes the URL (and its password) from a URL-parse error message.
pub(crate) fn scrub_url_error(msg: &str, url: &str) -> String {
    let mut out = msg.replace(url, "<database-url>");
    if let Some((_, rest)) = url.split_once("://")
        && let Some((userinfo, _)) = rest.split_once('@')
        && let Some((_, pw)) = userinfo.split_once(':')
        && !pw.is_empty()
    {
        out = out.replace(pw, "<password>");
    }
    out
}
