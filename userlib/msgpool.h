/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmsgpool: token-addressed message storage over /dev/msgpool.
 *
 * OVERVIEW
 *
 * A pool is a named set of fixed-size slots in kernel memory, cut into 1 to
 * MSGPOOL_MAX_CLASSES size classes.  Every process that opens the pool maps
 * all of it once; a message is written in place into a slot and named by a
 * 64-bit token.  Only tokens travel between processes (over a pipe, a
 * socket, shared memory, ...): the receiver borrows the token and reads the
 * payload where the sender wrote it.  Who owns, borrows or may free a slot
 * is decided by the kernel, so a process that crashes cannot corrupt the
 * pool, and whatever it held is undone when it dies.
 *
 *   struct msgpool_config cfg = {
 *           .nr_classes = 2,
 *           .classes = { { 256, 1024 }, { 65536, 64 } },
 *   };
 *   struct msgpool *pool;
 *   struct msgpool_guard g;
 *   uint64_t token;
 *
 *   msgpool_open("telemetry", &cfg, MSGPOOL_OPEN_CREATE, 0600, &pool);
 *   msgpool_store(pool, "hello", 5, 42, 0, &token);  // hand token over
 *   msgpool_read(pool, token, 0, &g);      // g.data points into the pool
 *   msgpool_release(pool, &g);
 *   msgpool_free(pool, token);
 *   msgpool_close(&pool);
 *
 * This is the MemoryManager model: store, read (shared borrow), read_mut
 * (exclusive borrow), free, available, capacity and memory_class, plus a
 * zero-copy write path (loan, then commit or discard), header peeks and
 * batches.
 *
 * HANDLES AND PEERS
 *
 * A struct msgpool handle is one open file of /dev/msgpool, called a peer
 * by the kernel.  Borrows, loans and slot ownership belong to the peer.
 * msgpool_dup() gives a second, independent peer of the same pool.
 *
 * OWNERSHIP AND CRASHES
 *
 * The peer that stores or loans a slot owns it.  Reading with
 * MSGPOOL_ADOPT moves ownership to the reader.  When a peer is closed, or
 * its process dies:
 *   1. its read borrows are dropped;
 *   2. its loans go back to the pool unpublished;
 *   3. its exclusive borrows (msgpool_read_mut) of slots it does not own
 *      poison those slots: msgpool_read(), msgpool_read_mut() and
 *      msgpool_header() then fail with MSGPOOL_E_POISONED until some peer
 *      frees the slot with msgpool_free();
 *   4. the slots it owns are freed (a slot another peer still borrows is
 *      freed when that last borrow is released).
 * So a producer that hands a token to a consumer must keep its handle open
 * until the consumer has adopted the message (read with MSGPOOL_ADOPT) or
 * is done with it, or the message disappears and the consumer gets
 * MSGPOOL_E_NOT_ALLOCATED.
 *
 * Tokens are capabilities: any peer of the pool holding a token may read
 * it, and any writable peer may free it.  A token outlives its message only
 * as an error: a stale or doubly freed token gives MSGPOOL_E_NOT_ALLOCATED,
 * a malformed one or one of another pool MSGPOOL_E_BAD_TOKEN.  0 is never
 * a valid token.  What a token's bits mean is the kernel's business: pass
 * tokens around whole, never take them apart.
 *
 * TYPES
 *
 * A pool may carry the fingerprint of its message type (struct
 * msgpool_config.type_id, e.g. a hash of the type's definition; all zeros
 * is untyped).  A pool keeps the type it was created with; opening it with
 * another type, an untyped pool included, fails with
 * MSGPOOL_E_TYPE_MISMATCH, while an untyped open joins any pool.
 *
 * ERRORS
 *
 * Functions return 0 (MSGPOOL_OK) or a negative enum msgpool_error value;
 * functions that return a count return it as a non-negative value.  The
 * library never prints, aborts or exits, and keeps no global state.
 * Each errno the kernel returns means one error, whatever the call (the
 * list at enum msgpool_error), but for two that the MemoryManager model
 * splits by operation: EINVAL is MSGPOOL_E_BAD_TOKEN for an operation on
 * a token, and EBUSY is MSGPOOL_E_BORROW_ACTIVE for a free.
 * Errors common to every function that takes a handle or a guard:
 *   MSGPOOL_E_CLOSED      the handle is NULL (msgpool_close() sets the
 *                         caller's pointer to NULL)
 *   MSGPOOL_E_INVALID     a NULL pointer argument or an unknown flag
 *   MSGPOOL_E_SYSTEM      an unexpected system error; errno holds it
 * The error lists below name the others.  msgpool_strerror() describes
 * each code.
 *
 * THREADS
 *
 * One handle may be used by many threads at once: it is not modified after
 * msgpool_open() but for its rings (msgpool_ring()), which a lock of the
 * handle guards, and the kernel serialises access to each slot.  A borrow
 * taken by one thread may be released by another.  The exceptions:
 * msgpool_close() must not run concurrently with any other call on the
 * same handle, and a guard must not be used by two threads at once (it is
 * caller memory, updated by release, commit and discard).  msgpool_dup()
 * gives a thread a peer of its own, whose borrows and ownership are
 * independent of the original's.
 *
 * FORK
 *
 * A child of fork() shares its parent's peers (the files are shared), so
 * it must not borrow, loan or free through the parent's handles.  It may
 * msgpool_close() them, which only drops its references, and
 * msgpool_open() or msgpool_dup() peers of its own.  Handles are opened
 * close-on-exec.
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
	/* No class that fits has a free slot (ENOBUFS). */
	MSGPOOL_E_NO_FREE_SLOTS = -1,
	/* Malformed token, or one of another pool (EINVAL on a token). */
	MSGPOOL_E_BAD_TOKEN = -2,
	/* The slot was freed or reused since the token was made (ESTALE). */
	MSGPOOL_E_NOT_ALLOCATED = -3,
	/* A conflicting borrow or loan holds the slot (EBUSY). */
	MSGPOOL_E_ALREADY_BORROWED = -4,
	/* Free of a borrowed, loaned or published slot (EBUSY of a free). */
	MSGPOOL_E_BORROW_ACTIVE = -5,
	/* An exclusive borrower died inside the slot (EOWNERDEAD). */
	MSGPOOL_E_POISONED = -6,
	/* Not allowed: the pool's mode refuses this caller, the handle is
	 * read-only, the slot is not this handle's to end or belongs to
	 * subscribers, an unlink by another user (EACCES, EBADF, EPERM).
	 */
	MSGPOOL_E_PERMISSION = -7,
	/* The guard holds no borrow or loan of this handle: ended already,
	 * never filled, of another handle, or of the wrong kind.
	 */
	MSGPOOL_E_NOT_HELD = -8,
	/* A length above the largest class or above the slot (EMSGSIZE). */
	MSGPOOL_E_TOO_BIG = -9,
	/* Pool above the module's max_pool_bytes or max_pool_slots, max_pools
	 * pools, MSGPOOL_MAX_READERS readers, or a slot's read borrows at
	 * their limit (E2BIG, ENOSPC, EUSERS, EOVERFLOW).
	 */
	MSGPOOL_E_LIMIT = -10,
	/* No pool of that name, or for take, mark read, unsubscribe and
	 * rings no subscription of this handle (ENOENT).
	 */
	MSGPOOL_E_NOT_FOUND = -11,
	/* MSGPOOL_OPEN_EXCL and the pool exists, subscribed already, or the
	 * handle has had rings already (EEXIST, EALREADY).
	 */
	MSGPOOL_E_EXISTS = -12,
	/* No /dev/msgpool: the module is not loaded (ENOENT, ENODEV, ENXIO
	 * of the device).
	 */
	MSGPOOL_E_NO_DEVICE = -13,
	/* Out of memory, in the kernel or in the process (ENOMEM). */
	MSGPOOL_E_NO_MEMORY = -14,
	/* A wait was interrupted (EINTR). */
	MSGPOOL_E_INTERRUPTED = -15,
	/* NULL handle: used after msgpool_close(). */
	MSGPOOL_E_CLOSED = -16,
	/* Bad argument: NULL pointer, unknown flag, bad name, bad class layout
	 * in struct msgpool_config, unreadable buffer (EINVAL, EFAULT).
	 */
	MSGPOOL_E_INVALID = -17,
	/* The module speaks another ABI version (ENOTTY). */
	MSGPOOL_E_ABI = -18,
	/* Any other system error; errno holds it. */
	MSGPOOL_E_SYSTEM = -19,
	/* Nothing published to this reader is left to take (EAGAIN). */
	MSGPOOL_E_EMPTY = -20,
	/* The pool holds messages of another type (EPROTOTYPE). */
	MSGPOOL_E_TYPE_MISMATCH = -21,
};

