//! Applies a configuration: the one place that arms the triggers and sets
//! the drain hook, starts the route's native listener and the upload of
//! earlier processes' leftovers.
//! `config` only computes values, so triggers, capture and sinks read the
//! defaults without importing what arms them; only `lib.rs` calls up here.

use napi::bindgen_prelude::Either;
use napi::Env;

use crate::config::{self, env::FromEnv, ConfigureOptions, Defaults};
use crate::error::{LgError, LgResult};
use crate::process::{self, write_stderr};
use crate::result::UploadResult;
use crate::sink::s3::leftovers;
use crate::trigger::route::listener;
use crate::trigger::{near_limit, signal, threshold};
use crate::{capture, drain, events, js_thread};

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
    if let Some(route) = c.route {
        listener::listen(env, route)?;
    }
    if let Some(hook) = c.before_snapshot {
        drain::set_hook(hook)
            .map_err(|e| LgError::config(format!("beforeSnapshot: {}", e.reason)))?;
    }
    if c.s3_changed || c.dir_changed {
        upload_leftovers(env, &c.defaults);
    }
    config::store(c.defaults);
    Ok(())
}

/// With S3 configured, uploads in the background what an earlier process
/// left marked in the snapshot directory: `'upload'` events, and a stderr
/// line each (unless `quiet`).
fn upload_leftovers(env: &Env, defaults: &Defaults) {
    let Some(s3) = defaults.s3.clone() else {
        return;
    };
    let Some(dir) = defaults
        .dir
        .clone()
        .or_else(|| std::env::current_dir().ok())
    else {
        return;
    };
    let hop = js_thread::home(env).ok();
    let quiet = defaults.quiet;
    leftovers::recover(s3, &dir, move |outcome| match outcome {
        Ok(u) => {
            if !quiet {
                write_stderr(&format!(
                    "leakguard: uploaded the snapshot {} left by an earlier process to s3://{}/{}\n",
                    u.path.display(),
                    u.bucket,
                    u.key
                ));
            }
            if let Some(hop) = &hop {
                let upload = UploadResult::new(u, true);
                hop.run(move |env| capture::raise(env, events::emit_upload(env, upload)));
            }
        }
        Err(e) if !quiet => write_stderr(&format!(
            "leakguard: a snapshot left by an earlier process was not uploaded: {}; it stays \
             marked for the next process or `leakguard upload`\n",
            e.message
        )),
        Err(_) => {}
    });
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
    process::note_node_version(env);
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
