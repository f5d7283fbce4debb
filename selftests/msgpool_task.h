/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tasks, for the selftests and libmsgpool's tests: children that talk to
 * their parent over pipes, where a task is (read from /proc, for tests
 * that must know a child sleeps in the kernel before they wake it), and
 * its capabilities.
 *
 * Define _GNU_SOURCE before any system header: mp_spawn() uses pipe2().
 */
#ifndef MSGPOOL_TASK_H
#define MSGPOOL_TASK_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/capability.h>
#include <linux/types.h>

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

/* Drops @cap from this process's effective capabilities. */
static inline int mp_drop_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[CAP_TO_INDEX(cap)].effective &= ~CAP_TO_MASK(cap);
	return syscall(SYS_capset, &hdr, data);
}

/*
 * Child processes.  A child talks to its parent over two pipes, one
 * 64-bit value at a time, and reports through its exit status.  It never
 * uses ASSERT_*(), which would unwind into the harness in the child, but
 * CHILD_CHECK(), which exits with status 1.
 */
struct mp_child {
	pid_t pid;
	int rd;		/* parent reads what the child sends */
	int wr;		/* parent writes what the child reads */
};

typedef int (*mp_child_fn)(int rd, int wr, void *arg);

#define CHILD_CHECK(expr) do {						\
	if (!(expr)) {							\
		fprintf(stderr, "# child %s:%d: failed: %s\n",		\
			__FILE__, __LINE__, #expr);			\
		_exit(1);						\
	}								\
} while (0)

static inline int mp_send(int fd, __u64 v)
{
	return write(fd, &v, sizeof(v)) == sizeof(v) ? 0 : -1;
}

/* 0 and the value, or -1 if the other end closed first. */
static inline int mp_recv(int fd, __u64 *v)
{
	return read(fd, v, sizeof(*v)) == sizeof(*v) ? 0 : -1;
}

static inline int mp_spawn(struct mp_child *c, mp_child_fn fn, void *arg)
{
	int up[2], down[2], err;

	c->pid = c->rd = c->wr = -1;
	if (pipe2(up, O_CLOEXEC))
		return -errno;
	if (pipe2(down, O_CLOEXEC)) {
		err = -errno;
		goto close_up;
	}
	c->pid = fork();
	if (c->pid < 0) {
		err = -errno;
		goto close_down;
	}
	if (c->pid == 0) {
		close(up[0]);
		close(down[1]);
		_exit(fn(down[0], up[1], arg));
	}
	close(up[1]);
	close(down[0]);
	c->rd = up[0];
	c->wr = down[1];
	return 0;

close_down:
	close(down[0]);
	close(down[1]);
close_up:
	close(up[0]);
	close(up[1]);
	return err;
}

/*
 * mp_spawn(), then waits for the first word @fn sends, which says it is
 * about to block, and for it to sleep in the kernel.  0, -EPIPE if it
 * ended first, -ETIME if it never slept, or mp_spawn()'s error.
 */
static inline int mp_spawn_asleep(struct mp_child *c, mp_child_fn fn,
				  void *arg)
{
	int ret = mp_spawn(c, fn, arg);
	__u64 ready;

	if (ret)
		return ret;
	if (mp_recv(c->rd, &ready))
		return -EPIPE;
	return mp_wait_sleeping(c->pid) ? -ETIME : 0;
}

/* Exit status of the child, 128 + signal if killed, -1 on error. */
static inline int mp_reap(struct mp_child *c)
{
	int status;

	close(c->rd);
	close(c->wr);
	if (waitpid(c->pid, &status, 0) != c->pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static inline int mp_kill(struct mp_child *c)
{
	kill(c->pid, SIGKILL);
	return mp_reap(c);
}

#endif /* MSGPOOL_TASK_H */
