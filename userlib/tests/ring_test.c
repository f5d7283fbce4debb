// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmsgpool reader rings: msgpool_ring(), then take, mark read, mark
 * read and take, and wait through the rings: their results, their order,
 * many messages through small rings, no system call while messages come
 * and one when the kernel may hold some back, a reader limit,
 * wake-ups of a sleeping reader and of a writer waiting for a slot,
 * threads sharing a ring, and the end of the rings at unsubscribe.
 * Children synchronise over pipes and /proc; nothing sleeps for a fixed
 * time.
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "harness.h"
#include "helpers.h"

SMALL_POOL_FIXTURE(ring)

/*
 * Free slots once the kernel has drained the completion rings: a poll()
 * of any peer drains them, and a mark read through a ring is only queued.
 */
static int64_t drained_available(struct msgpool *pool)
{
	if (msgpool_wait(pool, POLLOUT, 0) < 0)
		return -1;
	return msgpool_available(pool);
}

TEST_F(ring, errors)
{
	struct msgpool *ro, *none = NULL;

	EXPECT_EQ(MSGPOOL_E_CLOSED, msgpool_ring(none, 8));
	EXPECT_EQ(MSGPOOL_E_NOT_FOUND, msgpool_ring(self->pool, 8));
	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_ring(self->pool, 0));
	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_ring(self->pool, 3));
	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_ring(self->pool,
						  MSGPOOL_RING_MIN / 2));
	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_ring(self->pool,
						  MSGPOOL_RING_MAX * 2));
	ASSERT_EQ(0, msgpool_ring(self->pool, MSGPOOL_RING_MIN));
	EXPECT_EQ(MSGPOOL_E_EXISTS, msgpool_ring(self->pool, 8));

	/* The completion ring is written through the mapping. */
	ASSERT_EQ(0, msgpool_open(self->name, NULL, MSGPOOL_OPEN_RDONLY, 0,
				  &ro));
	ASSERT_LT(0, msgpool_subscribe(ro));
	EXPECT_EQ(MSGPOOL_E_PERMISSION, msgpool_ring(ro, 8));
	EXPECT_EQ(0, msgpool_close(&ro));
}

TEST_F(ring, take_mark_read_round_trip)
{
	struct msgpool_guard l, g;

	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	/* Published before the ring: the kernel still holds it. */
	ASSERT_EQ(0, send_text(self->pool, "before", 1));
	ASSERT_EQ(0, msgpool_ring(self->pool, 8));
	ASSERT_EQ(0, msgpool_loan(self->pool, 100, 0, &l));
	strcpy(l.data, "in the ring");
	ASSERT_EQ(0, msgpool_publish(self->pool, &l, 12, 77));
	EXPECT_EQ(1, msgpool_wait(self->pool, POLLIN, 0));

	ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &g));
	EXPECT_STREQ("before", g.data);
	EXPECT_EQ(1, g.hdr.tag);
	EXPECT_EQ(1, g.hdr.seq);
	ASSERT_EQ(0, msgpool_mark_read(self->pool, &g));

	ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &g));
	EXPECT_EQ(l.token, g.token);
	EXPECT_STREQ("in the ring", g.data);
	EXPECT_EQ(12, g.hdr.len);
	EXPECT_EQ(SMALL_SIZE, g.hdr.capacity);
	EXPECT_EQ(77, g.hdr.tag);
	EXPECT_EQ(2, g.hdr.seq);
	EXPECT_EQ(l.hdr.timestamp_ns, g.hdr.timestamp_ns);
	EXPECT_EQ((uint32_t)getpid(), g.hdr.producer);
	EXPECT_EQ(0, g.hdr.lost);
	/* A take from the ring is a take like any other. */
	EXPECT_EQ(MSGPOOL_E_NOT_HELD, msgpool_release(self->pool, &g));
	EXPECT_EQ(MSGPOOL_E_PERMISSION, msgpool_read(self->pool, g.token, 0,
						     &l));
	EXPECT_EQ(MSGPOOL_E_BORROW_ACTIVE, msgpool_free(self->pool, g.token));
	EXPECT_EQ(ALL_SLOTS - 1, drained_available(self->pool));
	ASSERT_EQ(0, msgpool_mark_read(self->pool, &g));
	EXPECT_EQ(NULL, g.data);
	EXPECT_EQ(MSGPOOL_E_NOT_HELD, msgpool_mark_read(self->pool, &g));
	EXPECT_EQ(ALL_SLOTS, drained_available(self->pool));

	EXPECT_EQ(0, msgpool_wait(self->pool, POLLIN, 0));
	EXPECT_EQ(MSGPOOL_E_EMPTY, msgpool_take(self->pool, MSGPOOL_NONBLOCK,
						&g));
	EXPECT_EQ(NULL, g.data);
	EXPECT_EQ(0, msgpool_missed(self->pool));
}

