/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * kmodkit_exporter.h - what kmodkit_exporter.ko exports.
 */
#ifndef KMODKIT_EXPORTER_H
#define KMODKIT_EXPORTER_H

/* EXPORT_SYMBOL: returns a + b. */
int kmodkit_exp_add(int a, int b);

/* EXPORT_SYMBOL_GPL: returns x * 2. */
int kmodkit_exp_gpl(int x);

/* EXPORT_SYMBOL_NS_GPL(..., KMODKIT_TEST): returns 42. */
int kmodkit_exp_ns(void);

/* EXPORT_SYMBOL data object: a counter bumped by consumers. */
extern unsigned long kmodkit_exp_counter;

#endif /* KMODKIT_EXPORTER_H */
