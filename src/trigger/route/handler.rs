//! The route as JS adapters see it: a native object whose `handle` takes
//! what a request says (method, target, `Authorization` values, client
//! address) and returns `null` for the app's requests, else a promise of
//! the response to write. The adapters (lib/index.js) only copy bytes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use napi::bindgen_prelude::{ToNapiValue, Unknown};
use napi::{Env, Result};

use super::{log, Decision, Incoming, Response, Route, GENERATED};
use crate::config::route::RouteSettings;
use crate::process::write_stderr;
use crate::{drain, promise};

/// What the route answers a request with.
#[napi(object)]
pub struct RouteResponse {
    pub status: u32,
    pub headers: HashMap<String, String>,
    /// JSON; empty with `file`.
    pub body: String,
    /// A download: the file to stream as the body (`Content-Length` is set).
    pub file: Option<String>,
}

impl From<Response> for RouteResponse {
    fn from(r: Response) -> Self {
        RouteResponse {
            status: u32::from(r.status),
            headers: r
                .header_list()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            body: r.body,
            file: r.file.map(|f| f.to_string_lossy().into_owned()),
        }
    }
}

/// A heap-snapshot route (made by `createRoute`; mounted by `route()`).
#[napi]
pub struct RouteHandler {
    route: Arc<Route>,
}

impl RouteHandler {
    /// A route with `settings`; a generated hash is told once, on stderr,
    /// with the full path (never the token).
    pub fn new(settings: RouteSettings) -> Self {
        if settings.generated {
            write_stderr(&format!(
                "leakguard[{}]: heap snapshot route at POST {}{GENERATED}\n",
                std::process::id(),
                settings.path
            ));
        }
        RouteHandler {
            route: Arc::new(Route::new(settings)),
        }
    }
}

#[napi]
impl RouteHandler {
    /// The path the route answers on, e.g. `/heapdump-<hash>`.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.route.path().to_string()
    }

    /// `null` when the request is not the route's (the app's own); else a
    /// promise of the response, which always resolves. `target` is the
    /// request-target as sent (`req.url`); `authorization` every
    /// `Authorization` header value (`req.rawHeaders`); `address` the
    /// client's (`req.socket.remoteAddress`); `body` whether the request
    /// announces a body.
    #[napi(ts_return_type = "Promise<RouteResponse> | null")]
    pub fn handle(
        &self,
        env: Env,
        method: String,
        target: String,
        authorization: Vec<String>,
        address: Option<String>,
        body: bool,
    ) -> Result<Option<Unknown<'static>>> {
        let address = address.and_then(|a| a.parse().ok());
        let incoming = Incoming {
            method: &method,
            target: &target,
            authorization: &authorization,
            address,
            body,
        };
        let respond = match self.route.decide(&incoming, Instant::now()) {
            Decision::Pass => return Ok(None),
            Decision::Respond(response) => Err(response),
            Decision::Capture(ask) => self.route.start(ask).map(|request| (request, ask)),
        };
        let (deferred, promise) = promise::create(&env)?;
        let answer = move |env: &Env, response: Response| {
            log(address, &response);
            let value = unsafe { RouteResponse::to_napi_value(env.raw(), response.into()) };
            if let Ok(value) = value {
                deferred.settle(env, value, true);
            }
        };
        match respond {
            Err(response) => answer(&env, response),
            Ok((request, ask)) => {
                let route = Arc::clone(&self.route);
                let settle = move |env: &Env, outcome| answer(env, route.finish(&outcome, ask));
                drain::request(&env, request, Box::new(settle));
            }
        }
        Ok(Some(promise))
    }
}
