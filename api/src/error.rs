//! How failures reach GraphQL clients.

use async_graphql::ErrorExtensions;
use chainwatch_store::StoreError;
use tracing::error;

use crate::TRACE_TARGET;

/// Why a resolver failed.
///
/// Deliberately not `Display`: async-graphql converts any `Display` error with `?`, which would
/// silently drop the `extensions`. Convert with [`ApiError::into_graphql`] (or [`GqlResult::gql`]).
#[derive(Debug)]
pub(crate) enum ApiError {
    /// The client sent a bad argument.
    BadRequest {
        /// The argument's name.
        argument: &'static str,
        /// What is wrong, naming the value and what was expected.
        message: String,
    },
    /// Tracing is not available for the chain given as `argument` (no providers, or a family
    /// without live tracing): code `TRACING_UNAVAILABLE`.
    Unavailable {
        /// The argument naming the chain.
        argument: &'static str,
        /// Why, naming the chain.
        message: String,
    },
    /// The chain's providers could not answer: code `UPSTREAM_ERROR`. The message names
    /// providers by label only (URLs never leave the provider pool).
    Upstream(String),
    /// The store failed; the cause is logged, not returned.
    Internal(StoreError),
}

impl ApiError {
    pub(crate) fn bad_request(argument: &'static str, message: String) -> Self {
        Self::BadRequest { argument, message }
    }

    /// The GraphQL error: `extensions.code` (`BAD_REQUEST`, `TRACING_UNAVAILABLE`,
    /// `UPSTREAM_ERROR`, `INTERNAL`) and, for bad input and unavailable tracing,
    /// `extensions.argument`. Logs internal causes.
    pub(crate) fn into_graphql(self) -> async_graphql::Error {
        match self {
            Self::BadRequest { argument, message } => async_graphql::Error::new(message)
                .extend_with(|_, e| {
                    e.set("code", "BAD_REQUEST");
                    e.set("argument", argument);
                }),
            Self::Unavailable { argument, message } => async_graphql::Error::new(message)
                .extend_with(|_, e| {
                    e.set("code", "TRACING_UNAVAILABLE");
                    e.set("argument", argument);
                }),
            Self::Upstream(message) => async_graphql::Error::new(message)
                .extend_with(|_, e| e.set("code", "UPSTREAM_ERROR")),
            Self::Internal(err) => {
                error!(target: TRACE_TARGET, error = %err, cause = %causes(&err), "store read failed");
                async_graphql::Error::new("internal error")
                    .extend_with(|_, e| e.set("code", "INTERNAL"))
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e)
    }
}

/// The chain of `source()`s below `err`, joined by `: `.
fn causes(err: &dyn std::error::Error) -> String {
    let mut out = Vec::new();
    let mut cur = err.source();
    while let Some(e) = cur {
        out.push(e.to_string());
        cur = e.source();
    }
    out.join(": ")
}

/// `Result<T, ApiError>` → `async_graphql::Result<T>`.
pub(crate) trait GqlResult<T> {
    /// Converts the error with [`ApiError::into_graphql`].
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResult<T> for Result<T, ApiError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(ApiError::into_graphql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_request_carries_code_and_argument() {
        let e = ApiError::bad_request("hash", "invalid hash".into()).into_graphql();
        assert_eq!(e.message, "invalid hash");
        let ext = e.extensions.unwrap();
        assert_eq!(
            ext.get("code"),
            Some(&async_graphql::Value::from("BAD_REQUEST"))
        );
        assert_eq!(
            ext.get("argument"),
            Some(&async_graphql::Value::from("hash"))
        );
    }

    #[test]
    fn internal_hides_the_cause() {
        let err = StoreError::Query(sqlx::Error::PoolTimedOut);
        let e = ApiError::from(err).into_graphql();
        assert_eq!(e.message, "internal error");
        let ext = e.extensions.unwrap();
        assert_eq!(
            ext.get("code"),
            Some(&async_graphql::Value::from("INTERNAL"))
        );
    }
}
