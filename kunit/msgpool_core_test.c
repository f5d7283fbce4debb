// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the msgpool core: free lists, tokens, pool shapes and class
 * selection, the slot state machine, message headers and sequence
 * numbers, borrow accounting, sleeping waits, peer reclaim and poisoning,
 * the census behind the stats ioctls, published slots and their readers.
 *
 * The core is built into this file from its source, so that its internals
 * can be tested without exporting them from msgpool.ko.  The same file is
 * the KUnit module msgpool_kunit.ko and, through kunit/shim (which stands
 * in for <kunit/test.h> and the kernel headers the core includes), a
 * userspace program run natively and under ASan and ThreadSanitizer.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sizes.h>
#include <linux/slab.h>

/* Set, the core's next allocation fails, as kvcalloc() may. */
static bool mpt_alloc_fail;

static void *mpt_kvcalloc(size_t n, size_t size, gfp_t flags)
{
	if (mpt_alloc_fail) {
		mpt_alloc_fail = false;
		return NULL;
	}
	return kvcalloc(n, size, flags);
}

/* The core allocates through mpt_kvcalloc(): each -ENOMEM path is testable. */
#undef kvcalloc
#define kvcalloc mpt_kvcalloc
#include "../kmod/msgpool_core.c"
#undef kvcalloc

/* What a caller of mp_commit() and mp_publish() puts in a header. */
#define MPT_PRODUCER		4321
#define MPT_TIMESTAMP		1000000007ULL

/* A pool and four peers: a, b and c writable, r read-only. */
#define MPT_ID_A		1
#define MPT_ID_B		2
#define MPT_ID_C		3
#define MPT_ID_R		4
#define MPT_ID_MORE		5	/* the first id of any further peer */

struct mpt {
	struct mp_pool pool;
	struct mp_peer a, b, c, r;
	u32 lost;		/* as the last mpt_take() reported it */
	bool up;
};

static const struct msgpool_class mpt_cfg3[] = {
	{ .slot_size = 64, .nr_slots = 4 },
	{ .slot_size = 256, .nr_slots = 4 },
	{ .slot_size = 4096, .nr_slots = 2 },
};

static const struct msgpool_class mpt_one[] = {
	{ .slot_size = 64, .nr_slots = 1 },
};

#define MPT_MANY	700

static const struct msgpool_class mpt_many[] = {
	{ .slot_size = 8, .nr_slots = MPT_MANY },
};

static int mpt_init(struct kunit *test)
{
	test->priv = kunit_kzalloc(test, sizeof(struct mpt), GFP_KERNEL);
	return test->priv ? 0 : -ENOMEM;
}

/*
 * Every peer closes: whatever the test left, every slot comes back, but
 * for those whose generations are spent.
 */
static void mpt_exit(struct kunit *test)
{
	struct mpt *f = test->priv;
	struct mp_census c;

	if (!f || !f->up)
		return;
	mp_peer_reclaim(&f->pool, &f->a);
	mp_peer_reclaim(&f->pool, &f->b);
	mp_peer_reclaim(&f->pool, &f->c);
	mp_peer_reclaim(&f->pool, &f->r);
	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.free + c.retired, (u64)f->pool.capacity);
	KUNIT_EXPECT_EQ(test, mp_pool_available(&f->pool), c.free);
	mp_pool_destroy(&f->pool);
}

static struct mpt *mpt_setup(struct kunit *test,
			     const struct msgpool_class *cls, u32 nr)
{
	struct mpt *f = test->priv;

	KUNIT_ASSERT_EQ(test, mp_pool_init(&f->pool, cls, nr), 0);
	mp_peer_init(&f->a, MPT_ID_A, true);
	mp_peer_init(&f->b, MPT_ID_B, true);
	mp_peer_init(&f->c, MPT_ID_C, true);
	mp_peer_init(&f->r, MPT_ID_R, false);
	f->up = true;
	return f;
}

/* A suite of cases that each build their pool with mpt_setup(). */
#define MPT_SUITE(suite, suite_name, cases)			\
	static struct kunit_suite suite = {			\
		.name = suite_name,				\
		.init = mpt_init,				\
		.exit = mpt_exit,				\
		.test_cases = cases,				\
	}

/* The peer closes (or dies); a new one takes its place and its id. */
static void mpt_crash(struct mpt *f, struct mp_peer *peer)
{
	bool writable = peer->writable;
	u32 id = peer->id;

	mp_peer_reclaim(&f->pool, peer);
	mp_peer_init(peer, id, writable);
}

static struct mp_msg_hdr mpt_hdr(u32 len, u64 tag)
{
	struct mp_msg_hdr hdr = {
		.len = len,
		.producer = MPT_PRODUCER,
		.tag = tag,
		.timestamp_ns = MPT_TIMESTAMP,
	};

	return hdr;
}

/* A loan and a commit: a READY message, or 0. */
static u64 mpt_store(struct mpt *f, struct mp_peer *peer, u32 len, u64 tag)
{
	struct mp_msg_hdr hdr = mpt_hdr(len, tag);
	struct mp_ref ref;

	if (mp_loan(&f->pool, peer, len, 0, &ref) ||
	    mp_commit(&f->pool, peer, ref.token, &hdr))
		return 0;
	return ref.token;
}

/* The global index of the slot @token names, or U32_MAX. */
static u32 mpt_index(struct mpt *f, u64 token)
{
	u32 slot;
	u64 gen;

	if (mp_token_open(&f->pool, token, &slot, &gen))
		return U32_MAX;
	return slot;
}

/* The generation @token names, or 0. */
static u64 mpt_gen(struct mpt *f, u64 token)
{
	u32 slot;
	u64 gen;

	if (mp_token_open(&f->pool, token, &slot, &gen))
		return 0;
	return gen;
}

static struct mp_slot *mpt_slot(struct mpt *f, u64 token)
{
	u32 slot = mpt_index(f, token);

	return slot == U32_MAX ? NULL : &f->pool.slots[slot];
}

static int mpt_borrow(struct mpt *f, struct mp_peer *peer, u64 token,
		      u32 flags)
{
	struct mp_msg_hdr hdr;
	struct mp_ref ref;

	return mp_borrow(&f->pool, peer, token, flags, &ref, &hdr);
}

static int mpt_header(struct mpt *f, u64 token)
{
	struct mp_msg_hdr hdr;
	struct mp_ref ref;

	return mp_header(&f->pool, token, &ref, &hdr);
}

static u64 mpt_available(struct mpt *f)
{
	return mp_pool_available(&f->pool);
}

static s64 mpt_count(atomic64_t *counter)
{
	return atomic64_read(counter);
}

/* Runs @fn(@data) in a kthread, which completes @done as it exits. */
static bool mpt_kthread_run(int (*fn)(void *), void *data,
			    struct completion *done)
{
	init_completion(done);
	return !IS_ERR(kthread_run(fn, data, "%ps", fn));
}

/* A fixed sequence of pseudorandom numbers (xorshift32). */
static u32 mpt_rand(u32 *state)
{
	u32 x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/* Free lists. */

static void mpt_freelist_pops_in_index_order(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_class *cls = &f->pool.classes[1];
	u32 i;

	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, mp_freelist_pop(&f->pool, cls), i);
	KUNIT_EXPECT_EQ(test, mp_freelist_pop(&f->pool, cls), MP_NIL);
	KUNIT_EXPECT_EQ(test, atomic_read(&cls->available), 0);
	for (i = 0; i < 4; i++)
		mp_freelist_push(&f->pool, cls, i);
	KUNIT_EXPECT_EQ(test, atomic_read(&cls->available), 4);
}

static void mpt_freelist_pushes_are_lifo(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_class *cls = &f->pool.classes[0];
	u32 i;

	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, mp_freelist_pop(&f->pool, cls), i);
	mp_freelist_push(&f->pool, cls, 0);
	mp_freelist_push(&f->pool, cls, 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&cls->available), 3);
	KUNIT_EXPECT_EQ(test, mp_freelist_pop(&f->pool, cls), 2U);
	KUNIT_EXPECT_EQ(test, mp_freelist_pop(&f->pool, cls), 0U);
	KUNIT_EXPECT_EQ(test, mp_freelist_pop(&f->pool, cls), 3U);
	KUNIT_EXPECT_EQ(test, mp_freelist_pop(&f->pool, cls), MP_NIL);
	for (i = 0; i < 4; i++)
		mp_freelist_push(&f->pool, cls, i);
}

/* The tag moves on each push and pop, so a stale head fails its CAS. */
static void mpt_freelist_tag_moves(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_class *cls = &f->pool.classes[0];
	u64 stale = cls->free_head, head;
	u32 a;

	KUNIT_EXPECT_EQ(test, stale >> 32, 0ULL);
	a = mp_freelist_pop(&f->pool, cls);
	KUNIT_EXPECT_EQ(test, cls->free_head >> 32, 1ULL);
	KUNIT_EXPECT_EQ(test, (u32)cls->free_head, 1U);
	mp_freelist_push(&f->pool, cls, a);
	head = cls->free_head;
	KUNIT_EXPECT_EQ(test, (u32)head, (u32)stale);
	KUNIT_EXPECT_EQ(test, head >> 32, 2ULL);
	/* A popper that read @stale before the pop and push must fail. */
	KUNIT_EXPECT_FALSE(test, try_cmpxchg64(&cls->free_head, &stale, 0));
	KUNIT_EXPECT_EQ(test, stale, head);
}

static void mpt_freelist_exhausted(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_ref ref;
	int i;

	for (i = 0; i < 10; i++)
		KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 0ULL);
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
	KUNIT_EXPECT_EQ(test, mpt_count(&f->pool.cnt.nobufs), 3);
	KUNIT_EXPECT_EQ(test, mpt_count(&f->pool.cnt.loans), 10);
}

#define MPT_THREADS	4
#define MPT_ITERS	20000

#define MPT_POP_SLOTS	3

/* What the popper threads share; each completes @done as it exits. */
struct mpt_popper {
	struct mp_pool *pool;
	unsigned long owned[BITS_TO_LONGS(MPT_POP_SLOTS)];
	atomic_t errors;
	struct completion done;
};

/* Claims a popped index; false if another thread holds it. */
static bool mpt_claim(struct mpt_popper *p, u32 index)
{
	if (index == MP_NIL)
		return true;
	if (index < MPT_POP_SLOTS &&
	    !test_and_set_bit(index, p->owned))
		return true;
	atomic_inc(&p->errors);
	return false;
}

static void mpt_unclaim(struct mpt_popper *p, u32 index)
{
	if (index == MP_NIL)
		return;
	clear_bit(index, p->owned);
	mp_freelist_push(p->pool, &p->pool->classes[0], index);
}

/*
 * Pop a, pop b, push a, push b: the pattern ABA needs.  A stale head
 * taken before the first pop would hand b out again.
 */
static int mpt_popper_fn(void *data)
{
	struct mpt_popper *p = data;
	struct mp_class *cls = &p->pool->classes[0];
	u32 a, b, i;

	for (i = 0; i < MPT_ITERS; i++) {
		a = mp_freelist_pop(p->pool, cls);
		if (!mpt_claim(p, a))
			break;
		b = mp_freelist_pop(p->pool, cls);
		if (!mpt_claim(p, b))
			break;
		mpt_unclaim(p, a);
		cond_resched();
		mpt_unclaim(p, b);
	}
	kthread_complete_and_exit(&p->done, 0);
}

static void mpt_freelist_concurrent(struct kunit *test)
{
	static const struct msgpool_class cls[] = {
		{ .slot_size = 8, .nr_slots = MPT_POP_SLOTS },
	};
	struct mpt *f = mpt_setup(test, cls, 1);
	struct mpt_popper p = { .pool = &f->pool, .errors = ATOMIC_INIT(0) };
	int i, started;
	u32 index;

	init_completion(&p.done);
	for (started = 0; started < MPT_THREADS; started++)
		if (IS_ERR(kthread_run(mpt_popper_fn, &p, "mpt_popper")))
			break;
	for (i = 0; i < started; i++)
		wait_for_completion(&p.done);
	KUNIT_ASSERT_EQ(test, started, MPT_THREADS);
	KUNIT_EXPECT_EQ(test, atomic_read(&p.errors), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->pool.classes[0].available),
			MPT_POP_SLOTS);
	for (i = 0; i < MPT_POP_SLOTS; i++) {
		index = mp_freelist_pop(&f->pool, &f->pool.classes[0]);
		KUNIT_ASSERT_LT(test, index, (u32)MPT_POP_SLOTS);
		KUNIT_EXPECT_FALSE(test, test_and_set_bit(index, p.owned));
	}
	KUNIT_EXPECT_EQ(test, mp_freelist_pop(&f->pool, &f->pool.classes[0]),
			MP_NIL);
	for (i = 0; i < MPT_POP_SLOTS; i++)
		mp_freelist_push(&f->pool, &f->pool.classes[0], i);
}

static struct kunit_case mpt_freelist_cases[] = {
	KUNIT_CASE(mpt_freelist_pops_in_index_order),
	KUNIT_CASE(mpt_freelist_pushes_are_lifo),
	KUNIT_CASE(mpt_freelist_tag_moves),
	KUNIT_CASE(mpt_freelist_exhausted),
	KUNIT_CASE(mpt_freelist_concurrent),
	{}
};

MPT_SUITE(mpt_freelist_suite, "msgpool_freelist", mpt_freelist_cases);

/* Per-peer caches. */

/* 64 slots: a peer's cache holds 8, and moves 4 at a time. */
#define MPT_MAG_SLOTS	64
#define MPT_MAG_CAP	8
#define MPT_MAG_BATCH	4

static const struct msgpool_class mpt_mag_cfg[] = {
	{ .slot_size = 64, .nr_slots = MPT_MAG_SLOTS },
};

static u32 mpt_tag(struct mpt *f)
{
	return READ_ONCE(f->pool.classes[0].free_head) >> 32;
}

static u32 mpt_stack(struct mpt *f)
{
	return atomic_read(&f->pool.classes[0].available);
}

static u32 mpt_cached(struct mp_peer *peer)
{
	return READ_ONCE(peer->mags[0].nr);
}

/* Loans @nr slots of @peer into @tok; false if one failed. */
static bool mpt_loan_n(struct mpt *f, struct mp_peer *peer, u64 *tok, int nr)
{
	struct mp_ref ref;
	int i;

	for (i = 0; i < nr; i++) {
		if (mp_loan(&f->pool, peer, 1, 0, &ref))
			return false;
		tok[i] = ref.token;
	}
	return true;
}

static void mpt_discard_n(struct mpt *f, struct mp_peer *peer, u64 *tok,
			  int nr)
{
	int i;

	for (i = 0; i < nr; i++)
		mp_discard(&f->pool, peer, tok[i]);
}

/* Caches are a small share of their class; small classes have none. */
static void mpt_mag_sized_by_class(struct kunit *test)
{
	static const struct msgpool_class cls[] = {
		{ .slot_size = 8, .nr_slots = 31 },
		{ .slot_size = 16, .nr_slots = 32 },
		{ .slot_size = 32, .nr_slots = 64 },
		{ .slot_size = 64, .nr_slots = 4096 },
	};
	struct mpt *f = mpt_setup(test, cls, ARRAY_SIZE(cls));

	KUNIT_EXPECT_EQ(test, f->pool.classes[0].mag_cap, 0U);
	KUNIT_EXPECT_EQ(test, f->pool.classes[1].mag_cap, 4U);
	KUNIT_EXPECT_EQ(test, f->pool.classes[1].mag_batch, 2U);
	KUNIT_EXPECT_EQ(test, f->pool.classes[2].mag_cap, 8U);
	KUNIT_EXPECT_EQ(test, f->pool.classes[2].mag_batch, 4U);
	KUNIT_EXPECT_EQ(test, f->pool.classes[3].mag_cap, MP_MAG_SLOTS);
	KUNIT_EXPECT_EQ(test, f->pool.classes[3].mag_batch, MP_MAG_SLOTS / 2);
}

/* An empty cache takes a batch off the stack in one compare-and-swap. */
static void mpt_mag_refill_takes_batch(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_mag_cfg, 1);
	u32 tag = mpt_tag(f);
	u64 tok;

	KUNIT_ASSERT_TRUE(test, mpt_loan_n(f, &f->a, &tok, 1));
	KUNIT_EXPECT_EQ(test, mpt_index(f, tok), 0U);
	KUNIT_EXPECT_EQ(test, mpt_tag(f), tag + 1);
	KUNIT_EXPECT_EQ(test, mpt_stack(f), MPT_MAG_SLOTS - MPT_MAG_BATCH);
	KUNIT_EXPECT_EQ(test, mpt_cached(&f->a), MPT_MAG_BATCH - 1);
	KUNIT_EXPECT_EQ(test, mpt_available(f), MPT_MAG_SLOTS - 1ULL);
	KUNIT_EXPECT_EQ(test, mp_class_available(&f->pool, 0),
			MPT_MAG_SLOTS - 1U);
}

/* Loans the cache can serve leave the shared head alone, in stack order. */
static void mpt_mag_serves_without_stack(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_mag_cfg, 1);
	u64 tok[MPT_MAG_BATCH];
	u32 tag, i;

	KUNIT_ASSERT_TRUE(test, mpt_loan_n(f, &f->a, tok, 1));
	tag = mpt_tag(f);
	KUNIT_ASSERT_TRUE(test, mpt_loan_n(f, &f->a, tok + 1,
					   MPT_MAG_BATCH - 1));
	KUNIT_EXPECT_EQ(test, mpt_tag(f), tag);
	for (i = 0; i < MPT_MAG_BATCH; i++)
		KUNIT_EXPECT_EQ(test, mpt_index(f, tok[i]), i);
	KUNIT_EXPECT_EQ(test, mpt_cached(&f->a), 0U);
	/* Frees go to the cache too, and the next loan takes them back. */
	mpt_discard_n(f, &f->a, tok, MPT_MAG_BATCH);
	KUNIT_EXPECT_EQ(test, mpt_tag(f), tag);
	KUNIT_EXPECT_EQ(test, mpt_cached(&f->a), MPT_MAG_BATCH);
	KUNIT_ASSERT_TRUE(test, mpt_loan_n(f, &f->a, tok, 1));
	KUNIT_EXPECT_EQ(test, mpt_index(f, tok[0]), MPT_MAG_BATCH - 1);
	KUNIT_EXPECT_EQ(test, mpt_tag(f), tag);
	KUNIT_EXPECT_EQ(test, mpt_available(f), MPT_MAG_SLOTS - 1ULL);
}

/* A full cache gives its coldest batch back in one compare-and-swap. */
static void mpt_mag_drain_gives_batch(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_mag_cfg, 1);
	u64 tok[3 * MPT_MAG_BATCH];
	u32 tag;

	KUNIT_ASSERT_TRUE(test, mpt_loan_n(f, &f->a, tok, ARRAY_SIZE(tok)));
	KUNIT_EXPECT_EQ(test, mpt_stack(f),
			MPT_MAG_SLOTS - (u32)ARRAY_SIZE(tok));
	tag = mpt_tag(f);
	mpt_discard_n(f, &f->a, tok, MPT_MAG_CAP);
	KUNIT_EXPECT_EQ(test, mpt_cached(&f->a), MPT_MAG_CAP);
	KUNIT_EXPECT_EQ(test, mpt_tag(f), tag);
	mpt_discard_n(f, &f->a, tok + MPT_MAG_CAP, 1);
	KUNIT_EXPECT_EQ(test, mpt_tag(f), tag + 1);
	KUNIT_EXPECT_EQ(test, mpt_cached(&f->a), MPT_MAG_CAP - MPT_MAG_BATCH + 1);
	KUNIT_EXPECT_EQ(test, mpt_stack(f), MPT_MAG_SLOTS -
			(u32)ARRAY_SIZE(tok) + MPT_MAG_BATCH);
	/* The batch that went back is the first freed; the last stay. */
	KUNIT_EXPECT_EQ(test, (u32)f->pool.classes[0].free_head,
			mpt_index(f, tok[0]));
	KUNIT_EXPECT_EQ(test, f->a.mags[0].slots[0], mpt_index(f, tok[4]));
	KUNIT_EXPECT_EQ(test, mpt_available(f),
			MPT_MAG_SLOTS - ARRAY_SIZE(tok) + MPT_MAG_CAP + 1ULL);
}

