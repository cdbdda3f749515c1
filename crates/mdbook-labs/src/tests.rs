//! Tests of directive expansion and its error messages.

use super::*;
use labkit::claims::{Check, Claim, Conditions, evaluate};
use labkit::results::{ExperimentResult, Measured, Mode, SCHEMA_VERSION, Unit};
use labkit::stats::Summary;

fn sample_results() -> LabResults {
    let mut m = Measured::new();
    m.param("workers", 2)
        .summary(
            "threads_speedup",
            "speedup of threads",
            Unit::Times,
            Summary::of(&[1.7, 1.8, 1.9]).unwrap(),
        )
        .flag("seen", "the parent sees it", true)
        .summary(
            "even",
            "about even",
            Unit::Times,
            Summary::of(&[0.9, 1.0, 1.1]).unwrap(),
        )
        .summary(
            "slower",
            "slower",
            Unit::Times,
            Summary::of(&[0.8, 0.85, 0.9]).unwrap(),
        );
    let here = Conditions {
        cores: 2,
        python3: true,
        python_gil: true,
        workers: 2,
        capacity: Some(1.8),
    };
    let claim = Claim::new(
        "c",
        "threads_speedup",
        Check::OfCapacity(0.8),
        "Threads <help>.",
    );
    let verdict = evaluate(&claim, "cpu", &m, &here);
    let shown = Claim::demonstration("d", "seen", Check::Observed, "The parent sees it.");
    let shown = evaluate(&shown, "cpu", &m, &here);
    LabResults {
        schema: SCHEMA_VERSION,
        lab: "lab-07".into(),
        title: "Sample".into(),
        mode: Mode::Quick,
        measured_at: "2026-11-23T12:00:00Z".into(),
        duration_s: 3.0,
        source_hash: "abc".into(),
        workers: 2,
        machine: labkit::machine::detect(Some("Python 3.11.7".into())),
        experiments: vec![ExperimentResult {
            name: "cpu".into(),
            title: "CPU".into(),
            params: m.params,
            metrics: m.metrics,
            skipped: None,
            figures: vec![labkit::results::Figure {
                name: "timeline".into(),
                caption: "Who ran <when>.".into(),
                svg: "<svg class=\"lab-chart\"><rect/></svg>".into(),
            }],
        }],
        claims: vec![verdict, shown],
    }
}

fn results_dir() -> (tempfile::TempDir, ResultsDir) {
    let dir = tempfile::tempdir().unwrap();
    sample_results()
        .save(&dir.path().join("lab-07.json"))
        .unwrap();
    let results = ResultsDir::new(dir.path().to_path_buf());
    (dir, results)
}

#[test]
fn lab_value_becomes_the_formatted_number() {
    let (_dir, mut results) = results_dir();
    let text = expand(
        "Threads gave {{#lab-value lab-07 cpu.threads_speedup}} here.",
        &mut results,
    )
    .unwrap();
    assert_eq!(text, "Threads gave 1.80× here.");
    let text = expand(
        "{{#lab-value lab-07 cpu.seen}} on {{#lab-value lab-07 machine.python3}}",
        &mut results,
    )
    .unwrap();
    assert_eq!(text, "yes on Python 3.11.7");
}

#[test]
fn lab_results_has_tables_a_chart_claims_and_the_machine() {
    let (_dir, mut results) = results_dir();
    let text = expand("{{#lab-results lab-07}}", &mut results).unwrap();
    assert!(
        text.contains("| speedup of threads | **1.80×** | 1.70× – 1.90× |"),
        "{text}"
    );
    assert!(
        text.contains("<svg class=\"lab-chart\""),
        "no chart: {text}"
    );
    assert!(
        !text.contains("\n\n<svg") || !text.contains("<svg\n\n"),
        "blank line inside the SVG"
    );
    assert!(
        text.contains("<span class=\"verdict pass\">pass</span> | Threads &lt;help&gt;."),
        "{text}"
    );
    assert!(text.contains("class=\"lab-machine\""), "{text}");
    let svg = &text[text.find("<svg").unwrap()..text.find("</svg>").unwrap()];
    assert!(
        !svg.contains("\n\n"),
        "a blank line would end the HTML block"
    );
}

