// SPDX-License-Identifier: GPL-2.0
/*
 * Runs the KUnit suites of a test program, as the kernel runs those of a
 * module, and prints the same KTAP: one subtest per suite, one per test
 * case in it, one per parameter of a parameterised case.  Exits 1 if any
 * case failed.
 *
 * Usage: PROGRAM [GLOB]   runs the suites whose name matches GLOB, or,
 *                         with GLOB = SUITE_GLOB.CASE_GLOB, their matching
 *                         cases (kunit.filter_glob in the kernel)
 */
#include <fnmatch.h>
#include <stdarg.h>

#include <kunit/test.h>

#define KUNIT_INDENT_LEN	4
#define KUNIT_TIMEOUT_S		300	/* then a case is hung */

struct kunit_resource {
	struct kunit_resource *next;
};

struct kunit_result_stats {
	unsigned long passed, skipped, failed, total;
};

static const char * const kunit_speed_name[] = {
	"unset", "very_slow", "slow", "normal",
};

static struct kunit_suite **suites;
static size_t nr_suites;

void __kunit_register_suites(struct kunit_suite **add, size_t n)
{
	struct kunit_suite **all;

	all = realloc(suites, (nr_suites + n) * sizeof(*all));
	if (!all)
		abort();
	memcpy(all + nr_suites, add, n * sizeof(*all));
	suites = all;
	nr_suites += n;
}

void *kunit_kmalloc_array(struct kunit *test, size_t n, size_t size,
			  gfp_t gfp)
{
	struct kunit_resource *res;
	size_t bytes;

	(void)gfp;
	/*
	 * Cache-line aligned, as the kernel's kmalloc() aligns objects of
	 * such sizes: the core's structs have ____cacheline_aligned_in_smp
	 * members, which the compiler may store to with aligned vector
	 * instructions.
	 */
	if (check_mul_overflow(n, size, &bytes) ||
	    check_add_overflow(bytes, (size_t)SMP_CACHE_BYTES, &bytes))
		return NULL;
	if (posix_memalign((void **)&res, SMP_CACHE_BYTES, bytes))
		return NULL;
	memset(res, 0, bytes);
	res->next = test->resources;
	test->resources = res;
	return (char *)res + SMP_CACHE_BYTES;
}

static void kunit_free_resources(struct kunit *test)
{
	struct kunit_resource *res;

	while ((res = test->resources)) {
		test->resources = res->next;
		free(res);
	}
}

static void kunit_fail_prologue(struct kunit *test,
				const struct kunit_loc *loc)
{
	test->status = KUNIT_FAILURE;
	printf(KUNIT_SUBTEST_INDENT "# %s: %s FAILED at %s:%d\n", test->name,
	       loc->type == KUNIT_ASSERTION ? "ASSERTION" : "EXPECTATION",
	       loc->file, loc->line);
}

static void kunit_fail_message(const char *fmt, va_list args)
{
	if (fmt) {
		putchar('\n');
		vprintf(fmt, args);
	}
	putchar('\n');
	fflush(stdout);
}

/* Is @text the literal @value, like "5" for 5?  Then it goes unsaid. */
static bool kunit_is_literal(const char *text, long long value)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", value);
	return !strcmp(buf, text);
}

void __kunit_fail_binary(struct kunit *test, const struct kunit_loc *loc,
			 const char *left, const char *op, const char *right,
			 long long left_value, long long right_value,
			 const char *fmt, ...)
{
	va_list args;

	kunit_fail_prologue(test, loc);
	printf(KUNIT_SUBTEST_INDENT "Expected %s %s %s, but", left, op, right);
	if (!kunit_is_literal(left, left_value))
		printf("\n" KUNIT_SUBSUBTEST_INDENT "%s == %lld (0x%llx)", left,
		       left_value, left_value);
	if (!kunit_is_literal(right, right_value))
		printf("\n" KUNIT_SUBSUBTEST_INDENT "%s == %lld (0x%llx)",
		       right, right_value, right_value);
	va_start(args, fmt);
	kunit_fail_message(fmt, args);
	va_end(args);
}

