//! `chainwatch_api_request_duration_seconds{operation}`: how long each GraphQL request takes.
//!
//! The `operation` label is the sorted set of root fields the request selects (e.g.
//! `transaction` or `chains,transaction`), `introspection` for `__schema`/`__type`, or `invalid`
//! when the query does not parse. It is bounded by the schema, never by what clients choose to
//! name their operations.
//!
//! The HTTP handler times the request itself rather than through an async-graphql extension: any
//! registered extension sends every field of every response through async-graphql's slower
//! resolution path (a boxed hook per field), which cost a third of the API's CPU on a page of
//! transactions.

use std::time::Instant;

use async_graphql::parser::types::{ExecutableDocument, Selection};

/// The label for a parsed document.
pub(crate) fn operation_label(doc: &ExecutableDocument) -> String {
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

/// Records one request's duration under `operation`.
pub(crate) fn record(operation: String, started: Instant) {
    metrics::histogram!("chainwatch_api_request_duration_seconds", "operation" => operation)
        .record(started.elapsed().as_secs_f64());
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
