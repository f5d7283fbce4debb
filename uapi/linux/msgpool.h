/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * msgpool: a message slot pool behind /dev/msgpool.
 *
 * An open file of /dev/msgpool is a peer.  A peer creates or attaches to a
 * named pool, mmap()s it, and moves messages through it by 64-bit tokens:
 * the payload stays in place, only tokens travel between processes.
 *
 * ABI rules: every struct has a fixed size with explicit padding, pointers
 * travel as __u64, unknown flags and nonzero reserved fields are rejected
 * with -EINVAL, and a struct that grows gets a new ioctl number (its size
 * is part of the number) or, for batches, a larger op_size.
 */
#ifndef _UAPI_LINUX_MSGPOOL_H
#define _UAPI_LINUX_MSGPOOL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define MSGPOOL_ABI_VERSION	1

#define MSGPOOL_NAME_MAX	32	/* bytes in a pool name, NUL included */
#define MSGPOOL_MAX_CLASSES	8	/* size classes in one pool */
#define MSGPOOL_BATCH_MAX	1024	/* ops in one MSGPOOL_IOC_BATCH */
#define MSGPOOL_TYPE_ID_LEN	16	/* bytes of a pool's type fingerprint */

/* Memory classes, as reported by MSGPOOL_IOC_INFO. */
#define MSGPOOL_MEM_HOST	1	/* pages of host RAM owned by the kernel */

/* struct msgpool_class: one size class of a pool. */
struct msgpool_class {
	__u32 slot_size;	/* bytes of payload a slot holds */
	__u32 nr_slots;		/* slots of that size */
};

/* msgpool_attach.flags */
#define MSGPOOL_ATTACH_CREATE	(1U << 0)	/* create the pool if missing */
#define MSGPOOL_ATTACH_EXCL	(1U << 1)	/* with CREATE: fail if it exists */
/*
 * With CREATE, when this call creates the pool: a loan or store that finds
 * no free slot takes back the oldest published slot no reader has taken
 * (overwrite-oldest).  Clear: it waits or fails (backpressure).  Like the
 * classes, it is ignored when the pool exists; without CREATE: -EINVAL.
 */
#define MSGPOOL_ATTACH_OVERWRITE	(1U << 2)
#define MSGPOOL_ATTACH_FLAGS	(MSGPOOL_ATTACH_CREATE | MSGPOOL_ATTACH_EXCL | \
				 MSGPOOL_ATTACH_OVERWRITE)

/*
 * MSGPOOL_IOC_ATTACH: bind this peer to the pool called @name, creating it
 * from @classes when MSGPOOL_ATTACH_CREATE is set and it does not exist.
 * Classes are given in strictly increasing slot_size order.  @mode holds
 * permission bits (0777 at most) checked against the caller like SysV shm;
 * on a plain attach @mode, @nr_classes and @classes must be zero.
 * On return @map_size holds the bytes to mmap() and @created is 1 if this
 * call created the pool.
 *
 * @type_id is the fingerprint of the message type the peer reads and
 * writes, e.g. a hash of its definition; all zeros means untyped.  A pool
 * created with a type keeps it; an attach that names a type other than
 * the pool's (an untyped pool included) fails with -EPROTOTYPE.  An
 * untyped attach joins any pool.
 */
struct msgpool_attach {
	char name[MSGPOOL_NAME_MAX];	/* NUL-terminated, [A-Za-z0-9._-] */
	__u32 flags;			/* MSGPOOL_ATTACH_* */
	__u32 mode;			/* permission bits, CREATE only */
	__u32 nr_classes;		/* 1..MSGPOOL_MAX_CLASSES, CREATE only */
	__u32 created;			/* out: 1 if this call created it */
	struct msgpool_class classes[MSGPOOL_MAX_CLASSES];
	__u64 map_size;			/* out: bytes to mmap() */
	__u8 type_id[MSGPOOL_TYPE_ID_LEN];	/* in: type fingerprint */
	__u64 reserved[2];		/* must be zero */
};

