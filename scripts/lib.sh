# Shared by scripts/test and scripts/demo: install what is missing with apt-get, once.
# Sourced, not run.

# Installs the Debian packages named in "$@" that are not installed yet. Needs root when anything
# is missing; says so plainly otherwise.
verif8_install_packages() {
  local missing=()
  local package
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$package")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "These Debian packages are needed: ${missing[*]}" >&2
    echo "Run this script as root, or install them with apt-get first." >&2
    return 1
  fi
  echo "Installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # openssh-server is installed for the tests' own sshd on a port of their choosing; its package
  # must not start the machine's sshd. Debian's policy-rc.d (exit 101) stops services from
  # starting during the install; one is put in place only if the machine has none.
  local own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# pam_verif8 scripts: install packages without starting services.\nexit 101\n' \
      >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  local status=0
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    status=$?
  if [ -n "$own_policy" ]; then
    rm -f /usr/sbin/policy-rc.d
  fi
  return "$status"
}

# Packages that build the module (design.md, "Dependencies").
# libaudit-dev: Debian 13's pam.pc names audit among its requirements, and Meson needs its .pc.
VERIF8_BUILD_PACKAGES=(meson ninja-build pkg-config g++ libpam0g-dev libaudit-dev
                       libcurl4-openssl-dev rapidjson-dev ca-certificates)
# What the sandbox, the demo and the PAM-layer tests run on.
VERIF8_RUN_PACKAGES=(python3 openssl curl libpam-wrapper libnss-wrapper pamtester libpam-modules
                     binutils)
# What only the test suite needs.
# clang, llvm and libclang-rt-dev are the release's default LLVM (14 on Debian 12, 19 on 13):
# never a version number here.
VERIF8_TEST_PACKAGES=(libcmocka-dev clang openssh-server openssh-client
                      python3-paramiko util-linux groff-base man-db mandoc)
# The memory and fuzz layers: valgrind; libFuzzer and clang's sanitizer runtimes; llvm's
# symbolizer for readable sanitizer reports.
VERIF8_TEST_PACKAGES+=(valgrind libclang-rt-dev llvm)
# scripts/shape.py (suite scripts) measures functions with Universal Ctags.
VERIF8_TEST_PACKAGES+=(universal-ctags)
# tests/fail2ban runs Debian's fail2ban-regex and a fail2ban server of its own over the shipped
# filter (never the machine's fail2ban service: policy-rc.d keeps the package from starting it).
VERIF8_TEST_PACKAGES+=(fail2ban)
# The Debian 11, 12 and 13 roots of tests/roots and tests/packages.
VERIF8_TEST_PACKAGES+=(debootstrap)
# What scripts/package and tests/packages need: the Debian and RPM builds (dpkg-buildpackage
# insists on build-essential, which minimal images lack), lintian, and debootstrap for the install
# test in a throw-away Debian root.
VERIF8_PACKAGING_PACKAGES=(build-essential debhelper dpkg-dev lintian rpm debootstrap
                           libcmocka-dev python3)
