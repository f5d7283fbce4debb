// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency stress of the msgpool core in userspace.  Threads allocate,
 * publish, borrow, release and free slots of one small pool; every slot
 * handed out is claimed with an atomic exchange, so a slot given to two
 * owners at once is caught at once.  Usage: msgpool_shim_stress [label
 * [ops]]: ops core operations in the main and free-list tests (default
 * 1000000), a quarter of that in the reclaim test.
 */
#include <pthread.h>
#include <sched.h>

#include "msgpool_core.h"
#include "shim_tap.h"

bool shim_alloc_fail;
bool tap_failed;

#define NR_THREADS	4
#define NR_PUBLISHED	64
#define QUEUE_SIZE	16	/* fewer than the slots: never all queued */

static const struct msgpool_class stress_cfg[] = {
	{ .slot_size = 64, .nr_slots = 16 },
	{ .slot_size = 256, .nr_slots = 8 },
	{ .slot_size = 1024, .nr_slots = 4 },
};

#define NR_SLOTS	28

static struct mp_pool pool;
static long ops_per_thread;
static char owned[NR_SLOTS];		/* 1 while a thread owns the slot */
static u64 published[NR_PUBLISHED];	/* tokens anyone may try to read */
static const char *failure;		/* first failure, if any */

static struct {
	pthread_mutex_t lock;
	u64 token[QUEUE_SIZE];
	unsigned int head, len;
} queue = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct worker {
	pthread_t thread;
	struct mp_peer peer;
	unsigned int seed;
	long ops;
};

