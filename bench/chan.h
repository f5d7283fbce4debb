/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A channel between two processes, as the latency and throughput
 * benchmarks drive it.  Direction 0 carries messages from the parent to
 * the child, direction 1 back.  A transport fills in these hooks; the
 * benchmark writes the payload where tx_buf() points, so a zero-copy
 * transport is measured writing in place and a copying one pays its copy.
 */
#ifndef BENCH_CHAN_H
#define BENCH_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "msgpool.h"
#include "bench.h"

#define RING		64	/* tokens or slots in flight, one direction */
#define DEPTH		8	/* payload slots of a streaming direction */

/* State both processes see: set up before fork in a shared mapping. */
struct chan_shm {
	uint32_t fseq[2];			/* futex words */
	uint32_t ready;				/* sides set up */
	uint32_t pad[13];
	_Alignas(64) uint64_t head[2];		/* writer side */
	_Alignas(64) uint64_t tail[2];		/* reader side */
	_Alignas(64) uint64_t tok[2][RING];
	double oneway[32];			/* child's per-repeat medians */
	double sys[32];		/* child's syscalls a message, per repeat */
	double sys_tx;		/* child's, its sends alone (latency) */
	double sys_empty[32];	/* child's empty polls a message */
	uint64_t stop;		/* throughput: messages in this repeat, set
				 * before its last one is sent; 0 until then */
};

struct chan {
	const struct transport *t;
	size_t len;		/* message bytes */
	int stream;		/* throughput run: flow control needed */
	int side;		/* 0 parent, 1 child */
	struct chan_shm *shm;
	unsigned char *slots;	/* shared payload slots: [dir][DEPTH][len] */
	int fd[2][2];		/* per direction: pipe, eventfd, mq, ... */
	int sem[2];		/* free-slot semaphores of streaming dirs */
	uint64_t nsent[2], nrecv[2];
	void *txb, *rxb;	/* private buffers of copying transports */
	void *priv;		/* the transport's, per process */
	uint64_t token[2];	/* msgpool: last token sent/received */
	double sys[32];		/* syscalls a message, a repeat: tput tx */
	double sys_tx;		/* syscalls of a send alone: latency tx */
};

struct transport {
	const char *name;
	const char *mode;	/* "busy" or "blocking" */
	int can_stream;		/* has a throughput row */
	int stream_only;	/* has no latency rows */
	int copies;		/* payload copies the kernel makes */
	void (*setup)(struct chan *c);		/* before fork */
	void (*attach)(struct chan *c);		/* after fork, each side */
	void *(*tx_buf)(struct chan *c, int dir);
	void (*send)(struct chan *c, int dir);
	const void *(*recv)(struct chan *c, int dir);
	void (*done)(struct chan *c, int dir);	/* reader is through */
	/* Optional: send what send() kept back; after a stream's last. */
	void (*flush)(struct chan *c, int dir);
	void (*teardown)(struct chan *c);	/* each side */
};

/*
 * System calls that found nothing to do: a busy side's polls that came
 * back empty (EAGAIN).  Each process counts its own.
 */
extern uint64_t empty_polls;

static inline void cpu_relax(void)
{
	__builtin_ia32_pause();
}

/* Helpers the transports share (bench/ipc_bench.c). */
void ring_put(struct chan *c, int dir, uint64_t v);
uint64_t ring_get(struct chan *c, int dir);
void write_all(int fd, const void *buf, size_t len);
void read_all(int fd, void *buf, size_t len, int busy);
void both_ready(struct chan *c);
void nothing(struct chan *c, int dir);

/* Exits unless @err, a libmsgpool result, is 0. */
static inline void mp_check(int err, const char *what)
{
	if (err == MSGPOOL_E_SYSTEM)
		die(what, errno);
	if (err) {
		fprintf(stderr, "bench: %s: %s\n", what, msgpool_strerror(err));
		exit(1);
	}
}

/*
 * A pool of one class, created before fork (the parent's @creator keeps
 * it), a peer of it for each process after, and both handles closed.
 */
struct msgpool *mp_create(const char *name, size_t len, uint32_t nr_slots);
struct msgpool *mp_join(const char *name, struct msgpool **creator,
			int side);
void mp_leave(struct msgpool **pool, struct msgpool **creator);

extern const struct transport pubsub_busy, pubsub_blocking;
extern const struct transport pubsub1_busy, pubsub1_blocking;
extern const struct transport pubsub_ring_busy, pubsub_ring_blocking;
extern const struct transport pubsub_batch_busy, pubsub_batch_blocking;
#ifdef HAVE_IOX
extern const struct transport iox_busy, iox_blocking;
#endif

#endif /* BENCH_CHAN_H */