/*
 * From here on ioctl() and poll() fail with ENOSYS: what still works
 * makes neither.  Returns 0, or -1 where the filter cannot be had.
 */
static int forbid_ioctl_poll(void)
{
#ifdef __x86_64__
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_poll, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ppoll, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	};
	struct sock_fprog prog = { ARRAY_SIZE(f), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) ? -1 : 0;
#else
	return -1;
#endif
}

/* The point of the rings, checked: no system call while messages come. */
TEST_F(ring, no_system_call_while_messages_come)
{
	struct msgpool_guard g;
	int i;

	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	ASSERT_EQ(0, msgpool_ring(self->pool, 8));
	for (i = 1; i <= 6; i++)
		ASSERT_EQ(0, send_text(self->pool, "m", i));
	if (forbid_ioctl_poll())
		SKIP(return, "no seccomp filter here");

	EXPECT_EQ(1, msgpool_wait(self->pool, POLLIN, 0));
	ASSERT_EQ(0, msgpool_take(self->pool, 0, &g));
	EXPECT_EQ(1, g.hdr.tag);
	ASSERT_EQ(0, msgpool_mark_read(self->pool, &g));
	ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &g));
	for (i = 2; i < 6; i++) {
		EXPECT_EQ(i, g.hdr.tag);
		ASSERT_EQ(0, msgpool_mark_read_take(self->pool, &g,
						    MSGPOOL_NONBLOCK, &g));
	}
	EXPECT_EQ(6, g.hdr.tag);
	ASSERT_EQ(0, msgpool_mark_read(self->pool, &g));
	/* Empty, and never full: the kernel holds nothing back. */
	EXPECT_EQ(MSGPOOL_E_EMPTY, msgpool_take(self->pool, MSGPOOL_NONBLOCK,
						&g));
	/* Waiting is a system call. */
	EXPECT_EQ(MSGPOOL_E_SYSTEM, msgpool_wait(self->pool, POLLIN, 0));
	EXPECT_EQ(ENOSYS, errno);
}

/*
 * A ring that filled up since the last RING_SYNC: the kernel may hold
 * messages back, and an empty ring asks for them, a system call.
 */
TEST_F(ring, full_ring_asks_the_kernel)
{
	struct msgpool_guard g;
	int i;

	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	ASSERT_EQ(0, msgpool_ring(self->pool, 4));
	for (i = 1; i <= 5; i++)
		ASSERT_EQ(0, send_text(self->pool, "m", i));
	if (forbid_ioctl_poll())
		SKIP(return, "no seccomp filter here");
	for (i = 1; i <= 4; i++) {
		ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &g));
		EXPECT_EQ(i, g.hdr.tag);
	}
	EXPECT_EQ(MSGPOOL_E_SYSTEM, msgpool_take(self->pool, MSGPOOL_NONBLOCK,
						 &g));
	EXPECT_EQ(ENOSYS, errno);
}

/*
 * Many messages through rings of two: each round the kernel holds back
 * what does not fit and RING_SYNC fills the ring, the reader holds all
 * the round's takes so that marking them read fills the completion ring,
 * and the indexes wrap around the rings again and again.
 */