/* A closing peer's cache goes back whole: available is where it began. */
static void mpt_mag_reclaim_returns_cache(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_mag_cfg, 1);
	u64 tok[3 * MPT_MAG_BATCH];
	struct mp_census c;

	KUNIT_ASSERT_TRUE(test, mpt_loan_n(f, &f->a, tok, ARRAY_SIZE(tok)));
	mpt_discard_n(f, &f->a, tok, MPT_MAG_CAP);
	KUNIT_EXPECT_EQ(test, mpt_cached(&f->a), MPT_MAG_CAP);
	KUNIT_EXPECT_TRUE(test, f->a.mag_listed);
	mpt_crash(f, &f->a);
	KUNIT_EXPECT_FALSE(test, f->a.mag_listed);
	KUNIT_EXPECT_TRUE(test, list_empty(&f->pool.mags));
	KUNIT_EXPECT_EQ(test, mpt_stack(f), MPT_MAG_SLOTS);
	KUNIT_EXPECT_EQ(test, mpt_available(f), (u64)MPT_MAG_SLOTS);
	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.free, (u64)MPT_MAG_SLOTS);
	KUNIT_EXPECT_EQ(test, mpt_count(&f->pool.cnt.reclaimed),
			(s64)ARRAY_SIZE(tok) - MPT_MAG_CAP);
}

/* A slot in another peer's cache can be loaned: all N slots go out. */
static void mpt_mag_other_peer_gets_cached(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_mag_cfg, 1);
	u64 tok[MPT_MAG_SLOTS];
	struct mp_ref ref;

	KUNIT_ASSERT_TRUE(test, mpt_loan_n(f, &f->a, tok, MPT_MAG_CAP));
	mpt_discard_n(f, &f->a, tok, MPT_MAG_CAP);
	KUNIT_EXPECT_EQ(test, mpt_cached(&f->a), MPT_MAG_CAP);
	KUNIT_EXPECT_TRUE(test, mpt_loan_n(f, &f->b, tok, MPT_MAG_SLOTS));
	KUNIT_EXPECT_EQ(test, mpt_cached(&f->a), 0U);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 0ULL);
	KUNIT_EXPECT_EQ(test, mpt_count(&f->pool.cnt.nobufs), 0);
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->b, 1, 0, &ref), -ENOBUFS);
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), -ENOBUFS);
	KUNIT_EXPECT_EQ(test, mpt_count(&f->pool.cnt.nobufs), 2);
}

/* With the stack empty, a cached slot still counts as free for all. */
static void mpt_mag_cached_counts_free(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_mag_cfg, 1);
	u64 tok[MPT_MAG_SLOTS];

	KUNIT_ASSERT_TRUE(test, mpt_loan_n(f, &f->a, tok, MPT_MAG_SLOTS));
	KUNIT_EXPECT_EQ(test, mp_class_pick(&f->pool, 1), -ENOBUFS);
	KUNIT_EXPECT_FALSE(test, mp_loan_ready(&f->pool));
	mpt_discard_n(f, &f->a, tok, 1);
	KUNIT_EXPECT_EQ(test, mpt_stack(f), 0U);
	KUNIT_EXPECT_EQ(test, mpt_cached(&f->a), 1U);
	KUNIT_EXPECT_EQ(test, mp_class_pick(&f->pool, 1), 0);
	KUNIT_EXPECT_TRUE(test, mp_loan_ready(&f->pool));
	KUNIT_EXPECT_EQ(test, mp_class_available(&f->pool, 0), 1U);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 1ULL);
}

/*
 * Loans a worker holds at most, all workers together every slot: half of
 * them few, their caches full; the others many.
 */
#define MPT_MAG_FEW	MPT_MAG_BATCH
#define MPT_MAG_MANY	(2 * MPT_MAG_SLOTS / MPT_THREADS - MPT_MAG_FEW)

struct mpt_mag_worker {
	struct mp_pool *pool;
	atomic_t *ready;
	struct mp_peer peer;
	u32 held;
	u32 nobufs;
	u32 errors;
	struct completion done;
};

/*
 * Loans @held slots and discards them, over and over.  A worker asks for
 * a slot only while it holds fewer than @held, so the others hold fewer
 * than all the rest: some slot is free, and no loan may fail.  But the
 * workers with few loans fill their caches first, and keep them full:
 * those with many must take from them.
 */
static int mpt_mag_worker_fn(void *data)
{
	struct mpt_mag_worker *w = data;
	u64 tok[MPT_MAG_MANY];
	struct mp_ref ref;
	u32 i, k;
	int err;

	for (k = 0; w->held == MPT_MAG_FEW && k < MPT_MAG_CAP; k++) {
		w->errors += !!mp_loan(w->pool, &w->peer, 1, 0, &ref);
		tok[k] = ref.token;
	}
	while (k)
		w->errors += !!mp_discard(w->pool, &w->peer, tok[--k]);
	/* All at once, or the first may be done before the last starts. */
	atomic_inc(w->ready);
	while (atomic_read(w->ready) < MPT_THREADS)
		cond_resched();
	for (i = 0; i < MPT_ITERS / 4; i++) {
		for (k = 0; k < w->held; k++) {
			err = mp_loan(w->pool, &w->peer, 1, 0, &ref);
			if (err) {
				w->nobufs += err == -ENOBUFS;
				w->errors += err != -ENOBUFS;
				break;
			}
			tok[k] = ref.token;
		}
		while (k)
			w->errors += !!mp_discard(w->pool, &w->peer, tok[--k]);
		cond_resched();
	}
	kthread_complete_and_exit(&w->done, 0);
}

static void mpt_mag_concurrent(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_mag_cfg, 1);
	atomic_t ready = ATOMIC_INIT(0);
	struct mpt_mag_worker *w;
	struct mp_census c;
	int i, started;

	w = kunit_kcalloc(test, MPT_THREADS, sizeof(*w), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, w);
	for (started = 0; started < MPT_THREADS; started++) {
		w[started].pool = &f->pool;
		w[started].ready = &ready;
		w[started].held = started % 2 ? MPT_MAG_MANY : MPT_MAG_FEW;
		mp_peer_init(&w[started].peer, MPT_ID_MORE + started, true);
		if (!mpt_kthread_run(mpt_mag_worker_fn, &w[started],
				     &w[started].done)) {
			/* Those started must not wait for it. */
			atomic_add(MPT_THREADS, &ready);
			break;
		}
	}
	for (i = 0; i < started; i++)
		wait_for_completion(&w[i].done);
	for (i = 0; i < started; i++) {
		KUNIT_EXPECT_EQ(test, w[i].nobufs, 0U);
		KUNIT_EXPECT_EQ(test, w[i].errors, 0U);
		mp_peer_reclaim(&f->pool, &w[i].peer);
	}
	KUNIT_ASSERT_EQ(test, started, MPT_THREADS);
	KUNIT_EXPECT_EQ(test, mpt_count(&f->pool.cnt.nobufs), 0);
	KUNIT_EXPECT_EQ(test, mpt_stack(f), MPT_MAG_SLOTS);
	KUNIT_EXPECT_EQ(test, mpt_available(f), (u64)MPT_MAG_SLOTS);
	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.free, (u64)MPT_MAG_SLOTS);
}

static struct kunit_case mpt_mag_cases[] = {
	KUNIT_CASE(mpt_mag_sized_by_class),
	KUNIT_CASE(mpt_mag_refill_takes_batch),
	KUNIT_CASE(mpt_mag_serves_without_stack),
	KUNIT_CASE(mpt_mag_drain_gives_batch),
	KUNIT_CASE(mpt_mag_reclaim_returns_cache),
	KUNIT_CASE(mpt_mag_other_peer_gets_cached),
	KUNIT_CASE(mpt_mag_cached_counts_free),
	KUNIT_CASE_SLOW(mpt_mag_concurrent),
	{}
};

MPT_SUITE(mpt_mag_suite, "msgpool_cache", mpt_mag_cases);

/* Tokens. */

/* make and open agree for every slot, from the first gen to the last. */
static void mpt_token_round_trip(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	const u64 gens[] = { 1, 2, 0x9abcdef0ULL, f->pool.gen_max - 1,
			     f->pool.gen_max };
	u32 i, g, slot;
	u64 t, gen;

	KUNIT_EXPECT_EQ(test, f->pool.slot_bits, 4U);
	KUNIT_EXPECT_EQ(test, f->pool.gen_max, U64_MAX >> 4);
	for (i = 0; i < f->pool.capacity; i++) {
		for (g = 0; g < ARRAY_SIZE(gens); g++) {
			t = mp_token_make(&f->pool, i, gens[g]);
			KUNIT_ASSERT_EQ(test, mp_token_open(&f->pool, t, &slot,
							    &gen), 0);
			KUNIT_EXPECT_EQ(test, slot, i);
			KUNIT_EXPECT_EQ(test, gen, gens[g]);
		}
	}
}

/* Enciphered: neither slot nor generation shows in the token's bits. */
static void mpt_token_enciphered(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 plain, t, diff = 0;
	u32 i;

	for (i = 0; i < 64; i++) {
		plain = (u64)(i + 1) << f->pool.slot_bits | (i % 10);
		t = mp_token_make(&f->pool, i % 10, i + 1);
		/* Each bit of the token should change somewhere. */
		diff |= t ^ mp_token_make(&f->pool, i % 10, i + 2);
		KUNIT_EXPECT_NE(test, t, plain);
	}
	KUNIT_EXPECT_EQ(test, diff, U64_MAX);
}

static void mpt_token_of_loan(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_ref ref;
	u32 slot;
	u64 gen;

	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 100, 0, &ref), 0);
	KUNIT_ASSERT_EQ(test, mp_token_open(&f->pool, ref.token, &slot, &gen),
			0);
	KUNIT_EXPECT_EQ(test, slot, ref.slot);
	KUNIT_EXPECT_EQ(test, slot, f->pool.classes[1].first);
	KUNIT_EXPECT_EQ(test, gen, f->pool.slots[slot].gen);
	KUNIT_EXPECT_EQ(test, gen, 1ULL);
	KUNIT_EXPECT_EQ(test, ref.capacity, 256U);
	KUNIT_EXPECT_EQ(test, ref.offset, f->pool.classes[1].offset);
}

/* Generation 0 and slots past the pool's last are no token of it. */
static void mpt_token_malformed(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 8, 0);
	u64 bad[] = {
		mp_token_make(&f->pool, 0, 0),			/* gen 0 */
		mp_token_make(&f->pool, 3, 0),
		mp_token_make(&f->pool, 10, 1),			/* no slot 10 */
		mp_token_make(&f->pool, 15, 1),			/* top of 4 bits */
		mp_token_make(&f->pool, 10, f->pool.gen_max),
	};
	u32 i, slot;
	u64 gen;

	KUNIT_ASSERT_NE(test, t, 0ULL);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KUNIT_EXPECT_NE(test, bad[i], t);
		KUNIT_EXPECT_EQ(test, mp_token_open(&f->pool, bad[i], &slot,
						    &gen), -EINVAL);
		KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, bad[i], 0), -EINVAL);
		KUNIT_EXPECT_EQ(test, mpt_header(f, bad[i]), -EINVAL);
		KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->b, bad[i]),
				-EINVAL);
		KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, bad[i], 0, 0),
				-EINVAL);
		KUNIT_EXPECT_EQ(test, mp_discard(&f->pool, &f->a, bad[i]),
				-EINVAL);
	}
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->state, (u8)MP_SLOT_READY);
}

/* A free leaves the generation alone: the state makes the token stale. */
static void mpt_token_stale_after_free(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_msg_hdr hdr = mpt_hdr(1, 0);
	u64 t = mpt_store(f, &f->a, 8, 1);
	u32 slot = mpt_index(f, t);
	u64 gen = mpt_gen(f, t);

	KUNIT_ASSERT_EQ(test, slot, 0U);
	KUNIT_EXPECT_EQ(test, gen, 1ULL);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->a, t), 0);
	KUNIT_EXPECT_EQ(test, f->pool.slots[0].gen, gen);
	KUNIT_EXPECT_EQ(test, f->pool.slots[0].state, (u8)MP_SLOT_FREE);
	/* Still well formed, and still naming that slot: but stale. */
	KUNIT_EXPECT_EQ(test, mpt_index(f, t), slot);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->a, t), -ESTALE);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, 0), -ESTALE);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_WRITE),
			-ESTALE);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_ADOPT),
			-ESTALE);
	KUNIT_EXPECT_EQ(test, mpt_header(f, t), -ESTALE);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), -ESTALE);
	KUNIT_EXPECT_EQ(test, mp_commit(&f->pool, &f->a, t, &hdr), -ESTALE);
	KUNIT_EXPECT_EQ(test, mp_discard(&f->pool, &f->a, t), -ESTALE);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 10ULL);
}

/* The same slot again: the next generation, the old token names nothing. */
static void mpt_token_stale_after_reuse(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t1, t2;

	t1 = mpt_store(f, &f->a, 8, 1);
	KUNIT_ASSERT_EQ(test, mp_free(&f->pool, &f->a, t1), 0);
	t2 = mpt_store(f, &f->a, 8, 2);
	KUNIT_ASSERT_NE(test, t2, 0ULL);
	KUNIT_EXPECT_NE(test, t2, t1);
	KUNIT_EXPECT_EQ(test, mpt_index(f, t2), mpt_index(f, t1));
	KUNIT_EXPECT_EQ(test, mpt_gen(f, t2), mpt_gen(f, t1) + 1);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t1, 0), -ESTALE);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->b, t1), -ESTALE);
	KUNIT_EXPECT_EQ(test, mpt_header(f, t1), -ESTALE);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t2, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t2, 0, 0), 0);
}

/* a stores a message in a free slot: its token, by slot, in @tok. */
static void mpt_token_store(struct kunit *test, struct mpt *f, u64 *tok,
			    u64 tag)
{
	u64 t = mpt_store(f, &f->a, 1, tag);

	KUNIT_ASSERT_NE(test, t, 0ULL);
	tok[mpt_index(f, t)] = t;
}

/* Every slot stored, then two freed and stored again: gens 1 and 2. */
static void mpt_token_history(struct kunit *test, struct mpt *f, u64 *tok)
{
	u32 i, again[] = { 3, MPT_MANY - 1 };

	for (i = 0; i < f->pool.capacity; i++)
		mpt_token_store(test, f, tok, i);
	for (i = 0; i < ARRAY_SIZE(again); i++) {
		KUNIT_ASSERT_EQ(test, mp_free(&f->pool, &f->a, tok[again[i]]),
				0);
		mpt_token_store(test, f, tok, i);
	}
}

static bool mpt_refused(int err)
{
	return err == -EINVAL || err == -ESTALE;
}

/* The tokens of another pool, all live, tried by @peer on @to's. */
static void mpt_token_cross(struct kunit *test, struct mpt *to,
			    struct mp_peer *peer, const u64 *tok)
{
	struct mp_census c;
	int err;
	u32 i;

	for (i = 0; i < to->pool.capacity; i++) {
		err = mpt_header(to, tok[i]);
		KUNIT_EXPECT_TRUE_MSG(test, mpt_refused(err),
				      "slot %u: header %d", i, err);
		err = mpt_borrow(to, peer, tok[i], MSGPOOL_F_NONBLOCK);
		KUNIT_EXPECT_TRUE_MSG(test, mpt_refused(err),
				      "slot %u: borrow %d", i, err);
		err = mpt_borrow(to, peer, tok[i], MSGPOOL_F_NONBLOCK |
				 MSGPOOL_F_WRITE);
		KUNIT_EXPECT_TRUE_MSG(test, mpt_refused(err),
				      "slot %u: write borrow %d", i, err);
		err = mp_free(&to->pool, peer, tok[i]);
		KUNIT_EXPECT_TRUE_MSG(test, mpt_refused(err),
				      "slot %u: free %d", i, err);
	}
	mp_pool_census(&to->pool, &c);
	KUNIT_EXPECT_EQ(test, c.ready, (u64)to->pool.capacity);
}

/*
 * Two pools of one shape with one history: the same slots live at the
 * same generations.  Neither takes a token of the other.
 */
static void mpt_token_other_pool(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_many, 1);
	u64 *ta = kunit_kcalloc(test, MPT_MANY, sizeof(*ta), GFP_KERNEL);
	u64 *tb = kunit_kcalloc(test, MPT_MANY, sizeof(*tb), GFP_KERNEL);
	struct mpt *o = kunit_kzalloc(test, sizeof(*o), GFP_KERNEL);
	u32 i, same = 0;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ta);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, tb);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, o);
	KUNIT_ASSERT_EQ(test, mp_pool_init(&o->pool, mpt_many, 1), 0);
	mp_peer_init(&o->a, MPT_ID_A, true);
	mpt_token_history(test, f, ta);
	mpt_token_history(test, o, tb);
	for (i = 0; i < MPT_MANY; i++) {
		KUNIT_ASSERT_NE(test, ta[i], 0ULL);
		KUNIT_ASSERT_NE(test, tb[i], 0ULL);
		KUNIT_EXPECT_EQ(test, f->pool.slots[i].gen,
				o->pool.slots[i].gen);
		same += ta[i] == tb[i];
	}
	KUNIT_EXPECT_EQ(test, f->pool.slots[MPT_MANY - 1].gen, 2ULL);
	KUNIT_EXPECT_EQ(test, same, 0U);
	mpt_token_cross(test, o, &o->a, ta);
	mpt_token_cross(test, f, &f->b, tb);
	mp_peer_reclaim(&o->pool, &o->a);
	mp_pool_destroy(&o->pool);
}

/* What tells pools apart is their key: given A's, B takes A's tokens. */
static void mpt_token_key_separates_pools(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 8, 0);
	struct mp_pool *other;
	u32 slot;
	u64 gen;

	other = kunit_kzalloc(test, sizeof(*other), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, other);
	KUNIT_ASSERT_EQ(test, mp_pool_init(other, mpt_cfg3, 3), 0);
	KUNIT_EXPECT_NE(test, memcmp(&other->key, &f->pool.key,
				     sizeof(other->key)), 0);
	other->key = f->pool.key;
	KUNIT_EXPECT_EQ(test, mp_token_open(other, t, &slot, &gen), 0);
	KUNIT_EXPECT_EQ(test, slot, mpt_index(f, t));
	KUNIT_EXPECT_EQ(test, gen, mpt_gen(f, t));
	mp_pool_destroy(other);
}

#define MPT_GUESSES	4096

static u64 mpt_rand64(u32 *state)
{
	u64 high = mpt_rand(state);

	return high << 32 | mpt_rand(state);
}

