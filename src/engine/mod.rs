//! How V8 is reached. The per-ABI C++ shim is the engine; when this build has
//! no shim for the running Node (a newer major than it was built for), on-demand
//! snapshots fall back to Node's own `v8` module, with a one-time warning,
//! instead of leakguard failing to load.

mod node_v8;
mod shim;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use napi::{Env, JsValue};

use crate::error::{LgError, LgResult};
use crate::guard::{HeapStats, JsSlots};
use crate::process;

pub use shim::{Shim, BUILT_ABIS};

/// One V8 heap snapshot source; runs on the isolate's own thread.
pub trait Engine {
    /// V8's used heap, and the part of it in large-object spaces.
    fn heap(&self) -> LgResult<HeapStats>;
    /// Takes a snapshot and streams its JSON to `out` chunk by chunk. V8 calls
    /// `progress(done, total)` while it builds the snapshot (where the engine
    /// can): `total` is V8's count of the heap's objects, `done` how many it
    /// has processed (every 10,000, and once more when the graph is complete).
    /// Either callback returning `false` aborts. The snapshot is deleted
    /// before returning.
    fn write_snapshot(
        &self,
        progress: Option<&mut dyn FnMut(u32, u32) -> bool>,
        out: &mut dyn FnMut(&[u8]) -> bool,
    ) -> LgResult<()>;
    /// Drops V8's object-id map; `false` if this engine cannot.
    fn clear_object_ids(&self) -> bool;
    /// Whether `write_snapshot` reports V8's progress (and so its object count).
    fn reports_progress(&self) -> bool;
    /// The slots of the heap's JS arrays, Maps and Sets (a garbage collection
    /// and a heap walk); `None` where the engine cannot tell.
    fn js_slots(&self) -> Option<JsSlots>;
}

static SHIM: OnceLock<Result<Shim, String>> = OnceLock::new();

/// The shim for the running Node, loaded once per process; `Err` says why not.
pub fn shim(env: &Env) -> &'static Result<Shim, String> {
    SHIM.get_or_init(|| match process::node_abi(env) {
        Ok(abi) => Shim::load(abi),
        Err(e) => Err(format!("cannot read process.versions.modules: {e}")),
    })
}

/// The native engine, for contexts where no JS may run (a V8 interrupt or
/// heap callback). Needs the shim, loaded earlier from JS by `shim(env)`.
pub fn native() -> LgResult<&'static Shim> {
    match SHIM.get() {
        Some(Ok(shim)) => Ok(shim),
        Some(Err(why)) => Err(LgError::capture(why.clone())),
        None => Err(LgError::capture("the V8 shim was not loaded")),
    }
}

/// The engine for a JS-callable context on `env`'s thread.
pub fn select(env: &Env) -> LgResult<Box<dyn Engine + '_>> {
    match shim(env) {
        Ok(shim) => Ok(Box::new(shim)),
        Err(why) => {
            warn_fallback_once(env, why);
            Ok(Box::new(node_v8::NodeV8::new(env)?))
        }
    }
}

fn warn_fallback_once(env: &Env, why: &str) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if WARNED.swap(true, Ordering::Relaxed) {
        return;
    }
    let message = format!(
        "leakguard: {why}. On-demand snapshots fall back to Node's v8 module (the JSON is \
         buffered in memory before it is written); upgrade leakguard for native capture."
    );
    if let Ok(text) = env.create_string(&message) {
        // A warning that cannot be emitted must not fail the snapshot itself.
        let _ = process::emit_warning(env, text.to_unknown(), "LEAKGUARD_NO_SHIM");
    }
}
