// Catch2 entry point of the torch-free KFP tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