/* Per-class figures in struct msgpool_info. */
struct msgpool_class_info {
	__u32 slot_size;	/* payload bytes of one slot */
	__u32 nr_slots;		/* capacity of the class */
	__u32 available;	/* free slots now */
	__u32 stride;		/* bytes between two slots in the mapping */
	__u64 offset;		/* mmap offset of slot 0 */
};

/*
 * MSGPOOL_IOC_INFO: the attached pool's shape and counters.
 * Counters are cumulative over the pool's life, for all peers.
 */
struct msgpool_info {
	__u32 abi_version;	/* out: MSGPOOL_ABI_VERSION */
	__u32 memory_class;	/* out: MSGPOOL_MEM_* */
	__u32 nr_classes;	/* out */
	__u32 peer_id;		/* out: this peer's id within the pool */
	__u64 capacity;		/* out: slots, all classes */
	__u64 available;	/* out: free slots, all classes */
	__u64 map_size;		/* out: bytes to mmap() */
	struct msgpool_class_info classes[MSGPOOL_MAX_CLASSES];
	__u64 nr_stores;	/* out: messages stored (store + commit) */
	__u64 nr_loans;		/* out: loans handed out */
	__u64 nr_borrows;	/* out: read and write borrows granted */
	__u64 nr_frees;		/* out: slots freed, reclaim included */
	__u64 nr_nobufs;	/* out: allocations refused, pool exhausted */
	__u64 nr_reclaimed;	/* out: slots reclaimed from closed peers */
	__u64 nr_poisoned;	/* out: slots poisoned by a lost write borrow */
	__u32 nr_readers;	/* out: peers subscribed now */
	__u32 pool_flags;	/* out: MSGPOOL_ATTACH_OVERWRITE if created so */
	__u64 seq;		/* out: sequence number of the last message */
	__u64 notify_gen;	/* out: moves on publish, mark read, unsubscribe */
	__u8 type_id[MSGPOOL_TYPE_ID_LEN];	/* out: zeros if untyped */
	__u64 reserved[4];	/* out: zero */
};

/* Operations, in struct msgpool_op.op. */
enum msgpool_opcode {
	MSGPOOL_OP_NOP = 1,	/* does nothing: the cost floor of an ioctl */
	MSGPOOL_OP_STORE,	/* copy @len bytes from @data into a new slot */
	MSGPOOL_OP_LOAN,	/* new slot of >= @len bytes, write-borrowed */
	MSGPOOL_OP_COMMIT,	/* end a loan: message of @len bytes, @tag */
	MSGPOOL_OP_DISCARD,	/* end a loan: slot goes back unpublished */
	MSGPOOL_OP_BORROW,	/* read borrow, or write with MSGPOOL_F_WRITE */
	MSGPOOL_OP_RELEASE,	/* end a borrow taken by this peer */
	MSGPOOL_OP_FREE,	/* return an unborrowed slot to the pool */
	MSGPOOL_OP_HEADER,	/* peek at the header, no borrow */
	MSGPOOL_OP_PUBLISH,	/* end a loan: publish to current readers */
	MSGPOOL_OP_TAKE,	/* read borrow of this reader's next message */
	MSGPOOL_OP_MARK_READ,	/* end a take; last reader frees the slot */
	MSGPOOL_OP_COUNT	/* first invalid opcode */
};

/* msgpool_op.flags */
#define MSGPOOL_F_NONBLOCK	(1U << 0)	/* -EBUSY / -EAGAIN, never sleep */
#define MSGPOOL_F_WAIT		(1U << 1)	/* STORE/LOAN: sleep for a slot */
#define MSGPOOL_F_WRITE		(1U << 2)	/* BORROW: exclusive, read_mut */
#define MSGPOOL_F_ADOPT		(1U << 3)	/* BORROW: become the slot's owner */
#define MSGPOOL_F_SETLEN	(1U << 4)	/* RELEASE of a write borrow: new @len */
#define MSGPOOL_F_ALL		(MSGPOOL_F_NONBLOCK | MSGPOOL_F_WAIT | \
				 MSGPOOL_F_WRITE | MSGPOOL_F_ADOPT | \
				 MSGPOOL_F_SETLEN)

