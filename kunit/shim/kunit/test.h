/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <kunit/test.h> in userspace: the part of KUnit the msgpool tests use,
 * with the kernel's names and its KTAP output, so that one test source
 * builds into the KUnit module and into a test program.  kunit_main.c
 * runs the suites that kunit_test_suites() registers.
 *
 * As in the kernel, a failed KUNIT_ASSERT_*() ends the test case at once
 * (here with a longjmp() out of the case, so only from the thread running
 * it), and the suite's exit() runs after every case, failed or not.
 */
#ifndef _SHIM_KUNIT_TEST_H
#define _SHIM_KUNIT_TEST_H

#include <setjmp.h>
#include <stdio.h>

#include "../msgpool_shim.h"
#include "../linux/err.h"

#define KUNIT_PARAM_DESC_SIZE		128
#define KUNIT_STATUS_COMMENT_SIZE	256
#define KUNIT_SUBTEST_INDENT		"    "
#define KUNIT_SUBSUBTEST_INDENT		"        "

enum kunit_status {
	KUNIT_SUCCESS,
	KUNIT_FAILURE,
	KUNIT_SKIPPED,
};

enum kunit_assert_type {
	KUNIT_ASSERTION,
	KUNIT_EXPECTATION,
};

struct kunit_resource;

/* A running test case. */
struct kunit {
	void *priv;			/* the test's own, from init() on */
	const char *name;
	const void *param_value;	/* the current parameter, if any */
	int param_index;
	/* private: */
	enum kunit_status status;
	char status_comment[KUNIT_STATUS_COMMENT_SIZE];
	struct kunit_resource *resources;
	sigjmp_buf *abort;
};

enum kunit_speed {
	KUNIT_SPEED_UNSET,
	KUNIT_SPEED_VERY_SLOW,
	KUNIT_SPEED_SLOW,
	KUNIT_SPEED_NORMAL,
};

struct kunit_attributes {
	enum kunit_speed speed;
};

struct kunit_case {
	void (*run_case)(struct kunit *test);
	const char *name;
	const void *(*generate_params)(const void *prev, char *desc);
	struct kunit_attributes attr;
	/* private: */
	enum kunit_status status;
};

