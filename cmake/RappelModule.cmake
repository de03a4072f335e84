# rappel_module(NAME SOURCES ... DEPS ...): one static library per module.
# Headers are included as "<module-dir>/<file>.hpp" relative to the source root.
function(rappel_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${M_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${M_DEPS} PRIVATE rappel_options)
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
