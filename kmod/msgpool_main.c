// SPDX-License-Identifier: GPL-2.0
/*
 * msgpool: /dev/msgpool, a message slot pool shared by processes.
 *
 * Each open file is a peer.  This file turns the ioctls into calls of the
 * core (msgpool_core.c); pools, their pages and mmap() are in
 * msgpool_pool.c.
 */
#include <linux/compat.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "msgpool_kcompat.h"
#include "msgpool_pool.h"
#include "msgpool_stat.h"

/* Inputs of struct msgpool_op an op reads; all others must be zero. */
#define MSGPOOL_IN_LEN		BIT(0)
#define MSGPOOL_IN_TOKEN	BIT(1)
#define MSGPOOL_IN_DATA		BIT(2)
#define MSGPOOL_IN_TAG		BIT(3)

struct msgpool_op_rule {
	unsigned int cmd;	/* its single-op ioctl */
	u32 flags;		/* MSGPOOL_F_* it accepts */
	u32 in;			/* MSGPOOL_IN_* it reads */
	bool out;		/* writes fields besides @result */
};

static const struct msgpool_op_rule msgpool_op_rules[MSGPOOL_OP_COUNT] = {
	[MSGPOOL_OP_NOP] = { MSGPOOL_IOC_NOP, 0, 0 },
	[MSGPOOL_OP_STORE] = {
		MSGPOOL_IOC_STORE, MSGPOOL_F_NONBLOCK | MSGPOOL_F_WAIT,
		MSGPOOL_IN_LEN | MSGPOOL_IN_DATA | MSGPOOL_IN_TAG, true,
	},
	[MSGPOOL_OP_LOAN] = {
		MSGPOOL_IOC_LOAN, MSGPOOL_F_NONBLOCK | MSGPOOL_F_WAIT,
		MSGPOOL_IN_LEN, true,
	},
	[MSGPOOL_OP_COMMIT] = {
		MSGPOOL_IOC_COMMIT, 0,
		MSGPOOL_IN_TOKEN | MSGPOOL_IN_LEN | MSGPOOL_IN_TAG, true,
	},
	[MSGPOOL_OP_DISCARD] = { MSGPOOL_IOC_DISCARD, 0, MSGPOOL_IN_TOKEN },
	[MSGPOOL_OP_BORROW] = {
		MSGPOOL_IOC_BORROW,
		MSGPOOL_F_NONBLOCK | MSGPOOL_F_WRITE | MSGPOOL_F_ADOPT,
		MSGPOOL_IN_TOKEN, true,
	},
	/* RELEASE reads @len only with MSGPOOL_F_SETLEN. */
	[MSGPOOL_OP_RELEASE] = {
		MSGPOOL_IOC_RELEASE, MSGPOOL_F_SETLEN, MSGPOOL_IN_TOKEN,
	},
	[MSGPOOL_OP_FREE] = { MSGPOOL_IOC_FREE, 0, MSGPOOL_IN_TOKEN },
	[MSGPOOL_OP_HEADER] = { MSGPOOL_IOC_HEADER, 0, MSGPOOL_IN_TOKEN, true },
	[MSGPOOL_OP_PUBLISH] = {
		MSGPOOL_IOC_PUBLISH, 0,
		MSGPOOL_IN_TOKEN | MSGPOOL_IN_LEN | MSGPOOL_IN_TAG, true,
	},
	[MSGPOOL_OP_TAKE] = { MSGPOOL_IOC_TAKE, 0, 0, true },
	[MSGPOOL_OP_MARK_READ] = {
		MSGPOOL_IOC_MARK_READ, 0, MSGPOOL_IN_TOKEN,
	},
};

static struct msgpool_pool *msgpool_peer_pool(struct msgpool_peer *peer)
{
	/* Pairs with msgpool_ioc_attach(): the peer is initialised. */
	return smp_load_acquire(&peer->pool);
}

