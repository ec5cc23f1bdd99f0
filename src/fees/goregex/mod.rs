//! Proposer patterns by Go's rules. Vouch compiles each pattern with Go's `regexp.Compile` (RE2 syntax, Go
//! flavour) and refuses the whole execution config when one fails, so butler checks patterns with a parser
//! that follows Go's `regexp/syntax` (flags, escapes, classes, Unicode names, repeat limits, nesting and
//! size limits) instead of Rust's `regex` crate, whose dialect differs.
//!
//! [`check`] refuses what Go refuses, plus class syntax that Go and Rust read differently (a `[` or `&&`,
//! `--`, `~~` inside a class), naming the construct and its position; it warns about constructs both
//! accept with different meanings (`\d`, `\w`, `\s`, `\b` are ASCII in Go). It also yields the Rust
//! `regex` text that matches what Go matches, which [`Matcher`] uses to evaluate patterns as Vouch does.
//! Patterns are stored as given and served anchored as a whole: [`served`].

mod names;
mod parse;

use std::fmt;

/// Butler's cap on a pattern's length, far below where Go's own limits on character-class sizes could apply.
pub const MAX_LEN: usize = 4096;

/// A pattern Go refuses (or that Go and Rust read differently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoRegexError {
    /// Go's error text (`invalid escape sequence`), or what butler refuses.
    pub code: &'static str,
    /// The offending part of the pattern.
    pub expr: String,
    /// Character position in the pattern, from 1.
    pub position: usize,
    /// Why, and what to write instead.
    pub note: Option<String>,
}

impl fmt::Display for GoRegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: `{}` at position {}",
            self.code, self.expr, self.position
        )?;
        if let Some(note) = &self.note {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

/// A construct Go and Rust both accept but match differently.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub construct: String,
    /// Character position in the pattern, from 1.
    pub position: usize,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` at position {}: {}",
            self.construct, self.position, self.message
        )
    }
}

/// A pattern Go accepts.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Constructs whose meaning differs between Go and Rust.
    pub warnings: Vec<Finding>,
    /// Rust `regex` text matching what Go matches.
    pub rust: String,
}

/// Checks `pattern` by Go's `regexp/syntax` rules (the `Perl` flags of `regexp.Compile`).
pub fn check(pattern: &str) -> Result<Checked, GoRegexError> {
    if pattern.len() > MAX_LEN {
        return Err(GoRegexError {
            code: "pattern too long",
            expr: String::new(),
            position: MAX_LEN,
            note: Some(format!("at most {MAX_LEN} bytes")),
        });
    }
    let parsed = parse::parse(pattern)?;
    Ok(Checked {
        warnings: parsed.warnings,
        rust: parsed.rust,
    })
}

/// The pattern as butler serves it to Vouch: anchored as a whole, `^(?:...)$`. Vouch only adds `^` and `$`
/// when they are missing, so `a|b` would become `^a|b$` (each side anchored at one end only).
pub fn served(pattern: &str) -> String {
    format!("^(?:{pattern})$")
}

/// A pattern compiled to match account names as Vouch's Go regexp does.
#[derive(Debug, Clone)]
pub struct Matcher(regex::Regex);

impl Matcher {
    /// Compiles the served (anchored) form of `pattern`; `pattern` must pass [`check`].
    pub fn new(pattern: &str) -> Result<Matcher, GoRegexError> {
        let rust = check(&served(pattern))?.rust;
        regex::Regex::new(&rust)
            .map(Matcher)
            .map_err(|e| GoRegexError {
                code: "cannot evaluate the pattern",
                expr: pattern.to_string(),
                position: 1,
                note: Some(e.to_string()),
            })
    }

    pub fn is_match(&self, account: &str) -> bool {
        self.0.is_match(account)
    }
}

#[cfg(test)]
mod tests;
