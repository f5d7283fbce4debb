/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * msgpool: a message slot pool behind /dev/msgpool.
 *
 * This header is the ABI; man 4 msgpool is its reference for users, with
 * the errors of every call.  Documentation/msgpool.rst explains the design.
 */
#ifndef _UAPI_LINUX_MSGPOOL_H
#define _UAPI_LINUX_MSGPOOL_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * DOC: msgpool ABI
 *
 * An open file of /dev/msgpool is a peer.  A peer creates or attaches to a
 * named pool, mmap()s it, and moves messages through it by 64-bit tokens:
 * the payload stays in place, only tokens travel between processes.
 *
 * A token is opaque: the kernel enciphers the slot and its generation
 * under a random key of the pool, and userspace only passes tokens back.
 * The kernel refuses a token that is stale (its message was freed),
 * of another pool or made up: such a token names a live message with a
 * probability of at most 2^-(64 - ceil(log2(capacity))), 2^-46 for the
 * largest pool.  A token value never names a second message of its pool.
 *
 * Every struct has a fixed size with explicit padding, pointers travel as
 * __u64, unknown flags and nonzero reserved fields are rejected with
 * -EINVAL.  A struct passed to an ioctl grows with a new ioctl number (the
 * size is part of it).  Arrays of structs name their entry size instead
 * (&msgpool_batch_args.op_size, &msgpool_pool_list.entry_size,
 * &msgpool_peer_list.entry_size), so their entries grow in place: see
 * MSGPOOL_OP_SIZE_VER0.
 */

#define MSGPOOL_ABI_VERSION	1

#define MSGPOOL_NAME_MAX	32	/* bytes in a pool name, NUL included */
#define MSGPOOL_MAX_CLASSES	8	/* size classes in one pool */
#define MSGPOOL_BATCH_MAX	1024	/* ops in one MSGPOOL_IOC_BATCH */
#define MSGPOOL_MAX_READERS	64	/* subscribed readers in one pool */
#define MSGPOOL_TYPE_ID_LEN	16	/* bytes of a pool's type fingerprint */

/* Memory classes, as reported by MSGPOOL_IOC_INFO. */
#define MSGPOOL_MEM_HOST	1	/* pages of host RAM owned by the kernel */

/**
 * struct msgpool_class - one size class of a pool
 * @slot_size: bytes of payload a slot holds
 * @nr_slots: slots of that size
 */
struct msgpool_class {
	__u32 slot_size;
	__u32 nr_slots;
};

/* msgpool_attach.flags */
#define MSGPOOL_ATTACH_CREATE	(1U << 0)	/* create the pool if missing */
#define MSGPOOL_ATTACH_EXCL	(1U << 1)	/* with CREATE: fail if it exists */
#define MSGPOOL_ATTACH_OVERWRITE (1U << 2)	/* with CREATE: overwrite-oldest */
#define MSGPOOL_ATTACH_PROTECTED (1U << 3)	/* with CREATE: per-holder writes */
#define MSGPOOL_ATTACH_FLAGS	(MSGPOOL_ATTACH_CREATE | MSGPOOL_ATTACH_EXCL | \
				 MSGPOOL_ATTACH_OVERWRITE | \
				 MSGPOOL_ATTACH_PROTECTED)

/**
 * struct msgpool_attach - argument of MSGPOOL_IOC_ATTACH
 * @name: the pool's name, NUL-terminated, 1 to 31 bytes of [A-Za-z0-9._-]
 * @flags: MSGPOOL_ATTACH_*.  With CREATE the call creates the pool when
 *	the name is free; with EXCL too it fails if it is not.  OVERWRITE
 *	and PROTECTED shape the pool this call creates: overwrite-oldest,
 *	and slots of whole pages writable only to the peer that holds them.
 * @mode: permission bits (0777 at most), checked against each attaching
 *	caller like SysV shm; CREATE only
 * @nr_classes: 1..MSGPOOL_MAX_CLASSES; CREATE only
 * @created: out: 1 if this call created the pool, else 0
 * @classes: the size classes in strictly increasing @slot_size order;
 *	CREATE only, entries past @nr_classes zero
 * @map_size: out: bytes to mmap()
 * @type_id: fingerprint of the message type the peer reads and writes,
 *	e.g. a hash of its definition; all zeros is untyped and joins any
 *	pool, any other must be the pool's (-EPROTOTYPE)
 * @id: 0, or the id of the pool to join (&msgpool_info.pool_id): a pool
 *	that merely has the same name fails with -ENOENT.  Not with CREATE.
 * @reader_limit: CREATE only: how many published messages a reader may
 *	leave untaken (a publish past it drops the oldest, see
 *	&msgpool_op.lost), and how many it may hold taken (-EBUSY); 0: none
 * @reserved: must be zero
 *
 * Fields marked CREATE only must be zero without MSGPOOL_ATTACH_CREATE,
 * and are ignored when the pool exists.  With CREATE, an existing pool is
 * joined only if it is the caller's own (same euid), else -EEXIST.
 */
