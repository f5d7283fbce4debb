// SPDX-License-Identifier: GPL-2.0
/*
 * msgpool's publish/subscribe as a channel of bench/ipc_bench.c: one pool
 * per direction, the sender publishes into it, the receiver subscribes.
 * The payload is written into the loan and read in place.  Busy: the
 * receiver polls msgpool_take(MSGPOOL_NONBLOCK); blocking: it sleeps in
 * msgpool_take(), which waits in poll().
 *
 * Four ways to drive it: a call for each step (loan, publish, take,
 * mark read: four ioctls a message); "1-syscall", whose sender publishes
 * and loans the next slot in one call and whose reader marks read and
 * takes the next in one; "ring", the 1-syscall sender and a reader with
 * rings (msgpool_ring()), whose same calls take and mark read in memory,
 * with no system call while messages come; "batch" (throughput only),
 * whose sender publishes BATCH messages and loans BATCH slots in one
 * MSGPOOL_IOC_BATCH.
 */
#include <unistd.h>

#include "msgpool.h"
#include "bench.h"
#include "chan.h"

/* Messages a batch publish sends, slots it loans ahead. */
#define BATCH		32
/*
 * Entries of a reader's rings: more than the pool's slots, so that the
 * kernel never holds a message back for want of room in the ring.
 */
#define RING_ENTRIES	32

struct ps_local {
	struct msgpool *creator[2];	/* the parent's, keep the pools */
	struct msgpool *pool[2];	/* this process's peers, per direction */
	struct msgpool_guard tx, rx;
	/* Batch: loans as raw ops, filled up to @filled, into @base. */
	struct msgpool_op loans[BATCH];
	unsigned int filled;
	char *base;
};

static char ps_name[2][32];

static void setup_slots(struct chan *c, uint32_t nr_slots)
{
	struct ps_local *l = calloc(1, sizeof(*l));
	int d;

	if (!l)
		die("malloc", ENOMEM);
	for (d = 0; d < 2; d++) {
		snprintf(ps_name[d], sizeof(ps_name[d]), "bench-ps-%d-%d",
			 getpid(), d);
		l->creator[d] = mp_create(ps_name[d], c->len, nr_slots);
	}
	c->priv = l;
}

static void ps_setup(struct chan *c)
{
	setup_slots(c, 2 * DEPTH + 4);
}

/*
 * Side s publishes into pool s and subscribes to pool !s, with rings of
 * @ring entries unless 0, before the other side may publish.
 */
static void attach_ring(struct chan *c, unsigned int ring)
{
	struct ps_local *l = c->priv;
	int d, err;

	for (d = 0; d < 2; d++)
		l->pool[d] = mp_join(ps_name[d], &l->creator[d], c->side);
	/* Returns the reader index, or an error. */
	err = msgpool_subscribe(l->pool[!c->side]);
	mp_check(err < 0 ? err : 0, "msgpool_subscribe");
	if (ring)
		mp_check(msgpool_ring(l->pool[!c->side], ring),
			 "msgpool_ring");
	both_ready(c);
}

static void ps_attach(struct chan *c)
{
	attach_ring(c, 0);
}

static void *ps_tx(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;

	mp_check(msgpool_loan(l->pool[dir], c->len, MSGPOOL_WAIT, &l->tx),
		 "msgpool_loan");
	return l->tx.data;
}

static void ps_send(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;

	mp_check(msgpool_publish(l->pool[dir], &l->tx, c->len, 0),
		 "msgpool_publish");
}

static const void *ps_recv_busy(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;
	int err;

	while ((err = msgpool_take(l->pool[dir], MSGPOOL_NONBLOCK,
				   &l->rx)) == MSGPOOL_E_EMPTY) {
		empty_polls++;
		cpu_relax();
	}
	mp_check(err, "msgpool_take");
	return l->rx.data;
}

static const void *ps_recv_blocking(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;

	mp_check(msgpool_take(l->pool[dir], 0, &l->rx), "msgpool_take");
	return l->rx.data;
}

static void ps_done(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;

	mp_check(msgpool_mark_read(l->pool[dir], &l->rx), "msgpool_mark_read");
}

