# Every dependency comes from Debian 12 packages (see scripts/setup.sh).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS unit_test_framework program_options)
find_package(fmt REQUIRED)
find_package(simdjson REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(date REQUIRED)
find_package(CURL REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(ICU REQUIRED COMPONENTS uc i18n)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)

# rappeld allocates and frees many small objects per event in batches; glibc's allocator
# spends much of that time consolidating its bins (docs/performance.md). Sanitizer builds keep
# the system allocator, which ASan replaces.
option(RAPPEL_JEMALLOC "Link rappeld with jemalloc" ON)
if(RAPPEL_JEMALLOC AND NOT RAPPEL_SANITIZE)
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
endif()
# sd_notify for rappeld under systemd (Type=notify); optional.
pkg_check_modules(SYSTEMD IMPORTED_TARGET libsystemd)
