#include "cli/run.h"
#include "fgsm_attack.h"
int main(int argc, char** argv) { return advkfp::cli::run(argc, argv, advkfp::fgsm_attack::tool()); }
