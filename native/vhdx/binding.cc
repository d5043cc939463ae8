// Node-API surface of the VHDX engine: each call validates its arguments on
// the JS thread, runs the engine on a libuv worker (Napi::AsyncWorker) and
// settles a Promise. Engine errors become Errors with own properties `code`,
// `errno`, `resource` (lib/native.ts turns those into WcowError).
#include "vhdx/binding.h"

#include <functional>
#include <optional>

#include "vhdx/error.h"
#include "vhdx/vhdx.h"

namespace wcow::vhdx {

namespace {

const char* CodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kExists: return "ERR_VHDX_EXISTS";
    case ErrorCode::kCorrupt: return "ERR_VHDX_CORRUPT";
    case ErrorCode::kInvalidArgument: return "ERR_INVALID_ARGUMENT";
    case ErrorCode::kIo: return "ERR_IO";
  }
  return "ERR_INTERNAL";
}

Napi::Value ToJs(Napi::Env env, const Error& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  err.Set("code", CodeName(e.code()));
  if (!e.errno_name().empty()) err.Set("errno", e.errno_name());
  if (!e.resource().empty()) err.Set("resource", e.resource());
  return err.Value();
}

// Runs `work`, keeping what it returned or the engine error it threw.
template <typename Result>
void RunCaught(const std::function<Result()>& work, std::optional<Result>& result, std::optional<Error>& error) {
  try {
    result = work();
  } catch (const Error& e) {
    error = e;
  } catch (const std::bad_alloc&) {
    error = Error(ErrorCode::kIo, "ENOMEM: not enough memory", {}, "ENOMEM");
  }
}

template <typename Result>
void Settle(Napi::Env env, Napi::Promise::Deferred& deferred, std::optional<Result>& result, const std::optional<Error>& error,
            const std::function<Napi::Value(Napi::Env, Result&)>& convert) {
  if (error) deferred.Reject(ToJs(env, *error));
  else deferred.Resolve(convert(env, *result));
}