static int msgpool_op_check(const struct msgpool_op *op, u32 code)
{
	const struct msgpool_op_rule *rule;
	u32 in;

	if (code < MSGPOOL_OP_NOP || code >= MSGPOOL_OP_COUNT)
		return -EINVAL;
	rule = &msgpool_op_rules[code];
	in = rule->in;
	if (op->flags & MSGPOOL_F_SETLEN)
		in |= MSGPOOL_IN_LEN;
	if (op->reserved || (op->flags & ~rule->flags))
		return -EINVAL;
	if ((!(in & MSGPOOL_IN_LEN) && op->len) ||
	    (!(in & MSGPOOL_IN_TOKEN) && op->token) ||
	    (!(in & MSGPOOL_IN_DATA) && op->data) ||
	    (!(in & MSGPOOL_IN_TAG) && op->tag))
		return -EINVAL;
	if (code == MSGPOOL_OP_STORE && !op->len)
		return -EINVAL;
	return 0;
}

static void msgpool_op_put_ref(struct msgpool_op *op, const struct mp_ref *ref)
{
	op->token = ref->token;
	op->offset = ref->offset;
	op->capacity = ref->capacity;
}

/*
 * A producer, kept as its pid in the initial namespace, as the caller's
 * pid namespace sees it: 0 if it is not visible there.  Only the initial
 * namespace sees a producer that has exited.
 */
static u32 msgpool_pid_in(u32 nr, struct pid_namespace *ns)
{
	struct pid *pid;
	u32 vnr = 0;

	if (ns == &init_pid_ns)
		return nr;
	rcu_read_lock();
	pid = find_pid_ns(nr, &init_pid_ns);
	if (pid)
		vnr = pid_nr_ns(pid, ns);
	rcu_read_unlock();
	return vnr;
}

static u32 msgpool_pid_here(u32 nr)
{
	return msgpool_pid_in(nr, task_active_pid_ns(current));
}

static void msgpool_op_put_hdr(struct msgpool_op *op,
			       const struct mp_msg_hdr *hdr)
{
	op->len = hdr->len;
	op->producer = msgpool_pid_here(hdr->producer);
	op->tag = hdr->tag;
	op->seq = hdr->seq;
	op->timestamp_ns = hdr->timestamp_ns;
}

/*
 * The header of a message this process finishes now: its pid in the
 * initial namespace, which every reader's namespace can translate, and
 * CLOCK_MONOTONIC as clock_gettime() reads it.
 */
static void msgpool_op_get_hdr(const struct msgpool_op *op,
			       struct mp_msg_hdr *hdr)
{
	hdr->len = op->len;
	hdr->producer = task_tgid_nr(current);
	hdr->tag = op->tag;
	hdr->seq = 0;
	hdr->timestamp_ns = ktime_get_ns();
}

/*
 * In a protected pool a write hold ends only once its slot is out of every
 * page table: sealed first, so that no fault maps it writable again, then
 * unmapped.  True if the caller must unseal it after the op (the hold may
 * be gone by then, or not if the op failed).
 */
static bool msgpool_write_seal(struct msgpool_peer *peer, u64 token)
{
	struct msgpool_pool *pool = peer->pool;
	struct mp_ref ref;

	if (!pool->protected ||
	    mp_write_seal(&pool->core, &peer->core, token, true, &ref))
		return false;
	msgpool_pool_unmap_slot(pool, ref.offset, PAGE_ALIGN(ref.capacity));
	return true;
}

static void msgpool_write_unseal(struct msgpool_peer *peer, u64 token)
{
	struct mp_ref ref;

	mp_write_seal(&peer->pool->core, &peer->core, token, false, &ref);
}

/* A loan, a copy from userspace into the slot, and a commit. */
static int msgpool_op_store(struct msgpool_peer *peer,
			    const struct msgpool_op *op, u32 flags,
			    struct mp_ref *ref, struct mp_msg_hdr *hdr)
{
	struct mp_pool *pool = &peer->pool->core;
	bool sealed;
	int err;

	err = mp_loan(pool, &peer->core, op->len, flags, ref);
	if (err)
		return err;
	/* The kernel writes it: no thread of the caller's may meanwhile. */
	sealed = msgpool_write_seal(peer, ref->token);
	if (copy_from_user((u8 *)peer->pool->vaddr + ref->offset,
			   u64_to_user_ptr(op->data), op->len)) {
		mp_discard(pool, &peer->core, ref->token);
		return -EFAULT;
	}
	msgpool_op_get_hdr(op, hdr);
	err = mp_commit(pool, &peer->core, ref->token, hdr);
	if (err && sealed)
		msgpool_write_unseal(peer, ref->token);
	return err;
}