/* Random words are no live token, with every slot live. */
static void mpt_token_guess(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u32 i, invalid = 0, stale = 0, seed = 0x2545f491;
	int err;
	u64 t;

	for (i = 0; i < f->pool.capacity; i++)
		KUNIT_ASSERT_NE(test, mpt_store(f, &f->a, 1, i), 0ULL);
	for (i = 0; i < MPT_GUESSES; i++) {
		t = mpt_rand64(&seed);
		err = mpt_header(f, t);
		KUNIT_EXPECT_TRUE_MSG(test, mpt_refused(err),
				      "%llx: header %d", t, err);
		invalid += err == -EINVAL;
		stale += err == -ESTALE;
		err = mpt_borrow(f, &f->b, t, MSGPOOL_F_NONBLOCK);
		KUNIT_EXPECT_TRUE_MSG(test, mpt_refused(err),
				      "%llx: borrow %d", t, err);
	}
	/* 10 of 16 slot numbers exist: both checks were made. */
	KUNIT_EXPECT_GT(test, invalid, MPT_GUESSES / 4);
	KUNIT_EXPECT_GT(test, stale, MPT_GUESSES / 4);
	KUNIT_EXPECT_EQ(test, f->b.hold_used, 0U);
}

/*
 * A slot at its last generation gives one more message, then retires:
 * the next allocation passes it over, and it is gone for good.
 */
static void mpt_token_retire(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_census c;
	struct mp_ref ref;
	u64 t;
	int i;

	f->pool.slots[0].gen = f->pool.gen_max - 1;
	t = mpt_store(f, &f->a, 1, 0);
	KUNIT_ASSERT_NE(test, t, 0ULL);
	KUNIT_EXPECT_EQ(test, mpt_index(f, t), 0U);
	KUNIT_EXPECT_EQ(test, mpt_gen(f, t), f->pool.gen_max);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->a, t), 0);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 10ULL);
	/* Slot 0 is popped first, and passed over. */
	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	KUNIT_EXPECT_EQ(test, ref.slot, 1U);
	KUNIT_EXPECT_EQ(test, f->pool.slots[0].state, (u8)MP_SLOT_RETIRED);
	KUNIT_EXPECT_EQ(test, f->pool.slots[0].gen, f->pool.gen_max);
	KUNIT_EXPECT_EQ(test, mp_discard(&f->pool, &f->a, ref.token), 0);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 9ULL);
	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.retired, 1ULL);
	KUNIT_EXPECT_EQ(test, c.free, 9ULL);
	KUNIT_EXPECT_EQ(test, mpt_header(f, t), -ESTALE);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, 0), -ESTALE);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->a, t), -ESTALE);
	/* Never handed out again: the class has three slots left. */
	for (i = 0; i < 3; i++) {
		KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
		KUNIT_EXPECT_NE(test, ref.slot, 0U);
		KUNIT_EXPECT_EQ(test, ref.capacity, 64U);
	}
	KUNIT_EXPECT_EQ(test, mp_class_pick(&f->pool, 1), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&f->pool.classes[0].available), 0);
}

static const struct msgpool_class mpt_sixteen[] = {
	{ .slot_size = 64, .nr_slots = 16 },
};

/*
 * One (slot, generation) enciphers to 0: the test makes that the next
 * generation of its slot, and the allocation skips it.
 */
static void mpt_token_never_zero(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_sixteen, 1);
	u64 word, zero_gen, gen;
	struct mp_ref ref;
	u32 i, zero_slot, slot;

	/* A fixed key whose 0 lies at a generation a slot can reach. */
	f->pool.key.key[0] = 0x0706050403020100ULL;
	f->pool.key.key[1] = 0x0f0e0d0c0b0a0908ULL;
	do {
		f->pool.key.key[0]++;
		word = mp_token_decipher(&f->pool, 0);
		zero_gen = word >> f->pool.slot_bits;
	} while (zero_gen < 2 || zero_gen >= f->pool.gen_max);
	zero_slot = word & 15;
	KUNIT_ASSERT_EQ(test, mp_token_make(&f->pool, zero_slot, zero_gen),
			0ULL);
	/* 0 is the "no token" value: refused before it is deciphered. */
	KUNIT_EXPECT_EQ(test, mp_token_open(&f->pool, 0, &slot, &gen),
			-EINVAL);
	f->pool.slots[zero_slot].gen = zero_gen - 1;
	for (i = 0; i < 16; i++) {
		KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
		KUNIT_EXPECT_NE(test, ref.token, 0ULL);
		if (ref.slot == zero_slot)
			KUNIT_EXPECT_EQ(test, mpt_gen(f, ref.token),
					zero_gen + 1);
	}
	KUNIT_EXPECT_EQ(test, f->pool.slots[zero_slot].gen, zero_gen + 1);
	KUNIT_EXPECT_EQ(test, mpt_header(f, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, 0, 0), -EINVAL);
}

/* The round function is SipHash-2-4: its reference vector for 8 bytes. */
static void mpt_token_siphash(struct kunit *test)
{
	const siphash_key_t key = { {
		0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL,
	} };

	KUNIT_EXPECT_EQ(test, siphash_2u32(0x03020100, 0x07060504, &key),
			0x93f5f5799a932462ULL);
}

static struct kunit_case mpt_token_cases[] = {
	KUNIT_CASE(mpt_token_round_trip),
	KUNIT_CASE(mpt_token_enciphered),
	KUNIT_CASE(mpt_token_of_loan),
	KUNIT_CASE(mpt_token_malformed),
	KUNIT_CASE(mpt_token_stale_after_free),
	KUNIT_CASE(mpt_token_stale_after_reuse),
	KUNIT_CASE(mpt_token_other_pool),
	KUNIT_CASE(mpt_token_key_separates_pools),
	KUNIT_CASE(mpt_token_guess),
	KUNIT_CASE(mpt_token_retire),
	KUNIT_CASE(mpt_token_never_zero),
	KUNIT_CASE(mpt_token_siphash),
	{}
};

MPT_SUITE(mpt_token_suite, "msgpool_token", mpt_token_cases);

/* Pool shapes: validation, layout, allocation failure. */

struct mpt_config_case {
	struct msgpool_class cls[MSGPOOL_MAX_CLASSES];
	u32 nr;
	u64 max_bytes;
	u32 max_slots;
	int err;
	u64 map_size;
};

static const struct mpt_config_case mpt_config_cases[] = {
	{ { { 1, 1 } }, 1, SZ_256M, 262144, 0, SZ_4K },
	{ { { 64, 64 } }, 1, SZ_256M, 262144, 0, SZ_4K },
	{ { { 64, 65 } }, 1, SZ_256M, 262144, 0, SZ_8K },
	{ { { 65, 64 } }, 1, SZ_256M, 262144, 0, SZ_8K },
	{ { { 1, 1 }, { 2, 1 } }, 2, SZ_256M, 262144, 0, SZ_8K },
	{ { { 100, 10 }, { 5000, 3 }, { 70000, 1 } }, 3, SZ_256M, 262144,
	  0, SZ_4K + SZ_16K + SZ_64K + SZ_8K },
	{ { { 1, 1 }, { 2, 1 }, { 3, 1 }, { 4, 1 }, { 5, 1 }, { 6, 1 },
	    { 7, 1 }, { 8, 1 } }, 8, SZ_256M, 262144, 0, 8 * SZ_4K },
	{ { { 4096, 65536 } }, 1, SZ_256M, 262144, 0, SZ_256M },
	{ { { 4096, 65537 } }, 1, SZ_256M, 262144, -E2BIG, 0 },
	{ { { 1, 262144 } }, 1, SZ_256M, 262144, 0, SZ_16M },
	{ { { 1, 262144 }, { 2, 1 } }, 2, SZ_256M, 262144, -E2BIG, 0 },
	{ { { 1, 1 << 24 } }, 1, U64_MAX, U32_MAX, 0, SZ_1G },
	{ { { 1, (1 << 24) + 1 } }, 1, U64_MAX, U32_MAX, -EINVAL, 0 },
	/* 2^32 - 1 rounds up to a stride of 2^32: would wrap in 32 bits. */
	{ { { U32_MAX, 1 << 24 } }, 1, U64_MAX, U32_MAX, -E2BIG, 0 },
	{ { { U32_MAX - 63, 1 << 24 } }, 1, SZ_256M, U32_MAX, -E2BIG, 0 },
	/* 4 GiB: zero in 32 bits. */
	{ { { 65536, 65536 } }, 1, SZ_256M, U32_MAX, -E2BIG, 0 },
	{ { { 1, 1 } }, 0, SZ_256M, 262144, -EINVAL, 0 },
	{ { { 1, 1 } }, 9, SZ_256M, 262144, -EINVAL, 0 },
	{ { { 0, 1 } }, 1, SZ_256M, 262144, -EINVAL, 0 },
	{ { { 1, 0 } }, 1, SZ_256M, 262144, -EINVAL, 0 },
	{ { { 2, 1 }, { 2, 1 } }, 2, SZ_256M, 262144, -EINVAL, 0 },
	{ { { 2, 1 }, { 1, 1 } }, 2, SZ_256M, 262144, -EINVAL, 0 },
	{ { { 1, 1 }, { 2, 0 } }, 2, SZ_256M, 262144, -EINVAL, 0 },
	/* A bad shape is -EINVAL even when it is also too big. */
	{ { { 1 << 30, 1 << 20 }, { 1, 1 } }, 2, SZ_256M, 262144, -EINVAL,
	  0 },
};

static void mpt_config_desc(const struct mpt_config_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE,
		 "%u class(es) from %ux%u, limits %llu bytes, %u slots",
		 c->nr, c->cls[0].slot_size, c->cls[0].nr_slots,
		 (unsigned long long)c->max_bytes, c->max_slots);
}

KUNIT_ARRAY_PARAM(mpt_config, mpt_config_cases, mpt_config_desc);

static void mpt_config_check(struct kunit *test)
{
	const struct mpt_config_case *c = test->param_value;
	u64 size = 0;

	KUNIT_EXPECT_EQ(test, mp_config_check(c->cls, c->nr, c->max_bytes,
					      c->max_slots, &size), c->err);
	KUNIT_EXPECT_EQ(test, size, c->map_size);
}

static void mpt_pool_layout(struct kunit *test)
{
	static const struct msgpool_class cls[] = {
		{ .slot_size = 100, .nr_slots = 10 },
		{ .slot_size = 5000, .nr_slots = 3 },
		{ .slot_size = 70000, .nr_slots = 1 },
	};
	struct mpt *f = mpt_setup(test, cls, 3);
	struct mp_class *c = f->pool.classes;

	KUNIT_EXPECT_EQ(test, f->pool.nr_classes, 3U);
	KUNIT_EXPECT_EQ(test, f->pool.capacity, 14U);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 14ULL);
	KUNIT_EXPECT_EQ(test, f->pool.map_size,
			SZ_4K + SZ_16K + SZ_64K + SZ_8K);
	KUNIT_EXPECT_EQ(test, c[0].stride, 128U);
	KUNIT_EXPECT_EQ(test, c[0].offset, 0ULL);
	KUNIT_EXPECT_EQ(test, c[1].stride, 5056U);
	KUNIT_EXPECT_EQ(test, c[1].offset, SZ_4K);
	KUNIT_EXPECT_EQ(test, c[1].nr_slots, 3U);
	KUNIT_EXPECT_EQ(test, atomic_read(&c[1].available), 3);
	KUNIT_EXPECT_EQ(test, c[2].stride, 70016U);
	KUNIT_EXPECT_EQ(test, c[2].offset, SZ_4K + SZ_16K);
	KUNIT_EXPECT_EQ(test, c[2].slot_size, 70000U);
	KUNIT_EXPECT_EQ(test, c[2].first, 13U);
}

static void mpt_pool_init_bad_shape(struct kunit *test)
{
	static const struct msgpool_class huge[] = {
		{ .slot_size = U32_MAX, .nr_slots = 1 },
	};
	struct mp_pool *pool = kunit_kzalloc(test, sizeof(*pool), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pool);
	KUNIT_EXPECT_EQ(test, mp_pool_init(pool, mpt_cfg3, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, mp_pool_init(pool, huge, 1), -E2BIG);
}

static void mpt_pool_init_enomem(struct kunit *test)
{
	struct mp_pool *pool = kunit_kzalloc(test, sizeof(*pool), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pool);
	mpt_alloc_fail = true;
	KUNIT_EXPECT_EQ(test, mp_pool_init(pool, mpt_cfg3, 3), -ENOMEM);
	mpt_alloc_fail = false;
	KUNIT_ASSERT_EQ(test, mp_pool_init(pool, mpt_cfg3, 3), 0);
	mp_pool_destroy(pool);
}

static struct kunit_case mpt_config_cases_run[] = {
	KUNIT_CASE_PARAM(mpt_config_check, mpt_config_gen_params),
	KUNIT_CASE(mpt_pool_layout),
	KUNIT_CASE(mpt_pool_init_bad_shape),
	KUNIT_CASE(mpt_pool_init_enomem),
	{}
};

MPT_SUITE(mpt_config_suite, "msgpool_config", mpt_config_cases_run);

/* Class selection, over several pool shapes. */

struct mpt_shape {
	const char *name;
	u32 nr;
	struct msgpool_class cls[MSGPOOL_MAX_CLASSES];
};

static const struct mpt_shape mpt_shapes[] = {
	{ "one class", 1, { { 100, 3 } } },
	{ "three classes", 3, { { 64, 4 }, { 256, 4 }, { 4096, 2 } } },
	{ "eight classes", 8, { { 1, 1 }, { 2, 2 }, { 3, 1 }, { 64, 3 },
				{ 65, 1 }, { 4096, 2 }, { 4097, 1 },
				{ 65536, 1 } } },
	{ "far apart", 2, { { 8, 2 }, { 1 << 20, 1 } } },
};

static void mpt_shape_desc(const struct mpt_shape *shape, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s", shape->name);
}

KUNIT_ARRAY_PARAM(mpt_shape, mpt_shapes, mpt_shape_desc);

/* The smallest class that fits @len, whatever is free. */
static int mpt_fit(const struct mpt_shape *shape, u32 len)
{
	u32 c;

	for (c = 0; c < shape->nr; c++)
		if (shape->cls[c].slot_size >= len)
			return c;
	return -ENOBUFS;
}

static void mpt_class_pick_smallest_fit(struct kunit *test)
{
	const struct mpt_shape *shape = test->param_value;
	struct mpt *f = mpt_setup(test, shape->cls, shape->nr);
	u32 max = shape->cls[shape->nr - 1].slot_size;
	struct mp_ref ref;
	u32 c, len;

	KUNIT_EXPECT_EQ(test, mp_class_pick(&f->pool, 0), 0);
	for (c = 0; c < shape->nr; c++) {
		len = shape->cls[c].slot_size;
		KUNIT_EXPECT_EQ(test, mp_class_pick(&f->pool, len), (int)c);
		KUNIT_EXPECT_EQ(test, mp_class_pick(&f->pool, len - 1),
				mpt_fit(shape, len - 1));
		KUNIT_EXPECT_EQ(test, mp_class_pick(&f->pool, len + 1),
				mpt_fit(shape, len + 1));
	}
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->a, max + 1, 0, &ref),
			-EMSGSIZE);
}

/* Small messages fill the classes in order, smallest first. */
static void mpt_class_fill_upward(struct kunit *test)
{
	const struct mpt_shape *shape = test->param_value;
	struct mpt *f = mpt_setup(test, shape->cls, shape->nr);
	struct mp_ref ref;
	u32 c, i;

	for (c = 0; c < shape->nr; c++) {
		for (i = 0; i < shape->cls[c].nr_slots; i++) {
			KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0,
						      &ref), 0);
			KUNIT_EXPECT_EQ(test, ref.capacity,
					shape->cls[c].slot_size);
		}
		KUNIT_EXPECT_EQ(test, mp_class_pick(&f->pool, 1),
				c + 1 < shape->nr ? (int)c + 1 : -ENOBUFS);
	}
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->a, 0, 0, &ref), -ENOBUFS);
}

/* A big message never falls back to a smaller class. */
static void mpt_class_no_fallback_down(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_ref ref;

	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 300, 0, &ref), 0);
	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 300, 0, &ref), 0);
	KUNIT_EXPECT_EQ(test, mp_class_pick(&f->pool, 257), -ENOBUFS);
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->a, 257, 0, &ref),
			-ENOBUFS);
	KUNIT_EXPECT_EQ(test, mp_class_pick(&f->pool, 256), 1);
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->a, 4097, 0, &ref),
			-EMSGSIZE);
}

static struct kunit_case mpt_class_cases[] = {
	KUNIT_CASE_PARAM(mpt_class_pick_smallest_fit, mpt_shape_gen_params),
	KUNIT_CASE_PARAM(mpt_class_fill_upward, mpt_shape_gen_params),
	KUNIT_CASE(mpt_class_no_fallback_down),
	{}
};

MPT_SUITE(mpt_class_suite, "msgpool_class", mpt_class_cases);

/* The slot state machine: one case per (state, op, peer). */

enum mpt_who { NOBODY, A, B, R };
enum mpt_from { S_LOANED, S_READY, S_READ, S_WRITE, S_POISONED, S_FREED };
enum mpt_op {
	OP_COMMIT, OP_DISCARD, OP_BORROW, OP_BORROW_W, OP_BORROW_NB,
	OP_BORROW_W_NB, OP_BORROW_ADOPT, OP_RELEASE, OP_FREE, OP_HEADER,
};

static const char * const mpt_from_name[] = {
	"LOANED", "READY", "READ-BORROWED", "WRITE-BORROWED", "POISONED",
	"FREED",
};

static const char * const mpt_op_name[] = {
	"commit", "discard", "borrow", "borrow|write", "borrow|nonblock",
	"borrow|write|nonblock", "borrow|adopt|nonblock", "release", "free",
	"header",
};

struct mpt_sm_case {
	enum mpt_from from;
	enum mpt_op op;
	enum mpt_who who;
	int err;
	enum mp_slot_state to;
	int readers;
	enum mpt_who writer;
	enum mpt_who owner;
};

