// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmodkit_nsmissing.c - calls kmodkit_exp_ns() (namespace KMODKIT_TEST)
 * WITHOUT MODULE_IMPORT_NS(KMODKIT_TEST).
 *
 * modpost refuses this by default; samples/build.sh builds it in a separate
 * modpost pass with CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS=y so it
 * only warns.  The kernel refuses to load it ("module kmodkit_nsmissing uses
 * symbol kmodkit_exp_ns from namespace KMODKIT_TEST, but does not import
 * it.", -EINVAL) - which is exactly what the pre-flight checks should detect.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>

#include "kmodkit_exporter.h"

static int __init kmodkit_nsmissing_init(void)
{
	pr_info("ns()=%d\n", kmodkit_exp_ns());
	return 0;
}

static void __exit kmodkit_nsmissing_exit(void)
{
}

module_init(kmodkit_nsmissing_init);
module_exit(kmodkit_nsmissing_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmodkit sample authors");
MODULE_DESCRIPTION("kmodkit sample: uses a namespaced symbol without importing the namespace");
/* Deliberately no MODULE_IMPORT_NS(KMODKIT_TEST). */
