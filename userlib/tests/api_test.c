// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmsgpool single-handle API: open, store/read round trips through the
 * mapping, loan/commit, read_mut in place, headers, figures and the error
 * code of every failure the kernel or the library reports.
 */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "helpers.h"

static void fill(void *buf, size_t len, unsigned int seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 31 + i * 7);
}

SMALL_POOL_FIXTURE(api)

TEST_F(api, figures)
{
	static const uint8_t untyped[MSGPOOL_TYPE_ID_LEN];
	struct msgpool_info st;

	ASSERT_EQ(ALL_SLOTS, msgpool_capacity(self->pool));
	ASSERT_EQ(ALL_SLOTS, msgpool_available(self->pool));
	ASSERT_EQ(MSGPOOL_MEMORY_HOST, msgpool_memory_class(self->pool));
	ASSERT_EQ(0, msgpool_stats(self->pool, &st));
	ASSERT_EQ(MSGPOOL_MEMORY_HOST, st.memory_class);
	ASSERT_EQ(3, st.nr_classes);
	ASSERT_EQ(ALL_SLOTS, st.capacity);
	ASSERT_EQ(ALL_SLOTS, st.available);
	ASSERT_EQ(SMALL_SIZE, st.classes[0].slot_size);
	ASSERT_EQ(SMALL_SLOTS, st.classes[0].nr_slots);
	ASSERT_EQ(SMALL_SLOTS, st.classes[0].available);
	ASSERT_EQ(SMALL_SIZE, st.classes[0].stride);
	ASSERT_EQ(MID_SIZE, st.classes[1].slot_size);
	ASSERT_EQ(BIG_SLOTS, st.classes[2].nr_slots);
	ASSERT_EQ(0, st.classes[3].slot_size);
	ASSERT_LE((uint64_t)SMALL_SIZE * SMALL_SLOTS + MID_SIZE * MID_SLOTS +
		  BIG_SIZE * BIG_SLOTS, st.map_size);
	ASSERT_EQ(0, st.map_size % (uint64_t)sysconf(_SC_PAGESIZE));
	ASSERT_NE(0, st.peer_id);
	ASSERT_EQ(0, st.nr_stores);
	ASSERT_EQ(0, st.nr_readers);
	ASSERT_EQ(0, st.pool_flags);
	ASSERT_EQ(0, st.seq);
	ASSERT_EQ(0, memcmp(untyped, st.type_id, sizeof(untyped)));
}

TEST_F(api, store_read_round_trip)
{
	char buf[200], again[200];
	struct msgpool_guard g;
	struct msgpool_info st;
	uint64_t t0, t1, tok;

	fill(buf, sizeof(buf), 1);
	t0 = mp_now_ns();
	ASSERT_EQ(0, msgpool_store(self->pool, buf, sizeof(buf), 0xfeed, 0,
				   &tok));
	t1 = mp_now_ns();
	ASSERT_NE(0, tok);
	ASSERT_EQ(ALL_SLOTS - 1, msgpool_available(self->pool));
	/* The caller's buffer is no longer needed: the pool has a copy. */
	memcpy(again, buf, sizeof(buf));
	memset(buf, 0, sizeof(buf));

	ASSERT_EQ(0, msgpool_read(self->pool, tok, 0, &g));
	ASSERT_EQ(tok, g.token);
	ASSERT_NE(NULL, g.data);
	ASSERT_EQ(sizeof(again), g.hdr.len);
	ASSERT_EQ(SMALL_SIZE, g.hdr.capacity);
	ASSERT_EQ(0xfeed, g.hdr.tag);
	ASSERT_EQ((uint32_t)getpid(), g.hdr.producer);
	ASSERT_LE(t0, g.hdr.timestamp_ns);
	ASSERT_GE(t1, g.hdr.timestamp_ns);
	ASSERT_EQ(0, memcmp(again, g.data, sizeof(again)));
	ASSERT_EQ(0, msgpool_release(self->pool, &g));
	ASSERT_EQ(NULL, g.data);

	ASSERT_EQ(0, msgpool_stats(self->pool, &st));
	ASSERT_EQ(1, st.nr_stores);
	ASSERT_EQ(1, st.nr_borrows);
	ASSERT_EQ(0, msgpool_free(self->pool, tok));
	ASSERT_EQ(ALL_SLOTS, msgpool_available(self->pool));
	ASSERT_EQ(0, msgpool_stats(self->pool, &st));
	ASSERT_EQ(1, st.nr_frees);
}

