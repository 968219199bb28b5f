/* fuzz_net.c — libFuzzer harness for addresses and CIDR prefixes (ms_net.c):
 * ms_addr_parse, ms_addr_format, ms_cidr_parse, ms_cidr_format and
 * ms_cidr_contains.
 *
 * An input whose first byte is not 0 is text (up to its first NUL), given to
 * both parsers, as an X-Forwarded-For element or an operator's prefix would
 * be. Asserted:
 *   - ms_addr_parse accepts exactly what inet_pton accepts as IPv4 or IPv6;
 *     on refusal the address is left unset (family 0); on acceptance the
 *     family is 4 exactly when the bytes are ::ffff:a.b.c.d;
 *   - parse -> format -> parse gives the same address, and formatting that
 *     again the same text; the text fits the 46 bytes the header promises;
 *   - ms_cidr_parse accepts exactly "address" or "address/n", n one to three
 *     ASCII digits within the family's range (96-128 for a mapped address in
 *     IPv6 notation, counted from bit 96) with no host bit set; the prefix
 *     contains its own network address; format -> parse round-trips.
 * An input whose first byte is 0 is binary: a family byte, a length byte and
 * two 16-byte addresses. The first is formatted (as inet_ntop would write
 * it) and parsed back; a prefix of the given length is made of it, formatted
 * and parsed back; and ms_cidr_contains answers for the second address as a
 * bit-by-bit comparison does. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_net.h"
#include "fuzz.h"

static const unsigned char mapped_head[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static int same_addr(const ms_addr_t *a, const ms_addr_t *b)
{
    return a->family == b->family && memcmp(a->b, b->b, 16) == 0;
}

static int bit_of(const unsigned char *b, int i)
{
    return (b[i / 8] >> (7 - i % 8)) & 1;
}

/* format -> parse -> format of an address the parser made. */
static void check_addr_roundtrip(const ms_addr_t *a)
{
    char text[46], text2[46];
    ms_addr_t back;

    CHECK(a->family == 4 || a->family == 6);
    CHECK((a->family == 4) == (memcmp(a->b, mapped_head, 12) == 0));
    ms_addr_format(a, text, (int)sizeof(text));
    CHECK(text[0] != '\0');
    CHECK(ms_addr_parse(&back, text) == 0);
    CHECK(same_addr(&back, a));
    ms_addr_format(&back, text2, (int)sizeof(text2));
    CHECK(strcmp(text, text2) == 0);
}

/* format -> parse of a prefix the parser made, and what it contains. */
static void check_cidr(const ms_cidr_t *c)
{
    char text[50];
    ms_cidr_t back;
    int max = c->net.family == 4 ? 32 : 128, from = c->net.family == 4 ? 96 : 0, i;

    CHECK(c->net.family == 4 || c->net.family == 6);
    CHECK(c->bits >= 0 && c->bits <= max);
    for (i = from + c->bits; i < 128; i++)
        CHECK(bit_of(c->net.b, i) == 0);
    CHECK(ms_cidr_contains(c, &c->net) == 1);
    ms_cidr_format(c, text, (int)sizeof(text));
    CHECK(text[0] != '\0');
    CHECK(ms_cidr_parse(&back, text) == 0);
    CHECK(same_addr(&back.net, &c->net) && back.bits == c->bits);
}

