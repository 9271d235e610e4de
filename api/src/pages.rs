//! Paginated reads: an address's transactions, blocks and their transactions, reorgs.
//!
//! Lists are Relay connections (`edges { cursor node }`, `pageInfo { hasNextPage endCursor }`).
//! Cursors are opaque (URL-safe base64 without padding of a small JSON value) and are keysets,
//! not offsets: the page after a cursor holds the entries strictly past it, so entries indexed
//! between two page reads never shift later pages.

use async_graphql::{
    Context, Object, SimpleObject,
    connection::{CursorType, OpaqueCursor},
};
use chainwatch_schema::{self as model, ChainId};
use chainwatch_store::read::{BlockRecord, Page, ReorgRecord, TxFilter, TxKey, TxRecord};

use crate::{
    error::{ApiError, GqlResult},
    graphql::{Finality, Transaction, TxStatus, api, known_chain},
    time::{parse_rfc3339_ms, rfc3339_ms},
    validate::{normalize_address, normalize_hash, page_size, shown},
};

/// A transaction cursor: `[block_height, tx_index]`.
type TxCursor = OpaqueCursor<(u64, u32)>;
/// A reorg cursor: the reorg's id.
type ReorgCursor = OpaqueCursor<u64>;

fn tx_cursor(key: TxKey) -> String {
    OpaqueCursor((key.block_height, key.tx_index)).encode_cursor()
}

fn bad_cursor(raw: &str) -> ApiError {
    ApiError::bad_request(
        "after",
        format!(
            "invalid cursor {}: pass an endCursor or cursor from this list",
            shown(raw)
        ),
    )
}

/// Decodes `after` as a transaction cursor.
fn decode_tx_cursor(after: Option<&str>) -> Result<Option<TxKey>, ApiError> {
    after
        .map(|raw| {
            TxCursor::decode_cursor(raw)
                .map(|c| TxKey {
                    block_height: c.0.0,
                    tx_index: c.0.1,
                })
                .map_err(|_| bad_cursor(raw))
        })
        .transpose()
}

/// Information to fetch the next page.
#[derive(Debug, SimpleObject)]
pub(crate) struct PageInfo {
    /// Whether entries follow this page.
    has_next_page: bool,
    /// The last entry's cursor: pass it as `after` for the next page. Null on an empty page.
    end_cursor: Option<String>,
}

/// A transaction and its cursor.
#[derive(Debug, SimpleObject)]
pub(crate) struct TransactionEdge {
    /// Pass as `after` to continue after this transaction.
    cursor: String,
    /// The transaction.
    node: Transaction,
}

/// A page of transactions.
#[derive(Debug, SimpleObject)]
pub(crate) struct TransactionConnection {
    /// The transactions of the page, in the list's order.
    edges: Vec<TransactionEdge>,
    /// Whether more follow, and where to continue.
    page_info: PageInfo,
}

impl TransactionConnection {
    fn from_page(page: Page<TxRecord>) -> Self {
        let edges: Vec<TransactionEdge> = page
            .items
            .into_iter()
            .filter_map(|tx| {
                Some(TransactionEdge {
                    cursor: tx_cursor(TxKey::of(&tx)?),
                    node: Transaction(tx),
                })
            })
            .collect();
        Self {
            page_info: PageInfo {
                has_next_page: page.has_next_page,
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
        }
    }
}

/// The complexity of a page: what one item costs times the items asked for (`first`, 20 when
/// absent). A `first` outside 1 to the page size is rejected when the field runs, with a
/// clearer error than "too complex", so it counts as at least 1 and at most 100 items (the
/// default page size) here.
pub(crate) fn page_cost(first: Option<i32>, per_item: usize) -> usize {
    let items = first.map_or(20, |f| usize::try_from(f).unwrap_or(1).clamp(1, 100));
    items.saturating_mul(per_item)
}

/// The arguments of `Query.transactions`, as given.
#[derive(Debug)]
pub(crate) struct AddressArgs<'a> {
    pub(crate) chain: &'a str,
    pub(crate) address: &'a str,
    pub(crate) status: Option<TxStatus>,
    pub(crate) min_finality: Option<Finality>,
    pub(crate) since: Option<&'a str>,
    pub(crate) until: Option<&'a str>,
    pub(crate) first: Option<i32>,
    pub(crate) after: Option<&'a str>,
}

