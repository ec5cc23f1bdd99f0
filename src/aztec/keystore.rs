//! The attester keystore (`[aztec] keys_file`): a JSON file of mode 0600 with one entry per attester (its
//! address, BN254 public keys, proof of possession and coinbase). The private keys (the attester's secp256k1
//! key and its BN254 key) are sealed with XChaCha20-Poly1305 under a scrypt key from the passphrase, or, without
//! a passphrase, kept in clear in the 0600 file. A keystore readable by group or others is refused.

use std::path::{Path, PathBuf};

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

use super::AztecError;
use super::bindings::{G1Point, G2Point, KeyStore};
use super::bn254::{BlsPublic, BlsSecret};
use crate::config::Secret;

/// The format version written.
pub const KEYSTORE_VERSION: u32 = 1;
const KDF_LOG_N: u8 = 15;

/// The keystore file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeystoreFile {
    pub version: u32,
    /// Present when the private keys are sealed with a passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
    #[serde(default)]
    pub attesters: Vec<AttesterEntry>,
}

/// How private keys are sealed: scrypt(passphrase, salt) → XChaCha20-Poly1305 key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Encryption {
    /// `scrypt`.
    pub kdf: String,
    pub log_n: u8,
    pub r: u32,
    pub p: u32,
    /// Hex.
    pub salt: String,
    /// `xchacha20poly1305`.
    pub cipher: String,
}

/// A G1 point in the keystore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct G1Json {
    pub x: U256,
    pub y: U256,
}

/// A G2 point in the keystore (`x0`/`y0` real parts, `x1`/`y1` imaginary parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct G2Json {
    pub x0: U256,
    pub x1: U256,
    pub y0: U256,
    pub y1: U256,
}

/// One attester.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttesterEntry {
    pub address: Address,
    pub public_key_g1: G1Json,
    pub public_key_g2: G2Json,
    pub proof_of_possession: G1Json,
    /// The coinbase (rewards split contract) once the attester is staked with the provider.
    #[serde(default)]
    pub coinbase: Option<Address>,
    /// Unencrypted private keys (only without a passphrase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_keys: Option<PlainKeys>,
    /// Sealed private keys (with a passphrase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_private_keys: Option<SealedKeys>,
}

/// Private keys in clear, hex.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlainKeys {
    pub eth: String,
    pub bls: String,
}

impl std::fmt::Debug for PlainKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainKeys(<redacted>)")
    }
}

/// Private keys sealed: `eth ‖ bls` (64 bytes), the attester address as associated data. Hex.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedKeys {
    pub nonce: String,
    pub ciphertext: String,
}

impl AttesterEntry {
    /// The BN254 public part as the contracts take it.
    pub fn public(&self) -> BlsPublic {
        BlsPublic {
            pk1: G1Point {
                x: self.public_key_g1.x,
                y: self.public_key_g1.y,
            },
            pk2: G2Point {
                x0: self.public_key_g2.x0,
                x1: self.public_key_g2.x1,
                y0: self.public_key_g2.y0,
                y1: self.public_key_g2.y1,
            },
            pop: G1Point {
                x: self.proof_of_possession.x,
                y: self.proof_of_possession.y,
            },
        }
    }

    /// The StakingRegistry's `KeyStore` tuple.
    pub fn key_store(&self) -> KeyStore {
        let p = self.public();
        KeyStore {
            attester: self.address,
            publicKeyG1: p.pk1,
            publicKeyG2: p.pk2,
            proofOfPossession: p.pop,
        }
    }
}

/// A keystore loaded from (or to be written to) its path.
#[derive(Debug)]
pub struct Keystore {
    pub path: PathBuf,
    pub file: KeystoreFile,
}

