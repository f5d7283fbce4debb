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
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uidgid.h>

#include "msgpool_pool.h"
#include "msgpool_stat.h"

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
	if (list.entry_size != sizeof(*stats) || list.reserved[0] ||
	    list.reserved[1])
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
	if (copy_to_user(u64_to_user_ptr(list.pools), stats,
			 n * sizeof(*stats)) ||
	    put_user(nr, &ulist->count))
		err = -EFAULT;
	kvfree(stats);
put:
	msgpool_pool_put_all(pools, nr);
	return err;
}

static void msgpool_peer_fill(struct msgpool_pool *pool,
			      struct msgpool_member *m,
			      struct msgpool_peer_stat *st)
{
	struct mp_peer_census c;

	st->pid = pid_vnr(m->pid);
	st->peer_id = m->core->id;
	st->flags = m->core->writable ? 0 : MSGPOOL_PEER_RDONLY;
	mp_peer_census(&pool->core, m->core, &c);
	st->loans = c.loans;
	st->reads = c.reads;
	st->writes = c.writes;
	st->owned = c.owned;
}

/* Up to @max peers of @pool into @stats; returns how many it has. */
static u32 msgpool_peers_fill(struct msgpool_pool *pool,
			      struct msgpool_peer_stat *stats, u32 max)
{
	struct msgpool_member *m;
	u32 n = 0;

	mutex_lock(&pool->members_lock);
	list_for_each_entry(m, &pool->members, node) {
		if (n < max)
			msgpool_peer_fill(pool, m, &stats[n]);
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
	    list.entry_size != sizeof(*stats) || list.reserved32 ||
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
	if (copy_to_user(u64_to_user_ptr(list.peers), stats,
			 min(nr, max) * sizeof(*stats)) ||
	    put_user(nr, &ulist->count))
		err = -EFAULT;
	kvfree(stats);
put:
	msgpool_pool_put(pool);
	return err;
}

static long msgpool_ioc_unlink(struct msgpool_unlink __user *uun)
{
	struct msgpool_unlink un;

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