TEST_F(ring, order_through_small_rings)
{
	struct msgpool_guard g[ALL_SLOTS], x;
	uint64_t seq = 0, tag = 0;
	int round, i, n;

	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	ASSERT_EQ(0, msgpool_ring(self->pool, MSGPOOL_RING_MIN));
	for (round = 0; round < 20; round++) {
		n = round % 2 ? ALL_SLOTS : 5;
		for (i = 0; i < n; i++)
			ASSERT_EQ(0, send_text(self->pool, "o",
					       tag + 1 + i));
		for (i = 0; i < n; i++) {
			ASSERT_EQ(0, msgpool_take(self->pool,
						  MSGPOOL_NONBLOCK, &g[i]));
			EXPECT_EQ(++tag, g[i].hdr.tag);
			EXPECT_LT(seq, g[i].hdr.seq);
			EXPECT_EQ(0, g[i].hdr.lost);
			seq = g[i].hdr.seq;
		}
		EXPECT_EQ(MSGPOOL_E_EMPTY, msgpool_take(self->pool,
							MSGPOOL_NONBLOCK, &x));
		for (i = 0; i < n; i++)
			ASSERT_EQ(0, msgpool_mark_read(self->pool, &g[i]));
		ASSERT_EQ(ALL_SLOTS, drained_available(self->pool));
	}
	EXPECT_EQ(0, msgpool_missed(self->pool));
}

/*
 * A reader at its limit of takes: the kernel holds messages back until
 * one is marked read, and an empty ring asks for them.
 */
TEST(reader_limit_through_the_ring)
{
	struct msgpool_config cfg = small_config();
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_guard g[2], x;
	struct msgpool *pool;
	int i;

	cfg.reader_limit = 2;
	pool_name(name, "limit");
	ASSERT_EQ(0, msgpool_open(name, &cfg, MSGPOOL_OPEN_CREATE |
				  MSGPOOL_OPEN_EXCL, 0600, &pool));
	ASSERT_EQ(0, msgpool_subscribe(pool));
	ASSERT_EQ(0, msgpool_ring(pool, 8));
	for (i = 1; i <= 4; i++)
		ASSERT_EQ(0, send_text(pool, "l", i));
	ASSERT_EQ(0, msgpool_take(pool, MSGPOOL_NONBLOCK, &g[0]));
	ASSERT_EQ(0, msgpool_take(pool, MSGPOOL_NONBLOCK, &g[1]));
	EXPECT_EQ(2, g[1].hdr.tag);
	EXPECT_EQ(MSGPOOL_E_EMPTY, msgpool_take(pool, MSGPOOL_NONBLOCK, &x));
	for (i = 3; i <= 4; i++) {
		ASSERT_EQ(0, msgpool_mark_read(pool, &g[i % 2]));
		ASSERT_EQ(0, msgpool_take(pool, MSGPOOL_NONBLOCK, &g[i % 2]));
		EXPECT_EQ(i, g[i % 2].hdr.tag);
	}
	ASSERT_EQ(0, msgpool_mark_read(pool, &g[0]));
	ASSERT_EQ(0, msgpool_mark_read(pool, &g[1]));
	EXPECT_EQ(MSGPOOL_E_EMPTY, msgpool_take(pool, MSGPOOL_NONBLOCK, &x));
	EXPECT_EQ(ALL_SLOTS, drained_available(pool));
	EXPECT_EQ(0, msgpool_missed(pool));
	EXPECT_EQ(0, msgpool_close(&pool));
}

TEST_F(ring, mark_read_take)
{
	struct msgpool_guard g, next;
	int i;

	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	ASSERT_EQ(0, msgpool_ring(self->pool, 4));
	for (i = 1; i <= 6; i++)
		ASSERT_EQ(0, send_text(self->pool, "t", i));
	ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &g));
	for (i = 2; i <= 6; i++) {
		ASSERT_EQ(0, msgpool_mark_read_take(self->pool, &g,
						    MSGPOOL_NONBLOCK, &g));
		EXPECT_EQ(i, g.hdr.tag);
	}
	/* Marked read, then nothing to take: told apart by g.data. */
	EXPECT_EQ(MSGPOOL_E_EMPTY, msgpool_mark_read_take(self->pool, &g,
							  MSGPOOL_NONBLOCK,
							  &next));
	EXPECT_EQ(NULL, g.data);
	EXPECT_EQ(NULL, next.data);
	EXPECT_EQ(MSGPOOL_E_NOT_HELD, msgpool_mark_read_take(self->pool, &g,
							     MSGPOOL_NONBLOCK,
							     &next));
	EXPECT_EQ(ALL_SLOTS, drained_available(self->pool));
}

