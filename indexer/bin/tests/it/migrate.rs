//! `chainwatch migrate` creates the schema and is safe to run again.

use sqlx::PgPool;

use crate::support::{bin, url_of};

#[sqlx::test(migrations = false)]
async fn migrate_is_idempotent(pool: PgPool) {
    let url = url_of(&pool).await;
    for _ in 0..2 {
        let out = bin()
            .args(["migrate", "--database-url", &url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'
         AND table_name IN ('chains', 'blocks', 'transactions', 'address_transactions',
             'transaction_events', 'reorgs', 'finality_progress', 'watermarks', 'chain_status')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tables, 9);
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    // Every embedded (up) migration, once.
    let embedded = chainwatch_store::MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .count();
    assert_eq!(applied, embedded as i64);
}
