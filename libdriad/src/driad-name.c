/* driad-name.c — addresses, reverse-mapping names (RFC 8777 §2.1) and wire-format
 * domain names (RFC 1035 §3.1) in text and wire form. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "driad-internal.h"

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int driad_ip_parse(const char *text, struct driad_ip *out)
{
    if (!text || !out)
        return DRIAD_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, text, out->addr) == 1) {
        out->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, out->addr) == 1) {
        out->family = AF_INET6;
        /* spec §2: an IPv4-mapped source is looked up under in-addr.arpa */
        if (memcmp(out->addr, v4mapped_prefix, 12) == 0) {
            memmove(out->addr, out->addr + 12, 4);
            memset(out->addr + 4, 0, 12);
            out->family = AF_INET;
        }
        return 0;
    }
    return DRIAD_ERR_INVALID_ARGUMENT;
}

int driad_ip_format(const struct driad_ip *ip, char *buf, size_t size)
{
    if (!ip || !buf || (ip->family != AF_INET && ip->family != AF_INET6))
        return DRIAD_ERR_INVALID_ARGUMENT;
    char tmp[INET6_ADDRSTRLEN];
    if (!inet_ntop(ip->family, ip->addr, tmp, sizeof tmp))
        return DRIAD_ERR_INVALID_ARGUMENT;
    size_t n = strlen(tmp);
    if (n + 1 > size)
        return DRIAD_ERR_BUFFER_TOO_SMALL;
    memcpy(buf, tmp, n + 1);
    return 0;
}

bool driad_ip_equal(const struct driad_ip *a, const struct driad_ip *b)
{
    if (a->family != b->family)
        return false;
    return memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

int driad_reverse_name(const struct driad_ip *source, char *buf, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    if (!source || !buf)
        return DRIAD_ERR_INVALID_ARGUMENT;
    char tmp[80];
    size_t n = 0;
    if (source->family == AF_INET) {
        /* RFC 1035 §3.5 */
        n = (size_t)snprintf(tmp, sizeof tmp, "%u.%u.%u.%u.in-addr.arpa.", source->addr[3],
                             source->addr[2], source->addr[1], source->addr[0]);
    } else if (source->family == AF_INET6) {
        /* RFC 3596 §2.5: low-order nibble first */
        for (int i = 15; i >= 0; i--) {
            tmp[n++] = hex[source->addr[i] & 0xf];
            tmp[n++] = '.';
            tmp[n++] = hex[source->addr[i] >> 4];
            tmp[n++] = '.';
        }
        memcpy(tmp + n, "ip6.arpa.", 10);
        n += 9;
    } else {
        return DRIAD_ERR_INVALID_ARGUMENT;
    }
    if (n + 1 > size)
        return DRIAD_ERR_BUFFER_TOO_SMALL;
    memcpy(buf, tmp, n + 1);
    return (int)n;
}

int driad_reverse_name_wire(const struct driad_ip *source, uint8_t *buf, size_t size)
{
    char text[80];
    int r = driad_reverse_name(source, text, sizeof text);
    if (r < 0)
        return r;
    return driad_name_parse(text, buf, size);
}

int driad_wname_check(const uint8_t *n, size_t len)
{
    size_t pos = 0;
    if (len > DRIAD_NAME_WIRE_MAX)
        return DRIAD_ERR_NAME_TOO_LONG;
    while (pos < len) {
        uint8_t l = n[pos];
        if (l == 0)
            return pos + 1 == len ? 0 : DRIAD_ERR_NAME_TRAILING;
        if (l >= 0xc0)
            return DRIAD_ERR_NAME_COMPRESSED;
        /* 0x40..0xbf: RFC 6891 §5 / RFC 2673 extended label types, obsolete */
        if (l > 63)
            return DRIAD_ERR_NAME_LABEL;
        if (pos + 1 + l > len)
            return DRIAD_ERR_NAME_LABEL;
        pos += 1u + l;
    }
    return DRIAD_ERR_NAME_UNTERMINATED;
}

bool driad_wname_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++) {
        uint8_t x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (uint8_t)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (uint8_t)(y + 32);
        /* length octets are < 64 and never letters, so comparing them this way is exact */
        if (x != y)
            return false;
    }
    return true;
}

