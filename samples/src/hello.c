// SPDX-License-Identifier: GPL-2.0-only
/*
 * hello.c - the smallest "real" kmodkit sample.
 *
 * Carries one of every common informational modinfo tag (two authors,
 * description, version, alias, firmware, softdep) and one documented int
 * parameter.  It is the showcase of the README:
 *
 *     npx kmodkit modinfo samples/ko/hello.ko
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

static int repeat = 1;
module_param(repeat, int, 0644);
MODULE_PARM_DESC(repeat, "How many times to greet at load time (1..10, default 1)");

static int __init hello_init(void)
{
	int i;

	for (i = 0; i < clamp(repeat, 1, 10); i++)
		pr_info("hello from kmodkit (%d/%d)\n", i + 1, clamp(repeat, 1, 10));
	return 0;
}

static void __exit hello_exit(void)
{
	pr_info("goodbye from kmodkit\n");
}

module_init(hello_init);
module_exit(hello_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("Ada Example <ada@example.org>");
MODULE_AUTHOR("Brian Sample <brian@example.net>");
MODULE_DESCRIPTION("kmodkit sample: minimal hello-world module");
MODULE_VERSION("1.2.3");
MODULE_ALIAS("kmodkit-hello");
MODULE_FIRMWARE("kmodkit/hello-fw.bin");
MODULE_SOFTDEP("pre: kmodkit_exporter post: kmodkit_params");
