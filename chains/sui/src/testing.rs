//! `test-utils` feature: a local Sui full node for tests ([`MockNode`]), serving the parts of the
//! `sui.rpc.v2` gRPC services the adapter uses, with tonic on 127.0.0.1.
//!
//! - `LedgerService.GetServiceInfo` (chain name, chain id, latest checkpoint),
//!   `LedgerService.GetCheckpoint` (by sequence number, or the latest; the read mask is applied
//!   with `sui-rpc`'s own `Merge`, as a full node does; unknown → `NOT_FOUND`).
//! - `SubscriptionService.SubscribeCheckpoints`: the latest checkpoint, then each one published
//!   (the read mask applied); `UNIMPLEMENTED` when built without it.
//!
//! Its data: checkpoints as gRPC protobuf JSON. The tests feed it the recorded fixtures
//! converted by [`crate::jsonrpc_to_grpc_json`] (`testdata/grpc/`; the conversion is
//! documented in `src/convert.rs`), with the recorded transactions of a checkpoint put in its
//! `transactions` ([`testnet_checkpoints`]). Nothing is synthesized: checkpoints keep their real
//! sequence numbers and digests (so heights are not contiguous: 1953362, then 1969067 on
//! testnet), and a checkpoint carries only the transactions that were recorded (1 of the 9 that
//! checkpoint 1953362 lists; none of the 5 of 1969067); its contents still list every digest.
//!
//! Faults: [`MockNode::fail_with`] makes every call answer a gRPC error; [`MockNode::kill`]
//! stops the server (no more connections; open streams end).

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::Path,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use futures::Stream;
use serde_json::Value;
use sui_rpc::{
    field::FieldMaskTree,
    merge::Merge,
    proto::sui::rpc::v2::{
        Checkpoint, ExecutedTransaction, GetCheckpointRequest, GetCheckpointResponse,
        GetServiceInfoRequest, GetServiceInfoResponse, GetTransactionRequest,
        GetTransactionResponse, SubscribeCheckpointsRequest, SubscribeCheckpointsResponse,
        get_checkpoint_request::CheckpointId,
        ledger_service_server::{LedgerService, LedgerServiceServer},
        subscription_service_server::{SubscriptionService, SubscriptionServiceServer},
    },
};
use tokio::sync::{broadcast, watch};
use tonic::{Request, Response, Status};

fn grpc_file(dir: &Path, name: &str) -> Value {
    let path = dir.join("grpc").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The two recorded testnet checkpoints as gRPC protobuf JSON, read from
/// `<testdata>/grpc/`: 1953362 with its one recorded transaction (J2Vk…, the 9th of its
/// contents), and 1969067 (from the `sui_getCheckpoints` page) with none.
pub fn testnet_checkpoints(testdata: &Path) -> [Value; 2] {
    let mut first = grpc_file(testdata, "testnet-checkpoint-1953362.json");
    first["transactions"] = Value::Array(vec![grpc_file(
        testdata,
        "testnet-tx-J2Vkui75vgoLvCmNiREVKwpeTVPCq5EQ71i2ETahP6R9.json",
    )]);
    let second = grpc_file(testdata, "testnet-getCheckpoints-page-1969067.json");
    [first, second]
}

fn checkpoint_of(json: &Value) -> Checkpoint {
    serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("not a sui.rpc.v2.Checkpoint in protobuf JSON: {e}"))
}

/// A gRPC error the node can be told to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MockFault {
    /// `INTERNAL`.
    Internal,
    /// `UNAVAILABLE`.
    Unavailable,
}

#[derive(Debug)]
struct State {
    chain: String,
    checkpoints: Mutex<BTreeMap<u64, Checkpoint>>,
    /// Executed transactions not (yet) in a checkpoint, by digest.
    executed: Mutex<BTreeMap<String, ExecutedTransaction>>,
    published: broadcast::Sender<Checkpoint>,
    fault: Mutex<Option<MockFault>>,
    subscription: bool,
    killed: watch::Sender<bool>,
    checkpoint_calls: AtomicU64,
    frames_sent: Arc<AtomicU64>,
    last_mask: Mutex<Vec<String>>,
}

impl State {
    fn check(&self) -> Result<(), Status> {
        if *self.killed.borrow() {
            return Err(Status::unavailable("server is shutting down"));
        }
        match *self.fault.lock().unwrap() {
            Some(MockFault::Internal) => Err(Status::internal("injected fault")),
            Some(MockFault::Unavailable) => Err(Status::unavailable("injected fault")),
            None => Ok(()),
        }
    }

    fn latest(&self) -> Option<Checkpoint> {
        self.checkpoints
            .lock()
            .unwrap()
            .last_key_value()
            .map(|(_, c)| c.clone())
    }
}

