// The only C++ in leakguard: V8 heap-profiler calls behind a C ABI.
// Compiled once per NODE_MODULE_VERSION (the V8 C++ API is not ABI-stable),
// loaded by Rust at runtime. No policy here: every decision lives in Rust.
// Only scalar-argument V8 entry points are used, so a layout change in an
// options struct cannot silently corrupt a call.
#include <stddef.h>
#include <stdint.h>

#include <vector>

#include "node_version.h"
#include "v8-profiler.h"
#include "v8.h"

typedef int (*lg_chunk_fn)(void* ctx, const char* data, int len);
// Called while V8 builds the snapshot; non-zero aborts it.
typedef int (*lg_progress_fn)(void* ctx, uint32_t done, uint32_t total);

namespace {

class ChunkStream final : public v8::OutputStream {
 public:
  ChunkStream(lg_chunk_fn fn, void* ctx, int chunk_size)
      : fn_(fn), ctx_(ctx), chunk_size_(chunk_size) {}
  int GetChunkSize() override { return chunk_size_; }
  WriteResult WriteAsciiChunk(char* data, int size) override {
    return fn_(ctx_, data, size) == 0 ? kContinue : kAbort;
  }
  void EndOfStream() override { ended_ = true; }
  bool ended() const { return ended_; }

 private:
  lg_chunk_fn fn_;
  void* ctx_;
  int chunk_size_;
  bool ended_ = false;
};

class Progress final : public v8::ActivityControl {
 public:
  Progress(lg_progress_fn fn, void* ctx) : fn_(fn), ctx_(ctx) {}
  ControlOption ReportProgressValue(uint32_t done, uint32_t total) override {
    return fn_(ctx_, done, total) == 0 ? kContinue : kAbort;
  }

 private:
  lg_progress_fn fn_;
  void* ctx_;
};

// Counts what the guard cannot learn from heap statistics: slots of JS
// arrays, Maps and Sets (each is an edge, and an array index is a name V8
// keeps). Only reads lengths: no allocation while V8 walks its heap.
class Slots final : public v8::QueryObjectPredicate {
 public:
  Slots(uint64_t* total, uint64_t* largest) : total_(total), largest_(largest) {}
  bool Filter(v8::Local<v8::Object> object) override {
    uint64_t n = 0;
    if (object->IsArray()) {
      n = object.As<v8::Array>()->Length();
    } else if (object->IsMap()) {
      n = 2 * static_cast<uint64_t>(object.As<v8::Map>()->Size());
    } else if (object->IsSet()) {
      n = object.As<v8::Set>()->Size();
    }
    *total_ += n;
    if (n > *largest_) *largest_ = n;
    return false;
  }