impl Keystore {
    /// Reads the keystore; refuses one that group or others may read.
    pub fn load(path: &Path) -> Result<Self, AztecError> {
        check_mode(path)?;
        let text = std::fs::read_to_string(path).map_err(|e| AztecError::keystore(path, e))?;
        let de = &mut serde_json::Deserializer::from_str(&text);
        let file: KeystoreFile = serde_path_to_error::deserialize(de)
            .map_err(|e| AztecError::keystore(path, format!("at {}: {}", e.path(), e.inner())))?;
        if file.version != KEYSTORE_VERSION {
            return Err(AztecError::keystore(
                path,
                format!(
                    "version {} is not supported (expected {KEYSTORE_VERSION})",
                    file.version
                ),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// The keystore at `path`, or an empty one when the file does not exist yet.
    pub fn load_or_new(path: &Path) -> Result<Self, AztecError> {
        if path.exists() {
            return Self::load(path);
        }
        Ok(Self {
            path: path.to_path_buf(),
            file: KeystoreFile {
                version: KEYSTORE_VERSION,
                ..KeystoreFile::default()
            },
        })
    }

    /// Writes the keystore atomically (a 0600 temporary file renamed over the old one).
    pub fn save(&self) -> Result<(), AztecError> {
        let mut body = serde_json::to_vec_pretty(&self.file)
            .map_err(|e| AztecError::keystore(&self.path, e))?;
        body.push(b'\n');
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::fs::create_dir_synced(dir)?;
        }
        Ok(crate::fs::atomic_write_private(&self.path, &body)?)
    }

    /// Generates `count` attesters (secp256k1 address key and BN254 key), sealing their private keys when a
    /// passphrase is given. Returns the new entries' addresses.
    pub fn generate(
        &mut self,
        count: usize,
        passphrase: Option<&Secret>,
    ) -> Result<Vec<Address>, AztecError> {
        let cipher = self.cipher(passphrase)?;
        let mut added = Vec::with_capacity(count);
        for _ in 0..count {
            let eth = PrivateKeySigner::random();
            let bls = BlsSecret::random();
            let public = bls.public();
            super::bn254::verify(&public)?;
            let address = eth.address();
            let eth_bytes: [u8; 32] = eth.to_bytes().0;
            let bls_bytes = bls.to_be_bytes();
            let (private_keys, encrypted_private_keys) = match &cipher {
                Some(c) => (None, Some(seal(c, address, &eth_bytes, &bls_bytes)?)),
                None => (
                    Some(PlainKeys {
                        eth: format!("0x{}", hex::encode(eth_bytes)),
                        bls: format!("0x{}", hex::encode(bls_bytes)),
                    }),
                    None,
                ),
            };
            self.file.attesters.push(AttesterEntry {
                address,
                public_key_g1: G1Json {
                    x: public.pk1.x,
                    y: public.pk1.y,
                },
                public_key_g2: G2Json {
                    x0: public.pk2.x0,
                    x1: public.pk2.x1,
                    y0: public.pk2.y0,
                    y1: public.pk2.y1,
                },
                proof_of_possession: G1Json {
                    x: public.pop.x,
                    y: public.pop.y,
                },
                coinbase: None,
                private_keys,
                encrypted_private_keys,
            });
            added.push(address);
        }
        Ok(added)
    }

    /// The cipher for new entries: from the file's parameters (the passphrase checked on an existing entry) or
    /// fresh ones; `None` without a passphrase (refused when the file is encrypted).
    fn cipher(
        &mut self,
        passphrase: Option<&Secret>,
    ) -> Result<Option<XChaCha20Poly1305>, AztecError> {
        let path = self.path.clone();
        match (&self.file.encryption, passphrase) {
            (Some(_), None) => Err(AztecError::keystore(
                &path,
                "the keystore is encrypted: set keystore_passphrase_file or BUTLER_AZTEC__KEYSTORE_PASSPHRASE",
            )),
            (None, None) => Ok(None),
            (None, Some(pass)) => {
                if self.file.attesters.iter().any(|a| a.private_keys.is_some()) {
                    return Err(AztecError::keystore(
                        &path,
                        "the keystore holds unencrypted keys; a passphrase would mix clear and sealed keys in one file",
                    ));
                }
                let salt: [u8; 16] = rand::random();
                let enc = Encryption {
                    kdf: "scrypt".into(),
                    log_n: KDF_LOG_N,
                    r: 8,
                    p: 1,
                    salt: hex::encode(salt),
                    cipher: "xchacha20poly1305".into(),
                };
                let cipher = derive(&path, &enc, pass)?;
                self.file.encryption = Some(enc);
                Ok(Some(cipher))
            }
            (Some(enc), Some(pass)) => {
                let cipher = derive(&path, enc, pass)?;
                if let Some(a) = self
                    .file
                    .attesters
                    .iter()
                    .find(|a| a.encrypted_private_keys.is_some())
                {
                    open(&path, &cipher, a)?;
                }
                Ok(Some(cipher))
            }
        }
    }

    /// The entry of `address`.
    pub fn find(&self, address: Address) -> Option<&AttesterEntry> {
        self.file.attesters.iter().find(|a| a.address == address)
    }
}

fn derive(path: &Path, enc: &Encryption, pass: &Secret) -> Result<XChaCha20Poly1305, AztecError> {
    if enc.kdf != "scrypt" || enc.cipher != "xchacha20poly1305" {
        return Err(AztecError::keystore(
            path,
            format!("unsupported encryption {}/{}", enc.kdf, enc.cipher),
        ));
    }
    let salt =
        hex::decode(&enc.salt).map_err(|e| AztecError::keystore(path, format!("salt: {e}")))?;
    let params = scrypt::Params::new(enc.log_n, enc.r, enc.p, 32)
        .map_err(|e| AztecError::keystore(path, format!("scrypt parameters: {e}")))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(pass.expose().as_bytes(), &salt, &params, &mut key)
        .map_err(|e| AztecError::keystore(path, format!("scrypt: {e}")))?;
    XChaCha20Poly1305::new_from_slice(&key).map_err(|e| AztecError::keystore(path, e))
}

fn seal(
    cipher: &XChaCha20Poly1305,
    address: Address,
    eth: &[u8; 32],
    bls: &[u8; 32],
) -> Result<SealedKeys, AztecError> {
    let nonce: [u8; 24] = rand::random();
    let mut msg = Vec::with_capacity(64);
    msg.extend_from_slice(eth);
    msg.extend_from_slice(bls);
    let ct = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &msg,
                aad: address.as_slice(),
            },
        )
        .map_err(|_| AztecError::Key("sealing a private key failed".into()))?;
    Ok(SealedKeys {
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ct),
    })
}

