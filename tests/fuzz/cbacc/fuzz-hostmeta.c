/* libFuzzer harness: host-meta parser (XRD XML and JSON). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cbacc/cbacc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char root[512], small[8], err[256];
    int rc = cbacc_host_meta_parse((const char *)data, size, root, sizeof root, err, sizeof err);
    /* A root is an absolute path or an https URL, NUL-terminated within the buffer. */
    if (rc == 0 && (memchr(root, '\0', sizeof root) == NULL
                    || (root[0] != '\0' && root[0] != '/' && strncmp(root, "https://", 8) != 0)))
        __builtin_trap();
    cbacc_host_meta_parse((const char *)data, size, small, sizeof small, NULL, 0);
    return 0;
}
