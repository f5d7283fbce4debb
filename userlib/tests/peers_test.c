// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmsgpool across handles and processes: open errors, permissions,
 * msgpool_dup() peers, use after close, foreign guards, ownership and
 * ADOPT, threads sharing a handle, waiting for a slot, and what a killed
 * process leaves behind (reclaim, orphans, poison).  Children synchronise
 * over pipes; nothing sleeps for a fixed time.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "helpers.h"

SMALL_POOL_FIXTURE(peers)

static unsigned long long module_param(const char *name)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/msgpool/parameters/%s",
		 name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

TEST_F(peers, open_argument_errors)
{
	struct msgpool_config cfg = small_config();
	struct msgpool *p = (struct msgpool *)1;
	char longest[MSGPOOL_NAME_MAX];
	const unsigned int create = MSGPOOL_OPEN_CREATE;

	ASSERT_EQ(MSGPOOL_E_INVALID, msgpool_open("", &cfg, create, 0600, &p));
	ASSERT_EQ(NULL, p);
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_open("a/b", &cfg, create, 0600, &p));
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_open("a b", &cfg, create, 0600, &p));
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_open("0123456789012345678901234567890x", &cfg,
			       create, 0600, &p));
	ASSERT_EQ(MSGPOOL_E_INVALID, msgpool_open(NULL, NULL, 0, 0, &p));
	ASSERT_EQ(MSGPOOL_E_INVALID, msgpool_open(self->name, NULL, 0, 0,
						  NULL));
	/* EXCL needs CREATE; CREATE needs a config. */
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_open(self->name, NULL, MSGPOOL_OPEN_EXCL, 0, &p));
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_open(self->name, NULL, create, 0600, &p));
	/* Without CREATE only the config's type counts: none here. */
	ASSERT_EQ(0, msgpool_open(self->name, &cfg, 0, 0, &p));
	ASSERT_EQ(ALL_SLOTS, msgpool_capacity(p));
	ASSERT_EQ(0, msgpool_close(&p));
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_open(self->name, NULL, 0, 0600, &p));
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_open(self->name, &cfg, create, 01000, &p));
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_open(self->name, NULL, 1U << 7, 0, &p));
	/* The longest name there is. */
	pool_name(longest, "");
	memset(longest + strlen(longest), 'x',
	       MSGPOOL_NAME_MAX - 1 - strlen(longest));
	longest[MSGPOOL_NAME_MAX - 1] = '\0';
	ASSERT_EQ(0, msgpool_open(longest, &cfg, create, 0600, &p));
	ASSERT_EQ(0, msgpool_close(&p));
}

TEST_F(peers, open_pool_errors)
{
	struct msgpool_config cfg = small_config();
	char name[MSGPOOL_NAME_MAX];
	struct msgpool *p;

	pool_name(name, "missing");
	ASSERT_EQ(MSGPOOL_E_NOT_FOUND, msgpool_open(name, NULL, 0, 0, &p));
	ASSERT_EQ(MSGPOOL_E_EXISTS,
		  msgpool_open(self->name, &cfg,
			       MSGPOOL_OPEN_CREATE | MSGPOOL_OPEN_EXCL, 0600,
			       &p));
	/* CREATE without EXCL attaches to what exists. */
	ASSERT_EQ(0, msgpool_open(self->name, &cfg, MSGPOOL_OPEN_CREATE, 0600,
				  &p));
	ASSERT_EQ(ALL_SLOTS, msgpool_capacity(p));
	ASSERT_EQ(0, msgpool_close(&p));

	/* The last close destroys the pool and frees its name. */
	ASSERT_EQ(0, msgpool_close(&self->pool));
	ASSERT_EQ(MSGPOOL_E_NOT_FOUND,
		  msgpool_open(self->name, NULL, 0, 0, &p));
}

