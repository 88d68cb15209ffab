//! Throw-away `redis-server`s on loopback for tests and the load test (feature `redis`).
//!
//! * The binary is `$REDIS_SERVER`, else `redis-server` on `PATH`. [`RedisServer::for_tests`]
//!   skips loudly without it, and panics instead when `PHARM_REQUIRE_REDIS=1` (CI sets it).
//! * Each server listens on `127.0.0.1` on a free port (found by binding port 0), keeps
//!   nothing on disk (`--save ''`, no append-only file) and runs in its own temp dir.
//! * A [`RedisServer`] is an RAII guard: `Drop` kills the server and removes the dir.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starting or stopping a local server failed.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// No `redis-server` binary.
    #[error("redis-server not found (set REDIS_SERVER or put it on PATH)")]
    NotInstalled,
    /// An I/O step failed.
    #[error("{what}: {source}")]
    Io {
        /// The step.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The server did not answer PING in time.
    #[error("redis-server on port {0} did not answer PING within 10 s")]
    NotReady(u16),
}

/// A local `redis-server` (see the module documentation).
#[derive(Debug)]
pub struct RedisServer {
    binary: PathBuf,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

fn io(what: &str) -> impl FnOnce(std::io::Error) -> LocalError + '_ {
    move |source| LocalError::Io {
        what: what.to_owned(),
        source,
    }
}

fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("REDIS_SERVER") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("redis-server"))
            .find(|candidate| candidate.is_file())
    })
}

impl RedisServer {
    /// Starts a server on a free loopback port.
    ///
    /// # Errors
    ///
    /// [`LocalError`] when the binary is missing or the server does not come up.
    pub fn start() -> Result<Self, LocalError> {
        let binary = binary().ok_or(LocalError::NotInstalled)?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(io("finding a free port"))?;
        let dir = std::env::temp_dir().join(format!("pharm-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(io("creating the server's dir"))?;
        let mut server = Self {
            binary,
            port,
            dir,
            child: None,
        };
        server.restart()?;
        Ok(server)
    }

    /// A server, or `None` after a loud message when `redis-server` is not installed.
    ///
    /// # Panics
    ///
    /// When the server cannot start and `PHARM_REQUIRE_REDIS=1`, or when it is installed
    /// but does not start.
    #[must_use]
    pub fn for_tests() -> Option<Self> {
        match Self::start() {
            Ok(server) => Some(server),
            Err(why) if std::env::var("PHARM_REQUIRE_REDIS").as_deref() == Ok("1") => {
                panic!("PHARM_REQUIRE_REDIS=1 but {why}")
            }
            Err(LocalError::NotInstalled) => {
                let test = std::thread::current().name().unwrap_or("?").to_owned();
                // Straight to stderr: libtest captures the output of passing tests.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n************************************************************************\n\
                     ** SKIPPED Redis integration test `{test}`: redis-server not found.\n\
                     ** Install it (Debian: apt-get install redis-server) or set REDIS_SERVER;\n\
                     ** PHARM_REQUIRE_REDIS=1 (as in CI) turns this skip into a failure.\n\
                     ************************************************************************"
                );
                None
            }
            Err(why) => panic!("{why}"),
        }
    }

    /// `redis://127.0.0.1:<port>/`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (SIGKILL: a crash as far as clients can tell); its data is gone.
    ///
    /// # Errors
    ///
    /// [`LocalError::Io`] when it cannot be killed.
    pub fn stop(&mut self) -> Result<(), LocalError> {
        if let Some(mut child) = self.child.take() {
            child.kill().map_err(io("killing redis-server"))?;
            child.wait().map_err(io("waiting for redis-server"))?;
        }
        Ok(())
    }

    /// Starts the server again on the same port (empty).
    ///
    /// # Errors
    ///
    /// [`LocalError`] when it does not come up.
    pub fn restart(&mut self) -> Result<(), LocalError> {
        self.stop()?;
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io("starting redis-server"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.ping() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(LocalError::NotReady(self.port))
    }

    /// Sends `command` (inline form) and returns the first reply line.
    ///
    /// # Errors
    ///
    /// [`LocalError::Io`] when the server cannot be reached.
    pub fn command(&self, command: &str) -> Result<String, LocalError> {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).map_err(io("connecting to redis"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(io("setting a timeout"))?;
        stream
            .write_all(format!("{command}\r\n").as_bytes())
            .map_err(io("sending a command"))?;
        let mut reply = [0u8; 256];
        let n = stream.read(&mut reply).map_err(io("reading a reply"))?;
        Ok(String::from_utf8_lossy(&reply[..n]).trim_end().to_owned())
    }

    fn ping(&self) -> bool {
        self.command("PING").is_ok_and(|reply| reply == "+PONG")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
