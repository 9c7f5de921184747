# Sanitizer and fuzzing builds (fuzz/README.md). Both apply to every target of the build folder,
# so configure them in a folder of their own, e.g.:
#   cmake -S . -B build-asan -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DADVKFP_SANITIZE=address
#   cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DADVKFP_FUZZ=ON
#
# LibTorch, OpenBLAS, zlib, libpng and the other Debian libraries are not instrumented: ASan still
# checks every heap block they allocate (it replaces malloc), but not their own reads and writes;
# TSan sees their locks (pthread) but not their memory accesses nor libgomp's barriers.
set(ADVKFP_SANITIZE "" CACHE STRING
    "Instrument every target: 'address' (ASan + UBSan, UBSan findings fatal) or 'thread' (TSan)")
set_property(CACHE ADVKFP_SANITIZE PROPERTY STRINGS "" address thread)
option(ADVKFP_FUZZ "Build the libFuzzer targets in fuzz/ (clang only; implies ADVKFP_SANITIZE=address)"
       OFF)

if(ADVKFP_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ADVKFP_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++")
  endif()
  if(ADVKFP_SANITIZE STREQUAL "")
    set(ADVKFP_SANITIZE address CACHE STRING "" FORCE)
  elseif(NOT ADVKFP_SANITIZE STREQUAL "address")
    message(FATAL_ERROR "ADVKFP_FUZZ builds with ADVKFP_SANITIZE=address, not ${ADVKFP_SANITIZE}")
  endif()
  # Coverage feedback for the fuzzer in every library the targets link (the product code); the
  # fuzz targets themselves link with -fsanitize=fuzzer (fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(ADVKFP_SANITIZE STREQUAL "address")
  # UBSan's checks abort at the first finding, so a test or fuzz run fails on it.
  set(_advkfp_san -fsanitize=address,undefined -fno-sanitize-recover=undefined)
elseif(ADVKFP_SANITIZE STREQUAL "thread")
  set(_advkfp_san -fsanitize=thread)
elseif(NOT ADVKFP_SANITIZE STREQUAL "")
  message(FATAL_ERROR "ADVKFP_SANITIZE must be address or thread, not '${ADVKFP_SANITIZE}'")
endif()
if(_advkfp_san)
  # Line tables are enough for symbolized reports and keep objects and links small.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    set(_advkfp_debug -gline-tables-only)
  else()
    set(_advkfp_debug -g1)
  endif()
  add_compile_options(${_advkfp_san} -fno-omit-frame-pointer ${_advkfp_debug})
  add_link_options(${_advkfp_san})
  message(STATUS "advkfp: sanitizers ${_advkfp_san}")
endif()