/*
 * msgpool_strerror - describe an error code
 * Returns a static string for every enum msgpool_error value, "unknown
 * msgpool error" for anything else.  Thread-safe.
 */
const char *msgpool_strerror(int err);

/*
 * msgpool_op_error - the result of one op of msgpool_batch() as an error
 * code, as for the library's own calls (see ERRORS above).
 * Returns 0 or a negative enum msgpool_error.  Thread-safe.
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
 * messages (see TYPES), all zeros for untyped; and how far a subscriber
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
 *
 * A MSGPOOL_OPEN_RDONLY peer maps the pool read-only and may only read,
 * release, peek at headers and ask for stats; every write-side call gives
 * MSGPOOL_E_PERMISSION.
 *
 * With MSGPOOL_OPEN_CREATE an existing pool is joined only if the caller's
 * user created it: a name another user took first gives MSGPOOL_E_EXISTS.
 * msgpool_created() tells whether this open created the pool (and so
 * whether @mode and @cfg are in force) or joined the caller's own.
 *
 * Errors: MSGPOOL_E_INVALID (name, flags, @mode, @cfg missing, class
 * layout), MSGPOOL_E_TYPE_MISMATCH, MSGPOOL_E_LIMIT, MSGPOOL_E_NOT_FOUND,
 * MSGPOOL_E_EXISTS, MSGPOOL_E_PERMISSION, MSGPOOL_E_NO_DEVICE,
 * MSGPOOL_E_NO_MEMORY, MSGPOOL_E_ABI, MSGPOOL_E_SYSTEM.
 * Thread-safe.
 */
