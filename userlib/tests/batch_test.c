// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmsgpool batches: the *_many calls (per-item results, partial
 * failures, chunking past the library's and the kernel's batch sizes) and
 * the raw msgpool_batch() with and without MSGPOOL_BATCH_STOP.
 */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "helpers.h"

/* More than MSGPOOL_BATCH_MAX, and not a multiple of any chunk. */
#define MANY		2500
#define MANY_SIZE	64

SMALL_POOL_FIXTURE(batch)

/* A pool of MANY small slots, each message holding its index. */
static int open_big(struct msgpool **pool, char *name)
{
	struct msgpool_config cfg = one_class(MANY_SIZE, MANY);

	pool_name(name, "many");
	return msgpool_open(name, &cfg, MSGPOOL_OPEN_CREATE, 0600, pool);
}

static int count_equal(const int *res, int n, int want)
{
	int i, c = 0;

	for (i = 0; i < n; i++)
		c += res[i] == want;
	return c;
}

static int count_ended(const struct msgpool_guard *g, int n)
{
	int i, c = 0;

	for (i = 0; i < n; i++)
		c += !g[i].data;
	return c;
}

TEST(many_round_trip)
{
	static struct msgpool_guard guards[MANY];
	static struct msgpool_buf bufs[MANY];
	static uint64_t tokens[MANY];
	static uint32_t vals[MANY];
	static int res[MANY];
	char name[MSGPOOL_NAME_MAX];
	struct msgpool *pool;
	int i;

	ASSERT_EQ(0, open_big(&pool, name));
	for (i = 0; i < MANY; i++) {
		vals[i] = 0x5a000000u + i;
		bufs[i].data = &vals[i];
		bufs[i].len = sizeof(vals[i]);
		bufs[i].tag = i;
		res[i] = 1;
	}
	ASSERT_EQ(0, msgpool_store_many(pool, bufs, MANY, 0, tokens, res));
	ASSERT_EQ(0, msgpool_available(pool));
	for (i = 0; i < MANY; i++) {
		ASSERT_EQ(0, res[i]);
		ASSERT_NE(0, tokens[i]);
	}

	ASSERT_EQ(0, msgpool_read_many(pool, tokens, MANY, 0, guards, res));
	for (i = 0; i < MANY; i++) {
		ASSERT_EQ(0, res[i]);
		ASSERT_EQ(tokens[i], guards[i].token);
		ASSERT_EQ(sizeof(uint32_t), guards[i].hdr.len);
		ASSERT_EQ(i, guards[i].hdr.tag);
		ASSERT_EQ(vals[i], *(uint32_t *)guards[i].data);
	}
	ASSERT_EQ(MSGPOOL_E_BORROW_ACTIVE, msgpool_free(pool, tokens[0]));
	ASSERT_EQ(0, msgpool_release_many(pool, guards, MANY, NULL));
	ASSERT_EQ(MANY, count_ended(guards, MANY));
	/* Every guard ended: a second release fails item by item. */
	ASSERT_EQ(MSGPOOL_E_NOT_HELD,
		  msgpool_release_many(pool, guards, MANY, res));
	ASSERT_EQ(MANY, count_equal(res, MANY, MSGPOOL_E_NOT_HELD));

	ASSERT_EQ(0, msgpool_free_many(pool, tokens, MANY, res));
	ASSERT_EQ(MANY, msgpool_available(pool));
	ASSERT_EQ(MSGPOOL_E_NOT_ALLOCATED,
		  msgpool_free_many(pool, tokens, MANY, res));
	ASSERT_EQ(MANY, count_equal(res, MANY, MSGPOOL_E_NOT_ALLOCATED));
	ASSERT_EQ(0, msgpool_close(&pool));
}

