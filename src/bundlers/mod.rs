//! Bundler supervision (docs/bundlers.md): `serve --watcher` spawns real bundlers from
//! `[[supervisor.templates]]`, registers existing ones, keeps the registry
//! (`DATA_DIR/bundlers/registry.json`), restarts crashed children with backoff, puts a policy gateway in
//! front of each spawned instance and sends every line the children print to the log store.
//!
//! [`Supervisor`] is the handle the API uses; [`Supervisor::start`] returns it with the task that owns
//! the instances' tasks (one per instance, see `instance`).

pub mod child;
pub mod client;
pub mod gateway;
mod instance;
pub mod metrics;
pub mod ports;
pub mod registry;
pub mod settings;
pub mod template;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rand::Rng as _;
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use utoipa::ToSchema;

pub use registry::{BundlerInstance, Desired, Kind, LastExit, Policy, Status};
pub use settings::SupervisorSettings;

use crate::logs::{Level, LogEvent, LogStore};
use crate::serve::Task;

/// Why the supervisor or one of its operations failed.
#[derive(Debug, thiserror::Error)]
pub enum BundlerError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bundler registry {path}: {message}")]
    Registry { path: PathBuf, message: String },
    /// The request names something wrong (an unknown base, a bad policy, a duplicate name).
    #[error("{0}")]
    Invalid(String),
    /// No such instance.
    #[error("no bundler instance `{0}`")]
    NotFound(String),
    /// The request conflicts with the state (ports or keys exhausted, wrong kind).
    #[error("{0}")]
    Conflict(String),
}

impl From<crate::fs::FsError> for BundlerError {
    fn from(e: crate::fs::FsError) -> Self {
        BundlerError::Io {
            path: e.path,
            source: e.source,
        }
    }
}

/// `POST /api/admin/bundlers/spawn` (§5.1 of the monitor plan).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpawnRequest {
    /// A `[[supervisor.templates]]` name.
    pub base: String,
    pub name: String,
    #[serde(default)]
    pub policy: Policy,
}

/// `POST /api/admin/bundlers/register` (§5.1.1).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterRequest {
    pub name: String,
    pub rpc_url: String,
    #[serde(default)]
    pub policy: Policy,
}

/// Messages to an instance's task.
enum Control {
    /// Stop the process and keep it stopped; the sender learns when it is.
    Stop(oneshot::Sender<()>),
    /// Run it (again), clearing a crash loop.
    Start,
    /// Stop the process and end the task.
    Remove(oneshot::Sender<()>),
}

struct Entry {
    record: BundlerInstance,
    control: Option<mpsc::Sender<Control>>,
    /// When the running process became ready (for the uptime metric).
    up_since: Option<Instant>,
}

impl Entry {
    fn new(record: BundlerInstance) -> Entry {
        Entry {
            record,
            control: None,
            up_since: None,
        }
    }
}

struct Inner {
    settings: SupervisorSettings,
    logs: LogStore,
    entries: Mutex<Vec<Entry>>,
    save_lock: tokio::sync::Mutex<()>,
    tracker: TaskTracker,
    cancel: CancellationToken,
    http: reqwest::Client,
}

/// The supervisor's handle. Cheap to clone.
#[derive(Clone)]
pub struct Supervisor(Arc<Inner>);

