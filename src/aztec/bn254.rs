//! BN254 attester keys: pk1 = sk·G1, pk2 = sk·G2, the proof of possession sk·H(pk1) with the rollup's
//! try-and-increment hash to G1, and the pairing check the GSE runs on registration (done here first, so a
//! bad key never reaches calldata).

use alloy::primitives::{B256, Bytes, U256, keccak256};
use alloy::sol_types::SolValue;
use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInt, Field, PrimeField, Zero};

use super::AztecError;
use super::bindings::{G1Point, G2Point};

/// `bytes32("AZTEC_BLS_POP_BN254_V1")`: the domain of the registration digest.
pub const POP_DOMAIN: &[u8] = b"AZTEC_BLS_POP_BN254_V1";

/// A BN254 secret key with its public keys and proof of possession, as the contracts take them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlsPublic {
    pub pk1: G1Point,
    pub pk2: G2Point,
    pub pop: G1Point,
}

/// A BN254 secret key (a scalar of the group order).
#[derive(Clone)]
pub struct BlsSecret(Fr);

impl BlsSecret {
    /// A fresh key from the operating system's random source.
    pub fn random() -> Self {
        loop {
            let bytes: [u8; 64] = rand::random();
            let sk = Fr::from_le_bytes_mod_order(&bytes);
            if !sk.is_zero() {
                return Self(sk);
            }
        }
    }

    /// A key from its 32-byte big-endian encoding (must be a non-zero scalar below the group order).
    pub fn from_be_bytes(bytes: &[u8; 32]) -> Result<Self, AztecError> {
        let v = U256::from_be_bytes(*bytes);
        let sk = Fr::from_bigint(BigInt::new(v.into_limbs())).ok_or_else(|| {
            AztecError::Key("BN254 secret key is not below the group order".into())
        })?;
        if sk.is_zero() {
            return Err(AztecError::Key("BN254 secret key is zero".into()));
        }
        Ok(Self(sk))
    }

    /// The 32-byte big-endian encoding.
    pub fn to_be_bytes(&self) -> [u8; 32] {
        U256::from_limbs(self.0.into_bigint().0).to_be_bytes()
    }

    /// pk1, pk2 and the proof of possession.
    pub fn public(&self) -> BlsPublic {
        let pk1 = (G1Affine::generator() * self.0).into_affine();
        let pk2 = (G2Affine::generator() * self.0).into_affine();
        let pk1 = g1_point(&pk1);
        let digest = registration_digest_affine(&pk1);
        let pop = (digest * self.0).into_affine();
        BlsPublic {
            pk2: g2_point(&pk2),
            pop: g1_point(&pop),
            pk1,
        }
    }
}

fn fq_to_u256(v: &Fq) -> U256 {
    U256::from_limbs(v.into_bigint().0)
}

fn u256_to_fq(v: U256, what: &str) -> Result<Fq, AztecError> {
    Fq::from_bigint(BigInt::new(v.into_limbs())).ok_or_else(|| {
        AztecError::Key(format!("{what}: coordinate is not below the field modulus"))
    })
}

fn g1_point(p: &G1Affine) -> G1Point {
    match p.xy() {
        Some((x, y)) => G1Point {
            x: fq_to_u256(&x),
            y: fq_to_u256(&y),
        },
        None => G1Point {
            x: U256::ZERO,
            y: U256::ZERO,
        },
    }
}

fn g2_point(p: &G2Affine) -> G2Point {
    match p.xy() {
        Some((x, y)) => G2Point {
            x0: fq_to_u256(&x.c0),
            x1: fq_to_u256(&x.c1),
            y0: fq_to_u256(&y.c0),
            y1: fq_to_u256(&y.c1),
        },
        None => G2Point {
            x0: U256::ZERO,
            x1: U256::ZERO,
            y0: U256::ZERO,
            y1: U256::ZERO,
        },
    }
}

/// A G1 point from the contract form, checked to be a non-zero point of the curve's group.
pub fn g1_affine(p: &G1Point, what: &str) -> Result<G1Affine, AztecError> {
    if p.x.is_zero() && p.y.is_zero() {
        return Err(AztecError::Key(format!("{what} is the point at infinity")));
    }
    let a = G1Affine::new_unchecked(u256_to_fq(p.x, what)?, u256_to_fq(p.y, what)?);
    if !a.is_on_curve() || !a.is_in_correct_subgroup_assuming_on_curve() {
        return Err(AztecError::Key(format!(
            "{what} is not a point of BN254 G1"
        )));
    }
    Ok(a)
}

