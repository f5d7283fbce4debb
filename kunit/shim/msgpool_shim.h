/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel primitives msgpool_core.c and its tests use, for userspace:
 * liburcu's uatomic for atomics, pthreads for sleeping locks and wait
 * queues.  Only what they need is here, with the kernel's names and
 * semantics, so the core builds unchanged and runs under the sanitizers.
 * The core includes <linux/...> headers; the ones in linux/ next to this
 * file stand in for them, and most just include this one.
 */
#ifndef _MSGPOOL_SHIM_H
#define _MSGPOOL_SHIM_H

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/*
 * liburcu's x86 atomics are inline assembly, which ThreadSanitizer cannot
 * see; its generic ones are compiler builtins, which it can.
 */
#ifdef __SANITIZE_THREAD__
#include <urcu/uatomic/generic.h>
#else
#include <urcu/uatomic.h>
#endif

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
/* As in the kernel: 64 bits are long long, whatever long is. */
typedef unsigned long long u64;
typedef long long s64;

#define U16_MAX		((u16)~0U)
#define U32_MAX		((u32)~0U)
#define U64_MAX		((u64)~0ULL)

#define PAGE_SIZE	4096UL
#define ALIGN(x, a)	(((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define min_t(type, a, b)	((type)(a) < (type)(b) ? (type)(a) : (type)(b))
#define min(a, b)		((a) < (b) ? (a) : (b))

#define check_add_overflow(a, b, d)	__builtin_add_overflow(a, b, d)
#define check_mul_overflow(a, b, d)	__builtin_mul_overflow(a, b, d)

/*
 * The kernel's READ_ONCE()/WRITE_ONCE() are volatile accesses; relaxed
 * atomics compile to the same loads and stores, and the sanitizers know
 * them for what they are.
 */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

#define lockdep_assert_held(l)	((void)(l))

/* A cache line of the machines the tests run on. */
#define SMP_CACHE_BYTES			64
#define ____cacheline_aligned_in_smp	__attribute__((aligned(SMP_CACHE_BYTES)))

/*
 * Barriers: fences.  ThreadSanitizer refuses fences; there a fully
 * ordered read-modify-write of a word of no use stands in (x86 orders
 * the same way), and the accesses the barriers order are READ_ONCE(),
 * WRITE_ONCE() or atomics, which it does not report anyway.
 */
#ifdef __SANITIZE_THREAD__
static int shim_barrier_word __attribute__((unused));
#define shim_mb()	((void)__atomic_fetch_add(&shim_barrier_word, 0, \
						  __ATOMIC_SEQ_CST))
#define smp_rmb()		shim_mb()
#define smp_mb()		shim_mb()
#else
#define smp_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif
#define smp_load_acquire(p)	__atomic_load_n(p, __ATOMIC_ACQUIRE)
#define smp_store_release(p, v)	__atomic_store_n(p, v, __ATOMIC_RELEASE)

/* Says so on stderr; the tests' checks decide what it means. */
#define WARN_ON(cond)							\
({									\
	bool __warn = (cond);						\
	if (__warn)							\
		fprintf(stderr, "WARNING: %s:%d: %s\n", __FILE__,	\
			__LINE__, #cond);				\
	__warn;								\
})

#define container_of(ptr, type, member)					\
	((type *)((char *)(ptr) - offsetof(type, member)))

/* Doubly linked lists, the part of <linux/list.h> the core uses. */
struct list_head {
	struct list_head *next, *prev;
};

static inline void INIT_LIST_HEAD(struct list_head *list)
{
	list->next = list;
	list->prev = list;
}

static inline bool list_empty(const struct list_head *head)
{
	return head->next == head;
}

static inline void list_add_tail(struct list_head *entry,
				 struct list_head *head)
{
	entry->prev = head->prev;
	entry->next = head;
	head->prev->next = entry;
	head->prev = entry;
}

static inline void list_del_init(struct list_head *entry)
{
	entry->prev->next = entry->next;
	entry->next->prev = entry->prev;
	INIT_LIST_HEAD(entry);
}

#define list_entry(ptr, type, member)	container_of(ptr, type, member)

#define list_for_each_entry(pos, head, member)				\
	for (pos = list_entry((head)->next, __typeof__(*pos), member);	\
	     &pos->member != (head);					\
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))
#define cond_resched()		do { } while (0)

static inline u32 hash_32(u32 val, unsigned int bits)
{
	return (val * 0x61C88647U) >> (32 - bits);
}

static inline unsigned int __ffs64(u64 word)
{
	return __builtin_ctzll(word);
}