TEST_F(api, seq_increases)
{
	struct msgpool_op h1, h2;
	uint64_t a, b;

	ASSERT_EQ(0, msgpool_store(self->pool, "a", 1, 0, 0, &a));
	ASSERT_EQ(0, msgpool_store(self->pool, "b", 1, 0, 0, &b));
	ASSERT_NE(a, b);
	ASSERT_EQ(0, msgpool_header(self->pool, a, &h1));
	ASSERT_EQ(0, msgpool_header(self->pool, b, &h2));
	ASSERT_LT(h1.seq, h2.seq);
	ASSERT_LE(h1.timestamp_ns, h2.timestamp_ns);
}

TEST_F(api, class_choice_and_fallback)
{
	static char big[BIG_SIZE];
	struct msgpool_op h;
	uint64_t t;

	ASSERT_EQ(0, msgpool_store(self->pool, big, SMALL_SIZE, 0, 0, &t));
	ASSERT_EQ(0, msgpool_header(self->pool, t, &h));
	ASSERT_EQ(SMALL_SIZE, h.capacity);
	ASSERT_EQ(0, msgpool_free(self->pool, t));
	ASSERT_EQ(0, msgpool_store(self->pool, big, SMALL_SIZE + 1, 0, 0, &t));
	ASSERT_EQ(0, msgpool_header(self->pool, t, &h));
	ASSERT_EQ(MID_SIZE, h.capacity);
	ASSERT_EQ(0, msgpool_free(self->pool, t));
	ASSERT_EQ(0, msgpool_store(self->pool, big, BIG_SIZE, 0, 0, &t));
	ASSERT_EQ(0, msgpool_header(self->pool, t, &h));
	ASSERT_EQ(BIG_SIZE, h.capacity);
	ASSERT_EQ(BIG_SIZE, h.len);
	ASSERT_EQ(0, msgpool_free(self->pool, t));

	/* Small class exhausted: a small message goes to the next class. */
	ASSERT_EQ(SMALL_SLOTS, store_n(self->pool, SMALL_SLOTS, 10, NULL));
	ASSERT_EQ(0, msgpool_store(self->pool, big, 10, 0, 0, &t));
	ASSERT_EQ(0, msgpool_header(self->pool, t, &h));
	ASSERT_EQ(MID_SIZE, h.capacity);
	ASSERT_EQ(10, h.len);
}

TEST_F(api, exhaustion)
{
	struct msgpool_info st;
	struct msgpool_guard g;
	uint64_t tok[ALL_SLOTS], t;

	ASSERT_EQ(ALL_SLOTS, store_n(self->pool, ALL_SLOTS, 1, tok));
	ASSERT_EQ(0, msgpool_available(self->pool));
	ASSERT_EQ(MSGPOOL_E_NO_FREE_SLOTS,
		  msgpool_store(self->pool, "x", 1, 0, 0, &t));
	ASSERT_EQ(0, t);
	ASSERT_EQ(MSGPOOL_E_NO_FREE_SLOTS,
		  msgpool_store(self->pool, "x", 1, 0, MSGPOOL_NONBLOCK, &t));
	/* MSGPOOL_NONBLOCK wins over MSGPOOL_WAIT. */
	ASSERT_EQ(MSGPOOL_E_NO_FREE_SLOTS,
		  msgpool_store(self->pool, "x", 1, 0,
				MSGPOOL_WAIT | MSGPOOL_NONBLOCK, &t));
	ASSERT_EQ(MSGPOOL_E_NO_FREE_SLOTS,
		  msgpool_loan(self->pool, 1, 0, &g));
	ASSERT_EQ(NULL, g.data);
	ASSERT_EQ(0, msgpool_stats(self->pool, &st));
	ASSERT_LE(3, st.nr_nobufs);
	ASSERT_EQ(0, msgpool_free(self->pool, tok[3]));
	ASSERT_EQ(0, msgpool_store(self->pool, "y", 1, 0, 0, &t));
}

