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
    // A screen reader names a chart by its <title>.
    assert!(svg.contains("<title>CPU — speedup"), "{svg}");
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
    // The caption is also the picture's title, which a screen reader says.
    assert!(
        text.contains("<svg class=\"lab-chart\"><title>Who ran &lt;when&gt;.</title><rect/></svg>"),
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

/// A lab chapter for the seed-claims tests: a section, then the results.
const SAMPLE_CHAPTER: &str = "# Lab 07\n\n## Counting `things`\n\n```python\n# not a heading\n```\n\n## Results\n\n{{#lab-results lab-07}}\n";

const ARTICLES: &str =
    "[[article]]\nid = \"A\"\ntitle = \"An article\"\nsource = \"somewhere\"\n\n";

/// A book root with lab 07's sample results and a seed-claims file holding
/// `claims`, and an index of one chapter that shows lab 07.
fn seed_fixture(claims: &str) -> (tempfile::TempDir, ResultsDir, BookIndex) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("results")).unwrap();
    sample_results()
        .save(&dir.path().join("results/lab-07.json"))
        .unwrap();
    std::fs::write(dir.path().join("seeds.toml"), format!("{ARTICLES}{claims}")).unwrap();
    let mut index = BookIndex::new(dir.path());
    index.add_chapter(Path::new("lab-07-sample.md"), SAMPLE_CHAPTER);
    let results = ResultsDir::new(dir.path().join("results"));
    (dir, results, index)
}

fn seed_table(results: &mut ResultsDir, index: &BookIndex) -> Result<String> {
    let page = Page {
        book: index,
        path: Path::new("seed-claims.md"),
    };
    expand_page("{{#seed-claims seeds.toml}}", results, Some(&page))
}

const SEED_CLAIMS: &str = r#"
[[claim]]
id = "fast"
says = "Threads are fast."
in = ["A"]
supports = ["lab-07:c#Counting things"]

[[claim]]
id = "mixed"
says = "It depends."
in = ["A"]
supports = ["lab-07:c"]
refutes = ["lab-07:d"]

[[claim]]
id = "wrong"
says = "Never."
in = ["A"]
refutes = ["lab-07:d"]

[[claim]]
id = "nuanced"
says = "Sometimes | maybe."
in = ["A"]
verdict = "true-but"
because = "Only on Tuesdays."
"#;

#[test]
fn seed_claims_become_a_table_of_measured_checks_and_derived_verdicts() {
    let (_dir, mut results, index) = seed_fixture(SEED_CLAIMS);
    let text = seed_table(&mut results, &index).unwrap();
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 5, "a header and four claims: {text}");
    assert!(text.contains("**A** — *An article* (somewhere)"), "{text}");
    // The verdict and value come from the results; the link goes to the
    // section named, with the lab claim's sentence as its title.
    assert!(
        rows[1].contains(
            "<span class=\"verdict pass\">pass</span> 1.80× [lab-07 c](lab-07-sample.md#counting-things \"Threads &lt;help&gt;.\")"
        ),
        "{}",
        rows[1]
    );
    assert!(
        rows[1].contains("**true** <small>(from the checks)</small>"),
        "{}",
        rows[1]
    );
    assert!(
        rows[1].contains("its one check passed on this machine"),
        "{}",
        rows[1]
    );
    // Without a heading: the section holding the lab's results.
    assert!(
        rows[2].contains("(lab-07-sample.md#results \""),
        "{}",
        rows[2]
    );
    assert!(rows[2].contains("**half true**"), "{}", rows[2]);
    assert!(
        rows[2].contains("all 2 checks passed on this machine"),
        "{}",
        rows[2]
    );
    assert!(
        rows[2]
            .contains("<em>contradicts it:</em><br><span class=\"verdict pass\">shown</span> yes"),
        "{}",
        rows[2]
    );
    assert!(rows[3].contains("**false**"), "{}", rows[3]);
    // The authors' word stands only with its sentence; nothing measured it.
    assert!(
        rows[4].contains("**true-but**: Only on Tuesdays."),
        "{}",
        rows[4]
    );
    assert!(rows[4].contains("Sometimes \\| maybe."), "{}", rows[4]);
    assert!(rows[4].contains("not measured"), "{}", rows[4]);
}

