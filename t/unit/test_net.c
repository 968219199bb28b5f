/* test_net.c — addresses and CIDR prefixes (ms_net.h). */
#include <string.h>
#include <arpa/inet.h>

#include "tap.h"
#include "ms_net.h"

static const unsigned char mapped_head[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Parse and format back; NULL when the parse fails. */
static const char *addr_roundtrip(const char *s, char *buf, int len, int *family)
{
    ms_addr_t a;

    *family = -1;
    if (ms_addr_parse(&a, s) != 0)
        return NULL;
    *family = a.family;
    return ms_addr_format(&a, buf, len);
}

static const char *cidr_roundtrip(const char *s, char *buf, int len)
{
    ms_cidr_t c;

    if (ms_cidr_parse(&c, s) != 0)
        return NULL;
    return ms_cidr_format(&c, buf, len);
}

/* 1 if the prefix text contains the address text; -1 when either fails to parse. */
static int contains(const char *cidr, const char *addr)
{
    ms_cidr_t c;
    ms_addr_t a;

    if (ms_cidr_parse(&c, cidr) != 0 || ms_addr_parse(&a, addr) != 0)
        return -1;
    return ms_cidr_contains(&c, &a);
}

static void test_addr_parse(void)
{
    char buf[64];
    int fam;
    ms_addr_t a;

    is_str(addr_roundtrip("192.0.2.1", buf, sizeof(buf), &fam), "192.0.2.1", "IPv4 round trip");
    is_int(fam, 4, "IPv4 has family 4");
    ms_addr_parse(&a, "192.0.2.1");
    ok(memcmp(a.b, mapped_head, 12) == 0 && a.b[12] == 192 && a.b[13] == 0
       && a.b[14] == 2 && a.b[15] == 1, "IPv4 stored as ::ffff:192.0.2.1");

    is_str(addr_roundtrip("2001:db8::1", buf, sizeof(buf), &fam), "2001:db8::1", "IPv6 round trip");
    is_int(fam, 6, "IPv6 has family 6");
    is_str(addr_roundtrip("2001:DB8:0:0:0:0:0:1", buf, sizeof(buf), &fam), "2001:db8::1",
           "IPv6 long upper-case form is canonicalised");
    is_str(addr_roundtrip("::ffff:192.0.2.1", buf, sizeof(buf), &fam), "192.0.2.1",
           "::ffff:192.0.2.1 is taken as IPv4");
    is_int(fam, 4, "mapped address has family 4");
    is_str(addr_roundtrip("::FFFF:c000:0201", buf, sizeof(buf), &fam), "192.0.2.1",
           "mapped address in hex notation is IPv4 too");
    is_int(fam, 4, "hex mapped address has family 4");
    is_str(addr_roundtrip("::1", buf, sizeof(buf), &fam), "::1", "::1");
    is_int(fam, 6, "::1 is IPv6");
    is_str(addr_roundtrip("::", buf, sizeof(buf), &fam), "::", "::");
    is_int(fam, 6, ":: is IPv6");
    is_str(addr_roundtrip("::192.0.2.1", buf, sizeof(buf), &fam), "::192.0.2.1",
           "IPv4-compatible (not mapped) stays IPv6");
    is_int(fam, 6, "IPv4-compatible has family 6");
    is_str(addr_roundtrip("0.0.0.0", buf, sizeof(buf), &fam), "0.0.0.0", "0.0.0.0");
    is_str(addr_roundtrip("255.255.255.255", buf, sizeof(buf), &fam), "255.255.255.255",
           "255.255.255.255");
    is_str(addr_roundtrip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", buf, sizeof(buf), &fam),
           "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "all-ones IPv6");
}

static void test_addr_reject(void)
{
    static const char *const bad[] = {
        "", " 192.0.2.1", "192.0.2.1 ", "+192.0.2.1", "192.0.2", "192.0.2.1.5",
        "256.0.0.1", "192.0.2.-1", "192.0.02.1", "192.0.2.1/32", "0x7f.0.0.1", "192.0.2.1\n",
        "fe80::1%eth0", "2001:db8:::1", "2001:db8::1::2", "gggg::1", "1:2:3:4:5:6:7:8:9",
        "localhost", "[2001:db8::1]", "::ffff:256.0.0.1", "-1",
    };
    size_t i;
    ms_addr_t a;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&a, 0x55, sizeof(a));
        ok(ms_addr_parse(&a, bad[i]) == -1 && a.family == 0,
           "address '%s' is refused and left unset", bad[i]);
    }
    ok(ms_addr_parse(&a, NULL) == -1, "NULL address is refused");
}

