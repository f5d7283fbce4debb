/* SPDX-License-Identifier: GPL-2.0 */
/*
 * msgpool core: free lists, tokens, the slot state machine and borrow
 * accounting.  No file, mmap or ioctl code lives here, so the same source
 * builds into msgpool.ko, into the KUnit module and into the userspace
 * tests, where kunit/shim/linux/ stands in for the kernel's headers.
 */
#ifndef _MSGPOOL_CORE_H
#define _MSGPOOL_CORE_H

#include <linux/atomic.h>
#include <linux/cache.h>
#include <linux/list.h>
#include <linux/msgpool.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/siphash.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

#define MP_MAX_CLASS_SLOTS	(1U << 24)	/* slots of one class */

#define MP_NIL			0xffffffffU	/* end of a free list */
#define MP_SLOT_ALIGN		64		/* stride unit: a cache line */
#define MP_MAG_SLOTS		32		/* most slots a peer's cache holds */

enum mp_slot_state {
	MP_SLOT_FREE,		/* on its class's free list */
	MP_SLOT_LOANED,		/* allocated, being filled by @writer */
	MP_SLOT_READY,		/* holds a message; borrowable */
	MP_SLOT_POISONED,	/* a write borrower died inside it */
	MP_SLOT_PUBLISHED,	/* a message for the readers in @pending */
	MP_SLOT_RETIRED,	/* its generations are spent: never reused */
	MP_CENSUS_BORROWED,	/* census only: READY under a borrow */
	MP_CENSUS_NR
};

/* mp_slot.flags */
#define MP_SLOT_ORPHAN		(1U << 0)	/* last release frees it */

/**
 * struct mp_msg_hdr - the header of a finished message
 * @len: payload bytes
 * @producer: pid of the process that finished it, as its caller gave it
 * @tag: the producer's tag
 * @seq: its number in the pool's sequence (&mp_pool.seq)
 * @timestamp_ns: when it was finished, as its caller gave it
 *
 * Kernel memory, never in the mapping.  The caller of mp_commit() and
 * mp_publish() fills all but @seq: the core knows no processes or clocks.
 */
struct mp_msg_hdr {
	u32 len;
	u32 producer;
	u64 tag;
	u64 seq;
	u64 timestamp_ns;
};

/**
 * struct mp_slot - one slot of a pool
 * @sem: orders the slot's state changes.  Read borrows and their releases
 *	take it shared (they only touch @readers), all else exclusive.
 *	Never held on return to userspace, never two slots' at once.
 * @readers: read borrows held, all peers; atomic, changed under @sem
 * @gen: generation of its latest message, moved on by every allocation,
 *	0 before the first; written under @sem held exclusive, read with
 *	READ_ONCE() by the lockless borrow wait
 * @state: enum mp_slot_state; under @sem
 * @flags: MP_SLOT_*; under @sem
 * @class_idx: its size class; constant
 * @owner: the peer that owns it, NULL when none; under @sem, read with
 *	READ_ONCE() by the reclaim scan.  A peer's reclaim clears it from
 *	every slot before the peer is freed.
 * @writer: peer id holding its loan or write borrow, 0 when none; under @sem
 * @next: free-list link (index in its class) or MP_NIL; owned by whoever
 *	popped the slot, read by the lock-free pop (see mp_freelist_pop())
 * @hdr: the message's header; under @sem, or &mp_pool.pub_lock while
 *	PUBLISHED
 * @pending: PUBLISHED: readers that have not marked it read; pub_lock
 * @taken: PUBLISHED: readers of @pending that borrow it now; pub_lock
 * @pub_prev: PUBLISHED: publish list link (slot index) or MP_NIL; pub_lock
 * @pub_next: the same, towards newer messages; pub_lock
 */
struct mp_slot {
	struct rw_semaphore sem;
	atomic_t readers;
	u64 gen;
	u8 state;
	u8 flags;
	u16 class_idx;
	struct mp_peer *owner;
	u32 writer;
	u32 next;
	struct mp_msg_hdr hdr;
	u64 pending;
	u64 taken;
	u32 pub_prev, pub_next;
};

