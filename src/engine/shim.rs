//! Loads the C++ shim built for the running Node ABI (`v8_shim.cc`) and
//! calls it. The shim sits beside the addon as `leakguard-v8-abi<N>.so`
//! (`LEAKGUARD_SHIM_DIR` overrides the directory). It is opened with
//! RTLD_NOW, so a shim that does not match the running V8 fails here, cleanly,
//! rather than at the first call.

use std::ffi::{c_char, c_int, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};

use super::Engine;
use crate::error::{LgError, LgResult};
use crate::guard::{HeapStats, JsSlots};

// The C ABI of v8_shim.cc.
type ChunkFn = unsafe extern "C" fn(ctx: *mut c_void, data: *const c_char, len: c_int) -> c_int;
type AbiFn = unsafe extern "C" fn() -> c_int;
type ProgressFn = unsafe extern "C" fn(ctx: *mut c_void, done: u32, total: u32) -> c_int;
type TakeFn = unsafe extern "C" fn(
    progress: Option<ProgressFn>,
    ctx: *mut c_void,
    expose_internals: c_int,
    expose_numerics: c_int,
) -> *const c_void;
type SerializeFn = unsafe extern "C" fn(*const c_void, ChunkFn, *mut c_void, c_int) -> c_int;
type DeleteFn = unsafe extern "C" fn(*const c_void);
type ClearIdsFn = unsafe extern "C" fn();
type HeapStatsFn = unsafe extern "C" fn(
    used: *mut usize,
    limit: *mut usize,
    large: *mut usize,
    young: *mut usize,
) -> c_int;
type IsolateFn = unsafe extern "C" fn() -> *mut c_void;
type JsSlotsFn = unsafe extern "C" fn(total: *mut u64, largest: *mut u64) -> c_int;
/// V8's `InterruptCallback`.
pub type InterruptFn = unsafe extern "C" fn(isolate: *mut c_void, data: *mut c_void);
type RequestInterruptFn = unsafe extern "C" fn(*mut c_void, InterruptFn, *mut c_void);
/// V8's `GCCallbackWithData`.
pub type GcFn =
    unsafe extern "C" fn(isolate: *mut c_void, kind: c_int, flags: c_int, data: *mut c_void);
type GcEpilogueFn = unsafe extern "C" fn(add: c_int, GcFn, *mut c_void);
/// V8's `NearHeapLimitCallback`: returns the new heap limit.
pub type NearLimitFn =
    unsafe extern "C" fn(data: *mut c_void, current: usize, initial: usize) -> usize;
type AddNearLimitFn = unsafe extern "C" fn(NearLimitFn, *mut c_void);
type RemoveNearLimitFn = unsafe extern "C" fn(NearLimitFn, usize);
type RestoreLimitFn = unsafe extern "C" fn(f64);

/// V8's preferred chunk size in Node's own snapshot writer.
const CHUNK: c_int = 64 * 1024;

pub struct Shim {
    pub path: PathBuf,
    take: TakeFn,
    serialize: SerializeFn,
    delete: DeleteFn,
    heap_stats: HeapStatsFn,
    js_slots: JsSlotsFn,
    clear_object_ids: ClearIdsFn,
    isolate: IsolateFn,
    request_interrupt: RequestInterruptFn,
    gc_epilogue: GcEpilogueFn,
    add_near_limit: AddNearLimitFn,
    remove_near_limit: RemoveNearLimitFn,
    restore_limit: RestoreLimitFn,
    // Keeps the function pointers above valid; never unloaded.
    _library: Library,
}

/// The ABIs this build ships shims for (set by build.rs).
pub const BUILT_ABIS: &str = env!("LEAKGUARD_SHIM_ABIS");

