//! `ui_sessions`: where the dashboard's sessions outlive the process (see
//! `ui/session.rs`, which keeps them in memory in front of this table).

use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, QueryResult};

const TABLE: &str = "ui_sessions";

/// One row: times in Unix milliseconds; `id_hash` the SHA-256 of the
/// cookie's id, never the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub id_hash: String,
    pub user_id: String,
    pub role: String,
    pub csrf_token: String,
    pub created_ms: i64,
    pub last_seen_ms: i64,
    pub expires_ms: i64,
    pub master_key_hash: Option<String>,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

const COLUMNS: [&str; 8] = [
    "id_hash",
    "user_id",
    "role",
    "csrf_token",
    "created_ms",
    "last_seen_ms",
    "expires_ms",
    "master_key_hash",
];

fn read(row: &QueryResult) -> Result<StoredSession, DbErr> {
    Ok(StoredSession {
        id_hash: row.try_get("", "id_hash")?,
        user_id: row.try_get("", "user_id")?,
        role: row.try_get("", "role")?,
        csrf_token: row.try_get("", "csrf_token")?,
        created_ms: row.try_get("", "created_ms")?,
        last_seen_ms: row.try_get("", "last_seen_ms")?,
        expires_ms: row.try_get("", "expires_ms")?,
        master_key_hash: row.try_get("", "master_key_hash")?,
    })
}

/// Stores a new session, and drops the rows that can no longer be used:
/// past their absolute expiry, or idle since before `idle_before_ms`.
pub async fn insert(
    db: &DatabaseConnection,
    s: &StoredSession,
    idle_before_ms: i64,
) -> Result<(), DbErr> {
    let mut purge = Query::delete();
    purge.from_table(col(TABLE)).cond_where(
        Expr::col(col("expires_ms"))
            .lte(s.created_ms)
            .or(Expr::col(col("last_seen_ms")).lt(idle_before_ms)),
    );
    db.execute(&purge).await?;
    let mut insert = Query::insert();
    insert
        .into_table(col(TABLE))
        .columns(COLUMNS.map(col))
        .values([
            s.id_hash.clone().into(),
            s.user_id.clone().into(),
            s.role.clone().into(),
            s.csrf_token.clone().into(),
            s.created_ms.into(),
            s.last_seen_ms.into(),
            s.expires_ms.into(),
            s.master_key_hash.clone().into(),
        ])
        .map_err(|e| DbErr::Custom(format!("{TABLE} row: {e}")))?
        // 256 random bits collide never; a replayed insert changes nothing.
        .on_conflict(OnConflict::column(col("id_hash")).do_nothing().to_owned());
    db.execute(&insert).await.map(|_| ())
}

pub async fn get(db: &DatabaseConnection, id_hash: &str) -> Result<Option<StoredSession>, DbErr> {
    let mut q = Query::select();
    q.from(col(TABLE))
        .columns(COLUMNS.map(col))
        .and_where(Expr::col(col("id_hash")).eq(id_hash));
    db.query_one(&q).await?.as_ref().map(read).transpose()
}

/// Records use (for idle expiry after a restart).
pub async fn touch(db: &DatabaseConnection, id_hash: &str, last_seen_ms: i64) -> Result<(), DbErr> {
    let mut q = Query::update();
    q.table(col(TABLE))
        .value(col("last_seen_ms"), last_seen_ms)
        .and_where(Expr::col(col("id_hash")).eq(id_hash));
    db.execute(&q).await.map(|_| ())
}

/// Whether a row was there.
pub async fn delete(db: &DatabaseConnection, id_hash: &str) -> Result<bool, DbErr> {
    let mut q = Query::delete();
    q.from_table(col(TABLE))
        .and_where(Expr::col(col("id_hash")).eq(id_hash));
    Ok(db.execute(&q).await?.rows_affected() > 0)
}

/// Sessions still usable at `now_ms`.
pub async fn count_live(
    db: &DatabaseConnection,
    now_ms: i64,
    idle_before_ms: i64,
) -> Result<u64, DbErr> {
    let mut q = Query::select();
    q.from(col(TABLE))
        .expr_as(Expr::cust("COUNT(*)"), col("n"))
        .and_where(Expr::col(col("expires_ms")).gt(now_ms))
        .and_where(Expr::col(col("last_seen_ms")).gte(idle_before_ms));
    let n: i64 = match db.query_one(&q).await? {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}
