// Clean and adversarial training on small Fashion-MNIST slices.
#include <catch2/catch.hpp>

#include "common/error.h"
#include "metrics/metrics.h"
#include "support/helpers.h"
#include "training/training.h"

using namespace advkfp;
using advkfp::test::OneThread;
using advkfp::test::same_parameters;

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

TEST_CASE("the TRADES loss is CE(clean) + beta * mean KL(clean || adversarial)",
          "[unit][training]") {
  const auto clean = torch::tensor({1.0, 2.0, 0.0, 0.5, -1.0, 3.0}).view({2, 3});
  const auto adv = torch::tensor({0.0, 1.0, 2.0, 2.0, 0.0, 0.0}).view({2, 3});
  const auto y = torch::tensor({1, 2}, torch::kInt64);
  // By hand, in double: p = softmax(clean row), q = softmax(adv row).
  const auto softmax = [](std::vector<double> z) {
    double s = 0;
    for (auto& v : z) s += (v = std::exp(v));
    for (auto& v : z) v /= s;
    return z;
  };
  const std::vector<std::vector<double>> zc = {{1, 2, 0}, {0.5, -1, 3}}, za = {{0, 1, 2}, {2, 0, 0}};
  double ce = 0, kl = 0;
  for (int i = 0; i < 2; ++i) {
    const auto p = softmax(zc[i]), q = softmax(za[i]);
    ce -= std::log(p[i == 0 ? 1 : 2]);
    for (int k = 0; k < 3; ++k) kl += p[k] * (std::log(p[k]) - std::log(q[k]));
  }
  const double beta = 6.0;
  const double expected = ce / 2 + beta * kl / 2;
  CHECK(training::trades_loss(clean, adv, y, beta).item<double>() ==
        Approx(expected).epsilon(1e-6));
  CHECK(training::trades_loss(clean, clean, y, beta).item<double>() ==
        Approx(ce / 2).epsilon(1e-6));
}

TEST_CASE("one-cycle rises to the rate at 40% of the batches and falls to 0, and eps ramps up",
          "[unit][training]") {
  training::TrainConfig cfg;
  cfg.epochs = 2;
  cfg.learning_rate = 1e-2;
  const auto one_cycle = training::LrSchedule::kOneCycle;
  // 2 epochs x 10 batches: batch centres at (t + 0.5) / 20.
  CHECK(training::learning_rate_at(cfg, one_cycle, 1, 0, 10) == Approx(1e-2 * 0.025 / 0.4));
  CHECK(training::learning_rate_at(cfg, one_cycle, 1, 7, 10) == Approx(1e-2 * 0.375 / 0.4));
  CHECK(training::learning_rate_at(cfg, one_cycle, 1, 8, 10) == Approx(1e-2 * 0.575 / 0.6));
  CHECK(training::learning_rate_at(cfg, one_cycle, 2, 9, 10) == Approx(1e-2 * 0.025 / 0.6));
  CHECK(training::learning_rate_at(cfg, training::LrSchedule::kStep, 2, 9, 10) == Approx(1e-2));
  CHECK(training::ramped_epsilon(0.15, 0, 0, 10) == 0.15);
  CHECK(training::ramped_epsilon(0.15, 2, 0, 10) == Approx(0.15 / 20));
  CHECK(training::ramped_epsilon(0.15, 2, 9, 10) == Approx(0.15 / 2));
  CHECK(training::ramped_epsilon(0.15, 2, 19, 10) == Approx(0.15));
  CHECK(training::ramped_epsilon(0.15, 2, 40, 10) == Approx(0.15));
}

namespace {
// A model fine-tuned from the shared small model (a copy of its weights).
model::Classifier copy_of_small_model() {
  auto& src = test::small_trained_model();
  auto net = model::make_paper_cnn(src.info().class_names, 0);
  net.restore(src.snapshot());
  return net;
}

training::AdversarialConfig method_config(training::AdversarialMethod method) {
  training::AdversarialConfig cfg;
  cfg.method = method;
  cfg.train.epochs = 1;
  cfg.train.log_every = 0;
  cfg.train.seed = 5;
  cfg.attack.method = attacks::Method::kPgd;
  cfg.attack.epsilon = 0.05;
  cfg.attack.steps = 3;
  cfg.validation_attack = cfg.attack;
  cfg.validation_attack.steps = 10;
  cfg.free_replays = 2;
  return cfg;
}
}  // namespace