impl Shim {
    pub fn load(abi: u32) -> Result<Shim, String> {
        let dir = match std::env::var_os("LEAKGUARD_SHIM_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => addon_dir().ok_or("cannot locate the leakguard addon on disk")?,
        };
        let path = dir.join(format!("leakguard-v8-abi{abi}.so"));
        if !path.is_file() {
            return Err(format!(
                "no V8 shim for this Node (NODE_MODULE_VERSION {abi}) at {}; this build \
                 supports NODE_MODULE_VERSION {BUILT_ABIS}",
                path.display()
            ));
        }
        // SAFETY: the shim has no initialisers; RTLD_NOW resolves every V8
        // symbol against the running node now, so a mismatch is an Err here.
        let library = unsafe { Library::open(Some(&path), RTLD_NOW | RTLD_LOCAL) }
            .map_err(|e| format!("cannot load {}: {e}", path.display()))?;
        // SAFETY: the types match v8_shim.cc's extern "C" declarations.
        let err = |e: libloading::Error| format!("{}: {e}", path.display());
        let shim = unsafe {
            let abi_of: AbiFn = *library.get(b"lg_shim_abi\0").map_err(err)?;
            let built = abi_of();
            if built != abi as c_int {
                return Err(format!(
                    "{} was built for NODE_MODULE_VERSION {built}, not {abi}",
                    path.display()
                ));
            }
            Shim {
                path: path.clone(),
                take: *library.get::<TakeFn>(b"lg_take_snapshot\0").map_err(err)?,
                serialize: *library.get::<SerializeFn>(b"lg_serialize\0").map_err(err)?,
                delete: *library
                    .get::<DeleteFn>(b"lg_delete_snapshot\0")
                    .map_err(err)?,
                heap_stats: *library
                    .get::<HeapStatsFn>(b"lg_heap_stats\0")
                    .map_err(err)?,
                js_slots: *library.get::<JsSlotsFn>(b"lg_js_slots\0").map_err(err)?,
                clear_object_ids: *library
                    .get::<ClearIdsFn>(b"lg_clear_object_ids\0")
                    .map_err(err)?,
                isolate: *library.get(b"lg_current_isolate\0").map_err(err)?,
                request_interrupt: *library.get(b"lg_request_interrupt\0").map_err(err)?,
                gc_epilogue: *library.get(b"lg_gc_epilogue\0").map_err(err)?,
                add_near_limit: *library.get(b"lg_add_near_heap_limit\0").map_err(err)?,
                remove_near_limit: *library.get(b"lg_remove_near_heap_limit\0").map_err(err)?,
                restore_limit: *library.get(b"lg_restore_heap_limit\0").map_err(err)?,
                _library: library,
            }
        };
        Ok(shim)
    }
}

impl Engine for &'static Shim {
    fn heap(&self) -> LgResult<HeapStats> {
        let (mut used, mut limit, mut large, mut young) = (0usize, 0usize, 0usize, 0usize);
        // SAFETY: plain out-parameters.
        match unsafe { (self.heap_stats)(&mut used, &mut limit, &mut large, &mut young) } {
            0 => Err(LgError::capture("no V8 isolate on this thread")),
            _ => Ok(HeapStats {
                used: used as u64,
                large: large as u64,
                limit: limit as u64,
                young: young as u64,
            }),
        }
    }

    fn reports_progress(&self) -> bool {
        true
    }

    fn js_slots(&self) -> Option<JsSlots> {
        let (mut total, mut largest) = (0u64, 0u64);
        // SAFETY: plain out-parameters; walks the isolate entered on this thread.
        match unsafe { (self.js_slots)(&mut total, &mut largest) } {
            0 => None,
            _ => Some(JsSlots { total, largest }),
        }
    }

    fn clear_object_ids(&self) -> bool {
        // SAFETY: acts on the isolate entered on this thread, if any.
        unsafe { (self.clear_object_ids)() };
        true
    }

    fn write_snapshot(
        &self,
        progress: Option<&mut dyn FnMut(u32, u32) -> bool>,
        out: &mut dyn FnMut(&[u8]) -> bool,
    ) -> LgResult<()> {
        let mut forward = progress.map(|p| move |(done, total)| p(done, total));
        let mut forward = forward
            .as_mut()
            .map(|f| f as &mut dyn FnMut((u32, u32)) -> bool);
        let (control, ctx) = match forward.as_mut() {
            Some(f) => (Some(on_progress as ProgressFn), context(f)),
            None => (None, std::ptr::null_mut()),
        };
        // SAFETY: `ctx` outlives the call; takes a snapshot of the isolate entered here.
        let snapshot = unsafe { (self.take)(control, ctx, 0, 0) };
        if snapshot.is_null() {
            return Err(LgError::capture(
                "V8 returned no snapshot (aborted, or no isolate on this thread)",
            ));
        }
        let mut out: Callback<&[u8]> = out;
        // SAFETY: `out` outlives the call; `snapshot` is deleted exactly once.
        let complete = unsafe {
            let complete = (self.serialize)(snapshot, on_chunk, context(&mut out), CHUNK);
            (self.delete)(snapshot);
            complete
        };
        match complete {
            0 => Err(LgError::capture("heap snapshot serialization was aborted")),
            _ => Ok(()),
        }
    }
}

