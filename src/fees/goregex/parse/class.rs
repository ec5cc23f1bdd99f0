//! Escapes, character classes and `(?...)` groups, as Go's `parseEscape`, `parseClass`,
//! `parseUnicodeClass`, `parsePerlClassEscape`, `parseNamedClass` and `parsePerlFlags` read them.

use super::super::names;
use super::{GoRegexError, Node, Parser, perl_class};

const ASCII_CLASS: &str = "Go's \\d, \\w, \\s, \\b match ASCII only (\\d is [0-9], \\w is [0-9A-Za-z_], \\s is [\\t\\n\\f\\r ]); Rust's and most other tools' match Unicode digits, letters and spaces: write the ASCII class explicitly to say what is meant";

/// A character as Rust class text: `\x{...}` for anything but ASCII letters and digits.
fn rust_class_char(c: u32) -> String {
    match char::from_u32(c) {
        Some(ch) if ch.is_ascii_alphanumeric() => ch.to_string(),
        _ => format!("\\x{{{c:X}}}"),
    }
}

/// A Rust class range `lo-hi` without surrogates (they never match text), or nothing.
fn class_range(lo: u32, hi: u32) -> String {
    let lo = if (0xD800..=0xDFFF).contains(&lo) {
        0xE000
    } else {
        lo
    };
    let hi = if (0xD800..=0xDFFF).contains(&hi) {
        0xD7FF
    } else {
        hi
    };
    match lo.cmp(&hi) {
        std::cmp::Ordering::Greater => String::new(),
        std::cmp::Ordering::Equal => rust_class_char(lo),
        std::cmp::Ordering::Less => format!("{}-{}", rust_class_char(lo), rust_class_char(hi)),
    }
}

/// What Rust reads where Go reads a plain character, in a class.
const AMBIGUOUS: &str = "Go reads this as plain characters inside the class, Rust as a nested class or a class set operation (&&, --, ~~): escape the character (\\[, \\&, \\-, \\~) to say what is meant";

