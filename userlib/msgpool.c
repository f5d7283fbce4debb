// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmsgpool: the MemoryManager API over the /dev/msgpool ioctls.
 *
 * The handle is immutable after msgpool_open() but for the reader's missed
 * count, kept with atomics, and its rings, so every call but close is
 * thread-safe: the kernel serialises each slot, and a lock of the handle
 * its rings, which are single-producer, single-consumer.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "msgpool.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define OPEN_FLAGS	(MSGPOOL_OPEN_CREATE | MSGPOOL_OPEN_EXCL | \
			 MSGPOOL_OPEN_RDONLY | MSGPOOL_OPEN_OVERWRITE)
#define ALLOC_FLAGS	(MSGPOOL_NONBLOCK | MSGPOOL_WAIT)
#define BORROW_FLAGS	(MSGPOOL_NONBLOCK | MSGPOOL_ADOPT)

/* Ops per ioctl in the *_many calls: bounds their stack use to ~5 KiB. */
#define MANY_CHUNK	64

enum guard_kind {
	GUARD_NONE,		/* ended, or never filled */
	GUARD_READ,
	GUARD_WRITE,
	GUARD_LOAN,
	GUARD_TAKE,
};

#define GUARD_BORROW	((1U << GUARD_READ) | (1U << GUARD_WRITE))

struct msgpool {
	int fd;
	bool rdonly;
	void *base;
	struct msgpool_info info;	/* as of open: the shape, the type */
	char name[MSGPOOL_NAME_MAX];
	bool created;			/* this handle's open created it */
	uint64_t missed;		/* the reader's: its takes' lost */
	/* The reader's rings (msgpool_ring()), under ring_lock. */
	pthread_mutex_t ring_lock;
	const struct msgpool_ring_rx *rx;	/* NULL: none */
	const struct msgpool_ring_msg *msgs;	/* its ring, after it */
	struct msgpool_ring_comp *comp;
	uint64_t *tokens;			/* its ring, after it */
	size_t rx_size, comp_size;
	uint32_t ring_mask;		/* entries - 1 */
	uint32_t sync_cons;		/* rx_consumer at the last RING_SYNC */
	bool ring_dead;			/* unsubscribed: the kernel left it */
};

static const char *const error_text[] = {
	[-MSGPOOL_OK] = "success",
	[-MSGPOOL_E_NO_FREE_SLOTS] = "no free slot in the pool",
	[-MSGPOOL_E_BAD_TOKEN] = "malformed token or token of another pool",
	[-MSGPOOL_E_NOT_ALLOCATED] = "message freed or slot reused",
	[-MSGPOOL_E_ALREADY_BORROWED] = "slot held by a conflicting borrow",
	[-MSGPOOL_E_BORROW_ACTIVE] = "slot still borrowed, loaned or published",
	[-MSGPOOL_E_POISONED] = "slot poisoned: its writer died",
	[-MSGPOOL_E_PERMISSION] = "permission denied",
	[-MSGPOOL_E_NOT_HELD] = "no such borrow or loan held by this handle",
	[-MSGPOOL_E_TOO_BIG] = "message too big",
	[-MSGPOOL_E_LIMIT] = "pool size, count or reader limit reached",
	[-MSGPOOL_E_NOT_FOUND] = "no such pool or subscription",
	[-MSGPOOL_E_EXISTS] = "pool or subscription exists already",
	[-MSGPOOL_E_NO_DEVICE] = "no " MSGPOOL_DEVICE ": module not loaded",
	[-MSGPOOL_E_NO_MEMORY] = "out of memory",
	[-MSGPOOL_E_INTERRUPTED] = "interrupted",
	[-MSGPOOL_E_CLOSED] = "handle closed",
	[-MSGPOOL_E_INVALID] = "invalid argument",
	[-MSGPOOL_E_ABI] = "msgpool module ABI mismatch",
	[-MSGPOOL_E_SYSTEM] = "system error",
	[-MSGPOOL_E_EMPTY] = "no message left to take",
	[-MSGPOOL_E_TYPE_MISMATCH] = "pool holds messages of another type",
};

const char *msgpool_strerror(int err)
{
	if (err > 0 || -(long)err >= (long)ARRAY_SIZE(error_text))
		return "unknown msgpool error";
	return error_text[-err];
}

/*
 * The error of each errno the kernel returns (Documentation/libmsgpool.rst,
 * Errors), the same for every call.
 */
static const signed char errno_error[] = {
	[ENOBUFS] = MSGPOOL_E_NO_FREE_SLOTS,
	[EINVAL] = MSGPOOL_E_INVALID,
	[EFAULT] = MSGPOOL_E_INVALID,
	[ESTALE] = MSGPOOL_E_NOT_ALLOCATED,
	[EBUSY] = MSGPOOL_E_ALREADY_BORROWED,
	[EOWNERDEAD] = MSGPOOL_E_POISONED,
	[EACCES] = MSGPOOL_E_PERMISSION,
	[EBADF] = MSGPOOL_E_PERMISSION,
	[EPERM] = MSGPOOL_E_PERMISSION,
	[EMSGSIZE] = MSGPOOL_E_TOO_BIG,
	[E2BIG] = MSGPOOL_E_LIMIT,
	[ENOSPC] = MSGPOOL_E_LIMIT,
	[EUSERS] = MSGPOOL_E_LIMIT,
	[EOVERFLOW] = MSGPOOL_E_LIMIT,
	[ENOENT] = MSGPOOL_E_NOT_FOUND,
	[EEXIST] = MSGPOOL_E_EXISTS,
	[EALREADY] = MSGPOOL_E_EXISTS,
	[ENODEV] = MSGPOOL_E_NO_DEVICE,
	[ENXIO] = MSGPOOL_E_NO_DEVICE,
	[ENOMEM] = MSGPOOL_E_NO_MEMORY,
	[EINTR] = MSGPOOL_E_INTERRUPTED,
	[ENOTTY] = MSGPOOL_E_ABI,
	[EAGAIN] = MSGPOOL_E_EMPTY,
	[EPROTOTYPE] = MSGPOOL_E_TYPE_MISMATCH,
	[EDEADLK] = MSGPOOL_E_ALREADY_BORROWED,
	[EDQUOT] = MSGPOOL_E_LIMIT,
};

