// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmsgpool publish/subscribe: subscribe, publish, take, mark read,
 * waiting in poll(), the pool's one sequence, the overwrite policy and
 * its loss count, the notify generation, and the calls that do two of
 * these in one system call.  Children synchronise over
 * pipes; nothing sleeps for a fixed time.
 */
#include <poll.h>
#include <sched.h>
#include <stdint.h>

#include "harness.h"
#include "helpers.h"

SMALL_POOL_FIXTURE(ps)

TEST_F(ps, subscribe_errors)
{
	struct msgpool *ro, *none = NULL;
	struct msgpool_guard g;

	EXPECT_EQ(MSGPOOL_E_CLOSED, msgpool_subscribe(none));
	EXPECT_EQ(MSGPOOL_E_CLOSED, msgpool_unsubscribe(none));
	EXPECT_EQ(MSGPOOL_E_CLOSED, msgpool_fd(none));
	EXPECT_EQ(MSGPOOL_E_NOT_FOUND, msgpool_take(self->pool,
						  MSGPOOL_NONBLOCK, &g));
	EXPECT_EQ(MSGPOOL_E_NOT_FOUND, msgpool_unsubscribe(self->pool));
	EXPECT_EQ(0, msgpool_subscribe(self->pool));
	EXPECT_EQ(MSGPOOL_E_EXISTS, msgpool_subscribe(self->pool));
	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_take(self->pool, MSGPOOL_WAIT,
						  &g));
	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_take(self->pool, 0, NULL));

	ASSERT_EQ(0, msgpool_open(self->name, NULL, MSGPOOL_OPEN_RDONLY, 0,
				  &ro));
	EXPECT_EQ(1, msgpool_subscribe(ro));
	EXPECT_LE(0, msgpool_fd(ro));
	EXPECT_NE(msgpool_fd(ro), msgpool_fd(self->pool));
	EXPECT_EQ(0, msgpool_unsubscribe(self->pool));
	EXPECT_EQ(0, msgpool_close(&ro));
	EXPECT_STRNE("unknown msgpool error",
		     msgpool_strerror(MSGPOOL_E_EMPTY));
}

TEST_F(ps, publish_take_mark_read)
{
	struct msgpool_guard l, g, g2;

	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	EXPECT_EQ(MSGPOOL_E_EMPTY, msgpool_take(self->pool, MSGPOOL_NONBLOCK,
						&g));
	ASSERT_EQ(0, msgpool_loan(self->pool, 100, 0, &l));
	strcpy(l.data, "in place");
	EXPECT_EQ(MSGPOOL_E_TOO_BIG, msgpool_publish(self->pool, &l,
						     SMALL_SIZE + 1, 1));
	ASSERT_EQ(0, msgpool_publish(self->pool, &l, 9, 77));
	EXPECT_EQ(NULL, l.data);
	EXPECT_EQ(1, l.hdr.seq);
	EXPECT_EQ(77, l.hdr.tag);
	EXPECT_EQ(MSGPOOL_E_NOT_HELD, msgpool_publish(self->pool, &l, 9, 77));

	ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &g));
	EXPECT_EQ(l.token, g.token);
	EXPECT_STREQ("in place", g.data);
	EXPECT_EQ(9, g.hdr.len);
	EXPECT_EQ(SMALL_SIZE, g.hdr.capacity);
	EXPECT_EQ(77, g.hdr.tag);
	EXPECT_EQ(1, g.hdr.seq);
	EXPECT_EQ((uint32_t)getpid(), g.hdr.producer);
	EXPECT_EQ(0, g.hdr.lost);
	EXPECT_EQ(MSGPOOL_E_NOT_HELD, msgpool_release(self->pool, &g));
	EXPECT_EQ(MSGPOOL_E_NOT_HELD, msgpool_mark_read(self->pool, &l));
	/* A published message is its readers': taken, not read or freed. */
	EXPECT_EQ(MSGPOOL_E_PERMISSION, msgpool_read(self->pool, g.token, 0,
						     &l));
	EXPECT_EQ(MSGPOOL_E_BORROW_ACTIVE, msgpool_free(self->pool, g.token));
	EXPECT_EQ(ALL_SLOTS - 1, msgpool_available(self->pool));
	ASSERT_EQ(0, msgpool_mark_read(self->pool, &g));
	EXPECT_EQ(NULL, g.data);
	EXPECT_EQ(MSGPOOL_E_NOT_HELD, msgpool_mark_read(self->pool, &g));
	EXPECT_EQ(ALL_SLOTS, msgpool_available(self->pool));

	/* Unsubscribing ends the takes: their guards are stale. */
	ASSERT_EQ(0, send_text(self->pool, "two", 2));
	ASSERT_EQ(0, msgpool_take(self->pool, 0, &g2));
	ASSERT_EQ(0, msgpool_unsubscribe(self->pool));
	EXPECT_EQ(ALL_SLOTS, msgpool_available(self->pool));
	EXPECT_EQ(MSGPOOL_E_NOT_FOUND, msgpool_mark_read(self->pool,
							      &g2));
	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	EXPECT_EQ(MSGPOOL_E_NOT_ALLOCATED, msgpool_mark_read(self->pool,
							     &g2));
	EXPECT_EQ(0, msgpool_missed(self->pool));
}

