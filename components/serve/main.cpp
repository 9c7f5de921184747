#include "cli/run.h"
#include "serve.h"
int main(int argc, char** argv) { return advkfp::cli::run(argc, argv, advkfp::serve::tool()); }
