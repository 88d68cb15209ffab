//! Test support: throw-away PostgreSQL clusters started from the server binaries.
//!
//! * The binaries come from `$PG_BIN` if set, else from `pg_config --bindir`. When they
//!   are missing, [`pg_env`] prints a loud skip message and returns `None` — unless
//!   `PHARM_REQUIRE_PG=1`, which turns the skip into a panic (CI sets it).
//! * `initdb`/`postgres` refuse to run as root. When the tests run as root, every server
//!   command runs as the `postgres` system user (`runuser -u postgres --`) in a temp dir
//!   chowned to that user.
//! * Each cluster listens on `127.0.0.1` on a free port (found by binding port 0) and puts
//!   its unix socket inside its own temp dir.
//! * Primaries are copies of one data dir `initdb`-ed per test process (the template,
//!   removed with the last cluster made from it); replicas come from `pg_basebackup -R`.
//! * A [`Cluster`] is an RAII guard: its `Drop` stops the server (`pg_ctl stop -m
//!   immediate`) and removes the dir, also while a panicking test unwinds. The guard
//!   exists before its data dir is made, so a failure half-way through setup cleans up
//!   too. Dirs left behind by a killed test process (its pid is gone) are swept, and
//!   their servers stopped, the first time a process asks for [`pg_env`].

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls};

/// Prefix of every cluster dir under the system temp dir: `pharm-pg-<pid>-<n>-<name>`.
const DIR_PREFIX: &str = "pharm-pg-";

/// Where the server binaries are and who must run them.
#[derive(Clone, Debug)]
pub(crate) struct PgEnv {
    bin: PathBuf,
    /// `Some("postgres")` when this process is root.
    run_as: Option<String>,
}

/// The environment, or `None` (after a loud message) when PostgreSQL is not installed.
///
/// # Panics
/// When the binaries are missing and `PHARM_REQUIRE_PG=1`.
pub(crate) fn pg_env() -> Option<PgEnv> {
    static ENV: OnceLock<Result<PgEnv, String>> = OnceLock::new();
    let found = ENV.get_or_init(|| {
        let env = discover()?;
        sweep_orphans(&env);
        Ok(env)
    });
    match found {
        Ok(env) => Some(env.clone()),
        Err(why) if std::env::var("PHARM_REQUIRE_PG").as_deref() == Ok("1") => {
            panic!("PHARM_REQUIRE_PG=1 but PostgreSQL server binaries are unusable: {why}")
        }
        Err(why) => {
            // Straight to the process's stderr: libtest captures `eprintln!` of passing
            // tests, and a skip must not go unnoticed.
            let test = std::thread::current().name().unwrap_or("?").to_owned();
            let _ = writeln!(
                std::io::stderr(),
                "\n************************************************************************\n\
                 ** SKIPPED PostgreSQL integration test `{test}`:\n\
                 **   {why}\n\
                 ** Install the PostgreSQL server (or set PG_BIN to its bin dir) to run it;\n\
                 ** PHARM_REQUIRE_PG=1 (as in CI) turns this skip into a failure.\n\
                 ************************************************************************"
            );
            None
        }
    }
}