int msgpool_open(const char *name, const struct msgpool_config *cfg,
		 unsigned int flags, unsigned int mode, struct msgpool **out);

/*
 * msgpool_created - whether msgpool_open() created @pool's pool
 * Returns 1 if so, 0 for a handle that joined an existing pool, a
 * msgpool_dup() handle and NULL.  Thread-safe.
 */
int msgpool_created(const struct msgpool *pool);

/*
 * msgpool_dup - open a second, independent peer of the same pool
 * The new handle has its own borrows and owns nothing; it is read-only if
 * @pool is, and names the pool's type.  It attaches by the pool's id: if
 * the name was unlinked (and perhaps taken by a new pool), it fails with
 * MSGPOOL_E_NOT_FOUND rather than join another pool.  Use one per thread or per
 * component when their borrows and ownership must not mix (closing one
 * does not touch the other's).
 * Errors: as msgpool_open().  Thread-safe.
 */
int msgpool_dup(struct msgpool *pool, struct msgpool **out);

/*
 * msgpool_close - close the peer, unmap the pool, free the handle
 * @pool: address of the handle; set to NULL on return
 * Everything the peer held is undone as described under OWNERSHIP.  Guards
 * of the handle become invalid: their data pointers dangle, and releasing
 * one through a NULL handle gives MSGPOOL_E_CLOSED, through any other
 * handle MSGPOOL_E_NOT_HELD.  The pool itself lives on while any peer is
 * open.
 * Errors: MSGPOOL_E_CLOSED if *@pool is NULL (double close),
 * MSGPOOL_E_INVALID if @pool is NULL.  Not thread-safe against other calls
 * on the same handle.
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
 * Thread-safe.
 */