static int msgpool_op_loan(struct msgpool_peer *peer, struct msgpool_op *op,
			   u32 flags)
{
	struct mp_ref ref;
	int err;

	err = mp_loan(&peer->pool->core, &peer->core, op->len, flags, &ref);
	if (err)
		return err;
	msgpool_op_put_ref(op, &ref);
	op->len = ref.capacity;
	return 0;
}

/* COMMIT or PUBLISH: the loan of @op->token becomes a message. */
static int msgpool_op_finish(struct msgpool_peer *peer, struct msgpool_op *op,
			     u32 code)
{
	struct mp_pool *pool = &peer->pool->core;
	struct mp_msg_hdr hdr;
	int err;

	msgpool_op_get_hdr(op, &hdr);
	if (code == MSGPOOL_OP_PUBLISH)
		err = mp_publish(pool, &peer->core, op->token, &hdr);
	else
		err = mp_commit(pool, &peer->core, op->token, &hdr);
	if (!err)
		msgpool_op_put_hdr(op, &hdr);
	return err;
}

/* The core call of one checked op. */
static int msgpool_op_dispatch(struct msgpool_peer *peer,
			       struct msgpool_op *op, u32 code, u32 flags)
{
	struct mp_pool *pool = &peer->pool->core;
	struct mp_msg_hdr hdr;
	struct mp_ref ref;
	int err;

	switch (code) {
	case MSGPOOL_OP_LOAN:
		return msgpool_op_loan(peer, op, flags);
	case MSGPOOL_OP_COMMIT:
	case MSGPOOL_OP_PUBLISH:
		return msgpool_op_finish(peer, op, code);
	case MSGPOOL_OP_DISCARD:
		return mp_discard(pool, &peer->core, op->token);
	case MSGPOOL_OP_RELEASE:
		return mp_release(pool, &peer->core, op->token, op->flags,
				  op->len);
	case MSGPOOL_OP_FREE:
		return mp_free(pool, &peer->core, op->token);
	case MSGPOOL_OP_MARK_READ:
		return mp_mark_read(pool, &peer->core, op->token);
	/* The rest hand out a message: its slot and its header. */
	case MSGPOOL_OP_STORE:
		err = msgpool_op_store(peer, op, flags, &ref, &hdr);
		break;
	case MSGPOOL_OP_BORROW:
		err = mp_borrow(pool, &peer->core, op->token, flags, &ref,
				&hdr);
		break;
	case MSGPOOL_OP_HEADER:
		err = mp_header(pool, op->token, &ref, &hdr);
		break;
	case MSGPOOL_OP_TAKE:
		err = mp_take(pool, &peer->core, &ref, &hdr, &op->lost);
		break;
	default:
		return 0;	/* MSGPOOL_OP_NOP */
	}
	if (err)
		return err;
	msgpool_op_put_ref(op, &ref);
	msgpool_op_put_hdr(op, &hdr);
	return 0;
}

/* The ops that may end a loan or a write borrow of @op->token. */
static bool msgpool_op_ends_write(u32 code)
{
	return code == MSGPOOL_OP_COMMIT || code == MSGPOOL_OP_DISCARD ||
	       code == MSGPOOL_OP_PUBLISH || code == MSGPOOL_OP_RELEASE;
}

/* Runs one checked op of an attached peer; out fields only on success. */
static int msgpool_op_run(struct file *file, struct msgpool_op *op, u32 code)
{
	struct msgpool_peer *peer = file->private_data;
	u32 flags = op->flags;
	bool sealed;
	int err;

	err = msgpool_op_check(op, code);
	if (err)
		return err;
	/* An O_NONBLOCK file never sleeps, for a slot or for a borrow. */
	if (file->f_flags & O_NONBLOCK)
		flags |= MSGPOOL_F_NONBLOCK;

	sealed = msgpool_op_ends_write(code) &&
		 msgpool_write_seal(peer, op->token);
	err = msgpool_op_dispatch(peer, op, code, flags);
	if (sealed)
		msgpool_write_unseal(peer, op->token);
	return err;
}

/*
 * The result of an op that succeeded.  An op without out fields writes
 * back @result alone: its other fields would come back as they went in,
 * and copying them costs a batch of small ops more than running them.
 */
