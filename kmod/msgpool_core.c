// SPDX-License-Identifier: GPL-2.0
/*
 * msgpool core: lock-free free lists, tokens, the slot state machine and
 * the per-peer record of borrows.  See Documentation/msgpool.rst.
 *
 * Locking: a peer's mutex, then at most one slot's rw_semaphore.  Nothing
 * sleeps on the pool's wait queue with either held, and every change that
 * may end a wait is followed by mp_wake().
 */
#include <linux/align.h>
#include <linux/bitops.h>
#include <linux/bug.h>
#include <linux/errno.h>
#include <linux/hash.h>
#include <linux/limits.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "msgpool_core.h"

#define MP_HOLD_MIN		8	/* cells of a new hold table */
#define MP_MAG_SHARE		8	/* a peer caches at most 1/8 of a class */
#define MP_MAG_MIN		4	/* smaller caches are not worth it */
#define MP_TOKEN_ROUNDS		4	/* Feistel rounds: a PRP from a PRF */

static void mp_wake(struct mp_pool *pool)
{
	if (wq_has_sleeper(&pool->wq))
		wake_up_all(&pool->wq);
}

/* Rounds *@size up to a page; false if that overflows. */
static bool mp_page_align(u64 *size)
{
	if (check_add_overflow(*size, (u64)PAGE_SIZE - 1, size))
		return false;
	*size &= ~((u64)PAGE_SIZE - 1);
	return true;
}

/*
 * Lays out @nr classes: page-aligned starts, 64-byte strides.  Fills @out
 * when given.  Returns -E2BIG if a size does not fit.
 */
static int mp_layout(const struct msgpool_class *cls, u32 nr,
		     struct mp_class *out, u64 *map_size, u32 *nr_slots)
{
	u64 total = 0, stride, bytes;
	u32 slots = 0, i;

	for (i = 0; i < nr; i++) {
		stride = ALIGN((u64)cls[i].slot_size, MP_SLOT_ALIGN);
		if (stride > U32_MAX || !mp_page_align(&total) ||
		    check_mul_overflow(stride, (u64)cls[i].nr_slots, &bytes))
			return -E2BIG;
		if (out) {
			out[i].slot_size = cls[i].slot_size;
			out[i].stride = stride;
			out[i].nr_slots = cls[i].nr_slots;
			out[i].first = slots;
			out[i].offset = total;
		}
		if (check_add_overflow(total, bytes, &total))
			return -E2BIG;
		slots += cls[i].nr_slots;	/* at most 8 << 24 */
	}
	if (!mp_page_align(&total))
		return -E2BIG;
	*map_size = total;
	*nr_slots = slots;
	return 0;
}

int mp_config_check(const struct msgpool_class *cls, u32 nr,
		    u64 max_bytes, u32 max_slots, u64 *map_size)
{
	u32 prev = 0, slots, i;
	u64 size;
	int err;

	if (!nr || nr > MSGPOOL_MAX_CLASSES)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		if (cls[i].slot_size <= prev || !cls[i].nr_slots ||
		    cls[i].nr_slots > MP_MAX_CLASS_SLOTS)
			return -EINVAL;
		prev = cls[i].slot_size;
	}
	err = mp_layout(cls, nr, NULL, &size, &slots);
	if (err)
		return err;
	/* The limit is on what the pool costs: its page-aligned mapping. */
	if (size > max_bytes || slots > max_slots)
		return -E2BIG;
	*map_size = size;
	return 0;
}

/* Slot 0 first: the free list is 0, 1, 2, ... until slots come back. */
static void mp_class_init(struct mp_pool *pool, u32 c)
{
	struct mp_class *cls = &pool->classes[c];
	struct mp_slot *slot;
	u32 i, cap;

	/*
	 * A peer's cache may hoard what another peer needs: that one then
	 * takes it back (mp_mag_steal()), slowly, so caches stay a small
	 * share of their class and small classes have none.
	 */
	cap = cls->nr_slots / MP_MAG_SHARE;
	if (cap > MP_MAG_SLOTS)
		cap = MP_MAG_SLOTS;
	cap &= ~1U;
	cls->mag_cap = cap >= MP_MAG_MIN ? cap : 0;
	cls->mag_batch = cls->mag_cap / 2;

	for (i = 0; i < cls->nr_slots; i++) {
		slot = &pool->slots[cls->first + i];
		init_rwsem(&slot->sem);
		slot->state = MP_SLOT_FREE;
		slot->class_idx = c;
		slot->next = i + 1 < cls->nr_slots ? i + 1 : MP_NIL;
	}
	cls->free_head = 0;
	atomic_set(&cls->available, cls->nr_slots);
}

int mp_pool_init(struct mp_pool *pool, const struct msgpool_class *cls,
		 u32 nr)
{
	u64 map_size;
	int err;
	u32 c;

	err = mp_config_check(cls, nr, U64_MAX, U32_MAX, &map_size);
	if (err)
		return err;
	memset(pool, 0, sizeof(*pool));
	mutex_init(&pool->pub_lock);
	spin_lock_init(&pool->mag_lock);
	INIT_LIST_HEAD(&pool->mags);
	pool->pub_head = MP_NIL;
	pool->pub_tail = MP_NIL;
	mp_layout(cls, nr, pool->classes, &pool->map_size, &pool->capacity);
	pool->slots = kvcalloc(pool->capacity, sizeof(*pool->slots),
			       GFP_KERNEL_ACCOUNT);
	if (!pool->slots) {
		mutex_destroy(&pool->pub_lock);
		return -ENOMEM;
	}
	pool->nr_classes = nr;
	get_random_bytes(&pool->key, sizeof(pool->key));
	pool->slot_bits = pool->capacity > 1 ? ilog2(pool->capacity - 1) + 1 : 0;
	pool->gen_max = U64_MAX >> pool->slot_bits;
	for (c = 0; c < nr; c++)
		mp_class_init(pool, c);
	atomic_set(&pool->census[MP_SLOT_FREE], pool->capacity);
	init_waitqueue_head(&pool->wq);
	return 0;
}

void mp_pool_destroy(struct mp_pool *pool)
{
	/* A peer left listed may cache slots that are now lost. */
	WARN_ON(!list_empty(&pool->mags));
	kvfree(pool->slots);
	pool->slots = NULL;
	mutex_destroy(&pool->pub_lock);
}

/*
 * The free list: a Treiber stack whose head packs a tag above the index.
 * The tag moves on every successful push and pop, so a head that was
 * popped and pushed back since it was read fails the compare-and-swap.
 *
 * Pops and pushes move a chain of up to a batch of slots with one
 * compare-and-swap.  A pop walks @next from the head it read; a slot on
 * the stack keeps its @next until it is popped, so if the head is the
 * same (tag included) at the compare-and-swap, nothing was pushed or
 * popped meanwhile and the walk was of the stack as it stands.  A walk
 * of a stale head reads links that may have changed, but each is a slot
 * index or MP_NIL, and its compare-and-swap fails.
 *
 * @available counts the slots a pop may take: a push links its slots
 * before raising it and a pop lowers it before unlinking, so a pop that
 * reserved n slots always finds n on the stack, and a waiter that sees
 * it above zero finds a slot.  The slots in the peers' caches are not in
 * it (see mp_class_available()).
 */
static u64 mp_head(u64 old, u32 index)
{
	return ((old >> 32) + 1) << 32 | index;
}

static struct mp_slot *mp_class_slot(struct mp_pool *pool,
				     struct mp_class *cls, u32 index)
{
	return &pool->slots[cls->first + index];
}

/* Pops up to @max slots into @out, first popped first; returns how many. */
static u32 mp_freelist_pop_chain(struct mp_pool *pool, struct mp_class *cls,
				 u32 *out, u32 max)
{
	int avail = atomic_read(&cls->available);
	u32 index, n, want;
	u64 head;

	do {
		if (avail <= 0)
			return 0;
		want = min_t(u32, avail, max);
	} while (!atomic_try_cmpxchg(&cls->available, &avail, avail - want));
	head = READ_ONCE(cls->free_head);
	for (;;) {
		index = (u32)head;
		for (n = 0; n < want && index != MP_NIL; n++) {
			out[n] = index;
			index = READ_ONCE(mp_class_slot(pool, cls, index)->next);
		}
		/* Reserved, so only a stale head runs out first. */
		if (n < want)
			head = READ_ONCE(cls->free_head);
		else if (try_cmpxchg64(&cls->free_head, &head,
				       mp_head(head, index)))
			return want;
	}
}

/* Pushes @n slots that the caller owns, @in[0] on top. */
static void mp_freelist_push_chain(struct mp_pool *pool, struct mp_class *cls,
				   const u32 *in, u32 n)
{
	struct mp_slot *last = mp_class_slot(pool, cls, in[n - 1]);
	u64 head;
	u32 i;

	for (i = 0; i + 1 < n; i++)
		WRITE_ONCE(mp_class_slot(pool, cls, in[i])->next, in[i + 1]);
	head = READ_ONCE(cls->free_head);
	do {
		WRITE_ONCE(last->next, (u32)head);
	} while (!try_cmpxchg64(&cls->free_head, &head, mp_head(head, in[0])));
	atomic_add(n, &cls->available);
}