TEST_F(api, loan_commit_in_place)
{
	struct msgpool_op h;
	struct msgpool_guard g, r;
	char want[100];
	uint64_t tok;

	ASSERT_EQ(0, msgpool_loan(self->pool, 100, 0, &g));
	ASSERT_NE(0, g.token);
	ASSERT_NE(NULL, g.data);
	ASSERT_EQ(SMALL_SIZE, g.hdr.capacity);
	ASSERT_EQ(SMALL_SIZE, g.hdr.len);
	ASSERT_EQ(ALL_SLOTS - 1, msgpool_available(self->pool));
	/* Not visible until committed. */
	ASSERT_EQ(MSGPOOL_E_ALREADY_BORROWED,
		  msgpool_header(self->pool, g.token, &h));
	ASSERT_EQ(MSGPOOL_E_ALREADY_BORROWED,
		  msgpool_read(self->pool, g.token, MSGPOOL_NONBLOCK, &r));
	ASSERT_EQ(MSGPOOL_E_BORROW_ACTIVE, msgpool_free(self->pool, g.token));

	fill(g.data, 100, 9);
	ASSERT_EQ(MSGPOOL_E_TOO_BIG,
		  msgpool_commit(self->pool, &g, SMALL_SIZE + 1, 1));
	ASSERT_EQ(0, msgpool_commit(self->pool, &g, 100, 77));
	ASSERT_EQ(NULL, g.data);
	tok = g.token;
	ASSERT_EQ(MSGPOOL_E_NOT_HELD, msgpool_commit(self->pool, &g, 100, 77));
	ASSERT_EQ(MSGPOOL_E_NOT_HELD, msgpool_discard(self->pool, &g));

	ASSERT_EQ(0, msgpool_header(self->pool, tok, &h));
	ASSERT_EQ(100, h.len);
	ASSERT_EQ(77, h.tag);
	ASSERT_EQ((uint32_t)getpid(), h.producer);
	/* The commit handed back the header it made. */
	ASSERT_EQ(100, g.hdr.len);
	ASSERT_EQ(77, g.hdr.tag);
	ASSERT_EQ(h.seq, g.hdr.seq);
	ASSERT_EQ(h.timestamp_ns, g.hdr.timestamp_ns);
	ASSERT_EQ(h.producer, g.hdr.producer);
	ASSERT_EQ(SMALL_SIZE, g.hdr.capacity);
	ASSERT_EQ(0, msgpool_read(self->pool, tok, 0, &r));
	fill(want, sizeof(want), 9);
	ASSERT_EQ(0, memcmp(want, r.data, sizeof(want)));
	ASSERT_EQ(0, msgpool_release(self->pool, &r));
	ASSERT_EQ(0, msgpool_free(self->pool, tok));
	ASSERT_EQ(ALL_SLOTS, msgpool_available(self->pool));
}

TEST_F(api, loan_discard)
{
	struct msgpool_guard g, r;
	uint64_t tok;

	ASSERT_EQ(0, msgpool_loan(self->pool, 0, 0, &g));
	ASSERT_NE(0, g.hdr.capacity);
	tok = g.token;
	ASSERT_EQ(MSGPOOL_E_NOT_HELD, msgpool_release(self->pool, &g));
	ASSERT_EQ(0, msgpool_discard(self->pool, &g));
	ASSERT_EQ(NULL, g.data);
	ASSERT_EQ(ALL_SLOTS, msgpool_available(self->pool));
	ASSERT_EQ(MSGPOOL_E_NOT_ALLOCATED, msgpool_read(self->pool, tok, 0, &r));
	ASSERT_EQ(MSGPOOL_E_NOT_HELD, msgpool_discard(self->pool, &g));
	ASSERT_EQ(MSGPOOL_E_TOO_BIG,
		  msgpool_loan(self->pool, BIG_SIZE + 1, 0, &g));
}

