//! The Aztec harness: a devnet of its own with the real Aztec L1 deployment (`scripts/devnet/aztec-up.sh`, from
//! `@aztec/l1-artifacts`), the test StakingRegistry (`tests/contracts/artifacts/StakingRegistry.json`) and a stub
//! Aztec node answering `node_getNodeInfo` from the deployment's addresses.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

use super::devnet::Devnet;
use super::{Sandbox, missing_part, repo_root};

/// anvil's development accounts 5, 6 and 7 (mnemonic "test test ... junk").
pub const ADMIN_KEY: &str = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";
pub const ADMIN: &str = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
pub const NEW_ADMIN_KEY: &str =
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e";
pub const NEW_ADMIN: &str = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";
pub const STAKER_KEY: &str = "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356";
pub const STAKER: &str = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955";

/// A devnet with Aztec's L1 contracts, the StakingRegistry and a stub node.
pub struct AztecNet {
    pub devnet: Devnet,
    /// The deploy script's JSON (rollupAddress, gseAddress, registryAddress, stakingAssetAddress, ...).
    pub deploy: Value,
    pub staking_registry: String,
    pub node_url: String,
    pub sb: Sandbox,
}

impl AztecNet {
    /// Starts everything; `None` (after a loud skip message) when the devnet or the Aztec artifacts are missing.
    pub fn start() -> Option<AztecNet> {
        if !Devnet::home()
            .join("node_modules/@aztec/l1-artifacts/l1-contracts/out")
            .exists()
        {
            missing_part("@aztec/l1-artifacts in the devnet (scripts/devnet/install.sh)");
            return None;
        }
        let devnet = Devnet::start()?;
        let out = Command::new("bash")
            .arg(repo_root().join("scripts/devnet/aztec-up.sh"))
            .arg(devnet.rpc())
            .env("DEPLOYER_KEY", devnet.get("DEPLOYER_KEY"))
            .output()
            .expect("run aztec-up.sh");
        assert!(
            out.status.success(),
            "aztec-up.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let deploy: Value = serde_json::from_slice(&out.stdout).expect("deployment JSON");
        let staking_registry = deploy_registry(&devnet);
        let node_url = node_stub(json!({
            "nodeVersion": "test",
            "l1ChainId": deploy["l1ChainId"],
            "rollupVersion": deploy["rollupVersion"],
            "l1ContractAddresses": {
                "rollupAddress": deploy["rollupAddress"],
                "registryAddress": deploy["registryAddress"],
                "stakingAssetAddress": deploy["stakingAssetAddress"],
                "gseAddress": deploy["gseAddress"],
                "inboxAddress": deploy["inboxAddress"],
            },
            "protocolContractAddresses": {},
        }));
        Some(AztecNet {
            devnet,
            deploy,
            staking_registry,
            node_url,
            sb: Sandbox::new(),
        })
    }

    pub fn addr(&self, key: &str) -> String {
        self.deploy[key]
            .as_str()
            .unwrap_or_else(|| panic!("deployment has no {key}"))
            .to_string()
    }

    pub fn rollup(&self) -> String {
        self.addr("rollupAddress")
    }

    /// Writes `butler.toml` with `[chain]` and `[aztec]` (plus `extra` lines inside `[aztec]`).
    pub fn config(&self, keys_file: &std::path::Path, extra: &str) -> PathBuf {
        self.sb.write(
            "butler.toml",
            &format!(
                "[chain]\nrpc_url = \"{}\"\n\n[aztec]\nnode_url = \"{}\"\nstaking_registry = \"{}\"\nkeys_file = \"{}\"\n{extra}\n",
                self.devnet.rpc(),
                self.node_url,
                self.staking_registry,
                keys_file.display()
            ),
        )
    }

    /// A 0600 key file in the sandbox.
    pub fn key_file(&self, name: &str, key: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.sb.write(name, &format!("{key}\n"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p
    }

    /// `cast send` from `key`; panics when it fails or reverts.
    pub fn send(&self, key: &str, to: &str, args: &[&str]) -> Value {
        let mut all = vec!["send", "--json", "--private-key", key, to];
        all.extend_from_slice(args);
        let out: Value =
            serde_json::from_str(&cast(self.devnet.rpc(), &all)).expect("cast send json");
        assert_eq!(out["status"], "0x1", "cast send {args:?} reverted: {out}");
        out
    }

    /// Sends butler's printed transactions (`[{"to","value","data"}]`) from `key` with cast.
    pub fn send_planned(&self, key: &str, txs: &Value) {
        for tx in txs.as_array().expect("transaction list") {
            let to = tx["to"].as_str().unwrap();
            let value = tx["value"].as_str().unwrap();
            let data = tx["data"].as_str().unwrap();
            self.send(key, to, &[data, "--value", value]);
        }
    }

    /// `cast call`, trimmed output.
    pub fn call(&self, to: &str, sig: &str, args: &[&str]) -> String {
        let mut all = vec!["call", to, sig];
        all.extend_from_slice(args);
        cast(self.devnet.rpc(), &all)
    }

    /// A uint from `cast call` (drops cast's ` [1e18]` annotation).
    pub fn call_uint(&self, to: &str, sig: &str, args: &[&str]) -> u128 {
        let out = self.call(to, sig, args);
        out.split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{sig}: {out}"))
    }

    /// Mints `amount` staking-asset units to `to` (the deployer is its minter).
    pub fn mint_stake(&self, to: &str, amount: &str) {
        let asset = self.addr("stakingAssetAddress");
        self.send(
            self.devnet.get("DEPLOYER_KEY"),
            &asset,
            &["mint(address,uint256)", to, amount],
        );
    }
}

fn deploy_registry(devnet: &Devnet) -> String {
    let artifact: Value = serde_json::from_str(
        &std::fs::read_to_string(
            repo_root().join("tests/contracts/artifacts/StakingRegistry.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let code = artifact["bytecode"].as_str().unwrap();
    let out: Value = serde_json::from_str(&cast(
        devnet.rpc(),
        &[
            "send",
            "--json",
            "--private-key",
            devnet.get("DEPLOYER_KEY"),
            "--create",
            code,
        ],
    ))
    .unwrap();
    out["contractAddress"].as_str().unwrap().to_string()
}

/// `cast SUBCOMMAND --rpc-url RPC ARGS...` (the URL first: `send --create` takes everything after the code).
pub fn cast(rpc: &str, args: &[&str]) -> String {
    let out = Command::new(Devnet::bin("cast"))
        .arg(args[0])
        .args(["--rpc-url", rpc])
        .args(&args[1..])
        .output()
        .expect("run cast");
    assert!(
        out.status.success(),
        "cast {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A JSON-RPC server on a free loopback port answering `node_getNodeInfo` with `info` (a thread of the test).
pub fn node_stub(info: Value) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind node stub");
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let body = loop {
                let n = match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break None,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break Some(body.to_string());
                    }
                }
            };
            let Some(body) = body else { continue };
            let req: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let answer = if req["method"] == "node_getNodeInfo" {
                json!({"jsonrpc": "2.0", "id": req["id"], "result": info})
            } else {
                json!({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32601, "message": "method not found"}})
            };
            let text = answer.to_string();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    url
}
