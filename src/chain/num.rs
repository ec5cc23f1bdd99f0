//! Number coercion: one place that turns the shapes nodes, bundlers and JSON clients use for quantities
//! (hex strings, decimal strings, JSON numbers, `U256`) into `U256`, and narrows them checked.
//! Nothing here panics or truncates silently: every lossy case is an error that says why.

use alloy::primitives::U256;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a value is not a usable number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumError {
    #[error("`{0}` is not a number (expected 0x-hex, a decimal string or a JSON number)")]
    NotANumber(String),
    #[error("`{0}` is negative")]
    Negative(String),
    #[error("`{0}` has a fractional part")]
    Fractional(String),
    #[error("`{0}` does not fit in 256 bits")]
    TooLarge(String),
    #[error(
        "`{0}` is beyond the exactly representable range of a JSON number (2^53); send it as a string"
    )]
    Imprecise(String),
    #[error("{value} does not fit in {target}")]
    Overflow { value: String, target: &'static str },
}

/// Largest integer a JSON (f64) number holds exactly.
const MAX_SAFE_F64: f64 = 9_007_199_254_740_992.0;

/// Parses a hex (`0x`-prefixed) or decimal string.
pub fn parse_u256(text: &str) -> Result<U256, NumError> {
    let t = text.trim();
    let err = || NumError::NotANumber(text.to_string());
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        if hex.is_empty() {
            return Ok(U256::ZERO); // `0x` is how some nodes write zero
        }
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(err());
        }
        let hex = hex.trim_start_matches('0');
        if hex.len() > 64 {
            return Err(NumError::TooLarge(text.to_string()));
        }
        return U256::from_str_radix(if hex.is_empty() { "0" } else { hex }, 16).map_err(|_| err());
    }
    if let Some(rest) = t.strip_prefix('-') {
        if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()) {
            return Err(NumError::Negative(text.to_string()));
        }
        return Err(err());
    }
    if t.is_empty() {
        return Err(err());
    }
    if let Some((whole, frac)) = t.split_once('.') {
        if !whole.is_empty()
            && whole.chars().all(|c| c.is_ascii_digit())
            && frac.chars().all(|c| c.is_ascii_digit())
        {
            if frac.chars().all(|c| c == '0') {
                return parse_u256(whole);
            }
            return Err(NumError::Fractional(text.to_string()));
        }
        return Err(err());
    }
    if !t.chars().all(|c| c.is_ascii_digit()) {
        return Err(err());
    }
    U256::from_str_radix(t, 10).map_err(|_| NumError::TooLarge(text.to_string()))
}

/// Coerces a JSON value (string or number) into `U256`.
pub fn coerce_u256(value: &serde_json::Value) -> Result<U256, NumError> {
    match value {
        serde_json::Value::String(s) => parse_u256(s),
        serde_json::Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Ok(U256::from(u))
            } else if n.as_i64().is_some() {
                Err(NumError::Negative(n.to_string()))
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.is_nan() || f.is_infinite() {
                    Err(NumError::NotANumber(n.to_string()))
                } else if f < 0.0 {
                    Err(NumError::Negative(n.to_string()))
                } else if f.fract() != 0.0 {
                    Err(NumError::Fractional(n.to_string()))
                } else if f > MAX_SAFE_F64 {
                    Err(NumError::Imprecise(n.to_string()))
                } else {
                    Ok(U256::from(f as u64))
                }
            }
        }
        other => Err(NumError::NotANumber(other.to_string())),
    }
}

/// Narrows to `u64`, failing instead of truncating.
pub fn to_u64(value: U256) -> Result<u64, NumError> {
    u64::try_from(value).map_err(|_| NumError::Overflow {
        value: value.to_string(),
        target: "u64",
    })
}

/// Narrows to `u128`, failing instead of truncating.
pub fn to_u128(value: U256) -> Result<u128, NumError> {
    u128::try_from(value).map_err(|_| NumError::Overflow {
        value: value.to_string(),
        target: "u128",
    })
}

