// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the msgpool core: free lists, tokens, class selection,
 * the slot state machine, borrow accounting, peer reclaim and poisoning,
 * the census behind the stats ioctls, published slots and their readers.
 *
 * The core is built into this module from its source, so that its
 * internals can be tested without exporting them from msgpool.ko.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sizes.h>

#include "../kmod/msgpool_core.c"

#define MPK_TOKEN_CLASS_SHIFT	MP_TOKEN_INDEX_BITS
#define MPK_TOKEN_TAG_SHIFT	(MP_TOKEN_INDEX_BITS + MP_TOKEN_CLASS_BITS)

/* A pool and four peers: a, b and c writable, r read-only. */
struct mpk {
	struct mp_pool pool;
	struct mp_peer a, b, c, r;
	bool up;
};

static const struct msgpool_class mpk_cfg3[] = {
	{ .slot_size = 64, .nr_slots = 4 },
	{ .slot_size = 256, .nr_slots = 4 },
	{ .slot_size = 4096, .nr_slots = 2 },
};

static int mpk_init(struct kunit *test)
{
	test->priv = kunit_kzalloc(test, sizeof(struct mpk), GFP_KERNEL);
	return test->priv ? 0 : -ENOMEM;
}

static void mpk_exit(struct kunit *test)
{
	struct mpk *f = test->priv;

	if (!f->up)
		return;
	mp_peer_reclaim(&f->pool, &f->a);
	mp_peer_reclaim(&f->pool, &f->b);
	mp_peer_reclaim(&f->pool, &f->c);
	mp_peer_reclaim(&f->pool, &f->r);
	mp_pool_destroy(&f->pool);
}

static struct mpk *mpk_setup(struct kunit *test,
			     const struct msgpool_class *cls, u32 nr)
{
	struct mpk *f = test->priv;

	KUNIT_ASSERT_EQ(test, mp_pool_init(&f->pool, cls, nr, 1), 0);
	mp_peer_init(&f->pool, &f->a, true);
	mp_peer_init(&f->pool, &f->b, true);
	mp_peer_init(&f->pool, &f->c, true);
	mp_peer_init(&f->pool, &f->r, false);
	f->up = true;
	return f;
}

/* The peer closes (or dies); a new one takes its place. */
static void mpk_crash(struct mpk *f, struct mp_peer *peer)
{
	bool writable = peer->writable;

	mp_peer_reclaim(&f->pool, peer);
	mp_peer_init(&f->pool, peer, writable);
}

static u64 mpk_available(struct mpk *f)
{
	struct msgpool_info info = {};

	mp_pool_info(&f->pool, &info);
	return info.available;
}

/* A loan and a commit: a READY message, or 0. */
static u64 mpk_store(struct mpk *f, struct mp_peer *peer, u32 len, u64 tag)
{
	struct mp_msg_hdr hdr;
	struct mp_ref ref;

	if (mp_loan(&f->pool, peer, len, 0, &ref) ||
	    mp_commit(&f->pool, peer, ref.token, len, tag, &hdr))
		return 0;
	return ref.token;
}

static struct mp_slot *mpk_slot(struct mpk *f, u64 token)
{
	u32 slot;

	if (mp_token_slot(&f->pool, token, &slot))
		return NULL;
	return &f->pool.slots[slot];
}

static int mpk_borrow(struct mpk *f, struct mp_peer *peer, u64 token,
		      u32 flags)
{
	struct mp_msg_hdr hdr;
	struct mp_ref ref;

	return mp_borrow(&f->pool, peer, token, flags, &ref, &hdr);
}

static int mpk_header(struct mpk *f, u64 token)
{
	struct mp_msg_hdr hdr;
	struct mp_ref ref;

	return mp_header(&f->pool, token, &ref, &hdr);
}

/* Free lists. */

static void mpk_freelist_order(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	struct mp_class *cls = &f->pool.classes[1];
	u32 i;

	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, mp_freelist_pop(&f->pool, cls), i);
	KUNIT_EXPECT_EQ(test, mp_freelist_pop(&f->pool, cls), MP_NIL);
	KUNIT_EXPECT_EQ(test, atomic_read(&cls->available), 0);
	mp_freelist_push(&f->pool, cls, 1);
	mp_freelist_push(&f->pool, cls, 3);
	KUNIT_EXPECT_EQ(test, atomic_read(&cls->available), 2);
	KUNIT_EXPECT_EQ(test, mp_freelist_pop(&f->pool, cls), 3U);
	KUNIT_EXPECT_EQ(test, mp_freelist_pop(&f->pool, cls), 1U);
	for (i = 0; i < 4; i++)
		mp_freelist_push(&f->pool, cls, i);
	KUNIT_EXPECT_EQ(test, mpk_available(f), 10ULL);
}

static void mpk_freelist_tag(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	struct mp_class *cls = &f->pool.classes[0];
	u64 stale = cls->free_head, head;
	u32 a;

	a = mp_freelist_pop(&f->pool, cls);
	KUNIT_EXPECT_EQ(test, cls->free_head >> 32, 1ULL);
	mp_freelist_push(&f->pool, cls, a);
	head = cls->free_head;
	KUNIT_EXPECT_EQ(test, (u32)head, (u32)stale);
	KUNIT_EXPECT_EQ(test, head >> 32, (stale >> 32) + 2);
	/* A popper that read @stale before the pop and push must fail. */
	KUNIT_EXPECT_FALSE(test, try_cmpxchg64(&cls->free_head, &stale, 0));
	KUNIT_EXPECT_EQ(test, stale, head);
}

static void mpk_freelist_exhaustion(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	struct msgpool_info info = {};
	struct mp_ref ref;
	int i;

	for (i = 0; i < 10; i++)
		KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), -ENOBUFS);
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->a, 1, MSGPOOL_F_NONBLOCK,
				      &ref), -ENOBUFS);
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->a, 1,
				      MSGPOOL_F_WAIT | MSGPOOL_F_NONBLOCK,
				      &ref), -EAGAIN);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, mp_freelist_pop(&f->pool,
						      &f->pool.classes[i]),
				MP_NIL);
	mp_pool_info(&f->pool, &info);
	KUNIT_EXPECT_EQ(test, info.available, 0ULL);
	KUNIT_EXPECT_EQ(test, info.nr_nobufs, 3ULL);
	mpk_crash(f, &f->a);
	KUNIT_EXPECT_EQ(test, mpk_available(f), 10ULL);
}

#define MPK_THREADS	4
#define MPK_ITERS	20000

struct mpk_worker {
	struct mp_pool *pool;
	unsigned long *owned;
	atomic_t *errors;
	struct completion done;
};

static bool mpk_claim(struct mpk_worker *w, u32 index)
{
	if (index == MP_NIL)
		return true;
	if (index < w->pool->classes[0].nr_slots &&
	    !test_and_set_bit(index, w->owned))
		return true;
	atomic_inc(w->errors);
	return false;
}

static void mpk_unclaim(struct mpk_worker *w, u32 index)
{
	if (index == MP_NIL)
		return;
	clear_bit(index, w->owned);
	mp_freelist_push(w->pool, &w->pool->classes[0], index);
}

