# Helpers shared by src/, components/ and tests/.

# Reuses the precompiled LibTorch header built by advkfp_pch.
function(advkfp_reuse_pch target)
  target_precompile_headers(${target} REUSE_FROM advkfp_pch)
endfunction()

# advkfp_add_component(<cli-name>): components/<cli-name>/{main.cpp,<id>_spec.cpp,<id>.cpp} ->
# build/bin/<cli-name>. The declaration (<id>_spec.cpp: flags, defaults, KFP interface) is a
# torch-free library, advkfp_spec_<id>, which the pipeline compiler links alone; the run code is
# a second static library on top of it, so tests can call the tool in-process.
function(advkfp_add_component name)
  string(REPLACE "-" "_" id "${name}")
  add_library(advkfp_spec_${id} STATIC ${id}_spec.cpp)
  target_include_directories(advkfp_spec_${id} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(advkfp_spec_${id} PUBLIC advkfp_cli_base)
  add_library(advkfp_cmd_${id} STATIC ${id}.cpp)
  target_link_libraries(advkfp_cmd_${id} PUBLIC advkfp_spec_${id} advkfp::cli)
  advkfp_reuse_pch(advkfp_cmd_${id})
  add_executable(${name} main.cpp)
  target_link_libraries(${name} PRIVATE advkfp_cmd_${id})
  advkfp_reuse_pch(${name})
  install(TARGETS ${name} RUNTIME DESTINATION bin)
  set_property(GLOBAL APPEND PROPERTY ADVKFP_COMPONENTS ${name})

  # components/<name>/component.yaml is generated from the tool's own spec and committed.
  set(spec ${CMAKE_CURRENT_SOURCE_DIR}/component.yaml)
  set(print $<TARGET_FILE:${name}> --print-component-spec --images-config ${ADVKFP_IMAGES_CONFIG})
  add_custom_target(kfp_spec_${id}
    COMMAND ${CMAKE_COMMAND} "-DCOMMAND=${print}" -DSPEC=${spec} -DUPDATE=ON
            -P ${PROJECT_SOURCE_DIR}/cmake/CheckSpec.cmake
    DEPENDS ${name} VERBATIM)
  add_dependencies(kfp_specs kfp_spec_${id})
  if(ADVKFP_BUILD_TESTS)
    add_test(NAME spec_sync.${name}
             COMMAND ${CMAKE_COMMAND} "-DCOMMAND=${print}" -DSPEC=${spec}
                     -P ${PROJECT_SOURCE_DIR}/cmake/CheckSpec.cmake)
    set_tests_properties(spec_sync.${name} PROPERTIES LABELS "spec")
  endif()
endfunction()
