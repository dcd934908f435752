//! Output for people (aligned tables) and for scripts (`--json`).

#![allow(clippy::print_stdout)]

use serde_json::{Map, Value};
use tollgate_proto::json::key_json;
use tollgate_proto::v1::Key;

pub fn print_table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths.get(i).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(headers.iter().map(|h| h.to_string()).collect()));
    for row in rows {
        println!("{}", line(row));
    }
}

pub fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

pub fn print_line(text: &str) {
    println!("{text}");
}

/// Each item as a JSON object, for `--json` lists.
pub fn json_rows<T>(items: &[T], to_json: impl Fn(&T) -> Map<String, Value>) -> Value {
    Value::Array(items.iter().map(|x| Value::Object(to_json(x))).collect())
}

/// `--json`: `{"deleted_teams": [...], "deleted_keys": [...]}`; otherwise
/// `deleted 2 team(s) and 3 key(s)`. Each entry: (plural, singular, ids).
pub fn print_deleted(json: bool, deleted: &[(&str, &str, &[String])]) {
    if json {
        let mut out = Map::new();
        for (plural, _, ids) in deleted {
            out.insert(format!("deleted_{plural}"), Value::from(ids.to_vec()));
        }
        print_json(&Value::Object(out));
    } else {
        let counts: Vec<String> = deleted
            .iter()
            .map(|(_, one, ids)| format!("{} {one}(s)", ids.len()))
            .collect();
        print_line(&format!("deleted {}", counts.join(" and ")));
    }
}

/// Allowed models: `all` when unrestricted.
pub fn models_cell(models: &[String]) -> String {
    if models.is_empty() {
        "all".into()
    } else {
        models.join(",")
    }
}

/// A budget in USD, or `none` (what `show` prints) / `-` (in tables).
pub fn budget_cell(max_budget: Option<f64>, none: &str) -> String {
    max_budget.map_or_else(|| none.to_string(), |b| format!("${b}"))
}

pub fn status_cell(blocked: bool) -> String {
    if blocked { "blocked" } else { "active" }.into()
}

/// The value, or `-` when absent.
pub fn or_dash(value: Option<&str>) -> String {
    value.unwrap_or("-").to_string()
}

/// The value, or `-` when empty.
pub fn dash_if_empty(value: &str) -> String {
    if value.is_empty() { "-" } else { value }.to_string()
}

/// `info` of a team or user: `--json` prints `{"<field>": {…}, "keys": […]}`;
/// otherwise `show` and the number of keys.
pub fn print_with_keys(
    json: bool,
    field: &str,
    item: Map<String, Value>,
    keys: &[Key],
    show: impl FnOnce(),
) {
    if json {
        let mut out = Map::new();
        out.insert(field.to_string(), Value::Object(item));
        out.insert("keys".into(), json_rows(keys, key_json));
        print_json(&Value::Object(out));
    } else {
        show();
        print_line(&format!("keys:    {}", keys.len()));
    }
}