struct msgpool_attach {
	char name[MSGPOOL_NAME_MAX];
	__u32 flags;
	__u32 mode;
	__u32 nr_classes;
	__u32 created;
	struct msgpool_class classes[MSGPOOL_MAX_CLASSES];
	__u64 map_size;
	__u8 type_id[MSGPOOL_TYPE_ID_LEN];
	__u32 id;
	__u32 reader_limit;
	__u64 reserved[2];
};

/**
 * struct msgpool_class_info - one size class in &struct msgpool_info
 * @slot_size: payload bytes of one slot
 * @nr_slots: slots of the class
 * @available: its free slots now
 * @stride: bytes between two slots in the mapping
 * @offset: mmap offset of its slot 0
 */
struct msgpool_class_info {
	__u32 slot_size;
	__u32 nr_slots;
	__u32 available;
	__u32 stride;
	__u64 offset;
};

/**
 * struct msgpool_info - out argument of MSGPOOL_IOC_INFO
 * @abi_version: MSGPOOL_ABI_VERSION
 * @memory_class: MSGPOOL_MEM_*
 * @nr_classes: size classes of the pool
 * @peer_id: this peer's id within the pool
 * @capacity: slots, all classes
 * @available: free slots, all classes
 * @map_size: bytes to mmap()
 * @classes: the first @nr_classes entries describe the classes
 * @nr_stores: messages finished: stores, commits and publishes
 * @nr_loans: slots handed out (a store counts as a loan)
 * @nr_borrows: read and write borrows granted, takes included
 * @nr_frees: slots put back on a free list, reclaim included
 * @nr_nobufs: allocations refused because no slot was free
 * @nr_reclaimed: slots reclaimed from closed peers
 * @nr_poisoned: slots poisoned by a peer that died with a write borrow
 * @nr_readers: peers subscribed now
 * @pool_flags: MSGPOOL_ATTACH_OVERWRITE and MSGPOOL_ATTACH_PROTECTED, as
 *	the pool was created
 * @seq: sequence number of the pool's last message, 0 before the first
 * @notify_gen: moves on every publish, mark read and unsubscribe
 * @type_id: the pool's type fingerprint, zeros if untyped
 * @pool_id: the pool's id, never 0; ids count the pools created since the
 *	module was loaded, wrapping after 2^32 - 1
 * @reader_limit: as the creator set it, 0 for none
 * @reserved: zero
 *
 * Counters are cumulative over the pool's life, for all its peers.  Each
 * figure is read at one moment; together they are not a snapshot.
 */
struct msgpool_info {
	__u32 abi_version;
	__u32 memory_class;
	__u32 nr_classes;
	__u32 peer_id;
	__u64 capacity;
	__u64 available;
	__u64 map_size;
	struct msgpool_class_info classes[MSGPOOL_MAX_CLASSES];
	__u64 nr_stores;
	__u64 nr_loans;
	__u64 nr_borrows;
	__u64 nr_frees;
	__u64 nr_nobufs;
	__u64 nr_reclaimed;
	__u64 nr_poisoned;
	__u32 nr_readers;
	__u32 pool_flags;
	__u64 seq;
	__u64 notify_gen;
	__u8 type_id[MSGPOOL_TYPE_ID_LEN];
	__u32 pool_id;
	__u32 reader_limit;
	__u64 reserved[3];
};

