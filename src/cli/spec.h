// cli::Spec: the one declaration of a tool's inputs, outputs and parameters. Flags, --help and the
// KFP component YAML are all generated from it, so they cannot drift apart.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/checks.h"

namespace advkfp::cli {

/// Flags every tool has. Options structs derive from it.
struct CommonOptions {
  int64_t threads = 0;     ///< 0: one per available core
  int64_t seed = 0;        ///< every random choice derives from it
  int64_t log_every = 100; ///< batches between progress lines (0: only totals)
  bool verbose = false;
  std::filesystem::path trusted_key;  ///< tools that load models: require this signer (loads_models)
};

/// Flags of tools that write a model folder and can sign it (Spec::signs_models). Their Options
/// derive from it as well as from CommonOptions.
struct SigningOptions {
  std::filesystem::path signing_key;  ///< Ed25519 private key; empty: $ADVKFP_SIGNING_KEY or none
};

/// Flags of tools that train for epochs and can be resumed after a crash (Spec::checkpoints).
struct CheckpointOptions {
  std::filesystem::path checkpoint_dir;  ///< empty: no checkpoints
  bool resume = false;
};

/// What a field is, in KFP terms.
enum class Role { kInputArtifact, kOutputArtifact, kParameter, kOutputParameter };

/// KFP type names (component YAML v1).
namespace types {
inline constexpr const char* kDataset = "Dataset";
inline constexpr const char* kModel = "Model";
inline constexpr const char* kMetrics = "Metrics";
inline constexpr const char* kClassificationMetrics = "ClassificationMetrics";
inline constexpr const char* kHtml = "HTML";
inline constexpr const char* kMarkdown = "Markdown";
inline constexpr const char* kFloat = "Float";
inline constexpr const char* kInteger = "Integer";
inline constexpr const char* kString = "String";
inline constexpr const char* kBoolean = "Boolean";
inline constexpr const char* kArtifact = "Artifact";  ///< only when nothing else fits
}  // namespace types

/// A value check of a numeric parameter (common/checks.h): the library's configs run the same.
using checks::Check;
using checks::in_range;
using checks::at_least;

/// snake_case KFP name -> kebab-case flag name, the one mechanical mapping.
std::string flag_name(const std::string& name);

template <class O>
struct Field {
  using Member = std::variant<std::filesystem::path O::*, double O::*, int64_t O::*,
                              std::string O::*, bool O::*>;
  std::string name;
  Role role = Role::kParameter;
  std::string type;
  std::string description;
  Member member;
  bool optional = false;             ///< artifacts: may be omitted
  Check check;                       ///< numeric parameters
  std::vector<std::string> choices;  ///< string parameters
  bool in_component = true;          ///< false: workstation-only flag (not in the KFP YAML)
};

/// Declares a tool. Defaults come from a default-constructed O, and nowhere else.
template <class O>
class Spec {
 public:
  using RunFn = std::function<void(const O&)>;

  Spec(std::string name, std::string description)
      : name_(std::move(name)), description_(std::move(description)) {}

  Spec& input(std::string name, std::filesystem::path O::*m, std::string type,
              std::string description, bool optional = false) {
    return add(std::move(name), Role::kInputArtifact, std::move(type), std::move(description), m,
               optional);
  }
  Spec& output(std::string name, std::filesystem::path O::*m, std::string type,
               std::string description, bool optional = false) {
    return add(std::move(name), Role::kOutputArtifact, std::move(type), std::move(description), m,
               optional);
  }
  /// `optional`: the flag may be left out on the command line (KFP always passes a path).
  Spec& output_parameter(std::string name, std::filesystem::path O::*m, std::string type,
                         std::string description, bool optional = false) {
    return add(std::move(name), Role::kOutputParameter, std::move(type), std::move(description), m,
               optional);
  }
  Spec& param(std::string name, double O::*m, std::string description, Check check = {}) {
    add(std::move(name), Role::kParameter, types::kFloat, std::move(description), m, false);
    fields_.back().check = std::move(check);
    return *this;
  }
  Spec& param(std::string name, int64_t O::*m, std::string description, Check check = {}) {
    add(std::move(name), Role::kParameter, types::kInteger, std::move(description), m, false);
    fields_.back().check = std::move(check);
    return *this;
  }
  Spec& param(std::string name, bool O::*m, std::string description) {
    return add(std::move(name), Role::kParameter, types::kBoolean, std::move(description), m,
               false);
  }
  Spec& param(std::string name, std::string O::*m, std::string description,
              std::vector<std::string> choices = {}) {
    add(std::move(name), Role::kParameter, types::kString, std::move(description), m, false);
    fields_.back().choices = std::move(choices);
    return *this;
  }
  Spec& param(std::string name, std::filesystem::path O::*m, std::string description) {
    return add(std::move(name), Role::kParameter, types::kString, std::move(description), m,
               false);
  }
  /// Marks the last declared field as a workstation-only flag.
  Spec& cli_only() {
    fields_.back().in_component = false;
    return *this;
  }
  Spec& run(RunFn fn) {
    run_ = std::move(fn);
    return *this;
  }
  /// Adds the CommonOptions flags; call last so they follow the tool's own flags in --help.
  Spec& common(bool uses_randomness = true);
  /// Adds --trusted-key, for tools that load a model (a workstation flag; in a pipeline the
  /// ADVKFP_TRUSTED_KEY environment variable, e.g. a mounted secret, does the same).
  Spec& loads_models();
  /// Adds --signing-key (SigningOptions), for tools that write a model folder.
  Spec& signs_models();
  /// Adds --checkpoint-dir and --resume (CheckpointOptions), for tools that train for epochs.
  Spec& checkpoints();

