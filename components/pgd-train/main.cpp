#include "cli/run.h"
#include "pgd_train.h"
int main(int argc, char** argv) { return advkfp::cli::run(argc, argv, advkfp::pgd_train::tool()); }
