//! chainwatch's read API: GraphQL over axum, with health endpoints.
//!
//! The API reads through [`chainwatch_store::Store`] (connect it with
//! [`Store::connect_read_only`](chainwatch_store::Store::connect_read_only)); the only write is
//! the watch list of `traceTransaction`, and only with a writable store given for it (below).
//!
//! Routes of [`router`]:
//! - `GET /`: the support console (`api/console/index.html`): one search box for any hash on
//!   any chain (status, finality, failure reason, timeline, updated live over graphql-ws; a
//!   transaction chainwatch has not indexed is traced live), the chains table and recent reorgs.
//! - `GET /graphql/ws`: subscriptions (`transactionStatus`, `chainStatus`) over graphql-ws.
//! - `POST /graphql`: GraphQL queries (JSON body `{"query", "variables", "operationName"}`).
//! - `GET /graphql`: the GraphiQL page, which posts to the same path.
//! - `GET /healthz`: `200 ok` while the process runs (liveness).
//! - `GET /readyz`: `200 ready` when the database answers, `503` with a short reason otherwise
//!   (readiness).
//!
//! Contracts:
//! - Absent data is `null`, not an error: `transaction` of an unknown hash is `null` with no
//!   `errors`.
//! - Bad input (an unparsable or unknown chain, a malformed hash) is a field-level error whose
//!   `path` is the field's and whose `extensions` are `{"code": "BAD_REQUEST", "argument": NAME}`;
//!   the message names the offending value and what was expected. A nullable field that fails
//!   resolves to `null` and its sibling fields still resolve, as the GraphQL spec asks. The HTTP
//!   status stays 200, as for any GraphQL error; bad input never causes a 500 or a panic (a body
//!   that is not a GraphQL request at all gets a 400).
//! - Database failures are `{"code": "INTERNAL"}` with the generic message `internal error`; the
//!   cause is logged (target `chainwatch::api`), never returned.
//! - A chain is *known* when it is configured ([`ApiConfig::known_chains`], valid before any data
//!   arrives) or has data in the database.
//! - EVM hashes are `0x` followed by 64 hex digits, matched case-insensitively (normalized to
//!   lowercase); other families' hashes are 1 to 128 letters or digits (base58, or `0x` hex,
//!   which is lowercased) and matched exactly.
//! - Lists (`transactions` of an address, a block's `transactions`, `reorgs`) are Relay
//!   connections paged with `first` (1 to [`ApiConfig::max_page_size`], default 20; anything
//!   else is a BAD_REQUEST on argument `first`) and `after`, an opaque cursor (URL-safe base64)
//!   taken from an edge's `cursor` or `pageInfo.endCursor`; a cursor that does not decode, or that
//!   belongs to another list, is a BAD_REQUEST on argument `after`. Cursors are keysets
//!   (`(block height, index)` for transactions, the reorg id for reorgs), not offsets: walking an
//!   address's transactions newest first while new blocks are indexed neither repeats nor skips
//!   one (the new blocks sit above the first page).
//! - Addresses: EVM `0x` followed by 40 hex digits, any case (normalized to lowercase, as
//!   stored); other families 1 to 128 letters or digits (`0x` hex lowercased).
//! - `block` takes exactly one of `height` and `hash` (else BAD_REQUEST); `confirmations` of a
//!   transaction is the indexed head height − its block height + 1.
//! - Finality is derived from the chain's watermarks at query time (see
//!   [`chainwatch_store::read`]); times are RFC 3339 strings in UTC with milliseconds.
//! - Queries deeper than [`ApiConfig::max_depth`] or more complex than
//!   [`ApiConfig::max_complexity`] are rejected before they run.
//! - `traceTransaction(chain, hash)` is the one resolver that leaves the database: it asks the
//!   chain's adapter ([`ApiConfig::tracers`]) what the providers know of a transaction that may
//!   not be indexed (see [`trace`]). A chain without an adapter is a `TRACING_UNAVAILABLE` error
//!   on argument `chain`; providers that fail give `UPSTREAM_ERROR` (providers named by label,
//!   never URL). It writes only when the tracers carry a writable watch store (`chainwatch dev`):
//!   the transaction then goes on the watch list. `chainwatch serve` stays read-only.
//! - The schema's SDL ([`sdl`]) is snapshotted in `schema/graphql/schema.graphql`; a test fails
//!   on any difference (`UPDATE_SNAPSHOT=1` rewrites the file).

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod error;
mod graphql;
mod http;
mod limits;
mod live;
mod pages;
mod time;
mod timing;
pub mod trace;
mod traced;
mod validate;

