//! The parser: Go's `regexp/syntax` `Parse` with the `Perl` flags `regexp.Compile` uses, written as a stack
//! machine like Go's (so nesting depth costs no recursion while parsing). It builds a small tree carrying
//! what Go's limits look at (repeat counts, compiled size, height) and, for every node, the Rust `regex`
//! text that matches what Go matches.

mod class;

use super::{Finding, GoRegexError};

/// Go's `maxRepeat`: the largest count of one repetition, and of nested repetitions multiplied.
const MAX_REPEAT: i64 = 1000;
/// Go's `maxHeight`: the deepest parse tree.
const MAX_HEIGHT: u32 = 1000;
/// Go's `maxSize`: the largest compiled program, in instructions (128 MiB of 40-byte instructions).
const MAX_SIZE: i64 = (128 << 20) / 40;

/// Go's parse flags that change matching (the others are fixed by `Perl`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Flags {
    fold_case: bool,
    dot_nl: bool,
    /// `(?m)` clears Go's `OneLine`.
    multi_line: bool,
    non_greedy: bool,
}

#[derive(Debug)]
enum Shape {
    /// A run of literal characters (Go merges adjacent literals with the same case folding).
    Literal {
        fold: bool,
        runes: usize,
    },
    /// Anything else without sub-expressions (classes, anchors, `.`, the empty match).
    Leaf,
    Capture(Box<Node>),
    Concat(Vec<Node>),
    Alternate(Vec<Node>),
    Repeat {
        op: Op,
        sub: Box<Node>,
    },
}

/// A repetition operator: `*`, `+`, `?` or `{min,max}` (`max` -1 when open-ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Star,
    Plus,
    Quest,
    Counted { min: i64, max: i64 },
}

#[derive(Debug)]
struct Node {
    shape: Shape,
    /// The Rust `regex` text matching what Go matches.
    rust: String,
    height: u32,
    size: i64,
}

impl Node {
    fn leaf(rust: String) -> Node {
        Node {
            shape: Shape::Leaf,
            rust,
            height: 1,
            size: 1,
        }
    }

    fn literal(c: char, fold: bool) -> Node {
        let text = regex::escape(c.encode_utf8(&mut [0; 4]));
        Node {
            shape: Shape::Literal { fold, runes: 1 },
            rust: if fold { format!("(?i:{text})") } else { text },
            height: 1,
            size: 1,
        }
    }
}

/// Go's `repeatIsValid`: no path through nested counted repetitions multiplies past `n` copies.
fn repeat_is_valid(node: &Node, mut n: i64) -> bool {
    match &node.shape {
        Shape::Repeat {
            op: Op::Counted { min, max },
            sub,
        } => {
            let mut m = *max;
            if m == 0 {
                return true;
            }
            if m < 0 {
                m = *min;
            }
            if m > n {
                return false;
            }
            if m > 0 {
                n /= m;
            }
            repeat_is_valid(sub, n)
        }
        Shape::Repeat { sub, .. } | Shape::Capture(sub) => repeat_is_valid(sub, n),
        Shape::Concat(subs) | Shape::Alternate(subs) => subs.iter().all(|s| repeat_is_valid(s, n)),
        Shape::Literal { .. } | Shape::Leaf => true,
    }
}

/// An open group (or the whole expression, `open` `None`).
struct Frame {
    /// Byte offset of the `(`.
    open: Option<usize>,
    capture: bool,
    /// The flags outside the group, restored at its `)`.
    outer: Flags,
    alternatives: Vec<Node>,
    items: Vec<Node>,
}

impl Frame {
    fn new(open: Option<usize>, capture: bool, outer: Flags) -> Frame {
        Frame {
            open,
            capture,
            outer,
            alternatives: Vec::new(),
            items: Vec::new(),
        }
    }
}

/// The result of a successful parse.
pub(super) struct Parsed {
    pub rust: String,
    pub warnings: Vec<Finding>,
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    flags: Flags,
    stack: Vec<Frame>,
    warnings: Vec<Finding>,
    /// Byte offset of the repetition operator just parsed, if the previous token was one (Go's `lastRepeat`).
    last_repeat: Option<usize>,
}

