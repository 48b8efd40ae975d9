/* gen-capture.c — writes the benchmark captures (Ethernet, nanosecond pcap):
 *   gen-capture jp FILE N CHANNELS   N single-(S,G) Join messages (the 34-byte shape FRR
 *                                    and pimd send) cycling over CHANNELS (S,G)s
 *   gen-capture distinct FILE N      N Joins, each for a different (S,G): sources spread
 *                                    over 10.0.0.0/8, groups in 232/8
 * Packets are 100 us apart, holdtime 210: nothing expires during the capture. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimparse/pimparse.h"
#include "pp-build.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: gen-capture jp FILE N CHANNELS | distinct FILE N\n");
        return 2;
    }
    int distinct = strcmp(argv[1], "distinct") == 0;
    unsigned long n = strtoul(argv[3], NULL, 10);
    unsigned long channels = distinct ? n : (argc > 4 ? strtoul(argv[4], NULL, 10) : 1000);
    if (n == 0 || channels == 0)
        return 2;
    FILE *f = fopen(argv[2], "wb");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    ppb_pcap_header(f, 1);
    static const struct ppb_source src = {"10.0.0.1", PIMPARSE_SOURCE_S, 0};
    static const struct ppb_group grp = {"232.0.0.1", 0, 0, &src, 1, NULL, 0};
    uint8_t msg[128], ip[256], frame[300];
    size_t ml = ppb_jp(msg, sizeof msg, "10.2.0.2", 210, &grp, 1);
    size_t il = ppb_ip(ip, sizeof ip, "10.2.0.1", "224.0.0.13", 103, msg, ml, 0);
    size_t fl = ppb_link(frame, sizeof frame, 1, 0, ip, il);
    uint8_t *m = frame + 14 + 20; /* the PIM message inside the frame */
    uint64_t ts = UINT64_C(1763700000) * 1000000000u;
    for (unsigned long i = 0; i < n; i++) {
        unsigned long c = i % channels;
        /* Source 10.x.y.z from the channel number's low 24 bits, group 232.a.b.c from the
         * high bits (distinct) or a few groups (repeating channels). */
        uint32_t s = 0x0a000001u + (uint32_t)(c & 0xffffff);
        uint32_t g = 0xe8000001u + (uint32_t)(distinct ? (c >> 8) : (c % 16));
        m[30] = (uint8_t)(s >> 24);
        m[31] = (uint8_t)(s >> 16);
        m[32] = (uint8_t)(s >> 8);
        m[33] = (uint8_t)s;
        m[18] = (uint8_t)(g >> 24);
        m[19] = (uint8_t)(g >> 16);
        m[20] = (uint8_t)(g >> 8);
        m[21] = (uint8_t)g;
        m[2] = m[3] = 0;
        uint16_t cs = pimparse_checksum(m, ml, 0);
        m[2] = (uint8_t)(cs >> 8);
        m[3] = (uint8_t)cs;
        ppb_pcap_record(f, ts, frame, fl);
        ts += 100000;
    }
    if (fclose(f) != 0) {
        perror(argv[2]);
        return 1;
    }
    return 0;
}