u32 mp_freelist_pop(struct mp_pool *pool, struct mp_class *cls)
{
	u32 index;

	if (!mp_freelist_pop_chain(pool, cls, &index, 1))
		return MP_NIL;
	return index;
}

void mp_freelist_push(struct mp_pool *pool, struct mp_class *cls, u32 index)
{
	mp_freelist_push_chain(pool, cls, &index, 1);
}

/*
 * Per-peer caches ("magazines", as in Bonwick's allocator and SLUB's
 * per-CPU free lists) in front of the stacks: a peer allocates from and
 * frees into its own cache, under its own spinlock, and touches the
 * shared head once per &mp_class.mag_batch slots.  Per peer rather than
 * per CPU: a loan already runs under its peer's mutex, so the cache's
 * lock is all but never contended, whatever CPU the task is on; a cache
 * dies with its peer, in mp_peer_reclaim(), with no CPU hotplug to mind;
 * and caches cost memory per open file, not per CPU and pool.
 *
 * A cached slot is free: it counts in @available as users see it
 * (mp_class_available()) and any loan can have it.  A peer that finds
 * its cache and the stack empty calls mp_mag_steal(), which under the
 * pool's mag_lock moves half of each other cache in turn to the stack
 * until it can pop from it.  It fails only when, after a scan of every
 * cache found nothing, the head is the very one (tag included) it read
 * empty before the scan: no slot went on or off the stack meanwhile,
 * every move between a stack and a cache holds the cache's lock across
 * its compare-and-swap, and the scans are serialised, so no free slot
 * of the class was anywhere the scan did not look.
 *
 * A sum of @available and the caches read across a move between a
 * stack and a cache may miss its batch for a moment: each move wakes the
 * pool's waiters after it, so that none sleeps on such a sum while slots
 * are free.
 */

/* Puts @peer on the pool's list before its caches hold a slot. */
static void mp_mag_enlist(struct mp_pool *pool, struct mp_peer *peer)
{
	if (READ_ONCE(peer->mag_listed))
		return;
	spin_lock(&pool->mag_lock);
	if (!peer->mag_listed) {
		list_add_tail(&peer->mag_node, &pool->mags);
		WRITE_ONCE(peer->mag_listed, true);
	}
	spin_unlock(&pool->mag_lock);
}

/* Under its peer's mag_lock: @n of @mag's coldest slots to the stack. */
static void mp_mag_spill(struct mp_pool *pool, struct mp_class *cls,
			 struct mp_mag *mag, u32 n)
{
	if (!n)
		return;
	mp_freelist_push_chain(pool, cls, mag->slots, n);
	memmove(mag->slots, mag->slots + n, (mag->nr - n) * sizeof(u32));
	WRITE_ONCE(mag->nr, mag->nr - n);
}

/*
 * Under @peer's mag_lock: a slot from its cache of @cls, which an empty
 * cache first refills from the stack.  MP_NIL if both are empty.
 */
static u32 mp_mag_refill(struct mp_pool *pool, struct mp_peer *peer,
			 struct mp_class *cls, bool *moved)
{
	struct mp_mag *mag = &peer->mags[cls - pool->classes];
	u32 n, i, t;

	if (!mag->nr) {
		n = mp_freelist_pop_chain(pool, cls, mag->slots,
					  cls->mag_batch);
		if (!n)
			return MP_NIL;
		/* The first popped goes first: the stack's order holds. */
		for (i = 0; i < n / 2; i++) {
			t = mag->slots[i];
			mag->slots[i] = mag->slots[n - 1 - i];
			mag->slots[n - 1 - i] = t;
		}
		WRITE_ONCE(mag->nr, n);
		*moved = true;
	}
	WRITE_ONCE(mag->nr, mag->nr - 1);
	return mag->slots[mag->nr];
}

/* Under the pool's mag_lock: half of the first cache with slots to the stack. */
static bool mp_mag_flush_one(struct mp_pool *pool, struct mp_class *cls)
{
	u32 c = cls - pool->classes;
	struct mp_peer *peer;
	struct mp_mag *mag;
	bool moved;

	lockdep_assert_held(&pool->mag_lock);
	list_for_each_entry(peer, &pool->mags, mag_node) {
		mag = &peer->mags[c];
		/* Locked even to look: a refill may be moving slots in. */
		spin_lock(&peer->mag_lock);
		moved = mag->nr;
		mp_mag_spill(pool, cls, mag, (mag->nr + 1) / 2);
		spin_unlock(&peer->mag_lock);
		if (moved)
			return true;
	}
	return false;
}

/* @peer's cache and the stack are empty: look in the other caches. */
static u32 mp_mag_steal(struct mp_pool *pool, struct mp_peer *peer,
			struct mp_class *cls, bool *moved)
{
	u32 index = MP_NIL;
	u64 head;

	spin_lock(&pool->mag_lock);
	for (;;) {
		head = READ_ONCE(cls->free_head);
		if ((u32)head != MP_NIL) {
			spin_lock(&peer->mag_lock);
			index = mp_mag_refill(pool, peer, cls, moved);
			spin_unlock(&peer->mag_lock);
			if (index != MP_NIL)
				break;
			continue;
		}
		if (mp_mag_flush_one(pool, cls)) {
			*moved = true;
			continue;
		}
		/* Nothing went on or off the stack while the caches were seen. */
		smp_rmb();
		if (READ_ONCE(cls->free_head) == head)
			break;
	}
	spin_unlock(&pool->mag_lock);
	return index;
}

u32 mp_mag_pop(struct mp_pool *pool, struct mp_peer *peer,
	       struct mp_class *cls)
{
	bool moved = false;
	u32 index;

	if (!cls->mag_cap)
		return mp_freelist_pop(pool, cls);
	mp_mag_enlist(pool, peer);
	spin_lock(&peer->mag_lock);
	index = mp_mag_refill(pool, peer, cls, &moved);
	spin_unlock(&peer->mag_lock);
	if (index == MP_NIL)
		index = mp_mag_steal(pool, peer, cls, &moved);
	if (moved)
		mp_wake(pool);
	return index;
}

void mp_mag_push(struct mp_pool *pool, struct mp_peer *peer,
		 struct mp_class *cls, u32 index)
{
	struct mp_mag *mag;
	bool moved;

	if (!peer || !cls->mag_cap) {
		mp_freelist_push(pool, cls, index);
		return;
	}
	mag = &peer->mags[cls - pool->classes];
	mp_mag_enlist(pool, peer);
	spin_lock(&peer->mag_lock);
	moved = mag->nr == cls->mag_cap;
	if (moved)
		mp_mag_spill(pool, cls, mag, cls->mag_batch);
	mag->slots[mag->nr] = index;
	WRITE_ONCE(mag->nr, mag->nr + 1);
	spin_unlock(&peer->mag_lock);
	if (moved)
		mp_wake(pool);
}

/* A closing peer's caches go back whole to the stacks. */
static void mp_mag_release(struct mp_pool *pool, struct mp_peer *peer)
{
	u32 c;

	if (!READ_ONCE(peer->mag_listed))
		return;
	spin_lock(&pool->mag_lock);
	list_del_init(&peer->mag_node);
	WRITE_ONCE(peer->mag_listed, false);
	spin_lock(&peer->mag_lock);
	for (c = 0; c < pool->nr_classes; c++)
		mp_mag_spill(pool, &pool->classes[c], &peer->mags[c],
			     peer->mags[c].nr);
	spin_unlock(&peer->mag_lock);
	spin_unlock(&pool->mag_lock);
}

u32 mp_class_available(struct mp_pool *pool, u32 c)
{
	struct mp_peer *peer;
	int n;

	spin_lock(&pool->mag_lock);
	n = atomic_read(&pool->classes[c].available);
	list_for_each_entry(peer, &pool->mags, mag_node)
		n += READ_ONCE(peer->mags[c].nr);
	spin_unlock(&pool->mag_lock);
	/* A spill counts its slots twice for a moment: never above the class. */
	return min_t(u32, n, pool->classes[c].nr_slots);
}

int mp_class_pick(struct mp_pool *pool, u32 len)
{
	u32 c;

	for (c = 0; c < pool->nr_classes; c++)
		if (pool->classes[c].slot_size >= len &&
		    mp_class_available(pool, c) > 0)
			return c;
	return -ENOBUFS;
}

/*
 * Tokens.  A token is a slot's global index and its generation, packed as
 * gen << slot_bits | index and enciphered under the pool's random key by a
 * balanced Feistel network whose round function is SipHash.  Four rounds
 * of a pseudorandom function make a pseudorandom permutation of the 64-bit
 * words (Luby-Rackoff), so:
 *  - a token of another pool deciphers to a random word, whose generation
 *    matches its slot's with probability 2^-(64 - slot_bits);
 *  - a live token is no easier to guess, however many tokens of its pool
 *    a peer has seen;
 *  - a token value comes back only with the same slot and generation, and
 *    a slot whose generation would pass gen_max is retired, never reused.
 */
