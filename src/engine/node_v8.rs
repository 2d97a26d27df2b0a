//! Fallback engine: Node's own `v8.getHeapSnapshot()`, pulled from Rust.
//! It needs no shim, so it works on any Node, but Node serializes the whole
//! snapshot into the stream's buffer on the first read: the JSON is held in
//! memory once before it is written. Only for JS-callable contexts.

use napi::bindgen_prelude::{Array, Buffer, FnArgs, Function, JsObjectValue, Object, Unknown};
use napi::{Env, ValueType};

use super::Engine;
use crate::error::{LgError, LgResult};
use crate::guard::{HeapStats, JsSlots};
use crate::process;

pub struct NodeV8<'env> {
    v8: Object<'env>,
}

fn failed(what: &str, e: napi::Error) -> LgError {
    LgError::capture(format!("Node's v8 module: {what} failed: {}", e.reason))
}

impl<'env> NodeV8<'env> {
    pub fn new(env: &'env Env) -> LgResult<Self> {
        let load = || -> napi::Result<Object<'env>> {
            let process = process::process(env)?;
            let get: Function<FnArgs<(&str,)>, Object> =
                process.get_named_property("getBuiltinModule")?;
            get.apply(process, FnArgs::from(("v8",)))
        };
        let v8 = load().map_err(|e| failed("process.getBuiltinModule('v8')", e))?;
        Ok(NodeV8 { v8 })
    }

    fn method<R: napi::bindgen_prelude::FromNapiValue>(
        &self,
        this: Object<'env>,
        name: &str,
    ) -> napi::Result<R> {
        let f: Function<(), R> = this.get_named_property(name)?;
        f.apply(this, ())
    }
}

impl Engine for NodeV8<'_> {
    fn clear_object_ids(&self) -> bool {
        false // the v8 module has no way to do it
    }

    fn reports_progress(&self) -> bool {
        false
    }

    fn js_slots(&self) -> Option<JsSlots> {
        None // no way to walk the heap from the v8 module
    }

    fn heap(&self) -> LgResult<HeapStats> {
        let read = || -> napi::Result<HeapStats> {
            let stats: Object = self.method(self.v8, "getHeapStatistics")?;
            let used: f64 = stats.get_named_property("used_heap_size")?;
            let limit: f64 = stats.get_named_property("heap_size_limit")?;
            let spaces: Array = self.method(self.v8, "getHeapSpaceStatistics")?;
            let (mut large, mut young) = (0.0, 0.0);
            for i in 0..spaces.len() {
                let space: Object = spaces.get_element(i)?;
                let name: String = space.get_named_property("space_name")?;
                if name.ends_with("large_object_space") {
                    large += space.get_named_property::<f64>("space_used_size")?;
                }
                if name == "new_space" {
                    young = space.get_named_property::<f64>("space_size")?;
                }
            }
            Ok(HeapStats {
                used: used as u64,
                large: large as u64,
                limit: limit as u64,
                young: young as u64,
            })
        };
        read().map_err(|e| failed("getHeapStatistics()", e))
    }

    /// Node serializes inside one `read()`: no progress to report.
    fn write_snapshot(
        &self,
        _progress: Option<&mut dyn FnMut(u32, u32) -> bool>,
        out: &mut dyn FnMut(&[u8]) -> bool,
    ) -> LgResult<()> {
        let stream: Object = self
            .method(self.v8, "getHeapSnapshot")
            .map_err(|e| failed("getHeapSnapshot()", e))?;
        let result = (|| {
            loop {
                let chunk: Unknown = self
                    .method(stream, "read")
                    .map_err(|e| failed("reading the snapshot stream", e))?;
                if chunk.get_type().ok() != Some(ValueType::Object) {
                    return Ok(()); // null: the stream has ended
                }
                let buffer: Buffer = unsafe { chunk.cast() }
                    .map_err(|e| failed("reading the snapshot stream", e))?;
                if !out(&buffer) {
                    return Err(LgError::capture("heap snapshot serialization was aborted"));
                }
            }
        })();
        // Frees the buffered JSON and V8's snapshot whatever happened above.
        let _: napi::Result<Unknown> = self.method(stream, "destroy");
        result
    }
}
