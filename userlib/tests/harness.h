/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kselftest_harness.h under -Wextra: its ASSERT_*() compare operands of
 * their own types (an int literal with a uint64_t) and its TEST() wrappers
 * and signal handler ignore parameters.  GCC reports both at every macro
 * expansion, so the two warnings are off in the test files.
 */
#ifndef MSGPOOL_TEST_HARNESS_H
#define MSGPOOL_TEST_HARNESS_H

#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

#endif /* MSGPOOL_TEST_HARNESS_H */