/* Pop a, pop b, push a, push b: the pattern ABA needs. */
static int mpk_freelist_worker(void *data)
{
	struct mpk_worker *w = data;
	struct mp_class *cls = &w->pool->classes[0];
	u32 a, b, i;

	for (i = 0; i < MPK_ITERS; i++) {
		a = mp_freelist_pop(w->pool, cls);
		if (!mpk_claim(w, a))
			break;
		b = mp_freelist_pop(w->pool, cls);
		if (!mpk_claim(w, b))
			break;
		mpk_unclaim(w, a);
		cond_resched();
		mpk_unclaim(w, b);
	}
	kthread_complete_and_exit(&w->done, 0);
}

static void mpk_freelist_concurrent(struct kunit *test)
{
	static const struct msgpool_class cls[] = {
		{ .slot_size = 8, .nr_slots = 3 },
	};
	struct mpk *f = mpk_setup(test, cls, 1);
	struct mpk_worker *w;
	struct task_struct *task;
	unsigned long *owned;
	atomic_t errors = ATOMIC_INIT(0);
	int i, started;
	u32 index;

	w = kunit_kcalloc(test, MPK_THREADS, sizeof(*w), GFP_KERNEL);
	owned = kunit_kcalloc(test, BITS_TO_LONGS(3), sizeof(long),
			      GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, w);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, owned);
	for (started = 0; started < MPK_THREADS; started++) {
		w[started].pool = &f->pool;
		w[started].owned = owned;
		w[started].errors = &errors;
		init_completion(&w[started].done);
		task = kthread_run(mpk_freelist_worker, &w[started],
				   "mpk_freelist/%d", started);
		if (IS_ERR(task))
			break;
	}
	for (i = 0; i < started; i++)
		wait_for_completion(&w[i].done);
	KUNIT_ASSERT_EQ(test, started, MPK_THREADS);
	KUNIT_EXPECT_EQ(test, atomic_read(&errors), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->pool.classes[0].available), 3);
	for (i = 0; i < 3; i++) {
		index = mp_freelist_pop(&f->pool, &f->pool.classes[0]);
		KUNIT_ASSERT_LT(test, index, 3U);
		KUNIT_EXPECT_FALSE(test, test_and_set_bit(index, owned));
	}
	KUNIT_EXPECT_EQ(test, mp_freelist_pop(&f->pool, &f->pool.classes[0]),
			MP_NIL);
	for (i = 0; i < 3; i++)
		mp_freelist_push(&f->pool, &f->pool.classes[0], i);
}

static struct kunit_case mpk_freelist_cases[] = {
	KUNIT_CASE(mpk_freelist_order),
	KUNIT_CASE(mpk_freelist_tag),
	KUNIT_CASE(mpk_freelist_exhaustion),
	KUNIT_CASE(mpk_freelist_concurrent),
	{}
};

static struct kunit_suite mpk_freelist_suite = {
	.name = "msgpool_freelist",
	.init = mpk_init,
	.exit = mpk_exit,
	.test_cases = mpk_freelist_cases,
};

/* Tokens. */

static void mpk_token_round_trip(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	struct mp_ref ref;
	u32 c, i, slot;
	u64 t;

	for (c = 0; c < 3; c++) {
		for (i = 0; i < mpk_cfg3[c].nr_slots; i++) {
			t = mp_token_make(&f->pool, c, i, 0x9abcdef0U + i);
			KUNIT_EXPECT_EQ(test, t >> 32, 0x9abcdef0ULL + i);
			KUNIT_ASSERT_EQ(test, mp_token_slot(&f->pool, t, &slot),
					0);
			KUNIT_EXPECT_EQ(test, slot,
					f->pool.classes[c].first + i);
		}
	}
	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 100, 0, &ref), 0);
	KUNIT_ASSERT_EQ(test, mp_token_slot(&f->pool, ref.token, &slot), 0);
	KUNIT_EXPECT_EQ(test, slot, ref.slot);
	KUNIT_EXPECT_EQ(test, slot, f->pool.classes[1].first);
	KUNIT_EXPECT_EQ(test, (u32)(ref.token >> 32), f->pool.slots[slot].gen);
	KUNIT_EXPECT_EQ(test, ref.capacity, 256U);
	KUNIT_EXPECT_EQ(test, ref.offset, f->pool.classes[1].offset);
}

static void mpk_token_malformed(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	u64 t = mpk_store(f, &f->a, 8, 0);
	u64 bad[] = {
		t & 0xffffffffULL,				/* gen 0 */
		t | 3ULL << MPK_TOKEN_CLASS_SHIFT,		/* class 3 */
		t | 4,						/* index 4 */
		t ^ 1ULL << MPK_TOKEN_TAG_SHIFT,		/* pool tag */
		t | (MP_MAX_CLASS_SLOTS - 1),			/* index */
	};
	u32 i, slot;

	KUNIT_ASSERT_NE(test, t, 0ULL);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KUNIT_EXPECT_EQ(test, mp_token_slot(&f->pool, bad[i], &slot),
				-EINVAL);
		KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->b, bad[i], 0), -EINVAL);
		KUNIT_EXPECT_EQ(test, mpk_header(f, bad[i]), -EINVAL);
		KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->b, bad[i]),
				-EINVAL);
		KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, bad[i], 0, 0),
				-EINVAL);
		KUNIT_EXPECT_EQ(test, mp_discard(&f->pool, &f->a, bad[i]),
				-EINVAL);
	}
	KUNIT_EXPECT_EQ(test, mpk_slot(f, t)->state, (u8)MP_SLOT_READY);
}

static void mpk_token_stale(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	u32 gen = f->pool.slots[0].gen;
	struct mp_msg_hdr hdr;
	u64 t1, t2;

	t1 = mpk_store(f, &f->a, 8, 1);
	KUNIT_EXPECT_EQ(test, (u32)(t1 >> 32), gen + 1);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->a, t1), 0);
	KUNIT_EXPECT_EQ(test, f->pool.slots[0].gen, gen + 2);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->a, t1), -ESTALE);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->b, t1, 0), -ESTALE);
	KUNIT_EXPECT_EQ(test, mpk_header(f, t1), -ESTALE);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t1, 0, 0), -ESTALE);
	KUNIT_EXPECT_EQ(test, mp_commit(&f->pool, &f->a, t1, 1, 0, &hdr),
			-ESTALE);
	t2 = mpk_store(f, &f->a, 8, 2);
	KUNIT_EXPECT_EQ(test, (u32)t2, (u32)t1);
	KUNIT_EXPECT_EQ(test, (u32)(t2 >> 32), gen + 3);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->b, t1, 0), -ESTALE);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->b, t2, 0), 0);
}

static void mpk_token_other_pool(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	u64 t = mpk_store(f, &f->a, 8, 0);
	struct mp_pool *other;
	u32 slot;

	other = kunit_kzalloc(test, sizeof(*other), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, other);
	KUNIT_ASSERT_EQ(test, mp_pool_init(other, mpk_cfg3, 3, 2), 0);
	KUNIT_EXPECT_EQ(test, mp_token_slot(other, t, &slot), -EINVAL);
	mp_pool_destroy(other);
}