int driad_name_format(const uint8_t *wire, size_t len, char *buf, size_t size)
{
    if (!wire || !buf || size == 0)
        return DRIAD_ERR_INVALID_ARGUMENT;
    int r = driad_wname_check(wire, len);
    if (r < 0)
        return r;
    size_t o = 0, pos = 0;
#define PUT(ch)                                                                                 \
    do {                                                                                        \
        if (o + 1 >= size)                                                                      \
            return DRIAD_ERR_BUFFER_TOO_SMALL;                                                  \
        buf[o++] = (char)(ch);                                                                  \
    } while (0)
    if (wire[0] == 0) {
        PUT('.');
        buf[o] = '\0';
        return (int)o;
    }
    while (wire[pos] != 0) {
        uint8_t l = wire[pos++];
        for (uint8_t i = 0; i < l; i++, pos++) {
            uint8_t c = wire[pos];
            if (c == '.' || c == '\\') {
                PUT('\\');
                PUT(c);
            } else if (c <= 0x20 || c >= 0x7f) {
                /* RFC 4343 §2.1: \DDD decimal escape */
                PUT('\\');
                PUT('0' + c / 100);
                PUT('0' + (c / 10) % 10);
                PUT('0' + c % 10);
            } else {
                PUT(c);
            }
        }
        PUT('.');
    }
#undef PUT
    buf[o] = '\0';
    return (int)o;
}

int driad_name_parse(const char *text, uint8_t *wire, size_t size)
{
    if (!text || !wire)
        return DRIAD_ERR_INVALID_ARGUMENT;
    uint8_t tmp[DRIAD_NAME_WIRE_MAX];
    size_t o = 0;
    const char *p = text;
    if (strcmp(text, ".") == 0) {
        if (size < 1)
            return DRIAD_ERR_BUFFER_TOO_SMALL;
        wire[0] = 0;
        return 1;
    }
    if (*p == '\0' || *p == '.')
        return DRIAD_ERR_INVALID_ARGUMENT;
    while (*p) {
        size_t lpos = o++;
        if (o > sizeof tmp - 1)
            return DRIAD_ERR_NAME_TOO_LONG;
        size_t llen = 0;
        while (*p && *p != '.') {
            unsigned c = (unsigned char)*p++;
            if (c == '\\') {
                if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
                    isdigit((unsigned char)p[2])) {
                    c = (unsigned)(p[0] - '0') * 100 + (unsigned)(p[1] - '0') * 10 +
                        (unsigned)(p[2] - '0');
                    if (c > 255)
                        return DRIAD_ERR_INVALID_ARGUMENT;
                    p += 3;
                } else if (*p) {
                    c = (unsigned char)*p++;
                } else {
                    return DRIAD_ERR_INVALID_ARGUMENT;
                }
            }
            if (++llen > 63)
                return DRIAD_ERR_NAME_LABEL;
            if (o >= sizeof tmp - 1)
                return DRIAD_ERR_NAME_TOO_LONG;
            tmp[o++] = (uint8_t)c;
        }
        if (llen == 0)
            return DRIAD_ERR_INVALID_ARGUMENT; /* empty label ("a..b") */
        tmp[lpos] = (uint8_t)llen;
        if (*p == '.')
            p++;
    }
    tmp[o++] = 0;
    if (o > size)
        return DRIAD_ERR_BUFFER_TOO_SMALL;
    memcpy(wire, tmp, o);
    return (int)o;
}

int driad_server_parse(const char *text, uint16_t default_port, struct driad_server *out)
{
    if (!text || !out)
        return DRIAD_ERR_INVALID_ARGUMENT;
    char host[INET6_ADDRSTRLEN + 2];
    const char *port = NULL;
    size_t n;
    if (text[0] == '[') {
        const char *e = strchr(text, ']');
        if (!e)
            return DRIAD_ERR_INVALID_ARGUMENT;
        n = (size_t)(e - text - 1);
        if (e[1] == ':')
            port = e + 2;
        else if (e[1] != '\0')
            return DRIAD_ERR_INVALID_ARGUMENT;
        text++;
    } else {
        const char *c = strchr(text, ':');
        /* one colon: IPv4 with a port; more than one: a bare IPv6 address */
        if (c && !strchr(c + 1, ':')) {
            n = (size_t)(c - text);
            port = c + 1;
        } else {
            n = strlen(text);
        }
    }
    if (n == 0 || n >= sizeof host)
        return DRIAD_ERR_INVALID_ARGUMENT;
    memcpy(host, text, n);
    host[n] = '\0';
    memset(out, 0, sizeof *out);
    if (driad_ip_parse(host, &out->ip) != 0)
        return DRIAD_ERR_INVALID_ARGUMENT;
    out->port = default_port ? default_port : 53;
    if (port) {
        unsigned long v = 0;
        if (!*port)
            return DRIAD_ERR_INVALID_ARGUMENT;
        for (const char *q = port; *q; q++) {
            if (!isdigit((unsigned char)*q))
                return DRIAD_ERR_INVALID_ARGUMENT;
            v = v * 10 + (unsigned long)(*q - '0');
            if (v > 65535)
                return DRIAD_ERR_INVALID_ARGUMENT;
        }
        if (v == 0)
            return DRIAD_ERR_INVALID_ARGUMENT;
        out->port = (uint16_t)v;
    }
    return 0;
}
