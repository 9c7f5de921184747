// Checkpoints of training loops: one LibTorch archive per checkpoint, written atomically.
#include "training/checkpoint.h"

#include <mutex>

#include "common/error.h"
#include "common/log.h"
#include "io/files.h"

namespace advkfp::training {
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

constexpr const char* kWhat = "checkpoint_dir";

// The first key (dotted path) where two runs differ, with both values, or "" when equal.
std::string first_difference(const Json& here, const Json& saved, const std::string& path) {
  if (here.is_object() && saved.is_object()) {
    for (const auto& [key, value] : here.items()) {
      const std::string sub = path.empty() ? key : path + "." + key;
      if (!saved.contains(key)) return sub + " is not in the checkpoint";
      const auto d = first_difference(value, saved.at(key), sub);
      if (!d.empty()) return d;
    }
    for (const auto& [key, value] : saved.items()) {
      if (!here.contains(key)) return (path.empty() ? key : path + "." + key) + " is only in the checkpoint";
    }
    return "";
  }
  if (here == saved) return "";
  return path + " is " + here.dump() + " here, " + saved.dump() + " in the checkpoint";
}

}  // namespace

torch::Tensor generator_state(at::Generator& gen) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_generator_state(at::Generator& gen, const torch::Tensor& state) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

std::string dataset_fingerprint(const data::Dataset& ds) {
  std::string bytes;
  for (const auto& t : {ds.images, ds.labels}) {
    if (!t.defined()) {
      bytes += "-";
      continue;
    }
    const auto c = t.contiguous();
    bytes += std::string(c10::toString(c.scalar_type())) + Json(c.sizes().vec()).dump();
    bytes.append(static_cast<const char*>(c.data_ptr()), c.nbytes());
  }
  bytes += Json(ds.class_names).dump();
  return io::sha256_hex(bytes);
}

void save_checkpoint(const CheckpointConfig& config, const CheckpointState& state,
                     torch::optim::Optimizer& opt) {
  torch::serialize::OutputArchive ar;
  ar.write("format", c10::IValue(std::string(kCheckpointFormat)));
  ar.write("run", c10::IValue(config.run.dump()));
  ar.write("epoch", c10::IValue(state.epoch));
  ar.write("loop", c10::IValue(state.loop.dump()));
  ar.write("weight_count", c10::IValue(static_cast<int64_t>(state.weights.size())));
  for (size_t i = 0; i < state.weights.size(); ++i) {
    ar.write("weight_" + std::to_string(i), state.weights[i].detach());
  }
  Json names = Json::array();
  for (const auto& [name, t] : state.tensors) {
    names.push_back(name);
    ar.write("tensor_" + name, t.detach());
  }
  ar.write("tensor_names", c10::IValue(names.dump()));
  torch::serialize::OutputArchive opt_ar;
  opt.save(opt_ar);
  ar.write("optimizer", opt_ar);
  io::write_file_atomically(config.file(), kWhat, [&](const fs::path& tmp) {
    try {
      ar.save_to(tmp.string());
    } catch (const c10::Error& e) {
      throw Error(describe(kWhat, "cannot write '" + config.file().string() +
                                      "': " + e.what_without_backtrace()));
    }
  });
}

CheckpointState read_checkpoint(const fs::path& file, Json* run, torch::optim::Optimizer* opt,
                                const std::string& what) {
  const auto broken = [&](const std::string& why) {
    return Error(describe(what, "'" + file.string() + "' is not a complete checkpoint (" + why +
                                    "); remove it to start afresh"));
  };
  if (fs::is_symlink(file) || !fs::is_regular_file(file)) throw broken("not a regular file");
  CheckpointState s;
  try {
    torch::serialize::InputArchive ar;
    ar.load_from(file.string());
    c10::IValue v;
    ar.read("format", v);
    if (!v.isString() || v.toStringRef() != kCheckpointFormat) throw broken("unknown format");
    ar.read("run", v);
    if (run) *run = Json::parse(v.toStringRef());
    ar.read("epoch", v);
    s.epoch = v.toInt();
    ar.read("loop", v);
    s.loop = Json::parse(v.toStringRef());
    ar.read("weight_count", v);
    for (int64_t i = 0; i < v.toInt(); ++i) {
      torch::Tensor t;
      ar.read("weight_" + std::to_string(i), t);
      s.weights.push_back(t);
    }
    ar.read("tensor_names", v);
    for (const auto& name : Json::parse(v.toStringRef())) {
      torch::Tensor t;
      ar.read("tensor_" + name.get<std::string>(), t);
      s.tensors[name.get<std::string>()] = t;
    }
    if (opt) {
      torch::serialize::InputArchive opt_ar;
      ar.read("optimizer", opt_ar);
      opt->load(opt_ar);
    }
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw broken(e.what_without_backtrace());
  } catch (const std::exception& e) {  // JSON parts
    throw broken(e.what());
  }
  return s;
}

std::optional<CheckpointState> load_checkpoint(const CheckpointConfig& config,
                                               torch::optim::Optimizer& opt) {
  if (!config.enabled()) {
    if (config.resume) throw UsageError(describe("resume", "needs checkpoint_dir"));
    return std::nullopt;
  }
  const fs::path file = config.file();
  if (!fs::exists(fs::symlink_status(file))) {
    if (config.resume) log::info("no checkpoint in ", config.dir.string(), ": starting afresh");
    return std::nullopt;
  }
  if (!config.resume) {
    throw UsageError(describe(kWhat, "'" + file.string() + "' holds a checkpoint: pass --resume "
                                     "true to continue from it, or remove it to start afresh"));
  }
  Json run;
  auto s = read_checkpoint(file, &run, nullptr, kWhat);
  const auto diff = first_difference(config.run, run, "");
  if (!diff.empty()) {
    throw Error(describe(kWhat, "'" + file.string() + "' is from another run (" + diff +
                                    "); remove it or choose another folder"));
  }
  read_checkpoint(file, nullptr, &opt, kWhat);  // the optimizer once the run is known to match
  log::info("resuming after epoch ", s.epoch, " from ", file.string());
  return s;
}

}  // namespace advkfp::training
