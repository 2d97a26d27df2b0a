//! The route on a native listener of its own (`configure({ route: { listen
//! } })`): hyper's HTTP/1 server on leakguard's I/O runtime, so it answers
//! while the app's JS is stuck and its own port answers nothing.
//!
//! A request is decided here (path, method, backoff, token, parameters, one
//! at a time); an authorised one is handed to the JS thread like a signal
//! (`handoff`: a V8 interrupt even inside a busy loop), which takes the
//! snapshot; the outcome comes back through the request's tap from the
//! writer (or upload) thread, and the response is sent from here. Other
//! paths get a bare 404. One request per connection, its head within 16 KiB
//! and 5 s, at most 512 connections at once (about 12 MiB at most): idle or
//! hostile clients cannot hold the listener for long, nor grow its memory.

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::{Body as _, Bytes, Incoming as Body};
use hyper::header::AUTHORIZATION;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use napi::Env;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};
use tokio::task::AbortHandle;

use super::file_body::FileBody;
use super::{log, Ask, Decision, Incoming, Response, Route};
use crate::capture::{self, Context};
use crate::config::route::ListenSettings;
use crate::error::{LgError, LgResult};
use crate::request::Snapshot;
use crate::runtime;
use crate::trigger::handoff::{self, Slot};

const MAX_CONNECTIONS: usize = 512;
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// hyper's smallest read buffer: longer request heads get 431.
const MAX_HEAD: usize = 16 * 1024;

static SLOT: Slot = Slot::new();

/// The listener serving, and the route it serves (replaced in place when
/// `configure` keeps the address).
struct Listening {
    address: SocketAddr,
    route: Arc<Mutex<Arc<Route>>>,
    accept: AbortHandle,
}

static LISTENING: Mutex<Option<Listening>> = Mutex::new(None);

/// Serves `settings` (closing the listener with `None`), on the main thread.
pub fn listen(env: &Env, settings: Option<ListenSettings>) -> LgResult<()> {
    let mut listening = LISTENING.lock().unwrap_or_else(|e| e.into_inner());
    let Some(ListenSettings { address, route }) = settings else {
        if let Some(old) = listening.take() {
            old.accept.abort();
        }
        return Ok(());
    };
    handoff::target(env).map_err(LgError::capture)?;
    let generated = route.generated;
    let route = Arc::new(Route::new(route));
    if let Some(l) = listening.as_ref().filter(|l| l.address == address) {
        *l.route.lock().unwrap_or_else(|e| e.into_inner()) = Arc::clone(&route);
        super::tell_listening(l.address, &route, generated);
        return Ok(());
    }
    let handle = runtime::handle().map_err(LgError::capture)?;
    let cannot = |e: std::io::Error| LgError::config(format!("cannot listen on {address}: {e}"));
    let socket = StdListener::bind(address).map_err(cannot)?;
    socket.set_nonblocking(true).map_err(cannot)?;
    let bound = socket.local_addr().map_err(cannot)?;
    let socket = {
        let _inside = handle.enter();
        TcpListener::from_std(socket).map_err(cannot)?
    };
    let shared = Arc::new(Mutex::new(Arc::clone(&route)));
    let accept = handle
        .spawn(accept(socket, Arc::clone(&shared)))
        .abort_handle();
    if let Some(old) = listening.replace(Listening {
        address,
        route: shared,
        accept,
    }) {
        old.accept.abort();
    }
    super::tell_listening(bound, &route, generated);
    Ok(())
}

async fn accept(socket: TcpListener, route: Arc<Mutex<Arc<Route>>>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match socket.accept().await {
            Ok(c) => c,
            // Out of descriptors, or a connection reset before it was taken.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue; // dropped: too many at once
        };
        let route = Arc::clone(&route.lock().unwrap_or_else(|e| e.into_inner()));
        tokio::spawn(async move {
            let service = service_fn(move |req| serve(Arc::clone(&route), peer, req));
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEAD)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(slot);
        });
    }
}

