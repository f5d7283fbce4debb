/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared bits of the libmsgpool tests.  Each kselftest-harness test runs in
 * its own process, so a name made of the pid and a suffix is unique.
 */
#ifndef MSGPOOL_TEST_HELPERS_H
#define MSGPOOL_TEST_HELPERS_H

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msgpool.h"
#include "../../selftests/msgpool_task.h"

/* The small pool most tests use: 14 slots in three classes. */
#define SMALL_SIZE	256
#define SMALL_SLOTS	8
#define MID_SIZE	4096
#define MID_SLOTS	4
#define BIG_SIZE	65536
#define BIG_SLOTS	2
#define ALL_SLOTS	(SMALL_SLOTS + MID_SLOTS + BIG_SLOTS)

static inline struct msgpool_config small_config(void)
{
	struct msgpool_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.nr_classes = 3;
	cfg.classes[0].slot_size = SMALL_SIZE;
	cfg.classes[0].nr_slots = SMALL_SLOTS;
	cfg.classes[1].slot_size = MID_SIZE;
	cfg.classes[1].nr_slots = MID_SLOTS;
	cfg.classes[2].slot_size = BIG_SIZE;
	cfg.classes[2].nr_slots = BIG_SLOTS;
	return cfg;
}

static inline struct msgpool_config one_class(uint32_t size, uint32_t slots)
{
	struct msgpool_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.nr_classes = 1;
	cfg.classes[0].slot_size = size;
	cfg.classes[0].nr_slots = slots;
	return cfg;
}

static inline void pool_name(char *buf, const char *suffix)
{
	snprintf(buf, MSGPOOL_NAME_MAX, "t%d-%s", (int)getpid(), suffix);
}

/* Creates a fresh pool or fails the test. */
#define OPEN_SMALL(name, suffix, poolp) do { \
	struct msgpool_config __cfg = small_config(); \
	if (access(MSGPOOL_DEVICE, F_OK)) \
		TH_LOG("no %s: load msgpool.ko first", MSGPOOL_DEVICE); \
	pool_name(name, suffix); \
	ASSERT_EQ(0, msgpool_open(name, &__cfg, MSGPOOL_OPEN_CREATE | \
				  MSGPOOL_OPEN_EXCL, 0600, poolp)); \
} while (0)

/*
 * The fixture of a test that starts with a fresh small pool of its own,
 * self->pool, called self->name.  The fixture's name makes the suffix.
 */
#define SMALL_POOL_FIXTURE(fixture) \
FIXTURE(fixture) { \
	char name[MSGPOOL_NAME_MAX]; \
	struct msgpool *pool; \
}; \
FIXTURE_SETUP(fixture) \
{ \
	OPEN_SMALL(self->name, #fixture, &self->pool); \
} \
FIXTURE_TEARDOWN(fixture) \
{ \
	if (self->pool) \
		msgpool_close(&self->pool); \
}

/* Stores @n messages of @len bytes; returns how many it could. */
static inline int store_n(struct msgpool *pool, int n, size_t len,
			  uint64_t *tokens)
{
	static const char payload[SMALL_SIZE];
	uint64_t tok;
	int i;

	for (i = 0; i < n; i++)
		if (msgpool_store(pool, payload, len, 0, 0,
				  tokens ? &tokens[i] : &tok))
			break;
	return i;
}

/*
 * Forks a child that runs @fn(@arg) and exits with its return value.  The
 * child writes one byte to the returned pipe (*@ready) when @fn calls
 * child_ready(); the parent reads it with wait_ready().
 */
struct child {
	pid_t pid;
	int ready;		/* parent: read end */
};

static int child_ready_fd = -1;

static inline void child_ready(void)
{
	char c = 'r';

	if (write(child_ready_fd, &c, 1) != 1)
		_exit(100);
}

static inline struct child spawn(int (*fn)(void *), void *arg)
{
	struct child ch = { .pid = -1, .ready = -1 };
	int fds[2];

	if (pipe(fds))
		return ch;
	ch.pid = fork();
	if (ch.pid == 0) {
		close(fds[0]);
		child_ready_fd = fds[1];
		_exit(fn(arg));
	}
	close(fds[1]);
	ch.ready = fds[0];
	return ch;
}

/* 1 once the child called child_ready(), 0 if it exited first. */
static inline int wait_ready(struct child *ch)
{
	char c;

	return read(ch->ready, &c, 1) == 1;
}

/* The child's exit status, or 128 + signal. */
static inline int reap(struct child *ch)
{
	int status;

	close(ch->ready);
	if (waitpid(ch->pid, &status, 0) != ch->pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static inline int kill_and_reap(struct child *ch)
{
	kill(ch->pid, SIGKILL);
	return reap(ch);
}

/* Loans, writes @text and publishes it with @tag. */
static inline int send_text(struct msgpool *pool, const char *text,
			    uint64_t tag)
{
	struct msgpool_guard g;
	int err = msgpool_loan(pool, strlen(text) + 1, 0, &g);

	if (err)
		return err;
	strcpy(g.data, text);
	return msgpool_publish(pool, &g, strlen(text) + 1, tag);
}

/* A child reader of pool @name that reports the seqs it took on @fd. */
struct reader_args {
	const char *name;
	int fd;
};

static inline int write_seq(int fd, const struct msgpool_guard *g)
{
	return write(fd, &g->hdr.seq, sizeof(g->hdr.seq)) ==
	       sizeof(g->hdr.seq) ? 0 : -1;
}

/* A child that exists only to be killed: parks after child_ready(). */
static inline _Noreturn void park(void)
{
	child_ready();
	for (;;)
		pause();
}

#endif /* MSGPOOL_TEST_HELPERS_H */