/**
 * enum msgpool_opcode - operations, in &msgpool_op.op
 * @MSGPOOL_OP_NOP: does nothing: the cost floor of an ioctl
 * @MSGPOOL_OP_STORE: copy @len bytes from @data into a new slot
 * @MSGPOOL_OP_LOAN: a new slot of at least @len bytes, write-borrowed
 * @MSGPOOL_OP_COMMIT: end a loan: a message of @len bytes with @tag
 * @MSGPOOL_OP_DISCARD: end a loan: the slot goes back unpublished
 * @MSGPOOL_OP_BORROW: read borrow, or write borrow with MSGPOOL_F_WRITE
 * @MSGPOOL_OP_RELEASE: end a borrow taken by this peer
 * @MSGPOOL_OP_FREE: return an unborrowed message's slot to the pool
 * @MSGPOOL_OP_HEADER: the message's header, no borrow
 * @MSGPOOL_OP_PUBLISH: end a loan: publish to the readers subscribed now
 * @MSGPOOL_OP_TAKE: read borrow of this reader's oldest untaken message
 * @MSGPOOL_OP_MARK_READ: end a take; the last reader frees the slot
 * @MSGPOOL_OP_COUNT: the first invalid opcode
 */
enum msgpool_opcode {
	MSGPOOL_OP_NOP = 1,
	MSGPOOL_OP_STORE,
	MSGPOOL_OP_LOAN,
	MSGPOOL_OP_COMMIT,
	MSGPOOL_OP_DISCARD,
	MSGPOOL_OP_BORROW,
	MSGPOOL_OP_RELEASE,
	MSGPOOL_OP_FREE,
	MSGPOOL_OP_HEADER,
	MSGPOOL_OP_PUBLISH,
	MSGPOOL_OP_TAKE,
	MSGPOOL_OP_MARK_READ,
	MSGPOOL_OP_COUNT
};

/* msgpool_op.flags */
#define MSGPOOL_F_NONBLOCK	(1U << 0)	/* -EBUSY / -EAGAIN, never sleep */
#define MSGPOOL_F_WAIT		(1U << 1)	/* STORE/LOAN: sleep for a slot */
#define MSGPOOL_F_WRITE		(1U << 2)	/* BORROW: exclusive, read_mut */
#define MSGPOOL_F_ADOPT		(1U << 3)	/* BORROW: become the slot's owner */
#define MSGPOOL_F_SETLEN	(1U << 4)	/* RELEASE of a write borrow: new @len */

/**
 * struct msgpool_op - one operation on a slot
 * @op: MSGPOOL_OP_*; in a single-op ioctl 0 or that ioctl's own
 * @flags: MSGPOOL_F_* valid for @op
 * @result: out: 0 or -errno of this op (in a batch)
 * @len: in: STORE, LOAN, COMMIT, PUBLISH, RELEASE with MSGPOOL_F_SETLEN;
 *	out: the message's length, or the slot's size for LOAN
 * @token: in: every op but STORE, LOAN and TAKE; out: the message's
 * @data: in: STORE: user pointer to @len bytes
 * @offset: out: mmap offset of the payload
 * @capacity: out: payload bytes the slot can hold
 * @producer: out: pid of the process that finished the message, as the
 *	caller's pid namespace sees it; 0 if it is not visible there
 * @tag: in: STORE, COMMIT, PUBLISH; out: the message's
 * @seq: out: the message's number in its pool's one sequence, which
 *	every store, commit and publish advances
 * @timestamp_ns: out: CLOCK_MONOTONIC when the message was finished
 * @lost: out: TAKE: messages an overwrite dropped before this reader took
 *	them, since its previous take
 * @reserved: must be zero
 *
 * The single-op ioctls and MSGPOOL_IOC_BATCH all carry this struct, so an
 * op built for one can go into the other.  An input an op does not read
 * must be zero; out fields are written only when the op succeeds.
 */
struct msgpool_op {
	__u32 op;
	__u32 flags;
	__s32 result;
	__u32 len;
	__u64 token;
	__u64 data;
	__u64 offset;
	__u32 capacity;
	__u32 producer;
	__u64 tag;
	__u64 seq;
	__u64 timestamp_ns;
	__u32 lost;
	__u32 reserved;
};

