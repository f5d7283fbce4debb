// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the msgpool core in userspace: free lists, tokens, class
 * selection, the slot state machine, borrow accounting, peer reclaim and
 * config validation.  Usage: msgpool_shim_test [label]
 */
#include <pthread.h>
#include <sched.h>

#include "msgpool_core.h"
#include "shim_tap.h"

bool shim_alloc_fail;
bool tap_failed;

#define TOKEN_CLASS_SHIFT	MP_TOKEN_INDEX_BITS
#define TOKEN_TAG_SHIFT		(MP_TOKEN_INDEX_BITS + MP_TOKEN_CLASS_BITS)

static const struct msgpool_class cfg3[] = {
	{ .slot_size = 64, .nr_slots = 4 },
	{ .slot_size = 256, .nr_slots = 4 },
	{ .slot_size = 4096, .nr_slots = 2 },
};

/* A pool and four peers: a and b writable, r read-only, c writable. */
static struct mp_pool pool;
static struct mp_peer pa, pb, pr, pc;

static bool fx_init(const struct msgpool_class *cls, u32 nr)
{
	if (mp_pool_init(&pool, cls, nr, 1))
		return false;
	mp_peer_init(&pool, &pa, true);
	mp_peer_init(&pool, &pb, true);
	mp_peer_init(&pool, &pr, false);
	mp_peer_init(&pool, &pc, true);
	return true;
}

/* Closes every peer; true if the pool got all its slots back. */
static bool fx_fini(void)
{
	struct msgpool_info info;

	mp_peer_reclaim(&pool, &pa);
	mp_peer_reclaim(&pool, &pb);
	mp_peer_reclaim(&pool, &pr);
	mp_peer_reclaim(&pool, &pc);
	mp_pool_info(&pool, &info);
	mp_pool_destroy(&pool);
	return info.available == info.capacity;
}

static u64 available(void)
{
	struct msgpool_info info;

	mp_pool_info(&pool, &info);
	return info.available;
}

/* A loan and a commit; 0 if either failed. */
static u64 store(struct mp_peer *peer, u32 len, u64 tag)
{
	struct mp_msg_hdr hdr;
	struct mp_ref ref;

	if (mp_loan(&pool, peer, len, 0, &ref) ||
	    mp_commit(&pool, peer, ref.token, len, tag, &hdr))
		return 0;
	return ref.token;
}

static struct mp_slot *slot_of(u64 token)
{
	u32 slot;

	if (mp_token_slot(&pool, token, &slot))
		return NULL;
	return &pool.slots[slot];
}

static int borrow(struct mp_peer *peer, u64 token, u32 flags)
{
	struct mp_msg_hdr hdr;
	struct mp_ref ref;

	return mp_borrow(&pool, peer, token, flags, &ref, &hdr);
}

static int header(u64 token)
{
	struct mp_msg_hdr hdr;
	struct mp_ref ref;

	return mp_header(&pool, token, &ref, &hdr);
}

/* Free lists. */

static void freelist_init_order(void)
{
	struct mp_class *cls;
	u32 i;

	CHECK(fx_init(cfg3, 3));
	cls = &pool.classes[1];
	for (i = 0; i < 4; i++)
		CHECK_EQ(mp_freelist_pop(&pool, cls), i);
	CHECK_EQ(mp_freelist_pop(&pool, cls), MP_NIL);
	CHECK_EQ(atomic_read(&cls->available), 0);
	for (i = 0; i < 4; i++)
		mp_freelist_push(&pool, cls, i);
	CHECK(fx_fini());
}

static void freelist_lifo(void)
{
	struct mp_class *cls;

	CHECK(fx_init(cfg3, 3));
	cls = &pool.classes[0];
	CHECK_EQ(mp_freelist_pop(&pool, cls), 0);
	CHECK_EQ(mp_freelist_pop(&pool, cls), 1);
	CHECK_EQ(mp_freelist_pop(&pool, cls), 2);
	mp_freelist_push(&pool, cls, 0);
	mp_freelist_push(&pool, cls, 2);
	CHECK_EQ(atomic_read(&cls->available), 3);
	CHECK_EQ(mp_freelist_pop(&pool, cls), 2);
	CHECK_EQ(mp_freelist_pop(&pool, cls), 0);
	CHECK_EQ(mp_freelist_pop(&pool, cls), 3);
	CHECK_EQ(mp_freelist_pop(&pool, cls), MP_NIL);
	mp_freelist_push(&pool, cls, 0);
	mp_freelist_push(&pool, cls, 1);
	mp_freelist_push(&pool, cls, 2);
	mp_freelist_push(&pool, cls, 3);
	CHECK(fx_fini());
}

/* The tag moves on each push and pop, so a stale head fails its CAS. */
static void freelist_aba_tag(void)
{
	struct mp_class *cls;
	u64 stale, head;
	u32 a;

	CHECK(fx_init(cfg3, 3));
	cls = &pool.classes[0];
	stale = cls->free_head;
	CHECK_EQ(stale >> 32, 0);
	a = mp_freelist_pop(&pool, cls);
	CHECK_EQ(cls->free_head >> 32, 1);
	CHECK_EQ((u32)cls->free_head, 1);
	mp_freelist_push(&pool, cls, a);
	head = cls->free_head;
	CHECK_EQ((u32)head, (u32)stale);
	CHECK_EQ(head >> 32, 2);
	/* A popper that read @stale before the pop and push must fail. */
	CHECK(!try_cmpxchg64(&cls->free_head, &stale, 0));
	CHECK_EQ(stale, head);
	CHECK(fx_fini());
}

static void freelist_exhaustion(void)
{
	struct msgpool_info info;
	struct mp_ref ref;
	u32 i;

	CHECK(fx_init(cfg3, 3));
	for (i = 0; i < 10; i++)
		CHECK_EQ(mp_loan(&pool, &pa, 1, 0, &ref), 0);
	CHECK_EQ(available(), 0);
	CHECK_EQ(mp_loan(&pool, &pa, 1, 0, &ref), -ENOBUFS);
	CHECK_EQ(mp_loan(&pool, &pa, 1, MSGPOOL_F_NONBLOCK, &ref), -ENOBUFS);
	CHECK_EQ(mp_loan(&pool, &pa, 1, MSGPOOL_F_WAIT | MSGPOOL_F_NONBLOCK,
			 &ref), -EAGAIN);
	for (i = 0; i < 3; i++)
		CHECK_EQ(mp_freelist_pop(&pool, &pool.classes[i]), MP_NIL);
	mp_pool_info(&pool, &info);
	CHECK_EQ(info.nr_nobufs, 3);
	CHECK_EQ(info.nr_loans, 10);
	CHECK(fx_fini());
}

/* Tokens. */

static void token_round_trip(void)
{
	u32 c, i, slot;
	u64 t;

	CHECK(fx_init(cfg3, 3));
	for (c = 0; c < 3; c++) {
		for (i = 0; i < cfg3[c].nr_slots; i++) {
			t = mp_token_make(&pool, c, i, 0x9abcdef0U + i);
			CHECK_EQ(t >> 32, 0x9abcdef0U + i);
			CHECK_EQ(mp_token_slot(&pool, t, &slot), 0);
			CHECK_EQ(slot, pool.classes[c].first + i);
			CHECK_EQ(pool.slots[slot].class_idx, c);
		}
	}
	CHECK(fx_fini());
}

static void token_of_loan(void)
{
	struct mp_ref ref;
	struct mp_slot *s;
	u32 slot;

	CHECK(fx_init(cfg3, 3));
	CHECK_EQ(mp_loan(&pool, &pa, 100, 0, &ref), 0);
	CHECK_EQ(mp_token_slot(&pool, ref.token, &slot), 0);
	CHECK_EQ(slot, ref.slot);
	CHECK_EQ(slot, pool.classes[1].first);
	s = &pool.slots[slot];
	CHECK_EQ(ref.token >> 32, s->gen);
	CHECK_EQ(ref.capacity, 256);
	CHECK_EQ(ref.offset, pool.classes[1].offset);
	CHECK(fx_fini());
}

