/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers of the msgpool benchmarks: clocks, repeats and their
 * statistics, the payload pattern and the result lines bench/run.sh
 * collects.
 *
 * A result line is
 *   @@row group|name|mode|size|median|spread|unit|min|max
 * where median is the median over the repeats and spread half the range
 * between the fastest and the slowest repeat, in percent of the median;
 * min and max are the extreme repeats (noise only ever adds time).
 *
 * Rows timed per message also give every sample, in lines of
 *   @@samples group|name|mode|size|repeat|ns,ns,...
 * (integer nanoseconds, SAMPLE_LINE to a line, at most MAX_SAMPLES per
 * row: beyond that every k-th sample, evenly over the run).
 *
 * Rows of two processes also give their system calls per message, as
 * the kernel counted them (see sc_open()), the payload bytes the kernel
 * copies per message, as a multiple of the size, and how many of the
 * receiver's calls were polls that came back empty:
 *   @@sys group|name|mode|size|tx|rx|copies|rx_empty
 */
#ifndef BENCH_H
#define BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_REPEATS	32
#define MAX_SAMPLES	100000	/* samples one row prints, all repeats */
#define SAMPLE_LINE	64	/* samples to a line */
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * Calls of now_ns(): where the clocksource has no vDSO (hpet under TCG)
 * each is a system call, which the syscall counts take out again.
 */
static uint64_t now_ns_calls;

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	now_ns_calls++;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline void die(const char *what, int err)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(err));
	exit(1);
}

/* Memory that a fork()ed child shares with its parent. */
static inline void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap", errno);
	return p;
}

/*
 * System calls of the calling thread, counted by the kernel: a perf
 * counter of the raw_syscalls:sys_enter tracepoint (needs
 * CONFIG_FTRACE_SYSCALLS, tracefs or debugfs, and the privilege perf
 * asks for).  sc_open() returns its fd, or -1 when any of that is
 * missing: then nothing is counted.
 */
static inline int sc_tracepoint_id(void)
{
	static const char *const paths[] = {
		"/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
		"/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id",
	};
	unsigned int i;
	int id = -1;
	FILE *f;

	for (i = 0; i < ARRAY_SIZE(paths) && id < 0; i++) {
		f = fopen(paths[i], "r");
		if (!f)
			continue;
		if (fscanf(f, "%d", &id) != 1)
			id = -1;
		fclose(f);
	}
	return id;
}

static inline int sc_open(void)
{
	struct perf_event_attr attr;
	int id = sc_tracepoint_id();

	if (id < 0)
		return -1;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.size = sizeof(attr);
	attr.config = id;
	/* This thread (pid 0) on any CPU (-1), kernel and user alike. */
	return syscall(SYS_perf_event_open, &attr, 0, -1, -1,
		       PERF_FLAG_FD_CLOEXEC);
}

/* The count so far; the read() that asks is in it already. */
static inline uint64_t sc_read(int fd)
{
	uint64_t v = 0;

	if (fd >= 0 && read(fd, &v, sizeof(v)) != sizeof(v))
		die("read perf counter", errno);
	return v;
}

/* BENCH_QUICK=1 in the environment: short runs, for development. */
static inline int bench_quick(void)
{
	const char *q = getenv("BENCH_QUICK");

	return q && *q && strcmp(q, "0");
}

static inline int bench_repeats(void)
{
	const char *r = getenv("BENCH_REPEATS");
	int n = r ? atoi(r) : 0;

	if (n < 1 || n > MAX_REPEATS)
		n = bench_quick() ? 3 : 5;
	return n;
}

/* @n scaled down for quick runs, at least 1. */
static inline long bench_iters(long n)
{
	if (bench_quick())
		n /= 4;
	return n > 0 ? n : 1;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts @v and returns its median. */
static inline double median(double *v, long n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Sorts @v and prints its median and spread as a result line. */
static inline void report(const char *group, const char *name,
			  const char *mode, size_t size, double *v, int n,
			  const char *unit)
{
	double med = median(v, n), spread;

	spread = med > 0 ? (v[n - 1] - v[0]) / 2 / med * 100 : 0;
	printf("@@row %s|%s|%s|%zu|%.1f|%.1f|%s|%.1f|%.1f\n", group, name,
	       mode, size, med, spread, unit, v[0], v[n - 1]);
	fflush(stdout);
}

/*
 * Prints the samples of one row: @v holds @nrep repeats of @n samples
 * each, repeat after repeat, in units of @scale ns.
 */
static inline void report_samples(const char *group, const char *name,
				  const char *mode, size_t size,
				  const double *v, int nrep, long n,
				  double scale)
{
	long total = (long)nrep * n, step, i;
	int r, col;

	step = (total + MAX_SAMPLES - 1) / MAX_SAMPLES;
	if (step < 1)
		step = 1;
	for (r = 0; r < nrep; r++) {
		col = 0;
		for (i = (long)r * n; i < (long)(r + 1) * n; i++) {
			if (i % step)
				continue;
			if (!col)
				printf("@@samples %s|%s|%s|%zu|%d|", group, name,
				       mode, size, r);
			printf("%s%.0f", col ? "," : "", v[i] * scale);
			if (++col == SAMPLE_LINE) {
				putchar('\n');
				col = 0;
			}
		}
		if (col)
			putchar('\n');
	}
	fflush(stdout);
}

/*
 * The payload pattern: word 0 carries the send time, word i > 0 holds
 * seq + i, so the reader checks every word it reads against a closed form
 * without the writer sending a checksum.
 */
static inline void payload_fill(void *buf, size_t len, uint64_t seq,
				uint64_t t)
{
	uint64_t *w = buf;
	size_t i, n = len / 8;

	w[0] = t;
	for (i = 1; i < n; i++)
		w[i] = seq + i;
}

/* Reads every word; exits on a mismatch.  Returns word 0. */
static inline uint64_t payload_check(const void *buf, size_t len,
				     uint64_t seq)
{
	const uint64_t *w = buf;
	uint64_t sum = 0, n = len / 8, want;
	size_t i;

	for (i = 1; i < n; i++)
		sum += w[i];
	want = (n - 1) * seq + n * (n - 1) / 2;
	if (sum != want) {
		fprintf(stderr, "bench: payload %llu of %zu bytes corrupt\n",
			(unsigned long long)seq, len);
		exit(1);
	}
	return w[0];
}

#endif /* BENCH_H */