/// Opens an entry's sealed keys (a wrong passphrase fails here).
fn open(
    path: &Path,
    cipher: &XChaCha20Poly1305,
    entry: &AttesterEntry,
) -> Result<Vec<u8>, AztecError> {
    let Some(sealed) = &entry.encrypted_private_keys else {
        return Err(AztecError::keystore(
            path,
            format!("{} has no sealed keys", entry.address),
        ));
    };
    let nonce = hex::decode(&sealed.nonce)
        .map_err(|e| AztecError::keystore(path, format!("nonce: {e}")))?;
    let ct = hex::decode(&sealed.ciphertext)
        .map_err(|e| AztecError::keystore(path, format!("ciphertext: {e}")))?;
    let nonce: [u8; 24] = nonce
        .try_into()
        .map_err(|_| AztecError::keystore(path, "nonce is not 24 bytes"))?;
    cipher
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &ct,
                aad: entry.address.as_slice(),
            },
        )
        .map_err(|_| AztecError::keystore(path, "wrong passphrase (the sealed keys do not open)"))
}

fn check_mode(path: &Path) -> Result<(), AztecError> {
    private_mode(path).map_err(|m| AztecError::keystore(path, m))
}

/// Refuses a file that group or others may read or write (the message says how to fix it).
pub fn private_mode(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "mode {mode:03o} lets group or others read it; run `chmod 600 {}`",
            path.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn sealed_keystore_round_trips_and_refuses_a_wrong_passphrase_and_open_modes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let pass = Secret::new("correct horse");
        let mut ks = Keystore::load_or_new(&path).unwrap();
        let added = ks.generate(2, Some(&pass)).unwrap();
        ks.save().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("\"private_keys\""), "{text}");
        let mut again = Keystore::load(&path).unwrap();
        assert_eq!(again.file.attesters.len(), 2);
        assert_eq!(again.file.attesters[0].address, added[0]);
        super::super::bn254::verify(&again.file.attesters[1].public()).unwrap();
        let err = again
            .generate(1, Some(&Secret::new("wrong")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("wrong passphrase"), "{err}");
        let err = again.generate(1, None).unwrap_err().to_string();
        assert!(err.contains("encrypted"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Keystore::load(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn plain_keystore_keeps_keys_that_match_the_public_part() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let mut ks = Keystore::load_or_new(&path).unwrap();
        ks.generate(1, None).unwrap();
        let entry = &ks.file.attesters[0];
        let keys = entry.private_keys.clone().unwrap();
        let eth: PrivateKeySigner = keys.eth.parse().unwrap();
        assert_eq!(eth.address(), entry.address);
        let bls: [u8; 32] = hex::decode(keys.bls.trim_start_matches("0x"))
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(
            BlsSecret::from_be_bytes(&bls).unwrap().public(),
            entry.public()
        );
        assert!(!format!("{keys:?}").contains(&keys.eth));
    }
}