/**
 * struct mp_class - one size class: its slots and its lock-free free list
 * @slot_size: payload bytes of a slot; constant
 * @stride: ALIGN(@slot_size, MP_SLOT_ALIGN); constant
 * @nr_slots: constant
 * @first: index of its slot 0 in &mp_pool.slots; constant
 * @offset: mmap offset of its slot 0, page aligned; constant
 * @mag_cap: the most slots a peer's cache of this class holds, 0 for no
 *	cache (a small class); constant
 * @mag_batch: slots a refill takes from the stack, or a full cache gives
 *	back to it, in one compare-and-swap; constant
 * @free_head: the Treiber stack's head, tag << 32 | index; changed by
 *	try_cmpxchg64() only, the tag moving on every change (no ABA).  On
 *	a cache line of its own: every CPU writes it.
 * @available: slots on the stack a pop may take; atomic.  Slots in the
 *	peers' caches are not in it (see mp_class_available()).
 */
struct mp_class {
	u32 slot_size;
	u32 stride;
	u32 nr_slots;
	u32 first;
	u64 offset;
	u32 mag_cap;
	u32 mag_batch;
	u64 free_head ____cacheline_aligned_in_smp;
	atomic_t available;
};

/**
 * struct mp_counters - cumulative figures, as MSGPOOL_IOC_INFO reports them
 * @stores: messages finished: commits and publishes (a store commits)
 * @loans: allocations (a store is one)
 * @borrows: read and write borrows granted, takes included
 * @frees: slots put back on a free list: free, discard, reclaim
 * @nobufs: allocations refused with -ENOBUFS or -EAGAIN
 * @reclaimed: slots freed when their peer closed
 * @poisoned: slots poisoned by a write borrower's close
 *
 * All atomic, no lock.
 */
struct mp_counters {
	atomic64_t stores, loans, borrows, frees, nobufs, reclaimed, poisoned;
};

struct mp_ring;
struct mp_ref;

/**
 * typedef mp_ring_fill_fn - write one taken message into a ring entry
 * @ring: the reader's ring
 * @msg: the entry, in memory the reader maps read-only
 * @ref: the message's slot
 * @hdr: its header
 * @lost: as mp_take()'s
 *
 * Supplied by the file layer, which owns the ABI's structs and the
 * reader's pid namespace.
 */
typedef void mp_ring_fill_fn(struct mp_ring *ring,
			     struct msgpool_ring_msg *msg,
			     const struct mp_ref *ref,
			     const struct mp_msg_hdr *hdr, u32 lost);

/**
 * struct mp_ring - a reader's rings in its mapping (see "msgpool reader
 * rings" in the uapi header); every field is the pool's pub_lock's while
 * the ring is attached
 * @entries: entries of each ring, a power of two; constant
 * @rx: head of the receive ring, which the kernel writes and the reader
 *	only reads
 * @msgs: the receive ring's entries
 * @comp: head of the completion ring, which the reader writes: read each
 *	word once, with READ_ONCE(), and check it
 * @tokens: the completion ring's entries, as @comp
 * @fill: writes an entry of @rx
 * @rx_prod: entries written into @rx
 * @rx_cons: entries of @rx the reader has said it read, checked
 * @rx_seen: the last rx_consumer value read, so that a refused one is
 *	counted once
 * @comp_cons: entries of @comp drained
 * @errors: refused completion tokens and rx_consumer values
 */
struct mp_ring {
	u32 entries;
	struct msgpool_ring_rx *rx;
	struct msgpool_ring_msg *msgs;
	struct msgpool_ring_comp *comp;
	u64 *tokens;
	mp_ring_fill_fn *fill;
	u32 rx_prod;
	u32 rx_cons;
	u32 rx_seen;
	u32 comp_cons;
	u32 errors;
};

