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
#include <linux/mutex.h>
#include <linux/uidgid.h>

#include "msgpool_core.h"

struct ipc_namespace;
struct pid;

struct msgpool_pool {
	struct mp_pool core;
	struct kref ref;		/* one per attached peer, or lookup */
	/* In the registry, under its lock; empty once unlinked. */
	struct list_head node;
	struct ipc_namespace *ns;	/* the namespace of @name, held */
	u32 id;
	char name[MSGPOOL_NAME_MAX];
	kuid_t uid;			/* creator's euid */
	kgid_t gid;			/* creator's egid */
	umode_t mode;			/* permission bits, 0777 at most */
	u8 type_id[MSGPOOL_TYPE_ID_LEN];	/* set at create; zeros: untyped */
	unsigned long nr_pages;		/* entries of @pages allocated */
	struct page **pages;		/* the mapping, core.map_size bytes */
	void *vaddr;			/* vmap() of @pages */
	struct mutex members_lock;	/* taken before any peer's lock */
	struct list_head members;	/* msgpool_peer.node, members_lock */
	u32 nr_members;			/* under members_lock */
};

/*
 * An open file of /dev/msgpool.  @core is the peer as the core sees it:
 * struct mp_peer has no file, pid or list, so that the core and its tests
 * also run in userspace.  The rest is the file's.
 */
struct msgpool_peer {
	struct mp_peer core;
	struct msgpool_pool *pool;	/* set once by attach, then constant */
	struct mutex attach_lock;	/* one attach at a time */
	struct list_head node;		/* in pool->members, members_lock */
	struct pid *pid;		/* thread group that attached */
};

/*
 * Validate @at and return a referenced pool for a peer that is @writable:
 * found by name, or created from @at.  *@created tells which.
 */
struct msgpool_pool *msgpool_pool_attach(const struct msgpool_attach *at,
					 bool writable, bool *created);
void msgpool_pool_put(struct msgpool_pool *pool);
/* List and unlist an initialised peer of @pool. */
void msgpool_pool_enter(struct msgpool_pool *pool, struct msgpool_peer *peer);
void msgpool_pool_leave(struct msgpool_pool *pool, struct msgpool_peer *peer);

/*
 * The caller's IPC namespace.  msgpool_pool_snapshot() returns its pools,
 * referenced, in a kvmalloc()ed array (NULL when none) for
 * msgpool_pool_put_all(); msgpool_pool_lookup() one of them by name, and
 * by id if @id is not 0.  msgpool_pool_unlink() removes a name.
 */
int msgpool_pool_snapshot(struct msgpool_pool ***pools, u32 *nr);
void msgpool_pool_put_all(struct msgpool_pool **pools, u32 nr);
struct msgpool_pool *msgpool_pool_lookup(const char *name, u32 id);
int msgpool_pool_unlink(const char *name, u32 id);
bool msgpool_name_valid(const char *name);
int msgpool_pool_mmap(struct msgpool_pool *pool, struct vm_area_struct *vma,
		      bool writable);

#endif /* _MSGPOOL_POOL_H */