TEST_F(ps, wait_and_notify_gen)
{
	struct msgpool_guard g;
	uint64_t gen;

	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_wait(self->pool, POLLERR, 0));
	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_wait(self->pool, 0, 0));
	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	EXPECT_EQ(0, msgpool_wait(self->pool, POLLIN, 0));
	EXPECT_EQ(0, msgpool_wait(self->pool, POLLIN, 10));
	EXPECT_EQ(1, msgpool_wait(self->pool, POLLOUT, 0));
	gen = msgpool_notify_gen(self->pool);
	ASSERT_EQ(0, send_text(self->pool, "x", 0));
	EXPECT_LT(gen, msgpool_notify_gen(self->pool));
	EXPECT_EQ(1, msgpool_wait(self->pool, POLLIN, -1));
	gen = msgpool_notify_gen(self->pool);
	ASSERT_EQ(0, msgpool_take(self->pool, 0, &g));
	EXPECT_EQ(0, msgpool_wait(self->pool, POLLIN, 0));
	ASSERT_EQ(0, msgpool_mark_read(self->pool, &g));
	EXPECT_LT(gen, msgpool_notify_gen(self->pool));
	EXPECT_EQ(0, msgpool_notify_gen(NULL));
}

/* Subscribes, then blocks in msgpool_take() until the parent publishes. */
static int blocked_taker(int rd, int wr, void *name)
{
	struct msgpool *pool;
	struct msgpool_guard g;

	if (msgpool_open(name, NULL, MSGPOOL_OPEN_RDONLY, 0, &pool) ||
	    msgpool_subscribe(pool) < 0)
		return 1;
	CHILD_CHECK(mp_send(wr, 0) == 0);
	if (msgpool_take(pool, 0, &g))
		return 2;
	if (mp_send(wr, g.hdr.seq))
		return 3;
	return msgpool_mark_read(pool, &g) ? 4 : 0;
}

TEST_F(ps, blocking_take_wakes)
{
	struct mp_child ch;
	__u64 seq = 0;

	ASSERT_EQ(0, mp_spawn(&ch, blocked_taker, self->name));
	ASSERT_EQ(0, mp_recv(ch.rd, &seq));
	ASSERT_EQ(0, send_text(self->pool, "wake", 5));
	ASSERT_EQ(0, mp_recv(ch.rd, &seq));
	EXPECT_EQ(1, seq);
	EXPECT_EQ(0, mp_reap(&ch));
	EXPECT_EQ(ALL_SLOTS, msgpool_available(self->pool));
}

