//! One lab's results from two machines side by side: every claim's verdict
//! on each, and every figure (metric) on each with their ratio. What
//! `cargo xtask compare DIR` prints and the book's "Your machine beside
//! ours" page shows.

use crate::format;
use crate::results::{LabResults, Unit, Verdict};

/// The two runs of one lab.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The lab, e.g. "lab-05".
    pub lab: String,
    /// Every claim and demonstration, in the order of the first run, then
    /// those only the second run has.
    pub claims: Vec<ClaimPair>,
    /// Every metric either run has, in the first run's order.
    pub figures: Vec<FigurePair>,
    /// Whether both runs measured the same sources of the lab.
    pub same_sources: bool,
}

/// One claim on both machines (`None`: that run does not have it).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimPair {
    /// Its id.
    pub id: String,
    /// Its sentence, from the first run where it has one.
    pub statement: String,
    /// Its verdict on the first machine.
    pub ours: Option<Verdict>,
    /// Its verdict on the second.
    pub theirs: Option<Verdict>,
}

/// One metric on both machines.
#[derive(Debug, Clone, PartialEq)]
pub struct FigurePair {
    /// `experiment.metric`.
    pub path: String,
    /// What it is, in words.
    pub label: String,
    /// Its unit.
    pub unit: Unit,
    /// Its value on the first machine (the median of its samples).
    pub ours: Option<f64>,
    /// Its value on the second.
    pub theirs: Option<f64>,
}

impl FigurePair {
    /// theirs ÷ ours, when both are there and the division means something.
    pub fn ratio(&self) -> Option<f64> {
        let (ours, theirs) = (self.ours?, self.theirs?);
        (ours != 0.0 && ours.is_finite() && theirs.is_finite() && self.unit != Unit::Flag)
            .then(|| theirs / ours)
    }

    /// The first machine's value as shown in a table ("—" if it has none).
    pub fn ours_text(&self) -> String {
        self.value_text(self.ours)
    }

    /// The second machine's value as shown in a table.
    pub fn theirs_text(&self) -> String {
        self.value_text(self.theirs)
    }

    /// theirs ÷ ours as shown in a table, e.g. "1.04×" ("—" without one).
    pub fn ratio_text(&self) -> String {
        self.ratio().map_or("—".to_string(), |r| {
            format!("{}×", format::significant(r, 3))
        })
    }

    fn value_text(&self, value: Option<f64>) -> String {
        value.map_or("—".to_string(), |v| format::value(v, self.unit))
    }
}

impl ClaimPair {
    /// Both runs have the claim and gave it the same verdict.
    pub fn agrees(&self) -> bool {
        self.ours.is_some() && self.ours == self.theirs
    }
}

/// Pairs `ours` (the book's run) with `theirs` (another machine's) claim by
/// claim and metric by metric.
pub fn compare(ours: &LabResults, theirs: &LabResults) -> Comparison {
    let mut claims: Vec<ClaimPair> = ours
        .claims
        .iter()
        .map(|c| ClaimPair {
            id: c.id.clone(),
            statement: c.statement.clone(),
            ours: Some(c.verdict),
            theirs: theirs
                .claims
                .iter()
                .find(|t| t.id == c.id)
                .map(|t| t.verdict),
        })
        .collect();
    for claim in &theirs.claims {
        if !claims.iter().any(|c| c.id == claim.id) {
            claims.push(ClaimPair {
                id: claim.id.clone(),
                statement: claim.statement.clone(),
                ours: None,
                theirs: Some(claim.verdict),
            });
        }
    }
    let mut figures = Vec::new();
    for (run, is_ours) in [(ours, true), (theirs, false)] {
        for experiment in &run.experiments {
            for metric in &experiment.metrics {
                let path = format!("{}.{}", experiment.name, metric.name);
                let pair = match figures
                    .iter_mut()
                    .find(|f: &&mut FigurePair| f.path == path)
                {
                    Some(pair) => pair,
                    None => {
                        figures.push(FigurePair {
                            path,
                            label: metric.label.clone(),
                            unit: metric.unit,
                            ours: None,
                            theirs: None,
                        });
                        figures.last_mut().expect("just pushed")
                    }
                };
                if is_ours {
                    pair.ours = Some(metric.value);
                } else {
                    pair.theirs = Some(metric.value);
                }
            }
        }
    }
    Comparison {
        lab: ours.lab.clone(),
        claims,
        figures,
        same_sources: ours.source_hash == theirs.source_hash,
    }
}

impl Comparison {
    /// How many claims both runs gave the same verdict, of those either has.
    pub fn agreeing(&self) -> (usize, usize) {
        let agree = self.claims.iter().filter(|c| c.agrees()).count();
        (agree, self.claims.len())
    }
}

/// A verdict as a word, or a dash when the run has no such claim.
pub fn verdict_word(verdict: Option<Verdict>) -> &'static str {
    verdict.map_or("—", Verdict::word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(unit: Unit, ours: Option<f64>, theirs: Option<f64>) -> FigurePair {
        FigurePair {
            path: "e.m".into(),
            label: "m".into(),
            unit,
            ours,
            theirs,
        }
    }

    #[test]
    fn a_figure_shows_both_values_and_their_ratio() {
        let figure = pair(Unit::Times, Some(2.0), Some(3.0));
        assert_eq!(figure.ratio(), Some(1.5));
        assert_eq!(figure.ratio_text(), "1.50×");
        assert_eq!(figure.ours_text(), format::value(2.0, Unit::Times));
        assert_eq!(figure.theirs_text(), format::value(3.0, Unit::Times));
    }

    #[test]
    fn a_missing_value_a_zero_or_a_flag_has_no_ratio() {
        for figure in [
            pair(Unit::Times, None, Some(3.0)),
            pair(Unit::Times, Some(0.0), Some(3.0)),
            pair(Unit::Flag, Some(1.0), Some(1.0)),
        ] {
            assert_eq!(figure.ratio_text(), "—", "{figure:?}");
        }
        assert_eq!(pair(Unit::Times, None, None).ours_text(), "—");
    }
}
