/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmsgpool: token-addressed message storage over /dev/msgpool.
 * msgpool(3) is the reference: what follows only sums it up and adds what
 * a caller of these declarations needs beside it.
 *
 * A pool is a named set of fixed-size slots in kernel memory that every
 * process opening it maps once.  A message is written in place into a
 * slot and named by a 64-bit token; only tokens travel between processes.
 * The kernel decides who owns, borrows or may free a slot, so a process
 * that crashes cannot corrupt the pool, and what it held is undone when
 * it dies (msgpool(3), Ownership and crashes).  This is the MemoryManager
 * model: store, read, read_mut, free, available, capacity and
 * memory_class, plus loans, header peeks, batches and publish/subscribe.
 *
 * A struct msgpool handle is one open file of /dev/msgpool, a peer to the
 * kernel: borrows, loans and slot ownership are the peer's.  Tokens are
 * capabilities: any peer of the pool holding one may read it, any
 * writable peer free it.  A producer keeps its handle open until the
 * consumer has adopted its message, or the consumer gets
 * MSGPOOL_E_NOT_ALLOCATED.
 *
 * Functions return 0 (MSGPOOL_OK) or a negative enum msgpool_error.
 * Errors common to every function that takes a handle or a guard:
 *   MSGPOOL_E_CLOSED      the handle is NULL (msgpool_close() sets the
 *                         caller's pointer to NULL)
 *   MSGPOOL_E_INVALID     a NULL pointer argument or an unknown flag
 *   MSGPOOL_E_SYSTEM      an unexpected system error; errno holds it
 * The error lists below name the others.
 *
 * Every call is thread-safe but msgpool_close(), which must not run beside
 * another call on its handle; a guard is one thread's at a time, and a
 * borrow taken by one thread may be released by another.  msgpool_dup()
 * gives a thread a peer of its own, whose borrows and ownership are
 * independent of the original's.
 */
#ifndef MSGPOOL_H
#define MSGPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <linux/msgpool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MSGPOOL_DEVICE		"/dev/msgpool"

/* Error codes: functions return 0 or one of these (from the errnos named). */
enum msgpool_error {
	MSGPOOL_OK = 0,
	MSGPOOL_E_NO_FREE_SLOTS = -1,	/* no free slot that fits (ENOBUFS) */
	MSGPOOL_E_BAD_TOKEN = -2,	/* malformed token, another pool's */
	MSGPOOL_E_NOT_ALLOCATED = -3,	/* slot freed or reused (ESTALE) */
	MSGPOOL_E_ALREADY_BORROWED = -4, /* conflicting borrow (EBUSY) */
	MSGPOOL_E_BORROW_ACTIVE = -5,	/* free of a slot in use (EBUSY) */
	MSGPOOL_E_POISONED = -6,	/* its writer died (EOWNERDEAD) */
	MSGPOOL_E_PERMISSION = -7,	/* not allowed (EACCES, EBADF, EPERM) */
	MSGPOOL_E_NOT_HELD = -8,	/* the guard holds nothing of this */
	MSGPOOL_E_TOO_BIG = -9,		/* length above the slot (EMSGSIZE) */
	MSGPOOL_E_LIMIT = -10,		/* a module or pool limit (E2BIG...) */
	MSGPOOL_E_NOT_FOUND = -11,	/* no such pool or reader (ENOENT) */
	MSGPOOL_E_EXISTS = -12,		/* exists already (EEXIST, EALREADY) */
	MSGPOOL_E_NO_DEVICE = -13,	/* no /dev/msgpool (ENODEV, ENXIO) */
	MSGPOOL_E_NO_MEMORY = -14,	/* out of memory (ENOMEM) */
	MSGPOOL_E_INTERRUPTED = -15,	/* a wait was interrupted (EINTR) */
	MSGPOOL_E_CLOSED = -16,		/* NULL handle: used after close */
	MSGPOOL_E_INVALID = -17,	/* bad argument (EINVAL, EFAULT) */
	MSGPOOL_E_ABI = -18,		/* another ABI version (ENOTTY) */
	MSGPOOL_E_SYSTEM = -19,		/* any other; errno holds it */
	MSGPOOL_E_EMPTY = -20,		/* nothing left to take (EAGAIN) */
	MSGPOOL_E_TYPE_MISMATCH = -21,	/* another type (EPROTOTYPE) */
};

/*
 * msgpool_strerror - describe an error code
 * Returns a static string for every enum msgpool_error value, "unknown
 * msgpool error" for anything else.
 */
const char *msgpool_strerror(int err);

/*
 * msgpool_op_error - the result of one op of msgpool_batch() as an error
 * code, as for the library's own calls (msgpool(3), ERRORS).
 * Returns 0 or a negative enum msgpool_error.
 */
int msgpool_op_error(const struct msgpool_op *op);

/* ---- Opening and closing ---------------------------------------------- */

/* msgpool_open() flags; the first three are the kernel's attach flags. */
#define MSGPOOL_OPEN_CREATE	MSGPOOL_ATTACH_CREATE	 /* create if missing */
#define MSGPOOL_OPEN_EXCL	MSGPOOL_ATTACH_EXCL	 /* with CREATE: new */
#define MSGPOOL_OPEN_OVERWRITE	MSGPOOL_ATTACH_OVERWRITE /* with CREATE */
#define MSGPOOL_OPEN_RDONLY	(1U << 16)		 /* read-only peer */

/*
 * The shape of a new pool: @nr_classes size classes, slot_size strictly
 * increasing, each slot_size >= 1 and nr_slots 1..2^24; the type of its
 * messages (see msgpool(3)), all zeros for untyped; and how far a subscriber
 * may fall behind (@reader_limit untaken messages, and as many takes not
 * yet marked read; 0 for no limit: see man 4 msgpool).
 */
struct msgpool_config {
	uint32_t nr_classes;
	struct msgpool_class classes[MSGPOOL_MAX_CLASSES];
	uint8_t type_id[MSGPOOL_TYPE_ID_LEN];
	uint32_t reader_limit;
};

struct msgpool;

/*
 * msgpool_open - create or attach to the pool called @name, map it
 * @name:  1 to MSGPOOL_NAME_MAX - 1 characters of [A-Za-z0-9._-]
 * @cfg:   the shape and type of the pool: required with
 *         MSGPOOL_OPEN_CREATE, its classes ignored when the pool exists
 *         already; without CREATE, NULL (untyped) or a config of which
 *         only the type is read
 * @flags: MSGPOOL_OPEN_*; EXCL requires CREATE
 * @mode:  permission bits (0777 at most) of a created pool, checked like
 *         SysV shm: read permission to attach, write permission for a
 *         writable peer; 0 without CREATE
 * @out:   receives the handle
 * Read-only peers, and which existing pool CREATE joins: msgpool(3).
 * Errors: MSGPOOL_E_INVALID (name, flags, @mode, @cfg missing, class
 * layout), MSGPOOL_E_TYPE_MISMATCH, MSGPOOL_E_LIMIT, MSGPOOL_E_NOT_FOUND,
 * MSGPOOL_E_EXISTS, MSGPOOL_E_PERMISSION, MSGPOOL_E_NO_DEVICE,
 * MSGPOOL_E_NO_MEMORY, MSGPOOL_E_ABI, MSGPOOL_E_SYSTEM.
 */
int msgpool_open(const char *name, const struct msgpool_config *cfg,
		 unsigned int flags, unsigned int mode, struct msgpool **out);

/*
 * msgpool_created - whether msgpool_open() created @pool's pool
 * Returns 1 if so, 0 for a handle that joined an existing pool, a
 * msgpool_dup() handle and NULL.
 */
int msgpool_created(const struct msgpool *pool);

/*
 * msgpool_dup - open a second, independent peer of the same pool
 * The new handle has its own borrows and owns nothing; it is read-only if
 * @pool is, and names the pool's type.  It attaches by the pool's id: if
 * the name was unlinked (and perhaps taken by a new pool), it fails with
 * MSGPOOL_E_NOT_FOUND rather than join another pool.
 * Errors: as msgpool_open().
 */
int msgpool_dup(struct msgpool *pool, struct msgpool **out);

/*
 * msgpool_close - close the peer, unmap the pool, free the handle
 * @pool: address of the handle; set to NULL on return
 * Everything the peer held is undone (msgpool(3), Ownership and
 * crashes), and the data pointers of its guards dangle.  The pool itself
 * lives on while any peer is open.
 * Errors: MSGPOOL_E_CLOSED if *@pool is NULL (double close),
 * MSGPOOL_E_INVALID if @pool is NULL.
 */
int msgpool_close(struct msgpool **pool);

/* ---- Messages ---------------------------------------------------------- */

/* Flags of store, loan, read and read_mut, as valid for each. */
#define MSGPOOL_NONBLOCK	MSGPOOL_F_NONBLOCK	/* never sleep */
#define MSGPOOL_WAIT		MSGPOOL_F_WAIT		/* sleep for a slot */
#define MSGPOOL_ADOPT		MSGPOOL_F_ADOPT		/* become the owner */

/*
 * A borrow or loan in progress, filled by msgpool_read(),
 * msgpool_read_mut(), msgpool_loan() and msgpool_take(), ended by
 * msgpool_release(), msgpool_release_len(), msgpool_commit(),
 * msgpool_discard(), msgpool_publish() or msgpool_mark_read();
 * msgpool_publish_loan() and msgpool_mark_read_take() end one and fill
 * the next.
 * @data points into the mapping and is valid until the guard ends.  Only
 * a guard from msgpool_read_mut() or msgpool_loan() may write through it
 * (a read-only handle's mapping faults on write).  Ending a guard clears
 * @data; ending it twice gives MSGPOOL_E_NOT_HELD.
 * @hdr is the message header as the kernel's op returned it (see
 * <linux/msgpool.h>): len, capacity, producer, tag, seq, timestamp_ns,
 * and for a take, lost.  @priv is the library's.
 */
struct msgpool_guard {
	uint64_t token;
	void *data;
	struct msgpool_op hdr;
	struct {
		const struct msgpool *pool;
		uint32_t peer_id;
		uint32_t kind;
	} priv;
};

/*
 * msgpool_store - copy @len bytes from @buf into a new slot
 * @len:   1 up to the largest slot size; the smallest class that fits and
 *         has a free slot is used
 * @tag:   caller's value, returned in the header
 * @flags: 0, MSGPOOL_WAIT (sleep until a slot is free), MSGPOOL_NONBLOCK
 *         (never sleep; it wins over MSGPOOL_WAIT)
 * @token: receives the new message's token; this handle owns it
 * Errors: MSGPOOL_E_NO_FREE_SLOTS, MSGPOOL_E_TOO_BIG, MSGPOOL_E_INVALID
 * (@len 0, bad @buf), MSGPOOL_E_PERMISSION (read-only),
 * MSGPOOL_E_INTERRUPTED.
 */
int msgpool_store(struct msgpool *pool, const void *buf, size_t len,
		  uint64_t tag, unsigned int flags, uint64_t *token);

/*
 * msgpool_loan - reserve a slot of at least @len bytes to write in place
 * @len: 0 up to the largest slot size (0 takes any class)
 * @flags: as msgpool_store()
 * @g: receives the loan: token, writable data, hdr.capacity, hdr.len =
 *     capacity.  The slot is invisible to others until msgpool_commit().
 * Errors: as msgpool_store().
 */
int msgpool_loan(struct msgpool *pool, size_t len, unsigned int flags,
		 struct msgpool_guard *g);

/*
 * msgpool_commit - publish a loaned slot as a message of @len bytes
 * Ends the loan: @g keeps its token (hand it over) and gets the header
 * of the message (len, tag, producer, seq, timestamp_ns) but loses its
 * data.
 * Errors: MSGPOOL_E_TOO_BIG (@len above the capacity; the loan goes on),
 * MSGPOOL_E_NOT_HELD (@g is no loan of this handle).
 */
int msgpool_commit(struct msgpool *pool, struct msgpool_guard *g,
		   size_t len, uint64_t tag);

/*
 * msgpool_discard - give a loaned slot back unpublished
 * Errors: MSGPOOL_E_NOT_HELD.
 */
int msgpool_discard(struct msgpool *pool, struct msgpool_guard *g);

/*
 * msgpool_read - shared borrow of a message (MemoryManager::read)
 * @flags: MSGPOOL_NONBLOCK (fail instead of waiting for an exclusive
 *         borrower or a loan to end), MSGPOOL_ADOPT (this handle becomes
 *         the owner)
 * @g: receives token, data (read only) and header; a handle may hold
 *     several shared borrows of one slot, one per guard.
 * Errors: MSGPOOL_E_BAD_TOKEN, MSGPOOL_E_NOT_ALLOCATED,
 * MSGPOOL_E_ALREADY_BORROWED (with MSGPOOL_NONBLOCK), MSGPOOL_E_POISONED,
 * MSGPOOL_E_PERMISSION (a published message: take it instead),
 * MSGPOOL_E_INTERRUPTED.
 */
int msgpool_read(struct msgpool *pool, uint64_t token, unsigned int flags,
		 struct msgpool_guard *g);

/*
 * msgpool_read_mut - exclusive borrow of a message, to change it in place
 * (MemoryManager::read_mut)
 * @flags: as msgpool_read(); without MSGPOOL_NONBLOCK it waits for every
 *         other borrow of the slot to end, so a handle that holds a shared
 *         borrow of the slot itself waits until it is killed
 * @g: receives token, writable data and header.  End it with
 *     msgpool_release() or, to change the length, msgpool_release_len().
 * A handle that dies holding this borrow on a slot it does not own
 * poisons the slot.
 * Errors: as msgpool_read(), plus MSGPOOL_E_PERMISSION (read-only).
 */
int msgpool_read_mut(struct msgpool *pool, uint64_t token, unsigned int flags,
		     struct msgpool_guard *g);

/*
 * msgpool_release - end a borrow taken by msgpool_read() or
 * msgpool_read_mut() through this handle; @g's data is cleared
 * Errors: MSGPOOL_E_NOT_HELD (double release, a loan, a guard of another
 * handle, a guard never filled), MSGPOOL_E_PERMISSION (the kernel knows
 * no such borrow of this handle, e.g. one a raw op ended; the guard
 * ends).
 */
int msgpool_release(struct msgpool *pool, struct msgpool_guard *g);

/*
 * msgpool_release_len - end an exclusive borrow, setting the length
 * Errors: MSGPOOL_E_TOO_BIG (@len above the capacity; the borrow goes on),
 * MSGPOOL_E_INVALID (a shared borrow), MSGPOOL_E_NOT_HELD.
 */
int msgpool_release_len(struct msgpool *pool, struct msgpool_guard *g,
			size_t len);

/*
 * msgpool_free - return a message's slot to the pool (MemoryManager::free)
 * Errors: MSGPOOL_E_BAD_TOKEN, MSGPOOL_E_NOT_ALLOCATED (double free),
 * MSGPOOL_E_BORROW_ACTIVE (borrowed, loaned or published),
 * MSGPOOL_E_PERMISSION.
 */
int msgpool_free(struct msgpool *pool, uint64_t token);

/*
 * msgpool_header - peek at a message's header without borrowing it
 * @hdr: receives the kernel's op: len, capacity, producer, tag, seq,
 *       timestamp_ns
 * Errors: MSGPOOL_E_BAD_TOKEN, MSGPOOL_E_NOT_ALLOCATED,
 * MSGPOOL_E_ALREADY_BORROWED (the slot is loaned, not yet committed),
 * MSGPOOL_E_POISONED.
 */
int msgpool_header(struct msgpool *pool, uint64_t token,
		   struct msgpool_op *hdr);

/* ---- Batches ----------------------------------------------------------- */

/*
 * The batch calls run any number of ops in few system calls (at most
 * MSGPOOL_BATCH_MAX per call).  Each op succeeds or fails on its own:
 * @results, if not NULL, receives 0 or the error of each item; the call
 * returns 0 if every item succeeded, else the error of the first item that
 * failed (or of the batch as a whole: MSGPOOL_E_CLOSED, MSGPOOL_E_INVALID).
 */

/* One message for msgpool_store_many(). */
struct msgpool_buf {
	const void *data;
	size_t len;
	uint64_t tag;
};

/* Store @n messages; tokens[i] is 0 where item i failed. */
int msgpool_store_many(struct msgpool *pool, const struct msgpool_buf *bufs,
		       size_t n, unsigned int flags, uint64_t *tokens,
		       int *results);

/* Free @n tokens. */
int msgpool_free_many(struct msgpool *pool, const uint64_t *tokens, size_t n,
		      int *results);

/*
 * Shared borrows of @n tokens (@flags as msgpool_read()); guards[i] is
 * left ended (data NULL) where item i failed.
 */
int msgpool_read_many(struct msgpool *pool, const uint64_t *tokens, size_t n,
		      unsigned int flags, struct msgpool_guard *guards,
		      int *results);

/* Release @n guards; an ended guard is an item failing MSGPOOL_E_NOT_HELD. */
int msgpool_release_many(struct msgpool *pool, struct msgpool_guard *guards,
			 size_t n, int *results);

/*
 * msgpool_batch - run raw ops in order (see the uapi header)
 * @ops:   filled as for MSGPOOL_IOC_BATCH (reserved and unused fields
 *         zero); each op's result, -errno, lands in its result field,
 *         msgpool_op_error() maps it
 * @n:     any count; split into MSGPOOL_BATCH_MAX chunks
 * @flags: 0 or MSGPOOL_BATCH_STOP (stop after the first failed op)
 * @done:  if not NULL, receives the number of ops processed; fewer than
 *         @n after a failed op with MSGPOOL_BATCH_STOP, or when a fatal
 *         signal cut the batch short (its op's result is -EINTR)
 * The raw ops bypass guards: a borrow taken here is released with a raw
 * RELEASE op.  Returns 0 when the batch ran (whatever its ops' results)
 * or MSGPOOL_E_CLOSED, MSGPOOL_E_INVALID.
 */
int msgpool_batch(struct msgpool *pool, struct msgpool_op *ops, size_t n,
		  unsigned int flags, size_t *done);

/* ---- Publish/subscribe ------------------------------------------------- */

/*
 * A message published goes to the readers subscribed at that moment, in
 * publish order, and stays for them when its publisher dies; its slot is
 * free again once each has marked it read, unsubscribed or closed.
 */

/*
 * msgpool_subscribe - make this handle a reader of its pool
 * Returns the reader index (0..MSGPOOL_MAX_READERS - 1), or
 * MSGPOOL_E_EXISTS (subscribed already), MSGPOOL_E_LIMIT (every index
 * taken).  Resets msgpool_missed().  A read-only handle may subscribe.
 */
int msgpool_subscribe(struct msgpool *pool);

/*
 * msgpool_unsubscribe - stop reading; ends this handle's takes (their
 * guards become stale) and frees what only it still had to read
 * Errors: MSGPOOL_E_NOT_FOUND (not subscribed).
 */
int msgpool_unsubscribe(struct msgpool *pool);

/*
 * msgpool_publish - end a loan of @g (from msgpool_loan()) as a message of
 * @len bytes for the readers subscribed now; with none, the slot is free
 * at once.  @g gets the header (seq: the next of the pool's sequence) and
 * loses its data.
 * Errors: as msgpool_commit().
 */
int msgpool_publish(struct msgpool *pool, struct msgpool_guard *g,
		    size_t len, uint64_t tag);

/*
 * msgpool_take - this reader's oldest published message not yet taken
 * @flags: 0 (wait in poll() until there is one) or MSGPOOL_NONBLOCK
 * @g: receives token, data (read only) and header, whose lost counts the
 *     messages this reader missed since its previous take; the message
 *     stays until msgpool_mark_read().  A reader may hold several takes.
 * Errors: MSGPOOL_E_EMPTY (MSGPOOL_NONBLOCK), MSGPOOL_E_NOT_FOUND (not
 * subscribed), MSGPOOL_E_INTERRUPTED (a signal ended the wait).
 */
int msgpool_take(struct msgpool *pool, unsigned int flags,
		 struct msgpool_guard *g);

/*
 * msgpool_mark_read - end a take: the reader is done with the message
 * Errors: MSGPOOL_E_NOT_HELD (not a live take of this handle),
 * MSGPOOL_E_NOT_ALLOCATED (the handle unsubscribed since),
 * MSGPOOL_E_NOT_FOUND (not subscribed).
 */
int msgpool_mark_read(struct msgpool *pool, struct msgpool_guard *g);

/*
 * msgpool_publish_loan - msgpool_publish() @g, then msgpool_loan() the next
 * slot into @next, in one system call (a streaming publisher's loop)
 * @g, @len, @tag: as msgpool_publish()
 * @next_len, @flags: as msgpool_loan()'s @len and @flags; MSGPOOL_WAIT
 *         sleeps in that one call
 * @next:  receives the new loan; may be @g itself
 * Returns 0 when both happened, else the first failure's error: after a
 * failed publish @g is the loan it was (@g->data not NULL), after a
 * failed loan @g has ended as by msgpool_publish(); @next holds nothing.
 * Errors: as msgpool_publish(), then as msgpool_loan().
 */
int msgpool_publish_loan(struct msgpool *pool, struct msgpool_guard *g,
			 size_t len, uint64_t tag, size_t next_len,
			 unsigned int flags, struct msgpool_guard *next);

/*
 * msgpool_mark_read_take - msgpool_mark_read() @g, then msgpool_take()
 * the next message into @next, in one system call when a message is
 * waiting (a reader's loop)
 * @flags: 0 (when nothing is left, wait in poll() and take then: two more
 *         system calls) or MSGPOOL_NONBLOCK
 * @next:  receives the take; may be @g itself
 * Returns 0 when both happened, else the first failure's error: after a
 * failed mark @g is the take it was (@g->data not NULL), after a failed
 * take (MSGPOOL_E_EMPTY with MSGPOOL_NONBLOCK) @g has ended; @next holds
 * nothing.
 * Errors: as msgpool_mark_read(), then as msgpool_take().
 */
int msgpool_mark_read_take(struct msgpool *pool, struct msgpool_guard *g,
			   unsigned int flags, struct msgpool_guard *next);

/*
 * msgpool_wait - poll() the handle for @events: POLLIN (a message to
 * take), POLLOUT (a loan would find a slot; never on a read-only handle)
 * @timeout_ms: as poll(): -1 waits for ever, 0 only looks
 * Returns 1 when ready, 0 on timeout, MSGPOOL_E_INVALID (other events),
 * MSGPOOL_E_INTERRUPTED.  Wake-ups are not lost: the kernel queues the
 * caller before it tests.  With rings (msgpool_ring()), a message in the
 * receive ring makes it return 1 at once.
 */
int msgpool_wait(struct msgpool *pool, short events, int timeout_ms);

/*
 * msgpool_ring - give this reader rings in its mapping, so that it takes
 * and marks read with no system call while messages come
 * @entries: of each ring, a power of two, MSGPOOL_RING_MIN..MSGPOOL_RING_MAX
 * From then on take, mark read, mark_read_take and wait(POLLIN) go
 * through the rings, with the same results (msgpool(3), Reader rings).
 * A handle has rings once: after msgpool_unsubscribe() they are dead.
 * Errors: MSGPOOL_E_NOT_FOUND (not subscribed), MSGPOOL_E_EXISTS,
 * MSGPOOL_E_INVALID (@entries), MSGPOOL_E_PERMISSION (a read-only
 * handle: it cannot map the completion ring writable), MSGPOOL_E_NO_MEMORY.
 */
int msgpool_ring(struct msgpool *pool, unsigned int entries);

/*
 * msgpool_fd - the handle's file descriptor, for epoll; never close it nor
 * change its flags.
 */
int msgpool_fd(const struct msgpool *pool);

/*
 * msgpool_missed - messages this reader skipped since it subscribed: the
 * sum of its takes' hdr.lost, the messages an overwrite-oldest pool took
 * back before they were taken.
 */
uint64_t msgpool_missed(const struct msgpool *pool);

/*
 * msgpool_notify_gen - the pool's notify generation: it moves on every
 * publish, mark read and unsubscribe, so a caller may compare two
 * readings instead of waiting in poll().  0 on error.
 */
uint64_t msgpool_notify_gen(struct msgpool *pool);

/* ---- Figures ----------------------------------------------------------- */

/*
 * msgpool_available - free slots now, all classes (asks the kernel)
 * Returns the count (>= 0), MSGPOOL_E_CLOSED or MSGPOOL_E_SYSTEM.
 */
int64_t msgpool_available(struct msgpool *pool);

/*
 * msgpool_capacity - slots, all classes
 * Returns the count (> 0) or MSGPOOL_E_CLOSED.
 */
int64_t msgpool_capacity(struct msgpool *pool);

/* Memory classes */
enum msgpool_memory_class {
	MSGPOOL_MEMORY_HOST = MSGPOOL_MEM_HOST,	/* host RAM, kernel pages */
};

/*
 * msgpool_memory_class - the storage domain of the pool
 * Returns an enum msgpool_memory_class value or MSGPOOL_E_CLOSED.
 */
int msgpool_memory_class(struct msgpool *pool);

/*
 * msgpool_stats - the pool's shape, counters and type, as of now: the
 * kernel's struct msgpool_info (see <linux/msgpool.h>)
 * Errors: MSGPOOL_E_CLOSED, MSGPOOL_E_INVALID.
 */
int msgpool_stats(struct msgpool *pool, struct msgpool_info *st);

/* ---- Pools of the namespace (msgpool-stat) ------------------------------ */

/*
 * These need no handle: they see the pools of the caller's IPC namespace,
 * whoever created them, like ipcs and ipcrm do for SysV IPC.  The entries
 * are the kernel's (see <linux/msgpool.h>); counts are a snapshot.
 */

/*
 * msgpool_list_pools - every pool of the caller's IPC namespace
 * @out: receives a malloc()ed array to free(), NULL when *@n is 0
 * @n:   receives its length
 * Errors: MSGPOOL_E_INVALID (NULL argument), MSGPOOL_E_NO_DEVICE,
 * MSGPOOL_E_NO_MEMORY, MSGPOOL_E_ABI, MSGPOOL_E_SYSTEM.
 */
int msgpool_list_pools(struct msgpool_pool_stat **out, size_t *n);

/*
 * msgpool_list_peers - the peers attached to pool @name
 * @id:  0, or the pool's id (msgpool_pool_stat.id): a pool of that name
 *       with another id is MSGPOOL_E_NOT_FOUND
 * @out, @n: as msgpool_list_pools()
 * Errors: as msgpool_list_pools(), and MSGPOOL_E_NOT_FOUND.
 */
int msgpool_list_peers(const char *name, uint32_t id,
		       struct msgpool_peer_stat **out, size_t *n);

/*
 * msgpool_unlink - remove the name @name, like ipcrm (MSGPOOL_IOC_UNLINK
 * of msgpool(4)); the name may be created again at once
 * Errors: MSGPOOL_E_INVALID, MSGPOOL_E_NOT_FOUND, MSGPOOL_E_PERMISSION,
 * MSGPOOL_E_NO_DEVICE, MSGPOOL_E_ABI, MSGPOOL_E_SYSTEM.
 */
int msgpool_unlink(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* MSGPOOL_H */
