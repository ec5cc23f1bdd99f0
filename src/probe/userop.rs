//! ERC-4337 v0.7/v0.8 UserOperations without I/O: the unpacked form bundlers take over JSON-RPC, packing
//! into the on-chain `PackedUserOperation` (`accountGasLimits`, `gasFees`, `initCode`, `paymasterAndData`),
//! the VerifyingPaymaster's `paymasterData` layout, and the userOpHash computed locally for v0.7
//! (`keccak(abi.encode(keccak(packed fields), entryPoint, chainId))`) and v0.8 (EIP-712 typed data).

use alloy::primitives::{Address, B256, Bytes, U256, address, keccak256};
use alloy::sol_types::{SolCall, SolValue};
use serde_json::{Map, Value, json};

use crate::chain::bindings::{ISimpleAccount, ISimpleAccountFactory, PackedUserOperation};

/// The canonical EntryPoint v0.7 address.
pub const ENTRYPOINT_V07: Address = address!("0x0000000071727De22E5E9d8BAf0edAc6f37da032");
/// The canonical EntryPoint v0.8 address.
pub const ENTRYPOINT_V08: Address = address!("0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108");

/// Which userOpHash (and therefore which account signature) an EntryPoint uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum EntryPointVersion {
    /// v0.7: the account signs the eth-signed-message of the userOpHash.
    #[serde(rename = "0.7")]
    V07,
    /// v0.8: the userOpHash is an EIP-712 digest; the account signs it as is.
    #[serde(rename = "0.8")]
    V08,
}

impl std::fmt::Display for EntryPointVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::V07 => "0.7",
            Self::V08 => "0.8",
        })
    }
}

/// Gas limits of an operation (the fixed defaults are the devnet recipe's, generous for a SimpleAccount).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GasLimits {
    pub call_gas_limit: u128,
    pub verification_gas_limit: u128,
    pub pre_verification_gas: u128,
    pub paymaster_verification_gas_limit: u128,
    pub paymaster_post_op_gas_limit: u128,
}

impl Default for GasLimits {
    fn default() -> Self {
        Self {
            call_gas_limit: 100_000,
            verification_gas_limit: 500_000,
            pre_verification_gas: 100_000,
            paymaster_verification_gas_limit: 100_000,
            paymaster_post_op_gas_limit: 0,
        }
    }
}

/// The paymaster part of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymasterFields {
    pub paymaster: Address,
    pub verification_gas_limit: u128,
    pub post_op_gas_limit: u128,
    pub data: Bytes,
}

/// A v0.7/v0.8 UserOperation in its unpacked (JSON-RPC) form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserOperation {
    pub sender: Address,
    pub nonce: U256,
    /// `None` once the account is deployed.
    pub factory: Option<Address>,
    pub factory_data: Bytes,
    pub call_data: Bytes,
    pub call_gas_limit: u128,
    pub verification_gas_limit: u128,
    pub pre_verification_gas: u128,
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
    pub paymaster: Option<PaymasterFields>,
    pub signature: Bytes,
}

/// Two 128-bit values in one word, `high` in the upper half (`accountGasLimits`, `gasFees`).
pub fn pack_u128_pair(high: u128, low: u128) -> B256 {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&high.to_be_bytes());
    out[16..].copy_from_slice(&low.to_be_bytes());
    B256::from(out)
}

/// `SimpleAccountFactory.createAccount(owner, salt)` calldata (the `factoryData` of a first operation).
pub fn create_account_call(owner: Address, salt: U256) -> Bytes {
    ISimpleAccountFactory::createAccountCall { owner, salt }
        .abi_encode()
        .into()
}

/// `SimpleAccount.execute(dest, value, func)` calldata.
pub fn execute_call(dest: Address, value: U256, func: Bytes) -> Bytes {
    ISimpleAccount::executeCall { dest, value, func }
        .abi_encode()
        .into()
}

