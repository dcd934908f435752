//! Writing gauge families in Prometheus text format by hand, for series
//! computed at scrape from rows that come and go (budgets per team, key,
//! user): written fresh each scrape, they are never kept in the registry,
//! so a deleted row's series disappears with it.

use std::fmt::Write as _;

/// One sample: its labels (names fixed by the caller, values escaped here)
/// and value.
pub type Sample = (Vec<(&'static str, String)>, f64);

/// Appends a gauge family (`# HELP`, `# TYPE`, its samples) to `out`;
/// nothing when there are no samples.
pub fn gauge_family(out: &mut String, name: &str, help: &str, samples: &[Sample]) {
    if samples.is_empty() {
        return;
    }
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (labels, value) in samples {
        out.push_str(name);
        if !labels.is_empty() {
            out.push('{');
            for (i, (label, v)) in labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{label}=\"{}\"", escape_value(v));
            }
            out.push('}');
        }
        let _ = writeln!(out, " {}", number(*value));
    }
}

/// Label values: backslash, double quote and line feed are escaped.
fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Prometheus' spelling of the non-finite values.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_family_with_escaped_labels() {
        let mut out = String::new();
        gauge_family(
            &mut out,
            "g",
            "a gauge",
            &[
                (vec![("team", "a\"b\\c\nd".into())], 1.5),
                (vec![], f64::INFINITY),
            ],
        );
        assert_eq!(
            out,
            "# HELP g a gauge\n# TYPE g gauge\ng{team=\"a\\\"b\\\\c\\nd\"} 1.5\ng +Inf\n"
        );
        let mut empty = String::new();
        gauge_family(&mut empty, "g", "a gauge", &[]);
        assert!(empty.is_empty());
    }
}