static void ps_teardown(struct chan *c)
{
	struct ps_local *l = c->priv;
	int d;

	for (d = 0; d < 2; d++)
		mp_leave(&l->pool[d], &l->creator[d]);
	free(l);
}

#define PUBSUB(m, r)							\
	{ .name = "msgpool pub/sub", .mode = m, .can_stream = 1,	\
	  .setup = ps_setup, .attach = ps_attach, .tx_buf = ps_tx,	\
	  .send = ps_send, .recv = r, .done = ps_done,			\
	  .teardown = ps_teardown }

const struct transport pubsub_busy = PUBSUB("busy", ps_recv_busy);
const struct transport pubsub_blocking = PUBSUB("blocking", ps_recv_blocking);

/* ---- one system call a message on each side --------------------------- */

/* The sender loans its first slot here: each send loans the next. */
static void ps1_attach(struct chan *c)
{
	ps_attach(c);
	ps_tx(c, c->side);
}

static void *ps1_tx(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;

	(void)dir;
	return l->tx.data;
}

static void ps1_send(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;

	mp_check(msgpool_publish_loan(l->pool[dir], &l->tx, c->len, 0, c->len,
				      MSGPOOL_WAIT, &l->tx),
		 "msgpool_publish_loan");
}

/*
 * The reader keeps each message taken until it asks for the next, and
 * marks it read in the same call.  Busy: with nothing to take, the take
 * alone is polled.
 */
static const void *ps1_recv_busy(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;
	int err = MSGPOOL_E_EMPTY;

	if (l->rx.data)
		err = msgpool_mark_read_take(l->pool[dir], &l->rx,
					     MSGPOOL_NONBLOCK, &l->rx);
	while (err == MSGPOOL_E_EMPTY) {
		err = msgpool_take(l->pool[dir], MSGPOOL_NONBLOCK, &l->rx);
		if (err == MSGPOOL_E_EMPTY) {
			empty_polls++;
			cpu_relax();
		}
	}
	mp_check(err, "msgpool_mark_read_take");
	return l->rx.data;
}

static const void *ps1_recv_blocking(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;

	if (l->rx.data)
		mp_check(msgpool_mark_read_take(l->pool[dir], &l->rx, 0,
						&l->rx),
			 "msgpool_mark_read_take");
	else
		mp_check(msgpool_take(l->pool[dir], 0, &l->rx),
			 "msgpool_take");
	return l->rx.data;
}

/* Each message is marked read by the next receive: done() has nothing. */
#define PUBSUB1(n, a, m, r)						\
	{ .name = n, .mode = m, .can_stream = 1, .setup = ps_setup,	\
	  .attach = a, .tx_buf = ps1_tx, .send = ps1_send, .recv = r,	\
	  .done = nothing, .teardown = ps_teardown }

const struct transport pubsub1_busy =
	PUBSUB1("msgpool pub/sub 1-syscall", ps1_attach, "busy",
		ps1_recv_busy);
const struct transport pubsub1_blocking =
	PUBSUB1("msgpool pub/sub 1-syscall", ps1_attach, "blocking",
		ps1_recv_blocking);

/* ---- reader rings: the 1-syscall sender, a reader in memory ----------- */

/*
 * The reader's calls are the 1-syscall reader's, which the rings serve:
 * a message in the ring costs no system call.  An empty ring costs the
 * blocking reader a poll().
 */
static void psr_attach(struct chan *c)
{
	attach_ring(c, RING_ENTRIES);
	ps_tx(c, c->side);
}

/*
 * The busy reader polls an empty ring in memory: its empty polls are no
 * system calls (but a RING_SYNC when the ring filled up), so they are not
 * counted as such.
 */
static const void *psr_recv_busy(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;
	int err;

	if (l->rx.data)
		err = msgpool_mark_read_take(l->pool[dir], &l->rx,
					     MSGPOOL_NONBLOCK, &l->rx);
	else
		err = msgpool_take(l->pool[dir], MSGPOOL_NONBLOCK, &l->rx);
	while (err == MSGPOOL_E_EMPTY) {
		cpu_relax();
		err = msgpool_take(l->pool[dir], MSGPOOL_NONBLOCK, &l->rx);
	}
	mp_check(err, "msgpool_take");
	return l->rx.data;
}

