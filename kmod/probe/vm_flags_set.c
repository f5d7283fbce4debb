// SPDX-License-Identifier: GPL-2.0
/* Compiles where vm_flags_set() and vm_flags_clear() exist (6.3, backports). */
#include <linux/mm.h>

void msgpool_probe(struct vm_area_struct *vma);

void msgpool_probe(struct vm_area_struct *vma)
{
	vm_flags_set(vma, VM_DONTDUMP);
	vm_flags_clear(vma, VM_MAYWRITE);
}