// Runs `work` off the JS thread; `convert` builds the resolution value on it.
template <typename Result>
class Task : public Napi::AsyncWorker {
 public:
  Task(Napi::Env env, std::function<Result()> work, std::function<Napi::Value(Napi::Env, Result&)> convert)
      : Napi::AsyncWorker(env, "wcow-resources:vhdx"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        convert_(std::move(convert)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override { RunCaught(work_, result_, error_); }

  void OnOK() override {
    Napi::HandleScope scope(Env());
    Settle(Env(), deferred_, result_, error_, convert_);
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<Result()> work_;
  std::function<Napi::Value(Napi::Env, Result&)> convert_;
  std::optional<Result> result_;
  std::optional<Error> error_;
};

struct Done {};

// `on_this_thread`: the work runs now, on the JS thread, and the promise is settled when this
// returns — for an unflushed create, a dozen small writes, which cost less than a round trip
// through the libuv pool (lib/vhdx/index.ts createVhdxInline).
template <typename Result>
Napi::Value Start(Napi::Env env, std::function<Result()> work, std::function<Napi::Value(Napi::Env, Result&)> convert,
                  bool on_this_thread = false) {
  if (on_this_thread) {
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    std::optional<Result> result;
    std::optional<Error> error;
    RunCaught(work, result, error);
    Settle(env, deferred, result, error, convert);
    return deferred.Promise();
  }
  auto* task = new Task<Result>(env, std::move(work), std::move(convert));
  Napi::Promise promise = task->Promise();
  task->Queue();
  return promise;
}

Napi::Value Resolved(Napi::Env env, Done&) { return env.Undefined(); }

// Argument readers: a wrong type or value is ERR_INVALID_ARGUMENT.
std::string PathArg(const Napi::Value& v, const char* name) {
  if (!v.IsString() || v.As<Napi::String>().Utf8Value().empty()) ThrowInvalid(std::string(name) + " must be a non-empty string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) ThrowInvalid(std::string(name) + " must not contain NUL characters");
  return s;
}

std::string OptionalString(const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return {};
  if (!v.IsString()) ThrowInvalid(std::string(name) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

uint64_t Integer(const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) ThrowInvalid(std::string(name) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d))) {
    ThrowInvalid(std::string(name) + " must be a non-negative integer");
  }
  return static_cast<uint64_t>(d);
}

uint32_t OptionalU32(const Napi::Object& o, const char* name, uint32_t fallback) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return fallback;
  uint64_t n = Integer(v, name);
  // Out-of-range values keep failing validation instead of wrapping around.
  return n > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(n);
}

// The optional last argument of the create calls: run on the calling thread (see Start).
bool OnThisThread(const Napi::Value& v) {
  if (v.IsUndefined()) return false;
  if (!v.IsBoolean()) ThrowInvalid("onThisThread must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

bool OptionalBool(const Napi::Object& o, const char* name, bool fallback) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) ThrowInvalid(std::string(name) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

Napi::Object OptionsArg(const Napi::Value& v) {
  if (!v.IsObject()) ThrowInvalid("options must be an object");
  return v.As<Napi::Object>();
}

// Runs `start` (argument parsing + queueing); argument errors reject the
// promise instead of throwing, so every entry point fails the same way.
Napi::Value Guarded(const Napi::CallbackInfo& info, const std::function<Napi::Value()>& start) {
  try {
    return start();
  } catch (const Error& e) {
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(info.Env());
    d.Reject(ToJs(info.Env(), e));
    return d.Promise();
  }
}

Napi::Value Create(const Napi::CallbackInfo& info) {
  return Guarded(info, [&]() {
    std::string path = PathArg(info[0], "path");
    Napi::Object o = OptionsArg(info[1]);
    CreateOptions c;
    if (o.Get("sizeBytes").IsUndefined()) ThrowInvalid("sizeBytes is required");
    c.size_bytes = Integer(o.Get("sizeBytes"), "sizeBytes");
    c.block_size = OptionalU32(o, "blockSizeBytes", c.block_size);
    c.logical_sector = OptionalU32(o, "logicalSectorBytes", c.logical_sector);
    c.physical_sector = OptionalU32(o, "physicalSectorBytes", c.physical_sector);
    c.overwrite = OptionalBool(o, "overwrite", false);
    c.flush = OptionalBool(o, "flush", true);
    return Start<Done>(info.Env(), [path, c]() { CreateDynamic(path, c); return Done{}; }, Resolved, OnThisThread(info[2]));
  });
}

Napi::Value CreateChild(const Napi::CallbackInfo& info) {
  return Guarded(info, [&]() {
    std::string path = PathArg(info[0], "path");
    Napi::Object o = OptionsArg(info[1]);
    DifferencingOptions d;
    d.parent_path = PathArg(o.Get("parentPath"), "parentPath");
    d.locator.relative_path = OptionalString(o, "relativePath");
    d.locator.absolute_win32_path = OptionalString(o, "absoluteWin32Path");
    d.locator.volume_path = OptionalString(o, "volumePath");
    d.block_size = OptionalU32(o, "blockSizeBytes", 0);
    d.overwrite = OptionalBool(o, "overwrite", false);
    d.flush = OptionalBool(o, "flush", true);
    return Start<Done>(info.Env(), [path, d]() { CreateDifferencing(path, d); return Done{}; }, Resolved, OnThisThread(info[2]));
  });
}

Napi::Value Num(Napi::Env env, uint64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

const char* ItemName(const Guid& id) {
  if (id == kFileParametersItem) return "fileParameters";
  if (id == kVirtualDiskSizeItem) return "virtualDiskSize";
  if (id == kPage83Item) return "page83Data";
  if (id == kLogicalSectorSizeItem) return "logicalSectorSize";
  if (id == kPhysicalSectorSizeItem) return "physicalSectorSize";
  if (id == kParentLocatorItem) return "parentLocator";
  return "unknown";
}

Napi::Object HeaderToJs(Napi::Env env, const HeaderInfo& h) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("slot", Num(env, h.slot));
  o.Set("offset", Num(env, h.offset));
  o.Set("current", h.current);
  o.Set("valid", h.valid);
  o.Set("signatureValid", h.signature_valid);
  o.Set("checksumValid", h.checksum_valid);
  if (!h.problem.empty()) o.Set("problem", h.problem);
  o.Set("sequenceNumber", Num(env, h.sequence_number));
  o.Set("fileWriteGuid", h.file_write_guid.ToString());
  o.Set("dataWriteGuid", h.data_write_guid.ToString());
  o.Set("logGuid", h.log_guid.ToString());
  o.Set("version", Num(env, h.version));
  o.Set("logVersion", Num(env, h.log_version));
  o.Set("logOffset", Num(env, h.log_offset));
  o.Set("logLength", Num(env, h.log_length));
  return o;
}

Napi::Object RegionTableToJs(Napi::Env env, const RegionTableInfo& t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("slot", Num(env, t.slot));
  o.Set("offset", Num(env, t.offset));
  o.Set("valid", t.valid);
  if (!t.problem.empty()) o.Set("problem", t.problem);
  Napi::Array entries = Napi::Array::New(env, t.entries.size());
  for (uint32_t i = 0; i < t.entries.size(); ++i) {
    const RegionEntry& r = t.entries[i];
    Napi::Object e = Napi::Object::New(env);
    e.Set("guid", r.guid.ToString());
    e.Set("region", r.guid == kBatRegion ? "bat" : r.guid == kMetadataRegion ? "metadata" : "unknown");
    e.Set("fileOffset", Num(env, r.file_offset));
    e.Set("length", Num(env, r.length));
    e.Set("required", r.required);
    entries.Set(i, e);
  }
  o.Set("entries", entries);
  return o;
}

Napi::Value InfoToJs(Napi::Env env, Info& info) {
  const Geometry& g = info.geometry;
  const HeaderInfo& current = info.Current();
  Napi::Object o = Napi::Object::New(env);
  o.Set("path", info.path);
  o.Set("fileSize", Num(env, info.file_size));
  o.Set("creator", info.creator);
  o.Set("virtualSize", Num(env, g.virtual_size));
  o.Set("blockSize", Num(env, g.block_size));
  o.Set("logicalSectorSize", Num(env, g.logical_sector));
  o.Set("physicalSectorSize", Num(env, g.physical_sector));
  o.Set("hasParent", g.has_parent);
  o.Set("leaveBlocksAllocated", info.leave_blocks_allocated);
  o.Set("diskId", info.page83.ToString());
  o.Set("dataWriteGuid", current.data_write_guid.ToString());
  o.Set("fileWriteGuid", current.file_write_guid.ToString());
  o.Set("logGuid", current.log_guid.ToString());
  Napi::Array headers = Napi::Array::New(env, 2);
  Napi::Array tables = Napi::Array::New(env, 2);
  for (uint32_t s = 0; s < 2; ++s) {
    headers.Set(s, HeaderToJs(env, info.headers[s]));
    tables.Set(s, RegionTableToJs(env, info.region_tables[s]));
  }
  o.Set("headers", headers);
  o.Set("regionTables", tables);
  Napi::Object md = Napi::Object::New(env);
  md.Set("offset", Num(env, info.metadata_offset));
  md.Set("length", Num(env, info.metadata_length));
  o.Set("metadataRegion", md);
  Napi::Array items = Napi::Array::New(env, info.metadata_items.size());
  for (uint32_t i = 0; i < info.metadata_items.size(); ++i) {
    const MetadataItem& m = info.metadata_items[i];
    Napi::Object item = Napi::Object::New(env);
    item.Set("itemId", m.item_id.ToString());
    item.Set("name", ItemName(m.item_id));
    item.Set("offset", Num(env, m.offset));
    item.Set("length", Num(env, m.length));
    item.Set("isUser", m.is_user);
    item.Set("isVirtualDisk", m.is_virtual_disk);
    item.Set("isRequired", m.is_required);
    items.Set(i, item);
  }
  o.Set("metadataItems", items);
  if (info.parent_locator) {
    const ParentLocator& l = *info.parent_locator;
    Napi::Object loc = Napi::Object::New(env);
    loc.Set("locatorType", l.locator_type.ToString());
    Napi::Object entries = Napi::Object::New(env);
    for (const auto& kv : l.entries) entries.Set(kv.first, kv.second);
    loc.Set("entries", entries);
    loc.Set("parentLinkage", *l.Find("parent_linkage"));
    const std::pair<const char*, const char*> optional[] = {
        {"relative_path", "relativePath"}, {"absolute_win32_path", "absoluteWin32Path"}, {"volume_path", "volumePath"}};
    for (const auto& [key, name] : optional) {
      if (const std::string* v = l.Find(key)) loc.Set(name, *v);
    }
    o.Set("parentLocator", loc);
  }
  const BatSummary& b = info.bat;
  Napi::Object bat = Napi::Object::New(env);
  bat.Set("offset", Num(env, b.offset));
  bat.Set("length", Num(env, b.length));
  bat.Set("entries", Num(env, b.entries));
  bat.Set("chunkRatio", Num(env, b.chunk_ratio));
  bat.Set("dataBlocks", Num(env, b.data_blocks));
  Napi::Object by = Napi::Object::New(env);
  by.Set("notPresent", Num(env, b.payload_by_state[kNotPresent]));
  by.Set("undefined", Num(env, b.payload_by_state[kUndefined]));
  by.Set("zero", Num(env, b.payload_by_state[kZero]));
  by.Set("unmapped", Num(env, b.payload_by_state[kUnmapped]));
  by.Set("fullyPresent", Num(env, b.payload_by_state[kFullyPresent]));
  by.Set("partiallyPresent", Num(env, b.payload_by_state[kPartiallyPresent]));
  bat.Set("byState", by);
  Napi::Object sb = Napi::Object::New(env);
  sb.Set("present", Num(env, b.bitmap_present));
  sb.Set("notPresent", Num(env, b.bitmap_not_present));
  bat.Set("sectorBitmapBlocks", sb);
  o.Set("bat", bat);
  return o;
}

Napi::Value InspectJs(const Napi::CallbackInfo& info) {
  return Guarded(info, [&]() {
    std::string path = PathArg(info[0], "path");
    return Start<Info>(info.Env(), [path]() { return Inspect(path); }, InfoToJs);
  });
}

Napi::Value ExpandJs(const Napi::CallbackInfo& info) {
  return Guarded(info, [&]() {
    std::string path = PathArg(info[0], "path");
    uint64_t size = Integer(info[1], "newSizeBytes");
    return Start<Done>(info.Env(), [path, size]() { Expand(path, size); return Done{}; }, Resolved);
  });
}

Napi::Value ReadJs(const Napi::CallbackInfo& info) {
  return Guarded(info, [&]() {
    std::string path = PathArg(info[0], "path");
    uint64_t offset = Integer(info[1], "offset");
    uint64_t length = Integer(info[2], "length");
    return Start<std::vector<uint8_t>>(
        info.Env(), [path, offset, length]() { return ReadVirtual(path, offset, length); },
        [](Napi::Env env, std::vector<uint8_t>& bytes) -> Napi::Value {
          return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
        });
  });
}

Napi::Value WriteJs(const Napi::CallbackInfo& info) {
  return Guarded(info, [&]() {
    std::string path = PathArg(info[0], "path");
    uint64_t offset = Integer(info[1], "offset");
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      ThrowInvalid("data must be a Uint8Array or Buffer");
    }
    Napi::Uint8Array data = info[2].As<Napi::Uint8Array>();
    // A copy: the caller may reuse its buffer while the write runs.
    std::vector<uint8_t> bytes(data.Data(), data.Data() + data.ByteLength());
    return Start<Done>(
        info.Env(), [path, offset, bytes]() { WriteVirtual(path, offset, bytes); return Done{}; }, Resolved);
  });
}

}  // namespace

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("vhdxCreate", Napi::Function::New(env, Create, "vhdxCreate"));
  exports.Set("vhdxCreateDifferencing", Napi::Function::New(env, CreateChild, "vhdxCreateDifferencing"));
  exports.Set("vhdxInspect", Napi::Function::New(env, InspectJs, "vhdxInspect"));
  exports.Set("vhdxExpand", Napi::Function::New(env, ExpandJs, "vhdxExpand"));
  exports.Set("vhdxRead", Napi::Function::New(env, ReadJs, "vhdxRead"));
  exports.Set("vhdxWrite", Napi::Function::New(env, WriteJs, "vhdxWrite"));
}

}  // namespace wcow::vhdx