/*
 * A reader with rings that sleeps for each of two messages: in
 * msgpool_take(), then in msgpool_mark_read_take().
 */
static int ring_reader(int rd, int wr, void *name)
{
	struct msgpool *pool;
	struct msgpool_guard g;

	if (msgpool_open(name, NULL, 0, 0, &pool) ||
	    msgpool_subscribe(pool) < 0 || msgpool_ring(pool, 4))
		return 1;
	if (msgpool_wait(pool, POLLIN, 0) != 0)
		return 2;
	CHILD_CHECK(mp_send(wr, 0) == 0);
	if (msgpool_take(pool, 0, &g))
		return 3;
	if (mp_send(wr, g.hdr.seq))
		return 4;
	if (msgpool_mark_read_take(pool, &g, 0, &g))
		return 5;
	if (mp_send(wr, g.hdr.seq))
		return 6;
	return msgpool_mark_read(pool, &g) ? 7 : 0;
}

TEST_F(ring, sleeping_reader_wakes)
{
	struct mp_child ch;
	__u64 seq = 0;

	ASSERT_EQ(0, mp_spawn_asleep(&ch, ring_reader, self->name));
	ASSERT_EQ(0, send_text(self->pool, "one", 1));
	ASSERT_EQ(0, mp_recv(ch.rd, &seq));
	EXPECT_EQ(1, seq);
	/* Between its write and its poll() the child does not sleep. */
	ASSERT_EQ(0, mp_wait_sleeping(ch.pid));
	ASSERT_EQ(0, send_text(self->pool, "two", 2));
	ASSERT_EQ(0, mp_recv(ch.rd, &seq));
	EXPECT_EQ(2, seq);
	EXPECT_EQ(0, mp_reap(&ch));
	EXPECT_EQ(ALL_SLOTS, drained_available(self->pool));
}

/* Loans with MSGPOOL_WAIT in a full pool: sleeps until a slot is free. */
static int waiting_writer(int rd, int wr, void *name)
{
	struct msgpool *pool;
	struct msgpool_guard g;

	if (msgpool_open(name, NULL, 0, 0, &pool))
		return 1;
	CHILD_CHECK(mp_send(wr, 0) == 0);
	if (msgpool_loan(pool, 1, MSGPOOL_WAIT, &g))
		return 2;
	return msgpool_discard(pool, &g) ? 3 : 0;
}

/*
 * MSGPOOL_RING_NEED_WAKEUP: a mark read queued on the ring while a writer
 * sleeps for a slot must reach the kernel at once.  The reader makes no
 * other call until the writer is through: nothing else drains the ring.
 */
TEST_F(ring, mark_read_wakes_waiting_writer)
{
	struct msgpool_guard g;
	struct mp_child ch;
	int i;

	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	ASSERT_EQ(0, msgpool_ring(self->pool, 8));
	for (i = 0; i < ALL_SLOTS; i++)
		ASSERT_EQ(0, send_text(self->pool, "full", i));
	ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &g));
	ASSERT_EQ(0, mp_spawn_asleep(&ch, waiting_writer, self->name));
	/*
	 * Marked read with more in the receive ring, the sync may wait for
	 * the take that empties it: the writer wakes by then at the latest.
	 */
	ASSERT_EQ(0, msgpool_mark_read(self->pool, &g));
	for (i = 1; i < ALL_SLOTS; i++) {
		ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &g));
		ASSERT_EQ(0, msgpool_mark_read(self->pool, &g));
	}
	EXPECT_EQ(0, mp_reap(&ch));
}

