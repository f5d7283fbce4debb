/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <linux/completion.h> in userspace, on a pthread mutex and condition.
 * Jiffies are milliseconds here (HZ is 1000).
 */
#ifndef _SHIM_LINUX_COMPLETION_H
#define _SHIM_LINUX_COMPLETION_H

#include "../msgpool_shim.h"

#define HZ	1000

struct completion {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int done;
};

static inline void init_completion(struct completion *x)
{
	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->cond, NULL);
	x->done = 0;
}

static inline void complete(struct completion *x)
{
	pthread_mutex_lock(&x->lock);
	x->done++;
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
}

static inline bool completion_done(struct completion *x)
{
	bool done;

	pthread_mutex_lock(&x->lock);
	done = x->done;
	pthread_mutex_unlock(&x->lock);
	return done;
}

/* 0 if @timeout (in jiffies) passed first, else at least 1. */
static inline unsigned long wait_for_completion_timeout(struct completion *x,
							unsigned long timeout)
{
	struct timespec until;
	int err = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout / HZ;
	until.tv_nsec += (long)(timeout % HZ) * (1000000000L / HZ);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&x->lock);
	while (!x->done && err != ETIMEDOUT)
		err = pthread_cond_timedwait(&x->cond, &x->lock, &until);
	if (x->done)
		x->done--;
	pthread_mutex_unlock(&x->lock);
	return err == ETIMEDOUT ? 0 : 1;
}

static inline void wait_for_completion(struct completion *x)
{
	pthread_mutex_lock(&x->lock);
	while (!x->done)
		pthread_cond_wait(&x->cond, &x->lock);
	x->done--;
	pthread_mutex_unlock(&x->lock);
}

#endif /* _SHIM_LINUX_COMPLETION_H */