/**
 * struct mp_pool - the core's part of a pool
 * @nr_classes: constant
 * @key: the random key its tokens are enciphered with; constant
 * @slot_bits: bits of a slot index in a token; constant
 * @gen_max: the last generation a slot may reach; constant
 * @capacity: slots, all classes; constant
 * @map_size: bytes of the mapping, page aligned; constant
 * @classes: the size classes; see &struct mp_class
 * @slots: @capacity slots, class by class
 * @seq: the last message's sequence number; atomic.  Every commit and
 *	publish takes the next; a publish takes it under @pub_lock, so a
 *	subscribe that reads it under @pub_lock sees the publishes that
 *	reach its reader above it.
 * @cnt: counters; atomic
 * @census: slots by state (enum mp_slot_state, READY ones under a borrow
 *	in MP_CENSUS_BORROWED); atomic, moved under the slot's sem
 * @wq: waiters for a free slot, a dropped borrow or a publish; see mp_wake()
 * @pub_lock: guards the publish list, the published slots' masks and
 *	the reader fields below.  Nests inside &mp_peer.lock and outside
 *	any slot's @sem.
 * @overwrite: MSGPOOL_ATTACH_OVERWRITE, set at create; constant
 * @reader_limit: untaken messages a reader may have before a publish
 *	drops its oldest, and taken ones before a take fails, 0 for no
 *	limit; set at create, constant
 * @readers: mask of subscribed reader indexes; pub_lock (read with
 *	READ_ONCE() for MSGPOOL_IOC_INFO)
 * @pub_head: oldest published slot, or MP_NIL; pub_lock
 * @pub_tail: newest published slot, or MP_NIL; pub_lock
 * @notify_gen: moves on every publish, mark read and unsubscribe; atomic
 * @unread: per reader, published messages it has not taken; pub_lock
 *	(read with READ_ONCE() by poll)
 * @lost: per reader, untaken messages an overwrite or its limit dropped
 *	since its last take; pub_lock
 * @held: per reader, messages it has taken and not marked read; pub_lock
 * @rings: per reader, its rings or NULL; pub_lock
 * @ring_mask: readers with rings; pub_lock (read with READ_ONCE() by
 *	loans and polls deciding whether to take it)
 * @slot_waiters: loans asleep for a slot, that want the readers' rings
 *	drained (MSGPOOL_RING_NEED_WAKEUP); pub_lock
 * @slot_pollers: a poll for a slot found none, and wants the same until
 *	a drain frees one; pub_lock
 * @mag_lock: guards @mags and serialises the scans of other peers'
 *	caches.  Taken before any &mp_peer.mag_lock, never inside a slot's
 *	sem or a peer's mag_lock; nothing sleeps under it.
 * @mags: the peers whose caches may hold slots (&mp_peer.mag_node);
 *	@mag_lock
 */
struct mp_pool {
	u32 nr_classes;
	siphash_key_t key;
	u32 slot_bits;
	u64 gen_max;
	u32 capacity;
	u64 map_size;
	struct mp_class classes[MSGPOOL_MAX_CLASSES];
	struct mp_slot *slots;
	atomic64_t seq;
	struct mp_counters cnt;
	atomic_t census[MP_CENSUS_NR];
	wait_queue_head_t wq;
	struct mutex pub_lock;
	bool overwrite;
	u32 reader_limit;
	u64 readers;
	u32 pub_head, pub_tail;
	atomic64_t notify_gen;
	u32 unread[MSGPOOL_MAX_READERS];
	u32 lost[MSGPOOL_MAX_READERS];
	u32 held[MSGPOOL_MAX_READERS];
	struct mp_ring *rings[MSGPOOL_MAX_READERS];
	u64 ring_mask;
	u32 slot_waiters;
	bool slot_pollers;
	spinlock_t mag_lock;
	struct list_head mags;
};

#define MP_HOLD_WRITE	1
#define MP_HOLD_LOAN	2

