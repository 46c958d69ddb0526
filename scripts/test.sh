#!/usr/bin/env bash
# The whole test run (`npm test`): installs Mosquitto when missing, builds, runs the
# as-pect specs, then the node:test integration tests, whose summary closes the output.
set -euo pipefail
cd "$(dirname "$0")/.."

# True when the broker and its command-line clients are installed.
have_mosquitto() {
  { command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; } &&
    command -v mosquitto_pub >/dev/null && command -v mosquitto_sub >/dev/null
}

# Runs a command as root: directly, or through sudo when it exists.
as_root() {
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then
    sudo "$@"
  else
    "$@"
  fi
}

# The tests start their own brokers on free loopback ports, so a system mosquitto
# service that the package may start (on 1883) is never used and does not matter.
# The native build (scripts/build-native.mjs) needs wasm2c and its runtime header (wabt)
# and both C compilers its glue is held to; its cross-compiled sizes (npm run size) need
# the Arm and RISC-V bare-metal toolchains with a C library, and its bare-metal image
# (tests/host/native-qemu.test.ts) QEMU's Arm system emulator; its fuzz target
# (tests/fuzz/native/) clang 14's libFuzzer and sanitizer runtimes and, for its coverage
# report, llvm-profdata-14 and llvm-cov-14. The TLS tests make their certificates with
# openssl; the dashboard test drives Debian's Chromium headless; the pcap test decodes
# the traces with tshark (its debconf question, whether non-root users may capture, is
# answered no). Each package is installed only when missing (the toolchains without
# their recommended C++ libraries).
missing=()
have_mosquitto || missing+=(mosquitto mosquitto-clients)
[ -x /usr/bin/wasm2c ] || missing+=(wabt)
command -v gcc >/dev/null || missing+=(gcc)
command -v clang >/dev/null || missing+=(clang)
command -v arm-none-eabi-gcc >/dev/null || missing+=(gcc-arm-none-eabi libnewlib-arm-none-eabi)
command -v riscv64-unknown-elf-gcc >/dev/null || missing+=(gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf)
command -v qemu-system-arm >/dev/null || missing+=(qemu-system-arm)
command -v clang-14 >/dev/null || missing+=(clang-14)
compgen -G "/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a" >/dev/null || missing+=(libclang-rt-14-dev)
command -v llvm-cov-14 >/dev/null || missing+=(llvm-14)
command -v openssl >/dev/null || missing+=(openssl)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v tshark >/dev/null || missing+=(tshark)
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update
  if [[ " ${missing[*]} " == *" tshark "* ]]; then
    echo "wireshark-common wireshark-common/install-setuid boolean false" | as_root debconf-set-selections
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

node scripts/build.mjs --quiet
node scripts/build-native.mjs --quiet
node scripts/aspect.mjs
npm run --silent test:host