/// Resolves `Query.transactions`.
pub(crate) async fn address_transactions(
    ctx: &Context<'_>,
    args: AddressArgs<'_>,
) -> Result<TransactionConnection, ApiError> {
    let AddressArgs {
        chain,
        address,
        status,
        min_finality,
        since,
        until,
        first,
        after,
    } = args;
    let api = api(ctx)?;
    let chain = known_chain(api, "chain", chain).await?;
    let address = normalize_address(chain.family(), address)?;
    let first = page_size(first, api.cfg.max_page_size)?;
    let after = decode_tx_cursor(after)?;
    let time = |argument: &'static str, v: Option<&str>| {
        v.map(|s| parse_rfc3339_ms(s).map_err(|m| ApiError::bad_request(argument, m)))
            .transpose()
    };
    let (since_ms, until_ms) = (time("since", since)?, time("until", until)?);
    if let (Some(s), Some(u)) = (since_ms, until_ms)
        && s >= u
    {
        return Err(ApiError::bad_request(
            "until",
            format!(
                "until ({}) must be later than since ({})",
                until.unwrap_or_default(),
                since.unwrap_or_default()
            ),
        ));
    }
    let filter = TxFilter {
        status: status.map(TxStatus::to_model),
        min_finality: min_finality.map(Finality::to_model),
        since_ms,
        until_ms,
    };
    let page = api
        .store
        .address_transactions(&chain, &address, filter, after, first)
        .await?;
    Ok(TransactionConnection::from_page(page))
}

/// Resolves `Query.block`.
pub(crate) async fn block(
    ctx: &Context<'_>,
    chain: &str,
    height: Option<u64>,
    hash: Option<&str>,
) -> Result<Option<Block>, ApiError> {
    let api = api(ctx)?;
    let chain: ChainId = known_chain(api, "chain", chain).await?;
    let rec = match (height, hash) {
        (Some(h), None) => api.store.block_by_height(&chain, h).await?,
        (None, Some(hash)) => {
            let hash = normalize_hash(Some(chain.family()), hash)?;
            api.store.block_by_hash(&chain, &hash).await?
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "height",
                "pass either height or hash, not both".into(),
            ));
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "height",
                "pass height or hash".into(),
            ));
        }
    };
    Ok(rec.map(Block))
}

/// A canonical block.
#[derive(Debug)]
pub(crate) struct Block(BlockRecord);

/// A canonical block, with its derived finality and its transactions.
#[Object]
impl Block {
    /// Chain id, family:network.
    async fn chain(&self) -> &str {
        self.0.chain.as_str()
    }

    /// Chain height.
    async fn height(&self) -> u64 {
        self.0.height
    }

    /// Block hash in the chain's text form.
    async fn hash(&self) -> &str {
        &self.0.hash
    }

    /// Parent block hash.
    async fn parent_hash(&self) -> &str {
        &self.0.parent_hash
    }

    /// Block time (RFC 3339, UTC).
    async fn time(&self) -> String {
        rfc3339_ms(self.0.time_ms)
    }

    /// Number of transactions indexed for the block.
    async fn tx_count(&self) -> u32 {
        self.0.tx_count
    }

    /// Derived from the height and the chain's safe/finalized heads, as for transactions.
    async fn finality(&self) -> Finality {
        Finality::from_model(self.0.finality)
    }

    /// The block's transactions in index order: at most `first` (1 to the API's page size)
    /// after the cursor `after` (a cursor of this block's transactions).
    #[graphql(complexity = "5 + page_cost(first, child_complexity)")]
    async fn transactions(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default = 20,
            desc = "Page size, 1 to the API's maximum (default 100); null means 20."
        )]
        first: Option<i32>,
        #[graphql(desc = "Continue after this cursor (an edge's cursor or endCursor).")]
        after: Option<String>,
    ) -> async_graphql::Result<TransactionConnection> {
        async {
            let api = api(ctx)?;
            let first = page_size(first, api.cfg.max_page_size)?;
            let after_index = match decode_tx_cursor(after.as_deref())? {
                Some(k) if k.block_height == self.0.height => Some(k.tx_index),
                Some(_) => return Err(bad_cursor(after.as_deref().unwrap_or_default())),
                None => None,
            };
            let page = api
                .store
                .block_transactions(&self.0.chain, self.0.height, after_index, first)
                .await?;
            Ok(TransactionConnection::from_page(page))
        }
        .await
        .gql()
    }
}

