// SPDX-License-Identifier: GPL-2.0
/*
 * msgpool pools: named within an IPC namespace, permission-checked,
 * reference-counted, backed by pages charged to the creator's memory
 * cgroup and mapped by every peer.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/ipc_namespace.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/pid.h>
#include <linux/proc_ns.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/user_namespace.h>
#include <linux/vmalloc.h>

#include "msgpool_kcompat.h"
#include "msgpool_pool.h"

static ulong max_pool_bytes = SZ_256M;
module_param(max_pool_bytes, ulong, 0444);
MODULE_PARM_DESC(max_pool_bytes, "Payload bytes of one pool (default 256 MiB)");

static uint max_pool_slots = 262144;
module_param(max_pool_slots, uint, 0444);
MODULE_PARM_DESC(max_pool_slots, "Slots of one pool, all classes (default 262144)");

static uint max_pools = 64;
module_param(max_pools, uint, 0444);
MODULE_PARM_DESC(max_pools, "Pools at once (default 64)");

/* Writable by root: a quota may change while pools exist. */
static uint max_user_pools = 8;
module_param(max_user_pools, uint, 0644);
MODULE_PARM_DESC(max_user_pools, "Pools one user may create (default 8)");

static ulong max_user_bytes = SZ_512M;
module_param(max_user_bytes, ulong, 0644);
MODULE_PARM_DESC(max_user_bytes,
		 "Bytes of pools one user may create, metadata included (default 512 MiB)");

/*
 * The registry.  Its lock is only held for list work and permission
 * checks, never while a pool's memory is allocated or freed.
 */
static DEFINE_MUTEX(msgpool_lock);
static LIST_HEAD(msgpool_pools);
static unsigned int msgpool_nr_pools;	/* listed, plus creations under way */
static atomic_t msgpool_next_id = ATOMIC_INIT(0);

/*
 * What each user's pools cost, as RLIMIT_MSGQUEUE counts POSIX message
 * queues: keyed by the creator's kuid, so a new user namespace brings no
 * new quota.  Under msgpool_lock; an entry lives while its user has pools.
 */
struct msgpool_user {
	struct list_head node;
	kuid_t uid;
	u32 pools;
	u64 bytes;
};

static LIST_HEAD(msgpool_users);

/*
 * A failed allocation is the creator's -ENOMEM: do not OOM-kill others for
 * it, nor warn.  The pages are zeroed so no old data reaches the mapping.
 */
#define MSGPOOL_PAGE_GFP	(GFP_KERNEL_ACCOUNT | __GFP_ZERO | \
				 __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/*
 * Pools are keyed by the IPC namespace pointer, so a pool holds its
 * namespace: the pointer can then neither dangle nor be reused by a new
 * namespace while the pool exists.  put_ipc_ns() is not exported, but the
 * namespace's own nsfs operations are what /proc/PID/ns/ipc uses to drop
 * the reference it holds, and their ->put() is put_ipc_ns().
 */
static struct ipc_namespace *msgpool_ns(void)
{
	return current->nsproxy->ipc_ns;
}

static void msgpool_ns_put(struct ipc_namespace *ns)
{
	/* Without CONFIG_IPC_NS, get_ipc_ns() takes no reference either. */
	if (IS_ENABLED(CONFIG_IPC_NS))
		ns->ns.ops->put(&ns->ns);
}

/* The user namespace whose capabilities govern the pools of @ns. */
static struct user_namespace *msgpool_ns_user(struct ipc_namespace *ns)
{
	/* No namespace at all without SysV IPC and POSIX mqueues. */
	return ns ? ns->user_ns : &init_user_ns;
}

static bool msgpool_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* 1..31 allowed chars, NUL-terminated, the rest of the array zero. */
bool msgpool_name_valid(const char *name)
{
	size_t len = strnlen(name, MSGPOOL_NAME_MAX);
	size_t i;

	if (!len || len == MSGPOOL_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!msgpool_name_char(name[i]))
			return false;
	return !memchr_inv(name + len, 0, MSGPOOL_NAME_MAX - len);
}

/*
 * Kernel memory a pool of @at's shape takes: its pages, and the pool's
 * and every slot's metadata, which userspace never sees but pays for.
 */
static u64 msgpool_pool_cost(const struct msgpool_attach *at, u64 map_size)
{
	u64 slots = 0;
	u32 i;

	for (i = 0; i < at->nr_classes; i++)
		slots += at->classes[i].nr_slots;
	return map_size + slots * sizeof(struct mp_slot) +
	       (map_size >> PAGE_SHIFT) * sizeof(struct page *) +
	       sizeof(struct msgpool_pool);
}

