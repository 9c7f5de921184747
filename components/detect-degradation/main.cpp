#include "cli/run.h"
#include "detect_degradation.h"
int main(int argc, char** argv) {
  return advkfp::cli::run(argc, argv, advkfp::detect_degradation::tool());
}