#define KUNIT_CASE(test_name)						\
	{ .run_case = test_name, .name = #test_name }

#define KUNIT_CASE_SLOW(test_name)					\
	{ .run_case = test_name, .name = #test_name,			\
	  .attr.speed = KUNIT_SPEED_SLOW }

#define KUNIT_CASE_PARAM(test_name, gen_params)				\
	{ .run_case = test_name, .name = #test_name,			\
	  .generate_params = gen_params }

struct kunit_suite {
	const char name[256];
	int (*suite_init)(struct kunit_suite *suite);
	int (*init)(struct kunit *test);
	void (*exit)(struct kunit *test);
	struct kunit_case *test_cases;
};

/* Registration: kunit_main.c runs the suites in the order registered. */
void __kunit_register_suites(struct kunit_suite **suites, size_t n);

#define kunit_test_suites(__suites...)					\
	static struct kunit_suite *__kunit_suites[] = { __suites };	\
	static void __attribute__((constructor)) __kunit_register(void)	\
	{								\
		__kunit_register_suites(__kunit_suites,			\
					ARRAY_SIZE(__kunit_suites));	\
	}

#define kunit_test_suite(suite)	kunit_test_suites(&suite)

#define KUNIT_ARRAY_PARAM(name, array, get_desc)			\
	static const void *name##_gen_params(const void *prev, char *desc) \
	{								\
		typeof((array)[0]) *__next = prev ?			\
			((typeof(__next))prev) + 1 : (array);		\
		if (__next - (array) < (long)ARRAY_SIZE((array))) {	\
			void (*__get_desc)(typeof(__next), char *) = get_desc; \
			if (__get_desc)					\
				__get_desc(__next, desc);		\
			return __next;					\
		}							\
		return NULL;						\
	}

/* Memory that lives until the test case ends, exit() included. */
void *kunit_kmalloc_array(struct kunit *test, size_t n, size_t size,
			  gfp_t gfp);

static inline void *kunit_kzalloc(struct kunit *test, size_t size, gfp_t gfp)
{
	return kunit_kmalloc_array(test, 1, size, gfp);
}

static inline void *kunit_kcalloc(struct kunit *test, size_t n, size_t size,
				  gfp_t gfp)
{
	return kunit_kmalloc_array(test, n, size, gfp);
}

/* Messages, as the kernel logs them. */
#define kunit_printk(test, fmt, ...)					\
	printf(KUNIT_SUBTEST_INDENT "# %s: " fmt "\n", (test)->name,	\
	       ##__VA_ARGS__)
#define kunit_info(test, fmt, ...)	kunit_printk(test, fmt, ##__VA_ARGS__)
#define kunit_err(test, fmt, ...)	kunit_printk(test, fmt, ##__VA_ARGS__)

/* Failures: kunit_main.c prints them as KUnit does and marks the test. */
struct kunit_loc {
	const char *file;
	int line;
	enum kunit_assert_type type;
};

#define KUNIT_LOC(type) (&(const struct kunit_loc){ __FILE__, __LINE__, type })

void __kunit_fail_binary(struct kunit *test, const struct kunit_loc *loc,
			 const char *left, const char *op, const char *right,
			 long long left_value, long long right_value,
			 const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));
void __kunit_fail_unary(struct kunit *test, const struct kunit_loc *loc,
			const char *condition, bool expected_true,
			const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void __attribute__((noreturn)) __kunit_abort(struct kunit *test);

/* An assertion ends the case; an expectation only marks it failed. */
#define KUNIT_END_IF_ASSERT(test, type)					\
	do {								\
		if ((type) == KUNIT_ASSERTION)				\
			__kunit_abort(test);				\
	} while (0)

/*
 * Operands compare as C compares them, as in the kernel, which builds
 * without -Wsign-compare; values print as long long.
 */
#define KUNIT_BINARY_ASSERTION(test, type, left, op, right, fmt, ...)	\
	do {								\
		const typeof(left) __left = (left);			\
		const typeof(right) __right = (right);			\
		bool __ok;						\
									\
		_Pragma("GCC diagnostic push")				\
		_Pragma("GCC diagnostic ignored \"-Wsign-compare\"")	\
		__ok = __left op __right;				\
		_Pragma("GCC diagnostic pop")				\
		if (!__ok) {						\
			__kunit_fail_binary(test, KUNIT_LOC(type),	\
					    #left, #op, #right,		\
					    (long long)__left,		\
					    (long long)__right,		\
					    fmt, ##__VA_ARGS__);	\
			KUNIT_END_IF_ASSERT(test, type);		\
		}							\
	} while (0)

#define KUNIT_UNARY_ASSERTION(test, type, condition, expected, fmt, ...) \
	do {								\
		bool __cond = (condition);				\
									\
		if (__cond != (expected)) {				\
			__kunit_fail_unary(test, KUNIT_LOC(type),	\
					   #condition, expected,	\
					   fmt, ##__VA_ARGS__);		\
			KUNIT_END_IF_ASSERT(test, type);		\
		}							\
	} while (0)

#define KUNIT_EXPECT_TRUE_MSG(test, cond, fmt, ...)			\
	KUNIT_UNARY_ASSERTION(test, KUNIT_EXPECTATION, cond, true,	\
			      fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_EQ_MSG(test, l, r, fmt, ...)			\
	KUNIT_BINARY_ASSERTION(test, KUNIT_EXPECTATION, l, ==, r,	\
			       fmt, ##__VA_ARGS__)

#define KUNIT_EXPECT_TRUE(test, c)	KUNIT_EXPECT_TRUE_MSG(test, c, NULL)
#define KUNIT_EXPECT_FALSE(test, c)					\
	KUNIT_UNARY_ASSERTION(test, KUNIT_EXPECTATION, c, false, NULL)
#define KUNIT_EXPECT_EQ(test, l, r)	KUNIT_EXPECT_EQ_MSG(test, l, r, NULL)
#define KUNIT_EXPECT_NE(test, l, r)					\
	KUNIT_BINARY_ASSERTION(test, KUNIT_EXPECTATION, l, !=, r, NULL)
#define KUNIT_EXPECT_GT(test, l, r)					\
	KUNIT_BINARY_ASSERTION(test, KUNIT_EXPECTATION, l, >, r, NULL)
#define KUNIT_EXPECT_GE(test, l, r)					\
	KUNIT_BINARY_ASSERTION(test, KUNIT_EXPECTATION, l, >=, r, NULL)
/* Pointers compare and print as integers do: by their addresses. */
#define KUNIT_EXPECT_PTR_EQ(test, l, r)					\
	KUNIT_BINARY_ASSERTION(test, KUNIT_EXPECTATION, l, ==, r, NULL)

#define KUNIT_ASSERT_TRUE(test, c)					\
	KUNIT_UNARY_ASSERTION(test, KUNIT_ASSERTION, c, true, NULL)
#define KUNIT_ASSERT_EQ(test, l, r)					\
	KUNIT_BINARY_ASSERTION(test, KUNIT_ASSERTION, l, ==, r, NULL)
#define KUNIT_ASSERT_NE(test, l, r)					\
	KUNIT_BINARY_ASSERTION(test, KUNIT_ASSERTION, l, !=, r, NULL)
#define KUNIT_ASSERT_LT(test, l, r)					\
	KUNIT_BINARY_ASSERTION(test, KUNIT_ASSERTION, l, <, r, NULL)
#define KUNIT_ASSERT_NOT_ERR_OR_NULL(test, p)				\
	KUNIT_UNARY_ASSERTION(test, KUNIT_ASSERTION, !IS_ERR_OR_NULL(p),	\
			      true, NULL)

#endif /* _SHIM_KUNIT_TEST_H */