/*
 * One operation on a slot.  The single-op ioctls and MSGPOOL_IOC_BATCH all
 * carry this struct, so an op built for one can go into the other.
 * Fields marked "in" are read for the ops that use them and must be zero
 * for the others; "out" fields are written by the kernel.  @len comes back
 * as the message length, or the slot size for LOAN.
 *
 * @seq numbers messages in one sequence per pool: each store, commit and
 * publish takes the next number, so a larger @seq is a later message.
 */
struct msgpool_op {
	__u32 op;		/* in: MSGPOOL_OP_*; single ioctls: 0 or theirs */
	__u32 flags;		/* in: MSGPOOL_F_* valid for @op */
	__s32 result;		/* out: 0 or -errno of this op */
	__u32 len;		/* in: STORE/LOAN/COMMIT/SETLEN; out: length */
	__u64 token;		/* in: all but STORE/LOAN; out: STORE/LOAN */
	__u64 data;		/* in: STORE: user pointer to @len bytes */
	__u64 offset;		/* out: mmap offset of the payload */
	__u32 capacity;		/* out: payload bytes the slot can hold */
	__u32 producer;		/* out: pid of the process that stored it */
	__u64 tag;		/* in: STORE/COMMIT; out: BORROW/HEADER */
	__u64 seq;		/* out: the message's sequence number */
	__u64 timestamp_ns;	/* out: CLOCK_MONOTONIC at store/commit */
	__u32 lost;		/* out: TAKE: messages overwritten before this
				 * reader took them, since its last take */
	__u32 reserved;		/* must be zero */
};

#define MSGPOOL_OP_SIZE_VER0	80	/* the first struct msgpool_op */

/*
 * MSGPOOL_IOC_BATCH: run @count ops from the array at @ops in order.
 * Each op's result lands in its @result; a failed op does not stop the
 * batch unless MSGPOOL_BATCH_STOP is set.  @op_size is
 * sizeof(struct msgpool_op) as the caller knows it, so the op can grow.
 * Returns 0 with @done ops processed, or -errno if the batch itself is
 * bad (then no op ran).
 */
#define MSGPOOL_BATCH_STOP	(1U << 0)	/* stop at the first failed op */
#define MSGPOOL_BATCH_FLAGS	MSGPOOL_BATCH_STOP

struct msgpool_batch_args {
	__u64 ops;		/* in: user pointer to struct msgpool_op[] */
	__u32 count;		/* in: 1..MSGPOOL_BATCH_MAX */
	__u32 op_size;		/* in: sizeof(struct msgpool_op) */
	__u32 flags;		/* in: MSGPOOL_BATCH_* */
	__u32 done;		/* out: ops processed */
	__u64 reserved;		/* must be zero */
};

/*
 * Pool statistics and removal.  These work on any open file of the device,
 * attached or not, and see only the pools of the caller's IPC namespace.
 */

