//! Running a cargo test command while echoing its output, and reading its counts.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
    /// The command itself succeeded (a build failure fails it without any count).
    pub ok: bool,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        let first = self.passed + self.failed + self.skipped == 0 && !self.ok;
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.ok = (first || self.ok) && other.ok;
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Format {
    /// `Summary [ 1.2s] 10 tests run: 9 passed, 1 failed, 3 skipped`
    Nextest,
    /// `test result: ok. 9 passed; 1 failed; 2 ignored; ...`, once per binary.
    Libtest,
}

/// The number written just before `word` in `line` (`"9 passed"` -> 9 for `passed`).
fn number_before(line: &str, word: &str) -> u64 {
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .filter(|w| w[1].starts_with(word))
        .filter_map(|w| w[0].parse::<u64>().ok())
        .sum()
}

fn parse(format: Format, line: &str, counts: &mut Counts) {
    match format {
        Format::Nextest if line.trim_start().starts_with("Summary [") => {
            counts.passed += number_before(line, "passed");
            counts.failed += number_before(line, "failed") + number_before(line, "timed");
            counts.skipped += number_before(line, "skipped");
        }
        Format::Libtest if line.starts_with("test result:") => {
            counts.passed += number_before(line, "passed");
            counts.failed += number_before(line, "failed");
            counts.skipped += number_before(line, "ignored");
        }
        _ => {}
    }
}

/// Runs `cargo ARGS` in `root` with `env`, echoing both streams, and adds up its counts.
pub fn run(root: &Path, args: &[String], env: &[(String, String)], format: Format) -> Result<Counts, String> {
    let mut child = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(root)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let echo_err = std::thread::spawn(move || {
        let mut counts = Counts::default();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
            parse(format, &line, &mut counts);
        }
        counts
    });
    let mut counts = Counts::default();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        println!("{line}");
        parse(format, &line, &mut counts);
    }
    let from_err = echo_err.join().map_err(|_| "output reader failed")?;
    let status = child.wait().map_err(|e| format!("cargo: {e}"))?;
    counts.passed += from_err.passed;
    counts.failed += from_err.failed;
    counts.skipped += from_err.skipped;
    counts.ok = status.success();
    if !status.success() && counts.failed == 0 {
        // Nothing ran (a build error, a missing cargo-nextest): say so in the count.
        counts.failed = 1;
        if matches!(format, Format::Nextest) && !nextest_installed() {
            eprintln!("xtask: cargo-nextest is not installed: `cargo install cargo-nextest --locked`");
        }
    }
    Ok(counts)
}

/// How many lines `cargo ARGS` prints on stdout (its build output goes to stderr).
pub fn count_lines(root: &Path, args: &[String], env: &[(String, String)]) -> Result<u64, String> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(root)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo {} failed", args.join(" ")));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64)
}

fn nextest_installed() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_summaries() {
        let mut c = Counts::default();
        parse(
            Format::Nextest,
            "     Summary [  12.345s] 700 tests run: 697 passed, 2 failed, 1 timed out, 14 skipped",
            &mut c,
        );
        assert_eq!((c.passed, c.failed, c.skipped), (697, 3, 14));
        parse(
            Format::Libtest,
            "test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.1s",
            &mut c,
        );
        assert_eq!((c.passed, c.failed, c.skipped), (702, 3, 15));
        parse(Format::Libtest, "running 5 tests", &mut c);
        assert_eq!(c.passed, 702);
    }
}
