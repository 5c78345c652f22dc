// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmodkit_initfail.c - a module whose init function fails with -ENODEV, so
 * init_module()/finit_module() return ENODEV and nothing stays loaded.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/init.h>
#include <linux/module.h>

static int __init kmodkit_initfail_init(void)
{
	pr_info("init failing on purpose with -ENODEV\n");
	return -ENODEV;
}

module_init(kmodkit_initfail_init);
/* No module_exit: init never succeeds, so there is nothing to unload. */

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmodkit sample authors");
MODULE_DESCRIPTION("kmodkit sample: init returns -ENODEV");
