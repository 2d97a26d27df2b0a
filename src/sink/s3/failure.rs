//! Why an S3 call failed, in words an operator can act on: S3's own error
//! code (`NoSuchBucket`, `SignatureDoesNotMatch` …) or the network's
//! (`ConnectionRefused`, `Timeout` …) and a short message. Never the SDK's
//! full debug output: a response can echo the request (a session token in
//! a canonical request), so only the code and S3's message are kept, and
//! any credential the process holds is masked should it still appear.

use std::error::Error;
use std::io;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// S3's error code, or a name for what went wrong below it.
    pub code: String,
    pub message: String,
}

impl Failure {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Failure {
            code: code.to_string(),
            message: mask(&message.into()),
        }
    }
}

/// Reads an SDK error of any operation.
pub fn from_sdk<E, R>(what: &str, e: &SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match e {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let code = err.code().unwrap_or("UnknownError");
            let message = err.message().unwrap_or("no message");
            Failure::new(code, format!("{what}: {code}: {message}"))
        }
        SdkError::TimeoutError(_) => Failure::new("Timeout", format!("{what} timed out")),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            Failure::new("Timeout", format!("{what}: connecting timed out"))
        }
        SdkError::DispatchFailure(_) => {
            let code = match io_kind(e) {
                Some(io::ErrorKind::ConnectionRefused) => "ConnectionRefused",
                Some(io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted) => {
                    "ConnectionReset"
                }
                Some(io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe) => {
                    "ConnectionClosed"
                }
                _ => "NetworkError",
            };
            Failure::new(code, format!("{what}: {}", chain(e)))
        }
        SdkError::ResponseError(_) => Failure::new(
            "InvalidResponse",
            format!("{what}: the server's response could not be read"),
        ),
        // Before sending: credentials or region could not be found, most often.
        _ => Failure::new("ClientError", format!("{what}: {}", chain(e))),
    }
}

/// The io error kind at the root of `e`, if any.
fn io_kind(e: &(dyn Error + 'static)) -> Option<io::ErrorKind> {
    let mut cause = e.source();
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        cause = c.source();
    }
    None
}

/// What went wrong at the bottom of `e` ("Connection refused (os error
/// 111)", "failed to load credentials …"): its innermost cause's words,
/// not the SDK's nested debug output.
fn chain(e: &(dyn Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    let words = last.to_string();
    let words = if words.is_empty() || words.starts_with("dispatch failure") {
        DisplayErrorContext(e).to_string()
    } else {
        words
    };
    words.replace('\n', " ")
}

/// Masks every credential value the environment holds.
fn mask(text: &str) -> String {
    [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
    ]
    .iter()
    .filter_map(|name| std::env::var(name).ok())
    .filter(|secret| secret.len() >= 8)
    .fold(text.to_string(), |t, secret| t.replace(&secret, "[secret]"))
}
