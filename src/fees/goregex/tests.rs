//! Cases from Go's `regexp/syntax` behaviour: what it refuses, what it accepts, and what butler's Rust
//! translation matches.

use super::*;

#[test]
fn go_refuses() {
    for (pattern, code, position) in [
        ("(?x)a", "invalid or unsupported Perl syntax", 1),
        ("a(?u)", "invalid or unsupported Perl syntax", 2),
        ("\\u0041", "invalid escape sequence", 1),
        ("x\\u{41}", "invalid escape sequence", 2),
        ("a{1001}", "invalid repeat count", 2),
        ("a{2,1}", "invalid repeat count", 2),
        ("(a{50}){50}", "invalid repeat count", 8),
        ("((a{10}){10}){11}", "invalid repeat count", 14),
        ("[a[bc]]", "nested character class", 3),
        ("[a&&b]", "class set operation", 3),
        ("[a--b]", "class set operation", 3),
        ("[\\w~~a]", "class set operation", 4),
        ("\\p{Alphabetic}", "invalid character class range", 1),
        ("\\p{scx=Greek}", "invalid character class range", 1),
        ("\\p{Old_Italic}", "invalid character class range", 1),
        ("\\p{greek}", "invalid character class range", 1),
        ("\\pX", "invalid character class range", 1),
        ("a**", "invalid nested repetition operator", 2),
        ("a{2}{3}", "invalid nested repetition operator", 2),
        ("*a", "missing argument to repetition operator", 1),
        ("(*)", "missing argument to repetition operator", 2),
        ("a|*", "missing argument to repetition operator", 3),
        ("(?i)*", "missing argument to repetition operator", 5),
        ("(a", "missing closing )", 1),
        ("a)", "unexpected )", 2),
        ("[a", "missing closing ]", 1),
        ("[]", "missing closing ]", 1),
        ("\\1", "invalid escape sequence", 1),
        ("\\8", "invalid escape sequence", 1),
        ("\\C", "invalid escape sequence", 1),
        ("\\Z", "invalid escape sequence", 1),
        ("\\é", "invalid escape sequence", 1),
        ("[\\b]", "invalid escape sequence", 2),
        ("[a-\\d]", "invalid escape sequence", 4),
        ("\\x{110000}", "invalid escape sequence", 1),
        ("\\xg1", "invalid escape sequence", 1),
        ("(?P=n)", "invalid or unsupported Perl syntax", 1),
        ("(?P<>a)", "invalid named capture", 1),
        ("(?<n-x>a)", "invalid named capture", 1),
        ("(?<n", "invalid named capture", 1),
        ("(?i-)", "invalid or unsupported Perl syntax", 1),
        ("(?--i)", "invalid or unsupported Perl syntax", 1),
        ("[[:foo:]]", "invalid character class range", 2),
        ("[z-a]", "invalid character class range", 2),
        ("a\\", "trailing backslash at end of expression", 2),
    ] {
        let e = check(pattern).expect_err(pattern);
        assert_eq!((e.code, e.position), (code, position), "{pattern}: {e}");
    }
}

#[test]
fn go_accepts() {
    for pattern in [
        "^Pool1/.*$",
        "a|b",
        "(?i)pool",
        "(?i:a)b",
        "(?s).",
        "(?U)a*",
        "(?-i)a",
        "(?i-s:a)",
        "(?)",
        "\\Q.*\\E",
        "\\Qa",
        "a{1000}",
        "(a{10}){100}",
        "(?:a{0}){1000}",
        "a{2,}",
        "\\pL",
        "\\p{Greek}",
        "\\p{^Greek}",
        "\\PL",
        "\\p{Any}",
        "[\\p{Lu}x]",
        "[[:alpha:]]",
        "[[:^digit:]_]",
        "[]a]",
        "[^]a]",
        "[a-]",
        "[-a]",
        "\\x41\\x{1F600}\\101\\0",
        "(?P<n>a)(?<m>b)",
        "^*",
        "()",
        "(|a)",
        "\\_\\.\\-",
        "a{,3}",
        "x{01}",
        "\\A\\z",
        "(((((a)))))",
    ] {
        assert!(
            check(pattern).is_ok(),
            "{pattern}: {:?}",
            check(pattern).err()
        );
    }
}

#[test]
fn warnings_name_the_construct() {
    let w = check("^[\\w-]+/\\d+\\b").unwrap().warnings;
    let found: Vec<(&str, usize)> = w
        .iter()
        .map(|w| (w.construct.as_str(), w.position))
        .collect();
    assert_eq!(found, [("\\w", 3), ("\\d", 9), ("\\b", 12)]);
    assert!(w[0].message.contains("ASCII"), "{}", w[0]);
    assert!(check("Pool1/.*").unwrap().warnings.is_empty());
    assert_eq!(check("a{,3}").unwrap().warnings[0].construct, "{");
}

#[test]
fn matches_as_go_does() {
    let m = |p: &str, s: &str| Matcher::new(p).unwrap().is_match(s);
    assert!(m("a|b", "a") && m("a|b", "b") && !m("a|b", "ab") && !m("a|b", "xb"));
    assert!(m("Pool1/.*", "Pool1/x") && !m("Pool1/.*", "xPool1/x"));
    assert!(m("\\d+", "42") && !m("\\d+", "\u{663}"));
    assert!(m("\\w+", "abc_1") && !m("\\w+", "é"));
    assert!(m("\\Q.*\\E", ".*") && !m("\\Q.*\\E", "ab"));
    assert!(m("a{,3}", "a{,3}") && !m("a{,3}", "aa"));
    assert!(m("(?i)POOL/x", "pool/X") && m("(?i:p)ool", "Pool") && !m("(?i:p)ool", "POOL"));
    assert!(m("[^a]", "\n") && !m(".", "\n") && m("(?s).", "\n"));
    assert!(m("a\\b.*", "a-b") && m("a\\b.*", "aé") && !m("a\\b.*", "ab"));
    assert!(m("[[:alpha:]]+/\\p{Greek}", "ab/\u{3b1}"));
    assert!(m("x\\x{41}\\101", "xAA"));
    assert_eq!(served("a|b"), "^(?:a|b)$");
}