TEST(config_errors)
{
	struct msgpool_config cfg;
	char name[MSGPOOL_NAME_MAX];
	const unsigned int flags = MSGPOOL_OPEN_CREATE;
	struct msgpool *p;

	pool_name(name, "cfg");
	cfg = small_config();
	cfg.nr_classes = 0;
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_open(name, &cfg, flags, 0600, &p));
	cfg.nr_classes = MSGPOOL_MAX_CLASSES + 1;
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_open(name, &cfg, flags, 0600, &p));
	cfg = small_config();
	cfg.classes[1].slot_size = cfg.classes[0].slot_size;
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_open(name, &cfg, flags, 0600, &p));
	cfg = small_config();
	cfg.classes[1].nr_slots = 0;
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_open(name, &cfg, flags, 0600, &p));
	cfg = one_class(0, 1);
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_open(name, &cfg, flags, 0600, &p));
	cfg = one_class(1, (1U << 24) + 1);
	ASSERT_EQ(MSGPOOL_E_INVALID,
		  msgpool_open(name, &cfg, flags, 0600, &p));
	ASSERT_EQ(MSGPOOL_E_NOT_FOUND, msgpool_open(name, NULL, 0, 0, &p));
}

TEST(config_limits)
{
	unsigned long long max_bytes = module_param("max_pool_bytes");
	unsigned long long max_slots = module_param("max_pool_slots");
	char name[MSGPOOL_NAME_MAX];
	struct msgpool_config cfg;
	struct msgpool *p;

	ASSERT_NE(0, max_bytes);
	ASSERT_NE(0, max_slots);
	ASSERT_GE(1ULL << 24, max_slots);
	pool_name(name, "limit");
	cfg = one_class(1, max_slots + 1);
	ASSERT_EQ(MSGPOOL_E_LIMIT,
		  msgpool_open(name, &cfg, MSGPOOL_OPEN_CREATE, 0600, &p));
	cfg = one_class(1 << 20, max_bytes / (1 << 20) + 1);
	ASSERT_EQ(MSGPOOL_E_LIMIT,
		  msgpool_open(name, &cfg, MSGPOOL_OPEN_CREATE, 0600, &p));
}

/* CAP_SYS_RESOURCE would exempt root from the pool limits. */
TEST(too_many_pools)
{
	unsigned long long max_pools = module_param("max_pools");
	struct msgpool_config cfg = one_class(1, 1);
	unsigned long long i, n = 0, closed = 0;
	char name[MSGPOOL_NAME_MAX];
	struct msgpool **pools;
	int err = 0;

	ASSERT_NE(0, max_pools);
	ASSERT_EQ(0, mp_drop_cap(CAP_SYS_RESOURCE));
	pools = calloc(max_pools + 1, sizeof(*pools));
	ASSERT_NE(NULL, pools);
	for (i = 0; i <= max_pools; i++) {
		char suffix[24];

		snprintf(suffix, sizeof(suffix), "n%llu", i);
		pool_name(name, suffix);
		err = msgpool_open(name, &cfg, MSGPOOL_OPEN_CREATE, 0600,
				   &pools[i]);
		if (err)
			break;
		n++;
	}
	/* The user's quota, or other pools, may bring the limit sooner. */
	ASSERT_EQ(MSGPOOL_E_LIMIT, err);
	ASSERT_GE(max_pools, n);
	for (i = 0; i < n; i++)
		closed += !msgpool_close(&pools[i]);
	ASSERT_EQ(n, closed);
	/* Closing them gave their places back. */
	ASSERT_EQ(0, msgpool_open(name, &cfg, MSGPOOL_OPEN_CREATE, 0600,
				  &pools[0]));
	ASSERT_EQ(0, msgpool_close(&pools[0]));
	free(pools);
}

struct perm_case {
	const char *name;
	unsigned int flags;
};

