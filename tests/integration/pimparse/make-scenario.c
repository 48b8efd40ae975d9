/* make-scenario.c — writes the capture pimwatch-replay.sh replays (Ethernet, ns pcap),
 * times in seconds after 2025-11-21T04:40:00Z:
 *   0  Hello from 10.2.0.1
 *   1  J/P 10.2.0.1 -> upstream 10.2.0.2, holdtime 210: join 23.212.185.4,232.1.1.1;
 *      join 23.212.185.5,239.1.1.1; (*,239.2.2.2) join via RP 1.1.1.1
 *   2  J/P to upstream 10.2.0.99 (another router): join 23.212.185.6,232.1.1.6
 *   3  IPv6 J/P fe80::1 -> upstream fe80::2: join 2001:db8::1,ff3e::8000:1
 *   4  J/P to 10.2.0.2, holdtime 5: join 23.212.185.7,232.1.1.7 (expires at 9)
 *   5  J/P to 10.2.0.2: prune 23.212.185.5,239.1.1.1
 *   6  the same J/P as at 1 with a corrupted checksum; a truncated copy
 *   20 Hello from 10.2.0.1 (advances the clock past the expiry) */
#include <stdio.h>
#include <string.h>

#include "pimparse/pimparse.h"
#include "pp-build.h"

#define T(s) ((UINT64_C(1763700000) + (s)) * UINT64_C(1000000000))

static FILE *out;

static void jp(uint64_t ts, const char *from, const char *up, uint16_t ht, const struct ppb_group *g,
               size_t ng, int corrupt, size_t cut)
{
    uint8_t m[512], ip[600], f[700];
    size_t ml = ppb_jp(m, sizeof m, up, ht, g, ng);
    size_t il = ppb_ip(ip, sizeof ip, from, strchr(from, ':') ? "ff02::d" : "224.0.0.13", 103, m, ml, 0);
    size_t fl = ppb_link(f, sizeof f, 1, 0, ip, il);
    if (corrupt)
        f[fl - 1] ^= 0x40;
    ppb_pcap_record(out, ts, f, cut ? cut : fl);
}

static void hello(uint64_t ts)
{
    pimparse_hello_params p;
    pimparse_hello_params_default(&p, 0xabcdef01);
    uint8_t m[128], ip[256], f[300];
    int n = pimparse_hello_encode(&p, NULL, NULL, m, sizeof m);
    size_t il = ppb_ip(ip, sizeof ip, "10.2.0.1", "224.0.0.13", 103, m, (size_t)n, 1);
    size_t fl = ppb_link(f, sizeof f, 1, 0, ip, il);
    ppb_pcap_record(out, ts, f, fl);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make-scenario FILE\n");
        return 2;
    }
    out = fopen(argv[1], "wb");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    ppb_pcap_header(out, 1);
    static const struct ppb_source s4 = {"23.212.185.4", PIMPARSE_SOURCE_S, 0};
    static const struct ppb_source s5 = {"23.212.185.5", PIMPARSE_SOURCE_S, 0};
    static const struct ppb_source s6 = {"23.212.185.6", PIMPARSE_SOURCE_S, 0};
    static const struct ppb_source s7 = {"23.212.185.7", PIMPARSE_SOURCE_S, 0};
    static const struct ppb_source rp = {"1.1.1.1", PIMPARSE_SOURCE_S | PIMPARSE_SOURCE_W | PIMPARSE_SOURCE_R, 0};
    static const struct ppb_source v6 = {"2001:db8::1", PIMPARSE_SOURCE_S, 0};
    const struct ppb_group g1[] = {{"232.1.1.1", 0, 0, &s4, 1, NULL, 0},
                                   {"239.1.1.1", 0, 0, &s5, 1, NULL, 0},
                                   {"239.2.2.2", 0, 0, &rp, 1, NULL, 0}};
    const struct ppb_group g2[] = {{"232.1.1.6", 0, 0, &s6, 1, NULL, 0}};
    const struct ppb_group g3[] = {{"ff3e::8000:1", 0, 0, &v6, 1, NULL, 0}};
    const struct ppb_group g4[] = {{"232.1.1.7", 0, 0, &s7, 1, NULL, 0}};
    const struct ppb_group g5[] = {{"239.1.1.1", 0, 0, NULL, 0, &s5, 1}};
    hello(T(0));
    jp(T(1), "10.2.0.1", "10.2.0.2", 210, g1, 3, 0, 0);
    jp(T(2), "10.2.0.1", "10.2.0.99", 210, g2, 1, 0, 0);
    jp(T(3), "fe80::1", "fe80::2", 210, g3, 1, 0, 0);
    jp(T(4), "10.2.0.1", "10.2.0.2", 5, g4, 1, 0, 0);
    jp(T(5), "10.2.0.1", "10.2.0.2", 210, g5, 1, 0, 0);
    jp(T(6), "10.2.0.1", "10.2.0.2", 210, g1, 3, 1, 0);
    jp(T(6), "10.2.0.1", "10.2.0.2", 210, g1, 3, 0, 40);
    hello(T(20));
    return fclose(out) == 0 ? 0 : 1;
}
