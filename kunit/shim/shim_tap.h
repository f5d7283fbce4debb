/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small TAP producer for the shim tests: "ok N - name" or "not ok N -
 * name" per test, diagnostics as "# ..." lines, the plan "1..N" last.
 * A failed check ends its test function at once.
 */
#ifndef _SHIM_TAP_H
#define _SHIM_TAP_H

#include <inttypes.h>
#include <stdio.h>

struct tap_test {
	const char *name;
	void (*fn)(void);
};

#define TAP_TEST(fn)	{ #fn, fn }
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

extern bool tap_failed;

static inline void tap_diag(const char *file, int line, const char *what)
{
	printf("# %s:%d: %s\n", file, line, what);
	tap_failed = true;
}

#define CHECK(cond)							\
do {									\
	if (!(cond)) {							\
		tap_diag(__FILE__, __LINE__, "failed: " #cond);		\
		return;							\
	}								\
} while (0)

#define CHECK_EQ(a, b)							\
do {									\
	long long __a = (a), __b = (b);					\
									\
	if (__a != __b) {						\
		tap_diag(__FILE__, __LINE__, #a " == " #b);		\
		printf("#   got %lld, want %lld\n", __a, __b);		\
		return;							\
	}								\
} while (0)

/* Runs @n tests, names prefixed with @label; returns the failures. */
static inline int tap_run(const struct tap_test *tests, int n,
			  const char *label)
{
	int i, failures = 0;

	for (i = 0; i < n; i++) {
		tap_failed = false;
		tests[i].fn();
		failures += tap_failed;
		printf("%sok %d - %s%s\n", tap_failed ? "not " : "", i + 1,
		       label, tests[i].name);
		fflush(stdout);
	}
	printf("1..%d\n", n);
	return failures;
}

#endif /* _SHIM_TAP_H */