type Reply = hyper::Response<Either<Full<Bytes>, FileBody>>;

async fn serve(
    route: Arc<Route>,
    peer: SocketAddr,
    req: hyper::Request<Body>,
) -> Result<Reply, Infallible> {
    let authorization: Vec<String> = req
        .headers()
        .get_all(AUTHORIZATION)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let uri = req.uri().clone();
    // Only origin-form (`/path?query`) can be the route, as in the app.
    let target = match (uri.scheme(), uri.authority()) {
        (None, None) => uri.path_and_query().map_or("", |p| p.as_str()),
        _ => "",
    };
    let (parts, body) = req.into_parts();
    let incoming = Incoming {
        method: parts.method.as_str(),
        target,
        authorization: &authorization,
        address: Some(peer.ip()),
        body: has_body(body).await,
    };
    let response = match route.decide(&incoming, Instant::now()) {
        Decision::Pass => Response::not_found(),
        Decision::Respond(response) => response,
        // Its own task: a client that hangs up does not leave the route busy.
        Decision::Capture(ask) => tokio::spawn(capture(route, ask))
            .await
            .unwrap_or_else(|_| Response::of(&Err(LgError::capture("the route's task failed")))),
    };
    log(Some(peer.ip()), &response);
    Ok(reply(response))
}

/// Whether the request carries a body. A chunked one is read to its end
/// (none may be a byte long, and it must end in time): Node's own client
/// sends an empty chunked body with every POST.
async fn has_body(body: Body) -> bool {
    match body.size_hint().exact() {
        Some(0) => false,
        Some(_) => true,
        None => {
            let read = tokio::time::timeout(HEADER_TIMEOUT, Limited::new(body, 0).collect());
            !matches!(read.await, Ok(Ok(_)))
        }
    }
}

enum Answer {
    /// Another trigger's snapshot is in progress.
    Busy(Response),
    Done(Box<LgResult<Snapshot>>),
}

/// Has the JS thread take the snapshot; the response once it is settled.
async fn capture(route: Arc<Route>, ask: Ask) -> Response {
    let (tx, rx) = oneshot::channel();
    let on_js = Arc::clone(&route);
    handoff::send(&SLOT, Box::new(move |from| claim(from, &on_js, ask, tx)));
    let outcome = match rx.await {
        Ok(Answer::Busy(response)) => return response,
        Ok(Answer::Done(outcome)) => *outcome,
        Err(_) => Err(LgError::capture(
            "the JS thread did not take the request (is the process exiting?)",
        )),
    };
    route.finish(&outcome, ask)
}

/// On the JS thread.
fn claim(from: Context, route: &Route, ask: Ask, tx: oneshot::Sender<Answer>) {
    match route.start(ask) {
        Err(busy) => drop(tx.send(Answer::Busy(busy))),
        Ok(mut request) => {
            request.tap = Some(Box::new(move |outcome| {
                let _ = tx.send(Answer::Done(Box::new(outcome.clone())));
            }));
            capture::submit(from, request, crate::trigger::unawaited());
        }
    }
}

fn reply(response: Response) -> Reply {
    let mut builder = hyper::Response::builder().status(response.status);
    for (name, value) in response.header_list() {
        builder = builder.header(name, value);
    }
    let body = match response.file.as_deref().map(std::fs::File::open) {
        None => Either::Left(Full::new(Bytes::from(response.body))),
        Some(Ok(file)) => {
            let len = file.metadata().map_or(0, |m| m.len());
            Either::Right(FileBody::new(file, len))
        }
        Some(Err(e)) => {
            let failed = Response::of(&Err(LgError::capture(format!(
                "cannot open the snapshot to send it: {e}"
            ))));
            return reply(failed);
        }
    };
    builder.body(body).unwrap_or_else(|_| {
        // A header value hyper refuses: say so rather than send an empty 200.
        let mut failed = hyper::Response::new(Either::Left(Full::new(Bytes::new())));
        *failed.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        failed
    })
}
