// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * kmodkit_exporter.c - exports symbols of every flavour:
 *
 *   kmodkit_exp_add      EXPORT_SYMBOL          (function)
 *   kmodkit_exp_gpl      EXPORT_SYMBOL_GPL      (function)
 *   kmodkit_exp_ns       EXPORT_SYMBOL_NS_GPL   (function, namespace KMODKIT_TEST)
 *   kmodkit_exp_counter  EXPORT_SYMBOL          (data object)
 *
 * Used by kmodkit_consumer.ko (imports the namespace) and
 * kmodkit_nsmissing.ko (does not).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>

#include "kmodkit_exporter.h"

unsigned long kmodkit_exp_counter;
EXPORT_SYMBOL(kmodkit_exp_counter);

int kmodkit_exp_add(int a, int b)
{
	return a + b;
}
EXPORT_SYMBOL(kmodkit_exp_add);

int kmodkit_exp_gpl(int x)
{
	return x * 2;
}
EXPORT_SYMBOL_GPL(kmodkit_exp_gpl);

/* Linux 6.1: the namespace argument is a bare identifier, not a string. */
int kmodkit_exp_ns(void)
{
	return 42;
}
EXPORT_SYMBOL_NS_GPL(kmodkit_exp_ns, KMODKIT_TEST);

static int __init kmodkit_exporter_init(void)
{
	pr_info("loaded, counter=%lu\n", kmodkit_exp_counter);
	return 0;
}

static void __exit kmodkit_exporter_exit(void)
{
	pr_info("unloaded, counter=%lu\n", kmodkit_exp_counter);
}

module_init(kmodkit_exporter_init);
module_exit(kmodkit_exporter_exit);

MODULE_LICENSE("Dual MIT/GPL");
MODULE_AUTHOR("kmodkit sample authors");
MODULE_DESCRIPTION("kmodkit sample: exports plain, GPL-only, namespaced and data symbols");
