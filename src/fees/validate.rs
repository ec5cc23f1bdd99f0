//! Input validation. Every check returns the canonical text that is stored and served, or a 400 that names the
//! field: EIP-55 addresses, BLS12-381 public keys (decompressed and checked by blst), regexes, integer gas
//! limits and grace periods, decimal ETH amounts, relay URLs, names and tags.

use std::fmt;

use alloy::primitives::Address;
use serde::Deserialize;

use super::{FeesError, goregex};
use crate::chain::units::{format_ether, parse_ether};

/// A scalar given as a JSON string or number, kept as its text so validation can say what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loose(pub String);

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Loose;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E>(self, v: &str) -> Result<Loose, E> {
                Ok(Loose(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Loose, E> {
                Ok(Loose(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Loose, E> {
                Ok(Loose(v.to_string()))
            }
            /// A JSON number with a fraction or an exponent, or beyond 64 bits, arrives as an `f64` and may
            /// already have lost digits (`123456789.123456789` reads as `123456789.12345679`): refused.
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Loose, E> {
                Err(E::custom(format!(
                    "the number {v} is not exact as a JSON number (it has a fraction, an exponent or more than 64 bits): give it as a string, e.g. \"0.1\""
                )))
            }
        }
        d.deserialize_any(V)
    }
}

impl From<&str> for Loose {
    fn from(s: &str) -> Self {
        Loose(s.to_string())
    }
}

/// An execution address: `0x` and 40 hex digits. Mixed case must match its EIP-55 checksum; all-lowercase
/// (or all-uppercase) is accepted. Returns the checksummed form.
pub fn address(field: &str, text: &str) -> Result<String, FeesError> {
    let t = text.trim();
    let hex = t.strip_prefix("0x").ok_or_else(|| {
        FeesError::field(
            field,
            format!("'{t}' is not an address (expected 0x and 40 hex digits)"),
        )
    })?;
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FeesError::field(
            field,
            format!("'{t}' is not an address (expected 0x and 40 hex digits)"),
        ));
    }
    let mixed =
        hex.bytes().any(|b| b.is_ascii_lowercase()) && hex.bytes().any(|b| b.is_ascii_uppercase());
    let parsed = if mixed {
        Address::parse_checksummed(t, None).map_err(|_| {
            FeesError::field(
                field,
                format!("'{t}' has an invalid EIP-55 checksum (check the address, or give it in all lowercase)"),
            )
        })?
    } else {
        t.to_ascii_lowercase()
            .parse::<Address>()
            .map_err(|e| FeesError::field(field, format!("'{t}' is not an address: {e}")))?
    };
    Ok(parsed.to_checksum(None))
}

/// The bytes of a validator public key given as `0x` and 96 hex digits (either case, surrounding whitespace
/// ignored); `None` when it does not have that shape. No curve check: this is the check of the Vouch request
/// path, where keys that are not configured are simply not answered.
pub fn pubkey_bytes(text: &str) -> Option<[u8; 48]> {
    let hex = text.trim().strip_prefix("0x")?;
    if hex.len() != 96 {
        return None;
    }
    // const-hex decodes with SIMD where the CPU has it: Vouch sends thousands of keys per request
    const_hex::decode_to_array(hex).ok()
}

/// The 400 for a value that is not shaped like a validator public key.
pub fn not_a_pubkey(field: &str, text: &str) -> FeesError {
    FeesError::field(
        field,
        format!(
            "'{}' is not a validator public key (expected 0x and 96 hex digits)",
            short(text.trim())
        ),
    )
}

/// The shape of a validator public key (`0x` and 96 hex digits), lowercased. No curve check.
pub fn pubkey_shape(field: &str, text: &str) -> Result<String, FeesError> {
    pubkey_bytes(text)
        .map(|b| format!("0x{}", hex::encode(b)))
        .ok_or_else(|| not_a_pubkey(field, text))
}

/// A BLS12-381 G1 public key: the right shape, and blst's `key_validate` accepts it (it decompresses to a
/// point on the curve, in the prime-order subgroup, not the point at infinity). Returns it lowercased.
/// Admin writes check this; the public Vouch path only checks the shape ([`pubkey_bytes`]).
pub fn bls_pubkey(field: &str, text: &str) -> Result<String, FeesError> {
    let bytes = pubkey_bytes(text).ok_or_else(|| not_a_pubkey(field, text))?;
    let key = format!("0x{}", hex::encode(bytes));
    blst::min_pk::PublicKey::key_validate(&bytes).map_err(|e| {
        let why = match e {
            blst::BLST_ERROR::BLST_BAD_ENCODING => "bad compressed encoding",
            blst::BLST_ERROR::BLST_POINT_NOT_ON_CURVE => "not a point on the curve",
            blst::BLST_ERROR::BLST_POINT_NOT_IN_GROUP => "not in the prime-order subgroup",
            blst::BLST_ERROR::BLST_PK_IS_INFINITY => "the point at infinity",
            _ => "rejected by blst",
        };
        FeesError::field(
            field,
            format!(
                "'{}' is not a valid BLS12-381 public key ({why})",
                short(&key)
            ),
        )
    })?;
    Ok(key)
}

/// A gas limit: a positive integer (JSON string or number). Returns its decimal text.
pub fn gas_limit(field: &str, value: &Loose) -> Result<String, FeesError> {
    let t = value.0.trim();
    match t.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n.to_string()),
        _ => Err(FeesError::field(
            field,
            format!("'{t}' is not a gas limit (expected a positive integer such as \"30000000\")"),
        )),
    }
}

