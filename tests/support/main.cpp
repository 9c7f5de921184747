// Catch2 entry point for every test binary. Tests run on one LibTorch thread so that `ctest -j`
// can use the cores without oversubscribing OpenMP (ADVKFP_TEST_THREADS overrides).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cstdlib>

int main(int argc, char** argv) {
  const char* env = std::getenv("ADVKFP_TEST_THREADS");
  torch::set_num_threads(env ? std::max(1, std::atoi(env)) : 1);
  return Catch::Session().run(argc, argv);
}