static u32 mp_token_round(const struct mp_pool *pool, u32 round, u32 half)
{
	return (u32)siphash_2u32(round, half, &pool->key);
}

static u64 mp_token_encipher(const struct mp_pool *pool, u64 word)
{
	u32 left = word >> 32, right = (u32)word, t;
	u32 r;

	for (r = 0; r < MP_TOKEN_ROUNDS; r++) {
		t = right;
		right = left ^ mp_token_round(pool, r, right);
		left = t;
	}
	return (u64)left << 32 | right;
}

static u64 mp_token_decipher(const struct mp_pool *pool, u64 token)
{
	u32 left = token >> 32, right = (u32)token, t;
	u32 r;

	for (r = MP_TOKEN_ROUNDS; r-- > 0;) {
		t = left;
		left = right ^ mp_token_round(pool, r, left);
		right = t;
	}
	return (u64)left << 32 | right;
}

u64 mp_token_make(const struct mp_pool *pool, u32 slot, u64 gen)
{
	return mp_token_encipher(pool, gen << pool->slot_bits | slot);
}

int mp_token_open(const struct mp_pool *pool, u64 token, u32 *slot,
		  u64 *gen)
{
	u64 word = mp_token_decipher(pool, token);
	u64 index = word & ((1ULL << pool->slot_bits) - 1);

	/* 0 is never made (see mp_slot_next_gen()): the "no token" value. */
	*gen = word >> pool->slot_bits;
	if (!token || !*gen || index >= pool->capacity)
		return -EINVAL;
	*slot = index;
	return 0;
}

static void mp_ref_fill(const struct mp_pool *pool, u32 slot, u64 gen,
			struct mp_ref *ref)
{
	u32 c = pool->slots[slot].class_idx;
	const struct mp_class *cls = &pool->classes[c];
	u32 index = slot - cls->first;

	ref->token = mp_token_make(pool, slot, gen);
	ref->offset = cls->offset + (u64)index * cls->stride;
	ref->capacity = cls->slot_size;
	ref->slot = slot;
}

/*
 * The hold table of a peer: open addressing with linear probing, keyed by
 * slot + 1, at most 3/4 full.  Every function here needs @peer->lock.
 */
static u32 mp_hold_home(const struct mp_peer *peer, u32 key)
{
	return hash_32(key, ilog2(peer->hold_cap));
}

static struct mp_hold *mp_hold_find(struct mp_peer *peer, u32 slot)
{
	u32 mask = peer->hold_cap - 1, i;

	lockdep_assert_held(&peer->lock);
	if (!peer->hold_cap)
		return NULL;
	for (i = mp_hold_home(peer, slot + 1); peer->holds[i].slot;
	     i = (i + 1) & mask)
		if (peer->holds[i].slot == slot + 1)
			return &peer->holds[i];
	return NULL;
}

static struct mp_hold *mp_hold_cell(struct mp_peer *peer, u32 key)
{
	u32 mask = peer->hold_cap - 1, i;

	for (i = mp_hold_home(peer, key); peer->holds[i].slot;
	     i = (i + 1) & mask)
		;
	return &peer->holds[i];
}

/* Makes room for one more hold, so that recording one cannot fail. */
static int mp_hold_reserve(struct mp_peer *peer)
{
	u32 cap = peer->hold_cap ? peer->hold_cap * 2 : MP_HOLD_MIN;
	struct mp_hold *old = peer->holds;
	u32 i;

	lockdep_assert_held(&peer->lock);
	if ((peer->hold_used + 1) * 4 <= peer->hold_cap * 3)
		return 0;
	peer->holds = kvcalloc(cap, sizeof(*old), GFP_KERNEL_ACCOUNT);
	if (!peer->holds) {
		peer->holds = old;
		return -ENOMEM;
	}
	i = peer->hold_cap;
	peer->hold_cap = cap;
	while (i--)
		if (old[i].slot)
			*mp_hold_cell(peer, old[i].slot) = old[i];
	kvfree(old);
	return 0;
}

/* The hold of @slot, new and empty if there was none; room is reserved. */
static struct mp_hold *mp_hold_get(struct mp_peer *peer, u32 slot)
{
	struct mp_hold *hold = mp_hold_find(peer, slot);

	if (hold)
		return hold;
	hold = mp_hold_cell(peer, slot + 1);
	hold->slot = slot + 1;
	peer->hold_used++;
	return hold;
}

/* Drops @hold if it holds nothing, shifting its probe chain back. */
static void mp_hold_put(struct mp_peer *peer, struct mp_hold *hold)
{
	u32 mask = peer->hold_cap - 1;
	u32 hole = hold - peer->holds, i, home;

	if (hold->reads || hold->write)
		return;
	peer->hold_used--;
	for (i = (hole + 1) & mask; peer->holds[i].slot; i = (i + 1) & mask) {
		home = mp_hold_home(peer, peer->holds[i].slot);
		/* It stays if its home lies cyclically in (hole, i]. */
		if (((i - home) & mask) < ((i - hole) & mask))
			continue;
		peer->holds[hole] = peer->holds[i];
		hole = i;
	}
	memset(&peer->holds[hole], 0, sizeof(peer->holds[hole]));
}

void mp_peer_init(struct mp_peer *peer, u32 id, bool writable)
{
	memset(peer, 0, sizeof(*peer));
	peer->id = id;
	peer->writable = writable;
	peer->reader = -1;
	mutex_init(&peer->lock);
	spin_lock_init(&peer->mag_lock);
	INIT_LIST_HEAD(&peer->mag_node);
}

/* Slot helpers; the caller holds @slot->sem, exclusive where it writes. */
static bool mp_slot_stale(const struct mp_slot *slot, u64 gen)
{
	return slot->gen != gen || slot->state == MP_SLOT_FREE ||
	       slot->state == MP_SLOT_RETIRED;
}

static int mp_slot_check(const struct mp_slot *slot, u64 gen)
{
	if (mp_slot_stale(slot, gen))
		return -ESTALE;
	if (slot->state == MP_SLOT_POISONED)
		return -EOWNERDEAD;
	return 0;
}

/* Under @slot->sem, held for writing; @owner may be NULL. */
static void mp_slot_set_owner(struct mp_slot *slot, struct mp_peer *owner)
{
	if (slot->owner)
		atomic_dec(&slot->owner->owned);
	if (owner)
		atomic_inc(&owner->owned);
	WRITE_ONCE(slot->owner, owner);
}

static bool mp_slot_idle(struct mp_slot *slot)
{
	return !slot->writer && !atomic_read(&slot->readers);
}

/*
 * The census: how many slots are in each state, a READY slot under a
 * borrow counted as MP_CENSUS_BORROWED, kept as the slots change so that
 * the stats never look at a slot.  A change under a slot's sem held for
 * writing moves the slot from the bucket it was in at mp_slot_lock() to
 * the one it is in at mp_slot_unlock().  Read borrows change a slot under
 * the sem held shared: the first borrow and the last release move it.
 */
static int mp_slot_bucket(struct mp_slot *slot)
{
	if (slot->state == MP_SLOT_READY && !mp_slot_idle(slot))
		return MP_CENSUS_BORROWED;
	return slot->state;
}

static void mp_census_move(struct mp_pool *pool, int from, int to)
{
	if (from == to)
		return;
	atomic_dec(&pool->census[from]);
	atomic_inc(&pool->census[to]);
}

static int mp_slot_lock(struct mp_slot *slot)
{
	down_write(&slot->sem);
	return mp_slot_bucket(slot);
}

static void mp_slot_unlock(struct mp_pool *pool, struct mp_slot *slot,
			   int was)
{
	mp_census_move(pool, was, mp_slot_bucket(slot));
	up_write(&slot->sem);
}

static void mp_slot_free_locked(struct mp_pool *pool, struct mp_slot *slot)
{
	/* Its tokens are stale now; the next loan moves the generation. */
	WRITE_ONCE(slot->state, MP_SLOT_FREE);
	mp_slot_set_owner(slot, NULL);
	WRITE_ONCE(slot->writer, 0);
	slot->flags = 0;
	atomic64_inc(&pool->cnt.frees);
}

/*
 * After mp_slot_free_locked() and up_write(): back on the free list, in
 * @peer's cache if given (a writer that freed it: it may loan it next).
 */
static void mp_slot_push(struct mp_pool *pool, struct mp_peer *peer,
			 u32 slot)
{
	struct mp_class *cls = &pool->classes[pool->slots[slot].class_idx];

	mp_mag_push(pool, peer, cls, slot - cls->first);
}

