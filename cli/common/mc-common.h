/* mc-common.h — what every mcingest tool shares: exit codes, logging, option
 * conventions, text/JSON output and the event loop.  Internal to the tools (a static
 * library), never installed.  See ../../README.md and DESIGN.md "How the tools behave". */
#ifndef MC_COMMON_H
#define MC_COMMON_H

#include "mc-exit.h"
#include "mc-log.h"
#include "mc-opts.h"
#include "mc-out.h"
#include "mc-loop.h"
#include "mc-time.h"
#include "mc-tun.h"

#endif
