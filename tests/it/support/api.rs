//! A `butler serve --watcher` process for API tests: its own config, data dir and port; stopped by PID
//! (SIGTERM on drop, or SIGKILL on demand) and restartable on the same data dir.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Sandbox, free_port};

pub const ADMIN: &str = "admin-secret-token";

/// A running API server.
pub struct ApiServer {
    pub sandbox: Sandbox,
    pub config: PathBuf,
    pub env: Vec<(String, String)>,
    pub port: u16,
    child: Option<Child>,
}

impl ApiServer {
    /// Starts a server with `config_extra` appended to a config that sets `data_dir`, extra env, and the
    /// admin token [`ADMIN`].
    pub fn start(config_extra: &str, env: &[(&str, &str)]) -> ApiServer {
        Self::start_with(config_extra, env, true)
    }

    /// As [`ApiServer::start`]; `admin` says whether to configure the admin token.
    pub fn start_with(config_extra: &str, env: &[(&str, &str)], admin: bool) -> ApiServer {
        let sandbox = Sandbox::new();
        let data = sandbox.path().join("data");
        let config = sandbox.write(
            "butler.toml",
            &format!(
                "data_dir = {:?}\n{config_extra}\n",
                data.display().to_string()
            ),
        );
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if admin {
            env.push(("BUTLER_API__ADMIN_TOKEN".into(), ADMIN.into()));
        }
        let mut s = ApiServer {
            sandbox,
            config,
            env,
            port: free_port(),
            child: None,
        };
        s.spawn();
        s
    }

    pub fn data_dir(&self) -> PathBuf {
        self.sandbox.path().join("data")
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).expect("running")
    }

    /// Starts the process and waits until `/health` answers.
    pub fn spawn(&mut self) {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("butler"));
        for (k, _) in std::env::vars() {
            if k.starts_with("BUTLER_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        cmd.env("XDG_CONFIG_HOME", self.sandbox.path().join("xdg-config"))
            .env("XDG_DATA_HOME", self.sandbox.path().join("xdg-data"))
            .env("HOME", self.sandbox.path())
            .current_dir(self.sandbox.path().join("cwd"));
        cmd.args([
            "--config",
            self.config.to_str().unwrap(),
            "serve",
            "--watcher",
            "--api-listen",
            &format!("127.0.0.1:{}", self.port),
        ])
        .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.sandbox.path().join("server.log"))
                .expect("server log"),
        ));
        self.child = Some(cmd.spawn().expect("spawn butler serve"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("server exited with {status}:\n{}", self.log());
            }
            let ok = std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok();
            if ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server did not listen within 30 s:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.sandbox.path().join("server.log")).unwrap_or_default()
    }

    /// SIGKILL, by PID, and reap.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(c.id(), nix::sys::signal::Signal::SIGKILL);
            let _ = c.wait();
        }
    }

    /// SIGTERM, by PID, and wait for the exit status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        signal(c.id(), nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = c.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        signal(c.id(), nix::sys::signal::Signal::SIGKILL);
        let _ = c.wait();
        None
    }
}

fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig);
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An HTTP client for the tests.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// A minimal valid log event.
pub fn event(msg: &str) -> serde_json::Value {
    serde_json::json!({"ts": 1730000000, "service": "test", "level": "info", "msg": msg})
}