/* Frees an orphaned slot once its last borrow is gone. */
static bool mp_slot_orphan_free(struct mp_pool *pool, struct mp_slot *slot)
{
	if (!(slot->flags & MP_SLOT_ORPHAN) || !mp_slot_idle(slot))
		return false;
	mp_slot_free_locked(pool, slot);
	atomic64_inc(&pool->cnt.reclaimed);
	return true;
}

/*
 * Published slots.  They sit on the pool's publish list in sequence order
 * until every reader of @pending has marked them read, or an overwrite
 * takes them back.  Everything here needs @pool->pub_lock.
 */
static void mp_pub_append(struct mp_pool *pool, u32 index)
{
	struct mp_slot *slot = &pool->slots[index];

	slot->pub_prev = pool->pub_tail;
	slot->pub_next = MP_NIL;
	if (pool->pub_tail != MP_NIL)
		pool->slots[pool->pub_tail].pub_next = index;
	else
		pool->pub_head = index;
	pool->pub_tail = index;
}

static void mp_pub_unlink(struct mp_pool *pool, u32 index)
{
	struct mp_slot *slot = &pool->slots[index];

	if (slot->pub_prev != MP_NIL)
		pool->slots[slot->pub_prev].pub_next = slot->pub_next;
	else
		pool->pub_head = slot->pub_next;
	if (slot->pub_next != MP_NIL)
		pool->slots[slot->pub_next].pub_prev = slot->pub_prev;
	else
		pool->pub_tail = slot->pub_prev;
}

/* A published slot goes back free; the caller wakes the pool. */
static void mp_pub_free(struct mp_pool *pool, u32 index)
{
	struct mp_slot *slot = &pool->slots[index];
	int was;

	lockdep_assert_held(&pool->pub_lock);
	mp_pub_unlink(pool, index);
	slot->pending = 0;
	slot->taken = 0;
	was = mp_slot_lock(slot);
	mp_slot_free_locked(pool, slot);
	mp_slot_unlock(pool, slot, was);
	mp_slot_push(pool, NULL, index);
	atomic64_inc(&pool->notify_gen);
}

/* Adds @delta to the untaken count of every reader in @mask. */
static void mp_unread_add(struct mp_pool *pool, u64 mask, int delta)
{
	u32 r;

	for (; mask; mask &= mask - 1) {
		r = __ffs64(mask);
		WRITE_ONCE(pool->unread[r], pool->unread[r] + delta);
	}
}

/* The oldest published slot that nobody has taken and that holds @len. */
static u32 mp_pub_victim(struct mp_pool *pool, u32 len)
{
	struct mp_slot *slot;
	u32 i;

	lockdep_assert_held(&pool->pub_lock);
	for (i = pool->pub_head; i != MP_NIL; i = slot->pub_next) {
		slot = &pool->slots[i];
		if (!slot->taken &&
		    pool->classes[slot->class_idx].slot_size >= len)
			return i;
	}
	return MP_NIL;
}

/* Under pub_lock: the readers in @mask lose a message they had not taken. */
static void mp_lose_untaken(struct mp_pool *pool, u64 mask)
{
	u32 r;

	mp_unread_add(pool, mask, -1);
	for (; mask; mask &= mask - 1) {
		r = __ffs64(mask);
		if (pool->lost[r] != U32_MAX)
			pool->lost[r]++;
	}
}

/* Under pub_lock: reader @r drops its oldest untaken message, if any. */
static bool mp_reader_drop_oldest(struct mp_pool *pool, u32 r)
{
	u64 bit = (u64)1 << r;
	struct mp_slot *slot;
	u32 i;

	for (i = pool->pub_head; i != MP_NIL; i = slot->pub_next) {
		slot = &pool->slots[i];
		if (slot->pending & ~slot->taken & bit)
			break;
	}
	if (i == MP_NIL)
		return false;
	slot->pending &= ~bit;
	mp_lose_untaken(pool, bit);
	if (!slot->pending)
		mp_pub_free(pool, i);
	return true;
}

/*
 * Under pub_lock, after a publish to @mask: a reader past the pool's
 * limit loses its oldest untaken messages, so that it cannot hold the
 * slots a writer waits for.
 */
static void mp_reader_limit(struct mp_pool *pool, u64 mask)
{
	u32 r;

	if (!pool->reader_limit)
		return;
	for (; mask; mask &= mask - 1) {
		r = __ffs64(mask);
		while (pool->unread[r] > pool->reader_limit &&
		       mp_reader_drop_oldest(pool, r))
			;
	}
}

/*
 * Overwrite-oldest: frees the oldest published slot a loan of @len could
 * use; its readers are told at their next take.  False if none.
 */
static bool mp_overwrite_oldest(struct mp_pool *pool, u32 len)
{
	u32 index;

	mutex_lock(&pool->pub_lock);
	index = mp_pub_victim(pool, len);
	if (index != MP_NIL) {
		mp_lose_untaken(pool, pool->slots[index].pending);
		mp_pub_free(pool, index);
	}
	mutex_unlock(&pool->pub_lock);
	return index != MP_NIL;
}

/* Allocation. */

/*
 * Under @slot->sem, held for writing: the generation of its next message,
 * skipping one whose token would be 0.  False when the generations are
 * spent: the slot is retired, so that no token value comes back.
 */
static bool mp_slot_next_gen(struct mp_pool *pool, struct mp_slot *slot,
			     u32 index)
{
	u64 gen = slot->gen;

	do {
		if (gen >= pool->gen_max) {
			WRITE_ONCE(slot->state, MP_SLOT_RETIRED);
			mp_census_move(pool, MP_SLOT_FREE, MP_SLOT_RETIRED);
			return false;
		}
		gen++;
	} while (!mp_token_make(pool, index, gen));
	WRITE_ONCE(slot->gen, gen);
	return true;
}

/*
 * A free slot of the smallest class that fits @len and has one, its sem
 * held for writing and its generation moved on; -ENOBUFS when none.
 */
static int mp_slot_alloc(struct mp_pool *pool, struct mp_peer *peer, u32 len)
{
	struct mp_class *cls;
	struct mp_slot *slot;
	u32 c, index;

	for (c = 0; c < pool->nr_classes; c++) {
		cls = &pool->classes[c];
		if (cls->slot_size < len)
			continue;
		/* A retired slot is dropped: look again in the same class. */
		while ((index = mp_mag_pop(pool, peer, cls)) != MP_NIL) {
			index += cls->first;
			slot = &pool->slots[index];
			/* Popped, so FREE: mp_loan_try() unlocks it as such. */
			down_write(&slot->sem);
			if (mp_slot_next_gen(pool, slot, index))
				return index;
			up_write(&slot->sem);
		}
	}
	return -ENOBUFS;
}

static int mp_loan_try(struct mp_pool *pool, struct mp_peer *peer, u32 len,
		       struct mp_ref *ref)
{
	struct mp_hold *hold;
	struct mp_slot *slot;
	int index, err;

	mutex_lock(&peer->lock);
	err = mp_hold_reserve(peer);
	if (err)
		goto unlock;
	index = mp_slot_alloc(pool, peer, len);
	if (index < 0) {
		err = index;
		goto unlock;
	}
	slot = &pool->slots[index];
	mp_slot_set_owner(slot, peer);
	WRITE_ONCE(slot->writer, peer->id);
	WRITE_ONCE(slot->state, MP_SLOT_LOANED);
	mp_ref_fill(pool, index, slot->gen, ref);
	mp_slot_unlock(pool, slot, MP_SLOT_FREE);
	hold = mp_hold_get(peer, index);
	hold->write = MP_HOLD_LOAN;
	hold->sealed = 0;
	atomic64_inc(&pool->cnt.loans);
unlock:
	mutex_unlock(&peer->lock);
	return err;
}

static bool mp_rings_sync_locked(struct mp_pool *pool);
static void mp_rings_want_slot(struct mp_pool *pool, bool wait);
static void mp_rings_slot_done(struct mp_pool *pool);

int mp_loan(struct mp_pool *pool, struct mp_peer *peer, u32 len, u32 flags,
	    struct mp_ref *ref)
{
	bool wait = (flags & MSGPOOL_F_WAIT) && !(flags & MSGPOOL_F_NONBLOCK);
	bool asked = false;
	s64 gen;
	int err;

	if (!peer->writable)
		return -EBADF;
	if (len > pool->classes[pool->nr_classes - 1].slot_size)
		return -EMSGSIZE;
	for (;;) {
		/* Overwrite-oldest: a mark read may make a slot a victim. */
		gen = atomic64_read(&pool->notify_gen);
		err = mp_loan_try(pool, peer, len, ref);
		if (err == -ENOBUFS && pool->overwrite &&
		    mp_overwrite_oldest(pool, len))
			continue;
		/* Readers with rings may have completed messages unseen. */
		if (err == -ENOBUFS && !asked && READ_ONCE(pool->ring_mask)) {
			asked = true;
			mp_rings_want_slot(pool, wait);
			continue;
		}
		if (err != -ENOBUFS || !(flags & MSGPOOL_F_WAIT))
			break;
		if (flags & MSGPOOL_F_NONBLOCK) {
			err = -EAGAIN;
			break;
		}
		/* A hint only: the next try decides; a new ring is asked. */
		err = wait_event_interruptible(pool->wq,
			mp_class_pick(pool, len) >= 0 ||
			(pool->overwrite &&
			 atomic64_read(&pool->notify_gen) != gen) ||
			(!asked && READ_ONCE(pool->ring_mask)));
		if (err)
			break;
	}
	if (asked && wait)
		mp_rings_slot_done(pool);
	if (err == -ENOBUFS || err == -EAGAIN)
		atomic64_inc(&pool->cnt.nobufs);
	return err;
}

