// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmsgpool publish/subscribe: subscribe, publish, take, mark read,
 * waiting in poll(), the pool's one sequence, the overwrite policy and
 * its loss count, the notify generation.  Children synchronise over
 * pipes; nothing sleeps for a fixed time.
 */
#include <poll.h>
#include <stdint.h>

#include "harness.h"
#include "helpers.h"

FIXTURE(ps) {
	char name[MSGPOOL_NAME_MAX];
	struct msgpool *pool;
};

FIXTURE_SETUP(ps)
{
	OPEN_SMALL(self->name, "ps", &self->pool);
}

FIXTURE_TEARDOWN(ps)
{
	if (self->pool)
		msgpool_close(&self->pool);
}

/* Loans, writes @text and publishes it with @tag. */
static int send_text(struct msgpool *pool, const char *text, uint64_t tag)
{
	struct msgpool_guard g;
	int err = msgpool_loan(pool, strlen(text) + 1, 0, &g);

	if (err)
		return err;
	strcpy(g.data, text);
	return msgpool_publish(pool, &g, strlen(text) + 1, tag);
}

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

struct take_args {
	const char *name;
	int fd;		/* where the child writes the seq it took */
};

/* Subscribes, then blocks in msgpool_take() until the parent publishes. */
static int blocked_taker(void *arg)
{
	const struct take_args *ta = arg;
	struct msgpool *pool;
	struct msgpool_guard g;

	if (msgpool_open(ta->name, NULL, MSGPOOL_OPEN_RDONLY, 0, &pool) ||
	    msgpool_subscribe(pool) < 0)
		return 1;
	child_ready();
	if (msgpool_take(pool, 0, &g))
		return 2;
	if (write(ta->fd, &g.hdr.seq, sizeof(g.hdr.seq)) != sizeof(g.hdr.seq))
		return 3;
	return msgpool_mark_read(pool, &g) ? 4 : 0;
}

TEST_F(ps, blocking_take_wakes)
{
	struct take_args ta = { self->name, -1 };
	struct child ch;
	uint64_t seq = 0;
	int fds[2];

	ASSERT_EQ(0, pipe(fds));
	ta.fd = fds[1];
	ch = spawn(blocked_taker, &ta);
	ASSERT_LT(0, ch.pid);
	ASSERT_EQ(1, wait_ready(&ch));
	ASSERT_EQ(0, send_text(self->pool, "wake", 5));
	ASSERT_EQ(sizeof(seq), read(fds[0], &seq, sizeof(seq)));
	EXPECT_EQ(1, seq);
	EXPECT_EQ(0, reap(&ch));
	EXPECT_EQ(ALL_SLOTS, msgpool_available(self->pool));
	close(fds[0]);
	close(fds[1]);
}

TEST(overwrite_counts_missed)
{
	struct msgpool_config cfg;
	char name[MSGPOOL_NAME_MAX];
	struct msgpool *pool, *rd;
	struct msgpool_guard g;
	struct msgpool_info st;
	int i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.nr_classes = 1;
	cfg.classes[0].slot_size = 64;
	cfg.classes[0].nr_slots = 4;
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

TEST_HARNESS_MAIN
