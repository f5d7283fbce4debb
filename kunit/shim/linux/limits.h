/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <linux/limits.h> in userspace: the system's uapi header, which the C
 * library's headers include too, and the kernel's additions (see
 * msgpool_shim.h).
 */
#include_next <linux/limits.h>
#include "../msgpool_shim.h"