#[test]
fn lab_value_falls_back_to_parameters() {
    let (_dir, mut results) = results_dir();
    assert_eq!(
        expand("{{#lab-value lab-07 cpu.workers}}", &mut results).unwrap(),
        "2"
    );
    let mut big = sample_results();
    big.experiments[0]
        .params
        .insert("n".into(), 100_000_000u64.into());
    assert_eq!(
        lab_value(&big, "cpu.n").unwrap(),
        "100\u{2009}000\u{2009}000"
    );
}

#[test]
fn an_escaped_directive_is_shown_not_expanded() {
    let (_dir, mut results) = results_dir();
    let text = expand(
        r"Write \{{#lab-value lab-07 cpu.threads_speedup}}.",
        &mut results,
    )
    .unwrap();
    assert_eq!(text, "Write {{#lab-value lab-07 cpu.threads_speedup}}.");
}

#[test]
fn unknown_lab_metric_or_usage_fail_with_the_directive_named() {
    let (_dir, mut results) = results_dir();
    let cases = [
        ("{{#lab-results lab-09}}", "lab-09.json does not exist"),
        ("{{#lab-value lab-07 cpu.nope}}", "no metric \"nope\""),
        ("{{#lab-value lab-07 gpu.x}}", "no experiment \"gpu\""),
        ("{{#lab-value lab-07}}", "usage"),
        ("{{#lab-results seven}}", "not a lab id"),
    ];
    for (directive, expected) in cases {
        let err = format!("{:#}", expand(directive, &mut results).unwrap_err());
        assert!(err.contains(directive), "{directive}: {err}");
        assert!(err.contains(expected), "{directive}: {err}");
    }
}

#[test]
fn a_corrupt_results_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lab-03.json"), "{ truncated").unwrap();
    let mut results = ResultsDir::new(dir.path().to_path_buf());
    let err = format!(
        "{:#}",
        expand("{{#lab-value lab-03 a.b}}", &mut results).unwrap_err()
    );
    assert!(
        err.contains("lab-03.json") && err.contains("not valid JSON"),
        "{err}"
    );
}

#[test]
fn the_chart_shows_the_capacity_the_claims_were_judged_against() {
    let mut results = sample_results();
    let same_rounds = Summary::of(&[1.6, 1.7, 1.8]).unwrap();
    let mut m = Measured::new();
    m.summary(
        "capacity",
        "capacity (same rounds)",
        Unit::Times,
        same_rounds,
    );
    results.experiments[0].metrics.extend(m.metrics);
    let text = render::lab_results(&results).unwrap();
    assert!(text.contains("measured capacity: 1.70×"), "{text}");
}

#[test]
fn marked_metrics_get_bar_and_line_charts() {
    let summary = |v: f64| Summary::of(&[v * 0.9, v, v * 1.1]).unwrap();
    let mut m = Measured::new();
    m.summary("thread_s", "thread", Unit::Seconds, summary(50e-6))
        .bar()
        .summary("fork_s", "fork", Unit::Seconds, summary(400e-6))
        .bar();
    for (x, t) in [(1.0, 1e-4), (10.0, 1e-3), (100.0, 1e-2)] {
        m.summary(&format!("threads_{x}"), "t", Unit::Seconds, summary(t))
            .at("threads", "created", Unit::Count, x)
            .summary(
                &format!("processes_{x}"),
                "p",
                Unit::Seconds,
                summary(t * 5.0),
            )
            .at("processes", "created", Unit::Count, x);
    }
    let experiment = ExperimentResult {
        name: "e".into(),
        title: "Costs".into(),
        params: m.params,
        metrics: m.metrics,
        skipped: None,
        figures: Vec::new(),
    };
    let bars = render::bar_charts(&experiment).unwrap();
    assert_eq!(bars.matches("<svg").count(), 1, "{bars}");
    assert!(bars.contains("fork: 400 µs"), "{bars}");
    let lines = render::line_charts(&experiment).unwrap();
    assert_eq!(lines.matches("<svg").count(), 1, "one chart, two lines");
    assert!(
        lines.contains("processes") && lines.contains("created"),
        "{lines}"
    );
    // On a log axis (values span 100×) the ticks read as real values.
    assert!(lines.contains("1.00 ms"), "{lines}");
}

