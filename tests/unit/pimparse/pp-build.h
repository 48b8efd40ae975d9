/* pp-build.h — builds PIM frames for the unit tests, the fuzz seeds and the benchmark
 * generator: Join/Prune messages from a description, IPv4/IPv6 headers with correct
 * checksums, and link headers of every supported type. */
#ifndef PP_BUILD_H
#define PP_BUILD_H

#include <stddef.h>
#include <stdint.h>

struct ppb_source {
    const char *addr;
    uint8_t flags;
    uint8_t mask; /* 0 = host mask of the family */
};

struct ppb_group {
    const char *addr;
    uint8_t flags;
    uint8_t mask; /* 0 = host mask */
    const struct ppb_source *joins;
    size_t nj;
    const struct ppb_source *prunes;
    size_t np;
};

/* Parses an address: returns 4 or 16 (bytes written to out), aborts the test on error. */
int ppb_addr(const char *text, uint8_t out[16]);

/* A Join/Prune message (PIM header with a zero checksum; ppb_ip fills it). */
size_t ppb_jp(uint8_t *buf, size_t size, const char *upstream, uint16_t holdtime,
              const struct ppb_group *groups, size_t ngroups);

/* An IPv4 (src contains '.') or IPv6 packet around a PIM message; sets the PIM
 * checksum (with the IPv6 pseudo-header) unless keep_csum.  proto is normally 103.
 * Returns the packet length. */
size_t ppb_ip(uint8_t *buf, size_t size, const char *src, const char *dst, uint8_t proto,
              const uint8_t *pim, size_t pim_len, int keep_csum);

/* Recomputes the PIM checksum of a packet built by ppb_ip (after editing the message). */
void ppb_fix_pim_csum(uint8_t *ip, size_t ip_len);
/* Recomputes the IPv4 header checksum. */
void ppb_fix_ip_csum(uint8_t *ip);

/* Prepends a link header of the given DLT for an IP packet.  For EN10MB, vlan_tags
 * 802.1Q/QinQ tags are inserted (0x88a8 outer, 0x8100 inner).  NULL uses little-endian
 * host order.  Returns the frame length. */
size_t ppb_link(uint8_t *buf, size_t size, int linktype, int vlan_tags, const uint8_t *ip,
                size_t ip_len);

/* Writes a classic pcap file header / record. */
#include <stdio.h>
void ppb_pcap_header(FILE *f, int linktype);
void ppb_pcap_record(FILE *f, uint64_t ts_ns, const uint8_t *frame, size_t len);

#endif
