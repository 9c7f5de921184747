#include "cli/run.h"
#include "prepare_data.h"
int main(int argc, char** argv) {
  return advkfp::cli::run(argc, argv, advkfp::prepare_data::tool());
}