/// The largest grace period Vouch can hold: it parses milliseconds as a Go `int64` and multiplies them into
/// a `time.Duration` (int64 nanoseconds), which overflows above this.
pub const MAX_GRACE_MS: u64 = (i64::MAX / 1_000_000) as u64;

/// A grace period in milliseconds: an integer from 0 to [`MAX_GRACE_MS`]. Returns its decimal text.
pub fn grace(field: &str, value: &Loose) -> Result<String, FeesError> {
    let t = value.0.trim();
    match t.parse::<u64>() {
        Ok(n) if n <= MAX_GRACE_MS => Ok(n.to_string()),
        Ok(_) => Err(FeesError::field(
            field,
            format!(
                "'{t}' is too large: Vouch holds a grace period as a Go time.Duration, at most {MAX_GRACE_MS} ms"
            ),
        )),
        Err(_) => Err(FeesError::field(
            field,
            format!("'{t}' is not a grace period (expected an integer number of milliseconds)"),
        )),
    }
}

/// A minimum bid value in ETH: a non-negative decimal with at most 18 decimals. Returns its canonical text
/// (`"0.50"` becomes `"0.5"`).
pub fn min_value(field: &str, value: &Loose) -> Result<String, FeesError> {
    let t = value.0.trim();
    parse_ether(t).map(format_ether).map_err(|e| {
        FeesError::field(
            field,
            format!("'{t}' is not a decimal ETH amount such as \"0.1\" ({e})"),
        )
    })
}

/// A proposer pattern: a regular expression over account names (`wallet/account`) that Go's `regexp`
/// accepts (Vouch compiles it with Go; see [`goregex`]). Returns it unchanged: it is stored as given and
/// served anchored as a whole ([`goregex::served`]).
pub fn pattern(field: &str, text: &str) -> Result<String, FeesError> {
    if text.is_empty() {
        return Err(FeesError::field(field, "must not be empty"));
    }
    if text.starts_with("0x") {
        return Err(FeesError::field(
            field,
            "must not start with 0x (it reads as a public key)",
        ));
    }
    goregex::check(text).map_err(|e| {
        FeesError::field(
            field,
            format!("'{text}' is not a regular expression Vouch (Go's regexp) accepts: {e}"),
        )
    })?;
    Ok(text.to_string())
}

/// The constructs of a pattern whose meaning differs between Go (what Vouch uses) and Rust and most other
/// tools, as `position N: message` lines; empty for a pattern Go refuses (that is an error instead).
pub fn pattern_warnings(text: &str) -> Vec<String> {
    goregex::check(text)
        .map(|c| c.warnings.iter().map(ToString::to_string).collect())
        .unwrap_or_default()
}

/// A relay URL: http(s) with a host. Returns the parsed URL's text, so the same relay is always spelled the
/// same way (Vouch matches proposer relays to base relays by this text).
pub fn relay_url(field: &str, text: &str) -> Result<String, FeesError> {
    let t = text.trim();
    let url = url::Url::parse(t)
        .map_err(|e| FeesError::field(field, format!("'{t}' is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(FeesError::field(
            field,
            format!("'{t}' must be an http:// or https:// URL with a host"),
        ));
    }
    Ok(url.to_string())
}

/// A config, pattern or mux name: 1-128 characters from `A-Z a-z 0-9 . _ -`, starting with a letter or digit.
pub fn name(field: &str, text: &str) -> Result<String, FeesError> {
    let ok = !text.is_empty()
        && text.len() <= 128
        && text.as_bytes()[0].is_ascii_alphanumeric()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(text.to_string())
    } else {
        Err(FeesError::field(
            field,
            format!(
                "'{text}' is not a valid name (1-128 characters: letters, digits, '.', '_', '-'; starting with a letter or digit)"
            ),
        ))
    }
}

