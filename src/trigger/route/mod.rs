//! The heap-snapshot route, `POST /heapdump-<hash>`: one decision for every
//! way a request arrives (the JS adapters through `handler`, the native
//! listener through `listener`), and the one stderr line per request that
//! reached it.
//!
//! In order: the exact path, else the request is the app's (`Pass`); POST
//! only (405); an address that failed too often waits (429, `backoff`);
//! the bearer token (401, the same for every way of getting it wrong); no
//! unknown query parameter and no request body (400; `capture` takes
//! `fork` or `in-process`, `download` is known only where the route allows
//! it); one snapshot at a time (429; `decide` on any
//! thread for this route, `start` on the JS thread for every other
//! trigger). Then the snapshot goes through the same path as `snapshot()`
//! (guard, queue, events, gzip, S3; the in-app route's also through the
//! drain hook), with `reason: 'http'`.

mod auth;
mod backoff;
mod file_body;
pub mod handler;
pub mod listener;
mod path;
mod response;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use napi::bindgen_prelude::Either;

use crate::capture;
use crate::config::route::RouteSettings;
use crate::config::{self, rules, SnapshotOptions};
use crate::error::LgResult;
use crate::process::write_stderr;
use crate::request::{CaptureMode, Request, Snapshot, REASON_HTTP};
use auth::Token;
use backoff::{Backoff, Verdict};
pub use response::Response;

/// What the route needs to know of a request.
pub struct Incoming<'a> {
    pub method: &'a str,
    /// The request-target as sent (path and query, nothing decoded).
    pub target: &'a str,
    /// Every `Authorization` header value, in order.
    pub authorization: &'a [String],
    pub address: Option<IpAddr>,
    /// The request announces a body (`Content-Length` > 0, or chunked).
    pub body: bool,
}

pub enum Decision {
    /// Not the route's path: the app's request.
    Pass,
    Respond(Response),
    /// Authorised: `start` on the JS thread (then `finish`).
    Capture(Ask),
}

/// What an authorised request asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    /// Whether the file is the response's body.
    pub download: Download,
    /// `?capture=`; the configured mode without it.
    pub capture: Option<CaptureMode>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Download {
    No,
    Yes,
}

pub struct Route {
    path: String,
    token: Token,
    gzip: Option<Either<bool, u32>>,
    s3: Option<bool>,
    download: bool,
    backoff: Mutex<Backoff>,
    /// A snapshot of this route's is being taken, written or uploaded.
    in_flight: AtomicBool,
}

