//! Throw-away local PostgreSQL clusters started from the server binaries, for test suites
//! and for tools that need a sharded deployment without one configured.
//!
//! * The binaries come from `$PG_BIN` if set, else from `pg_config --bindir`
//!   ([`PgEnv::discover`]); [`PgEnv::for_tests`] turns their absence into a loud skip, or
//!   into a panic when `PHARM_REQUIRE_PG=1` (CI sets it).
//! * `initdb`/`postgres` refuse to run as root. When this process runs as root, every
//!   server command runs as the `postgres` system user (`runuser -u postgres --`) in a
//!   temp dir chowned to that user.
//! * Each cluster listens on `127.0.0.1` on a free port (found by binding port 0) and puts
//!   its unix socket inside its own temp dir.
//! * Primaries are copies of one data dir `initdb`-ed per process (the template, removed
//!   with the last cluster made from it); replicas come from `pg_basebackup -R`.
//! * A [`Cluster`] is an RAII guard: its `Drop` stops the server (`pg_ctl stop -m
//!   immediate`) and removes the dir, also while a panicking thread unwinds. The guard
//!   exists before its data dir is made, so a failure half-way through setup cleans up
//!   too. Dirs left behind by a killed process (its pid is gone) are swept, and their
//!   servers stopped, the first time a process asks for [`PgEnv::get`].

mod cluster;
mod tools;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub use cluster::Cluster;

/// Where the server binaries are and who must run them.
#[derive(Clone, Debug)]
pub struct PgEnv {
    bin: PathBuf,
    /// `Some("postgres")` when this process is root.
    run_as: Option<String>,
}

/// Local clusters could not be set up or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    /// The server binaries (or the means to run them) are missing.
    #[error("PostgreSQL server binaries are unusable: {0}")]
    Unavailable(String),
    /// A file-system or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A server tool ran and failed.
    #[error("{what} failed ({status}):\n{output}")]
    Tool {
        /// What was being done.
        what: String,
        /// The exit status.
        status: std::process::ExitStatus,
        /// Its standard output and error (and the server log, for a start).
        output: String,
    },
}

impl PgEnv {
    /// The environment, found once per process (dirs of dead processes are swept then).
    ///
    /// # Errors
    ///
    /// [`LocalError::Unavailable`] when the binaries are missing or cannot be run.
    pub fn get() -> Result<PgEnv, LocalError> {
        static ENV: OnceLock<Result<PgEnv, String>> = OnceLock::new();
        let found = ENV.get_or_init(|| {
            let env = PgEnv::discover().map_err(|e| match e {
                LocalError::Unavailable(why) => why,
                other => other.to_string(),
            })?;
            tools::sweep_orphans(&env);
            Ok(env)
        });
        found.clone().map_err(LocalError::Unavailable)
    }

    /// The environment for a test, or `None` after a loud skip message on stderr when
    /// PostgreSQL is not installed.
    ///
    /// # Panics
    ///
    /// When the binaries are unusable and `PHARM_REQUIRE_PG=1`.
    #[must_use]
    pub fn for_tests() -> Option<PgEnv> {
        match PgEnv::get() {
            Ok(env) => Some(env),
            Err(why) if std::env::var("PHARM_REQUIRE_PG").as_deref() == Ok("1") => {
                panic!("PHARM_REQUIRE_PG=1 but {why}")
            }
            Err(why) => {
                // Straight to the process's stderr: libtest captures `eprintln!` of
                // passing tests, and a skip must not go unnoticed.
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

    /// Finds the binaries (`$PG_BIN`, else `pg_config --bindir`) and the user to run them
    /// as, without caching or sweeping.
    ///
    /// # Errors
    ///
    /// [`LocalError::Unavailable`] naming what is missing.
    pub fn discover() -> Result<PgEnv, LocalError> {
        let unavailable = LocalError::Unavailable;
        let bin = match std::env::var_os("PG_BIN").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => {
                let out = Command::new("pg_config")
                    .arg("--bindir")
                    .output()
                    .map_err(|e| {
                        unavailable(format!("PG_BIN is unset and `pg_config` cannot run: {e}"))
                    })?;
                if !out.status.success() {
                    return Err(unavailable(
                        "PG_BIN is unset and `pg_config --bindir` failed".into(),
                    ));
                }
                PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
            }
        };
        for tool in ["initdb", "pg_ctl", "postgres", "pg_basebackup"] {
            if !bin.join(tool).is_file() {
                return Err(unavailable(format!(
                    "`{tool}` not found in {}",
                    bin.display()
                )));
            }
        }
        let run_as = if is_root() {
            if !succeeds(Command::new("id").args(["-u", "postgres"])) {
                return Err(unavailable(
                    "running as root and there is no `postgres` system user to run \
                     initdb/postgres as"
                        .into(),
                ));
            }
            if !succeeds(Command::new("runuser").arg("--version")) {
                return Err(unavailable(
                    "running as root and `runuser` (util-linux) is missing".into(),
                ));
            }
            Some("postgres".to_owned())
        } else {
            None
        };
        Ok(PgEnv { bin, run_as })
    }
}

fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
