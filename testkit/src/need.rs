//! What a test needs from the machine. A test never skips itself: when something is missing it
//! fails with one line naming what to start or install. `cargo xtask test` (the README's test
//! command) starts and installs all of it; `MEAI_TEST_SKIP=postgres,redis,...` makes the runner
//! leave those suites out, and they are then counted as skipped.

use std::path::{Path, PathBuf};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn missing(what: &str, how: &str, group: &str) -> ! {
    panic!("this test needs {what}: {how} (`cargo xtask test` provides it; MEAI_TEST_SKIP={group} skips these tests)")
}

/// `TEST_DATABASE_URL`: a PostgreSQL role that may create databases.
pub fn postgres_url() -> String {
    env("TEST_DATABASE_URL").unwrap_or_else(|| {
        missing(
            "PostgreSQL",
            "start it and set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres",
            "postgres",
        )
    })
}

/// `TEST_REDIS_URL`.
pub fn redis_url() -> String {
    env("TEST_REDIS_URL").unwrap_or_else(|| {
        missing(
            "Redis",
            "start it and set TEST_REDIS_URL=redis://127.0.0.1:6379",
            "redis",
        )
    })
}

/// `TEST_CHROMA_URL`: a Chroma server (the `chromadb` PyPI package's `chroma run`).
pub fn chroma_url() -> String {
    env("TEST_CHROMA_URL").unwrap_or_else(|| {
        missing(
            "a Chroma server",
            "`pip install chromadb==1.5.9 && chroma run --port 8000`, then set TEST_CHROMA_URL=http://127.0.0.1:8000",
            "chroma",
        )
    })
}

/// `dir/node_modules/package`, installed from `dir`'s lock file.
pub fn node_package(dir: &Path, package: &str) -> PathBuf {
    let path = dir.join("node_modules").join(package);
    if !path.is_dir() {
        missing(
            &format!("the npm package {package}"),
            &format!("run `npm ci` in {}", dir.display()),
            "node",
        );
    }
    path
}

/// `TEST_SCHEMATHESIS`: the `st` command of the `schemathesis` PyPI package.
pub fn schemathesis() -> PathBuf {
    env("TEST_SCHEMATHESIS").map(PathBuf::from).unwrap_or_else(|| {
        missing(
            "schemathesis",
            "`pip install schemathesis==4.32.5`, then set TEST_SCHEMATHESIS to the path of its `st` command",
            "schemathesis",
        )
    })
}
