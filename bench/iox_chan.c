// SPDX-License-Identifier: GPL-2.0
/*
 * iceoryx as a channel of bench/ipc_bench.c (built into iox_bench, which
 * links iceoryx's C binding; iox-roudi must be running).  Each direction
 * is one publisher and one subscriber; the payload is written into the
 * loaned chunk and read in place.  Busy: the subscriber polls
 * iox_sub_take_chunk(); blocking: it sleeps in a wait set.
 */
#include <sched.h>
#include <unistd.h>

#include "iceoryx_binding_c/log.h"
#include "iceoryx_binding_c/publisher.h"
#include "iceoryx_binding_c/runtime.h"
#include "iceoryx_binding_c/subscriber.h"
#include "iceoryx_binding_c/wait_set.h"

#include "bench.h"
#include "chan.h"

struct iox_local {
	iox_pub_storage_t pub_st;
	iox_sub_storage_t sub_st;
	iox_ws_storage_t ws_st;
	iox_pub_t pub;
	iox_sub_t sub;
	iox_ws_t ws;
	void *tx;
	const void *rx;
};

static int runs, parent;

static void iox_setup(struct chan *c)
{
	(void)c;
	runs++;
	parent = getpid();
}

/* The event name tells directions and runs apart. */
static void event_name(char *buf, size_t size, int dir)
{
	snprintf(buf, size, "run%d-%d-dir%d", parent, runs, dir);
}

static void iox_attach(struct chan *c)
{
	struct iox_local *l = calloc(1, sizeof(*l));
	iox_pub_options_t po;
	iox_sub_options_t so;
	char name[64], ev[64];

	if (!l)
		die("malloc", ENOMEM);
	c->priv = l;
	snprintf(name, sizeof(name), "bench-%d", getpid());
	iox_set_loglevel(Iceoryx_LogLevel_Warn);
	iox_runtime_init(name);

	iox_pub_options_init(&po);
	po.historyCapacity = 0;
	po.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
	event_name(ev, sizeof(ev), c->side);
	l->pub = iox_pub_init(&l->pub_st, "msgpool-bench", "chan", ev, &po);

	iox_sub_options_init(&so);
	so.queueCapacity = DEPTH;
	so.historyRequest = 0;
	so.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
	event_name(ev, sizeof(ev), !c->side);
	l->sub = iox_sub_init(&l->sub_st, "msgpool-bench", "chan", ev, &so);

	l->ws = iox_ws_init(&l->ws_st);
	iox_ws_attach_subscriber_state(l->ws, l->sub, SubscriberState_HAS_DATA,
				       0, NULL);
	/* Nothing may be sent before the other side listens. */
	while (iox_sub_get_subscription_state(l->sub) !=
	       SubscribeState_SUBSCRIBED || !iox_pub_has_subscribers(l->pub))
		usleep(1000);
}

static void *iox_tx(struct chan *c, int dir)
{
	struct iox_local *l = c->priv;

	(void)dir;
	while (iox_pub_loan_chunk(l->pub, &l->tx, c->len) !=
	       AllocationResult_SUCCESS)
		sched_yield();
	return l->tx;
}

static void iox_send(struct chan *c, int dir)
{
	struct iox_local *l = c->priv;

	(void)dir;
	iox_pub_publish_chunk(l->pub, l->tx);
}

static const void *iox_recv_busy(struct chan *c, int dir)
{
	struct iox_local *l = c->priv;

	(void)dir;
	while (iox_sub_take_chunk(l->sub, &l->rx) != ChunkReceiveResult_SUCCESS)
		cpu_relax();
	return l->rx;
}

static const void *iox_recv_blocking(struct chan *c, int dir)
{
	struct iox_local *l = c->priv;
	iox_notification_info_t info[2];
	uint64_t missed;

	(void)dir;
	while (iox_sub_take_chunk(l->sub, &l->rx) != ChunkReceiveResult_SUCCESS)
		iox_ws_wait(l->ws, info, 2, &missed);
	return l->rx;
}

static void iox_done(struct chan *c, int dir)
{
	struct iox_local *l = c->priv;

	(void)dir;
	iox_sub_release_chunk(l->sub, l->rx);
}

static void iox_teardown(struct chan *c)
{
	struct iox_local *l = c->priv;

	iox_ws_detach_subscriber_state(l->ws, l->sub, SubscriberState_HAS_DATA);
	iox_ws_deinit(l->ws);
	iox_sub_deinit(l->sub);
	iox_pub_deinit(l->pub);
	free(l);
}

#define IOX(m)								\
	{ .name = "iceoryx", .mode = #m, .can_stream = 1,		\
	  .setup = iox_setup, .attach = iox_attach, .tx_buf = iox_tx,	\
	  .send = iox_send, .recv = iox_recv_##m, .done = iox_done,	\
	  .teardown = iox_teardown }

const struct transport iox_busy = IOX(busy);
const struct transport iox_blocking = IOX(blocking);
