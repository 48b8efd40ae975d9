/* gen-answer-seeds.c — writes the seed corpus of fuzz-answer (a 2-octet selector, then a
 * DNS message).  Usage: gen-driad-answer-seeds DIR */
#include <stdio.h>
#include <string.h>

#include "driad-internal.h"
#include "test-helpers.h"

struct seed {
    const char *file;
    uint8_t sel[2];
    struct test_msg m;
};

static const char *const amt[] = {
    "12.100.51.198.in-addr.arpa. 300 IN TYPE260 \\# 6 0a01cb00710f",
    "12.100.51.198.in-addr.arpa. 300 IN TYPE260 \\# 18 0a0220010db8000000000000000000000015",
    "12.100.51.198.in-addr.arpa. 300 IN TYPE260 \\# 25 808309616d7472656c617973076578616d706c6503636f6d00",
    NULL};
static const char *const bad[] = {
    "1.102.51.198.in-addr.arpa. 300 IN TYPE260 \\# 22 1003047233763603616d7406616b61646e73036e6574",
    "1.102.51.198.in-addr.arpa. 300 IN TYPE260 \\# 4 0003c00c",
    "1.102.51.198.in-addr.arpa. 300 IN TYPE260 \\# 6 0a01cb00715a", NULL};
static const char *const cname[] = {
    "12.100.51.198.in-addr.arpa. 60 IN CNAME 12.0-63.100.51.198.in-addr.arpa.",
    "12.0-63.100.51.198.in-addr.arpa. 60 IN TYPE260 \\# 2 0000", NULL};
static const char *const dname[] = {
    "100.51.198.in-addr.arpa. 60 IN DNAME 101.51.198.in-addr.arpa.",
    "12.100.51.198.in-addr.arpa. 60 IN CNAME 12.101.51.198.in-addr.arpa.", NULL};
static const char *const loop[] = {
    "amtrelays.example.com. 60 IN CNAME b.example.com.",
    "b.example.com. 60 IN CNAME amtrelays.example.com.", NULL};
static const char *const addrs[] = {
    "amtrelays.example.com. 60 IN AAAA 2001:db8::15",
    "amtrelays.example.com. 60 IN A 203.0.113.15", NULL};
static const char *const soa[] = {
    "100.51.198.in-addr.arpa. 300 IN SOA ns1.example.com. h.example.com. 1 3600 900 604800 60", NULL};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *q12 = "12.100.51.198.in-addr.arpa.";
    const struct seed seeds[] = {
        {"amtrelay-set", {0, 0}, {.id = 1, .qname = q12, .qtype = 260, .qr = true, .aa = true, .answer = amt}},
        {"malformed-mixed", {3, 3}, {.id = 2, .qname = "1.102.51.198.in-addr.arpa.", .qtype = 260, .qr = true, .answer = bad}},
        {"malformed-lenient", {3, 0x83}, {.id = 2, .qname = "1.102.51.198.in-addr.arpa.", .qtype = 260, .qr = true, .answer = bad}},
        {"cname-chain", {0, 0}, {.id = 3, .qname = q12, .qtype = 260, .qr = true, .answer = cname}},
        {"dname-synth", {0, 0}, {.id = 4, .qname = q12, .qtype = 260, .qr = true, .answer = dname}},
        {"cname-loop", {2, 1}, {.id = 5, .qname = "amtrelays.example.com.", .qtype = 1, .qr = true, .answer = loop}},
        {"a-aaaa", {2, 2}, {.id = 6, .qname = "amtrelays.example.com.", .qtype = 28, .qr = true, .answer = addrs}},
        {"a", {2, 1}, {.id = 6, .qname = "amtrelays.example.com.", .qtype = 1, .qr = true, .answer = addrs}},
        {"nxdomain-soa", {0, 0}, {.id = 7, .qname = q12, .qtype = 260, .qr = true, .rcode = 3, .authority = soa}},
        {"nodata-soa", {0, 0}, {.id = 8, .qname = q12, .qtype = 260, .qr = true, .authority = soa}},
        {"servfail", {0, 0}, {.id = 9, .qname = q12, .qtype = 260, .qr = true, .rcode = 2}},
        {"truncated", {0, 0}, {.id = 10, .qname = q12, .qtype = 260, .qr = true, .tc = true}},
        {"query-not-answer", {0, 0}, {.id = 11, .qname = q12, .qtype = 260}},
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        uint8_t buf[4096];
        int len = test_build(&seeds[i].m, buf, sizeof buf);
        if (len < 0) {
            fprintf(stderr, "%s: cannot build\n", seeds[i].file);
            return 1;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], seeds[i].file);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(seeds[i].sel, 1, 2, f) != 2 || fwrite(buf, 1, (size_t)len, f) != (size_t)len) {
            perror(path);
            return 1;
        }
        fclose(f);
    }
    return 0;
}
