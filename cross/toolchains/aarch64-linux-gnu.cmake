# Cross-build for the farm gateways: Raspberry Pi 4/5 class boards on 64-bit Raspberry Pi OS or
# Debian (aarch64). Needs Debian's cross compiler and the arm64 -dev packages installed through
# multiarch: scripts/setup-cross.sh. Used by the cross-aarch64 preset.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Libraries, headers and CMake packages: the cross sysroot bits and the multiarch arm64 packages
# under / (/usr/lib/aarch64-linux-gnu, found through CMAKE_LIBRARY_ARCHITECTURE; arch-independent
# header-only packages are shared with the host). Programs come from the host: protoc is the
# host's (the same Protobuf version as the arm64 libprotobuf).
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (rdkafka, cpp-httplib, libsystemd) must read the arm64 .pc files, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# ctest (and doctest_discover_tests at build time) run the aarch64 programs through qemu-user.
# `-L /` on purpose: the arm64 glibc and libraries are installed in / by multiarch, and
# `-L /usr/aarch64-linux-gnu` mixes two glibc builds and hangs in pthread_create (see
# ../../README.md of this folder). binfmt is not relied on (it is not active in CI containers).
find_program(HERD_QEMU_AARCH64 qemu-aarch64 REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${HERD_QEMU_AARCH64} -L /)