#[test]
fn a_failed_check_unsettles_the_derived_verdict() {
    let (dir, mut results, index) = seed_fixture(SEED_CLAIMS);
    let mut failing = sample_results();
    failing.claims[0].verdict = labkit::results::Verdict::Fail;
    failing
        .save(&dir.path().join("results/lab-07.json"))
        .unwrap();
    let text = seed_table(&mut results, &index).unwrap();
    let row = text.lines().find(|l| l.starts_with("| 1 |")).unwrap();
    assert!(row.contains("**unsettled here**"), "{row}");
    assert!(row.contains("1 of 1 failed on this machine"), "{row}");
    assert!(row.contains("verdict fail\">fail</span>"), "{row}");
}

#[test]
fn seed_claims_naming_an_unknown_claim_lab_or_heading_fail_the_build() {
    let cases = [
        (
            "lab-07:nope",
            "results/lab-07.json has no claim \"nope\"; its claims: c, d",
        ),
        ("lab-09:c", "lab-09.json does not exist"),
        ("lab-07:c#Nowhere", "has no heading \"Nowhere\""),
        ("lab-07", "is not lab-NN:claim-id"),
    ];
    for (check, expected) in cases {
        let claims = format!(
            "[[claim]]\nid = \"broken\"\nsays = \"x\"\nin = [\"A\"]\nsupports = [\"{check}\"]\n"
        );
        let (_dir, mut results, index) = seed_fixture(&claims);
        let err = format!("{:#}", seed_table(&mut results, &index).unwrap_err());
        assert!(err.contains(expected), "{check}: {err}");
        assert!(
            err.contains("{{#seed-claims seeds.toml}}"),
            "{check}: the directive is named: {err}"
        );
    }
}

#[test]
fn a_verdict_word_needs_its_reason_and_a_claim_needs_checks_or_a_word() {
    let cases = [
        (
            "verdict = \"false\"\n",
            "without a sentence that justifies it",
        ),
        ("verdict = \"nonsense\"\nbecause = \"b\"\n", "is not one of"),
        ("because = \"b\"\n", "no `verdict`"),
        ("", "no lab claims and no verdict"),
    ];
    for (extra, expected) in cases {
        let claims = format!("[[claim]]\nid = \"x\"\nsays = \"x\"\nin = [\"A\"]\n{extra}");
        let (_dir, mut results, index) = seed_fixture(&claims);
        let err = format!("{:#}", seed_table(&mut results, &index).unwrap_err());
        assert!(
            err.contains(expected) && err.contains("seeds.toml"),
            "{extra}: {err}"
        );
    }
    let unknown_article =
        "[[claim]]\nid = \"x\"\nsays = \"x\"\nin = [\"Z\"]\nsupports = [\"lab-07:c\"]\n";
    let (_dir, mut results, index) = seed_fixture(unknown_article);
    let err = format!("{:#}", seed_table(&mut results, &index).unwrap_err());
    assert!(err.contains("article \"Z\""), "{err}");
}

#[test]
fn seed_claims_need_the_chapter_that_shows_the_lab() {
    let (dir, mut results, _) = seed_fixture(SEED_CLAIMS);
    let empty = BookIndex::new(dir.path());
    let err = format!("{:#}", seed_table(&mut results, &empty).unwrap_err());
    assert!(err.contains("no chapter of the book shows lab-07"), "{err}");
    let err = format!(
        "{:#}",
        expand("{{#seed-claims seeds.toml}}", &mut results).unwrap_err()
    );
    assert!(err.contains("needs the whole book"), "{err}");
    let err = format!(
        "{:#}",
        expand("{{#seed-claims}}", &mut results).unwrap_err()
    );
    assert!(err.contains("usage"), "{err}");
    let err = format!(
        "{:#}",
        expand("{{#seed-claims a.toml", &mut results).unwrap_err()
    );
    assert!(err.contains("malformed directive"), "{err}");
    assert_eq!(
        expand(r"\{{#seed-claims a.toml}}", &mut results).unwrap(),
        "{{#seed-claims a.toml}}"
    );
}

