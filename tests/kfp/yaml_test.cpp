// YAML emission reads back identically with yaml-cpp, whatever the strings look like.
#include <catch2/catch.hpp>

#include "common/error.h"
#include "kfp/images.h"
#include "kfp/yaml.h"
#include "kfp/yaml_read.h"
#include "io/files.h"

using namespace advkfp;

TEST_CASE("emitted YAML round-trips tricky scalars", "[kfp][yaml]") {
  nlohmann::ordered_json doc = {
      {"plain", "train"},
      {"number_like", "0.15"},
      {"bool_like", "true"},
      {"yes", "no"},
      {"empty", ""},
      {"colon", "a: b"},
      {"hash", "x # y"},
      {"placeholder", "{{$.inputs.parameters['epochs']}}"},
      {"quote", "it's \"quoted\""},
      {"dash", "-x"},
      {"newline", "two\nlines"},
      {"numbers", {1, 2.5, -3, 1e-4}},
      {"nested", {{{"a", 1}, {"b", {true, false, nullptr}}}, nlohmann::ordered_json::array()}},
      {"empty_map", nlohmann::ordered_json::object()},
      {"matrix", {{1, 2}, {3, 4}}}};
  const auto back = kfp::parse_yaml_documents(kfp::to_yaml(doc), "t").front();
  CHECK(back == nlohmann::json::parse(doc.dump()));
}

TEST_CASE("invalid YAML is reported with its line", "[kfp][yaml]") {
  CHECK_THROWS_WITH(kfp::parse_yaml_documents("a: [1, 2\nb: c\n", "pipeline"),
                    Catch::StartsWith("pipeline: invalid YAML at line"));
}

TEST_CASE("images.conf gives tags or pushed digests", "[kfp][images]") {
  const auto dir = std::filesystem::temp_directory_path() / "advkfp-images-test";
  std::filesystem::create_directories(dir);
  io::write_atomically(dir / "ok.conf",
                       "# c\nregistry = r.example/advkfp\ntag = 1.2\n"
                       "digest.train = sha256:abc\n",
                       "t");
  const auto cfg = kfp::load_image_config(dir / "ok.conf");
  CHECK(cfg.image_for("evaluate") == "r.example/advkfp/evaluate:1.2");
  CHECK(cfg.image_for("train") == "r.example/advkfp/train@sha256:abc");
  io::write_atomically(dir / "bad.conf", "registry = r\ntagg = 1\n", "t");
  CHECK_THROWS_WITH(kfp::load_image_config(dir / "bad.conf"), Catch::Contains(":2: unknown key"));
  std::filesystem::remove_all(dir);
}
