//! Test support (feature `test-utils`): extra, migrated databases on the test server, for tests
//! that compare two indexes or run a chainwatch process against its own database.

use crate::{Store, StoreError};

/// A migrated database created for a test; dropped by [`TempDatabase::drop_db`].
#[derive(Debug)]
pub struct TempDatabase {
    /// A store connected to it.
    pub store: Store,
    /// Its URL (same server and credentials as `DATABASE_URL`).
    pub url: String,
    name: String,
    admin_url: String,
}

/// `DATABASE_URL` with its database name replaced by `db`.
pub fn url_for_database(base: &str, db: &str) -> String {
    let (head, query) = base
        .split_once('?')
        .map_or((base, None), |(h, q)| (h, Some(q)));
    let server = match head.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('/') {
            Some((authority, _)) => format!("{scheme}://{authority}"),
            None => head.to_owned(),
        },
        None => head.to_owned(),
    };
    match query {
        Some(q) => format!("{server}/{db}?{q}"),
        None => format!("{server}/{db}"),
    }
}

impl TempDatabase {
    /// Creates (or re-creates) database `cw_<hint>_<pid>` on the `DATABASE_URL` server and
    /// migrates it.
    pub async fn create(hint: &str) -> Result<Self, StoreError> {
        let admin_url = std::env::var("DATABASE_URL").map_err(|_| StoreError::BadUrl {
            reason: "DATABASE_URL is not set".into(),
        })?;
        let name = format!("cw_{hint}_{}", std::process::id());
        let admin = Store::connect(&admin_url, 1).await?;
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(admin.pool())
                .await?;
        }
        let url = url_for_database(&admin_url, &name);
        let store = Store::connect(&url, 4).await?;
        store.migrate().await?;
        Ok(Self {
            store,
            url,
            name,
            admin_url,
        })
    }

    /// Closes the pool and drops the database.
    pub async fn drop_db(self) {
        self.store.pool().close().await;
        if let Ok(admin) = Store::connect(&self.admin_url, 1).await {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(admin.pool())
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_database_name() {
        use super::url_for_database as u;
        assert_eq!(
            u("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            u("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(u("postgres://h:5432", "x"), "postgres://h:5432/x");
    }
}