static void token_malformed(void)
{
	u64 t, bad[5];
	u32 slot, i;

	CHECK(fx_init(cfg3, 3));
	t = store(&pa, 8, 0);
	CHECK(t);
	bad[0] = t & 0xffffffffULL;				/* gen 0 */
	bad[1] = (t & ~(7ULL << TOKEN_CLASS_SHIFT)) |
		 3ULL << TOKEN_CLASS_SHIFT;			/* class 3 */
	bad[2] = t | 4;						/* index 4 */
	bad[3] = t ^ 1ULL << TOKEN_TAG_SHIFT;			/* pool tag */
	bad[4] = t | (MP_MAX_CLASS_SLOTS - 1);			/* index max */
	for (i = 0; i < 5; i++) {
		CHECK_EQ(mp_token_slot(&pool, bad[i], &slot), -EINVAL);
		CHECK_EQ(borrow(&pb, bad[i], 0), -EINVAL);
		CHECK_EQ(header(bad[i]), -EINVAL);
		CHECK_EQ(mp_free(&pool, &pb, bad[i]), -EINVAL);
		CHECK_EQ(mp_release(&pool, &pb, bad[i], 0, 0), -EINVAL);
		CHECK_EQ(mp_discard(&pool, &pa, bad[i]), -EINVAL);
	}
	CHECK_EQ(slot_of(t)->state, MP_SLOT_READY);
	CHECK(fx_fini());
}

/* Every alloc and free moves the generation; old tokens go stale. */
static void token_stale(void)
{
	struct mp_msg_hdr hdr;
	u64 t1, t2;
	u32 gen;

	CHECK(fx_init(cfg3, 3));
	gen = pool.slots[0].gen;
	t1 = store(&pa, 8, 1);
	CHECK_EQ(t1 >> 32, gen + 1);
	CHECK_EQ(mp_free(&pool, &pa, t1), 0);
	CHECK_EQ(pool.slots[0].gen, gen + 2);
	CHECK_EQ(mp_free(&pool, &pa, t1), -ESTALE);	/* double free */
	CHECK_EQ(borrow(&pb, t1, 0), -ESTALE);
	CHECK_EQ(borrow(&pb, t1, MSGPOOL_F_WRITE), -ESTALE);
	CHECK_EQ(header(t1), -ESTALE);
	CHECK_EQ(mp_release(&pool, &pb, t1, 0, 0), -ESTALE);
	CHECK_EQ(mp_commit(&pool, &pa, t1, 1, 0, &hdr), -ESTALE);
	/* The same slot again: the old token still refers to nothing. */
	t2 = store(&pa, 8, 2);
	CHECK_EQ((u32)t2, (u32)t1);
	CHECK_EQ(t2 >> 32, gen + 3);
	CHECK_EQ(borrow(&pb, t1, 0), -ESTALE);
	CHECK_EQ(mp_free(&pool, &pb, t1), -ESTALE);
	CHECK_EQ(borrow(&pb, t2, 0), 0);
	CHECK_EQ(mp_release(&pool, &pb, t2, 0, 0), 0);
	CHECK(fx_fini());
}

/* Another pool's token is refused unless the pool tags collide. */
static void token_other_pool(void)
{
	struct mp_pool other;
	u64 t;
	u32 slot;

	CHECK(fx_init(cfg3, 3));
	CHECK_EQ(mp_pool_init(&other, cfg3, 3, 2), 0);
	t = store(&pa, 8, 0);
	CHECK_EQ(mp_token_slot(&other, t, &slot), -EINVAL);
	mp_pool_destroy(&other);
	/* Pool 33 has the tag of pool 1: only the generation protects. */
	CHECK_EQ(mp_pool_init(&other, cfg3, 3, 1 + (1 << MP_TOKEN_TAG_BITS)),
		 0);
	CHECK_EQ(mp_token_slot(&other, t, &slot), 0);
	mp_pool_destroy(&other);
	CHECK(fx_fini());
}

/* Class selection. */

struct pick_case {
	u32 len;
	int want;
};

static void class_pick_smallest_fit(void)
{
	static const struct pick_case cases[] = {
		{ 0, 0 }, { 1, 0 }, { 64, 0 }, { 65, 1 }, { 256, 1 },
		{ 257, 2 }, { 4096, 2 }, { 4097, -ENOBUFS },
	};
	u32 i;

	CHECK(fx_init(cfg3, 3));
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK_EQ(mp_class_pick(&pool, cases[i].len), cases[i].want);
	CHECK(fx_fini());
}

static void class_pick_fallback(void)
{
	struct mp_ref ref;
	u32 i;

	CHECK(fx_init(cfg3, 3));
	for (i = 0; i < 4; i++) {
		CHECK_EQ(mp_loan(&pool, &pa, 10, 0, &ref), 0);
		CHECK_EQ(ref.capacity, 64);
	}
	/* Class 0 is empty: small messages go to the next class up. */
	CHECK_EQ(mp_class_pick(&pool, 10), 1);
	for (i = 0; i < 4; i++) {
		CHECK_EQ(mp_loan(&pool, &pa, 10, 0, &ref), 0);
		CHECK_EQ(ref.capacity, 256);
	}
	CHECK_EQ(mp_loan(&pool, &pa, 0, 0, &ref), 0);
	CHECK_EQ(ref.capacity, 4096);
	CHECK_EQ(mp_loan(&pool, &pa, 4096, 0, &ref), 0);
	CHECK_EQ(ref.capacity, 4096);
	CHECK_EQ(mp_class_pick(&pool, 0), -ENOBUFS);
	CHECK_EQ(mp_loan(&pool, &pa, 1, 0, &ref), -ENOBUFS);
	CHECK(fx_fini());
}

/* A big message never falls back to a smaller class. */
static void class_pick_no_fallback_down(void)
{
	struct mp_ref ref;

	CHECK(fx_init(cfg3, 3));
	CHECK_EQ(mp_loan(&pool, &pa, 300, 0, &ref), 0);
	CHECK_EQ(mp_loan(&pool, &pa, 300, 0, &ref), 0);
	CHECK_EQ(mp_class_pick(&pool, 257), -ENOBUFS);
	CHECK_EQ(mp_loan(&pool, &pa, 257, 0, &ref), -ENOBUFS);
	CHECK_EQ(mp_class_pick(&pool, 256), 1);
	CHECK_EQ(mp_loan(&pool, &pa, 4097, 0, &ref), -EMSGSIZE);
	CHECK(fx_fini());
}

/* The slot state machine, one row per (state, op, peer). */

enum who { NOBODY, A, B, R };
enum from { S_LOANED, S_READY, S_READ, S_WRITE, S_POISONED, S_FREED };
enum op {
	OP_COMMIT, OP_DISCARD, OP_BORROW, OP_BORROW_W, OP_BORROW_NB,
	OP_BORROW_W_NB, OP_BORROW_ADOPT, OP_RELEASE, OP_FREE, OP_HEADER,
};

struct sm_case {
	enum from from;
	enum op op;
	enum who who;
	int err;
	enum mp_slot_state to;
	int readers;
	enum who writer;
	enum who owner;
};