pub use graphql::Query;
pub use http::{router, serve};
pub use limits::RateLimit;
pub use live::Subscription;
pub use time::rfc3339_ms;

use async_graphql::{EmptyMutation, Schema, SchemaBuilder};
use chainwatch_schema::ChainId;
use chainwatch_store::Store;

const TRACE_TARGET: &str = "chainwatch::api";

/// The GraphQL schema the API serves.
pub type ApiSchema = Schema<Query, EmptyMutation, Subscription>;

/// How the API behaves.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Configured chains: valid in queries even before any data for them arrives.
    pub known_chains: Vec<ChainId>,
    /// Largest page a paginated field returns: `first` above it is a BAD_REQUEST.
    pub max_page_size: usize,
    /// Deepest query accepted (each nested field counts one, introspection included).
    pub max_depth: usize,
    /// Most complex query accepted: each selected field counts one, and the fields under a
    /// paginated list count once per item asked for (`first`).
    pub max_complexity: usize,
    /// Largest request body accepted, in bytes; larger is `413` `PAYLOAD_TOO_LARGE`.
    pub max_body_bytes: usize,
    /// Longest a query may run; longer is a `TIMEOUT` error (the read-only database sessions
    /// also stop statements after 10 s).
    pub query_timeout: std::time::Duration,
    /// Origins allowed by CORS (`https://app.example.com`, or `*` for any); none: no CORS
    /// headers, browsers on other origins cannot call the API.
    pub cors_allowed_origins: Vec<String>,
    /// Per-client rate limit on `/graphql`; `None`: unlimited.
    pub rate_limit: Option<RateLimit>,
    /// Identify clients by the last value of this header (e.g. `x-forwarded-for`, as appended
    /// by the ingress in front of the API) instead of the peer address. Only set it behind a
    /// proxy that appends it: a client can put anything in it otherwise.
    pub client_ip_header: Option<String>,
    /// Whether `__schema` / `__type` introspection is answered.
    pub introspection: bool,
    /// Adapters for `traceTransaction` (chains without one answer TRACING_UNAVAILABLE) and,
    /// when writable, the watch-list store. Default: none.
    pub tracers: trace::Tracers,
}

impl Default for ApiConfig {
    /// No configured chains, pages of 100, depth 16 and complexity 5000 (room for GraphiQL's
    /// introspection query and a full page of 100 transactions with every field), bodies up to 64 KiB,
    /// queries up to 10 s, no CORS, no rate limit, introspection on.
    fn default() -> Self {
        Self {
            known_chains: Vec::new(),
            max_page_size: 100,
            max_depth: 16,
            max_complexity: 5000,
            max_body_bytes: 64 * 1024,
            query_timeout: std::time::Duration::from_secs(10),
            cors_allowed_origins: Vec::new(),
            rate_limit: None,
            client_ip_header: None,
            introspection: true,
            tracers: trace::Tracers::default(),
        }
    }
}

/// What every resolver reads: the store and the configuration.
#[derive(Debug)]
pub(crate) struct ApiContext {
    pub(crate) store: Store,
    pub(crate) cfg: ApiConfig,
    /// The change listener live subscriptions share.
    pub(crate) changes: live::Changes,
}

fn schema_builder() -> SchemaBuilder<Query, EmptyMutation, Subscription> {
    Schema::build(Query, EmptyMutation, Subscription)
}

/// The schema over `store`, with `cfg`'s limits.
pub fn build_schema(store: Store, cfg: ApiConfig) -> ApiSchema {
    let mut b = schema_builder()
        .limit_depth(cfg.max_depth)
        .limit_complexity(cfg.max_complexity);
    if !cfg.introspection {
        b = b.disable_introspection();
    }
    b.data(ApiContext {
        store,
        cfg,
        changes: live::Changes::default(),
    })
    .finish()
}

/// The schema's SDL, as snapshotted in `schema/graphql/schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}
