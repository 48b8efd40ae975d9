/* driad-misc.c — version, error strings, status names, logging. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "driad-internal.h"

#ifndef DRIAD_VERSION
#define DRIAD_VERSION "0.1.0"
#endif

const char *driad_version(void)
{
    return DRIAD_VERSION;
}

const char *driad_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case DRIAD_ERR_INVALID_ARGUMENT: return "invalid argument";
    case DRIAD_ERR_NOMEM: return "out of memory";
    case DRIAD_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case DRIAD_ERR_RDATA_SHORT: return "AMTRELAY RDATA shorter than 2 octets";
    case DRIAD_ERR_RDATA_LENGTH: return "AMTRELAY RDATA length does not match the relay type";
    case DRIAD_ERR_NAME_LABEL: return "relay name has a bad label";
    case DRIAD_ERR_NAME_COMPRESSED: return "relay name uses a compression pointer";
    case DRIAD_ERR_NAME_UNTERMINATED: return "relay name lacks its root label";
    case DRIAD_ERR_NAME_TRAILING: return "octets after the relay name";
    case DRIAD_ERR_NAME_TOO_LONG: return "name longer than 255 octets";
    case DRIAD_ERR_PACKET: return "malformed DNS message";
    case DRIAD_ERR_NOT_RESPONSE: return "DNS message is not a response to a query";
    case DRIAD_ERR_ID_MISMATCH: return "DNS answer ID does not match the query";
    case DRIAD_ERR_QUESTION_MISMATCH: return "DNS answer question does not match the query";
    case DRIAD_ERR_TRUNCATED: return "DNS answer truncated";
    case DRIAD_ERR_SERVFAIL: return "server failure (SERVFAIL)";
    case DRIAD_ERR_REFUSED: return "query refused (REFUSED)";
    case DRIAD_ERR_RCODE: return "DNS error response code";
    case DRIAD_ERR_CHAIN_TOO_LONG: return "CNAME/DNAME chain too long";
    case DRIAD_ERR_CHAIN_LOOP: return "CNAME/DNAME loop";
    case DRIAD_ERR_TIMEOUT: return "timed out";
    case DRIAD_ERR_NO_SERVER: return "no DNS server";
    case DRIAD_ERR_CANCELLED: return "cancelled";
    case DRIAD_ERR_TCP: return "TCP connection to the DNS server failed";
    case DRIAD_ERR_CONFIG: return "cannot read resolver configuration";
    default: break;
    }
    if (err < 0 && err > -200)
        return strerror(-err);
    return "unknown error";
}

const char *driad_status_name(enum driad_status s)
{
    switch (s) {
    case DRIAD_FOUND: return "ok";
    case DRIAD_NO_RECORD: return "no-record";
    case DRIAD_NO_RELAY: return "no-relay";
    case DRIAD_ONLY_UNUSABLE: return "only-unusable";
    case DRIAD_DNS_ERROR: return "error";
    }
    return "unknown";
}

void driad_logf(driad_log_fn fn, void *user, int level, const char *fmt, ...)
{
    if (!fn)
        return;
    char line[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fn(user, level, line);
}
