// SPDX-License-Identifier: GPL-2.0
/*
 * msgpool's publish/subscribe as a channel of bench/ipc_bench.c: one pool
 * per direction, the sender publishes into it, the receiver subscribes.
 * The payload is written into the loan and read in place.  Busy: the
 * receiver polls msgpool_take(MSGPOOL_NONBLOCK); blocking: it sleeps in
 * msgpool_take(), which waits in poll().
 */
#include <unistd.h>

#include "msgpool.h"
#include "bench.h"
#include "chan.h"

struct ps_local {
	struct msgpool *creator[2];	/* the parent's, keep the pools */
	struct msgpool *pool[2];	/* this process's peers, per direction */
	struct msgpool_guard tx, rx;
};

static char ps_name[2][32];

static void ps_check(int err, const char *what)
{
	if (err == MSGPOOL_E_SYSTEM)
		die(what, errno);
	if (err) {
		fprintf(stderr, "bench: %s: %s\n", what, msgpool_strerror(err));
		exit(1);
	}
}

static void ps_setup(struct chan *c)
{
	struct msgpool_config cfg = {
		.nr_classes = 1,
		.classes = { { c->len, 2 * DEPTH + 4 } },
	};
	struct ps_local *l = calloc(1, sizeof(*l));
	int d;

	if (!l)
		die("malloc", ENOMEM);
	for (d = 0; d < 2; d++) {
		snprintf(ps_name[d], sizeof(ps_name[d]), "bench-ps-%d-%d",
			 getpid(), d);
		ps_check(msgpool_open(ps_name[d], &cfg, MSGPOOL_OPEN_CREATE |
				      MSGPOOL_OPEN_EXCL, 0600,
				      &l->creator[d]), "msgpool_open");
	}
	c->priv = l;
}

/* Side s publishes into pool s and subscribes to pool !s. */
static void ps_attach(struct chan *c)
{
	struct ps_local *l = c->priv;
	int d, err;

	for (d = 0; d < 2; d++) {
		if (c->side)
			msgpool_close(&l->creator[d]);
		ps_check(msgpool_open(ps_name[d], NULL, 0, 0, &l->pool[d]),
			 "msgpool_open");
	}
	/* Returns the reader index, or an error. */
	err = msgpool_subscribe(l->pool[!c->side]);
	ps_check(err < 0 ? err : 0, "msgpool_subscribe");
	both_ready(c);
}

static void *ps_tx(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;

	ps_check(msgpool_loan(l->pool[dir], c->len, MSGPOOL_WAIT, &l->tx),
		 "msgpool_loan");
	return l->tx.data;
}

static void ps_send(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;

	ps_check(msgpool_publish(l->pool[dir], &l->tx, c->len, 0),
		 "msgpool_publish");
}

static const void *ps_recv_busy(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;
	int err;

	while ((err = msgpool_take(l->pool[dir], MSGPOOL_NONBLOCK,
				   &l->rx)) == MSGPOOL_E_EMPTY)
		__builtin_ia32_pause();
	ps_check(err, "msgpool_take");
	return l->rx.data;
}

static const void *ps_recv_blocking(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;

	ps_check(msgpool_take(l->pool[dir], 0, &l->rx), "msgpool_take");
	return l->rx.data;
}

static void ps_done(struct chan *c, int dir)
{
	struct ps_local *l = c->priv;

	ps_check(msgpool_mark_read(l->pool[dir], &l->rx), "msgpool_mark_read");
}

static void ps_teardown(struct chan *c)
{
	struct ps_local *l = c->priv;
	int d;

	for (d = 0; d < 2; d++) {
		msgpool_close(&l->pool[d]);
		if (l->creator[d])
			msgpool_close(&l->creator[d]);
	}
	free(l);
}

#define PUBSUB(m, r)							\
	{ .name = "msgpool pub/sub", .mode = m, .can_stream = 1,	\
	  .setup = ps_setup, .attach = ps_attach, .tx_buf = ps_tx,	\
	  .send = ps_send, .recv = r, .done = ps_done,			\
	  .teardown = ps_teardown }

const struct transport pubsub_busy = PUBSUB("busy", ps_recv_busy);
const struct transport pubsub_blocking = PUBSUB("blocking", ps_recv_blocking);
