//! The route's settings (`route()`, `configure({ route })`,
//! `LEAKGUARD_ROUTE_TOKEN`, `LEAKGUARD_ROUTE_HASH`,
//! `LEAKGUARD_ROUTE_LISTEN`), checked. The token is a secret: no message
//! here ever shows it, only what is wrong with it.

use std::net::SocketAddr;

use napi::bindgen_prelude::{Either, Unknown};

use super::listen;
use super::reader::Reader;
use crate::error::{LgError, LgResult};

pub const TOKEN_VAR: &str = "LEAKGUARD_ROUTE_TOKEN";
pub const HASH_VAR: &str = "LEAKGUARD_ROUTE_HASH";
pub const MIN_TOKEN: usize = 32;
const MAX_TOKEN: usize = 1024;
pub const MIN_HASH: usize = 16;
const MAX_HASH: usize = 256;
const MAX_PATH: usize = 1024;
/// 24 characters of a 64-letter alphabet: 144 random bits.
const GENERATED_HASH: usize = 24;
const HASH_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `leakguard.route()`'s options, and `configure({ route })`'s with `listen`.
#[napi(object, object_to_js = false)]
#[derive(Default)]
pub struct RouteOptions {
    /// `configure({ route })` only, where it is required: the native
    /// listener's address, `'9464'` (127.0.0.1), `'127.0.0.1:9464'`,
    /// `'[::1]:9464'`, `'localhost:9464'`; a non-loopback address such as
    /// `'0.0.0.0:9464'` makes the route reachable from the network. It
    /// answers on its own thread, even while JS is stuck. For
    /// `-r leakguard/register`: `LEAKGUARD_ROUTE_LISTEN`.
    pub listen: Option<String>,
    /// The secret a request must send as `Authorization: Bearer <token>`:
    /// at least 32 characters of `A-Z a-z 0-9 - . _ ~ + /` (trailing `=`
    /// allowed). Default: `LEAKGUARD_ROUTE_TOKEN`. Without one, no route.
    pub token: Option<String>,
    /// The secret part of the path `/heapdump-<hash>`: at least 16
    /// characters of `A-Z a-z 0-9 _ -`. Default: `LEAKGUARD_ROUTE_HASH`, or
    /// one generated now and printed once on stderr.
    pub hash: Option<String>,
    /// The whole path instead (e.g. `'/internal/heapdump'`), matched
    /// exactly; segments of `A-Z a-z 0-9 _ - . ~`.
    pub path: Option<String>,
    /// `true` (level 1), `false`, or a gzip level 1–9. Default: as `configure()`.
    pub gzip: Option<Either<bool, u32>>,
    /// `false`: do not upload this route's snapshots to the configured S3.
    pub s3: Option<bool>,
    /// `true`: a request with `?download=1` gets the finished gzip file as
    /// its body (for setups without S3; that snapshot is not uploaded).
    /// Default `false`: a heap holds the process's secrets.
    pub download: Option<bool>,
}

/// A route's checked settings.
pub struct RouteSettings {
    pub path: String,
    pub token: String,
    /// Whether the hash was generated (and so must be told once).
    pub generated: bool,
    pub gzip: Option<Either<bool, u32>>,
    pub s3: Option<bool>,
    pub download: bool,
}

/// The native listener's checked settings.
pub struct ListenSettings {
    pub address: SocketAddr,
    pub route: RouteSettings,
}

/// `route()`'s options: `FIELDS` less `listen`.
pub const FIELDS: &[&str] = &["listen", "token", "hash", "path", "gzip", "s3", "download"];

pub fn parse(value: Option<Unknown>) -> LgResult<RouteOptions> {
    let reader = match value {
        Some(v) => Reader::new(v, "route()", &FIELDS[1..])?,
        None => None,
    };
    let Some(r) = reader else {
        return Ok(RouteOptions::default());
    };
    fields(&r)
}

/// The route's options in `r` (`listen` is read where `r` accepts it).
pub fn fields(r: &Reader) -> LgResult<RouteOptions> {
    Ok(RouteOptions {
        listen: r.listen("listen")?,
        token: r.secret("token")?,
        hash: r.secret("hash")?,
        path: r.path("path")?,
        gzip: r.gzip("gzip")?,
        s3: r.boolean("s3")?,
        download: r.boolean("download")?,
    })
}