fn discover() -> Result<PgEnv, String> {
    let bin = match std::env::var_os("PG_BIN").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let out = Command::new("pg_config")
                .arg("--bindir")
                .output()
                .map_err(|e| format!("PG_BIN is unset and `pg_config` cannot run: {e}"))?;
            if !out.status.success() {
                return Err("PG_BIN is unset and `pg_config --bindir` failed".into());
            }
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
    };
    for tool in ["initdb", "pg_ctl", "postgres", "pg_basebackup"] {
        if !bin.join(tool).is_file() {
            return Err(format!("`{tool}` not found in {}", bin.display()));
        }
    }
    let run_as = if is_root() {
        let user_ok = Command::new("id")
            .args(["-u", "postgres"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !user_ok {
            return Err(
                "running as root and there is no `postgres` system user to run \
                        initdb/postgres as"
                    .into(),
            );
        }
        let runuser_ok = Command::new("runuser")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !runuser_ok {
            return Err("running as root and `runuser` (util-linux) is missing".into());
        }
        Some("postgres".to_owned())
    } else {
        None
    };
    Ok(PgEnv { bin, run_as })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PgEnv {
    /// A command for server tool `tool`, run as the right user.
    fn tool(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        };
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Creates `dir` (mode 0700) owned by the user that runs the server.
    /// (Removes it again and panics if it cannot be handed over.)
    fn make_owned_dir(&self, dir: &Path) {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
        if let Some(user) = &self.run_as {
            let out = Command::new("chown")
                .arg("-R")
                .arg(format!("{user}:"))
                .arg(dir)
                .output();
            if !out.as_ref().is_ok_and(|o| o.status.success()) {
                let _ = fs::remove_dir_all(dir);
                check(out, &format!("chown {}", dir.display()));
            }
        }
    }
}

/// Panics with the tool's output unless it succeeded.
fn check(out: std::io::Result<Output>, what: &str) -> Output {
    match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => panic!(
            "{what} failed ({}):\n{}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("{what} could not run: {e}"),
    }
}

/// A port nobody listens on right now (bound to port 0, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
}

/// Stops servers and removes dirs left by test processes that no longer exist.
fn sweep_orphans(env: &PgEnv) {
    if !Path::new("/proc/self").exists() {
        return; // cannot tell dead pids from live ones
    }
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(DIR_PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let _ = writeln!(
            std::io::stderr(),
            "pg_cluster: stopping and removing cluster dir {} left by dead process {pid}",
            entry.path().display()
        );
        stop_immediate(env, &entry.path().join("data"));
        let _ = fs::remove_dir_all(entry.path());
    }
}

/// `pg_ctl stop -m immediate` if a postmaster may be running in `data`; never panics.
fn stop_immediate(env: &PgEnv, data: &Path) {
    if !data.join("postmaster.pid").exists() {
        return;
    }
    let _ = env
        .tool("pg_ctl")
        .args(["stop", "-m", "immediate", "-w", "-t", "30", "-D"])
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A new, empty temp dir `pharm-pg-<pid>-<n>-<name>` owned by the server's user.
fn fresh_dir(env: &PgEnv, name: &str) -> PathBuf {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let root = std::env::temp_dir().join(format!("{DIR_PREFIX}{}-{n}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    env.make_owned_dir(&root);
    root
}

/// A data dir made by `initdb` and never started, copied for every new primary (one
/// `initdb` per test process instead of one per cluster).
///
/// Every cluster holds an `Arc` of the template it came from; the last one dropped
/// removes it, so nothing outlives the tests (statics are never dropped, hence the
/// `Weak` in the static).
#[derive(Debug)]
struct Template {
    root: PathBuf,
    data: PathBuf,
}

impl Drop for Template {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn template(env: &PgEnv) -> Arc<Template> {
    static CURRENT: Mutex<Weak<Template>> = Mutex::new(Weak::new());
    let mut current = CURRENT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(template) = current.upgrade() {
        return template;
    }
    let root = fresh_dir(env, "template");
    let template = Arc::new(Template {
        data: root.join("data"),
        root,
    });
    let out = env
        .tool("initdb")
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            // Small WAL segments: less to copy per cluster and per base backup.
            "--wal-segsize=1",
            "--no-sync",
            "-D",
        ])
        .arg(&template.data)
        .output();
    check(out, "initdb of the template data dir");
    *current = Arc::downgrade(&template);
    template
}

/// One running (or stopped) PostgreSQL cluster in its own temp dir; stopped and removed
/// on drop.
#[derive(Debug)]
pub(crate) struct Cluster {
    env: PgEnv,
    name: String,
    root: PathBuf,
    data: PathBuf,
    port: u16,
    /// Keeps the template alive while clusters made from it may still be made.
    _template: Option<Arc<Template>>,
}

impl Cluster {
    /// The guard for a new, empty temp dir; nothing is running yet.
    fn empty(env: &PgEnv, name: &str, template: Option<Arc<Template>>) -> Self {
        let root = fresh_dir(env, name);
        Cluster {
            env: env.clone(),
            name: name.to_owned(),
            data: root.join("data"),
            root,
            port: 0,
            _template: template,
        }
    }

    /// A fresh primary (trust auth, `wal_level=replica`), started.
    pub(crate) fn primary(env: &PgEnv, name: &str) -> Self {
        let mut all = Self::primaries(env, &[name]);
        all.remove(0)
    }

    /// Independent primaries, one per name, copied from the process's `initdb` template
    /// (much cheaper than one `initdb` each). All are running afterwards.
    pub(crate) fn primaries(env: &PgEnv, names: &[&str]) -> Vec<Self> {
        let template = template(env);
        let mut all = Vec::new();
        for name in names {
            // The guard exists before the copy, so a failure from here on cleans up.
            let mut cluster = Self::empty(env, name, Some(Arc::clone(&template)));
            // `cp -a` keeps the owner (root may; others copy their own files).
            let out = Command::new("cp")
                .arg("-a")
                .arg(&template.data)
                .arg(&cluster.data)
                .output();
            check(out, &format!("copy of the template data dir for {name}"));
            cluster.start_fresh();
            all.push(cluster);
        }
        all
    }

    /// A streaming replica of `primary` (`pg_basebackup -R -X stream`), started and
    /// connected.
    pub(crate) fn replica_of(primary: &Cluster, name: &str) -> Self {
        let mut c = Self::empty(&primary.env, name, primary._template.clone());
        let out = primary
            .env
            .tool("pg_basebackup")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ])
            .args(["--no-sync", "-p", &primary.port.to_string(), "-D"])
            .arg(&c.data)
            .output();
        check(out, &format!("pg_basebackup for {name}"));
        c.start_fresh();
        c
    }

    /// Picks a free port, writes the settings and starts; retries with another port if
    /// the start fails (another process may have taken the port meanwhile).
    fn start_fresh(&mut self) {
        let mut last = String::new();
        for _ in 0..3 {
            self.port = free_port();
            self.write_settings();
            match self.try_start() {
                Ok(()) => return,
                Err(e) => last = e,
            }
        }
        panic!("cannot start cluster {}: {last}", self.name);
    }

    fn write_settings(&self) {
        // Later lines win, so appending also overrides what a base backup copied from
        // the primary's postgresql.conf.
        let settings = format!(
            "\n# pharm-shard test harness\n\
             listen_addresses = '127.0.0.1'\n\
             port = {port}\n\
             unix_socket_directories = '{root}'\n\
             fsync = off\n\
             full_page_writes = off\n\
             wal_level = replica\n\
             max_wal_senders = 4\n\
             wal_keep_size = '64MB'\n\
             hot_standby = on\n\
             wal_receiver_status_interval = '1s'\n\
             max_connections = 40\n\
             shared_buffers = '16MB'\n\
             log_min_messages = warning\n",
            port = self.port,
            root = self.root.display(),
        );
        let conf = self.data.join("postgresql.conf");
        let written = fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut f| f.write_all(settings.as_bytes()));
        if let Err(e) = written {
            panic!("write {}: {e}", conf.display());
        }
    }

    fn try_start(&self) -> Result<(), String> {
        let log = self.root.join("server.log");
        let out = self
            .env
            .tool("pg_ctl")
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(&self.data)
            .arg("-l")
            .arg(&log)
            .output()
            .map_err(|e| format!("pg_ctl start could not run: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let server_log = fs::read_to_string(&log).unwrap_or_default();
        stop_immediate(&self.env, &self.data);
        Err(format!(
            "pg_ctl start failed ({}): {}{}\nserver log:\n{server_log}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }

    /// Starts the server again on the same port.
    pub(crate) fn start(&mut self) {
        if let Err(e) = self.try_start() {
            panic!("cannot restart cluster {}: {e}", self.name);
        }
    }

    /// `pg_ctl stop -m immediate` (a crash, as far as clients can tell).
    pub(crate) fn stop(&mut self) {
        let out = self
            .env
            .tool("pg_ctl")
            .args(["stop", "-m", "immediate", "-w", "-t", "30", "-D"])
            .arg(&self.data)
            .output();
        check(out, &format!("pg_ctl stop for {}", self.name));
    }

    /// The temp dir holding the data dir, the socket and the server log.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The TCP port on 127.0.0.1.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// A libpq-style connection string for user `postgres`, database `postgres`.
    pub(crate) fn conn_string(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=5",
            self.port
        )
    }

    /// A plain client (its connection task is spawned on the current tokio runtime).
    pub(crate) async fn client(&self) -> Client {
        let (client, conn) = tokio_postgres::connect(&self.conn_string(), NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.name));
        drop(tokio::spawn(async move {
            let _ = conn.await;
        }));
        client
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Must not panic: this also runs while a failed test unwinds.
        stop_immediate(&self.env, &self.data);
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// Polls `probe` every 50 ms until it returns true or `timeout` passes.
pub(crate) async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !probe().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