/* Under @slot->sem: may @hold end this loan, with message @hdr if any? */
static int mp_loan_end_check(struct mp_pool *pool, struct mp_slot *slot,
			     struct mp_hold *hold, u64 gen,
			     const struct mp_msg_hdr *hdr)
{
	if (mp_slot_stale(slot, gen))
		return -ESTALE;
	if (!hold || !hold->write || slot->state != MP_SLOT_LOANED)
		return -EPERM;
	if (hdr && hdr->len > pool->classes[slot->class_idx].slot_size)
		return -EMSGSIZE;
	return 0;
}

/*
 * Under @slot->sem, held for writing: @hdr, as the caller filled it, is
 * the header of a finished message, numbered in the pool's sequence.
 */
static void mp_slot_stamp(struct mp_pool *pool, struct mp_slot *slot,
			  struct mp_msg_hdr *hdr)
{
	hdr->seq = atomic64_inc_return(&pool->seq);
	slot->hdr = *hdr;
	WRITE_ONCE(slot->writer, 0);
}

/*
 * Ends the loan of @token held by @peer: commit (@hdr given) or discard.
 * Returns -EPERM unless @peer holds that loan.
 */
static int mp_loan_end(struct mp_pool *pool, struct mp_peer *peer, u64 token,
		       struct mp_msg_hdr *hdr)
{
	struct mp_hold *hold;
	struct mp_slot *slot;
	u32 index;
	u64 gen;
	int err, was;

	if (!peer->writable)
		return -EBADF;
	err = mp_token_open(pool, token, &index, &gen);
	if (err)
		return err;
	slot = &pool->slots[index];

	mutex_lock(&peer->lock);
	hold = mp_hold_find(peer, index);
	was = mp_slot_lock(slot);
	err = mp_loan_end_check(pool, slot, hold, gen, hdr);
	if (err) {
		mp_slot_unlock(pool, slot, was);
		goto unlock;
	}
	if (hdr) {
		mp_slot_stamp(pool, slot, hdr);
		WRITE_ONCE(slot->state, MP_SLOT_READY);
		atomic64_inc(&pool->cnt.stores);
	} else {
		mp_slot_free_locked(pool, slot);
	}
	mp_slot_unlock(pool, slot, was);
	if (!hdr)
		mp_slot_push(pool, peer, index);
	hold->write = 0;
	mp_hold_put(peer, hold);
	mp_wake(pool);
unlock:
	mutex_unlock(&peer->lock);
	return err;
}

int mp_commit(struct mp_pool *pool, struct mp_peer *peer, u64 token,
	      struct mp_msg_hdr *hdr)
{
	return mp_loan_end(pool, peer, token, hdr);
}

int mp_discard(struct mp_pool *pool, struct mp_peer *peer, u64 token)
{
	return mp_loan_end(pool, peer, token, NULL);
}

/* Borrows. */

/* Lockless: may a borrow of @slot go ahead, or fail for good? */
static bool mp_borrow_may_run(struct mp_slot *slot, u64 gen, bool write)
{
	if (READ_ONCE(slot->gen) != gen)
		return true;
	return !READ_ONCE(slot->writer) &&
	       !(write && atomic_read(&slot->readers));
}

static bool mp_borrow_conflict(struct mp_slot *slot, bool write)
{
	return slot->writer || (write && atomic_read(&slot->readers));
}

/*
 * A conflict that only @peer itself could end: its own loan or write
 * borrow, or its own read borrows against its write borrow.  Waiting for
 * it would never end.
 */
static bool mp_borrow_self_conflict(struct mp_peer *peer,
				    struct mp_slot *slot,
				    const struct mp_hold *hold, bool write)
{
	return slot->writer == peer->id || (write && hold && hold->reads);
}

/*
 * Under @slot->sem: take the borrow, or say why not.  @hold: @peer's.
 * *@first: a read borrow that made the slot borrowed.
 */
static int mp_borrow_locked(struct mp_peer *peer, struct mp_slot *slot,
			    u64 gen, u32 flags, const struct mp_hold *hold,
			    bool *first)
{
	bool write = flags & MSGPOOL_F_WRITE;
	int err = mp_slot_check(slot, gen);
	int readers;

	if (err)
		return err;
	/* Readers take a published slot; nobody may borrow it. */
	if (slot->state == MP_SLOT_PUBLISHED)
		return -EPERM;
	if (mp_borrow_self_conflict(peer, slot, hold, write))
		return -EDEADLK;
	if (mp_borrow_conflict(slot, write))
		return -EBUSY;
	if (write) {
		WRITE_ONCE(slot->writer, peer->id);
	} else {
		if (hold && hold->reads == U16_MAX)
			return -EOVERFLOW;
		readers = atomic_fetch_add_unless(&slot->readers, 1, INT_MAX);
		if (readers == INT_MAX)
			return -EOVERFLOW;
		*first = !readers;
	}
	if (flags & MSGPOOL_F_ADOPT) {
		mp_slot_set_owner(slot, peer);
		slot->flags &= ~MP_SLOT_ORPHAN;
	}
	return 0;
}

static int mp_borrow_try(struct mp_pool *pool, struct mp_peer *peer,
			 u32 index, u64 gen, u32 flags, struct mp_ref *ref,
			 struct mp_msg_hdr *hdr)
{
	/* Adopting changes the owner: that needs the slot to itself. */
	bool excl = flags & (MSGPOOL_F_WRITE | MSGPOOL_F_ADOPT);
	struct mp_slot *slot = &pool->slots[index];
	bool first = false;
	struct mp_hold *hold;
	int err, was = 0;

	mutex_lock(&peer->lock);
	err = mp_hold_reserve(peer);
	if (err)
		goto unlock;
	hold = mp_hold_find(peer, index);
	if (excl)
		was = mp_slot_lock(slot);
	else
		down_read(&slot->sem);
	err = mp_borrow_locked(peer, slot, gen, flags, hold, &first);
	if (!err) {
		*hdr = slot->hdr;
		mp_ref_fill(pool, index, gen, ref);
	}
	if (excl) {
		mp_slot_unlock(pool, slot, was);
	} else {
		/* Borrowable means READY and no writer: it is borrowed now. */
		if (!err && first)
			mp_census_move(pool, MP_SLOT_READY, MP_CENSUS_BORROWED);
		up_read(&slot->sem);
	}
	if (err)
		goto unlock;
	hold = mp_hold_get(peer, index);
	if (flags & MSGPOOL_F_WRITE) {
		hold->write = MP_HOLD_WRITE;
		hold->sealed = 0;
	} else {
		hold->reads++;
	}
	atomic64_inc(&pool->cnt.borrows);
unlock:
	mutex_unlock(&peer->lock);
	return err;
}

int mp_borrow(struct mp_pool *pool, struct mp_peer *peer, u64 token,
	      u32 flags, struct mp_ref *ref, struct mp_msg_hdr *hdr)
{
	bool write = flags & MSGPOOL_F_WRITE;
	u64 gen;
	struct mp_slot *slot;
	u32 index;
	int err;

	/* Adopting makes the peer the one to free it: a writer's right. */
	if ((flags & (MSGPOOL_F_WRITE | MSGPOOL_F_ADOPT)) && !peer->writable)
		return -EBADF;
	err = mp_token_open(pool, token, &index, &gen);
	if (err)
		return err;
	slot = &pool->slots[index];
	for (;;) {
		err = mp_borrow_try(pool, peer, index, gen, flags, ref, hdr);
		if (err != -EBUSY || (flags & MSGPOOL_F_NONBLOCK))
			return err;
		/* Any signal ends the wait: nothing is held yet. */
		err = wait_event_interruptible(pool->wq,
					mp_borrow_may_run(slot, gen, write));
		if (err)
			return err;
	}
}

/* Ends @peer's write borrow of @slot: @hold is that borrow. */
static int mp_release_write(struct mp_pool *pool, struct mp_slot *slot,
			    struct mp_hold *hold, u64 gen, u32 flags, u32 len)
{
	bool freed = false;
	int err = 0;
	int was;