/// A tag: like a name (tags are sent comma-separated in `?tags=`).
pub fn tag(field: &str, text: &str) -> Result<String, FeesError> {
    name(field, text.trim())
}

/// The first and last characters of a long value, for messages.
pub fn short(text: &str) -> String {
    if text.chars().count() <= 24 {
        return text.to_string();
    }
    let head: String = text.chars().take(10).collect();
    let tail: String = text
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{head}...{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> String {
        let sk = blst::min_pk::SecretKey::key_gen(&[seed; 32], &[]).unwrap();
        format!("0x{}", hex::encode(sk.sk_to_pk().compress()))
    }

    #[test]
    fn addresses() {
        let good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        assert_eq!(address("f", good).unwrap(), good);
        assert_eq!(address("f", &good.to_lowercase()).unwrap(), good);
        let bad = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
        let e = address("fee_recipient", bad).unwrap_err().to_string();
        assert!(
            e.starts_with("fee_recipient: ") && e.contains("EIP-55"),
            "{e}"
        );
        assert!(address("f", "0x1234").is_err());
    }

    #[test]
    fn bls_keys() {
        let k = key(1);
        assert_eq!(
            bls_pubkey("k", &k.to_uppercase().replace("0X", "0x")).unwrap(),
            k
        );
        let e = bls_pubkey("public_key", &format!("0x{}", "00".repeat(48)))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("public_key: "), "{e}");
        assert!(bls_pubkey("k", "0x1234").is_err());
    }

    #[test]
    fn pubkey_shapes() {
        let k = key(2);
        let bytes = pubkey_bytes(&k).unwrap();
        assert_eq!(format!("0x{}", hex::encode(bytes)), k);
        let all: String = (0..48).map(|i| ["0A", "b1", "F9", "c3"][i % 4]).collect();
        let want: Vec<u8> = (0..48).map(|i| [0x0a, 0xb1, 0xf9, 0xc3][i % 4]).collect();
        assert_eq!(pubkey_bytes(&format!("0x{all}")).unwrap().to_vec(), want);
        assert_eq!(
            pubkey_bytes(&format!(" {} ", k.to_uppercase().replace("0X", "0x"))),
            Some(bytes)
        );
        for bad in [
            "",
            "0x",
            "0x12",
            &k[2..],
            &k.replace("0x", "0X"),
            &format!("{k}00"),
            &format!("0x{}", "zz".repeat(48)),
            &format!("{}g{}", &k[..50], &k[51..]),
            &format!("{}G", &k[..97]),
            &format!("{}é", &k[..96]),
        ] {
            assert_eq!(pubkey_bytes(bad), None, "{bad}");
        }
        assert_eq!(
            pubkey_shape("keys[3]", "0x12").unwrap_err().to_string(),
            "keys[3]: '0x12' is not a validator public key (expected 0x and 96 hex digits)"
        );
    }

    #[test]
    fn numbers_and_patterns() {
        assert_eq!(gas_limit("g", &"30000000".into()).unwrap(), "30000000");
        assert!(
            gas_limit("gas_limit", &"30M".into())
                .unwrap_err()
                .to_string()
                .contains("gas_limit: '30M'")
        );
        assert!(gas_limit("g", &"1.5".into()).is_err());
        assert_eq!(min_value("m", &"0.50".into()).unwrap(), "0.5");
        assert!(min_value("m", &"-1".into()).is_err());
        assert!(min_value("m", &"abc".into()).is_err());
        assert!(pattern("pattern", "^Pool1/(.*$").is_err());
        let e = pattern("pattern", "(?x)a").unwrap_err().to_string();
        assert!(
            e.starts_with("pattern: '(?x)a' is not") && e.contains("position 1"),
            "{e}"
        );
        assert_eq!(pattern("p", "a|b").unwrap(), "a|b");
        assert_eq!(pattern_warnings("\\d").len(), 1);
        assert_eq!(
            grace("g", &"9223372036854".into()).unwrap(),
            "9223372036854"
        );
        assert!(grace("g", &"9223372036855".into()).is_err());
        let json: Result<Loose, _> = serde_json::from_str("123456789.123456789");
        assert!(json.unwrap_err().to_string().contains("as a string"));
        assert!(relay_url("u", "ftp://x").is_err());
        assert_eq!(
            relay_url("u", "https://relay.example.com").unwrap(),
            "https://relay.example.com/"
        );
        assert!(name("name", "a/b").is_err());
    }
}
