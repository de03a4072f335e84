# Redis-backed schedule store (layout 2). The Lua scripts are embedded at build time.
foreach(script commit fetch_due)
  string(TOUPPER ${script} upper)
  file(READ ${CMAKE_CURRENT_SOURCE_DIR}/lua/${script}.lua LUA_${upper})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/lua/${script}.lua)
endforeach()
configure_file(store_scripts.hpp.in ${CMAKE_CURRENT_BINARY_DIR}/generated/scheduler/store_scripts.hpp @ONLY)

rappel_module(rappel_scheduler
  SOURCES redis_store.cpp
  DEPS rappel_scheduler_plan rappel_redis fmt::fmt)
target_include_directories(rappel_scheduler PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated)