TEST_F(api, read_mut_in_place)
{
	struct msgpool_guard g;
	struct msgpool_op h;
	uint64_t tok;

	ASSERT_EQ(0, msgpool_store(self->pool, "abc", 3, 5, 0, &tok));
	ASSERT_EQ(0, msgpool_read_mut(self->pool, tok, 0, &g));
	ASSERT_EQ(3, g.hdr.len);
	memcpy(g.data, "xyz", 3);
	ASSERT_EQ(0, msgpool_release(self->pool, &g));
	ASSERT_EQ(0, msgpool_read(self->pool, tok, 0, &g));
	ASSERT_EQ(0, memcmp("xyz", g.data, 3));
	/* Only an exclusive borrow may set a length. */
	ASSERT_EQ(MSGPOOL_E_INVALID, msgpool_release_len(self->pool, &g, 1));
	ASSERT_EQ(0, msgpool_release(self->pool, &g));

	ASSERT_EQ(0, msgpool_read_mut(self->pool, tok, 0, &g));
	fill(g.data, 200, 3);
	ASSERT_EQ(MSGPOOL_E_TOO_BIG,
		  msgpool_release_len(self->pool, &g, SMALL_SIZE + 1));
	ASSERT_EQ(0, msgpool_release_len(self->pool, &g, 200));
	ASSERT_EQ(200, g.hdr.len);
	ASSERT_EQ(MSGPOOL_E_NOT_HELD, msgpool_release_len(self->pool, &g, 2));
	ASSERT_EQ(0, msgpool_header(self->pool, tok, &h));
	ASSERT_EQ(200, h.len);
	ASSERT_EQ(5, h.tag);
	ASSERT_EQ(0, msgpool_free(self->pool, tok));
}

TEST_F(api, shared_and_exclusive_borrows)
{
	struct msgpool_guard r1, r2, w;
	uint64_t tok;

	ASSERT_EQ(0, msgpool_store(self->pool, "m", 1, 0, 0, &tok));
	ASSERT_EQ(0, msgpool_read(self->pool, tok, 0, &r1));
	ASSERT_EQ(0, msgpool_read(self->pool, tok, MSGPOOL_NONBLOCK, &r2));
	ASSERT_EQ(r1.data, r2.data);
	ASSERT_EQ(MSGPOOL_E_ALREADY_BORROWED,
		  msgpool_read_mut(self->pool, tok, MSGPOOL_NONBLOCK, &w));
	ASSERT_EQ(MSGPOOL_E_BORROW_ACTIVE, msgpool_free(self->pool, tok));
	ASSERT_EQ(0, msgpool_release(self->pool, &r1));
	ASSERT_EQ(MSGPOOL_E_BORROW_ACTIVE, msgpool_free(self->pool, tok));
	ASSERT_EQ(0, msgpool_release(self->pool, &r2));

	ASSERT_EQ(0, msgpool_read_mut(self->pool, tok, MSGPOOL_NONBLOCK, &w));
	ASSERT_EQ(MSGPOOL_E_ALREADY_BORROWED,
		  msgpool_read(self->pool, tok, MSGPOOL_NONBLOCK, &r1));
	ASSERT_EQ(MSGPOOL_E_ALREADY_BORROWED,
		  msgpool_read_mut(self->pool, tok, MSGPOOL_NONBLOCK, &r1));
	ASSERT_EQ(MSGPOOL_E_BORROW_ACTIVE, msgpool_free(self->pool, tok));
	ASSERT_EQ(0, msgpool_release(self->pool, &w));
	ASSERT_EQ(0, msgpool_free(self->pool, tok));
}