/// Checks `options`, taking what they leave out from `vars` (the environment).
pub fn settings(options: RouteOptions, vars: &[(String, String)]) -> LgResult<RouteSettings> {
    let var = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let token = match (options.token, var(TOKEN_VAR)) {
        (Some(t), _) => check_token(&t)
            .map(|()| t)
            .map_err(|why| LgError::config(format!("invalid option `token` for route(): {why}")))?,
        (None, Some(t)) => check_token(&t)
            .map(|()| t)
            .map_err(|why| LgError::config(format!("{TOKEN_VAR}: {why}")))?,
        (None, None) => {
            return Err(LgError::config(format!(
                "route() needs a token: pass {{ token }} or set {TOKEN_VAR} (at least \
                 {MIN_TOKEN} random characters, e.g. `openssl rand -base64 33`)"
            )))
        }
    };
    let (path, generated) = match (options.path, options.hash, var(HASH_VAR)) {
        (Some(_), Some(_), _) => {
            return Err(LgError::config(
                "route() takes `hash` or `path`, not both: `path` is the whole path",
            ))
        }
        (Some(p), None, _) => (
            check_path(&p).map(|()| p).map_err(|why| {
                LgError::config(format!("invalid option `path` for route(): {why}"))
            })?,
            false,
        ),
        (None, Some(h), _) => (
            hashed(&h).map_err(|why| {
                LgError::config(format!("invalid option `hash` for route(): {why}"))
            })?,
            false,
        ),
        (None, None, Some(h)) => (
            hashed(&h).map_err(|why| LgError::config(format!("{HASH_VAR}: {why}")))?,
            false,
        ),
        (None, None, None) => (format!("/heapdump-{}", generate_hash()?), true),
    };
    Ok(RouteSettings {
        path,
        token,
        generated,
        gzip: options.gzip,
        s3: options.s3,
        download: options.download.unwrap_or(false),
    })
}

/// Checks `configure({ route })`: `listen` is required here.
pub fn listen_settings(
    mut options: RouteOptions,
    vars: &[(String, String)],
) -> LgResult<ListenSettings> {
    let listen = options.listen.take().ok_or_else(|| {
        LgError::config(
            "invalid option `route` for configure(): `listen` is required (the native \
             listener's address, e.g. '127.0.0.1:9464'); the in-app route is mounted with \
             route() instead",
        )
    })?;
    let address = listen::address(&listen).map_err(|why| {
        LgError::config(format!(
            "invalid option `route.listen` for configure(): {why}; accepted: {}",
            listen::LISTEN
        ))
    })?;
    Ok(ListenSettings {
        address,
        route: settings(options, vars)?,
    })
}