	was = mp_slot_lock(slot);
	if (mp_slot_stale(slot, gen))
		err = -ESTALE;
	else if (slot->state != MP_SLOT_READY)
		err = -EPERM;	/* a loan ends by commit or discard */
	else if ((flags & MSGPOOL_F_SETLEN) &&
		 len > pool->classes[slot->class_idx].slot_size)
		err = -EMSGSIZE;
	if (!err) {
		if (flags & MSGPOOL_F_SETLEN)
			slot->hdr.len = len;
		WRITE_ONCE(slot->writer, 0);
		hold->write = 0;
		freed = mp_slot_orphan_free(pool, slot);
	}
	mp_slot_unlock(pool, slot, was);
	if (freed)
		mp_slot_push(pool, NULL, hold->slot - 1);
	return err;
}

/* Frees @slot if it is an orphan whose last borrow just went. */
static void mp_orphan_put(struct mp_pool *pool, u32 index, u64 gen)
{
	struct mp_slot *slot = &pool->slots[index];
	bool freed = false;
	int was;

	was = mp_slot_lock(slot);
	if (!mp_slot_stale(slot, gen))
		freed = mp_slot_orphan_free(pool, slot);
	mp_slot_unlock(pool, slot, was);
	if (freed)
		mp_slot_push(pool, NULL, index);
}

/*
 * Under @slot->sem held shared, after the last read borrow went: the
 * census learns, and an orphan is to be freed.
 */
static bool mp_read_borrows_gone(struct mp_pool *pool, struct mp_slot *slot)
{
	/* Not by the bucket: a new first read borrow may have come in. */
	if (slot->state == MP_SLOT_READY && !slot->writer)
		mp_census_move(pool, MP_CENSUS_BORROWED, MP_SLOT_READY);
	return slot->flags & MP_SLOT_ORPHAN;
}

/* Ends one read borrow; @hold may be NULL (then there is none to end). */
static int mp_release_read(struct mp_pool *pool, struct mp_slot *slot,
			   struct mp_hold *hold, u64 gen, u32 flags)
{
	bool orphan = false;
	int err = 0;

	down_read(&slot->sem);
	if (mp_slot_stale(slot, gen))
		err = -ESTALE;
	else if (!hold || (flags & MSGPOOL_F_SETLEN))
		err = -EPERM;	/* SETLEN needs a write borrow */
	else if (atomic_dec_and_test(&slot->readers))
		orphan = mp_read_borrows_gone(pool, slot);
	up_read(&slot->sem);
	if (err)
		return err;
	hold->reads--;
	if (orphan)
		mp_orphan_put(pool, hold->slot - 1, gen);
	return 0;
}

int mp_release(struct mp_pool *pool, struct mp_peer *peer, u64 token,
	       u32 flags, u32 len)
{
	u64 gen;
	struct mp_hold *hold;
	struct mp_slot *slot;
	u32 index;
	int err;

	err = mp_token_open(pool, token, &index, &gen);
	if (err)
		return err;
	slot = &pool->slots[index];

	mutex_lock(&peer->lock);
	hold = mp_hold_find(peer, index);
	if (hold && hold->write)
		err = mp_release_write(pool, slot, hold, gen, flags, len);
	else
		err = mp_release_read(pool, slot, hold, gen, flags);
	if (!err) {
		mp_hold_put(peer, hold);
		mp_wake(pool);
	}
	mutex_unlock(&peer->lock);
	return err;
}

int mp_free(struct mp_pool *pool, struct mp_peer *peer, u64 token)
{
	struct mp_slot *slot;
	u32 index;
	u64 gen;
	int err, was;

	if (!peer->writable)
		return -EBADF;
	err = mp_token_open(pool, token, &index, &gen);
	if (err)
		return err;
	slot = &pool->slots[index];

	was = mp_slot_lock(slot);
	err = mp_slot_stale(slot, gen) ? -ESTALE : 0;
	/* A loan is a write borrow: its loaner is the slot's writer. */
	if (!err && (!mp_slot_idle(slot) ||
		     slot->state == MP_SLOT_PUBLISHED))
		err = -EBUSY;	/* a published slot is its readers' */
	if (!err)
		mp_slot_free_locked(pool, slot);
	mp_slot_unlock(pool, slot, was);
	if (err)
		return err;
	mp_slot_push(pool, peer, index);
	mp_wake(pool);
	return 0;
}

int mp_header(struct mp_pool *pool, u64 token, struct mp_ref *ref,
	      struct mp_msg_hdr *hdr)
{
	u64 gen;
	struct mp_slot *slot;
	u32 index;
	int err;

	err = mp_token_open(pool, token, &index, &gen);
	if (err)
		return err;
	slot = &pool->slots[index];

	down_read(&slot->sem);
	err = mp_slot_check(slot, gen);
	if (!err && slot->state == MP_SLOT_LOANED)
		err = -EBUSY;
	if (!err) {
		*hdr = slot->hdr;
		mp_ref_fill(pool, index, gen, ref);
	}
	up_read(&slot->sem);
	return err;
}

/* Crash recovery. */

/* Undoes one hold of a closing peer: steps 1 to 3 of the rules. */
static void mp_hold_undo(struct mp_pool *pool, struct mp_peer *peer,
			 const struct mp_hold *hold)
{
	u32 index = hold->slot - 1;
	struct mp_slot *slot = &pool->slots[index];
	bool freed = false;
	int was;

	was = mp_slot_lock(slot);
	atomic_sub(hold->reads, &slot->readers);
	if (hold->write) {
		WRITE_ONCE(slot->writer, 0);
		if (slot->state == MP_SLOT_LOANED) {
			mp_slot_free_locked(pool, slot);
			atomic64_inc(&pool->cnt.reclaimed);
			freed = true;
		} else if (slot->owner != peer &&
			   !(slot->flags & MP_SLOT_ORPHAN)) {
			/* The message may be half written: fence it off. */
			WRITE_ONCE(slot->state, MP_SLOT_POISONED);
			atomic64_inc(&pool->cnt.poisoned);
		}
	}
	if (!freed)
		freed = mp_slot_orphan_free(pool, slot);
	mp_slot_unlock(pool, slot, was);
	if (freed)
		mp_slot_push(pool, NULL, index);
}

/* Step 4: free what @peer owns, or leave it to its last borrower. */
static void mp_owned_undo(struct mp_pool *pool, struct mp_peer *peer,
			  u32 index)
{
	struct mp_slot *slot = &pool->slots[index];
	bool freed = false;
	int was;

	was = mp_slot_lock(slot);
	if (slot->owner == peer && slot->state != MP_SLOT_FREE) {
		mp_slot_set_owner(slot, NULL);
		slot->flags |= MP_SLOT_ORPHAN;
		freed = mp_slot_orphan_free(pool, slot);
	}
	mp_slot_unlock(pool, slot, was);
	if (freed)
		mp_slot_push(pool, NULL, index);
}

void mp_peer_reclaim(struct mp_pool *pool, struct mp_peer *peer)
{
	u32 i;

	if (READ_ONCE(peer->reader) >= 0)
		mp_unsubscribe(pool, peer);

	mutex_lock(&peer->lock);
	for (i = 0; i < peer->hold_cap; i++)
		if (peer->holds[i].slot)
			mp_hold_undo(pool, peer, &peer->holds[i]);
	kvfree(peer->holds);
	peer->holds = NULL;
	peer->hold_cap = 0;
	peer->hold_used = 0;
	mutex_unlock(&peer->lock);

	/* Owners are recorded in the slots: look until none is left. */
	for (i = 0; i < pool->capacity && atomic_read(&peer->owned); i++) {
		if (READ_ONCE(pool->slots[i].owner) == peer)
			mp_owned_undo(pool, peer, i);
		if (!(i % 4096))
			cond_resched();
	}
	mp_mag_release(pool, peer);
	mutex_destroy(&peer->lock);
	mp_wake(pool);
}

/* Publish/subscribe. */
int mp_subscribe(struct mp_pool *pool, struct mp_peer *peer, u32 *reader,
		 u64 *seq)
{
	int err = 0;
	u32 r;

	mutex_lock(&pool->pub_lock);
	if (peer->reader >= 0) {
		err = -EALREADY;
	} else if (pool->readers == U64_MAX) {
		err = -EUSERS;
	} else {
		r = __ffs64(~pool->readers);
		WRITE_ONCE(pool->readers, pool->readers | (u64)1 << r);
		WRITE_ONCE(pool->unread[r], 0);
		pool->lost[r] = 0;
		WRITE_ONCE(pool->held[r], 0);
		WRITE_ONCE(peer->reader, r);
		*reader = r;
		/* Publishes bump @seq under pub_lock: later ones are above. */
		*seq = atomic64_read(&pool->seq);
	}
	mutex_unlock(&pool->pub_lock);
	return err;
}

