// Exit codes, error lines and argument parsing shared by every advkfp command line.
#include "cli/edge.h"

#include <iostream>
#include <new>

#include "common/error.h"
#include "common/version.h"
#include "kfp/images.h"

namespace advkfp::cli {

std::string version_line(const std::string& tool) { return tool + " (advkfp) " + kVersion; }

void print_error(const std::string& tool, const std::string& message) {
  const auto nl = message.find('\n');
  std::cerr << tool << ": error: " << message.substr(0, nl) << std::endl;
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                      const std::string& tool) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e) == 0 ? kExitOk : kExitUsage;  // --help, --version
    }
    print_error(tool, std::string(e.what()) + " (see --help)");
    return kExitUsage;
  }
  return std::nullopt;
}

int guarded_quiet(const std::string& tool, const std::function<void()>& body) {
  try {
    body();
  } catch (const UsageError& e) {
    print_error(tool, e.what());
    return kExitUsage;
  } catch (const std::bad_alloc&) {
    print_error(tool, "out of memory");
    return kExitFailure;
  } catch (const std::exception& e) {
    print_error(tool, e.what());
    return kExitFailure;
  }
  return kExitOk;
}

bool wants_component_spec(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--print-component-spec") return true;
  }
  return false;
}

int print_component_spec(const std::string& tool, int argc, char** argv,
                         const std::function<kfp::ComponentSpec(const std::string&)>& make) {
  CLI::App app{"Print the KFP component YAML of " + tool, tool};
  std::string image, images_config;
  app.add_flag("--print-component-spec", "Print the component YAML and exit.");
  app.add_option("--image", image, "Image reference to write into the spec.");
  app.add_option("--images-config", images_config,
                 "containers/images.conf to take the image reference from.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    print_error(tool, std::string(e.what()) + " (with --print-component-spec)");
    return kExitUsage;
  }
  return guarded_quiet(tool, [&] {
    if (image.empty() && images_config.empty()) {
      throw UsageError("--print-component-spec needs --image or --images-config");
    }
    if (image.empty()) image = kfp::load_image_config(images_config).image_for(tool);
    std::cout << kfp::to_v1_yaml(make(image));
  });
}

}  // namespace advkfp::cli