static int msgpool_op_put(struct msgpool_op __user *uop,
			  struct msgpool_op *op, u32 code)
{
	op->result = 0;
	if (!msgpool_op_rules[code].out)
		return put_user(0, &uop->result);
	return copy_to_user(uop, op, sizeof(*op)) ? -EFAULT : 0;
}

static long msgpool_ioc_op(struct file *file, u32 code,
			   struct msgpool_op __user *uop)
{
	struct msgpool_op op;
	int err;

	if (!msgpool_peer_pool(file->private_data))
		return -ENOTCONN;
	if (copy_from_user(&op, uop, sizeof(op)))
		return -EFAULT;
	if (op.op && op.op != code)
		return -EINVAL;
	err = msgpool_op_run(file, &op, code);
	if (err)
		return err;
	return msgpool_op_put(uop, &op, code);
}

/*
 * Reads and runs one op of a batch.  Returns -EFAULT if the op could not
 * be read or its result not written back, else 0 with the op's own
 * result in *@result.
 */
static int msgpool_batch_op(struct file *file, struct msgpool_op __user *uop,
			    u32 op_size, int *result)
{
	struct msgpool_op op;
	int err;

	/* -E2BIG: bytes of a newer, larger op that this module does not know. */
	err = copy_struct_from_user(&op, sizeof(op), uop, op_size);
	if (err == -EFAULT)
		return err;
	*result = err ? -EINVAL : msgpool_op_run(file, &op, op.op);

	/* A signal ended a wait: a restart code is no result. */
	if (*result == -ERESTARTSYS)
		*result = -EINTR;
	if (*result)
		return put_user(*result, &uop->result);
	return msgpool_op_put(uop, &op, op.op);
}

/*
 * Ops are read one at a time, straight into the stack: a buffer for many
 * costs more to allocate (and, with init_on_alloc, to clear) than the ops
 * cost to run.  A fault on the op array ends the batch: -EFAULT, unless
 * some ops ran (b->done says how many).
 */
static int msgpool_batch_run(struct file *file, struct msgpool_batch_args *b)
{
	u8 __user *uops = u64_to_user_ptr(b->ops);
	int result, err;
	u32 i;

	for (i = 0; i < b->count; i++) {
		cond_resched();
		err = msgpool_batch_op(file, (void __user *)(uops +
				       (size_t)i * b->op_size), b->op_size,
				       &result);
		if (err)
			return err;
		b->done++;
		/* A signal is delivered on return: do not run on. */
		if (result == -EINTR ||
		    (result && (b->flags & MSGPOOL_BATCH_STOP)))
			return 0;
	}
	return 0;
}

static long msgpool_ioc_batch(struct file *file,
			      struct msgpool_batch_args __user *ub)
{
	struct msgpool_batch_args b;
	int err;

	if (!msgpool_peer_pool(file->private_data))
		return -ENOTCONN;
	if (copy_from_user(&b, ub, sizeof(b)))
		return -EFAULT;
	if (!b.count || b.count > MSGPOOL_BATCH_MAX ||
	    b.op_size < MSGPOOL_OP_SIZE_VER0 || b.op_size > SZ_4K ||
	    (b.flags & ~MSGPOOL_BATCH_FLAGS) || b.reserved)
		return -EINVAL;

	b.done = 0;
	err = msgpool_batch_run(file, &b);
	if (err && !b.done)
		return err;
	return put_user(b.done, &ub->done);
}

/* Cached slots are free too: mp_class_available() counts them. */
static void msgpool_info_class(struct mp_pool *core, u32 c,
			       struct msgpool_class_info *ci)
{
	const struct mp_class *cls = &core->classes[c];

	ci->slot_size = cls->slot_size;
	ci->nr_slots = cls->nr_slots;
	ci->available = mp_class_available(core, c);
	ci->stride = cls->stride;
	ci->offset = cls->offset;
}

/* Each figure is a moment's, the set need not be consistent. */
static void msgpool_info_fill(struct msgpool_pool *pool,
			      struct msgpool_info *info)
{
	struct mp_pool *core = &pool->core;
	u32 c;

