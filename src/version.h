/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VERSION_H
#define DEVISOR_VERSION_H

/*
 * `git describe` of the tree devisor was built from. One generated object
 * ($(BUILD)/gen/version.c, rewritten only when the description changes)
 * rather than a -D flag: a flag reached only the objects that happened to
 * be recompiled, so a binary could name three different commits.
 */
extern const char devisor_version[];

#endif
