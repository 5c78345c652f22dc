// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * kmodkit_params.c - one module parameter of every common kind.
 *
 *   name         kind                          perm   description
 *   byteval      byte                          0444   yes
 *   shortval     short                         0644   yes
 *   ushortval    ushort                        0444   yes
 *   intval       int                           0644   yes
 *   uintval      uint                          0444   yes
 *   longval      long                          0600   yes
 *   ulongval     ulong                         0444   yes
 *   hexval       hexint                        0644   yes
 *   boolval      bool                          0644   yes
 *   invboolval   invbool                       0444   yes
 *   charpval     charp                         0644   yes
 *   strval       module_param_string, 16 B     0644   yes
 *   intarr       module_param_array int[4]     0444   yes
 *   charparr     module_param_array charp[3]   0444   yes (no count variable)
 *   boolarr      module_param_array bool[2]    0644   yes
 *   mode         module_param_cb, custom ops   0644   yes ("off"/"on"/"auto")
 *   verbose      module_param_named            0600   yes (C variable kmodkit_verbosity)
 *   hidden       int                           0      yes (not in sysfs)
 *   nodesc       uint                          0444   NO MODULE_PARM_DESC
 *
 * Every value is logged at init ("kmodkit_params: <name>=<value>") so tests
 * can compare the log with /sys/module/kmodkit_params/parameters/<name>.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

static unsigned char byteval = 42;
module_param(byteval, byte, 0444);
MODULE_PARM_DESC(byteval, "An unsigned 8-bit value (byte)");

static short shortval = -1234;
module_param(shortval, short, 0644);
MODULE_PARM_DESC(shortval, "A signed 16-bit value (short)");

static unsigned short ushortval = 54321;
module_param(ushortval, ushort, 0444);
MODULE_PARM_DESC(ushortval, "An unsigned 16-bit value (ushort)");

static int intval = -42;
module_param(intval, int, 0644);
MODULE_PARM_DESC(intval, "A signed int");

static unsigned int uintval = 4000000000U;
module_param(uintval, uint, 0444);
MODULE_PARM_DESC(uintval, "An unsigned int");

static long longval = -9000000000L;
module_param(longval, long, 0600);
MODULE_PARM_DESC(longval, "A signed long (root-only in sysfs)");

static unsigned long ulongval = 18000000000000000000UL;
module_param(ulongval, ulong, 0444);
MODULE_PARM_DESC(ulongval, "An unsigned long");

static unsigned int hexval = 0xdeadbeef;
module_param(hexval, hexint, 0644);
MODULE_PARM_DESC(hexval, "An unsigned int shown in hex (hexint)");

static bool boolval = true;
module_param(boolval, bool, 0644);
MODULE_PARM_DESC(boolval, "A boolean (Y/N/1/0)");

static bool invboolval;
module_param(invboolval, invbool, 0444);
MODULE_PARM_DESC(invboolval, "An inverted boolean: invboolval=1 stores false");

static char *charpval = "kmodkit";
module_param(charpval, charp, 0644);
MODULE_PARM_DESC(charpval, "A string pointer (charp)");

static char strval[16] = "fixed";
module_param_string(strval, strval, sizeof(strval), 0644);
MODULE_PARM_DESC(strval, "A fixed buffer string, at most 15 characters");

static int intarr[4] = { 1, 2, 3, 4 };
static unsigned int intarr_count = ARRAY_SIZE(intarr);
module_param_array(intarr, int, &intarr_count, 0444);
MODULE_PARM_DESC(intarr, "Up to 4 ints, comma separated");

static char *charparr[3] = { "alpha", "beta", "gamma" };
module_param_array(charparr, charp, NULL, 0444);
MODULE_PARM_DESC(charparr, "Up to 3 strings, comma separated");

static bool boolarr[2] = { true, false };
static unsigned int boolarr_count = ARRAY_SIZE(boolarr);
module_param_array(boolarr, bool, &boolarr_count, 0644);
MODULE_PARM_DESC(boolarr, "Up to 2 booleans, comma separated");

/* A parameter with its own kernel_param_ops: a keyword mapped to an int. */
static const char * const mode_names[] = { "off", "on", "auto" };
static int mode = 2;

static int mode_set(const char *val, const struct kernel_param *kp)
{
	int idx = sysfs_match_string(mode_names, val);

	if (idx < 0)
		return -EINVAL;
	*(int *)kp->arg = idx;
	return 0;
}

static int mode_get(char *buffer, const struct kernel_param *kp)
{
	return scnprintf(buffer, PAGE_SIZE, "%s\n", mode_names[*(int *)kp->arg]);
}

static const struct kernel_param_ops mode_ops = {
	.set = mode_set,
	.get = mode_get,
};
module_param_cb(mode, &mode_ops, &mode, 0644);
MODULE_PARM_DESC(mode, "Operating mode: off, on or auto (custom ops)");

/* The parameter is called "verbose", the C variable is not. */
static int kmodkit_verbosity = 1;
module_param_named(verbose, kmodkit_verbosity, int, 0600);
MODULE_PARM_DESC(verbose, "Verbosity level (module_param_named)");

static int hidden = 7;
module_param(hidden, int, 0);
MODULE_PARM_DESC(hidden, "Only settable at load time: not visible in sysfs");

/* Deliberately without MODULE_PARM_DESC. */
static unsigned int nodesc = 99;
module_param(nodesc, uint, 0444);

static int __init kmodkit_params_init(void)
{
	unsigned int i;

	pr_info("byteval=%u\n", byteval);
	pr_info("shortval=%hd\n", shortval);
	pr_info("ushortval=%hu\n", ushortval);
	pr_info("intval=%d\n", intval);
	pr_info("uintval=%u\n", uintval);
	pr_info("longval=%ld\n", longval);
	pr_info("ulongval=%lu\n", ulongval);
	pr_info("hexval=0x%x\n", hexval);
	pr_info("boolval=%c\n", boolval ? 'Y' : 'N');
	pr_info("invboolval=%c\n", invboolval ? 'Y' : 'N');
	pr_info("charpval=%s\n", charpval ? charpval : "(null)");
	pr_info("strval=%s\n", strval);
	for (i = 0; i < intarr_count; i++)
		pr_info("intarr[%u]=%d\n", i, intarr[i]);
	for (i = 0; i < ARRAY_SIZE(charparr); i++)
		pr_info("charparr[%u]=%s\n", i, charparr[i] ? charparr[i] : "(null)");
	for (i = 0; i < boolarr_count; i++)
		pr_info("boolarr[%u]=%c\n", i, boolarr[i] ? 'Y' : 'N');
	pr_info("mode=%s\n", mode_names[mode]);
	pr_info("verbose=%d\n", kmodkit_verbosity);
	pr_info("hidden=%d\n", hidden);
	pr_info("nodesc=%u\n", nodesc);
	return 0;
}

static void __exit kmodkit_params_exit(void)
{
	pr_info("unloaded\n");
}

module_init(kmodkit_params_init);
module_exit(kmodkit_params_exit);

MODULE_LICENSE("Dual MIT/GPL");
MODULE_AUTHOR("kmodkit sample authors");
MODULE_DESCRIPTION("kmodkit sample: module parameters of every common type");
MODULE_VERSION("0.1");
