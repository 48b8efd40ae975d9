/* libFuzzer harness: DNS answers for SRV / A / AAAA (CNAME and DNAME walking). */
#include <stddef.h>
#include <stdint.h>

#include "cbacc-dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    /* Use the message's own id so the parser gets past the id check. */
    uint16_t id = (uint16_t)(data[0] << 8 | data[1]);
    static const struct { const char *name; uint16_t type; } q[] = {
        {"_dorms._tcp.4.185.212.23.in-addr.arpa.", CBACC_DNS_SRV},
        {"dorms-restconf.example.com.", CBACC_DNS_A},
        {"dorms-restconf.example.com.", CBACC_DNS_AAAA},
    };
    for (size_t i = 0; i < 3; i++) {
        struct cbacc_dns_answer a;
        if (cbacc_dns_parse(data, size, q[i].name, q[i].type, id, &a) == 0) {
            struct cbacc_srv *s = a.srv;
            cbacc_srv_order(s, a.nsrv, NULL, NULL);
            cbacc_dns_answer_clear(&a);
        }
    }
    return 0;
}
