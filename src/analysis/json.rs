//! A streaming JSON lexer for heap snapshots: just what the format needs
//! (objects, arrays of unsigned integers, strings, small values), reading
//! straight from the buffer, counting bytes so every error names its offset.
//! Never recursive on input: a hostile file cannot overflow the stack.

use std::io::BufRead;

use super::AnalysisError;

pub struct Lexer<R: BufRead> {
    r: R,
    /// Bytes of JSON consumed so far.
    offset: u64,
}

/// A small JSON value (the `snapshot.meta` header).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Header values nest a few levels; anything deeper is not a heap snapshot.
const MAX_DEPTH: usize = 32;
/// V8's header is a few KiB; a larger one is not a heap snapshot, and
/// parsing it into values must not take memory the file dictates.
const MAX_HEADER_BYTES: u64 = 1 << 20;
/// Object keys are short names; a longer one cannot be a key we know.
const MAX_KEY_BYTES: usize = 256;

impl<R: BufRead> Lexer<R> {
    pub fn new(r: R) -> Self {
        Lexer::at(r, 0)
    }

    /// A lexer whose input starts at byte `offset` of the JSON.
    pub fn at(r: R, offset: u64) -> Self {
        Lexer { r, offset }
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn error(&self, expected: &str) -> AnalysisError {
        AnalysisError::at(self.offset, expected)
    }

    /// `expected` was not found next: at the end of the input, say so.
    fn unexpected(&mut self, expected: &str) -> AnalysisError {
        match self.peek_token() {
            Ok(None) => self.error(&format!("{expected}, but the file ends here (truncated?)")),
            _ => self.error(expected),
        }
    }

    fn peek(&mut self) -> Result<Option<u8>, AnalysisError> {
        let buf = self
            .r
            .fill_buf()
            .map_err(|e| AnalysisError::io(self.offset, &e))?;
        Ok(buf.first().copied())
    }

    fn bump(&mut self) {
        self.r.consume(1);
        self.offset += 1;
    }

    /// The next non-space byte, not consumed; `None` at the end of input.
    pub fn peek_token(&mut self) -> Result<Option<u8>, AnalysisError> {
        loop {
            match self.peek()? {
                Some(b' ' | b'\n' | b'\r' | b'\t') => self.bump(),
                other => return Ok(other),
            }
        }
    }

    pub fn expect(&mut self, byte: u8, expected: &str) -> Result<(), AnalysisError> {
        match self.peek_token()? {
            Some(b) if b == byte => {
                self.bump();
                Ok(())
            }
            _ => Err(self.unexpected(expected)),
        }
    }

    /// After a value in an array or object: `true` if a `,` followed (more
    /// to come), `false` at the closing `close`.
    pub fn more(&mut self, close: u8) -> Result<bool, AnalysisError> {
        match self.peek_token()? {
            Some(b',') => {
                self.bump();
                Ok(true)
            }
            Some(b) if b == close => {
                self.bump();
                Ok(false)
            }
            _ => Err(self.unexpected(&format!("',' or '{}'", close as char))),
        }
    }

    /// Opens an array or object: `false` if it is empty (and consumed whole).
    pub fn open(&mut self, open: u8, close: u8, what: &str) -> Result<bool, AnalysisError> {
        self.expect(open, what)?;
        if self.peek_token()? == Some(close) {
            self.bump();
            return Ok(false);
        }
        Ok(true)
    }

    /// An object key and its `:`.
    pub fn key(&mut self) -> Result<String, AnalysisError> {
        let mut key = Vec::new();
        if self.string(&mut key, MAX_KEY_BYTES)? {
            return Err(self.error(&format!("an object key of at most {MAX_KEY_BYTES} bytes")));
        }
        self.expect(b':', "':' after an object key")?;
        String::from_utf8(key).map_err(|_| self.error("a UTF-8 object key"))
    }

    /// A JSON string, decoded (escapes, surrogate pairs) and appended to
    /// `out`, keeping at most `max` bytes of it (cut at a character
    /// boundary): `true` if it was cut. The rest is read, not stored.
    pub fn string(&mut self, out: &mut Vec<u8>, max: usize) -> Result<bool, AnalysisError> {
        self.expect(b'"', "a string")?;
        let start = out.len();
        let mut cut = false;
        loop {
            let buf = self
                .r
                .fill_buf()
                .map_err(|e| AnalysisError::io(self.offset, &e))?;
            if buf.is_empty() {
                return Err(self.error("the end of a string (the file is truncated)"));
            }
            // Copy the plain run in one go.
            let run = buf
                .iter()
                .position(|&b| b == b'"' || b == b'\\')
                .unwrap_or(buf.len());
            let room = max - (out.len() - start);
            cut |= run > room;
            out.extend_from_slice(&buf[..run.min(room)]);
            let stop = buf.get(run).copied();
            self.r.consume(run);
            self.offset += run as u64;
            match stop {
                Some(b'"') => {
                    self.bump();
                    if cut {
                        trim_partial_char(out, start);
                    }
                    return Ok(cut);
                }
                Some(_) => {
                    self.bump();
                    self.escape(out)?;
                    if out.len() - start > max {
                        out.truncate(start + max);
                        cut = true;
                    }
                }
                None => {}
            }
        }
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), AnalysisError> {
        let c = self
            .peek()?
            .ok_or_else(|| self.error("an escape sequence"))?;
        self.bump();
        let simple = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let mut code = self.hex4()?;
                if (0xD800..0xDC00).contains(&code) && self.peek()? == Some(b'\\') {
                    self.bump();
                    if self.peek()? != Some(b'u') {
                        return Err(self.error("'u' of a low surrogate"));
                    }
                    self.bump();
                    let low = self.hex4()?;
                    code = 0x10000 + ((code - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF);
                }
                // V8 writes lone surrogates for broken strings: keep them readable.
                let ch = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
                return Ok(());
            }
            _ => return Err(self.error("a valid escape sequence")),
        };
        out.push(simple);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, AnalysisError> {
        let mut code = 0;
        for _ in 0..4 {
            let d = self
                .peek()?
                .and_then(|b| (b as char).to_digit(16))
                .ok_or_else(|| self.error("4 hex digits after \\u"))?;
            self.bump();
            code = code * 16 + d;
        }
        Ok(code)
    }

    /// An array of unsigned integers, each passed to `f` with its offset;
    /// an `Err` from `f` stops the read there, an error at that value. The
    /// hot path: a state machine over whole buffers, a number may span two
    /// of them.
    pub fn uints(
        &mut self,
        f: impl FnMut(u64, u64) -> Result<(), String>,
    ) -> Result<u64, AnalysisError> {
        if !self.open(b'[', b']', "'[' opening an array of integers")? {
            return Ok(0);
        }
        self.uints_run(None, f)
    }

    /// The values of an array already opened (after its `[`, or a `,`), to
    /// its `]` or, with `limit`, to that many values: the separator after
    /// the last is consumed either way. `uints` otherwise.
    pub fn uints_run(
        &mut self,
        limit: Option<u64>,
        mut f: impl FnMut(u64, u64) -> Result<(), String>,
    ) -> Result<u64, AnalysisError> {
        #[derive(PartialEq)]
        enum At {
            Value,
            Digits,
            AfterValue,
        }
        let mut count = 0u64;
        let (mut n, mut digits, mut at) = (0u64, 0u32, At::Value);
        let mut start = self.offset;
        loop {
            let buf = self
                .r
                .fill_buf()
                .map_err(|e| AnalysisError::io(self.offset, &e))?;
            if buf.is_empty() {
                return Err(self.error("',' or ']', but the file ends here (truncated?)"));
            }
            let mut i = 0;
            while i < buf.len() {
                let b = buf[i];
                let fail = |expected: &str| AnalysisError::at(self.offset + i as u64, expected);
                match b {
                    b'0'..=b'9' => {
                        if at == At::AfterValue {
                            return Err(fail("',' or ']'"));
                        }
                        if digits == 0 {
                            start = self.offset + i as u64;
                            // Most values are short: read them eight bytes at a time.
                            if let Some((value, len)) = buf.get(i..i + 8).and_then(short_uint) {
                                (n, at) = (value, At::Digits);
                                digits = len;
                                i += len as usize;
                                continue;
                            }
                        }
                        // Longer values, a value split across buffers, the buffer's
                        // last bytes: the digits in one run.
                        let run = buf[i..]
                            .iter()
                            .take(20)
                            .take_while(|b| b.is_ascii_digit())
                            .count();
                        if digits as usize + run > 19 {
                            let at = self.offset + (i + 19 - digits as usize) as u64;
                            return Err(AnalysisError::at(at, "an integer below 10^19"));
                        }
                        for &d in &buf[i..i + run] {
                            n = n * 10 + (d - b'0') as u64;
                        }
                        digits += run as u32;
                        at = At::Digits;
                        i += run;
                        continue;
                    }
                    b',' | b']' => {
                        if at == At::Value {
                            return Err(fail("an unsigned integer"));
                        }
                        f(n, start).map_err(|e| AnalysisError::at(start, &e))?;
                        count += 1;
                        (n, digits, at) = (0, 0, At::Value);
                        if b == b']' || Some(count) == limit {
                            self.r.consume(i + 1);
                            self.offset += i as u64 + 1;
                            return Ok(count);
                        }
                    }
                    b' ' | b'\n' | b'\r' | b'\t' => {
                        if at == At::Digits {
                            at = At::AfterValue;
                        }
                    }
                    _ if at == At::Value => return Err(fail("an unsigned integer")),
                    _ => return Err(fail("',' or ']'")),
                }
                i += 1;
            }
            let len = buf.len();
            self.r.consume(len);
            self.offset += len as u64;
        }
    }

    /// Consumes bytes up to the next `byte`, left unconsumed: `false` if the
    /// input ends first. At memory speed (`memchr`), for long plain runs.
    pub fn skip_until(&mut self, byte: u8) -> Result<bool, AnalysisError> {
        loop {
            let buf = self
                .r
                .fill_buf()
                .map_err(|e| AnalysisError::io(self.offset, &e))?;
            if buf.is_empty() {
                return Ok(false);
            }
            let found = memchr::memchr(byte, buf);
            let run = found.unwrap_or(buf.len());
            self.r.consume(run);
            self.offset += run as u64;
            if found.is_some() {
                return Ok(true);
            }
        }
    }

    /// Any JSON value, discarded, with constant memory.
    pub fn skip(&mut self) -> Result<(), AnalysisError> {
        let mut depth = 0usize;
        loop {
            if depth > 0 {
                self.skip_plain()?;
            }
            match self.peek_token()? {
                Some(b'[' | b'{') => {
                    self.bump();
                    depth += 1;
                    continue;
                }
                Some(b']' | b'}') if depth > 0 => {
                    self.bump();
                    depth -= 1;
                }
                Some(b'"') => {
                    self.string(&mut Vec::new(), 0)?;
                }
                Some(b',' | b':') if depth > 0 => self.bump(),
                Some(b'-' | b'0'..=b'9' | b't' | b'f' | b'n' | b'.' | b'e' | b'E' | b'+') => {
                    self.bump()
                }
                None => return Err(self.error("more JSON (the file is truncated)")),
                Some(_) => return Err(self.error("a JSON value")),
            }
            if depth == 0 {
                return Ok(());
            }
        }
    }

    /// Consumes a run of bytes that cannot open or close anything (digits,
    /// separators, number syntax, literals' letters) straight from the
    /// buffer: skipped sections are mostly long integer arrays.
    fn skip_plain(&mut self) -> Result<(), AnalysisError> {
        loop {
            let buf = self
                .r
                .fill_buf()
                .map_err(|e| AnalysisError::io(self.offset, &e))?;
            let run = buf
                .iter()
                .take_while(|&&b| {
                    matches!(b, b'0'..=b'9' | b',' | b':' | b' ' | b'\n' | b'\r' | b'\t' | b'-' | b'+' | b'.' | b'e' | b'E' | b'a'..=b'd' | b'f'..=b'z' | b'A'..=b'D' | b'F'..=b'Z')
                })
                .count();
            let whole = run == buf.len() && run > 0;
            self.r.consume(run);
            self.offset += run as u64;
            if !whole {
                return Ok(());
            }
        }
    }

    /// A small JSON value (the header), limited in depth and size.
    pub fn value(&mut self) -> Result<Value, AnalysisError> {
        let start = self.offset;
        self.value_at(0, start)
    }

    fn value_at(&mut self, depth: usize, start: u64) -> Result<Value, AnalysisError> {
        if depth > MAX_DEPTH {
            return Err(self.error("a shallower header (nesting too deep)"));
        }
        let left = (start + MAX_HEADER_BYTES)
            .checked_sub(self.offset)
            .ok_or_else(|| self.error(&format!("a header of at most {MAX_HEADER_BYTES} bytes")))?;
        match self.peek_token()? {
            Some(b'{') => {
                let mut fields = Vec::new();
                if self.open(b'{', b'}', "'{'")? {
                    loop {
                        let key = self.key()?;
                        fields.push((key, self.value_at(depth + 1, start)?));
                        if !self.more(b'}')? {
                            break;
                        }
                    }
                }
                Ok(Value::Object(fields))
            }
            Some(b'[') => {
                let mut items = Vec::new();
                if self.open(b'[', b']', "'['")? {
                    loop {
                        items.push(self.value_at(depth + 1, start)?);
                        if !self.more(b']')? {
                            break;
                        }
                    }
                }
                Ok(Value::Array(items))
            }
            Some(b'"') => {
                let mut s = Vec::new();
                if self.string(&mut s, left as usize)? {
                    return Err(
                        self.error(&format!("a header of at most {MAX_HEADER_BYTES} bytes"))
                    );
                }
                String::from_utf8(s)
                    .map(Value::Str)
                    .map_err(|_| self.error("a UTF-8 string"))
            }
            Some(b't' | b'f' | b'n') => {
                let mut word = Vec::new();
                while let Some(b @ b'a'..=b'z') = self.peek()? {
                    if word.len() > 5 {
                        return Err(self.error("true, false or null"));
                    }
                    word.push(b);
                    self.bump();
                }
                match word.as_slice() {
                    b"true" => Ok(Value::Bool(true)),
                    b"false" => Ok(Value::Bool(false)),
                    b"null" => Ok(Value::Null),
                    _ => Err(self.error("true, false or null")),
                }
            }
            Some(b'-' | b'0'..=b'9') => {
                let mut text = Vec::new();
                while let Some(b @ (b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) =
                    self.peek()?
                {
                    if text.len() > 64 {
                        return Err(self.error("a number of at most 64 characters"));
                    }
                    text.push(b);
                    self.bump();
                }
                std::str::from_utf8(&text)
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .map(Value::Number)
                    .ok_or_else(|| self.error("a number"))
            }
            None => Err(self.error("a value (the file is truncated)")),
            Some(_) => Err(self.error("a JSON value")),
        }
    }
}

/// The unsigned integer of fewer than 8 digits that starts `bytes` (8 of
/// them), and its length: the digits found and combined in a few word
/// operations, with no branch per digit. `None` for 8 digits or more.
#[inline]
fn short_uint(bytes: &[u8]) -> Option<(u64, u32)> {
    let word = u64::from_le_bytes(bytes.try_into().ok()?);
    let digits = word.wrapping_sub(0x3030_3030_3030_3030);
    // A byte's high bit: below '0' (it borrowed), or above '9'. Bytes past
    // the first non-digit may be wrong (borrows, carries); they are not used.
    let other = (digits | word.wrapping_add(0x4646_4646_4646_4646)) & 0x8080_8080_8080_8080;
    let len = other.trailing_zeros() / 8;
    if len == 0 || len == 8 {
        return None;
    }
    // The digits moved to the top bytes: the bytes below become leading zeros.
    let v = (digits << (8 * (8 - len))) & 0x0F0F_0F0F_0F0F_0F0F;
    let v = (v.wrapping_mul(10) + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
    let v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
    let v = (v.wrapping_mul(10000) + (v >> 32)) & 0xFFFF_FFFF;
    Some((v, len))
}

/// After a cut: drop the bytes of a character the cut split.
fn trim_partial_char(out: &mut Vec<u8>, start: usize) {
    let tail = out.len().saturating_sub(4).max(start);
    if let Err(e) = std::str::from_utf8(&out[tail..]) {
        if e.error_len().is_none() {
            out.truncate(tail + e.valid_up_to());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(s: &str) -> Lexer<&[u8]> {
        Lexer::new(s.as_bytes())
    }

    #[test]
    fn reads_integer_arrays_across_buffer_boundaries() {
        let text = "[1,22, 333 ,\n4444]";
        let reader = std::io::BufReader::with_capacity(2, text.as_bytes());
        let mut l = Lexer::new(reader);
        let mut got = Vec::new();
        assert_eq!(
            l.uints(|n, _| {
                got.push(n);
                Ok(())
            })
            .unwrap(),
            4
        );
        assert_eq!(got, [1, 22, 333, 4444]);
    }

    #[test]
    fn short_integers_read_a_word_at_a_time() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for len in 1..=7u32 {
            for _ in 0..2000 {
                let value = next() % 10u64.pow(len);
                let mut bytes = format!("{value:0width$}", width = len as usize).into_bytes();
                let stop =
                    [b',', b']', b'\n', b' ', b'x', b'/', b':', 0x80, 0xff][next() as usize % 9];
                bytes.push(stop);
                while bytes.len() < 8 {
                    bytes.push(next() as u8);
                }
                assert_eq!(short_uint(&bytes), Some((value, len)), "{bytes:?}");
            }
        }
        assert_eq!(short_uint(b"12345678"), None);
        assert_eq!(short_uint(b",1234567"), None);
    }

    #[test]
    fn decodes_escapes_and_surrogate_pairs() {
        let mut out = Vec::new();
        lex(r#""a\"b\\c\n\u00e9\ud83d\ude00""#)
            .string(&mut out, usize::MAX)
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a\"b\\c\né😀");
    }

    #[test]
    fn errors_name_the_offset_and_what_was_expected() {
        let e = lex("[1,2,x]").uints(|_, _| Ok(())).unwrap_err();
        assert_eq!(
            (e.offset, e.expected.as_str()),
            (Some(5), "an unsigned integer")
        );
        let e = lex("[1,2").uints(|_, _| Ok(())).unwrap_err();
        assert_eq!(e.offset, Some(4));
        // The 20th digit is the error, in one buffer or split across several.
        let long = format!("[1,{}]", "9".repeat(25));
        for capacity in [1, 3, 7, 64] {
            let reader = std::io::BufReader::with_capacity(capacity, long.as_bytes());
            let e = Lexer::new(reader).uints(|_, _| Ok(())).unwrap_err();
            assert_eq!(
                (e.offset, e.expected.as_str()),
                (Some(22), "an integer below 10^19")
            );
        }
        let mut got = 0;
        lex("[9999999999999999999]")
            .uints(|n, _| {
                got = n;
                Ok(())
            })
            .unwrap();
        assert_eq!(got, 9_999_999_999_999_999_999);
        let e = lex(r#""abc"#).string(&mut Vec::new(), 9).unwrap_err();
        assert!(e.expected.contains("truncated"));
    }

    #[test]
    fn skips_nested_values_and_parses_headers() {
        let mut l = lex(r#"[{"a":[1,{"b":"]"}]}, 2] {"k":[true,null,-1.5]}"#);
        l.skip().unwrap();
        let v = l.value().unwrap();
        assert_eq!(
            v.get("k"),
            Some(&Value::Array(vec![
                Value::Bool(true),
                Value::Null,
                Value::Number(-1.5)
            ]))
        );
        let deep = "[".repeat(100);
        assert!(lex(&deep).value().is_err());
    }
}
