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
#include <linux/msgpool.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/wait.h>

/*
 * A token is 64 bits:
 *   bits  0..23  slot index within its class
 *   bits 24..26  size class
 *   bits 27..31  pool tag (low bits of the pool id: catches most tokens
 *                of another pool)
 *   bits 32..63  generation of the slot when the token was made (never 0)
 */
#define MP_TOKEN_INDEX_BITS	24
#define MP_TOKEN_CLASS_BITS	3
#define MP_TOKEN_TAG_BITS	5
#define MP_MAX_CLASS_SLOTS	(1U << MP_TOKEN_INDEX_BITS)

#define MP_NIL			0xffffffffU	/* end of a free list */
#define MP_SLOT_ALIGN		64		/* stride unit: a cache line */

enum mp_slot_state {
	MP_SLOT_FREE,		/* on its class's free list */
	MP_SLOT_LOANED,		/* allocated, being filled by @writer */
	MP_SLOT_READY,		/* holds a message; borrowable */
	MP_SLOT_POISONED,	/* a write borrower died inside it */
	MP_SLOT_PUBLISHED,	/* a message for the readers in @pending */
};

/* mp_slot.flags */
#define MP_SLOT_ORPHAN		(1U << 0)	/* last release frees it */

/*
 * The header of a stored message: kernel memory, never in the mapping.
 * The caller of mp_commit() and mp_publish() fills all but @seq: the core
 * knows neither processes nor clocks.
 */
struct mp_msg_hdr {
	u32 len;
	u32 producer;		/* pid that stored or committed it */
	u64 tag;
	u64 seq;		/* in the pool's sequence, see mp_pool.seq */
	u64 timestamp_ns;
};

/*
 * One slot.  @sem orders state changes: read borrows and releases of read
 * borrows take it shared (they only touch @readers), everything else takes
 * it exclusive.  No path holds it on return to userspace and none holds
 * two slots' semaphores at once.
 */
struct mp_slot {
	struct rw_semaphore sem;
	atomic_t readers;	/* read borrows held, all peers */
	u32 gen;		/* bumped on every alloc and free; never 0 */
	u8 state;		/* enum mp_slot_state */
	u8 flags;		/* MP_SLOT_* */
	u16 class_idx;
	u32 owner;		/* peer id that owns it, 0 when none */
	u32 writer;		/* peer id holding the loan or write borrow */
	u32 next;		/* free-list link (index in class), MP_NIL */
	struct mp_msg_hdr hdr;
	/* PUBLISHED only, under mp_pool.pub_lock: */
	u64 pending;		/* readers that have not marked it read */
	u64 taken;		/* readers of @pending that borrow it now */
	u32 pub_prev, pub_next;	/* publish list links (slot index), MP_NIL */
};

/* One size class: its slots and its lock-free free list. */
struct mp_class {
	u32 slot_size;		/* payload bytes */
	u32 stride;		/* ALIGN(slot_size, MP_SLOT_ALIGN) */
	u32 nr_slots;
	u32 first;		/* index of slot 0 in mp_pool.slots */
	u64 offset;		/* mmap offset of slot 0, page aligned */
	u64 free_head;		/* tag << 32 | index, try_cmpxchg64() only */
	atomic_t available;
};

/*
 * Cumulative, as MSGPOOL_IOC_INFO reports them.  @loans counts every
 * allocation (a store is a loan and a commit), @frees every slot put back
 * on a free list (free, discard, reclaim), @reclaimed those of closed
 * peers, @nobufs every allocation refused with -ENOBUFS or -EAGAIN.
 */
struct mp_counters {
	atomic64_t stores, loans, borrows, frees, nobufs, reclaimed, poisoned;
};