/**
 * struct mp_hold - what one peer holds in one slot
 * @slot: global slot index + 1; 0 marks an empty cell
 * @reads: read borrows
 * @write: MP_HOLD_LOAN, MP_HOLD_WRITE for a write borrow, or 0
 * @sealed: 1 while the hold is ending: no more writes through the mapping
 *
 * Kept per peer, under &mp_peer.lock, so that a release can refuse a
 * borrow the peer never took and a close can undo all it held.
 */
struct mp_hold {
	u32 slot;
	u16 reads;
	u8 write;
	u8 sealed;
};

/**
 * struct mp_mag - a peer's cache of free slots of one class
 * @nr: slots in it; &mp_peer.mag_lock (read with READ_ONCE() for the
 *	counts of free slots)
 * @slots: their indexes within the class, the next to go at @nr - 1;
 *	&mp_peer.mag_lock
 *
 * Its slots are FREE, counted free and available, and no one else's:
 * only the owner takes from it, but for mp_mag_pop() of a peer that
 * found no other free slot, which moves some of it to the stack.
 */
struct mp_mag {
	u32 nr;
	u32 slots[MP_MAG_SLOTS];
};

/**
 * struct mp_peer - a peer as the core sees it
 * @id: >= 1, unique among the pool's live peers; constant
 * @writable: may store, loan, write-borrow and free; constant
 * @lock: guards @holds, @hold_cap and @hold_used; taken before
 *	&mp_pool.pub_lock and any slot's sem
 * @holds: open-addressing table of what it holds, @hold_cap cells
 * @hold_cap: a power of two, or 0
 * @hold_used: cells in use
 * @reader: its reader index, -1 when it is none; &mp_pool.pub_lock
 *	(read with READ_ONCE() by poll)
 * @owned: slots it owns; atomic, moved under the slots' sems
 * @mag_lock: guards @mags.  Nests inside &mp_pool.mag_lock, never
 *	another peer's; nothing sleeps under it.
 * @mag_node: its place on &mp_pool.mags; &mp_pool.mag_lock
 * @mag_listed: on &mp_pool.mags; written under &mp_pool.mag_lock, read
 *	with READ_ONCE() before it is taken
 * @mags: its caches of free slots, by class; see &struct mp_mag
 *
 * The file side embeds it in struct msgpool_peer (msgpool_pool.h).
 */
struct mp_peer {
	u32 id;
	bool writable;
	struct mutex lock;
	struct mp_hold *holds;
	u32 hold_cap;
	u32 hold_used;
	int reader;
	atomic_t owned;
	spinlock_t mag_lock;
	struct list_head mag_node;
	bool mag_listed;
	struct mp_mag mags[MSGPOOL_MAX_CLASSES];
};

/**
 * struct mp_ref - a slot as userspace sees it, filled by the ops below
 * @token: the message's token
 * @offset: mmap offset of the payload
 * @capacity: slot_size of its class
 * @slot: global slot index
 */
struct mp_ref {
	u64 token;
	u64 offset;
	u32 capacity;
	u32 slot;
};

/**
 * mp_config_check() - check a pool's classes against the limits
 * @cls: the classes, strictly increasing in slot_size
 * @nr: how many
 * @max_bytes: the largest page-aligned mapping allowed
 * @max_slots: the most slots allowed, all classes
 * @map_size: out: the mapping's size
 *
 * Return: 0, -EINVAL for a bad shape, -E2BIG above a limit.
 */
int mp_config_check(const struct msgpool_class *cls, u32 nr,
		    u64 max_bytes, u32 max_slots, u64 *map_size);

/**
 * mp_pool_init() - set up a pool's core
 * @pool: zeroed memory
 * @cls: the classes, checked again here without limits
 * @nr: how many
 *
 * Draws the random key of the pool's tokens.
 *
 * Return: 0, -EINVAL, -E2BIG (a stride above 32 bits) or -ENOMEM.
 */
int mp_pool_init(struct mp_pool *pool, const struct msgpool_class *cls,
		 u32 nr);

/**
 * mp_pool_destroy() - free what mp_pool_init() allocated
 * @pool: a pool none of whose peers is left: each has been reclaimed, so
 *	every free slot is on its class's stack
 */