static void test_addr_format(void)
{
    ms_addr_t a;
    char small[8];
    char buf[64];

    ms_addr_parse(&a, "2001:db8::1");
    is_str(ms_addr_format(&a, small, sizeof(small)), "", "too small a buffer gives \"\"");
    memset(&a, 0, sizeof(a));
    is_str(ms_addr_format(&a, buf, sizeof(buf)), "", "an unset address formats as \"\"");
}

static void test_cidr_parse(void)
{
    char buf[64];
    ms_cidr_t c;

    is_str(cidr_roundtrip("10.0.0.0/8", buf, sizeof(buf)), "10.0.0.0/8", "10.0.0.0/8");
    ms_cidr_parse(&c, "10.0.0.0/8");
    ok(c.net.family == 4 && c.bits == 8, "10.0.0.0/8: family 4, 8 bits");
    is_str(cidr_roundtrip("10.0.0.1/32", buf, sizeof(buf)), "10.0.0.1/32", "host /32");
    is_str(cidr_roundtrip("10.0.0.1", buf, sizeof(buf)), "10.0.0.1/32",
           "bare IPv4 address is a /32");
    is_str(cidr_roundtrip("0.0.0.0/0", buf, sizeof(buf)), "0.0.0.0/0", "0.0.0.0/0");
    is_str(cidr_roundtrip("10.0.0.0/08", buf, sizeof(buf)), "10.0.0.0/8",
           "a leading zero in the length is tolerated");
    is_str(cidr_roundtrip("2001:db8::/32", buf, sizeof(buf)), "2001:db8::/32", "2001:db8::/32");
    ms_cidr_parse(&c, "2001:db8::/32");
    ok(c.net.family == 6 && c.bits == 32, "2001:db8::/32: family 6, 32 bits");
    is_str(cidr_roundtrip("2001:db8::1", buf, sizeof(buf)), "2001:db8::1/128",
           "bare IPv6 address is a /128");
    is_str(cidr_roundtrip("::/0", buf, sizeof(buf)), "::/0", "::/0");
    is_str(cidr_roundtrip("2001:db8::/127", buf, sizeof(buf)), "2001:db8::/127", "/127");
    is_str(cidr_roundtrip("::ffff:10.0.0.0/104", buf, sizeof(buf)), "10.0.0.0/8",
           "mapped prefix in IPv6 terms becomes the IPv4 prefix");
    is_str(cidr_roundtrip("::ffff:0:0/96", buf, sizeof(buf)), "0.0.0.0/0",
           "::ffff:0:0/96 is all of IPv4");
    is_str(cidr_roundtrip("::ffff:10.0.0.1", buf, sizeof(buf)), "10.0.0.1/32",
           "bare mapped address is an IPv4 /32");
}

static void test_cidr_reject(void)
{
    static const char *const bad[] = {
        "10.0.0.1/8", "1.0.0.0/0", "192.0.2.128/24", "2001:db8::1/64", "2001:db8::/16",
        "::1/0", "2001:db8::1/127",
        "1.2.3.4/33", "1.2.3.0/100", "1.2.3.0/1000", "2001:db8::/129",
        "/8", "/", "1.2.3.4/", "1.2.3.4/ 8", "1.2.3.4/8 ", " 1.2.3.0/24", "+1.2.3.0/24",
        "1.2.3.4/+8", "1.2.3.4/-1", "1.2.3.0/24/24", "1.2.3.0//24", "1.2.3.0/0x18",
        "1.2.3.0/2a", "1.2.3.0/24\n", "", "1.2.3", "10.0.0.0 /8", "10/8", "10.0/16",
        "::ffff:10.0.0.0/8", "::ffff:10.0.0.0/95", "::ffff:10.0.0.0/129",
        "fe80::%eth0/64", "2001:db8::/64x",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/8",
    };
    size_t i;
    ms_cidr_t c;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&c, 0x55, sizeof(c));
        ok(ms_cidr_parse(&c, bad[i]) == -1 && c.net.family == 0,
           "prefix '%s' is refused and left unset", bad[i]);
    }
    ok(ms_cidr_parse(&c, NULL) == -1, "NULL prefix is refused");
}

