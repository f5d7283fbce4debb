/* SPDX-License-Identifier: GPL-2.0 */
/* <linux/cache.h> in userspace: see msgpool_shim.h. */
#include "../msgpool_shim.h"
