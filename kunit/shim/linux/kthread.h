/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <linux/kthread.h> in userspace: a kernel thread is a detached pthread.
 * Its task_struct is never looked into: kthread_run() returns one shared
 * placeholder, or ERR_PTR(-ENOMEM).
 */
#ifndef _SHIM_LINUX_KTHREAD_H
#define _SHIM_LINUX_KTHREAD_H

#include "../msgpool_shim.h"
#include "completion.h"
#include "err.h"

struct task_struct {
	int unused;
};

struct shim_kthread {
	int (*fn)(void *data);
	void *data;
};

static struct task_struct shim_kthread_task;

static inline void *shim_kthread_start(void *arg)
{
	struct shim_kthread k = *(struct shim_kthread *)arg;

	free(arg);
	k.fn(k.data);
	return NULL;
}

/* The name is only printed by the kernel; here it is ignored. */
#define kthread_run(fn, data, namefmt, ...)				\
	shim_kthread_run(fn, data)

static inline struct task_struct *shim_kthread_run(int (*fn)(void *data),
						   void *data)
{
	struct shim_kthread *k = malloc(sizeof(*k));
	pthread_attr_t attr;
	pthread_t thread;
	int err;

	if (!k)
		return ERR_PTR(-ENOMEM);
	k->fn = fn;
	k->data = data;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&thread, &attr, shim_kthread_start, k);
	pthread_attr_destroy(&attr);
	if (err) {
		free(k);
		return ERR_PTR(-err);
	}
	return &shim_kthread_task;
}

static inline void __attribute__((noreturn))
kthread_complete_and_exit(struct completion *comp, long code)
{
	(void)code;
	complete(comp);
	pthread_exit(NULL);
}

#endif /* _SHIM_LINUX_KTHREAD_H */
