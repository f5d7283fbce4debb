// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency stress of the msgpool core in userspace, as one KUnit suite
 * (see kunit/test.h here).  Threads allocate, publish, borrow, release and
 * free slots of one small pool; every slot handed out is claimed with an
 * atomic exchange, so a slot given to two owners at once is caught at
 * once.  $STRESS_OPS sets the core operations of the main test (default
 * 1000000), a quarter of that in the reclaim test.  The free list alone
 * is stressed by msgpool_freelist.mpt_freelist_concurrent.
 */
#include <pthread.h>
#include <sched.h>

#include <kunit/test.h>

#include "msgpool_core.h"

#define NR_THREADS	4
#define NR_PUBLISHED	64
#define QUEUE_SIZE	16	/* fewer than the slots: never all queued */

/* The first class is just large enough for the peers' caches (4 each). */
static const struct msgpool_class stress_cfg[] = {
	{ .slot_size = 64, .nr_slots = 32 },
	{ .slot_size = 256, .nr_slots = 8 },
	{ .slot_size = 1024, .nr_slots = 4 },
};

#define NR_SLOTS	44

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
	u32 id;
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
	u64 gen;

	if (mp_token_open(&pool, token, &slot, &gen))
		return NR_SLOTS;
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
	struct mp_msg_hdr hdr = { .producer = 1 };
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
	hdr.len = ref.capacity;
	hdr.tag = ref.token;
	err = mp_commit(&pool, &w->peer, ref.token, &hdr);
	w->ops++;
	if (err || hdr.tag != ref.token || !hdr.seq)
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

/* One of the tokens published so far, or 0. */
static u64 any_published(struct worker *w)
{
	return __atomic_load_n(&published[rand_r(&w->seed) % NR_PUBLISHED],
			       __ATOMIC_SEQ_CST);
}

/* Read any published token: it is live and ours to read, or stale. */
static bool peek(struct worker *w)
{
	u64 token = any_published(w);
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

/*
 * With every peer gone, every slot is free: by the slots themselves, and
 * by the count and the census the core kept through all that.
 */
static void expect_pool_free(struct kunit *test)
{
	struct mp_census c;
	u32 i;

	for (i = 0; i < pool.capacity; i++)
		KUNIT_EXPECT_TRUE(test, pool.slots[i].state == MP_SLOT_FREE &&
				  !atomic_read(&pool.slots[i].readers) &&
				  !pool.slots[i].writer && !pool.slots[i].owner);
	KUNIT_EXPECT_EQ(test, mp_pool_available(&pool), pool.capacity);
	mp_pool_census(&pool, &c);
	KUNIT_EXPECT_EQ(test, c.free, pool.capacity);
	KUNIT_EXPECT_EQ(test, c.loaned + c.ready + c.borrowed + c.poisoned +
			c.published + c.retired, 0);
}

static long total_ops = 1000000;

/* Each test starts clean: no failure, no slot claimed or published. */
static int stress_init(struct kunit *test)
{
	(void)test;
	failure = NULL;
	memset(owned, 0, sizeof(owned));
	memset(published, 0, sizeof(published));
	return 0;
}

static int stress_suite_init(struct kunit_suite *suite)
{
	const char *ops = getenv("STRESS_OPS");

	(void)suite;
	if (ops)
		total_ops = atol(ops);
	return total_ops > 0 ? 0 : -EINVAL;
}

static void stress_report_failure(struct kunit *test)
{
	if (failed())
		kunit_err(test, "%s", failure);
	KUNIT_EXPECT_FALSE(test, failed());
}

static s64 stress_count(atomic64_t *counter)
{
	return atomic64_read(counter);
}

static void stress_ops(struct kunit *test)
{
	struct worker w[NR_THREADS] = { 0 };
	long ops = 0;
	u64 token;
	int i;

	KUNIT_ASSERT_EQ(test, mp_pool_init(&pool, stress_cfg, 3), 0);
	KUNIT_ASSERT_EQ(test, pool.capacity, NR_SLOTS);
	ops_per_thread = total_ops / NR_THREADS;
	for (i = 0; i < NR_THREADS; i++) {
		mp_peer_init(&w[i].peer, i + 1, true);
		w[i].seed = i + 1;
		pthread_create(&w[i].thread, NULL, worker_run, &w[i]);
	}
	for (i = 0; i < NR_THREADS; i++) {
		pthread_join(w[i].thread, NULL);
		ops += w[i].ops;
	}
	stress_report_failure(test);
	while ((token = dequeue()))
		KUNIT_EXPECT_TRUE(test, put_slot(&w[0], token));
	for (i = 0; i < NR_THREADS; i++)
		mp_peer_reclaim(&pool, &w[i].peer);
	kunit_info(test, "%ld ops, %lld loans, %lld borrows", ops,
		   stress_count(&pool.cnt.loans),
		   stress_count(&pool.cnt.borrows));
	KUNIT_EXPECT_GE(test, ops, total_ops);
	KUNIT_EXPECT_EQ(test, stress_count(&pool.cnt.loans),
			stress_count(&pool.cnt.frees));
	KUNIT_EXPECT_EQ(test, stress_count(&pool.cnt.reclaimed), 0);
	for (i = 0; i < NR_SLOTS; i++)
		KUNIT_EXPECT_EQ(test, owned[i], 0);
	expect_pool_free(test);
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
		mp_peer_init(&w->peer, w->id, true);
		for (i = 0; i < 8; i++) {
			token = any_published(w);
			switch (rand_r(&w->seed) % 4) {
			case 0:
				err = mp_loan(&pool, &w->peer, 1, 0, &ref);
				break;
			case 1:
				err = mp_loan(&pool, &w->peer, 1, 0, &ref);
				hdr = (struct mp_msg_hdr){ .len = 1 };
				if (!err)
					err = mp_commit(&pool, &w->peer,
							ref.token, &hdr);
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
			    err != -EINVAL && err != -EDEADLK) {
				fail("unexpected error");
				break;
			}
		}
		mp_peer_reclaim(&pool, &w->peer);
	}
	return NULL;
}

