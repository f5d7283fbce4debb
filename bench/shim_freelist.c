// SPDX-License-Identifier: GPL-2.0
/*
 * The core's free list (built in userspace through the shim) beside
 * liburcu's lock-free stack and a stack under a pthread mutex: pop + push
 * pairs per second, 1, 2 and 4 threads, natively.  Each thread pops a few
 * slots and pushes them back.  The core runs twice: through its per-peer
 * caches (mp_mag_pop/push, a peer per thread), as loans and frees use
 * it, and on its shared stack alone (mp_freelist_pop/push), where the
 * threads contend on the head as the other two stacks' do.
 */
#include <pthread.h>
#include <urcu/lfstack.h>

#include "msgpool_core.h"
#include "bench.h"

#define NODES		4096
#define HELD		8	/* slots a thread holds between pops and pushes */
#define MAX_THREADS	4

struct lfs_node {
	struct cds_lfs_node n;
};

struct mutex_stack {
	pthread_mutex_t lock;
	uint32_t top;
	uint32_t items[NODES];
};

static struct mp_pool pool;
static struct mp_peer peers[MAX_THREADS];
static struct cds_lfs_stack lfs;
static struct lfs_node lfs_nodes[NODES];
static struct mutex_stack mst = { .lock = PTHREAD_MUTEX_INITIALIZER };
static long pairs;

static void *run_mag(void *arg)
{
	struct mp_class *cls = &pool.classes[0];
	struct mp_peer *peer = arg;
	uint32_t held[HELD];
	long i;
	int k;

	for (i = 0; i < pairs; i += HELD) {
		for (k = 0; k < HELD; k++)
			held[k] = mp_mag_pop(&pool, peer, cls);
		for (k = 0; k < HELD; k++)
			if (held[k] != MP_NIL)
				mp_mag_push(&pool, peer, cls, held[k]);
	}
	return NULL;
}

static void *run_core(void *arg)
{
	struct mp_class *cls = &pool.classes[0];
	uint32_t held[HELD];
	long i;
	int k;

	(void)arg;
	for (i = 0; i < pairs; i += HELD) {
		for (k = 0; k < HELD; k++)
			held[k] = mp_freelist_pop(&pool, cls);
		for (k = 0; k < HELD; k++)
			if (held[k] != MP_NIL)
				mp_freelist_push(&pool, cls, held[k]);
	}
	return NULL;
}

/* Pops take liburcu's pop mutex: a lock-free pop needs RCU grace periods
 * before a node is reused, which a free list cannot wait for.
 */
static void *run_lfs(void *arg)
{
	struct cds_lfs_node *held[HELD];
	long i;
	int k;

	(void)arg;
	for (i = 0; i < pairs; i += HELD) {
		for (k = 0; k < HELD; k++)
			held[k] = cds_lfs_pop_blocking(&lfs);
		for (k = 0; k < HELD; k++)
			if (held[k])
				cds_lfs_push(&lfs, held[k]);
	}
	return NULL;
}

static uint32_t mst_pop(void)
{
	uint32_t v = MP_NIL;

	pthread_mutex_lock(&mst.lock);
	if (mst.top)
		v = mst.items[--mst.top];
	pthread_mutex_unlock(&mst.lock);
	return v;
}

static void mst_push(uint32_t v)
{
	pthread_mutex_lock(&mst.lock);
	mst.items[mst.top++] = v;
	pthread_mutex_unlock(&mst.lock);
}

static void *run_mutex(void *arg)
{
	uint32_t held[HELD];
	long i;
	int k;

	(void)arg;
	for (i = 0; i < pairs; i += HELD) {
		for (k = 0; k < HELD; k++)
			held[k] = mst_pop();
		for (k = 0; k < HELD; k++)
			if (held[k] != MP_NIL)
				mst_push(held[k]);
	}
	return NULL;
}

/* Million pop + push pairs per second, all threads together. */
static double timed(void *(*fn)(void *), int threads)
{
	pthread_t tid[MAX_THREADS];
	uint64_t s = now_ns();
	int t;

	/* Thread t is peer t (run_mag() alone looks at it). */
	for (t = 0; t < threads; t++)
		if (pthread_create(&tid[t], NULL, fn, &peers[t]))
			die("pthread_create", EAGAIN);
	for (t = 0; t < threads; t++)
		pthread_join(tid[t], NULL);
	return (double)pairs * threads / ((now_ns() - s) / 1e3);
}

int main(void)
{
	static const struct {
		const char *name;
		void *(*fn)(void *arg);
	} kinds[] = {
		{ "msgpool core free list", run_mag },
		{ "msgpool core stack alone", run_core },
		{ "liburcu cds_lfs", run_lfs },
		{ "mutex stack", run_mutex },
	};
	struct msgpool_class cls = { 64, NODES };
	double v[MAX_REPEATS];
	int nrep = bench_repeats(), r, k, t;
	char mode[16];

	pairs = bench_iters(400000);
	if (mp_pool_init(&pool, &cls, 1))
		die("mp_pool_init", ENOMEM);
	for (t = 0; t < MAX_THREADS; t++)
		mp_peer_init(&peers[t], t + 1, true);
	cds_lfs_init(&lfs);
	for (k = 0; k < NODES; k++) {
		cds_lfs_node_init(&lfs_nodes[k].n);
		cds_lfs_push(&lfs, &lfs_nodes[k].n);
		mst.items[mst.top++] = k;
	}
	for (k = 0; k < (int)ARRAY_SIZE(kinds); k++) {
		for (t = 1; t <= MAX_THREADS; t *= 2) {
			for (r = 0; r < nrep; r++)
				v[r] = timed(kinds[k].fn, t);
			snprintf(mode, sizeof(mode), "%d thread%s", t,
				 t > 1 ? "s" : "");
			report("freelist", kinds[k].name, mode, 0, v, nrep,
			       "Mops/s");
		}
	}
	for (t = 0; t < MAX_THREADS; t++)
		mp_peer_reclaim(&pool, &peers[t]);
	mp_pool_destroy(&pool);
	return 0;
}
