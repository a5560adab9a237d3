//! A small zero-copy JSON parser producing the tree JsonConverter's reader walks.
//!
//! Design decision: numbers keep their source text. Jackson (with
//! `USE_BIG_DECIMAL_FOR_FLOATS`) reads every number exactly and converts per target type, so
//! NUMERIC decimals, float32 rounding and Kafka's wrapping integer casts all need the text,
//! which `serde_json::Value` would lose. Duplicate keys behave as in Jackson's `ObjectNode`:
//! the last value wins at the first key's position. Content after the first value is ignored,
//! as `ObjectMapper.readTree` does.

use std::borrow::Cow;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node<'a> {
    Null,
    Bool(bool),
    /// Number text; `integral` when it has no fraction and no exponent (Jackson's int nodes).
    Number {
        text: &'a str,
        integral: bool,
    },
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl<'a> Node<'a> {
    /// Jackson's `JsonNodeType` name, used in Kafka's error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Node::Null => "NULL",
            Node::Bool(_) => "BOOLEAN",
            Node::Number { .. } => "NUMBER",
            Node::String(_) => "STRING",
            Node::Array(_) => "ARRAY",
            Node::Object(_) => "OBJECT",
        }
    }
    /// `JsonNode.get(name)` on an object.
    pub(crate) fn get(&self, name: &str) -> Option<&Node<'a>> {
        match self {
            Node::Object(entries) => entries.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A parsed document plus, when it is an object, the byte range of each top-level value
/// (by key), which the reader uses to cache the envelope's schema by its exact bytes.
pub(crate) struct Document<'a> {
    pub root: Option<Node<'a>>,
    pub top_spans: Vec<(Cow<'a, str>, Range<usize>)>,
}

#[derive(Debug)]
pub(crate) struct ParseError {
    pub message: String,
}

pub(crate) fn parse(input: &[u8]) -> Result<Document<'_>, ParseError> {
    let mut p = Parser {
        s: input,
        pos: 0,
        depth: 0,
        top_spans: Vec::new(),
    };
    p.skip_ws();
    if p.pos >= p.s.len() {
        // Empty content: Jackson's readTree gives a MissingNode.
        return Ok(Document {
            root: None,
            top_spans: Vec::new(),
        });
    }
    let root = p.value()?;
    Ok(Document {
        root: Some(root),
        top_spans: p.top_spans,
    })
}

const MAX_DEPTH: usize = 1000;

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
    top_spans: Vec<(Cow<'a, str>, Range<usize>)>,
}

impl<'a> Parser<'a> {
    fn err<T>(&self, what: &str) -> Result<T, ParseError> {
        Err(ParseError {
            message: format!("{what} at byte offset {}", self.pos),
        })
    }

