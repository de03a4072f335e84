# rappel_check_layering(): run once every module is declared (end of the top-level
# CMakeLists.txt). Fails the configure when a module (rappel_module) includes
#  - a project header that no module owns,
#  - a header of another project module it does not link directly (DEPS), or
#  - a header of an external library it does not link directly (the table below).
# PUBLIC links make every header of a module's whole dependency tree reachable to the
# compiler; this check is what keeps "includes" and "links" the same graph.

# include prefix -> the imported targets that provide it (any one of them is enough)
set(_rappel_external_headers
  "boost/=Boost::headers,Boost::unit_test_framework,Boost::program_options"
  "fmt/=fmt::fmt"
  "simdjson.h=simdjson::simdjson"
  "nlohmann/=nlohmann_json::nlohmann_json"
  "yaml-cpp/=yaml-cpp"
  "date/=date::date-tz,date::date"
  "curl/=CURL::libcurl"
  "openssl/=OpenSSL::Crypto,OpenSSL::SSL"
  "unicode/=ICU::uc,ICU::i18n"
  "librdkafka/=PkgConfig::RDKAFKA"
  "hiredis/=PkgConfig::HIREDIS"
  "systemd/=PkgConfig::SYSTEMD")

function(_rappel_owner_key out path)
  string(MD5 hash "${path}")
  set(${out} "RAPPEL_OWNER_${hash}" PARENT_SCOPE)
endfunction()

function(rappel_check_layering)
  get_property(modules GLOBAL PROPERTY RAPPEL_MODULES)
  # Which module owns which file: its sources, the header beside each source, its HEADERS.
  foreach(m IN LISTS modules)
    get_property(files TARGET ${m} PROPERTY RAPPEL_FILES)
    set(owned)
    foreach(f IN LISTS files)
      list(APPEND owned ${f})
      if(f MATCHES "\\.cpp$")
        string(REGEX REPLACE "\\.cpp$" ".hpp" h "${f}")
        if(EXISTS ${h})
          list(APPEND owned ${h})
        endif()
      endif()
    endforeach()
    list(REMOVE_DUPLICATES owned)
    foreach(f IN LISTS owned)
      _rappel_owner_key(key "${f}")
      get_property(other GLOBAL PROPERTY ${key})
      if(other AND NOT other STREQUAL m)
        message(FATAL_ERROR "layering: ${f} is owned by both ${other} and ${m}")
      endif()
      set_property(GLOBAL PROPERTY ${key} ${m})
    endforeach()
    set_property(TARGET ${m} PROPERTY RAPPEL_OWNED "${owned}")
  endforeach()

  set(problems)
  foreach(m IN LISTS modules)
    get_property(owned TARGET ${m} PROPERTY RAPPEL_OWNED)
    get_property(deps TARGET ${m} PROPERTY RAPPEL_DEPS)
    foreach(f IN LISTS owned)
      file(STRINGS ${f} lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
      cmake_path(RELATIVE_PATH f BASE_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE rel)
      foreach(line IN LISTS lines)
        if(NOT line MATCHES "#[ \t]*include[ \t]*([<\"])([^>\"]+)[>\"]")
          continue()
        endif()
        set(inc "${CMAKE_MATCH_2}")
        if(CMAKE_MATCH_1 STREQUAL "\"" AND EXISTS ${PROJECT_SOURCE_DIR}/${inc})
          _rappel_owner_key(key "${PROJECT_SOURCE_DIR}/${inc}")
          get_property(owner GLOBAL PROPERTY ${key})
          if(NOT owner)
            list(APPEND problems "${rel} (${m}) includes ${inc}, which belongs to no module: list it in HEADERS of its module")
          elseif(NOT owner STREQUAL m AND NOT owner IN_LIST deps)
            list(APPEND problems "${rel} (${m}) includes ${inc} of ${owner} but ${m} does not link ${owner}")
          endif()
          continue()
        endif()
        foreach(entry IN LISTS _rappel_external_headers)
          string(REPLACE "=" ";" pair "${entry}")
          list(GET pair 0 prefix)
          list(GET pair 1 providers)
          string(FIND "${inc}" "${prefix}" at)
          if(NOT at EQUAL 0)
            continue()
          endif()
          string(REPLACE "," ";" providers "${providers}")
          set(linked FALSE)
          foreach(p IN LISTS providers)
            if(p IN_LIST deps)
              set(linked TRUE)
            endif()
          endforeach()
          if(NOT linked)
            list(JOIN providers " or " names)
            list(APPEND problems "${rel} (${m}) includes <${inc}> but ${m} does not link ${names}")
          endif()
        endforeach()
      endforeach()
    endforeach()
  endforeach()
  if(problems)
    list(JOIN problems "\n  " text)
    message(FATAL_ERROR "layering: a module includes what it does not link "
      "(docs/architecture.md, Modules and layering):\n  ${text}")
  endif()
endfunction()