/// For `configureFromEnv()`: what is wrong with the route's variables, if
/// set, so that `register` says so at startup (`route()` would throw).
pub fn env_problems(vars: &[(String, String)]) -> Vec<String> {
    let check = |name: &str, rule: fn(&str) -> Result<(), String>| {
        let (_, value) = vars.iter().find(|(k, _)| k == name)?;
        rule(value)
            .err()
            .map(|why| format!("{name}: {why}; route() refuses it"))
    };
    [
        check(TOKEN_VAR, check_token),
        check(HASH_VAR, |h| hashed(h).map(drop)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// What is wrong with a token, in words that never show it.
pub fn check_token(token: &str) -> Result<(), String> {
    let chars = token.chars().count();
    if !is_token68(token) {
        return Err(format!(
            "a token is {MIN_TOKEN} to {MAX_TOKEN} characters of A-Z a-z 0-9 - . _ ~ + / \
             (then = for padding); this one has others (its value is not shown)"
        ));
    }
    if !(MIN_TOKEN..=MAX_TOKEN).contains(&chars) {
        return Err(format!(
            "a token is {MIN_TOKEN} to {MAX_TOKEN} characters, this one has {chars} (its value \
             is not shown); e.g. `openssl rand -base64 33`"
        ));
    }
    Ok(())
}

/// RFC 7235's token68: what `Authorization: Bearer` carries.
pub fn is_token68(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

fn hashed(hash: &str) -> Result<String, String> {
    let ok = hash
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok && (MIN_HASH..=MAX_HASH).contains(&hash.len()) {
        return Ok(format!("/heapdump-{hash}"));
    }
    Err(format!(
        "a hash is {MIN_HASH} to {MAX_HASH} characters of A-Z a-z 0-9 _ - (its value is not \
         shown: it is a secret)"
    ))
}

fn check_path(path: &str) -> Result<(), String> {
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
    };
    match path.strip_prefix('/') {
        Some(rest) if path.len() <= MAX_PATH && rest.split('/').all(segment_ok) => Ok(()),
        _ => Err(format!(
            "a path starts with / and has segments of A-Z a-z 0-9 _ - . ~ (not . or ..), \
             at most {MAX_PATH} characters in all"
        )),
    }
}

/// A fresh random hash, from the kernel's generator.
fn generate_hash() -> LgResult<String> {
    let mut bytes = [0u8; GENERATED_HASH];
    if !crate::entropy::fill(&mut bytes) {
        return Err(LgError::capture(
            "cannot generate the route's hash: the kernel's random generator failed; pass { hash } or set \
             LEAKGUARD_ROUTE_HASH",
        ));
    }
    Ok(bytes
        .iter()
        .map(|b| HASH_ALPHABET[usize::from(b & 63)] as char)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    fn with(
        token: Option<&str>,
        hash: Option<&str>,
        path: Option<&str>,
    ) -> LgResult<RouteSettings> {
        let options = RouteOptions {
            token: token.map(str::to_string),
            hash: hash.map(str::to_string),
            path: path.map(str::to_string),
            ..RouteOptions::default()
        };
        settings(options, &[])
    }

    #[test]
    fn no_token_or_a_short_one_is_refused_without_showing_it() {
        assert!(with(None, None, None)
            .err()
            .unwrap()
            .message
            .contains("needs a token"));
        let short = "tooshort-but-secret";
        let e = with(Some(short), None, None).err().unwrap();
        assert!(!e.message.contains(short), "{}", e.message);
        assert!(e.message.contains("this one has 19"), "{}", e.message);
        let odd = format!("{TOKEN}\u{e9}x");
        assert!(!with(Some(&odd), None, None)
            .err()
            .unwrap()
            .message
            .contains(TOKEN));
        assert!(with(Some(&format!("{TOKEN}==")), None, None).is_ok());
        assert!(is_token68("abc-._~+/=="));
        assert!(!is_token68("a b") && !is_token68("a=b") && !is_token68("=="));
    }

    #[test]
    fn hashes_and_paths_are_checked_and_a_missing_hash_is_generated() {
        let s = with(Some(TOKEN), None, None).unwrap();
        assert!(s.generated);
        let hash = s.path.strip_prefix("/heapdump-").unwrap();
        assert_eq!(hash.len(), GENERATED_HASH);
        assert!(hashed(hash).is_ok());
        assert_ne!(with(Some(TOKEN), None, None).unwrap().path, s.path);
        let s = with(Some(TOKEN), Some("0123456789abcdef"), None).unwrap();
        assert_eq!(
            (s.path.as_str(), s.generated),
            ("/heapdump-0123456789abcdef", false)
        );
        assert!(with(Some(TOKEN), Some("0123456789abcde"), None).is_err());
        assert!(with(Some(TOKEN), Some("0123456789abcdef/x"), None).is_err());
        assert!(with(Some(TOKEN), Some("0123456789abcdef"), Some("/x")).is_err());
        assert_eq!(
            with(Some(TOKEN), None, Some("/a/b-c.d")).unwrap().path,
            "/a/b-c.d"
        );
        for bad in [
            "a", "/", "/a//b", "/a/", "/a/../b", "/a/%41", "/a?b", "/./a",
        ] {
            assert!(with(Some(TOKEN), None, Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_environment_fills_in_and_options_win() {
        let vars = [
            (TOKEN_VAR.to_string(), TOKEN.to_string()),
            (HASH_VAR.to_string(), "fedcba9876543210".to_string()),
        ];
        let s = settings(RouteOptions::default(), &vars).unwrap();
        assert_eq!(
            (s.token.as_str(), s.path.as_str()),
            (TOKEN, "/heapdump-fedcba9876543210")
        );
        let bad = [(TOKEN_VAR.to_string(), "short".to_string())];
        let e = settings(RouteOptions::default(), &bad).err().unwrap();
        assert!(e.message.starts_with(TOKEN_VAR) && !e.message.contains("short"));
        let problems = env_problems(&bad);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with(TOKEN_VAR) && !problems[0].contains("short"));
        assert!(env_problems(&vars).is_empty());
    }
}