impl Route {
    pub fn new(settings: RouteSettings) -> Self {
        Route {
            token: Token::new(&settings.token),
            path: settings.path,
            gzip: settings.gzip,
            s3: settings.s3,
            download: settings.download,
            backoff: Mutex::default(),
            in_flight: AtomicBool::new(false),
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Decides what to do with `incoming`, on any thread.
    pub fn decide(&self, incoming: &Incoming, now: Instant) -> Decision {
        let Some(query) = path::matches(incoming.target, &self.path) else {
            return Decision::Pass;
        };
        if incoming.method != "POST" {
            return Decision::Respond(Response::method_not_allowed());
        }
        let mut backoff = self.backoff.lock().unwrap_or_else(|e| e.into_inner());
        if let Verdict::Wait { retry_after, first } = backoff.check(incoming.address, now) {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            return Decision::Respond(Response::backing_off(secs, first));
        }
        if !self.token.accepts(incoming.authorization) {
            backoff.failed(incoming.address, now);
            return Decision::Respond(Response::unauthorized());
        }
        backoff.succeeded(incoming.address);
        drop(backoff);
        let known: &[&str] = if self.download {
            &["capture", "download"]
        } else {
            &["capture"]
        };
        if let Some(name) = path::unknown_param(query, known) {
            return Decision::Respond(Response::unknown_param(name));
        }
        if incoming.body {
            return Decision::Respond(Response::has_body());
        }
        let download = match path::param(query, "download") {
            None | Some("0") => Download::No,
            Some("1") => Download::Yes,
            Some(_) => return Decision::Respond(Response::bad_download()),
        };
        let capture = match path::param(query, "capture") {
            None => None,
            Some(mode) => match rules::capture_mode(mode) {
                Ok(mode) => Some(mode),
                Err(why) => return Decision::Respond(Response::bad_capture(&why)),
            },
        };
        if self.in_flight.swap(true, Ordering::SeqCst) {
            return Decision::Respond(Response::busy());
        }
        Decision::Capture(Ask { download, capture })
    }

    /// On the JS thread, after `Capture`: the request, unless another
    /// trigger's snapshot is in progress there.
    pub fn start(&self, ask: Ask) -> Result<Request, Response> {
        if capture::busy() {
            self.in_flight.store(false, Ordering::SeqCst);
            return Err(Response::busy());
        }
        Ok(self.request(ask))
    }

    /// The response to a captured request, once its snapshot (and upload) is done.
    pub fn finish(&self, outcome: &LgResult<Snapshot>, ask: Ask) -> Response {
        self.in_flight.store(false, Ordering::SeqCst);
        match (outcome, ask.download) {
            (Ok(s), Download::Yes) => Response::file(s),
            _ => Response::of(outcome),
        }
    }

    /// A download is gzip (level 1 unless the route sets one) and stays
    /// local: an upload would delete the file being sent.
    fn request(&self, Ask { download, capture }: Ask) -> Request {
        let gzip = match (self.gzip, download) {
            (None | Some(Either::A(false)), Download::Yes) => Some(Either::A(true)),
            (gzip, _) => gzip,
        };
        config::request(SnapshotOptions {
            reason: Some(REASON_HTTP.to_string()),
            capture: capture.map(|mode| mode.as_str().to_string()),
            gzip,
            s3: if download == Download::Yes {
                Some(false)
            } else {
                self.s3
            },
            ..SnapshotOptions::default()
        })
    }
}

/// Said after a generated hash.
const GENERATED: &str =
    " (a generated hash: set LEAKGUARD_ROUTE_HASH or pass { hash } to keep it across restarts)";

/// The native listener's line on stderr when it starts (unless `quiet`;
/// always with a generated hash, the one place it is told).
fn tell_listening(address: SocketAddr, route: &Route, generated: bool) {
    if !generated && config::defaults().quiet {
        return;
    }
    let path = if generated {
        format!(" at POST {}{GENERATED}", route.path)
    } else {
        String::new()
    };
    let exposed = if address.ip().is_loopback() {
        ""
    } else {
        "; not loopback: reachable from the network"
    };
    write_stderr(&format!(
        "leakguard[{}]: heap snapshot route listening on {address}{path}{exposed}\n",
        std::process::id()
    ));
}

/// The stderr line for a request that reached the route (unless `quiet`):
/// who asked, the status, what happened. Never the token.
pub fn log(address: Option<IpAddr>, response: &Response) {
    if !response.logged || config::defaults().quiet {
        return;
    }
    let from = address.map_or("an unknown address".to_string(), |a| {
        a.to_canonical().to_string()
    });
    write_stderr(&format!(
        "leakguard[{}]: heap snapshot route ({REASON_HTTP}) from {from}: {} {}\n",
        std::process::id(),
        response.status,
        response.outcome
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";
    const PATH: &str = "/heapdump-0123456789abcdef";

    fn route() -> Route {
        Route::new(RouteSettings {
            path: PATH.into(),
            token: TOKEN.into(),
            generated: false,
            gzip: None,
            s3: None,
            download: false,
        })
    }

    fn status(r: &Route, method: &str, target: &str, auth: &[&str]) -> Option<u16> {
        let authorization: Vec<String> = auth.iter().map(|a| a.to_string()).collect();
        let incoming = Incoming {
            method,
            target,
            authorization: &authorization,
            address: "10.0.0.1".parse().ok(),
            body: false,
        };
        match r.decide(&incoming, Instant::now()) {
            Decision::Pass => None,
            Decision::Respond(resp) => Some(resp.status),
            Decision::Capture(..) => Some(200),
        }
    }

    #[test]
    fn each_check_in_order() {
        let r = route();
        let good = format!("Bearer {TOKEN}");
        assert_eq!(status(&r, "POST", "/other", &[&good]), None);
        assert_eq!(status(&r, "GET", PATH, &[&good]), Some(405));
        assert_eq!(status(&r, "POST", PATH, &[]), Some(401));
        // Unauthenticated requests learn nothing about parameters; no
        // download unless the route allows it.
        assert_eq!(
            status(&r, "POST", &format!("{PATH}?download=1"), &[&good]),
            Some(400)
        );
        assert_eq!(
            status(&r, "POST", &format!("{PATH}?x=1"), &["Bearer x"]),
            Some(401)
        );
        assert_eq!(
            status(&r, "POST", &format!("{PATH}?x=1"), &[&good]),
            Some(400)
        );
        assert_eq!(status(&r, "POST", PATH, &[&good]), Some(200));
        assert_eq!(status(&r, "POST", PATH, &[&good]), Some(429));
        let ask = Ask {
            download: Download::No,
            capture: None,
        };
        r.finish(&Err(crate::error::LgError::capture("x")), ask);
        assert_eq!(status(&r, "POST", &format!("{PATH}?"), &[&good]), Some(200));
    }

    #[test]
    fn an_address_that_keeps_failing_waits_even_with_the_token() {
        let r = route();
        for _ in 0..=backoff::FREE_FAILURES {
            assert_eq!(status(&r, "POST", PATH, &["Bearer wrong"]), Some(401));
        }
        assert_eq!(
            status(&r, "POST", PATH, &[&format!("Bearer {TOKEN}")]),
            Some(429)
        );
    }
}
