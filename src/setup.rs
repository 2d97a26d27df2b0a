//! Applies a configuration: the one place that arms the triggers and sets
//! the drain hook (and, later, starts the uploader or the route listener).
//! `config` only computes values, so triggers, capture and sinks read the
//! defaults without importing what arms them; only `lib.rs` calls up here.

use napi::bindgen_prelude::Either;
use napi::Env;

use crate::config::{self, env::FromEnv, ConfigureOptions};
use crate::drain;
use crate::error::{LgError, LgResult};
use crate::process::{self, write_stderr};
use crate::trigger::{near_limit, signal, threshold};

/// `configure()`: checks every option, then arms or disarms the triggers
/// it names on the calling isolate. The defaults change only once all of
/// that succeeded.
pub fn configure(env: &Env, options: ConfigureOptions) -> LgResult<()> {
    let c = config::resolve(options)?;
    if let Some(signum) = c.signal {
        signal::listen(env, signum)
            .map_err(|why| LgError::capture(format!("cannot listen for the signal: {why}")))?;
    }
    if let Some(t) = c.threshold {
        threshold::arm(env, t)?;
    }
    if let Some(n) = c.near_heap_limit {
        near_limit::arm(env, n)?;
    }
    if let Some(hook) = c.before_snapshot {
        drain::set_hook(hook)
            .map_err(|e| LgError::config(format!("beforeSnapshot: {}", e.reason)))?;
    }
    config::store(c.defaults);
    Ok(())
}

/// `configureFromEnv()`: applies each group of `LEAKGUARD_*` variables on
/// its own, so one that cannot be applied leaves the others; returns one
/// message per problem.
pub fn configure_from_env(env: &Env, vars: &[(String, String)]) -> Vec<String> {
    let FromEnv {
        groups,
        mut problems,
    } = config::env::read(vars);
    for group in groups {
        if let Err(e) = configure(env, group.options) {
            problems.push(format!("ignoring {}: {}", group.shown, e.message));
        }
    }
    problems
}

/// When leakguard loads on the main thread: listen on SIGUSR2, as heapdump
/// does, unless `LEAKGUARD_OPTIONS` or heapdump's `NODE_HEAPDUMP_OPTIONS`
/// says `nosignal` (`config::env::no_signal`). Never fails the app's
/// `require`: a problem is one stderr line.
pub fn on_load(env: &Env) {
    let var = |name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    let off = config::env::no_signal(
        var("LEAKGUARD_OPTIONS").as_deref(),
        var("NODE_HEAPDUMP_OPTIONS").as_deref(),
    );
    if off || !process::is_main_thread() {
        return;
    }
    let options = ConfigureOptions {
        signal: Some(Either::B("SIGUSR2".into())),
        ..ConfigureOptions::default()
    };
    if let Err(e) = configure(env, options) {
        write_stderr(&format!("leakguard: no SIGUSR2 snapshots: {}\n", e.message));
    }
}
