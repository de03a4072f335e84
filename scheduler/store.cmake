# Redis-backed schedule store. The Lua scripts are embedded at build time.
foreach(script common apply claim complete release)
  string(TOUPPER ${script} upper)
  file(READ ${CMAKE_CURRENT_SOURCE_DIR}/lua/${script}.lua LUA_${upper})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/lua/${script}.lua)
endforeach()
configure_file(scripts.hpp.in ${CMAKE_CURRENT_BINARY_DIR}/generated/scheduler/scripts.hpp @ONLY)
foreach(script commit fetch_due)
  string(TOUPPER ${script} upper)
  file(READ ${CMAKE_CURRENT_SOURCE_DIR}/lua2/${script}.lua LUA_${upper})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/lua2/${script}.lua)
endforeach()
configure_file(store_scripts.hpp.in ${CMAKE_CURRENT_BINARY_DIR}/generated/scheduler/store_scripts.hpp @ONLY)

rappel_module(rappel_scheduler
  SOURCES store.cpp redis_store.cpp
  DEPS rappel_scheduler_plan rappel_redis nlohmann_json::nlohmann_json fmt::fmt)
target_include_directories(rappel_scheduler PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated)
