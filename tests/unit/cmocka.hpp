// cmocka.hpp: CMocka for C++ tests (Debian 12's cmocka.h has no extern "C" of its own).
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include <cmocka.h>
}