int msgpool_store(struct msgpool *pool, const void *buf, size_t len,
		  uint64_t tag, unsigned int flags, uint64_t *token);

/*
 * msgpool_loan - reserve a slot of at least @len bytes to write in place
 * @len: 0 up to the largest slot size (0 takes any class)
 * @flags: as msgpool_store()
 * @g: receives the loan: token, writable data, hdr.capacity, hdr.len =
 *     capacity.  The slot is invisible to others until msgpool_commit().
 * Errors: as msgpool_store().  Thread-safe.
 */
int msgpool_loan(struct msgpool *pool, size_t len, unsigned int flags,
		 struct msgpool_guard *g);

/*
 * msgpool_commit - publish a loaned slot as a message of @len bytes
 * Ends the loan: @g keeps its token (hand it over) and gets the header
 * of the message (len, tag, producer, seq, timestamp_ns) but loses its
 * data.
 * Errors: MSGPOOL_E_TOO_BIG (@len above the capacity; the loan goes on),
 * MSGPOOL_E_NOT_HELD (@g is no loan of this handle).  Thread-safe.
 */
int msgpool_commit(struct msgpool *pool, struct msgpool_guard *g,
		   size_t len, uint64_t tag);

/*
 * msgpool_discard - give a loaned slot back unpublished
 * Errors: MSGPOOL_E_NOT_HELD.  Thread-safe.
 */
int msgpool_discard(struct msgpool *pool, struct msgpool_guard *g);

/*
 * msgpool_read - shared borrow of a message (MemoryManager::read)
 * @flags: MSGPOOL_NONBLOCK (fail instead of waiting for an exclusive
 *         borrower or a loan to end), MSGPOOL_ADOPT (this handle becomes
 *         the owner)
 * @g: receives token, data (read only) and header.  Any number of shared
 *     borrows, by any peers, may coexist; a handle may hold several of one
 *     slot, one per guard.
 * Errors: MSGPOOL_E_BAD_TOKEN, MSGPOOL_E_NOT_ALLOCATED,
 * MSGPOOL_E_ALREADY_BORROWED (with MSGPOOL_NONBLOCK), MSGPOOL_E_POISONED,
 * MSGPOOL_E_PERMISSION (a published message: take it instead),
 * MSGPOOL_E_INTERRUPTED.  Thread-safe.
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
 * Thread-safe.
 */
int msgpool_read_mut(struct msgpool *pool, uint64_t token, unsigned int flags,
		     struct msgpool_guard *g);

/*
 * msgpool_release - end a borrow taken by msgpool_read() or
 * msgpool_read_mut() through this handle; @g's data is cleared
 * Errors: MSGPOOL_E_NOT_HELD (double release, a loan, a guard of another
 * handle, a guard never filled), MSGPOOL_E_PERMISSION (the kernel knows
 * no such borrow of this handle, e.g. one a raw op ended; the guard
 * ends).  Thread-safe.
 */
int msgpool_release(struct msgpool *pool, struct msgpool_guard *g);

/*
 * msgpool_release_len - end an exclusive borrow, setting the length
 * Errors: MSGPOOL_E_TOO_BIG (@len above the capacity; the borrow goes on),
 * MSGPOOL_E_INVALID (a shared borrow), MSGPOOL_E_NOT_HELD.  Thread-safe.
 */
int msgpool_release_len(struct msgpool *pool, struct msgpool_guard *g,
			size_t len);

/*
 * msgpool_free - return a message's slot to the pool (MemoryManager::free)
 * Any writable handle holding the token may free it; afterwards the token
 * gives MSGPOOL_E_NOT_ALLOCATED.  A poisoned slot frees fine.
 * Errors: MSGPOOL_E_BAD_TOKEN, MSGPOOL_E_NOT_ALLOCATED (double free),
 * MSGPOOL_E_BORROW_ACTIVE (borrowed, loaned or published),
 * MSGPOOL_E_PERMISSION.
 * Thread-safe.
 */