/* Clears @peer's reader from every published slot and frees it. */
int mp_unsubscribe(struct mp_pool *pool, struct mp_peer *peer)
{
	struct mp_slot *slot;
	u32 i, next;
	u64 bit;

	mutex_lock(&pool->pub_lock);
	if (peer->reader < 0) {
		mutex_unlock(&pool->pub_lock);
		return -ENOENT;
	}
	bit = (u64)1 << peer->reader;
	/* Its rings are its file's: the pool lets go of them first. */
	pool->rings[peer->reader] = NULL;
	WRITE_ONCE(pool->ring_mask, pool->ring_mask & ~bit);
	for (i = pool->pub_head; i != MP_NIL; i = next) {
		slot = &pool->slots[i];
		next = slot->pub_next;
		slot->taken &= ~bit;
		slot->pending &= ~bit;
		if (!slot->pending)
			mp_pub_free(pool, i);
	}
	WRITE_ONCE(pool->readers, pool->readers & ~bit);
	WRITE_ONCE(pool->unread[peer->reader], 0);
	WRITE_ONCE(pool->held[peer->reader], 0);
	WRITE_ONCE(peer->reader, -1);
	atomic64_inc(&pool->notify_gen);
	mutex_unlock(&pool->pub_lock);
	mp_wake(pool);
	return 0;
}

/* Under both locks: @slot becomes the readers' message, or free. */
static bool mp_publish_locked(struct mp_pool *pool, struct mp_slot *slot,
			      struct mp_msg_hdr *hdr)
{
	mp_slot_stamp(pool, slot, hdr);
	/* Its readers, not its publisher, decide when it goes. */
	mp_slot_set_owner(slot, NULL);
	slot->pending = pool->readers;
	slot->taken = 0;
	atomic64_inc(&pool->cnt.stores);
	atomic64_inc(&pool->notify_gen);
	if (!slot->pending) {
		mp_slot_free_locked(pool, slot);
		return true;
	}
	WRITE_ONCE(slot->state, MP_SLOT_PUBLISHED);
	mp_unread_add(pool, slot->pending, 1);
	return false;
}

int mp_publish(struct mp_pool *pool, struct mp_peer *peer, u64 token,
	       struct mp_msg_hdr *hdr)
{
	struct mp_hold *hold;
	struct mp_slot *slot;
	bool freed;
	u32 index;
	u64 gen;
	int err, was;

	if (!peer->writable)
		return -EBADF;
	err = mp_token_open(pool, token, &index, &gen);
	if (err)
		return err;
	slot = &pool->slots[index];

	mutex_lock(&peer->lock);
	hold = mp_hold_find(peer, index);
	mutex_lock(&pool->pub_lock);
	was = mp_slot_lock(slot);
	err = mp_loan_end_check(pool, slot, hold, gen, hdr);
	freed = !err && mp_publish_locked(pool, slot, hdr);
	mp_slot_unlock(pool, slot, was);
	if (freed) {
		mp_slot_push(pool, peer, index);
	} else if (!err) {
		mp_pub_append(pool, index);
		mp_reader_limit(pool, pool->slots[index].pending);
	}
	if (!err)
		mp_rings_sync_locked(pool);
	mutex_unlock(&pool->pub_lock);
	if (!err) {
		hold->write = 0;
		mp_hold_put(peer, hold);
		mp_wake(pool);
	}
	mutex_unlock(&peer->lock);
	return err;
}

/* Under pub_lock: reader @r takes its oldest untaken message. */
static int mp_take_locked(struct mp_pool *pool, u32 r, struct mp_ref *ref,
			  struct mp_msg_hdr *hdr, u32 *lost)
{
	u64 bit = (u64)1 << r;
	struct mp_slot *slot = NULL;
	u32 i;

	if (!pool->unread[r])
		return -EAGAIN;
	/* Taken messages cannot be dropped: the limit bounds them too. */
	if (pool->reader_limit && pool->held[r] >= pool->reader_limit)
		return -EBUSY;
	/* Takes go in order: the first untaken one is the oldest. */
	for (i = pool->pub_head; i != MP_NIL; i = slot->pub_next) {
		slot = &pool->slots[i];
		if (slot->pending & ~slot->taken & bit)
			break;
	}
	if (i == MP_NIL)
		return -EAGAIN;
	slot->taken |= bit;
	WRITE_ONCE(pool->held[r], pool->held[r] + 1);
	WRITE_ONCE(pool->unread[r], pool->unread[r] - 1);
	/* A published slot changes only under pub_lock: no sem needed. */
	*hdr = slot->hdr;
	*lost = pool->lost[r];
	pool->lost[r] = 0;
	mp_ref_fill(pool, i, slot->gen, ref);
	atomic64_inc(&pool->cnt.borrows);
	return 0;
}

int mp_take(struct mp_pool *pool, struct mp_peer *peer, struct mp_ref *ref,
	    struct mp_msg_hdr *hdr, u32 *lost)
{
	bool marked;
	int err;

	mutex_lock(&pool->pub_lock);
	marked = mp_rings_sync_locked(pool);
	if (peer->reader < 0)
		err = -ENOENT;
	else
		err = mp_take_locked(pool, peer->reader, ref, hdr, lost);
	mutex_unlock(&pool->pub_lock);
	if (marked)
		mp_wake(pool);
	return err;
}

/* Under pub_lock: reader @r ends its take of the message @index, @gen. */
static int mp_mark_read_locked(struct mp_pool *pool, u32 r, u32 index,
			       u64 gen)
{
	struct mp_slot *slot = &pool->slots[index];
	u64 bit = (u64)1 << r;
	int err = 0;

	down_read(&slot->sem);
	if (mp_slot_stale(slot, gen))
		err = -ESTALE;
	else if (slot->state != MP_SLOT_PUBLISHED || !(slot->taken & bit))
		err = -EPERM;
	up_read(&slot->sem);
	if (err)
		return err;
	slot->taken &= ~bit;
	slot->pending &= ~bit;
	WRITE_ONCE(pool->held[r], pool->held[r] - 1);
	if (!slot->pending)
		mp_pub_free(pool, index);
	else
		atomic64_inc(&pool->notify_gen);
	return 0;
}

int mp_mark_read(struct mp_pool *pool, struct mp_peer *peer, u64 token)
{
	u32 index;
	u64 gen;
	int err;

	err = mp_token_open(pool, token, &index, &gen);
	if (err)
		return err;
	mutex_lock(&pool->pub_lock);
	if (peer->reader < 0)
		err = -ENOENT;
	else
		err = mp_mark_read_locked(pool, peer->reader, index, gen);
	mutex_unlock(&pool->pub_lock);
	if (!err)
		mp_wake(pool);
	return err;
}

/*
 * Reader rings (see "msgpool reader rings" in the uapi header).  The
 * kernel takes messages into a reader's rx ring as they are published,
 * and drains its completion ring whenever any peer of the pool publishes,
 * takes, waits for a slot or polls.  The completion ring and rx_consumer
 * are the reader's memory: each word is read once and checked, and a lie
 * costs the liar only.  Everything here needs @pool->pub_lock.
 */

/* How far the reader says it read @ring->rx, if that is possible. */
static void mp_ring_read_consumer(struct mp_ring *ring)
{
	u32 cons = READ_ONCE(ring->comp->rx_consumer);

	if (cons == ring->rx_cons || cons == ring->rx_seen)
		return;
	ring->rx_seen = cons;
	/* Between what it had read and what was written, or refused. */
	if (cons - ring->rx_cons > ring->rx_prod - ring->rx_cons) {
		ring->errors++;
		WRITE_ONCE(ring->rx->errors, ring->errors);
		return;
	}
	ring->rx_cons = cons;
}

/* Takes reader @r's messages into its rx ring while there is room. */
static void mp_ring_fill_rx(struct mp_pool *pool, u32 r)
{
	struct mp_ring *ring = pool->rings[r];
	u32 start = ring->rx_prod, lost;
	struct mp_msg_hdr hdr;
	struct mp_ref ref;

	mp_ring_read_consumer(ring);
	while (ring->rx_prod - ring->rx_cons < ring->entries &&
	       !mp_take_locked(pool, r, &ref, &hdr, &lost)) {
		ring->fill(ring,
			   &ring->msgs[ring->rx_prod & (ring->entries - 1)],
			   &ref, &hdr, lost);
		ring->rx_prod++;
	}
	if (ring->rx_prod == start)
		return;
	/* The entries before the index that shows them. */
	smp_store_release(&ring->rx->producer, ring->rx_prod);
}

/*
 * Marks read what reader @r completed; true if it marked any, as a
 * MARK_READ that succeeds wakes the pool.
 */
static bool mp_ring_drain(struct mp_pool *pool, u32 r)
{
	struct mp_ring *ring = pool->rings[r];
	u32 n, budget, i, index, prod, marked = 0;
	u64 token, gen;

	/* The reader's tokens after the index that shows them. */
	prod = smp_load_acquire(&ring->comp->producer);
	n = prod - ring->comp_cons;

	if (!n)
		return false;
	/*
	 * Only what it holds can be marked read: checking more would let a
	 * reader make every publish of the pool check a ring of lies.  A
	 * producer more than a ring ahead is one lie, not 2^32 of them.
	 */
	budget = n > ring->entries ? 0 : min(n, pool->held[r]);
	ring->errors += n > ring->entries ? 1 : n - budget;
	for (i = 0; i < budget; i++) {
		token = READ_ONCE(ring->tokens[(ring->comp_cons + i) &
						    (ring->entries - 1)]);
		if (mp_token_open(pool, token, &index, &gen) ||
		    mp_mark_read_locked(pool, r, index, gen))
			ring->errors++;
		else
			marked++;
	}
	ring->comp_cons = prod;
	WRITE_ONCE(ring->rx->comp_consumer, prod);
	WRITE_ONCE(ring->rx->errors, ring->errors);
	return marked > 0;
}

