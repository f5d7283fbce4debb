/* SPDX-License-Identifier: GPL-2.0 */
/*
 * msgpool pools: the registry of named pools, their permissions, their
 * lifetime and the pages that userspace maps.
 */
#ifndef _MSGPOOL_POOL_H
#define _MSGPOOL_POOL_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/uidgid.h>

#include "msgpool_core.h"

struct msgpool_pool {
	struct mp_pool core;
	struct kref ref;		/* one per attached peer */
	struct list_head node;		/* in the registry, under its lock */
	char name[MSGPOOL_NAME_MAX];
	kuid_t uid;			/* creator's euid */
	kgid_t gid;			/* creator's egid */
	umode_t mode;			/* permission bits, 0777 at most */
	unsigned long nr_pages;		/* entries of @pages allocated */
	struct page **pages;		/* the mapping, core.map_size bytes */
	void *vaddr;			/* vmap() of @pages */
};

/*
 * Validate @at and return a referenced pool for a peer that is @writable:
 * found by name, or created from @at.  *@created tells which.
 */
struct msgpool_pool *msgpool_pool_attach(const struct msgpool_attach *at,
					 bool writable, bool *created);
void msgpool_pool_put(struct msgpool_pool *pool);
int msgpool_pool_mmap(struct msgpool_pool *pool, struct vm_area_struct *vma,
		      bool writable);

#endif /* _MSGPOOL_POOL_H */