static struct msgpool_user *msgpool_user_find(kuid_t uid)
{
	struct msgpool_user *u;

	lockdep_assert_held(&msgpool_lock);
	list_for_each_entry(u, &msgpool_users, node)
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/* Charge a new pool of @cost bytes to the caller: -EDQUOT over quota. */
static int msgpool_user_charge(kuid_t uid, u64 cost)
{
	struct msgpool_user *u = msgpool_user_find(uid);
	u64 pools = u ? u->pools : 0, bytes = u ? u->bytes : 0;

	if ((pools >= READ_ONCE(max_user_pools) ||
	     bytes + cost > READ_ONCE(max_user_bytes)) &&
	    !capable(CAP_SYS_RESOURCE))
		return -EDQUOT;
	if (!u) {
		u = kzalloc_obj(*u, GFP_KERNEL_ACCOUNT);
		if (!u)
			return -ENOMEM;
		u->uid = uid;
		list_add(&u->node, &msgpool_users);
	}
	u->pools++;
	u->bytes += cost;
	return 0;
}

static void msgpool_user_uncharge(kuid_t uid, u64 cost)
{
	struct msgpool_user *u = msgpool_user_find(uid);

	if (WARN_ON_ONCE(!u))
		return;
	u->pools--;
	u->bytes -= cost;
	if (!u->pools) {
		list_del(&u->node);
		kfree(u);
	}
}

/* A place among the pools, with its cost charged to the caller. */
static int msgpool_pool_reserve(u64 cost)
{
	int err;

	lockdep_assert_held(&msgpool_lock);
	if (msgpool_nr_pools >= max_pools && !capable(CAP_SYS_RESOURCE))
		return -ENOSPC;
	err = msgpool_user_charge(current_euid(), cost);
	if (!err)
		msgpool_nr_pools++;
	return err;
}

static void msgpool_pool_unreserve(kuid_t uid, u64 cost)
{
	lockdep_assert_held(&msgpool_lock);
	msgpool_user_uncharge(uid, cost);
	msgpool_nr_pools--;
}

/* A protected pool maps slots one by one: each must be whole pages. */
static bool msgpool_slots_paged(const struct msgpool_class *cls, u32 nr)
{
	u32 i;

	for (i = 0; i < nr; i++)
		if (!PAGE_ALIGNED(cls[i].slot_size))
			return false;
	return true;
}

static int msgpool_attach_check(const struct msgpool_attach *at, u64 *cost)
{
	u32 nr = at->nr_classes;
	u64 map_size;
	int err;

	if (!msgpool_name_valid(at->name) || at->reserved[0] ||
	    at->reserved[1] || (at->flags & ~MSGPOOL_ATTACH_FLAGS))
		return -EINVAL;
	if (!(at->flags & MSGPOOL_ATTACH_CREATE)) {
		if ((at->flags & (MSGPOOL_ATTACH_EXCL |
				  MSGPOOL_ATTACH_OVERWRITE |
				  MSGPOOL_ATTACH_PROTECTED)) ||
		    at->mode || nr || at->reader_limit ||
		    memchr_inv(at->classes, 0, sizeof(at->classes)))
			return -EINVAL;
		return 0;
	}
	if (at->id || at->mode > 0777 || nr > MSGPOOL_MAX_CLASSES ||
	    memchr_inv(&at->classes[nr], 0,
		       sizeof(at->classes) - nr * sizeof(at->classes[0])))
		return -EINVAL;
	if ((at->flags & MSGPOOL_ATTACH_PROTECTED) &&
	    !msgpool_slots_paged(at->classes, nr))
		return -EINVAL;
	err = mp_config_check(at->classes, nr, max_pool_bytes,
			      max_pool_slots, &map_size);
	if (!err)
		*cost = msgpool_pool_cost(at, map_size);
	return err;
}

/* The SysV shm rules: owner bits, else group bits, else other bits. */
static int msgpool_pool_permit(const struct msgpool_pool *pool, bool writable)
{
	unsigned int granted = pool->mode;
	unsigned int wanted = writable ? 06 : 04;

	if (uid_eq(current_euid(), pool->uid))
		granted >>= 6;
	else if (in_group_p(pool->gid))
		granted >>= 3;
	if ((wanted & ~granted & 07) &&
	    !ns_capable(msgpool_ns_user(pool->ns), CAP_IPC_OWNER))
		return -EACCES;
	return 0;
}

static struct msgpool_pool *msgpool_pool_find(struct ipc_namespace *ns,
					      const char *name)
{
	struct msgpool_pool *pool;

	lockdep_assert_held(&msgpool_lock);
	list_for_each_entry(pool, &msgpool_pools, node)
		if (pool->ns == ns && !strcmp(pool->name, name))
			return pool;
	return NULL;
}

/* An untyped attach joins any pool; a typed one only a pool of its type. */
static bool msgpool_type_match(const struct msgpool_pool *pool,
			       const struct msgpool_attach *at)
{
	return !memchr_inv(at->type_id, 0, sizeof(at->type_id)) ||
	       !memcmp(at->type_id, pool->type_id, sizeof(at->type_id));
}

/* Take a reference on @pool, found by name, for a new peer. */
static int msgpool_pool_join(struct msgpool_pool *pool,
			     const struct msgpool_attach *at, bool writable)
{
	int err;

	lockdep_assert_held(&msgpool_lock);
	if (at->id && at->id != pool->id)
		return -ENOENT;
	/* Asked to create: never join a name another user took first. */
	if ((at->flags & MSGPOOL_ATTACH_EXCL) ||
	    ((at->flags & MSGPOOL_ATTACH_CREATE) &&
	     !uid_eq(pool->uid, current_euid())))
		return -EEXIST;
	err = msgpool_pool_permit(pool, writable);
	if (!err && !msgpool_type_match(pool, at))
		err = -EPROTOTYPE;
	if (!err)
		kref_get(&pool->ref);
	return err;
}

static int msgpool_pool_alloc_pages(struct msgpool_pool *pool)
{
	unsigned long n = pool->core.map_size >> PAGE_SHIFT;
	struct page *page;

	pool->pages = kvcalloc(n, sizeof(*pool->pages), GFP_KERNEL_ACCOUNT);
	if (!pool->pages)
		return -ENOMEM;
	while (pool->nr_pages < n) {
		if (fatal_signal_pending(current))
			return -EINTR;
		page = alloc_page(MSGPOOL_PAGE_GFP);
		if (!page)
			return -ENOMEM;
		pool->pages[pool->nr_pages++] = page;
		cond_resched();
	}
	pool->vaddr = vmap(pool->pages, n, VM_MAP, PAGE_KERNEL);
	return pool->vaddr ? 0 : -ENOMEM;
}

/* Frees an unlisted pool.  A page still mapped or pinned lives on. */
static void msgpool_pool_free(struct msgpool_pool *pool)
{
	unsigned long i;

	if (pool->vaddr)
		vunmap(pool->vaddr);
	for (i = 0; i < pool->nr_pages; i++)
		put_page(pool->pages[i]);
	kvfree(pool->pages);
	mp_pool_destroy(&pool->core);
	msgpool_ns_put(pool->ns);
	mutex_destroy(&pool->members_lock);
	ida_destroy(&pool->peer_ids);
	kfree(pool);
}

static struct msgpool_pool *msgpool_pool_create(const struct msgpool_attach *at,
						u64 cost)
{
	struct msgpool_pool *pool;
	int err;

	pool = kzalloc_obj(*pool, GFP_KERNEL_ACCOUNT);
	if (!pool)
		return ERR_PTR(-ENOMEM);
	/* 0 names no pool: skip it when the counter wraps. */
	do {
		pool->id = atomic_inc_return(&msgpool_next_id);
	} while (!pool->id);
	err = mp_pool_init(&pool->core, at->classes, at->nr_classes);
	if (err) {
		kfree(pool);
		return ERR_PTR(err);
	}
	pool->ns = get_ipc_ns(msgpool_ns());
	mutex_init(&pool->members_lock);
	INIT_LIST_HEAD(&pool->members);
	ida_init(&pool->peer_ids);
	kref_init(&pool->ref);
	memcpy(pool->name, at->name, sizeof(pool->name));
	pool->uid = current_euid();
	pool->gid = current_egid();
	pool->cost = cost;
	pool->mode = at->mode;
	pool->core.overwrite = at->flags & MSGPOOL_ATTACH_OVERWRITE;
	pool->core.reader_limit = at->reader_limit;
	pool->protected = at->flags & MSGPOOL_ATTACH_PROTECTED;
	memcpy(pool->type_id, at->type_id, sizeof(pool->type_id));
	err = msgpool_pool_alloc_pages(pool);
	if (err) {
		msgpool_pool_free(pool);
		return ERR_PTR(err);
	}
	return pool;
}

/* List @fresh under its name, unless a racing attach created it first. */
static struct msgpool_pool *msgpool_pool_publish(struct msgpool_pool *fresh,
						 const struct msgpool_attach *at,
						 bool writable, bool *created)
{
	struct msgpool_pool *pool;
	int err = 0;

	mutex_lock(&msgpool_lock);
	pool = msgpool_pool_find(fresh->ns, fresh->name);
	if (pool) {
		msgpool_pool_unreserve(fresh->uid, fresh->cost);
		err = msgpool_pool_join(pool, at, writable);
	} else {
		list_add(&fresh->node, &msgpool_pools);
	}
	mutex_unlock(&msgpool_lock);

	*created = !pool;
	if (!pool)
		return fresh;
	msgpool_pool_free(fresh);
	return err ? ERR_PTR(err) : pool;
}

struct msgpool_pool *msgpool_pool_attach(const struct msgpool_attach *at,
					 bool writable, bool *created)
{
	struct msgpool_pool *pool;
	u64 cost = 0;
	int err;

	err = msgpool_attach_check(at, &cost);
	if (err)
		return ERR_PTR(err);

	mutex_lock(&msgpool_lock);
	pool = msgpool_pool_find(msgpool_ns(), at->name);
	if (pool)
		err = msgpool_pool_join(pool, at, writable);
	else if (!(at->flags & MSGPOOL_ATTACH_CREATE))
		err = -ENOENT;
	else
		err = msgpool_pool_reserve(cost);	/* pages come unlocked */
	mutex_unlock(&msgpool_lock);
	if (err)
		return ERR_PTR(err);
	*created = false;
	if (pool)
		return pool;

	pool = msgpool_pool_create(at, cost);
	if (IS_ERR(pool)) {
		mutex_lock(&msgpool_lock);
		msgpool_pool_unreserve(current_euid(), cost);
		mutex_unlock(&msgpool_lock);
		return pool;
	}
	return msgpool_pool_publish(pool, at, writable, created);
}

/* Called by kref_put_mutex() with msgpool_lock held; drops it. */
static void msgpool_pool_release(struct kref *ref)
{
	struct msgpool_pool *pool = container_of(ref, struct msgpool_pool, ref);

	/* An unlinked pool left the list, but not the count, earlier. */
	list_del(&pool->node);
	msgpool_pool_unreserve(pool->uid, pool->cost);
	mutex_unlock(&msgpool_lock);
	msgpool_pool_free(pool);
}

void msgpool_pool_put(struct msgpool_pool *pool)
{
	kref_put_mutex(&pool->ref, msgpool_pool_release, &msgpool_lock);
}

void msgpool_pool_enter(struct msgpool_pool *pool, struct msgpool_peer *peer)
{
	peer->pid = get_pid(task_tgid(current));
	mutex_lock(&pool->members_lock);
	list_add_tail(&peer->node, &pool->members);
	pool->nr_members++;
	mutex_unlock(&pool->members_lock);
}

/* Before the peer is reclaimed: the stats never look at a dying peer. */
void msgpool_pool_leave(struct msgpool_pool *pool, struct msgpool_peer *peer)
{
	mutex_lock(&pool->members_lock);
	list_del(&peer->node);
	pool->nr_members--;
	mutex_unlock(&pool->members_lock);
	put_pid(peer->pid);
}

int msgpool_pool_snapshot(struct msgpool_pool ***pools, u32 *nr)
{
	struct ipc_namespace *ns = msgpool_ns();
	struct msgpool_pool *pool, **arr = NULL;
	u32 n = 0;

	mutex_lock(&msgpool_lock);
	list_for_each_entry(pool, &msgpool_pools, node)
		n += pool->ns == ns;
	if (n) {
		arr = kvmalloc_array(n, sizeof(*arr), GFP_KERNEL);
		if (!arr) {
			mutex_unlock(&msgpool_lock);
			return -ENOMEM;
		}
	}
	n = 0;
	list_for_each_entry(pool, &msgpool_pools, node) {
		if (pool->ns != ns)
			continue;
		kref_get(&pool->ref);
		arr[n++] = pool;
	}
	mutex_unlock(&msgpool_lock);
	*pools = arr;
	*nr = n;
	return 0;
}

void msgpool_pool_put_all(struct msgpool_pool **pools, u32 nr)
{
	u32 i;

	for (i = 0; i < nr; i++)
		msgpool_pool_put(pools[i]);
	kvfree(pools);
}

static struct msgpool_pool *msgpool_pool_find_id(const char *name, u32 id)
{
	struct msgpool_pool *pool = msgpool_pool_find(msgpool_ns(), name);

