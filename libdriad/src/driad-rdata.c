/* driad-rdata.c — the AMTRELAY RDATA decoder and presentation formatter (RFC 8777 §4).
 * Debian 12's ldns (1.8.3) has no AMTRELAY descriptor and hands us the RDATA as one
 * opaque field, so the wire format is decoded here (spec/driad.md §1.5, §7). */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "driad-internal.h"

/* Type-3 relay name (§4.2.3): uncompressed (RFC 3597 §4), terminated by the root label
 * exactly at the end of RDATA.  In lenient mode a name whose labels fill the RDATA
 * exactly but lack the root label is accepted and completed. */
static int decode_name(const uint8_t *p, size_t len, unsigned flags, struct driad_record *out)
{
    size_t pos = 0;
    while (pos < len) {
        uint8_t l = p[pos];
        if (l == 0) {
            if (pos + 1 != len)
                return DRIAD_ERR_NAME_TRAILING;
            if (pos + 1 > DRIAD_NAME_WIRE_MAX)
                return DRIAD_ERR_NAME_TOO_LONG;
            memcpy(out->name, p, len);
            out->name_len = (uint8_t)len;
            return 0;
        }
        if (l >= 0xc0)
            return DRIAD_ERR_NAME_COMPRESSED;
        if (l > 63 || pos + 1 + l > len)
            return DRIAD_ERR_NAME_LABEL;
        pos += 1u + l;
        /* even without the terminator the name must fit in 255 octets */
        if (pos + 1 > DRIAD_NAME_WIRE_MAX)
            return DRIAD_ERR_NAME_TOO_LONG;
    }
    /* labels ended exactly at the end of RDATA with no root label */
    if (!(flags & DRIAD_FLAG_LENIENT_NAMES) || len == 0)
        return DRIAD_ERR_NAME_UNTERMINATED;
    memcpy(out->name, p, len);
    out->name[len] = 0;
    out->name_len = (uint8_t)(len + 1);
    return 0;
}

int driad_rdata_decode(const uint8_t *rdata, size_t len, unsigned flags, struct driad_record *out)
{
    if (!out || (!rdata && len))
        return DRIAD_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (len < 2)
        return DRIAD_ERR_RDATA_SHORT;
    out->precedence = rdata[0];
    out->discovery_optional = (rdata[1] & 0x80) != 0;
    out->type = rdata[1] & 0x7f;
    const uint8_t *relay = rdata + 2;
    size_t rlen = len - 2;
    switch (out->type) {
    case DRIAD_RELAY_NONE:
        /* §4.2.3: type 0 carries no relay field */
        return rlen == 0 ? 0 : DRIAD_ERR_RDATA_LENGTH;
    case DRIAD_RELAY_IPV4:
        if (rlen != 4)
            return DRIAD_ERR_RDATA_LENGTH;
        out->ip.family = AF_INET;
        memcpy(out->ip.addr, relay, 4);
        return 0;
    case DRIAD_RELAY_IPV6:
        if (rlen != 16)
            return DRIAD_ERR_RDATA_LENGTH;
        out->ip.family = AF_INET6;
        memcpy(out->ip.addr, relay, 16);
        return 0;
    case DRIAD_RELAY_NAME:
        if (rlen == 0)
            return DRIAD_ERR_RDATA_LENGTH;
        return decode_name(relay, rlen, flags, out);
    default:
        /* §4.2.3 / Errata 6688: unassigned types are kept as valid records, never used */
        return 0;
    }
}

int driad_record_format(const struct driad_record *rec, char *buf, size_t size)
{
    if (!rec || !buf)
        return DRIAD_ERR_INVALID_ARGUMENT;
    char relay[DRIAD_NAME_TEXT_MAX];
    int r;
    switch (rec->type) {
    case DRIAD_RELAY_NONE:
        /* §4.3.1: the relay field of type 0 MUST be "." */
        strcpy(relay, ".");
        break;
    case DRIAD_RELAY_IPV4:
    case DRIAD_RELAY_IPV6:
        r = driad_ip_format(&rec->ip, relay, sizeof relay);
        if (r < 0)
            return r;
        break;
    case DRIAD_RELAY_NAME:
        r = driad_name_format(rec->name, rec->name_len, relay, sizeof relay);
        if (r < 0)
            return r;
        break;
    default:
        return DRIAD_ERR_INVALID_ARGUMENT;
    }
    int n = snprintf(buf, size, "%u %u %u %s", rec->precedence, rec->discovery_optional ? 1u : 0u,
                     rec->type, relay);
    if (n < 0 || (size_t)n >= size)
        return DRIAD_ERR_BUFFER_TOO_SMALL;
    return n;
}
