//! One throw-away cluster: made from the process's `initdb` template or by a base backup,
//! started on a free port, stopped and removed on drop.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::tools::{check, free_port, fresh_dir, stop_immediate};
use super::{LocalError, PgEnv};

/// A data dir made by `initdb` and never started, copied for every new primary (one
/// `initdb` per process instead of one per cluster).
///
/// Every cluster holds an `Arc` of the template it came from; the last one dropped
/// removes it, so nothing outlives the clusters (statics are never dropped, hence the
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

fn template(env: &PgEnv) -> Result<Arc<Template>, LocalError> {
    static CURRENT: Mutex<Weak<Template>> = Mutex::new(Weak::new());
    let mut current = CURRENT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(template) = current.upgrade() {
        return Ok(template);
    }
    let root = fresh_dir(env, "template")?;
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
    check(out, "initdb of the template data dir")?;
    *current = Arc::downgrade(&template);
    Ok(template)
}

/// One running (or stopped) PostgreSQL cluster in its own temp dir, trust auth for user
/// `postgres`; stopped and removed on drop.
#[derive(Debug)]
pub struct Cluster {
    env: PgEnv,
    name: String,
    root: PathBuf,
    data: PathBuf,
    port: u16,
    /// Keeps the template alive while clusters made from it may still be made.
    template: Option<Arc<Template>>,
}

impl Cluster {
    /// The guard for a new, empty temp dir; nothing is running yet.
    fn empty(env: &PgEnv, name: &str, template: Option<Arc<Template>>) -> Result<Self, LocalError> {
        let root = fresh_dir(env, name)?;
        Ok(Cluster {
            env: env.clone(),
            name: name.to_owned(),
            data: root.join("data"),
            root,
            port: 0,
            template,
        })
    }

    /// A fresh primary (trust auth, `wal_level=replica`), started.
    ///
    /// # Errors
    ///
    /// A tool failed or a dir could not be made (nothing is left behind).
    pub fn primary(env: &PgEnv, name: &str) -> Result<Self, LocalError> {
        let mut all = Self::primaries(env, &[name])?;
        all.pop()
            .ok_or_else(|| LocalError::Unavailable("no cluster made".to_owned()))
    }

    /// Independent primaries, one per name, copied from the process's `initdb` template
    /// (much cheaper than one `initdb` each). All are running afterwards.
    ///
    /// # Errors
    ///
    /// A tool failed or a dir could not be made (the clusters made so far are removed).
    pub fn primaries(env: &PgEnv, names: &[&str]) -> Result<Vec<Self>, LocalError> {
        let template = template(env)?;
        let mut all = Vec::new();
        for name in names {
            // The guard exists before the copy, so a failure from here on cleans up.
            let mut cluster = Self::empty(env, name, Some(Arc::clone(&template)))?;
            // `cp -a` keeps the owner (root may; others copy their own files).
            let out = Command::new("cp")
                .arg("-a")
                .arg(&template.data)
                .arg(&cluster.data)
                .output();
            check(out, &format!("copy of the template data dir for {name}"))?;
            cluster.start_fresh()?;
            all.push(cluster);
        }
        Ok(all)
    }

    /// A streaming replica of `primary` (`pg_basebackup -R -X stream`), started and
    /// connected.
    ///
    /// # Errors
    ///
    /// The base backup or the start failed (nothing is left behind).
    pub fn replica_of(primary: &Cluster, name: &str) -> Result<Self, LocalError> {
        let mut c = Self::empty(&primary.env, name, primary.template.clone())?;
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
        check(out, &format!("pg_basebackup for {name}"))?;
        c.start_fresh()?;
        Ok(c)
    }

    /// Picks a free port, writes the settings and starts; retries with another port if
    /// the start fails (another process may have taken the port meanwhile).
    fn start_fresh(&mut self) -> Result<(), LocalError> {
        let mut last = None;
        for _ in 0..3 {
            self.port = free_port()?;
            self.write_settings()?;
            match self.start() {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| LocalError::Unavailable(format!("cannot start {}", self.name))))
    }

    fn write_settings(&self) -> Result<(), LocalError> {
        // Later lines win, so appending also overrides what a base backup copied from
        // the primary's postgresql.conf.
        let settings = format!(
            "\n# pharm-shard local cluster\n\
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
        fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .map_err(|source| LocalError::Io {
                what: format!("write {}", conf.display()),
                source,
            })
    }

    /// Starts the server (again) on its port.
    ///
    /// # Errors
    ///
    /// `pg_ctl start` failed; the error carries the server log.
    pub fn start(&mut self) -> Result<(), LocalError> {
        let log = self.root.join("server.log");
        let out = self
            .env
            .tool("pg_ctl")
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(&self.data)
            .arg("-l")
            .arg(&log)
            .output();
        let what = format!("pg_ctl start of {}", self.name);
        match check(out, &what) {
            Ok(_) => Ok(()),
            Err(LocalError::Tool { status, output, .. }) => {
                let server_log = fs::read_to_string(&log).unwrap_or_default();
                stop_immediate(&self.env, &self.data);
                Err(LocalError::Tool {
                    what,
                    status,
                    output: format!("{output}\nserver log:\n{server_log}"),
                })
            }
            Err(other) => Err(other),
        }
    }

    /// `pg_ctl stop -m immediate` (a crash, as far as clients can tell).
    ///
    /// # Errors
    ///
    /// `pg_ctl stop` failed.
    pub fn stop(&mut self) -> Result<(), LocalError> {
        let out = self
            .env
            .tool("pg_ctl")
            .args(["stop", "-m", "immediate", "-w", "-t", "30", "-D"])
            .arg(&self.data)
            .output();
        check(out, &format!("pg_ctl stop of {}", self.name)).map(drop)
    }

    /// The cluster's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The temp dir holding the data dir, the socket and the server log.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The TCP port on 127.0.0.1.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A libpq-style connection string for user `postgres`, database `postgres`.
    #[must_use]
    pub fn conn_string(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=5",
            self.port
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Must not panic: this also runs while a failed thread unwinds.
        stop_immediate(&self.env, &self.data);
        let _ = fs::remove_dir_all(&self.root);
    }
}
