// Clean and adversarial training on small Fashion-MNIST slices.
#include <catch2/catch.hpp>

#include "common/error.h"
#include "metrics/metrics.h"
#include "support/helpers.h"
#include "training/training.h"

using namespace advkfp;
using advkfp::test::same_parameters;

namespace {
struct OneThread {
  int before = torch::get_num_threads();
  OneThread() { torch::set_num_threads(1); }
  ~OneThread() { torch::set_num_threads(before); }
};
}  // namespace

TEST_CASE("clean training lowers the loss on a slice", "[unit][training]") {
  auto ds = test::fashion_slice("train", 1000);
  auto net = model::make_paper_cnn(ds.class_names, 3);
  const double before = metrics::evaluate(net, ds.images, ds.labels, 256).loss;
  training::TrainConfig cfg;
  cfg.epochs = 2;
  cfg.log_every = 0;
  const auto history = training::train_clean(net, ds, cfg);
  REQUIRE(history.size() == 2);
  CHECK(history[1].train_loss < history[0].train_loss);
  const double after = metrics::evaluate(net, ds.images, ds.labels, 256).loss;
  CHECK(after < before * 0.5);
}

TEST_CASE("the same seed on one thread gives the same model", "[unit][training]") {
  OneThread one;
  auto ds = test::fashion_slice("train", 300);
  training::TrainConfig cfg;
  cfg.epochs = 1;
  cfg.log_every = 0;
  cfg.seed = 42;
  auto a = model::make_paper_cnn(ds.class_names, 42), b = model::make_paper_cnn(ds.class_names, 42);
  training::train_clean(a, ds, cfg);
  training::train_clean(b, ds, cfg);
  CHECK(same_parameters(a, b));
  cfg.seed = 43;
  auto c = model::make_paper_cnn(ds.class_names, 42);
  training::train_clean(c, ds, cfg);
  CHECK_FALSE(same_parameters(a, c));
}

TEST_CASE("StepLR halves the rate every lr_step epochs", "[unit][training]") {
  auto ds = test::fashion_slice("train", 64);
  auto net = model::make_paper_cnn(ds.class_names, 0);
  training::TrainConfig cfg;
  cfg.epochs = 5;
  cfg.lr_step = 2;
  cfg.log_every = 0;
  const auto h = training::train_clean(net, ds, cfg);
  CHECK(h[0].learning_rate == Approx(1e-3));
  CHECK(h[1].learning_rate == Approx(1e-3));
  CHECK(h[2].learning_rate == Approx(5e-4));
  CHECK(h[4].learning_rate == Approx(2.5e-4));
}

TEST_CASE("with no adversarial share, adversarial training is clean training", "[unit][training]") {
  OneThread one;
  auto ds = test::fashion_slice("train", 256);
  training::AdversarialConfig cfg;
  cfg.train.epochs = 1;
  cfg.train.log_every = 0;
  cfg.train.seed = 9;
  cfg.attack.method = attacks::Method::kPgd;
  cfg.validation_attack = cfg.attack;
  cfg.adversarial_fraction = 0.0;
  auto a = model::make_paper_cnn(ds.class_names, 1), b = model::make_paper_cnn(ds.class_names, 1);
  training::train_adversarial(a, ds, data::Dataset{}, cfg);
  training::train_clean(b, ds, cfg.train);
  CHECK(same_parameters(a, b));
}

TEST_CASE("adversarial training keeps the epoch with the best held-out robust accuracy",
          "[unit][training]") {
  auto ds = test::fashion_slice("train", 1200);
  auto train = ds.slice(0, 1000), val = ds.slice(1000, 200);
  model::Classifier net = model::make_paper_cnn(ds.class_names, 4);
  training::TrainConfig clean;
  clean.epochs = 1;
  clean.log_every = 0;
  training::train_clean(net, train, clean);

  training::AdversarialConfig cfg;
  cfg.train.epochs = 2;
  cfg.train.learning_rate = 1e-3;
  cfg.train.log_every = 0;
  cfg.attack.method = attacks::Method::kPgd;
  cfg.attack.epsilon = 0.1;
  cfg.attack.steps = 3;
  cfg.validation_attack = cfg.attack;
  const auto result = training::train_adversarial(net, train, val, cfg);
  REQUIRE(result.history.size() == 3);
  double best = -1;
  for (const auto& r : result.history) best = std::max(best, *r.validation_robust_accuracy);
  const auto& kept = result.history[static_cast<size_t>(result.best_epoch)];
  CHECK(*kept.validation_robust_accuracy == best);
  // Re-measure the restored weights with the same attack and seed.
  auto adv = attacks::robust_attack_all(net, val.images, val.labels, cfg.validation_attack, 500,
                                        cfg.train.seed + 2, 0);
  CHECK(metrics::evaluate(net, adv, val.labels, 500).accuracy == Approx(best));
  CHECK(best > *result.history[0].validation_robust_accuracy);
}

TEST_CASE("training settings are validated", "[unit][training]") {
  training::TrainConfig cfg;
  cfg.batch_size = 0;
  CHECK_THROWS_WITH(cfg.validate(), Catch::StartsWith("batch_size:"));
  cfg.batch_size = 64;
  cfg.learning_rate = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(cfg.validate(), UsageError);
  auto ds = test::fashion_slice("train", 10);
  ds.labels = torch::Tensor();
  auto net = model::make_paper_cnn(data::fashion_mnist_class_names(), 0);
  CHECK_THROWS_WITH(training::train_clean(net, ds, training::TrainConfig{}),
                    Catch::Contains("labelled"));
}