static bool fail(const char *what)
{
	const char *none = NULL;

	__atomic_compare_exchange_n(&failure, &none, what, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return false;
}

static bool failed(void)
{
	return __atomic_load_n(&failure, __ATOMIC_SEQ_CST);
}

static bool enqueue(u64 token)
{
	bool ok;

	pthread_mutex_lock(&queue.lock);
	ok = queue.len < QUEUE_SIZE;
	if (ok)
		queue.token[(queue.head + queue.len++) % QUEUE_SIZE] = token;
	pthread_mutex_unlock(&queue.lock);
	return ok;
}

static u64 dequeue(void)
{
	u64 token = 0;

	pthread_mutex_lock(&queue.lock);
	if (queue.len) {
		token = queue.token[queue.head];
		queue.head = (queue.head + 1) % QUEUE_SIZE;
		queue.len--;
	}
	pthread_mutex_unlock(&queue.lock);
	return token;
}

static u32 slot_index(u64 token)
{
	u32 slot = NR_SLOTS;

	mp_token_slot(&pool, token, &slot);
	return slot;
}

/* Gives up the slot of @token: readers may hold it for a moment. */
static bool put_slot(struct worker *w, u64 token)
{
	int err;

	if (__atomic_exchange_n(&owned[slot_index(token)], 0,
				__ATOMIC_SEQ_CST) != 1)
		return fail("freed a slot nobody owned");
	do {
		err = mp_free(&pool, &w->peer, token);
		w->ops++;
		if (err == -EBUSY)
			sched_yield();
	} while (err == -EBUSY);
	return err ? fail("free") : true;
}

/* Loan, claim, commit with the token as tag, publish, queue. */
static bool produce(struct worker *w)
{
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	int err;

	err = mp_loan(&pool, &w->peer, rand_r(&w->seed) % 1025, 0, &ref);
	w->ops++;
	if (err == -ENOBUFS)
		return true;
	if (err)
		return fail("loan");
	if (ref.slot >= NR_SLOTS ||
	    __atomic_exchange_n(&owned[ref.slot], 1, __ATOMIC_SEQ_CST))
		return fail("slot handed out twice");
	err = mp_commit(&pool, &w->peer, ref.token, ref.capacity, ref.token,
			&hdr);
	w->ops++;
	if (err || hdr.tag != ref.token)
		return fail("commit");
	__atomic_store_n(&published[rand_r(&w->seed) % NR_PUBLISHED],
			 ref.token, __ATOMIC_SEQ_CST);
	if (enqueue(ref.token))
		return true;
	return put_slot(w, ref.token);
}

/* Take a queued message over: write, shorten, read back, free. */
static bool consume(struct worker *w)
{
	u64 token = dequeue();
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	u32 flags = MSGPOOL_F_WRITE | MSGPOOL_F_ADOPT;
	int err;

	if (!token)
		return true;
	err = mp_borrow(&pool, &w->peer, token, flags | MSGPOOL_F_NONBLOCK,
			&ref, &hdr);
	w->ops++;
	if (err == -EBUSY) {
		/* A peeker reads it: sleep until it is done. */
		err = mp_borrow(&pool, &w->peer, token, flags, &ref, &hdr);
		w->ops++;
	}
	if (err || hdr.tag != token || ref.token != token)
		return fail("write borrow");
	err = mp_release(&pool, &w->peer, token, MSGPOOL_F_SETLEN, 1);
	w->ops++;
	if (err)
		return fail("release of a write borrow");
	err = mp_borrow(&pool, &w->peer, token, 0, &ref, &hdr);
	w->ops++;
	if (err || hdr.len != 1 || hdr.tag != token)
		return fail("read borrow");
	err = mp_release(&pool, &w->peer, token, 0, 0);
	w->ops++;
	if (err)
		return fail("release of a read borrow");
	return put_slot(w, token);
}

/* Read any published token: it is live and ours to read, or stale. */
static bool peek(struct worker *w)
{
	u64 token = __atomic_load_n(&published[rand_r(&w->seed) %
					       NR_PUBLISHED],
				    __ATOMIC_SEQ_CST);
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	int err;

	if (!token)
		return true;
	if (rand_r(&w->seed) % 2) {
		err = mp_header(&pool, token, &ref, &hdr);
		w->ops++;
		if (err == -ESTALE || err == -EBUSY)
			return true;
		return err || hdr.tag != token ? fail("header") : true;
	}
	err = mp_borrow(&pool, &w->peer, token, MSGPOOL_F_NONBLOCK, &ref,
			&hdr);
	w->ops++;
	if (err == -ESTALE || err == -EBUSY)
		return true;
	if (err || hdr.tag != token)
		return fail("read borrow of a published token");
	err = mp_release(&pool, &w->peer, token, 0, 0);
	w->ops++;
	return err ? fail("release of a published token") : true;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	bool ok = true;
	unsigned int r;

	while (ok && w->ops < ops_per_thread && !failed()) {
		r = rand_r(&w->seed) % 10;
		if (r < 4)
			ok = produce(w);
		else if (r < 7)
			ok = consume(w);
		else
			ok = peek(w);
	}
	return NULL;
}

static bool all_free(void)
{
	u32 i;

	for (i = 0; i < pool.capacity; i++)
		if (pool.slots[i].state != MP_SLOT_FREE ||
		    atomic_read(&pool.slots[i].readers) ||
		    pool.slots[i].writer || pool.slots[i].owner)
			return false;
	return true;
}

static long total_ops;

/* Each test starts clean: no failure, no slot claimed or published. */
static void stress_reset(void)
{
	failure = NULL;
	memset(owned, 0, sizeof(owned));
	memset(published, 0, sizeof(published));
}

static void stress_ops(void)
{
	struct worker w[NR_THREADS] = { 0 };
	struct msgpool_info info;
	long ops = 0;
	u64 token;
	int i;

	stress_reset();
	CHECK_EQ(mp_pool_init(&pool, stress_cfg, 3, 7), 0);
	CHECK_EQ(pool.capacity, NR_SLOTS);
	ops_per_thread = total_ops / NR_THREADS;
	for (i = 0; i < NR_THREADS; i++) {
		mp_peer_init(&pool, &w[i].peer, true);
		w[i].seed = i + 1;
		pthread_create(&w[i].thread, NULL, worker_run, &w[i]);
	}
	for (i = 0; i < NR_THREADS; i++) {
		pthread_join(w[i].thread, NULL);
		ops += w[i].ops;
	}
	if (failed())
		printf("# %s\n", failure);
	CHECK(!failed());
	while ((token = dequeue()))
		CHECK(put_slot(&w[0], token));
	for (i = 0; i < NR_THREADS; i++)
		mp_peer_reclaim(&pool, &w[i].peer);
	mp_pool_info(&pool, &info);
	printf("# %ld ops, %llu loans, %llu borrows\n", ops,
	       (unsigned long long)info.nr_loans,
	       (unsigned long long)info.nr_borrows);
	CHECK(ops >= total_ops);
	CHECK_EQ(info.available, info.capacity);
	CHECK_EQ(info.nr_loans, info.nr_frees);
	CHECK_EQ(info.nr_reclaimed, 0);
	for (i = 0; i < NR_SLOTS; i++)
		CHECK_EQ(owned[i], 0);
	CHECK(all_free());
	mp_pool_destroy(&pool);
}

/* Claims a popped index; false if another thread holds it. */
static bool freelist_claim(struct worker *w, u32 index)
{
	w->ops++;
	if (index == MP_NIL)
		return true;
	if (index >= pool.classes[0].nr_slots ||
	    __atomic_exchange_n(&owned[index], 1, __ATOMIC_SEQ_CST))
		return fail("free list handed a slot out twice");
	return true;
}

static void freelist_unclaim(struct worker *w, u32 index)
{
	if (index == MP_NIL)
		return;
	__atomic_store_n(&owned[index], 0, __ATOMIC_SEQ_CST);
	mp_freelist_push(&pool, &pool.classes[0], index);
	w->ops++;
}

/*
 * The free list alone, in the pattern ABA needs: pop a, pop b, push a
 * back, keep b a while.  A stale head taken before the first pop would
 * hand b out again.
 */
static void *freelist_run(void *arg)
{
	struct mp_class *cls = &pool.classes[0];
	struct worker *w = arg;
	u32 a, b;

	while (w->ops < ops_per_thread && !failed()) {
		a = mp_freelist_pop(&pool, cls);
		if (!freelist_claim(w, a))
			break;
		b = mp_freelist_pop(&pool, cls);
		if (!freelist_claim(w, b))
			break;
		freelist_unclaim(w, a);
		if (!(rand_r(&w->seed) % 8))
			sched_yield();
		freelist_unclaim(w, b);
	}
	return NULL;
}

static void stress_freelist(void)
{
	static const struct msgpool_class cfg[] = {
		{ .slot_size = 8, .nr_slots = 3 },
	};
	struct worker w[NR_THREADS] = { 0 };
	bool seen[3] = { false };
	u32 index;
	int i;

	stress_reset();
	CHECK_EQ(mp_pool_init(&pool, cfg, 1, 1), 0);
	ops_per_thread = total_ops / NR_THREADS;
	for (i = 0; i < NR_THREADS; i++) {
		w[i].seed = i + 1;
		pthread_create(&w[i].thread, NULL, freelist_run, &w[i]);
	}
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(w[i].thread, NULL);
	if (failed())
		printf("# %s\n", failure);
	CHECK(!failed());
	CHECK_EQ(atomic_read(&pool.classes[0].available), 3);
	for (i = 0; i < 3; i++) {
		index = mp_freelist_pop(&pool, &pool.classes[0]);
		CHECK(index < 3 && !seen[index]);
		seen[index] = true;
	}
	CHECK_EQ(mp_freelist_pop(&pool, &pool.classes[0]), MP_NIL);
	mp_pool_destroy(&pool);
}

/*
 * Peers that come and go holding loans and borrows of each other's slots:
 * whatever a peer leaves behind is undone, so the pool ends full.
 */
static void *crash_run(void *arg)
{
	struct worker *w = arg;
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	u64 token;
	int err, i;

	while (w->ops < ops_per_thread && !failed()) {
		mp_peer_init(&pool, &w->peer, true);
		for (i = 0; i < 8; i++) {
			token = __atomic_load_n(&published[rand_r(&w->seed) %
							   NR_PUBLISHED],
						__ATOMIC_SEQ_CST);
			switch (rand_r(&w->seed) % 4) {
			case 0:
				err = mp_loan(&pool, &w->peer, 1, 0, &ref);
				break;
			case 1:
				err = mp_loan(&pool, &w->peer, 1, 0, &ref);
				if (!err)
					err = mp_commit(&pool, &w->peer,
							ref.token, 1, 0, &hdr);
				if (!err)
					__atomic_store_n(&published[ref.slot],
							 ref.token,
							 __ATOMIC_SEQ_CST);
				break;
			case 2:
				err = mp_borrow(&pool, &w->peer, token,
						MSGPOOL_F_NONBLOCK, &ref, &hdr);
				break;
			default:
				err = mp_borrow(&pool, &w->peer, token,
						MSGPOOL_F_NONBLOCK |
						MSGPOOL_F_WRITE, &ref, &hdr);
				break;
			}
			w->ops++;
			if (err && err != -ENOBUFS && err != -EBUSY &&
			    err != -ESTALE && err != -EOWNERDEAD &&
			    err != -EINVAL) {
				fail("unexpected error");
				break;
			}
		}
		mp_peer_reclaim(&pool, &w->peer);
	}
	return NULL;
}

static void stress_reclaim(void)
{
	struct worker w[NR_THREADS] = { 0 };
	struct msgpool_info info;
	struct mp_peer keeper;
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	int i;

	stress_reset();
	CHECK_EQ(mp_pool_init(&pool, stress_cfg, 3, 3), 0);
	/* Messages whose owner stays: lost write borrows poison them. */
	mp_peer_init(&pool, &keeper, true);
	for (i = 0; i < 8; i++) {
		CHECK_EQ(mp_loan(&pool, &keeper, 1, 0, &ref), 0);
		CHECK_EQ(mp_commit(&pool, &keeper, ref.token, 1, 0, &hdr), 0);
		published[NR_PUBLISHED / 2 + i] = ref.token;
	}
	ops_per_thread = total_ops / 4 / NR_THREADS;
	for (i = 0; i < NR_THREADS; i++) {
		w[i].seed = i + 1;
		pthread_create(&w[i].thread, NULL, crash_run, &w[i]);
	}
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(w[i].thread, NULL);
	if (failed())
		printf("# %s\n", failure);
	CHECK(!failed());
	mp_peer_reclaim(&pool, &keeper);
	mp_pool_info(&pool, &info);
	printf("# %llu reclaimed, %llu poisoned\n",
	       (unsigned long long)info.nr_reclaimed,
	       (unsigned long long)info.nr_poisoned);
	CHECK(info.nr_reclaimed > 0);
	CHECK(info.nr_poisoned > 0);
	CHECK_EQ(info.available, info.capacity);
	CHECK(all_free());
	mp_pool_destroy(&pool);
}

static const struct tap_test tests[] = {
	TAP_TEST(stress_ops),
	TAP_TEST(stress_freelist),
	TAP_TEST(stress_reclaim),
};

int main(int argc, char **argv)
{
	const char *label = argc > 1 ? argv[1] : "";

	total_ops = argc > 2 ? atol(argv[2]) : 1000000;
	return tap_run(tests, ARRAY_SIZE(tests), label) != 0;
}