/// A running mock Sui full node; stops when killed (or with the runtime).
#[derive(Debug, Clone)]
pub struct MockNode {
    state: Arc<State>,
    addr: SocketAddr,
}

#[derive(Debug, Clone)]
struct Svc(Arc<State>);

fn masked(c: &Checkpoint, mask: Option<&prost_types::FieldMask>) -> Checkpoint {
    let tree = match mask {
        Some(m) if !m.paths.is_empty() => FieldMaskTree::from_field_mask(m),
        // The service's default mask.
        _ => FieldMaskTree::from_field_mask(&prost_types::FieldMask {
            paths: vec!["sequence_number".into(), "digest".into()],
        }),
    };
    Checkpoint::merge_from(c, &tree)
}

#[tonic::async_trait]
impl LedgerService for Svc {
    async fn get_service_info(
        &self,
        _req: Request<GetServiceInfoRequest>,
    ) -> Result<Response<GetServiceInfoResponse>, Status> {
        self.0.check()?;
        let mut r = GetServiceInfoResponse::default();
        r.chain = Some(self.0.chain.clone());
        // The genesis digest is not among the recordings: the mock names the chain only.
        r.checkpoint_height = self.0.latest().and_then(|c| c.sequence_number);
        Ok(Response::new(r))
    }

    async fn get_checkpoint(
        &self,
        req: Request<GetCheckpointRequest>,
    ) -> Result<Response<GetCheckpointResponse>, Status> {
        self.0.check()?;
        self.0.checkpoint_calls.fetch_add(1, Ordering::Relaxed);
        let req = req.into_inner();
        *self.0.last_mask.lock().unwrap() = req
            .read_mask
            .as_ref()
            .map(|m| m.paths.clone())
            .unwrap_or_default();
        let c = match &req.checkpoint_id {
            None => self.0.latest(),
            Some(CheckpointId::SequenceNumber(s)) => {
                self.0.checkpoints.lock().unwrap().get(s).cloned()
            }
            Some(CheckpointId::Digest(d)) => self
                .0
                .checkpoints
                .lock()
                .unwrap()
                .values()
                .find(|c| c.digest.as_ref() == Some(d))
                .cloned(),
            Some(_) => return Err(Status::invalid_argument("unknown checkpoint id")),
        };
        let Some(c) = c else {
            return Err(Status::not_found("checkpoint not found"));
        };
        let mut r = GetCheckpointResponse::default();
        r.checkpoint = Some(masked(&c, req.read_mask.as_ref()));
        Ok(Response::new(r))
    }

    async fn get_transaction(
        &self,
        req: Request<GetTransactionRequest>,
    ) -> Result<Response<GetTransactionResponse>, Status> {
        self.0.check()?;
        let req = req.into_inner();
        let Some(digest) = req.digest.as_deref() else {
            return Err(Status::invalid_argument("missing digest"));
        };
        let Some(t) = self.transaction(digest) else {
            return Err(Status::not_found(format!("transaction {digest} not found")));
        };
        let tree = match &req.read_mask {
            Some(m) if !m.paths.is_empty() => FieldMaskTree::from_field_mask(m),
            _ => FieldMaskTree::from_field_mask(&prost_types::FieldMask {
                paths: vec!["digest".into()],
            }),
        };
        let mut r = GetTransactionResponse::default();
        r.transaction = Some(ExecutedTransaction::merge_from(&t, &tree));
        Ok(Response::new(r))
    }
}

impl Svc {
    /// A transaction by digest: from a checkpoint (with its checkpoint number and index) or
    /// from those executed and not yet checkpointed.
    fn transaction(&self, digest: &str) -> Option<ExecutedTransaction> {
        for (seq, c) in self.0.checkpoints.lock().unwrap().iter() {
            let digests: Vec<&str> = c
                .contents
                .iter()
                .flat_map(|x| &x.transactions)
                .filter_map(|t| t.transaction.as_deref())
                .collect();
            if let Some(t) = c
                .transactions
                .iter()
                .find(|t| t.digest.as_deref() == Some(digest))
            {
                let mut t = t.clone();
                t.checkpoint = Some(*seq);
                t.transaction_index = digests.iter().position(|d| *d == digest).map(|p| p as u64);
                return Some(t);
            }
        }
        self.0.executed.lock().unwrap().get(digest).cloned()
    }
}

