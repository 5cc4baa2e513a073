//! Small-number protection for tables that leave the organisation: nobody must be
//! recognisable from a count of one or two ("the only minor from Grosseto in March").
//!
//! The rule, in two steps:
//! 1. every count under the threshold `t` is hidden (printed `<t`), zeros too: were
//!    zeros printed, `<t` would always mean "one or more people";
//! 2. in a table whose rows add up to a total that is shown, column by column, the hidden
//!    counts must not be recoverable by subtracting the shown ones from the total. When
//!    one is — a count hidden alone, or several whose bounds leave one value (two cells
//!    `<3` that add up to 4 are both 2) — the smallest shown count of that column is
//!    hidden too (printed `*`), and the check is repeated. A row that is itself the total
//!    of other tables (the pertinent intakes are the cases every case table adds up to)
//!    is never the one chosen. When no shown count is left, the small ones of the column
//!    are printed `*` instead of `<t`: without their bound, the total no longer pins them.
//!
//! The check works on each column against its own total, as the usual secondary
//! suppression of simple tables; a zero that the total gives away is left so (it
//! describes nobody); durations (medians) are hidden with the count they are measured
//! over.

use super::{Cell, Hidden, Table, Value};

/// The threshold when the configuration does not say.
pub const DEFAULT_THRESHOLD: u32 = 3;
/// The smallest threshold that protects anything (1 would hide only the zeros).
pub const MIN_THRESHOLD: u32 = 2;
/// A generous upper bound: beyond it, the tables would be mostly hidden.
pub const MAX_THRESHOLD: u32 = 100;

