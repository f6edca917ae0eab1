# `cmake --install`: the module libraries, their headers, the `lunar` command and a CMake package,
# so that an outside project can write (docs/api.md, examples/classify):
#   find_package(lunar REQUIRED)
#   target_link_libraries(app PRIVATE lunar::lunar)      # or one module: lunar::train, ...
include(CMakePackageConfigHelpers)

get_property(lunar_modules GLOBAL PROPERTY LUNAR_MODULES)
foreach(module ${lunar_modules})
  string(REPLACE "lunar_" "" name ${module})
  set_target_properties(${module} PROPERTIES EXPORT_NAME ${name})
endforeach()
# lunar::lunar: every module (the executable already owns the target name `lunar`).
add_library(lunar_package INTERFACE)
set_target_properties(lunar_package PROPERTIES EXPORT_NAME lunar)
target_link_libraries(lunar_package INTERFACE ${lunar_modules})

install(TARGETS ${lunar_modules} lunar_package EXPORT lunarTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS lunar RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/lunar" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# lunar's models in PyTorch (docs/training.md); Python finds them with
# PYTHONPATH=<prefix>/share/lunar/python.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/python/lunar_torch"
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lunar/python PATTERN __pycache__ EXCLUDE)
set(lunar_package_dir ${CMAKE_INSTALL_LIBDIR}/cmake/lunar)
install(EXPORT lunarTargets NAMESPACE lunar:: DESTINATION ${lunar_package_dir})
configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/lunarConfig.cmake.in"
                              "${PROJECT_BINARY_DIR}/lunarConfig.cmake"
                              INSTALL_DESTINATION ${lunar_package_dir})
write_basic_package_version_file("${PROJECT_BINARY_DIR}/lunarConfigVersion.cmake"
                                 COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/lunarConfig.cmake" "${PROJECT_BINARY_DIR}/lunarConfigVersion.cmake"
        DESTINATION ${lunar_package_dir})