TEST_F(api, double_release)
{
	struct msgpool_guard g1, g2, zero;
	uint64_t tok;

	ASSERT_EQ(0, msgpool_store(self->pool, "m", 1, 0, 0, &tok));
	ASSERT_EQ(0, msgpool_read(self->pool, tok, 0, &g1));
	ASSERT_EQ(0, msgpool_read(self->pool, tok, 0, &g2));
	ASSERT_EQ(0, msgpool_release(self->pool, &g1));
	/* The second release must not end g2's borrow of the same slot. */
	ASSERT_EQ(MSGPOOL_E_NOT_HELD, msgpool_release(self->pool, &g1));
	ASSERT_EQ(MSGPOOL_E_BORROW_ACTIVE, msgpool_free(self->pool, tok));
	ASSERT_EQ(0, msgpool_release(self->pool, &g2));
	ASSERT_EQ(MSGPOOL_E_NOT_HELD, msgpool_release(self->pool, &g2));
	memset(&zero, 0, sizeof(zero));
	zero.token = tok;
	ASSERT_EQ(MSGPOOL_E_NOT_HELD, msgpool_release(self->pool, &zero));
	ASSERT_EQ(0, msgpool_free(self->pool, tok));
}

TEST_F(api, kernel_refuses_what_is_not_held)
{
	struct msgpool_op op;
	struct msgpool_guard g;
	uint64_t tok;

	/*
	 * Raw ops bypass the guards: the kernel's own EPERM answers, which
	 * is MSGPOOL_E_PERMISSION whatever the op.
	 */
	ASSERT_EQ(0, msgpool_store(self->pool, "m", 1, 0, 0, &tok));
	memset(&op, 0, sizeof(op));
	op.op = MSGPOOL_OP_RELEASE;
	op.token = tok;
	ASSERT_EQ(0, msgpool_batch(self->pool, &op, 1, 0, NULL));
	ASSERT_EQ(-EPERM, op.result);
	ASSERT_EQ(MSGPOOL_E_PERMISSION, msgpool_op_error(&op));
	op.op = MSGPOOL_OP_COMMIT;
	op.result = 0;
	ASSERT_EQ(0, msgpool_batch(self->pool, &op, 1, 0, NULL));
	ASSERT_EQ(MSGPOOL_E_PERMISSION, msgpool_op_error(&op));
	op.op = MSGPOOL_OP_DISCARD;
	ASSERT_EQ(0, msgpool_batch(self->pool, &op, 1, 0, NULL));
	ASSERT_EQ(MSGPOOL_E_PERMISSION, msgpool_op_error(&op));

	/* Lengths the library checks first, checked by the kernel too. */
	ASSERT_EQ(0, msgpool_loan(self->pool, 1, 0, &g));
	memset(&op, 0, sizeof(op));
	op.op = MSGPOOL_OP_COMMIT;
	op.token = g.token;
	op.len = SMALL_SIZE + 1;
	ASSERT_EQ(0, msgpool_batch(self->pool, &op, 1, 0, NULL));
	ASSERT_EQ(MSGPOOL_E_TOO_BIG, msgpool_op_error(&op));
	ASSERT_EQ(0, msgpool_discard(self->pool, &g));
	ASSERT_EQ(0, msgpool_read_mut(self->pool, tok, 0, &g));
	memset(&op, 0, sizeof(op));
	op.op = MSGPOOL_OP_RELEASE;
	op.flags = MSGPOOL_F_SETLEN;
	op.token = tok;
	op.len = SMALL_SIZE + 1;
	ASSERT_EQ(0, msgpool_batch(self->pool, &op, 1, 0, NULL));
	ASSERT_EQ(MSGPOOL_E_TOO_BIG, msgpool_op_error(&op));
	ASSERT_EQ(0, msgpool_release(self->pool, &g));
}

