#include "cli/run.h"
#include "report.h"
int main(int argc, char** argv) { return advkfp::cli::run(argc, argv, advkfp::report::tool()); }