int msgpool_free(struct msgpool *pool, uint64_t token);

/*
 * msgpool_header - peek at a message's header without borrowing it
 * @hdr: receives the kernel's op: len, capacity, producer, tag, seq,
 *       timestamp_ns
 * Errors: MSGPOOL_E_BAD_TOKEN, MSGPOOL_E_NOT_ALLOCATED,
 * MSGPOOL_E_ALREADY_BORROWED (the slot is loaned, not yet committed),
 * MSGPOOL_E_POISONED.  Thread-safe.
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
 * Thread-safe.
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
 * or MSGPOOL_E_CLOSED, MSGPOOL_E_INVALID.  Thread-safe.
 */
int msgpool_batch(struct msgpool *pool, struct msgpool_op *ops, size_t n,
		  unsigned int flags, size_t *done);

/* ---- Publish/subscribe ------------------------------------------------- */

/*
 * A handle may subscribe as one of up to MSGPOOL_MAX_READERS readers of its
 * pool.  A message published with msgpool_publish() goes to the readers
 * subscribed at that moment; each takes it in place with msgpool_take(),
 * in publish order, and ends the take with msgpool_mark_read().  The slot
 * is free again once every one of them has marked it read, unsubscribed or
 * closed.  A publisher that dies with a loan gives it back; what it
 * published stays for its readers.
 *
 * Overflow: by default a full pool makes msgpool_loan() fail or, with
 * MSGPOOL_WAIT, wait for a reader to mark a slot read (backpressure).  A
 * pool created with MSGPOOL_OPEN_OVERWRITE instead takes back the oldest
 * published message that no reader has taken: readers then skip it;
 * hdr.lost of a take counts what its reader skipped since its previous
 * take, and msgpool_missed() sums them.  The flag is ignored when the pool
 * exists already, like @cfg's classes; MSGPOOL_E_INVALID without CREATE.
 *
 * Sequence numbers are the pool's, shared by store, commit and publish: a
 * larger hdr.seq is a later message, but a gap between two takes is no
 * loss (a store may have come between); hdr.lost is.
 *
 *   msgpool_subscribe(pool);
 *   while (msgpool_take(pool, 0, &g) == 0) {   // waits in poll()
 *           use(g.data, g.hdr.len, g.hdr.seq);
 *           msgpool_mark_read(pool, &g);
 *   }
 *
 * Each of these calls is a system call; after msgpool_ring() a reader's
 * take and mark read are not, while messages keep coming.
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
 * Errors: as msgpool_commit().  Thread-safe.
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
 * Returns 0 when both happened.  When the publish fails, nothing happened:
 * its error is returned, @g is the loan it was, and @next (another guard)
 * is cleared.  When the publish succeeded but the loan failed, the loan's
 * error is returned, @g has ended as by msgpool_publish() (its header is
 * the published message's) and @next holds nothing.  Tell the two apart
 * by @g->data: NULL once published.
 * Errors: as msgpool_publish(), then as msgpool_loan().  Thread-safe.
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
 * Returns 0 when both happened.  When the mark fails, nothing happened:
 * its error is returned, @g is the take it was, and @next (another guard)
 * is cleared.  When the mark succeeded but the take failed, the take's
 * error is returned (MSGPOOL_E_EMPTY with MSGPOOL_NONBLOCK), @g has ended
 * and @next holds nothing.  Tell the two apart by @g->data: NULL once
 * marked read.
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
 *
 * From then on the kernel hands each message published to this reader
 * into its receive ring, and msgpool_take(), msgpool_mark_read(),
 * msgpool_mark_read_take() and msgpool_wait(POLLIN) go through the rings:
 * - a take makes no system call while the ring holds a message, nor
 *   mostly with MSGPOOL_NONBLOCK on an empty ring, which costs a RING_SYNC
 *   only where the kernel may hold messages back (the ring filled up
 *   since the last, or the pool has a reader limit); without, an empty
 *   ring waits in poll();
 * - a mark read queues the token; the kernel marks it read at the next
 *   publish, take, wait or poll of any peer of the pool.  When a writer
 *   waits for a slot the library makes that call itself, once the
 *   receive ring is empty or the completion ring half full (one call
 *   frees a batch); otherwise only when the completion ring is full.
 *   So msgpool_available() may lag behind
 *   a mark read; and the kernel's verdict on a token does not come
 *   back: it skips one it refuses;
 * - msgpool_wait(POLLIN) returns 1 at once when the ring holds a message;
 * - a reader that holds the pool's reader_limit of takes finds its ring
 *   empty until it marks one read (MSGPOOL_E_EMPTY, or a wait), where a
 *   take without rings fails with MSGPOOL_E_ALREADY_BORROWED.
 * A handle has rings once in its life: after msgpool_unsubscribe() they
 * are dead, the calls go back to system calls, and msgpool_ring() fails
 * with MSGPOOL_E_EXISTS.
 * Errors: MSGPOOL_E_NOT_FOUND (not subscribed), MSGPOOL_E_EXISTS,
 * MSGPOOL_E_INVALID (@entries), MSGPOOL_E_PERMISSION (a read-only
 * handle: it cannot map the completion ring writable), MSGPOOL_E_NO_MEMORY.
 * When the mapping fails after the kernel made the rings, the handle
 * unsubscribes, lest its messages pile up unread.  Thread-safe.
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
 * Thread-safe.
 */
