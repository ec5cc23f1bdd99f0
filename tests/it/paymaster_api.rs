//! `POST /api/admin/paymaster/config` on `serve --watcher` against the devnet: dry run by default (the call
//! and its calldata, nothing sent), `"format": "safe"` answers a Safe batch with the same calldata,
//! `"dryRun": false` sends from the admin key (env `BUTLER_PAYMASTER_OPS__ADMIN_KEY`) and changes
//! `getDepositInfo`; a paymaster the key does not own is refused (403) before sending; bad input gets 4xx.

use alloy::signers::local::PrivateKeySigner;
use serde_json::{Value, json};

use crate::paymaster_support::*;
use crate::support::api::{ADMIN, ApiServer, client};
use crate::support::devnet;
use crate::watcher_support::calldata;

#[tokio::test(flavor = "multi_thread")]
async fn the_config_route_shows_exports_and_sends_admin_writes() {
    let Some(dn) = devnet::shared() else { return };
    let (own, other, key, owner) = tokio::task::block_in_place(|| {
        let own = Pm::new(dn, "2", "0", "");
        let (key, owner) = own.new_owner();
        let other = Pm::new(dn, "1", "0", "");
        let stranger = PrivateKeySigner::random().address().to_checksum(None);
        send_from_dev(
            dn,
            &other.pm,
            &calldata("transferOwnership(address)", &[&stranger]),
            Default::default(),
        );
        (own, other, key, owner)
    });
    let server = ApiServer::start(
        &format!(
            "[chain]\nrpc_url = \"{}\"\nchain_id = 31337\n\
             [[paymasters]]\nname = \"own\"\naddress = \"{}\"\nentrypoint = \"{}\"\n\
             [[paymasters]]\nname = \"other\"\naddress = \"{}\"\nentrypoint = \"{}\"\n",
            dn.rpc(),
            own.pm,
            own.ep,
            other.pm,
            other.ep
        ),
        &[("BUTLER_PAYMASTER_OPS__ADMIN_KEY", &key)],
    );
    let c = client();
    let post = |body: Value| {
        let c = c.clone();
        let url = server.url("/api/admin/paymaster/config");
        async move {
            let res = c
                .post(url)
                .bearer_auth(ADMIN)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let dest = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    let withdraw = json!({"paymaster": "own", "action": "withdraw", "to": dest, "amountWei": wei("0.5").to_string()});
    let expected = calldata(
        "withdrawTo(address,uint256)",
        &[dest, &wei("0.5").to_string()],
    );

    let (status, v) = post(withdraw.clone()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["dryRun"], true, "dryRun defaults to true");
    assert_eq!(v["call"]["data"], expected.as_str());
    assert_eq!(v["call"]["to"], own.pm.as_str());

    let mut safe = withdraw.clone();
    safe["format"] = json!("safe");
    let (status, v) = post(safe).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["chainId"], "31337");
    assert_eq!(v["transactions"][0]["data"], expected.as_str());
    assert_eq!(v["meta"]["createdFromSafeAddress"], owner.to_checksum(None));
    assert_eq!(
        tokio::task::block_in_place(|| own.deposit_info().0),
        wei("2"),
        "nothing sent yet"
    );

    let mut send = withdraw.clone();
    send["dryRun"] = json!(false);
    let (status, v) = post(send).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["after"]["depositWei"], wei("1.5").to_string());
    assert_eq!(v["before"]["depositWei"], wei("2").to_string());
    assert!(v["txHash"].is_string());
    assert_eq!(
        tokio::task::block_in_place(|| own.deposit_info().0),
        wei("1.5")
    );

    let (status, v) =
        post(json!({"paymaster": "other", "action": "stake_unlock", "dryRun": false})).await;
    assert_eq!(status, 403, "{v}");
    assert!(v["error"].as_str().unwrap().contains("owner()"), "{v}");

    for (body, code) in [
        (json!({"paymaster": "nope", "action": "stake_unlock"}), 404),
        (json!({"paymaster": "own", "action": "explode"}), 422),
        (json!({"paymaster": "own", "action": "deposit"}), 422),
        (
            json!({"paymaster": "own", "action": "deposit", "amountWei": "1.5"}),
            422,
        ),
        (
            json!({"paymaster": "own", "action": "stake_unlock", "extra": 1}),
            400,
        ),
        (
            json!({"paymaster": "own", "action": "stake_unlock", "format": "csv"}),
            422,
        ),
    ] {
        let (status, v) = post(body.clone()).await;
        assert_eq!(status, code, "{body} → {v}");
        assert!(v["error"].is_string());
    }
    let res = c
        .post(server.url("/api/admin/paymaster/config"))
        .json(&withdraw)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the admin token is needed");
}
