//! What the route answers: a status, its headers and a JSON body, built the
//! same way for every adapter. Error bodies are `{ error: { code, message } }`
//! (plus the guard's numbers on a refusal); never a stack, never the token.

use crate::error::{Code, LgError, LgResult};
use crate::request::Snapshot;

/// How long a client should wait while a snapshot is in progress.
const BUSY_RETRY_SECS: u64 = 5;

pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// For the log line: what happened.
    pub outcome: String,
    /// Whether it is worth a log line (a repeated refusal is not).
    pub logged: bool,
    /// A file to send as the body instead (a download), `body` is then empty.
    pub file: Option<std::path::PathBuf>,
}

impl Response {
    fn error(status: u16, code: &str, message: &str) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: format!(
                "{{\"error\":{{\"code\":{},\"message\":{}}}}}",
                string(code),
                string(message)
            ),
            outcome: message.to_string(),
            logged: true,
            file: None,
        }
    }

    /// Every header to send, the defaults first (a later one of a name wins).
    pub fn header_list(&self) -> Vec<(&'static str, String)> {
        let mut list: Vec<(&'static str, String)> =
            vec![("Content-Type", "application/json".to_string())];
        for (name, value) in self
            .headers
            .iter()
            .cloned()
            .chain([("Cache-Control", "no-store".to_string())])
        {
            list.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            list.push((name, value));
        }
        list
    }

    /// For a request on the listener that is not the route's.
    pub fn not_found() -> Self {
        let mut r = Self::error(404, "not-found", "not found");
        r.logged = false;
        r
    }

    fn with(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn method_not_allowed() -> Self {
        Self::error(405, "method-not-allowed", "method not allowed: use POST")
            .with("Allow", "POST".into())
    }

    /// The same for a wrong, missing, doubled or malformed token.
    pub fn unauthorized() -> Self {
        Self::error(401, "unauthorized", "unauthorized").with("WWW-Authenticate", "Bearer".into())
    }

    /// `first`: the first refusal of this wait; later ones are not logged.
    pub fn backing_off(retry_after_secs: u64, first: bool) -> Self {
        let mut r = Self::error(
            429,
            "too-many-attempts",
            "too many failed attempts from this address; retry later",
        )
        .with("Retry-After", retry_after_secs.to_string());
        r.logged = first;
        r
    }

    pub fn has_body() -> Self {
        Self::error(400, "bad-request", "the route takes no request body")
    }

    pub fn busy() -> Self {
        Self::error(429, "busy", "a heap snapshot is in progress; retry later")
            .with("Retry-After", BUSY_RETRY_SECS.to_string())
    }

    pub fn unknown_param(name: &str) -> Self {
        let name = crate::config::rules::shown(name);
        Self::error(
            400,
            "bad-request",
            &format!("unknown query parameter {name}"),
        )
    }

    /// A snapshot's outcome: 200 with where it went and what it cost, 503
    /// for the guard's refusal, 500 for any other failure.
    pub fn of(outcome: &LgResult<Snapshot>) -> Self {
        match outcome {
            Ok(s) => Self::snapshot(s),
            Err(e) => Self::failure(e),
        }
    }

    fn snapshot(s: &Snapshot) -> Self {
        let (place, outcome) = match &s.s3 {
            Some(u) => (
                format!(
                    "\"s3\":{{\"bucket\":{},\"key\":{}}}",
                    string(&u.bucket),
                    string(&u.key)
                ),
                format!("snapshot uploaded to s3://{}/{}", u.bucket, u.key),
            ),
            None => {
                let path = s.path.to_string_lossy();
                (
                    format!("\"path\":{}", string(&path)),
                    format!("snapshot written to {path}"),
                )
            }
        };
        let body = format!(
            "{{{place},\"bytes\":{},\"heapUsed\":{},\"blockMs\":{:.1},\"totalMs\":{:.1},\
             \"objectIds\":\"{}\",\"reason\":{}}}",
            s.bytes,
            s.heap_used,
            s.block_ms,
            s.total_ms,
            s.object_ids.as_str(),
            string(&s.reason)
        );
        Response {
            status: 200,
            headers: Vec::new(),
            body,
            outcome: format!("{outcome} {}", crate::report::cost(s)),
            logged: true,
            file: None,
        }
    }

    pub fn bad_download() -> Self {
        Self::error(400, "bad-request", "`download` takes 1 or 0")
    }

    /// `?capture=` with a mode this process cannot run (`why` says which it can).
    pub fn bad_capture(why: &str) -> Self {
        Self::error(400, "bad-request", &format!("`capture`: {why}"))
    }

    /// The finished (gzip) file as the body, with what the JSON would say
    /// in headers.
    pub fn file(s: &Snapshot) -> Self {
        let name = s.path.file_name().map(|n| n.to_string_lossy().into_owned());
        let mut r = Self::snapshot(s)
            .with("Content-Type", "application/gzip".into())
            .with("Content-Length", s.bytes.to_string())
            .with(
                "Content-Disposition",
                format!("attachment; filename={}", string(&name.unwrap_or_default())),
            );
        r.body = String::new();
        r.outcome = r
            .outcome
            .replacen("snapshot written to", "snapshot sent from", 1);
        r.file = Some(s.path.clone());
        r
    }

    fn failure(e: &LgError) -> Self {
        let Some(h) = e.headroom.as_ref().filter(|_| e.code == Code::Headroom) else {
            return Self::error(500, e.code.as_str(), &e.message);
        };
        let mut r = Self::error(503, e.code.as_str(), &e.message);
        let phase = match h.phase {
            crate::error::Phase::PreCheck => "pre-check",
            crate::error::Phase::MidCapture => "mid-capture",
        };
        r.body = format!(
            "{{\"error\":{{\"code\":{},\"message\":{},\"phase\":{},\"need\":{},\
             \"available\":{},\"boundBy\":{},\"heapUsed\":{},\"rss\":{}}}}}",
            string(e.code.as_str()),
            string(&e.message),
            string(phase),
            h.need,
            h.available,
            string(&h.bound),
            h.heap_used,
            h.rss
        );
        r
    }
}

/// A JSON string literal.
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{HeadroomFacts, Phase};

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\u000a\\u0001é\"");
    }

    #[test]
    fn a_refusal_is_503_with_the_guards_numbers_and_other_failures_500() {
        let facts = HeadroomFacts {
            phase: Phase::PreCheck,
            need: 10,
            available: 5,
            bound: "host".into(),
            heap_used: 3,
            rss: 7,
        };
        let r = Response::of(&Err(LgError::headroom("no room", facts)));
        assert_eq!(r.status, 503);
        assert!(
            r.body
                .contains("\"need\":10,\"available\":5,\"boundBy\":\"host\""),
            "{}",
            r.body
        );
        let r = Response::of(&Err(LgError::capture("boom")));
        assert_eq!(r.status, 500);
        assert_eq!(
            r.body,
            "{\"error\":{\"code\":\"ERR_LEAKGUARD_CAPTURE\",\"message\":\"boom\"}}"
        );
    }
}