 private:
  uint64_t* total_;
  uint64_t* largest_;
};

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int lg_shim_abi(void) {
  return NODE_MODULE_VERSION;
}

// Snapshot of the isolate running on the calling thread; NULL if there is
// none or if `progress` aborted it. With a NULL `progress`, V8 gets no
// ActivityControl (it then skips counting the heap's objects up front).
__attribute__((visibility("default"))) const void* lg_take_snapshot(
    lg_progress_fn progress, void* ctx, int expose_internals,
    int expose_numerics) {
  v8::Isolate* isolate = v8::Isolate::TryGetCurrent();
  if (isolate == nullptr) return nullptr;
  v8::HandleScope scope(isolate);
  Progress control(progress, ctx);
  return isolate->GetHeapProfiler()->TakeHeapSnapshot(
      progress != nullptr ? &control : nullptr, nullptr, expose_internals == 0,
      expose_numerics != 0);
}

// Returns 1 when V8 reached the end of the stream, 0 when the callback aborted.
__attribute__((visibility("default"))) int lg_serialize(const void* snapshot,
                                                        lg_chunk_fn fn,
                                                        void* ctx,
                                                        int chunk_size) {
  ChunkStream stream(fn, ctx, chunk_size);
  static_cast<const v8::HeapSnapshot*>(snapshot)->Serialize(
      &stream, v8::HeapSnapshot::kJSON);
  return stream.ended() ? 1 : 0;
}

__attribute__((visibility("default"))) void lg_delete_snapshot(
    const void* snapshot) {
  const_cast<v8::HeapSnapshot*>(static_cast<const v8::HeapSnapshot*>(snapshot))
      ->Delete();
}

// Used heap, heap limit, the part of the used heap in large-object space
// (big strings and arrays: few snapshot nodes per byte), and the young
// generation's size. Returns 0 when the calling thread has no isolate.
__attribute__((visibility("default"))) int lg_heap_stats(size_t* used,
                                                         size_t* limit,
                                                         size_t* large,
                                                         size_t* young) {
  v8::Isolate* isolate = v8::Isolate::TryGetCurrent();
  if (isolate == nullptr) return 0;
  v8::HeapStatistics stats;
  isolate->GetHeapStatistics(&stats);
  *used = stats.used_heap_size();
  *limit = stats.heap_size_limit();
  *large = 0;
  *young = 0;
  for (size_t i = 0; i < isolate->NumberOfHeapSpaces(); i++) {
    v8::HeapSpaceStatistics space;
    isolate->GetHeapSpaceStatistics(&space, i);
    const char* name = space.space_name();
    if (name != nullptr && (__builtin_strcmp(name, "large_object_space") == 0 ||
                            __builtin_strcmp(name, "code_large_object_space") == 0 ||
                            __builtin_strcmp(name, "new_large_object_space") == 0)) {
      *large += space.space_used_size();
    }
    if (name != nullptr && __builtin_strcmp(name, "new_space") == 0) {
      *young = space.space_size();
    }
  }
  return 1;
}

// Slots of all JS arrays, Maps (key + value) and Sets, and the most in one:
// a full garbage collection and a walk of the heap. Returns 0 when the
// calling thread has no isolate or no context.
__attribute__((visibility("default"))) int lg_js_slots(uint64_t* total,
                                                       uint64_t* largest) {
  v8::Isolate* isolate = v8::Isolate::TryGetCurrent();
  if (isolate == nullptr) return 0;
  v8::HandleScope scope(isolate);
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  if (context.IsEmpty()) return 0;
  *total = 0;
  *largest = 0;
  Slots slots(total, largest);
  std::vector<v8::Global<v8::Object>> none;
  isolate->GetHeapProfiler()->QueryObjects(context, &slots, &none);
  return 1;
}

// The isolate running on the calling thread, for RequestInterrupt from
// another thread.
__attribute__((visibility("default"))) void* lg_current_isolate(void) {
  return v8::Isolate::TryGetCurrent();
}

// Thread-safe: `fn(isolate, data)` runs on the isolate's thread at its next
// interrupt check, even inside a long synchronous JS loop.
__attribute__((visibility("default"))) void lg_request_interrupt(
    void* isolate, void (*fn)(void* isolate, void* data), void* data) {
  static_cast<v8::Isolate*>(isolate)->RequestInterrupt(
      reinterpret_cast<v8::InterruptCallback>(fn), data);
}

// `fn` runs after each garbage collection, young or full.
__attribute__((visibility("default"))) void lg_gc_epilogue(
    int add, void (*fn)(void* isolate, int type, int flags, void* data),
    void* data) {
  v8::Isolate* isolate = v8::Isolate::TryGetCurrent();
  if (isolate == nullptr) return;
  auto callback = reinterpret_cast<v8::Isolate::GCCallbackWithData>(fn);
  if (add != 0) {
    isolate->AddGCEpilogueCallback(callback, data, v8::kGCTypeAll);
  } else {
    isolate->RemoveGCEpilogueCallback(callback, data);
  }
}

__attribute__((visibility("default"))) void lg_add_near_heap_limit(
    v8::NearHeapLimitCallback fn, void* data) {
  v8::Isolate* isolate = v8::Isolate::TryGetCurrent();
  if (isolate != nullptr) isolate->AddNearHeapLimitCallback(fn, data);
}

// Removing sets the heap limit to `limit` (0 keeps the current one).
__attribute__((visibility("default"))) void lg_remove_near_heap_limit(
    v8::NearHeapLimitCallback fn, size_t limit) {
  v8::Isolate* isolate = v8::Isolate::TryGetCurrent();
  if (isolate != nullptr) isolate->RemoveNearHeapLimitCallback(fn, limit);
}

// Once usage falls below `fraction` of the initial limit, V8 restores it.
__attribute__((visibility("default"))) void lg_restore_heap_limit(
    double fraction) {
  v8::Isolate* isolate = v8::Isolate::TryGetCurrent();
  if (isolate != nullptr) isolate->AutomaticallyRestoreInitialHeapLimit(fraction);
}

}  // extern "C"

// Forgets V8's object-id map (about 50 bytes per live object, kept so that
// ids stay stable across snapshots). Later snapshots get fresh ids.
extern "C" __attribute__((visibility("default"))) void lg_clear_object_ids(void) {
  v8::Isolate* isolate = v8::Isolate::TryGetCurrent();
  if (isolate != nullptr) isolate->GetHeapProfiler()->ClearObjectIds();
}
