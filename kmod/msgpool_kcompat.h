/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What newer kernels offer and older ones lack, filled in from the
 * feature probes of Kbuild (probe/NAME.c defines MSGPOOL_HAVE_NAME when it
 * compiles): distributions backport, so no version number decides.
 */
#ifndef _MSGPOOL_KCOMPAT_H
#define _MSGPOOL_KCOMPAT_H

#include <linux/mm.h>
#include <linux/slab.h>

/* vm_flags became read-only in 6.3, behind these helpers. */
#ifndef MSGPOOL_HAVE_VM_FLAGS_SET
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma,
				  vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/* Typed allocation, 7.0; checkpatch asks for it from then on. */
#ifndef MSGPOOL_HAVE_KZALLOC_OBJ
#define kzalloc_obj(P, GFP)	kzalloc(sizeof(P), GFP)
#endif

#endif /* _MSGPOOL_KCOMPAT_H */
