/* SPDX-License-Identifier: GPL-2.0 */
#include "../msgpool_shim.h"
