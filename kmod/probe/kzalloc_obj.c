// SPDX-License-Identifier: GPL-2.0
/* Compiles where kzalloc_obj() exists (7.0). */
#include <linux/slab.h>

struct msgpool_probe {
	int x;
};

struct msgpool_probe *msgpool_probe(void);

struct msgpool_probe *msgpool_probe(void)
{
	struct msgpool_probe *p = kzalloc_obj(*p, GFP_KERNEL);

	return p;
}