#[test]
fn lab_figure_places_the_picture_with_its_caption() {
    let (_dir, mut results) = results_dir();
    let text = expand(
        "See {{#lab-figure lab-07 cpu.timeline}} here.",
        &mut results,
    )
    .unwrap();
    assert!(text.contains("<figure class=\"lab-figure\">"), "{text}");
    assert!(
        text.contains("<svg class=\"lab-chart\"><rect/></svg>"),
        "{text}"
    );
    assert!(
        text.contains("<figcaption>Who ran &lt;when&gt;.</figcaption>"),
        "{text}"
    );
    let error = expand("{{#lab-figure lab-07 cpu.nothing}}", &mut results).unwrap_err();
    let message = format!("{error:#}");
    assert!(
        message.contains("no figure 'nothing'") && message.contains("timeline"),
        "{message}"
    );
}

#[test]
fn lab_compare_words_a_ratio_by_its_interval() {
    let (_dir, mut results) = results_dir();
    let mut words = |metric: &str| {
        let directive = format!(
            "{{{{#lab-compare lab-07 cpu.{metric} \"faster than\" \"as fast as\" \"slower than\"}}}}"
        );
        expand(&directive, &mut results).unwrap()
    };
    assert_eq!(words("threads_speedup"), "faster than");
    assert_eq!(words("even"), "as fast as");
    assert_eq!(words("slower"), "slower than");
    let err = expand(
        "{{#lab-compare lab-07 cpu.seen \"a\" \"b\" \"c\"}}",
        &mut results,
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("not a ratio"), "{err:#}");
    let err = expand("{{#lab-compare lab-07 cpu.even \"a\"}}", &mut results).unwrap_err();
    assert!(format!("{err:#}").contains("usage"), "{err:#}");
}

#[test]
fn lab_rounds_counts_the_samples_on_one_side() {
    let (_dir, mut results) = results_dir();
    let text = expand(
        "{{#lab-rounds lab-07 cpu.even < 1}} below, {{#lab-rounds lab-07 cpu.slower > 0.82}} above",
        &mut results,
    )
    .unwrap();
    assert_eq!(text, "1 of 3 rounds below, 2 of 3 rounds above");
    let err = expand("{{#lab-rounds lab-07 cpu.seen < 1}}", &mut results).unwrap_err();
    assert!(format!("{err:#}").contains("measured once"), "{err:#}");
}

#[test]
fn demonstrations_are_shown_apart_from_claims() {
    let (_dir, mut results) = results_dir();
    let text = expand("{{#lab-results lab-07}}", &mut results).unwrap();
    let claims = text.find("#### Claims").expect("a claims table");
    let shown = text
        .find("#### Demonstrations")
        .expect("a demonstrations table");
    assert!(claims < shown);
    assert!(
        text[shown..].contains("verdict pass\">shown</span> | The parent sees it."),
        "{}",
        &text[shown..]
    );
    assert!(!text[claims..shown].contains("The parent sees it."));
}

#[test]
fn lab_value_gives_other_statistics_on_request() {
    let (_dir, mut results) = results_dir();
    let text = expand(
        "{{#lab-value lab-07 cpu.threads_speedup min}}–{{#lab-value lab-07 cpu.threads_speedup max}}",
        &mut results,
    )
    .unwrap();
    assert_eq!(text, "1.70×–1.90×");
    let err = expand(
        "{{#lab-value lab-07 cpu.threads_speedup mean}}",
        &mut results,
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("not one of"), "{err:#}");
}

#[test]
fn a_malformed_directive_fails_the_build_instead_of_being_published() {
    let (_dir, mut results) = results_dir();
    for broken in [
        "{{#lab-compare lab-07 cpu.even \"a \"b\" \"c\"}}",
        "{{#lab-value lab-07 cpu.even",
    ] {
        let err = expand(broken, &mut results).unwrap_err();
        assert!(
            format!("{err:#}").contains("malformed directive"),
            "{broken}: {err:#}"
        );
    }
}