/* A token the kernel refuses: malformed, or of no live message. */
static int refused(int err)
{
	return err == MSGPOOL_E_BAD_TOKEN || err == MSGPOOL_E_NOT_ALLOCATED;
}

TEST_F(api, bad_and_stale_tokens)
{
	struct msgpool_guard g;
	struct msgpool_op h;
	uint64_t tok, bogus[7];
	size_t i;

	ASSERT_EQ(MSGPOOL_E_BAD_TOKEN, msgpool_read(self->pool, 0, 0, &g));
	ASSERT_EQ(MSGPOOL_E_BAD_TOKEN, msgpool_free(self->pool, 0));
	ASSERT_EQ(MSGPOOL_E_BAD_TOKEN, msgpool_header(self->pool, 0, &h));
	ASSERT_EQ(0, msgpool_store(self->pool, "m", 1, 0, 0, &tok));
	/*
	 * What a token's bits mean is the kernel's: numbers near the one
	 * live token are refused, whatever they would decode to, and never
	 * reach its message.
	 */
	bogus[0] = ~0ULL;
	bogus[1] = ~tok;
	bogus[2] = tok ^ (1ULL << 63);
	bogus[3] = tok + 1;
	bogus[4] = tok - 1;
	bogus[5] = tok << 1;
	bogus[6] = tok >> 1;
	for (i = 0; i < ARRAY_SIZE(bogus); i++) {
		ASSERT_TRUE(refused(msgpool_read(self->pool, bogus[i], 0, &g)));
		ASSERT_TRUE(refused(msgpool_read_mut(self->pool, bogus[i], 0,
						     &g)));
		ASSERT_TRUE(refused(msgpool_header(self->pool, bogus[i], &h)));
		ASSERT_TRUE(refused(msgpool_free(self->pool, bogus[i])));
	}
	ASSERT_EQ(ALL_SLOTS - 1, msgpool_available(self->pool));
	ASSERT_EQ(0, msgpool_header(self->pool, tok, &h));

	/* A freed message's token is stale. */
	ASSERT_EQ(0, msgpool_free(self->pool, tok));
	ASSERT_EQ(MSGPOOL_E_NOT_ALLOCATED, msgpool_free(self->pool, tok));
	ASSERT_EQ(MSGPOOL_E_NOT_ALLOCATED, msgpool_read(self->pool, tok, 0, &g));
	ASSERT_EQ(MSGPOOL_E_NOT_ALLOCATED,
		  msgpool_read_mut(self->pool, tok, 0, &g));
	ASSERT_EQ(MSGPOOL_E_NOT_ALLOCATED, msgpool_header(self->pool, tok, &h));
}

TEST_F(api, token_of_another_pool)
{
	char name[MSGPOOL_NAME_MAX];
	struct msgpool *other;
	struct msgpool_guard g;
	uint64_t mine, theirs;

	OPEN_SMALL(name, "other", &other);
	ASSERT_EQ(0, msgpool_store(self->pool, "m", 1, 0, 0, &mine));
	ASSERT_EQ(0, msgpool_store(other, "o", 1, 0, 0, &theirs));
	/* This pool's one message is mine: any other token is refused. */
	if (theirs != mine) {
		ASSERT_TRUE(refused(msgpool_read(self->pool, theirs, 0, &g)));
		ASSERT_TRUE(refused(msgpool_free(self->pool, theirs)));
	}
	ASSERT_EQ(0, msgpool_read(other, theirs, 0, &g));
	ASSERT_EQ('o', *(char *)g.data);
	ASSERT_EQ(0, msgpool_release(other, &g));
	ASSERT_EQ(0, msgpool_read(self->pool, mine, 0, &g));
	ASSERT_EQ('m', *(char *)g.data);
	ASSERT_EQ(0, msgpool_release(self->pool, &g));
	ASSERT_EQ(0, msgpool_close(&other));
}

