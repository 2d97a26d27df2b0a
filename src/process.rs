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
    // SAFETY: plain system calls without arguments. gettid through syscall():
    // glibc's wrapper is 2.30, above the 2.17 the addon is linked for.
    #[cfg(not(target_os = "macos"))]
    let main = unsafe { libc::syscall(libc::SYS_gettid) == libc::getpid() as libc::c_long };
    // SAFETY: no arguments; true on the thread that started the process.
    #[cfg(target_os = "macos")]
    let main = unsafe { libc::pthread_main_np() != 0 };
    main
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

static NODE_VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Notes `process.version` (as the addon loads) for code that has no env.
pub fn note_node_version(env: &Env) {
    if let Ok(v) = process(env).and_then(|p| p.get_named_property::<String>("version")) {
        let _ = NODE_VERSION.set(v);
    }
}

/// `process.version`, once noted.
pub fn node_version() -> String {
    NODE_VERSION.get().cloned().unwrap_or_default()
}

/// This host's name (in Kubernetes, the pod's).
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return "unknown-host".to_string();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
