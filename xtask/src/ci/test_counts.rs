//! Reads how many test cases passed and failed from the closing lines of the test runners
//! (cargo-nextest, libtest through `cargo test`, and Node's `node --test`).
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

/// The counts of cargo-nextest's `Summary [ 1.234s] 12 tests run: 11 passed, 1 failed, 2 skipped`
/// line (the last one, when a run printed several). Failures include timed-out and exec-failed
/// tests; a parenthesised note such as `(1 flaky)` does not change the count.
pub fn parse_nextest(output: &str) -> Option<TestCounts> {
    let line = output
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| line.starts_with("Summary [") && line.contains(" run: "))?;
    let (_, items) = line.split_once(" run: ")?;
    let mut counts = TestCounts::default();
    for item in split_outside_parentheses(items) {
        let (number, label) = item.trim().split_once(' ')?;
        let number: u64 = number.parse().ok()?;
        let label = label.split('(').next().unwrap_or_default().trim();
        match label {
            "passed" => counts.passed += number,
            "skipped" => counts.skipped += number,
            _ => counts.failed += number,
        }
    }
    Some(counts)
}

fn split_outside_parentheses(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, character) in text.char_indices() {
        match character {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
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

/// The totals Node's test runner prints last, in TAP (`# pass 3`) or spec (`ℹ pass 3`) form.
pub fn parse_node_test(output: &str) -> Option<TestCounts> {
    let mut counts = TestCounts::default();
    let mut seen = false;
    for line in output.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("# ").or_else(|| line.strip_prefix("ℹ ")) else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let (Some(label), Some(number), None) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        let Ok(number) = number.parse::<u64>() else {
            continue;
        };
        match label {
            "pass" => counts.passed += number,
            "fail" | "cancelled" => counts.failed += number,
            "skipped" | "todo" => counts.skipped += number,
            "tests" => {}
            _ => continue,
        }
        seen = true;
    }
    seen.then_some(counts)
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
    fn nextest_summary_of_a_green_run() {
        let output = "        PASS [   0.004s] xtask failure::tests::unclassified_errors_exit_1\n\
                      ────────────\n     Summary [   1.204s] 12 tests run: 12 passed, 3 skipped\n";
        assert_eq!(parse_nextest(output), Some(counts(12, 0, 3)));
    }

    #[test]
    fn nextest_summary_counts_failures_and_timeouts_but_not_flaky_notes() {
        let output = "     Summary [  12.001s] 10 tests run: 7 passed (1 flaky, 1 leaky), 2 failed, 1 timed out, 0 skipped\n\
                      error: test run failed\n";
        assert_eq!(parse_nextest(output), Some(counts(7, 3, 0)));
    }

    #[test]
    fn nextest_cancelled_run_and_single_test() {
        assert_eq!(
            parse_nextest("     Summary [   0.5s] 3/9 tests run: 2 passed, 1 failed, 6 skipped"),
            Some(counts(2, 1, 6))
        );
        assert_eq!(
            parse_nextest("     Summary [   0.010s] 1 test run: 1 passed, 0 skipped"),
            Some(counts(1, 0, 0))
        );
    }

    #[test]
    fn no_nextest_summary_when_the_build_failed() {
        assert_eq!(parse_nextest("error[E0425]: cannot find value `x`\n"), None);
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

    #[test]
    fn node_test_totals_in_tap_and_spec_form() {
        let tap = "TAP version 13\n# Subtest: posts a status\nok 1 - posts a status\n1..4\n\
                   # tests 4\n# suites 0\n# pass 3\n# fail 1\n# cancelled 0\n# skipped 0\n# todo 0\n# duration_ms 81.2\n";
        assert_eq!(parse_node_test(tap), Some(counts(3, 1, 0)));
        let spec = "✔ posts a status (3ms)\nℹ tests 2\nℹ suites 0\nℹ pass 2\nℹ fail 0\nℹ cancelled 0\nℹ skipped 1\n";
        assert_eq!(parse_node_test(spec), Some(counts(2, 0, 1)));
        assert_eq!(parse_node_test("# a comment line\n"), None);
    }
}