TEST_F(batch, store_many_partial)
{
	struct msgpool_buf bufs[ALL_SLOTS + 6];
	uint64_t tokens[ALL_SLOTS + 6];
	int res[ALL_SLOTS + 6];
	size_t n = ALL_SLOTS + 6;
	size_t i;

	for (i = 0; i < n; i++) {
		bufs[i].data = "payload";
		bufs[i].len = 7;
		bufs[i].tag = i;
	}
	/* The first failure in item order is the one returned. */
	bufs[2].data = NULL;
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_store_many(self->pool, bufs, n, 0, tokens, res));
	ASSERT_EQ(MSGPOOL_E_INVALID, res[2]);
	ASSERT_EQ(0, tokens[2]);
	for (i = 0; i < n; i++) {
		if (i == 2)
			continue;
		if (i <= ALL_SLOTS) {
			ASSERT_EQ(0, res[i]);
			ASSERT_NE(0, tokens[i]);
		} else {
			ASSERT_EQ(MSGPOOL_E_NO_FREE_SLOTS, res[i]);
			ASSERT_EQ(0, tokens[i]);
		}
	}
	ASSERT_EQ(0, msgpool_available(self->pool));
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_store_many(self->pool, bufs, n, MSGPOOL_ADOPT,
				     tokens, res));
}

TEST_F(batch, free_many_mixed)
{
	uint64_t tokens[4];
	int res[4];

	ASSERT_EQ(0, msgpool_store(self->pool, "a", 1, 0, 0, &tokens[0]));
	ASSERT_EQ(0, msgpool_store(self->pool, "b", 1, 0, 0, &tokens[2]));
	tokens[1] = tokens[0];		/* double free within one batch */
	tokens[3] = 0;			/* never a token */
	ASSERT_EQ(MSGPOOL_E_NOT_ALLOCATED,
		  msgpool_free_many(self->pool, tokens, 4, res));
	ASSERT_EQ(0, res[0]);
	ASSERT_EQ(MSGPOOL_E_NOT_ALLOCATED, res[1]);
	ASSERT_EQ(0, res[2]);
	ASSERT_EQ(MSGPOOL_E_BAD_TOKEN, res[3]);
	ASSERT_EQ(ALL_SLOTS, msgpool_available(self->pool));
}

TEST_F(batch, read_many_partial)
{
	struct msgpool_guard guards[3];
	uint64_t tokens[3];
	int res[3];

	ASSERT_EQ(0, msgpool_store(self->pool, "a", 1, 0, 0, &tokens[0]));
	ASSERT_EQ(0, msgpool_store(self->pool, "b", 1, 0, 0, &tokens[1]));
	ASSERT_EQ(0, msgpool_store(self->pool, "c", 1, 0, 0, &tokens[2]));
	ASSERT_EQ(0, msgpool_free(self->pool, tokens[1]));
	ASSERT_EQ(MSGPOOL_E_NOT_ALLOCATED,
		  msgpool_read_many(self->pool, tokens, 3, MSGPOOL_NONBLOCK,
				    guards, res));
	ASSERT_EQ(0, res[0]);
	ASSERT_EQ(MSGPOOL_E_NOT_ALLOCATED, res[1]);
	ASSERT_EQ(0, res[2]);
	ASSERT_EQ('a', *(char *)guards[0].data);
	ASSERT_EQ(NULL, guards[1].data);
	ASSERT_EQ('c', *(char *)guards[2].data);
	ASSERT_EQ(MSGPOOL_E_NOT_HELD,
		  msgpool_release_many(self->pool, guards, 3, res));
	ASSERT_EQ(0, res[0]);
	ASSERT_EQ(MSGPOOL_E_NOT_HELD, res[1]);
	ASSERT_EQ(0, res[2]);
	ASSERT_EQ(0, msgpool_free(self->pool, tokens[0]));
	ASSERT_EQ(0, msgpool_free(self->pool, tokens[2]));
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_read_many(self->pool, tokens, 3, MSGPOOL_WAIT,
				    guards, res));
}

static void nops(struct msgpool_op *ops, size_t n)
{
	size_t i;

	memset(ops, 0, n * sizeof(*ops));
	for (i = 0; i < n; i++)
		ops[i].op = MSGPOOL_OP_NOP;
}

