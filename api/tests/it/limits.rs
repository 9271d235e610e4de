//! Depth and complexity limits.

use chainwatch_api::{ApiConfig, build_schema};
use serde_json::json;

use crate::{broken_store, errors, run};

/// GraphiQL's introspection query (graphql-js `getIntrospectionQuery`, with descriptions).
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}
"#;

#[tokio::test]
async fn introspection_fits_the_default_limits() {
    // Validation runs before any resolver: no database needed.
    let schema = build_schema(broken_store(), ApiConfig::default());
    let resp = run(&schema, INTROSPECTION, json!({})).await;
    assert!(errors(&resp).is_empty(), "{resp:#}");
    assert!(resp["data"]["__schema"]["types"].as_array().unwrap().len() > 10);
}

#[tokio::test]
async fn deep_or_complex_queries_are_rejected() {
    let cfg = ApiConfig {
        max_depth: 2,
        ..ApiConfig::default()
    };
    let schema = build_schema(broken_store(), cfg);
    let resp = run(&schema, "{ chains { providers { label } } }", json!({})).await;
    let errs = errors(&resp);
    assert_eq!(errs.len(), 1, "{resp:#}");
    assert!(
        errs[0]["message"].as_str().unwrap().contains("too deep"),
        "{resp:#}"
    );

    let cfg = ApiConfig {
        max_complexity: 3,
        ..ApiConfig::default()
    };
    let schema = build_schema(broken_store(), cfg);
    let resp = run(&schema, "{ chains { id family network } }", json!({})).await;
    let errs = errors(&resp);
    assert_eq!(errs.len(), 1, "{resp:#}");
    assert!(
        errs[0]["message"].as_str().unwrap().contains("too complex"),
        "{resp:#}"
    );
}