static struct kunit_case mpk_token_cases[] = {
	KUNIT_CASE(mpk_token_round_trip),
	KUNIT_CASE(mpk_token_malformed),
	KUNIT_CASE(mpk_token_stale),
	KUNIT_CASE(mpk_token_other_pool),
	{}
};

static struct kunit_suite mpk_token_suite = {
	.name = "msgpool_token",
	.init = mpk_init,
	.exit = mpk_exit,
	.test_cases = mpk_token_cases,
};

/* Class selection, over several pool shapes. */

struct mpk_cfg {
	const char *name;
	u32 nr;
	struct msgpool_class cls[MSGPOOL_MAX_CLASSES];
};

static const struct mpk_cfg mpk_cfgs[] = {
	{ "one class", 1, { { 100, 3 } } },
	{ "three classes", 3, { { 64, 4 }, { 256, 4 }, { 4096, 2 } } },
	{ "eight classes", 8, { { 1, 1 }, { 2, 2 }, { 3, 1 }, { 64, 3 },
				{ 65, 1 }, { 4096, 2 }, { 4097, 1 },
				{ 65536, 1 } } },
	{ "far apart", 2, { { 8, 2 }, { 1 << 20, 1 } } },
};

static void mpk_cfg_desc(const struct mpk_cfg *cfg, char *desc)
{
	strscpy(desc, cfg->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(mpk_class, mpk_cfgs, mpk_cfg_desc);

/* The smallest class that fits @len, whatever is free. */
static int mpk_fit(const struct mpk_cfg *cfg, u32 len)
{
	u32 c;

	for (c = 0; c < cfg->nr; c++)
		if (cfg->cls[c].slot_size >= len)
			return c;
	return -ENOBUFS;
}

static void mpk_class_pick(struct kunit *test)
{
	const struct mpk_cfg *cfg = test->param_value;
	struct mpk *f = mpk_setup(test, cfg->cls, cfg->nr);
	u32 max = cfg->cls[cfg->nr - 1].slot_size;
	struct mp_ref ref;
	u32 c, i, len;

	for (c = 0; c < cfg->nr; c++) {
		len = cfg->cls[c].slot_size;
		KUNIT_EXPECT_EQ(test, mp_class_pick(&f->pool, len), (int)c);
		KUNIT_EXPECT_EQ(test, mp_class_pick(&f->pool, len - 1),
				mpk_fit(cfg, len - 1));
		KUNIT_EXPECT_EQ(test, mp_class_pick(&f->pool, len + 1),
				mpk_fit(cfg, len + 1));
	}
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->a, max + 1, 0, &ref),
			-EMSGSIZE);
	/* Empty messages fill the classes in order, smallest first. */
	for (c = 0; c < cfg->nr; c++) {
		for (i = 0; i < cfg->cls[c].nr_slots; i++) {
			KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 0, 0,
						      &ref), 0);
			KUNIT_EXPECT_EQ(test, ref.capacity,
					cfg->cls[c].slot_size);
		}
		KUNIT_EXPECT_EQ(test, mp_class_pick(&f->pool,
						    cfg->cls[c].slot_size),
				c + 1 < cfg->nr ? (int)c + 1 : -ENOBUFS);
	}
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->a, 0, 0, &ref), -ENOBUFS);
	mpk_crash(f, &f->a);
	KUNIT_EXPECT_EQ(test, mpk_available(f), (u64)f->pool.capacity);
}

struct mpk_config_case {
	struct msgpool_class cls[MSGPOOL_MAX_CLASSES];
	u32 nr;
	u64 max_bytes;
	u32 max_slots;
	int err;
	u64 map_size;
};

static void mpk_config_check(struct kunit *test)
{
	static const struct mpk_config_case cases[] = {
		{ { { 1, 1 } }, 1, SZ_256M, 262144, 0, SZ_4K },
		{ { { 65, 64 } }, 1, SZ_256M, 262144, 0, SZ_8K },
		{ { { 100, 10 }, { 5000, 3 }, { 70000, 1 } }, 3, SZ_256M,
		  262144, 0, SZ_4K + SZ_16K + SZ_64K + SZ_8K },
		{ { { 4096, 65536 } }, 1, SZ_256M, 262144, 0, SZ_256M },
		{ { { 4096, 65537 } }, 1, SZ_256M, 262144, -E2BIG, 0 },
		{ { { 1, 262144 }, { 2, 1 } }, 2, SZ_256M, 262144, -E2BIG, 0 },
		{ { { U32_MAX, 1 << 24 } }, 1, U64_MAX, U32_MAX, -E2BIG, 0 },
		{ { { 65536, 65536 } }, 1, SZ_256M, U32_MAX, -E2BIG, 0 },
		{ { { 1, (1 << 24) + 1 } }, 1, U64_MAX, U32_MAX, -EINVAL, 0 },
		{ { { 1, 1 } }, 0, SZ_256M, 262144, -EINVAL, 0 },
		{ { { 1, 1 } }, 9, SZ_256M, 262144, -EINVAL, 0 },
		{ { { 0, 1 } }, 1, SZ_256M, 262144, -EINVAL, 0 },
		{ { { 1, 0 } }, 1, SZ_256M, 262144, -EINVAL, 0 },
		{ { { 2, 1 }, { 2, 1 } }, 2, SZ_256M, 262144, -EINVAL, 0 },
		{ { { 2, 1 }, { 1, 1 } }, 2, SZ_256M, 262144, -EINVAL, 0 },
	};
	const struct mpk_config_case *c;
	u64 size;
	int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		c = &cases[i];
		size = 0;
		KUNIT_EXPECT_EQ_MSG(test, mp_config_check(c->cls, c->nr,
							  c->max_bytes,
							  c->max_slots, &size),
				    c->err, "case %d", i);
		KUNIT_EXPECT_EQ_MSG(test, size, c->map_size, "case %d", i);
	}
}

static struct kunit_case mpk_class_cases[] = {
	KUNIT_CASE_PARAM(mpk_class_pick, mpk_class_gen_params),
	KUNIT_CASE(mpk_config_check),
	{}
};

static struct kunit_suite mpk_class_suite = {
	.name = "msgpool_class",
	.init = mpk_init,
	.exit = mpk_exit,
	.test_cases = mpk_class_cases,
};

/* The slot state machine: one case per (state, op, peer). */

enum mpk_who { NOBODY, A, B, R };
enum mpk_from { S_LOANED, S_READY, S_READ, S_WRITE, S_POISONED, S_FREED };
enum mpk_op {
	OP_COMMIT, OP_DISCARD, OP_BORROW, OP_BORROW_W, OP_BORROW_NB,
	OP_BORROW_W_NB, OP_BORROW_ADOPT, OP_RELEASE, OP_FREE, OP_HEADER,
};

static const char * const mpk_from_name[] = {
	"LOANED", "READY", "READ-BORROWED", "WRITE-BORROWED", "POISONED",
	"FREED",
};

static const char * const mpk_op_name[] = {
	"commit", "discard", "borrow", "borrow|write", "borrow|nonblock",
	"borrow|write|nonblock", "borrow|adopt|nonblock", "release", "free",
	"header",
};

