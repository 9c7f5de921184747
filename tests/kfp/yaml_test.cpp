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

// Found by fuzz/fuzz_kfp_ir: a pipeline whose YAML held bytes that are not UTF-8 loaded, and the
// first error message naming such a value threw nlohmann::json's type_error 316.
TEST_CASE("YAML that is not UTF-8 is refused naming the byte", "[kfp][yaml][fuzz]") {
  CHECK_THROWS_AS(kfp::parse_yaml_documents("name: \xfe\xff\n", "p.yaml"), Error);
  CHECK_THROWS_WITH(kfp::parse_yaml_documents("a: b\nname: x\xc0\xaf\n", "p.yaml"),
                    Catch::StartsWith("p.yaml:") && Catch::Contains("byte 12"));
  CHECK(kfp::parse_yaml_documents("name: caf\xc3\xa9\n", "p.yaml")[0]["name"] == "caf\xc3\xa9");
}

// Found by review and confirmed with fuzz/fuzz_kfp_yaml (this 294-byte input ran past libFuzzer's
// timeout): aliases of aliases made a tiny file expand to 10^8 nodes in memory.
TEST_CASE("YAML whose aliases expand past 100,000 nodes is refused", "[kfp][yaml][fuzz]") {
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  std::string previous = "a";
  for (const std::string name : {"b", "c", "d", "e", "f", "g", "h"}) {
    text += name + ": &" + name + " [";
    for (int i = 0; i < 10; ++i) text += (i ? ", *" : "*") + previous;
    text += "]\n";
    previous = name;
  }
  CHECK_THROWS_WITH(kfp::parse_yaml_documents(text, "p.yaml"),
                    Catch::StartsWith("p.yaml:") && Catch::Contains("more than 100000 nodes"));
  const auto small = kfp::parse_yaml_documents("a: &a [1, 2]\nb: [*a, *a]\n", "p.yaml");
  CHECK(small[0]["b"] == nlohmann::json::parse("[[1, 2], [1, 2]]"));
}

// Found by fuzz/fuzz_kfp_yaml after the check above: yaml-cpp reads a stream that starts with NUL
// bytes as UTF-32 and converts it into bytes that are not UTF-8 (here 0xF5), which reached the
// schema checker's JSON serialisation (type_error 316).
TEST_CASE("YAML that yaml-cpp converts into bytes that are not UTF-8 is refused",
          "[kfp][yaml][fuzz]") {
  const std::string text("\0\0\0\x0f*e#nru)d# ", 14);
  CHECK_THROWS_AS(kfp::parse_yaml_documents(text, "c.yaml"), Error);
  CHECK_THROWS_WITH(kfp::parse_yaml_documents(text, "c.yaml"), Catch::StartsWith("c.yaml:"));
}

// Found by fuzz/fuzz_kfp_ir in CI's first 30 s run: a 1 KB pipeline with a ',' at the start of
// a top-level line made yaml-cpp 0.7's LoadAll add empty documents until memory ran out, and
// `kfp-local validate` on it never returned.
TEST_CASE("a ',' at a YAML document's top level is refused instead of looping",
          "[kfp][yaml][fuzz]") {
  for (const std::string text : {", a\n", "\"q\", x\n", "a: 1\n---\n, b\n", ",\n"}) {
    CAPTURE(text);
    CHECK_THROWS_WITH(kfp::parse_yaml_documents(text, "p.yaml"),
                      Catch::StartsWith("p.yaml: invalid YAML at line") &&
                          Catch::Contains("',' cannot start a node"));
  }
  // Streams of several or empty documents, and commas where YAML allows them, still load.
  CHECK(kfp::parse_yaml_documents("---\n---\n---\n", "p.yaml").size() == 3);
  CHECK(kfp::parse_yaml_documents("a: 1\n---\nb: 2\n", "p.yaml")[1]["b"] == 2);
  const auto docs = kfp::parse_yaml_documents("a: [1, 2]\nb: x, y\nc: |\n  ,\n", "p.yaml");
  CHECK(docs[0]["a"] == nlohmann::json::parse("[1, 2]"));
  CHECK(docs[0]["b"] == "x, y");
  CHECK(docs[0]["c"] == ",\n");
}
