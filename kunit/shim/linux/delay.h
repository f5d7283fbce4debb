/* SPDX-License-Identifier: GPL-2.0 */
/* <linux/delay.h> in userspace. */
#ifndef _SHIM_LINUX_DELAY_H
#define _SHIM_LINUX_DELAY_H

#include "../msgpool_shim.h"

static inline void usleep_range(unsigned long min, unsigned long max)
{
	(void)max;
	usleep(min);
}

#endif /* _SHIM_LINUX_DELAY_H */