struct mpk_sm_case {
	enum mpk_from from;
	enum mpk_op op;
	enum mpk_who who;
	int err;
	enum mp_slot_state to;
	int readers;
	enum mpk_who writer;
	enum mpk_who owner;
};

/* Setups: a owns the slot; b holds the borrow; c poisoned it. */
static const struct mpk_sm_case mpk_sm_cases[] = {
	{ S_LOANED, OP_COMMIT, A, 0, MP_SLOT_READY, 0, NOBODY, A },
	{ S_LOANED, OP_COMMIT, B, -EPERM, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_COMMIT, R, -EBADF, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_DISCARD, A, 0, MP_SLOT_FREE, 0, NOBODY, NOBODY },
	{ S_LOANED, OP_DISCARD, B, -EPERM, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_DISCARD, R, -EBADF, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_BORROW_NB, A, -EBUSY, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_BORROW_NB, B, -EBUSY, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_BORROW_NB, R, -EBUSY, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_BORROW_W_NB, B, -EBUSY, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_BORROW_W_NB, R, -EBADF, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_RELEASE, A, -EPERM, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_RELEASE, B, -EPERM, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_FREE, A, -EBUSY, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_FREE, B, -EBUSY, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_FREE, R, -EBADF, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_HEADER, R, -EBUSY, MP_SLOT_LOANED, 0, A, A },

	{ S_READY, OP_COMMIT, A, -EPERM, MP_SLOT_READY, 0, NOBODY, A },
	{ S_READY, OP_DISCARD, A, -EPERM, MP_SLOT_READY, 0, NOBODY, A },
	{ S_READY, OP_BORROW, A, 0, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READY, OP_BORROW, B, 0, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READY, OP_BORROW_NB, R, 0, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READY, OP_BORROW_W, A, 0, MP_SLOT_READY, 0, A, A },
	{ S_READY, OP_BORROW_W_NB, B, 0, MP_SLOT_READY, 0, B, A },
	{ S_READY, OP_BORROW_W_NB, R, -EBADF, MP_SLOT_READY, 0, NOBODY, A },
	{ S_READY, OP_BORROW_ADOPT, B, 0, MP_SLOT_READY, 1, NOBODY, B },
	{ S_READY, OP_BORROW_ADOPT, R, 0, MP_SLOT_READY, 1, NOBODY, R },
	{ S_READY, OP_RELEASE, A, -EPERM, MP_SLOT_READY, 0, NOBODY, A },
	{ S_READY, OP_FREE, A, 0, MP_SLOT_FREE, 0, NOBODY, NOBODY },
	{ S_READY, OP_FREE, B, 0, MP_SLOT_FREE, 0, NOBODY, NOBODY },
	{ S_READY, OP_FREE, R, -EBADF, MP_SLOT_READY, 0, NOBODY, A },
	{ S_READY, OP_HEADER, R, 0, MP_SLOT_READY, 0, NOBODY, A },

	{ S_READ, OP_COMMIT, A, -EPERM, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READ, OP_BORROW_NB, A, 0, MP_SLOT_READY, 2, NOBODY, A },
	{ S_READ, OP_BORROW_NB, B, 0, MP_SLOT_READY, 2, NOBODY, A },
	{ S_READ, OP_BORROW_W_NB, A, -EBUSY, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READ, OP_BORROW_W_NB, B, -EBUSY, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READ, OP_RELEASE, B, 0, MP_SLOT_READY, 0, NOBODY, A },
	{ S_READ, OP_RELEASE, A, -EPERM, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READ, OP_RELEASE, R, -EPERM, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READ, OP_FREE, A, -EBUSY, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READ, OP_FREE, B, -EBUSY, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READ, OP_HEADER, A, 0, MP_SLOT_READY, 1, NOBODY, A },

	{ S_WRITE, OP_COMMIT, B, -EPERM, MP_SLOT_READY, 0, B, A },
	{ S_WRITE, OP_DISCARD, B, -EPERM, MP_SLOT_READY, 0, B, A },
	{ S_WRITE, OP_BORROW_NB, A, -EBUSY, MP_SLOT_READY, 0, B, A },
	{ S_WRITE, OP_BORROW_NB, B, -EBUSY, MP_SLOT_READY, 0, B, A },
	{ S_WRITE, OP_BORROW_W_NB, A, -EBUSY, MP_SLOT_READY, 0, B, A },
	{ S_WRITE, OP_RELEASE, B, 0, MP_SLOT_READY, 0, NOBODY, A },
	{ S_WRITE, OP_RELEASE, A, -EPERM, MP_SLOT_READY, 0, B, A },
	{ S_WRITE, OP_FREE, A, -EBUSY, MP_SLOT_READY, 0, B, A },
	{ S_WRITE, OP_FREE, B, -EBUSY, MP_SLOT_READY, 0, B, A },
	{ S_WRITE, OP_HEADER, A, 0, MP_SLOT_READY, 0, B, A },

	{ S_POISONED, OP_COMMIT, A, -EPERM, MP_SLOT_POISONED, 0, NOBODY, A },
	{ S_POISONED, OP_DISCARD, A, -EPERM, MP_SLOT_POISONED, 0, NOBODY, A },
	{ S_POISONED, OP_BORROW, B, -EOWNERDEAD, MP_SLOT_POISONED, 0, NOBODY,
	  A },
	{ S_POISONED, OP_BORROW_W, A, -EOWNERDEAD, MP_SLOT_POISONED, 0,
	  NOBODY, A },
	{ S_POISONED, OP_BORROW_ADOPT, B, -EOWNERDEAD, MP_SLOT_POISONED, 0,
	  NOBODY, A },
	{ S_POISONED, OP_RELEASE, A, -EPERM, MP_SLOT_POISONED, 0, NOBODY, A },
	{ S_POISONED, OP_HEADER, R, -EOWNERDEAD, MP_SLOT_POISONED, 0, NOBODY,
	  A },
	{ S_POISONED, OP_FREE, R, -EBADF, MP_SLOT_POISONED, 0, NOBODY, A },
	{ S_POISONED, OP_FREE, B, 0, MP_SLOT_FREE, 0, NOBODY, NOBODY },

	{ S_FREED, OP_COMMIT, A, -ESTALE, MP_SLOT_FREE, 0, NOBODY, NOBODY },
	{ S_FREED, OP_DISCARD, A, -ESTALE, MP_SLOT_FREE, 0, NOBODY, NOBODY },
	{ S_FREED, OP_BORROW, B, -ESTALE, MP_SLOT_FREE, 0, NOBODY, NOBODY },
	{ S_FREED, OP_BORROW_W, B, -ESTALE, MP_SLOT_FREE, 0, NOBODY, NOBODY },
	{ S_FREED, OP_RELEASE, B, -ESTALE, MP_SLOT_FREE, 0, NOBODY, NOBODY },
	{ S_FREED, OP_FREE, A, -ESTALE, MP_SLOT_FREE, 0, NOBODY, NOBODY },
	{ S_FREED, OP_FREE, R, -EBADF, MP_SLOT_FREE, 0, NOBODY, NOBODY },
	{ S_FREED, OP_HEADER, R, -ESTALE, MP_SLOT_FREE, 0, NOBODY, NOBODY },
};