const struct transport pubsub_ring_busy =
	PUBSUB1("msgpool pub/sub ring", psr_attach, "busy", psr_recv_busy);
const struct transport pubsub_ring_blocking =
	PUBSUB1("msgpool pub/sub ring", psr_attach, "blocking",
		ps1_recv_blocking);

/* ---- batch publish: BATCH messages a system call ----------------------- */

/* Room for BATCH loans, BATCH published and the reader's take. */
static void batch_setup(struct chan *c)
{
	setup_slots(c, 2 * BATCH + 4);
}

/*
 * Runs @n raw ops, which must all succeed.  The loans bypass the
 * library's guards: the payload is at the mapping's base plus the op's
 * offset.
 */
static void batch_run(struct ps_local *l, struct msgpool_op *ops, size_t n)
{
	size_t done, i;

	mp_check(msgpool_batch(l->pool[0], ops, n, MSGPOOL_BATCH_STOP, &done),
		 "msgpool_batch");
	for (i = 0; i < done; i++)
		mp_check(msgpool_op_error(&ops[i]), "batch op");
	if (done < n)
		mp_check(MSGPOOL_E_INTERRUPTED, "msgpool_batch");
}

static void loan_op(struct msgpool_op *op, size_t len)
{
	memset(op, 0, sizeof(*op));
	op->op = MSGPOOL_OP_LOAN;
	op->flags = MSGPOOL_WAIT;
	op->len = len;
}

/* The sender (side 0) finds the mapping and loans its first BATCH. */
static void batch_attach(struct chan *c)
{
	struct ps_local *l = c->priv;
	struct msgpool_guard g;
	int i;

	ps_attach(c);
	if (c->side)
		return;
	/* A guard's data is the mapping's base plus its offset. */
	mp_check(msgpool_loan(l->pool[0], c->len, MSGPOOL_WAIT, &g),
		 "msgpool_loan");
	l->base = (char *)g.data - g.hdr.offset;
	mp_check(msgpool_discard(l->pool[0], &g), "msgpool_discard");
	for (i = 0; i < BATCH; i++)
		loan_op(&l->loans[i], c->len);
	batch_run(l, l->loans, BATCH);
}

static void *batch_tx(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;

	(void)dir;
	return l->base + l->loans[l->filled].offset;
}

/* Publishes the filled loans and loans as many again, in one call. */
static void batch_flush(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;
	struct msgpool_op ops[2 * BATCH];
	unsigned int i, n = l->filled;

	(void)dir;
	if (!n)
		return;
	for (i = 0; i < n; i++) {
		memset(&ops[i], 0, sizeof(ops[i]));
		ops[i].op = MSGPOOL_OP_PUBLISH;
		ops[i].token = l->loans[i].token;
		ops[i].len = c->len;
		loan_op(&ops[n + i], c->len);
	}
	batch_run(l, ops, 2 * n);
	/* The loans not yet filled move to the front. */
	memmove(l->loans, l->loans + n, (BATCH - n) * sizeof(l->loans[0]));
	memcpy(l->loans + BATCH - n, ops + n, n * sizeof(ops[0]));
	l->filled = 0;
}

static void batch_send(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;

	if (++l->filled == BATCH)
		batch_flush(c, dir);
}

#define PUBSUB_BATCH(m, r)						\
	{ .name = "msgpool pub/sub batch", .mode = m,			\
	  .can_stream = 1, .stream_only = 1, .setup = batch_setup,	\
	  .attach = batch_attach, .tx_buf = batch_tx,			\
	  .send = batch_send, .flush = batch_flush, .recv = r,		\
	  .done = nothing, .teardown = ps_teardown }

const struct transport pubsub_batch_busy =
	PUBSUB_BATCH("busy", ps1_recv_busy);
const struct transport pubsub_batch_blocking =
	PUBSUB_BATCH("blocking", ps1_recv_blocking);
