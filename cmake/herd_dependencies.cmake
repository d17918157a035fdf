# Every dependency is a Debian 12 package; scripts/setup.sh installs them.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(Protobuf REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(OpenSSL REQUIRED)  # SHA-256 of the read-model digest (libssl-dev)
find_package(PahoMqttCpp REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(CLI11 REQUIRED)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
# A compiled library on Debian: its CPPHTTPLIB_* defines (which change the class layout) come
# with the imported target from pkg-config and must match the ones it was built with.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
pkg_check_modules(MODBUS REQUIRED IMPORTED_TARGET libmodbus)  # the Modbus poller and firmware-sim's slaves
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)  # sd_notify for the herdgate daemon
# PostgreSQL client (C API): the shared read model's back-end. Off in the aarch64 cross-build:
# Debian 12's libpq-dev is not Multi-Arch, so its arm64 package cannot sit beside the amd64 one,
# and a Pi runs herdgate, not the cloud's shared read model.
option(HERD_WITH_POSTGRESQL "Build the PostgreSQL read-model back-end (libpq) and its tests" ON)
if(HERD_WITH_POSTGRESQL)
  pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq)
endif()
if(HERD_BUILD_TESTS)
  find_package(doctest REQUIRED)
endif()
