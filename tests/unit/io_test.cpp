// Atomic writes, hashing, JSON and output parameters.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "common/error.h"
#include "io/files.h"
#include "io/json.h"
#include "support/helpers.h"

using namespace advkfp;
using advkfp::test::TempDir;
namespace fs = std::filesystem;

TEST_CASE("sha256 matches the FIPS 180-2 test vector", "[unit][io]") {
  CHECK(io::sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  TempDir dir;
  test::write_text(dir / "f", "abc");
  CHECK(io::sha256_file(dir / "f", "f") == io::sha256_hex("abc"));
}

TEST_CASE("an artifact's tree digest is sha256sum's listing of its files, sorted bytewise",
          "[unit][io]") {
  TempDir dir;
  test::write_text(dir / "art" / "b.txt", "bee");
  test::write_text(dir / "art" / "a" / "z.bin", "zed");
  test::write_text(dir / "art" / "B", "upper");  // 'B' < 'a' < 'b' bytewise
  const std::string listing = io::sha256_hex("upper") + "  B\n" + io::sha256_hex("zed") +
                              "  a/z.bin\n" + io::sha256_hex("bee") + "  b.txt\n";
  const std::string digest = io::sha256_tree(dir / "art", "art");
  CHECK(digest == io::sha256_hex(listing));
  CHECK(io::sha256_tree(dir / "art" / "b.txt", "art") == io::sha256_hex("bee"));  // a file

  // The shell command in io/files.h's comment gives the same digest.
  const std::string out = (dir / "shell.txt").string();
  const std::string cmd = "cd '" + (dir / "art").string() +
                          "' && find . -type f -printf '%P\\n' | LC_ALL=C sort | "
                          "xargs -d '\\n' sha256sum | sha256sum | cut -d' ' -f1 > '" + out + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  CHECK(test::read_text(out) == digest + "\n");

  test::write_text(dir / "art" / "a" / "z.bin", "zed!");  // any byte changes it
  CHECK(io::sha256_tree(dir / "art", "art") != digest);
  const std::string changed = io::sha256_tree(dir / "art", "art");
  fs::create_symlink(dir / "art" / "B", dir / "art" / "link");  // not a file, as for find -type f
  CHECK(io::sha256_tree(dir / "art", "art") == changed);
  CHECK_THROWS_WITH(io::sha256_tree(dir / "none", "art"), Catch::Contains("does not exist"));
}

TEST_CASE("atomic file writes replace content and leave no temporary files", "[unit][io]") {
  TempDir dir;
  io::write_atomically(dir / "sub" / "a.txt", "one", "out");
  io::write_atomically(dir / "sub" / "a.txt", "two", "out");
  CHECK(test::read_text(dir / "sub" / "a.txt") == "two");
  CHECK(test::count_entries(dir / "sub") == 1);
}

TEST_CASE("a failing folder write keeps the previous folder and cleans up", "[unit][io]") {
  TempDir dir;
  io::write_dir_atomically(dir / "art", "out", [](const auto& tmp) {
    test::write_text(tmp / "x", "old");
  });
  CHECK_THROWS_WITH(io::write_dir_atomically(dir / "art", "out",
                                             [](const auto& tmp) {
                                               test::write_text(tmp / "x", "half");
                                               throw Error("boom");
                                             }),
                    "out: boom");  // a writer's error gets the output's name
  CHECK(test::read_text(dir / "art" / "x") == "old");
  CHECK(test::count_entries(dir.path()) == 1);
  io::write_dir_atomically(dir / "art", "out", [](const auto& tmp) {
    test::write_text(tmp / "y", "new");
  });
  CHECK(test::count_entries(dir / "art") == 1);
  CHECK(test::read_text(dir / "art" / "y") == "new");
}

TEST_CASE("output parameters hold only the value", "[unit][io]") {
  TempDir dir;
  io::write_output_parameter(dir / "degraded", "true", "degraded");
  CHECK(test::read_text(dir / "degraded") == "true");
}

TEST_CASE("JSON errors name the input", "[unit][io]") {
  TempDir dir;
  test::write_text(dir / "bad.json", "{\"a\": [1,");
  CHECK_THROWS_WITH(io::read_json(dir / "bad.json", "current_metrics"),
                    Catch::StartsWith("current_metrics:") && Catch::Contains("not valid JSON"));
  CHECK_THROWS_WITH(io::read_json(dir / "missing.json", "baseline_metrics"),
                    Catch::StartsWith("baseline_metrics: cannot read"));
  // Found by fuzz/fuzz_serve_v2 (the same reader): 1e999 is out_of_range 406, not a parse_error.
  test::write_text(dir / "huge.json", R"({"accuracy": 1e999})");
  CHECK_THROWS_WITH(io::read_json(dir / "huge.json", "current_metrics"),
                    Catch::StartsWith("current_metrics:") && Catch::Contains("too large"));
  const auto j = io::Json::parse(R"({"n": "x"})");
  CHECK_THROWS_WITH(io::require<int>(j, "n", "m"), "m: field 'n' is \"x\", not an integer");
  CHECK_THROWS_WITH(io::require<int>(j, "k", "m"), "m: field 'k' is missing");
  // A dotted path reaches into nested objects, and names the whole path.
  const auto nested = io::Json::parse(R"({"a": {"b": [1, 2]}})");
  CHECK(io::require<std::vector<int>>(nested, "a.b", "m") == std::vector<int>{1, 2});
  CHECK_THROWS_WITH(io::require<std::string>(nested, "a.b", "m"),
                    "m: field 'a.b' is [1,2], not a string");
  CHECK_THROWS_WITH(io::require<int>(nested, "a.c", "m"), "m: field 'a.c' is missing");
}