/*
 * Sizes of the first release of the structs that arrays carry: an array
 * entry may be this size or larger.  The kernel reads what it knows of a
 * larger entry and requires the rest to be zero (-E2BIG, which a batch
 * reports as the op's -EINVAL); it writes what it knows and zeros the
 * rest.  A caller built against an older header gets the fields it knows.
 */
#define MSGPOOL_OP_SIZE_VER0		80
#define MSGPOOL_POOL_STAT_SIZE_VER0	216
#define MSGPOOL_PEER_STAT_SIZE_VER0	64

#define MSGPOOL_BATCH_STOP	(1U << 0)	/* stop at the first failed op */
#define MSGPOOL_BATCH_FLAGS	MSGPOOL_BATCH_STOP

/**
 * struct msgpool_batch_args - argument of MSGPOOL_IOC_BATCH
 * @ops: user pointer to an array of &struct msgpool_op
 * @count: ops in the array, 1..MSGPOOL_BATCH_MAX
 * @op_size: bytes of one entry: sizeof(struct msgpool_op) as the caller
 *	knows it, MSGPOOL_OP_SIZE_VER0 to 4096
 * @flags: MSGPOOL_BATCH_*
 * @done: out: ops processed
 * @reserved: must be zero
 *
 * The ops run in order; each op's result lands in its own @result, and a
 * failed op ends the batch only with MSGPOOL_BATCH_STOP.  The ioctl
 * returns 0 with @done set, or -errno if the batch itself is bad (then no
 * op ran).
 */
struct msgpool_batch_args {
	__u64 ops;
	__u32 count;
	__u32 op_size;
	__u32 flags;
	__u32 done;
	__u64 reserved;
};

/**
 * struct msgpool_subscribe_args - argument of MSGPOOL_IOC_SUBSCRIBE
 * @reader: out: reader index, 0..MSGPOOL_MAX_READERS-1
 * @flags: must be zero
 * @seq: out: the pool's sequence number now; the messages published to
 *	this reader are those with a larger one
 * @reserved: must be zero
 */
struct msgpool_subscribe_args {
	__u32 reader;
	__u32 flags;
	__u64 seq;
	__u64 reserved[2];
};

/**
 * struct msgpool_pool_stat - one pool, as MSGPOOL_IOC_POOLS reports it
 * @name: the pool's name
 * @id: as &msgpool_info.pool_id
 * @uid: creator's euid, in the caller's user namespace
 * @gid: creator's egid, in the caller's user namespace
 * @mode: permission bits
 * @nr_classes: size classes
 * @nr_peers: peers attached
 * @classes: the first @nr_classes entries describe the classes
 * @map_size: bytes of the mapping
 * @capacity: slots, all classes
 * @free: slots on a free list
 * @loaned: slots being filled by their loaner
 * @ready: messages nobody borrows
 * @borrowed: messages under a read or write borrow
 * @poisoned: slots a write borrower died in
 * @published: messages published to subscribers, taken or not
 * @type_id: the pool's type fingerprint, zeros if untyped
 * @retired: slots whose generations are spent, never used again; a
 *	slot retires after 2^(64 - ceil(log2(capacity))) - 1 messages
 * @reserved: zero
 *
 * The slot counts sum to @capacity while nothing runs in the pool; each
 * is read at its own moment.
 */
struct msgpool_pool_stat {
	char name[MSGPOOL_NAME_MAX];
	__u32 id;
	__u32 uid;
	__u32 gid;
	__u32 mode;
	__u32 nr_classes;
	__u32 nr_peers;
	struct msgpool_class classes[MSGPOOL_MAX_CLASSES];
	__u64 map_size;
	__u64 capacity;
	__u64 free;
	__u64 loaned;
	__u64 ready;
	__u64 borrowed;
	__u64 poisoned;
	__u64 published;
	__u8 type_id[MSGPOOL_TYPE_ID_LEN];
	__u64 retired;
	__u64 reserved;
};

/**
 * struct msgpool_pool_list - argument of MSGPOOL_IOC_POOLS
 * @pools: user pointer to an array of &struct msgpool_pool_stat
 * @count: in: entries at @pools; out: pools in the namespace
 * @entry_size: bytes of one entry, MSGPOOL_POOL_STAT_SIZE_VER0 to 4096
 * @reserved: must be zero
 *
 * When @count comes back larger than it went in, only the first entries
 * were written: call again with a larger array.
 */
