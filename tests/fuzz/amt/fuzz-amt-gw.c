/* fuzz-amt-gw.c — the gateway state machine fed arbitrary datagrams, joins, leaves,
 * ICMP errors and clock steps.  Input: a sequence of [op][len][len bytes]. Op 7 feeds
 * the bytes with the outstanding nonce patched in, so the fuzzer reaches the states
 * behind the nonce checks. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "amt/amt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct st {
    uint32_t rnd;
    uint32_t last_nonce;
    uint8_t last_type;
};

static uint32_t f_rand(void *user)
{
    struct st *s = user;
    s->rnd = s->rnd * 1103515245u + 12345u;
    return s->rnd;
}

static int f_send(void *user, const amt_endpoint *dst, const uint8_t *buf, size_t len)
{
    struct st *s = user;
    amt_msg m;
    (void)dst;
    /* Whatever the input, what we emit must decode. */
    if (amt_msg_decode(&m, buf, len) != 0 || m.nonce == 0)
        __builtin_trap();
    s->last_nonce = m.nonce;
    s->last_type = m.type;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st s = {.rnd = 1};
    amt_gw_settings set;
    amt_gw_settings_default(&set);
    amt_addr_parse(&set.relay.addr, (size & 1) ? "2001:3::1" : "192.52.193.1");
    set.discovery = (size & 2) == 0;
    set.user = &s;
    set.rand = f_rand;
    set.send = f_send;
    amt_gw *gw;
    if (amt_gw_new(&gw, &set) != 0)
        return 0;
    uint64_t now = 1;
    uint8_t buf[2048];
    size_t i = 0;
    while (i + 2 <= size) {
        uint8_t op = data[i] & 7, len = data[i + 1];
        i += 2;
        if (len > size - i)
            len = (uint8_t)(size - i);
        const uint8_t *p = data + i;
        i += len;
        amt_endpoint from = set.relay;
        const amt_endpoint *r = amt_gw_get_relay(gw);
        if (r->port && (data[i - len - 2] & 8))
            from = *r;
        amt_sg sg;
        memset(&sg, 0, sizeof sg);
        amt_data d;
        switch (op) {
        case 0:
        case 1:
            amt_gw_recv(gw, now, &from, p, len, &d);
            break;
        case 2:
            now += (uint64_t)(len ? p[0] : 1) * AMT_MS(100);
            if (amt_gw_get_expiry(gw) <= now)
                amt_gw_handle_expiry(gw, now);
            break;
        case 3:
        case 4:
            if (len >= 2) {
                int v6 = p[0] & 1;
                amt_addr_parse(&sg.source, v6 ? "2001:db8::1" : "10.2.2.1");
                amt_addr_parse(&sg.group, v6 ? "ff3e::1" : "232.1.1.1");
                sg.group.bytes[v6 ? 15 : 3] = p[1];
                if (op == 3)
                    amt_gw_join(gw, now, &sg);
                else
                    amt_gw_leave(gw, now, &sg);
            }
            break;
        case 5:
            amt_gw_icmp_unreachable(gw, now);
            break;
        case 6:
            amt_gw_shutdown(gw, now);
            break;
        case 7:
            memcpy(buf, p, len);
            if (len >= 8 && buf[0] == AMT_RELAY_ADVERTISEMENT) {
                buf[4] = (uint8_t)(s.last_nonce >> 24);
                buf[5] = (uint8_t)(s.last_nonce >> 16);
                buf[6] = (uint8_t)(s.last_nonce >> 8);
                buf[7] = (uint8_t)s.last_nonce;
            } else if (len >= 12) {
                buf[8] = (uint8_t)(s.last_nonce >> 24);
                buf[9] = (uint8_t)(s.last_nonce >> 16);
                buf[10] = (uint8_t)(s.last_nonce >> 8);
                buf[11] = (uint8_t)s.last_nonce;
            }
            amt_gw_recv(gw, now, &from, buf, len, &d);
            break;
        }
    }
    amt_gw_counters c;
    amt_gw_get_counters(gw, &c);
    amt_gw_shutdown(gw, now);
    amt_gw_free(gw);
    return 0;
}
