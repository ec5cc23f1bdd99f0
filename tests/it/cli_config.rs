//! CLI behaviour around configuration: lookup, errors with file and line, exit codes, redaction.

use predicates::prelude::*;

use crate::support::{Sandbox, devnet, free_port};

const PM: &str = "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9";
const EP07: &str = "0x0000000071727De22E5E9d8BAf0edAc6f37da032";

#[test]
fn unknown_key_exits_2_naming_file_line_and_hint() {
    let sb = Sandbox::new();
    let path = sb.write(
        "butler.toml",
        "[chain]\nrpc_url = \"http://127.0.0.1:1\"\nchian_id = 1\n",
    );
    sb.butler()
        .args(["--config", path.to_str().unwrap(), "config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("{}:3:1", path.display())))
        .stderr(predicate::str::contains("unknown field `chian_id`"))
        .stderr(predicate::str::contains("did you mean `chain_id`?"));
}

#[test]
fn malformed_address_exits_2_naming_the_line() {
    let sb = Sandbox::new();
    let path = sb.write(
        "cwd/butler.toml",
        &format!(
            "[[paymasters]]\nname = \"pm\"\naddress = \"0xnothex\"\nentrypoint = \"{EP07}\"\n"
        ),
    );
    sb.butler()
        .args(["paymaster", "status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("{}:3", path.display())));
}

#[test]
fn unreachable_rpc_exits_1_naming_the_url() {
    let sb = Sandbox::new();
    let port = free_port();
    sb.butler()
        .env("BUTLER_CHAIN__RPC_URL", format!("http://127.0.0.1:{port}"))
        .env("BUTLER_CHAIN__MAX_RETRIES", "0")
        .args(["chain", "status"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("127.0.0.1:{port}")));
}

#[test]
fn missing_rpc_is_a_configuration_error() {
    let sb = Sandbox::new();
    sb.butler()
        .args(["chain", "status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("rpc_url").and(predicate::str::contains("--rpc-url")));
}

#[test]
fn wrong_chain_id_exits_2_everywhere() {
    let Some(dn) = devnet::shared() else { return };
    let sb = Sandbox::new();
    let cfg = sb.write(
        "butler.toml",
        &format!(
            "[chain]\nrpc_url = \"{}\"\nchain_id = 1\n\n[[paymasters]]\nname = \"pm\"\naddress = \"{PM}\"\nentrypoint = \"{EP07}\"\n",
            dn.rpc()
        ),
    );
    let cfg = cfg.to_str().unwrap();
    for args in [&["chain", "status"][..], &["paymaster", "status"][..]] {
        sb.butler()
            .args(["--config", cfg])
            .args(args)
            .assert()
            .code(2)
            .stderr(
                predicate::str::contains("chain id mismatch")
                    .and(predicate::str::contains("31337")),
            );
    }
    sb.butler()
        .args(["--config", cfg, "health"])
        .assert()
        .code(2)
        .stdout(
            predicate::str::contains("FAIL").and(predicate::str::contains("chain id mismatch")),
        );
}

#[test]
fn lookup_uses_xdg_config_dir_and_butler_config_env() {
    let sb = Sandbox::new();
    sb.write(
        "xdg-config/butler/butler.toml",
        "[chain]\nrpc_url = \"http://xdg.example:1\"\n",
    );
    sb.butler()
        .args(["config", "show", "--output", "json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("http://xdg.example:1"));
    let env_cfg = sb.write("env.toml", "[chain]\nrpc_url = \"http://env.example:2\"\n");
    sb.butler()
        .env("BUTLER_CONFIG", &env_cfg)
        .args(["config", "show", "--output", "json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("http://env.example:2"));
}

#[test]
fn show_redacts_secrets_and_check_reports_the_file() {
    let sb = Sandbox::new();
    let token = sb.write("token", "  supersecret\n");
    let cfg = sb.write(
        "cwd/butler.toml",
        &format!("[api]\nadmin_token_file = \"{}\"\n", token.display()),
    );
    let out = sb
        .butler()
        .env("BUTLER_FEES__ADMIN_TOKEN", "envsecret")
        .args(["config", "show"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        !text.contains("supersecret") && !text.contains("envsecret"),
        "{text}"
    );
    assert!(text.contains("<redacted>"), "{text}");
    sb.butler()
        .args(["config", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains(cfg.display().to_string()));
}

#[test]
fn secret_in_file_is_refused() {
    let sb = Sandbox::new();
    let cfg = sb.write("cwd/butler.toml", "[fees]\nadmin_token = \"abc\"\n");
    sb.butler()
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("{}:2", cfg.display())))
        .stderr(predicate::str::contains("BUTLER_FEES__ADMIN_TOKEN"));
}

#[test]
fn init_writes_the_example_and_never_overwrites() {
    let sb = Sandbox::new();
    let example =
        std::fs::read_to_string(crate::support::repo_root().join("config/butler.example.toml"))
            .unwrap();
    sb.butler()
        .args(["config", "init"])
        .assert()
        .success()
        .stdout(predicate::eq(example.clone()));
    let target = sb.path().join("new/butler.toml");
    sb.butler()
        .args(["config", "init", "--path", target.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), example);
    std::fs::write(&target, "# mine\n").unwrap();
    sb.butler()
        .args(["config", "init", "--path", target.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "# mine\n");
}

#[test]
fn env_override_beats_the_file() {
    let sb = Sandbox::new();
    sb.write(
        "cwd/butler.toml",
        "[chain]\nrpc_url = \"http://file.example:1\"\nchain_id = 5\n",
    );
    sb.butler()
        .env("BUTLER_CHAIN__CHAIN_ID", "7")
        .args(["config", "show", "--output", "json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"chain_id\": 7"));
}

#[test]
fn show_writes_addresses_checksummed() {
    let sb = Sandbox::new();
    sb.write(
        "cwd/butler.toml",
        &format!(
            "[[paymasters]]\nname = \"pm\"\naddress = \"{}\"\nentrypoint = \"{EP07}\"\n",
            PM.to_lowercase()
        ),
    );
    for output in ["table", "json"] {
        sb.butler()
            .args(["config", "show", "--output", output])
            .assert()
            .success()
            .stdout(predicate::str::contains(PM).and(predicate::str::contains(EP07)));
    }
}

#[test]
fn an_env_address_with_a_wrong_checksum_exits_2_naming_the_variable() {
    let sb = Sandbox::new();
    sb.write(
        "cwd/butler.toml",
        &format!("[[paymasters]]\nname = \"pm\"\naddress = \"{PM}\"\nentrypoint = \"{EP07}\"\n"),
    );
    // the last letter's case flipped: a typo EIP-55 catches
    let typo = format!("{}c{}", &PM[..PM.len() - 2], &PM[PM.len() - 1..]);
    sb.butler()
        .env("BUTLER_PAYMASTERS__0__ADDRESS", &typo)
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("BUTLER_PAYMASTERS__0__ADDRESS"))
        .stderr(predicate::str::contains("EIP-55"));
    sb.butler()
        .env("BUTLER_PAYMASTERS__0__ADDRESS", PM.to_lowercase())
        .args(["config", "check"])
        .assert()
        .success();
}