/* The error of errno @e; one the table lacks stays in errno. */
static int error_of(int e)
{
	if (e > 0 && e < (int)ARRAY_SIZE(errno_error) && errno_error[e])
		return errno_error[e];
	errno = e;
	return MSGPOOL_E_SYSTEM;
}

static bool op_on_token(unsigned int code)
{
	return (code >= MSGPOOL_OP_COMMIT && code <= MSGPOOL_OP_HEADER) ||
	       code == MSGPOOL_OP_PUBLISH || code == MSGPOOL_OP_MARK_READ;
}

/*
 * An op's result.  MemoryManager tells apart what the kernel folds into
 * one errno: EINVAL of an op on a token is MSGPOOL_E_BAD_TOKEN (the
 * library checks the op's other fields), EBUSY of a free is
 * MSGPOOL_E_BORROW_ACTIVE.
 */
int msgpool_op_error(const struct msgpool_op *op)
{
	if (!op)
		return MSGPOOL_E_INVALID;
	switch (-op->result) {
	case 0:
		return MSGPOOL_OK;
	case EINVAL:
		if (op_on_token(op->op))
			return MSGPOOL_E_BAD_TOKEN;
		break;
	case EBUSY:
		if (op->op == MSGPOOL_OP_FREE)
			return MSGPOOL_E_BORROW_ACTIVE;
		break;
	}
	return error_of(-op->result);
}

/* One single-op ioctl: op @code, its result in @op->result. */
static int do_op(struct msgpool *pool, unsigned long req, unsigned int code,
		 struct msgpool_op *op)
{
	op->op = code;
	op->result = ioctl(pool->fd, req, op) ? -errno : 0;
	return msgpool_op_error(op);
}