static int try_attach(int rd, int wr, void *arg)
{
	const struct perm_case *pc = arg;
	struct msgpool *p;
	int err;

	/* CAP_IPC_OWNER lets root past any pool mode. */
	if (mp_drop_cap(CAP_IPC_OWNER))
		return 100;
	err = msgpool_open(pc->name, NULL, pc->flags, 0, &p);
	if (!err)
		msgpool_close(&p);
	return -err;
}

TEST(pool_mode_is_enforced)
{
	struct msgpool_config cfg = one_class(64, 1);
	char none[MSGPOOL_NAME_MAX], ro[MSGPOOL_NAME_MAX];
	struct perm_case pc;
	struct msgpool *a, *b;
	struct mp_child ch;

	if (geteuid() != 0)
		SKIP(return, "needs root: the mode check is against the owner");
	pool_name(none, "mode0");
	pool_name(ro, "mode400");
	ASSERT_EQ(0, msgpool_open(none, &cfg, MSGPOOL_OPEN_CREATE, 0, &a));
	ASSERT_EQ(0, msgpool_open(ro, &cfg, MSGPOOL_OPEN_CREATE, 0400, &b));

	pc.name = none;
	pc.flags = MSGPOOL_OPEN_RDONLY;
	ASSERT_EQ(0, mp_spawn(&ch, try_attach, &pc));
	ASSERT_EQ(-MSGPOOL_E_PERMISSION, mp_reap(&ch));
	pc.name = ro;
	pc.flags = 0;
	ASSERT_EQ(0, mp_spawn(&ch, try_attach, &pc));
	ASSERT_EQ(-MSGPOOL_E_PERMISSION, mp_reap(&ch));
	pc.flags = MSGPOOL_OPEN_RDONLY;
	ASSERT_EQ(0, mp_spawn(&ch, try_attach, &pc));
	ASSERT_EQ(0, mp_reap(&ch));
	/* With CAP_IPC_OWNER the mode does not apply. */
	ASSERT_EQ(0, msgpool_open(none, NULL, 0, 0, &a));
	ASSERT_EQ(0, msgpool_close(&a));
	ASSERT_EQ(0, msgpool_close(&b));
}

TEST(type_fingerprint)
{
	struct msgpool_config cfg = one_class(64, 2), other, plain;
	char name[MSGPOOL_NAME_MAX], untyped[MSGPOOL_NAME_MAX];
	struct msgpool *typed, *p, *d, *u;
	struct msgpool_info st;
	int i;

	for (i = 0; i < MSGPOOL_TYPE_ID_LEN; i++)
		cfg.type_id[i] = 0xa0 + i;
	other = cfg;
	other.type_id[MSGPOOL_TYPE_ID_LEN - 1] ^= 1;
	plain = one_class(64, 2);
	pool_name(name, "typed");
	pool_name(untyped, "untyped");
	ASSERT_EQ(0, msgpool_open(name, &cfg, MSGPOOL_OPEN_CREATE |
				  MSGPOOL_OPEN_EXCL, 0600, &typed));
	ASSERT_EQ(0, msgpool_stats(typed, &st));
	ASSERT_EQ(0, memcmp(cfg.type_id, st.type_id, sizeof(st.type_id)));

	/* Its own type and no type join it; another type does not. */
	ASSERT_EQ(0, msgpool_open(name, &cfg, 0, 0, &p));
	ASSERT_EQ(0, msgpool_close(&p));
	ASSERT_EQ(MSGPOOL_E_TYPE_MISMATCH, msgpool_open(name, &other, 0, 0, &p));
	ASSERT_EQ(NULL, p);
	ASSERT_EQ(MSGPOOL_E_TYPE_MISMATCH,
		  msgpool_open(name, &other, MSGPOOL_OPEN_CREATE, 0600, &p));
	ASSERT_EQ(0, msgpool_open(name, NULL, MSGPOOL_OPEN_RDONLY, 0, &p));
	ASSERT_EQ(0, msgpool_stats(p, &st));
	ASSERT_EQ(0, memcmp(cfg.type_id, st.type_id, sizeof(st.type_id)));
	/* A dup names the pool's type, even of an untyped open. */
	ASSERT_EQ(0, msgpool_dup(p, &d));
	ASSERT_EQ(0, msgpool_close(&d));
	ASSERT_EQ(0, msgpool_close(&p));

	/* An untyped pool is no pool of any type. */
	ASSERT_EQ(0, msgpool_open(untyped, &plain, MSGPOOL_OPEN_CREATE, 0600,
				  &u));
	ASSERT_EQ(MSGPOOL_E_TYPE_MISMATCH,
		  msgpool_open(untyped, &cfg, 0, 0, &p));
	ASSERT_EQ(0, msgpool_open(untyped, &plain, 0, 0, &p));
	ASSERT_EQ(0, msgpool_close(&p));
	ASSERT_EQ(0, msgpool_close(&u));
	ASSERT_EQ(0, msgpool_close(&typed));
}

