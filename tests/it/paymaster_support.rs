//! Helpers of the paymaster-operations tests: a fresh test paymaster on the EntryPoint v0.7 of a devnet,
//! a fresh funder key, a sandbox config with `[paymaster_ops]`, and `butler paymaster ...` runs.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Output;

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use serde_json::{Value, json};

use crate::support::Sandbox;
use crate::support::devnet::Devnet;
use crate::watcher_support::{DEV_ACCOUNT, calldata, deploy, hex_u64, wait_receipt};

/// Wei of a decimal ETH string.
pub fn wei(eth: &str) -> U256 {
    butler::chain::units::parse_ether(eth).unwrap()
}

/// A test paymaster with its own funder and sandbox.
pub struct Pm<'a> {
    pub dn: &'a Devnet,
    pub sb: Sandbox,
    pub config: PathBuf,
    pub data: PathBuf,
    pub pm: String,
    pub ep: String,
    pub funder: PrivateKeySigner,
}

/// Sends `value` wei from account 0 to `to` with `data` and waits for success.
pub fn send_from_dev(dn: &Devnet, to: &str, data: &str, value: U256) -> Value {
    let hash = dn.rpc_call(
        "eth_sendTransaction",
        json!([{"from": DEV_ACCOUNT, "to": to, "data": data, "value": format!("0x{value:x}"), "gas": "0x1000000"}]),
    );
    let r = wait_receipt(dn.rpc(), hash.as_str().unwrap());
    assert_eq!(r["status"], "0x1", "{r}");
    r
}

impl<'a> Pm<'a> {
    /// Deploys a TestPaymaster (owner: account 0) with `deposit` ETH in the EntryPoint and a fresh funder
    /// holding `funder_eth` ETH; `extra` is appended to the config.
    pub fn new(dn: &'a Devnet, deposit: &str, funder_eth: &str, extra: &str) -> Pm<'a> {
        let ep = dn.get("ENTRYPOINT_V07").to_string();
        let ctor = format!("{:0>64}", ep.trim_start_matches("0x").to_lowercase());
        let pm = deploy(dn.rpc(), "TestPaymaster", &ctor);
        let pm = pm
            .parse::<alloy::primitives::Address>()
            .unwrap()
            .to_checksum(None);
        if wei(deposit) > U256::ZERO {
            send_from_dev(
                dn,
                &ep,
                &calldata("depositTo(address)", &[&pm]),
                wei(deposit),
            );
        }
        let funder = PrivateKeySigner::random();
        dn.rpc_call(
            "anvil_setBalance",
            json!([funder.address(), format!("0x{:x}", wei(funder_eth))]),
        );
        let sb = Sandbox::new();
        let data = sb.path().join("data");
        let key = sb.write(
            "funder.key",
            &format!("0x{}\n", hex::encode(funder.to_bytes())),
        );
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let config = sb.write(
            "butler.toml",
            &format!(
                "data_dir = \"{}\"\n[chain]\nrpc_url = \"{}\"\nchain_id = 31337\ntimeout_secs = 5\nmax_retries = 1\n\
                 [[paymasters]]\nname = \"pm\"\naddress = \"{pm}\"\nentrypoint = \"{ep}\"\n{extra}\n\
                 [paymaster_ops]\nfunder_key_file = \"{}\"\n",
                data.display(),
                dn.rpc(),
                key.display()
            ),
        );
        Pm {
            dn,
            sb,
            config,
            data,
            pm,
            ep,
            funder,
        }
    }

    /// Moves the paymaster's ownership from account 0 to a fresh funded key and returns that key (hex):
    /// butler's admin writes then never race the other tests' transactions from account 0 for a nonce.
    pub fn new_owner(&self) -> (String, alloy::primitives::Address) {
        let owner = PrivateKeySigner::random();
        self.dn.rpc_call(
            "anvil_setBalance",
            json!([owner.address(), format!("0x{:x}", wei("100"))]),
        );
        send_from_dev(
            self.dn,
            &self.pm,
            &calldata(
                "transferOwnership(address)",
                &[&owner.address().to_string()],
            ),
            U256::ZERO,
        );
        (
            format!("0x{}", hex::encode(owner.to_bytes())),
            owner.address(),
        )
    }

    /// Adds `[paymaster_ops] admin_key_file` with `key` (mode 0600) to the config.
    pub fn with_admin_key(&self, key: &str) {
        let path = self.sb.write("admin.key", &format!("{key}\n"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut text = std::fs::read_to_string(&self.config).unwrap();
        text.push_str(&format!("admin_key_file = \"{}\"\n", path.display()));
        std::fs::write(&self.config, text).unwrap();
    }

    /// `getDepositInfo(pm)` as (deposit, staked, stake, unstakeDelaySec, withdrawTime).
    pub fn deposit_info(&self) -> (U256, bool, U256, u64, u64) {
        let out = self.dn.cast(&[
            "call",
            &self.ep,
            "getDepositInfo(address)((uint256,bool,uint112,uint32,uint48))",
            &self.pm,
        ]);
        let inner = out.trim().trim_start_matches('(').trim_end_matches(')');
        let parts: Vec<&str> = inner
            .split(", ")
            .map(|p| p.split_whitespace().next().unwrap())
            .collect();
        (
            parts[0].parse().unwrap(),
            parts[1] == "true",
            parts[2].parse().unwrap(),
            parts[3].parse().unwrap(),
            parts[4].parse().unwrap(),
        )
    }

    /// `butler --config C --output json paymaster ARGS`.
    pub fn butler(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.sb.butler();
        cmd.arg("--config")
            .arg(&self.config)
            .args(["--output", "json", "paymaster"])
            .args(args);
        cmd
    }

    /// `butler paymaster ARGS` as a std process, for spawning.
    pub fn process(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = crate::watcher_support::butler_process(
            &self.sb,
            &self.config,
            &[&["--output", "json", "paymaster"], args].concat(),
        );
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    }

    /// Runs `butler paymaster topup ARGS`: exit code, the JSON records, stderr.
    pub fn topup(&self, args: &[&str]) -> (i32, Vec<Value>, String) {
        let out = self.butler(&[&["topup"], args].concat()).output().unwrap();
        parse(out)
    }

    /// The paymaster's EntryPoint deposit.
    pub fn deposit(&self) -> U256 {
        let out = self
            .dn
            .cast(&["call", &self.ep, "balanceOf(address)(uint256)", &self.pm]);
        out.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// The funder's mined nonce.
    pub fn funder_nonce(&self) -> u64 {
        hex_u64(&self.dn.rpc_call(
            "eth_getTransactionCount",
            json!([self.funder.address(), "latest"]),
        ))
    }

    /// The audit file's records.
    pub fn history(&self) -> Vec<Value> {
        let out = self.butler(&["topup", "--history"]).output().unwrap();
        let (code, records, err) = parse(out);
        assert_eq!(code, 0, "{err}");
        records
    }
}

/// Exit code, JSON array on stdout (empty when stdout is not JSON), stderr.
pub fn parse(out: Output) -> (i32, Vec<Value>, String) {
    let records: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    (
        out.status.code().unwrap_or(-1),
        records,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}