type Frames = Pin<Box<dyn Stream<Item = Result<SubscribeCheckpointsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl SubscriptionService for Svc {
    async fn subscribe_checkpoints(
        &self,
        req: Request<SubscribeCheckpointsRequest>,
    ) -> Result<Response<Frames>, Status> {
        if !self.0.subscription {
            return Err(Status::unimplemented("SubscribeCheckpoints"));
        }
        self.0.check()?;
        let mask = req.into_inner().read_mask;
        let first = self.0.latest();
        let rx = self.0.published.subscribe();
        let killed = self.0.killed.subscribe();
        let sent = self.0.frames_sent.clone();
        let frame = move |c: Checkpoint| {
            sent.fetch_add(1, Ordering::Relaxed);
            let mut f = SubscribeCheckpointsResponse::default();
            f.cursor = c.sequence_number;
            f.checkpoint = Some(masked(&c, mask.as_ref()));
            Ok(f)
        };
        let stream =
            futures::stream::unfold((first, rx, killed), move |(first, mut rx, mut killed)| {
                let frame = frame.clone();
                async move {
                    if let Some(c) = first {
                        return Some((frame(c), (None, rx, killed)));
                    }
                    loop {
                        let next = tokio::select! {
                            r = rx.recv() => r,
                            _ = killed.wait_for(|k| *k) => return None,
                        };
                        match next {
                            Ok(c) => return Some((frame(c), (None, rx, killed))),
                            Err(broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(broadcast::error::RecvError::Closed) => return None,
                        }
                    }
                }
            });
        Ok(Response::new(Box::pin(stream)))
    }
}

impl MockNode {
    /// Starts a node of chain `chain` (e.g. `testnet`) holding `checkpoints` (gRPC protobuf JSON
    /// of `sui.rpc.v2.Checkpoint`, transactions included), with or without the checkpoint
    /// subscription service. Panics on a checkpoint that does not decode (a test's own data).
    pub async fn start(chain: &str, checkpoints: &[Value], subscription: bool) -> Self {
        let (published, _) = broadcast::channel(64);
        let (killed, mut killed_rx) = watch::channel(false);
        let state = Arc::new(State {
            chain: chain.to_owned(),
            checkpoints: Mutex::new(
                checkpoints
                    .iter()
                    .map(checkpoint_of)
                    .map(|c| (c.sequence_number.expect("checkpoint sequence number"), c))
                    .collect(),
            ),
            executed: Mutex::default(),
            published,
            fault: Mutex::new(None),
            subscription,
            killed,
            checkpoint_calls: AtomicU64::new(0),
            frames_sent: Arc::default(),
            last_mask: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let svc = Svc(state.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(LedgerServiceServer::new(svc.clone()))
                .add_service(SubscriptionServiceServer::new(svc))
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(listener),
                    async move {
                        let _ = killed_rx.wait_for(|k| *k).await;
                    },
                )
                .await
                .unwrap();
        });
        Self { state, addr }
    }

    /// The URL to configure as a provider.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Publishes a new checkpoint: it becomes the latest and goes to every subscriber.
    pub fn publish(&self, checkpoint: &Value) {
        let c = checkpoint_of(checkpoint);
        let seq = c.sequence_number.expect("checkpoint sequence number");
        self.state
            .checkpoints
            .lock()
            .unwrap()
            .insert(seq, c.clone());
        let _ = self.state.published.send(c);
    }

    /// Adds a transaction executed but not in any checkpoint (gRPC protobuf JSON of
    /// `sui.rpc.v2.ExecutedTransaction`; its `checkpoint` is cleared).
    pub fn add_executed(&self, transaction: &Value) {
        let mut t: ExecutedTransaction = serde_json::from_value(transaction.clone())
            .unwrap_or_else(|e| panic!("not a sui.rpc.v2.ExecutedTransaction: {e}"));
        t.checkpoint = None;
        let digest = t.digest.clone().expect("transaction digest");
        self.state.executed.lock().unwrap().insert(digest, t);
    }

    /// Every call answers `fault` from now on (`None`: normal service again).
    pub fn fail_with(&self, fault: Option<MockFault>) {
        *self.state.fault.lock().unwrap() = fault;
    }

    /// Stops the server: no new connections, open streams end, calls in flight fail.
    pub fn kill(&self) {
        let _ = self.state.killed.send(true);
    }

    /// `GetCheckpoint` calls answered (not counting faults).
    pub fn checkpoint_calls(&self) -> u64 {
        self.state.checkpoint_calls.load(Ordering::Relaxed)
    }

    /// Subscription frames sent.
    pub fn frames_sent(&self) -> u64 {
        self.state.frames_sent.load(Ordering::Relaxed)
    }

    /// The read mask of the last `GetCheckpoint`.
    pub fn last_mask(&self) -> Vec<String> {
        self.state.last_mask.lock().unwrap().clone()
    }
}
