# Helpers shared by every lunar target: warnings, one precompiled torch header, module libraries.
include(GNUInstallDirs)

set(LUNAR_WARNINGS -Wall -Wextra -Wshadow)

# One precompiled header for everything that includes LibTorch: compiling <torch/torch.h> takes
# 15-20 s per file on the project's machines, so it is built once and reused by every target.
add_library(lunar_torch_pch STATIC "${CMAKE_CURRENT_LIST_DIR}/pch_anchor.cpp")
target_link_libraries(lunar_torch_pch PUBLIC torch fmt::fmt)
target_compile_options(lunar_torch_pch PRIVATE ${LUNAR_WARNINGS})
target_precompile_headers(lunar_torch_pch PRIVATE <torch/torch.h> <fmt/format.h> <vector> <string>)

function(lunar_use_torch_pch target)
  target_precompile_headers(${target} REUSE_FROM lunar_torch_pch)
endfunction()

# Unity builds for the libraries and the command: the files of a module compile in batches as
# one translation unit each, so LibTorch's templates are instantiated once per batch instead of
# once per file (docs/architecture.md has the measured clean-build times). Turn it off to
# rebuild only the file you changed: -DLUNAR_UNITY_BUILD=OFF.
option(LUNAR_UNITY_BUILD "Compile the libraries and the command as batches of files" ON)
function(lunar_use_unity_build target)
  if(LUNAR_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  endif()
endfunction()

# lunar_add_module(NAME <module> [TORCH] DEPS <targets...>)
# Builds src/<module>/*.cpp into the library lunar_<module>; its public headers live in
# include/lunar/<module>/. DEPS records which way dependencies point. A module with no sources
# yet (report, dist) is not created.
function(lunar_add_module)
  cmake_parse_arguments(ARG "TORCH" "NAME" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/${ARG_NAME}/*.cpp")
  if(NOT sources)
    return()
  endif()
  add_library(lunar_${ARG_NAME} STATIC ${sources})
  target_include_directories(lunar_${ARG_NAME} PUBLIC "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>"
                                                     "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
  target_compile_options(lunar_${ARG_NAME} PRIVATE ${LUNAR_WARNINGS})
  target_link_libraries(lunar_${ARG_NAME} PUBLIC ${ARG_DEPS})
  if(ARG_TORCH)
    target_link_libraries(lunar_${ARG_NAME} PUBLIC torch)
    lunar_use_torch_pch(lunar_${ARG_NAME})
  endif()
  lunar_use_unity_build(lunar_${ARG_NAME})
  set_property(GLOBAL APPEND PROPERTY LUNAR_MODULES lunar_${ARG_NAME})
endfunction()
