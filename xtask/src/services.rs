//! What the suites need from the machine, provided or refused with one line naming the fix.
//! PostgreSQL and Redis are started the way this kind of machine runs them when they do not
//! answer; Chroma runs from a virtualenv for the duration of the tests.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CHROMADB_VERSION: &str = "1.5.9";
/// The `schemathesis` release the spec conformance test runs.
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// The workspace root (where `Cargo.lock` is).
pub fn root() -> Result<PathBuf, String> {
    let mut dir = std::env::current_dir().map_err(|e| e.to_string())?;
    loop {
        if dir.join("Cargo.lock").is_file() && dir.join("xtask").is_dir() {
            return Ok(dir);
        }
        if !dir.pop() {
            return Err("run `cargo xtask` inside the meai checkout".into());
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn cache() -> PathBuf {
    env("MEAI_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env("HOME").unwrap_or_else(|| "/root".into())).join(".cache/meai"))
}

fn quiet(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn loud(cmd: &mut Command, what: &str) -> Result<(), String> {
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{what} failed ({s})")),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

fn wait_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    ready()
}

/// `host:port` of a `scheme://[user@]host[:port][/...]` URL.
fn host_port(url: &str, default_port: u16) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:{default_port}")
    }
}

fn connect(addr: &str) -> Option<TcpStream> {
    let addr = addr.to_socket_addrs().ok()?.next()?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    Some(stream)
}

/// Every `package-lock.json` of a test suite gets its packages, unless installed from the same
/// lock file already (a stamp in `node_modules`).
pub fn node(root: &Path) -> Result<(), String> {
    let version = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|_| "the node suites need Node.js 20 or later and npm on PATH (MEAI_TEST_SKIP=node skips them)")?;
    let version = String::from_utf8_lossy(&version.stdout);
    let major: u32 = version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 20 {
        return Err(format!(
            "the node suites need Node.js 20 or later, found {}",
            version.trim()
        ));
    }
    let mut locks = Vec::new();
    find_locks(root, &mut locks);
    for lock in locks {
        let dir = lock.parent().ok_or("lock file without a folder")?;
        let stamp = dir.join("node_modules/.meai-lock");
        let want = std::fs::read(&lock).map_err(|e| format!("{}: {e}", lock.display()))?;
        let want = format!("{:x}", fnv(&want));
        if std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == want) {
            continue;
        }
        println!("xtask: npm ci in {}", dir.display());
        loud(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(dir),
            &format!("npm ci in {}", dir.display()),
        )?;
        std::fs::write(&stamp, want).map_err(|e| format!("{}: {e}", stamp.display()))?;
    }
    Ok(())
}

/// The test suites' lock files: under a `tests` folder, outside `node_modules` and `target`.
fn find_locks(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !matches!(name.as_ref(), "node_modules" | "target" | ".git") {
                find_locks(&path, out);
            }
        } else if name == "package-lock.json" && path.components().any(|c| c.as_os_str() == "tests") {
            out.push(path);
        }
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// PostgreSQL at `TEST_DATABASE_URL` (default: this machine's, trust auth as `postgres`).
pub fn postgres() -> Result<String, String> {
    let url = env("TEST_DATABASE_URL").unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let ready = || quiet(Command::new("pg_isready").args(["-q", "-d", &url]));
    if !ready() {
        if let Some(version) = installed_cluster() {
            println!("xtask: starting PostgreSQL {version}");
            quiet(Command::new("pg_ctlcluster").args(["--skip-systemctl-redirect", &version, "main", "start"]));
        }
        if !wait_until(Duration::from_secs(60), ready) {
            return Err(format!(
                "PostgreSQL does not answer at {url}: start it (`pg_ctlcluster <version> main start`) or set \
                 TEST_DATABASE_URL; MEAI_TEST_SKIP=postgres skips its suites"
            ));
        }
    }
    if !quiet(Command::new("psql").arg("--version")) {
        return Err("the PostgreSQL suites need psql: install postgresql-client".into());
    }
    Ok(url)
}

fn installed_cluster() -> Option<String> {
    let mut versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    versions.sort_by_key(|v| v.parse::<u32>().unwrap_or(0));
    versions.pop()
}

/// Redis at `TEST_REDIS_URL` (default: this machine's, on 127.0.0.1:6379).
pub fn redis() -> Result<String, String> {
    let url = env("TEST_REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let addr = host_port(&url, 6379);
    let ready = || {
        connect(&addr).is_some_and(|mut s| {
            let mut reply = [0u8; 7];
            s.write_all(b"PING\r\n").is_ok() && s.read(&mut reply).is_ok_and(|n| reply[..n].starts_with(b"+PONG"))
        })
    };
    if !ready() {
        println!("xtask: starting Redis");
        let _ = std::fs::create_dir_all("/var/lib/redis");
        let _ = std::fs::create_dir_all("/var/log/redis");
        quiet(Command::new("redis-server").args([
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "-::1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            "/var/lib/redis",
            "--logfile",
            "/var/log/redis/ci.log",
        ]));
        if !wait_until(Duration::from_secs(30), ready) {
            return Err(format!(
                "Redis does not answer at {url}: start it (`redis-server --daemonize yes`) or set TEST_REDIS_URL; \
                 MEAI_TEST_SKIP=redis skips its suites"
            ));
        }
    }
    Ok(url)
}

/// A Chroma server that lives as long as this value.
pub struct ChromaServer {
    child: Child,
    data: PathBuf,
}

impl Drop for ChromaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

fn heartbeat(base: &str) -> bool {
    let addr = host_port(base, 8000);
    connect(&addr).is_some_and(|mut s| {
        let request = format!("GET /api/v2/heartbeat HTTP/1.0\r\nHost: {addr}\r\n\r\n");
        let mut reply = String::new();
        s.write_all(request.as_bytes()).is_ok()
            && s.read_to_string(&mut reply).is_ok()
            && reply.starts_with("HTTP/1.")
            && reply.split_whitespace().nth(1) == Some("200")
    })
}

/// `TEST_SCHEMATHESIS`, or the `st` command of a virtualenv with `schemathesis` from PyPI.
pub fn schemathesis() -> Result<String, String> {
    if let Some(st) = env("TEST_SCHEMATHESIS") {
        return Ok(st);
    }
    let venv = cache().join(format!("venv-schemathesis-{SCHEMATHESIS_VERSION}"));
    let st = venv.join("bin/st");
    if !st.is_file() {
        println!(
            "xtask: installing schemathesis {SCHEMATHESIS_VERSION} into {}",
            venv.display()
        );
        loud(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            "python3 -m venv (install python3-venv; MEAI_TEST_SKIP=schemathesis skips the spec conformance test)",
        )?;
        loud(
            Command::new(venv.join("bin/pip")).args([
                "install",
                "-q",
                "--disable-pip-version-check",
                &format!("schemathesis=={SCHEMATHESIS_VERSION}"),
            ]),
            "pip install schemathesis",
        )?;
    }
    Ok(st.display().to_string())
}

/// `TEST_CHROMA_URL`, or a Chroma server of the `chromadb` package started for this run.
pub fn chroma() -> Result<(String, Option<ChromaServer>), String> {
    if let Some(url) = env("TEST_CHROMA_URL") {
        return if heartbeat(&url) {
            Ok((url, None))
        } else {
            Err(format!("Chroma does not answer at TEST_CHROMA_URL={url}"))
        };
    }
    let venv = cache().join(format!("venv-chroma-{CHROMADB_VERSION}"));
    let chroma = venv.join("bin/chroma");
    if !chroma.is_file() {
        println!("xtask: installing chromadb {CHROMADB_VERSION} into {}", venv.display());
        loud(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            "python3 -m venv (install python3-venv; MEAI_TEST_SKIP=chroma skips the Chroma suite)",
        )?;
        loud(
            Command::new(venv.join("bin/pip")).args([
                "install",
                "-q",
                "--disable-pip-version-check",
                &format!("chromadb=={CHROMADB_VERSION}"),
            ]),
            "pip install chromadb",
        )?;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let data = std::env::temp_dir().join(format!("meai-chroma-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    let log = std::fs::File::create(data.with_extension("log")).map_err(|e| e.to_string())?;
    let child = Command::new(&chroma)
        .args(["run", "--host", "127.0.0.1", "--port", &port.to_string(), "--path"])
        .arg(&data)
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("{}: {e}", chroma.display()))?;
    let server = ChromaServer { child, data };
    let url = format!("http://127.0.0.1:{port}");
    if !wait_until(Duration::from_secs(120), || heartbeat(&url)) {
        return Err(format!(
            "Chroma did not start (log: {})",
            server.data.with_extension("log").display()
        ));
    }
    println!("xtask: Chroma {CHROMADB_VERSION} at {url}");
    Ok((url, Some(server)))
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn host_and_port_come_from_urls() {
        assert_eq!(host_port("redis://127.0.0.1:6379", 1), "127.0.0.1:6379");
        assert_eq!(host_port("redis://:pw@cache.local/0", 6379), "cache.local:6379");
        assert_eq!(host_port("http://127.0.0.1:8000/api", 1), "127.0.0.1:8000");
    }
}