void mp_pool_destroy(struct mp_pool *pool);

/**
 * mp_peer_init() - set up a peer
 * @peer: the peer
 * @id: its id, >= 1, which no other live peer of the pool has
 * @writable: whether it may store, loan, write-borrow and free
 */
void mp_peer_init(struct mp_peer *peer, u32 id, bool writable);

/**
 * mp_peer_reclaim() - undo all @peer holds and free what it owns
 * @pool: its pool
 * @peer: the closing peer; it may not be used again
 *
 * In the order Documentation/msgpool.rst gives: read borrows end, loans
 * are freed, write borrows of others' slots poison them, owned slots are
 * freed or, while borrowed, orphaned.  Last, its caches go back whole to
 * the stacks.  Takes &mp_pool.mag_lock, then @peer's mag_lock.
 */
void mp_peer_reclaim(struct mp_pool *pool, struct mp_peer *peer);

/**
 * mp_token_make() - the token of a slot's message
 * @pool: the slot's pool
 * @slot: its global index
 * @gen: the message's generation
 *
 * See "Tokens" in msgpool_core.c: a permutation of (@slot, @gen) under
 * the pool's key.
 *
 * Return: the token.
 */
u64 mp_token_make(const struct mp_pool *pool, u32 slot, u64 gen);

/**
 * mp_token_open() - the slot and generation a token names
 * @pool: the pool
 * @token: a token from userspace
 * @slot: out: the global slot index
 * @gen: out: the generation
 *
 * Return: 0, or -EINVAL for a token that cannot be of @pool.  A token of
 * another pool usually gets -EINVAL, else the slot's state decides.
 */
int mp_token_open(const struct mp_pool *pool, u64 token, u32 *slot,
		  u64 *gen);

/**
 * mp_freelist_pop() - take a slot from a class's stack
 * @pool: the pool
 * @cls: one of its classes
 *
 * Lock-free; keeps @cls->available.  Looks at no cache: exposed for the
 * core's tests and benchmark.
 *
 * Return: the slot's index within the class, or MP_NIL when it is empty.
 */
u32 mp_freelist_pop(struct mp_pool *pool, struct mp_class *cls);

/**
 * mp_freelist_push() - put a slot back on its class's stack
 * @pool: the pool
 * @cls: the slot's class
 * @index: the slot's index within the class
 */
void mp_freelist_push(struct mp_pool *pool, struct mp_class *cls, u32 index);

/**
 * mp_mag_pop() - take a free slot of a class for a peer
 * @pool: the pool
 * @peer: the peer taking it
 * @cls: one of the pool's classes
 *
 * From @peer's cache, refilled from the stack by &mp_class.mag_batch
 * slots at a time when empty.  With the stack empty too, other peers'
 * caches give up half their slots to the stack, one by one, until one
 * of them is taken; MP_NIL means that no slot of @cls was free anywhere
 * (see "Locking" in Documentation/msgpool.rst).  Takes @peer's mag_lock,
 * and &mp_pool.mag_lock when the stack is empty; may not sleep.
 *
 * Return: the slot's index within the class, or MP_NIL.
 */
u32 mp_mag_pop(struct mp_pool *pool, struct mp_peer *peer,
	       struct mp_class *cls);

/**
 * mp_mag_push() - give back a free slot of a class through a peer
 * @pool: the pool
 * @peer: the peer freeing it, or NULL to put it on the stack
 * @cls: the slot's class
 * @index: the slot's index within the class
 *
 * Into @peer's cache; a full cache first gives its &mp_class.mag_batch
 * coldest slots back to the stack.  Takes @peer's mag_lock, and once in
 * a peer's life &mp_pool.mag_lock; may not sleep.
 */
void mp_mag_push(struct mp_pool *pool, struct mp_peer *peer,
		 struct mp_class *cls, u32 index);

