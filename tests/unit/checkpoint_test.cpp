// Checkpoints of the training loops: a run stopped after an epoch and resumed from its checkpoint
// ends with the same weights and history as one run straight through (one thread, bit for bit).
#include <catch2/catch.hpp>

#include "common/error.h"
#include "io/files.h"
#include "support/helpers.h"
#include "training/training.h"

using namespace advkfp;
using advkfp::test::OneThread;
using advkfp::test::same_state;
using advkfp::test::without_times;
using advkfp::test::TempDir;
namespace fs = std::filesystem;

namespace {

nlohmann::json history_json(const std::vector<training::EpochRecord>& h) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& r : h) j.push_back(training::to_json(r));
  return without_times(j);
}

nlohmann::json result_json(const training::AdversarialResult& r) {
  nlohmann::json curve = nlohmann::json::array();
  for (const auto& c : r.curve) curve.push_back(training::to_json(c));
  return without_times({{"history", history_json(r.history)},
                        {"curve", curve},
                        {"best_epoch", r.best_epoch},
                        {"best_check", r.best_check},
                        {"stopped_early", r.stopped_early}});
}

training::CheckpointConfig in(const TempDir& dir, bool resume) {
  training::CheckpointConfig c;
  c.dir = dir / "ckpt";
  c.resume = resume;
  c.run = {{"test", "checkpoint"}};
  return c;
}

}  // namespace

TEST_CASE("clean training resumed from an epoch's checkpoint ends where a straight run does",
          "[unit][training][checkpoint]") {
  OneThread one;
  TempDir dir;
  auto ds = test::fashion_slice("train", 96);
  training::TrainConfig cfg;
  cfg.epochs = 4;
  cfg.batch_size = 32;
  cfg.lr_step = 2;  // the rate changes across the interruption
  cfg.log_every = 0;
  cfg.seed = 5;
  auto straight = model::make_paper_cnn(ds.class_names, 5);
  const auto full = training::train_clean(straight, ds, cfg);

  // Stopped after epoch 2 (a run of 2 epochs is the same computation up to there), then resumed
  // in a fresh model whose initial weights differ: everything must come from the checkpoint.
  auto first = model::make_paper_cnn(ds.class_names, 5);
  auto stopped = cfg;
  stopped.epochs = 2;
  training::train_clean(first, ds, stopped, in(dir, false));
  REQUIRE(fs::is_regular_file(dir / "ckpt" / training::kCheckpointFile));
  auto resumed = model::make_paper_cnn(ds.class_names, 99);
  const auto rest = training::train_clean(resumed, ds, cfg, in(dir, true));
  CHECK(same_state(straight, resumed));
  CHECK(history_json(rest) == history_json(full));
  CHECK_FALSE(same_state(straight, first));

  nlohmann::json run;
  const auto saved = training::read_checkpoint(dir / "ckpt" / training::kCheckpointFile, &run,
                                               nullptr, "checkpoint");
  CHECK(saved.epoch == 4);
  CHECK(run == nlohmann::json{{"test", "checkpoint"}});
}

TEST_CASE("every adversarial method resumed from a checkpoint ends where a straight run does",
          "[unit][training][checkpoint]") {
  OneThread one;
  auto all = test::fashion_slice("train", 160);
  auto train = all.slice(0, 128), validation = all.slice(128, 32);
  for (const auto method : {training::AdversarialMethod::kMadry, training::AdversarialMethod::kFast,
                            training::AdversarialMethod::kFree,
                            training::AdversarialMethod::kTrades}) {
    DYNAMIC_SECTION(training::adversarial_method_name(method)) {
      TempDir dir;
      training::AdversarialConfig cfg;
      cfg.method = method;
      cfg.train.epochs = 3;
      cfg.train.batch_size = 32;
      cfg.train.lr_step = 2;
      cfg.train.log_every = 0;
      cfg.train.seed = 3;
      cfg.attack.method = attacks::Method::kPgd;
      cfg.attack.epsilon = 0.1;
      cfg.attack.steps = 2;
      cfg.adversarial_fraction = 0.5;
      cfg.free_replays = 2;
      cfg.ramp_epochs = 2;
      cfg.check_every = 3;  // checks inside epochs too
      cfg.validation_attack = cfg.attack;
      cfg.validation_attack.steps = 3;
      auto straight = model::make_paper_cnn(all.class_names, 1);
      const auto full = training::train_adversarial(straight, train, validation, cfg);

      auto stopped_cfg = cfg;
      stopped_cfg.train.epochs = 1;
      auto first = model::make_paper_cnn(all.class_names, 1);
      training::train_adversarial(first, train, validation, stopped_cfg, in(dir, false));
      auto resumed = model::make_paper_cnn(all.class_names, 2);
      const auto rest = training::train_adversarial(resumed, train, validation, cfg, in(dir, true));
      CHECK(same_state(straight, resumed));
      CHECK(result_json(rest) == result_json(full));
      CHECK(rest.curve.size() == full.curve.size());
    }
  }
}

TEST_CASE("a checkpoint is resumed only when asked, only by its own run, only when complete",
          "[unit][training][checkpoint]") {
  OneThread one;
  TempDir dir;
  auto ds = test::fashion_slice("train", 32);
  training::TrainConfig cfg;
  cfg.epochs = 1;
  cfg.batch_size = 16;
  cfg.log_every = 0;
  auto net = model::make_paper_cnn(ds.class_names, 0);
  training::train_clean(net, ds, cfg, in(dir, false));
  const fs::path file = dir / "ckpt" / training::kCheckpointFile;

  SECTION("a checkpoint left in the folder is not overwritten without resume") {
    CHECK_THROWS_AS(training::train_clean(net, ds, cfg, in(dir, false)), UsageError);
  }
  SECTION("resume without a folder is a usage error") {
    training::CheckpointConfig c;
    c.resume = true;
    CHECK_THROWS_WITH(training::train_clean(net, ds, cfg, c), Catch::Contains("resume"));
  }
  SECTION("another run's checkpoint is refused, naming what differs") {
    auto other = in(dir, true);
    other.run["test"] = "other";
    CHECK_THROWS_WITH(training::train_clean(net, ds, cfg, other),
                      Catch::Contains("another run") && Catch::Contains("test is \"other\""));
  }
  SECTION("a truncated checkpoint is refused with one line") {
    const auto bytes = io::read_file(file, "ckpt");
    test::write_text(file, bytes.substr(0, bytes.size() / 2));
    CHECK_THROWS_WITH(training::train_clean(net, ds, cfg, in(dir, true)),
                      Catch::Contains("not a complete checkpoint") && !Catch::Contains("\n"));
  }
  SECTION("an empty folder with resume starts from the beginning") {
    TempDir fresh;
    auto a = model::make_paper_cnn(ds.class_names, 0), b = model::make_paper_cnn(ds.class_names, 0);
    training::train_clean(a, ds, cfg);
    training::train_clean(b, ds, cfg, in(fresh, true));
    CHECK(same_state(a, b));
  }
}
