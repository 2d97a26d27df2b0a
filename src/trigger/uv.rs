//! The few libuv calls the signal thread needs, resolved from the running
//! node binary (which exports libuv) rather than linked: the addon stays
//! loadable by `cargo test`, and uses exactly Node's libuv, whose single
//! process-wide `sigaction` multiplexes every loop's signal watchers.

use std::ffi::{c_int, c_void};
use std::sync::OnceLock;

use libloading::os::unix::Library;

pub type SignalCb = unsafe extern "C" fn(handle: *mut c_void, signum: c_int);
pub type AsyncCb = unsafe extern "C" fn(handle: *mut c_void);

// uv_handle_type values (uv.h: UV_HANDLE_TYPE_MAP, stable across libuv 1.x).
pub const UV_ASYNC: c_int = 1;
pub const UV_SIGNAL: c_int = 16;

pub struct Uv {
    pub loop_size: unsafe extern "C" fn() -> usize,
    pub handle_size: unsafe extern "C" fn(c_int) -> usize,
    pub loop_init: unsafe extern "C" fn(*mut c_void) -> c_int,
    pub run: unsafe extern "C" fn(*mut c_void, c_int) -> c_int,
    pub signal_init: unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int,
    pub signal_start: unsafe extern "C" fn(*mut c_void, SignalCb, c_int) -> c_int,
    pub signal_stop: unsafe extern "C" fn(*mut c_void) -> c_int,
    pub async_init: unsafe extern "C" fn(*mut c_void, *mut c_void, AsyncCb) -> c_int,
    pub async_send: unsafe extern "C" fn(*mut c_void) -> c_int,
    pub strerror: unsafe extern "C" fn(c_int) -> *const std::ffi::c_char,
}

/// libuv as exported by the running node, or why not.
pub fn uv() -> Result<&'static Uv, String> {
    static UV: OnceLock<Result<Uv, String>> = OnceLock::new();
    UV.get_or_init(|| {
        let this = Library::this();
        // SAFETY: the signatures below match uv.h for these libuv 1.x
        // functions; symbols of the running executable stay valid.
        fn get<T: Copy>(this: &Library, name: &[u8]) -> Result<T, String> {
            unsafe { this.get::<T>(name) }
                .map(|s| *s)
                .map_err(|e| format!("libuv is not reachable from this process: {e}"))
        }
        Ok(Uv {
            loop_size: get(&this, b"uv_loop_size\0")?,
            handle_size: get(&this, b"uv_handle_size\0")?,
            loop_init: get(&this, b"uv_loop_init\0")?,
            run: get(&this, b"uv_run\0")?,
            signal_init: get(&this, b"uv_signal_init\0")?,
            signal_start: get(&this, b"uv_signal_start\0")?,
            signal_stop: get(&this, b"uv_signal_stop\0")?,
            async_init: get(&this, b"uv_async_init\0")?,
            async_send: get(&this, b"uv_async_send\0")?,
            strerror: get(&this, b"uv_strerror\0")?,
        })
    })
    .as_ref()
    .map_err(Clone::clone)
}

impl Uv {
    /// Zeroed, 16-byte aligned, never freed: the loop and its handles live as
    /// long as the process.
    pub fn alloc(&self, size: usize) -> *mut c_void {
        let words = size.div_ceil(16);
        Box::leak(vec![0u128; words].into_boxed_slice())
            .as_mut_ptr()
            .cast()
    }

    pub fn error(&self, call: &str, code: c_int) -> String {
        // SAFETY: uv_strerror returns a static string for any code.
        let text = unsafe { std::ffi::CStr::from_ptr((self.strerror)(code)) };
        format!("{call} failed: {}", text.to_string_lossy())
    }
}