#[test]
fn section_links_follow_mdbooks_heading_ids() {
    let mut index = BookIndex::new(Path::new("."));
    index.add_chapter(
        Path::new("labs/lab-07.md"),
        "# Lab\n\n## Results\n\n```\n## inside code\n```\n\n## \"Each one\" on `its` own: 2×2\n\n## Results\n\n{{#lab-results lab-07}}\n",
    );
    let link = |heading: Option<&str>, from: &str| {
        index
            .section_link("lab-07", heading, Path::new(from))
            .map_err(|e| format!("{e:#}"))
    };
    // A repeated heading gets a number, as mdBook gives it.
    assert_eq!(
        link(None, "seed-claims.md").unwrap(),
        "labs/lab-07.md#results-1"
    );
    assert_eq!(
        link(Some("Each one on its own: 2×2"), "guide/seeds.md").unwrap(),
        "../labs/lab-07.md#each-one-on-its-own-22"
    );
    let err = link(Some("inside code"), "seed-claims.md").unwrap_err();
    assert!(err.contains("no heading"), "{err}");
}

#[test]
fn lab_run_gives_the_commands_and_how_long_the_measured_run_took() {
    let (_dir, mut results) = results_dir();
    let text = expand("{{#lab-run lab-07}}", &mut results).unwrap();
    assert!(text.contains("cargo run -p lab-07 -- --quick"), "{text}");
    assert!(text.contains("cargo xtask compare mine"), "{text}");
    // The sample run took 3.0 s on this machine's cores, and skipped nothing.
    let cores = labkit::machine::detect(None).logical_cores;
    assert!(
        text.contains(&format!("took 3.00 s on {cores} logical cores")),
        "{text}"
    );
    assert!(text.contains("none was skipped"), "{text}");
}

#[test]
fn results_beside_shows_both_verdicts_and_each_figures_ratio() {
    let (dir, mut results) = results_dir();
    // Another machine: the claim fails there and threads are half as fast.
    let set = dir.path().join("elsewhere");
    std::fs::create_dir(&set).unwrap();
    std::fs::write(
        set.join("about.toml"),
        "label = \"slow box\"\ndescription = \"A slower machine.\"\n",
    )
    .unwrap();
    let mut theirs = sample_results();
    theirs.claims[0].verdict = labkit::results::Verdict::Fail;
    theirs.experiments[0].metrics[0].value /= 2.0;
    theirs.save(&set.join("lab-07.json")).unwrap();
    let book = BookIndex::new(dir.path());
    let page = Page {
        book: &book,
        path: Path::new("beside.md"),
    };
    let text = expand_page("{{#results-beside elsewhere}}", &mut results, Some(&page)).unwrap();
    assert!(text.contains("| lab-07 | 1 of 2 |"), "{text}");
    assert!(
        text.contains("| Threads &lt;help&gt;. | pass | FAIL |"),
        "{text}"
    );
    assert!(
        text.contains("| speedup of threads | 1.80× | 0.900× | 0.500× |"),
        "{text}"
    );
    assert!(text.contains("slow box ÷ this book"), "{text}");
    // A set without its about.toml is refused, saying what is missing.
    std::fs::remove_file(set.join("about.toml")).unwrap();
    let error =
        expand_page("{{#results-beside elsewhere}}", &mut results, Some(&page)).unwrap_err();
    assert!(format!("{error:#}").contains("about.toml"), "{error:#}");
}