/* Tells every ring whether a loan or poll waits for a slot. */
static void mp_rings_set_flags(struct mp_pool *pool)
{
	u32 flags = pool->slot_waiters || pool->slot_pollers ?
		    MSGPOOL_RING_NEED_WAKEUP : 0;
	u64 mask;

	for (mask = pool->ring_mask; mask; mask &= mask - 1)
		WRITE_ONCE(pool->rings[__ffs64(mask)]->rx->flags, flags);
}

/*
 * Drains every completion ring, then fills every rx ring, as a mark read
 * may let a reader under its limit again.  True if it marked a message
 * read: the caller wakes the pool after unlocking.
 */
static bool mp_rings_sync_locked(struct mp_pool *pool)
{
	bool marked = false;
	u64 mask;

	lockdep_assert_held(&pool->pub_lock);
	for (mask = pool->ring_mask; mask; mask &= mask - 1)
		marked |= mp_ring_drain(pool, __ffs64(mask));
	for (mask = pool->ring_mask; mask; mask &= mask - 1)
		mp_ring_fill_rx(pool, __ffs64(mask));
	/* The pollers this wakes poll again, and ask again if they must. */
	if (marked && pool->slot_pollers) {
		pool->slot_pollers = false;
		mp_rings_set_flags(pool);
	}
	return marked;
}

/*
 * A loan about to sleep for a slot (@wait) asks the ring readers to call
 * in when they complete a message, then drains what they completed
 * already.  The flag goes up before the rings are read, and a reader
 * reads it after its completions: one of the two sees the other.
 */
static void mp_rings_want_slot(struct mp_pool *pool, bool wait)
{
	bool marked;

	mutex_lock(&pool->pub_lock);
	if (wait) {
		pool->slot_waiters++;
		mp_rings_set_flags(pool);
		/* The flag before the drain reads the producers. */
		smp_mb();
	}
	marked = mp_rings_sync_locked(pool);
	mutex_unlock(&pool->pub_lock);
	if (marked)
		mp_wake(pool);
}

static void mp_rings_slot_done(struct mp_pool *pool)
{
	mutex_lock(&pool->pub_lock);
	pool->slot_waiters--;
	mp_rings_set_flags(pool);
	mutex_unlock(&pool->pub_lock);
}

int mp_ring_attach(struct mp_pool *pool, struct mp_peer *peer,
		   struct mp_ring *ring)
{
	int r, err = 0;

	mutex_lock(&pool->pub_lock);
	r = peer->reader;
	if (r < 0) {
		err = -ENOENT;
	} else if (pool->rings[r]) {
		err = -EALREADY;
	} else {
		pool->rings[r] = ring;
		/* Read without the lock by loans about to sleep. */
		WRITE_ONCE(pool->ring_mask, pool->ring_mask | (u64)1 << r);
		mp_rings_set_flags(pool);
		mp_ring_fill_rx(pool, r);
	}
	mutex_unlock(&pool->pub_lock);
	/* Loans asleep since before it ask its reader to call in now. */
	if (!err)
		mp_wake(pool);
	return err;
}

/* Under pub_lock: @peer's ring, if it has one attached. */
static struct mp_ring *mp_peer_ring(struct mp_pool *pool,
				    struct mp_peer *peer)
{
	return peer->reader < 0 ? NULL : pool->rings[peer->reader];
}

int mp_ring_sync(struct mp_pool *pool, struct mp_peer *peer)
{
	bool marked = false;
	int err = 0;

	mutex_lock(&pool->pub_lock);
	if (mp_peer_ring(pool, peer))
		marked = mp_rings_sync_locked(pool);
	else
		err = -ENOENT;
	mutex_unlock(&pool->pub_lock);
	if (marked)
		mp_wake(pool);
	return err;
}

bool mp_ring_poll(struct mp_pool *pool, struct mp_peer *peer,
		  bool want_slot)
{
	struct mp_ring *ring;
	bool marked, readable = false;

	if (!READ_ONCE(pool->ring_mask))
		return false;
	mutex_lock(&pool->pub_lock);
	/* As a loan that sleeps: the readers must call in to free a slot. */
	if (want_slot && mp_class_pick(pool, 0) < 0 && !pool->slot_pollers) {
		pool->slot_pollers = true;
		mp_rings_set_flags(pool);
		/* The flag before the drain reads the producers. */
		smp_mb();
	}
	marked = mp_rings_sync_locked(pool);
	ring = mp_peer_ring(pool, peer);
	if (ring) {
		mp_ring_read_consumer(ring);
		readable = ring->rx_prod != ring->rx_cons;
	}
	mutex_unlock(&pool->pub_lock);
	if (marked)
		mp_wake(pool);
	return readable;
}

/* Write access through the mapping, for pools that map it per holder. */
int mp_write_seal(struct mp_pool *pool, struct mp_peer *peer, u64 token,
		  bool seal, struct mp_ref *ref)
{
	struct mp_hold *hold;
	u32 index;
	u64 gen;
	int err;

	err = mp_token_open(pool, token, &index, &gen);
	if (err)
		return err;
	mutex_lock(&peer->lock);
	hold = mp_hold_find(peer, index);
	if (hold && hold->write) {
		hold->sealed = seal;
		mp_ref_fill(pool, index, gen, ref);
	} else {
		err = -EPERM;
	}
	mutex_unlock(&peer->lock);
	return err;
}

bool mp_peer_may_write(struct mp_peer *peer, u32 slot)
{
	struct mp_hold *hold;
	bool may;

	mutex_lock(&peer->lock);
	hold = mp_hold_find(peer, slot);
	may = hold && hold->write && !hold->sealed;
	mutex_unlock(&peer->lock);
	return may;
}

bool mp_take_ready(struct mp_pool *pool, struct mp_peer *peer)
{
	int r = READ_ONCE(peer->reader);

	/* At its limit of takes a reader must mark one read first. */
	return r >= 0 && READ_ONCE(pool->unread[r]) &&
	       !(pool->reader_limit &&
		 READ_ONCE(pool->held[r]) >= pool->reader_limit);
}

bool mp_loan_ready(struct mp_pool *pool)
{
	bool ready = mp_class_pick(pool, 0) >= 0;

	if (!ready && pool->overwrite) {
		mutex_lock(&pool->pub_lock);
		ready = mp_pub_victim(pool, 0) != MP_NIL;
		mutex_unlock(&pool->pub_lock);
	}
	return ready;
}

u64 mp_pool_available(struct mp_pool *pool)
{
	u64 sum = 0;
	u32 c;

	for (c = 0; c < pool->nr_classes; c++)
		sum += mp_class_available(pool, c);
	return sum;
}

/*
 * One count as it stands.  A slot's last read release and the next first
 * borrow move it between READY and MP_CENSUS_BORROWED under its sem held
 * shared, so their moves may land in either order: the borrow's first
 * leaves READY a moment one short, below zero if it was the only one,
 * and MP_CENSUS_BORROWED one over, above capacity if every slot was in
 * such a moment.  A count reads as at least 0 and at most capacity,
 * never as a huge one.
 */
static u64 mp_census_read(const struct mp_pool *pool, int bucket)
{
	int n = atomic_read(&pool->census[bucket]);

	if (n <= 0)
		return 0;
	if ((u32)n > pool->capacity)
		return pool->capacity;
	return n;
}

void mp_pool_census(struct mp_pool *pool, struct mp_census *c)
{
	c->free = mp_census_read(pool, MP_SLOT_FREE);
	c->loaned = mp_census_read(pool, MP_SLOT_LOANED);
	c->ready = mp_census_read(pool, MP_SLOT_READY);
	c->borrowed = mp_census_read(pool, MP_CENSUS_BORROWED);
	c->poisoned = mp_census_read(pool, MP_SLOT_POISONED);
	c->published = mp_census_read(pool, MP_SLOT_PUBLISHED);
	c->retired = mp_census_read(pool, MP_SLOT_RETIRED);
}

void mp_peer_census(struct mp_peer *peer, struct mp_peer_census *c)
{
	const struct mp_hold *hold;
	u32 i;

	memset(c, 0, sizeof(*c));
	mutex_lock(&peer->lock);
	for (i = 0; i < peer->hold_cap; i++) {
		hold = &peer->holds[i];
		c->reads += hold->reads;
		c->loans += hold->write == MP_HOLD_LOAN;
		c->writes += hold->write == MP_HOLD_WRITE;
	}
	mutex_unlock(&peer->lock);
	c->owned = atomic_read(&peer->owned);
}