static void mpk_sm_desc(const struct mpk_sm_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s: %s by %c",
		 mpk_from_name[c->from], mpk_op_name[c->op], "-abr"[c->who]);
}

KUNIT_ARRAY_PARAM(mpk_sm, mpk_sm_cases, mpk_sm_desc);

static struct mp_peer *mpk_peer(struct mpk *f, enum mpk_who who)
{
	switch (who) {
	case A:
		return &f->a;
	case B:
		return &f->b;
	case R:
		return &f->r;
	default:
		return NULL;
	}
}

static u32 mpk_id(struct mpk *f, enum mpk_who who)
{
	return who == NOBODY ? 0 : mpk_peer(f, who)->id;
}

/* Puts a fresh slot in state @from; returns its token or 0. */
static u64 mpk_sm_setup(struct mpk *f, enum mpk_from from)
{
	struct mp_ref ref;
	u64 t;

	if (from == S_LOANED)
		return mp_loan(&f->pool, &f->a, 1, 0, &ref) ? 0 : ref.token;
	t = mpk_store(f, &f->a, 1, 0);
	switch (from) {
	case S_READ:
		return mpk_borrow(f, &f->b, t, 0) ? 0 : t;
	case S_WRITE:
		return mpk_borrow(f, &f->b, t, MSGPOOL_F_WRITE) ? 0 : t;
	case S_POISONED:
		if (mpk_borrow(f, &f->c, t, MSGPOOL_F_WRITE))
			return 0;
		mpk_crash(f, &f->c);
		return t;
	case S_FREED:
		return mp_free(&f->pool, &f->a, t) ? 0 : t;
	default:
		return t;
	}
}

static int mpk_sm_op(struct mpk *f, enum mpk_op op, struct mp_peer *peer,
		     u64 t)
{
	struct mp_msg_hdr hdr;

	switch (op) {
	case OP_COMMIT:
		return mp_commit(&f->pool, peer, t, 1, 0, &hdr);
	case OP_DISCARD:
		return mp_discard(&f->pool, peer, t);
	case OP_BORROW:
		return mpk_borrow(f, peer, t, 0);
	case OP_BORROW_W:
		return mpk_borrow(f, peer, t, MSGPOOL_F_WRITE);
	case OP_BORROW_NB:
		return mpk_borrow(f, peer, t, MSGPOOL_F_NONBLOCK);
	case OP_BORROW_W_NB:
		return mpk_borrow(f, peer, t,
				  MSGPOOL_F_WRITE | MSGPOOL_F_NONBLOCK);
	case OP_BORROW_ADOPT:
		return mpk_borrow(f, peer, t,
				  MSGPOOL_F_ADOPT | MSGPOOL_F_NONBLOCK);
	case OP_RELEASE:
		return mp_release(&f->pool, peer, t, 0, 0);
	case OP_FREE:
		return mp_free(&f->pool, peer, t);
	default:
		return mpk_header(f, t);
	}
}

static void mpk_state_machine(struct kunit *test)
{
	const struct mpk_sm_case *c = test->param_value;
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	struct mp_slot *s;
	u64 t;

	t = mpk_sm_setup(f, c->from);
	KUNIT_ASSERT_NE(test, t, 0ULL);
	s = mpk_slot(f, t);
	KUNIT_EXPECT_EQ(test, mpk_sm_op(f, c->op, mpk_peer(f, c->who), t),
			c->err);
	KUNIT_EXPECT_EQ(test, s->state, (u8)c->to);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->readers), c->readers);
	KUNIT_EXPECT_EQ(test, s->writer, mpk_id(f, c->writer));
	KUNIT_EXPECT_EQ(test, s->owner, mpk_id(f, c->owner));
}

static struct kunit_case mpk_state_cases[] = {
	KUNIT_CASE_PARAM(mpk_state_machine, mpk_sm_gen_params),
	{}
};

static struct kunit_suite mpk_state_suite = {
	.name = "msgpool_state",
	.init = mpk_init,
	.exit = mpk_exit,
	.test_cases = mpk_state_cases,
};

/* Borrow accounting. */

static void mpk_borrow_counts(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	u64 t = mpk_store(f, &f->a, 1, 0);
	struct mp_slot *s = mpk_slot(f, t);
	struct msgpool_info info = {};
	int i;

	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->b, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->a, t, 0), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->readers), 4);
	KUNIT_EXPECT_EQ(test, f->b.hold_used, 1U);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->a, t), -EBUSY);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), -EPERM);
	KUNIT_EXPECT_EQ(test, f->b.hold_used, 0U);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->b, t, MSGPOOL_F_WRITE |
					 MSGPOOL_F_NONBLOCK), -EBUSY);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->a, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->b, t, MSGPOOL_F_WRITE |
					 MSGPOOL_F_NONBLOCK), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->a, t), 0);
	mp_pool_info(&f->pool, &info);
	KUNIT_EXPECT_EQ(test, info.nr_borrows, 5ULL);
	KUNIT_EXPECT_EQ(test, info.nr_stores, 1ULL);
	KUNIT_EXPECT_EQ(test, info.nr_frees, 1ULL);
	KUNIT_EXPECT_EQ(test, info.available, 10ULL);
}

static void mpk_borrow_header(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	struct mp_msg_hdr h1, h2;
	struct mp_ref ref;
	u64 t;

	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 0, 0, &ref), 0);
	KUNIT_EXPECT_EQ(test, mp_commit(&f->pool, &f->a, ref.token, 65, 7,
					&h1), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, mp_commit(&f->pool, &f->a, ref.token, 64, 7,
					&h1), 0);
	KUNIT_EXPECT_EQ(test, h1.len, 64U);
	KUNIT_EXPECT_EQ(test, h1.tag, 7ULL);
	KUNIT_EXPECT_EQ(test, h1.producer, (u32)task_tgid_vnr(current));
	t = mpk_store(f, &f->a, 3, 8);
	KUNIT_ASSERT_EQ(test, mp_borrow(&f->pool, &f->b, t, MSGPOOL_F_WRITE,
					&ref, &h2), 0);
	KUNIT_EXPECT_EQ(test, h2.seq, h1.seq + 1);
	KUNIT_EXPECT_GE(test, h2.timestamp_ns, h1.timestamp_ns);
	KUNIT_EXPECT_EQ(test, ref.offset,
			f->pool.classes[0].offset + f->pool.classes[0].stride);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, MSGPOOL_F_SETLEN,
					 65), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, MSGPOOL_F_SETLEN,
					 64), 0);
	KUNIT_ASSERT_EQ(test, mp_header(&f->pool, t, &ref, &h2), 0);
	KUNIT_EXPECT_EQ(test, h2.len, 64U);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->b, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, MSGPOOL_F_SETLEN,
					 1), -EPERM);
}