struct mp_pool {
	u32 nr_classes;
	u32 tag;		/* MP_TOKEN_TAG_BITS of the pool id */
	u32 capacity;		/* slots, all classes */
	u64 map_size;		/* bytes, page aligned */
	struct mp_class classes[MSGPOOL_MAX_CLASSES];
	struct mp_slot *slots;	/* capacity entries */
	atomic_t next_peer_id;
	atomic64_t seq;		/* last message's: every commit and publish */
	struct mp_counters cnt;
	wait_queue_head_t wq;	/* slot freed, borrow dropped, published */
	/*
	 * Publish/subscribe.  @pub_lock guards the list of published slots
	 * (oldest first, i.e. in sequence order), their masks and the
	 * readers; it nests inside a peer's lock and outside slot sems.
	 */
	struct mutex pub_lock;
	bool overwrite;		/* MSGPOOL_ATTACH_OVERWRITE, set at create */
	u64 readers;		/* mask of subscribed reader indexes */
	u32 pub_head, pub_tail;	/* slot indexes, MP_NIL when empty */
	atomic64_t notify_gen;	/* see msgpool_info.notify_gen */
	u32 unread[MSGPOOL_MAX_READERS];	/* untaken, per reader */
	u32 lost[MSGPOOL_MAX_READERS];	/* dropped untaken since last take */
};

/*
 * What one peer holds in one slot.  Kept per peer so that release can
 * refuse a borrow the peer never took, and close can undo everything.
 */
struct mp_hold {
	u32 slot;		/* global slot index + 1; 0: empty cell */
	u16 reads;		/* read borrows */
	u8 write;		/* 1: write borrow or loan */
	u8 pad;
};

struct mp_peer {
	u32 id;			/* >= 1, unique within the pool's life */
	bool writable;		/* may store, loan, write-borrow and free */
	struct mutex lock;	/* guards @holds; taken before any slot sem */
	struct mp_hold *holds;	/* open-addressing table, @hold_cap cells */
	u32 hold_cap;		/* power of two, or 0 */
	u32 hold_used;
	int reader;		/* reader index, -1: none; under pub_lock */
};

/* A slot as userspace sees it, filled by the ops below. */
struct mp_ref {
	u64 token;
	u64 offset;		/* mmap offset of the payload */
	u32 capacity;		/* slot_size of its class */
	u32 slot;		/* global slot index */
};

/*
 * Config and lifetime.  mp_config_check() returns -EINVAL for a bad
 * shape, -E2BIG above @max_bytes (of the page-aligned mapping) or
 * @max_slots.  mp_pool_init() checks the shape itself (no limits) and
 * returns -EINVAL, -E2BIG (a stride above 32 bits) or -ENOMEM.
 */
int mp_config_check(const struct msgpool_class *cls, u32 nr,
		    u64 max_bytes, u32 max_slots, u64 *map_size);
int mp_pool_init(struct mp_pool *pool, const struct msgpool_class *cls,
		 u32 nr, u32 pool_id);
void mp_pool_destroy(struct mp_pool *pool);
void mp_peer_init(struct mp_pool *pool, struct mp_peer *peer, bool writable);
/*
 * Undo all @peer holds and free what it owns (see Documentation/msgpool.rst);
 * @peer may not be used again.
 */
void mp_peer_reclaim(struct mp_pool *pool, struct mp_peer *peer);

/* Tokens. */
u64 mp_token_make(const struct mp_pool *pool, u32 class_idx, u32 index,
		  u32 gen);
/* Sets *@slot to the global slot index; -EINVAL for a malformed token. */
int mp_token_slot(const struct mp_pool *pool, u64 token, u32 *slot);

/*
 * Free list of one class (index within the class), exposed for the KUnit
 * and shim suites.  Both keep @cls->available; pop returns MP_NIL when the
 * class is empty.
 */
u32 mp_freelist_pop(struct mp_pool *pool, struct mp_class *cls);
void mp_freelist_push(struct mp_pool *pool, struct mp_class *cls, u32 index);

/* Smallest class that fits @len and has a free slot; -ENOBUFS when none. */
int mp_class_pick(const struct mp_pool *pool, u32 len);

