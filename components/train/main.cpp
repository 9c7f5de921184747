#include "cli/run.h"
#include "train.h"
int main(int argc, char** argv) { return advkfp::cli::run(argc, argv, advkfp::train::tool()); }