static void mpk_borrow_read_only(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	u64 t = mpk_store(f, &f->a, 1, 0);
	struct mp_msg_hdr hdr;
	struct mp_ref ref;

	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->r, 1, 0, &ref), -EBADF);
	KUNIT_EXPECT_EQ(test, mp_commit(&f->pool, &f->r, t, 1, 0, &hdr),
			-EBADF);
	KUNIT_EXPECT_EQ(test, mp_discard(&f->pool, &f->r, t), -EBADF);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->r, t, MSGPOOL_F_WRITE),
			-EBADF);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->r, t), -EBADF);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->r, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mpk_header(f, t), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->r, t, 0, 0), 0);
}

/* Many holds of one peer: the table grows and entries come and go. */
static void mpk_borrow_many(struct kunit *test)
{
	static const struct msgpool_class cls[] = {
		{ .slot_size = 8, .nr_slots = 700 },
	};
	struct mpk *f = mpk_setup(test, cls, 1);
	u64 *tok = kunit_kcalloc(test, 700, sizeof(*tok), GFP_KERNEL);
	u32 i;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, tok);
	for (i = 0; i < 700; i++) {
		tok[i] = mpk_store(f, &f->a, 1, i);
		KUNIT_ASSERT_NE(test, tok[i], 0ULL);
		KUNIT_ASSERT_EQ(test, mpk_borrow(f, &f->b, tok[i], 0), 0);
	}
	KUNIT_EXPECT_EQ(test, f->b.hold_used, 700U);
	KUNIT_EXPECT_EQ(test, f->b.hold_cap, 1024U);
	/* Every other one goes: the rest must still be found. */
	for (i = 0; i < 700; i += 2)
		KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, tok[i], 0, 0),
				0);
	for (i = 0; i < 700; i++)
		KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, tok[i], 0, 0),
				i % 2 ? 0 : -EPERM);
	KUNIT_EXPECT_EQ(test, f->b.hold_used, 0U);
	mpk_crash(f, &f->a);
	KUNIT_EXPECT_EQ(test, mpk_available(f), 700ULL);
}

/* A task that sleeps in the core until the test lets it go. */
struct mpk_waiter {
	struct mpk *f;
	struct mp_peer *peer;
	u64 token;
	u32 flags;
	bool loan;
	struct mp_ref ref;
	int err;
	struct completion done;
};

static int mpk_waiter_fn(void *data)
{
	struct mpk_waiter *w = data;
	struct mp_msg_hdr hdr;

	if (w->loan)
		w->err = mp_loan(&w->f->pool, w->peer, 1, w->flags, &w->ref);
	else
		w->err = mp_borrow(&w->f->pool, w->peer, w->token, w->flags,
				   &w->ref, &hdr);
	kthread_complete_and_exit(&w->done, 0);
}

/* Starts @w; returns once it sleeps on the pool's queue (or is done). */
static void mpk_waiter_start(struct kunit *test, struct mpk_waiter *w)
{
	struct task_struct *task;

	init_completion(&w->done);
	task = kthread_run(mpk_waiter_fn, w, "mpk_waiter");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	while (!wq_has_sleeper(&w->f->pool.wq) && !completion_done(&w->done))
		usleep_range(200, 500);
	KUNIT_EXPECT_FALSE(test, completion_done(&w->done));
}

static void mpk_waiter_end(struct kunit *test, struct mpk_waiter *w)
{
	if (!wait_for_completion_timeout(&w->done, 30 * HZ)) {
		kunit_err(test, "waiter still asleep after 30s");
		wait_for_completion(&w->done);
	}
}

static void mpk_borrow_wait(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	struct mpk_waiter w = { .f = f, .peer = &f->a };

	w.token = mpk_store(f, &f->a, 1, 0);
	KUNIT_ASSERT_EQ(test, mpk_borrow(f, &f->b, w.token, MSGPOOL_F_WRITE),
			0);
	mpk_waiter_start(test, &w);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, w.token, 0, 0), 0);
	mpk_waiter_end(test, &w);
	KUNIT_EXPECT_EQ(test, w.err, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&mpk_slot(f, w.token)->readers), 1);
}

static void mpk_borrow_wait_slot(struct kunit *test)
{
	static const struct msgpool_class one[] = {
		{ .slot_size = 64, .nr_slots = 1 },
	};
	struct mpk *f = mpk_setup(test, one, 1);
	struct mpk_waiter w = { .f = f, .peer = &f->b, .loan = true,
				.flags = MSGPOOL_F_WAIT };
	u64 t = mpk_store(f, &f->a, 1, 0);

	mpk_waiter_start(test, &w);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->a, t), 0);
	mpk_waiter_end(test, &w);
	KUNIT_EXPECT_EQ(test, w.err, 0);
	KUNIT_EXPECT_EQ(test, (u32)w.ref.token, (u32)t);
}

static void mpk_borrow_wait_stale(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	struct mpk_waiter w = { .f = f, .peer = &f->b };
	struct mp_ref ref;

	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	w.token = ref.token;
	mpk_waiter_start(test, &w);
	KUNIT_EXPECT_EQ(test, mp_discard(&f->pool, &f->a, ref.token), 0);
	mpk_waiter_end(test, &w);
	KUNIT_EXPECT_EQ(test, w.err, -ESTALE);
}

static struct kunit_case mpk_borrow_cases[] = {
	KUNIT_CASE(mpk_borrow_counts),
	KUNIT_CASE(mpk_borrow_header),
	KUNIT_CASE(mpk_borrow_read_only),
	KUNIT_CASE(mpk_borrow_many),
	KUNIT_CASE(mpk_borrow_wait),
	KUNIT_CASE(mpk_borrow_wait_slot),
	KUNIT_CASE(mpk_borrow_wait_stale),
	{}
};

static struct kunit_suite mpk_borrow_suite = {
	.name = "msgpool_borrow",
	.init = mpk_init,
	.exit = mpk_exit,
	.test_cases = mpk_borrow_cases,
};

/* Peer reclaim and poisoning. */

static void mpk_reclaim_loan(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	struct msgpool_info info = {};
	struct mp_ref ref;

	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	mpk_crash(f, &f->a);
	KUNIT_EXPECT_EQ(test, mpk_slot(f, ref.token)->state, (u8)MP_SLOT_FREE);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->b, ref.token, 0), -ESTALE);
	mp_pool_info(&f->pool, &info);
	KUNIT_EXPECT_EQ(test, info.available, 10ULL);
	KUNIT_EXPECT_EQ(test, info.nr_reclaimed, 1ULL);
}

static void mpk_reclaim_read(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	u64 t = mpk_store(f, &f->a, 1, 0);

	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->b, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->b, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->c, t, 0), 0);
	mpk_crash(f, &f->b);
	KUNIT_EXPECT_EQ(test, atomic_read(&mpk_slot(f, t)->readers), 1);
	KUNIT_EXPECT_EQ(test, mpk_slot(f, t)->state, (u8)MP_SLOT_READY);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->c, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->a, t), 0);
}

