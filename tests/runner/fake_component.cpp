// fake-component: a stand-in component binary, driven by its arguments, for the runner tests.
//
// Runner tests spawn it as a real process (no LibTorch needed).
// Actions run in order:
//   --write PATH TEXT            write TEXT to PATH (the parent folder must already exist)
//   --mkdir PATH                 create the folder PATH (its parent must exist)
//   --expect-file PATH TEXT      exit 4 unless PATH holds exactly TEXT
//   --echo TEXT                  print TEXT to stdout
//   --env NAME PATH              write the value of environment variable NAME to PATH
//   --executor-output EXECUTOR_INPUT_JSON TEXT
//                                write TEXT to outputs.outputFile of the given ExecutorInput
//   --touch MB                   map MB MiB and write to every page of it (kept to the end)
//   --exit CODE                  print "failing with CODE" to stderr and exit with CODE
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace {

int usage(const std::string& problem) {
  std::cerr << "fake-component: " << problem << std::endl;
  return 2;
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string action = argv[i];
    const auto need = [&](int n) { return i + n < argc; };
    if (action == "--write" && need(2)) {
      if (!write_file(argv[i + 1], argv[i + 2])) {
        return usage(std::string("cannot write ") + argv[i + 1]);
      }
      i += 2;
    } else if (action == "--touch" && need(1)) {
      // Mapped directly and kept to the end: a sanitizer's allocator would give a freed block
      // back early, and its leak check at exit would then set the peak instead.
      const size_t bytes = std::stoul(argv[i + 1]) << 20;
      void* mapped = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (mapped == MAP_FAILED) return usage("cannot allocate");
      auto* block = static_cast<volatile char*>(mapped);
      for (size_t b = 0; b < bytes; b += 4096) block[b] = 1;
      i += 1;
    } else if (action == "--mkdir" && need(1)) {
      std::error_code ec;
      if (!std::filesystem::create_directory(argv[i + 1], ec)) return usage("cannot create folder");
      i += 1;
    } else if (action == "--expect-file" && need(2)) {
      const std::string actual = read_file(argv[i + 1]);
      if (actual != argv[i + 2]) {
        std::cerr << "fake-component: " << argv[i + 1] << " holds '" << actual << "', expected '"
                  << argv[i + 2] << "'" << std::endl;
        return 4;
      }
      i += 2;
    } else if (action == "--echo" && need(1)) {
      std::cout << argv[i + 1] << std::endl;
      i += 1;
    } else if (action == "--env" && need(2)) {
      const char* value = std::getenv(argv[i + 1]);
      if (!write_file(argv[i + 2], value ? value : "<unset>")) {
        return usage("cannot write env file");
      }
      i += 2;
    } else if (action == "--executor-output" && need(2)) {
      const auto input = nlohmann::json::parse(argv[i + 1]);
      const std::string file = input.at("outputs").at("outputFile").get<std::string>();
      if (!write_file(file, argv[i + 2])) return usage("cannot write " + file);
      i += 2;
    } else if (action == "--exit" && need(1)) {
      std::cerr << "failing with " << argv[i + 1] << std::endl;
      return std::atoi(argv[i + 1]);
    } else {
      return usage("unknown or incomplete action '" + action + "'");
    }
  }
  return 0;
}