static void stress_reclaim(struct kunit *test)
{
	struct worker w[NR_THREADS] = { 0 };
	struct mp_msg_hdr hdr = { .len = 1 };
	struct mp_peer keeper;
	struct mp_ref ref;
	int i;

	KUNIT_ASSERT_EQ(test, mp_pool_init(&pool, stress_cfg, 3), 0);
	/* Messages whose owner stays: lost write borrows poison them. */
	mp_peer_init(&keeper, NR_THREADS + 1, true);
	for (i = 0; i < 8; i++) {
		KUNIT_ASSERT_EQ(test, mp_loan(&pool, &keeper, 1, 0, &ref), 0);
		KUNIT_ASSERT_EQ(test,
				mp_commit(&pool, &keeper, ref.token, &hdr), 0);
		published[NR_PUBLISHED / 2 + i] = ref.token;
	}
	ops_per_thread = total_ops / 4 / NR_THREADS;
	for (i = 0; i < NR_THREADS; i++) {
		w[i].seed = i + 1;
		w[i].id = i + 1;
		pthread_create(&w[i].thread, NULL, crash_run, &w[i]);
	}
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(w[i].thread, NULL);
	stress_report_failure(test);
	mp_peer_reclaim(&pool, &keeper);
	kunit_info(test, "%lld reclaimed, %lld poisoned",
		   stress_count(&pool.cnt.reclaimed),
		   stress_count(&pool.cnt.poisoned));
	KUNIT_EXPECT_GT(test, stress_count(&pool.cnt.reclaimed), 0);
	KUNIT_EXPECT_GT(test, stress_count(&pool.cnt.poisoned), 0);
	expect_pool_free(test);
	mp_pool_destroy(&pool);
}

/*
 * Read borrows and releases of a pool's one message: the first borrow
 * and the last release move it between READY and BORROWED under its sem
 * held shared, each its own way.  Sampled meanwhile, no count may read
 * above the pool's one slot (below zero, as a u64).
 */
static u64 census_token;
static int census_running;

static void *census_run(void *arg)
{
	struct worker *w = arg;
	struct mp_msg_hdr hdr;
	struct mp_ref ref;

	while (w->ops < ops_per_thread && !failed()) {
		if (mp_borrow(&pool, &w->peer, census_token, 0, &ref, &hdr) ||
		    mp_release(&pool, &w->peer, census_token, 0, 0))
			fail("read borrow of the one message");
		w->ops += 2;
	}
	__atomic_sub_fetch(&census_running, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void stress_census(struct kunit *test)
{
	static const struct msgpool_class one = { .slot_size = 64,
						  .nr_slots = 1 };
	struct mp_msg_hdr hdr = { .len = 1 };
	struct worker w[2] = { 0 };
	long samples = 0, bad = 0;
	struct mp_peer writer;
	struct mp_census c;
	struct mp_ref ref;
	int i;

	KUNIT_ASSERT_EQ(test, mp_pool_init(&pool, &one, 1), 0);
	mp_peer_init(&writer, 1, true);
	KUNIT_ASSERT_EQ(test, mp_loan(&pool, &writer, 1, 0, &ref), 0);
	KUNIT_ASSERT_EQ(test, mp_commit(&pool, &writer, ref.token, &hdr), 0);
	census_token = ref.token;
	ops_per_thread = total_ops / 4;
	census_running = 2;
	for (i = 0; i < 2; i++) {
		mp_peer_init(&w[i].peer, i + 2, false);
		pthread_create(&w[i].thread, NULL, census_run, &w[i]);
	}
	while (__atomic_load_n(&census_running, __ATOMIC_SEQ_CST)) {
		mp_pool_census(&pool, &c);
		bad += c.free > 1 || c.loaned > 1 || c.ready > 1 ||
		       c.borrowed > 1 || c.poisoned > 1 || c.published > 1 ||
		       c.retired > 1;
		samples++;
	}
	for (i = 0; i < 2; i++)
		pthread_join(w[i].thread, NULL);
	stress_report_failure(test);
	kunit_info(test, "%ld samples", samples);
	KUNIT_EXPECT_EQ(test, bad, 0);
	mp_pool_census(&pool, &c);
	KUNIT_EXPECT_EQ(test, c.ready, 1);
	KUNIT_EXPECT_EQ(test, c.borrowed, 0);
	for (i = 0; i < 2; i++)
		mp_peer_reclaim(&pool, &w[i].peer);
	mp_peer_reclaim(&pool, &writer);
	expect_pool_free(test);
	mp_pool_destroy(&pool);
}

static struct kunit_case stress_cases[] = {
	KUNIT_CASE(stress_ops),
	KUNIT_CASE(stress_reclaim),
	KUNIT_CASE(stress_census),
	{}
};

static struct kunit_suite stress_suite = {
	.name = "msgpool_stress",
	.suite_init = stress_suite_init,
	.init = stress_init,
	.test_cases = stress_cases,
};

kunit_test_suite(stress_suite);
