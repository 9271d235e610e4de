//! All of chainwatch's SQL: the Postgres schema (embedded from `migrations/`), the consumer's
//! writes and the API's reads.
//!
//! Contracts:
//! - [`Store::apply_batch`] applies a chain's envelopes in one DB transaction together with the
//!   chain's watermark row. Envelopes whose `seq` is at or below the watermark are skipped, so
//!   replaying any prefix of the stream is a no-op. A crash before commit leaves nothing behind.
//! - A revert deletes the reverted blocks and their transactions, records a `reorgs` row and a
//!   `REORGED_OUT` timeline event per removed transaction. A revert below the finalized height is
//!   refused with [`StoreError::RevertBelowFinalized`].
//! - Finality is never written per transaction: it is derived from the block height and the
//!   chain's safe/finalized watermarks (see [`read`]).
//! - The watch list ([`watch`]): traced transactions polled until final, with the timeline
//!   events only it writes (`SEEN_PENDING`, `DROPPED`, `REPLACED_BY`), each at most once.
//! - Queries are plain `sqlx::query` with binds (no compile-time checked macros), so building
//!   needs no database.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod error;
pub mod health;
// `read` first: its SQL macros serve `lookup`.
#[macro_use]
pub mod read;
pub mod lookup;
mod snapshot;
#[cfg(any(test, feature = "test-utils"))]
pub mod testing;
pub mod watch;
mod write;

pub use error::StoreError;
pub use write::{BatchOutcome, Watermark};

use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use std::{str::FromStr, time::Duration};

/// The migrations in `migrations/`, embedded.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

const TRACE_TARGET: &str = "chainwatch::store";

/// A handle on the chainwatch database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
    /// Coalesced [`Store::transaction`] lookups, shared by clones.
    lookups: std::sync::Arc<lookup::Lookups>,
}

/// The Postgres `NOTIFY` channel [`Store::apply_batch`] signals on after each committed batch
/// (payload: the chain id). API processes [`Store::listen_changes`] to push live updates.
pub const CHANGES_CHANNEL: &str = "chainwatch_changes";

impl Store {
    /// A dedicated connection listening on [`CHANGES_CHANNEL`]. Works on a read-only connection.
    /// After a lost connection `try_recv` answers `None` once and reconnects: notifications sent
    /// meanwhile are lost, so a listener should then re-read everything it shows.
    pub async fn listen_changes(&self) -> Result<sqlx::postgres::PgListener, StoreError> {
        let mut l = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        l.listen(CHANGES_CHANNEL).await?;
        Ok(l)
    }

    /// Connects with at most `max_connections`, failing within 10 s if the server is unreachable.
    /// The error names the host and database, never the password.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        Self::connect_with(url, max_connections, false).await
    }

    /// Like [`Store::connect`], but every session is read-only (`default_transaction_read_only`)
    /// and a statement runs at most 10 s (`statement_timeout`), for the API.
    pub async fn connect_read_only(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        Self::connect_with(url, max_connections, true).await
    }

    async fn connect_with(
        url: &str,
        max_connections: u32,
        read_only: bool,
    ) -> Result<Self, StoreError> {
        let mut opts = PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl {
            reason: error::scrub_url_error(&e.to_string(), url),
        })?;
        if read_only {
            // A read that runs away (an expensive API query) is stopped by Postgres too, not
            // only abandoned by the API's own query timeout.
            opts = opts.options([
                ("default_transaction_read_only", "on"),
                ("statement_timeout", "10s"),
            ]);
        }
        let target = format!(
            "{}:{}/{}",
            opts.get_host(),
            opts.get_port(),
            opts.get_database().unwrap_or("postgres")
        );
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // The API's reads are one short statement each: pinging the connection before every
            // one doubled their round trips. A broken connection fails its query instead (the
            // API answers INTERNAL, the pool drops it) and idle ones are recycled.
            .test_before_acquire(!read_only)
            .connect_with(opts)
            .await
            .map_err(|source| StoreError::Connect { target, source })?;
        Ok(Self::from_pool(pool))
    }

    /// A store over an existing pool, with [`lookup::DEFAULT_CONCURRENCY`] lookup statements
    /// at once.
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            lookups: lookup::Lookups::new(lookup::DEFAULT_CONCURRENCY),
            pool,
        }
    }

    /// This store with at most `n` (at least 1) [`Store::transaction`] statements running at
    /// once; lookups beyond are batched (see [`lookup`]). Clones made before keep their own.
    #[must_use]
    pub fn with_lookup_concurrency(mut self, n: usize) -> Self {
        self.lookups = lookup::Lookups::new(n);
        self
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies pending migrations. Idempotent.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }
}