static void mpk_reclaim_poison(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	u64 t = mpk_store(f, &f->a, 1, 0);
	struct msgpool_info info = {};

	KUNIT_ASSERT_EQ(test, mpk_borrow(f, &f->b, t, MSGPOOL_F_WRITE), 0);
	mpk_crash(f, &f->b);
	KUNIT_EXPECT_EQ(test, mpk_slot(f, t)->state, (u8)MP_SLOT_POISONED);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->c, t, 0), -EOWNERDEAD);
	KUNIT_EXPECT_EQ(test, mpk_header(f, t), -EOWNERDEAD);
	mp_pool_info(&f->pool, &info);
	KUNIT_EXPECT_EQ(test, info.nr_poisoned, 1ULL);
	KUNIT_EXPECT_EQ(test, info.available, 9ULL);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->c, t), 0);
	KUNIT_EXPECT_EQ(test, mpk_available(f), 10ULL);
}

static void mpk_reclaim_own_write(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	u64 t = mpk_store(f, &f->a, 1, 0);

	KUNIT_ASSERT_EQ(test, mpk_borrow(f, &f->a, t, MSGPOOL_F_WRITE), 0);
	mpk_crash(f, &f->a);
	KUNIT_EXPECT_EQ(test, mpk_slot(f, t)->state, (u8)MP_SLOT_FREE);
	KUNIT_EXPECT_EQ(test, mpk_available(f), 10ULL);
}

static void mpk_reclaim_orphan(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	u64 t = mpk_store(f, &f->a, 1, 0);
	u64 u = mpk_store(f, &f->a, 1, 0);
	struct msgpool_info info = {};

	KUNIT_ASSERT_NE(test, mpk_store(f, &f->a, 1, 0), 0ULL);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->b, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->c, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->b, u, MSGPOOL_F_WRITE), 0);
	mpk_crash(f, &f->a);
	/* Only the unborrowed slot is back: the others wait for readers. */
	KUNIT_EXPECT_EQ(test, mpk_available(f), 8ULL);
	KUNIT_EXPECT_TRUE(test, mpk_slot(f, t)->flags & MP_SLOT_ORPHAN);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mpk_slot(f, t)->state, (u8)MP_SLOT_READY);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->c, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mpk_slot(f, t)->state, (u8)MP_SLOT_FREE);
	/* A lost write borrow of an orphan frees it: nobody owns it. */
	mpk_crash(f, &f->b);
	KUNIT_EXPECT_EQ(test, mpk_slot(f, u)->state, (u8)MP_SLOT_FREE);
	mp_pool_info(&f->pool, &info);
	KUNIT_EXPECT_EQ(test, info.available, 10ULL);
	KUNIT_EXPECT_EQ(test, info.nr_reclaimed, 3ULL);
	KUNIT_EXPECT_EQ(test, info.nr_poisoned, 0ULL);
}

static void mpk_reclaim_adopted(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	u64 t = mpk_store(f, &f->a, 1, 0);

	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->b, t, MSGPOOL_F_ADOPT), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	mpk_crash(f, &f->a);
	KUNIT_EXPECT_EQ(test, mpk_slot(f, t)->state, (u8)MP_SLOT_READY);
	KUNIT_EXPECT_EQ(test, mpk_slot(f, t)->owner, f->b.id);
	mpk_crash(f, &f->b);
	KUNIT_EXPECT_EQ(test, mpk_slot(f, t)->state, (u8)MP_SLOT_FREE);
	KUNIT_EXPECT_EQ(test, mpk_available(f), 10ULL);
}

/* Census: one slot in each state, every peer holding something. */
static void mpk_census(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	struct mp_peer_census pa, pb, pr, pc;
	u64 poisoned, read, written;
	struct mp_census c;
	struct mp_ref ref;

	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.free, 10ULL);
	poisoned = mpk_store(f, &f->a, 1, 0);
	KUNIT_ASSERT_EQ(test, mpk_borrow(f, &f->c, poisoned, MSGPOOL_F_WRITE),
			0);
	mpk_crash(f, &f->c);
	read = mpk_store(f, &f->a, 1, 0);
	written = mpk_store(f, &f->a, 1, 0);
	KUNIT_ASSERT_NE(test, mpk_store(f, &f->a, 1, 0), 0ULL);
	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	KUNIT_ASSERT_EQ(test, mpk_borrow(f, &f->b, read, 0), 0);
	KUNIT_ASSERT_EQ(test, mpk_borrow(f, &f->b, read, 0), 0);
	KUNIT_ASSERT_EQ(test, mpk_borrow(f, &f->r, read, 0), 0);
	KUNIT_ASSERT_EQ(test, mpk_borrow(f, &f->c, written, MSGPOOL_F_WRITE),
			0);

	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.free, 5ULL);
	KUNIT_EXPECT_EQ(test, c.loaned, 1ULL);
	KUNIT_EXPECT_EQ(test, c.ready, 1ULL);
	KUNIT_EXPECT_EQ(test, c.borrowed, 2ULL);
	KUNIT_EXPECT_EQ(test, c.poisoned, 1ULL);
	mp_peer_census(&f->pool, &f->a, &pa);
	mp_peer_census(&f->pool, &f->b, &pb);
	mp_peer_census(&f->pool, &f->r, &pr);
	mp_peer_census(&f->pool, &f->c, &pc);
	KUNIT_EXPECT_EQ(test, pa.loans, 1ULL);
	KUNIT_EXPECT_EQ(test, pa.reads + pa.writes, 0ULL);
	KUNIT_EXPECT_EQ(test, pa.owned, 5ULL);
	KUNIT_EXPECT_EQ(test, pb.reads, 2ULL);
	KUNIT_EXPECT_EQ(test, pb.loans + pb.writes + pb.owned, 0ULL);
	KUNIT_EXPECT_EQ(test, pr.reads, 1ULL);
	KUNIT_EXPECT_EQ(test, pc.writes, 1ULL);
	KUNIT_EXPECT_EQ(test, pc.loans + pc.reads + pc.owned, 0ULL);
}

static struct kunit_case mpk_reclaim_cases[] = {
	KUNIT_CASE(mpk_reclaim_loan),
	KUNIT_CASE(mpk_reclaim_read),
	KUNIT_CASE(mpk_reclaim_poison),
	KUNIT_CASE(mpk_reclaim_own_write),
	KUNIT_CASE(mpk_reclaim_orphan),
	KUNIT_CASE(mpk_reclaim_adopted),
	KUNIT_CASE(mpk_census),
	{}
};

static struct kunit_suite mpk_reclaim_suite = {
	.name = "msgpool_reclaim",
	.init = mpk_init,
	.exit = mpk_exit,
	.test_cases = mpk_reclaim_cases,
};

/* Publish/subscribe: the published-slot state machine, reader reclaim. */

static int mpk_subscribe(struct mpk *f, struct mp_peer *peer)
{
	u32 reader;
	u64 seq;
	int err = mp_subscribe(&f->pool, peer, &reader, &seq);

	return err ? err : reader;
}

/* A loan published at once: its token, or 0. */
static u64 mpk_publish(struct mpk *f, struct mp_peer *peer, u32 len, u64 tag)
{
	struct mp_msg_hdr hdr;
	struct mp_ref ref;

	if (mp_loan(&f->pool, peer, len, 0, &ref) ||
	    mp_publish(&f->pool, peer, ref.token, len, tag, &hdr))
		return 0;
	return ref.token;
}