TEST_F(api, store_argument_errors)
{
	static char big[BIG_SIZE + 1];
	struct msgpool_guard g;
	uint64_t tok = 1;

	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_store(self->pool, "m", 0, 0, 0, &tok));
	ASSERT_EQ(0, tok);
	ASSERT_EQ(MSGPOOL_E_INVALID, msgpool_store(self->pool, NULL, 1, 0, 0,
						   &tok));
	ASSERT_EQ(MSGPOOL_E_INVALID, msgpool_store(self->pool, "m", 1, 0, 0,
						   NULL));
	ASSERT_EQ(MSGPOOL_E_INVALID, msgpool_store(self->pool, "m", 1, 0,
						   MSGPOOL_ADOPT, &tok));
	/* A pointer the kernel cannot read: EFAULT, and no slot is lost. */
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_store(self->pool, (void *)8, 16, 0, 0, &tok));
	ASSERT_EQ(ALL_SLOTS, msgpool_available(self->pool));
	ASSERT_EQ(MSGPOOL_E_TOO_BIG,
		  msgpool_store(self->pool, big, sizeof(big), 0, 0, &tok));
	ASSERT_EQ(MSGPOOL_E_INVALID, msgpool_read(self->pool, 1, 0, NULL));
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_read(self->pool, 1, MSGPOOL_WAIT, &g));
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_loan(self->pool, 1, MSGPOOL_ADOPT, &g));
	ASSERT_EQ(MSGPOOL_E_INVALID, msgpool_header(self->pool, 1, NULL));
	ASSERT_EQ(MSGPOOL_E_INVALID, msgpool_stats(self->pool, NULL));
	ASSERT_EQ(ALL_SLOTS, msgpool_available(self->pool));
}

TEST_F(api, rdonly_handle)
{
	struct msgpool_guard g;
	struct msgpool *ro;
	uint64_t tok, t;

	ASSERT_EQ(0, msgpool_open(self->name, NULL, MSGPOOL_OPEN_RDONLY, 0,
				  &ro));
	ASSERT_EQ(0, msgpool_store(self->pool, "shared", 6, 0, 0, &tok));
	ASSERT_EQ(0, msgpool_read(ro, tok, 0, &g));
	ASSERT_EQ(0, memcmp("shared", g.data, 6));
	ASSERT_EQ(0, msgpool_release(ro, &g));
	ASSERT_EQ(ALL_SLOTS - 1, msgpool_available(ro));

	ASSERT_EQ(MSGPOOL_E_PERMISSION, msgpool_store(ro, "x", 1, 0, 0, &t));
	ASSERT_EQ(MSGPOOL_E_PERMISSION, msgpool_loan(ro, 1, 0, &g));
	ASSERT_EQ(MSGPOOL_E_PERMISSION, msgpool_read_mut(ro, tok, 0, &g));
	ASSERT_EQ(MSGPOOL_E_PERMISSION, msgpool_free(ro, tok));
	ASSERT_EQ(0, msgpool_close(&ro));
	ASSERT_EQ(0, msgpool_free(self->pool, tok));
}

TEST(strerror_covers_every_code)
{
	int a, b, unknown = 0, same = 0;

	for (a = MSGPOOL_E_TYPE_MISMATCH; a <= MSGPOOL_OK; a++) {
		unknown += !strcmp("unknown msgpool error",
				   msgpool_strerror(a));
		for (b = MSGPOOL_E_TYPE_MISMATCH; b < a; b++)
			same += !strcmp(msgpool_strerror(a),
					msgpool_strerror(b));
	}
	ASSERT_EQ(0, unknown);
	ASSERT_EQ(0, same);
	ASSERT_STREQ("unknown msgpool error",
		     msgpool_strerror(MSGPOOL_E_TYPE_MISMATCH - 1));
	ASSERT_STREQ("unknown msgpool error", msgpool_strerror(1));
	ASSERT_EQ(MSGPOOL_E_INVALID, msgpool_op_error(NULL));
}

TEST_HARNESS_MAIN