static const struct sm_case sm_cases[] = {
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

static struct mp_peer *sm_peer(enum who who)
{
	switch (who) {
	case A:
		return &pa;
	case B:
		return &pb;
	case R:
		return &pr;
	default:
		return NULL;
	}
}

static u32 sm_id(enum who who)
{
	return who == NOBODY ? 0 : sm_peer(who)->id;
}

/* Puts a fresh slot in state @from; returns its token or 0. */
static u64 sm_setup(enum from from)
{
	struct mp_ref ref;
	u64 t;

	if (from == S_LOANED)
		return mp_loan(&pool, &pa, 1, 0, &ref) ? 0 : ref.token;
	t = store(&pa, 1, 0);
	switch (from) {
	case S_READ:
		return borrow(&pb, t, 0) ? 0 : t;
	case S_WRITE:
		return borrow(&pb, t, MSGPOOL_F_WRITE) ? 0 : t;
	case S_POISONED:
		if (borrow(&pc, t, MSGPOOL_F_WRITE))
			return 0;
		mp_peer_reclaim(&pool, &pc);
		mp_peer_init(&pool, &pc, true);
		return slot_of(t)->state == MP_SLOT_POISONED ? t : 0;
	case S_FREED:
		return mp_free(&pool, &pa, t) ? 0 : t;
	default:
		return t;
	}
}

static int sm_op(enum op op, struct mp_peer *peer, u64 t)
{
	struct mp_msg_hdr hdr;

	switch (op) {
	case OP_COMMIT:
		return mp_commit(&pool, peer, t, 1, 0, &hdr);
	case OP_DISCARD:
		return mp_discard(&pool, peer, t);
	case OP_BORROW:
		return borrow(peer, t, 0);
	case OP_BORROW_W:
		return borrow(peer, t, MSGPOOL_F_WRITE);
	case OP_BORROW_NB:
		return borrow(peer, t, MSGPOOL_F_NONBLOCK);
	case OP_BORROW_W_NB:
		return borrow(peer, t, MSGPOOL_F_WRITE | MSGPOOL_F_NONBLOCK);
	case OP_BORROW_ADOPT:
		return borrow(peer, t, MSGPOOL_F_ADOPT | MSGPOOL_F_NONBLOCK);
	case OP_RELEASE:
		return mp_release(&pool, peer, t, 0, 0);
	case OP_FREE:
		return mp_free(&pool, peer, t);
	default:
		return header(t);
	}
}

static bool sm_row(int row, const struct sm_case *c)
{
	struct mp_slot *s;
	u64 t;
	int err;

	if (!fx_init(cfg3, 3))
		return false;
	t = sm_setup(c->from);
	s = slot_of(t);
	err = t ? sm_op(c->op, sm_peer(c->who), t) : -1;
	if (!t || err != c->err || s->state != c->to ||
	    atomic_read(&s->readers) != c->readers ||
	    s->writer != sm_id(c->writer) || s->owner != sm_id(c->owner)) {
		printf("# row %d: token %#llx err %d state %d readers %d",
		       row, (unsigned long long)t, err, t ? s->state : -1,
		       t ? atomic_read(&s->readers) : -1);
		printf(" writer %u owner %u\n", t ? s->writer : 0,
		       t ? s->owner : 0);
		return false;
	}
	return fx_fini();
}

static void state_machine(void)
{
	int i, n = ARRAY_SIZE(sm_cases);
	bool ok = true;

	for (i = 0; i < n; i++)
		ok &= sm_row(i, &sm_cases[i]);
	CHECK(ok);
}

/* Commit and borrow report the header; SETLEN changes the length. */
static void commit_header(void)
{
	struct mp_msg_hdr h1, h2, h;
	struct mp_ref ref, r;
	u64 t2;

	CHECK(fx_init(cfg3, 3));
	CHECK_EQ(mp_loan(&pool, &pa, 0, 0, &ref), 0);
	CHECK_EQ(mp_commit(&pool, &pa, ref.token, 65, 7, &h1), -EMSGSIZE);
	CHECK_EQ(slot_of(ref.token)->state, MP_SLOT_LOANED);
	CHECK_EQ(mp_commit(&pool, &pa, ref.token, 64, 7, &h1), 0);
	CHECK_EQ(h1.len, 64);
	CHECK_EQ(h1.tag, 7);
	CHECK_EQ(h1.producer, getpid());
	t2 = store(&pa, 3, 8);
	CHECK_EQ(mp_header(&pool, t2, &r, &h2), 0);
	CHECK_EQ(h2.seq, h1.seq + 1);
	CHECK(h2.timestamp_ns >= h1.timestamp_ns);
	CHECK_EQ(h2.len, 3);
	CHECK_EQ(r.token, t2);
	CHECK_EQ(r.capacity, 64);
	CHECK_EQ(r.offset, pool.classes[0].offset + pool.classes[0].stride);

	CHECK_EQ(mp_borrow(&pool, &pb, t2, MSGPOOL_F_WRITE, &r, &h), 0);
	CHECK_EQ(h.seq, h2.seq);
	CHECK_EQ(h.tag, 8);
	CHECK_EQ(mp_release(&pool, &pb, t2, MSGPOOL_F_SETLEN, 65), -EMSGSIZE);
	CHECK_EQ(slot_of(t2)->writer, pb.id);
	CHECK_EQ(mp_release(&pool, &pb, t2, MSGPOOL_F_SETLEN, 64), 0);
	CHECK_EQ(mp_borrow(&pool, &pb, t2, 0, &r, &h), 0);
	CHECK_EQ(h.len, 64);
	CHECK_EQ(mp_release(&pool, &pb, t2, MSGPOOL_F_SETLEN, 1), -EPERM);
	CHECK_EQ(mp_release(&pool, &pb, t2, 0, 0), 0);
	CHECK(fx_fini());
}

static void read_only_peer(void)
{
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	u64 t;

	CHECK(fx_init(cfg3, 3));
	t = store(&pa, 1, 0);
	CHECK_EQ(mp_loan(&pool, &pr, 1, 0, &ref), -EBADF);
	CHECK_EQ(mp_loan(&pool, &pr, 1 << 20, 0, &ref), -EBADF);
	CHECK_EQ(mp_commit(&pool, &pr, t, 1, 0, &hdr), -EBADF);
	CHECK_EQ(mp_discard(&pool, &pr, t), -EBADF);
	CHECK_EQ(borrow(&pr, t, MSGPOOL_F_WRITE), -EBADF);
	CHECK_EQ(mp_free(&pool, &pr, t), -EBADF);
	CHECK_EQ(borrow(&pr, t, 0), 0);
	CHECK_EQ(header(t), 0);
	CHECK_EQ(mp_release(&pool, &pr, t, 0, 0), 0);
	CHECK_EQ(available(), 9);
	CHECK(fx_fini());
}

/* Borrow accounting. */

static void borrow_counts(void)
{
	struct msgpool_info info;
	struct mp_slot *s;
	u64 t;
	int i;

	CHECK(fx_init(cfg3, 3));
	t = store(&pa, 1, 0);
	s = slot_of(t);
	for (i = 0; i < 3; i++)
		CHECK_EQ(borrow(&pb, t, 0), 0);
	CHECK_EQ(borrow(&pa, t, 0), 0);
	CHECK_EQ(atomic_read(&s->readers), 4);
	CHECK_EQ(pb.hold_used, 1);
	CHECK_EQ(mp_free(&pool, &pa, t), -EBUSY);
	for (i = 0; i < 3; i++)
		CHECK_EQ(mp_release(&pool, &pb, t, 0, 0), 0);
	CHECK_EQ(mp_release(&pool, &pb, t, 0, 0), -EPERM);
	CHECK_EQ(pb.hold_used, 0);
	CHECK_EQ(atomic_read(&s->readers), 1);
	CHECK_EQ(borrow(&pb, t, MSGPOOL_F_WRITE | MSGPOOL_F_NONBLOCK), -EBUSY);
	CHECK_EQ(mp_release(&pool, &pa, t, 0, 0), 0);
	CHECK_EQ(borrow(&pb, t, MSGPOOL_F_WRITE | MSGPOOL_F_NONBLOCK), 0);
	CHECK_EQ(mp_release(&pool, &pb, t, 0, 0), 0);
	CHECK_EQ(mp_free(&pool, &pa, t), 0);
	mp_pool_info(&pool, &info);
	CHECK_EQ(info.nr_borrows, 5);
	CHECK_EQ(info.nr_stores, 1);
	CHECK_EQ(info.nr_frees, 1);
	CHECK(fx_fini());
}

/* One peer's read borrows of one slot stop at 65535. */
static void borrow_overflow(void)
{
	u64 t;
	int i;

	CHECK(fx_init(cfg3, 3));
	t = store(&pa, 1, 0);
	for (i = 0; i < U16_MAX; i++)
		CHECK_EQ(borrow(&pb, t, 0), 0);
	CHECK_EQ(borrow(&pb, t, 0), -EOVERFLOW);
	CHECK_EQ(borrow(&pb, t | 0xffffffff00000000ULL, 0), -ESTALE);
	CHECK_EQ(atomic_read(&slot_of(t)->readers), U16_MAX);
	CHECK_EQ(borrow(&pa, t, 0), 0);
	CHECK(fx_fini());
}

/* The hold table against a model: random borrows and releases. */
static void hold_table_model(void)
{
	static const struct msgpool_class big[] = {
		{ .slot_size = 8, .nr_slots = 700 },
	};
	static u64 tok[700];
	static int model[700];
	unsigned int seed = 1;
	u32 i, n, used = 0;
	int err;

	CHECK(fx_init(big, 1));
	for (i = 0; i < 700; i++) {
		tok[i] = store(&pa, 1, i);
		CHECK(tok[i]);
		model[i] = 0;
	}
	for (n = 0; n < 100000; n++) {
		i = rand_r(&seed) % 700;
		if (rand_r(&seed) % 2) {
			CHECK_EQ(borrow(&pb, tok[i], 0), 0);
			used += !model[i]++;
		} else {
			err = mp_release(&pool, &pb, tok[i], 0, 0);
			CHECK_EQ(err, model[i] ? 0 : -EPERM);
			used -= model[i] && !--model[i];
		}
		CHECK_EQ(pb.hold_used, used);
	}
	CHECK(pb.hold_cap >= 1024);
	for (i = 0; i < 700; i++)
		CHECK_EQ(atomic_read(&pool.slots[i].readers), model[i]);
	mp_peer_reclaim(&pool, &pb);
	mp_peer_init(&pool, &pb, true);
	for (i = 0; i < 700; i++) {
		CHECK_EQ(atomic_read(&pool.slots[i].readers), 0);
		CHECK_EQ(mp_free(&pool, &pb, tok[i]), 0);
	}
	CHECK(fx_fini());
}

/* A failed allocation leaves everything as it was. */
static void enomem_unchanged(void)
{
	struct msgpool_info info;
	struct mp_ref ref;
	u64 t[8];
	int i;

	CHECK(fx_init(cfg3, 3));
	shim_alloc_fail = true;
	CHECK_EQ(mp_loan(&pool, &pa, 1, 0, &ref), -ENOMEM);
	CHECK_EQ(available(), 10);
	CHECK_EQ(pa.hold_used, 0);
	for (i = 0; i < 6; i++) {
		t[i] = store(&pa, 1, 0);
		CHECK(t[i]);
		CHECK_EQ(borrow(&pb, t[i], 0), 0);
	}
	/* The seventh hold needs a bigger table. */
	t[6] = store(&pa, 1, 0);
	shim_alloc_fail = true;
	CHECK_EQ(borrow(&pb, t[6], 0), -ENOMEM);
	CHECK_EQ(atomic_read(&slot_of(t[6])->readers), 0);
	CHECK_EQ(pb.hold_used, 6);
	CHECK_EQ(borrow(&pb, t[6], 0), 0);
	CHECK_EQ(pb.hold_cap, 16);
	for (i = 0; i < 7; i++)
		CHECK_EQ(mp_release(&pool, &pb, t[i], 0, 0), 0);
	mp_pool_info(&pool, &info);
	CHECK_EQ(info.nr_loans, 7);
	CHECK(fx_fini());
	shim_alloc_fail = true;
	CHECK_EQ(mp_pool_init(&pool, cfg3, 3, 1), -ENOMEM);
	shim_alloc_fail = false;
	CHECK_EQ(mp_pool_init(&pool, cfg3, 3, 1), 0);
	mp_pool_destroy(&pool);
}

static void adopt(void)
{
	u64 t;

	CHECK(fx_init(cfg3, 3));
	t = store(&pa, 1, 0);
	CHECK_EQ(borrow(&pb, t, MSGPOOL_F_ADOPT), 0);
	CHECK_EQ(slot_of(t)->owner, pb.id);
	CHECK_EQ(mp_release(&pool, &pb, t, 0, 0), 0);
	/* The producer leaves: the message stays with its adopter. */
	mp_peer_reclaim(&pool, &pa);
	mp_peer_init(&pool, &pa, true);
	CHECK_EQ(slot_of(t)->state, MP_SLOT_READY);
	CHECK_EQ(available(), 9);
	mp_peer_reclaim(&pool, &pb);
	mp_peer_init(&pool, &pb, true);
	CHECK_EQ(slot_of(t)->state, MP_SLOT_FREE);
	CHECK_EQ(available(), 10);
	CHECK(fx_fini());
}

/* Peer reclaim. */

static void reclaim_loan(void)
{
	struct msgpool_info info;
	struct mp_ref ref;
	u64 t;

	CHECK(fx_init(cfg3, 3));
	CHECK_EQ(mp_loan(&pool, &pa, 1, 0, &ref), 0);
	t = ref.token;
	mp_peer_reclaim(&pool, &pa);
	CHECK_EQ(slot_of(t)->state, MP_SLOT_FREE);
	CHECK_EQ(available(), 10);
	mp_pool_info(&pool, &info);
	CHECK_EQ(info.nr_reclaimed, 1);
	CHECK_EQ(info.nr_poisoned, 0);
	CHECK_EQ(borrow(&pb, t, 0), -ESTALE);
	mp_peer_init(&pool, &pa, true);
	CHECK(fx_fini());
}

static void reclaim_read(void)
{
	u64 t;

	CHECK(fx_init(cfg3, 3));
	t = store(&pa, 1, 0);
	CHECK_EQ(borrow(&pb, t, 0), 0);
	CHECK_EQ(borrow(&pb, t, 0), 0);
	CHECK_EQ(borrow(&pc, t, 0), 0);
	mp_peer_reclaim(&pool, &pb);
	mp_peer_init(&pool, &pb, true);
	CHECK_EQ(atomic_read(&slot_of(t)->readers), 1);
	CHECK_EQ(slot_of(t)->state, MP_SLOT_READY);
	CHECK_EQ(mp_release(&pool, &pc, t, 0, 0), 0);
	CHECK_EQ(mp_free(&pool, &pa, t), 0);
	CHECK(fx_fini());
}

static void reclaim_poison(void)
{
	struct msgpool_info info;
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	u64 t;

	CHECK(fx_init(cfg3, 3));
	t = store(&pa, 1, 0);
	CHECK_EQ(borrow(&pb, t, MSGPOOL_F_WRITE), 0);
	mp_peer_reclaim(&pool, &pb);
	mp_peer_init(&pool, &pb, true);
	CHECK_EQ(slot_of(t)->state, MP_SLOT_POISONED);
	CHECK_EQ(slot_of(t)->writer, 0);
	CHECK_EQ(borrow(&pc, t, 0), -EOWNERDEAD);
	CHECK_EQ(mp_header(&pool, t, &ref, &hdr), -EOWNERDEAD);
	mp_pool_info(&pool, &info);
	CHECK_EQ(info.nr_poisoned, 1);
	CHECK_EQ(available(), 9);
	CHECK_EQ(mp_free(&pool, &pc, t), 0);
	CHECK_EQ(available(), 10);
	CHECK(fx_fini());
}

/* A write borrower of its own slot frees it when it goes. */
static void reclaim_own_write(void)
{
	u64 t;

	CHECK(fx_init(cfg3, 3));
	t = store(&pa, 1, 0);
	CHECK_EQ(borrow(&pa, t, MSGPOOL_F_WRITE), 0);
	mp_peer_reclaim(&pool, &pa);
	mp_peer_init(&pool, &pa, true);
	CHECK_EQ(slot_of(t)->state, MP_SLOT_FREE);
	CHECK_EQ(available(), 10);
	CHECK(fx_fini());
}

static void reclaim_orphan(void)
{
	struct msgpool_info info;
	u64 t, u;

	CHECK(fx_init(cfg3, 3));
	t = store(&pa, 1, 0);
	u = store(&pa, 1, 0);
	CHECK(store(&pa, 1, 0));
	CHECK_EQ(borrow(&pb, t, 0), 0);
	CHECK_EQ(borrow(&pc, t, 0), 0);
	CHECK_EQ(borrow(&pb, u, MSGPOOL_F_WRITE), 0);
	mp_peer_reclaim(&pool, &pa);
	mp_peer_init(&pool, &pa, true);
	/* The unborrowed one is freed now, the others wait for readers. */
	CHECK_EQ(available(), 8);
	CHECK(slot_of(t)->flags & MP_SLOT_ORPHAN);
	CHECK_EQ(slot_of(t)->owner, 0);
	CHECK_EQ(header(t), 0);
	CHECK_EQ(mp_release(&pool, &pb, t, 0, 0), 0);
	CHECK_EQ(slot_of(t)->state, MP_SLOT_READY);
	CHECK_EQ(mp_release(&pool, &pc, t, 0, 0), 0);
	CHECK_EQ(slot_of(t)->state, MP_SLOT_FREE);
	CHECK_EQ(available(), 9);
	/* A lost write borrow of an orphan frees it: nobody owns it. */
	mp_peer_reclaim(&pool, &pb);
	mp_peer_init(&pool, &pb, true);
	CHECK_EQ(slot_of(u)->state, MP_SLOT_FREE);
	CHECK_EQ(available(), 10);
	mp_pool_info(&pool, &info);
	CHECK_EQ(info.nr_reclaimed, 3);
	CHECK_EQ(info.nr_poisoned, 0);
	CHECK_EQ(info.nr_frees, 3);
	CHECK(fx_fini());
}

/* Releasing the write borrow of an orphan frees it too. */
static void reclaim_orphan_write_release(void)
{
	u64 t;

	CHECK(fx_init(cfg3, 3));
	t = store(&pa, 1, 0);
	CHECK_EQ(borrow(&pb, t, MSGPOOL_F_WRITE), 0);
	mp_peer_reclaim(&pool, &pa);
	mp_peer_init(&pool, &pa, true);
	CHECK_EQ(slot_of(t)->state, MP_SLOT_READY);
	CHECK_EQ(mp_release(&pool, &pb, t, MSGPOOL_F_SETLEN, 2), 0);
	CHECK_EQ(slot_of(t)->state, MP_SLOT_FREE);
	CHECK_EQ(available(), 10);
	CHECK(fx_fini());
}

/* Adopting an orphan makes it an ordinary owned slot again. */
static void reclaim_orphan_adopted(void)
{
	u64 t;

	CHECK(fx_init(cfg3, 3));
	t = store(&pa, 1, 0);
	CHECK_EQ(borrow(&pb, t, 0), 0);
	mp_peer_reclaim(&pool, &pa);
	mp_peer_init(&pool, &pa, true);
	CHECK_EQ(borrow(&pc, t, MSGPOOL_F_ADOPT), 0);
	CHECK(!(slot_of(t)->flags & MP_SLOT_ORPHAN));
	CHECK_EQ(mp_release(&pool, &pb, t, 0, 0), 0);
	CHECK_EQ(mp_release(&pool, &pc, t, 0, 0), 0);
	CHECK_EQ(slot_of(t)->state, MP_SLOT_READY);
	CHECK_EQ(slot_of(t)->owner, pc.id);
	CHECK(fx_fini());
}

/* Sleeping: a waiter is woken by the change it waits for. */

struct waiter {
	pthread_t thread;
	struct mp_peer *peer;
	u64 token;
	u32 flags;
	bool loan;
	struct mp_ref ref;
	int err;
};

static void *waiter_run(void *arg)
{
	struct waiter *w = arg;
	struct mp_msg_hdr hdr;

	if (w->loan)
		w->err = mp_loan(&pool, w->peer, 1, w->flags, &w->ref);
	else
		w->err = mp_borrow(&pool, w->peer, w->token, w->flags,
				   &w->ref, &hdr);
	return NULL;
}

/* Starts @w and returns once it sleeps on the pool's wait queue. */
static void waiter_start(struct waiter *w)
{
	pthread_create(&w->thread, NULL, waiter_run, w);
	while (!__atomic_load_n(&pool.wq.sleepers, __ATOMIC_SEQ_CST))
		sched_yield();
}

static void wait_for_slot(void)
{
	static const struct msgpool_class one[] = {
		{ .slot_size = 64, .nr_slots = 1 },
	};
	struct waiter w = { .peer = &pb, .loan = true,
			    .flags = MSGPOOL_F_WAIT };
	u64 t;

	CHECK(fx_init(one, 1));
	t = store(&pa, 1, 0);
	waiter_start(&w);
	CHECK_EQ(mp_free(&pool, &pa, t), 0);
	pthread_join(w.thread, NULL);
	CHECK_EQ(w.err, 0);
	CHECK_EQ((u32)w.ref.token, (u32)t);
	CHECK_EQ(slot_of(w.ref.token)->owner, pb.id);
	CHECK(fx_fini());
}

static void wait_for_writer(void)
{
	struct waiter w = { .peer = &pa };

	CHECK(fx_init(cfg3, 3));
	w.token = store(&pa, 1, 0);
	CHECK_EQ(borrow(&pb, w.token, MSGPOOL_F_WRITE), 0);
	waiter_start(&w);
	CHECK_EQ(mp_release(&pool, &pb, w.token, 0, 0), 0);
	pthread_join(w.thread, NULL);
	CHECK_EQ(w.err, 0);
	CHECK_EQ(atomic_read(&slot_of(w.token)->readers), 1);
	CHECK(fx_fini());
}

static void wait_for_readers(void)
{
	struct waiter w = { .peer = &pa, .flags = MSGPOOL_F_WRITE };

	CHECK(fx_init(cfg3, 3));
	w.token = store(&pa, 1, 0);
	CHECK_EQ(borrow(&pb, w.token, 0), 0);
	CHECK_EQ(borrow(&pc, w.token, 0), 0);
	waiter_start(&w);
	CHECK_EQ(mp_release(&pool, &pb, w.token, 0, 0), 0);
	CHECK_EQ(mp_release(&pool, &pc, w.token, 0, 0), 0);
	pthread_join(w.thread, NULL);
	CHECK_EQ(w.err, 0);
	CHECK_EQ(slot_of(w.token)->writer, pa.id);
	CHECK(fx_fini());
}

/* A wait for a loaned slot ends in -ESTALE when the loan is discarded. */
static void wait_ends_stale(void)
{
	struct waiter w = { .peer = &pb };
	struct mp_ref ref;

	CHECK(fx_init(cfg3, 3));
	CHECK_EQ(mp_loan(&pool, &pa, 1, 0, &ref), 0);
	w.token = ref.token;
	waiter_start(&w);
	CHECK_EQ(mp_discard(&pool, &pa, ref.token), 0);
	pthread_join(w.thread, NULL);
	CHECK_EQ(w.err, -ESTALE);
	CHECK(fx_fini());
}

static void wait_ends_poisoned(void)
{
	struct waiter w = { .peer = &pb };

	CHECK(fx_init(cfg3, 3));
	w.token = store(&pa, 1, 0);
	CHECK_EQ(borrow(&pc, w.token, MSGPOOL_F_WRITE), 0);
	waiter_start(&w);
	mp_peer_reclaim(&pool, &pc);
	mp_peer_init(&pool, &pc, true);
	pthread_join(w.thread, NULL);
	CHECK_EQ(w.err, -EOWNERDEAD);
	CHECK(fx_fini());
}

/* Config validation. */

struct cfg_case {
	struct msgpool_class cls[MSGPOOL_MAX_CLASSES];
	u32 nr;
	u64 max_bytes;
	u32 max_slots;
	int err;
	u64 map_size;
};

#define MiB	(1ULL << 20)

static const struct cfg_case cfg_cases[] = {
	{ { { 1, 1 } }, 1, 256 * MiB, 262144, 0, 4096 },
	{ { { 64, 64 } }, 1, 256 * MiB, 262144, 0, 4096 },
	{ { { 64, 65 } }, 1, 256 * MiB, 262144, 0, 8192 },
	{ { { 65, 64 } }, 1, 256 * MiB, 262144, 0, 8192 },
	{ { { 1, 1 }, { 2, 1 } }, 2, 256 * MiB, 262144, 0, 8192 },
	{ { { 100, 10 }, { 5000, 3 }, { 70000, 1 } }, 3, 256 * MiB, 262144,
	  0, 4096 + 16384 + 73728 },
	{ { { 1, 1 }, { 2, 1 }, { 3, 1 }, { 4, 1 }, { 5, 1 }, { 6, 1 },
	    { 7, 1 }, { 8, 1 } }, 8, 256 * MiB, 262144, 0, 8 * 4096 },
	{ { { 4096, 65536 } }, 1, 256 * MiB, 262144, 0, 256 * MiB },
	{ { { 4096, 65537 } }, 1, 256 * MiB, 262144, -E2BIG, 0 },
	{ { { 1, 262144 } }, 1, 256 * MiB, 262144, 0, 16 * MiB },
	{ { { 1, 262144 }, { 2, 1 } }, 2, 256 * MiB, 262144, -E2BIG, 0 },
	{ { { 1, 1 << 24 } }, 1, ~0ULL, ~0U, 0, 1ULL << 30 },
	{ { { 1, (1 << 24) + 1 } }, 1, ~0ULL, ~0U, -EINVAL, 0 },
	/* 2^32 - 1 rounds up to a stride of 2^32: would wrap in 32 bits. */
	{ { { ~0U, 1 << 24 } }, 1, ~0ULL, ~0U, -E2BIG, 0 },
	{ { { ~0U - 63, 1 << 24 } }, 1, 256 * MiB, ~0U, -E2BIG, 0 },
	/* 4 GiB: zero in 32 bits. */
	{ { { 65536, 65536 } }, 1, 256 * MiB, ~0U, -E2BIG, 0 },
	{ { { 1, 1 } }, 0, 256 * MiB, 262144, -EINVAL, 0 },
	{ { { 1, 1 } }, 9, 256 * MiB, 262144, -EINVAL, 0 },
	{ { { 0, 1 } }, 1, 256 * MiB, 262144, -EINVAL, 0 },
	{ { { 1, 0 } }, 1, 256 * MiB, 262144, -EINVAL, 0 },
	{ { { 2, 1 }, { 2, 1 } }, 2, 256 * MiB, 262144, -EINVAL, 0 },
	{ { { 2, 1 }, { 1, 1 } }, 2, 256 * MiB, 262144, -EINVAL, 0 },
	{ { { 1, 1 }, { 2, 0 } }, 2, 256 * MiB, 262144, -EINVAL, 0 },
	/* A bad shape is -EINVAL even when it is also too big. */
	{ { { 1 << 30, 1 << 20 }, { 1, 1 } }, 2, 256 * MiB, 262144, -EINVAL,
	  0 },
};

static void config_check(void)
{
	const struct cfg_case *c;
	u64 size;
	u32 i;
	int err;

	for (i = 0; i < ARRAY_SIZE(cfg_cases); i++) {
		c = &cfg_cases[i];
		size = 0;
		err = mp_config_check(c->cls, c->nr, c->max_bytes,
				      c->max_slots, &size);
		if (err != c->err || size != c->map_size)
			printf("# case %u: err %d size %llu\n", i, err,
			       (unsigned long long)size);
		CHECK_EQ(err, c->err);
		CHECK_EQ(size, c->map_size);
	}
}

static void config_layout(void)
{
	static const struct msgpool_class cls[] = {
		{ .slot_size = 100, .nr_slots = 10 },
		{ .slot_size = 5000, .nr_slots = 3 },
		{ .slot_size = 70000, .nr_slots = 1 },
	};
	struct msgpool_info info;

	CHECK(fx_init(cls, 3));
	mp_pool_info(&pool, &info);
	CHECK_EQ(info.nr_classes, 3);
	CHECK_EQ(info.capacity, 14);
	CHECK_EQ(info.available, 14);
	CHECK_EQ(info.map_size, 4096 + 16384 + 73728);
	CHECK_EQ(info.classes[0].stride, 128);
	CHECK_EQ(info.classes[0].offset, 0);
	CHECK_EQ(info.classes[1].stride, 5056);
	CHECK_EQ(info.classes[1].offset, 4096);
	CHECK_EQ(info.classes[2].stride, 70016);
	CHECK_EQ(info.classes[2].offset, 4096 + 16384);
	CHECK_EQ(info.classes[2].slot_size, 70000);
	CHECK_EQ(info.classes[1].nr_slots, 3);
	CHECK_EQ(info.classes[1].available, 3);
	CHECK_EQ(pool.classes[2].first, 13);
	CHECK(fx_fini());
	CHECK_EQ(mp_pool_init(&pool, cls, 0, 1), -EINVAL);
	CHECK_EQ(mp_pool_init(&pool, (struct msgpool_class[]){ { ~0U, 1 } },
			      1, 1), -E2BIG);
}

/* Census: one slot in each state, every peer holding something. */
static void census(void)
{
	struct mp_peer_census pc_a, pc_b, pc_r, pc_c;
	struct mp_census c;
	struct mp_ref ref;
	u64 poisoned, read, written;

	CHECK(fx_init(cfg3, 3));
	mp_pool_census(&pool, &c);
	CHECK_EQ(c.free, 10);
	CHECK_EQ(c.loaned + c.ready + c.borrowed + c.poisoned, 0);
	poisoned = store(&pa, 1, 0);
	CHECK_EQ(borrow(&pc, poisoned, MSGPOOL_F_WRITE), 0);
	mp_peer_reclaim(&pool, &pc);
	mp_peer_init(&pool, &pc, true);
	read = store(&pa, 1, 0);
	written = store(&pa, 1, 0);
	CHECK(store(&pa, 1, 0));
	CHECK_EQ(mp_loan(&pool, &pa, 1, 0, &ref), 0);
	CHECK_EQ(borrow(&pb, read, 0), 0);
	CHECK_EQ(borrow(&pb, read, 0), 0);
	CHECK_EQ(borrow(&pr, read, 0), 0);
	CHECK_EQ(borrow(&pc, written, MSGPOOL_F_WRITE), 0);

	mp_pool_census(&pool, &c);
	CHECK_EQ(c.free, 5);
	CHECK_EQ(c.loaned, 1);
	CHECK_EQ(c.ready, 1);
	CHECK_EQ(c.borrowed, 2);
	CHECK_EQ(c.poisoned, 1);
	mp_peer_census(&pool, &pa, &pc_a);
	mp_peer_census(&pool, &pb, &pc_b);
	mp_peer_census(&pool, &pr, &pc_r);
	mp_peer_census(&pool, &pc, &pc_c);
	CHECK_EQ(pc_a.loans, 1);
	CHECK_EQ(pc_a.reads + pc_a.writes, 0);
	CHECK_EQ(pc_a.owned, 5);
	CHECK_EQ(pc_b.reads, 2);
	CHECK_EQ(pc_b.loans + pc_b.writes + pc_b.owned, 0);
	CHECK_EQ(pc_r.reads, 1);
	CHECK_EQ(pc_c.writes, 1);
	CHECK_EQ(pc_c.loans + pc_c.reads + pc_c.owned, 0);
	CHECK(fx_fini());
}

/* Publish/subscribe: the published-slot state machine and reader reclaim. */

static int subscribe(struct mp_peer *peer)
{
	u32 reader;
	u64 seq;
	int err = mp_subscribe(&pool, peer, &reader, &seq);

	return err ? err : (int)reader;
}

/* A loan published at once; 0 if either failed. */
static u64 publish(struct mp_peer *peer, u32 len, u64 tag)
{
	struct mp_msg_hdr hdr;
	struct mp_ref ref;

	if (mp_loan(&pool, peer, len, 0, &ref) ||
	    mp_publish(&pool, peer, ref.token, len, tag, &hdr))
		return 0;
	return ref.token;
}

/* The seq of @peer's next take, or the error as a negative number. */
static long long take(struct mp_peer *peer, u64 *token)
{
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	int err = mp_take(&pool, peer, &ref, &hdr);

	if (err)
		return err;
	if (token)
		*token = ref.token;
	return hdr.seq;
}

static void pubsub_subscribe(void)
{
	static struct mp_peer many[MSGPOOL_MAX_READERS];
	struct msgpool_info info;
	u32 reader;
	u64 seq;
	int i;

	CHECK(fx_init(cfg3, 3));
	CHECK_EQ(subscribe(&pa), 0);
	CHECK_EQ(subscribe(&pa), -EALREADY);
	CHECK_EQ(subscribe(&pr), 1);
	CHECK(publish(&pb, 1, 0));
	CHECK_EQ(mp_subscribe(&pool, &pc, &reader, &seq), 0);
	CHECK_EQ(reader, 2);
	CHECK_EQ(seq, 1);
	mp_pool_info(&pool, &info);
	CHECK_EQ(info.reserved[MSGPOOL_INFO_PUBSUB], 3);
	CHECK_EQ(info.reserved[MSGPOOL_INFO_PUB_SEQ], 1);
	CHECK_EQ(mp_unsubscribe(&pool, &pr), 0);
	CHECK_EQ(mp_unsubscribe(&pool, &pr), -ENOENT);
	for (i = 0; i < MSGPOOL_MAX_READERS - 2; i++) {
		mp_peer_init(&pool, &many[i], false);
		CHECK(subscribe(&many[i]) >= 0);
	}
	CHECK_EQ(pool.readers, ~0ULL);
	CHECK_EQ(subscribe(&pr), -EUSERS);
	for (i = 0; i < MSGPOOL_MAX_READERS - 2; i++)
		mp_peer_reclaim(&pool, &many[i]);
	CHECK_EQ(subscribe(&pr), 1);
	CHECK(fx_fini());
}

static void pubsub_state_machine(void)
{
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	struct mp_slot *s;
	u64 t = 0;

	CHECK(fx_init(cfg3, 3));
	CHECK_EQ(subscribe(&pr), 0);
	CHECK_EQ(subscribe(&pc), 1);
	CHECK(!mp_take_ready(&pool, &pr));
	CHECK_EQ(mp_loan(&pool, &pa, 8, 0, &ref), 0);
	s = slot_of(ref.token);
	CHECK_EQ(s->state, MP_SLOT_LOANED);
	CHECK_EQ(mp_publish(&pool, &pb, ref.token, 8, 0, &hdr), -EPERM);
	CHECK_EQ(mp_publish(&pool, &pr, ref.token, 8, 0, &hdr), -EBADF);
	CHECK_EQ(mp_publish(&pool, &pa, ref.token, 65, 0, &hdr), -EMSGSIZE);
	CHECK_EQ(mp_publish(&pool, &pa, ref.token, 8, 5, &hdr), 0);
	CHECK_EQ(hdr.seq, 1);
	CHECK_EQ(hdr.tag, 5);
	CHECK_EQ(s->state, MP_SLOT_PUBLISHED);
	CHECK_EQ(s->pending, 3);
	CHECK_EQ(s->owner, 0);
	CHECK_EQ(s->writer, 0);
	CHECK(mp_take_ready(&pool, &pr));
	CHECK_EQ(pool.unread[0], 1);

	/* Nobody but its readers may end it. */
	CHECK_EQ(mp_free(&pool, &pa, ref.token), -EBUSY);
	CHECK_EQ(borrow(&pa, ref.token, 0), -EPERM);
	CHECK_EQ(mp_discard(&pool, &pa, ref.token), -EPERM);
	CHECK_EQ(header(ref.token), 0);
	CHECK_EQ(mp_mark_read(&pool, &pr, ref.token), -EPERM);
	CHECK_EQ(mp_mark_read(&pool, &pa, ref.token), -ENOENT);

	CHECK_EQ(take(&pr, &t), 1);
	CHECK_EQ(t, ref.token);
	CHECK_EQ(s->taken, 1);
	CHECK(!mp_take_ready(&pool, &pr));
	CHECK_EQ(take(&pr, NULL), -EAGAIN);
	CHECK_EQ(take(&pa, NULL), -ENOENT);
	CHECK_EQ(mp_mark_read(&pool, &pr, t), 0);
	CHECK_EQ(s->pending, 2);
	CHECK_EQ(s->taken, 0);
	CHECK_EQ(mp_mark_read(&pool, &pr, t), -EPERM);
	CHECK_EQ(available(), 9);
	CHECK_EQ(take(&pc, &t), 1);
	CHECK_EQ(mp_mark_read(&pool, &pc, t), 0);
	CHECK_EQ(s->state, MP_SLOT_FREE);
	CHECK_EQ(available(), 10);
	CHECK_EQ(mp_mark_read(&pool, &pc, t), -ESTALE);
	CHECK_EQ(pool.pub_head, MP_NIL);
	CHECK_EQ(pool.pub_tail, MP_NIL);

	/* Published to nobody: free at once. */
	CHECK_EQ(mp_unsubscribe(&pool, &pr), 0);
	CHECK_EQ(mp_unsubscribe(&pool, &pc), 0);
	t = publish(&pa, 8, 0);
	CHECK(t);
	CHECK_EQ(slot_of(t)->state, MP_SLOT_FREE);
	CHECK_EQ(available(), 10);
	CHECK(fx_fini());
}

static void pubsub_order(void)
{
	u64 t[6] = { 0 }, u = 0;
	int i;

	CHECK(fx_init(cfg3, 3));
	CHECK_EQ(subscribe(&pr), 0);
	for (i = 1; i <= 3; i++)
		CHECK(publish(&pa, 8 * i, i));
	CHECK_EQ(subscribe(&pc), 1);
	for (i = 4; i <= 5; i++)
		CHECK(publish(&pa, 100, i));
	for (i = 1; i <= 5; i++)
		CHECK_EQ(take(&pr, &t[i]), i);
	CHECK_EQ(take(&pc, &u), 4);
	/* Marks in any order; a slot goes with its last reader. */
	CHECK_EQ(mp_mark_read(&pool, &pr, t[2]), 0);
	CHECK_EQ(available(), 6);
	CHECK_EQ(mp_mark_read(&pool, &pr, t[4]), 0);
	CHECK_EQ(available(), 6);
	CHECK_EQ(mp_mark_read(&pool, &pc, u), 0);
	CHECK_EQ(available(), 7);
	/* Left on the publish list: 1, 3 and 5, in that order. */
	CHECK(&pool.slots[pool.pub_head] == slot_of(t[1]));
	CHECK(&pool.slots[slot_of(t[1])->pub_next] == slot_of(t[3]));
	CHECK(&pool.slots[pool.pub_tail] == slot_of(t[5]));
	CHECK(fx_fini());
}

static void pubsub_reader_reclaim(void)
{
	u64 t = 0;
	int i;

	CHECK(fx_init(cfg3, 3));
	CHECK_EQ(subscribe(&pr), 0);
	CHECK_EQ(subscribe(&pc), 1);
	for (i = 0; i < 4; i++)
		CHECK(publish(&pa, 8, i));
	CHECK_EQ(take(&pr, &t), 1);
	CHECK_EQ(take(&pc, NULL), 1);
	CHECK_EQ(take(&pc, NULL), 2);
	/* The publisher's close leaves its messages to their readers. */
	mp_peer_reclaim(&pool, &pa);
	CHECK_EQ(available(), 6);
	mp_peer_reclaim(&pool, &pc);
	CHECK_EQ(pool.readers, 1);
	CHECK_EQ(available(), 6);
	CHECK_EQ(slot_of(t)->pending, 1);
	CHECK_EQ(slot_of(t)->taken, 1);
	CHECK_EQ(mp_unsubscribe(&pool, &pr), 0);
	CHECK_EQ(available(), 10);
	CHECK_EQ(pool.unread[0], 0);
	CHECK_EQ(subscribe(&pr), 0);
	CHECK_EQ(mp_mark_read(&pool, &pr, t), -ESTALE);
	mp_peer_init(&pool, &pa, true);
	mp_peer_init(&pool, &pc, true);
	CHECK(fx_fini());
}

static void pubsub_overwrite(void)
{
	static const struct msgpool_class two[] = {
		{ .slot_size = 64, .nr_slots = 2 },
		{ .slot_size = 256, .nr_slots = 1 },
	};
	struct msgpool_info info;
	struct mp_ref ref;
	u64 t = 0;
	int i;

	CHECK(fx_init(two, 2));
	pool.overwrite = true;
	CHECK_EQ(subscribe(&pr), 0);
	for (i = 1; i <= 5; i++)
		CHECK(publish(&pa, 8, i));
	/* 1 and 2 went: 3, 4, 5 are left. */
	CHECK_EQ(pool.unread[0], 3);
	CHECK_EQ(take(&pr, &t), 3);
	/* Too big for the small slots: only the big one may go. */
	CHECK_EQ(mp_loan(&pool, &pa, 100, 0, &ref), -ENOBUFS);
	CHECK(publish(&pa, 8, 6));
	CHECK_EQ(take(&pr, NULL), 5);
	CHECK_EQ(take(&pr, NULL), 6);
	CHECK_EQ(mp_loan(&pool, &pa, 1, 0, &ref), -ENOBUFS);
	CHECK(!mp_loan_ready(&pool));
	CHECK_EQ(mp_mark_read(&pool, &pr, t), 0);
	CHECK(mp_loan_ready(&pool));
	mp_pool_info(&pool, &info);
	CHECK_EQ(info.reserved[MSGPOOL_INFO_PUBSUB] >> 32,
		 MSGPOOL_ATTACH_OVERWRITE);
	CHECK(fx_fini());
}

static void pubsub_backpressure_wait(void)
{
	static const struct msgpool_class one[] = {
		{ .slot_size = 64, .nr_slots = 1 },
	};
	struct waiter w = { .peer = &pb, .loan = true,
			    .flags = MSGPOOL_F_WAIT };
	u64 t = 0;

	CHECK(fx_init(one, 1));
	CHECK_EQ(subscribe(&pr), 0);
	CHECK(publish(&pa, 8, 0));
	CHECK(!mp_loan_ready(&pool));
	waiter_start(&w);
	CHECK_EQ(take(&pr, &t), 1);
	CHECK_EQ(mp_mark_read(&pool, &pr, t), 0);
	pthread_join(w.thread, NULL);
	CHECK_EQ(w.err, 0);
	CHECK_EQ((u32)w.ref.token, (u32)t);
	CHECK(fx_fini());
}

static void pubsub_overwrite_wait(void)
{
	static const struct msgpool_class one[] = {
		{ .slot_size = 64, .nr_slots = 1 },
	};
	struct waiter w = { .peer = &pb, .loan = true,
			    .flags = MSGPOOL_F_WAIT };
	u64 t = 0;

	CHECK(fx_init(one, 1));
	pool.overwrite = true;
	CHECK_EQ(subscribe(&pr), 0);
	CHECK_EQ(subscribe(&pc), 1);
	CHECK(publish(&pa, 8, 0));
	CHECK_EQ(take(&pr, &t), 1);
	/* Taken: no victim, the loan sleeps. */
	waiter_start(&w);
	/* Untaken again, by c: the waiter takes it over. */
	CHECK_EQ(mp_mark_read(&pool, &pr, t), 0);
	pthread_join(w.thread, NULL);
	CHECK_EQ(w.err, 0);
	CHECK_EQ((u32)w.ref.token, (u32)t);
	CHECK_EQ(take(&pc, NULL), -EAGAIN);
	CHECK(fx_fini());
}

/* Threads: a publisher waiting for slots, readers spinning on take. */
struct ps_reader {
	pthread_t thread;
	struct mp_peer *peer;
	u32 count;
	u32 got;	/* messages taken in order */
};

static void *ps_reader_run(void *arg)
{
	struct ps_reader *r = arg;
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	int err;

	while (r->got < r->count) {
		if (!mp_take_ready(&pool, r->peer)) {
			sched_yield();
			continue;
		}
		err = mp_take(&pool, r->peer, &ref, &hdr);
		if (err || hdr.seq != r->got + 1 || hdr.tag != hdr.seq)
			break;
		if (mp_mark_read(&pool, r->peer, ref.token))
			break;
		r->got++;
	}
	return NULL;
}

/* The census counts a published slot until its last reader marks it. */
static void census_published(void)
{
	struct mp_census c;
	u64 t = 0;

	CHECK(fx_init(cfg3, 3));
	CHECK_EQ(subscribe(&pr), 0);
	CHECK(publish(&pa, 8, 0));
	mp_pool_census(&pool, &c);
	CHECK_EQ(c.published, 1);
	CHECK_EQ(c.free, 9);
	CHECK_EQ(take(&pr, &t), 1);
	mp_pool_census(&pool, &c);
	CHECK_EQ(c.published, 1);
	CHECK_EQ(c.borrowed + c.ready, 0);
	CHECK_EQ(mp_mark_read(&pool, &pr, t), 0);
	mp_pool_census(&pool, &c);
	CHECK_EQ(c.published, 0);
	CHECK_EQ(c.free, 10);
	CHECK(fx_fini());
}

static void pubsub_threads(void)
{
	static const struct msgpool_class one[] = {
		{ .slot_size = 64, .nr_slots = 4 },
	};
	struct ps_reader r[2] = {
		{ .peer = &pr, .count = 20000 }, { .peer = &pc, .count = 20000 },
	};
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	u64 seq;
	int i;

	CHECK(fx_init(one, 1));
	for (i = 0; i < 2; i++) {
		CHECK_EQ(subscribe(r[i].peer), i);
		pthread_create(&r[i].thread, NULL, ps_reader_run, &r[i]);
	}
	for (seq = 1; seq <= r[0].count; seq++) {
		CHECK_EQ(mp_loan(&pool, &pa, 8, MSGPOOL_F_WAIT, &ref), 0);
		CHECK_EQ(mp_publish(&pool, &pa, ref.token, 8, seq, &hdr), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(r[i].thread, NULL);
		CHECK_EQ(r[i].got, r[i].count);
	}
	CHECK_EQ(available(), 4);
	CHECK(fx_fini());
}

static const struct tap_test tests[] = {
	TAP_TEST(freelist_init_order),
	TAP_TEST(freelist_lifo),
	TAP_TEST(freelist_aba_tag),
	TAP_TEST(freelist_exhaustion),
	TAP_TEST(token_round_trip),
	TAP_TEST(token_of_loan),
	TAP_TEST(token_malformed),
	TAP_TEST(token_stale),
	TAP_TEST(token_other_pool),
	TAP_TEST(class_pick_smallest_fit),
	TAP_TEST(class_pick_fallback),
	TAP_TEST(class_pick_no_fallback_down),
	TAP_TEST(state_machine),
	TAP_TEST(commit_header),
	TAP_TEST(read_only_peer),
	TAP_TEST(borrow_counts),
	TAP_TEST(borrow_overflow),
	TAP_TEST(hold_table_model),
	TAP_TEST(enomem_unchanged),
	TAP_TEST(adopt),
	TAP_TEST(reclaim_loan),
	TAP_TEST(reclaim_read),
	TAP_TEST(reclaim_poison),
	TAP_TEST(reclaim_own_write),
	TAP_TEST(reclaim_orphan),
	TAP_TEST(reclaim_orphan_write_release),
	TAP_TEST(reclaim_orphan_adopted),
	TAP_TEST(wait_for_slot),
	TAP_TEST(wait_for_writer),
	TAP_TEST(wait_for_readers),
	TAP_TEST(wait_ends_stale),
	TAP_TEST(wait_ends_poisoned),
	TAP_TEST(config_check),
	TAP_TEST(config_layout),
	TAP_TEST(census),
	TAP_TEST(pubsub_subscribe),
	TAP_TEST(pubsub_state_machine),
	TAP_TEST(pubsub_order),
	TAP_TEST(pubsub_reader_reclaim),
	TAP_TEST(pubsub_overwrite),
	TAP_TEST(pubsub_backpressure_wait),
	TAP_TEST(pubsub_overwrite_wait),
	TAP_TEST(pubsub_threads),
	TAP_TEST(census_published),
};

int main(int argc, char **argv)
{
	const char *label = argc > 1 ? argv[1] : "";

	return tap_run(tests, ARRAY_SIZE(tests), label) != 0;
}