/* The seq of @peer's next take (its token in *@token), or -errno. */
static s64 mpk_take(struct mpk *f, struct mp_peer *peer, u64 *token)
{
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	int err = mp_take(&f->pool, peer, &ref, &hdr);

	if (err)
		return err;
	*token = ref.token;
	return hdr.seq;
}

static void mpk_pubsub_states(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	struct mp_msg_hdr hdr;
	struct mp_slot *s;
	struct mp_ref ref;
	u64 t = 0;

	KUNIT_ASSERT_EQ(test, mpk_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_EQ(test, mpk_subscribe(f, &f->c), 1);
	KUNIT_EXPECT_EQ(test, mpk_subscribe(f, &f->c), -EALREADY);
	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 8, 0, &ref), 0);
	s = mpk_slot(f, ref.token);
	KUNIT_EXPECT_EQ(test, mp_publish(&f->pool, &f->b, ref.token, 8, 0,
					 &hdr), -EPERM);
	KUNIT_EXPECT_EQ(test, mp_publish(&f->pool, &f->r, ref.token, 8, 0,
					 &hdr), -EBADF);
	KUNIT_ASSERT_EQ(test, mp_publish(&f->pool, &f->a, ref.token, 8, 3,
					 &hdr), 0);
	KUNIT_EXPECT_EQ(test, hdr.seq, 1);
	KUNIT_EXPECT_EQ(test, s->state, MP_SLOT_PUBLISHED);
	KUNIT_EXPECT_EQ(test, s->pending, 3);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->a, ref.token), -EBUSY);
	KUNIT_EXPECT_EQ(test, mpk_borrow(f, &f->a, ref.token, 0), -EPERM);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, ref.token),
			-EPERM);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->a, ref.token),
			-ENOENT);

	KUNIT_EXPECT_TRUE(test, mp_take_ready(&f->pool, &f->r));
	KUNIT_ASSERT_EQ(test, mpk_take(f, &f->r, &t), 1);
	KUNIT_EXPECT_EQ(test, t, ref.token);
	KUNIT_EXPECT_FALSE(test, mp_take_ready(&f->pool, &f->r));
	KUNIT_EXPECT_EQ(test, mpk_take(f, &f->r, &t), -EAGAIN);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, ref.token), 0);
	KUNIT_EXPECT_EQ(test, s->state, MP_SLOT_PUBLISHED);
	KUNIT_EXPECT_EQ(test, mpk_available(f), 9);
	KUNIT_ASSERT_EQ(test, mpk_take(f, &f->c, &t), 1);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->c, t), 0);
	KUNIT_EXPECT_EQ(test, s->state, MP_SLOT_FREE);
	KUNIT_EXPECT_EQ(test, mpk_available(f), 10);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->c, t), -ESTALE);
}

static void mpk_pubsub_reader_crash(struct kunit *test)
{
	struct mpk *f = mpk_setup(test, mpk_cfg3, 3);
	u64 t = 0, u = 0;
	int i;

	KUNIT_ASSERT_EQ(test, mpk_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_EQ(test, mpk_subscribe(f, &f->c), 1);
	for (i = 1; i <= 4; i++)
		KUNIT_ASSERT_NE(test, mpk_publish(f, &f->a, 8, i), 0);
	KUNIT_ASSERT_EQ(test, mpk_take(f, &f->r, &t), 1);
	KUNIT_ASSERT_EQ(test, mpk_take(f, &f->c, &u), 1);
	/* A publisher's crash leaves its messages to their readers. */
	mpk_crash(f, &f->a);
	KUNIT_EXPECT_EQ(test, mpk_available(f), 6);
	mpk_crash(f, &f->c);
	KUNIT_EXPECT_EQ(test, f->pool.readers, 1);
	KUNIT_EXPECT_EQ(test, mpk_available(f), 6);
	mpk_crash(f, &f->r);
	KUNIT_EXPECT_EQ(test, f->pool.readers, 0);
	KUNIT_EXPECT_EQ(test, mpk_available(f), 10);
	KUNIT_EXPECT_EQ(test, f->pool.pub_head, MP_NIL);
}

static void mpk_pubsub_overwrite(struct kunit *test)
{
	static const struct msgpool_class one[] = {
		{ .slot_size = 64, .nr_slots = 3 },
	};
	struct mpk *f = mpk_setup(test, one, 1);
	struct mp_ref ref;
	u64 t = 0;
	int i;

	f->pool.overwrite = true;
	KUNIT_ASSERT_EQ(test, mpk_subscribe(f, &f->r), 0);
	for (i = 1; i <= 5; i++)
		KUNIT_ASSERT_NE(test, mpk_publish(f, &f->a, 8, i), 0);
	KUNIT_ASSERT_EQ(test, mpk_take(f, &f->r, &t), 3);
	KUNIT_ASSERT_NE(test, mpk_publish(f, &f->a, 8, 6), 0);
	KUNIT_ASSERT_EQ(test, mpk_take(f, &f->r, &t), 5);
	KUNIT_ASSERT_EQ(test, mpk_take(f, &f->r, &t), 6);
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->a, 8, 0, &ref), -ENOBUFS);
	KUNIT_EXPECT_FALSE(test, mp_loan_ready(&f->pool));
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, t), 0);
	KUNIT_EXPECT_TRUE(test, mp_loan_ready(&f->pool));
}

static void mpk_pubsub_backpressure(struct kunit *test)
{
	static const struct msgpool_class one[] = {
		{ .slot_size = 64, .nr_slots = 1 },
	};
	struct mpk *f = mpk_setup(test, one, 1);
	struct mpk_waiter w = { .f = f, .peer = &f->b, .loan = true,
				.flags = MSGPOOL_F_WAIT };
	u64 t = 0;

	KUNIT_ASSERT_EQ(test, mpk_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_NE(test, mpk_publish(f, &f->a, 8, 0), 0);
	mpk_waiter_start(test, &w);
	KUNIT_ASSERT_EQ(test, mpk_take(f, &f->r, &t), 1);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, t), 0);
	mpk_waiter_end(test, &w);
	KUNIT_EXPECT_EQ(test, w.err, 0);
	KUNIT_EXPECT_EQ(test, (u32)w.ref.token, (u32)t);
}

static struct kunit_case mpk_pubsub_cases[] = {
	KUNIT_CASE(mpk_pubsub_states),
	KUNIT_CASE(mpk_pubsub_reader_crash),
	KUNIT_CASE(mpk_pubsub_overwrite),
	KUNIT_CASE(mpk_pubsub_backpressure),
	{}
};

static struct kunit_suite mpk_pubsub_suite = {
	.name = "msgpool_pubsub",
	.init = mpk_init,
	.exit = mpk_exit,
	.test_cases = mpk_pubsub_cases,
};

kunit_test_suites(&mpk_freelist_suite, &mpk_token_suite, &mpk_class_suite,
		  &mpk_state_suite, &mpk_borrow_suite, &mpk_reclaim_suite,
		  &mpk_pubsub_suite);

MODULE_DESCRIPTION("KUnit tests of the msgpool core");
MODULE_LICENSE("GPL");
