// Dataset folders: manifest + IDX files, validation of counts, shapes and labels.
#include <catch2/catch.hpp>

#include "common/error.h"
#include "data/dataset.h"
#include "data/idx.h"
#include "io/json.h"
#include "support/helpers.h"

using namespace advkfp;
using advkfp::test::TempDir;

TEST_CASE("dataset folders round-trip images, labels, class names and provenance",
          "[unit][dataset]") {
  TempDir dir;
  auto ds = test::fashion_slice("t10k", 50);
  ds.provenance = {{"note", "unit"}};
  data::save_dataset(dir / "u8", ds, data::ImageEncoding::kUint8, "out");
  auto back = data::load_dataset(dir / "u8", "dataset");
  CHECK(torch::equal(back.images, ds.images));
  CHECK(torch::equal(back.labels, ds.labels));
  CHECK(back.class_names == ds.class_names);
  CHECK(back.provenance["note"] == "unit");

  // Adversarial images are arbitrary floats: stored losslessly.
  auto adv = ds;
  adv.images = (ds.images + 0.0123f * torch::randn_like(ds.images)).clamp(0, 1);
  data::save_dataset(dir / "f32", adv, data::ImageEncoding::kFloat32, "out");
  CHECK(torch::equal(data::load_dataset(dir / "f32", "dataset").images, adv.images));
}

TEST_CASE("unlabelled datasets round-trip without labels", "[unit][dataset]") {
  TempDir dir;
  auto ds = test::fashion_slice("t10k", 10);
  ds.labels = torch::Tensor();
  data::save_dataset(dir / "d", ds, data::ImageEncoding::kFloat32, "out");
  auto back = data::load_dataset(dir / "d", "dataset");
  CHECK_FALSE(back.has_labels());
  CHECK(back.size() == 10);
}

TEST_CASE("slices are views of the requested rows", "[unit][dataset]") {
  auto ds = test::fashion_slice("t10k", 100);
  auto s = ds.slice(10, 5);
  CHECK(s.size() == 5);
  CHECK(torch::equal(s.labels, ds.labels.slice(0, 10, 15)));
  CHECK(ds.slice(95, 10).size() == 5);
  CHECK(ds.slice(0, 0).size() == 100);
}

TEST_CASE("inconsistent dataset folders are rejected", "[unit][dataset]") {
  TempDir dir;
  auto ds = test::fashion_slice("t10k", 20);
  data::save_dataset(dir / "d", ds, data::ImageEncoding::kUint8, "out");
  const auto manifest = dir / "d" / data::kManifestName;
  auto m = io::read_json(manifest, "m");

  SECTION("label count differs from image count") {
    data::write_idx_labels(dir / "d" / "labels-idx1-ubyte.gz", ds.labels.slice(0, 0, 19), true);
    CHECK_THROWS_WITH(data::load_dataset(dir / "d", "dataset"),
                      Catch::Contains("19 labels") && Catch::Contains("20 images"));
  }
  SECTION("manifest count differs") {
    m["count"] = 21;
    io::write_json(manifest, m, "m");
    CHECK_THROWS_WITH(data::load_dataset(dir / "d", "dataset"), Catch::Contains("21"));
  }
  SECTION("label out of range for the class names") {
    m["class_names"] = {"a", "b"};
    io::write_json(manifest, m, "m");
    CHECK_THROWS_WITH(data::load_dataset(dir / "d", "dataset"), Catch::Contains("out of range"));
  }
  SECTION("missing manifest") {
    std::filesystem::remove(manifest);
    CHECK_THROWS_WITH(data::load_dataset(dir / "d", "dataset"), Catch::Contains("dataset.json"));
  }
  SECTION("corrupt manifest") {
    test::write_text(manifest, "{\"format\": ");
    CHECK_THROWS_WITH(data::load_dataset(dir / "d", "dataset"), Catch::Contains("not valid JSON"));
  }
  SECTION("file names may not escape the folder") {
    m["images"] = "../x";
    io::write_json(manifest, m, "m");
    CHECK_THROWS_WITH(data::load_dataset(dir / "d", "dataset"), Catch::Contains("'/'"));
  }
}

TEST_CASE("an IDX pair with different counts is rejected naming both", "[unit][dataset]") {
  TempDir dir;
  data::write_idx_images(dir / "i", torch::rand({3, 1, 2, 2}), data::IdxType::kUint8, false);
  data::write_idx_labels(dir / "l", torch::tensor({0, 1}, torch::kInt64), false);
  CHECK_THROWS_WITH(data::load_idx_pair(dir / "i", dir / "l", {"a", "b"}),
                    Catch::Contains("2 labels") && Catch::Contains("3 images"));
}

TEST_CASE("a failed dataset write leaves nothing behind", "[unit][dataset]") {
  TempDir dir;
  test::write_text(dir / "file", "x");
  auto ds = test::fashion_slice("t10k", 5);
  CHECK_THROWS(data::save_dataset(dir / "file" / "sub", ds, data::ImageEncoding::kUint8, "out"));
  CHECK(test::count_entries(dir.path()) == 1);
}

TEST_CASE("model/dataset shape compatibility is checked", "[unit][dataset]") {
  auto ds = test::fashion_slice("t10k", 5);
  CHECK_NOTHROW(data::check_compatible(ds, {1, 28, 28}, 10, "dataset"));
  CHECK_THROWS_WITH(data::check_compatible(ds, {1, 32, 32}, 10, "dataset"),
                    Catch::Contains("1x28x28") && Catch::Contains("1x32x32"));
}
