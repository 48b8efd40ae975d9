/* fuzz-answer.c — libFuzzer harness for the DNS answer parser and chain walker.  The
 * first two octets of the input choose the query type and the question name it is
 * checked against; the rest is the message (its own ID is used as the expected ID, so
 * the parser gets past the ID check). */
#include <stddef.h>
#include <stdint.h>

#include "driad-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const qnames[] = {
    "12.100.51.198.in-addr.arpa.",
    "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
    "amtrelays.example.com.",
    "1.102.51.198.in-addr.arpa.",
};
static const uint16_t qtypes[] = {DRIAD_TYPE_AMTRELAY, DRIAD_TYPE_A, DRIAD_TYPE_AAAA,
                                  DRIAD_TYPE_AMTRELAY};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const char *qn = qnames[data[0] % 4];
    uint16_t qtype = qtypes[data[1] % 4];
    unsigned flags = (data[1] & 0x80) ? DRIAD_FLAG_LENIENT_NAMES : 0;
    data += 2;
    size -= 2;
    uint8_t q[DRIAD_NAME_WIRE_MAX];
    int ql = driad_name_parse(qn, q, sizeof q);
    if (ql < 0)
        __builtin_trap();
    struct driad_record rec[8];
    struct driad_ip addrs[8];
    struct driad_answer a = {.records = rec, .records_cap = 8, .addrs = addrs, .addrs_cap = 8};
    uint16_t id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0;
    int r = driad_answer_parse(data, size, id, q, (size_t)ql, qtype, DRIAD_MAX_CHAIN, flags, &a,
                               NULL, NULL);
    if (r == 0) {
        if (a.n_records > 8 || a.n_addrs > 8 || a.hops > DRIAD_MAX_CHAIN)
            __builtin_trap();
        if (driad_wname_check(a.target, a.target_len) != 0)
            __builtin_trap();
        for (size_t i = 0; i < a.n_records; i++)
            if (rec[i].type == DRIAD_RELAY_NAME && driad_wname_check(rec[i].name, rec[i].name_len))
                __builtin_trap();
    }
    return 0;
}
