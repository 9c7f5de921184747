// Catch2 entry point of the kfp-local tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
