/* SPDX-License-Identifier: GPL-2.0 */
/* <linux/sizes.h> in userspace: the sizes the tests name. */
#ifndef _SHIM_LINUX_SIZES_H
#define _SHIM_LINUX_SIZES_H

#define SZ_4K		0x00001000
#define SZ_8K		0x00002000
#define SZ_16K		0x00004000
#define SZ_64K		0x00010000
#define SZ_16M		0x01000000
#define SZ_256M		0x10000000
#define SZ_1G		0x40000000

#endif /* _SHIM_LINUX_SIZES_H */
