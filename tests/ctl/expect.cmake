# Runs a command and checks its exit status and output (stdout and stderr together).
#   -DCMD=program@@arg@@...   the command, arguments separated by "@@"
#   -DRC=N                    the expected exit status
#   -DMATCH=regex@@regex...   regular expressions the output must all match
#   -DNO_MATCH=regex          (optional) a regular expression the output must not match
string(REPLACE "@@" ";" command "${CMD}")
execute_process(COMMAND ${command} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(output "${out}${err}")
message("${output}")
if(NOT "${rc}" STREQUAL "${RC}")
  message(FATAL_ERROR "exit status ${rc}, expected ${RC}")
endif()
if(DEFINED MATCH)
  string(REPLACE "@@" ";" regexes "${MATCH}")
  foreach(regex IN LISTS regexes)
    if(NOT output MATCHES "${regex}")
      message(FATAL_ERROR "output does not match '${regex}'")
    endif()
  endforeach()
endif()
if(DEFINED NO_MATCH AND output MATCHES "${NO_MATCH}")
  message(FATAL_ERROR "output matches '${NO_MATCH}'")
endif()