TEST_F(peers, dup_is_an_independent_peer)
{
	struct msgpool_info s1, s2;
	struct msgpool_guard g, w;
	struct msgpool *d;
	uint64_t tok;

	ASSERT_EQ(0, msgpool_dup(self->pool, &d));
	ASSERT_EQ(0, msgpool_stats(self->pool, &s1));
	ASSERT_EQ(0, msgpool_stats(d, &s2));
	ASSERT_NE(s1.peer_id, s2.peer_id);
	ASSERT_EQ(s1.capacity, s2.capacity);

	/* Same pool: what one stores the other reads, in its own mapping. */
	ASSERT_EQ(0, msgpool_store(self->pool, "dup", 3, 0, 0, &tok));
	ASSERT_EQ(0, msgpool_read(d, tok, 0, &g));
	ASSERT_EQ(0, memcmp("dup", g.data, 3));
	/* Borrows are per peer: the other handle cannot end this one. */
	ASSERT_EQ(MSGPOOL_E_NOT_HELD, msgpool_release(self->pool, &g));
	ASSERT_EQ(MSGPOOL_E_ALREADY_BORROWED,
		  msgpool_read_mut(self->pool, tok, MSGPOOL_NONBLOCK, &w));
	ASSERT_EQ(MSGPOOL_E_BORROW_ACTIVE, msgpool_free(self->pool, tok));
	/* Closing the peer ends the borrow it still holds. */
	ASSERT_EQ(0, msgpool_close(&d));
	ASSERT_EQ(0, msgpool_free(self->pool, tok));
	ASSERT_EQ(ALL_SLOTS, msgpool_available(self->pool));

	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_dup(NULL, &d));
	ASSERT_EQ(NULL, d);
}

TEST_F(peers, dup_never_joins_a_new_pool_of_the_name)
{
	struct msgpool *fresh, *d;

	ASSERT_EQ(0, msgpool_unlink(self->name));
	OPEN_SMALL(self->name, "peers", &fresh);
	ASSERT_TRUE(msgpool_created(fresh));
	/* The name is the new pool's; the handle's pool is the old one. */
	ASSERT_EQ(MSGPOOL_E_NOT_FOUND, msgpool_dup(self->pool, &d));
	ASSERT_EQ(0, msgpool_dup(fresh, &d));
	ASSERT_FALSE(msgpool_created(d));
	ASSERT_EQ(0, msgpool_close(&d));
	ASSERT_EQ(0, msgpool_close(&fresh));
}

TEST_F(peers, created_says_who_created)
{
	struct msgpool_config cfg = one_class(64, 4);
	struct msgpool *again;

	ASSERT_TRUE(msgpool_created(self->pool));
	ASSERT_EQ(0, msgpool_open(self->name, &cfg, MSGPOOL_OPEN_CREATE, 0600,
				  &again));
	ASSERT_FALSE(msgpool_created(again));
	ASSERT_EQ(0, msgpool_close(&again));
	ASSERT_FALSE(msgpool_created(NULL));
}