/// A G2 point from the contract form, checked to be a non-zero point of the G2 subgroup.
pub fn g2_affine(p: &G2Point, what: &str) -> Result<G2Affine, AztecError> {
    if p.x0.is_zero() && p.x1.is_zero() && p.y0.is_zero() && p.y1.is_zero() {
        return Err(AztecError::Key(format!("{what} is the point at infinity")));
    }
    let x = Fq2::new(u256_to_fq(p.x0, what)?, u256_to_fq(p.x1, what)?);
    let y = Fq2::new(u256_to_fq(p.y0, what)?, u256_to_fq(p.y1, what)?);
    let a = G2Affine::new_unchecked(x, y);
    if !a.is_on_curve() || !a.is_in_correct_subgroup_assuming_on_curve() {
        return Err(AztecError::Key(format!(
            "{what} is not a point of BN254 G2"
        )));
    }
    Ok(a)
}

fn domain() -> B256 {
    let mut d = [0u8; 32];
    d[..POP_DOMAIN.len()].copy_from_slice(POP_DOMAIN);
    B256::from(d)
}

/// H(pk1): the point a proof of possession signs (the GSE's `getRegistrationDigest`). The message is
/// `pk1.x ‖ pk1.y`; x = keccak256(abi.encode(domain, message, i)) for i = 0, 1, … until x < p and x³+3 is a
/// square; the root is the smaller one when bit 0 of keccak256(abi.encode(domain, message, 2²⁵⁶−1)) is 0.
pub fn registration_digest(pk1: &G1Point) -> G1Point {
    g1_point(&registration_digest_affine(pk1))
}

fn registration_digest_affine(pk1: &G1Point) -> G1Affine {
    let mut msg = Vec::with_capacity(64);
    msg.extend_from_slice(&pk1.x.to_be_bytes::<32>());
    msg.extend_from_slice(&pk1.y.to_be_bytes::<32>());
    let msg = Bytes::from(msg);
    let d = domain();
    let modulus = U256::from_limbs(Fq::MODULUS.0);
    let selector = keccak256((d, msg.clone(), U256::MAX).abi_encode_params());
    let pick_larger = selector[31] & 1 == 1;
    let mut i = U256::ZERO;
    loop {
        let x = U256::from_be_bytes(keccak256((d, msg.clone(), i).abi_encode_params()).0);
        i += U256::from(1);
        if x >= modulus {
            continue;
        }
        let Some(fx) = Fq::from_bigint(BigInt::new(x.into_limbs())) else {
            continue;
        };
        let rhs = fx * fx * fx + Fq::from(3u64);
        let Some(root) = rhs.sqrt() else { continue };
        let (small, large) = if fq_to_u256(&root) <= fq_to_u256(&-root) {
            (root, -root)
        } else {
            (-root, root)
        };
        let y = if pick_larger { large } else { small };
        return G1Affine::new_unchecked(fx, y);
    }
}

/// γ = keccak256(abi.encode(pk1, pk2, σ)) mod r, the challenge of the GSE's batched check.
fn gamma(pk1: &G1Point, pk2: &G2Point, sig: &G1Point) -> Fr {
    let enc = (pk1.x, pk1.y, pk2.x0, pk2.x1, pk2.y0, pk2.y1, sig.x, sig.y).abi_encode_params();
    Fr::from_be_bytes_mod_order(keccak256(enc).as_slice())
}

/// Checks a proof of possession exactly as the GSE does: e(σ + γ·pk1, −G2) · e(H(pk1) + γ·G1, pk2) = 1.
pub fn verify(public: &BlsPublic) -> Result<(), AztecError> {
    let pk1 = g1_affine(&public.pk1, "public key in G1")?;
    let pk2 = g2_affine(&public.pk2, "public key in G2")?;
    let sig = g1_affine(&public.pop, "proof of possession")?;
    let g = gamma(&public.pk1, &public.pk2, &public.pop);
    if g.is_zero() {
        return Err(AztecError::Key(
            "proof of possession: challenge is zero".into(),
        ));
    }
    let left = (sig + pk1 * g).into_affine();
    let right = (registration_digest_affine(&public.pk1) + G1Affine::generator() * g).into_affine();
    if Bn254::pairing(left, G2Affine::generator()) == Bn254::pairing(right, pk2) {
        Ok(())
    } else {
        Err(AztecError::Key(
            "proof of possession does not verify against the public keys".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_verify_and_a_tampered_proof_does_not() {
        let sk = BlsSecret::random();
        let public = sk.public();
        verify(&public).unwrap();
        let round = BlsSecret::from_be_bytes(&sk.to_be_bytes()).unwrap();
        assert_eq!(round.public(), public);
        let other = BlsSecret::random().public();
        let bad = BlsPublic {
            pop: other.pop,
            ..public.clone()
        };
        assert!(
            verify(&bad)
                .unwrap_err()
                .to_string()
                .contains("does not verify")
        );
        let mixed = BlsPublic {
            pk2: other.pk2,
            ..public
        };
        assert!(verify(&mixed).is_err());
    }

    #[test]
    fn digest_is_on_the_curve() {
        let public = BlsSecret::random().public();
        let h = registration_digest(&public.pk1);
        assert!(g1_affine(&h, "digest").is_ok());
    }
}