/* Setups: a owns the slot; b holds the borrow; c poisoned it. */
static const struct mpt_sm_case mpt_sm_cases[] = {
	{ S_LOANED, OP_COMMIT, A, 0, MP_SLOT_READY, 0, NOBODY, A },
	{ S_LOANED, OP_COMMIT, B, -EPERM, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_COMMIT, R, -EBADF, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_DISCARD, A, 0, MP_SLOT_FREE, 0, NOBODY, NOBODY },
	{ S_LOANED, OP_DISCARD, B, -EPERM, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_DISCARD, R, -EBADF, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_BORROW, A, -EDEADLK, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_BORROW_W, A, -EDEADLK, MP_SLOT_LOANED, 0, A, A },
	{ S_LOANED, OP_BORROW_NB, A, -EDEADLK, MP_SLOT_LOANED, 0, A, A },
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
	{ S_READY, OP_BORROW_ADOPT, R, -EBADF, MP_SLOT_READY, 0, NOBODY, A },
	{ S_READY, OP_RELEASE, A, -EPERM, MP_SLOT_READY, 0, NOBODY, A },
	{ S_READY, OP_FREE, A, 0, MP_SLOT_FREE, 0, NOBODY, NOBODY },
	{ S_READY, OP_FREE, B, 0, MP_SLOT_FREE, 0, NOBODY, NOBODY },
	{ S_READY, OP_FREE, R, -EBADF, MP_SLOT_READY, 0, NOBODY, A },
	{ S_READY, OP_HEADER, R, 0, MP_SLOT_READY, 0, NOBODY, A },

	{ S_READ, OP_COMMIT, A, -EPERM, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READ, OP_BORROW_NB, A, 0, MP_SLOT_READY, 2, NOBODY, A },
	{ S_READ, OP_BORROW_NB, B, 0, MP_SLOT_READY, 2, NOBODY, A },
	{ S_READ, OP_BORROW_W_NB, A, -EBUSY, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READ, OP_BORROW_W_NB, B, -EDEADLK, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READ, OP_BORROW_W, B, -EDEADLK, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READ, OP_BORROW_ADOPT, B, 0, MP_SLOT_READY, 2, NOBODY, B },
	{ S_READ, OP_RELEASE, B, 0, MP_SLOT_READY, 0, NOBODY, A },
	{ S_READ, OP_RELEASE, A, -EPERM, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READ, OP_RELEASE, R, -EPERM, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READ, OP_FREE, A, -EBUSY, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READ, OP_FREE, B, -EBUSY, MP_SLOT_READY, 1, NOBODY, A },
	{ S_READ, OP_HEADER, A, 0, MP_SLOT_READY, 1, NOBODY, A },

	{ S_WRITE, OP_COMMIT, B, -EPERM, MP_SLOT_READY, 0, B, A },
	{ S_WRITE, OP_DISCARD, B, -EPERM, MP_SLOT_READY, 0, B, A },
	{ S_WRITE, OP_BORROW_NB, A, -EBUSY, MP_SLOT_READY, 0, B, A },
	{ S_WRITE, OP_BORROW_NB, B, -EDEADLK, MP_SLOT_READY, 0, B, A },
	{ S_WRITE, OP_BORROW, B, -EDEADLK, MP_SLOT_READY, 0, B, A },
	{ S_WRITE, OP_BORROW_W, B, -EDEADLK, MP_SLOT_READY, 0, B, A },
	{ S_WRITE, OP_BORROW_ADOPT, R, -EBADF, MP_SLOT_READY, 0, B, A },
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

static void mpt_sm_desc(const struct mpt_sm_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s: %s by %c",
		 mpt_from_name[c->from], mpt_op_name[c->op], "-abr"[c->who]);
}

KUNIT_ARRAY_PARAM(mpt_sm, mpt_sm_cases, mpt_sm_desc);

static struct mp_peer *mpt_peer(struct mpt *f, enum mpt_who who)
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

static u32 mpt_id(struct mpt *f, enum mpt_who who)
{
	return who == NOBODY ? 0 : mpt_peer(f, who)->id;
}

/* Puts a fresh slot in state @from; returns its token or 0. */
static u64 mpt_sm_setup(struct mpt *f, enum mpt_from from)
{
	struct mp_ref ref;
	u64 t;

	if (from == S_LOANED)
		return mp_loan(&f->pool, &f->a, 1, 0, &ref) ? 0 : ref.token;
	t = mpt_store(f, &f->a, 1, 0);
	switch (from) {
	case S_READ:
		return mpt_borrow(f, &f->b, t, 0) ? 0 : t;
	case S_WRITE:
		return mpt_borrow(f, &f->b, t, MSGPOOL_F_WRITE) ? 0 : t;
	case S_POISONED:
		if (mpt_borrow(f, &f->c, t, MSGPOOL_F_WRITE))
			return 0;
		mpt_crash(f, &f->c);
		return mpt_slot(f, t)->state == MP_SLOT_POISONED ? t : 0;
	case S_FREED:
		return mp_free(&f->pool, &f->a, t) ? 0 : t;
	default:
		return t;
	}
}

static int mpt_sm_op(struct mpt *f, enum mpt_op op, struct mp_peer *peer,
		     u64 t)
{
	struct mp_msg_hdr hdr = mpt_hdr(1, 0);

	switch (op) {
	case OP_COMMIT:
		return mp_commit(&f->pool, peer, t, &hdr);
	case OP_DISCARD:
		return mp_discard(&f->pool, peer, t);
	case OP_BORROW:
		return mpt_borrow(f, peer, t, 0);
	case OP_BORROW_W:
		return mpt_borrow(f, peer, t, MSGPOOL_F_WRITE);
	case OP_BORROW_NB:
		return mpt_borrow(f, peer, t, MSGPOOL_F_NONBLOCK);
	case OP_BORROW_W_NB:
		return mpt_borrow(f, peer, t,
				  MSGPOOL_F_WRITE | MSGPOOL_F_NONBLOCK);
	case OP_BORROW_ADOPT:
		return mpt_borrow(f, peer, t,
				  MSGPOOL_F_ADOPT | MSGPOOL_F_NONBLOCK);
	case OP_RELEASE:
		return mp_release(&f->pool, peer, t, 0, 0);
	case OP_FREE:
		return mp_free(&f->pool, peer, t);
	default:
		return mpt_header(f, t);
	}
}

static void mpt_state_machine(struct kunit *test)
{
	const struct mpt_sm_case *c = test->param_value;
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_slot *s;
	u64 t;

	t = mpt_sm_setup(f, c->from);
	KUNIT_ASSERT_NE(test, t, 0ULL);
	s = mpt_slot(f, t);
	KUNIT_EXPECT_EQ(test, mpt_sm_op(f, c->op, mpt_peer(f, c->who), t),
			c->err);
	KUNIT_EXPECT_EQ(test, s->state, (u8)c->to);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->readers), c->readers);
	KUNIT_EXPECT_EQ(test, s->writer, mpt_id(f, c->writer));
	KUNIT_EXPECT_PTR_EQ(test, s->owner, mpt_peer(f, c->owner));
}

static struct kunit_case mpt_state_cases[] = {
	KUNIT_CASE_PARAM(mpt_state_machine, mpt_sm_gen_params),
	{}
};

MPT_SUITE(mpt_state_suite, "msgpool_state", mpt_state_cases);

/* Message headers and the pool's sequence. */

/* The core numbers the message; all else is the caller's, kept as is. */
static void mpt_commit_keeps_header(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_msg_hdr hdr = mpt_hdr(64, 7), h;
	struct mp_ref ref;

	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 0, 0, &ref), 0);
	hdr.seq = 12345;
	KUNIT_ASSERT_EQ(test, mp_commit(&f->pool, &f->a, ref.token, &hdr), 0);
	KUNIT_EXPECT_EQ(test, hdr.seq, 1ULL);
	KUNIT_ASSERT_EQ(test, mp_header(&f->pool, ref.token, &ref, &h), 0);
	KUNIT_EXPECT_EQ(test, h.len, 64U);
	KUNIT_EXPECT_EQ(test, h.tag, 7ULL);
	KUNIT_EXPECT_EQ(test, h.producer, (u32)MPT_PRODUCER);
	KUNIT_EXPECT_EQ(test, h.timestamp_ns, MPT_TIMESTAMP);
	KUNIT_EXPECT_EQ(test, h.seq, 1ULL);
}

static void mpt_commit_too_long(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_msg_hdr hdr = mpt_hdr(65, 7);
	struct mp_ref ref;

	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 0, 0, &ref), 0);
	KUNIT_EXPECT_EQ(test, mp_commit(&f->pool, &f->a, ref.token, &hdr),
			-EMSGSIZE);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, ref.token)->state,
			(u8)MP_SLOT_LOANED);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, ref.token)->writer, f->a.id);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->pool.seq), 0);
	hdr.len = 64;
	KUNIT_EXPECT_EQ(test, mp_commit(&f->pool, &f->a, ref.token, &hdr), 0);
}

/* One sequence numbers every commit and publish of a pool. */
static void mpt_seq_commits_and_publishes(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	u32 reader;
	u64 seq;

	KUNIT_ASSERT_NE(test, mpt_store(f, &f->a, 1, 0), 0ULL);
	KUNIT_ASSERT_NE(test, mpt_store(f, &f->b, 1, 0), 0ULL);
	KUNIT_ASSERT_EQ(test, mp_subscribe(&f->pool, &f->r, &reader, &seq),
			0);
	KUNIT_EXPECT_EQ(test, seq, 2ULL);
	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	hdr = mpt_hdr(1, 0);
	KUNIT_ASSERT_EQ(test, mp_publish(&f->pool, &f->a, ref.token, &hdr), 0);
	KUNIT_EXPECT_EQ(test, hdr.seq, 3ULL);
	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	hdr = mpt_hdr(1, 0);
	KUNIT_ASSERT_EQ(test, mp_commit(&f->pool, &f->a, ref.token, &hdr), 0);
	KUNIT_EXPECT_EQ(test, hdr.seq, 4ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->pool.seq), 4);
}

static void mpt_header_of_message(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	u64 t;

	KUNIT_ASSERT_NE(test, mpt_store(f, &f->a, 1, 0), 0ULL);
	t = mpt_store(f, &f->a, 3, 8);
	KUNIT_ASSERT_EQ(test, mp_header(&f->pool, t, &ref, &hdr), 0);
	KUNIT_EXPECT_EQ(test, hdr.len, 3U);
	KUNIT_EXPECT_EQ(test, hdr.tag, 8ULL);
	KUNIT_EXPECT_EQ(test, hdr.seq, 2ULL);
	KUNIT_EXPECT_EQ(test, ref.token, t);
	KUNIT_EXPECT_EQ(test, ref.capacity, 64U);
	KUNIT_EXPECT_EQ(test, ref.offset,
			f->pool.classes[0].offset + f->pool.classes[0].stride);
}

static void mpt_read_only_peer(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_msg_hdr hdr = mpt_hdr(1, 0);
	u64 t = mpt_store(f, &f->a, 1, 0);
	struct mp_ref ref;

	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->r, 1, 0, &ref), -EBADF);
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->r, 1 << 20, 0, &ref),
			-EBADF);
	KUNIT_EXPECT_EQ(test, mp_commit(&f->pool, &f->r, t, &hdr), -EBADF);
	KUNIT_EXPECT_EQ(test, mp_discard(&f->pool, &f->r, t), -EBADF);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->r, t, MSGPOOL_F_WRITE),
			-EBADF);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->r, t), -EBADF);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->r, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_header(f, t), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->r, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 9ULL);
}

static struct kunit_case mpt_message_cases[] = {
	KUNIT_CASE(mpt_commit_keeps_header),
	KUNIT_CASE(mpt_commit_too_long),
	KUNIT_CASE(mpt_seq_commits_and_publishes),
	KUNIT_CASE(mpt_header_of_message),
	KUNIT_CASE(mpt_read_only_peer),
	{}
};

MPT_SUITE(mpt_message_suite, "msgpool_message", mpt_message_cases);

/* Borrow accounting. */

static void mpt_borrow_counts(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 1, 0);
	struct mp_slot *s = mpt_slot(f, t);
	int i;

	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->a, t, 0), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->readers), 4);
	KUNIT_EXPECT_EQ(test, f->b.hold_used, 1U);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->a, t), -EBUSY);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), -EPERM);
	KUNIT_EXPECT_EQ(test, f->b.hold_used, 0U);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->readers), 1);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_WRITE |
					 MSGPOOL_F_NONBLOCK), -EBUSY);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->a, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_WRITE |
					 MSGPOOL_F_NONBLOCK), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->a, t), 0);
	KUNIT_EXPECT_EQ(test, mpt_count(&f->pool.cnt.borrows), 5);
	KUNIT_EXPECT_EQ(test, mpt_count(&f->pool.cnt.stores), 1);
	KUNIT_EXPECT_EQ(test, mpt_count(&f->pool.cnt.frees), 1);
}

static void mpt_borrow_gets_header(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 3, 8);
	struct mp_msg_hdr hdr;
	struct mp_ref ref;

	KUNIT_ASSERT_EQ(test, mp_borrow(&f->pool, &f->b, t, MSGPOOL_F_WRITE,
					&ref, &hdr), 0);
	KUNIT_EXPECT_EQ(test, hdr.seq, 1ULL);
	KUNIT_EXPECT_EQ(test, hdr.tag, 8ULL);
	KUNIT_EXPECT_EQ(test, hdr.len, 3U);
	KUNIT_EXPECT_EQ(test, hdr.producer, (u32)MPT_PRODUCER);
	KUNIT_EXPECT_EQ(test, ref.token, t);
	KUNIT_EXPECT_EQ(test, ref.offset, f->pool.classes[0].offset);
}

/* A write borrower may change the length, within the slot. */
static void mpt_release_setlen(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 3, 8);
	struct mp_msg_hdr hdr;
	struct mp_ref ref;

	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_WRITE), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, MSGPOOL_F_SETLEN,
					 65), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->writer, f->b.id);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, MSGPOOL_F_SETLEN,
					 64), 0);
	KUNIT_ASSERT_EQ(test, mp_header(&f->pool, t, &ref, &hdr), 0);
	KUNIT_EXPECT_EQ(test, hdr.len, 64U);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, MSGPOOL_F_SETLEN,
					 1), -EPERM);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
}

/* One peer's read borrows of one slot stop at 65535. */
static void mpt_borrow_overflow(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 1, 0);
	int i;

	for (i = 0; i < U16_MAX; i++)
		KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, 0), -EOVERFLOW);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b,
					 mp_token_make(&f->pool, mpt_index(f, t),
						       mpt_gen(f, t) + 1),
					 0), -ESTALE);
	KUNIT_EXPECT_EQ(test, atomic_read(&mpt_slot(f, t)->readers), U16_MAX);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->a, t, 0), 0);
}

/* Many holds of one peer: the table grows and entries come and go. */
static void mpt_hold_table_grows(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_many, 1);
	u64 *tok = kunit_kcalloc(test, MPT_MANY, sizeof(*tok), GFP_KERNEL);
	u32 i;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, tok);
	for (i = 0; i < MPT_MANY; i++) {
		tok[i] = mpt_store(f, &f->a, 1, i);
		KUNIT_ASSERT_NE(test, tok[i], 0ULL);
		KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, tok[i], 0), 0);
	}
	KUNIT_EXPECT_EQ(test, f->b.hold_used, MPT_MANY);
	KUNIT_EXPECT_EQ(test, f->b.hold_cap, 1024U);
	/* Every other one goes: the rest must still be found. */
	for (i = 0; i < MPT_MANY; i += 2)
		KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, tok[i], 0, 0),
				0);
	for (i = 0; i < MPT_MANY; i++)
		KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, tok[i], 0, 0),
				i % 2 ? 0 : -EPERM);
	KUNIT_EXPECT_EQ(test, f->b.hold_used, 0U);
}

/* The hold table against a model: random borrows and releases. */
static void mpt_hold_table_model(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_many, 1);
	u64 *tok = kunit_kcalloc(test, MPT_MANY, sizeof(*tok), GFP_KERNEL);
	int *model = kunit_kcalloc(test, MPT_MANY, sizeof(*model), GFP_KERNEL);
	u32 i, n, used = 0, seed = 1;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, tok);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, model);
	for (i = 0; i < MPT_MANY; i++) {
		tok[i] = mpt_store(f, &f->a, 1, i);
		KUNIT_ASSERT_NE(test, tok[i], 0ULL);
	}
	for (n = 0; n < 50000; n++) {
		i = mpt_rand(&seed) % MPT_MANY;
		if (mpt_rand(&seed) % 2) {
			KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, tok[i], 0),
					0);
			used += !model[i]++;
		} else {
			KUNIT_ASSERT_EQ(test, mp_release(&f->pool, &f->b,
							 tok[i], 0, 0),
					model[i] ? 0 : -EPERM);
			used -= model[i] && !--model[i];
		}
		KUNIT_ASSERT_EQ(test, f->b.hold_used, used);
	}
	KUNIT_EXPECT_GE(test, f->b.hold_cap, 1024U);
	for (i = 0; i < MPT_MANY; i++)
		KUNIT_EXPECT_EQ(test, atomic_read(&f->pool.slots[i].readers),
				model[i]);
	mpt_crash(f, &f->b);
	for (i = 0; i < MPT_MANY; i++) {
		KUNIT_EXPECT_EQ(test, atomic_read(&f->pool.slots[i].readers),
				0);
		KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->b, tok[i]), 0);
	}
}

/* A loan whose hold table cannot be had changes nothing. */
static void mpt_loan_enomem(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_ref ref;

	mpt_alloc_fail = true;
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), -ENOMEM);
	mpt_alloc_fail = false;
	KUNIT_EXPECT_EQ(test, mpt_available(f), 10ULL);
	KUNIT_EXPECT_EQ(test, f->a.hold_used, 0U);
	KUNIT_EXPECT_EQ(test, mpt_count(&f->pool.cnt.loans), 0);
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
}

/* A borrow whose hold table cannot grow changes nothing. */
static void mpt_borrow_enomem(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t[7];
	int i;

	for (i = 0; i < 7; i++) {
		t[i] = mpt_store(f, &f->a, 1, 0);
		KUNIT_ASSERT_NE(test, t[i], 0ULL);
	}
	for (i = 0; i < 6; i++)
		KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t[i], 0), 0);
	/* The seventh hold needs a bigger table. */
	mpt_alloc_fail = true;
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t[6], 0), -ENOMEM);
	mpt_alloc_fail = false;
	KUNIT_EXPECT_EQ(test, atomic_read(&mpt_slot(f, t[6])->readers), 0);
	KUNIT_EXPECT_EQ(test, f->b.hold_used, 6U);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t[6], 0), 0);
	KUNIT_EXPECT_EQ(test, f->b.hold_cap, 16U);
	for (i = 0; i < 7; i++)
		KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t[i], 0, 0),
				0);
}

/* Adopting makes a peer the one to free: a read-only one may not. */
static void mpt_borrow_read_only_adopt(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 1, 0);
	const u32 refused[] = {
		MSGPOOL_F_ADOPT,
		MSGPOOL_F_ADOPT | MSGPOOL_F_NONBLOCK,
		MSGPOOL_F_WRITE,
		MSGPOOL_F_WRITE | MSGPOOL_F_NONBLOCK,
		MSGPOOL_F_WRITE | MSGPOOL_F_ADOPT,
	};
	struct mp_slot *s = mpt_slot(f, t);
	u32 i;

	for (i = 0; i < ARRAY_SIZE(refused); i++)
		KUNIT_EXPECT_EQ_MSG(test, mpt_borrow(f, &f->r, t, refused[i]),
				    -EBADF, "flags %#x", refused[i]);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->readers), 0);
	KUNIT_EXPECT_EQ(test, s->writer, 0U);
	KUNIT_EXPECT_PTR_EQ(test, s->owner, &f->a);
	KUNIT_EXPECT_EQ(test, f->r.hold_used, 0U);
	/* Nor an orphan, which nobody owns. */
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t, 0), 0);
	mpt_crash(f, &f->a);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->r, t, MSGPOOL_F_ADOPT), -EBADF);
	KUNIT_EXPECT_TRUE(test, s->flags & MP_SLOT_ORPHAN);
	KUNIT_EXPECT_PTR_EQ(test, s->owner, NULL);
	/* A plain read borrow is its right. */
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->r, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->r, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, s->state, (u8)MP_SLOT_FREE);
}

/* A borrow of one's own loan could only wait for itself. */
static void mpt_borrow_own_loan(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_msg_hdr hdr = mpt_hdr(1, 0);
	struct mp_ref ref;

	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->a, ref.token, 0), -EDEADLK);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->a, ref.token,
					 MSGPOOL_F_WRITE), -EDEADLK);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->a, ref.token,
					 MSGPOOL_F_ADOPT), -EDEADLK);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->a, ref.token,
					 MSGPOOL_F_NONBLOCK), -EDEADLK);
	KUNIT_EXPECT_EQ(test, f->a.hold_used, 1U);
	KUNIT_EXPECT_EQ(test, mp_commit(&f->pool, &f->a, ref.token, &hdr), 0);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->a, ref.token, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->a, ref.token, 0, 0), 0);
}