TEST_F(peers, dup_of_rdonly_is_rdonly)
{
	struct msgpool *ro, *d;
	uint64_t tok;

	ASSERT_EQ(0, msgpool_open(self->name, NULL, MSGPOOL_OPEN_RDONLY, 0,
				  &ro));
	ASSERT_EQ(0, msgpool_dup(ro, &d));
	ASSERT_EQ(MSGPOOL_E_PERMISSION, msgpool_store(d, "x", 1, 0, 0, &tok));
	ASSERT_EQ(0, msgpool_close(&d));
	ASSERT_EQ(0, msgpool_close(&ro));
}

TEST_F(peers, use_after_close)
{
	struct msgpool_buf buf = { "x", 1, 0 };
	struct msgpool *a = NULL, *b;
	struct msgpool_guard g;
	struct msgpool_info st;
	struct msgpool_op op, h;
	uint64_t tok, t;
	int res;

	ASSERT_EQ(0, msgpool_store(self->pool, "m", 1, 0, 0, &tok));
	ASSERT_EQ(0, msgpool_dup(self->pool, &a));
	ASSERT_EQ(0, msgpool_read(a, tok, 0, &g));
	ASSERT_EQ(0, msgpool_close(&a));
	ASSERT_EQ(NULL, a);
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_close(&a));
	ASSERT_EQ(MSGPOOL_E_INVALID, msgpool_close(NULL));

	/* Closing the peer ended its borrow. */
	ASSERT_EQ(0, msgpool_read_mut(self->pool, tok, MSGPOOL_NONBLOCK, &g));
	ASSERT_EQ(0, msgpool_release(self->pool, &g));

	ASSERT_EQ(0, msgpool_dup(self->pool, &a));
	ASSERT_EQ(0, msgpool_read(a, tok, 0, &g));
	ASSERT_EQ(0, msgpool_close(&a));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_release(a, &g));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_release_len(a, &g, 1));
	/* A new handle, wherever malloc puts it, does not hold g. */
	ASSERT_EQ(0, msgpool_dup(self->pool, &b));
	ASSERT_EQ(MSGPOOL_E_NOT_HELD, msgpool_release(b, &g));
	ASSERT_EQ(0, msgpool_close(&b));

	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_store(a, "x", 1, 0, 0, &t));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_loan(a, 1, 0, &g));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_commit(a, &g, 1, 0));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_discard(a, &g));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_read(a, tok, 0, &g));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_read_mut(a, tok, 0, &g));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_free(a, tok));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_header(a, tok, &h));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_available(a));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_capacity(a));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_memory_class(a));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_stats(a, &st));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_store_many(a, &buf, 1, 0, &t,
						       &res));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_free_many(a, &tok, 1, &res));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_read_many(a, &tok, 1, 0, &g,
						      &res));
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_release_many(a, &g, 1, &res));
	memset(&op, 0, sizeof(op));
	op.op = MSGPOOL_OP_NOP;
	ASSERT_EQ(MSGPOOL_E_CLOSED, msgpool_batch(a, &op, 1, 0, NULL));
	ASSERT_EQ(0, msgpool_free(self->pool, tok));
}