struct msgpool_pool_list {
	__u64 pools;
	__u32 count;
	__u32 entry_size;
	__u64 reserved[2];
};

/* msgpool_peer_stat.flags */
#define MSGPOOL_PEER_RDONLY	(1U << 0)	/* opened O_RDONLY */

/**
 * struct msgpool_peer_stat - one peer, as MSGPOOL_IOC_PEERS reports it
 * @pid: the process that attached, in the caller's pid namespace; 0 if
 *	it is not visible there
 * @peer_id: as MSGPOOL_IOC_INFO reports it to the peer
 * @flags: MSGPOOL_PEER_*
 * @pad: zero
 * @loans: slots it is filling
 * @reads: read borrows it holds
 * @writes: write borrows it holds
 * @owned: slots it owns
 * @reserved: zero
 */
struct msgpool_peer_stat {
	__u32 pid;
	__u32 peer_id;
	__u32 flags;
	__u32 pad;
	__u64 loans;
	__u64 reads;
	__u64 writes;
	__u64 owned;
	__u64 reserved[2];
};

/**
 * struct msgpool_peer_list - argument of MSGPOOL_IOC_PEERS
 * @name: the pool's name
 * @id: 0, or the pool's id (&msgpool_pool_stat.id)
 * @entry_size: bytes of one entry, MSGPOOL_PEER_STAT_SIZE_VER0 to 4096
 * @peers: user pointer to an array of &struct msgpool_peer_stat
 * @count: in: entries at @peers; out: peers attached
 * @reserved32: must be zero
 * @reserved: must be zero
 */
struct msgpool_peer_list {
	char name[MSGPOOL_NAME_MAX];
	__u32 id;
	__u32 entry_size;
	__u64 peers;
	__u32 count;
	__u32 reserved32;
	__u64 reserved[2];
};

/**
 * struct msgpool_unlink_args - argument of MSGPOOL_IOC_UNLINK
 * @name: the pool's name
 * @id: 0, or the pool's id
 * @flags: must be zero
 * @reserved: must be zero
 */
struct msgpool_unlink_args {
	char name[MSGPOOL_NAME_MAX];
	__u32 id;
	__u32 flags;
	__u64 reserved[2];
};

/**
 * DOC: msgpool reader rings
 *
 * MSGPOOL_IOC_RING gives a subscribed reader whose file is open for
 * writing two rings in memory it maps, the way AF_XDP sockets get theirs,
 * so that it takes and marks read with no system call: a receive area the
 * kernel writes (&struct msgpool_ring_rx, then &struct msgpool_ring_msg
 * entries) and a completion area the reader writes (&struct
 * msgpool_ring_comp, then tokens).  Indexes run freely and wrap at 2^32;
 * entry i of a ring of n entries is at i & (n - 1).  man 4 msgpool gives
 * the protocol.
 */

#define MSGPOOL_RING_MIN	2	/* entries of each ring, a power of two */
#define MSGPOOL_RING_MAX	4096

#define MSGPOOL_RING_NEED_WAKEUP (1U << 0)	/* msgpool_ring_rx.flags */

/**
 * struct msgpool_ring_args - argument of MSGPOOL_IOC_RING
 * @entries: in: entries of each ring, MSGPOOL_RING_MIN..MSGPOOL_RING_MAX,
 *	a power of two
 * @flags: must be zero
 * @rx_offset: out: mmap() offset of the receive area, to map PROT_READ
 * @rx_size: out: its bytes
 * @comp_offset: out: mmap() offset of the completion area, read-write
 * @comp_size: out: its bytes
 * @reserved: must be zero
 */
struct msgpool_ring_args {
	__u32 entries;
	__u32 flags;
	__u64 rx_offset;
	__u64 rx_size;
	__u64 comp_offset;
	__u64 comp_size;
	__u64 reserved[3];
};