/// VerifyingPaymaster `paymasterData`: `abi.encode(uint48 validUntil, uint48 validAfter) ++ signature`.
pub fn verifying_paymaster_data(valid_until: u64, valid_after: u64, signature: &[u8]) -> Bytes {
    let mut out = (U256::from(valid_until), U256::from(valid_after)).abi_encode();
    out.extend_from_slice(signature);
    out.into()
}

impl UserOperation {
    /// Applies gas limits (the paymaster's only when the operation has a paymaster).
    pub fn set_gas_limits(&mut self, limits: &GasLimits) {
        self.call_gas_limit = limits.call_gas_limit;
        self.verification_gas_limit = limits.verification_gas_limit;
        self.pre_verification_gas = limits.pre_verification_gas;
        if let Some(pm) = &mut self.paymaster {
            pm.verification_gas_limit = limits.paymaster_verification_gas_limit;
            pm.post_op_gas_limit = limits.paymaster_post_op_gas_limit;
        }
    }

    /// `factory ++ factoryData`, or empty.
    pub fn init_code(&self) -> Bytes {
        match self.factory {
            Some(f) => [f.as_slice(), self.factory_data.as_ref()].concat().into(),
            None => Bytes::new(),
        }
    }

    /// `verificationGasLimit << 128 | callGasLimit`.
    pub fn account_gas_limits(&self) -> B256 {
        pack_u128_pair(self.verification_gas_limit, self.call_gas_limit)
    }

    /// `maxPriorityFeePerGas << 128 | maxFeePerGas`.
    pub fn gas_fees(&self) -> B256 {
        pack_u128_pair(self.max_priority_fee_per_gas, self.max_fee_per_gas)
    }

    /// `paymaster (20) ++ uint128 verificationGasLimit (16) ++ uint128 postOpGasLimit (16) ++ paymasterData`, or empty.
    pub fn paymaster_and_data(&self) -> Bytes {
        match &self.paymaster {
            Some(pm) => [
                pm.paymaster.as_slice(),
                &pm.verification_gas_limit.to_be_bytes(),
                &pm.post_op_gas_limit.to_be_bytes(),
                pm.data.as_ref(),
            ]
            .concat()
            .into(),
            None => Bytes::new(),
        }
    }

    /// The on-chain packed form.
    pub fn packed(&self) -> PackedUserOperation {
        PackedUserOperation {
            sender: self.sender,
            nonce: self.nonce,
            initCode: self.init_code(),
            callData: self.call_data.clone(),
            accountGasLimits: self.account_gas_limits(),
            preVerificationGas: U256::from(self.pre_verification_gas),
            gasFees: self.gas_fees(),
            paymasterAndData: self.paymaster_and_data(),
            signature: self.signature.clone(),
        }
    }

    /// The hashed fields every version shares: everything but the signature, bytes fields hashed.
    fn field_words(&self) -> (Address, U256, B256, B256, B256, U256, B256, B256) {
        (
            self.sender,
            self.nonce,
            keccak256(self.init_code()),
            keccak256(&self.call_data),
            self.account_gas_limits(),
            U256::from(self.pre_verification_gas),
            self.gas_fees(),
            keccak256(self.paymaster_and_data()),
        )
    }

