/* libFuzzer harness: DORMS/CBACC JSON metadata and modules-state decoders. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cbacc/cbacc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const sgs[] = {"23.185.212.4,232.1.1.1", "23.185.212.4,232.10.10.1",
                                      "2001:db8::a,ff3e::8000:1"};
    struct cbacc_metadata md;
    struct cbacc_restconf_error e;
    char err[256];
    for (size_t i = 0; i < 3; i++) {
        cbacc_sg sg;
        cbacc_sg_parse(sgs[i], &sg);
        int rc = cbacc_metadata_decode((const char *)data, size, &sg, &md, &e, err, sizeof err);
        if (rc == 0 && md.leaf != CBACC_LEAF_MAX_SPEED && md.leaf != CBACC_LEAF_MAX_BITS_PER_SECOND
            && md.leaf != CBACC_LEAF_STREAM_SUM)
            __builtin_trap();
        if (rc != 0 && memchr(err, '\0', sizeof err) == NULL)
            __builtin_trap();
    }
    cbacc_metadata_decode((const char *)data, size, NULL, &md, NULL, NULL, 0);
    enum cbacc_layout l;
    cbacc_modules_state_decode((const char *)data, size, &l, err, sizeof err);
    return 0;
}