static bool name_valid(const char *name)
{
	size_t i;

	for (i = 0; name[i]; i++) {
		char c = name[i];

		if (i == MSGPOOL_NAME_MAX - 1)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return i > 0;
}

static int open_check(const char *name, const struct msgpool_config *cfg,
		      unsigned int flags, unsigned int mode,
		      struct msgpool **out)
{
	bool create = flags & MSGPOOL_OPEN_CREATE;

	if (!out)
		return MSGPOOL_E_INVALID;
	*out = NULL;
	if (!name || !name_valid(name) || (flags & ~OPEN_FLAGS))
		return MSGPOOL_E_INVALID;
	if ((flags & (MSGPOOL_OPEN_EXCL | MSGPOOL_OPEN_OVERWRITE)) && !create)
		return MSGPOOL_E_INVALID;
	if ((create && !cfg) || mode > 0777 || (!create && mode))
		return MSGPOOL_E_INVALID;
	return MSGPOOL_OK;
}

/* @id: 0, or the only pool to join (msgpool_dup()). */
static int attach(struct msgpool *pool, const struct msgpool_config *cfg,
		  unsigned int flags, unsigned int mode, uint32_t id)
{
	struct msgpool_attach at;

	memset(&at, 0, sizeof(at));
	strcpy(at.name, pool->name);
	at.flags = flags & MSGPOOL_ATTACH_FLAGS;
	at.id = id;
	if (cfg)
		memcpy(at.type_id, cfg->type_id, sizeof(at.type_id));
	if (flags & MSGPOOL_OPEN_CREATE) {
		at.mode = mode;
		at.nr_classes = cfg->nr_classes;
		memcpy(at.classes, cfg->classes, sizeof(at.classes));
		at.reader_limit = cfg->reader_limit;
	}
	if (ioctl(pool->fd, MSGPOOL_IOC_ATTACH, &at))
		return error_of(errno);
	pool->created = at.created;
	return MSGPOOL_OK;
}

static int info(struct msgpool *pool, struct msgpool_info *in)
{
	memset(in, 0, sizeof(*in));
	if (ioctl(pool->fd, MSGPOOL_IOC_INFO, in))
		return error_of(errno);
	return MSGPOOL_OK;
}

static int map(struct msgpool *pool)
{
	int prot = pool->rdonly ? PROT_READ : PROT_READ | PROT_WRITE;
	int err = info(pool, &pool->info);
	void *base;

	if (err)
		return err;
	if (pool->info.abi_version != MSGPOOL_ABI_VERSION)
		return MSGPOOL_E_ABI;
	base = mmap(NULL, pool->info.map_size, prot, MAP_SHARED, pool->fd, 0);
	if (base == MAP_FAILED)
		return error_of(errno);
	pool->base = base;
	return MSGPOOL_OK;
}

static int device_open(bool rdonly)
{
	int fd = open(MSGPOOL_DEVICE, (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	/* Of the device node, ENOENT is its absence. */
	return errno == ENOENT ? MSGPOOL_E_NO_DEVICE : error_of(errno);
}

static int open_pool(const char *name, const struct msgpool_config *cfg,
		     unsigned int flags, unsigned int mode, uint32_t id,
		     struct msgpool **out)
{
	struct msgpool *pool;
	int saved_errno;
	int err;

	err = open_check(name, cfg, flags, mode, out);
	if (err)
		return err;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return MSGPOOL_E_NO_MEMORY;
	strcpy(pool->name, name);
	pool->rdonly = flags & MSGPOOL_OPEN_RDONLY;
	pool->fd = device_open(pool->rdonly);
	if (pool->fd < 0) {
		err = pool->fd;
		free(pool);
		return err;
	}
	pthread_mutex_init(&pool->ring_lock, NULL);
	err = attach(pool, cfg, flags, mode, id);
	if (!err)
		err = map(pool);
	if (err) {
		/* Keep the errno of MSGPOOL_E_SYSTEM, not close()'s. */
		saved_errno = errno;
		close(pool->fd);
		pthread_mutex_destroy(&pool->ring_lock);
		free(pool);
		errno = saved_errno;
		return err;
	}
	*out = pool;
	return MSGPOOL_OK;
}

int msgpool_open(const char *name, const struct msgpool_config *cfg,
		 unsigned int flags, unsigned int mode, struct msgpool **out)
{
	return open_pool(name, cfg, flags, mode, 0, out);
}

int msgpool_created(const struct msgpool *pool)
{
	return pool && pool->created;
}

int msgpool_dup(struct msgpool *pool, struct msgpool **out)
{
	struct msgpool_config cfg;

	if (!pool) {
		if (out)
			*out = NULL;
		return MSGPOOL_E_CLOSED;
	}
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.type_id, pool->info.type_id, sizeof(cfg.type_id));
	/* By id: never a new pool that merely took the old one's name. */
	return open_pool(pool->name, &cfg,
			 pool->rdonly ? MSGPOOL_OPEN_RDONLY : 0, 0,
			 pool->info.pool_id, out);
}

int msgpool_close(struct msgpool **poolp)
{
	struct msgpool *pool;

	if (!poolp)
		return MSGPOOL_E_INVALID;
	pool = *poolp;
	if (!pool)
		return MSGPOOL_E_CLOSED;
	*poolp = NULL;
	if (pool->rx) {
		munmap((void *)pool->rx, pool->rx_size);
		munmap(pool->comp, pool->comp_size);
	}
	munmap(pool->base, pool->info.map_size);
	close(pool->fd);
	pthread_mutex_destroy(&pool->ring_lock);
	free(pool);
	return MSGPOOL_OK;
}

/* ---- Guards ------------------------------------------------------------ */

static void guard_start(const struct msgpool *pool, struct msgpool_guard *g,
			const struct msgpool_op *op, enum guard_kind kind)
{
	g->token = op->token;
	g->data = (char *)pool->base + op->offset;
	g->hdr = *op;
	g->priv.pool = pool;
	g->priv.peer_id = pool->info.peer_id;
	g->priv.kind = kind;
}

/* A take also adds what its reader lost to msgpool_missed(). */
static void take_start(struct msgpool *pool, struct msgpool_guard *g,
		       const struct msgpool_op *op)
{
	guard_start(pool, g, op, GUARD_TAKE);
	__atomic_fetch_add(&pool->missed, op->lost, __ATOMIC_RELAXED);
}

static void guard_end(struct msgpool_guard *g)
{
	g->data = NULL;
	g->priv.kind = GUARD_NONE;
}

static void guard_clear(struct msgpool_guard *g)
{
	memset(g, 0, sizeof(*g));
}

/*
 * Is @g a live guard of @pool of one of @kinds (a bit mask)?  The peer id
 * tells a guard of a closed handle from one of a new handle that malloc
 * placed at the same address.
 */
static int guard_check(const struct msgpool *pool,
		       const struct msgpool_guard *g, unsigned int kinds)
{
	if (!pool)
		return MSGPOOL_E_CLOSED;
	if (!g)
		return MSGPOOL_E_INVALID;
	if (g->priv.pool != pool || g->priv.peer_id != pool->info.peer_id ||
	    g->priv.kind == GUARD_NONE || !(kinds & (1U << g->priv.kind)))
		return MSGPOOL_E_NOT_HELD;
	return MSGPOOL_OK;
}

/* ---- Messages ---------------------------------------------------------- */

/* MSGPOOL_NONBLOCK wins, or the kernel's EAGAIN reads as MSGPOOL_E_EMPTY. */
static unsigned int alloc_flags(unsigned int flags)
{
	return flags & MSGPOOL_NONBLOCK ? flags & ~MSGPOOL_WAIT : flags;
}

int msgpool_store(struct msgpool *pool, const void *buf, size_t len,
		  uint64_t tag, unsigned int flags, uint64_t *token)
{
	struct msgpool_op op;
	int err;

	if (!pool)
		return MSGPOOL_E_CLOSED;
	if (!buf || !token || (flags & ~ALLOC_FLAGS))
		return MSGPOOL_E_INVALID;
	if (len > UINT32_MAX)
		return MSGPOOL_E_TOO_BIG;
	memset(&op, 0, sizeof(op));
	op.flags = alloc_flags(flags);
	op.len = len;
	op.data = (uintptr_t)buf;
	op.tag = tag;
	err = do_op(pool, MSGPOOL_IOC_STORE, MSGPOOL_OP_STORE, &op);
	*token = err ? 0 : op.token;
	return err;
}

int msgpool_loan(struct msgpool *pool, size_t len, unsigned int flags,
		 struct msgpool_guard *g)
{
	struct msgpool_op op;
	int err;

	if (!pool)
		return MSGPOOL_E_CLOSED;
	if (!g || (flags & ~ALLOC_FLAGS))
		return MSGPOOL_E_INVALID;
	guard_clear(g);
	if (len > UINT32_MAX)
		return MSGPOOL_E_TOO_BIG;
	memset(&op, 0, sizeof(op));
	op.flags = alloc_flags(flags);
	op.len = len;
	err = do_op(pool, MSGPOOL_IOC_LOAN, MSGPOOL_OP_LOAN, &op);
	if (!err)
		guard_start(pool, g, &op, GUARD_LOAN);
	return err;
}

/*
 * Ends a loan with COMMIT or PUBLISH.  The op starts as the loan's, whose
 * out fields the kernel ignores: offset and capacity, which these ops do
 * not return, stay in the guard's header.
 */
static int loan_end(struct msgpool *pool, struct msgpool_guard *g,
		    size_t len, uint64_t tag, unsigned long ioc, uint32_t code)
{
	struct msgpool_op op;
	int err;

	err = guard_check(pool, g, 1U << GUARD_LOAN);
	if (err)
		return err;
	if (len > g->hdr.capacity)
		return MSGPOOL_E_TOO_BIG;
	op = g->hdr;
	op.flags = 0;
	op.len = len;
	op.tag = tag;
	err = do_op(pool, ioc, code, &op);
	if (err)
		return err;
	g->hdr = op;
	guard_end(g);
	return MSGPOOL_OK;
}

int msgpool_commit(struct msgpool *pool, struct msgpool_guard *g,
		   size_t len, uint64_t tag)
{
	return loan_end(pool, g, len, tag, MSGPOOL_IOC_COMMIT,
			MSGPOOL_OP_COMMIT);
}

int msgpool_discard(struct msgpool *pool, struct msgpool_guard *g)
{
	struct msgpool_op op;
	int err;

	err = guard_check(pool, g, 1U << GUARD_LOAN);
	if (err)
		return err;
	memset(&op, 0, sizeof(op));
	op.token = g->token;
	err = do_op(pool, MSGPOOL_IOC_DISCARD, MSGPOOL_OP_DISCARD, &op);
	if (!err)
		guard_end(g);
	return err;
}

static int borrow(struct msgpool *pool, uint64_t token, unsigned int flags,
		  struct msgpool_guard *g, bool write)
{
	struct msgpool_op op;
	int err;

	if (!pool)
		return MSGPOOL_E_CLOSED;
	if (!g || (flags & ~BORROW_FLAGS))
		return MSGPOOL_E_INVALID;
	guard_clear(g);
	memset(&op, 0, sizeof(op));
	op.token = token;
	op.flags = flags | (write ? MSGPOOL_F_WRITE : 0);
	err = do_op(pool, MSGPOOL_IOC_BORROW, MSGPOOL_OP_BORROW, &op);
	if (!err)
		guard_start(pool, g, &op, write ? GUARD_WRITE : GUARD_READ);
	return err;
}

int msgpool_read(struct msgpool *pool, uint64_t token, unsigned int flags,
		 struct msgpool_guard *g)
{
	return borrow(pool, token, flags, g, false);
}

int msgpool_read_mut(struct msgpool *pool, uint64_t token, unsigned int flags,
		     struct msgpool_guard *g)
{
	return borrow(pool, token, flags, g, true);
}

static int release(struct msgpool *pool, struct msgpool_guard *g,
		   unsigned int flags, uint32_t len)
{
	struct msgpool_op op;
	int err;

	memset(&op, 0, sizeof(op));
	op.token = g->token;
	op.flags = flags;
	op.len = len;
	err = do_op(pool, MSGPOOL_IOC_RELEASE, MSGPOOL_OP_RELEASE, &op);
	/* The kernel knows of no such borrow: the guard holds nothing. */
	if (!err || err == MSGPOOL_E_PERMISSION)
		guard_end(g);
	if (!err && (flags & MSGPOOL_F_SETLEN))
		g->hdr.len = len;
	return err;
}

int msgpool_release(struct msgpool *pool, struct msgpool_guard *g)
{
	int err = guard_check(pool, g, GUARD_BORROW);

	if (err)
		return err;
	return release(pool, g, 0, 0);
}

int msgpool_release_len(struct msgpool *pool, struct msgpool_guard *g,
			size_t len)
{
	int err = guard_check(pool, g, GUARD_BORROW);

	if (err)
		return err;
	if (g->priv.kind != GUARD_WRITE)
		return MSGPOOL_E_INVALID;
	if (len > g->hdr.capacity)
		return MSGPOOL_E_TOO_BIG;
	return release(pool, g, MSGPOOL_F_SETLEN, len);
}

int msgpool_free(struct msgpool *pool, uint64_t token)
{
	struct msgpool_op op;

	if (!pool)
		return MSGPOOL_E_CLOSED;
	memset(&op, 0, sizeof(op));
	op.token = token;
	return do_op(pool, MSGPOOL_IOC_FREE, MSGPOOL_OP_FREE, &op);
}

int msgpool_header(struct msgpool *pool, uint64_t token,
		   struct msgpool_op *hdr)
{
	if (!pool)
		return MSGPOOL_E_CLOSED;
	if (!hdr)
		return MSGPOOL_E_INVALID;
	memset(hdr, 0, sizeof(*hdr));
	hdr->token = token;
	return do_op(pool, MSGPOOL_IOC_HEADER, MSGPOOL_OP_HEADER, hdr);
}

/* ---- Batches ----------------------------------------------------------- */

/* One MSGPOOL_IOC_BATCH of 1..MSGPOOL_BATCH_MAX ops. */
static int batch_ioctl(struct msgpool *pool, struct msgpool_op *ops,
		       uint32_t count, uint32_t flags, uint32_t *done)
{
	struct msgpool_batch_args b;

	memset(&b, 0, sizeof(b));
	b.ops = (uintptr_t)ops;
	b.count = count;
	b.op_size = sizeof(*ops);
	b.flags = flags;
	if (ioctl(pool->fd, MSGPOOL_IOC_BATCH, &b))
		return error_of(errno);
	*done = b.done;
	return MSGPOOL_OK;
}

int msgpool_batch(struct msgpool *pool, struct msgpool_op *ops, size_t n,
		  unsigned int flags, size_t *done)
{
	size_t total = 0;
	uint32_t count, ran;
	int err = MSGPOOL_OK;

	if (done)
		*done = 0;
	if (!pool)
		return MSGPOOL_E_CLOSED;
	if (!ops || !n || (flags & ~MSGPOOL_BATCH_FLAGS))
		return MSGPOOL_E_INVALID;
	while (total < n) {
		count = n - total > MSGPOOL_BATCH_MAX ? MSGPOOL_BATCH_MAX :
			n - total;
		err = batch_ioctl(pool, ops + total, count, flags, &ran);
		if (err)
			break;
		total += ran;
		/* Short (a failure under STOP, or a signal), or failed last. */
		if (ran < count ||
		    ((flags & MSGPOOL_BATCH_STOP) && ops[total - 1].result))
			break;
	}
	if (done)
		*done = total;
	return err;
}

/*
 * Runs the @n (at most MANY_CHUNK) ops of a *_many call in one batch.
 * @err holds each item's error: the library's own refusal, whose op is a
 * NOP, or 0 until the op's result fills it.  @results, if not NULL, gets
 * a copy.  The first error goes to *@first unless it holds one already.
 */
static void many(struct msgpool *pool, struct msgpool_op *ops, int *err,
		 size_t n, int *results, int *first)
{
	uint32_t done = 0;
	int batch_err;
	size_t j;

	batch_err = batch_ioctl(pool, ops, n, 0, &done);
	for (j = 0; j < n; j++) {
		if (!err[j] && batch_err)
			err[j] = batch_err;
		/* Without MSGPOOL_BATCH_STOP only a fatal signal stops it. */
		else if (!err[j])
			err[j] = j < done ? msgpool_op_error(&ops[j]) :
				 MSGPOOL_E_INTERRUPTED;
		if (results)
			results[j] = err[j];
		if (!*first)
			*first = err[j];
	}
}

static const struct msgpool_op nop = { .op = MSGPOOL_OP_NOP };

static size_t chunk(size_t left)
{
	return left < MANY_CHUNK ? left : MANY_CHUNK;
}

int msgpool_store_many(struct msgpool *pool, const struct msgpool_buf *bufs,
		       size_t n, unsigned int flags, uint64_t *tokens,
		       int *results)
{
	struct msgpool_op ops[MANY_CHUNK];
	int err[MANY_CHUNK], first = MSGPOOL_OK;
	size_t i, j, cnt;

	if (!pool)
		return MSGPOOL_E_CLOSED;
	if (!bufs || !tokens || (flags & ~ALLOC_FLAGS))
		return MSGPOOL_E_INVALID;
	for (i = 0; i < n; i += cnt) {
		cnt = chunk(n - i);
		for (j = 0; j < cnt; j++) {
			const struct msgpool_buf *b = &bufs[i + j];

			ops[j] = nop;
			err[j] = !b->data ? MSGPOOL_E_INVALID :
				 b->len > UINT32_MAX ? MSGPOOL_E_TOO_BIG : 0;
			if (err[j])
				continue;
			ops[j].op = MSGPOOL_OP_STORE;
			ops[j].flags = alloc_flags(flags);
			ops[j].len = b->len;
			ops[j].data = (uintptr_t)b->data;
			ops[j].tag = b->tag;
		}
		many(pool, ops, err, cnt, results ? results + i : NULL, &first);
		for (j = 0; j < cnt; j++)
			tokens[i + j] = err[j] ? 0 : ops[j].token;
	}
	return first;
}

/* FREE, or BORROW to read into @guards, of each of @tokens. */
static int token_many(struct msgpool *pool, uint32_t code,
		      const uint64_t *tokens, size_t n, unsigned int flags,
		      struct msgpool_guard *guards, int *results)
{
	struct msgpool_op ops[MANY_CHUNK];
	int err[MANY_CHUNK], first = MSGPOOL_OK;
	size_t i, j, cnt;

	for (i = 0; i < n; i += cnt) {
		cnt = chunk(n - i);
		for (j = 0; j < cnt; j++) {
			ops[j] = nop;
			ops[j].op = code;
			ops[j].flags = flags;
			ops[j].token = tokens[i + j];
			err[j] = 0;
		}
		many(pool, ops, err, cnt, results ? results + i : NULL, &first);
		for (j = 0; guards && j < cnt; j++) {
			guard_clear(&guards[i + j]);
			if (!err[j])
				guard_start(pool, &guards[i + j], &ops[j],
					    GUARD_READ);
		}
	}
	return first;
}

int msgpool_free_many(struct msgpool *pool, const uint64_t *tokens, size_t n,
		      int *results)
{
	if (!pool)
		return MSGPOOL_E_CLOSED;
	if (!tokens)
		return MSGPOOL_E_INVALID;
	return token_many(pool, MSGPOOL_OP_FREE, tokens, n, 0, NULL, results);
}

int msgpool_read_many(struct msgpool *pool, const uint64_t *tokens, size_t n,
		      unsigned int flags, struct msgpool_guard *guards,
		      int *results)
{
	if (!pool)
		return MSGPOOL_E_CLOSED;
	if (!tokens || !guards || (flags & ~BORROW_FLAGS))
		return MSGPOOL_E_INVALID;
	return token_many(pool, MSGPOOL_OP_BORROW, tokens, n, flags, guards,
			  results);
}

int msgpool_release_many(struct msgpool *pool, struct msgpool_guard *guards,
			 size_t n, int *results)
{
	struct msgpool_op ops[MANY_CHUNK];
	int err[MANY_CHUNK], first = MSGPOOL_OK;
	size_t i, j, cnt;

	if (!pool)
		return MSGPOOL_E_CLOSED;
	if (!guards)
		return MSGPOOL_E_INVALID;
	for (i = 0; i < n; i += cnt) {
		cnt = chunk(n - i);
		for (j = 0; j < cnt; j++) {
			ops[j] = nop;
			err[j] = guard_check(pool, &guards[i + j],
					     GUARD_BORROW);
			if (err[j])
				continue;
			ops[j].op = MSGPOOL_OP_RELEASE;
			ops[j].token = guards[i + j].token;
		}
		many(pool, ops, err, cnt, results ? results + i : NULL, &first);
		/* As release(): ended, or the kernel knows no such borrow. */
		for (j = 0; j < cnt; j++)
			if (ops[j].op == MSGPOOL_OP_RELEASE &&
			    (!err[j] || err[j] == MSGPOOL_E_PERMISSION))
				guard_end(&guards[i + j]);
	}
	return first;
}

/* ---- Reader rings ------------------------------------------------------ */

/*
 * The rings of <linux/msgpool.h> ("msgpool reader rings"): the kernel
 * produces taken messages into rx, the library consumes them and produces
 * the tokens it marks read into comp.  Everything here runs under
 * ring_lock, so that one thread at a time is each ring's single producer
 * or consumer.
 */

static bool ring_live(const struct msgpool *pool)
{
	return pool->rx && !pool->ring_dead;
}

static int ring_sync(struct msgpool *pool)
{
	/* What the kernel reads of rx_consumer from now on is no less. */
	pool->sync_cons = pool->comp->rx_consumer;
	return ioctl(pool->fd, MSGPOOL_IOC_RING_SYNC) ? error_of(errno) :
	       MSGPOOL_OK;
}

/* A message in the receive ring?  Only this side moves rx_consumer. */
static bool ring_ready(const struct msgpool *pool)
{
	return __atomic_load_n(&pool->rx->producer, __ATOMIC_ACQUIRE) !=
	       pool->comp->rx_consumer;
}

/*
 * A writer sleeps for a slot (MSGPOOL_RING_NEED_WAKEUP) and this reader
 * has completions the kernel has not drained.  Called after the store
 * of comp->producer and a full fence, or by the only thread that stores
 * it.
 */
static bool ring_wakeup_due(const struct msgpool *pool)
{
	return (__atomic_load_n(&pool->rx->flags, __ATOMIC_RELAXED) &
		MSGPOOL_RING_NEED_WAKEUP) &&
	       pool->comp->producer !=
	       __atomic_load_n(&pool->rx->comp_consumer, __ATOMIC_RELAXED);
}

/* Moves the oldest message of the receive ring into @g, a take. */
static int ring_pop(struct msgpool *pool, struct msgpool_guard *g)
{
	uint32_t cons = pool->comp->rx_consumer;
	const struct msgpool_ring_msg *m;
	struct msgpool_op op;

	/* Acquire: the kernel wrote the entry before it moved producer. */
	if (!ring_ready(pool))
		return MSGPOOL_E_EMPTY;
	m = &pool->msgs[cons & pool->ring_mask];
	memset(&op, 0, sizeof(op));
	op.op = MSGPOOL_OP_TAKE;
	op.token = m->token;
	op.offset = m->offset;
	op.len = m->len;
	op.lost = m->lost;
	op.tag = m->tag;
	op.seq = m->seq;
	op.timestamp_ns = m->timestamp_ns;
	op.producer = m->producer;
	op.capacity = m->capacity;
	/* Release: the entry is read before the kernel may write it again. */
	__atomic_store_n(&pool->comp->rx_consumer, cons + 1, __ATOMIC_RELEASE);
	take_start(pool, g, &op);
	return MSGPOOL_OK;
}

/*
 * ring_pop(), and when the ring is empty but the kernel may hold messages
 * back, once more after a RING_SYNC.  The kernel fills the ring at each
 * publish while it has room and the reader is under its limit, so it
 * holds messages back only from a ring that may have been full since the
 * last RING_SYNC (it has produced as far as what was read then, plus the
 * entries), or in a pool with a reader limit.  So a busy reader polls an
 * empty ring without a system call.
 */
static int ring_pop_sync(struct msgpool *pool, struct msgpool_guard *g)
{
	int err = ring_pop(pool, g);

	if (err != MSGPOOL_E_EMPTY ||
	    (!pool->info.reader_limit && !ring_wakeup_due(pool) &&
	     __atomic_load_n(&pool->rx->producer, __ATOMIC_RELAXED) -
	     pool->sync_cons <= pool->ring_mask))
		return err;
	err = ring_sync(pool);
	return err ? err : ring_pop(pool, g);
}

/*
 * Queues @g's token on the completion ring; the kernel marks it read when
 * it drains the ring.  Returns 1 without a live ring.
 */
static int ring_mark_read(struct msgpool *pool, struct msgpool_guard *g)
{
	struct msgpool_ring_comp *comp = pool->comp;
	uint32_t prod;
	int err = MSGPOOL_OK;

	pthread_mutex_lock(&pool->ring_lock);
	if (!ring_live(pool)) {
		err = 1;
		goto out;
	}
	prod = comp->producer;
	/* Full: RING_SYNC drains it.  Acquire: the kernel read the tokens. */
	while (prod - __atomic_load_n(&pool->rx->comp_consumer,
				      __ATOMIC_ACQUIRE) > pool->ring_mask) {
		err = ring_sync(pool);
		if (err)
			goto out;
	}
	pool->tokens[prod & pool->ring_mask] = g->token;
	__atomic_store_n(&comp->producer, prod + 1, __ATOMIC_RELEASE);
	guard_end(g);
	/*
	 * The producer's store before the flag's load, against a writer that
	 * sets the flag after the kernel's last drain and sleeps.  While the
	 * receive ring has messages and the completion ring room, the sync
	 * waits for the take that empties it (ring_pop_sync()): one system
	 * call frees a batch of slots, not one each.  A failed sync means
	 * the subscription is gone, and its takes with it.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (ring_wakeup_due(pool) &&
	    (!ring_ready(pool) ||
	     prod + 1 - __atomic_load_n(&pool->rx->comp_consumer,
					__ATOMIC_RELAXED) > pool->ring_mask / 2))
		ring_sync(pool);
out:
	pthread_mutex_unlock(&pool->ring_lock);
	return err;
}

/* Maps the areas the kernel made: rx read-only, comp read-write. */
static int ring_map(struct msgpool *pool, const struct msgpool_ring_args *ra)
{
	void *rx, *comp;

	rx = mmap(NULL, ra->rx_size, PROT_READ, MAP_SHARED, pool->fd,
		  ra->rx_offset);
	if (rx == MAP_FAILED)
		return error_of(errno);
	comp = mmap(NULL, ra->comp_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    pool->fd, ra->comp_offset);
	if (comp == MAP_FAILED) {
		int e = errno;

		munmap(rx, ra->rx_size);
		return error_of(e);
	}
	/* Each ring follows its head. */
	pool->rx = rx;
	pool->msgs = (const void *)(pool->rx + 1);
	pool->rx_size = ra->rx_size;
	pool->comp = comp;
	pool->tokens = (void *)(pool->comp + 1);
	pool->comp_size = ra->comp_size;
	pool->ring_mask = ra->entries - 1;
	return MSGPOOL_OK;
}

int msgpool_ring(struct msgpool *pool, unsigned int entries)
{
	struct msgpool_ring_args ra;
	int err, e;

	if (!pool)
		return MSGPOOL_E_CLOSED;
	/* A read-only file cannot map the completion area writable. */
	if (pool->rdonly)
		return MSGPOOL_E_PERMISSION;
	memset(&ra, 0, sizeof(ra));
	ra.entries = entries;
	pthread_mutex_lock(&pool->ring_lock);
	if (ioctl(pool->fd, MSGPOOL_IOC_RING, &ra)) {
		err = error_of(errno);
	} else {
		err = ring_map(pool, &ra);
		/*
		 * The kernel would fill rings nobody reads, whose messages
		 * hold their slots: stop being a reader instead.
		 */
		if (err) {
			e = errno;
			ioctl(pool->fd, MSGPOOL_IOC_UNSUBSCRIBE);
			errno = e;
		}
	}
	pthread_mutex_unlock(&pool->ring_lock);
	return err;
}

/* ---- Publish/subscribe ------------------------------------------------- */

int msgpool_subscribe(struct msgpool *pool)
{
	struct msgpool_subscribe_args sub;

	if (!pool)
		return MSGPOOL_E_CLOSED;
	memset(&sub, 0, sizeof(sub));
	if (ioctl(pool->fd, MSGPOOL_IOC_SUBSCRIBE, &sub))
		return error_of(errno);
	__atomic_store_n(&pool->missed, 0, __ATOMIC_RELAXED);
	return sub.reader;
}

int msgpool_unsubscribe(struct msgpool *pool)
{
	int err = MSGPOOL_OK;

	if (!pool)
		return MSGPOOL_E_CLOSED;
	/* The kernel no longer touches the rings: takes go by ioctl again. */
	pthread_mutex_lock(&pool->ring_lock);
	if (ioctl(pool->fd, MSGPOOL_IOC_UNSUBSCRIBE))
		err = error_of(errno);
	else if (pool->rx)
		pool->ring_dead = true;
	pthread_mutex_unlock(&pool->ring_lock);
	return err;
}

int msgpool_publish(struct msgpool *pool, struct msgpool_guard *g,
		    size_t len, uint64_t tag)
{
	return loan_end(pool, g, len, tag, MSGPOOL_IOC_PUBLISH,
			MSGPOOL_OP_PUBLISH);
}

/* One take, through the receive ring while the handle has a live one. */
static int take_once(struct msgpool *pool, struct msgpool_guard *g)
{
	struct msgpool_op op;
	int err;

	pthread_mutex_lock(&pool->ring_lock);
	err = ring_live(pool) ? ring_pop_sync(pool, g) : 1;
	pthread_mutex_unlock(&pool->ring_lock);
	if (err <= 0)
		return err;
	memset(&op, 0, sizeof(op));
	err = do_op(pool, MSGPOOL_IOC_TAKE, MSGPOOL_OP_TAKE, &op);
	if (err)
		return err;
	take_start(pool, g, &op);
	return MSGPOOL_OK;
}

int msgpool_take(struct msgpool *pool, unsigned int flags,
		 struct msgpool_guard *g)
{
	int err;

	if (!pool)
		return MSGPOOL_E_CLOSED;
	if (!g || (flags & ~MSGPOOL_NONBLOCK))
		return MSGPOOL_E_INVALID;
	guard_clear(g);
	for (;;) {
		err = take_once(pool, g);
		if (err != MSGPOOL_E_EMPTY || (flags & MSGPOOL_NONBLOCK))
			return err;
		/* poll() fills an empty receive ring too. */
		err = msgpool_wait(pool, POLLIN, -1);
		if (err < 0)
			return err;
	}
}

int msgpool_mark_read(struct msgpool *pool, struct msgpool_guard *g)
{
	struct msgpool_op op;
	int err;

	err = guard_check(pool, g, 1U << GUARD_TAKE);
	if (err)
		return err;
	err = ring_mark_read(pool, g);
	if (err <= 0)
		return err;
	memset(&op, 0, sizeof(op));
	op.token = g->token;
	err = do_op(pool, MSGPOOL_IOC_MARK_READ, MSGPOOL_OP_MARK_READ, &op);
	if (!err)
		guard_end(g);
	return err;
}

/*
 * The two-op batches of msgpool_publish_loan() and msgpool_mark_read_take():
 * @ops[0] ends @g, @ops[1] fills the next guard.  BATCH_STOP: when the
 * first fails, the second does not run and @g is left as it was.  Returns
 * the error of the first op, or 0 with *@second the second's: then @g has
 * ended.
 */
static int pair_run(struct msgpool *pool, struct msgpool_op *ops,
		    struct msgpool_guard *g, int *second)
{
	uint32_t done = 0;
	int err;

	err = batch_ioctl(pool, ops, 2, MSGPOOL_BATCH_STOP, &done);
	if (!err)
		err = done ? msgpool_op_error(&ops[0]) : MSGPOOL_E_INTERRUPTED;
	if (err)
		return err;
	guard_end(g);
	/* Only a fatal signal stops a batch between the two. */
	*second = done < 2 ? MSGPOOL_E_INTERRUPTED :
		  msgpool_op_error(&ops[1]);
	return MSGPOOL_OK;
}

/*
 * The checks of the two calls.  @next is cleared as msgpool_loan() and
 * msgpool_take() clear theirs, unless it is @g, kept for the caller.
 */
static int pair_check(struct msgpool *pool, struct msgpool_guard *g,
		      struct msgpool_guard *next, bool bad_flags,
		      enum guard_kind kind)
{
	if (!pool)
		return MSGPOOL_E_CLOSED;
	if (!g || !next || bad_flags)
		return MSGPOOL_E_INVALID;
	if (next != g)
		guard_clear(next);
	return guard_check(pool, g, 1U << kind);
}

int msgpool_publish_loan(struct msgpool *pool, struct msgpool_guard *g,
			 size_t len, uint64_t tag, size_t next_len,
			 unsigned int flags, struct msgpool_guard *next)
{
	struct msgpool_op ops[2];
	int err, second;

	err = pair_check(pool, g, next, flags & ~ALLOC_FLAGS, GUARD_LOAN);
	if (err)
		return err;
	if (len > g->hdr.capacity || next_len > UINT32_MAX)
		return MSGPOOL_E_TOO_BIG;
	/* As loan_end(): the loan's out fields, which PUBLISH ignores. */
	ops[0] = g->hdr;
	ops[0].op = MSGPOOL_OP_PUBLISH;
	ops[0].flags = 0;
	ops[0].len = len;
	ops[0].tag = tag;
	ops[1] = nop;
	ops[1].op = MSGPOOL_OP_LOAN;
	ops[1].flags = alloc_flags(flags);
	ops[1].len = next_len;
	err = pair_run(pool, ops, g, &second);
	if (err)
		return err;
	g->hdr = ops[0];
	if (second)
		return second;
	guard_clear(next);
	guard_start(pool, next, &ops[1], GUARD_LOAN);
	return MSGPOOL_OK;
}

int msgpool_mark_read_take(struct msgpool *pool, struct msgpool_guard *g,
			   unsigned int flags, struct msgpool_guard *next)
{
	struct msgpool_op ops[2];
	int err, second;

	err = pair_check(pool, g, next, flags & ~MSGPOOL_NONBLOCK, GUARD_TAKE);
	if (err)
		return err;
	/* With rings, no system call while a message is there. */
	err = ring_mark_read(pool, g);
	if (err <= 0)
		return err ? err : msgpool_take(pool, flags, next);
	ops[0] = nop;
	ops[0].op = MSGPOOL_OP_MARK_READ;
	ops[0].token = g->token;
	ops[1] = nop;
	ops[1].op = MSGPOOL_OP_TAKE;
	err = pair_run(pool, ops, g, &second);
	if (err)
		return err;
	/* Nothing to take yet: wait, then take as msgpool_take() does. */
	if (second == MSGPOOL_E_EMPTY && !(flags & MSGPOOL_NONBLOCK)) {
		err = msgpool_wait(pool, POLLIN, -1);
		return err < 0 ? err : msgpool_take(pool, 0, next);
	}
	if (second)
		return second;
	guard_clear(next);
	take_start(pool, next, &ops[1]);
	return MSGPOOL_OK;
}

int msgpool_wait(struct msgpool *pool, short events, int timeout_ms)
{
	struct pollfd p;
	int n;

	if (!pool)
		return MSGPOOL_E_CLOSED;
	if (!events || (events & ~(POLLIN | POLLOUT)))
		return MSGPOOL_E_INVALID;
	if (events & POLLIN) {
		pthread_mutex_lock(&pool->ring_lock);
		n = ring_live(pool) && ring_ready(pool);
		pthread_mutex_unlock(&pool->ring_lock);
		if (n)
			return 1;
	}
	p.fd = pool->fd;
	p.events = events;
	n = poll(&p, 1, timeout_ms);
	if (n < 0)
		return error_of(errno);
	return n > 0;
}

int msgpool_fd(const struct msgpool *pool)
{
	return pool ? pool->fd : MSGPOOL_E_CLOSED;
}

uint64_t msgpool_missed(const struct msgpool *pool)
{
	return pool ? __atomic_load_n(&pool->missed, __ATOMIC_RELAXED) : 0;
}

/* ---- Figures ----------------------------------------------------------- */

int64_t msgpool_available(struct msgpool *pool)
{
	struct msgpool_info in;
	int err;

	if (!pool)
		return MSGPOOL_E_CLOSED;
	err = info(pool, &in);
	return err ? err : (int64_t)in.available;
}

int64_t msgpool_capacity(struct msgpool *pool)
{
	return pool ? (int64_t)pool->info.capacity : MSGPOOL_E_CLOSED;
}

int msgpool_memory_class(struct msgpool *pool)
{
	return pool ? (int)pool->info.memory_class : MSGPOOL_E_CLOSED;
}

int msgpool_stats(struct msgpool *pool, struct msgpool_info *st)
{
	if (!pool)
		return MSGPOOL_E_CLOSED;
	if (!st)
		return MSGPOOL_E_INVALID;
	return info(pool, st);
}

/*
 * Runs the list ioctl @req (its struct at @arg, whose array pointer and
 * count are at @ptr and @count) with an array grown until all fits.
 */
static int list_entries(unsigned long req, void *arg, __u64 *ptr,
			__u32 *count, size_t size, void **out, size_t *n)
{
	int fd = device_open(true), err = MSGPOOL_OK;
	void *buf = NULL, *bigger;
	__u32 room = 0;

	if (fd < 0)
		return fd;
	for (;;) {
		*ptr = (uintptr_t)buf;
		*count = room;
		if (ioctl(fd, req, arg)) {
			err = error_of(errno);
			break;
		}
		if (*count <= room)
			break;
		/* Slack for entries that come between two calls. */
		room = *count + 8;
		bigger = realloc(buf, (size_t)room * size);
		if (!bigger) {
			err = MSGPOOL_E_NO_MEMORY;
			break;
		}
		buf = bigger;
	}
	close(fd);
	if (err || !*count) {
		free(buf);
		buf = NULL;
	}
	if (err)
		return err;
	*out = buf;
	*n = *count;
	return MSGPOOL_OK;
}

int msgpool_list_pools(struct msgpool_pool_stat **out, size_t *n)
{
	struct msgpool_pool_list l;

	if (!out || !n)
		return MSGPOOL_E_INVALID;
	memset(&l, 0, sizeof(l));
	l.entry_size = sizeof(**out);
	return list_entries(MSGPOOL_IOC_POOLS, &l, &l.pools, &l.count,
			    sizeof(**out), (void **)out, n);
}

int msgpool_list_peers(const char *name, uint32_t id,
		       struct msgpool_peer_stat **out, size_t *n)
{
	struct msgpool_peer_list l;

	if (!name || !name_valid(name) || !out || !n)
		return MSGPOOL_E_INVALID;
	memset(&l, 0, sizeof(l));
	strcpy(l.name, name);
	l.id = id;
	l.entry_size = sizeof(**out);
	return list_entries(MSGPOOL_IOC_PEERS, &l, &l.peers, &l.count,
			    sizeof(**out), (void **)out, n);
}

int msgpool_unlink(const char *name)
{
	struct msgpool_unlink_args u;
	int fd, err = MSGPOOL_OK;

	if (!name || !name_valid(name))
		return MSGPOOL_E_INVALID;
	fd = device_open(true);
	if (fd < 0)
		return fd;
	memset(&u, 0, sizeof(u));
	strcpy(u.name, name);
	if (ioctl(fd, MSGPOOL_IOC_UNLINK, &u))
		err = error_of(errno);
	close(fd);
	return err;
}

uint64_t msgpool_notify_gen(struct msgpool *pool)
{
	struct msgpool_info in;

	if (!pool || info(pool, &in))
		return 0;
	return in.notify_gen;
}