/**
 * mp_class_available() - free slots of a class: on its stack and cached
 * @pool: the pool
 * @c: the class index
 *
 * Takes &mp_pool.mag_lock.
 *
 * Return: a moment's sum, exact only when nothing runs.
 */
u32 mp_class_available(struct mp_pool *pool, u32 c);

/**
 * mp_class_pick() - the smallest class that fits and has a free slot
 * @pool: the pool
 * @len: payload bytes wanted
 *
 * A slot in any peer's cache counts.  Takes &mp_pool.mag_lock.
 *
 * Return: the class index, or -ENOBUFS when none.
 */
int mp_class_pick(struct mp_pool *pool, u32 len);

/*
 * The operations below take the pool, the acting peer and the op's
 * arguments, with MSGPOOL_F_* @flags.  They return 0 or -errno:
 *  -EINVAL    malformed token or argument (BadToken)
 *  -ESTALE    generation mismatch: freed or reused slot (NotAllocated)
 *  -EBUSY     conflicting borrow with MSGPOOL_F_NONBLOCK (AlreadyBorrowed),
 *             or free of a borrowed slot (BorrowActive)
 *  -EOWNERDEAD the slot is poisoned (Poisoned)
 *  -ENOBUFS   no free slot (NoFreeSlots); -EAGAIN with F_WAIT|F_NONBLOCK
 *  -EMSGSIZE  length above every class, or above the slot
 *  -EPERM     the peer holds no such loan or borrow
 *  -EBADF     the peer is read-only
 *  -ENOMEM    the peer's record of borrows could not grow; nothing changed
 *  -EOVERFLOW a slot's read borrow count is at its limit (65535 per peer)
 *  -ERESTARTSYS a fatal signal ended a wait
 * Each takes @peer's lock, then at most one slot's sem.
 */

/**
 * mp_loan() - allocate a slot and write-borrow it
 * @pool: the pool
 * @peer: the loaner, which owns the slot
 * @len: payload bytes wanted
 * @flags: MSGPOOL_F_WAIT to sleep for a slot, MSGPOOL_F_NONBLOCK
 * @ref: out: the new slot
 *
 * Return: 0 or -errno, see above.
 */
int mp_loan(struct mp_pool *pool, struct mp_peer *peer, u32 len, u32 flags,
	    struct mp_ref *ref);

/**
 * mp_commit() - end a loan with a message
 * @pool: the pool
 * @peer: the loaner
 * @token: the loan's token
 * @hdr: in: the message's len, tag, producer and timestamp_ns; out: @seq
 *
 * Return: 0 or -errno, see above.
 */
int mp_commit(struct mp_pool *pool, struct mp_peer *peer, u64 token,
	      struct mp_msg_hdr *hdr);

/**
 * mp_discard() - end a loan without a message: the slot is free again
 * @pool: the pool
 * @peer: the loaner
 * @token: the loan's token
 *
 * Return: 0 or -errno, see above.
 */
int mp_discard(struct mp_pool *pool, struct mp_peer *peer, u64 token);

/**
 * mp_borrow() - borrow a message, shared or (MSGPOOL_F_WRITE) exclusive
 * @pool: the pool
 * @peer: the borrower
 * @token: the message's token
 * @flags: MSGPOOL_F_WRITE, MSGPOOL_F_NONBLOCK, MSGPOOL_F_ADOPT
 * @ref: out: the slot
 * @hdr: out: the message's header
 *
 * Without MSGPOOL_F_NONBLOCK a conflicting borrow is waited for.
 *
 * Return: 0 or -errno, see above.
 */
int mp_borrow(struct mp_pool *pool, struct mp_peer *peer, u64 token,
	      u32 flags, struct mp_ref *ref, struct mp_msg_hdr *hdr);

/**
 * mp_release() - end a borrow of @peer
 * @pool: the pool
 * @peer: the borrower
 * @token: the message's token
 * @flags: MSGPOOL_F_SETLEN to give a write borrow's message a new length
 * @len: that length
 *
 * Return: 0 or -errno, see above.
 */