/* One pool, as MSGPOOL_IOC_POOLS reports it.  Slot counts sum to capacity. */
struct msgpool_pool_stat {
	char name[MSGPOOL_NAME_MAX];
	__u32 id;		/* unique among the pools since module load */
	__u32 uid;		/* creator's euid, in the caller's user ns */
	__u32 gid;		/* creator's egid, in the caller's user ns */
	__u32 mode;		/* permission bits */
	__u32 nr_classes;
	__u32 nr_peers;		/* peers attached */
	struct msgpool_class classes[MSGPOOL_MAX_CLASSES];
	__u64 map_size;		/* bytes of the mapping */
	__u64 capacity;		/* slots, all classes */
	__u64 free;		/* slots on a free list */
	__u64 loaned;		/* slots being filled by their loaner */
	__u64 ready;		/* messages nobody borrows */
	__u64 borrowed;		/* messages under a read or write borrow */
	__u64 poisoned;		/* slots a write borrower died in */
	__u64 published;	/* messages published to subscribers */
	__u8 type_id[MSGPOOL_TYPE_ID_LEN];	/* zeros if untyped */
	__u64 reserved[2];	/* zero */
};

#define MSGPOOL_POOL_STAT_SIZE_VER0	216	/* the first msgpool_pool_stat */

/*
 * MSGPOOL_IOC_POOLS: list the pools of the caller's IPC namespace into the
 * array at @pools, of @count entries of @entry_size bytes.  On return
 * @count holds the number of pools: if it is larger than the array, only
 * the first entries were written; call again with a larger one.
 *
 * Entries grow the way struct msgpool_op does: @entry_size may be any size
 * from MSGPOOL_POOL_STAT_SIZE_VER0 to 4096.  The kernel writes the fields
 * it knows that fit, and zeros after them, so a newer caller reads zeros
 * from an older kernel and an older caller gets the fields it knows.
 * MSGPOOL_IOC_PEERS does the same with MSGPOOL_PEER_STAT_SIZE_VER0.
 */
struct msgpool_pool_list {
	__u64 pools;		/* in: user pointer to msgpool_pool_stat[] */
	__u32 count;		/* in: entries at @pools; out: pools */
	__u32 entry_size;	/* in: sizeof(struct msgpool_pool_stat) */
	__u64 reserved[2];	/* must be zero */
};

/* msgpool_peer_stat.flags */
#define MSGPOOL_PEER_RDONLY	(1U << 0)	/* opened O_RDONLY */

/* One peer of a pool, as MSGPOOL_IOC_PEERS reports it. */
struct msgpool_peer_stat {
	/* The process that attached, in the caller's pid namespace. */
	__u32 pid;		/* 0 if it is not visible there */
	__u32 peer_id;		/* as MSGPOOL_IOC_INFO reports it */
	__u32 flags;		/* MSGPOOL_PEER_* */
	__u32 pad;		/* zero */
	__u64 loans;		/* slots it is filling */
	__u64 reads;		/* read borrows it holds */
	__u64 writes;		/* write borrows it holds */
	__u64 owned;		/* slots it owns */
	__u64 reserved[2];	/* zero */
};

#define MSGPOOL_PEER_STAT_SIZE_VER0	64	/* the first msgpool_peer_stat */

/*
 * MSGPOOL_IOC_PEERS: the peers attached to the pool called @name in the
 * caller's IPC namespace (and, if @id is not 0, with that id), as
 * MSGPOOL_IOC_POOLS does for pools: @count in and out.
 */
struct msgpool_peer_list {
	char name[MSGPOOL_NAME_MAX];	/* in */
	__u32 id;		/* in: 0, or the pool's id */
	__u32 entry_size;	/* in: sizeof(struct msgpool_peer_stat) */
	__u64 peers;		/* in: user pointer to msgpool_peer_stat[] */
	__u32 count;		/* in: entries at @peers; out: peers */
	__u32 reserved32;	/* must be zero */
	__u64 reserved[2];	/* must be zero */
};

/*
 * MSGPOOL_IOC_UNLINK: remove the name @name (with id @id if not 0) from the
 * caller's IPC namespace, like ipcrm.  No new peer can attach to it; the
 * peers attached carry on and the pool is freed at their last close.
 * Allowed to the pool's owner and to CAP_SYS_ADMIN in the namespace.
 */
struct msgpool_unlink_args {
	char name[MSGPOOL_NAME_MAX];	/* in */
	__u32 id;		/* in: 0, or the pool's id */
	__u32 flags;		/* must be zero */
	__u64 reserved[2];	/* must be zero */
};

