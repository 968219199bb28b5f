/* ms_net.h — client addresses and CIDR prefixes, IPv4 and IPv6.
 *
 * Addresses are kept as 16 bytes; an IPv4 address is stored in the IPv4-mapped
 * IPv6 form (::ffff:a.b.c.d) with family 4, so one comparison serves both. */
#ifndef MS_NET_H
#define MS_NET_H

#include <stdint.h>

typedef struct ms_addr {
    int family;                /* 4 or 6; 0 when unset */
    unsigned char b[16];       /* network order; IPv4 as ::ffff:a.b.c.d */
} ms_addr_t;

typedef struct ms_cidr {
    ms_addr_t net;             /* host bits cleared */
    int bits;                  /* prefix length in the family's own terms (0–32 or 0–128) */
} ms_cidr_t;

/* Parse a textual IPv4 or IPv6 address ("192.0.2.1", "2001:db8::1",
 * "::ffff:192.0.2.1" is taken as IPv4). Returns 0 on success, -1 on error. */
int ms_addr_parse(ms_addr_t *out, const char *s);

/* Format an address into buf (at least 46 bytes). Returns buf. */
const char *ms_addr_format(const ms_addr_t *a, char *buf, int len);

/* Parse "a.b.c.d/n", "x::/n" or a bare address (a host prefix). Host bits set
 * beyond the prefix are an error ("10.0.0.1/8" is rejected, so typos show).
 * Returns 0 on success, -1 on error. */
int ms_cidr_parse(ms_cidr_t *out, const char *s);

/* Format a prefix into buf (at least 50 bytes). Returns buf. */
const char *ms_cidr_format(const ms_cidr_t *c, char *buf, int len);

/* 1 if addr lies inside the prefix (same family only), else 0. */
int ms_cidr_contains(const ms_cidr_t *c, const ms_addr_t *addr);

#endif