void __kunit_fail_unary(struct kunit *test, const struct kunit_loc *loc,
			const char *condition, bool expected_true,
			const char *fmt, ...)
{
	va_list args;

	kunit_fail_prologue(test, loc);
	printf(KUNIT_SUBTEST_INDENT "Expected %s to be %s, but is %s",
	       condition, expected_true ? "true" : "false",
	       expected_true ? "false" : "true");
	va_start(args, fmt);
	kunit_fail_message(fmt, args);
	va_end(args);
}

void __kunit_abort(struct kunit *test)
{
	siglongjmp(*test->abort, 1);
}

static const char *kunit_ok(enum kunit_status status)
{
	return status == KUNIT_FAILURE ? "not ok" : "ok";
}

static void kunit_update_stats(struct kunit_result_stats *stats,
			       enum kunit_status status)
{
	stats->passed += status == KUNIT_SUCCESS;
	stats->skipped += status == KUNIT_SKIPPED;
	stats->failed += status == KUNIT_FAILURE;
	stats->total++;
}

static void kunit_print_stats(int level, const char *name,
			      struct kunit_result_stats s)
{
	if (s.total > 1)
		printf("%*s# %s: pass:%lu fail:%lu skip:%lu total:%lu\n",
		       KUNIT_INDENT_LEN * level, "", name, s.passed, s.failed,
		       s.skipped, s.total);
}

/* init, the case and exit, each left early by a failed assertion. */
static void kunit_run_case(struct kunit_suite *suite, struct kunit_case *c,
			   struct kunit *test)
{
	sigjmp_buf abort;
	int err;

	test->status = KUNIT_SUCCESS;
	test->abort = &abort;
	alarm(KUNIT_TIMEOUT_S);
	if (!sigsetjmp(abort, 0)) {
		err = suite->init ? suite->init(test) : 0;
		if (err) {
			kunit_err(test, "failed to initialize: %d", err);
			test->status = KUNIT_FAILURE;
		} else {
			c->run_case(test);
		}
	}
	if (!sigsetjmp(abort, 0) && suite->exit)
		suite->exit(test);
	alarm(0);
	kunit_free_resources(test);
	fflush(stdout);
	if (test->status == KUNIT_FAILURE)
		c->status = KUNIT_FAILURE;
	else if (c->status != KUNIT_FAILURE && test->status == KUNIT_SUCCESS)
		c->status = KUNIT_SUCCESS;
}

static void kunit_run_params(struct kunit_suite *suite, struct kunit_case *c,
			     struct kunit *test,
			     struct kunit_result_stats *stats)
{
	char desc[KUNIT_PARAM_DESC_SIZE] = "";

	printf(KUNIT_SUBSUBTEST_INDENT "KTAP version 1\n");
	printf(KUNIT_SUBSUBTEST_INDENT "# Subtest: %s\n", c->name);
	test->param_value = c->generate_params(NULL, desc);
	while (test->param_value) {
		kunit_run_case(suite, c, test);
		if (!desc[0])
			snprintf(desc, sizeof(desc), "param-%d",
				 test->param_index);
		printf(KUNIT_SUBSUBTEST_INDENT "%s %d %s\n",
		       kunit_ok(test->status), test->param_index + 1, desc);
		kunit_update_stats(stats, test->status);
		desc[0] = '\0';
		test->param_value = c->generate_params(test->param_value, desc);
		test->param_index++;
		test->priv = NULL;
	}
}

static bool kunit_case_wanted(const char *glob, struct kunit_suite *suite,
			      struct kunit_case *c)
{
	char name[512];

	if (!glob)
		return true;
	if (!strchr(glob, '.'))
		return !fnmatch(glob, suite->name, 0);
	snprintf(name, sizeof(name), "%s.%s", suite->name, c->name);
	return !fnmatch(glob, name, 0);
}