/// Resolves `Query.reorgs`.
pub(crate) async fn reorgs(
    ctx: &Context<'_>,
    chain: &str,
    first: Option<i32>,
    after: Option<&str>,
) -> Result<ReorgConnection, ApiError> {
    let api = api(ctx)?;
    let chain = known_chain(api, "chain", chain).await?;
    let first = page_size(first, api.cfg.max_page_size)?;
    let after = after
        .map(|raw| {
            ReorgCursor::decode_cursor(raw)
                .map(|c| c.0)
                .map_err(|_| bad_cursor(raw))
        })
        .transpose()?;
    let page = api.store.reorgs(&chain, after, first).await?;
    let edges: Vec<ReorgEdge> = page
        .items
        .into_iter()
        .map(|r| ReorgEdge {
            cursor: OpaqueCursor(r.id).encode_cursor(),
            node: Reorg::from_record(r),
        })
        .collect();
    Ok(ReorgConnection {
        page_info: PageInfo {
            has_next_page: page.has_next_page,
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        },
        edges,
    })
}

/// A page of reorgs.
#[derive(Debug, SimpleObject)]
pub(crate) struct ReorgConnection {
    /// The reorgs of the page, newest first.
    edges: Vec<ReorgEdge>,
    /// Whether more follow, and where to continue.
    page_info: PageInfo,
}

/// A reorg and its cursor.
#[derive(Debug, SimpleObject)]
pub(crate) struct ReorgEdge {
    /// Pass as `after` to continue after this reorg.
    cursor: String,
    /// The reorg.
    node: Reorg,
}

/// A block named by height and hash.
#[derive(Debug, SimpleObject)]
pub(crate) struct BlockPointer {
    /// Chain height.
    height: u64,
    /// Block hash.
    hash: String,
}

impl BlockPointer {
    pub(crate) fn new(height: u64, hash: String) -> Self {
        Self { height, hash }
    }
}

/// A reorg chainwatch undid: the blocks above the fork were removed with their transactions.
#[derive(Debug, SimpleObject)]
pub(crate) struct Reorg {
    /// Height of the last block both forks share (kept).
    fork_height: u64,
    /// Hash of that block.
    fork_hash: String,
    /// Blocks removed: old head height minus fork height.
    depth: u64,
    /// The head before the reorg.
    old_head: BlockPointer,
    /// The new fork's head when the reorg was seen.
    new_head: BlockPointer,
    /// Transactions removed with the reverted blocks.
    reverted_tx_count: u32,
    /// When chainwatch applied the revert (RFC 3339, UTC).
    detected_at: String,
}

impl Reorg {
    fn from_record(r: ReorgRecord) -> Self {
        Self {
            fork_height: r.fork_height,
            fork_hash: r.fork_hash,
            depth: r.depth,
            old_head: BlockPointer {
                height: r.old_head_height,
                hash: r.old_head_hash,
            },
            new_head: BlockPointer {
                height: r.new_head_height,
                hash: r.new_head_hash,
            },
            reverted_tx_count: r.reverted_tx_count,
            detected_at: rfc3339_ms(r.detected_at_ms),
        }
    }
}

impl TxStatus {
    /// The model status this filter value names.
    pub(crate) fn to_model(self) -> model::TxStatus {
        match self {
            Self::Pending => model::TxStatus::Pending,
            Self::Succeeded => model::TxStatus::Succeeded,
            Self::Failed => model::TxStatus::Failed,
            Self::Dropped => model::TxStatus::Dropped,
            Self::Replaced => model::TxStatus::Replaced,
            Self::ReorgedOut => model::TxStatus::ReorgedOut,
        }
    }
}

impl Finality {
    /// The model finality this filter value names.
    pub(crate) fn to_model(self) -> model::Finality {
        match self {
            Self::Pending => model::Finality::Pending,
            Self::Included => model::Finality::Included,
            Self::Safe => model::Finality::Safe,
            Self::Finalized => model::Finality::Finalized,
        }
    }
}
