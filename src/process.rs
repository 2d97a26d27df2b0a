//! The few things leakguard reads from or says through Node's `process`,
//! and its stderr.

use napi::bindgen_prelude::{FnArgs, Function, JsObjectValue, Object, Unknown};
use napi::{Env, Result};

pub fn process(env: &Env) -> Result<Object<'_>> {
    env.get_global()?.get_named_property("process")
}

/// `process.versions.modules`: the NODE_MODULE_VERSION of the running Node.
pub fn node_abi(env: &Env) -> Result<u32> {
    let versions: Object = process(env)?.get_named_property("versions")?;
    let modules: String = versions.get_named_property("modules")?;
    modules
        .parse()
        .map_err(|_| napi::Error::from_reason(format!("odd process.versions.modules: {modules}")))
}

/// Whether this is the main thread's isolate (not a worker's): Node runs
/// the main isolate on the process's initial thread, whose thread id is the
/// pid. (`worker_threads.isMainThread` is not reachable from an addon on
/// every supported Node 20.)
pub fn is_main_thread() -> bool {
    // SAFETY: plain system calls without arguments.
    unsafe { libc::gettid() == libc::getpid() }
}

/// `process.emitWarning(warning, { type: 'LeakguardWarning', code })`: shown
/// on stderr by default and observable by the app (`process.on('warning')`).
pub fn emit_warning(env: &Env, warning: Unknown, code: &str) -> Result<()> {
    let process = process(env)?;
    let emit: Function<FnArgs<(Unknown, Object)>, Unknown> =
        process.get_named_property("emitWarning")?;
    let mut options = Object::new(env)?;
    options.set_named_property("type", "LeakguardWarning")?;
    options.set_named_property("code", code)?;
    emit.apply(process, FnArgs::from((warning, options)))?;
    Ok(())
}

/// One line to fd 2 in one `write`: works from any thread, and while JS is
/// stuck, when `process.stderr` could not run.
pub fn write_stderr(line: &str) {
    // SAFETY: a plain write of an owned buffer; a failed log line is not worth more.
    unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
}
