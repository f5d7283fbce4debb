/* SPDX-License-Identifier: GPL-2.0 */
/* <linux/module.h> in userspace: a test program is no module. */
#ifndef _SHIM_LINUX_MODULE_H
#define _SHIM_LINUX_MODULE_H

#define MODULE_DESCRIPTION(s)
#define MODULE_LICENSE(s)

#endif /* _SHIM_LINUX_MODULE_H */
