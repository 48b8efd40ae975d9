/* jf-error.c — error and reason texts, version. */
#include <string.h>

#include "jf-internal.h"

#ifndef JF_VERSION
#error "JF_VERSION must be defined by the build (meson project version)"
#endif

JOINFILE_EXPORT const char *joinfile_version(void)
{
    return JF_VERSION;
}

JOINFILE_EXPORT const char *joinfile_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case JOINFILE_ERR_NOMEM:
        return "out of memory";
    case JOINFILE_ERR_INVALID:
        return "invalid argument";
    case JOINFILE_ERR_BAD_LINES:
        return "input has bad lines (strict mode)";
    case JOINFILE_ERR_TOO_MANY:
        return "too many entries";
    case JOINFILE_ERR_TOO_BIG:
        return "file too large";
    case JOINFILE_ERR_NOT_FOUND:
        return "no such entry";
    case JOINFILE_ERR_NOSPACE:
        return "buffer too small";
    case JOINFILE_ERR_BAD_ENTRY:
        return "invalid entry";
    default:
        break;
    }
    if (err < 0 && err > -4096) {
        /* strerrordesc_np is thread-safe and returns a static string (glibc >= 2.32). */
        const char *s = strerrordesc_np(-err);
        if (s)
            return s;
    }
    return "unknown error";
}

JOINFILE_EXPORT const char *joinfile_reason_str(int reason)
{
    switch (reason) {
    case JOINFILE_BAD_FIELDS:
        return "expected source,group[,population]";
    case JOINFILE_BAD_SOURCE_ADDRESS:
        return "source is not an IPv4 or IPv6 address";
    case JOINFILE_BAD_GROUP_ADDRESS:
        return "group is not an IPv4 or IPv6 address";
    case JOINFILE_BAD_FAMILY_MISMATCH:
        return "source and group are of different address families";
    case JOINFILE_BAD_SOURCE_NOT_UNICAST:
        return "source is not a unicast address";
    case JOINFILE_BAD_SOURCE_UNSPECIFIED:
        return "source is the unspecified address";
    case JOINFILE_BAD_GROUP_NOT_MULTICAST:
        return "group is not a multicast address";
    case JOINFILE_BAD_GROUP_LINK_LOCAL:
        return "group has link-local scope";
    case JOINFILE_BAD_GROUP_NOT_SSM:
        return "group is outside the SSM range";
    case JOINFILE_BAD_POPULATION:
        return "population is not an integer from 1 to 4294967295";
    case JOINFILE_BAD_LINE_TOO_LONG:
        return "line too long";
    case JOINFILE_BAD_TOO_MANY_ENTRIES:
        return "entry limit reached";
    default:
        return "invalid line";
    }
}
