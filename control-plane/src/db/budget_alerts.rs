//! Entities at or past 80 % of their budget (the Overview's alerts): one
//! indexed-column filter per table, not a scan of the spend log.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

#[derive(Debug, Clone, serde::Serialize)]
pub struct NearBudget {
    pub kind: &'static str,
    pub id: String,
    pub name: Option<String>,
    pub spend: f64,
    pub max_budget: f64,
}

struct Table {
    kind: &'static str,
    table: &'static str,
    id: &'static str,
    name: &'static str,
    live_only: bool,
}

const TABLES: [Table; 4] = [
    Table {
        kind: "key",
        table: "virtual_keys",
        id: "token",
        name: "key_alias",
        live_only: true,
    },
    Table {
        kind: "team",
        table: "teams",
        id: "team_id",
        name: "team_alias",
        live_only: false,
    },
    Table {
        kind: "user",
        table: "users",
        id: "user_id",
        name: "user_email",
        live_only: false,
    },
    Table {
        kind: "customer",
        table: "customers",
        id: "user_id",
        name: "alias",
        live_only: false,
    },
];

/// Up to `limit` per kind, fullest first.
pub async fn near_budget(db: &DatabaseConnection, limit: u64) -> Result<Vec<NearBudget>, DbErr> {
    let mut out = Vec::new();
    for t in TABLES {
        let mut q = Query::select();
        q.columns([
            Alias::new(t.id),
            Alias::new(t.name),
            Alias::new("spend_picos"),
            Alias::new("max_budget"),
        ])
        .from(Alias::new(t.table))
        .and_where(Expr::col(Alias::new("max_budget")).is_not_null())
        .and_where(Expr::col(Alias::new("max_budget")).gt(0.0))
        // spend_picos / 1e12 >= 0.8 × max_budget, kept in one column's terms.
        .and_where(Expr::cust("spend_picos >= max_budget * 800000000000.0"))
        .order_by_expr(Expr::cust("spend_picos / max_budget"), Order::Desc)
        .limit(limit);
        if t.live_only {
            q.and_where(Expr::col(Alias::new("deleted_at")).is_null());
        }
        for row in db.query_all(&q).await? {
            let spend: i64 = row.try_get("", "spend_picos")?;
            out.push(NearBudget {
                kind: t.kind,
                id: row.try_get("", t.id)?,
                name: row.try_get("", t.name)?,
                spend: spend as f64 / 1e12,
                max_budget: row.try_get("", "max_budget")?,
            });
        }
    }
    Ok(out)
}
