# rappel_module(NAME SOURCES ... [HEADERS ...] DEPS ...): one static library per module (an
# interface library when it has HEADERS only).
# Headers are included as "<module-dir>/<file>.hpp" relative to the source root. A module owns
# the header beside each of its sources (x.cpp -> x.hpp) and the header-only files listed in
# HEADERS. DEPS are linked PUBLIC; a project module in DEPS must be declared before this one
# (modules are declared lowest layer first), which keeps the graph top-down. Layering.cmake
# checks, once every module is declared, that each module links what it includes.
set_property(GLOBAL PROPERTY RAPPEL_MODULES "")

function(rappel_module name)
  cmake_parse_arguments(M "" "" "SOURCES;HEADERS;DEPS" ${ARGN})
  get_property(declared GLOBAL PROPERTY RAPPEL_MODULES)
  foreach(dep IN LISTS M_DEPS)
    if(dep MATCHES "^rappel_" AND NOT dep IN_LIST declared)
      message(FATAL_ERROR "layering: module ${name} links ${dep}, which is not a module declared "
        "before it. Modules are declared lowest layer first (see docs/architecture.md, Modules "
        "and layering); a module may only link modules below it.")
    endif()
  endforeach()
  if(M_SOURCES)
    add_library(${name} STATIC ${M_SOURCES})
    target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} PUBLIC ${M_DEPS} PRIVATE rappel_options)
  else()  # header-only: an interface
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE ${M_DEPS})
  endif()
  set_property(GLOBAL APPEND PROPERTY RAPPEL_MODULES ${name})
  set_property(TARGET ${name} PROPERTY RAPPEL_DEPS "${M_DEPS}")
  set(files)
  foreach(f IN LISTS M_SOURCES M_HEADERS)
    cmake_path(ABSOLUTE_PATH f BASE_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} NORMALIZE)
    list(APPEND files ${f})
  endforeach()
  set_property(TARGET ${name} PROPERTY RAPPEL_FILES "${files}")
endfunction()

# rappel_test(NAME LABEL label SOURCES ... DEPS ...): a Boost.Test executable registered with CTest.
function(rappel_test name)
  cmake_parse_arguments(T "" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} Boost::unit_test_framework rappel_options)
  target_compile_definitions(${name} PRIVATE BOOST_TEST_DYN_LINK)
  add_test(NAME ${name} COMMAND ${name} --log_level=message)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABEL}" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "RAPPEL_SOURCE_DIR=${PROJECT_SOURCE_DIR};RAPPEL_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()
