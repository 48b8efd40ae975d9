/* jf-test-util.h — helpers shared by the libjoinfile unit tests. */
#ifndef JF_TEST_UTIL_H
#define JF_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mkdtemp() under /tmp with a recognisable prefix; the six template characters are
 * filled in here.  Returns buf, or NULL on failure. */
static inline char *jf_test_mkdtemp(char *buf, size_t size, const char *name)
{
    int n = snprintf(buf, size, "/tmp/jf-%s-......", name);
    if (n < 6 || (size_t)n >= size)
        return NULL;
    memset(buf + n - 6, 'X', 6);
    return mkdtemp(buf);
}

#endif