/* Nor may a write borrower borrow again what it holds. */
static void mpt_borrow_own_write(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 1, 0);

	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_WRITE), 0);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, 0), -EDEADLK);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_WRITE),
			-EDEADLK);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_ADOPT),
			-EDEADLK);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->writer, f->b.id);
	KUNIT_EXPECT_EQ(test, atomic_read(&mpt_slot(f, t)->readers), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
}

/* A write borrow would wait for the peer's own read borrows. */
static void mpt_borrow_write_over_own_reads(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 1, 0);

	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t, 0), 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t, 0), 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->c, t, 0), 0);
	/* Others' read borrows too do not make it a wait: its own stay. */
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_WRITE),
			-EDEADLK);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_WRITE |
					 MSGPOOL_F_NONBLOCK), -EDEADLK);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->c, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_WRITE),
			-EDEADLK);
	KUNIT_EXPECT_EQ(test, atomic_read(&mpt_slot(f, t)->readers), 2);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->writer, 0U);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_WRITE), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
}

/* Another peer's loan, write borrow or read borrows: -EBUSY, no wait. */
static void mpt_borrow_others_busy(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 1, 0);
	struct mp_ref ref;

	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, ref.token,
					 MSGPOOL_F_NONBLOCK), -EBUSY);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, ref.token, MSGPOOL_F_WRITE |
					 MSGPOOL_F_NONBLOCK), -EBUSY);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_WRITE), 0);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->c, t, MSGPOOL_F_NONBLOCK),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->a, t, MSGPOOL_F_ADOPT |
					 MSGPOOL_F_NONBLOCK), -EBUSY);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->c, t, MSGPOOL_F_WRITE |
					 MSGPOOL_F_NONBLOCK), -EBUSY);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, f->c.hold_used, 0U);
}

/* Writes through the mapping of a protected pool: the holder's, unsealed. */
static void mpt_may_write_loan(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_msg_hdr hdr = mpt_hdr(1, 0);
	struct mp_ref ref, sealed;

	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	KUNIT_EXPECT_TRUE(test, mp_peer_may_write(&f->a, ref.slot));
	KUNIT_EXPECT_FALSE(test, mp_peer_may_write(&f->b, ref.slot));
	KUNIT_EXPECT_EQ(test, mp_write_seal(&f->pool, &f->a, ref.token, true,
					    &sealed), 0);
	KUNIT_EXPECT_EQ(test, sealed.offset, ref.offset);
	KUNIT_EXPECT_FALSE(test, mp_peer_may_write(&f->a, ref.slot));
	/* An op that fails leaves the loan: unsealed, it is writable again. */
	KUNIT_EXPECT_EQ(test, mp_write_seal(&f->pool, &f->a, ref.token, false,
					    &sealed), 0);
	KUNIT_EXPECT_TRUE(test, mp_peer_may_write(&f->a, ref.slot));
	KUNIT_EXPECT_EQ(test, mp_commit(&f->pool, &f->a, ref.token, &hdr), 0);
	KUNIT_EXPECT_FALSE(test, mp_peer_may_write(&f->a, ref.slot));
	KUNIT_EXPECT_EQ(test, mp_write_seal(&f->pool, &f->a, ref.token, true,
					    &sealed), -EPERM);
}

static void mpt_may_write_borrow(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 8, 0);
	u32 slot = mpt_index(f, t);
	struct mp_ref ref;

	KUNIT_ASSERT_NE(test, t, 0ULL);
	KUNIT_EXPECT_FALSE(test, mp_peer_may_write(&f->a, slot));
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t, 0), 0);
	KUNIT_EXPECT_FALSE(test, mp_peer_may_write(&f->b, slot));
	KUNIT_EXPECT_EQ(test, mp_write_seal(&f->pool, &f->b, t, true, &ref),
			-EPERM);
	KUNIT_ASSERT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_WRITE), 0);
	KUNIT_EXPECT_TRUE(test, mp_peer_may_write(&f->b, slot));
	KUNIT_EXPECT_FALSE(test, mp_peer_may_write(&f->a, slot));
	KUNIT_ASSERT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	KUNIT_EXPECT_FALSE(test, mp_peer_may_write(&f->b, slot));
}

static struct kunit_case mpt_borrow_cases[] = {
	KUNIT_CASE(mpt_borrow_counts),
	KUNIT_CASE(mpt_borrow_gets_header),
	KUNIT_CASE(mpt_release_setlen),
	KUNIT_CASE(mpt_borrow_overflow),
	KUNIT_CASE(mpt_hold_table_grows),
	KUNIT_CASE(mpt_hold_table_model),
	KUNIT_CASE(mpt_loan_enomem),
	KUNIT_CASE(mpt_borrow_enomem),
	KUNIT_CASE(mpt_borrow_read_only_adopt),
	KUNIT_CASE(mpt_borrow_own_loan),
	KUNIT_CASE(mpt_borrow_own_write),
	KUNIT_CASE(mpt_borrow_write_over_own_reads),
	KUNIT_CASE(mpt_borrow_others_busy),
	KUNIT_CASE(mpt_may_write_loan),
	KUNIT_CASE(mpt_may_write_borrow),
	{}
};

MPT_SUITE(mpt_borrow_suite, "msgpool_borrow", mpt_borrow_cases);

/* Peer reclaim and poisoning. */

static void mpt_reclaim_loan(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_ref ref;

	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	mpt_crash(f, &f->a);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, ref.token)->state, (u8)MP_SLOT_FREE);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, ref.token, 0), -ESTALE);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 10ULL);
	KUNIT_EXPECT_EQ(test, mpt_count(&f->pool.cnt.reclaimed), 1);
	KUNIT_EXPECT_EQ(test, mpt_count(&f->pool.cnt.poisoned), 0);
}

static void mpt_reclaim_read(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 1, 0);

	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->c, t, 0), 0);
	mpt_crash(f, &f->b);
	KUNIT_EXPECT_EQ(test, atomic_read(&mpt_slot(f, t)->readers), 1);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->state, (u8)MP_SLOT_READY);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->c, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->a, t), 0);
}

static void mpt_reclaim_poison(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 1, 0);

	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_WRITE), 0);
	mpt_crash(f, &f->b);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->state, (u8)MP_SLOT_POISONED);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->writer, 0U);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->c, t, 0), -EOWNERDEAD);
	KUNIT_EXPECT_EQ(test, mpt_header(f, t), -EOWNERDEAD);
	KUNIT_EXPECT_EQ(test, mpt_count(&f->pool.cnt.poisoned), 1);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 9ULL);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->c, t), 0);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 10ULL);
}

/* A write borrower of its own slot frees it when it goes. */
static void mpt_reclaim_own_write(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 1, 0);

	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->a, t, MSGPOOL_F_WRITE), 0);
	mpt_crash(f, &f->a);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->state, (u8)MP_SLOT_FREE);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 10ULL);
}

/* The owner goes: borrowed slots wait for their borrowers, then go. */
static void mpt_reclaim_orphan(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 1, 0);
	u64 u = mpt_store(f, &f->a, 1, 0);

	KUNIT_ASSERT_NE(test, mpt_store(f, &f->a, 1, 0), 0ULL);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->c, t, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, u, MSGPOOL_F_WRITE), 0);
	mpt_crash(f, &f->a);
	/* Only the unborrowed slot is back: the others wait for readers. */
	KUNIT_EXPECT_EQ(test, mpt_available(f), 8ULL);
	KUNIT_EXPECT_TRUE(test, mpt_slot(f, t)->flags & MP_SLOT_ORPHAN);
	KUNIT_EXPECT_PTR_EQ(test, mpt_slot(f, t)->owner, NULL);
	KUNIT_EXPECT_EQ(test, mpt_header(f, t), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->state, (u8)MP_SLOT_READY);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->c, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->state, (u8)MP_SLOT_FREE);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 9ULL);
	/* A lost write borrow of an orphan frees it: nobody owns it. */
	mpt_crash(f, &f->b);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, u)->state, (u8)MP_SLOT_FREE);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 10ULL);
	KUNIT_EXPECT_EQ(test, mpt_count(&f->pool.cnt.reclaimed), 3);
	KUNIT_EXPECT_EQ(test, mpt_count(&f->pool.cnt.poisoned), 0);
	KUNIT_EXPECT_EQ(test, mpt_count(&f->pool.cnt.frees), 3);
}

/* Releasing the write borrow of an orphan frees it too. */
static void mpt_reclaim_orphan_write_release(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 1, 0);

	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_WRITE), 0);
	mpt_crash(f, &f->a);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->state, (u8)MP_SLOT_READY);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, MSGPOOL_F_SETLEN,
					 2), 0);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->state, (u8)MP_SLOT_FREE);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 10ULL);
}

/* Adopting an orphan makes it an ordinary owned slot again. */
static void mpt_reclaim_orphan_adopted(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 1, 0);

	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t, 0), 0);
	mpt_crash(f, &f->a);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->c, t, MSGPOOL_F_ADOPT), 0);
	KUNIT_EXPECT_FALSE(test, mpt_slot(f, t)->flags & MP_SLOT_ORPHAN);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->c, t, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->state, (u8)MP_SLOT_READY);
	KUNIT_EXPECT_PTR_EQ(test, mpt_slot(f, t)->owner, &f->c);
}

/* The producer leaves: the message stays with its adopter. */
static void mpt_reclaim_adopted(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_store(f, &f->a, 1, 0);

	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->b, t, MSGPOOL_F_ADOPT), 0);
	KUNIT_EXPECT_PTR_EQ(test, mpt_slot(f, t)->owner, &f->b);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	mpt_crash(f, &f->a);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->state, (u8)MP_SLOT_READY);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 9ULL);
	mpt_crash(f, &f->b);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->state, (u8)MP_SLOT_FREE);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 10ULL);
}

/* Census: one slot in each state, every peer holding something. */
static void mpt_census(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_peer_census pa, pb, pr, pc;
	u64 poisoned, read, written;
	struct mp_census c;
	struct mp_ref ref;

	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.free, 10ULL);
	KUNIT_EXPECT_EQ(test, c.loaned + c.ready + c.borrowed + c.poisoned,
			0ULL);
	poisoned = mpt_store(f, &f->a, 1, 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->c, poisoned, MSGPOOL_F_WRITE),
			0);
	mpt_crash(f, &f->c);
	read = mpt_store(f, &f->a, 1, 0);
	written = mpt_store(f, &f->a, 1, 0);
	KUNIT_ASSERT_NE(test, mpt_store(f, &f->a, 1, 0), 0ULL);
	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, read, 0), 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, read, 0), 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->r, read, 0), 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->c, written, MSGPOOL_F_WRITE),
			0);

	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.free, 5ULL);
	KUNIT_EXPECT_EQ(test, c.loaned, 1ULL);
	KUNIT_EXPECT_EQ(test, c.ready, 1ULL);
	KUNIT_EXPECT_EQ(test, c.borrowed, 2ULL);
	KUNIT_EXPECT_EQ(test, c.poisoned, 1ULL);
	mp_peer_census(&f->a, &pa);
	mp_peer_census(&f->b, &pb);
	mp_peer_census(&f->r, &pr);
	mp_peer_census(&f->c, &pc);
	KUNIT_EXPECT_EQ(test, pa.loans, 1ULL);
	KUNIT_EXPECT_EQ(test, pa.reads + pa.writes, 0ULL);
	KUNIT_EXPECT_EQ(test, pa.owned, 5ULL);
	KUNIT_EXPECT_EQ(test, pb.reads, 2ULL);
	KUNIT_EXPECT_EQ(test, pb.loans + pb.writes + pb.owned, 0ULL);
	KUNIT_EXPECT_EQ(test, pr.reads, 1ULL);
	KUNIT_EXPECT_EQ(test, pc.writes, 1ULL);
	KUNIT_EXPECT_EQ(test, pc.loans + pc.reads + pc.owned, 0ULL);
}

static struct kunit_case mpt_reclaim_cases[] = {
	KUNIT_CASE(mpt_reclaim_loan),
	KUNIT_CASE(mpt_reclaim_read),
	KUNIT_CASE(mpt_reclaim_poison),
	KUNIT_CASE(mpt_reclaim_own_write),
	KUNIT_CASE(mpt_reclaim_orphan),
	KUNIT_CASE(mpt_reclaim_orphan_write_release),
	KUNIT_CASE(mpt_reclaim_orphan_adopted),
	KUNIT_CASE(mpt_reclaim_adopted),
	KUNIT_CASE(mpt_census),
	{}
};

MPT_SUITE(mpt_reclaim_suite, "msgpool_reclaim", mpt_reclaim_cases);

/* Publish, subscribe and take, as the cases below do them. */

static int mpt_subscribe(struct mpt *f, struct mp_peer *peer)
{
	u32 reader;
	u64 seq;
	int err = mp_subscribe(&f->pool, peer, &reader, &seq);

	return err ? err : (int)reader;
}

/* A loan published at once: its token, or 0. */
static u64 mpt_publish(struct mpt *f, struct mp_peer *peer, u32 len, u64 tag)
{
	struct mp_msg_hdr hdr = mpt_hdr(len, tag);
	struct mp_ref ref;

	if (mp_loan(&f->pool, peer, len, 0, &ref) ||
	    mp_publish(&f->pool, peer, ref.token, &hdr))
		return 0;
	return ref.token;
}

/* a publishes messages tagged @first to @last, of 8 bytes each. */
static void mpt_publish_tags(struct kunit *test, struct mpt *f, u64 first,
			     u64 last)
{
	u64 tag;

	for (tag = first; tag <= last; tag++)
		KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, tag), 0ULL);
}

/*
 * The seq of @peer's next take (its token in *@token unless NULL), or
 * -errno; @f->lost is what the take reported lost.
 */
static s64 mpt_take(struct mpt *f, struct mp_peer *peer, u64 *token)
{
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	int err = mp_take(&f->pool, peer, &ref, &hdr, &f->lost);

	if (err)
		return err;
	if (token)
		*token = ref.token;
	return hdr.seq;
}

/* Sleeping: a waiter is woken by the change it waits for. */

/* A task that sleeps in the core until the test lets it go. */
struct mpt_waiter {
	struct mpt *f;
	struct mp_peer *peer;
	u64 token;
	u32 flags;
	bool loan;
	struct mp_ref ref;
	int err;
	struct completion done;
};

static int mpt_waiter_fn(void *data)
{
	struct mpt_waiter *w = data;
	struct mp_msg_hdr hdr;

	if (w->loan)
		w->err = mp_loan(&w->f->pool, w->peer, 1, w->flags, &w->ref);
	else
		w->err = mp_borrow(&w->f->pool, w->peer, w->token, w->flags,
				   &w->ref, &hdr);
	kthread_complete_and_exit(&w->done, 0);
}

/* b's loan, waiting for a slot. */
#define MPT_LOAN_WAITER(pool_f)						\
	{ .f = (pool_f), .peer = &(pool_f)->b, .loan = true,		\
	  .flags = MSGPOOL_F_WAIT }

/* Starts @w; returns once it sleeps on the pool's queue (or is done). */
static void mpt_waiter_start(struct kunit *test, struct mpt_waiter *w)
{
	KUNIT_ASSERT_TRUE(test, mpt_kthread_run(mpt_waiter_fn, w, &w->done));
	while (!wq_has_sleeper(&w->f->pool.wq) && !completion_done(&w->done))
		usleep_range(200, 500);
	KUNIT_EXPECT_FALSE(test, completion_done(&w->done));
}

/* Waits for @w to end; returns what its loan or borrow returned. */
static int mpt_waiter_end(struct kunit *test, struct mpt_waiter *w)
{
	if (!wait_for_completion_timeout(&w->done, 30 * HZ)) {
		kunit_err(test, "waiter still asleep after 30s");
		wait_for_completion(&w->done);
	}
	return w->err;
}

static void mpt_wait_for_slot(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_one, 1);
	struct mpt_waiter w = MPT_LOAN_WAITER(f);
	u64 t = mpt_store(f, &f->a, 1, 0);

	mpt_waiter_start(test, &w);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->a, t), 0);
	KUNIT_EXPECT_EQ(test, mpt_waiter_end(test, &w), 0);
	KUNIT_EXPECT_EQ(test, w.ref.slot, mpt_index(f, t));
	KUNIT_EXPECT_PTR_EQ(test, mpt_slot(f, w.ref.token)->owner, &f->b);
}

/* A slot freed into its freer's cache wakes a loan of another peer. */
static void mpt_wait_for_cached_slot(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_mag_cfg, 1);
	struct mpt_waiter w = MPT_LOAN_WAITER(f);
	u64 tok[MPT_MAG_SLOTS];

	KUNIT_ASSERT_TRUE(test, mpt_loan_n(f, &f->a, tok, MPT_MAG_SLOTS));
	mpt_waiter_start(test, &w);
	KUNIT_EXPECT_EQ(test, mp_discard(&f->pool, &f->a, tok[5]), 0);
	KUNIT_EXPECT_EQ(test, mpt_waiter_end(test, &w), 0);
	KUNIT_EXPECT_EQ(test, w.ref.slot, mpt_index(f, tok[5]));
	KUNIT_EXPECT_EQ(test, mpt_available(f), 0ULL);
}

static void mpt_wait_for_writer(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mpt_waiter w = { .f = f, .peer = &f->a };

	w.token = mpt_store(f, &f->a, 1, 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, w.token, MSGPOOL_F_WRITE),
			0);
	mpt_waiter_start(test, &w);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, w.token, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_waiter_end(test, &w), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&mpt_slot(f, w.token)->readers), 1);
}

static void mpt_wait_for_readers(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mpt_waiter w = { .f = f, .peer = &f->a,
				.flags = MSGPOOL_F_WRITE };

	w.token = mpt_store(f, &f->a, 1, 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, w.token, 0), 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->c, w.token, 0), 0);
	mpt_waiter_start(test, &w);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, w.token, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->c, w.token, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mpt_waiter_end(test, &w), 0);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, w.token)->writer, f->a.id);
}

/* A wait for a loaned slot ends in -ESTALE when the loan is discarded. */
static void mpt_wait_ends_stale(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mpt_waiter w = { .f = f, .peer = &f->b };
	struct mp_ref ref;

	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	w.token = ref.token;
	mpt_waiter_start(test, &w);
	KUNIT_EXPECT_EQ(test, mp_discard(&f->pool, &f->a, ref.token), 0);
	KUNIT_EXPECT_EQ(test, mpt_waiter_end(test, &w), -ESTALE);
}

static void mpt_wait_ends_poisoned(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mpt_waiter w = { .f = f, .peer = &f->b };

	w.token = mpt_store(f, &f->a, 1, 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->c, w.token, MSGPOOL_F_WRITE),
			0);
	mpt_waiter_start(test, &w);
	mpt_crash(f, &f->c);
	KUNIT_EXPECT_EQ(test, mpt_waiter_end(test, &w), -EOWNERDEAD);
}

/* Without overwrite, a loan waits for the readers of the pool. */
static void mpt_wait_backpressure(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_one, 1);
	struct mpt_waiter w = MPT_LOAN_WAITER(f);
	u64 t = 0;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 0), 0ULL);
	KUNIT_EXPECT_FALSE(test, mp_loan_ready(&f->pool));
	mpt_waiter_start(test, &w);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, &t), 1);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, t), 0);
	KUNIT_EXPECT_EQ(test, mpt_waiter_end(test, &w), 0);
	KUNIT_EXPECT_EQ(test, w.ref.slot, mpt_index(f, t));
}