static void test_contains_v4(void)
{
    is_int(contains("192.0.2.0/24", "192.0.2.0"), 1, "/24: first address in");
    is_int(contains("192.0.2.0/24", "192.0.2.255"), 1, "/24: last address in");
    is_int(contains("192.0.2.0/24", "192.0.1.255"), 0, "/24: address before out");
    is_int(contains("192.0.2.0/24", "192.0.3.0"), 0, "/24: address after out");
    is_int(contains("10.0.0.0/9", "10.127.255.255"), 1, "/9: last address in");
    is_int(contains("10.0.0.0/9", "10.128.0.0"), 0, "/9: address after out");
    is_int(contains("172.16.0.0/12", "172.31.255.255"), 1, "/12: last address in");
    is_int(contains("172.16.0.0/12", "172.32.0.0"), 0, "/12: address after out");
    is_int(contains("172.16.0.0/12", "172.15.255.255"), 0, "/12: address before out");
    is_int(contains("192.0.2.1/32", "192.0.2.1"), 1, "/32: the address in");
    is_int(contains("192.0.2.1/32", "192.0.2.2"), 0, "/32: next out");
    is_int(contains("192.0.2.1/32", "192.0.2.0"), 0, "/32: previous out");
    is_int(contains("192.0.2.1", "192.0.2.1"), 1, "bare address contains itself");
    is_int(contains("0.0.0.0/0", "0.0.0.0"), 1, "/0: 0.0.0.0 in");
    is_int(contains("0.0.0.0/0", "255.255.255.255"), 1, "/0: 255.255.255.255 in");
    is_int(contains("0.0.0.0/0", "::ffff:198.51.100.7"), 1, "/0: mapped address in");
    is_int(contains("0.0.0.0/0", "::"), 0, "IPv4 /0 does not contain ::");
    is_int(contains("0.0.0.0/0", "2001:db8::1"), 0, "IPv4 /0 does not contain IPv6");
    is_int(contains("0.0.0.0/0", "::192.0.2.1"), 0,
           "IPv4 /0 does not contain IPv4-compatible IPv6");
    is_int(contains("::ffff:192.0.2.0/120", "192.0.2.77"), 1,
           "mapped-notation prefix contains plain IPv4");
    is_int(contains("192.0.2.0/24", "::ffff:192.0.2.77"), 1,
           "IPv4 prefix contains mapped-notation address");
}