/// Hides the counts of `tables` under `threshold` and those that would give them away.
pub fn apply(tables: &mut [Table], threshold: i64) {
    for table in tables.iter_mut() {
        for row in table.rows.iter_mut().chain(table.total.iter_mut()) {
            hide_small(&mut row.cells, threshold);
        }
    }
    for table in tables.iter_mut() {
        for col in 0..table.columns.len() {
            // Each round hides a cell or takes a bound away, so this ends.
            loop {
                match check(table, col, threshold) {
                    Action::Keep => break,
                    Action::Hide(row) => {
                        if let Some(cell) = table.rows[row].cells.get_mut(col) {
                            cell.hidden = Hidden::Complementary;
                        }
                    }
                    Action::Mask => {
                        for row in table.rows.iter_mut() {
                            if let Some(cell) = row.cells.get_mut(col) {
                                if cell.hidden == Hidden::Small {
                                    cell.hidden = Hidden::Masked;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Step 1 for one row; a duration measured over a hidden count is hidden with it.
fn hide_small(cells: &mut [Cell], threshold: i64) {
    for cell in cells.iter_mut() {
        if let Value::Count(n) = cell.value {
            if n < threshold {
                cell.hidden = Hidden::Small;
            }
        }
    }
    let count_hidden = cells
        .iter()
        .any(|c| matches!(c.value, Value::Count(_)) && c.is_hidden());
    if count_hidden {
        for cell in cells.iter_mut() {
            if matches!(cell.value, Value::Seconds(_)) {
                cell.hidden = Hidden::Complementary;
            }
        }
    }
}

enum Action {
    Keep,
    Hide(usize),
    Mask,
}

/// What a reader knows of a hidden cell out of a total `m`: `<t` is from 0 to t − 1;
/// `*` is anything up to the total (a complementary cell is at least `t`, which the
/// check assumes known: it errs on the safe side).
fn bounds(cell: &Cell, threshold: i64, m: i64) -> (i64, i64) {
    match cell.hidden {
        Hidden::Small => (0, threshold - 1),
        Hidden::Complementary => (threshold, m),
        Hidden::Masked | Hidden::No => (0, m),
    }
}

/// Step 2 for column `col` of `table`.
fn check(table: &Table, col: usize, threshold: i64) -> Action {
    let Some(margin) = table.total.as_ref().and_then(|t| t.cells.get(col)) else {
        return Action::Keep;
    };
    // A hidden total is small, and so is every row under it.
    let (Value::Count(m), Hidden::No) = (margin.value, margin.hidden) else {
        return Action::Keep;
    };
    let cells: Vec<(usize, Cell, bool)> = table
        .rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.cells.get(col).map(|c| (i, *c, r.shared.is_some())))
        .collect();
    let rest = m - cells
        .iter()
        .filter_map(|(_, c, _)| c.shown_count())
        .sum::<i64>();
    let hidden: Vec<(Cell, bool, (i64, i64))> = cells
        .iter()
        .filter(|(_, c, _)| c.is_hidden())
        .map(|(_, c, shared)| (*c, *shared, bounds(c, threshold, m)))
        .collect();
    let (low_sum, high_sum) = hidden
        .iter()
        .fold((0, 0), |(l, h), (_, _, (lo, hi))| (l + lo, h + hi));
    let recoverable = hidden.iter().any(|(cell, shared, (lo, hi))| {
        let Value::Count(value) = cell.value else {
            return false;
        };
        let sensitive = *shared || (cell.hidden != Hidden::Complementary && value > 0);
        // The values left to this cell by the total and the others' bounds.
        let least = (*lo).max(rest - (high_sum - hi));
        let most = (*hi).min(rest - (low_sum - lo));
        sensitive && least == most
    });
    if !recoverable {
        return Action::Keep;
    }
    if let Some(row) = smallest_shown(&cells) {
        Action::Hide(row)
    } else if hidden.iter().any(|(c, _, _)| c.hidden == Hidden::Small) {
        Action::Mask
    } else {
        Action::Keep
    }
}

/// The row of the smallest shown count that is not itself a total (ties: the first).
fn smallest_shown(cells: &[(usize, Cell, bool)]) -> Option<usize> {
    cells
        .iter()
        .filter(|(_, _, shared)| !shared)
        .filter_map(|(i, c, _)| c.shown_count().map(|n| (n, *i)))
        .min()
        .map(|(_, i)| i)
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::super::{Column, Row, Subject};
    use super::*;
    use crate::triage::Text;

    fn row(key: &str, counts: &[i64]) -> Row {
        Row {
            key: key.into(),
            label: Text::new(key, key),
            cells: counts.iter().map(|n| Cell::count(*n)).collect(),
            shared: None,
        }
    }

    /// A one-column table of `counts` with their total.
    fn table(id: &'static str, counts: &[i64]) -> Table {
        let rows: Vec<Row> = counts
            .iter()
            .enumerate()
            .map(|(i, n)| row(&format!("r{i}"), &[*n]))
            .collect();
        Table {
            id,
            subject: Subject::Cases,
            title: Text::new(id, id),
            columns: vec![Column {
                key: "cases",
                title: Text::new("casi", "cases"),
            }],
            total: Some(row("_total", &[counts.iter().sum()])),
            rows,
        }
    }

    fn marks(t: &Table) -> Vec<&'static str> {
        t.rows
            .iter()
            .chain(t.total.iter())
            .map(|r| match r.cells[0].hidden {
                Hidden::No => "",
                Hidden::Small => "<",
                Hidden::Complementary | Hidden::Masked => "*",
            })
            .collect()
    }

    #[test]
    fn a_small_count_alone_takes_the_smallest_other_with_it() {
        let mut t = [table("cases.gender", &[7, 1, 4, 9])];
        apply(&mut t, 3);
        assert_eq!(marks(&t[0]), ["", "<", "*", "", ""]);
    }

    #[test]
    fn a_zero_and_a_one_cover_each_other() {
        let mut t = [table("cases.age", &[1, 0, 8])];
        apply(&mut t, 3);
        assert_eq!(marks(&t[0]), ["<", "<", "", ""]);
    }

    #[test]
    fn small_counts_that_can_only_be_the_largest_small_value_are_covered_too() {
        // 2 + 2 = 4 is the only way two cells under 3 make 4.
        let mut t = [table("cases.age", &[2, 2, 5, 6])];
        apply(&mut t, 3);
        assert_eq!(marks(&t[0]), ["<", "<", "*", "", ""]);
    }

    #[test]
    fn a_row_that_totals_other_tables_is_never_the_one_chosen() {
        let mut relevance = table("cases.relevance", &[3, 1, 5, 4]);
        relevance.rows[0].shared = Some("cases.pertinent");
        let mut t = [relevance];
        apply(&mut t, 3);
        assert_eq!(marks(&t[0]), ["", "<", "", "*", ""]);
    }

    #[test]
    fn when_no_count_is_left_to_hide_the_small_ones_lose_their_bound() {
        // Every age class at 2 of 6 cases: `<3` three times out of 6 says 2, 2, 2.
        let mut t = [table("cases.age", &[2, 2, 2])];
        apply(&mut t, 3);
        assert_eq!(marks(&t[0]), ["*", "*", "*", ""]);
    }

    #[test]
    fn durations_over_a_small_count_are_hidden() {
        let mut t = [Table {
            id: "calls.times",
            subject: Subject::Calls,
            title: Text::new("t", "t"),
            columns: vec![],
            rows: vec![Row {
                key: "wait".into(),
                label: Text::new("w", "w"),
                cells: vec![Cell::count(2), Cell::seconds(Some(30.0))],
                shared: None,
            }],
            total: None,
        }];
        apply(&mut t, 3);
        assert!(t[0].rows[0].cells.iter().all(Cell::is_hidden));
    }

    /// Every value of each hidden cell that agrees with what is shown: the total, the
    /// shown counts, `<t` for small ones and at least `t` for the others.
    fn possible_values(t: &Table, threshold: i64) -> Vec<Vec<i64>> {
        let m = t.total.as_ref().unwrap().cells[0];
        let Value::Count(total) = m.value else {
            unreachable!()
        };
        let cells: Vec<Cell> = t.rows.iter().map(|r| r.cells[0]).collect();
        let rest = total - cells.iter().filter_map(Cell::shown_count).sum::<i64>();
        let hidden: Vec<(i64, i64)> = cells
            .iter()
            .filter(|c| c.is_hidden())
            .map(|c| bounds(c, threshold, total))
            .collect();
        let mut seen = vec![Vec::new(); hidden.len()];
        let mut current = Vec::new();
        fn walk(bounds: &[(i64, i64)], left: i64, current: &mut Vec<i64>, seen: &mut [Vec<i64>]) {
            let Some(((lo, hi), more)) = bounds.split_first() else {
                if left == 0 {
                    for (s, v) in seen.iter_mut().zip(current.iter()) {
                        if !s.contains(v) {
                            s.push(*v);
                        }
                    }
                }
                return;
            };
            for v in *lo..=(*hi).min(left) {
                current.push(v);
                walk(more, left - v, current, seen);
                current.pop();
            }
        }
        walk(&hidden, rest, &mut current, &mut seen);
        seen
    }

    #[test]
    fn no_small_count_can_be_worked_out_from_its_total() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..2_000 {
            let threshold = rng.gen_range(2..=4);
            let n = rng.gen_range(1..=5);
            let counts: Vec<i64> = (0..n).map(|_| rng.gen_range(0..=7)).collect();
            let mut t = [table("cases.gender", &counts)];
            apply(&mut t, threshold);
            let total = t[0].total.as_ref().unwrap().cells[0];
            if total.is_hidden() {
                assert!(t[0].rows.iter().all(|r| r.cells[0].is_hidden()));
                continue;
            }
            let possible = possible_values(&t[0], threshold);
            let hidden = t[0].rows.iter().filter(|r| r.cells[0].is_hidden());
            for (r, values) in hidden.zip(&possible) {
                let Value::Count(v) = r.cells[0].value else {
                    unreachable!()
                };
                assert!(values.contains(&v), "{counts:?}: {v} not in {values:?}");
                if r.cells[0].hidden != Hidden::Complementary && v > 0 {
                    assert!(
                        values.len() >= 2,
                        "{counts:?} (t = {threshold}): {v} recoverable"
                    );
                }
            }
        }
    }
}