    fn skip_ws(&mut self) {
        while let Some(&b) = self.s.get(self.pos) {
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn value(&mut self) -> Result<Node<'a>, ParseError> {
        self.skip_ws();
        match self.s.get(self.pos) {
            None => self.err("unexpected end of input"),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Ok(Node::String(self.string()?)),
            Some(b't') => self.literal(b"true", Node::Bool(true)),
            Some(b'f') => self.literal(b"false", Node::Bool(false)),
            Some(b'n') => self.literal(b"null", Node::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => self.err("unexpected character"),
        }
    }

    fn literal(&mut self, word: &[u8], node: Node<'a>) -> Result<Node<'a>, ParseError> {
        if self.s[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(node)
        } else {
            self.err("invalid literal")
        }
    }

    fn number(&mut self) -> Result<Node<'a>, ParseError> {
        let start = self.pos;
        let mut integral = true;
        if self.s.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match self.s.get(self.pos) {
            Some(b'0') => {
                self.pos += 1;
                if self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
                    return self.err("invalid number: leading zeroes are not allowed");
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return self.err("invalid number"),
        }
        if self.s.get(self.pos) == Some(&b'.') {
            integral = false;
            self.pos += 1;
            if !self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
                return self.err("invalid number: expected a digit after '.'");
            }
            self.digits();
        }
        if matches!(self.s.get(self.pos), Some(b'e' | b'E')) {
            integral = false;
            self.pos += 1;
            if matches!(self.s.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
                return self.err("invalid number: expected a digit in the exponent");
            }
            self.digits();
        }
        // Only ASCII bytes were consumed.
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("0");
        Ok(Node::Number { text, integral })
    }

    fn digits(&mut self) {
        while self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
    }

    fn string(&mut self) -> Result<Cow<'a, str>, ParseError> {
        self.pos += 1; // opening quote
        let start = self.pos;
        // Fast path: no escapes.
        while let Some(&b) = self.s.get(self.pos) {
            match b {
                b'"' => {
                    let raw = &self.s[start..self.pos];
                    self.pos += 1;
                    return match std::str::from_utf8(raw) {
                        Ok(s) => Ok(Cow::Borrowed(s)),
                        Err(_) => self.err("invalid UTF-8 in string"),
                    };
                }
                b'\\' => break,
                0..=0x1F => return self.err("unescaped control character in string"),
                _ => self.pos += 1,
            }
        }
        let mut out: Vec<u8> = self.s[start..self.pos].to_vec();
        loop {
            let Some(&b) = self.s.get(self.pos) else {
                return self.err("unterminated string");
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        return self.err("unterminated string");
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let c = self.unicode_escape()?;
                            let mut tmp = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                        }
                        _ => return self.err("invalid escape in string"),
                    }
                }
                0..=0x1F => return self.err("unescaped control character in string"),
                _ => out.push(b),
            }
        }
        match String::from_utf8(out) {
            Ok(s) => Ok(Cow::Owned(s)),
            Err(_) => self.err("invalid UTF-8 in string"),
        }
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let Some(h) = self.s.get(self.pos..self.pos + 4) else {
            return self.err("truncated \\u escape");
        };
        let h = std::str::from_utf8(h)
            .ok()
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        match h {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => self.err("invalid \\u escape"),
        }
    }

    /// A `\uXXXX` escape, combining surrogate pairs. A lone surrogate (valid in Java strings,
    /// impossible in Rust ones) becomes U+FFFD.
    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.s.get(self.pos..self.pos + 2) == Some(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{FFFD}'));
            }
            self.pos = save;
        }
        Ok(char::from_u32(hi).unwrap_or('\u{FFFD}'))
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        self.pos += 1;
        Ok(())
    }

    fn array(&mut self) -> Result<Node<'a>, ParseError> {
        self.enter()?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Node::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => return self.err("expected ',' or ']'"),
            }
        }
        self.depth -= 1;
        Ok(Node::Array(items))
    }

    fn object(&mut self) -> Result<Node<'a>, ParseError> {
        self.enter()?;
        let top = self.depth == 1;
        let mut entries: Vec<(Cow<'a, str>, Node<'a>)> = Vec::new();
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Node::Object(entries));
        }
        loop {
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b'"') {
                return self.err("expected a field name");
            }
            let key = self.string()?;
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b':') {
                return self.err("expected ':'");
            }
            self.pos += 1;
            self.skip_ws();
            let start = self.pos;
            let value = self.value()?;
            if top {
                self.top_spans.push((key.clone(), start..self.pos));
            }
            // Last value wins, at the first occurrence's position (LinkedHashMap.put).
            if let Some(slot) = entries.iter_mut().find(|(k, _)| *k == key) {
                slot.1 = value;
            } else {
                entries.push((key, value));
            }
            self.skip_ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return self.err("expected ',' or '}'"),
            }
        }
        self.depth -= 1;
        Ok(Node::Object(entries))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers_strings_and_duplicates() {
        let doc =
            parse(br#" {"a":1,"b":[1.5e3,-0,"x\u00e9\ud83c\udf89\n"],"a":2} trailing"#).unwrap();
        let root = doc.root.unwrap();
        assert_eq!(
            root.get("a"),
            Some(&Node::Number {
                text: "2",
                integral: true
            })
        );
        let Some(Node::Array(items)) = root.get("b") else {
            panic!("array")
        };
        assert_eq!(
            items[0],
            Node::Number {
                text: "1.5e3",
                integral: false
            }
        );
        assert_eq!(
            items[2],
            Node::String(Cow::Owned("x\u{e9}\u{1F389}\n".to_owned()))
        );
        assert_eq!(doc.top_spans.len(), 3);
        assert!(parse(b"{\"a\":").is_err());
        assert!(parse(b"01").is_err());
        assert!(parse(b"1 x").is_ok()); // trailing content is ignored, as in Jackson's readTree
        assert!(parse(b"[1,]").is_err());
        assert!(parse(b"").unwrap().root.is_none());
    }
}