TEST(overwrite_counts_missed)
{
	struct msgpool_config cfg = one_class(64, 4);
	char name[MSGPOOL_NAME_MAX];
	struct msgpool *pool, *rd;
	struct msgpool_guard g;
	struct msgpool_info st;
	int i;

	pool_name(name, "ow");
	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_open(name, NULL,
						  MSGPOOL_OPEN_OVERWRITE, 0,
						  &pool));
	ASSERT_EQ(0, msgpool_open(name, &cfg, MSGPOOL_OPEN_CREATE |
				  MSGPOOL_OPEN_EXCL | MSGPOOL_OPEN_OVERWRITE,
				  0600, &pool));
	ASSERT_EQ(0, msgpool_open(name, NULL, MSGPOOL_OPEN_RDONLY, 0, &rd));
	ASSERT_EQ(0, msgpool_stats(rd, &st));
	EXPECT_EQ(MSGPOOL_ATTACH_OVERWRITE, st.pool_flags);
	ASSERT_EQ(0, msgpool_subscribe(rd));
	ASSERT_EQ(0, send_text(pool, "1", 1));
	ASSERT_EQ(0, msgpool_take(rd, 0, &g));
	ASSERT_EQ(0, msgpool_mark_read(rd, &g));
	for (i = 2; i <= 10; i++)
		ASSERT_EQ(0, send_text(pool, "n", i));
	/* 2..6 were overwritten. */
	ASSERT_EQ(0, msgpool_take(rd, 0, &g));
	EXPECT_EQ(7, g.hdr.seq);
	EXPECT_EQ(5, g.hdr.lost);
	EXPECT_EQ(5, msgpool_missed(rd));
	ASSERT_EQ(0, msgpool_mark_read(rd, &g));
	for (i = 8; i <= 10; i++) {
		ASSERT_EQ(0, msgpool_take(rd, MSGPOOL_NONBLOCK, &g));
		EXPECT_EQ(i, g.hdr.seq);
		EXPECT_EQ(0, g.hdr.lost);
		ASSERT_EQ(0, msgpool_mark_read(rd, &g));
	}
	EXPECT_EQ(5, msgpool_missed(rd));
	EXPECT_EQ(0, msgpool_missed(NULL));
	/* A new subscription starts a new count. */
	ASSERT_EQ(0, msgpool_unsubscribe(rd));
	ASSERT_EQ(0, msgpool_subscribe(rd));
	EXPECT_EQ(0, msgpool_missed(rd));
	msgpool_close(&rd);
	msgpool_close(&pool);
}

TEST_F(ps, one_sequence_for_stores_and_publishes)
{
	struct msgpool_info st;
	struct msgpool_guard g;
	struct msgpool_op h;
	uint64_t tok;

	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	ASSERT_EQ(0, send_text(self->pool, "a", 1));
	ASSERT_EQ(0, msgpool_store(self->pool, "s", 1, 0, 0, &tok));
	ASSERT_EQ(0, send_text(self->pool, "b", 2));
	ASSERT_EQ(0, msgpool_header(self->pool, tok, &h));
	EXPECT_EQ(2, h.seq);
	ASSERT_EQ(0, msgpool_stats(self->pool, &st));
	EXPECT_EQ(3, st.seq);
	EXPECT_EQ(1, st.nr_readers);
	EXPECT_EQ(0, st.pool_flags);

	/* The store's number is a gap in the reader's, not a loss. */
	ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &g));
	EXPECT_EQ(1, g.hdr.seq);
	ASSERT_EQ(0, msgpool_mark_read(self->pool, &g));
	ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &g));
	EXPECT_EQ(3, g.hdr.seq);
	EXPECT_EQ(0, g.hdr.lost);
	ASSERT_EQ(0, msgpool_mark_read(self->pool, &g));
	EXPECT_EQ(0, msgpool_missed(self->pool));
	ASSERT_EQ(0, msgpool_free(self->pool, tok));
}

TEST_F(ps, backpressure_wait)
{
	struct msgpool_guard g;
	int i;

	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	for (i = 0; i < ALL_SLOTS; i++)
		ASSERT_EQ(0, send_text(self->pool, "full", i));
	EXPECT_EQ(MSGPOOL_E_NO_FREE_SLOTS, msgpool_loan(self->pool, 1, 0, &g));
	EXPECT_EQ(0, msgpool_wait(self->pool, POLLOUT, 0));
	ASSERT_EQ(0, msgpool_take(self->pool, 0, &g));
	EXPECT_EQ(0, msgpool_wait(self->pool, POLLOUT, 0));
	ASSERT_EQ(0, msgpool_mark_read(self->pool, &g));
	EXPECT_EQ(1, msgpool_wait(self->pool, POLLOUT, 0));
	ASSERT_EQ(0, msgpool_loan(self->pool, 1, 0, &g));
	EXPECT_EQ(0, msgpool_discard(self->pool, &g));
}

