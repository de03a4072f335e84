function(rappel_set_warnings target)
  set(warnings
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
    -Wmisleading-indentation -Wduplicated-cond -Wlogical-op)
  if(RAPPEL_WARNINGS_AS_ERRORS)
    list(APPEND warnings -Werror)
  endif()
  target_compile_options(${target} INTERFACE ${warnings})
endfunction()