  const std::string& name() const { return name_; }
  const std::string& description() const { return description_; }
  const std::vector<Field<O>>& fields() const { return fields_; }
  void invoke(const O& options) const { run_(options); }

 private:
  template <class M>
  Spec& add(std::string name, Role role, std::string type, std::string description, M m,
            bool optional) {
    Field<O> f;
    f.name = std::move(name);
    f.role = role;
    f.type = std::move(type);
    f.description = std::move(description);
    f.member = m;
    f.optional = optional;
    fields_.push_back(std::move(f));
    return *this;
  }

  std::string name_, description_;
  std::vector<Field<O>> fields_;
  RunFn run_;
};

template <class O>
Spec<O>& Spec<O>::common(bool uses_randomness) {
  static_assert(std::is_base_of_v<CommonOptions, O>, "Options must derive from CommonOptions");
  param("threads", static_cast<int64_t O::*>(&CommonOptions::threads),
        "CPU threads for LibTorch and BLAS; 0 uses every available core.", at_least(0));
  if (uses_randomness) {
    param("seed", static_cast<int64_t O::*>(&CommonOptions::seed),
          "Seed for every random choice; the same seed on one thread gives the same result.",
          at_least(0));
  }
  param("log_every", static_cast<int64_t O::*>(&CommonOptions::log_every),
        "Batches between progress lines on stderr (0: totals only).", at_least(0));
  cli_only();
  param("verbose", static_cast<bool O::*>(&CommonOptions::verbose), "Log debug details.");
  cli_only();
  return *this;
}

template <class O>
Spec<O>& Spec<O>::loads_models() {
  param("trusted_key", static_cast<std::filesystem::path O::*>(&CommonOptions::trusted_key),
        "Ed25519 public key (PEM): refuse a model folder that is not signed by it. Default: "
        "$ADVKFP_TRUSTED_KEY; unset, signatures are not required.");
  return cli_only();
}

template <class O>
Spec<O>& Spec<O>::signs_models() {
  static_assert(std::is_base_of_v<SigningOptions, O>, "Options must derive from SigningOptions");
  param("signing_key", static_cast<std::filesystem::path O::*>(&SigningOptions::signing_key),
        "Ed25519 private key (PEM) to sign the model folder with (model.sig over model.json). "
        "Default: $ADVKFP_SIGNING_KEY; unset, the model is not signed.");
  return cli_only();
}

template <class O>
Spec<O>& Spec<O>::checkpoints() {
  static_assert(std::is_base_of_v<CheckpointOptions, O>,
                "Options must derive from CheckpointOptions");
  param("checkpoint_dir",
        static_cast<std::filesystem::path O::*>(&CheckpointOptions::checkpoint_dir),
        "Folder for a checkpoint written atomically after every epoch (weights, optimizer, "
        "random generators, history); empty: none.");
  cli_only();
  param("resume", static_cast<bool O::*>(&CheckpointOptions::resume),
        "Continue from checkpoint_dir's checkpoint (from the start when there is none yet); "
        "the result is the one an uninterrupted run gives.");
  return cli_only();
}

}  // namespace advkfp::cli
