function(rappel_enable_sanitizers target)
  if(RAPPEL_SANITIZE)
    target_compile_options(${target} INTERFACE
      -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(${target} INTERFACE -fsanitize=address,undefined)
  endif()
endfunction()
