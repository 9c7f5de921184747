#include "cli/run.h"
#include "evaluate.h"
int main(int argc, char** argv) { return advkfp::cli::run(argc, argv, advkfp::evaluate::tool()); }