    /// The userOpHash as the EntryPoint of `version` at `entrypoint` on `chain_id` computes it.
    pub fn hash(&self, version: EntryPointVersion, entrypoint: Address, chain_id: u64) -> B256 {
        match version {
            EntryPointVersion::V07 => {
                let inner = keccak256(self.field_words().abi_encode());
                keccak256((inner, entrypoint, U256::from(chain_id)).abi_encode())
            }
            EntryPointVersion::V08 => {
                let typehash = keccak256(
                    "PackedUserOperation(address sender,uint256 nonce,bytes initCode,bytes callData,\
bytes32 accountGasLimits,uint256 preVerificationGas,bytes32 gasFees,bytes paymasterAndData)",
                );
                let (a, b, c, d, e, f, g, h) = self.field_words();
                let struct_hash = keccak256((typehash, a, b, c, d, e, f, g, h).abi_encode());
                let domain_typehash = keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
                );
                let domain = keccak256(
                    (
                        domain_typehash,
                        keccak256("ERC4337"),
                        keccak256("1"),
                        U256::from(chain_id),
                        entrypoint,
                    )
                        .abi_encode(),
                );
                keccak256([&[0x19, 0x01][..], domain.as_slice(), struct_hash.as_slice()].concat())
            }
        }
    }

    /// The JSON-RPC form (ERC-7769, v0.7 layout): quantities as 0x-hex, absent optional fields omitted.
    pub fn to_rpc(&self) -> Value {
        let hex = |v: u128| format!("{v:#x}");
        let mut m = Map::new();
        m.insert("sender".into(), json!(self.sender.to_checksum(None)));
        m.insert("nonce".into(), json!(format!("{:#x}", self.nonce)));
        if let Some(f) = self.factory {
            m.insert("factory".into(), json!(f.to_checksum(None)));
            m.insert("factoryData".into(), json!(self.factory_data.to_string()));
        }
        m.insert("callData".into(), json!(self.call_data.to_string()));
        m.insert("callGasLimit".into(), json!(hex(self.call_gas_limit)));
        m.insert(
            "verificationGasLimit".into(),
            json!(hex(self.verification_gas_limit)),
        );
        m.insert(
            "preVerificationGas".into(),
            json!(hex(self.pre_verification_gas)),
        );
        m.insert("maxFeePerGas".into(), json!(hex(self.max_fee_per_gas)));
        m.insert(
            "maxPriorityFeePerGas".into(),
            json!(hex(self.max_priority_fee_per_gas)),
        );
        if let Some(pm) = &self.paymaster {
            m.insert("paymaster".into(), json!(pm.paymaster.to_checksum(None)));
            m.insert(
                "paymasterVerificationGasLimit".into(),
                json!(hex(pm.verification_gas_limit)),
            );
            m.insert(
                "paymasterPostOpGasLimit".into(),
                json!(hex(pm.post_op_gas_limit)),
            );
            m.insert("paymasterData".into(), json!(pm.data.to_string()));
        }
        m.insert("signature".into(), json!(self.signature.to_string()));
        Value::Object(m)
    }

    /// The largest amount the EntryPoint may charge: all gas limits times `maxFeePerGas`.
    pub fn required_prefund(&self) -> U256 {
        let pm = self
            .paymaster
            .as_ref()
            .map(|p| U256::from(p.verification_gas_limit) + U256::from(p.post_op_gas_limit))
            .unwrap_or_default();
        let gas = U256::from(self.call_gas_limit)
            + U256::from(self.verification_gas_limit)
            + U256::from(self.pre_verification_gas)
            + pm;
        gas * U256::from(self.max_fee_per_gas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{b256, bytes};

    fn sample() -> UserOperation {
        UserOperation {
            sender: address!("0x1111111111111111111111111111111111111111"),
            nonce: U256::from(7),
            factory: Some(address!("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0")),
            factory_data: bytes!("c0ffee"),
            call_data: bytes!("b61d27f6"),
            call_gas_limit: 100_000,
            verification_gas_limit: 500_000,
            pre_verification_gas: 100_000,
            max_fee_per_gas: 3_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            paymaster: None,
            signature: Bytes::new(),
        }
    }

    #[test]
    fn gas_words_put_the_first_value_high() {
        let op = sample();
        assert_eq!(
            op.account_gas_limits(),
            b256!("0000000000000000000000000007a120000000000000000000000000000186a0")
        );
        assert_eq!(
            op.gas_fees(),
            b256!("0000000000000000000000003b9aca00000000000000000000000000b2d05e00")
        );
        assert_eq!(pack_u128_pair(u128::MAX, 0).0[..16], [0xff; 16]);
        assert_eq!(pack_u128_pair(0, u128::MAX).0[16..], [0xff; 16]);
    }

    #[test]
    fn init_code_is_factory_then_data_or_empty() {
        let mut op = sample();
        assert_eq!(
            op.init_code(),
            bytes!("9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0c0ffee")
        );
        op.factory = None;
        assert!(op.init_code().is_empty());
    }

    #[test]
    fn paymaster_and_data_layout() {
        let mut op = sample();
        assert!(op.paymaster_and_data().is_empty());
        let data = verifying_paymaster_data(0x0102, 0x03, &[0xaa; 65]);
        assert_eq!(data.len(), 64 + 65);
        assert_eq!(&data[26..32], &[0, 0, 0, 0, 1, 2]);
        assert_eq!(data[63], 3);
        op.paymaster = Some(PaymasterFields {
            paymaster: address!("0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9"),
            verification_gas_limit: 100_000,
            post_op_gas_limit: 1,
            data: data.clone(),
        });
        let pnd = op.paymaster_and_data();
        assert_eq!(pnd.len(), 20 + 16 + 16 + data.len());
        assert_eq!(
            &pnd[..20],
            address!("0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9").as_slice()
        );
        assert_eq!(&pnd[20..36], &100_000u128.to_be_bytes());
        assert_eq!(&pnd[36..52], &1u128.to_be_bytes());
        assert_eq!(&pnd[52..], data.as_ref());
    }

    #[test]
    fn rpc_form_omits_absent_fields_and_uses_hex() {
        let mut op = sample();
        let v = op.to_rpc();
        assert_eq!(v["nonce"], "0x7");
        assert_eq!(v["callGasLimit"], "0x186a0");
        assert_eq!(v["factoryData"], "0xc0ffee");
        assert_eq!(v["signature"], "0x");
        assert!(v.get("paymaster").is_none() && v.get("paymasterData").is_none());
        op.factory = None;
        let v = op.to_rpc();
        assert!(v.get("factory").is_none() && v.get("factoryData").is_none());
    }

    #[test]
    fn prefund_counts_every_limit() {
        let mut op = sample();
        assert_eq!(
            op.required_prefund(),
            U256::from(700_000u64 * 3_000_000_000)
        );
        op.paymaster = Some(PaymasterFields {
            paymaster: Address::ZERO,
            verification_gas_limit: 50_000,
            post_op_gas_limit: 50_000,
            data: Bytes::new(),
        });
        assert_eq!(
            op.required_prefund(),
            U256::from(800_000u64 * 3_000_000_000)
        );
    }

    /// Vectors computed independently with viem's `getUserOperationHash` (entryPointVersion 0.7 and 0.8).
    #[test]
    fn hash_matches_known_vectors() {
        let mut op = sample();
        op.paymaster = Some(PaymasterFields {
            paymaster: address!("0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9"),
            verification_gas_limit: 100_000,
            post_op_gas_limit: 1,
            data: bytes!("1234"),
        });
        assert_eq!(
            op.hash(EntryPointVersion::V07, ENTRYPOINT_V07, 31337),
            b256!("7c9fa6d80bdfe1df41dea7c3172d6242c06ff468654006bdafebab095bfc39a1")
        );
        assert_eq!(
            op.hash(EntryPointVersion::V08, ENTRYPOINT_V08, 31337),
            b256!("cd39894cd16c3afa2e510d7a33043002337d7e8b9e092469344e5590c90b8d2f")
        );
    }

    #[test]
    fn hash_depends_on_version_chain_and_entrypoint_but_not_signature() {
        let op = sample();
        let h7 = op.hash(EntryPointVersion::V07, ENTRYPOINT_V07, 31337);
        let h8 = op.hash(EntryPointVersion::V08, ENTRYPOINT_V08, 31337);
        assert_ne!(h7, h8);
        assert_ne!(h7, op.hash(EntryPointVersion::V07, ENTRYPOINT_V07, 1));
        assert_ne!(h7, op.hash(EntryPointVersion::V07, ENTRYPOINT_V08, 31337));
        let mut signed = op.clone();
        signed.signature = bytes!("0102");
        assert_eq!(
            h7,
            signed.hash(EntryPointVersion::V07, ENTRYPOINT_V07, 31337)
        );
    }
}
