/* SPDX-License-Identifier: GPL-2.0 */
/*
 * msgpool stats: MSGPOOL_IOC_POOLS, MSGPOOL_IOC_PEERS and
 * MSGPOOL_IOC_UNLINK, on any open file of the device.
 */
#ifndef _MSGPOOL_STAT_H
#define _MSGPOOL_STAT_H

#include <linux/types.h>

/* Returns -ENOTTY for a command that is not one of the three. */
long msgpool_stat_ioctl(unsigned int cmd, void __user *uarg);

#endif /* _MSGPOOL_STAT_H */