int64_t msgpool_available(struct msgpool *pool);

/*
 * msgpool_capacity - slots, all classes
 * Returns the count (> 0) or MSGPOOL_E_CLOSED.  Thread-safe.
 */
int64_t msgpool_capacity(struct msgpool *pool);

/* Memory classes */
enum msgpool_memory_class {
	MSGPOOL_MEMORY_HOST = MSGPOOL_MEM_HOST,	/* host RAM, kernel pages */
};

/*
 * msgpool_memory_class - the storage domain of the pool
 * Returns an enum msgpool_memory_class value or MSGPOOL_E_CLOSED.
 * Thread-safe.
 */
int msgpool_memory_class(struct msgpool *pool);

/*
 * msgpool_stats - the pool's shape, counters and type, as of now: the
 * kernel's struct msgpool_info (see <linux/msgpool.h>)
 * Errors: MSGPOOL_E_CLOSED, MSGPOOL_E_INVALID.  Thread-safe.
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
 * MSGPOOL_E_NO_MEMORY, MSGPOOL_E_ABI, MSGPOOL_E_SYSTEM.  Thread-safe.
 */
int msgpool_list_pools(struct msgpool_pool_stat **out, size_t *n);

/*
 * msgpool_list_peers - the peers attached to pool @name
 * @id:  0, or the pool's id (msgpool_pool_stat.id): a pool of that name
 *       with another id is MSGPOOL_E_NOT_FOUND
 * @out, @n: as msgpool_list_pools()
 * Errors: as msgpool_list_pools(), and MSGPOOL_E_NOT_FOUND.  Thread-safe.
 */
int msgpool_list_peers(const char *name, uint32_t id,
		       struct msgpool_peer_stat **out, size_t *n);

/*
 * msgpool_unlink - remove the name @name, like ipcrm
 * No new peer can attach; the peers attached carry on, and the pool is
 * freed when the last one closes.  The name may be created again at once.
 * Allowed to the pool's creator and to CAP_SYS_ADMIN.
 * Errors: MSGPOOL_E_INVALID, MSGPOOL_E_NOT_FOUND, MSGPOOL_E_PERMISSION,
 * MSGPOOL_E_NO_DEVICE, MSGPOOL_E_ABI, MSGPOOL_E_SYSTEM.  Thread-safe.
 */
int msgpool_unlink(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* MSGPOOL_H */
