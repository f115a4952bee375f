//! PostgreSQL test stores: a fresh schema per test, stale schemas of earlier
//! runs dropped once per test binary.

use shop_storage_sql::PgStore;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::sync::OnceCell;

use super::{server_missing, server_url, unique_name};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Connections per test store: enough for the racing cases to really race.
const POOL_SIZE: u32 = 8;

/// Every schema these tests create starts with this.
const SCHEMA_PREFIX: &str = "shop_t_";

/// Whether this test binary has dropped the schemas of earlier runs yet.
static STALE_SCHEMAS_DROPPED: OnceCell<()> = OnceCell::const_new();

/// Drops the test schemas of other processes that nobody uses any more:
/// not named with our pid, and with no open session named after them (each
/// test's connections carry its schema as `application_name`, so a schema
/// of a test binary running right now is left alone).
async fn drop_stale_schemas(admin: &mut PgConnection) -> Result<usize, sqlx::Error> {
    let ours = format!("shop\\_t\\_{}\\_%", std::process::id());
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT n.nspname::text FROM pg_namespace n \
         WHERE n.nspname LIKE 'shop\\_t\\_%' AND n.nspname NOT LIKE $1 \
         AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a \
                         WHERE a.application_name = n.nspname::text)",
    )
    .bind(ours)
    .fetch_all(&mut *admin)
    .await?;
    let mut dropped = 0;
    for schema in &stale {
        // Another run may be dropping the same schema: not our problem.
        match sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .execute(&mut *admin)
            .await
        {
            Ok(_) => dropped += 1,
            Err(e) => eprintln!("could not drop stale test schema {schema}: {e}"),
        }
    }
    Ok(dropped)
}

/// A migrated store in a new schema of its own, and the schema's name (also
/// the `application_name` of the store's connections); `None` when the
/// server is missing.
pub async fn fresh_schema() -> Option<(PgStore, String)> {
    let (store, schema) = unmigrated_schema().await?;
    store.migrate().await.expect("migrate");
    Some((store, schema))
}

/// A store on a new schema of its own, not migrated yet, and the schema's
/// name.
pub async fn unmigrated_schema() -> Option<(PgStore, String)> {
    let url = server_url("SHOP_TEST_POSTGRES_URL", DEFAULT_URL);
    let options: PgConnectOptions = url
        .parse()
        .expect("SHOP_TEST_POSTGRES_URL is a postgres:// URL");
    let schema = unique_name(SCHEMA_PREFIX);
    // Named after the schema before the schema exists, so that no other
    // run's clean-up takes it for abandoned.
    let options = options.application_name(&schema);
    let mut admin = match PgConnection::connect_with(&options).await {
        Ok(conn) => conn,
        Err(e) => return server_missing("PostgreSQL", &url, e),
    };
    STALE_SCHEMAS_DROPPED
        .get_or_init(|| async {
            match drop_stale_schemas(&mut admin).await {
                Ok(0) => {}
                Ok(n) => eprintln!("dropped {n} test schemas left by earlier runs"),
                Err(e) => eprintln!("could not look for stale test schemas: {e}"),
            }
            // Extensions belong to the database: install pg_trgm where no
            // test schema (dropped with its test) takes it along.
            if let Err(e) = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
                .execute(&mut admin)
                .await
            {
                eprintln!("could not install pg_trgm in public: {e}");
            }
        })
        .await;
    sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
        .execute(&mut admin)
        .await
        .expect("create the test schema");
    let store = PgStore::connect_with(options.options([("search_path", &schema)]), POOL_SIZE)
        .await
        .expect("connect the store");
    admin.close().await.ok();
    Some((store, schema))
}

pub async fn fresh() -> Option<PgStore> {
    fresh_schema().await.map(|(store, _)| store)
}
