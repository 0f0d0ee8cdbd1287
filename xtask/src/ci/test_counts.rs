//! Reads how many test cases passed and failed: from the JUnit reports of cargo-nextest and Node's
//! test runner, and from libtest's closing lines when `cargo test` stands in for nextest (libtest
//! has no machine-readable output on stable Rust).
//!
//! The counts feed the final `ci: N passed, M failed` line, the one a CI log reader looks for.

use std::ops::AddAssign;

/// Test cases counted from a runner's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TestCounts {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl AddAssign for TestCounts {
    fn add_assign(&mut self, other: TestCounts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

/// The counts of a JUnit report, as cargo-nextest (`[profile.ci.junit]` in `.config/nextest.toml`)
/// and Node's test runner (`--test-reporter=junit`) write it: every `<testcase>` is one test,
/// failed when it holds a `<failure>` or `<error>`, skipped when it holds a `<skipped>`. The
/// error says what is wrong with the report.
pub fn parse_junit(xml: &str) -> Result<TestCounts, String> {
    let mut counts = TestCounts::default();
    let mut open: Vec<String> = Vec::new();
    // The outcome of the innermost open test case.
    let mut case: Option<Outcome> = None;
    for token in xmlparser::Tokenizer::from(xml) {
        let token = token.map_err(|error| format!("not well-formed XML: {error}"))?;
        match token {
            xmlparser::Token::ElementStart { local, .. } => {
                let name = local.as_str();
                match name {
                    "testcase" if case.is_some() => {
                        return Err("a <testcase> inside a <testcase>".to_owned());
                    }
                    "testcase" => case = Some(Outcome::Passed),
                    "failure" | "error" => {
                        if let Some(outcome) = &mut case {
                            *outcome = Outcome::Failed;
                        }
                    }
                    "skipped" => {
                        if let Some(outcome @ Outcome::Passed) = &mut case {
                            *outcome = Outcome::Skipped;
                        }
                    }
                    _ => {}
                }
                open.push(name.to_owned());
            }
            xmlparser::Token::ElementEnd { end, .. } => {
                let closed = match end {
                    xmlparser::ElementEnd::Open => continue,
                    xmlparser::ElementEnd::Empty => open.pop(),
                    xmlparser::ElementEnd::Close(_, local) => {
                        let closed = open.pop();
                        if closed.as_deref() != Some(local.as_str()) {
                            return Err(format!("</{}> closes no open element", local.as_str()));
                        }
                        closed
                    }
                };
                if closed.as_deref() == Some("testcase") {
                    match case.take() {
                        Some(Outcome::Passed) => counts.passed += 1,
                        Some(Outcome::Failed) => counts.failed += 1,
                        Some(Outcome::Skipped) => counts.skipped += 1,
                        None => {}
                    }
                }
            }
            _ => {}
        }
    }
    if !open.is_empty() {
        return Err(format!(
            "the report ends inside <{}>: it was cut off",
            open.join("><")
        ));
    }
    Ok(counts)
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Passed,
    Failed,
    Skipped,
}

/// The sum of libtest's `test result: ok. 5 passed; 0 failed; 1 ignored; ...` lines, one per test
/// binary. `None` when there is no such line (the build failed, or nothing ran).
pub fn parse_libtest(output: &str) -> Option<TestCounts> {
    let mut total: Option<TestCounts> = None;
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        let Some((_, items)) = rest.split_once(". ") else {
            continue;
        };
        let mut counts = TestCounts::default();
        for item in items.split(';') {
            let mut words = item.split_whitespace();
            let (Some(number), Some(label)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(number) = number.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => counts.passed += number,
                "failed" => counts.failed += number,
                "ignored" => counts.skipped += number,
                _ => {}
            }
        }
        *total.get_or_insert_with(TestCounts::default) += counts;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(passed: u64, failed: u64, skipped: u64) -> TestCounts {
        TestCounts {
            passed,
            failed,
            skipped,
        }
    }

    #[test]
    fn junit_of_nextest_counts_passed_failed_and_skipped_cases() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nextest-run" tests="4" failures="1" errors="1" uuid="7" timestamp="2026-12-04T20:00:00Z" time="1.2">
    <testsuite name="xtask" tests="4" disabled="0" errors="1" failures="1">
        <testcase name="a::ok" classname="xtask" timestamp="t" time="0.01">
        </testcase>
        <testcase name="a::empty" classname="xtask" time="0.01"/>
        <testcase name="a::fails" classname="xtask" time="0.02">
            <failure type="test failure">thread panicked at &lt;src/a.rs&gt;</failure>
            <system-out><![CDATA[ <testcase> in output is text ]]></system-out>
        </testcase>
        <testcase name="a::times_out" classname="xtask" time="60">
            <error type="timeout"/>
        </testcase>
    </testsuite>
</testsuites>"#;
        assert_eq!(parse_junit(xml), Ok(counts(2, 2, 0)));
    }

    #[test]
    fn junit_of_node_counts_nested_suites_and_skips() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites>
	<testsuite name="handler" time="0.01" disabled="0" errors="0" tests="2" failures="0" skipped="1" hostname="h">
		<testcase name="posts a status" time="0.003" classname="test"/>
		<testcase name="later" time="0" classname="test">
			<skipped type="skipped" message="todo"/>
		</testcase>
	</testsuite>
	<testcase name="top level" time="0.001" classname="test"/>
	<!-- tests 3 -->
</testsuites>"#;
        assert_eq!(parse_junit(xml), Ok(counts(2, 0, 1)));
        assert_eq!(
            parse_junit("<testsuites></testsuites>"),
            Ok(counts(0, 0, 0))
        );
    }

    #[test]
    fn a_cut_off_or_broken_junit_report_is_an_error() {
        let cut = parse_junit("<testsuites><testsuite><testcase name=\"a\">").unwrap_err();
        assert!(cut.contains("cut off"), "{cut}");
        assert!(parse_junit("<testsuites><testcase></testsuite>").is_err());
        assert!(parse_junit("not xml <<").is_err());
    }

    #[test]
    fn libtest_results_are_summed_over_binaries() {
        let output = "running 2 tests\ntest a ... ok\ntest b ... ok\n\n\
            test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\
            running 3 tests\n\
            test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.31s\n\
            test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
        assert_eq!(parse_libtest(output), Some(counts(3, 2, 1)));
        assert_eq!(parse_libtest("error: could not compile `xtask`\n"), None);
    }
}