/*
 * Operations.  @flags are MSGPOOL_F_*.  All return 0 or -errno:
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
 */
int mp_loan(struct mp_pool *pool, struct mp_peer *peer, u32 len, u32 flags,
	    struct mp_ref *ref);
int mp_commit(struct mp_pool *pool, struct mp_peer *peer, u64 token,
	      struct mp_msg_hdr *hdr);
int mp_discard(struct mp_pool *pool, struct mp_peer *peer, u64 token);
int mp_borrow(struct mp_pool *pool, struct mp_peer *peer, u64 token,
	      u32 flags, struct mp_ref *ref, struct mp_msg_hdr *hdr);
int mp_release(struct mp_pool *pool, struct mp_peer *peer, u64 token,
	       u32 flags, u32 len);
int mp_free(struct mp_pool *pool, struct mp_peer *peer, u64 token);
int mp_header(struct mp_pool *pool, u64 token, struct mp_ref *ref,
	      struct mp_msg_hdr *hdr);
/* Free slots, all classes: a moment's sum, exact only when nothing runs. */
u64 mp_pool_available(const struct mp_pool *pool);

/* Slots of a pool by state; the fields sum to the pool's capacity. */
struct mp_census {
	u64 free;		/* FREE */
	u64 loaned;		/* LOANED */
	u64 ready;		/* READY, nobody borrows it */
	u64 borrowed;		/* READY under a read or write borrow */
	u64 poisoned;		/* POISONED */
	u64 published;		/* PUBLISHED, taken or not */
};

/* What one peer holds. */
struct mp_peer_census {
	u64 loans;		/* slots it is filling */
	u64 reads;		/* read borrows */
	u64 writes;		/* write borrows */
	u64 owned;		/* slots it owns */
};

/*
 * Snapshots for the stats ioctls: each slot is looked at under its
 * semaphore, so a slot is counted in one consistent state, though the
 * pool may change while the census runs.  Both may sleep.
 * mp_peer_census() takes @peer's lock: @peer must not be reclaimed
 * meanwhile.
 */
void mp_pool_census(struct mp_pool *pool, struct mp_census *c);
void mp_peer_census(struct mp_pool *pool, struct mp_peer *peer,
		    struct mp_peer_census *c);

/*
 * Publish/subscribe (Documentation/msgpool.rst, "Published slots").
 * Besides the codes above:
 *  -EALREADY  subscribe of a peer that is a reader already
 *  -EUSERS    subscribe with MSGPOOL_MAX_READERS readers in the pool
 *  -ENOENT    take, mark read or unsubscribe of a peer that is no reader
 *  -EAGAIN    take with no untaken message
 * mp_publish() ends @peer's loan of @token like mp_commit(), for the
 * readers subscribed now (none: the slot is free at once).  mp_take()
 * sets *@lost to the messages an overwrite dropped before this reader
 * took them, since its previous take.
 * mp_mark_read() ends a take of @peer; the last reader frees the slot.
 */
int mp_subscribe(struct mp_pool *pool, struct mp_peer *peer, u32 *reader,
		 u64 *seq);
int mp_unsubscribe(struct mp_pool *pool, struct mp_peer *peer);
int mp_publish(struct mp_pool *pool, struct mp_peer *peer, u64 token,
	       struct mp_msg_hdr *hdr);
int mp_take(struct mp_pool *pool, struct mp_peer *peer, struct mp_ref *ref,
	    struct mp_msg_hdr *hdr, u32 *lost);
int mp_mark_read(struct mp_pool *pool, struct mp_peer *peer, u64 token);
/* Lockless hints for poll(): a take would find a message; a loan a slot. */
bool mp_take_ready(struct mp_pool *pool, struct mp_peer *peer);
bool mp_loan_ready(struct mp_pool *pool);

#endif /* _MSGPOOL_CORE_H */
