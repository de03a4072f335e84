# Redis-backed schedule store. The Lua scripts are embedded at build time.
foreach(script common apply claim complete release)
  string(TOUPPER ${script} upper)
  file(READ ${CMAKE_CURRENT_SOURCE_DIR}/lua/${script}.lua LUA_${upper})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/lua/${script}.lua)
endforeach()
configure_file(scripts.hpp.in ${CMAKE_CURRENT_BINARY_DIR}/generated/scheduler/scripts.hpp @ONLY)

rappel_module(rappel_scheduler
  SOURCES store.cpp
  DEPS rappel_scheduler_plan rappel_redis nlohmann_json::nlohmann_json fmt::fmt)
target_include_directories(rappel_scheduler PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated)
