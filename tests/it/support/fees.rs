//! Fee-manager test helpers: real BLS keys from fixed seeds, a `butler serve --fee-manager` child process on
//! SQLite or on a fresh database of the throwaway PostgreSQL (`BUTLER_TEST_POSTGRES_URL`), and HTTP calls.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::Connection;

use super::{Sandbox, free_port, missing_part};

pub const TOKEN: &str = "test-admin-token-0123456789";

/// A valid BLS12-381 public key from a fixed seed.
pub fn bls_key(seed: u16) -> String {
    let mut ikm = [7u8; 32];
    ikm[..2].copy_from_slice(&seed.to_be_bytes());
    let sk = blst::min_pk::SecretKey::key_gen(&ikm, &[]).unwrap();
    format!("0x{}", hex::encode(sk.sk_to_pk().compress()))
}

/// A well-formed compressed key whose x coordinate is not on the curve.
pub fn off_curve_key() -> String {
    for last in 1u8..=255 {
        let mut b = [0u8; 48];
        b[0] = 0x80;
        b[47] = last;
        if blst::min_pk::PublicKey::key_validate(&b).err()
            == Some(blst::BLST_ERROR::BLST_POINT_NOT_ON_CURVE)
        {
            return format!("0x{}", hex::encode(b));
        }
    }
    panic!("no off-curve x found");
}

/// Where the server keeps its data.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The server URL (a fresh database is created per server).
    Postgres(String),
}

impl Backend {
    /// The backend by name, or `None` (after `missing_part`) when PostgreSQL is not available.
    pub fn get(name: &str) -> Option<Backend> {
        match name {
            "sqlite" => Some(Backend::Sqlite),
            _ => match std::env::var("BUTLER_TEST_POSTGRES_URL") {
                Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
                _ => {
                    missing_part(
                        "PostgreSQL (BUTLER_TEST_POSTGRES_URL; run scripts/with-postgres.sh)",
                    );
                    None
                }
            },
        }
    }

    /// The `[fees]` lines for a fresh store.
    pub async fn config(&self, sb: &Sandbox) -> String {
        match self {
            Backend::Sqlite => format!(
                "data_dir = \"{}\"\n[fees]\n",
                sb.path().join("data").display()
            ),
            Backend::Postgres(url) => {
                let name = format!("fees_{}", rand::random::<u64>());
                let mut c = sqlx::PgConnection::connect(url)
                    .await
                    .expect("connect to test postgres");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut c)
                    .await
                    .unwrap();
                c.close().await.unwrap();
                let base = url.rsplit_once('/').unwrap().0;
                format!(
                    "data_dir = \"{}\"\n[fees]\ndatabase_url = \"{base}/{name}\"\n",
                    sb.path().join("data").display()
                )
            }
        }
    }
}

/// A running `butler serve --fee-manager`; stopped with SIGTERM on drop (and required to exit 0).
pub struct Server {
    pub sb: Sandbox,
    pub base: String,
    pub http: reqwest::Client,
    child: Option<Child>,
}

/// The butler command with the sandbox's clean environment (as `Sandbox::butler`, but spawnable).
pub fn butler_std(sb: &Sandbox) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("butler"));
    for (k, _) in std::env::vars() {
        if k.starts_with("BUTLER_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.env("XDG_CONFIG_HOME", sb.path().join("xdg-config"))
        .env("XDG_DATA_HOME", sb.path().join("xdg-data"))
        .env("HOME", sb.path())
        .current_dir(sb.path().join("cwd"));
    cmd
}

impl Server {
    pub async fn start(backend: &Backend) -> Server {
        Self::start_with(backend, Some(TOKEN)).await
    }

    pub async fn start_with(backend: &Backend, token: Option<&str>) -> Server {
        let sb = Sandbox::new();
        let config = backend.config(&sb).await;
        sb.write("cwd/butler.toml", &config);
        let port = free_port();
        let mut cmd = butler_std(&sb);
        cmd.args([
            "serve",
            "--fee-manager",
            "--fees-listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
        if let Some(t) = token {
            cmd.env("BUTLER_FEES__ADMIN_TOKEN", t);
        }
        let child = cmd.spawn().expect("spawn butler serve");
        let server = Server {
            sb,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = server
                .http
                .get(format!("{}/commit-boost/v1/mux/probe", server.base))
                .send()
                .await
                && r.status() == 404
            {
                break;
            }
            assert!(Instant::now() < deadline, "fee manager did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An admin call with the token; returns status and JSON body (Null when empty).
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call(method, path, body, Some(TOKEN)).await
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    /// POST raw bytes to the Vouch endpoint.
    pub async fn vouch_raw(&self, path: &str, body: &str) -> (u16, Value) {
        let resp = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    /// Stops the server with SIGTERM and checks it exits 0.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    assert!(
                        status.success(),
                        "fee manager exited with {status} after SIGTERM"
                    );
                    return;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("fee manager did not stop on SIGTERM");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let _ = child.wait();
        }
    }
}

/// Runs a test body on a backend, skipping (loudly) or failing when PostgreSQL is missing.
#[macro_export]
macro_rules! on_backends {
    ($body:ident) => {
        mod $body {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(b) = $crate::support::fees::Backend::get("sqlite") {
                    super::$body(b).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(b) = $crate::support::fees::Backend::get("postgres") {
                    super::$body(b).await;
                }
            }
        }
    };
}
