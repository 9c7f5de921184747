#include "cli/run.h"
#include "import_model.h"
int main(int argc, char** argv) {
  return advkfp::cli::run(argc, argv, advkfp::import_model::tool());
}