static inline unsigned int hweight64(u64 word)
{
	return __builtin_popcountll(word);
}

#define BITS_PER_LONG		(8 * (int)sizeof(long))
#define BITS_TO_LONGS(n)	(((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)

static inline bool test_and_set_bit(long nr, unsigned long *addr)
{
	unsigned long mask = 1UL << (nr % BITS_PER_LONG);

	return __atomic_fetch_or(&addr[nr / BITS_PER_LONG], mask,
				 __ATOMIC_SEQ_CST) & mask;
}

static inline void clear_bit(long nr, unsigned long *addr)
{
	__atomic_fetch_and(&addr[nr / BITS_PER_LONG],
			   ~(1UL << (nr % BITS_PER_LONG)), __ATOMIC_RELAXED);
}

static inline unsigned int ilog2(u32 n)
{
	return 31 - __builtin_clz(n);
}

/* Atomics.  Value-returning operations are fully ordered, as in Linux. */
typedef struct {
	int counter;
} atomic_t;

#define ATOMIC_INIT(i)		{ (i) }

typedef struct {
	s64 counter;
} atomic64_t;

static inline int atomic_read(const atomic_t *v)
{
	return READ_ONCE(v->counter);
}

static inline void atomic_set(atomic_t *v, int i)
{
	WRITE_ONCE(v->counter, i);
}

static inline void atomic_inc(atomic_t *v)
{
	uatomic_inc(&v->counter);
}

static inline void atomic_add(int i, atomic_t *v)
{
	uatomic_add(&v->counter, i);
}

static inline void atomic_sub(int i, atomic_t *v)
{
	uatomic_add(&v->counter, -i);
}

static inline bool atomic_dec_and_test(atomic_t *v)
{
	return uatomic_add_return(&v->counter, -1) == 0;
}

/* Adds @a unless the counter is @u; returns the value it found. */
static inline int atomic_fetch_add_unless(atomic_t *v, int a, int u)
{
	int c = atomic_read(v), old;

	while (c != u) {
		old = uatomic_cmpxchg(&v->counter, c, c + a);
		if (old == c)
			break;
		c = old;
	}
	return c;
}

static inline void atomic_dec(atomic_t *v)
{
	uatomic_add(&v->counter, -1);
}

static inline bool atomic_try_cmpxchg(atomic_t *v, int *old, int new)
{
	int cur = uatomic_cmpxchg(&v->counter, *old, new);

	if (cur == *old)
		return true;
	*old = cur;
	return false;
}

static inline s64 atomic64_read(const atomic64_t *v)
{
	return READ_ONCE(v->counter);
}

static inline void atomic64_inc(atomic64_t *v)
{
	uatomic_inc(&v->counter);
}

static inline s64 atomic64_inc_return(atomic64_t *v)
{
	return uatomic_add_return(&v->counter, 1);
}

static inline bool try_cmpxchg64(u64 *ptr, u64 *old, u64 new)
{
	u64 cur = uatomic_cmpxchg(ptr, *old, new);

	if (cur == *old)
		return true;
	*old = cur;
	return false;
}

/* Sleeping locks. */
struct rw_semaphore {
	pthread_rwlock_t lock;
};

/* Writers first, as the kernel's rwsem does not starve them either. */
static inline void init_rwsem(struct rw_semaphore *sem)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
		PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&sem->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
}

static inline void down_read(struct rw_semaphore *sem)
{
	pthread_rwlock_rdlock(&sem->lock);
}

static inline void up_read(struct rw_semaphore *sem)
{
	pthread_rwlock_unlock(&sem->lock);
}

static inline void down_write(struct rw_semaphore *sem)
{
	pthread_rwlock_wrlock(&sem->lock);
}

static inline void up_write(struct rw_semaphore *sem)
{
	pthread_rwlock_unlock(&sem->lock);
}

/*
 * Spinlocks: pthread's, which spin in userspace too.  Nothing sleeps
 * under one in the core, as in the kernel.
 */
typedef struct {
	pthread_spinlock_t lock;
} spinlock_t;

static inline void spin_lock_init(spinlock_t *l)
{
	pthread_spin_init(&l->lock, PTHREAD_PROCESS_PRIVATE);
}

static inline void spin_lock(spinlock_t *l)
{
	pthread_spin_lock(&l->lock);
}

static inline void spin_unlock(spinlock_t *l)
{
	pthread_spin_unlock(&l->lock);
}

struct mutex {
	pthread_mutex_t lock;
};

static inline void mutex_init(struct mutex *m)
{
	pthread_mutex_init(&m->lock, NULL);
}