TEST_F(peers, foreign_guard)
{
	struct msgpool_guard g, loan;
	struct msgpool *d;
	uint64_t tok;

	ASSERT_EQ(0, msgpool_dup(self->pool, &d));
	ASSERT_EQ(0, msgpool_store(self->pool, "m", 1, 0, 0, &tok));
	ASSERT_EQ(0, msgpool_read(self->pool, tok, 0, &g));
	ASSERT_EQ(MSGPOOL_E_NOT_HELD, msgpool_release(d, &g));
	ASSERT_EQ(MSGPOOL_E_BORROW_ACTIVE, msgpool_free(d, tok));
	ASSERT_EQ(0, msgpool_release(self->pool, &g));

	ASSERT_EQ(0, msgpool_loan(self->pool, 1, 0, &loan));
	ASSERT_EQ(MSGPOOL_E_NOT_HELD, msgpool_commit(d, &loan, 1, 0));
	ASSERT_EQ(MSGPOOL_E_NOT_HELD, msgpool_discard(d, &loan));
	ASSERT_EQ(0, msgpool_commit(self->pool, &loan, 1, 0));
	/* Any writable peer holding a token may free it. */
	ASSERT_EQ(0, msgpool_free(d, loan.token));
	ASSERT_EQ(0, msgpool_free(d, tok));
	ASSERT_EQ(0, msgpool_close(&d));
}

TEST_F(peers, owner_close_frees_unless_adopted)
{
	struct msgpool_guard g;
	struct msgpool *prod;
	uint64_t lost, kept;

	ASSERT_EQ(0, msgpool_dup(self->pool, &prod));
	ASSERT_EQ(0, msgpool_store(prod, "lost", 4, 0, 0, &lost));
	ASSERT_EQ(0, msgpool_store(prod, "kept", 4, 0, 0, &kept));
	ASSERT_EQ(0, msgpool_read(self->pool, kept, MSGPOOL_ADOPT, &g));
	ASSERT_EQ(0, msgpool_release(self->pool, &g));
	ASSERT_EQ(0, msgpool_close(&prod));

	ASSERT_EQ(MSGPOOL_E_NOT_ALLOCATED,
		  msgpool_read(self->pool, lost, 0, &g));
	ASSERT_EQ(0, msgpool_read(self->pool, kept, 0, &g));
	ASSERT_EQ(0, memcmp("kept", g.data, 4));
	ASSERT_EQ(0, msgpool_release(self->pool, &g));
	ASSERT_EQ(ALL_SLOTS - 1, msgpool_available(self->pool));
	ASSERT_EQ(0, msgpool_free(self->pool, kept));
}

#define THREADS		4
#define ROUNDS		300

struct worker {
	struct msgpool *pool;
	int id;
	int own_peer;		/* 1: use a msgpool_dup() of @pool */
	int failures;
};

static int worker_round(struct msgpool *pool, int id, int round)
{
	unsigned char buf[64];
	struct msgpool_guard g;
	uint64_t tok;
	int ok;

	memset(buf, id * 16 + round % 16, sizeof(buf));
	if (msgpool_store(pool, buf, sizeof(buf), id, MSGPOOL_WAIT, &tok))
		return 1;
	if (msgpool_read_mut(pool, tok, 0, &g))
		return 1;
	((unsigned char *)g.data)[0] ^= 0xff;
	if (msgpool_release(pool, &g) || msgpool_read(pool, tok, 0, &g))
		return 1;
	buf[0] ^= 0xff;
	ok = g.hdr.tag == (uint64_t)id && g.hdr.len == sizeof(buf) &&
	     !memcmp(buf, g.data, sizeof(buf));
	if (msgpool_release(pool, &g) || msgpool_free(pool, tok))
		return 1;
	return !ok;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct msgpool *pool = w->pool;
	int i;

	if (w->own_peer && msgpool_dup(w->pool, &pool)) {
		w->failures = ROUNDS;
		return NULL;
	}
	for (i = 0; i < ROUNDS; i++)
		w->failures += worker_round(pool, w->id, i);
	if (w->own_peer)
		msgpool_close(&pool);
	return NULL;
}

TEST_F(peers, threads_share_a_handle)
{
	struct worker w[THREADS];
	pthread_t th[THREADS];
	int i;

	for (i = 0; i < THREADS; i++) {
		w[i].pool = self->pool;
		w[i].id = i;
		w[i].own_peer = i % 2;
		w[i].failures = 0;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, worker_run, &w[i]));
	}
	for (i = 0; i < THREADS; i++) {
		ASSERT_EQ(0, pthread_join(th[i], NULL));
		ASSERT_EQ(0, w[i].failures);
	}
	ASSERT_EQ(ALL_SLOTS, msgpool_available(self->pool));
}

