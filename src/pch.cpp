// Anchor translation unit for the precompiled header (see src/CMakeLists.txt).