	memset(info, 0, sizeof(*info));
	info->abi_version = MSGPOOL_ABI_VERSION;
	info->memory_class = MSGPOOL_MEM_HOST;
	info->nr_classes = core->nr_classes;
	info->capacity = core->capacity;
	info->map_size = core->map_size;
	for (c = 0; c < core->nr_classes; c++) {
		msgpool_info_class(core, c, &info->classes[c]);
		info->available += info->classes[c].available;
	}
	info->nr_stores = atomic64_read(&core->cnt.stores);
	info->nr_loans = atomic64_read(&core->cnt.loans);
	info->nr_borrows = atomic64_read(&core->cnt.borrows);
	info->nr_frees = atomic64_read(&core->cnt.frees);
	info->nr_nobufs = atomic64_read(&core->cnt.nobufs);
	info->nr_reclaimed = atomic64_read(&core->cnt.reclaimed);
	info->nr_poisoned = atomic64_read(&core->cnt.poisoned);
	info->nr_readers = hweight64(READ_ONCE(core->readers));
	info->pool_flags = (core->overwrite ? MSGPOOL_ATTACH_OVERWRITE : 0) |
			   (pool->protected ? MSGPOOL_ATTACH_PROTECTED : 0);
	info->seq = atomic64_read(&core->seq);
	info->notify_gen = atomic64_read(&core->notify_gen);
	memcpy(info->type_id, pool->type_id, sizeof(info->type_id));
	info->pool_id = pool->id;
	info->reader_limit = core->reader_limit;
}

static long msgpool_ioc_info(struct file *file,
			     struct msgpool_info __user *uinfo)
{
	struct msgpool_peer *peer = file->private_data;
	struct msgpool_pool *pool = msgpool_peer_pool(peer);
	struct msgpool_info info;

	if (!pool)
		return -ENOTCONN;
	msgpool_info_fill(pool, &info);
	info.peer_id = peer->core.id;
	return copy_to_user(uinfo, &info, sizeof(info)) ? -EFAULT : 0;
}

static long msgpool_ioc_subscribe(struct file *file,
				  struct msgpool_subscribe_args __user *usub)
{
	struct msgpool_peer *peer = file->private_data;
	struct msgpool_pool *pool = msgpool_peer_pool(peer);
	struct msgpool_subscribe_args sub;
	int err;

	if (!pool)
		return -ENOTCONN;
	if (copy_from_user(&sub, usub, sizeof(sub)))
		return -EFAULT;
	if (sub.flags || sub.reserved[0] || sub.reserved[1])
		return -EINVAL;
	err = mp_subscribe(&pool->core, &peer->core, &sub.reader, &sub.seq);
	if (err)
		return err;
	/* Not subscribed unless the caller learns its reader index. */
	if (copy_to_user(usub, &sub, sizeof(sub))) {
		mp_unsubscribe(&pool->core, &peer->core);
		return -EFAULT;
	}
	return 0;
}

/* UNSUBSCRIBE and RING_SYNC: a reader's calls without arguments. */
static long msgpool_ioc_reader(struct file *file, unsigned int cmd)
{
	struct msgpool_peer *peer = file->private_data;
	struct msgpool_pool *pool = msgpool_peer_pool(peer);

	if (!pool)
		return -ENOTCONN;
	if (cmd == MSGPOOL_IOC_RING_SYNC)
		return mp_ring_sync(&pool->core, &peer->core);
	return mp_unsubscribe(&pool->core, &peer->core);
}

/*
 * A reader's rings: two areas of vmalloc() memory charged to the caller's
 * memory cgroup, mapped page by page at fixed offsets of its file far
 * above any pool's pages.  The rx area is mapped read-only, the
 * completion area read-write, so only a file opened O_RDWR gets rings.
 */
#define MSGPOOL_RING_RX_PGOFF	((1ULL << 40) >> PAGE_SHIFT)
#define MSGPOOL_RING_COMP_PGOFF	((2ULL << 40) >> PAGE_SHIFT)

struct msgpool_ring {
	struct mp_ring core;
	struct pid_namespace *pid_ns;
};

