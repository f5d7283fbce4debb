/* SPDX-License-Identifier: GPL-2.0 */
/* The system's uapi header, which libc's include too, and ours. */
#include_next <linux/types.h>
#include "../msgpool_shim.h"