/* One system call a message: publish and loan, mark read and take. */
TEST_F(ps, combined_calls_in_order)
{
	struct msgpool_guard g, r, x;
	char text[16];
	int i;

	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	ASSERT_EQ(0, msgpool_loan(self->pool, 16, 0, &g));
	for (i = 1; i <= 5; i++) {
		snprintf(g.data, 16, "m%d", i);
		ASSERT_EQ(0, msgpool_publish_loan(self->pool, &g, 3, i, 16, 0,
						  &g));
		ASSERT_NE(NULL, g.data);
	}
	EXPECT_EQ(ALL_SLOTS - 6, msgpool_available(self->pool));
	ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &r));
	for (i = 1; i <= 5; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		EXPECT_STREQ(text, r.data);
		EXPECT_EQ(i, r.hdr.tag);
		EXPECT_EQ(i, r.hdr.seq);
		EXPECT_EQ(3, r.hdr.len);
		if (i < 5)
			ASSERT_EQ(0, msgpool_mark_read_take(self->pool, &r,
							    MSGPOOL_NONBLOCK,
							    &r));
	}
	/* Each call ends its own kind of guard only, and clears @next. */
	EXPECT_EQ(MSGPOOL_E_NOT_HELD, msgpool_mark_read_take(self->pool, &g, 0,
							     &x));
	EXPECT_NE(NULL, g.data);
	EXPECT_EQ(NULL, x.data);
	EXPECT_EQ(MSGPOOL_E_NOT_HELD, msgpool_publish_loan(self->pool, &r, 1,
							   0, 1, 0, &x));
	EXPECT_NE(NULL, r.data);
	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_publish_loan(self->pool, &g, 1,
							  0, 1, MSGPOOL_ADOPT,
							  &g));
	EXPECT_EQ(MSGPOOL_E_INVALID, msgpool_mark_read_take(self->pool, &r,
							    MSGPOOL_WAIT, &r));
	EXPECT_EQ(MSGPOOL_E_CLOSED, msgpool_mark_read_take(NULL, &r, 0, &r));
	EXPECT_EQ(0, msgpool_mark_read(self->pool, &r));
	EXPECT_EQ(0, msgpool_discard(self->pool, &g));
	EXPECT_EQ(ALL_SLOTS, msgpool_available(self->pool));
}

/* Published, then no slot for the next loan: told apart by g.data. */
TEST_F(ps, publish_loan_partial)
{
	struct msgpool_guard g, next, r;
	int i;

	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	ASSERT_EQ(0, msgpool_loan(self->pool, 1, 0, &g));
	strcpy(g.data, "last");
	/* A publish that fails: nothing happened, the loan goes on. */
	EXPECT_EQ(MSGPOOL_E_TOO_BIG, msgpool_publish_loan(self->pool, &g,
							  SMALL_SIZE + 1, 0,
							  1, 0, &next));
	EXPECT_NE(NULL, g.data);
	EXPECT_EQ(NULL, next.data);
	for (i = 1; i < ALL_SLOTS; i++)
		ASSERT_EQ(0, send_text(self->pool, "full", i));
	EXPECT_EQ(0, msgpool_available(self->pool));

	EXPECT_EQ(MSGPOOL_E_NO_FREE_SLOTS,
		  msgpool_publish_loan(self->pool, &g, 5, 99, 1,
				       MSGPOOL_NONBLOCK, &next));
	EXPECT_EQ(NULL, g.data);
	EXPECT_EQ(ALL_SLOTS, g.hdr.seq);
	EXPECT_EQ(99, g.hdr.tag);
	EXPECT_EQ(NULL, next.data);
	EXPECT_EQ(MSGPOOL_E_NOT_HELD, msgpool_publish(self->pool, &g, 5, 0));
	EXPECT_EQ(MSGPOOL_E_NOT_HELD, msgpool_discard(self->pool, &next));

	/* The published message is delivered, last. */
	for (i = 1; i < ALL_SLOTS; i++) {
		ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &r));
		EXPECT_EQ(i, r.hdr.tag);
		ASSERT_EQ(0, msgpool_mark_read(self->pool, &r));
	}
	ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &r));
	EXPECT_EQ(g.token, r.token);
	EXPECT_STREQ("last", r.data);
	EXPECT_EQ(99, r.hdr.tag);
	EXPECT_EQ(0, msgpool_mark_read(self->pool, &r));
	EXPECT_EQ(ALL_SLOTS, msgpool_available(self->pool));
}