static void fuzz_text(const char *s)
{
    unsigned char raw[16];
    int v4 = inet_pton(AF_INET, s, raw) == 1;
    int v6 = !v4 && inet_pton(AF_INET6, s, raw) == 1;
    ms_addr_t a;
    ms_cidr_t c;
    const char *slash = strchr(s, '/');
    int want_cidr = 0, rc;

    rc = ms_addr_parse(&a, s);
    CHECK(rc == 0 || rc == -1);
    CHECK((rc == 0) == (v4 || v6));
    if (rc == 0)
        check_addr_roundtrip(&a);
    else
        CHECK(a.family == 0);

    /* The prefix oracle. */
    {
        char addr[128];
        size_t alen = slash ? (size_t)(slash - s) : strlen(s);
        ms_addr_t net;

        if (alen < sizeof(addr)) {
            memcpy(addr, s, alen);
            addr[alen] = '\0';
            if (ms_addr_parse(&net, addr) == 0) {
                int as_v6 = strchr(addr, ':') != NULL;
                int max = net.family == 4 ? 32 : 128, bits = max, ok = 1;
                size_t n = slash ? strlen(slash + 1) : 0, i;

                if (slash) {
                    ok = n >= 1 && n <= 3;
                    for (i = 0; ok && i < n; i++)
                        ok = slash[1 + i] >= '0' && slash[1 + i] <= '9';
                    bits = ok ? atoi(slash + 1) : 0;
                    if (ok && net.family == 4 && as_v6)
                        ok = bits >= 96 && bits <= 128, bits -= 96;
                    if (ok)
                        ok = bits <= max;
                }
                for (i = (size_t)((net.family == 4 ? 96 : 0) + bits); ok && i < 128; i++)
                    ok = !bit_of(net.b, (int)i);
                want_cidr = ok;
            }
        }
    }
    rc = ms_cidr_parse(&c, s);
    CHECK((rc == 0) == want_cidr);
    if (rc == 0) {
        check_cidr(&c);
        if (!slash) {
            CHECK(ms_addr_parse(&a, s) == 0 && same_addr(&a, &c.net));
            CHECK(c.bits == (a.family == 4 ? 32 : 128));
        }
    }
    else
        CHECK(c.net.family == 0);
}

static void fuzz_binary(const uint8_t *d, size_t size)
{
    ms_addr_t a, b, back;
    ms_cidr_t c;
    char text[64], libc[64];
    int family, max, from, bits, i, inside;

    if (size < 2 + 32)
        return;
    family = d[0] & 1 ? 6 : 4;
    max = family == 4 ? 32 : 128;
    from = family == 4 ? 96 : 0;
    bits = d[1] % (max + 1);
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.family = b.family = family;
    if (family == 4) {
        memcpy(a.b, mapped_head, 12);
        memcpy(b.b, mapped_head, 12);
        memcpy(a.b + 12, d + 2, 4);
        memcpy(b.b + 12, d + 18, 4);
    }
    else {
        memcpy(a.b, d + 2, 16);
        memcpy(b.b, d + 18, 16);
        if (!memcmp(a.b, mapped_head, 12) || !memcmp(b.b, mapped_head, 12))
            return;             /* ms_addr_parse would never make these */
    }

    /* Formatting writes what inet_ntop writes, and parses back. */
    ms_addr_format(&a, text, (int)sizeof(text));
    CHECK(inet_ntop(family == 4 ? AF_INET : AF_INET6, family == 4 ? a.b + 12 : a.b,
                    libc, sizeof(libc)) != NULL);
    CHECK(strcmp(text, libc) == 0);
    CHECK(ms_addr_parse(&back, text) == 0 && same_addr(&back, &a));
    check_addr_roundtrip(&a);
    /* A buffer too small gives "", never a cut address. */
    {
        char small[8];

        ms_addr_format(&a, small, (int)sizeof(small));
        CHECK(small[0] == '\0' || strlen(small) < sizeof(small));
        CHECK(small[0] == '\0' || strcmp(small, text) == 0);
    }

    /* The prefix of a with that length, host bits cleared. */
    memset(&c, 0, sizeof(c));
    c.net = a;
    c.bits = bits;
    for (i = from + bits; i < 128; i++)
        c.net.b[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
    check_cidr(&c);

    inside = 1;
    for (i = from; i < from + bits; i++)
        if (bit_of(c.net.b, i) != bit_of(b.b, i))
            inside = 0;
    CHECK(ms_cidr_contains(&c, &b) == inside);
    CHECK(ms_cidr_contains(&c, &a) == 1);
    /* Other family: never inside. */
    b.family = family == 4 ? 6 : 4;
    CHECK(ms_cidr_contains(&c, &b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;

    if (size >= 1 && data[0] == 0) {
        fuzz_binary(data + 1, size - 1);
        return 0;
    }
    s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    fuzz_text(s);
    CHECK(ms_addr_parse(NULL, s) == -1 && ms_cidr_parse(NULL, s) == -1);
    free(s);
    return 0;
}