/**
 * struct msgpool_ring_msg - a message the kernel took for the reader
 * @token: the message's token, for the completion ring
 * @offset: mmap offset of its payload
 * @len: its length
 * @lost: messages an overwrite dropped before this one, as
 *	&msgpool_op.lost
 * @tag: its tag
 * @seq: its sequence number
 * @timestamp_ns: CLOCK_MONOTONIC when it was finished
 * @producer: as &msgpool_op.producer
 * @capacity: payload bytes of its slot
 * @reserved: zero
 */
struct msgpool_ring_msg {
	__u64 token;
	__u64 offset;
	__u32 len;
	__u32 lost;
	__u64 tag;
	__u64 seq;
	__u64 timestamp_ns;
	__u32 producer;
	__u32 capacity;
	__u64 reserved;
};

/**
 * struct msgpool_ring_rx - head of the receive area, written by the kernel
 * @producer: entries written into @msgs
 * @comp_consumer: completion ring entries drained
 * @flags: MSGPOOL_RING_*
 * @errors: completion entries and rx_consumer values refused
 * @reserved: zero
 *
 * The ring follows it: &msgpool_ring_args.entries of &struct
 * msgpool_ring_msg, from the rx area's byte sizeof(struct msgpool_ring_rx).
 */
struct msgpool_ring_rx {
	__u32 producer;
	__u32 comp_consumer;
	__u32 flags;
	__u32 errors;
	__u64 reserved[6];
};

/**
 * struct msgpool_ring_comp - head of the completion area, the reader's
 * @rx_consumer: entries of the receive ring read
 * @producer: tokens written into @tokens
 * @reserved: ignored
 *
 * The ring follows it: &msgpool_ring_args.entries tokens (__u64), from
 * the completion area's byte sizeof(struct msgpool_ring_comp).
 */
struct msgpool_ring_comp {
	__u32 rx_consumer;
	__u32 producer;
	__u64 reserved[7];
};

/**
 * DOC: msgpool ioctls
 *
 * Of an attached peer:
 *
 * - MSGPOOL_IOC_ATTACH: create or attach to a pool (&struct msgpool_attach).
 *   Once per file.
 * - MSGPOOL_IOC_INFO: the pool's shape and counters (&struct msgpool_info).
 * - MSGPOOL_IOC_NOP ... MSGPOOL_IOC_MARK_READ: one &struct msgpool_op each,
 *   the op of the same name.
 * - MSGPOOL_IOC_BATCH: many ops in one call (&struct msgpool_batch_args).
 * - MSGPOOL_IOC_SUBSCRIBE: make this peer a reader of its pool, one per
 *   peer (&struct msgpool_subscribe_args).
 * - MSGPOOL_IOC_UNSUBSCRIBE: stop being a reader; no argument.
 * - MSGPOOL_IOC_RING: give this reader its rings, once per file
 *   (&struct msgpool_ring_args; see "msgpool reader rings").
 * - MSGPOOL_IOC_RING_SYNC: drain this reader's completion ring and fill its
 *   receive ring now; no argument.
 *
 * Of any open file, for the pools of the caller's IPC namespace:
 *
 * - MSGPOOL_IOC_POOLS: list the pools (&struct msgpool_pool_list).
 * - MSGPOOL_IOC_PEERS: list the peers of one pool (&struct msgpool_peer_list).
 * - MSGPOOL_IOC_UNLINK: remove a pool's name, like ipcrm; its peers carry
 *   on (&struct msgpool_unlink_args).  Its creator or CAP_SYS_ADMIN only.
 */
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
#define MSGPOOL_IOC_RING	_IOWR(MSGPOOL_IOC_MAGIC, 0x22, \
				      struct msgpool_ring_args)
#define MSGPOOL_IOC_RING_SYNC	_IO(MSGPOOL_IOC_MAGIC, 0x23)
#define MSGPOOL_IOC_POOLS	_IOWR(MSGPOOL_IOC_MAGIC, 0x30, struct msgpool_pool_list)
#define MSGPOOL_IOC_PEERS	_IOWR(MSGPOOL_IOC_MAGIC, 0x31, struct msgpool_peer_list)
#define MSGPOOL_IOC_UNLINK	_IOW(MSGPOOL_IOC_MAGIC, 0x32, \
				      struct msgpool_unlink_args)

#endif /* _UAPI_LINUX_MSGPOOL_H */
