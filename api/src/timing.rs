//! `chainwatch_api_request_duration_seconds{operation}`: how long each GraphQL request takes.
//!
//! The `operation` label is the sorted set of root fields the request selects (e.g.
//! `transaction` or `chains,transaction`), `introspection` for `__schema`/`__type`, or `invalid`
//! when the query does not parse. It is bounded by the schema, never by what clients choose to
//! name their operations.

use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use async_graphql::{
    Response, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest},
    parser::types::{ExecutableDocument, Selection},
};

/// Records the duration of every request, labelled by its root fields.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RequestTiming;

impl ExtensionFactory for RequestTiming {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(TimingExtension::default())
    }
}

#[derive(Debug, Default)]
struct TimingExtension {
    operation: Mutex<Option<String>>,
}

/// The label for a parsed document.
fn operation_label(doc: &ExecutableDocument) -> String {
    let mut names: Vec<&str> = Vec::new();
    for (_, op) in doc.operations.iter() {
        for sel in &op.node.selection_set.node.items {
            if let Selection::Field(f) = &sel.node {
                let name = f.node.name.node.as_str();
                names.push(if name.starts_with("__") {
                    "introspection"
                } else {
                    name
                });
            }
        }
    }
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(",")
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for TimingExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await;
        let label = doc
            .as_ref()
            .map_or_else(|_| "invalid".into(), operation_label);
        *self.operation.lock().unwrap_or_else(|p| p.into_inner()) = Some(label);
        doc
    }

    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let response = next.run(ctx).await;
        let operation = self
            .operation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_else(|| "invalid".into());
        metrics::histogram!("chainwatch_api_request_duration_seconds", "operation" => operation)
            .record(started.elapsed().as_secs_f64());
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_root_fields() {
        let doc = async_graphql::parser::parse_query(
            "query Foo { transaction(chain: \"evm:1\", hash: \"0x\") { hash } chains { id } __schema { types { name } } }",
        )
        .unwrap();
        assert_eq!(operation_label(&doc), "chains,introspection,transaction");
    }
}
