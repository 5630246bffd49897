//! Plain aligned text tables and ratios for bench reports.

use std::io::Write;

use crate::daemon::Implementation;
use crate::error::{LabError, Result};

/// `a / b` rendered as a ratio, or `-` when it means nothing.
pub fn ratio(a: f64, b: f64) -> String {
    if b.abs() < f64::EPSILON || !a.is_finite() || !b.is_finite() {
        "-".to_string()
    } else {
        format!("{:.2}", a / b)
    }
}

/// kalive/keepalived ratios, one per column of per-implementation values
/// (indexed like `implementations`); `None` unless both ran.
pub fn kalive_over_keepalived(
    implementations: &[Implementation],
    columns: &[Vec<Option<f64>>],
) -> Option<Vec<String>> {
    let position = |name: &str| implementations.iter().position(|i| i.name() == name);
    let (kalive, keepalived) = (position("kalive")?, position("keepalived")?);
    let cell = |column: &Vec<Option<f64>>| match (
        column.get(kalive).copied().flatten(),
        column.get(keepalived).copied().flatten(),
    ) {
        (Some(a), Some(b)) => ratio(a, b),
        _ => "-".to_string(),
    };
    Some(columns.iter().map(cell).collect())
}

/// A plain text table with columns aligned to their widest cell.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with this header row.
    pub fn new(header: &[&str]) -> Table {
        Table {
            rows: vec![header.iter().map(|s| s.to_string()).collect()],
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Writes the table, first column left-aligned, others right-aligned.
    pub fn write(&self, out: &mut dyn Write) -> Result<()> {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c == 0 {
                    line.push_str(&format!("{cell:<w$}", w = widths[c]));
                } else {
                    line.push_str(&format!("  {cell:>w$}", w = widths[c]));
                }
            }
            writeln!(out, "{}", line.trim_end()).map_err(|e| LabError::io("write report", e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_refuses_division_by_zero() {
        assert_eq!(ratio(1.0, 0.0), "-");
        assert_eq!(ratio(1.0, 4.0), "0.25");
    }

    #[test]
    fn ratios_need_both_implementations() {
        let kalive = Implementation::Kalive("/k".into());
        let keepalived = Implementation::Keepalived("/ka".into());
        let columns = vec![vec![Some(1.0), Some(2.0)], vec![None, Some(3.0)]];
        assert_eq!(
            kalive_over_keepalived(&[kalive.clone(), keepalived], &columns),
            Some(vec!["0.50".to_string(), "-".to_string()])
        );
        assert_eq!(kalive_over_keepalived(&[kalive], &columns), None);
    }

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(&["impl", "ms"]);
        t.row(vec!["kalive".into(), "1.5".into()]);
        t.row(vec!["keepalived".into(), "12.25".into()]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "impl           ms\nkalive        1.5\nkeepalived  12.25\n"
        );
    }
}
