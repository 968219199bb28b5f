/* ms_net.c — client addresses and CIDR prefixes, IPv4 and IPv6.
 *
 * Parsing leans on inet_pton, which is strict where it matters: no leading or
 * trailing blanks, no "1.2.3" shorthand, no leading zeros in IPv4 octets, no
 * zone ids ("fe80::1%eth0"). What inet_pton does not see is the "/n" suffix of a
 * prefix, so that part is checked here by hand: one to three ASCII digits and
 * nothing else, so "/ 8", "/+8", "/8 " and "/" are errors.
 *
 * IPv4 is kept in the IPv4-mapped form (::ffff:a.b.c.d) with family 4, and a
 * prefix length is in the family's own terms (0–32 for IPv4). A prefix written
 * in IPv6 notation around a mapped address ("::ffff:10.0.0.0/104") therefore
 * has its length in IPv6 terms and becomes the IPv4 prefix 10.0.0.0/8; one
 * shorter than /96 would reach outside the mapped range and is refused. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ms_net.h"

/* Bytes 0–11 of an IPv4-mapped IPv6 address. */
static const unsigned char mapped_head[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Where the family's bits start in the 16-byte form, in bits. */
static int family_offset(int family)
{
    return family == 4 ? 96 : 0;
}

static int family_max_bits(int family)
{
    return family == 4 ? 32 : 128;
}

/* Parse an address without a prefix. IPv4 text goes straight into the mapped
 * form; IPv6 text naming a mapped address is taken as that IPv4 address, so a
 * dual-stack socket's "::ffff:192.0.2.1" and plain "192.0.2.1" are one client. */
static int parse_addr(ms_addr_t *out, const char *s, int *written_as_v6)
{
    unsigned char v4[4];

    memset(out, 0, sizeof(*out));
    *written_as_v6 = 0;
    if (inet_pton(AF_INET, s, v4) == 1) {
        memcpy(out->b, mapped_head, sizeof(mapped_head));
        memcpy(out->b + 12, v4, sizeof(v4));
        out->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, s, out->b) == 1) {
        *written_as_v6 = 1;
        out->family = memcmp(out->b, mapped_head, sizeof(mapped_head)) == 0 ? 4 : 6;
        return 0;
    }
    memset(out, 0, sizeof(*out));
    return -1;
}

int ms_addr_parse(ms_addr_t *out, const char *s)
{
    int as_v6;

    if (out == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    if (s == NULL)
        return -1;
    return parse_addr(out, s, &as_v6);
}

/* Dotted quad, as inet_ntop writes it (glibc's goes through sprintf, and
 * the request path formats every client's address for its draw). */
static const char *format_v4(const unsigned char *q, char *buf, int len)
{
    char tmp[16], *o = tmp;
    int i;

    for (i = 0; i < 4; i++) {
        unsigned v = q[i];

        if (v >= 100)
            *o++ = (char)('0' + v / 100);
        if (v >= 10)
            *o++ = (char)('0' + v / 10 % 10);
        *o++ = (char)('0' + v % 10);
        *o++ = i < 3 ? '.' : '\0';
    }
    if (o - tmp > len)
        return NULL;
    memcpy(buf, tmp, (size_t)(o - tmp));
    return buf;
}

const char *ms_addr_format(const ms_addr_t *a, char *buf, int len)
{
    const char *r = NULL;

    if (buf == NULL || len <= 0)
        return buf;
    if (a != NULL && a->family == 4)
        r = format_v4(a->b + 12, buf, len);
    else if (a != NULL && a->family == 6)
        r = inet_ntop(AF_INET6, a->b, buf, (socklen_t)len);
    if (r == NULL)
        buf[0] = '\0';
    return buf;
}

/* Parse the text after '/': one to three ASCII digits, nothing else. Leading
 * zeros are tolerated ("/08"), signs and blanks are not. */
static int parse_bits(int *bits, const char *s)
{
    size_t i, n = strlen(s);
    int v = 0;

    if (n == 0 || n > 3)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *bits = v;
    return 0;
}

/* 1 if any bit of the 16-byte form after the first `from` bits is set. */
static int host_bits_set(const unsigned char *b, int from)
{
    int i;

    for (i = from; i < 128; i++) {
        if (b[i / 8] & (0x80 >> (i % 8)))
            return 1;
    }
    return 0;
}

int ms_cidr_parse(ms_cidr_t *out, const char *s)
{
    char text[INET6_ADDRSTRLEN + 1];
    const char *slash;
    size_t alen;
    int bits, as_v6, max;

    if (out == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    if (s == NULL)
        return -1;
    slash = strchr(s, '/');
    alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof(text))
        return -1;
    memcpy(text, s, alen);
    text[alen] = '\0';
    if (parse_addr(&out->net, text, &as_v6) != 0)
        goto fail;

    max = family_max_bits(out->net.family);
    if (slash == NULL) {
        bits = max;
    }
    else {
        if (parse_bits(&bits, slash + 1) != 0)
            goto fail;
        if (out->net.family == 4 && as_v6) {
            /* A mapped address in IPv6 notation: the length counts IPv6 bits. */
            if (bits < 96 || bits > 128)
                goto fail;
            bits -= 96;
        }
        if (bits > max)
            goto fail;
    }
    if (host_bits_set(out->net.b, family_offset(out->net.family) + bits))
        goto fail;
    out->bits = bits;
    return 0;

fail:
    memset(out, 0, sizeof(*out));
    return -1;
}

const char *ms_cidr_format(const ms_cidr_t *c, char *buf, int len)
{
    char addr[INET6_ADDRSTRLEN];

    if (buf == NULL || len <= 0)
        return buf;
    if (c == NULL || (c->net.family != 4 && c->net.family != 6)) {
        buf[0] = '\0';
        return buf;
    }
    ms_addr_format(&c->net, addr, (int)sizeof(addr));
    if (snprintf(buf, (size_t)len, "%s/%d", addr, c->bits) >= len)
        buf[0] = '\0';
    return buf;
}

int ms_cidr_contains(const ms_cidr_t *c, const ms_addr_t *addr)
{
    int from, bits, whole, rest;

    if (c == NULL || addr == NULL || c->net.family == 0)
        return 0;
    if (c->net.family != addr->family)
        return 0;
    if (c->bits < 0 || c->bits > family_max_bits(c->net.family))
        return 0;           /* not made by ms_cidr_parse; never match */
    from = family_offset(c->net.family);
    bits = from + c->bits;
    /* Compare whole bytes first, then the leading bits of the next byte. */
    whole = bits / 8;
    rest = bits % 8;
    if (memcmp(c->net.b, addr->b, (size_t)whole) != 0)
        return 0;
    if (rest != 0) {
        unsigned char mask = (unsigned char)(0xff << (8 - rest));

        if ((c->net.b[whole] & mask) != (addr->b[whole] & mask))
            return 0;
    }
    return 1;
}
