// compile-pipeline: writes the compiled pipelines (KFP IR YAML) into kfp_specs/.
#include <CLI/CLI.hpp>

#include <iostream>

#include "adversarial_defense.h"
#include "defend_model.h"
#include "cli/edge.h"
#include "io/files.h"
#include "io/json.h"
#include "kfp/images.h"

int main(int argc, char** argv) {
  using namespace advkfp;
  CLI::App app{"Compile an advkfp pipeline to KFP IR YAML (schemaVersion 2.1.0).",
               "compile-pipeline"};
  app.set_version_flag("--version", cli::version_line("compile-pipeline"));
  std::string pipeline = pipelines::kAdversarialDefenseName, images_config, output;
  bool check = false;
  app.add_option("--pipeline", pipeline, "Which pipeline to compile")
      ->check(CLI::IsMember({pipelines::kAdversarialDefenseName, pipelines::kDefendModelName}))
      ->capture_default_str();
  app.add_option("--images-config", images_config, "containers/images.conf")->required();
  app.add_option("--output", output, "Where to write the IR YAML, e.g. kfp_specs/<pipeline>.yaml")
      ->required();
  app.add_flag("--check", check, "Do not write; fail when the file differs from the compiled one.");
  if (const auto rc = cli::parse_command_line(app, argc, argv, "compile-pipeline")) return *rc;
  return cli::guarded_quiet("compile-pipeline", [&] {
    const auto images = kfp::load_image_config(images_config);
    const auto yaml = (pipeline == pipelines::kDefendModelName ? pipelines::defend_model(images)
                                                               : pipelines::adversarial_defense(images))
                          .compile_yaml();
    if (!check) {
      io::write_atomically(output, yaml, "output");
      return;
    }
    std::string current;
    try {
      current = io::read_file(output, "output");
    } catch (const Error&) {
    }
    if (current != yaml) {
      throw Error(output + " is stale; run `cmake --build build --target kfp_specs`");
    }
  });
}
