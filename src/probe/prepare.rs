//! Building and signing one probe operation: a fresh owner key and salt, the counterfactual sender, its
//! nonce, gas prices and limits, the paymaster's signature or the funder's deposit, the userOpHash checked
//! against the EntryPoint's `getUserOpHash`, and the account's signature. Also the checks made once
//! before the first operation (contracts exist, the bundler serves the EntryPoint, the signer fits).

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::aliases::{U48, U192};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::Mutex;

use super::bundler::{BundlerClient, GasPrice};
use super::userop::{
    EntryPointVersion, GasLimits, PaymasterFields, UserOperation, create_account_call,
    execute_call, verifying_paymaster_data,
};
use super::{Funding, ProbeError, ProbeSettings};
use crate::chain::ChainClient;
use crate::chain::bindings::{IEntryPoint, ISimpleAccountFactory, IVerifyingPaymaster};

/// What every operation of one run shares.
pub(super) struct Env {
    pub client: ChainClient,
    pub chain_id: u64,
    pub bundler: BundlerClient,
    pub settings: ProbeSettings,
    pub version: EntryPointVersion,
    /// The funder's signing provider and a lock that keeps its transactions' nonces apart.
    pub funder: Option<(DynProvider, Mutex<()>)>,
}

/// A signed operation ready to send, with the hash it must be known by.
pub(super) struct Prepared {
    pub op: UserOperation,
    pub hash: B256,
}

