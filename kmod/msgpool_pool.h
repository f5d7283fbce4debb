/* SPDX-License-Identifier: GPL-2.0 */
/*
 * msgpool pools: the registry of named pools, their permissions, their
 * lifetime and the pages that userspace maps.
 */
#ifndef _MSGPOOL_POOL_H
#define _MSGPOOL_POOL_H

#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/uidgid.h>

#include "msgpool_core.h"

struct ipc_namespace;
struct pid;

/**
 * struct msgpool_pool - a named pool
 * @core: the slots, as the core sees them
 * @ref: one per attached peer or lookup; the last put frees the pool
 * @node: in the registry, under msgpool_lock; empty once unlinked
 * @ns: the IPC namespace of @name, referenced; constant
 * @id: unique since the module was loaded; constant
 * @name: constant
 * @uid: creator's euid; constant
 * @gid: creator's egid; constant
 * @mode: permission bits, 0777 at most; constant
 * @type_id: type fingerprint, zeros if untyped; constant
 * @cost: bytes charged to the creator's quota; constant
 * @protected: MSGPOOL_ATTACH_PROTECTED: slots writable through the
 *	mapping only to their holder; constant
 * @nr_pages: entries of @pages allocated; constant once listed
 * @pages: the mapping, core.map_size bytes
 * @vaddr: vmap() of @pages
 * @members_lock: guards @members and @nr_members; taken before any
 *	peer's lock
 * @members: the attached peers, by &msgpool_peer.node
 * @nr_members: their number
 * @peer_ids: the ids of the live peers, so none is reused while alive
 */
struct msgpool_pool {
	struct mp_pool core;
	struct kref ref;
	struct list_head node;
	struct ipc_namespace *ns;
	u32 id;
	char name[MSGPOOL_NAME_MAX];
	kuid_t uid;
	kgid_t gid;
	umode_t mode;
	u8 type_id[MSGPOOL_TYPE_ID_LEN];
	u64 cost;
	bool protected;
	unsigned long nr_pages;
	struct page **pages;
	void *vaddr;
	struct mutex members_lock;
	struct list_head members;
	u32 nr_members;
	struct ida peer_ids;
};

/**
 * struct msgpool_peer - an open file of /dev/msgpool
 * @core: the peer as the core sees it.  struct mp_peer has no file, pid
 *	or list, so that the core and its tests run in userspace too; the
 *	rest is the file's.
 * @pool: set once by attach, then constant; read with
 *	smp_load_acquire() (see msgpool_peer_pool())
 * @attach_lock: one attach, or one ring attach, at a time
 * @ring: the reader rings, set once under attach_lock with
 *	smp_store_release() (mmap reads it with smp_load_acquire()); freed
 *	by release
 * @node: in &msgpool_pool.members, under its members_lock
 * @pid: the thread group that attached, referenced
 * @mapping: the file's address space, whose mappings a protected pool
 *	unmaps a slot from; set by attach
 */
struct msgpool_peer {
	struct mp_peer core;
	struct msgpool_pool *pool;
	struct mutex attach_lock;
	struct msgpool_ring *ring;
	struct list_head node;
	struct pid *pid;
	struct address_space *mapping;
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
/* Removes a slot's pages from every mapping of the pool's peers. */
void msgpool_pool_unmap_slot(struct msgpool_pool *pool, u64 offset, u64 len);

#endif /* _MSGPOOL_POOL_H */
