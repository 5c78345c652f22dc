// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmodkit_consumer.c - uses every symbol of kmodkit_exporter.ko and imports
 * its KMODKIT_TEST namespace, so it depends on the exporter and loads once
 * the exporter is loaded.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>

#include "kmodkit_exporter.h"

static int __init kmodkit_consumer_init(void)
{
	kmodkit_exp_counter++;
	pr_info("add(2, 3)=%d gpl(21)=%d ns()=%d counter=%lu\n",
		kmodkit_exp_add(2, 3), kmodkit_exp_gpl(21), kmodkit_exp_ns(),
		kmodkit_exp_counter);
	return 0;
}

static void __exit kmodkit_consumer_exit(void)
{
	kmodkit_exp_counter--;
	pr_info("unloaded\n");
}

module_init(kmodkit_consumer_init);
module_exit(kmodkit_consumer_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmodkit sample authors");
MODULE_DESCRIPTION("kmodkit sample: consumer of all kmodkit_exporter symbols");
MODULE_IMPORT_NS(KMODKIT_TEST);