/* A taken message is no victim; untaken again, a waiting loan gets it. */
static void mpt_wait_overwrite(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_one, 1);
	struct mpt_waiter w = MPT_LOAN_WAITER(f);
	u64 t = 0;

	f->pool.overwrite = true;
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->c), 1);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 0), 0ULL);
	KUNIT_ASSERT_EQ(test, mpt_take(f, &f->r, &t), 1);
	mpt_waiter_start(test, &w);
	/* Untaken again, by c: the waiter takes it over. */
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, t), 0);
	KUNIT_EXPECT_EQ(test, mpt_waiter_end(test, &w), 0);
	KUNIT_EXPECT_EQ(test, w.ref.slot, mpt_index(f, t));
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->c, NULL), -EAGAIN);
}

static struct kunit_case mpt_wait_cases[] = {
	KUNIT_CASE(mpt_wait_for_slot),
	KUNIT_CASE(mpt_wait_for_cached_slot),
	KUNIT_CASE(mpt_wait_for_writer),
	KUNIT_CASE(mpt_wait_for_readers),
	KUNIT_CASE(mpt_wait_ends_stale),
	KUNIT_CASE(mpt_wait_ends_poisoned),
	KUNIT_CASE(mpt_wait_backpressure),
	KUNIT_CASE(mpt_wait_overwrite),
	{}
};

MPT_SUITE(mpt_wait_suite, "msgpool_wait", mpt_wait_cases);

/* Publish/subscribe: the published-slot state machine, reader reclaim. */

static void mpt_subscribe_numbers_readers(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u32 reader;
	u64 seq;

	KUNIT_EXPECT_EQ(test, mpt_subscribe(f, &f->a), 0);
	KUNIT_EXPECT_EQ(test, mpt_subscribe(f, &f->a), -EALREADY);
	KUNIT_EXPECT_EQ(test, mpt_subscribe(f, &f->r), 1);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->b, 1, 0), 0ULL);
	KUNIT_ASSERT_EQ(test, mp_subscribe(&f->pool, &f->c, &reader, &seq),
			0);
	KUNIT_EXPECT_EQ(test, reader, 2U);
	KUNIT_EXPECT_EQ(test, seq, 1ULL);
	KUNIT_EXPECT_EQ(test, hweight64(f->pool.readers), 3U);
}

static void mpt_unsubscribe(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->a), 0);
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 1);
	KUNIT_EXPECT_EQ(test, mp_unsubscribe(&f->pool, &f->r), 0);
	KUNIT_EXPECT_EQ(test, mp_unsubscribe(&f->pool, &f->r), -ENOENT);
	KUNIT_EXPECT_EQ(test, f->pool.readers, 1ULL);
	/* Its reader index is free again. */
	KUNIT_EXPECT_EQ(test, mpt_subscribe(f, &f->c), 1);
}

static void mpt_subscribe_max_readers(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_peer *many;
	int i;

	many = kunit_kcalloc(test, MSGPOOL_MAX_READERS, sizeof(*many),
			     GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, many);
	for (i = 0; i < MSGPOOL_MAX_READERS; i++) {
		mp_peer_init(&many[i], MPT_ID_MORE + i, false);
		KUNIT_EXPECT_EQ(test, mpt_subscribe(f, &many[i]), i);
	}
	KUNIT_EXPECT_EQ(test, f->pool.readers, U64_MAX);
	KUNIT_EXPECT_EQ(test, mpt_subscribe(f, &f->r), -EUSERS);
	mp_peer_reclaim(&f->pool, &many[7]);
	KUNIT_EXPECT_EQ(test, mpt_subscribe(f, &f->r), 7);
	for (i = 0; i < MSGPOOL_MAX_READERS; i++)
		if (i != 7)
			mp_peer_reclaim(&f->pool, &many[i]);
}

static void mpt_publish_refused(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_msg_hdr hdr = mpt_hdr(8, 0);
	struct mp_ref ref;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 8, 0, &ref), 0);
	KUNIT_EXPECT_EQ(test, mp_publish(&f->pool, &f->b, ref.token, &hdr),
			-EPERM);
	KUNIT_EXPECT_EQ(test, mp_publish(&f->pool, &f->r, ref.token, &hdr),
			-EBADF);
	hdr.len = 65;
	KUNIT_EXPECT_EQ(test, mp_publish(&f->pool, &f->a, ref.token, &hdr),
			-EMSGSIZE);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, ref.token)->state,
			(u8)MP_SLOT_LOANED);
	KUNIT_EXPECT_FALSE(test, mp_take_ready(&f->pool, &f->r));
}

/* A published slot is its readers': nobody else may end it. */
static void mpt_published_slot(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_msg_hdr hdr = mpt_hdr(8, 5);
	struct mp_ref ref;
	struct mp_slot *s;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->c), 1);
	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 8, 0, &ref), 0);
	s = mpt_slot(f, ref.token);
	KUNIT_ASSERT_EQ(test, mp_publish(&f->pool, &f->a, ref.token, &hdr), 0);
	KUNIT_EXPECT_EQ(test, hdr.seq, 1ULL);
	KUNIT_EXPECT_EQ(test, s->state, (u8)MP_SLOT_PUBLISHED);
	KUNIT_EXPECT_EQ(test, s->pending, 3ULL);
	KUNIT_EXPECT_PTR_EQ(test, s->owner, NULL);
	KUNIT_EXPECT_EQ(test, s->writer, 0U);
	KUNIT_EXPECT_EQ(test, s->hdr.tag, 5ULL);
	KUNIT_EXPECT_TRUE(test, mp_take_ready(&f->pool, &f->r));
	KUNIT_EXPECT_EQ(test, f->pool.unread[0], 1U);
	KUNIT_EXPECT_EQ(test, mp_free(&f->pool, &f->a, ref.token), -EBUSY);
	KUNIT_EXPECT_EQ(test, mpt_borrow(f, &f->a, ref.token, 0), -EPERM);
	KUNIT_EXPECT_EQ(test, mp_discard(&f->pool, &f->a, ref.token), -EPERM);
	KUNIT_EXPECT_EQ(test, mpt_header(f, ref.token), 0);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, ref.token),
			-EPERM);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->a, ref.token),
			-ENOENT);
}

/* Each reader takes and marks; the last one frees the slot. */
static void mpt_take_and_mark_read(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_slot *s;
	u64 t = 0, u = 0;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->c), 1);
	u = mpt_publish(f, &f->a, 8, 0);
	KUNIT_ASSERT_NE(test, u, 0ULL);
	s = mpt_slot(f, u);
	KUNIT_ASSERT_EQ(test, mpt_take(f, &f->r, &t), 1);
	KUNIT_EXPECT_EQ(test, t, u);
	KUNIT_EXPECT_EQ(test, s->taken, 1ULL);
	KUNIT_EXPECT_FALSE(test, mp_take_ready(&f->pool, &f->r));
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), -EAGAIN);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->a, NULL), -ENOENT);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, t), 0);
	KUNIT_EXPECT_EQ(test, s->pending, 2ULL);
	KUNIT_EXPECT_EQ(test, s->taken, 0ULL);
	KUNIT_EXPECT_EQ(test, s->state, (u8)MP_SLOT_PUBLISHED);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, t), -EPERM);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 9ULL);
	KUNIT_ASSERT_EQ(test, mpt_take(f, &f->c, &t), 1);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->c, t), 0);
	KUNIT_EXPECT_EQ(test, s->state, (u8)MP_SLOT_FREE);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 10ULL);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->c, t), -ESTALE);
	KUNIT_EXPECT_EQ(test, f->pool.pub_head, MP_NIL);
	KUNIT_EXPECT_EQ(test, f->pool.pub_tail, MP_NIL);
}

static void mpt_publish_to_nobody(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = mpt_publish(f, &f->a, 8, 0);

	KUNIT_ASSERT_NE(test, t, 0ULL);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->state, (u8)MP_SLOT_FREE);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 10ULL);
	KUNIT_EXPECT_EQ(test, f->pool.pub_head, MP_NIL);
}

static void mpt_pubsub_order(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t[6] = { 0 }, u = 0;
	int i;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	for (i = 1; i <= 3; i++)
		KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8 * i, i), 0ULL);
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->c), 1);
	for (i = 4; i <= 5; i++)
		KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 100, i), 0ULL);
	for (i = 1; i <= 5; i++)
		KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, &t[i]), i);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->c, &u), 4);
	/* Marks in any order; a slot goes with its last reader. */
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, t[2]), 0);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 6ULL);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, t[4]), 0);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 6ULL);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->c, u), 0);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 7ULL);
	/* Left on the publish list: 1, 3 and 5, in that order. */
	KUNIT_EXPECT_TRUE(test, &f->pool.slots[f->pool.pub_head] ==
			  mpt_slot(f, t[1]));
	KUNIT_EXPECT_TRUE(test, &f->pool.slots[mpt_slot(f, t[1])->pub_next] ==
			  mpt_slot(f, t[3]));
	KUNIT_EXPECT_TRUE(test, &f->pool.slots[f->pool.pub_tail] ==
			  mpt_slot(f, t[5]));
}

/* Publishers' messages outlive them; readers' go with the readers. */
static void mpt_pubsub_reader_reclaim(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = 0;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->c), 1);
	mpt_publish_tags(test, f, 1, 4);
	KUNIT_ASSERT_EQ(test, mpt_take(f, &f->r, &t), 1);
	KUNIT_ASSERT_EQ(test, mpt_take(f, &f->c, NULL), 1);
	KUNIT_ASSERT_EQ(test, mpt_take(f, &f->c, NULL), 2);
	mpt_crash(f, &f->a);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 6ULL);
	mpt_crash(f, &f->c);
	KUNIT_EXPECT_EQ(test, f->pool.readers, 1ULL);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 6ULL);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->pending, 1ULL);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->taken, 1ULL);
	KUNIT_EXPECT_EQ(test, mp_unsubscribe(&f->pool, &f->r), 0);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 10ULL);
	KUNIT_EXPECT_EQ(test, f->pool.unread[0], 0U);
	KUNIT_EXPECT_EQ(test, f->pool.pub_head, MP_NIL);
	KUNIT_EXPECT_EQ(test, mpt_subscribe(f, &f->r), 0);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, t), -ESTALE);
}

static const struct msgpool_class mpt_three[] = {
	{ .slot_size = 64, .nr_slots = 3 },
};

/*
 * Overwrite-oldest, a pool of three slots, reader r and five messages it
 * has not taken: 1 and 2 went.
 */
static struct mpt *mpt_fall_behind(struct kunit *test,
				   const struct msgpool_class *cls, u32 nr)
{
	struct mpt *f = mpt_setup(test, cls, nr);

	f->pool.overwrite = true;
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	mpt_publish_tags(test, f, 1, 5);
	return f;
}

/* Overwrite-oldest: a full pool drops its oldest untaken message. */
static void mpt_overwrite_oldest(struct kunit *test)
{
	struct mpt *f = mpt_fall_behind(test, mpt_three, 1);
	struct mp_ref ref;
	u64 t = 0;

	KUNIT_EXPECT_EQ(test, f->pool.unread[0], 3U);
	KUNIT_ASSERT_EQ(test, mpt_take(f, &f->r, &t), 3);
	/* 3 is taken: 4 goes. */
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 6), 0ULL);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), 5);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), 6);
	/* All taken: nothing to drop. */
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->a, 8, 0, &ref), -ENOBUFS);
	KUNIT_EXPECT_FALSE(test, mp_loan_ready(&f->pool));
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, t), 0);
	KUNIT_EXPECT_TRUE(test, mp_loan_ready(&f->pool));
}

/* The victim is the oldest untaken message whose slot fits the loan. */
static void mpt_overwrite_victim_fits(struct kunit *test)
{
	static const struct msgpool_class two[] = {
		{ .slot_size = 64, .nr_slots = 2 },
		{ .slot_size = 256, .nr_slots = 1 },
	};
	struct mpt *f = mpt_fall_behind(test, two, 2);
	struct mp_ref ref;
	u64 t = 0;

	KUNIT_EXPECT_EQ(test, f->pool.unread[0], 3U);
	KUNIT_ASSERT_EQ(test, mpt_take(f, &f->r, &t), 3);
	/* Too big for the small slots: only the big one may go. */
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->a, 100, 0, &ref),
			-ENOBUFS);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 6), 0ULL);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), 5);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), 6);
	KUNIT_EXPECT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), -ENOBUFS);
	KUNIT_EXPECT_FALSE(test, mp_loan_ready(&f->pool));
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, t), 0);
	KUNIT_EXPECT_TRUE(test, mp_loan_ready(&f->pool));
}

/* A reader that fell behind learns at its next take what it lost. */
static void mpt_take_reports_lost(struct kunit *test)
{
	struct mpt *f = mpt_fall_behind(test, mpt_three, 1);
	u64 t = 0;

	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, &t), 3);
	KUNIT_EXPECT_EQ(test, f->lost, 2U);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, t), 0);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, &t), 4);
	KUNIT_EXPECT_EQ(test, f->lost, 0U);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, t), 0);
	/* 6 and 7 fill the slots of 3 and 4; 8 drops 5. */
	mpt_publish_tags(test, f, 6, 8);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), 6);
	KUNIT_EXPECT_EQ(test, f->lost, 1U);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), 7);
	KUNIT_EXPECT_EQ(test, f->lost, 0U);
}

/* A reader that keeps up loses nothing to one that does not. */
static void mpt_lost_per_reader(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_three, 1);
	u64 t = 0;
	int i;

	f->pool.overwrite = true;
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->c), 1);
	for (i = 1; i <= 5; i++) {
		KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, i), 0ULL);
		KUNIT_ASSERT_EQ(test, mpt_take(f, &f->c, &t), i);
		KUNIT_EXPECT_EQ(test, f->lost, 0U);
		KUNIT_ASSERT_EQ(test, mp_mark_read(&f->pool, &f->c, t), 0);
	}
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), 3);
	KUNIT_EXPECT_EQ(test, f->lost, 2U);
}

/* A new subscription starts with nothing lost. */
static void mpt_lost_reset_by_subscribe(struct kunit *test)
{
	struct mpt *f = mpt_fall_behind(test, mpt_three, 1);

	KUNIT_ASSERT_EQ(test, mp_unsubscribe(&f->pool, &f->r), 0);
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 6), 0ULL);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), 6);
	KUNIT_EXPECT_EQ(test, f->lost, 0U);
}

/* The count of lost messages stops at U32_MAX rather than wrap. */
static void mpt_lost_saturates(struct kunit *test)
{
	struct mpt *f = mpt_fall_behind(test, mpt_three, 1);

	f->pool.lost[0] = U32_MAX - 1;
	mpt_publish_tags(test, f, 6, 7);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), 5);
	KUNIT_EXPECT_EQ(test, f->lost, U32_MAX);
}

/* Past its limit, a reader loses its oldest untaken messages. */
static void mpt_reader_limit_drops_oldest(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_census c;

	f->pool.reader_limit = 2;
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	mpt_publish_tags(test, f, 1, 5);
	KUNIT_EXPECT_EQ(test, f->pool.unread[0], 2U);
	KUNIT_EXPECT_EQ(test, f->pool.lost[0], 3U);
	/* Their slots are free again: no writer waits for a slow reader. */
	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.published, 2ULL);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 8ULL);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), 4);
	KUNIT_EXPECT_EQ(test, f->lost, 3U);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), 5);
	KUNIT_EXPECT_EQ(test, f->lost, 0U);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), -EAGAIN);
}

/* The limit is each reader's: a drop leaves the message to the others. */
static void mpt_reader_limit_per_reader(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t = 0;

	f->pool.reader_limit = 2;
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->c), 1);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 1), 0ULL);
	KUNIT_ASSERT_EQ(test, mpt_take(f, &f->c, &t), 1);
	mpt_publish_tags(test, f, 2, 3);
	/* r dropped 1, which c still holds. */
	KUNIT_EXPECT_EQ(test, f->pool.lost[0], 1U);
	KUNIT_EXPECT_EQ(test, f->pool.lost[1], 0U);
	KUNIT_EXPECT_EQ(test, f->pool.unread[0], 2U);
	KUNIT_EXPECT_EQ(test, f->pool.unread[1], 2U);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->state, (u8)MP_SLOT_PUBLISHED);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, t)->pending, 2ULL);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 7ULL);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->c, t), 0);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 8ULL);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), 2);
	KUNIT_EXPECT_EQ(test, f->lost, 1U);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->c, NULL), 2);
	KUNIT_EXPECT_EQ(test, f->lost, 0U);
}

/* Taken messages count too: at the limit, a take waits for a mark read. */
static void mpt_reader_limit_takes(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	u64 t1 = 0, t2 = 0;

	f->pool.reader_limit = 2;
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	mpt_publish_tags(test, f, 1, 2);
	KUNIT_ASSERT_EQ(test, mpt_take(f, &f->r, &t1), 1);
	KUNIT_ASSERT_EQ(test, mpt_take(f, &f->r, &t2), 2);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 3), 0ULL);
	KUNIT_EXPECT_EQ(test, f->pool.held[0], 2U);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), -EBUSY);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), -EBUSY);
	KUNIT_EXPECT_EQ(test, f->pool.unread[0], 1U);
	KUNIT_EXPECT_EQ(test, f->pool.held[0], 2U);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, t1), 0);
	KUNIT_EXPECT_EQ(test, f->pool.held[0], 1U);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), 3);
	KUNIT_EXPECT_EQ(test, f->lost, 0U);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), -EAGAIN);
}

/* Without a limit (0) a reader keeps all it has not taken. */
static void mpt_reader_limit_none(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	int i;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	mpt_publish_tags(test, f, 1, 10);
	KUNIT_EXPECT_EQ(test, f->pool.unread[0], 10U);
	KUNIT_EXPECT_EQ(test, f->pool.lost[0], 0U);
	for (i = 1; i <= 10; i++)
		KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), i);
	KUNIT_EXPECT_EQ(test, f->pool.held[0], 10U);
}

#define MPT_MESSAGES	2000

/* A reader that takes every message in order, each as soon as it can. */
struct mpt_reader {
	struct mp_pool *pool;
	struct mp_peer *peer;
	u32 got;		/* messages taken in order */
	struct completion done;
};

static bool mpt_reader_woken(struct mpt_reader *r)
{
	return mp_take_ready(r->pool, r->peer) ||
	       READ_ONCE(r->peer->reader) < 0;
}

static int mpt_reader_fn(void *data)
{
	struct mpt_reader *r = data;
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	u32 lost;

	while (r->got < MPT_MESSAGES) {
		if (wait_event_interruptible(r->pool->wq, mpt_reader_woken(r)) ||
		    mp_take(r->pool, r->peer, &ref, &hdr, &lost) ||
		    hdr.seq != r->got + 1 || hdr.tag != hdr.seq || lost ||
		    mp_mark_read(r->pool, r->peer, ref.token))
			break;
		r->got++;
	}
	/* A reader that gives up must not hold the publisher up. */
	if (r->got < MPT_MESSAGES)
		mp_unsubscribe(r->pool, r->peer);
	kthread_complete_and_exit(&r->done, 0);
}