	return pool && (!id || pool->id == id) ? pool : NULL;
}

struct msgpool_pool *msgpool_pool_lookup(const char *name, u32 id)
{
	struct msgpool_pool *pool;

	mutex_lock(&msgpool_lock);
	pool = msgpool_pool_find_id(name, id);
	if (pool)
		kref_get(&pool->ref);
	mutex_unlock(&msgpool_lock);
	return pool;
}

/* Like IPC_RMID: the creator, or CAP_SYS_ADMIN over the namespace. */
int msgpool_pool_unlink(const char *name, u32 id)
{
	struct msgpool_pool *pool;
	int err = 0;

	mutex_lock(&msgpool_lock);
	pool = msgpool_pool_find_id(name, id);
	if (!pool)
		err = -ENOENT;
	else if (!uid_eq(current_euid(), pool->uid) &&
		 !ns_capable(msgpool_ns_user(pool->ns), CAP_SYS_ADMIN))
		err = -EPERM;
	else
		list_del_init(&pool->node);
	mutex_unlock(&msgpool_lock);
	return err;
}

/*
 * The vma holds the file and the file holds the pool, so @pool outlives
 * every mapping; the page references taken here outlive the pool.
 */
static vm_fault_t msgpool_vm_fault(struct vm_fault *vmf)
{
	struct msgpool_pool *pool = vmf->vma->vm_private_data;

	if (vmf->pgoff >= pool->nr_pages)
		return VM_FAULT_SIGBUS;
	vmf->page = pool->pages[vmf->pgoff];
	get_page(vmf->page);
	return 0;
}

static const struct vm_operations_struct msgpool_vm_ops = {
	.fault = msgpool_vm_fault,
};

/*
 * A protected pool's pages go into page tables read-only, one at a time,
 * as they are touched; a write to one comes back through
 * msgpool_prot_mkwrite(), which lets only the slot's holder on.
 */
static vm_fault_t msgpool_prot_fault(struct vm_fault *vmf)
{
	struct msgpool_pool *pool = vmf->vma->vm_private_data;

	if (vmf->pgoff >= pool->nr_pages)
		return VM_FAULT_SIGBUS;
	/* vm_page_prot lacks write: the mapping asks for write notices. */
	return vmf_insert_pfn_prot(vmf->vma, vmf->address,
				   page_to_pfn(pool->pages[vmf->pgoff]),
				   vmf->vma->vm_page_prot);
}

/* The global index of the slot at mmap offset @offset. */
static int msgpool_slot_at(struct msgpool_pool *pool, u64 offset, u32 *slot)
{
	const struct mp_class *cls;
	u32 c;

	for (c = 0; c < pool->core.nr_classes; c++) {
		cls = &pool->core.classes[c];
		if (offset >= cls->offset &&
		    offset < cls->offset + (u64)cls->nr_slots * cls->stride) {
			*slot = cls->first +
				div_u64(offset - cls->offset, cls->stride);
			return 0;
		}
	}
	return -EINVAL;
}

static vm_fault_t msgpool_prot_mkwrite(struct vm_fault *vmf)
{
	struct msgpool_peer *peer = vmf->vma->vm_file->private_data;
	struct msgpool_pool *pool = vmf->vma->vm_private_data;
	u32 slot;

	if (msgpool_slot_at(pool, (u64)vmf->pgoff << PAGE_SHIFT, &slot) ||
	    !mp_peer_may_write(&peer->core, slot))
		return VM_FAULT_SIGBUS;
	return 0;
}

static const struct vm_operations_struct msgpool_prot_vm_ops = {
	.fault = msgpool_prot_fault,
	.pfn_mkwrite = msgpool_prot_mkwrite,
};

void msgpool_pool_unmap_slot(struct msgpool_pool *pool, u64 offset, u64 len)
{
	struct address_space *done = NULL;
	struct msgpool_peer *peer;

	mutex_lock(&pool->members_lock);
	list_for_each_entry(peer, &pool->members, node) {
		/* Other pools' pages at these offsets just fault back in. */
		if (peer->mapping != done)
			unmap_mapping_range(peer->mapping, offset, len, 1);
		done = peer->mapping;
	}
	mutex_unlock(&pool->members_lock);
}

int msgpool_pool_mmap(struct msgpool_pool *pool, struct vm_area_struct *vma,
		      bool writable)
{
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_pgoff + vma_pages(vma) > pool->nr_pages)
		return -EINVAL;
	/* do_mmap() enforces this for an O_RDONLY file; keep it explicit. */
	if (!writable) {
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		vm_flags_clear(vma, VM_MAYWRITE);
	}
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &msgpool_vm_ops;
	if (pool->protected) {
		vm_flags_set(vma, VM_PFNMAP);
		vma->vm_ops = &msgpool_prot_vm_ops;
	}
	vma->vm_private_data = pool;
	return 0;
}