/// Checks the settings against the chain and the bundler, and finds the EntryPoint's version.
pub(super) async fn preflight(
    client: &ChainClient,
    chain_id: u64,
    settings: &ProbeSettings,
    bundler: &BundlerClient,
) -> Result<EntryPointVersion, ProbeError> {
    let mut contracts = vec![
        ("EntryPoint", settings.entrypoint),
        ("SimpleAccountFactory", settings.factory),
    ];
    if let Funding::Sponsored { paymaster, .. } = &settings.funding {
        contracts.push(("paymaster", *paymaster));
    }
    for (what, address) in contracts {
        let code = client
            .provider()
            .get_code_at(address)
            .await
            .map_err(client.rpc_err("eth_getCode"))?;
        if code.is_empty() {
            return Err(ProbeError::NoContract { what, address });
        }
    }
    let supported = bundler.health().await?.supported_entry_points;
    if !supported.contains(&settings.entrypoint) {
        return Err(ProbeError::UnsupportedEntryPoint {
            url: bundler.url().to_string(),
            entrypoint: settings.entrypoint,
            supported: supported
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    if let Funding::Sponsored { paymaster, signer } = &settings.funding {
        let pm = IVerifyingPaymaster::new(*paymaster, client.provider());
        match pm.verifyingSigner().call().await {
            Ok(expected) if expected != signer.address() => {
                return Err(ProbeError::SignerMismatch {
                    paymaster: *paymaster,
                    signer: signer.address(),
                    expected,
                });
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(
                "paymaster {paymaster} has no verifyingSigner() ({e}); sending anyway"
            ),
        }
    }
    detect_version(client, chain_id, settings.entrypoint).await
}

/// Compares the EntryPoint's `getUserOpHash` of a sample operation with the v0.7 and v0.8 hashes.
async fn detect_version(
    client: &ChainClient,
    chain_id: u64,
    entrypoint: Address,
) -> Result<EntryPointVersion, ProbeError> {
    let sample = UserOperation {
        sender: entrypoint,
        nonce: U256::from(1),
        factory: None,
        factory_data: Bytes::new(),
        call_data: Bytes::from_static(&[1, 2, 3]),
        call_gas_limit: 1,
        verification_gas_limit: 2,
        pre_verification_gas: 3,
        max_fee_per_gas: 4,
        max_priority_fee_per_gas: 5,
        paymaster: None,
        signature: Bytes::new(),
    };
    let onchain = onchain_hash(client, entrypoint, &sample).await?;
    let v07 = sample.hash(EntryPointVersion::V07, entrypoint, chain_id);
    let v08 = sample.hash(EntryPointVersion::V08, entrypoint, chain_id);
    if onchain == v07 {
        Ok(EntryPointVersion::V07)
    } else if onchain == v08 {
        Ok(EntryPointVersion::V08)
    } else {
        Err(ProbeError::UnknownEntryPoint {
            entrypoint,
            onchain,
            v07,
            v08,
        })
    }
}

async fn onchain_hash(
    client: &ChainClient,
    entrypoint: Address,
    op: &UserOperation,
) -> Result<B256, ProbeError> {
    IEntryPoint::new(entrypoint, client.provider())
        .getUserOpHash(op.packed())
        .call()
        .await
        .map_err(|e| {
            client
                .call_err(format!("EntryPoint {entrypoint} getUserOpHash"), e)
                .into()
        })
}

/// Builds, funds or sponsors, and signs one operation. `sender` is set as soon as it is known.
pub(super) async fn prepare(
    env: &Env,
    sender_out: &mut Option<Address>,
) -> Result<Prepared, ProbeError> {
    let s = &env.settings;
    let provider = env.client.provider();
    let owner = PrivateKeySigner::random();
    let salt = U256::from_be_bytes(rand::random::<[u8; 32]>());
    let sender = ISimpleAccountFactory::new(s.factory, provider)
        .getAddress(owner.address(), salt)
        .call()
        .await
        .map_err(|e| {
            env.client
                .call_err(format!("SimpleAccountFactory {} getAddress", s.factory), e)
        })?;
    *sender_out = Some(sender);
    let ep = IEntryPoint::new(s.entrypoint, provider);
    let (nonce, price) = tokio::join!(
        async { ep.getNonce(sender, U192::ZERO).call().await },
        gas_price(env),
    );
    let nonce = nonce.map_err(|e| {
        env.client
            .call_err(format!("EntryPoint {} getNonce({sender})", s.entrypoint), e)
    })?;
    let price = price?;
    let limits = GasLimits::default();
    let dummy_signature = Bytes::from(sign(&owner, EntryPointVersion::V08, B256::ZERO)?);
    let mut op = UserOperation {
        sender,
        nonce,
        factory: Some(s.factory),
        factory_data: create_account_call(owner.address(), salt),
        call_data: execute_call(owner.address(), U256::ZERO, Bytes::new()),
        call_gas_limit: limits.call_gas_limit,
        verification_gas_limit: limits.verification_gas_limit,
        pre_verification_gas: limits.pre_verification_gas,
        max_fee_per_gas: price.max_fee_per_gas,
        max_priority_fee_per_gas: price.max_priority_fee_per_gas,
        paymaster: match &s.funding {
            Funding::Sponsored { paymaster, .. } => Some(PaymasterFields {
                paymaster: *paymaster,
                verification_gas_limit: limits.paymaster_verification_gas_limit,
                post_op_gas_limit: limits.paymaster_post_op_gas_limit,
                data: verifying_paymaster_data(0, 0, &dummy_signature),
            }),
            Funding::SelfFunded { .. } => None,
        },
        signature: dummy_signature,
    };
    if s.estimate_gas {
        match env.bundler.estimate_gas(&op, s.entrypoint, &limits).await {
            Ok(estimated) => op.set_gas_limits(&estimated),
            Err(e) => tracing::warn!("gas estimation failed, using the fixed limits: {e}"),
        }
    }
    match &s.funding {
        Funding::Sponsored { paymaster, signer } => {
            sponsor(env, &mut op, *paymaster, signer).await?
        }
        Funding::SelfFunded { .. } => {
            let prefund = op.required_prefund();
            fund(env, sender, prefund + prefund / U256::from(5)).await?
        }
    }
    let hash = op.hash(env.version, s.entrypoint, env.chain_id);
    let onchain = onchain_hash(&env.client, s.entrypoint, &op).await?;
    if onchain != hash {
        return Err(ProbeError::HashMismatch {
            local: hash,
            source_name: "the EntryPoint",
            other: onchain,
        });
    }
    op.signature = sign(&owner, env.version, hash)?.into();
    Ok(Prepared { op, hash })
}

/// The bundler's gas price (`pimlico_getUserOperationGasPrice`), else the node's EIP-1559 estimate, else its gas price.
async fn gas_price(env: &Env) -> Result<GasPrice, ProbeError> {
    match env.bundler.pimlico_gas_price().await {
        Ok(p) => return Ok(p),
        Err(e) => tracing::debug!("no gas price from the bundler, asking the node: {e}"),
    }
    let provider = env.client.provider();
    match provider.estimate_eip1559_fees().await {
        Ok(f) => Ok(GasPrice {
            max_fee_per_gas: f.max_fee_per_gas,
            max_priority_fee_per_gas: f.max_priority_fee_per_gas,
        }),
        Err(e) => {
            tracing::debug!("no EIP-1559 fee estimate from the node, using eth_gasPrice: {e}");
            let p = provider
                .get_gas_price()
                .await
                .map_err(env.client.rpc_err("eth_gasPrice"))?;
            Ok(GasPrice {
                max_fee_per_gas: p,
                max_priority_fee_per_gas: p,
            })
        }
    }
}

/// Signs `op` for the VerifyingPaymaster: `getHash(op, validUntil, validAfter)` as an eth-signed message.
async fn sponsor(
    env: &Env,
    op: &mut UserOperation,
    paymaster: Address,
    signer: &PrivateKeySigner,
) -> Result<(), ProbeError> {
    let provider = env.client.provider();
    let head = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .map_err(env.client.rpc_err("eth_getBlockByNumber"))?;
    let now = head.map(|b| b.header.timestamp).unwrap_or_default();
    let valid_until = now + env.settings.inclusion_timeout.as_secs() + 300;
    let valid_after = 0;
    let pm_hash = IVerifyingPaymaster::new(paymaster, provider)
        .getHash(op.packed(), U48::from(valid_until), U48::from(valid_after))
        .call()
        .await
        .map_err(|e| {
            env.client
                .call_err(format!("paymaster {paymaster} getHash"), e)
        })?;
    let signature = signer
        .sign_message_sync(pm_hash.as_slice())
        .map_err(|e| ProbeError::Sign(e.to_string()))?;
    if let Some(pm) = &mut op.paymaster {
        pm.data = verifying_paymaster_data(valid_until, valid_after, &signature.as_bytes());
    }
    Ok(())
}

/// The funder's `depositTo(sender)` with `amount`, waited for.
async fn fund(env: &Env, sender: Address, amount: U256) -> Result<(), ProbeError> {
    let Some((provider, lock)) = &env.funder else {
        return Err(ProbeError::Funding("no funder key".into()));
    };
    let ep = IEntryPoint::new(env.settings.entrypoint, provider);
    let pending = {
        let _guard = lock.lock().await;
        ep.depositTo(sender)
            .value(amount)
            .send()
            .await
            .map_err(|e| ProbeError::Funding(e.to_string()))?
    };
    let receipt = pending
        .with_timeout(Some(env.settings.inclusion_timeout))
        .get_receipt()
        .await
        .map_err(|e| ProbeError::Funding(e.to_string()))?;
    if !receipt.status() {
        return Err(ProbeError::Funding(format!(
            "transaction {} reverted",
            receipt.transaction_hash
        )));
    }
    Ok(())
}

/// The account's signature over `hash`: an eth-signed message for v0.7, the raw EIP-712 digest for v0.8.
fn sign(
    owner: &PrivateKeySigner,
    version: EntryPointVersion,
    hash: B256,
) -> Result<Vec<u8>, ProbeError> {
    let signature = match version {
        EntryPointVersion::V07 => owner.sign_message_sync(hash.as_slice()),
        EntryPointVersion::V08 => owner.sign_hash_sync(&hash),
    }
    .map_err(|e| ProbeError::Sign(e.to_string()))?;
    Ok(signature.as_bytes().to_vec())
}
