/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where another task is, read from /proc: for tests that must know a
 * child sleeps in the kernel before they wake it.  Shared by the
 * selftests and libmsgpool's tests.
 */
#ifndef MSGPOOL_TASK_H
#define MSGPOOL_TASK_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/types.h>

static inline uint64_t mp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* 'R', 'S', 'D', 'Z'... of task @pid, or 0 if it is gone. */
static inline char mp_task_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * Waits until @pid, which said it is about to block in the kernel, sleeps
 * there (S, or D for a killable sleep).  Polls for at most 10 s, well
 * within the harnesses' timeouts; returns 0 once it sleeps, -1 if it ran
 * on and exited or never slept.
 */
static inline int mp_wait_sleeping(pid_t pid)
{
	const struct timespec tick = { .tv_nsec = 1000000 };
	uint64_t end = mp_now_ns() + 10000000000ULL;

	while (mp_now_ns() < end) {
		char s = mp_task_state(pid);

		if (s == 'S' || s == 'D')
			return 0;
		if (s == 0 || s == 'Z' || s == 'X')
			return -1;
		nanosleep(&tick, NULL);
	}
	return -1;
}

#endif /* MSGPOOL_TASK_H */