TEST_F(batch, raw_stop)
{
	struct msgpool_op ops[3];
	size_t done = 99;

	nops(ops, 3);
	ops[1].op = MSGPOOL_OP_FREE;
	ops[1].token = 0;
	ASSERT_EQ(0, msgpool_batch(self->pool, ops, 3, MSGPOOL_BATCH_STOP,
				   &done));
	ASSERT_EQ(2, done);
	ASSERT_EQ(0, ops[0].result);
	ASSERT_EQ(MSGPOOL_E_BAD_TOKEN, msgpool_op_error(&ops[1]));

	nops(ops, 3);
	ops[1].op = MSGPOOL_OP_FREE;
	ASSERT_EQ(0, msgpool_batch(self->pool, ops, 3, 0, &done));
	ASSERT_EQ(3, done);
	ASSERT_EQ(-EINVAL, ops[1].result);
	ASSERT_EQ(0, ops[2].result);
}

TEST_F(batch, raw_chunks)
{
	static struct msgpool_op ops[MANY];
	size_t done;

	nops(ops, MANY);
	ASSERT_EQ(0, msgpool_batch(self->pool, ops, MANY, 0, &done));
	ASSERT_EQ(MANY, done);

	/* A failure in the second kernel batch stops the rest. */
	nops(ops, MANY);
	ops[1200].op = MSGPOOL_OP_FREE;
	ASSERT_EQ(0, msgpool_batch(self->pool, ops, MANY, MSGPOOL_BATCH_STOP,
				   &done));
	ASSERT_EQ(1201, done);

	/* A failure that ends one kernel batch stops the next one too. */
	nops(ops, MANY);
	ops[MSGPOOL_BATCH_MAX - 1].op = MSGPOOL_OP_FREE;
	ASSERT_EQ(0, msgpool_batch(self->pool, ops, MANY, MSGPOOL_BATCH_STOP,
				   &done));
	ASSERT_EQ(MSGPOOL_BATCH_MAX, done);
}

TEST_F(batch, raw_store_and_borrow)
{
	struct msgpool_op ops[2];
	struct msgpool_guard g;
	uint64_t loaned;

	memset(ops, 0, sizeof(ops));
	ops[0].op = MSGPOOL_OP_STORE;
	ops[0].len = 5;
	ops[0].data = (uintptr_t)"hello";
	ops[0].tag = 3;
	ops[1].op = MSGPOOL_OP_LOAN;
	ops[1].len = SMALL_SIZE + 1;
	ASSERT_EQ(0, msgpool_batch(self->pool, ops, 2, 0, NULL));
	ASSERT_EQ(0, ops[0].result);
	ASSERT_EQ(0, ops[1].result);
	ASSERT_EQ(MID_SIZE, ops[1].capacity);
	ASSERT_EQ(0, msgpool_read(self->pool, ops[0].token, 0, &g));
	ASSERT_EQ(0, memcmp("hello", g.data, 5));
	ASSERT_EQ(0, msgpool_release(self->pool, &g));

	/* Raw loans end with raw ops: guards know nothing of them. */
	loaned = ops[1].token;
	memset(ops, 0, sizeof(ops));
	ops[0].op = MSGPOOL_OP_DISCARD;
	ops[0].token = loaned;
	ASSERT_EQ(0, msgpool_batch(self->pool, ops, 1, 0, NULL));
	ASSERT_EQ(0, ops[0].result);
	ASSERT_EQ(ALL_SLOTS - 1, msgpool_available(self->pool));
}

TEST_F(batch, raw_argument_errors)
{
	struct msgpool_op op;
	size_t done = 7;

	nops(&op, 1);
	ASSERT_EQ(MSGPOOL_E_INVALID, msgpool_batch(self->pool, &op, 0, 0,
						   &done));
	ASSERT_EQ(0, done);
	ASSERT_EQ(MSGPOOL_E_INVALID, msgpool_batch(self->pool, NULL, 1, 0,
						   &done));
	ASSERT_EQ(MSGPOOL_E_INVALID, msgpool_batch(self->pool, &op, 1, 2,
						   &done));
	/* A bad op is the op's failure, not the batch's. */
	op.reserved = 1;
	ASSERT_EQ(0, msgpool_batch(self->pool, &op, 1, 0, &done));
	ASSERT_EQ(1, done);
	ASSERT_EQ(MSGPOOL_E_INVALID, msgpool_op_error(&op));
}

TEST_HARNESS_MAIN
