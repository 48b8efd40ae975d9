/* cbacc-hostmeta.h — pieces of the host-meta parser shared by its XML and JSON halves. */
#ifndef CBACC_HOSTMETA_H
#define CBACC_HOSTMETA_H

#include <stddef.h>

/* Validates an href (a path starting with '/' or an https:// URL, no control characters)
 * and copies it into root without trailing slashes.  Returns 0, CBACC_ERR_SCHEMA or
 * CBACC_ERR_RANGE. */
int cbacc_host_meta_set_root(const char *href, size_t len, char *root, size_t size, char *errbuf,
                             size_t errlen);
/* The JSON form (cbacc-json.c). */
int cbacc_host_meta_json(const char *body, size_t len, char *root, size_t size, char *errbuf,
                         size_t errlen);

#endif