int mp_release(struct mp_pool *pool, struct mp_peer *peer, u64 token,
	       u32 flags, u32 len);

/**
 * mp_free() - free a message nobody borrows
 * @pool: the pool
 * @peer: a writable peer
 * @token: the message's token
 *
 * Return: 0 or -errno, see above.
 */
int mp_free(struct mp_pool *pool, struct mp_peer *peer, u64 token);

/**
 * mp_header() - a message's header, without a borrow
 * @pool: the pool
 * @token: the message's token
 * @ref: out: the slot
 * @hdr: out: the header
 *
 * Return: 0 or -errno, see above.
 */
int mp_header(struct mp_pool *pool, u64 token, struct mp_ref *ref,
	      struct mp_msg_hdr *hdr);

/**
 * mp_pool_available() - free slots, all classes, the cached ones included
 * @pool: the pool
 *
 * Takes &mp_pool.mag_lock.
 *
 * Return: a moment's sum, exact only when nothing runs.
 */
u64 mp_pool_available(struct mp_pool *pool);

/**
 * struct mp_census - a pool's slots by state; the fields sum to capacity
 * @free: FREE
 * @loaned: LOANED
 * @ready: READY, nobody borrows it
 * @borrowed: READY under a read or write borrow
 * @poisoned: POISONED
 * @published: PUBLISHED, taken or not
 * @retired: RETIRED
 */
struct mp_census {
	u64 free;
	u64 loaned;
	u64 ready;
	u64 borrowed;
	u64 poisoned;
	u64 published;
	u64 retired;
};

/**
 * struct mp_peer_census - what one peer holds
 * @loans: slots it is filling
 * @reads: read borrows
 * @writes: write borrows
 * @owned: slots it owns
 */
struct mp_peer_census {
	u64 loans;
	u64 reads;
	u64 writes;
	u64 owned;
};

/**
 * mp_pool_census() - a pool's slots by state, for the stats ioctls
 * @pool: the pool
 * @c: out: the counts
 *
 * Kept as the slots change: no slot is looked at, no lock taken.  Each
 * count is a moment's, from 0 to capacity; while the pool runs they need
 * not sum up.
 */
void mp_pool_census(struct mp_pool *pool, struct mp_census *c);

/**
 * mp_peer_census() - count what a peer holds, for the stats ioctls
 * @peer: the peer; not reclaimed meanwhile (its lock is taken)
 * @c: out: the counts
 *
 * Looks at the peer's own record only, no slot.  May sleep.
 */
void mp_peer_census(struct mp_peer *peer, struct mp_peer_census *c);

/*
 * Publish/subscribe (Documentation/msgpool.rst, "Publish/subscribe").
 * Besides the codes above:
 *  -EALREADY  subscribe of a peer that is a reader already
 *  -EUSERS    subscribe with MSGPOOL_MAX_READERS readers in the pool
 *  -ENOENT    take, mark read or unsubscribe of a peer that is no reader
 *  -EAGAIN    take with no untaken message
 */

/**
 * mp_subscribe() - make @peer a reader
 * @pool: the pool
 * @peer: the peer
 * @reader: out: its reader index
 * @seq: out: the pool's sequence number now; later publishes are above
 *
 * Return: 0 or -errno, see above.
 */
int mp_subscribe(struct mp_pool *pool, struct mp_peer *peer, u32 *reader,
		 u64 *seq);

/**
 * mp_unsubscribe() - end @peer's subscription and its takes
 * @pool: the pool
 * @peer: the reader
 *
 * A published slot no other reader waits for is freed.
 *
 * Return: 0 or -ENOENT.
 */
int mp_unsubscribe(struct mp_pool *pool, struct mp_peer *peer);

/**
 * mp_publish() - end a loan by publishing it to the readers subscribed now
 * @pool: the pool
 * @peer: the loaner
 * @token: the loan's token
 * @hdr: as for mp_commit()
 *
 * With no reader subscribed the slot is free at once.
 *
 * Return: 0 or -errno, see above.
 */