TEST_CASE("every adversarial method trains, checks before and after, and follows its seed",
          "[unit][training]") {
  OneThread one;
  auto ds = test::fashion_slice("train", 2800);
  auto train = ds.slice(2000, 600), val = ds.slice(2600, 200);  // not seen by the small model
  for (const auto method :
       {training::AdversarialMethod::kMadry, training::AdversarialMethod::kFast,
        training::AdversarialMethod::kFree, training::AdversarialMethod::kTrades}) {
    const auto name = training::adversarial_method_name(method);
    INFO("method " << name);
    auto cfg = method_config(method);
    auto a = copy_of_small_model(), b = copy_of_small_model();
    const auto ra = training::train_adversarial(a, train, val, cfg);
    cfg.keep_best = false;  // compare the trained weights themselves
    auto c = copy_of_small_model(), d = copy_of_small_model();
    training::train_adversarial(c, train, val, cfg);
    training::train_adversarial(d, train, val, cfg);
    CHECK(same_parameters(c, d));
    CHECK_FALSE(same_parameters(c, test::small_trained_model()));
    REQUIRE(ra.curve.size() == 2);  // before training and after the epoch
    CHECK(ra.curve[0].batches == 0);
    CHECK(ra.curve[1].batches == 10);
  }
}

TEST_CASE("the collapse guard stops training and restores the best check", "[unit][training]") {
  OneThread one;
  auto ds = test::fashion_slice("train", 3000);
  auto train = ds.slice(2000, 640), val = ds.slice(2800, 200);
  auto cfg = method_config(training::AdversarialMethod::kFast);
  cfg.attack.epsilon = 0.02;
  cfg.validation_attack.epsilon = 0.02;
  cfg.train.epochs = 2;
  cfg.train.learning_rate = 0.05;  // wrecks the model within a few batches
  cfg.lr_schedule = training::LrSchedule::kStep;
  cfg.check_every = 2;
  cfg.collapse_drop = 0.15;
  auto net = copy_of_small_model();
  const auto r = training::train_adversarial(net, train, val, cfg);
  REQUIRE(r.collapse.has_value());
  INFO("start " << r.curve[0].robust_accuracy << ", collapse " << r.collapse->robust_accuracy);
  CHECK(r.stopped_early);
  CHECK(r.collapse->robust_accuracy < r.curve[0].robust_accuracy - 0.15);
  CHECK(r.curve.size() < 1 + 10);  // stopped well before 2 epochs of 10 batches
  CHECK(r.best_check == 0);
  CHECK(same_parameters(net, test::small_trained_model()));
  // Without the guard the same run trains on and keeps the wrecked weights.
  cfg.collapse_drop = 0;
  cfg.keep_best = false;
  auto wrecked = copy_of_small_model();
  const auto w = training::train_adversarial(wrecked, train, val, cfg);
  CHECK_FALSE(w.stopped_early);
  CHECK(w.curve.back().robust_accuracy < r.curve[0].robust_accuracy - 0.15);
}

TEST_CASE("a target robust accuracy stops training at the first check that reaches it",
          "[unit][training]") {
  OneThread one;
  auto ds = test::fashion_slice("train", 3000);
  auto train = ds.slice(2000, 640), val = ds.slice(2800, 200);
  auto cfg = method_config(training::AdversarialMethod::kFast);
  cfg.check_every = 3;
  cfg.train.epochs = 2;
  cfg.target_robust_accuracy = 1.0;  // out of reach: every check runs, the curve is complete
  auto net = copy_of_small_model();
  const auto full = training::train_adversarial(net, train, val, cfg);
  CHECK_FALSE(full.target_reached.has_value());
  CHECK_FALSE(full.stopped_early);
  // 10 batches per epoch: start, batches 3, 6, 9, epoch end 10, 12, 15, 18, end 20.
  std::vector<int64_t> at;
  for (const auto& c : full.curve) at.push_back(c.batches);
  CHECK(at == std::vector<int64_t>{0, 3, 6, 9, 10, 12, 15, 18, 20});
  for (size_t i = 1; i < full.curve.size(); ++i) {
    CHECK(full.curve[i].seconds > full.curve[i - 1].seconds);
    CHECK(full.curve[i].train_seconds <= full.curve[i].seconds);
  }
  // A target the curve reached at some check: the rerun stops there, with the same weights.
  double best = 0;
  size_t first = 0;
  for (size_t i = 1; i < full.curve.size(); ++i) {
    if (full.curve[i].robust_accuracy > best) best = full.curve[i].robust_accuracy, first = i;
  }
  REQUIRE(best > full.curve[0].robust_accuracy);
  cfg.target_robust_accuracy = best;
  auto again = copy_of_small_model();
  const auto r = training::train_adversarial(again, train, val, cfg);
  REQUIRE(r.target_reached.has_value());
  CHECK(r.stopped_early);
  CHECK(r.curve.size() == first + 1);
  CHECK(r.target_reached->batches == full.curve[first].batches);
  CHECK(r.target_reached->robust_accuracy == full.curve[first].robust_accuracy);
}