/* The same with one guard: it ends, keeping the published header. */
TEST_F(ps, publish_loan_partial_same_guard)
{
	struct msgpool_guard g, r;
	int i;

	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	ASSERT_EQ(0, msgpool_loan(self->pool, 1, 0, &g));
	for (i = 1; i < ALL_SLOTS; i++)
		ASSERT_EQ(0, send_text(self->pool, "full", i));
	EXPECT_EQ(MSGPOOL_E_NO_FREE_SLOTS,
		  msgpool_publish_loan(self->pool, &g, 1, 7, 1,
				       MSGPOOL_NONBLOCK, &g));
	EXPECT_EQ(NULL, g.data);
	EXPECT_EQ(ALL_SLOTS, g.hdr.seq);
	EXPECT_EQ(7, g.hdr.tag);
	EXPECT_EQ(MSGPOOL_E_NOT_HELD, msgpool_discard(self->pool, &g));
	for (i = 0; i < ALL_SLOTS; i++) {
		ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &r));
		ASSERT_EQ(0, msgpool_mark_read(self->pool, &r));
	}
	EXPECT_EQ(7, r.hdr.tag);
	EXPECT_EQ(ALL_SLOTS, msgpool_available(self->pool));
}

/* Marked read, then nothing to take. */
TEST_F(ps, mark_read_take_empty)
{
	struct msgpool_guard g, next;

	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	ASSERT_EQ(0, send_text(self->pool, "only", 1));
	ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &g));
	EXPECT_EQ(ALL_SLOTS - 1, msgpool_available(self->pool));
	EXPECT_EQ(MSGPOOL_E_EMPTY, msgpool_mark_read_take(self->pool, &g,
							  MSGPOOL_NONBLOCK,
							  &next));
	EXPECT_EQ(NULL, g.data);
	EXPECT_EQ(NULL, next.data);
	EXPECT_EQ(ALL_SLOTS, msgpool_available(self->pool));
	EXPECT_EQ(MSGPOOL_E_NOT_HELD, msgpool_mark_read(self->pool, &g));
	EXPECT_EQ(MSGPOOL_E_NOT_HELD, msgpool_mark_read(self->pool, &next));
	EXPECT_EQ(MSGPOOL_E_NOT_HELD, msgpool_mark_read_take(self->pool, &g,
							     MSGPOOL_NONBLOCK,
							     &next));

	/* Unsubscribed since the take: the mark fails, the take stays. */
	ASSERT_EQ(0, send_text(self->pool, "two", 2));
	ASSERT_EQ(0, msgpool_take(self->pool, MSGPOOL_NONBLOCK, &g));
	ASSERT_EQ(0, msgpool_unsubscribe(self->pool));
	EXPECT_EQ(MSGPOOL_E_NOT_FOUND, msgpool_mark_read_take(self->pool, &g,
							      MSGPOOL_NONBLOCK,
							      &next));
	EXPECT_NE(NULL, g.data);
	EXPECT_EQ(ALL_SLOTS, msgpool_available(self->pool));
}

struct gen_args {
	const char *name;
	uint64_t gen;	/* notify generation before the reader's mark */
};

/* Publishes once the reader's mark has moved the notify generation. */
static int publish_after_mark(int rd, int wr, void *arg)
{
	const struct gen_args *ga = arg;
	struct msgpool *pool;

	if (msgpool_open(ga->name, NULL, 0, 0, &pool))
		return 1;
	CHILD_CHECK(mp_send(wr, 0) == 0);
	while (msgpool_notify_gen(pool) == ga->gen)
		sched_yield();
	return send_text(pool, "late", 9) ? 2 : 0;
}

/* Without MSGPOOL_NONBLOCK it marks, waits in poll(), then takes. */
TEST_F(ps, mark_read_take_waits)
{
	struct gen_args ga = { self->name, 0 };
	struct msgpool_guard g;
	struct mp_child ch;
	__u64 ready;

	ASSERT_EQ(0, msgpool_subscribe(self->pool));
	ASSERT_EQ(0, send_text(self->pool, "first", 8));
	ASSERT_EQ(0, msgpool_take(self->pool, 0, &g));
	ga.gen = msgpool_notify_gen(self->pool);
	ASSERT_EQ(0, mp_spawn(&ch, publish_after_mark, &ga));
	ASSERT_EQ(0, mp_recv(ch.rd, &ready));
	ASSERT_EQ(0, msgpool_mark_read_take(self->pool, &g, 0, &g));
	EXPECT_STREQ("late", g.data);
	EXPECT_EQ(9, g.hdr.tag);
	EXPECT_EQ(0, mp_reap(&ch));
	EXPECT_EQ(0, msgpool_mark_read(self->pool, &g));
	EXPECT_EQ(ALL_SLOTS, msgpool_available(self->pool));
}

TEST_HARNESS_MAIN
