//! ETH amounts: exact decimal formatting and parsing of wei, without floating point.

use alloy::primitives::U256;

/// Formats wei as an exact decimal ETH string with trailing zeros trimmed (`1500000000000000000` → `1.5`).
pub fn format_ether(wei: U256) -> String {
    format_units(wei, 18)
}

/// Formats an integer amount with `decimals` decimal places, trimming trailing zeros.
pub fn format_units(amount: U256, decimals: u8) -> String {
    let base = U256::from(10u64).pow(U256::from(decimals));
    let whole = amount / base;
    let frac = amount % base;
    if frac.is_zero() {
        return whole.to_string();
    }
    let frac = format!("{:0>width$}", frac.to_string(), width = decimals as usize);
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// Formats wei as ETH rounded to `places` decimals for tables (`10.000000` → `10`).
pub fn format_ether_short(wei: U256, places: usize) -> String {
    let exact = format_ether(wei);
    match exact.split_once('.') {
        Some((w, f)) if f.len() > places => {
            let f = f[..places].trim_end_matches('0');
            if f.is_empty() {
                w.to_string()
            } else {
                format!("{w}.{f}")
            }
        }
        _ => exact,
    }
}

/// Parses a decimal ETH string (`"1"`, `"0.25"`, `"1e-3"` is refused) into wei, exactly.
pub fn parse_ether(text: &str) -> Result<U256, String> {
    parse_units(text, 18)
}

/// Parses a non-negative decimal string with at most `decimals` fractional digits.
pub fn parse_units(text: &str, decimals: u8) -> Result<U256, String> {
    let t = text.trim();
    let bad = || format!("`{text}` is not a non-negative decimal number");
    if t.is_empty() {
        return Err(bad());
    }
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(bad());
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    if frac.len() > decimals as usize {
        return Err(format!("`{text}` has more than {decimals} decimal places"));
    }
    let digits = format!("{whole}{frac:0<width$}", width = decimals as usize);
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(U256::ZERO);
    }
    U256::from_str_radix(digits, 10).map_err(|_| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        for (s, wei) in [
            ("0", "0"),
            ("1", "1000000000000000000"),
            ("0.000000000000000001", "1"),
            ("10.5", "10500000000000000000"),
        ] {
            let w = U256::from_str_radix(wei, 10).unwrap();
            assert_eq!(parse_ether(s).unwrap(), w);
            assert_eq!(format_ether(w), s);
        }
        assert_eq!(parse_ether(".5").unwrap(), parse_ether("0.5").unwrap());
        assert_eq!(parse_ether("5.").unwrap(), parse_ether("5").unwrap());
    }

    #[test]
    fn refuses_bad_input() {
        for s in [
            "",
            ".",
            "-1",
            "1e18",
            "0x10",
            "1.0000000000000000001",
            "abc",
            "1.2.3",
        ] {
            assert!(parse_ether(s).is_err(), "{s}");
        }
        assert!(parse_ether(&"9".repeat(80)).is_err());
    }

    #[test]
    fn short_format() {
        assert_eq!(
            format_ether_short(parse_ether("9.99912345678").unwrap(), 6),
            "9.999123"
        );
        assert_eq!(format_ether_short(parse_ether("10").unwrap(), 6), "10");
        assert_eq!(
            format_ether_short(parse_ether("0.0000001").unwrap(), 6),
            "0"
        );
    }
}
