//! Head quorum: which providers agree on the chain, and which are lagging or on another fork.
//!
//! With several providers, one of them may be on another fork (a misconfigured node, a node
//! that did not follow a reorg, a provider serving another network with the same chain id) or
//! far behind. Following it would index blocks that are not canonical, or report a head that is
//! not the chain's. [`agree`] compares the providers' heads at one common height and keeps the
//! providers that agree on its hash:
//!
//! 1. Every provider that answered is compared at the lowest head among them (`h`): a provider
//!    whose head is higher is asked for its block hash at `h`.
//! 2. Providers are grouped by that hash. The largest group wins if it holds at least
//!    [`QuorumConfig::quorum`] providers (default: a strict majority of those that answered) and
//!    no other group is as large. Otherwise there is no agreed head: [`FetchError::Transient`]
//!    `no_quorum`, and the caller waits rather than guess.
//! 3. Providers outside the winning group are [`ProviderState::Divergent`]. A winning provider
//!    more than [`QuorumConfig::max_lag_blocks`] below the best winning head is
//!    [`ProviderState::Lagging`]. Neither receives requests until it agrees and catches up (see
//!    [`crate::EndpointPool::set_states`]).
//! 4. The agreed head is the `quorum`-th highest head among the winners: a height that at least
//!    `quorum` agreeing providers have reached.

use std::future::Future;

use chainwatch_schema::{BlockRef, ChainId, ProviderState};
use futures::future::join_all;

use crate::FetchError;

/// How the providers of a chain must agree on its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumConfig {
    /// Providers that must report the same block hash at a common height before their head is
    /// followed. `None`: a strict majority of the providers that answered. Only used with more
    /// than one provider.
    pub quorum: Option<usize>,
    /// Blocks an agreeing provider may trail the best agreeing head before it is marked
    /// [`ProviderState::Lagging`] and no longer used. Default 10.
    pub max_lag_blocks: u64,
}

impl Default for QuorumConfig {
    fn default() -> Self {
        Self {
            quorum: None,
            max_lag_blocks: 10,
        }
    }
}

/// The outcome of a quorum round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// The head the quorum agrees on.
    pub head: BlockRef,
    /// Each provider's state, in configuration order; `None` for a provider that did not take
    /// part (it did not answer), whose state is left as it was.
    pub states: Vec<Option<ProviderState>>,
    /// The height the providers were compared at.
    pub compared_at: u64,
}