/* An rx entry, filled as TAKE fills its op, in the reader's namespace. */
static void msgpool_ring_fill(struct mp_ring *core,
			      struct msgpool_ring_msg *msg,
			      const struct mp_ref *ref,
			      const struct mp_msg_hdr *hdr, u32 lost)
{
	struct msgpool_ring *ring = container_of(core, struct msgpool_ring,
						 core);

	WRITE_ONCE(msg->token, ref->token);
	WRITE_ONCE(msg->offset, ref->offset);
	WRITE_ONCE(msg->capacity, ref->capacity);
	WRITE_ONCE(msg->len, hdr->len);
	WRITE_ONCE(msg->lost, lost);
	WRITE_ONCE(msg->tag, hdr->tag);
	WRITE_ONCE(msg->seq, hdr->seq);
	WRITE_ONCE(msg->timestamp_ns, hdr->timestamp_ns);
	WRITE_ONCE(msg->producer, msgpool_pid_in(hdr->producer, ring->pid_ns));
}

static size_t msgpool_ring_rx_size(u32 entries)
{
	return PAGE_ALIGN(sizeof(struct msgpool_ring_rx) +
			  entries * sizeof(struct msgpool_ring_msg));
}

static size_t msgpool_ring_comp_size(u32 entries)
{
	return PAGE_ALIGN(sizeof(struct msgpool_ring_comp) +
			  entries * sizeof(u64));
}

static void msgpool_ring_free(struct msgpool_ring *ring)
{
	if (!ring)
		return;
	vfree(ring->core.rx);
	vfree(ring->core.comp);
	put_pid_ns(ring->pid_ns);
	kfree(ring);
}

static struct msgpool_ring *msgpool_ring_alloc(u32 entries)
{
	struct msgpool_ring *ring = kzalloc_obj(*ring, GFP_KERNEL_ACCOUNT);

	if (!ring)
		return NULL;
	ring->pid_ns = get_pid_ns(task_active_pid_ns(current));
	ring->core.entries = entries;
	ring->core.fill = msgpool_ring_fill;
	ring->core.rx = __vmalloc(msgpool_ring_rx_size(entries),
				  GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	ring->core.comp = __vmalloc(msgpool_ring_comp_size(entries),
				    GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!ring->core.rx || !ring->core.comp) {
		msgpool_ring_free(ring);
		return NULL;
	}
	/* The entries follow the heads, as the uapi header says. */
	ring->core.msgs = (void *)(ring->core.rx + 1);
	ring->core.tokens = (void *)(ring->core.comp + 1);
	return ring;
}

static int msgpool_ring_args_check(const struct msgpool_ring_args *args)
{
	u32 i;

	for (i = 0; i < ARRAY_SIZE(args->reserved); i++)
		if (args->reserved[i])
			return -EINVAL;
	if (args->flags)
		return -EINVAL;
	if (args->entries < MSGPOOL_RING_MIN ||
	    args->entries > MSGPOOL_RING_MAX ||
	    !is_power_of_2(args->entries))
		return -EINVAL;
	return 0;
}

static long msgpool_ioc_ring(struct file *file,
			     struct msgpool_ring_args __user *uargs)
{
	struct msgpool_peer *peer = file->private_data;
	struct msgpool_pool *pool = msgpool_peer_pool(peer);
	struct msgpool_ring_args args;
	struct msgpool_ring *ring;
	int err;

	if (!pool)
		return -ENOTCONN;
	/* Its completion ring could never be mapped writable: no ring. */
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (copy_from_user(&args, uargs, sizeof(args)))
		return -EFAULT;
	err = msgpool_ring_args_check(&args);
	if (err)
		return err;
	args.rx_offset = MSGPOOL_RING_RX_PGOFF << PAGE_SHIFT;
	args.rx_size = msgpool_ring_rx_size(args.entries);
	args.comp_offset = MSGPOOL_RING_COMP_PGOFF << PAGE_SHIFT;
	args.comp_size = msgpool_ring_comp_size(args.entries);
	/* Before the rings exist, so that a fault leaves none behind. */
	if (copy_to_user(uargs, &args, sizeof(args)))
		return -EFAULT;