struct waiter {
	struct msgpool *pool;
	int go[2];
	int err;
	uint64_t tok;
};

static void *waiter_run(void *arg)
{
	struct waiter *w = arg;
	char c = 'w';

	if (write(w->go[1], &c, 1) != 1)
		w->err = MSGPOOL_E_SYSTEM;
	else
		w->err = msgpool_store(w->pool, "w", 1, 0, MSGPOOL_WAIT,
				       &w->tok);
	return NULL;
}

TEST_F(peers, wait_for_a_slot)
{
	uint64_t tok[ALL_SLOTS];
	struct waiter w;
	pthread_t th;
	char c;

	ASSERT_EQ(ALL_SLOTS, store_n(self->pool, ALL_SLOTS, 1, tok));
	w.pool = self->pool;
	w.err = 1;
	ASSERT_EQ(0, pipe(w.go));
	ASSERT_EQ(0, pthread_create(&th, NULL, waiter_run, &w));
	ASSERT_EQ(1, read(w.go[0], &c, 1));
	/* The waiter gets the slot freed now, whether it slept yet or not. */
	ASSERT_EQ(0, msgpool_free(self->pool, tok[5]));
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ(0, w.err);
	ASSERT_EQ(0, msgpool_available(self->pool));
	ASSERT_EQ(0, msgpool_free(self->pool, w.tok));
	close(w.go[0]);
	close(w.go[1]);
}

/* ---- What a killed process leaves behind ----------------------------- */

struct victim {
	const char *name;
	uint64_t tok;		/* a message of the parent's */
	int write;		/* 1: hold it with read_mut, else read */
	int own;		/* messages to store */
	int loan;		/* 1: also hold a loan */
};

static int victim_run(int rd, int wr, void *arg)
{
	const struct victim *v = arg;
	struct msgpool_guard g, l;
	struct msgpool *p;
	uint64_t t;
	int i;

	if (msgpool_open(v->name, NULL, 0, 0, &p))
		return 1;
	for (i = 0; i < v->own; i++)
		if (msgpool_store(p, "victim", 6, 0, 0, &t))
			return 2;
	if (v->loan && msgpool_loan(p, 1, 0, &l))
		return 3;
	if (v->tok) {
		if (v->write) {
			if (msgpool_read_mut(p, v->tok, 0, &g))
				return 4;
			memset(g.data, 0xee, g.hdr.len);
		} else if (msgpool_read(p, v->tok, 0, &g)) {
			return 4;
		}
	}
	park(wr);
}

TEST_F(peers, killed_writer_poisons)
{
	struct msgpool_info before, after;
	struct victim v = { .name = self->name, .write = 1 };
	struct msgpool_op h;
	struct msgpool_guard g;
	struct mp_child ch;
	__u64 ready;

	ASSERT_EQ(0, msgpool_store(self->pool, "intact", 6, 0, 0, &v.tok));
	ASSERT_EQ(0, msgpool_stats(self->pool, &before));
	ASSERT_EQ(0, mp_spawn(&ch, victim_run, &v));
	ASSERT_EQ(0, mp_recv(ch.rd, &ready));
	ASSERT_EQ(128 + SIGKILL, mp_kill(&ch));

	ASSERT_EQ(MSGPOOL_E_POISONED, msgpool_read(self->pool, v.tok, 0, &g));
	ASSERT_EQ(MSGPOOL_E_POISONED,
		  msgpool_read_mut(self->pool, v.tok, MSGPOOL_NONBLOCK, &g));
	ASSERT_EQ(MSGPOOL_E_POISONED, msgpool_header(self->pool, v.tok, &h));
	ASSERT_EQ(0, msgpool_stats(self->pool, &after));
	ASSERT_EQ(before.nr_poisoned + 1, after.nr_poisoned);
	ASSERT_EQ(ALL_SLOTS - 1, after.available);

	ASSERT_EQ(0, msgpool_free(self->pool, v.tok));
	ASSERT_EQ(MSGPOOL_E_NOT_ALLOCATED,
		  msgpool_read(self->pool, v.tok, 0, &g));
	ASSERT_EQ(ALL_SLOTS, msgpool_available(self->pool));
}

