//! Names reports show next to ids: key aliases and team aliases.

use super::entities::virtual_key;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect,
};
use std::collections::HashMap;

/// Token → (alias, key_name) for the given key hashes (deleted keys too:
/// their spend still happened).
pub async fn keys(
    db: &DatabaseConnection,
    tokens: Vec<String>,
) -> Result<HashMap<String, (Option<String>, String)>, DbErr> {
    if tokens.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, Option<String>, String)> = virtual_key::Entity::find()
        .select_only()
        .columns([
            virtual_key::Column::Token,
            virtual_key::Column::KeyAlias,
            virtual_key::Column::KeyName,
        ])
        .filter(virtual_key::Column::Token.is_in(tokens))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(token, alias, name)| (token, (alias, name)))
        .collect())
}

/// Team id → alias, for teams that have one.
pub async fn teams(
    db: &DatabaseConnection,
    ids: Vec<String>,
) -> Result<HashMap<String, String>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let query = Query::select()
        .columns([Alias::new("team_id"), Alias::new("team_alias")])
        .from(Alias::new("teams"))
        .and_where(Expr::col(Alias::new("team_id")).is_in(ids))
        .to_owned();
    let mut out = HashMap::new();
    for row in db.query_all(&query).await? {
        let id: String = row.try_get("", "team_id")?;
        let alias: Option<String> = row.try_get("", "team_alias")?;
        if let Some(alias) = alias.filter(|a| !a.is_empty()) {
            out.insert(id, alias);
        }
    }
    Ok(out)
}