	err = mutex_lock_killable(&peer->attach_lock);
	if (err)
		return err;
	if (peer->ring) {
		err = -EALREADY;
		goto out;
	}
	ring = msgpool_ring_alloc(args.entries);
	if (!ring) {
		err = -ENOMEM;
		goto out;
	}
	err = mp_ring_attach(&pool->core, &peer->core, &ring->core);
	if (err) {
		msgpool_ring_free(ring);
		goto out;
	}
	/* mmap() finds it initialised, see msgpool_ring_mmap(). */
	smp_store_release(&peer->ring, ring);
out:
	mutex_unlock(&peer->attach_lock);
	return err;
}

/* Maps the pages of @area, @size bytes, into @vma from its start. */
static int msgpool_ring_map(struct vm_area_struct *vma, void *area,
			    size_t size)
{
	unsigned long addr;
	int err;

	if (vma->vm_end - vma->vm_start > size)
		return -EINVAL;
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	for (addr = vma->vm_start; addr < vma->vm_end; addr += PAGE_SIZE) {
		err = vm_insert_page(vma, addr, vmalloc_to_page(area));
		if (err)
			return err;
		area += PAGE_SIZE;
	}
	return 0;
}

static int msgpool_ring_mmap(struct msgpool_peer *peer,
			     struct vm_area_struct *vma)
{
	struct msgpool_ring *ring;

	/* Set up before it was set, see msgpool_ioc_ring(). */
	ring = smp_load_acquire(&peer->ring);
	if (!ring || !(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_pgoff == MSGPOOL_RING_COMP_PGOFF)
		return msgpool_ring_map(vma, ring->core.comp,
					msgpool_ring_comp_size(ring->core.entries));
	if (vma->vm_pgoff != MSGPOOL_RING_RX_PGOFF)
		return -EINVAL;
	/* The kernel's ring: the reader only reads it. */
	if (vma->vm_flags & VM_WRITE)
		return -EACCES;
	vm_flags_clear(vma, VM_MAYWRITE);
	return msgpool_ring_map(vma, ring->core.rx,
				msgpool_ring_rx_size(ring->core.entries));
}

static long msgpool_ioc_attach(struct file *file,
			       struct msgpool_attach __user *uat)
{
	struct msgpool_peer *peer = file->private_data;
	bool writable = file->f_mode & FMODE_WRITE;
	struct msgpool_attach at;
	struct msgpool_pool *pool;
	bool created;
	int err, id;

	if (copy_from_user(&at, uat, sizeof(at)))
		return -EFAULT;
	err = mutex_lock_killable(&peer->attach_lock);
	if (err)
		return err;
	if (peer->pool) {
		err = -EISCONN;
		goto out;
	}
	pool = msgpool_pool_attach(&at, writable, &created);
	if (IS_ERR(pool)) {
		err = PTR_ERR(pool);
		goto out;
	}
	/* Slots name their peers by id: none is reused while it lives. */
	id = ida_alloc_range(&pool->peer_ids, 1, U32_MAX >> 1, GFP_KERNEL);
	if (id < 0) {
		msgpool_pool_put(pool);
		err = id;
		goto out;
	}
	at.created = created;
	at.map_size = pool->core.map_size;
	/* Not attached yet, so a fault here undoes it all. */
	if (copy_to_user(uat, &at, sizeof(at))) {
		ida_free(&pool->peer_ids, id);
		msgpool_pool_put(pool);
		err = -EFAULT;
		goto out;
	}
	mp_peer_init(&peer->core, id, writable);
	peer->mapping = file->f_mapping;
	msgpool_pool_enter(pool, peer);
	/* Publish the peer initialised, see msgpool_peer_pool(). */
	smp_store_release(&peer->pool, pool);
out:
	mutex_unlock(&peer->attach_lock);
	return err;
}

static const struct msgpool_op_rule *msgpool_cmd_rule(unsigned int cmd)
{
	u32 code;

	for (code = MSGPOOL_OP_NOP; code < MSGPOOL_OP_COUNT; code++)
		if (msgpool_op_rules[code].cmd == cmd)
			return &msgpool_op_rules[code];
	return NULL;
}

static long msgpool_fop_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	const struct msgpool_op_rule *rule;

