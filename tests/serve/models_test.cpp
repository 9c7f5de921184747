// Which model a watched location holds: one model folder, or the highest <version>/ folder.
#include <catch2/catch.hpp>

#include "models.h"
#include "support/files.h"

using namespace advkfp;
using namespace advkfp::test;

TEST_CASE("serve: the newest model of a versions tree, digits compare as numbers, hidden folders "
          "are skipped",
          "[serve][unit]") {
  TempDir dir;
  for (const std::string v : {"1", "9", "10", "abc", ".11.tmp-123"}) {
    write_text(dir / v / "model.json", R"({"sha256": "0123456789abcdef"})");
  }
  fs::create_directories(dir / "12");  // no model.json: not a model
  auto c = serve::newest_model(dir.path());
  REQUIRE(c);
  CHECK(c->version == "10");
  CHECK(c->dir == dir / "10");
  const auto key = c->key;
  write_text(dir / "10" / "model.pt", "changed");
  CHECK(serve::newest_model(dir.path())->key != key);  // content changes change the key
  fs::remove_all(dir / "10");
  CHECK(serve::newest_model(dir.path())->version == "9");
  for (const std::string v : {"1", "9"}) fs::remove_all(dir / v);
  CHECK(serve::newest_model(dir.path())->version == "abc");
  fs::remove_all(dir / "abc");
  CHECK_FALSE(serve::newest_model(dir.path()).has_value());
}

TEST_CASE("serve: a single model folder is served as itself, versioned by its sha256",
          "[serve][unit]") {
  TempDir dir;
  write_text(dir / "model.json", R"({"sha256": "0123456789abcdef0123"})");
  const auto c = serve::newest_model(dir.path());
  REQUIRE(c);
  CHECK(c->dir == dir.path());
  CHECK(c->version == "0123456789ab");
}
