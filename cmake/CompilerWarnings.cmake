# -Wnull-dereference is left out: at -O2 g++ 12 reports it inside Boost.Asio's scheduler
# once inlined into our code (boost/asio/detail/impl/scheduler.ipp), not in ours.
# -Wrestrict is turned off: g++ 12 at -O2/-O3 reports false positives inside std::string
# (GCC bug 105651).
function(rappel_set_warnings target)
  set(warnings
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough
    -Wmisleading-indentation -Wduplicated-cond -Wlogical-op -Wno-restrict)
  if(RAPPEL_WARNINGS_AS_ERRORS)
    list(APPEND warnings -Werror)
  endif()
  target_compile_options(${target} INTERFACE ${warnings})
endfunction()