static void test_contains_v6(void)
{
    is_int(contains("2001:db8::/32", "2001:db8::"), 1, "v6 /32: first in");
    is_int(contains("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), 1,
           "v6 /32: last in");
    is_int(contains("2001:db8::/32", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"), 0,
           "v6 /32: before out");
    is_int(contains("2001:db8::/32", "2001:db9::"), 0, "v6 /32: after out");
    is_int(contains("2001:db8:0:0:8000::/65", "2001:db8::8000:0:0:0"), 1, "/65: first in");
    is_int(contains("2001:db8:0:0:8000::/65", "2001:db8::ffff:ffff:ffff:ffff"), 1,
           "/65: last in");
    is_int(contains("2001:db8:0:0:8000::/65", "2001:db8::7fff:ffff:ffff:ffff"), 0,
           "/65: before out");
    is_int(contains("2001:db8::/127", "2001:db8::"), 1, "/127: first in");
    is_int(contains("2001:db8::/127", "2001:db8::1"), 1, "/127: last in");
    is_int(contains("2001:db8::/127", "2001:db8::2"), 0, "/127: after out");
    is_int(contains("2001:db8::1/128", "2001:db8::1"), 1, "/128: the address in");
    is_int(contains("2001:db8::1/128", "2001:db8::"), 0, "/128: previous out");
    is_int(contains("2001:db8::1/128", "2001:db8::2"), 0, "/128: next out");
    is_int(contains("::/0", "::"), 1, "::/0 contains ::");
    is_int(contains("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 1,
           "::/0 contains all-ones");
    is_int(contains("::/0", "192.0.2.1"), 0, "::/0 does not contain IPv4");
    is_int(contains("::/0", "::ffff:192.0.2.1"), 0, "::/0 does not contain mapped IPv4");
    is_int(contains("::/96", "::192.0.2.1"), 1, "::/96 contains IPv4-compatible");
    is_int(contains("::/96", "192.0.2.1"), 0, "::/96 does not contain IPv4");
}

static void test_contains_odd(void)
{
    ms_cidr_t c;
    ms_addr_t a;

    ms_cidr_parse(&c, "0.0.0.0/0");
    memset(&a, 0, sizeof(a));
    is_int(ms_cidr_contains(&c, &a), 0, "an unset address is in no prefix");
    ms_addr_parse(&a, "192.0.2.1");
    memset(&c, 0, sizeof(c));
    is_int(ms_cidr_contains(&c, &a), 0, "an unset prefix contains nothing");
    ms_cidr_parse(&c, "192.0.2.0/24");
    c.bits = 40;
    is_int(ms_cidr_contains(&c, &a), 0, "a hand-made prefix longer than 32 bits matches nothing");
    is_int(ms_cidr_contains(NULL, &a), 0, "NULL prefix contains nothing");
}

/* 16-byte arithmetic for the exhaustive boundary walk. */
static void bytes_mask(unsigned char *b, int from, int set)
{
    int i;

    for (i = from; i < 128; i++) {
        if (set)
            b[i / 8] |= (unsigned char)(0x80 >> (i % 8));
        else
            b[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
    }
}

/* Add delta (+1 or -1) to the low `width` bits; 0 when it wrapped. */
static int bytes_step(unsigned char *b, int delta, int width)
{
    int i, lo = 16 - width / 8;

    for (i = 15; i >= lo; i--) {
        unsigned char before = b[i];

        b[i] = (unsigned char)(b[i] + delta);
        if ((delta > 0 && before != 0xff) || (delta < 0 && before != 0x00))
            return 1;
    }
    return 0;
}

/* For every prefix length: the network's first and last address are inside,
 * the addresses just before and after are not, and the text round-trips. */
static void walk_lengths(int family)
{
    int max = family == 4 ? 32 : 128, off = family == 4 ? 96 : 0;
    int bits, good = 0;

    for (bits = 0; bits <= max; bits++) {
        ms_addr_t first, last, probe;
        ms_cidr_t c, back;
        char text[64];
        int pass = 1;

        memset(&first, 0, sizeof(first));
        first.family = family;
        memset(first.b, 0xa5, 16);
        if (family == 4)
            memcpy(first.b, mapped_head, 12);
        bytes_mask(first.b, off + bits, 0);
        last = first;
        bytes_mask(last.b, off + bits, 1);
        c.net = first;
        c.bits = bits;

        pass &= ms_cidr_contains(&c, &first) == 1;
        pass &= ms_cidr_contains(&c, &last) == 1;
        probe = first;
        if (bytes_step(probe.b, -1, max))
            pass &= ms_cidr_contains(&c, &probe) == 0;
        probe = last;
        if (bytes_step(probe.b, +1, max))
            pass &= ms_cidr_contains(&c, &probe) == 0;
        ms_cidr_format(&c, text, sizeof(text));
        pass &= ms_cidr_parse(&back, text) == 0 && back.bits == bits
            && memcmp(back.net.b, first.b, 16) == 0 && back.net.family == family;
        if (!pass)
            diag("IPv%d /%d failed (%s)", family, bits, text);
        good += pass;
    }
    is_int(good, max + 1, "IPv%d: every length /0../%d has exact boundaries and round-trips",
           family, max);
}

/* The hand-written dotted quad is inet_ntop's, for addresses spread over
 * the whole space and the edges (one-, two- and three-digit parts). */
static void test_format_v4_like_ntop(void)
{
    unsigned long i, bad = 0;

    for (i = 0; i < 200000; i++) {
        uint32_t x = (uint32_t)(i * 2654435761u);
        char mine[INET_ADDRSTRLEN], libc[INET_ADDRSTRLEN];
        ms_addr_t a;

        if (i < 4)
            x = (uint32_t[]){ 0, 0xffffffffu, 0x0a00000au, 0x64636209u }[i];
        memset(&a, 0, sizeof(a));
        a.family = 4;
        memcpy(a.b + 12, &x, 4);
        ms_addr_format(&a, mine, sizeof(mine));
        inet_ntop(AF_INET, a.b + 12, libc, sizeof(libc));
        bad += strcmp(mine, libc) != 0;
    }
    is_int((int)bad, 0, "IPv4 text as inet_ntop writes it, for 200,000 addresses");
}

int main(void)
{
    test_format_v4_like_ntop();
    test_addr_parse();
    test_addr_reject();
    test_addr_format();
    test_cidr_parse();
    test_cidr_reject();
    test_contains_v4();
    test_contains_v6();
    test_contains_odd();
    walk_lengths(4);
    walk_lengths(6);
    return done_testing();
}