int mp_publish(struct mp_pool *pool, struct mp_peer *peer, u64 token,
	       struct mp_msg_hdr *hdr);

/**
 * mp_take() - read-borrow this reader's oldest untaken message
 * @pool: the pool
 * @peer: the reader
 * @ref: out: the slot
 * @hdr: out: the message's header
 * @lost: out: messages an overwrite dropped before this reader took them,
 *	since its previous take
 *
 * Return: 0 or -errno, see above.
 */
int mp_take(struct mp_pool *pool, struct mp_peer *peer, struct mp_ref *ref,
	    struct mp_msg_hdr *hdr, u32 *lost);

/**
 * mp_mark_read() - end a take; the last reader frees the slot
 * @pool: the pool
 * @peer: the reader
 * @token: the taken message's token
 *
 * Return: 0 or -errno, see above.
 */
int mp_mark_read(struct mp_pool *pool, struct mp_peer *peer, u64 token);

/**
 * mp_ring_attach() - give @peer's reader its rings
 * @pool: the pool
 * @peer: a subscribed reader
 * @ring: zeroed but for @entries, @fill and the rings; the caller keeps
 *	it, and the memory behind it, until @peer is reclaimed
 *
 * From now on the reader's messages go into @ring->rx as they are
 * published; those it has not taken yet go now.
 *
 * Return: 0, or -ENOENT if @peer is not a reader.
 */
int mp_ring_attach(struct mp_pool *pool, struct mp_peer *peer,
		   struct mp_ring *ring);

/**
 * mp_ring_sync() - drain every reader's completion ring, fill its rx ring
 * @pool: the pool
 * @peer: the caller, which must have an attached ring
 *
 * Return: 0, or -ENOENT if @peer has no ring (or no longer).
 */
int mp_ring_sync(struct mp_pool *pool, struct mp_peer *peer);

/**
 * mp_ring_poll() - sync the rings for poll()
 * @pool: the pool
 * @peer: any peer; false if it has no ring
 * @want_slot: the caller polls for a free slot: if none is free, the ring
 *	readers are asked to call in (MSGPOOL_RING_NEED_WAKEUP) until a
 *	drain frees one
 *
 * Return: true if @peer's rx ring holds entries it has not read.
 */
bool mp_ring_poll(struct mp_pool *pool, struct mp_peer *peer,
		  bool want_slot);

/**
 * mp_write_seal() - seal or unseal a peer's write hold of a slot
 * @pool: the pool
 * @peer: the holder
 * @token: the message's token
 * @seal: true before the hold ends, false after (or when it did not)
 * @ref: out: the slot, for the caller to unmap it
 *
 * For pools whose slots are mapped writable only into their holder: once
 * sealed, mp_peer_may_write() says no, so the caller can unmap the slot
 * before the hold ends without the holder mapping it again.
 *
 * Return: 0, -EINVAL for a malformed token, -EPERM if @peer holds no
 * loan or write borrow of it.
 */
int mp_write_seal(struct mp_pool *pool, struct mp_peer *peer, u64 token,
		  bool seal, struct mp_ref *ref);

/**
 * mp_peer_may_write() - may @peer write to @slot through its mapping?
 * @peer: the peer
 * @slot: a global slot index
 *
 * Takes @peer's lock.
 *
 * Return: true while it holds a loan or write borrow of @slot, unsealed.
 */
bool mp_peer_may_write(struct mp_peer *peer, u32 slot);

/**
 * mp_take_ready() - lockless hint for poll(): would a take find a message?
 * @pool: the pool
 * @peer: the peer
 *
 * Return: true if so, at the moment it looked.
 */
bool mp_take_ready(struct mp_pool *pool, struct mp_peer *peer);

/**
 * mp_loan_ready() - hint for poll(): would a loan find a slot?
 * @pool: the pool
 *
 * Return: true if so, at the moment it looked.
 */
bool mp_loan_ready(struct mp_pool *pool);

#endif /* _MSGPOOL_CORE_H */