impl Supervisor {
    /// Loads the registry and returns the handle and the supervisor's task, which re-spawns the
    /// instances whose `desired` is running (a PID in the registry is never adopted or signalled), and on
    /// `cancel` stops every child and waits for them.
    pub fn start(
        settings: SupervisorSettings,
        logs: LogStore,
        cancel: CancellationToken,
    ) -> Result<(Supervisor, Task), BundlerError> {
        let path = registry::path(&settings.data_dir);
        if let Some(dir) = path.parent() {
            crate::fs::create_dir_synced(dir)?;
        }
        let records = registry::load(&path)?;
        let entries = records
            .into_iter()
            .map(|mut record| {
                if record.kind == Kind::Spawned {
                    record.pid = None;
                    record.status = match record.desired {
                        Desired::Running => Status::Down,
                        Desired::Stopped => Status::Stopped,
                    };
                }
                Entry::new(record)
            })
            .collect();
        let sup = Supervisor(Arc::new(Inner {
            settings,
            logs,
            entries: Mutex::new(entries),
            save_lock: tokio::sync::Mutex::new(()),
            tracker: TaskTracker::new(),
            cancel,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(3))
                .build()
                .unwrap_or_default(),
        }));
        let s = sup.clone();
        let task: Task = Box::pin(async move {
            s.persist().await?;
            let ids: Vec<String> =
                s.with_entries(|e| e.iter().map(|e| e.record.id.clone()).collect());
            for id in ids {
                s.launch(&id);
            }
            s.0.cancel.cancelled().await;
            s.0.tracker.close();
            s.0.tracker.wait().await;
            s.persist().await?;
            Ok(())
        });
        Ok((sup, task))
    }

    pub fn settings(&self) -> &SupervisorSettings {
        &self.0.settings
    }

    /// Every instance, in registration order.
    pub fn list(&self) -> Vec<BundlerInstance> {
        self.with_entries(|e| e.iter().map(|e| e.record.clone()).collect())
    }

    /// One instance.
    pub fn get(&self, id: &str) -> Option<BundlerInstance> {
        self.with_entries(|e| {
            e.iter()
                .find(|e| e.record.id == id)
                .map(|e| e.record.clone())
        })
    }

    /// Each instance with the seconds its current process has been up.
    pub fn uptimes(&self) -> Vec<(BundlerInstance, f64)> {
        self.with_entries(|e| {
            e.iter()
                .map(|e| {
                    let up = e.up_since.map_or(0.0, |t| t.elapsed().as_secs_f64());
                    (e.record.clone(), up)
                })
                .collect()
        })
    }

    /// Validates, allocates ports and keys, writes the registry, then starts the instance. Nothing is
    /// written when the request is refused.
    pub async fn spawn(&self, req: SpawnRequest) -> Result<BundlerInstance, BundlerError> {
        let s = &self.0.settings;
        check_name(&req.name)?;
        req.policy.validate().map_err(BundlerError::Invalid)?;
        let template = s.template(&req.base).ok_or_else(|| {
            BundlerError::Invalid(format!(
                "unknown base `{}` (templates: {})",
                req.base,
                if s.templates.is_empty() {
                    "none; add [[supervisor.templates]]".to_string()
                } else {
                    s.templates
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ))
        })?;
        let record = {
            let mut entries = self.0.entries.lock().unwrap_or_else(|p| p.into_inner());
            self.check_unique(&entries, &req.name)?;
            let taken: BTreeSet<&str> = entries
                .iter()
                .flat_map(|e| {
                    e.record
                        .executor_addresses
                        .iter()
                        .map(String::as_str)
                        .chain(e.record.utility_address.as_deref())
                })
                .collect();
            let free: Vec<&settings::PoolKey> = s
                .keys
                .iter()
                .filter(|k| !taken.contains(k.address.as_str()))
                .collect();
            let executors = if template.config_uses("executor_keys") {
                template.executor_keys_per_instance
            } else {
                0
            };
            let utility = usize::from(template.config_uses("utility_key"));
            if free.len() < executors + utility {
                return Err(BundlerError::Conflict(format!(
                    "the key pool is empty: template `{}` needs {} key(s) ({executors} executor, {utility} utility), {} of {} are free ([supervisor] executor_keys_file)",
                    template.name,
                    executors + utility,
                    free.len(),
                    s.keys.len()
                )));
            }
            let used: BTreeSet<u16> = entries
                .iter()
                .flat_map(|e| [e.record.port, e.record.internal_port])
                .flatten()
                .collect();
            let (public, internal) = ports::allocate_pair(s.port_range, &used)?;
            let record = BundlerInstance {
                id: format!("{}_{}", req.base, suffix()),
                name: req.name.clone(),
                kind: Kind::Spawned,
                base: Some(req.base.clone()),
                rpc_url: format!("http://127.0.0.1:{public}"),
                port: Some(public),
                internal_port: Some(internal),
                policy: req.policy,
                status: Status::Down,
                reason: Some("starting".to_string()),
                spawned_at: crate::telemetry::now_ms(),
                last_seen: None,
                pid: None,
                restarts: 0,
                last_exit: None,
                desired: Desired::Running,
                executor_addresses: free[..executors]
                    .iter()
                    .map(|k| k.address.clone())
                    .collect(),
                utility_address: (utility == 1).then(|| free[executors].address.clone()),
            };
            entries.push(Entry::new(record.clone()));
            record
        };
        self.commit(record).await
    }

    /// Adds an existing bundler URL (no process); it is probed like the spawned ones.
    pub async fn register(&self, req: RegisterRequest) -> Result<BundlerInstance, BundlerError> {
        check_name(&req.name)?;
        req.policy.validate().map_err(BundlerError::Invalid)?;
        let url = url::Url::parse(&req.rpc_url)
            .map_err(|e| BundlerError::Invalid(format!("rpcUrl `{}`: {e}", req.rpc_url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(BundlerError::Invalid(format!(
                "rpcUrl `{}`: expected an http or https URL",
                req.rpc_url
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(BundlerError::Invalid(
                "rpcUrl must not carry credentials (they would be shown in lists and logs)"
                    .to_string(),
            ));
        }
        let record = {
            let mut entries = self.0.entries.lock().unwrap_or_else(|p| p.into_inner());
            self.check_unique(&entries, &req.name)?;
            let record = BundlerInstance {
                id: format!("{}_{}", slug(&req.name), suffix()),
                name: req.name.clone(),
                kind: Kind::Registered,
                base: None,
                rpc_url: req.rpc_url.clone(),
                port: url.port_or_known_default(),
                internal_port: None,
                policy: req.policy,
                status: Status::Down,
                reason: Some("not probed yet".to_string()),
                spawned_at: crate::telemetry::now_ms(),
                last_seen: None,
                pid: None,
                restarts: 0,
                last_exit: None,
                desired: Desired::Running,
                executor_addresses: Vec::new(),
                utility_address: None,
            };
            entries.push(Entry::new(record.clone()));
            record
        };
        self.commit(record).await
    }

    /// Stops a spawned instance (SIGTERM to its group, SIGKILL after the grace period) and keeps it
    /// stopped, across watcher restarts too. Returns once the process is gone and its ports are free.
    pub async fn stop(&self, id: &str) -> Result<BundlerInstance, BundlerError> {
        let control = self.spawned_control(id, "stop")?;
        let (tx, rx) = oneshot::channel();
        if control.send(Control::Stop(tx)).await.is_ok() {
            let _ = rx.await;
        }
        self.get(id)
            .ok_or_else(|| BundlerError::NotFound(id.to_string()))
    }

    /// Starts a stopped (or crash-looped) spawned instance.
    pub async fn start_instance(&self, id: &str) -> Result<BundlerInstance, BundlerError> {
        let control = self.spawned_control(id, "start")?;
        self.update(id, |r| {
            r.desired = Desired::Running;
            r.reason = Some("start requested".to_string());
        });
        self.persist().await?;
        let _ = control.send(Control::Start).await;
        self.get(id)
            .ok_or_else(|| BundlerError::NotFound(id.to_string()))
    }

    /// Stops the instance if it runs, removes it from the registry and deletes its directory (its
    /// config holds its keys); its keys and ports are free again.
    pub async fn unregister(&self, id: &str) -> Result<BundlerInstance, BundlerError> {
        let control = self.with_entries(|e| {
            e.iter()
                .find(|e| e.record.id == id)
                .map(|e| e.control.clone())
        });
        let Some(control) = control else {
            return Err(BundlerError::NotFound(id.to_string()));
        };
        if let Some(c) = control {
            let (tx, rx) = oneshot::channel();
            if c.send(Control::Remove(tx)).await.is_ok() {
                let _ = rx.await;
            }
        }
        let removed = {
            let mut entries = self.0.entries.lock().unwrap_or_else(|p| p.into_inner());
            let at = entries.iter().position(|e| e.record.id == id);
            at.map(|i| entries.remove(i).record)
        };
        let mut removed = removed.ok_or_else(|| BundlerError::NotFound(id.to_string()))?;
        self.persist().await?;
        let dir = self.instance_dir(id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(BundlerError::Io { path: dir, source }),
        }
        removed.status = Status::Stopped;
        removed.pid = None;
        Ok(removed)
    }

    /// `DATA_DIR/bundlers/<id>`.
    pub fn instance_dir(&self, id: &str) -> PathBuf {
        self.0.settings.data_dir.join("bundlers").join(id)
    }

    /// Writes the registry with the new `record` (already in memory) and starts it; on a write failure
    /// the record is dropped again, so a refused request leaves nothing behind.
    async fn commit(&self, record: BundlerInstance) -> Result<BundlerInstance, BundlerError> {
        let id = record.id.clone();
        if let Err(err) = self.persist().await {
            self.with_entries_mut(|e| e.retain(|e| e.record.id != id));
            return Err(err);
        }
        self.launch(&id);
        Ok(record)
    }

    fn check_unique(&self, entries: &[Entry], name: &str) -> Result<(), BundlerError> {
        if let Some(e) = entries.iter().find(|e| e.record.name == name) {
            return Err(BundlerError::Conflict(format!(
                "a bundler named `{name}` exists already (id {})",
                e.record.id
            )));
        }
        if self.0.settings.configured_names.iter().any(|n| n == name) {
            return Err(BundlerError::Conflict(format!(
                "a bundler named `{name}` is configured in [[bundlers]]"
            )));
        }
        Ok(())
    }

    fn spawned_control(&self, id: &str, what: &str) -> Result<mpsc::Sender<Control>, BundlerError> {
        self.with_entries(|e| {
            let Some(e) = e.iter().find(|e| e.record.id == id) else {
                return Err(BundlerError::NotFound(id.to_string()));
            };
            if e.record.kind != Kind::Spawned {
                return Err(BundlerError::Conflict(format!(
                    "bundler `{id}` is registered, not spawned: there is no process to {what} (unregister it instead)"
                )));
            }
            e.control.clone().ok_or_else(|| {
                BundlerError::Conflict(format!("bundler `{id}` is not supervised yet; try again"))
            })
        })
    }

    /// Starts the task of instance `id`, unless it has one (a spawn may race the start-up's launches).
    fn launch(&self, id: &str) {
        let (tx, rx) = mpsc::channel(8);
        let kind = self.with_entries_mut(|e| {
            let e = e.iter_mut().find(|e| e.record.id == id)?;
            if e.control.is_some() {
                return None;
            }
            e.control = Some(tx);
            Some(e.record.kind)
        });
        let Some(kind) = kind else { return };
        let s = self.clone();
        let id = id.to_string();
        let cancel = self.0.cancel.child_token();
        self.0.tracker.spawn(async move {
            match kind {
                Kind::Spawned => instance::run_spawned(s, id, rx, cancel).await,
                Kind::Registered => instance::run_registered(s, id, rx, cancel).await,
            }
        });
    }

    fn with_entries<T>(&self, f: impl FnOnce(&[Entry]) -> T) -> T {
        f(&self.0.entries.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn with_entries_mut<T>(&self, f: impl FnOnce(&mut Vec<Entry>) -> T) -> T {
        f(&mut self.0.entries.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Changes one record in memory (call [`Supervisor::persist`] to write it).
    fn update(&self, id: &str, f: impl FnOnce(&mut BundlerInstance)) -> Option<BundlerInstance> {
        self.with_entries_mut(|e| {
            e.iter_mut().find(|e| e.record.id == id).map(|e| {
                f(&mut e.record);
                e.record.clone()
            })
        })
    }

    fn set_up_since(&self, id: &str, at: Option<Instant>) {
        self.with_entries_mut(|e| {
            if let Some(e) = e.iter_mut().find(|e| e.record.id == id) {
                e.up_since = at;
            }
        });
    }

    /// Writes the registry (atomically) as it is now.
    async fn persist(&self) -> Result<(), BundlerError> {
        let _guard = self.0.save_lock.lock().await;
        let records = self.list();
        let path = registry::path(&self.0.settings.data_dir);
        tokio::task::spawn_blocking(move || registry::save(&path, &records))
            .await
            .map_err(|e| BundlerError::Registry {
                path: registry::path(&self.0.settings.data_dir),
                message: e.to_string(),
            })?
    }

    /// Records an event of the supervisor's own in the log store, under the instance's id.
    async fn note(&self, id: &str, level: Level, msg: String) {
        match level {
            Level::Error | Level::Fatal | Level::Warn => tracing::warn!(bundler = id, "{msg}"),
            _ => tracing::info!(bundler = id, "{msg}"),
        }
        let now = crate::telemetry::now_ms() as f64 / 1000.0;
        let event = LogEvent {
            id: 0,
            ts: serde_json::Number::from_f64(now).unwrap_or_else(|| 0.into()),
            service: id.to_string(),
            level,
            msg,
            request_id: None,
            quote_id: None,
            user_op_hash: None,
            tx_hash: None,
            sender: None,
            meta: Some(serde_json::json!({"source": "supervisor"})),
        };
        if let Err(e) = self.0.logs.ingest(vec![event]).await {
            tracing::warn!(error = %e, "supervisor event not stored");
        }
    }
}

fn check_name(name: &str) -> Result<(), BundlerError> {
    if name.trim().is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(BundlerError::Invalid(
            "name must be 1 to 128 printable characters".to_string(),
        ));
    }
    Ok(())
}

/// Six random lowercase letters and digits.
fn suffix() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..6)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A name reduced to lowercase letters, digits and `_` (at most 24), for registered ids.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let s: String = s
        .split('_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let s: String = s.chars().take(24).collect();
    if s.is_empty() {
        "bundler".to_string()
    } else {
        s
    }
}