/// The isolate hooks triggers need: each acts on the isolate running on the
/// calling thread, except `request_interrupt`, which is thread-safe.
impl Shim {
    /// The calling thread's isolate (null if none), to interrupt it later.
    pub fn isolate(&self) -> *mut c_void {
        // SAFETY: reads a thread-local of V8's.
        unsafe { (self.isolate)() }
    }

    /// # Safety
    /// `isolate` must be alive: callers hold it from the JS thread's cleanup hook.
    /// `data` must stay valid until `f` has run.
    pub unsafe fn request_interrupt(
        &self,
        isolate: *mut c_void,
        f: InterruptFn,
        data: *mut c_void,
    ) {
        unsafe { (self.request_interrupt)(isolate, f, data) }
    }

    /// Adds (or removes) `f` to run after each garbage collection.
    pub fn after_gc(&self, add: bool, f: GcFn) {
        // SAFETY: `f` is a plain function without data.
        unsafe { (self.gc_epilogue)(add as c_int, f, std::ptr::null_mut()) }
    }

    pub fn add_near_heap_limit(&self, f: NearLimitFn) {
        // SAFETY: `f` is a plain function without data.
        unsafe { (self.add_near_limit)(f, std::ptr::null_mut()) }
    }

    /// Removes `f`, setting the heap limit to `limit` (0: unchanged).
    pub fn remove_near_heap_limit(&self, f: NearLimitFn, limit: usize) {
        // SAFETY: removing an unregistered callback is a no-op in V8.
        unsafe { (self.remove_near_limit)(f, limit) }
    }

    /// V8 restores the initial heap limit once usage drops below `fraction` of it.
    pub fn restore_heap_limit(&self, fraction: f64) {
        // SAFETY: scalar argument.
        unsafe { (self.restore_limit)(fraction) }
    }
}

/// A Rust callback passed through the shim's `void* ctx`.
type Callback<'a, T> = &'a mut dyn FnMut(T) -> bool;

fn context<T>(callback: &mut Callback<'_, T>) -> *mut c_void {
    (callback as *mut Callback<'_, T>).cast()
}

/// Runs the callback behind `ctx`, never unwinding into V8's C++ frames; 0 = go on.
unsafe fn call<T>(ctx: *mut c_void, arg: T) -> c_int {
    // SAFETY: `ctx` comes from `context` in `write_snapshot`, still borrowed there.
    let callback = unsafe { &mut *ctx.cast::<Callback<'_, T>>() };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(arg))) {
        Ok(true) => 0,
        _ => 1,
    }
}

unsafe extern "C" fn on_progress(ctx: *mut c_void, done: u32, total: u32) -> c_int {
    unsafe { call(ctx, (done, total)) }
}

unsafe extern "C" fn on_chunk(ctx: *mut c_void, data: *const c_char, len: c_int) -> c_int {
    // SAFETY: V8 hands a valid buffer of `len` bytes.
    let chunk = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len.max(0) as usize) };
    unsafe { call(ctx, chunk) }
}

/// The directory of the loaded addon (`leakguard.<platform>.node`).
fn addon_dir() -> Option<PathBuf> {
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only reads the loader's tables for this code address.
    let found = unsafe { libc::dladdr(addon_dir as *const c_void, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    let file = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    let file = Path::new(std::ffi::OsStr::from_bytes(file.to_bytes()));
    file.parent().map(Path::to_path_buf)
}