/// Parses `src` as Go's `regexp.Compile` does; on success, the Rust equivalent and the warnings.
pub(super) fn parse(src: &str) -> Result<Parsed, GoRegexError> {
    let mut p = Parser {
        src,
        pos: 0,
        flags: Flags::default(),
        stack: vec![Frame::new(None, false, Flags::default())],
        warnings: Vec::new(),
        last_repeat: None,
    };
    while p.pos < src.len() {
        let repeat = p.token()?;
        p.last_repeat = repeat;
    }
    if let Some(open) = p.stack.last().and_then(|f| f.open) {
        return Err(p.error_at(open, "missing closing )", &src[open..]));
    }
    let frame = p
        .stack
        .pop()
        .ok_or_else(|| p.error_at(0, "internal error", src))?;
    let node = p.close(frame)?;
    Ok(Parsed {
        rust: node.rust,
        warnings: p.warnings,
    })
}

/// Go's Perl classes (`perl_groups.go`, ASCII only) as Rust text: outside a class, and inside one.
fn perl_class(c: char) -> Option<(&'static str, &'static str)> {
    match c {
        'd' => Some(("[0-9]", "0-9")),
        'D' => Some(("[^0-9]", "[^0-9]")),
        's' => Some(("[\\t\\n\\f\\r ]", "\\t\\n\\f\\r ")),
        'S' => Some(("[^\\t\\n\\f\\r ]", "[^\\t\\n\\f\\r ]")),
        'w' => Some(("[0-9A-Za-z_]", "0-9A-Za-z_")),
        'W' => Some(("[^0-9A-Za-z_]", "[^0-9A-Za-z_]")),
        _ => None,
    }
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    fn error_at(&self, at: usize, code: &'static str, expr: &str) -> GoRegexError {
        GoRegexError {
            code,
            expr: expr.to_string(),
            position: self.src[..at].chars().count() + 1,
            note: None,
        }
    }

    fn warn(&mut self, at: usize, construct: &str, message: &str) {
        self.warnings.push(Finding {
            construct: construct.to_string(),
            position: self.src[..at].chars().count() + 1,
            message: message.to_string(),
        });
    }

    fn frame(&mut self) -> &mut Frame {
        let last = self.stack.len() - 1;
        &mut self.stack[last]
    }

    /// Pushes an item on the current concatenation, merging the two literals below it first (Go's
    /// `maybeConcat`: the newest literal stays alone so a repetition applies to it only).
    fn push(&mut self, node: Node) -> Result<(), GoRegexError> {
        if node.height > MAX_HEIGHT {
            return Err(self.error_at(0, "expression nests too deeply", self.src));
        }
        if node.size > MAX_SIZE {
            return Err(self.error_at(0, "expression too large", self.src));
        }
        let items = &mut self.frame().items;
        let n = items.len();
        if n >= 2
            && let (
                Shape::Literal {
                    fold: f1,
                    runes: r1,
                },
                Shape::Literal {
                    fold: f2,
                    runes: r2,
                },
            ) = (&items[n - 2].shape, &items[n - 1].shape)
            && f1 == f2
        {
            let (fold, runes) = (*f1, r1 + r2);
            let last = items.pop().map(|n| n.rust).unwrap_or_default();
            let prev = &mut items[n - 2];
            prev.rust.push_str(&last);
            prev.shape = Shape::Literal { fold, runes };
            prev.size = runes as i64;
        }
        self.frame().items.push(node);
        Ok(())
    }

    fn literal(&mut self, c: char) -> Result<(), GoRegexError> {
        let fold = self.flags.fold_case;
        self.push(Node::literal(c, fold))
    }

    /// Wraps a class in `(?i:...)` when case folding is on (Go folds classes as it parses them).
    fn folded(&self, rust: String) -> String {
        if self.flags.fold_case {
            format!("(?i:{rust})")
        } else {
            rust
        }
    }

    /// One token; returns the offset of a repetition operator when the token was one.
    fn token(&mut self) -> Result<Option<usize>, GoRegexError> {
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        match c {
            '(' => {
                if self.peek_at(1) == Some('?') {
                    self.perl_flags()?;
                } else {
                    self.pos += 1;
                    self.open_group(start, true);
                }
            }
            '|' => {
                self.pos += 1;
                let items = std::mem::take(&mut self.frame().items);
                let concat = self.concat(items)?;
                self.frame().alternatives.push(concat);
            }
            ')' => {
                self.pos += 1;
                if self.stack.len() < 2 {
                    return Err(self.error_at(start, "unexpected )", self.src));
                }
                let frame = self
                    .stack
                    .pop()
                    .ok_or_else(|| self.error_at(start, "unexpected )", self.src))?;
                self.flags = frame.outer;
                let capture = frame.capture;
                let inner = self.close(frame)?;
                let node = if capture {
                    let rust = format!("({})", inner.rust);
                    let (height, size) = (1 + inner.height, 2 + inner.size);
                    Node {
                        shape: Shape::Capture(Box::new(inner)),
                        rust,
                        height,
                        size,
                    }
                } else {
                    Node {
                        rust: format!("(?:{})", inner.rust),
                        ..inner
                    }
                };
                self.push(node)?;
            }
            '^' => {
                self.pos += 1;
                let rust = if self.flags.multi_line { "(?m:^)" } else { "^" };
                self.push(Node::leaf(rust.into()))?;
            }
            '$' => {
                self.pos += 1;
                let rust = if self.flags.multi_line { "(?m:$)" } else { "$" };
                self.push(Node::leaf(rust.into()))?;
            }
            '.' => {
                self.pos += 1;
                let rust = if self.flags.dot_nl { "(?s:.)" } else { "." };
                self.push(Node::leaf(rust.into()))?;
            }
            '[' => self.class()?,
            '*' | '+' | '?' => {
                self.pos += 1;
                let op = match c {
                    '*' => Op::Star,
                    '+' => Op::Plus,
                    _ => Op::Quest,
                };
                self.repeat(start, op, c.to_string())?;
                return Ok(Some(start));
            }
            '{' => match self.repeat_counts() {
                None => {
                    self.warn(
                        start,
                        "{",
                        "Go reads this '{' as a literal brace (it does not start a valid repeat count such as {2} or {2,5}); Rust reads it as a repeat or refuses it: write \\{ for the character",
                    );
                    self.pos += 1;
                    self.literal('{')?;
                }
                Some((min, max, end)) => {
                    let text = &self.src[start..end];
                    if !(0..=MAX_REPEAT).contains(&min)
                        || max > MAX_REPEAT
                        || (max >= 0 && min > max)
                    {
                        return Err(self.error_at(start, "invalid repeat count", text));
                    }
                    let shown = text.to_string();
                    self.pos = end;
                    self.repeat(start, Op::Counted { min, max }, shown)?;
                    return Ok(Some(start));
                }
            },
            '\\' => self.escape_outside()?,
            c => {
                self.pos += c.len_utf8();
                self.literal(c)?;
            }
        }
        Ok(None)
    }

    fn open_group(&mut self, at: usize, capture: bool) {
        let outer = self.flags;
        self.stack.push(Frame::new(Some(at), capture, outer));
    }

    /// The concatenation of `items` (Go's `concat`): one item stands alone, none is the empty match.
    fn concat(&self, items: Vec<Node>) -> Result<Node, GoRegexError> {
        match items.len() {
            0 => Ok(Node::leaf(String::new())),
            1 => Ok(items
                .into_iter()
                .next()
                .unwrap_or_else(|| Node::leaf(String::new()))),
            _ => {
                let rust: String = items.iter().map(|n| n.rust.as_str()).collect();
                let size = items.iter().map(|n| n.size).fold(0i64, i64::saturating_add);
                let height = 1 + items.iter().map(|n| n.height).max().unwrap_or(0);
                Ok(Node {
                    shape: Shape::Concat(items),
                    rust,
                    height,
                    size: size.max(1),
                })
            }
        }
    }

    /// Closes a frame: its alternatives (Go's `alternate`).
    fn close(&self, mut frame: Frame) -> Result<Node, GoRegexError> {
        let last = self.concat(std::mem::take(&mut frame.items))?;
        if frame.alternatives.is_empty() {
            return Ok(last);
        }
        let mut alts = frame.alternatives;
        alts.push(last);
        let rust = alts
            .iter()
            .map(|n| n.rust.as_str())
            .collect::<Vec<_>>()
            .join("|");
        let size = alts
            .iter()
            .map(|n| n.size)
            .fold(alts.len() as i64 - 1, i64::saturating_add);
        let height = 1 + alts.iter().map(|n| n.height).max().unwrap_or(0);
        let node = Node {
            shape: Shape::Alternate(alts),
            rust,
            height,
            size: size.max(1),
        };
        if node.height > MAX_HEIGHT {
            return Err(self.error_at(0, "expression nests too deeply", self.src));
        }
        Ok(node)
    }

    /// Applies a repetition to the last item (Go's `repeat`).
    fn repeat(&mut self, start: usize, op: Op, text: String) -> Result<(), GoRegexError> {
        let mut non_greedy = self.flags.non_greedy;
        if self.peek() == Some('?') {
            self.pos += 1;
            non_greedy = !non_greedy;
        }
        if let Some(last) = self.last_repeat {
            return Err(self.error_at(
                last,
                "invalid nested repetition operator",
                &self.src[last..self.pos],
            ));
        }
        let Some(sub) = self.frame().items.pop() else {
            return Err(self.error_at(
                start,
                "missing argument to repetition operator",
                &self.src[start..self.pos],
            ));
        };
        let lazy = if non_greedy { "?" } else { "" };
        let rust = format!("(?:{}){text}{lazy}", sub.rust);
        // Go's `calcSize`.
        let size = match op {
            Op::Star => 2 + sub.size,
            Op::Plus | Op::Quest => 1 + sub.size,
            Op::Counted { min: 0, max: -1 } => 2 + sub.size,
            Op::Counted { min, max: -1 } => min.saturating_mul(sub.size).saturating_add(1),
            Op::Counted { min, max } => max.saturating_mul(sub.size).saturating_add(max - min),
        };
        let height = 1 + sub.height;
        let node = Node {
            shape: Shape::Repeat {
                op,
                sub: Box::new(sub),
            },
            rust,
            height,
            size: size.max(1),
        };
        if let Op::Counted { min, max } = op
            && (min >= 2 || max >= 2)
            && !repeat_is_valid(&node, MAX_REPEAT)
        {
            return Err(self.error_at(start, "invalid repeat count", &self.src[start..self.pos]));
        }
        self.push(node)
    }

    /// `{min}`, `{min,}` or `{min,max}` at the cursor (Go's `parseRepeat`): the counts (-1 for a number
    /// over 10^8) and the end offset, or `None` when the text is not of that form.
    fn repeat_counts(&self) -> Option<(i64, i64, usize)> {
        let s = self.rest().strip_prefix('{')?;
        let (min, s) = parse_int(s)?;
        let (max, s) = match s.strip_prefix(',') {
            None => (min, s),
            Some(s) if s.starts_with('}') => (-1, s),
            Some(s) => parse_int(s)?,
        };
        let s = s.strip_prefix('}')?;
        Some((min, max, self.src.len() - s.len()))
    }
}

/// Go's `parseInt`: decimal digits without a leading zero (except `0` itself); `i64::MAX` when over 10^8
/// (Go's "too big", refused as a repeat count).
fn parse_int(s: &str) -> Option<(i64, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (digits >= 2 && s.starts_with('0')) {
        return None;
    }
    let mut n: i64 = 0;
    for b in s[..digits].bytes() {
        if n >= 100_000_000 {
            n = i64::MAX;
            break;
        }
        n = n * 10 + i64::from(b - b'0');
    }
    Some((n, &s[digits..]))
}