	switch (cmd) {
	case MSGPOOL_IOC_ATTACH:
		return msgpool_ioc_attach(file, uarg);
	case MSGPOOL_IOC_INFO:
		return msgpool_ioc_info(file, uarg);
	case MSGPOOL_IOC_BATCH:
		return msgpool_ioc_batch(file, uarg);
	case MSGPOOL_IOC_SUBSCRIBE:
		return msgpool_ioc_subscribe(file, uarg);
	case MSGPOOL_IOC_UNSUBSCRIBE:
	case MSGPOOL_IOC_RING_SYNC:
		return msgpool_ioc_reader(file, cmd);
	case MSGPOOL_IOC_RING:
		return msgpool_ioc_ring(file, uarg);
	case MSGPOOL_IOC_POOLS:
	case MSGPOOL_IOC_PEERS:
	case MSGPOOL_IOC_UNLINK:
		return msgpool_stat_ioctl(cmd, uarg);
	}
	rule = msgpool_cmd_rule(cmd);
	if (!rule)
		return -ENOTTY;
	return msgpool_ioc_op(file, rule - msgpool_op_rules, uarg);
}

static int msgpool_fop_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct msgpool_pool *pool = msgpool_peer_pool(file->private_data);

	if (!pool)
		return -ENOTCONN;
	if (vma->vm_pgoff >= MSGPOOL_RING_RX_PGOFF)
		return msgpool_ring_mmap(file->private_data, vma);
	return msgpool_pool_mmap(pool, vma, file->f_mode & FMODE_WRITE);
}

/*
 * POLLIN: this peer's reader has a message to take, or unread in its rx
 * ring (poll drains the rings and fills them first); POLLOUT: a loan
 * would find a slot.  poll_wait() comes first, so a publish or free after
 * the tests below still wakes the caller.  Not attached: POLLERR.
 */
static __poll_t msgpool_fop_poll(struct file *file, poll_table *wait)
{
	struct msgpool_peer *peer = file->private_data;
	struct msgpool_pool *pool = msgpool_peer_pool(peer);
	bool want_slot = (file->f_mode & FMODE_WRITE) &&
			 (poll_requested_events(wait) & EPOLLOUT);
	__poll_t mask = 0;

	if (!pool)
		return EPOLLERR;
	poll_wait(file, &pool->core.wq, wait);
	/* Queued before the tests, as wq_has_sleeper() in mp_wake() expects. */
	smp_mb();
	/* The rings first: a drain may free slots, a fill take messages. */
	if (mp_ring_poll(&pool->core, &peer->core, want_slot) ||
	    mp_take_ready(&pool->core, &peer->core))
		mask |= EPOLLIN | EPOLLRDNORM;
	if ((file->f_mode & FMODE_WRITE) && mp_loan_ready(&pool->core))
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

static int msgpool_fop_open(struct inode *inode, struct file *file)
{
	struct msgpool_peer *peer;

	peer = kzalloc_obj(*peer, GFP_KERNEL_ACCOUNT);
	if (!peer)
		return -ENOMEM;
	mutex_init(&peer->attach_lock);
	file->private_data = peer;
	return nonseekable_open(inode, file);
}

/* Undo what the peer holds, then let go of its pool. */
static int msgpool_fop_release(struct inode *inode, struct file *file)
{
	struct msgpool_peer *peer = file->private_data;

	if (peer->pool) {
		msgpool_pool_leave(peer->pool, peer);
		mp_peer_reclaim(&peer->pool->core, &peer->core);
		ida_free(&peer->pool->peer_ids, peer->core.id);
		msgpool_pool_put(peer->pool);
	}
	/* Detached by the reclaim's unsubscribe, and no longer mapped. */
	msgpool_ring_free(peer->ring);
	mutex_destroy(&peer->attach_lock);
	kfree(peer);
	return 0;
}

static const struct file_operations msgpool_fops = {
	.owner		= THIS_MODULE,
	.open		= msgpool_fop_open,
	.release	= msgpool_fop_release,
	.unlocked_ioctl	= msgpool_fop_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= msgpool_fop_mmap,
	.poll		= msgpool_fop_poll,
};

static struct miscdevice msgpool_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "msgpool",
	.fops	= &msgpool_fops,
	/* udev/60-msgpool.rules opens it to the msgpool group. */
	.mode	= 0600,
};

module_misc_device(msgpool_dev);

MODULE_DESCRIPTION("msgpool: a zero-copy message slot pool for processes");
MODULE_LICENSE("GPL");
MODULE_VERSION(MSGPOOL_VERSION);