impl Parser<'_> {
    fn refuse(&self, at: usize, code: &'static str, expr: &str, note: &str) -> GoRegexError {
        let mut e = self.error_at(at, code, expr);
        e.note = Some(note.to_string());
        e
    }

    /// Go's `parseEscape` at the cursor (a backslash): the character it stands for.
    fn escape_char(&mut self) -> Result<u32, GoRegexError> {
        let start = self.pos;
        self.pos += 1;
        let Some(c) = self.peek() else {
            return Err(self.error_at(start, "trailing backslash at end of expression", ""));
        };
        self.pos += c.len_utf8();
        let invalid =
            |p: &Parser| p.error_at(start, "invalid escape sequence", &p.src[start..p.pos]);
        let octal = |c: Option<char>| c.filter(|c| ('0'..='7').contains(c));
        match c {
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => {
                if matches!(c, '<' | '>') {
                    self.warn(
                        start,
                        &format!("\\{c}"),
                        "Go reads this as the plain character; Rust reads it as a word boundary",
                    );
                }
                Ok(u32::from(c))
            }
            '1'..='7' | '0' => {
                if c != '0' && octal(self.peek()).is_none() {
                    return Err(invalid(self));
                }
                let mut r = c as u32 - u32::from('0');
                for _ in 1..3 {
                    match octal(self.peek()) {
                        Some(d) => {
                            r = r * 8 + (d as u32 - u32::from('0'));
                            self.pos += 1;
                        }
                        None => break,
                    }
                }
                Ok(r)
            }
            'x' => {
                let Some(c) = self.peek() else {
                    return Err(invalid(self));
                };
                self.pos += c.len_utf8();
                if c == '{' {
                    let mut r: u32 = 0;
                    let mut digits = 0;
                    loop {
                        let Some(c) = self.peek() else {
                            return Err(invalid(self));
                        };
                        self.pos += c.len_utf8();
                        if c == '}' {
                            break;
                        }
                        let Some(v) = c.to_digit(16) else {
                            return Err(invalid(self));
                        };
                        r = r * 16 + v;
                        if r > 0x10FFFF {
                            return Err(invalid(self));
                        }
                        digits += 1;
                    }
                    if digits == 0 {
                        return Err(invalid(self));
                    }
                    return Ok(r);
                }
                let x = c.to_digit(16);
                let y = self.peek().and_then(|c| c.to_digit(16));
                if let Some(c) = self.peek() {
                    self.pos += c.len_utf8();
                }
                match (x, y) {
                    (Some(x), Some(y)) => Ok(x * 16 + y),
                    _ => Err(invalid(self)),
                }
            }
            'a' => Ok(0x07),
            'f' => Ok(0x0C),
            'n' => Ok(0x0A),
            'r' => Ok(0x0D),
            't' => Ok(0x09),
            'v' => Ok(0x0B),
            _ => Err(invalid(self)),
        }
    }

    /// `\p{Name}`, `\pL`, `\P{...}`, `\p{^...}` at the cursor (Go's `parseUnicodeClass`): the Rust class.
    fn unicode_class(&mut self) -> Result<String, GoRegexError> {
        let start = self.pos;
        let mut negated = self.peek_at(1) == Some('P');
        self.pos += 2;
        let (seq_end, mut name) = match self.peek() {
            Some('{') => {
                let Some(end) = self.rest().find('}') else {
                    return Err(self.error_at(
                        start,
                        "invalid character class range",
                        &self.src[start..],
                    ));
                };
                let name = self.rest()[1..end].to_string();
                (self.pos + end + 1, name)
            }
            Some(c) => (self.pos + c.len_utf8(), c.to_string()),
            None => (self.pos, String::new()),
        };
        let seq = &self.src[start..seq_end];
        if let Some(rest) = name.strip_prefix('^') {
            negated = !negated;
            name = rest.to_string();
        }
        if !names::unicode_class(&name) {
            return Err(self.refuse(
                start,
                "invalid character class range",
                seq,
                &format!(
                    "'{name}' is not a Unicode class name Go knows: use Any, a general category (L, Lu, Ll, N, Nd, P, S, Z, ...) or a script (Greek, Latin, Han, Cyrillic, ...); script names with an underscore or an inner capital are read differently by Go 1.25 and refused"
                ),
            ));
        }
        self.pos = seq_end;
        let p = if negated { 'P' } else { 'p' };
        Ok(format!("\\{p}{{{name}}}"))
    }

    /// A backslash outside a class.
    pub(super) fn escape_outside(&mut self) -> Result<(), GoRegexError> {
        let start = self.pos;
        let leaf = |s: &str| Node::leaf(s.to_string());
        match self.peek_at(1) {
            Some('A') => {
                self.pos += 2;
                self.push(leaf("\\A"))
            }
            Some(c @ ('b' | 'B')) => {
                self.pos += 2;
                self.warn(start, &format!("\\{c}"), ASCII_CLASS);
                self.push(leaf(&format!("(?-u:\\{c})")))
            }
            Some('C') => Err(self.error_at(start, "invalid escape sequence", "\\C")),
            Some('Q') => {
                self.pos += 2;
                let (lit, advance) = match self.rest().find("\\E") {
                    Some(i) => (self.rest()[..i].to_string(), i + 2),
                    None => (self.rest().to_string(), self.rest().len()),
                };
                self.pos += advance;
                for c in lit.chars() {
                    self.literal(c)?;
                }
                Ok(())
            }
            Some('z') => {
                self.pos += 2;
                self.push(leaf("\\z"))
            }
            Some('p' | 'P') => {
                let class = self.unicode_class()?;
                let rust = self.folded(class);
                self.push(Node::leaf(rust))
            }
            Some(c) if perl_class(c).is_some() => {
                let (outside, _) = perl_class(c).unwrap_or_default();
                self.pos += 2;
                self.warn(start, &format!("\\{c}"), ASCII_CLASS);
                let rust = self.folded(outside.to_string());
                self.push(Node::leaf(rust))
            }
            _ => {
                let c = self.escape_char()?;
                match char::from_u32(c) {
                    Some(ch) => self.literal(ch),
                    None => self.push(leaf("[^\\x00-\\x{10FFFF}]")),
                }
            }
        }
    }

    /// One class character at the cursor (Go's `parseClassChar`).
    fn class_char(&mut self, class_start: usize) -> Result<u32, GoRegexError> {
        match self.peek() {
            None => Err(self.error_at(class_start, "missing closing ]", &self.src[class_start..])),
            Some('\\') => self.escape_char(),
            Some(c) => {
                if c == '[' {
                    return Err(self.refuse(self.pos, "nested character class", "[", AMBIGUOUS));
                }
                self.pos += c.len_utf8();
                Ok(u32::from(c))
            }
        }
    }

    /// A character class at the cursor (Go's `parseClass`).
    pub(super) fn class(&mut self) -> Result<(), GoRegexError> {
        let start = self.pos;
        self.pos += 1;
        let mut rust = String::from("[");
        if self.peek() == Some('^') {
            self.pos += 1;
            rust.push('^');
        }
        let mut first = true;
        while self.peek().is_none_or(|c| c != ']') || first {
            first = false;
            let here = self.pos;
            for op in ["&&", "--", "~~"] {
                if self.rest().starts_with(op) {
                    return Err(self.refuse(here, "class set operation", op, AMBIGUOUS));
                }
            }
            let rest = self.rest();
            if rest.len() > 2
                && rest.starts_with("[:")
                && let Some(i) = rest[2..].find(":]")
            {
                let name = &rest[..i + 4];
                let inner = &name[2..name.len() - 2];
                let bare = inner.strip_prefix('^').unwrap_or(inner);
                if !names::POSIX.contains(&bare) {
                    return Err(self.error_at(here, "invalid character class range", name));
                }
                rust.push_str(name);
                self.pos += name.len();
                continue;
            }
            if rest.starts_with("\\p") || rest.starts_with("\\P") {
                let class = self.unicode_class()?;
                rust.push_str(&class);
                continue;
            }
            if let Some((_, inside)) = rest
                .strip_prefix('\\')
                .and_then(|r| r.chars().next())
                .and_then(perl_class)
            {
                let c = self.peek_at(1).unwrap_or_default();
                self.warn(here, &format!("\\{c}"), ASCII_CLASS);
                rust.push_str(inside);
                self.pos += 2;
                continue;
            }
            let lo = self.class_char(start)?;
            let mut hi = lo;
            let rest = self.rest();
            if rest.len() >= 2 && rest.starts_with('-') && !rest[1..].starts_with(']') {
                if rest.starts_with("--") {
                    return Err(self.refuse(self.pos, "class set operation", "--", AMBIGUOUS));
                }
                self.pos += 1;
                hi = self.class_char(start)?;
                if hi < lo {
                    return Err(self.error_at(
                        here,
                        "invalid character class range",
                        &self.src[here..self.pos],
                    ));
                }
            }
            rust.push_str(&class_range(lo, hi));
        }
        self.pos += 1;
        rust.push(']');
        // An all-negated or emptied class still compiles in Rust (it never matches).
        let rust = if rust == "[]" || rust == "[^]" {
            "[^\\x00-\\x{10FFFF}]".to_string()
        } else {
            rust
        };
        let rust = self.folded(rust);
        self.push(Node::leaf(rust))
    }

    /// `(?` at the cursor (Go's `parsePerlFlags`): a named capture, a flag group `(?flags:` or flags for
    /// the rest of the group `(?flags)`.
    pub(super) fn perl_flags(&mut self) -> Result<(), GoRegexError> {
        let start = self.pos;
        let rest = self.rest();
        let with_p = rest.len() > 4 && rest[2..].starts_with("P<");
        let with_name = rest.len() > 3 && rest[2..].starts_with('<');
        if with_p || with_name {
            let Some(end) = rest.find('>') else {
                return Err(self.error_at(start, "invalid named capture", rest));
            };
            let name = &rest[if with_p { 4 } else { 3 }..end];
            if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()) {
                return Err(self.error_at(start, "invalid named capture", &rest[..=end]));
            }
            self.pos += end + 1;
            self.open_group(start, true);
            return Ok(());
        }
        self.pos += 2;
        let mut flags = self.flags;
        let mut negate = false;
        let mut saw_flag = false;
        while let Some(c) = self.peek() {
            self.pos += c.len_utf8();
            match c {
                'i' => flags.fold_case = !negate,
                'm' => flags.multi_line = !negate,
                's' => flags.dot_nl = !negate,
                'U' => flags.non_greedy = !negate,
                '-' if !negate => {
                    negate = true;
                    saw_flag = false;
                    continue;
                }
                ':' | ')' if !negate || saw_flag => {
                    if c == ':' {
                        self.open_group(start, false);
                    }
                    self.flags = flags;
                    return Ok(());
                }
                _ => break,
            }
            saw_flag = true;
        }
        Err(self.refuse(
            start,
            "invalid or unsupported Perl syntax",
            &self.src[start..self.pos],
            "Go knows only the flags i, m, s and U, in (?flags), (?flags:...) or (?-flags...), and the groups (?:...), (?P<name>...) and (?<name>...)",
        ))
    }
}