/* Moves the wanted cases to the front; returns how many there are. */
static size_t kunit_filter_cases(const char *glob, struct kunit_suite *suite)
{
	struct kunit_case *c, *keep = suite->test_cases;

	for (c = suite->test_cases; c->run_case; c++)
		if (kunit_case_wanted(glob, suite, c))
			*keep++ = *c;
	*keep = (struct kunit_case){ 0 };
	return keep - suite->test_cases;
}

static enum kunit_status kunit_run_suite(struct kunit_suite *suite,
					 size_t nr_cases)
{
	struct kunit_result_stats suite_stats = { 0 }, total_stats = { 0 };
	enum kunit_status status = KUNIT_SKIPPED;
	struct kunit_case *c;
	int err, n = 0;

	if (suite->suite_init) {
		err = suite->suite_init(suite);
		if (err) {
			printf(KUNIT_SUBTEST_INDENT
			       "# %s: failed to initialize (%d)\n",
			       suite->name, err);
			return KUNIT_FAILURE;
		}
	}
	printf(KUNIT_SUBTEST_INDENT "KTAP version 1\n");
	printf(KUNIT_SUBTEST_INDENT "# Subtest: %s\n", suite->name);
	printf(KUNIT_SUBTEST_INDENT "1..%zu\n", nr_cases);
	for (c = suite->test_cases; c->run_case; c++) {
		struct kunit test = { .name = c->name };
		struct kunit_result_stats stats = { 0 };

		c->status = KUNIT_SKIPPED;
		if (c->generate_params) {
			kunit_run_params(suite, c, &test, &stats);
		} else {
			kunit_run_case(suite, c, &test);
			kunit_update_stats(&stats, test.status);
		}
		if (c->attr.speed != KUNIT_SPEED_UNSET)
			printf(KUNIT_SUBTEST_INDENT "# %s.speed: %s\n", c->name,
			       kunit_speed_name[c->attr.speed]);
		kunit_print_stats(1, c->name, stats);
		printf(KUNIT_SUBTEST_INDENT "%s %d %s\n", kunit_ok(c->status),
		       ++n, c->name);
		fflush(stdout);
		kunit_update_stats(&suite_stats, c->status);
		total_stats.passed += stats.passed;
		total_stats.skipped += stats.skipped;
		total_stats.failed += stats.failed;
		total_stats.total += stats.total;
		if (c->status == KUNIT_FAILURE)
			status = KUNIT_FAILURE;
		else if (status != KUNIT_FAILURE && c->status == KUNIT_SUCCESS)
			status = KUNIT_SUCCESS;
	}
	kunit_print_stats(0, suite->name, suite_stats);
	if (total_stats.total > 1)
		printf("# Totals: pass:%lu fail:%lu skip:%lu total:%lu\n",
		       total_stats.passed, total_stats.failed,
		       total_stats.skipped, total_stats.total);
	return status;
}

int main(int argc, char **argv)
{
	const char *glob = argc > 1 ? argv[1] : NULL;
	size_t i, n = 0, *nr_cases;
	enum kunit_status status;
	bool failed = false;

	nr_cases = calloc(nr_suites + 1, sizeof(*nr_cases));
	if (!nr_cases)
		return 1;
	for (i = 0; i < nr_suites; i++) {
		nr_cases[i] = kunit_filter_cases(glob, suites[i]);
		n += nr_cases[i] > 0;
	}
	printf("KTAP version 1\n1..%zu\n", n);
	for (i = 0, n = 0; i < nr_suites; i++) {
		if (!nr_cases[i])
			continue;
		status = kunit_run_suite(suites[i], nr_cases[i]);
		failed |= status == KUNIT_FAILURE;
		printf("%s %zu %s\n", kunit_ok(status), ++n, suites[i]->name);
		fflush(stdout);
	}
	free(nr_cases);
	free(suites);
	return failed;
}