TEST_F(peers, killed_owner_is_reclaimed)
{
	struct msgpool_info before, after;
	struct victim v = {
		.name = self->name, .own = 3, .loan = 1,
	};
	struct msgpool_guard g;
	struct mp_child ch;
	__u64 ready;

	ASSERT_EQ(0, msgpool_store(self->pool, "mine", 4, 0, 0, &v.tok));
	ASSERT_EQ(0, msgpool_stats(self->pool, &before));
	ASSERT_EQ(0, mp_spawn(&ch, victim_run, &v));
	ASSERT_EQ(0, mp_recv(ch.rd, &ready));
	ASSERT_EQ(ALL_SLOTS - 5, msgpool_available(self->pool));
	ASSERT_EQ(MSGPOOL_E_ALREADY_BORROWED,
		  msgpool_read_mut(self->pool, v.tok, MSGPOOL_NONBLOCK, &g));
	ASSERT_EQ(128 + SIGKILL, mp_kill(&ch));

	/* Its read borrow is gone, its messages and loan are free. */
	ASSERT_EQ(ALL_SLOTS - 1, msgpool_available(self->pool));
	ASSERT_EQ(0, msgpool_stats(self->pool, &after));
	ASSERT_EQ(before.nr_reclaimed + 4, after.nr_reclaimed);
	ASSERT_EQ(before.nr_poisoned, after.nr_poisoned);
	ASSERT_EQ(0, msgpool_read_mut(self->pool, v.tok, MSGPOOL_NONBLOCK, &g));
	ASSERT_EQ(0, memcmp("mine", g.data, 4));
	ASSERT_EQ(0, msgpool_release(self->pool, &g));
	ASSERT_EQ(0, msgpool_free(self->pool, v.tok));
	ASSERT_EQ(ALL_SLOTS, msgpool_available(self->pool));
}

/* Stores one message, hands its token up the pipe, then parks. */
static int producer_run(int rd, int wr, void *name)
{
	struct msgpool *p;
	uint64_t t;

	if (msgpool_open(name, NULL, 0, 0, &p))
		return 1;
	if (msgpool_store(p, "orphan", 6, 0, 0, &t))
		return 2;
	if (mp_send(wr, t))
		return 3;
	park(wr);
}

TEST_F(peers, orphan_freed_on_last_release)
{
	struct msgpool_guard g;
	struct mp_child ch;
	__u64 tok, ready;

	ASSERT_EQ(0, mp_spawn(&ch, producer_run, self->name));
	ASSERT_EQ(0, mp_recv(ch.rd, &tok));
	ASSERT_EQ(0, mp_recv(ch.rd, &ready));
	ASSERT_EQ(0, msgpool_read(self->pool, tok, 0, &g));
	ASSERT_EQ(128 + SIGKILL, mp_kill(&ch));

	/* The owner died while we read: the message stays until released. */
	ASSERT_EQ(ALL_SLOTS - 1, msgpool_available(self->pool));
	ASSERT_EQ(0, memcmp("orphan", g.data, 6));
	ASSERT_EQ(0, msgpool_release(self->pool, &g));
	ASSERT_EQ(ALL_SLOTS, msgpool_available(self->pool));
	ASSERT_EQ(MSGPOOL_E_NOT_ALLOCATED,
		  msgpool_read(self->pool, tok, 0, &g));
}

TEST_HARNESS_MAIN
