//! The shop's own migration runner. It applies the migrations embedded from
//! `migrations/<dialect>` like sqlx's migrator does, but records them in
//! `shop_migrations` instead of `_sqlx_migrations`, so an application that
//! runs its own sqlx migrations against the same database never sees ours
//! (and ours never see its versions). Every table is prefixed `shop_`.

use sqlx::{Connection, Pool};

use crate::dialect::{Conn, Dialect};
use crate::error::db_err;
use crate::rows::Cols;
use crate::sql::Sql;
use shop_core::{Error, Result, StoreError};

/// The table of applied migrations; `success` stays false when a migration
/// failed part-way on a database whose DDL is not transactional (MySQL).
const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS shop_migrations (\
    version BIGINT PRIMARY KEY, \
    description VARCHAR(255) NOT NULL, \
    checksum VARCHAR(96) NOT NULL, \
    success BOOLEAN NOT NULL)";

fn refused(message: String) -> Error {
    Error::Store(StoreError::Backend {
        source: message.into(),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Applies every migration not applied yet, under the dialect's migration
/// lock.
pub(crate) async fn run<D: Dialect>(pool: &Pool<D::Db>) -> Result<()> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    if !D::LOCK_MIGRATIONS.is_empty() {
        D::run_script(&mut conn, D::LOCK_MIGRATIONS).await?;
    }
    let applied = apply::<D>(&mut conn).await;
    if !D::UNLOCK_MIGRATIONS.is_empty() {
        D::run_script(&mut conn, D::UNLOCK_MIGRATIONS).await?;
    }
    applied?;
    D::after_migrations(pool).await
}

async fn apply<D: Dialect>(conn: &mut Conn<D>) -> Result<()> {
    refuse_unprefixed_schema::<D>(conn).await?;
    D::run_script(conn, CREATE_TABLE).await?;
    let ours = D::migrator();
    for row in D::fetch_all(
        conn,
        &Sql::new("SELECT version, checksum, success FROM shop_migrations"),
    )
    .await?
    {
        let version = row.int("version")?;
        let Some(migration) = ours.iter().find(|m| m.version == version) else {
            return Err(refused(format!(
                "the database has shop migration {version}, which this version of \
                 shop-storage-sql does not know: it was migrated by a newer version"
            )));
        };
        if !row.flag("success")? {
            return Err(refused(format!(
                "shop migration {version} ({}) failed part-way on an earlier run: repair the \
                 schema by hand, then delete its row from shop_migrations",
                migration.description
            )));
        }
        if row.text("checksum")? != hex(&migration.checksum) {
            return Err(refused(format!(
                "shop migration {version} ({}) was changed after it was applied",
                migration.description
            )));
        }
    }
    for migration in ours.iter() {
        let mut tx = conn.begin_with(D::BEGIN_WRITE).await.map_err(db_err)?;
        let seen =
            Sql::new("SELECT 1 FROM shop_migrations WHERE version = ?").bind(migration.version);
        if D::fetch_optional(&mut tx, &seen).await?.is_some() {
            continue;
        }
        let record = Sql::new(
            "INSERT INTO shop_migrations (version, description, checksum, success) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(migration.version)
        .bind(migration.description.as_ref())
        .bind(hex(&migration.checksum))
        .bind(false);
        D::execute(&mut tx, &record).await?;
        D::run_script(&mut tx, &migration.sql).await?;
        let done = Sql::new("UPDATE shop_migrations SET success = ? WHERE version = ?")
            .bind(true)
            .bind(migration.version);
        D::execute(&mut tx, &done).await?;
        tx.commit().await.map_err(db_err)?;
    }
    Ok(())
}

/// Development versions of this crate created unprefixed tables and
/// recorded them in `_sqlx_migrations` (version 1, "init"); such a database
/// is refused rather than given a second, empty shop beside the old one.
async fn refuse_unprefixed_schema<D: Dialect>(conn: &mut Conn<D>) -> Result<()> {
    // Each probe fails when its table is missing, the common case.
    for probe in [
        "SELECT coupon_id, user_id, order_id FROM coupon_holds WHERE 1 = 0",
        "SELECT refund_id, line_no, item_id FROM refund_lines WHERE 1 = 0",
    ] {
        if D::fetch_optional(conn, &Sql::new(probe)).await.is_err() {
            return Ok(());
        }
    }
    let init = D::fetch_optional(
        conn,
        &Sql::new("SELECT description FROM _sqlx_migrations WHERE version = 1"),
    )
    .await;
    match init {
        Ok(Some(row)) if row.text("description")? == "init" => Err(refused(
            "the database holds the unprefixed tables of a development version of \
             shop-storage-sql (recorded in _sqlx_migrations); this version keeps its tables \
             as shop_* with their own migration table: start on a new database"
                .to_owned(),
        )),
        _ => Ok(()),
    }
}