static inline void mutex_destroy(struct mutex *m)
{
	pthread_mutex_destroy(&m->lock);
}

static inline void mutex_lock(struct mutex *m)
{
	pthread_mutex_lock(&m->lock);
}

static inline void mutex_unlock(struct mutex *m)
{
	pthread_mutex_unlock(&m->lock);
}

/*
 * Wait queues.  The condition is evaluated under the queue's mutex and
 * wakers take that mutex, so a wakeup between the test and the sleep
 * cannot be lost.  @sleepers is what wq_has_sleeper() reads: a waiter
 * counts itself before it tests the condition, and both sides use a
 * read-modify-write on it, which orders them as the kernel's barriers do
 * (ThreadSanitizer does not model fences).  Tests read it to know that a
 * task sleeps.  No shim task is ever killed: waits return 0.
 */
typedef struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int sleepers;
} wait_queue_head_t;

static inline void init_waitqueue_head(wait_queue_head_t *wq)
{
	pthread_mutex_init(&wq->lock, NULL);
	pthread_cond_init(&wq->cond, NULL);
	wq->sleepers = 0;
}

static inline void wake_up_all(wait_queue_head_t *wq)
{
	pthread_mutex_lock(&wq->lock);
	pthread_cond_broadcast(&wq->cond);
	pthread_mutex_unlock(&wq->lock);
}

static inline bool wq_has_sleeper(wait_queue_head_t *wq)
{
	return __atomic_fetch_add(&wq->sleepers, 0, __ATOMIC_SEQ_CST);
}

/* No signals reach a shim thread: the wait ends when @condition holds. */
#define wait_event_interruptible(wq, condition)				\
({									\
	pthread_mutex_lock(&(wq).lock);					\
	__atomic_add_fetch(&(wq).sleepers, 1, __ATOMIC_SEQ_CST);	\
	while (!(condition))						\
		pthread_cond_wait(&(wq).cond, &(wq).lock);		\
	__atomic_sub_fetch(&(wq).sleepers, 1, __ATOMIC_SEQ_CST);	\
	pthread_mutex_unlock(&(wq).lock);				\
	0;								\
})

/* SipHash-2-4, as lib/siphash.c computes it for two 32-bit words. */
typedef struct {
	u64 key[2];
} siphash_key_t;

static inline u64 shim_rol64(u64 word, unsigned int shift)
{
	return (word << shift) | (word >> (64 - shift));
}

static inline void shim_siprounds(u64 *v, int rounds)
{
	while (rounds--) {
		v[0] += v[1]; v[1] = shim_rol64(v[1], 13); v[1] ^= v[0];
		v[0] = shim_rol64(v[0], 32);
		v[2] += v[3]; v[3] = shim_rol64(v[3], 16); v[3] ^= v[2];
		v[0] += v[3]; v[3] = shim_rol64(v[3], 21); v[3] ^= v[0];
		v[2] += v[1]; v[1] = shim_rol64(v[1], 17); v[1] ^= v[2];
		v[2] = shim_rol64(v[2], 32);
	}
}

/* One 8-byte block, its length's block, and the finalisation. */
static inline u64 siphash_2u32(u32 first, u32 second,
			       const siphash_key_t *key)
{
	u64 m = (u64)second << 32 | first, b = 8ULL << 56;
	u64 v[4] = {
		0x736f6d6570736575ULL ^ key->key[0],
		0x646f72616e646f6dULL ^ key->key[1],
		0x6c7967656e657261ULL ^ key->key[0],
		0x7465646279746573ULL ^ key->key[1],
	};

	v[3] ^= m;
	shim_siprounds(v, 2);
	v[0] ^= m;
	v[3] ^= b;
	shim_siprounds(v, 2);
	v[0] ^= b;
	v[2] ^= 0xff;
	shim_siprounds(v, 4);
	return (v[0] ^ v[1]) ^ (v[2] ^ v[3]);
}

static inline void get_random_bytes(void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = getrandom((char *)buf + done, len - done, 0);
		if (n > 0)
			done += n;
	}
}

/* Memory: zeroed or not, it all comes from calloc(). */
typedef unsigned int gfp_t;

#define GFP_KERNEL		0U
#define GFP_KERNEL_ACCOUNT	0U

static inline void *kvcalloc(size_t n, size_t size, gfp_t gfp)
{
	(void)gfp;
	return calloc(n, size);
}

static inline void kvfree(const void *p)
{
	free((void *)p);
}

#endif /* _MSGPOOL_SHIM_H */
