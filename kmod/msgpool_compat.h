/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What msgpool_core.c needs from its environment: the kernel's headers in
 * the module and in the KUnit suites, the userspace shim (liburcu atomics
 * and pthread locks, kunit/shim/msgpool_shim.h) everywhere else.
 */
#ifndef _MSGPOOL_COMPAT_H
#define _MSGPOOL_COMPAT_H

#ifdef __KERNEL__

#include <linux/align.h>
#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/errno.h>
#include <linux/hash.h>
#include <linux/limits.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/random.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/wait.h>

#else /* !__KERNEL__ */

#include "msgpool_shim.h"

#endif /* __KERNEL__ */

#endif /* _MSGPOOL_COMPAT_H */