/// Converts to `f64` for Prometheus gauges and rates; exact up to 2^53, nearest above (never fails).
pub fn to_f64_lossy(value: U256) -> f64 {
    let limbs = value.as_limbs();
    limbs
        .iter()
        .rev()
        .fold(0.0, |acc, &l| acc * 18_446_744_073_709_551_616.0 + l as f64)
}

/// A quantity that deserializes from any of the coerced shapes and serializes as a decimal string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Quantity(pub U256);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        coerce_u256(&v)
            .map(Quantity)
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl From<U256> for Quantity {
    fn from(v: U256) -> Self {
        Quantity(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hex_and_decimal_strings() {
        assert_eq!(parse_u256("0x0").unwrap(), U256::ZERO);
        assert_eq!(parse_u256("0x").unwrap(), U256::ZERO);
        assert_eq!(parse_u256("0x1f").unwrap(), U256::from(31));
        assert_eq!(parse_u256("0X1F").unwrap(), U256::from(31));
        assert_eq!(parse_u256(" 42 ").unwrap(), U256::from(42));
        assert_eq!(parse_u256("007").unwrap(), U256::from(7));
        assert_eq!(parse_u256("5.000").unwrap(), U256::from(5));
        let max = format!("0x{}", "f".repeat(64));
        assert_eq!(parse_u256(&max).unwrap(), U256::MAX);
        assert_eq!(parse_u256(&U256::MAX.to_string()).unwrap(), U256::MAX);
        assert_eq!(
            parse_u256(&format!("0x000{}", "f".repeat(64))).unwrap(),
            U256::MAX
        );
    }

    #[test]
    fn refuses_what_would_truncate() {
        assert!(matches!(
            parse_u256(&format!("0x1{}", "0".repeat(64))),
            Err(NumError::TooLarge(_))
        ));
        assert!(matches!(
            parse_u256(&format!("{}0", U256::MAX)),
            Err(NumError::TooLarge(_))
        ));
        assert!(matches!(parse_u256("-1"), Err(NumError::Negative(_))));
        assert!(matches!(parse_u256("1.5"), Err(NumError::Fractional(_))));
        for bad in ["", "0xg", "abc", "1e18", "--1", "-", "1_000", "0x-1", ".5"] {
            assert!(parse_u256(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_numbers() {
        assert_eq!(coerce_u256(&json!(0)).unwrap(), U256::ZERO);
        assert_eq!(coerce_u256(&json!(u64::MAX)).unwrap(), U256::from(u64::MAX));
        assert_eq!(coerce_u256(&json!(12.0)).unwrap(), U256::from(12));
        assert!(matches!(
            coerce_u256(&json!(-3)),
            Err(NumError::Negative(_))
        ));
        assert!(matches!(
            coerce_u256(&json!(-3.5)),
            Err(NumError::Negative(_))
        ));
        assert!(matches!(
            coerce_u256(&json!(2.5)),
            Err(NumError::Fractional(_))
        ));
        assert!(matches!(
            coerce_u256(&json!(1e21)),
            Err(NumError::Imprecise(_))
        ));
        assert!(matches!(
            coerce_u256(&json!(null)),
            Err(NumError::NotANumber(_))
        ));
        assert!(matches!(
            coerce_u256(&json!(true)),
            Err(NumError::NotANumber(_))
        ));
        assert_eq!(coerce_u256(&json!("0x10")).unwrap(), U256::from(16));
    }

    #[test]
    fn narrowing() {
        assert_eq!(to_u64(U256::from(u64::MAX)).unwrap(), u64::MAX);
        assert!(to_u64(U256::from(u64::MAX) + U256::from(1)).is_err());
        assert!(to_u128(U256::MAX).is_err());
        assert_eq!(to_f64_lossy(U256::from(1u64 << 40)), (1u64 << 40) as f64);
        assert_eq!(to_f64_lossy(U256::from(10u64).pow(U256::from(20u64))), 1e20);
    }

    #[test]
    fn quantity_serde() {
        let q: Quantity = serde_json::from_value(json!("0xff")).unwrap();
        assert_eq!(q.0, U256::from(255));
        assert_eq!(serde_json::to_value(q).unwrap(), json!("255"));
        assert!(serde_json::from_value::<Quantity>(json!(-1)).is_err());
    }
}
