/* fuzz-amt-decode.c — the relay-to-gateway decoder: every message type, and the
 * encapsulated query, report and data parsers on whatever the message carries. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "amt/amt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_record(void *user, int family, const amt_record_view *r)
{
    size_t *n = user;
    /* Touch every source byte the view claims, so an out-of-bounds view is caught. */
    size_t al = family == AMT_IPV6 ? 16 : 4;
    for (size_t i = 0; i < (size_t)r->n_sources * al; i++)
        *n += r->sources[i];
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    amt_msg m;
    if (amt_msg_decode(&m, data, size) == 0) {
        uint8_t out[70000];
        if (m.ip_len) {
            amt_query_info q;
            amt_data d;
            size_t n = 0;
            int fam;
            if (amt_data_parse(&d, m.ip, m.ip_len) == 0) {
                for (size_t i = 0; i < d.payload_len; i++)
                    n += d.payload[i];
            }
            amt_query_parse(&q, m.ip, m.ip_len);
            amt_report_parse(m.ip, m.ip_len, &fam, on_record, &n);
        }
        /* Re-encoding a decoded message must reproduce a message that decodes the same. */
        int len = amt_msg_encode(&m, out, sizeof out);
        if (len > 0) {
            amt_msg m2;
            if (amt_msg_decode(&m2, out, (size_t)len) != 0 || m2.type != m.type ||
                m2.nonce != m.nonce || m2.ip_len != m.ip_len)
                __builtin_trap();
        }
    }
    /* The inner parsers on raw input too. */
    amt_query_info q;
    amt_data d;
    amt_query_parse(&q, data, size);
    amt_data_parse(&d, data, size);
    amt_report_parse(data, size, NULL, NULL, NULL);
    return 0;
}