TEST_F(ring, unsubscribe_ends_the_rings)
{
	struct msgpool_guard g, old;

	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	ASSERT_EQ(0, msgpool_ring(self->pool, 4));
	ASSERT_EQ(0, send_text(self->pool, "a", 1));
	ASSERT_EQ(0, send_text(self->pool, "b", 2));
	ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &old));
	ASSERT_EQ(0, msgpool_unsubscribe(self->pool));
	EXPECT_EQ(ALL_SLOTS, drained_available(self->pool));
	EXPECT_EQ(MSGPOOL_E_NOT_FOUND, msgpool_take(self->pool,
						    MSGPOOL_NONBLOCK, &g));
	EXPECT_EQ(MSGPOOL_E_NOT_FOUND, msgpool_mark_read(self->pool, &old));
	EXPECT_NE(NULL, old.data);

	/* Subscribed again: no rings, the calls are system calls again. */
	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	EXPECT_EQ(MSGPOOL_E_EXISTS, msgpool_ring(self->pool, 4));
	EXPECT_EQ(MSGPOOL_E_NOT_ALLOCATED, msgpool_mark_read(self->pool,
							     &old));
	EXPECT_EQ(0, msgpool_wait(self->pool, POLLIN, 0));
	ASSERT_EQ(0, send_text(self->pool, "c", 3));
	EXPECT_EQ(1, msgpool_wait(self->pool, POLLIN, 0));
	ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &g));
	EXPECT_EQ(3, g.hdr.tag);
	ASSERT_EQ(0, msgpool_mark_read(self->pool, &g));
	EXPECT_EQ(ALL_SLOTS, msgpool_available(self->pool));
	EXPECT_EQ(MSGPOOL_E_EMPTY, msgpool_take(self->pool, MSGPOOL_NONBLOCK,
						&g));
}

#define THREADS		3
#define MESSAGES	300

struct taker {
	pthread_t th;
	struct msgpool *pool;
	uint64_t count, sum;
	int err;		/* first failure, or 0 */
};

/* Takes and marks read until a message of tag 0; seqs must rise. */
static void *taker_run(void *arg)
{
	struct taker *t = arg;
	struct msgpool_guard g;
	uint64_t seq = 0;

	for (;;) {
		t->err = msgpool_take(t->pool, 0, &g);
		if (t->err)
			return NULL;
		if (g.hdr.seq <= seq) {
			t->err = -100;
			return NULL;
		}
		seq = g.hdr.seq;
		t->count += g.hdr.tag != 0;
		t->sum += g.hdr.tag;
		t->err = msgpool_mark_read(t->pool, &g);
		if (t->err || !g.hdr.tag)
			return NULL;
	}
}

/*
 * Threads share one handle's rings while the writer, ahead of them by
 * the pool's slots, sleeps for each one they mark read.
 */
TEST_F(ring, threads_share_the_rings)
{
	struct taker t[THREADS];
	struct msgpool_guard g;
	struct msgpool *rd;
	uint64_t count = 0, sum = 0;
	int i;

	ASSERT_EQ(0, msgpool_open(self->name, NULL, 0, 0, &rd));
	ASSERT_EQ(0, msgpool_subscribe(rd));
	ASSERT_EQ(0, msgpool_ring(rd, 4));
	memset(t, 0, sizeof(t));
	for (i = 0; i < THREADS; i++) {
		t[i].pool = rd;
		ASSERT_EQ(0, pthread_create(&t[i].th, NULL, taker_run, &t[i]));
	}
	for (i = 1; i <= MESSAGES + THREADS; i++) {
		ASSERT_EQ(0, msgpool_loan(self->pool, 8, MSGPOOL_WAIT, &g));
		ASSERT_EQ(0, msgpool_publish(self->pool, &g, 8,
					     i <= MESSAGES ? i : 0));
	}
	for (i = 0; i < THREADS; i++) {
		ASSERT_EQ(0, pthread_join(t[i].th, NULL));
		EXPECT_EQ(0, t[i].err);
		count += t[i].count;
		sum += t[i].sum;
	}
	EXPECT_EQ(MESSAGES, count);
	EXPECT_EQ((uint64_t)MESSAGES * (MESSAGES + 1) / 2, sum);
	EXPECT_EQ(ALL_SLOTS, drained_available(rd));
	EXPECT_EQ(0, msgpool_close(&rd));
}

TEST_HARNESS_MAIN