/// Runs one quorum round over `heads` (each provider's latest head in configuration order,
/// `None` if it did not answer), asking `hash_at(i, h)` for provider `i`'s block hash at height
/// `h` when its head is higher (`None` if it cannot tell). See the module docs.
///
/// Errors: [`FetchError::Transient`] `unreachable` when no provider answered, `no_quorum` when
/// the providers disagree without a quorum; the message names providers by label only.
pub async fn agree<F, Fut>(
    chain: &ChainId,
    labels: &[&str],
    heads: &[Option<BlockRef>],
    cfg: &QuorumConfig,
    hash_at: F,
) -> Result<Agreement, FetchError>
where
    F: Fn(usize, u64) -> Fut,
    Fut: Future<Output = Option<String>>,
{
    let answered: Vec<(usize, &BlockRef)> = heads
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.as_ref().map(|h| (i, h)))
        .collect();
    let Some(common) = answered.iter().map(|(_, h)| h.height).min() else {
        return Err(FetchError::transient(
            "unreachable",
            format!("no provider of {chain} reported its head"),
        ));
    };
    let hashes = join_all(answered.iter().map(|&(i, h)| {
        let fetch = (h.height != common).then(|| hash_at(i, common));
        async move {
            match fetch {
                None => Some(h.hash.clone()),
                Some(f) => f.await,
            }
        }
    }))
    .await;
    // Groups of (hash, provider indexes), in order of first appearance.
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (&(i, _), hash) in answered.iter().zip(hashes) {
        let Some(hash) = hash else { continue };
        match groups.iter_mut().find(|(h, _)| *h == hash) {
            Some((_, members)) => members.push(i),
            None => groups.push((hash, vec![i])),
        }
    }
    let voters: usize = groups.iter().map(|(_, m)| m.len()).sum();
    let needed = cfg.quorum.unwrap_or(voters / 2 + 1).max(1);
    groups.sort_by_key(|(_, m)| std::cmp::Reverse(m.len()));
    let describe = || {
        groups
            .iter()
            .map(|(hash, members)| {
                let names: Vec<&str> = members.iter().map(|&i| labels[i]).collect();
                format!("{} report {hash}", names.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let winners = match groups.as_slice() {
        [] => {
            return Err(FetchError::transient(
                "unreachable",
                format!("no provider of {chain} reported its block hash at height {common}"),
            ));
        }
        [(_, top), rest @ ..]
            if top.len() >= needed && rest.first().is_none_or(|(_, r)| r.len() < top.len()) =>
        {
            top
        }
        _ => {
            return Err(FetchError::transient(
                "no_quorum",
                format!(
                    "providers of {chain} disagree on block {common} and no {needed} of them agree: {}",
                    describe()
                ),
            ));
        }
    };
    let mut winner_heads: Vec<&BlockRef> =
        winners.iter().filter_map(|&i| heads[i].as_ref()).collect();
    winner_heads.sort_by_key(|h| std::cmp::Reverse(h.height));
    let best = winner_heads[0].height;
    let head = winner_heads[needed.min(winner_heads.len()) - 1].clone();
    let mut states = vec![None; heads.len()];
    for (_, members) in &groups {
        for &i in members {
            states[i] = Some(ProviderState::Divergent);
        }
    }
    for &i in winners {
        let height = heads[i].as_ref().map_or(0, |h| h.height);
        states[i] = Some(if best - height > cfg.max_lag_blocks {
            ProviderState::Lagging
        } else {
            ProviderState::Following
        });
    }
    Ok(Agreement {
        head,
        states,
        compared_at: common,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use ProviderState::{Divergent, Following, Lagging};

    /// Chain "a" has hash `a{h}` at every height, chain "b" `b{h}`.
    fn head(chain: char, h: u64) -> Option<BlockRef> {
        Some(BlockRef::new(h, format!("{chain}{h}")))
    }

    async fn run(
        heads: &[Option<BlockRef>],
        quorum: Option<usize>,
    ) -> Result<Agreement, FetchError> {
        let chain: ChainId = "evm:1".parse().unwrap();
        let labels = ["p0", "p1", "p2", "p3", "p4"];
        let cfg = QuorumConfig {
            quorum,
            max_lag_blocks: 10,
        };
        agree(&chain, &labels[..heads.len()], heads, &cfg, |i, h| {
            let chain = heads[i].as_ref().unwrap().hash.chars().next().unwrap();
            async move { Some(format!("{chain}{h}")) }
        })
        .await
    }

    #[tokio::test]
    async fn a_provider_on_another_fork_is_outvoted() {
        let a = run(&[head('a', 100), head('b', 400), head('a', 101)], None)
            .await
            .unwrap();
        assert_eq!(a.compared_at, 100);
        assert_eq!(
            a.states,
            [Some(Following), Some(Divergent), Some(Following)]
        );
        // Majority of 3 is 2: the second highest agreeing head.
        assert_eq!(a.head, BlockRef::new(100, "a100"));
    }

    #[tokio::test]
    async fn a_lagging_provider_is_compared_at_its_height_and_set_aside() {
        let a = run(&[head('a', 100), head('a', 50), head('a', 101)], None)
            .await
            .unwrap();
        assert_eq!(a.compared_at, 50);
        assert_eq!(a.states, [Some(Following), Some(Lagging), Some(Following)]);
        assert_eq!(a.head, BlockRef::new(100, "a100"));
    }

    #[tokio::test]
    async fn silent_providers_keep_their_state_and_do_not_vote() {
        let a = run(&[head('a', 7), None, head('a', 7)], None)
            .await
            .unwrap();
        assert_eq!(a.states, [Some(Following), None, Some(Following)]);
        assert_eq!(a.head, BlockRef::new(7, "a7"));
        let e = run(&[None, None], None).await.unwrap_err();
        assert_eq!(e.reason(), "unreachable");
    }

    #[tokio::test]
    async fn a_tie_or_a_small_group_is_no_quorum() {
        let e = run(&[head('a', 5), head('b', 5)], None).await.unwrap_err();
        assert_eq!(e.reason(), "no_quorum");
        let msg = std::error::Error::source(&e).unwrap().to_string();
        assert!(
            msg.contains("p0 report a5") && msg.contains("p1 report b5"),
            "{msg}"
        );
        // Three of four must agree; two do.
        let e = run(
            &[head('a', 5), head('a', 5), head('b', 5), head('c', 5)],
            Some(3),
        )
        .await
        .unwrap_err();
        assert_eq!(e.reason(), "no_quorum");
        // A configured quorum of 1 follows a lone answering provider.
        let a = run(&[head('a', 9), None], Some(1)).await.unwrap();
        assert_eq!(a.head, BlockRef::new(9, "a9"));
    }

    #[tokio::test]
    async fn head_is_the_quorum_th_highest_agreeing_head() {
        let heads = [
            head('a', 10),
            head('a', 12),
            head('a', 11),
            head('a', 13),
            head('b', 99),
        ];
        assert_eq!(run(&heads, Some(1)).await.unwrap().head.height, 13);
        assert_eq!(run(&heads, Some(2)).await.unwrap().head.height, 12);
        // Default: majority of 5 voters is 3.
        let a = run(&heads, None).await.unwrap();
        assert_eq!(a.head.height, 11);
        assert_eq!(a.states[4], Some(Divergent));
    }

    #[tokio::test]
    async fn a_provider_that_cannot_tell_its_hash_does_not_vote() {
        let chain: ChainId = "evm:1".parse().unwrap();
        let heads = [head('a', 5), head('a', 6), head('a', 6)];
        let a = agree(
            &chain,
            &["p0", "p1", "p2"],
            &heads,
            &QuorumConfig::default(),
            |i, h| async move { (i != 1).then(|| format!("a{h}")) },
        )
        .await
        .unwrap();
        assert_eq!(a.states, [Some(Following), None, Some(Following)]);
    }
}