/*
 * MSGPOOL_IOC_SUBSCRIBE: make this peer a reader of its pool (one per
 * peer, MSGPOOL_MAX_READERS per pool).  Messages published from then on,
 * i.e. with a sequence number above @seq, are published to it.
 */
#define MSGPOOL_MAX_READERS	64

struct msgpool_subscribe_args {
	__u32 reader;		/* out: reader index, 0..MSGPOOL_MAX_READERS-1 */
	__u32 flags;		/* in: must be zero */
	__u64 seq;		/* out: sequence number of the last publish */
	__u64 reserved[2];	/* must be zero */
};

#define MSGPOOL_IOC_MAGIC	0xB8

#define MSGPOOL_IOC_ATTACH	_IOWR(MSGPOOL_IOC_MAGIC, 0x00, struct msgpool_attach)
#define MSGPOOL_IOC_INFO	_IOR(MSGPOOL_IOC_MAGIC, 0x01, struct msgpool_info)
#define MSGPOOL_IOC_BATCH	_IOWR(MSGPOOL_IOC_MAGIC, 0x02, \
				      struct msgpool_batch_args)
#define MSGPOOL_IOC_NOP		_IOWR(MSGPOOL_IOC_MAGIC, 0x10, struct msgpool_op)
#define MSGPOOL_IOC_STORE	_IOWR(MSGPOOL_IOC_MAGIC, 0x11, struct msgpool_op)
#define MSGPOOL_IOC_LOAN	_IOWR(MSGPOOL_IOC_MAGIC, 0x12, struct msgpool_op)
#define MSGPOOL_IOC_COMMIT	_IOWR(MSGPOOL_IOC_MAGIC, 0x13, struct msgpool_op)
#define MSGPOOL_IOC_DISCARD	_IOWR(MSGPOOL_IOC_MAGIC, 0x14, struct msgpool_op)
#define MSGPOOL_IOC_BORROW	_IOWR(MSGPOOL_IOC_MAGIC, 0x15, struct msgpool_op)
#define MSGPOOL_IOC_RELEASE	_IOWR(MSGPOOL_IOC_MAGIC, 0x16, struct msgpool_op)
#define MSGPOOL_IOC_FREE	_IOWR(MSGPOOL_IOC_MAGIC, 0x17, struct msgpool_op)
#define MSGPOOL_IOC_HEADER	_IOWR(MSGPOOL_IOC_MAGIC, 0x18, struct msgpool_op)
#define MSGPOOL_IOC_PUBLISH	_IOWR(MSGPOOL_IOC_MAGIC, 0x19, struct msgpool_op)
#define MSGPOOL_IOC_TAKE	_IOWR(MSGPOOL_IOC_MAGIC, 0x1a, struct msgpool_op)
#define MSGPOOL_IOC_MARK_READ	_IOWR(MSGPOOL_IOC_MAGIC, 0x1b, struct msgpool_op)
#define MSGPOOL_IOC_SUBSCRIBE	_IOWR(MSGPOOL_IOC_MAGIC, 0x20, \
				      struct msgpool_subscribe_args)
#define MSGPOOL_IOC_UNSUBSCRIBE	_IO(MSGPOOL_IOC_MAGIC, 0x21)
#define MSGPOOL_IOC_POOLS	_IOWR(MSGPOOL_IOC_MAGIC, 0x30, struct msgpool_pool_list)
#define MSGPOOL_IOC_PEERS	_IOWR(MSGPOOL_IOC_MAGIC, 0x31, struct msgpool_peer_list)
#define MSGPOOL_IOC_UNLINK	_IOW(MSGPOOL_IOC_MAGIC, 0x32, \
				      struct msgpool_unlink_args)

#endif /* _UAPI_LINUX_MSGPOOL_H */