/* Two readers keep pace with a publisher waiting for slots. */
static void mpt_pubsub_threads(struct kunit *test)
{
	static const struct msgpool_class four[] = {
		{ .slot_size = 64, .nr_slots = 4 },
	};
	struct mpt *f = mpt_setup(test, four, 1);
	struct mpt_reader r[2] = {
		{ .pool = &f->pool, .peer = &f->r },
		{ .pool = &f->pool, .peer = &f->c },
	};
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	int i, started;
	u64 seq;

	for (i = 0; i < 2; i++)
		KUNIT_ASSERT_EQ(test, mpt_subscribe(f, r[i].peer), i);
	for (started = 0; started < 2; started++)
		if (!mpt_kthread_run(mpt_reader_fn, &r[started],
				     &r[started].done))
			break;
	KUNIT_EXPECT_EQ(test, started, 2);
	for (seq = 1; seq <= MPT_MESSAGES && started == 2; seq++) {
		hdr = mpt_hdr(8, seq);
		if (mp_loan(&f->pool, &f->a, 8, MSGPOOL_F_WAIT, &ref) ||
		    mp_publish(&f->pool, &f->a, ref.token, &hdr))
			break;
	}
	KUNIT_EXPECT_EQ(test, seq, MPT_MESSAGES + 1ULL);
	/* Readers still waiting for more give up. */
	for (i = 0; seq <= MPT_MESSAGES && i < 2; i++)
		mp_unsubscribe(&f->pool, r[i].peer);
	for (i = 0; i < started; i++) {
		wait_for_completion(&r[i].done);
		KUNIT_EXPECT_EQ(test, r[i].got, MPT_MESSAGES);
	}
	KUNIT_EXPECT_EQ(test, mpt_available(f), 4ULL);
}

/* The census counts a published slot until its last reader marks it. */
static void mpt_census_published(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_census c;
	u64 t = 0;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 0), 0ULL);
	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.published, 1ULL);
	KUNIT_EXPECT_EQ(test, c.free, 9ULL);
	KUNIT_ASSERT_EQ(test, mpt_take(f, &f->r, &t), 1);
	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.published, 1ULL);
	KUNIT_EXPECT_EQ(test, c.borrowed + c.ready, 0ULL);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->r, t), 0);
	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.published, 0ULL);
	KUNIT_EXPECT_EQ(test, c.free, 10ULL);
}

static struct kunit_case mpt_pubsub_cases[] = {
	KUNIT_CASE(mpt_subscribe_numbers_readers),
	KUNIT_CASE(mpt_unsubscribe),
	KUNIT_CASE(mpt_subscribe_max_readers),
	KUNIT_CASE(mpt_publish_refused),
	KUNIT_CASE(mpt_published_slot),
	KUNIT_CASE(mpt_take_and_mark_read),
	KUNIT_CASE(mpt_publish_to_nobody),
	KUNIT_CASE(mpt_pubsub_order),
	KUNIT_CASE(mpt_pubsub_reader_reclaim),
	KUNIT_CASE(mpt_overwrite_oldest),
	KUNIT_CASE(mpt_overwrite_victim_fits),
	KUNIT_CASE(mpt_take_reports_lost),
	KUNIT_CASE(mpt_lost_per_reader),
	KUNIT_CASE(mpt_lost_reset_by_subscribe),
	KUNIT_CASE(mpt_lost_saturates),
	KUNIT_CASE(mpt_reader_limit_drops_oldest),
	KUNIT_CASE(mpt_reader_limit_per_reader),
	KUNIT_CASE(mpt_reader_limit_takes),
	KUNIT_CASE(mpt_reader_limit_none),
	KUNIT_CASE_SLOW(mpt_pubsub_threads),
	KUNIT_CASE(mpt_census_published),
	{}
};

MPT_SUITE(mpt_pubsub_suite, "msgpool_pubsub", mpt_pubsub_cases);

/* Reader rings: the kernel's rx ring and the reader's completion ring. */

struct mpt_ring {
	struct mp_ring ring;
	u32 next;	/* the next rx entry the test reads */
	u32 filled;	/* entries the core had filled */
};

static void mpt_ring_fill(struct mp_ring *ring, struct msgpool_ring_msg *msg,
			  const struct mp_ref *ref,
			  const struct mp_msg_hdr *hdr, u32 lost)
{
	container_of(ring, struct mpt_ring, ring)->filled++;
	msg->token = ref->token;
	msg->offset = ref->offset;
	msg->len = hdr->len;
	msg->tag = hdr->tag;
	msg->seq = hdr->seq;
	msg->lost = lost;
}

/* r's rings of @entries, with mp_ring_attach()'s error in *@err. */
static struct mpt_ring *mpt_ring_try(struct kunit *test, struct mpt *f,
				     u32 entries, int *err)
{
	struct mpt_ring *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t);
	t->ring.entries = entries;
	t->ring.fill = mpt_ring_fill;
	t->ring.rx = kunit_kzalloc(test, sizeof(*t->ring.rx), GFP_KERNEL);
	t->ring.msgs = kunit_kcalloc(test, entries, sizeof(*t->ring.msgs),
				     GFP_KERNEL);
	t->ring.comp = kunit_kzalloc(test, sizeof(*t->ring.comp), GFP_KERNEL);
	t->ring.tokens = kunit_kcalloc(test, entries, sizeof(u64), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t->ring.rx);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t->ring.msgs);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t->ring.comp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t->ring.tokens);
	*err = mp_ring_attach(&f->pool, &f->r, &t->ring);
	return t;
}

/* r's rings of @entries, attached. */
static struct mpt_ring *mpt_ring(struct kunit *test, struct mpt *f,
				 u32 entries)
{
	int err;
	struct mpt_ring *t = mpt_ring_try(test, f, entries, &err);

	KUNIT_ASSERT_EQ(test, err, 0);
	return t;
}

/* The reader reads its next rx entry: its tag, or -1 if there is none. */
static s64 mpt_ring_read(struct mpt_ring *t, u64 *token)
{
	struct msgpool_ring_msg *msg;
	u32 prod;

	/* The entry after the index that shows it, as a reader reads. */
	prod = smp_load_acquire(&t->ring.rx->producer);
	if (prod == t->next)
		return -1;
	msg = &t->ring.msgs[t->next & (t->ring.entries - 1)];
	if (token)
		*token = msg->token;
	t->next++;
	/* Read before the kernel may write over it. */
	smp_store_release(&t->ring.comp->rx_consumer, t->next);
	return msg->tag;
}

/* The reader writes @token into its completion ring. */
static void mpt_ring_complete(struct mpt_ring *t, u64 token)
{
	struct msgpool_ring_comp *comp = t->ring.comp;

	t->ring.tokens[comp->producer & (t->ring.entries - 1)] = token;
	/* The token before the index that shows it. */
	smp_store_release(&comp->producer, comp->producer + 1);
}

static void mpt_ring_attach_refused(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	int err;

	mpt_ring_try(test, f, 4, &err);
	KUNIT_EXPECT_EQ(test, err, -ENOENT);
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	mpt_ring(test, f, 4);
	mpt_ring_try(test, f, 4, &err);
	KUNIT_EXPECT_EQ(test, err, -EALREADY);
	KUNIT_EXPECT_EQ(test, mp_ring_sync(&f->pool, &f->c), -ENOENT);
	KUNIT_EXPECT_EQ(test, mp_ring_sync(&f->pool, &f->r), 0);
}

/* A publish takes the message into the ring; so does the attach. */
static void mpt_ring_publish_fills(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mpt_ring *t;
	u64 token = 0, u;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	u = mpt_publish(f, &f->a, 8, 1);
	KUNIT_ASSERT_NE(test, u, 0ULL);
	t = mpt_ring(test, f, 4);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 2), 0ULL);
	KUNIT_EXPECT_EQ(test, t->ring.rx->producer, 2U);
	KUNIT_EXPECT_EQ(test, t->filled, 2U);
	KUNIT_EXPECT_EQ(test, f->pool.unread[0], 0U);
	KUNIT_EXPECT_EQ(test, f->pool.held[0], 2U);
	KUNIT_EXPECT_EQ(test, mpt_ring_read(t, &token), 1);
	KUNIT_EXPECT_EQ(test, token, u);
	KUNIT_EXPECT_EQ(test, mpt_ring_read(t, NULL), 2);
	KUNIT_EXPECT_EQ(test, mpt_ring_read(t, NULL), -1);
	/* Taken, so a take finds nothing. */
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), -EAGAIN);
	KUNIT_EXPECT_FALSE(test, mp_take_ready(&f->pool, &f->r));
}

/* Completions free the slots at the next publish, sync or poll. */
static void mpt_ring_completion_frees(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mpt_ring *t;
	u64 token[3];
	int i;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	t = mpt_ring(test, f, 4);
	for (i = 0; i < 3; i++) {
		KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, i), 0ULL);
		KUNIT_ASSERT_EQ(test, mpt_ring_read(t, &token[i]), i);
	}
	KUNIT_EXPECT_EQ(test, mpt_available(f), 7ULL);
	mpt_ring_complete(t, token[1]);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 7ULL);
	KUNIT_EXPECT_EQ(test, mp_ring_sync(&f->pool, &f->r), 0);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 8ULL);
	KUNIT_EXPECT_EQ(test, t->ring.rx->comp_consumer, 1U);
	mpt_ring_complete(t, token[0]);
	KUNIT_EXPECT_FALSE(test, mp_ring_poll(&f->pool, &f->a, false));
	KUNIT_EXPECT_EQ(test, mpt_available(f), 9ULL);
	mpt_ring_complete(t, token[2]);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 3), 0ULL);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 9ULL);
	KUNIT_EXPECT_EQ(test, t->ring.rx->errors, 0U);
	KUNIT_EXPECT_EQ(test, f->pool.held[0], 1U);
}

/* The kernel never writes over an entry the reader has not read. */
static void mpt_ring_no_overrun(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mpt_ring *t;
	int i;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	t = mpt_ring(test, f, 2);
	mpt_publish_tags(test, f, 0, 4);
	KUNIT_EXPECT_EQ(test, t->ring.rx->producer, 2U);
	KUNIT_EXPECT_EQ(test, f->pool.unread[0], 3U);
	KUNIT_EXPECT_TRUE(test, mp_ring_poll(&f->pool, &f->r, false));
	KUNIT_EXPECT_EQ(test, mpt_ring_read(t, NULL), 0);
	KUNIT_EXPECT_TRUE(test, mp_ring_poll(&f->pool, &f->r, false));
	KUNIT_EXPECT_EQ(test, t->ring.rx->producer, 3U);
	for (i = 1; i <= 4; i++) {
		KUNIT_EXPECT_EQ(test, mpt_ring_read(t, NULL), i);
		KUNIT_EXPECT_EQ(test, mp_ring_sync(&f->pool, &f->r), 0);
	}
	KUNIT_EXPECT_EQ(test, mpt_ring_read(t, NULL), -1);
	KUNIT_EXPECT_FALSE(test, mp_ring_poll(&f->pool, &f->r, false));
}

/* What a reader writes is checked; a lie is counted and costs only it. */
static void mpt_ring_lies(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mpt_ring *t;
	u64 mine = 0, theirs = 0;

	/* Reader 0 alone gets the first message, reader 1 the second too. */
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->c), 0);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 1), 0ULL);
	KUNIT_ASSERT_EQ(test, mpt_take(f, &f->c, &theirs), 1);
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 1);
	t = mpt_ring(test, f, 4);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 2), 0ULL);
	KUNIT_ASSERT_EQ(test, mpt_ring_read(t, &mine), 2);
	/* Made up: checked and refused; zero: past what it holds, skipped. */
	mpt_ring_complete(t, 0x1234567890abcdefULL);
	mpt_ring_complete(t, 0);
	KUNIT_ASSERT_EQ(test, mp_ring_sync(&f->pool, &f->r), 0);
	KUNIT_EXPECT_EQ(test, t->ring.rx->errors, 2U);
	KUNIT_EXPECT_EQ(test, f->pool.held[1], 1U);
	/* Another reader's message: refused, and still that reader's. */
	mpt_ring_complete(t, theirs);
	KUNIT_ASSERT_EQ(test, mp_ring_sync(&f->pool, &f->r), 0);
	KUNIT_EXPECT_EQ(test, t->ring.rx->errors, 3U);
	KUNIT_EXPECT_EQ(test, f->pool.held[0], 1U);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, theirs)->pending, 1ULL);
	/* The same one twice: the second is refused. */
	mpt_ring_complete(t, mine);
	KUNIT_ASSERT_EQ(test, mp_ring_sync(&f->pool, &f->r), 0);
	mpt_ring_complete(t, mine);
	KUNIT_ASSERT_EQ(test, mp_ring_sync(&f->pool, &f->r), 0);
	KUNIT_EXPECT_EQ(test, t->ring.rx->errors, 4U);
	KUNIT_EXPECT_EQ(test, f->pool.held[1], 0U);
	KUNIT_EXPECT_EQ(test, mpt_slot(f, mine)->pending, 1ULL);
	/* A producer a ring ahead: nothing looked at, one lie. */
	t->ring.comp->producer += 100;
	KUNIT_ASSERT_EQ(test, mp_ring_sync(&f->pool, &f->r), 0);
	KUNIT_EXPECT_EQ(test, t->ring.rx->errors, 5U);
	KUNIT_EXPECT_EQ(test, t->ring.rx->comp_consumer,
			t->ring.comp->producer);
	/* Read past what was written: ignored, counted once. */
	t->ring.comp->rx_consumer = t->next + 3;
	KUNIT_ASSERT_EQ(test, mp_ring_sync(&f->pool, &f->r), 0);
	KUNIT_ASSERT_EQ(test, mp_ring_sync(&f->pool, &f->r), 0);
	KUNIT_EXPECT_EQ(test, t->ring.rx->errors, 6U);
	/* Reader 0's takes were never in question. */
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->c, theirs), 0);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->c, NULL), 2);
	KUNIT_EXPECT_EQ(test, mp_mark_read(&f->pool, &f->c, mine), 0);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 10ULL);
}

/* More completions than messages held: only as many are looked at. */
static void mpt_ring_budget(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mpt_ring *t;
	u64 token = 0;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	t = mpt_ring(test, f, 4);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 1), 0ULL);
	KUNIT_ASSERT_EQ(test, mpt_ring_read(t, &token), 1);
	mpt_ring_complete(t, 1);
	mpt_ring_complete(t, token);
	mpt_ring_complete(t, 2);
	KUNIT_ASSERT_EQ(test, mp_ring_sync(&f->pool, &f->r), 0);
	/* One held: the first is checked and refused, two skipped. */
	KUNIT_EXPECT_EQ(test, t->ring.rx->errors, 3U);
	KUNIT_EXPECT_EQ(test, f->pool.held[0], 1U);
	KUNIT_EXPECT_EQ(test, t->ring.rx->comp_consumer, 3U);
}

/* A poll for a slot raises NEED_WAKEUP until a drain frees one. */
static void mpt_ring_need_wakeup(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mpt_ring *t;
	u64 token = 0;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	t = mpt_ring(test, f, 16);
	mpt_publish_tags(test, f, 0, 9);
	KUNIT_ASSERT_EQ(test, mpt_available(f), 0ULL);
	KUNIT_EXPECT_EQ(test, t->ring.rx->flags, 0U);
	KUNIT_EXPECT_TRUE(test, mp_ring_poll(&f->pool, &f->a, true) ||
			  !mp_loan_ready(&f->pool));
	KUNIT_EXPECT_EQ(test, READ_ONCE(t->ring.rx->flags),
			MSGPOOL_RING_NEED_WAKEUP);
	KUNIT_ASSERT_EQ(test, mpt_ring_read(t, &token), 0);
	mpt_ring_complete(t, token);
	KUNIT_EXPECT_EQ(test, mp_ring_sync(&f->pool, &f->r), 0);
	KUNIT_EXPECT_EQ(test, t->ring.rx->flags, 0U);
	KUNIT_EXPECT_TRUE(test, mp_loan_ready(&f->pool));
}

/* Unsubscribed, the ring is left alone and its messages go back. */
static void mpt_ring_unsubscribe(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mpt_ring *t;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	t = mpt_ring(test, f, 4);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 1), 0ULL);
	KUNIT_ASSERT_EQ(test, mp_unsubscribe(&f->pool, &f->r), 0);
	KUNIT_EXPECT_EQ(test, f->pool.ring_mask, 0ULL);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 10ULL);
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 2), 0ULL);
	KUNIT_EXPECT_EQ(test, t->ring.rx->producer, 1U);
	KUNIT_EXPECT_EQ(test, mp_ring_sync(&f->pool, &f->r), -ENOENT);
	KUNIT_EXPECT_EQ(test, mpt_take(f, &f->r, NULL), 2);
}

/* A reader that dies with messages in both rings gives them all back. */
static void mpt_ring_reclaim(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mpt_ring *t;
	u64 token = 0;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	t = mpt_ring(test, f, 4);
	mpt_publish_tags(test, f, 0, 5);
	KUNIT_ASSERT_EQ(test, mpt_ring_read(t, &token), 0);
	mpt_ring_complete(t, token);
	mpt_crash(f, &f->r);
	KUNIT_EXPECT_EQ(test, mpt_available(f), 10ULL);
	KUNIT_EXPECT_EQ(test, f->pool.ring_mask, 0ULL);
}

/* The reader's limit bounds what the ring holds unmarked. */
static void mpt_ring_reader_limit(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mpt_ring *t;
	u64 token = 0;

	f->pool.reader_limit = 2;
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	t = mpt_ring(test, f, 8);
	mpt_publish_tags(test, f, 0, 3);
	KUNIT_EXPECT_EQ(test, t->ring.rx->producer, 2U);
	KUNIT_EXPECT_EQ(test, f->pool.held[0], 2U);
	KUNIT_ASSERT_EQ(test, mpt_ring_read(t, &token), 0);
	mpt_ring_complete(t, token);
	KUNIT_EXPECT_EQ(test, mp_ring_sync(&f->pool, &f->r), 0);
	KUNIT_EXPECT_EQ(test, t->ring.rx->producer, 3U);
	KUNIT_EXPECT_EQ(test, mpt_ring_read(t, NULL), 1);
	KUNIT_EXPECT_EQ(test, mpt_ring_read(t, NULL), 2);
}

/* A loan asleep for a slot raises NEED_WAKEUP; the reader's sync ends it. */
static void mpt_ring_wakes_loan(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_one, 1);
	struct mpt_waiter w = MPT_LOAN_WAITER(f);
	struct mpt_ring *t;
	u64 token = 0;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	t = mpt_ring(test, f, 2);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 0), 0ULL);
	mpt_waiter_start(test, &w);
	KUNIT_EXPECT_EQ(test, READ_ONCE(t->ring.rx->flags),
			MSGPOOL_RING_NEED_WAKEUP);
	KUNIT_ASSERT_EQ(test, mpt_ring_read(t, &token), 0);
	mpt_ring_complete(t, token);
	KUNIT_EXPECT_EQ(test, mp_ring_sync(&f->pool, &f->r), 0);
	KUNIT_EXPECT_EQ(test, mpt_waiter_end(test, &w), 0);
	KUNIT_EXPECT_EQ(test, w.ref.slot, mpt_index(f, token));
	KUNIT_EXPECT_EQ(test, READ_ONCE(t->ring.rx->flags), 0U);
}

/* A ring attached while a loan sleeps is asked to call in too. */
static void mpt_ring_attach_asks(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_one, 1);
	struct mpt_waiter w = MPT_LOAN_WAITER(f);
	struct mpt_ring *t;
	u64 token = 0;
	int i;

	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 8, 0), 0ULL);
	mpt_waiter_start(test, &w);
	t = mpt_ring(test, f, 2);
	/* The waiter wakes, asks, and sleeps again: at most 10 s. */
	for (i = 0; i < 10000 && !READ_ONCE(t->ring.rx->flags); i++)
		usleep_range(500, 1000);
	KUNIT_EXPECT_EQ(test, READ_ONCE(t->ring.rx->flags),
			MSGPOOL_RING_NEED_WAKEUP);
	KUNIT_ASSERT_EQ(test, mpt_ring_read(t, &token), 0);
	mpt_ring_complete(t, token);
	KUNIT_EXPECT_EQ(test, mp_ring_sync(&f->pool, &f->r), 0);
	KUNIT_EXPECT_EQ(test, mpt_waiter_end(test, &w), 0);
}

