// SPDX-License-Identifier: GPL-2.0
/*
 * msgpool stats: what msgpool-stat shows, like ipcs and ipcrm for SysV
 * IPC.  Read-only except for unlink, and confined to the caller's IPC
 * namespace.  Each call takes a snapshot into kernel memory first, so no
 * lock is held while userspace memory is touched.
 */
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uidgid.h>

#include "msgpool_pool.h"
#include "msgpool_stat.h"

/* An entry size a caller may pass: its struct as first released, or larger. */
static bool msgpool_entry_size_ok(u32 entry_size, u32 ver0)
{
	return entry_size >= ver0 && entry_size <= SZ_4K;
}

/*
 * Copies @n entries of @ksize bytes from @src to @uptr, where userspace
 * has them @usize bytes apart: what fits of each, then zeros.
 */
static int msgpool_entries_to_user(u64 uptr, const void *src, u32 n,
				   size_t ksize, u32 usize)
{
	u8 __user *dst = u64_to_user_ptr(uptr);
	size_t part = min_t(size_t, ksize, usize);
	u32 i;

	for (i = 0; i < n; i++, dst += usize, src += ksize) {
		if (copy_to_user(dst, src, part))
			return -EFAULT;
		if (usize > part && clear_user(dst + part, usize - part))
			return -EFAULT;
	}
	return 0;
}

static void msgpool_stat_fill(struct msgpool_pool *pool,
			      struct msgpool_pool_stat *st)
{
	struct mp_pool *core = &pool->core;
	struct mp_census c;
	u32 i;

	memcpy(st->name, pool->name, sizeof(st->name));
	st->id = pool->id;
	st->uid = from_kuid_munged(current_user_ns(), pool->uid);
	st->gid = from_kgid_munged(current_user_ns(), pool->gid);
	st->mode = pool->mode;
	memcpy(st->type_id, pool->type_id, sizeof(st->type_id));
	st->nr_classes = core->nr_classes;
	for (i = 0; i < core->nr_classes; i++) {
		st->classes[i].slot_size = core->classes[i].slot_size;
		st->classes[i].nr_slots = core->classes[i].nr_slots;
	}
	st->map_size = core->map_size;
	st->capacity = core->capacity;
	mutex_lock(&pool->members_lock);
	st->nr_peers = pool->nr_members;
	mutex_unlock(&pool->members_lock);
	mp_pool_census(core, &c);
	st->free = c.free;
	st->loaned = c.loaned;
	st->ready = c.ready;
	st->borrowed = c.borrowed;
	st->poisoned = c.poisoned;
	st->published = c.published;
	st->retired = c.retired;
}

static long msgpool_ioc_pools(struct msgpool_pool_list __user *ulist)
{
	struct msgpool_pool_stat *stats = NULL;
	struct msgpool_pool **pools;
	struct msgpool_pool_list list;
	u32 nr, n, i;
	int err;

	if (copy_from_user(&list, ulist, sizeof(list)))
		return -EFAULT;
	if (!msgpool_entry_size_ok(list.entry_size,
				   MSGPOOL_POOL_STAT_SIZE_VER0) ||
	    list.reserved[0] || list.reserved[1])
		return -EINVAL;
	err = msgpool_pool_snapshot(&pools, &nr);
	if (err)
		return err;
	n = min(nr, list.count);
	if (n) {
		stats = kvcalloc(n, sizeof(*stats), GFP_KERNEL);
		if (!stats) {
			err = -ENOMEM;
			goto put;
		}
	}
	for (i = 0; i < n; i++)
		msgpool_stat_fill(pools[i], &stats[i]);
	if (msgpool_entries_to_user(list.pools, stats, n, sizeof(*stats),
				    list.entry_size) ||
	    put_user(nr, &ulist->count))
		err = -EFAULT;
	kvfree(stats);
put:
	msgpool_pool_put_all(pools, nr);
	return err;
}

static void msgpool_peer_fill(struct msgpool_peer *peer,
			      struct msgpool_peer_stat *st)
{
	struct mp_peer_census c;

	st->pid = pid_vnr(peer->pid);
	st->peer_id = peer->core.id;
	st->flags = peer->core.writable ? 0 : MSGPOOL_PEER_RDONLY;
	mp_peer_census(&peer->core, &c);
	st->loans = c.loans;
	st->reads = c.reads;
	st->writes = c.writes;
	st->owned = c.owned;
}

/* Up to @max peers of @pool into @stats; returns how many it has. */
static u32 msgpool_peers_fill(struct msgpool_pool *pool,
			      struct msgpool_peer_stat *stats, u32 max)
{
	struct msgpool_peer *peer;
	u32 n = 0;

	mutex_lock(&pool->members_lock);
	list_for_each_entry(peer, &pool->members, node) {
		if (n < max)
			msgpool_peer_fill(peer, &stats[n]);
		n++;
	}
	mutex_unlock(&pool->members_lock);
	return n;
}

static long msgpool_ioc_peers(struct msgpool_peer_list __user *ulist)
{
	struct msgpool_peer_stat *stats = NULL;
	struct msgpool_peer_list list;
	struct msgpool_pool *pool;
	u32 max, nr;
	int err = 0;

	if (copy_from_user(&list, ulist, sizeof(list)))
		return -EFAULT;
	if (!msgpool_name_valid(list.name) ||
	    !msgpool_entry_size_ok(list.entry_size,
				   MSGPOOL_PEER_STAT_SIZE_VER0) ||
	    list.reserved32 ||
	    list.reserved[0] || list.reserved[1])
		return -EINVAL;
	pool = msgpool_pool_lookup(list.name, list.id);
	if (!pool)
		return -ENOENT;
	/* Peers come and go: room for those attached now, or fewer. */
	mutex_lock(&pool->members_lock);
	max = min(pool->nr_members, list.count);
	mutex_unlock(&pool->members_lock);
	if (max) {
		stats = kvcalloc(max, sizeof(*stats), GFP_KERNEL);
		if (!stats) {
			err = -ENOMEM;
			goto put;
		}
	}
	nr = msgpool_peers_fill(pool, stats, max);
	if (msgpool_entries_to_user(list.peers, stats, min(nr, max),
				    sizeof(*stats), list.entry_size) ||
	    put_user(nr, &ulist->count))
		err = -EFAULT;
	kvfree(stats);
put:
	msgpool_pool_put(pool);
	return err;
}

static long msgpool_ioc_unlink(struct msgpool_unlink_args __user *uun)
{
	struct msgpool_unlink_args un;

	if (copy_from_user(&un, uun, sizeof(un)))
		return -EFAULT;
	if (!msgpool_name_valid(un.name) || un.flags || un.reserved[0] ||
	    un.reserved[1])
		return -EINVAL;
	return msgpool_pool_unlink(un.name, un.id);
}

long msgpool_stat_ioctl(unsigned int cmd, void __user *uarg)
{
	switch (cmd) {
	case MSGPOOL_IOC_POOLS:
		return msgpool_ioc_pools(uarg);
	case MSGPOOL_IOC_PEERS:
		return msgpool_ioc_peers(uarg);
	case MSGPOOL_IOC_UNLINK:
		return msgpool_ioc_unlink(uarg);
	}
	return -ENOTTY;
}
