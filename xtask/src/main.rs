//! `cargo xtask test`: the whole test suite in one command, on a fresh machine.
//!
//! It provides what the suites need (node packages from their lock files, PostgreSQL and Redis
//! as this machine runs them, a Chroma server from PyPI), then runs every test of every crate
//! with all cargo features under cargo-nextest, and the doc tests. A suite whose service is
//! missing fails, naming what to start or install. Suites are left out only on request:
//! `MEAI_TEST_SKIP=postgres,redis` (or `--skip`), and then they count as skipped in the closing
//! line `tests: N passed, N failed, N skipped`.
//!
//! ```text
//! cargo xtask test [--skip GROUP,...] [-- NEXTEST-ARGS...]
//! ```
//! Groups: node, postgres, redis, chroma, schemathesis. Environment: `TEST_DATABASE_URL`, `TEST_REDIS_URL`,
//! `TEST_CHROMA_URL` point at servers of your own (`TEST_SCHEMATHESIS` at an `st` command); `TEST_QDRANT_URL` runs the Qdrant suite
//! against a real server instead of the fake; `MEAI_CACHE` (default `~/.cache/meai`) keeps the
//! Chroma virtualenv.

mod counts;
mod services;

use std::process::ExitCode;

/// The groups of suites that need something from the machine, and the tests of each (nextest
/// filter expressions).
pub const GROUPS: [(&str, &str); 5] = [
    (
        "node",
        "binary(socketio_e2e) | binary(compat_suite) | binary(multi_instance) | package(meai-mcp) | binary(mcp)",
    ),
    (
        "postgres",
        "binary(store_contract_postgres) | binary(vector_contract_postgres) \
         | (package(meai-sql) & binary(postgres)) | binary(multi_instance) \
         | (binary(bad_text) & test(postgres))",
    ),
    (
        "redis",
        "(package(meai-runs) & test(/^redis::/)) | binary(multi_instance)",
    ),
    ("chroma", "binary(chroma_contract)"),
    ("schemathesis", "binary(schemathesis)"),
];

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("test") => match test(args.collect()) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("xtask: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: cargo xtask test [--skip node,postgres,redis,chroma,schemathesis] [-- NEXTEST-ARGS...]");
            ExitCode::FAILURE
        }
    }
}

fn test(args: Vec<String>) -> Result<ExitCode, String> {
    let mut skip: Vec<String> = std::env::var("MEAI_TEST_SKIP")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    let mut extra = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--skip" => skip.extend(
                args.next()
                    .ok_or("--skip needs a list of groups")?
                    .split(',')
                    .map(|s| s.trim().to_ascii_lowercase()),
            ),
            "--" => extra.extend(args.by_ref()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    for group in &skip {
        if !GROUPS.iter().any(|(name, _)| name == group) {
            let known: Vec<&str> = GROUPS.iter().map(|(name, _)| *name).collect();
            return Err(format!(
                "MEAI_TEST_SKIP: unknown group {group} (known: {})",
                known.join(", ")
            ));
        }
    }
    let skipped = |group: &str| skip.iter().any(|s| s == group);

    let root = services::root()?;
    let mut env: Vec<(String, String)> = Vec::new();
    let mut guards = Vec::new();
    if !skipped("node") {
        services::node(&root)?;
    }
    if !skipped("postgres") {
        env.push(("TEST_DATABASE_URL".into(), services::postgres()?));
    }
    if !skipped("redis") {
        env.push(("TEST_REDIS_URL".into(), services::redis()?));
    }
    if !skipped("chroma") {
        let (url, guard) = services::chroma()?;
        env.push(("TEST_CHROMA_URL".into(), url));
        guards.extend(guard);
    }

    if !skipped("schemathesis") {
        env.push(("TEST_SCHEMATHESIS".into(), services::schemathesis()?));
    }

    let mut total = counts::Counts::default();
    let filter = skip
        .iter()
        .filter_map(|s| GROUPS.iter().find(|(name, _)| name == s))
        .map(|(_, expr)| format!("({expr})"))
        .collect::<Vec<_>>()
        .join(" | ");
    // The caller's own filter expressions narrow the run; skipped groups stay out of it.
    let (mut wanted, mut rest) = (Vec::new(), Vec::new());
    let mut extra = extra.into_iter();
    while let Some(arg) = extra.next() {
        match arg.as_str() {
            "-E" | "--filterset" | "--filter-expr" => wanted.extend(extra.next().map(|e| format!("({e})"))),
            _ => rest.push(arg),
        }
    }
    let expression = match (wanted.is_empty(), filter.is_empty()) {
        (true, true) => None,
        (true, false) => Some(format!("not ({filter})")),
        (false, true) => Some(wanted.join(" | ")),
        (false, false) => Some(format!("({}) & not ({filter})", wanted.join(" | "))),
    };
    let common = ["--workspace", "--all-features", "--locked"].map(str::to_owned);
    let mut nextest = vec!["nextest".to_owned(), "run".into(), "--no-fail-fast".into()];
    nextest.extend(common.clone());
    if let Some(expression) = expression {
        nextest.push("-E".into());
        nextest.push(expression);
    }
    nextest.extend(rest);
    println!("xtask: cargo {}", nextest.join(" "));
    let mut ran = counts::run(&root, &nextest, &env, counts::Format::Nextest)?;
    // nextest leaves binaries it runs nothing of out of its own count: skipped is what was
    // selected (all tests, or the caller's filter) and did not run.
    let mut list = vec![
        "nextest".to_owned(),
        "list".into(),
        "--message-format".into(),
        "oneline".into(),
    ];
    list.extend(common);
    if !wanted.is_empty() {
        list.push("-E".into());
        list.push(wanted.join(" | "));
    }
    let selected = counts::count_lines(&root, &list, &env)?;
    ran.skipped = selected.saturating_sub(ran.passed + ran.failed);
    total.add(&ran);

    // nextest does not run doc tests.
    let doc = ["test", "--doc", "--workspace", "--all-features", "--locked"].map(str::to_owned);
    println!("xtask: cargo {}", doc.join(" "));
    total.add(&counts::run(&root, &doc, &env, counts::Format::Libtest)?);
    drop(guards);

    let mut line = format!(
        "tests: {} passed, {} failed, {} skipped",
        total.passed, total.failed, total.skipped
    );
    if !skip.is_empty() {
        line.push_str(&format!(" (skipped on request: {})", skip.join(", ")));
    }
    println!("{line}");
    Ok(if total.failed == 0 && total.ok && total.passed > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