static struct kunit_case mpt_ring_cases[] = {
	KUNIT_CASE(mpt_ring_attach_refused),
	KUNIT_CASE(mpt_ring_publish_fills),
	KUNIT_CASE(mpt_ring_completion_frees),
	KUNIT_CASE(mpt_ring_no_overrun),
	KUNIT_CASE(mpt_ring_lies),
	KUNIT_CASE(mpt_ring_budget),
	KUNIT_CASE(mpt_ring_need_wakeup),
	KUNIT_CASE(mpt_ring_unsubscribe),
	KUNIT_CASE(mpt_ring_reclaim),
	KUNIT_CASE(mpt_ring_reader_limit),
	KUNIT_CASE(mpt_ring_wakes_loan),
	KUNIT_CASE(mpt_ring_attach_asks),
	{}
};

MPT_SUITE(mpt_ring_suite, "msgpool_ring", mpt_ring_cases);

/* The census, against the slots. */

/* Counts @pool's slots by state, each under its sem, as the census does. */
static void mpt_census_walk(struct mp_pool *pool, struct mp_census *c)
{
	struct mp_slot *slot;
	u32 i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < pool->capacity; i++) {
		slot = &pool->slots[i];
		down_read(&slot->sem);
		switch (slot->state) {
		case MP_SLOT_FREE:
			c->free++;
			break;
		case MP_SLOT_LOANED:
			c->loaned++;
			break;
		case MP_SLOT_READY:
			if (slot->writer || atomic_read(&slot->readers))
				c->borrowed++;
			else
				c->ready++;
			break;
		case MP_SLOT_POISONED:
			c->poisoned++;
			break;
		case MP_SLOT_PUBLISHED:
			c->published++;
			break;
		case MP_SLOT_RETIRED:
			c->retired++;
			break;
		}
		up_read(&slot->sem);
	}
}

/*
 * The peer's census against what the slots say it owns, fills and
 * write-borrows; returns its read borrows.
 */
static u64 mpt_peer_expect(struct kunit *test, struct mp_pool *pool,
			   struct mp_peer *peer, const char *step)
{
	struct mp_peer_census kept, walked = { 0 };
	struct mp_slot *slot;
	u32 i;

	mp_peer_census(peer, &kept);
	for (i = 0; i < pool->capacity; i++) {
		slot = &pool->slots[i];
		down_read(&slot->sem);
		walked.owned += slot->owner == peer;
		if (slot->writer == peer->id && slot->state == MP_SLOT_LOANED)
			walked.loans++;
		else if (slot->writer == peer->id)
			walked.writes++;
		up_read(&slot->sem);
	}
	KUNIT_EXPECT_EQ_MSG(test, kept.owned, walked.owned, "%s: peer %u",
			    step, peer->id);
	KUNIT_EXPECT_EQ_MSG(test, kept.loans, walked.loans, "%s: peer %u",
			    step, peer->id);
	KUNIT_EXPECT_EQ_MSG(test, kept.writes, walked.writes, "%s: peer %u",
			    step, peer->id);
	return kept.reads;
}

/*
 * After @step, with nothing running: the census is the slots' count, it
 * sums to capacity, and the peers' census is what the slots say, their
 * read borrows (@reads of them by peers other than a, b, c and r) adding
 * up to the slots' readers.
 */
static void mpt_census_expect_reads(struct kunit *test, struct mpt *f,
				    const char *step, u64 reads)
{
	struct mp_census kept, walked;
	u64 readers = 0;
	u32 i;

	mp_pool_census(&f->pool, &kept);
	mpt_census_walk(&f->pool, &walked);
	KUNIT_EXPECT_EQ_MSG(test, kept.free, walked.free, "%s", step);
	KUNIT_EXPECT_EQ_MSG(test, kept.loaned, walked.loaned, "%s", step);
	KUNIT_EXPECT_EQ_MSG(test, kept.ready, walked.ready, "%s", step);
	KUNIT_EXPECT_EQ_MSG(test, kept.borrowed, walked.borrowed, "%s", step);
	KUNIT_EXPECT_EQ_MSG(test, kept.poisoned, walked.poisoned, "%s", step);
	KUNIT_EXPECT_EQ_MSG(test, kept.published, walked.published, "%s",
			    step);
	KUNIT_EXPECT_EQ_MSG(test, kept.retired, walked.retired, "%s", step);
	KUNIT_EXPECT_EQ_MSG(test, walked.free + walked.loaned + walked.ready +
			    walked.borrowed + walked.poisoned +
			    walked.published + walked.retired,
			    (u64)f->pool.capacity, "%s", step);
	reads += mpt_peer_expect(test, &f->pool, &f->a, step);
	reads += mpt_peer_expect(test, &f->pool, &f->b, step);
	reads += mpt_peer_expect(test, &f->pool, &f->c, step);
	reads += mpt_peer_expect(test, &f->pool, &f->r, step);
	for (i = 0; i < f->pool.capacity; i++)
		readers += atomic_read(&f->pool.slots[i].readers);
	KUNIT_EXPECT_EQ_MSG(test, reads, readers, "%s", step);
}

static void mpt_census_expect(struct kunit *test, struct mpt *f,
			      const char *step)
{
	mpt_census_expect_reads(test, f, step, 0);
}

/* Every kind of change keeps the census, step by step. */
static void mpt_census_follows_ops(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_msg_hdr hdr = mpt_hdr(1, 0);
	u64 t1, t2, t3 = 0, t4, t5;
	struct mp_census c;
	struct mp_ref ref;

	mpt_census_expect(test, f, "new pool");
	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	mpt_census_expect(test, f, "loan");
	KUNIT_ASSERT_EQ(test, mp_discard(&f->pool, &f->a, ref.token), 0);
	mpt_census_expect(test, f, "discard");
	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	t1 = ref.token;
	KUNIT_ASSERT_EQ(test, mp_commit(&f->pool, &f->a, t1, &hdr), 0);
	mpt_census_expect(test, f, "commit");
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t1, 0), 0);
	mpt_census_expect(test, f, "first read borrow");
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t1, 0), 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->r, t1, 0), 0);
	mpt_census_expect(test, f, "more read borrows");
	t2 = mpt_store(f, &f->a, 1, 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->c, t2, MSGPOOL_F_WRITE), 0);
	mpt_census_expect(test, f, "write borrow");
	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.borrowed, 2ULL);
	KUNIT_ASSERT_EQ(test, mp_release(&f->pool, &f->b, t1, 0, 0), 0);
	mpt_census_expect(test, f, "a read release");
	KUNIT_ASSERT_EQ(test, mp_release(&f->pool, &f->b, t1, 0, 0), 0);
	KUNIT_ASSERT_EQ(test, mp_release(&f->pool, &f->r, t1, 0, 0), 0);
	mpt_census_expect(test, f, "last read release");
	KUNIT_ASSERT_EQ(test, mp_release(&f->pool, &f->c, t2,
					 MSGPOOL_F_SETLEN, 2), 0);
	mpt_census_expect(test, f, "write release");
	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.ready, 2ULL);
	KUNIT_EXPECT_EQ(test, c.borrowed, 0ULL);
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 1, 0), 0ULL);
	mpt_census_expect(test, f, "publish");
	KUNIT_ASSERT_EQ(test, mpt_take(f, &f->r, &t3), 3);
	mpt_census_expect(test, f, "take");
	KUNIT_ASSERT_EQ(test, mp_mark_read(&f->pool, &f->r, t3), 0);
	mpt_census_expect(test, f, "mark read");
	KUNIT_ASSERT_NE(test, mpt_publish(f, &f->a, 1, 0), 0ULL);
	KUNIT_ASSERT_EQ(test, mp_unsubscribe(&f->pool, &f->r), 0);
	mpt_census_expect(test, f, "unsubscribe");
	KUNIT_ASSERT_EQ(test, mp_free(&f->pool, &f->a, t1), 0);
	mpt_census_expect(test, f, "free");
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t2, MSGPOOL_F_ADOPT), 0);
	mpt_census_expect(test, f, "adopt");
	t4 = mpt_store(f, &f->a, 1, 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->c, t4, MSGPOOL_F_WRITE), 0);
	mpt_crash(f, &f->c);
	mpt_census_expect(test, f, "poison");
	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	t5 = mpt_store(f, &f->a, 1, 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->r, t5, 0), 0);
	mpt_census_expect(test, f, "before reclaim");
	mpt_crash(f, &f->a);
	mpt_census_expect(test, f, "reclaim");
	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.borrowed, 2ULL);
	KUNIT_EXPECT_EQ(test, c.free, 8ULL);
	KUNIT_ASSERT_EQ(test, mp_release(&f->pool, &f->r, t5, 0, 0), 0);
	mpt_census_expect(test, f, "orphan's last release");
	KUNIT_ASSERT_EQ(test, mp_release(&f->pool, &f->b, t2, 0, 0), 0);
	KUNIT_ASSERT_EQ(test, mp_free(&f->pool, &f->b, t2), 0);
	mpt_census_expect(test, f, "all free");
	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.free, 10ULL);
}

/* A peer's census: its loans, reads, writes and what it owns. */
static void mpt_census_peers(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mp_msg_hdr hdr = mpt_hdr(1, 0);
	struct mp_peer_census pa, pb, pr;
	u64 t1 = mpt_store(f, &f->a, 1, 0);
	u64 t2 = mpt_store(f, &f->a, 1, 0);
	u64 t3 = mpt_store(f, &f->a, 1, 0);
	struct mp_ref ref;

	KUNIT_ASSERT_EQ(test, mp_loan(&f->pool, &f->a, 1, 0, &ref), 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t1, 0), 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t1, 0), 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t2, 0), 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t3, MSGPOOL_F_WRITE), 0);
	mp_peer_census(&f->a, &pa);
	mp_peer_census(&f->b, &pb);
	KUNIT_EXPECT_EQ(test, pa.loans, 1ULL);
	KUNIT_EXPECT_EQ(test, pa.owned, 4ULL);
	KUNIT_EXPECT_EQ(test, pa.reads + pa.writes, 0ULL);
	KUNIT_EXPECT_EQ(test, pb.reads, 3ULL);
	KUNIT_EXPECT_EQ(test, pb.writes, 1ULL);
	KUNIT_EXPECT_EQ(test, pb.loans + pb.owned, 0ULL);
	mpt_census_expect(test, f, "borrows");
	/* Adopting moves the slot from one owner to the other. */
	KUNIT_ASSERT_EQ(test, mp_release(&f->pool, &f->b, t3, 0, 0), 0);
	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t3, MSGPOOL_F_ADOPT), 0);
	mp_peer_census(&f->a, &pa);
	mp_peer_census(&f->b, &pb);
	KUNIT_EXPECT_EQ(test, pa.owned, 3ULL);
	KUNIT_EXPECT_EQ(test, pb.owned, 1ULL);
	KUNIT_EXPECT_EQ(test, pb.reads, 4ULL);
	KUNIT_EXPECT_EQ(test, pb.writes, 0ULL);
	mpt_census_expect(test, f, "adopt");
	/* A published message is its readers'; a take is no borrow. */
	KUNIT_ASSERT_EQ(test, mpt_subscribe(f, &f->r), 0);
	KUNIT_ASSERT_EQ(test, mp_publish(&f->pool, &f->a, ref.token, &hdr), 0);
	KUNIT_ASSERT_EQ(test, mpt_take(f, &f->r, NULL), 4);
	mp_peer_census(&f->a, &pa);
	mp_peer_census(&f->r, &pr);
	KUNIT_EXPECT_EQ(test, pa.loans, 0ULL);
	KUNIT_EXPECT_EQ(test, pa.owned, 2ULL);
	KUNIT_EXPECT_EQ(test, pr.reads + pr.writes + pr.loans + pr.owned,
			0ULL);
	mpt_census_expect(test, f, "publish");
	/* Its owner gone, a borrowed slot is nobody's. */
	mpt_crash(f, &f->a);
	mp_peer_census(&f->a, &pa);
	mp_peer_census(&f->b, &pb);
	KUNIT_EXPECT_EQ(test, pa.owned + pa.loans, 0ULL);
	KUNIT_EXPECT_EQ(test, pb.owned, 1ULL);
	KUNIT_EXPECT_EQ(test, pb.reads, 4ULL);
	mpt_census_expect(test, f, "reclaim");
}

/*
 * A slot's last read release and the next first borrow move it between
 * READY and BORROWED under its sem held shared, so their moves may land
 * in either order.  Replayed here the second's first, in a pool of one
 * slot: one count is a moment short, the other over, and both must still
 * read as counts of its slots.
 */
static void mpt_census_moment(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_one, 1);
	u64 t = mpt_store(f, &f->a, 1, 0);
	struct mp_census c;

	KUNIT_ASSERT_EQ(test, mpt_borrow(f, &f->b, t, 0), 0);
	/* The first borrow after the release, its move first ... */
	mp_census_move(&f->pool, MP_SLOT_READY, MP_CENSUS_BORROWED);
	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.ready, 0ULL);
	KUNIT_EXPECT_EQ(test, c.borrowed, 1ULL);
	/* ... then the release's. */
	mp_census_move(&f->pool, MP_CENSUS_BORROWED, MP_SLOT_READY);
	mpt_census_expect(test, f, "both moves");
	KUNIT_EXPECT_EQ(test, mp_release(&f->pool, &f->b, t, 0, 0), 0);
	mpt_census_expect(test, f, "released");
}

#define MPT_CENSUS_THREADS	3
#define MPT_CENSUS_ITERS	10000

/* A peer that read-borrows (now and then write-borrows) a few slots. */
struct mpt_census_worker {
	struct mp_pool *pool;
	struct mp_peer peer;
	const u64 *tok;
	u32 nr_tok;
	u32 seed;
	u32 errors;
	struct completion done;
};

static int mpt_census_worker_fn(void *data)
{
	struct mpt_census_worker *w = data;
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	u32 i, k, flags;
	int err;

	for (i = 0; i < MPT_CENSUS_ITERS; i++) {
		/* Half of them on the first: its borrows meet there. */
		k = i % 2 ? mpt_rand(&w->seed) % w->nr_tok : 0;
		flags = MSGPOOL_F_NONBLOCK;
		if (i % 16 == 15)
			flags |= MSGPOOL_F_WRITE;
		err = mp_borrow(w->pool, &w->peer, w->tok[k], flags, &ref,
				&hdr);
		if (err == -EBUSY)
			continue;
		if (err || mp_release(w->pool, &w->peer, w->tok[k], 0, 0))
			w->errors++;
		if (!(i % 256))
			cond_resched();
	}
	/* Each ends with a read borrow of the first slot. */
	if (mp_borrow(w->pool, &w->peer, w->tok[0], 0, &ref, &hdr))
		w->errors++;
	kthread_complete_and_exit(&w->done, 0);
}

/* @nr READY slots and the workers on them; returns those started. */
static int mpt_census_start(struct mpt *f, struct mpt_census_worker *w,
			    u64 *tok, u32 nr)
{
	int i;

	for (i = 0; i < (int)nr; i++) {
		tok[i] = mpt_store(f, &f->a, 1, i);
		if (!tok[i])
			return 0;
	}
	for (i = 0; i < MPT_CENSUS_THREADS; i++) {
		w[i].pool = &f->pool;
		w[i].tok = tok;
		w[i].nr_tok = nr;
		w[i].seed = i + 1;
		mp_peer_init(&w[i].peer, MPT_ID_MORE + i, true);
		if (!mpt_kthread_run(mpt_census_worker_fn, &w[i], &w[i].done))
			break;
	}
	return i;
}

/* Waits for the workers, checks them, and closes their peers. */
static void mpt_census_stop(struct kunit *test, struct mpt *f,
			    struct mpt_census_worker *w, int started, u32 nr)
{
	struct mp_peer_census pc;
	struct mp_census c;
	u64 reads = 0;
	int i;

	for (i = 0; i < started; i++)
		wait_for_completion(&w[i].done);
	KUNIT_ASSERT_EQ(test, started, MPT_CENSUS_THREADS);
	for (i = 0; i < started; i++) {
		KUNIT_EXPECT_EQ(test, w[i].errors, 0U);
		mp_peer_census(&w[i].peer, &pc);
		KUNIT_EXPECT_EQ(test, pc.reads, 1ULL);
		KUNIT_EXPECT_EQ(test, pc.writes + pc.loans + pc.owned, 0ULL);
		reads += pc.reads;
	}
	mpt_census_expect_reads(test, f, "workers done", reads);
	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.borrowed, 1ULL);
	KUNIT_EXPECT_EQ(test, c.ready, nr - 1ULL);
	for (i = 0; i < started; i++)
		mp_peer_reclaim(&f->pool, &w[i].peer);
	mpt_census_expect(test, f, "workers closed");
	mp_pool_census(&f->pool, &c);
	KUNIT_EXPECT_EQ(test, c.borrowed, 0ULL);
	KUNIT_EXPECT_EQ(test, c.ready, (u64)nr);
}

/* Read borrows and releases racing on a slot leave the census exact. */
static void mpt_census_threads(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mpt_census_worker *w;
	u64 tok[3];

	w = kunit_kcalloc(test, MPT_CENSUS_THREADS, sizeof(*w), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, w);
	mpt_census_stop(test, f, w, mpt_census_start(f, w, tok, 3), 3);
}

/*
 * Meanwhile each count read is a count of slots: between a last release
 * and a first borrow of the pool's one READY slot, neither its count nor
 * the borrowed one may read below zero or above capacity.
 */
static void mpt_census_threads_in_range(struct kunit *test)
{
	struct mpt *f = mpt_setup(test, mpt_cfg3, 3);
	struct mpt_census_worker *w;
	u64 cap = f->pool.capacity;
	u32 samples = 0, bad = 0;
	int started, done, i;
	struct mp_census c;
	u64 tok[3];

	w = kunit_kcalloc(test, MPT_CENSUS_THREADS, sizeof(*w), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, w);
	started = mpt_census_start(f, w, tok, 1);
	do {
		mp_pool_census(&f->pool, &c);
		bad += c.free > cap || c.loaned > cap || c.ready > cap ||
		       c.borrowed > cap || c.poisoned > cap ||
		       c.published > cap || c.retired > cap;
		samples++;
		for (i = 0, done = 0; i < started; i++)
			done += completion_done(&w[i].done);
		cond_resched();
	} while (done < started);
	kunit_info(test, "%u samples", samples);
	KUNIT_EXPECT_EQ(test, bad, 0U);
	mpt_census_stop(test, f, w, started, 1);
}

static struct kunit_case mpt_census_cases[] = {
	KUNIT_CASE(mpt_census_follows_ops),
	KUNIT_CASE(mpt_census_peers),
	KUNIT_CASE(mpt_census_moment),
	KUNIT_CASE(mpt_census_threads),
	KUNIT_CASE(mpt_census_threads_in_range),
	{}
};

MPT_SUITE(mpt_census_suite, "msgpool_census", mpt_census_cases);

kunit_test_suites(&mpt_freelist_suite, &mpt_mag_suite, &mpt_token_suite,
		  &mpt_config_suite, &mpt_class_suite, &mpt_state_suite, &mpt_message_suite,
		  &mpt_borrow_suite, &mpt_reclaim_suite, &mpt_wait_suite,
		  &mpt_pubsub_suite, &mpt_ring_suite, &mpt_census_suite);

MODULE_DESCRIPTION("KUnit tests of the msgpool core");
MODULE_LICENSE("GPL");
