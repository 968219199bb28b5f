/* ms_benchgen — the data of `make bench`, written through the core's own
 * write functions (ms_db_mirror_insert, ms_db_file_put, ms_db_copy_put,
 * ms_db_health_put) in big transactions.
 *
 *   ms_benchgen db --db OUT.db --root DIR --lists DIR --files N
 *                  [--mirrors 500] [--seed 1]
 *       A database of MIRRORS mirrors on every continent and N origin files,
 *       each held by a share of the mirrors, with health records; the matching
 *       origin tree under DIR as sparse files (same size and mtime as the
 *       index, so the module's stat() agrees with it); and in DIR/../LISTS
 *       hot.txt (a hot set of 1,000 paths) and tail.txt (up to 100,000 paths
 *       drawn from all files), the paths wrk requests. Deterministic for a
 *       given seed.
 *
 *   ms_benchgen clients --geoip CITY.mmdb --db DB --out FILE [--count 5000]
 *       Client addresses for wrk: the mmdb's networks are walked, sampled per
 *       country (weighted by the square root of the country's network count,
 *       so many countries show up), one address drawn inside each; about 15 %
 *       IPv6, and 3 % inside mirrors' --prefix networks (the prefix tier).
 *       Works with the real GeoLite2-City and with a generated test mmdb.
 *
 *   ms_benchgen churn --db DB --seconds S [--copies 2000] [--probes 1] [--changes 0] [--seed 1]
 *       What a mirror network in steady state writes while the benchmark
 *       runs, through the tool's write functions: each second, one commit of
 *       COPIES copies seen again by a rescan (the same size and mtime, a new
 *       `seen`), and (unless --probes 0) one probe that marks a mirror down (a second later, up
 *       again). Leaves every mirror's state as it found it; only `seen` and
 *       probe times move. Prints the commits made and their mean time.
 *
 * Speed: the only SQL of this file is PRAGMAs, run on the core's own
 * connection (captured with sqlite3_auto_extension, the one public hook to
 * it): no journal, no fsync, no foreign-key checks and a 1 GiB page cache
 * while generating; journal_mode is set back to WAL before closing. The data
 * are consistent by construction. The database is written under a temporary
 * name and renamed when complete.
 *
 * Exit 0 on success, 1 on failure, 2 on a usage error. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <maxminddb.h>
#include <sqlite3.h>

#include "ms_country.h"
#include "ms_db.h"
#include "ms_geo.h"
#include "ms_net.h"

static const char *prog = "ms_benchgen";

#define T0            1764547200LL   /* 2025-12-01: the data's "now", fixed */
#define MIN_REDIRECT  4096           /* MirrorSelMinSize's default */
#define HOT_COUNT     1000
#define TAIL_MAX      100000
#define FILES_PER_TXN 20000

/* ------------------------------------------------------------------ */
/* randomness: xoshiro256**, seeded by splitmix64                      */

typedef struct rng { uint64_t s[4]; } rng_t;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed)
{
    int i;
    for (i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rnd(rng_t *r)
{
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 45);
    return out;
}

static double rnd_u(rng_t *r) { return (double)(rnd(r) >> 11) * (1.0 / 9007199254740992.0); }
static int rnd_int(rng_t *r, int lo, int hi) { return lo + (int)(rnd(r) % (uint64_t)(hi - lo + 1)); }
static double rnd_range(rng_t *r, double lo, double hi) { return lo + (hi - lo) * rnd_u(r); }

static double rnd_normal(rng_t *r)
{
    double u1 = rnd_u(r), u2 = rnd_u(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* A log-normal size around a median, clamped. */
static int64_t rnd_size(rng_t *r, double median, double sigma, double lo, double hi)
{
    double v = median * exp(sigma * rnd_normal(r));
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    return (int64_t)v;
}

/* ------------------------------------------------------------------ */
/* where the mirrors are                                               */

typedef struct city {
    const char *cc, *code, *name;
    double lat, lon;
    uint32_t asn[3];
    int share;                 /* relative number of mirrors */
} city_t;

/* Real cities, and the AS numbers of networks that host mirrors there
 * (research networks, universities, hosting providers). */
static const city_t cities[] = {
    /* Europe */
    { "DE", "fra", "Frankfurt",    50.11,    8.68, { 24940, 680, 3320 }, 18 },
    { "DE", "ber", "Berlin",       52.52,   13.40, { 680, 8881, 3320 }, 8 },
    { "DE", "muc", "Munich",       48.14,   11.58, { 680, 12816, 3320 }, 6 },
    { "DE", "nue", "Nuremberg",    49.45,   11.08, { 24940, 680, 51167 }, 6 },
    { "DE", "erl", "Erlangen",     49.60,   11.00, { 680, 680, 680 }, 3 },
    { "DE", "ka",  "Karlsruhe",    49.01,    8.40, { 34878, 680, 8560 }, 3 },
    { "NL", "ams", "Amsterdam",    52.37,    4.90, { 1101, 60781, 1103 }, 14 },
    { "NL", "ein", "Eindhoven",    51.44,    5.47, { 1101, 1103, 50673 }, 2 },
    { "FR", "par", "Paris",        48.86,    2.35, { 12876, 2200, 16276 }, 10 },
    { "FR", "rbx", "Roubaix",      50.69,    3.17, { 16276, 16276, 16276 }, 4 },
    { "FR", "lyo", "Lyon",         45.76,    4.84, { 2200, 12876, 8218 }, 2 },
    { "GB", "lon", "London",       51.51,   -0.13, { 786, 20860, 5459 }, 10 },
    { "GB", "man", "Manchester",   53.48,   -2.24, { 786, 20860, 786 }, 3 },
    { "GB", "edi", "Edinburgh",    55.95,   -3.19, { 786, 786, 786 }, 2 },
    { "SE", "sto", "Stockholm",    59.33,   18.07, { 1653, 1299, 8473 }, 6 },
    { "SE", "umu", "Umea",         63.83,   20.26, { 1653, 1653, 1653 }, 2 },
    { "FI", "hel", "Helsinki",     60.17,   24.94, { 1741, 24940, 719 }, 4 },
    { "NO", "osl", "Oslo",         59.91,   10.75, { 224, 2119, 224 }, 3 },
    { "DK", "cph", "Copenhagen",   55.68,   12.57, { 1835, 3292, 1835 }, 3 },
    { "CH", "zrh", "Zurich",       47.37,    8.54, { 559, 13030, 3303 }, 5 },
    { "CH", "gva", "Geneva",       46.20,    6.15, { 559, 513, 559 }, 2 },
    { "AT", "vie", "Vienna",       48.21,   16.37, { 1853, 1764, 8447 }, 4 },
    { "CZ", "prg", "Prague",       50.08,   14.44, { 2852, 5588, 2852 }, 5 },
    { "CZ", "brq", "Brno",         49.20,   16.61, { 2852, 2852, 197019 }, 2 },
    { "PL", "waw", "Warsaw",       52.23,   21.01, { 8501, 12741, 8501 }, 4 },
    { "PL", "poz", "Poznan",       52.41,   16.93, { 9112, 8501, 9112 }, 2 },
    { "IT", "mil", "Milan",        45.46,    9.19, { 137, 12637, 3269 }, 4 },
    { "IT", "rom", "Rome",         41.90,   12.50, { 137, 3269, 137 }, 2 },
    { "ES", "mad", "Madrid",       40.42,   -3.70, { 766, 3352, 766 }, 4 },
    { "ES", "bcn", "Barcelona",    41.39,    2.17, { 13041, 766, 13041 }, 2 },
    { "PT", "lis", "Lisbon",       38.72,   -9.14, { 1930, 3243, 1930 }, 2 },
    { "IE", "dub", "Dublin",       53.35,   -6.26, { 1213, 16509, 1213 }, 3 },
    { "BE", "bru", "Brussels",     50.85,    4.35, { 2611, 5432, 2611 }, 2 },
    { "LU", "lux", "Luxembourg",   49.61,    6.13, { 2602, 53667, 2602 }, 1 },
    { "GR", "ath", "Athens",       37.98,   23.73, { 5408, 5408, 6799 }, 2 },
    { "RO", "buh", "Bucharest",    44.43,   26.10, { 2614, 8708, 2614 }, 2 },
    { "HU", "bud", "Budapest",     47.50,   19.04, { 1955, 5483, 1955 }, 2 },
    { "BG", "sof", "Sofia",        42.70,   23.32, { 6802, 8717, 6802 }, 2 },
    { "UA", "iev", "Kyiv",         50.45,   30.52, { 3255, 15895, 3255 }, 2 },
    { "RU", "mow", "Moscow",       55.76,   37.62, { 13238, 2848, 3267 }, 4 },
    { "RU", "led", "Saint Petersburg", 59.94, 30.31, { 2847, 3267, 2847 }, 2 },
    { "LT", "vno", "Vilnius",      54.69,   25.28, { 2847, 2847, 2847 }, 1 },
    { "LV", "rix", "Riga",         56.95,   24.11, { 5538, 5538, 5538 }, 1 },
    { "EE", "tll", "Tallinn",      59.44,   24.75, { 3221, 3221, 3221 }, 1 },
    { "SK", "bts", "Bratislava",   48.15,   17.11, { 2607, 2607, 2607 }, 1 },
    { "SI", "lju", "Ljubljana",    46.06,   14.51, { 2107, 2107, 2107 }, 1 },
    { "HR", "zag", "Zagreb",       45.81,   15.98, { 2108, 2108, 2108 }, 1 },
    { "RS", "beg", "Belgrade",     44.79,   20.45, { 13092, 13092, 13092 }, 1 },
    { "IS", "rek", "Reykjavik",    64.15,  -21.94, { 6677, 6677, 6677 }, 1 },
    /* North America */
    { "US", "nyc", "New York",     40.71,  -74.01, { 20473, 14061, 174 }, 8 },
    { "US", "iad", "Ashburn",      39.04,  -77.49, { 16509, 20473, 396982 }, 6 },
    { "US", "chi", "Chicago",      41.88,  -87.63, { 11537, 20473, 174 }, 6 },
    { "US", "dfw", "Dallas",       32.78,  -96.80, { 20473, 63949, 174 }, 5 },
    { "US", "atl", "Atlanta",      33.75,  -84.39, { 20473, 63949, 11537 }, 4 },
    { "US", "sea", "Seattle",      47.61, -122.33, { 73, 20473, 174 }, 4 },
    { "US", "sjc", "San Jose",     37.34, -121.89, { 20473, 14061, 6939 }, 6 },
    { "US", "lax", "Los Angeles",  34.05, -118.24, { 20473, 2152, 174 }, 5 },
    { "US", "den", "Denver",       39.74, -104.99, { 14041, 20473, 174 }, 2 },
    { "US", "mia", "Miami",        25.76,  -80.19, { 20473, 11537, 174 }, 2 },
    { "US", "bos", "Boston",       42.36,  -71.06, { 3, 11537, 174 }, 3 },
    { "US", "pit", "Pittsburgh",   40.44,  -79.99, { 9, 11537, 3909 }, 2 },
    { "US", "pdx", "Corvallis",    44.56, -123.26, { 3701, 3701, 3701 }, 3 },
    { "US", "slc", "Salt Lake City", 40.76, -111.89, { 210, 11537, 174 }, 2 },
    { "US", "msp", "Minneapolis",  44.98,  -93.27, { 57, 11537, 174 }, 2 },
    { "US", "rdu", "Raleigh",      35.78,  -78.64, { 81, 11537, 174 }, 2 },
    { "US", "cmh", "Columbus",     39.96,  -83.00, { 159, 11537, 16509 }, 2 },
    { "CA", "yyz", "Toronto",      43.65,  -79.38, { 812, 19752, 6939 }, 5 },
    { "CA", "yul", "Montreal",     45.50,  -73.57, { 16276, 376, 6939 }, 3 },
    { "CA", "yvr", "Vancouver",    49.28, -123.12, { 271, 6939, 271 }, 2 },
    { "CA", "ykf", "Waterloo",     43.46,  -80.52, { 12093, 12093, 12093 }, 1 },
    { "MX", "mex", "Mexico City",  19.43,  -99.13, { 278, 8151, 278 }, 2 },
    { "CR", "sjo", "San Jose CR",   9.93,  -84.08, { 11820, 11820, 11820 }, 1 },
    /* South America */
    { "BR", "sao", "Sao Paulo",   -23.55,  -46.63, { 1916, 28573, 262287 }, 7 },
    { "BR", "rio", "Rio de Janeiro", -22.91, -43.17, { 1916, 1916, 1916 }, 2 },
    { "BR", "cwb", "Curitiba",    -25.43,  -49.27, { 1916, 53062, 1916 }, 2 },
    { "AR", "bue", "Buenos Aires", -34.60, -58.38, { 4270, 7303, 4270 }, 3 },
    { "CL", "scl", "Santiago",    -33.45,  -70.67, { 11340, 27678, 11340 }, 2 },
    { "CO", "bog", "Bogota",        4.71,  -74.07, { 27817, 27817, 27817 }, 2 },
    { "EC", "uio", "Quito",        -0.18,  -78.47, { 27751, 27751, 27751 }, 1 },
    { "PE", "lim", "Lima",        -12.05,  -77.04, { 6147, 6147, 6147 }, 1 },
    { "UY", "mvd", "Montevideo",  -34.90,  -56.16, { 6057, 28000, 6057 }, 1 },
    /* Asia */
    { "JP", "tyo", "Tokyo",        35.68,  139.69, { 2500, 2907, 7684 }, 8 },
    { "JP", "osa", "Osaka",        34.69,  135.50, { 2907, 9370, 2907 }, 3 },
    { "JP", "tsu", "Tsukuba",      36.08,  140.11, { 2907, 2907, 2907 }, 2 },
    { "KR", "sel", "Seoul",        37.57,  126.98, { 9318, 17858, 4766 }, 4 },
    { "KR", "daj", "Daejeon",      36.35,  127.38, { 1237, 1237, 1237 }, 2 },
    { "CN", "bjs", "Beijing",      39.90,  116.40, { 4538, 4808, 4538 }, 6 },
    { "CN", "sha", "Shanghai",     31.23,  121.47, { 4538, 4812, 4538 }, 4 },
    { "CN", "hgh", "Hangzhou",     30.27,  120.16, { 37963, 37963, 4538 }, 3 },
    { "CN", "hfe", "Hefei",        31.82,  117.23, { 4538, 4538, 4538 }, 2 },
    { "CN", "can", "Guangzhou",    23.13,  113.26, { 4538, 4134, 4538 }, 2 },
    { "TW", "tpe", "Taipei",       25.03,  121.57, { 1659, 3462, 1659 }, 4 },
    { "TW", "hsz", "Hsinchu",      24.80,  120.97, { 1659, 1659, 1659 }, 2 },
    { "HK", "hkg", "Hong Kong",    22.32,  114.17, { 3363, 4515, 3363 }, 3 },
    { "SG", "sin", "Singapore",     1.35,  103.82, { 7472, 14061, 16509 }, 4 },
    { "IN", "bom", "Mumbai",       19.08,   72.88, { 2697, 16509, 55836 }, 3 },
    { "IN", "blr", "Bangalore",    12.97,   77.59, { 2697, 14061, 2697 }, 2 },
    { "ID", "jkt", "Jakarta",      -6.21,  106.85, { 4800, 4800, 7713 }, 3 },
    { "TH", "bkk", "Bangkok",      13.76,  100.50, { 3836, 4621, 3836 }, 2 },
    { "VN", "han", "Hanoi",        21.03,  105.85, { 24176, 24176, 24176 }, 1 },
    { "MY", "kul", "Kuala Lumpur",  3.14,  101.69, { 3758, 3758, 3758 }, 1 },
    { "PH", "mnl", "Manila",       14.60,  120.98, { 9821, 9821, 9821 }, 1 },
    { "IL", "tlv", "Tel Aviv",     32.09,   34.78, { 378, 378, 378 }, 2 },
    { "TR", "ist", "Istanbul",     41.01,   28.98, { 8517, 8517, 34984 }, 2 },
    { "KZ", "ala", "Almaty",       43.24,   76.89, { 21299, 21299, 21299 }, 1 },
    { "IR", "thr", "Tehran",       35.69,   51.39, { 6736, 6736, 6736 }, 1 },
    { "AE", "dxb", "Dubai",        25.20,   55.27, { 5384, 5384, 5384 }, 1 },
    { "BD", "dac", "Dhaka",        23.81,   90.41, { 63932, 63932, 63932 }, 1 },
    { "PK", "khi", "Karachi",      24.86,   67.01, { 45773, 45773, 45773 }, 1 },
    { "NP", "ktm", "Kathmandu",    27.72,   85.32, { 45170, 45170, 45170 }, 1 },
    /* Oceania */
    { "AU", "syd", "Sydney",      -33.87,  151.21, { 7575, 4826, 7575 }, 5 },
    { "AU", "mel", "Melbourne",   -37.81,  144.96, { 7575, 4826, 7575 }, 3 },
    { "AU", "bne", "Brisbane",    -27.47,  153.03, { 7575, 7575, 7575 }, 2 },
    { "AU", "per", "Perth",       -31.95,  115.86, { 7575, 7575, 7575 }, 2 },
    { "NZ", "akl", "Auckland",    -36.85,  174.76, { 38022, 9560, 38022 }, 2 },
    { "NZ", "wlg", "Wellington",  -41.29,  174.78, { 38022, 38022, 38022 }, 1 },
    /* Africa */
    { "ZA", "jnb", "Johannesburg", -26.20,  28.05, { 2018, 37153, 2018 }, 3 },
    { "ZA", "cpt", "Cape Town",   -33.92,   18.42, { 2018, 2018, 2018 }, 2 },
    { "KE", "nbo", "Nairobi",      -1.29,   36.82, { 36914, 36914, 36914 }, 1 },
    { "NG", "los", "Lagos",         6.52,    3.38, { 37282, 37282, 37282 }, 1 },
    { "EG", "cai", "Cairo",        30.04,   31.24, { 2561, 2561, 2561 }, 1 },
    { "MA", "cas", "Casablanca",   33.57,   -7.59, { 6713, 6713, 6713 }, 1 },
    { "TZ", "dar", "Dar es Salaam", -6.79,  39.21, { 37100, 37100, 37100 }, 1 },
    { "GH", "acc", "Accra",         5.60,   -0.19, { 37209, 37209, 37209 }, 1 },
    { "TN", "tun", "Tunis",        36.81,   10.18, { 2609, 2609, 2609 }, 1 },
    /* Antarctica: one station mirror, for its own people only */
    { "AQ", "mcm", "McMurdo",     -77.85,  166.67, { 0, 0, 0 }, 0 },
};
#define NCITIES ((int)(sizeof(cities) / sizeof(cities[0])))

/* ------------------------------------------------------------------ */
/* mirrors                                                             */

enum { P_FEDORA, P_ALMA, P_SUSE, P_DEBIAN, P_UBUNTU, P_ARCH, P_SOURCE, P_ISO, P_META,
       NPRODUCTS };

typedef struct gen_mirror {
    int64_t id;
    double capacity;           /* how complete a mirror it is (relative) */
    int carries[NPRODUCTS];
    int precision;             /* its scan method's mtime precision */
    int64_t max_size;
} gen_mirror_t;

static const char *const base_paths[] = { "/pub", "/mirror", "/linux", "", "/ftp/pub" };

/* A random public IPv4 /16-/22 or IPv6 /32-/48 prefix. */
static void rnd_prefix(ms_cidr_t *out, rng_t *r, int v6)
{
    char text[64];

    for (;;) {
        if (v6)
            snprintf(text, sizeof text, "2a0%x:%x::/32", rnd_int(r, 0, 15),
                     rnd_int(r, 0x100, 0xffff));
        else {
            int a = rnd_int(r, 1, 223), b = rnd_int(r, 0, 255), bits = rnd_int(r, 16, 22);
            uint32_t net = ((uint32_t)a << 24) | ((uint32_t)b << 16)
                           | ((uint32_t)rnd_int(r, 0, 255) << 8);
            if (a == 10 || a == 127 || a == 0 || (a == 100 && b >= 64 && b < 128)
                || (a == 169 && b == 254) || (a == 172 && b >= 16 && b < 32)
                || (a == 192 && b == 168) || (a == 192 && b == 0) || (a == 198 && b < 20)
                || (a == 198 && b == 51) || (a == 203 && b == 0))
                continue;
            net &= bits == 0 ? 0 : ~((1u << (32 - bits)) - 1);
            snprintf(text, sizeof text, "%u.%u.%u.%u/%d", net >> 24, (net >> 16) & 255,
                     (net >> 8) & 255, net & 255, bits);
        }
        if (ms_cidr_parse(out, text) == 0)
            return;
    }
}

static void put_health(ms_db_t *db, rng_t *r, int64_t id, int scheme, int family, int up)
{
    ms_health_t h;

    memset(&h, 0, sizeof h);
    h.known = 1;
    h.up = up;
    h.checked = T0 - rnd_int(r, 60, 900);
    h.latency_ms = up ? rnd_int(r, 4, 350) : 0;
    h.failures = up ? 0 : rnd_int(r, 1, 40);
    h.status = up ? 200 : (rnd_int(r, 0, 1) ? 0 : 503);
    h.error = up ? "" : (h.status ? "HTTP 503" : "connect: timed out after 10 s");
    if (ms_db_health_put(db, id, scheme, family, &h) != MS_OK) {
        fprintf(stderr, "%s: %s\n", prog, ms_db_errmsg(db));
        exit(1);
    }
}

typedef struct mirror_stats {
    int https_only, http_only, with_prefix, scoped, fallback, disabled, down, no_v6,
        never_probed, max_size, continents;
} mirror_stats_t;

static int make_mirrors(gen_mirror_t *gm, int count, ms_db_t *db, uint64_t seed,
                        apr_pool_t *p, mirror_stats_t *st)
{
    rng_t r;
    int i, total_share = 0, seq[NCITIES];
    char conts[8][3];
    int nconts = 0;

    rng_seed(&r, seed ^ 0x6d6972726f7273ULL);
    memset(seq, 0, sizeof seq);
    memset(st, 0, sizeof *st);
    for (i = 0; i < NCITIES; i++)
        total_share += cities[i].share;

    for (i = 0; i < count; i++) {
        ms_mirror_t m;
        const city_t *c;
        const char *host, *base;
        int ci, k, kind, v6, state;
        double u;

        /* the last mirror is the Antarctic one; the others by share */
        if (i == count - 1)
            ci = NCITIES - 1;
        else {
            int pick = rnd_int(&r, 0, total_share - 1);
            for (ci = 0; ci < NCITIES - 1 && pick >= cities[ci].share; ci++)
                pick -= cities[ci].share;
        }
        c = &cities[ci];
        seq[ci]++;
        memset(&m, 0, sizeof m);
        m.name = apr_psprintf(p, "%c%c-%s-%02d", c->cc[0] | 0x20, c->cc[1] | 0x20,
                              c->code, seq[ci]);
        host = apr_psprintf(p, "mirror%02d.%s.%c%c.example.net", seq[ci], c->code,
                            c->cc[0] | 0x20, c->cc[1] | 0x20);
        base = base_paths[rnd_int(&r, 0, 4)];
        u = rnd_u(&r);
        kind = u < 0.10 ? 2 : u < 0.25 ? 1 : 0;   /* 2 https only, 1 http only, 0 both */
        if (kind != 2)
            m.http_url = apr_psprintf(p, "http://%s%s", host, base);
        if (kind != 1)
            m.https_url = apr_psprintf(p, "https://%s%s", host, base);
        st->https_only += kind == 2;
        st->http_only += kind == 1;
        u = rnd_u(&r);
        if (u < 0.60) {
            m.scan_url = apr_psprintf(p, "rsync://%s%s", host, base[0] ? base : "/pub");
            gm[i].precision = 1;
        }
        else if (u < 0.93) {
            m.scan_url = m.https_url ? m.https_url : m.http_url;
            gm[i].precision = 60;
        }
        else {
            m.scan_url = apr_psprintf(p, "ftp://%s%s", host, base[0] ? base : "/pub");
            gm[i].precision = u < 0.98 ? 60 : 86400;
        }
        memcpy(m.country, c->cc, 3);
        memcpy(m.continent, ms_country_continent(c->cc), 3);
        for (k = 0; k < nconts && strcmp(conts[k], m.continent) != 0; k++)
            ;
        if (k == nconts)
            memcpy(conts[nconts++], m.continent, 3);
        m.has_coords = rnd_u(&r) < 0.98;
        m.lat = c->lat + rnd_range(&r, -0.25, 0.25);
        m.lon = c->lon + rnd_range(&r, -0.25, 0.25);
        m.asn = rnd_u(&r) < 0.97 ? c->asn[rnd_int(&r, 0, 2)] : 0;
        u = rnd_u(&r);
        m.weight = u < 0.70 ? 100 : u < 0.80 ? 50 : u < 0.90 ? 200 : u < 0.97 ? 500 : 1000;
        m.scope = MS_SCOPE_WORLD;
        m.other_countries = "";
        m.enabled = 1;
        m.prefixes = apr_array_make(p, 3, sizeof(ms_cidr_t));
        if (rnd_u(&r) < 0.08) {
            int n = rnd_int(&r, 1, 3);
            for (k = 0; k < n; k++)
                rnd_prefix(apr_array_push(m.prefixes), &r, k == 2 || rnd_u(&r) < 0.25);
            st->with_prefix++;
        }
        u = rnd_u(&r);
        if (ci == NCITIES - 1)
            m.scope = MS_SCOPE_COUNTRY, m.weight = 10;
        else if (u < 0.02)
            m.scope = MS_SCOPE_COUNTRY;
        else if (u < 0.03)
            m.scope = MS_SCOPE_CONTINENT;
        else if (u < 0.035 && m.asn)
            m.scope = MS_SCOPE_ASN;
        else if (u < 0.04 && m.prefixes->nelts)
            m.scope = MS_SCOPE_PREFIX;
        st->scoped += m.scope != MS_SCOPE_WORLD;
        if (rnd_u(&r) < 0.02) {      /* serves its neighbours too: same continent */
            const city_t *o = &cities[rnd_int(&r, 0, NCITIES - 2)];
            if (strcmp(ms_country_continent(o->cc), m.continent) == 0
                && strcmp(o->cc, c->cc) != 0)
                m.other_countries = apr_pstrdup(p, o->cc);
        }
        if (rnd_u(&r) < 0.03) {
            m.max_size = (int64_t)1 << 30;
            st->max_size++;
        }
        gm[i].max_size = m.max_size;
        if (m.weight == 1000 && st->fallback < 3 && m.scope == MS_SCOPE_WORLD) {
            m.fallback = 1;
            st->fallback++;
        }
        if (rnd_u(&r) < 0.01 && !m.fallback) {
            m.enabled = 0;
            st->disabled++;
        }
        if (ms_db_mirror_insert(db, &m) != MS_OK) {
            fprintf(stderr, "%s: %s\n", prog, ms_db_errmsg(db));
            return -1;
        }
        gm[i].id = m.id;

        /* how much of the tree it carries */
        gm[i].capacity = m.weight >= 500 ? rnd_range(&r, 1.4, 1.8)
                       : m.weight <= 50 ? rnd_range(&r, 0.3, 0.8)
                       : rnd_range(&r, 0.6, 1.2);
        for (k = 0; k < NPRODUCTS; k++)
            gm[i].carries[k] = m.fallback || m.weight >= 500 || rnd_u(&r) < 0.65;
        gm[i].carries[P_META] = 1;

        /* health: the schemes it offers, IPv4, and IPv6 where it resolves */
        v6 = rnd_u(&r) < 0.60;
        st->no_v6 += !v6;
        u = rnd_u(&r);
        if (u < 0.01 && !m.fallback) {
            st->never_probed++;
            continue;
        }
        state = u < 0.05 ? 1 : u < 0.08 ? 2 : u < 0.11 ? 3 : 0; /* all down, https down, v6 down */
        st->down += state == 1;
        for (k = 0; k < 2; k++) {
            int scheme = k == 0 ? MS_HTTP : MS_HTTPS;
            if ((scheme == MS_HTTP && !m.http_url) || (scheme == MS_HTTPS && !m.https_url))
                continue;
            put_health(db, &r, m.id, scheme, 4,
                       !(state == 1 || (state == 2 && scheme == MS_HTTPS)));
            if (v6)
                put_health(db, &r, m.id, scheme, 6,
                           !(state == 1 || state == 3 || (state == 2 && scheme == MS_HTTPS)));
        }
    }
    st->continents = nconts;
    return 0;
}

/* ------------------------------------------------------------------ */
/* origin files                                                        */

enum { CLS_CURRENT, CLS_NORMAL, CLS_TAIL };

typedef struct gen_file {
    char path[512];
    int product;
    int cls;
    int64_t size, mtime;
} gen_file_t;

static const char *const syll[] = {
    "ba", "be", "bi", "bo", "ca", "ce", "co", "da", "de", "di", "do", "fa", "fe", "fi",
    "ga", "ge", "go", "ha", "he", "ja", "ka", "ke", "ki", "ko", "la", "le", "li", "lo",
    "lu", "ma", "me", "mi", "mo", "na", "ne", "ni", "no", "nu", "pa", "pe", "pi", "po",
    "ra", "re", "ri", "ro", "ru", "sa", "se", "si", "so", "ta", "te", "ti", "to", "tu",
    "va", "ve", "vi", "xa", "ze", "zo",
};
#define NSYLL ((int)(sizeof(syll) / sizeof(syll[0])))

static const char *const name_prefix[] = {
    "", "", "", "", "lib", "lib", "python3-", "perl-", "golang-", "rust-", "node-",
    "php-", "ruby-", "ghc-", "texlive-", "fonts-", "qt6-", "kf6-", "gnome-", "xfce4-",
};
static const char *const name_suffix[] = {
    "", "", "", "", "", "-devel", "-libs", "-doc", "-common", "-data", "-tools",
    "-dbgsym", "-utils",
};

/* A package name unique for a package number: its syllables spell the number. */
static void pkg_name(char *out, size_t len, uint64_t pkg, rng_t *r)
{
    char core[64];
    size_t n = 0;

    do {
        const char *s = syll[pkg % NSYLL];
        core[n++] = s[0];
        core[n++] = s[1];
        pkg /= NSYLL;
    } while (pkg && n < sizeof core - 3);
    core[n] = '\0';
    snprintf(out, len, "%s%s%s", name_prefix[rnd_int(r, 0, 19)], core,
             name_suffix[rnd_int(r, 0, 12)]);
}

static void version(char *out, size_t len, rng_t *r)
{
    double u = rnd_u(r);
    if (u < 0.5)
        snprintf(out, len, "%d.%d.%d", rnd_int(r, 0, 9), rnd_int(r, 0, 30), rnd_int(r, 0, 20));
    else if (u < 0.8)
        snprintf(out, len, "%d.%d", rnd_int(r, 0, 40), rnd_int(r, 0, 99));
    else if (u < 0.95)
        snprintf(out, len, "%d.%d.%d.%d", rnd_int(r, 0, 5), rnd_int(r, 0, 20),
                 rnd_int(r, 0, 20), rnd_int(r, 0, 300));
    else
        snprintf(out, len, "%d", rnd_int(r, 2015, 2025) * 10000 + rnd_int(r, 101, 1231));
}

static const char *const rpm_arch[] = { "x86_64", "x86_64", "x86_64", "aarch64", "aarch64",
                                        "noarch", "noarch", "ppc64le", "s390x", "i686" };
static const char *const deb_arch[] = { "amd64", "amd64", "amd64", "arm64", "arm64", "all",
                                        "all", "armhf", "ppc64el", "i386", "s390x", "riscv64" };

static int64_t pkg_size(rng_t *r)
{
    return rnd_size(r, 180e3, 1.7, 1200, 1.5e9);
}

static int64_t mtime_for(rng_t *r, int cls)
{
    switch (cls) {
    case CLS_CURRENT: return T0 - rnd_int(r, 3600, 180 * 86400);
    case CLS_NORMAL:  return T0 - rnd_int(r, 180 * 86400, 3 * 365 * 86400);
    default:          return T0 - rnd_int(r, 3 * 365 * 86400, 8 * 365 * 86400);
    }
}

static int rnd_cls(rng_t *r)
{
    double u = rnd_u(r);
    return u < 0.30 ? CLS_CURRENT : u < 0.75 ? CLS_NORMAL : CLS_TAIL;
}

/* One file of a product; pkg numbers names uniquely, n numbers ISOs. */
static void make_file(gen_file_t *f, int product, uint64_t pkg, rng_t *r)
{
    char name[96], ver[32], src[200];
    const char *arch;
    int rel, k;
    double u;

    f->product = product;
    pkg_name(name, sizeof name, pkg, r);
    version(ver, sizeof ver, r);
    switch (product) {
    case P_FEDORA:
        rel = rnd_int(r, 37, 41);
        f->cls = rel >= 40 ? CLS_CURRENT : rel >= 38 ? CLS_NORMAL : CLS_TAIL;
        arch = rpm_arch[rnd_int(r, 0, 9)];
        if (rnd_u(r) < 0.5)
            snprintf(f->path, sizeof f->path,
                     "fedora/linux/releases/%d/Everything/%s/os/Packages/%c/%s-%s-%d.fc%d.%s.rpm",
                     rel, strcmp(arch, "noarch") && strcmp(arch, "i686") ? arch : "x86_64",
                     name[0], name, ver, rnd_int(r, 1, 12), rel, arch);
        else
            snprintf(f->path, sizeof f->path,
                     "fedora/linux/updates/%d/Everything/%s/Packages/%c/%s-%s-%d.fc%d.%s.rpm",
                     rel, strcmp(arch, "noarch") && strcmp(arch, "i686") ? arch : "x86_64",
                     name[0], name, ver, rnd_int(r, 1, 12), rel, arch);
        f->size = pkg_size(r);
        break;
    case P_ALMA: {
        static const char *const rels[] = { "8.10", "9.4", "9.5", "9.6" };
        k = rnd_int(r, 0, 3);
        f->cls = k >= 2 ? CLS_CURRENT : k == 1 ? CLS_NORMAL : CLS_TAIL;
        arch = rpm_arch[rnd_int(r, 0, 6)];
        snprintf(f->path, sizeof f->path, "almalinux/%s/%s/%s/os/Packages/%s-%s-%d.el%c.%s.rpm",
                 rels[k], rnd_u(r) < 0.3 ? "BaseOS" : "AppStream",
                 strcmp(arch, "noarch") ? arch : "x86_64", name, ver, rnd_int(r, 1, 30),
                 rels[k][0], arch);
        f->size = pkg_size(r);
        break;
    }
    case P_SUSE:
        f->cls = CLS_CURRENT;
        arch = rpm_arch[rnd_int(r, 0, 6)];
        snprintf(f->path, sizeof f->path, "opensuse/tumbleweed/repo/oss/%s/%s-%s-%d.1.%s.rpm",
                 arch, name, ver, rnd_int(r, 1, 9), arch);
        f->size = pkg_size(r);
        break;
    case P_DEBIAN:
    case P_UBUNTU:
        f->cls = rnd_cls(r);
        arch = deb_arch[rnd_int(r, 0, 11)];
        /* the pool directory: lib<letter>/ or <letter>/, then the source name */
        if (strncmp(name, "lib", 3) == 0 && name[3])
            snprintf(src, sizeof src, "lib%c/%s", name[3], name);
        else
            snprintf(src, sizeof src, "%c/%s", name[0], name);
        if (product == P_DEBIAN) {
            u = rnd_u(r);
            snprintf(f->path, sizeof f->path, "debian/pool/%s/%s/%s_%s-%d_%s.deb",
                     u < 0.93 ? "main" : u < 0.97 ? "contrib" : "non-free", src, name, ver,
                     rnd_int(r, 1, 8), arch);
        }
        else
            snprintf(f->path, sizeof f->path, "ubuntu/pool/%s/%s/%s_%s-%dubuntu%d_%s.deb",
                     rnd_u(r) < 0.3 ? "main" : "universe", src, name, ver, rnd_int(r, 1, 8),
                     rnd_int(r, 1, 4), arch);
        f->size = pkg_size(r);
        break;
    case P_ARCH:
        f->cls = CLS_CURRENT;
        snprintf(f->path, sizeof f->path, "archlinux/%s/os/x86_64/%s-%s-%d-%s.pkg.tar.zst%s",
                 rnd_u(r) < 0.2 ? "core" : "extra", name, ver, rnd_int(r, 1, 5),
                 rnd_u(r) < 0.7 ? "x86_64" : "any", rnd_u(r) < 0.3 ? ".sig" : "");
        f->size = strstr(f->path, ".sig") ? rnd_int(r, 118, 566) : pkg_size(r);
        break;
    case P_SOURCE:
        f->cls = rnd_cls(r);
        if (rnd_u(r) < 0.1)
            snprintf(f->path, sizeof f->path, "kernel/v6.x/linux-6.%d.%d.%" PRIu64 ".tar.xz",
                     rnd_int(r, 0, 12), rnd_int(r, 0, 120), pkg);
        else
            snprintf(f->path, sizeof f->path, "gnu/%s/%s-%s.tar.%s", name, name, ver,
                     rnd_u(r) < 0.6 ? "xz" : "gz");
        f->size = rnd_size(r, 3e6, 1.3, 20e3, 500e6);
        break;
    case P_ISO: {
        static const char *const dir[] = { "Workstation", "Server", "Server", "Everything",
                                           "Spins" };
        static const char *const ed[] = { "Workstation-Live", "Server-dvd", "Server-netinst",
                                          "Everything-netinst", "KDE-Live" };
        static const char *const arches[] = { "x86_64", "aarch64" };
        u = rnd_u(r);
        rel = rnd_int(r, 37, 41);
        f->cls = rel >= 40 ? CLS_CURRENT : rel >= 38 ? CLS_NORMAL : CLS_TAIL;
        if (u < 0.4) {
            k = rnd_int(r, 0, 4);
            arch = arches[rnd_int(r, 0, 1)];
            snprintf(f->path, sizeof f->path,
                     "fedora/linux/releases/%d/%s/%s/iso/Fedora-%s-%s-%d-1.%" PRIu64 ".iso",
                     rel, dir[k], arch, ed[k], arch, rel, pkg % 100000);
        }
        else if (u < 0.7)
            snprintf(f->path, sizeof f->path,
                     "debian-cd/%d.%d.%" PRIu64 "/%s/iso-%s/debian-%d.%d.%" PRIu64 "-%s-%s.iso",
                     rel - 28, rnd_int(r, 0, 11), pkg % 100000, deb_arch[rnd_int(r, 0, 1)],
                     rnd_u(r) < 0.7 ? "cd" : "dvd", rel - 28, rnd_int(r, 0, 11),
                     pkg % 100000, deb_arch[rnd_int(r, 0, 1)],
                     rnd_u(r) < 0.7 ? "netinst" : "DVD-1");
        else
            snprintf(f->path, sizeof f->path,
                     "ubuntu-releases/%d.04.%" PRIu64 "/ubuntu-%d.04.%" PRIu64 "-%s-%s.iso",
                     rel - 17, pkg % 100000, rel - 17, pkg % 100000,
                     rnd_u(r) < 0.6 ? "desktop" : "live-server",
                     rnd_u(r) < 0.8 ? "amd64" : "arm64");
        f->size = strstr(f->path, "netinst") ? rnd_size(r, 650e6, 0.2, 300e6, 1.2e9)
                                             : rnd_size(r, 2.5e9, 0.3, 1.1e9, 4.7e9);
        break;
    }
    default: /* P_META: checksums, signatures, repository metadata */
        f->cls = rnd_cls(r);
        u = rnd_u(r);
        if (u < 0.4) {
            snprintf(f->path, sizeof f->path, "fedora/linux/updates/%d/Everything/%s/repodata/"
                     "%016" PRIx64 "%016" PRIx64 "-%s.xml.zst", rnd_int(r, 37, 41),
                     rpm_arch[rnd_int(r, 0, 4)], rnd(r), rnd(r),
                     rnd_u(r) < 0.5 ? "primary" : "filelists");
            f->size = rnd_size(r, 4e6, 1.2, 20e3, 80e6);
        }
        else {
            snprintf(f->path, sizeof f->path, "releases/%s/%" PRIu64 "/%s",
                     rnd_u(r) < 0.5 ? "debian-cd" : "ubuntu", pkg,
                     u < 0.7 ? "SHA256SUMS" : "SHA256SUMS.sign");
            f->size = u < 0.7 ? rnd_int(r, 300, 3000) : rnd_int(r, 800, 900);
        }
        break;
    }
    f->mtime = mtime_for(r, f->cls);
}

static int pick_product(rng_t *r)
{
    static const struct { int product; double share; } mix[] = {
        { P_FEDORA, 0.22 }, { P_ALMA, 0.08 }, { P_SUSE, 0.10 }, { P_DEBIAN, 0.30 },
        { P_UBUNTU, 0.16 }, { P_ARCH, 0.05 }, { P_SOURCE, 0.04 }, { P_META, 0.0496 },
        { P_ISO, 0.0004 },
    };
    double u = rnd_u(r);
    int i;

    for (i = 0; i < (int)(sizeof mix / sizeof mix[0]) - 1; i++) {
        if (u < mix[i].share)
            return mix[i].product;
        u -= mix[i].share;
    }
    return P_ISO;
}

/* --- a set of 64-bit path hashes, so no path is generated twice --- */

typedef struct hset { uint64_t *slot; uint64_t mask; } hset_t;

static uint64_t hash_path(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return splitmix64(&h) | 1;
}

static int hset_add(hset_t *hs, uint64_t h)   /* 1 when new */
{
    uint64_t i = h & hs->mask;
    while (hs->slot[i]) {
        if (hs->slot[i] == h)
            return 0;
        i = (i + 1) & hs->mask;
    }
    hs->slot[i] = h;
    return 1;
}

/* --- the origin tree --- */

static int mkdirs(char *path)          /* the parents of path; path is restored */
{
    char *s;
    for (s = path + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "%s: mkdir %s: %s\n", prog, path, strerror(errno));
            *s = '/';
            return -1;
        }
        *s = '/';
    }
    return 0;
}

static int make_sparse(const char *root, const gen_file_t *f)
{
    char full[1024];
    struct timespec ts[2];
    int fd;

    snprintf(full, sizeof full, "%s/%s", root, f->path);
    fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 && errno == ENOENT) {
        if (mkdirs(full) != 0)
            return -1;
        fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    }
    if (fd < 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, full, strerror(errno));
        return -1;
    }
    ts[0].tv_sec = ts[1].tv_sec = (time_t)f->mtime;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    if (ftruncate(fd, (off_t)f->size) != 0 || futimens(fd, ts) != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, full, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* --- the PRAGMAs, on the core's own connection --- */

static sqlite3 *core_sql;

static int capture_connection(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
    (void)err;
    (void)api;
    core_sql = db;
    return SQLITE_OK;
}

static int show_row(void *baton, int n, char **val, char **col)
{
    (void)baton;
    if (getenv("BENCHGEN_DEBUG") && n > 0)
        fprintf(stderr, "%s: %s = %s\n", prog, col[0], val[0] ? val[0] : "NULL");
    return 0;
}

static int pragma(const char *sql)
{
    char *msg = NULL;
    if (!core_sql || sqlite3_exec(core_sql, sql, show_row, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "%s: %s: %s\n", prog, sql, msg ? msg : "no connection");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static double now_s(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static void fake_sha256(char out[65], const char *path)
{
    uint64_t h = hash_path(path);
    int i;
    for (i = 0; i < 4; i++)
        snprintf(out + 16 * i, 17, "%016" PRIx64, splitmix64(&h));
}

typedef struct gen_opts {
    const char *db, *root, *lists;
    long files;
    int mirrors;
    uint64_t seed;
} gen_opts_t;

static int write_list(const char *dir, const char *name, char **paths, long n)
{
    char file[1024], tmp[1040];
    FILE *fp;
    long i;

    snprintf(file, sizeof file, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    if (!(fp = fopen(tmp, "w"))) {
        fprintf(stderr, "%s: %s: %s\n", prog, tmp, strerror(errno));
        return -1;
    }
    for (i = 0; i < n; i++)
        fprintf(fp, "%s\n", paths[i]);
    if (fclose(fp) != 0 || rename(tmp, file) != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, file, strerror(errno));
        return -1;
    }
    return 0;
}

static int cmd_db(const gen_opts_t *o, apr_pool_t *p)
{
    ms_db_t *db = NULL;
    const char *err = NULL;
    char *tmpdb = apr_psprintf(p, "%s.tmp", o->db);
    gen_mirror_t *gm = calloc((size_t)o->mirrors, sizeof *gm);
    mirror_stats_t ms;
    double norm[NPRODUCTS], t_start = now_s(), t_files;
    char **hot = calloc(HOT_COUNT, sizeof *hot), **tail = calloc(TAIL_MAX, sizeof *tail);
    long n_hot = 0, n_tail = 0, seen_eligible = 0, seen_current = 0;
    long i, copies = 0, stale = 0, small = 0, min_c = 1 << 30, max_c = 0;
    long hist[11] = { 0 };
    int64_t total_bytes = 0;
    uint64_t next_pkg = 1;
    hset_t hs;
    rng_t r, pick;
    int from, to, k, rc = 1;
    size_t hs_size = 1;

    while (hs_size < (size_t)o->files * 2 + 16)
        hs_size <<= 1;
    hs.slot = calloc(hs_size, sizeof *hs.slot);
    hs.mask = hs_size - 1;
    if (!gm || !hot || !tail || !hs.slot) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    unlink(tmpdb);
    unlink(apr_pstrcat(p, tmpdb, "-wal", NULL));
    unlink(apr_pstrcat(p, tmpdb, "-shm", NULL));
    sqlite3_auto_extension((void (*)(void))capture_connection);
    if (ms_db_open(&db, tmpdb, MS_DB_CREATE, p, &err) != MS_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    sqlite3_cancel_auto_extension((void (*)(void))capture_connection);
    if (ms_db_migrate(db, &from, &to) != MS_OK) {
        fprintf(stderr, "%s: %s\n", prog, ms_db_errmsg(db));
        goto leave;
    }
    if (pragma("PRAGMA journal_mode = OFF") || pragma("PRAGMA synchronous = OFF")
        || pragma("PRAGMA foreign_keys = OFF") || pragma("PRAGMA cache_size = -1048576")
        || pragma("PRAGMA locking_mode = EXCLUSIVE") || pragma("PRAGMA temp_store = MEMORY"))
        goto leave;

    /* mirrors and health */
    if (ms_db_begin(db) != MS_OK
        || make_mirrors(gm, o->mirrors, db, o->seed, p, &ms) != 0
        || ms_db_commit(db) != MS_OK) {
        fprintf(stderr, "%s: %s\n", prog, ms_db_errmsg(db));
        goto leave;
    }
    for (k = 0; k < NPRODUCTS; k++) {
        norm[k] = 0;
        for (i = 0; i < o->mirrors; i++)
            norm[k] += gm[i].carries[k] ? gm[i].capacity : 0;
        norm[k] /= o->mirrors;
    }

    /* files, copies and the tree */
    rng_seed(&r, o->seed ^ 0x66696c6573ULL);
    rng_seed(&pick, o->seed ^ 0x7069636bULL);
    if (mkdir(o->root, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: %s: %s\n", prog, o->root, strerror(errno));
        goto leave;
    }
    if (ms_db_begin(db) != MS_OK)
        goto dberr;
    for (i = 0; i < o->files; i++) {
        gen_file_t f;
        ms_file_t mf;
        ms_copy_t c;
        char sha[65];
        double share;
        long held = 0;
        int m;

        do {
            make_file(&f, pick_product(&r), next_pkg++, &r);
        } while (!hset_add(&hs, hash_path(f.path)));
        memset(&mf, 0, sizeof mf);
        fake_sha256(sha, f.path);
        mf.path = f.path;
        mf.size = f.size;
        mf.mtime = f.mtime;
        mf.sha256 = sha;
        if (ms_db_file_put(db, &mf) != MS_OK)
            goto dberr;
        if (make_sparse(o->root, &f) != 0)
            goto leave;
        total_bytes += f.size;

        /* which mirrors hold it: a share drawn by its class, spread over the
         * mirrors that carry the product in proportion to their capacity */
        share = f.cls == CLS_CURRENT ? rnd_range(&r, 0.35, 0.60)
              : f.cls == CLS_NORMAL ? rnd_range(&r, 0.15, 0.35) : rnd_range(&r, 0.05, 0.15);
        for (m = 0; m < o->mirrors; m++) {
            double prob = gm[m].carries[f.product] ? share * gm[m].capacity / norm[f.product] : 0;
            if (gm[m].max_size && f.size > gm[m].max_size)
                prob = 0;
            if (rnd_u(&r) >= prob)
                continue;
            c.mirror_id = gm[m].id;
            c.precision = gm[m].precision;
            c.size = f.size;
            c.mtime = f.mtime - f.mtime % c.precision;
            c.seen = T0 - rnd_int(&r, 0, 6 * 3600);
            if (rnd_u(&r) < 0.012) {         /* an older version: not synced yet */
                c.mtime -= rnd_int(&r, 1, 30) * 86400;
                if (rnd_u(&r) < 0.5)
                    c.size += rnd_int(&r, -4096, 4096) | 1;
                stale++;
            }
            if (ms_db_copy_put(db, mf.id, &c) != MS_OK)
                goto dberr;
            held++;
        }
        copies += held;
        if (held < min_c) min_c = held;
        if (held > max_c) max_c = held;
        hist[held * 10 / (o->mirrors + 1)]++;

        /* what wrk asks for: files the module redirects (not below MinSize) */
        if (f.size >= MIN_REDIRECT) {
            long j;
            seen_eligible++;
            j = n_tail < TAIL_MAX ? n_tail++ : (long)(rnd(&pick) % (uint64_t)seen_eligible);
            if (j < TAIL_MAX) {
                free(tail[j]);
                tail[j] = strdup(f.path);
            }
            if (f.cls == CLS_CURRENT) {
                seen_current++;
                j = n_hot < HOT_COUNT ? n_hot++ : (long)(rnd(&pick) % (uint64_t)seen_current);
                if (j < HOT_COUNT) {
                    free(hot[j]);
                    hot[j] = strdup(f.path);
                }
            }
        }
        else
            small++;

        if ((i + 1) % FILES_PER_TXN == 0) {
            if (ms_db_commit(db) != MS_OK || ms_db_begin(db) != MS_OK)
                goto dberr;
        }
        if ((i + 1) % (o->files / 10 > 0 ? o->files / 10 : 1) == 0)
            fprintf(stderr, "%s: %ld/%ld files, %ld copies, %.0f s\n", prog, i + 1,
                    o->files, copies, now_s() - t_start);
    }
    if (ms_db_commit(db) != MS_OK)
        goto dberr;
    t_files = now_s();
    if (pragma("PRAGMA locking_mode = NORMAL") || pragma("PRAGMA journal_mode = DELETE"))
        goto leave;
    ms_db_close(db);
    db = NULL;
    if (rename(tmpdb, o->db) != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, o->db, strerror(errno));
        goto leave;
    }
    /* the core keeps -wal and -shm (SQLITE_FCNTL_PERSIST_WAL): not for the
     * temporary name */
    unlink(apr_pstrcat(p, tmpdb, "-wal", NULL));
    unlink(apr_pstrcat(p, tmpdb, "-shm", NULL));
    /* back to WAL, as `mirrorsel init` leaves a database */
    if (ms_db_open(&db, o->db, MS_DB_CREATE, p, &err) != MS_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto leave;
    }
    if (ms_db_migrate(db, &from, &to) != MS_OK)
        goto dberr;
    ms_db_close(db);
    db = NULL;
    if (write_list(o->lists, "hot.txt", hot, n_hot) != 0
        || write_list(o->lists, "tail.txt", tail, n_tail) != 0)
        goto leave;

    {
        struct stat sb;
        stat(o->db, &sb);
        printf("generated: %d mirrors (%d continents; %d https-only, %d http-only, "
               "%d with prefixes, %d scoped, %d fallback, %d disabled, %d all down, "
               "%d never probed, %d with max-size, %d without IPv6)\n",
               o->mirrors, ms.continents, ms.https_only, ms.http_only, ms.with_prefix,
               ms.scoped, ms.fallback, ms.disabled, ms.down, ms.never_probed, ms.max_size,
               ms.no_v6);
        printf("generated: %ld files (%ld below %d bytes), %.1f TB apparent, "
               "%ld copies (%.1f per file, min %ld, max %ld; %ld stale), "
               "db %.2f GB, %.0f s\n",
               o->files, small, MIN_REDIRECT, total_bytes / 1e12, copies,
               (double)copies / o->files, min_c, max_c, stale, sb.st_size / 1e9,
               t_files - t_start);
        printf("generated: copies per file by share of mirrors:");
        for (k = 0; k < 10; k++)
            printf(" %d-%d%%:%.1f%%", k * 10, k * 10 + 10, 100.0 * hist[k] / o->files);
        printf("\n");
    }
    rc = 0;
    goto leave;

dberr:
    fprintf(stderr, "%s: %s\n", prog, ms_db_errmsg(db));
leave:
    if (db)
        ms_db_close(db);
    for (i = 0; i < n_hot; i++)
        free(hot[i]);
    for (i = 0; i < n_tail; i++)
        free(tail[i]);
    free(hot);
    free(tail);
    free(hs.slot);
    free(gm);
    return rc;
}

/* ------------------------------------------------------------------ */
/* clients                                                             */

#define RESERVOIR 32

typedef struct net { unsigned char b[16]; int bits; int family; } net_t;

typedef struct country_nets {
    char cc[3];
    long seen[2];              /* networks seen, per family (0: v4, 1: v6) */
    net_t res[2][RESERVOIR];
} country_nets_t;

typedef struct walk {
    MMDB_s *mmdb;
    country_nets_t *cn;
    int ncn;
    rng_t r;
    long nets;
} walk_t;

static country_nets_t *country_slot(walk_t *w, const char *cc)
{
    int i;
    for (i = 0; i < w->ncn; i++)
        if (strcmp(w->cn[i].cc, cc) == 0)
            return &w->cn[i];
    if (w->ncn >= 300)
        return NULL;
    memset(&w->cn[w->ncn], 0, sizeof w->cn[0]);
    memcpy(w->cn[w->ncn].cc, cc, 3);
    return &w->cn[w->ncn++];
}

static void collect(walk_t *w, MMDB_entry_s *entry, const unsigned char *bits, int depth)
{
    MMDB_entry_data_s d;
    char cc[3];
    country_nets_t *c;
    net_t n;
    int fam, is_v4 = 1, i;
    long j;

    if (MMDB_get_value(entry, &d, "country", "iso_code", NULL) != MMDB_SUCCESS
        || !d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size != 2)
        return;
    cc[0] = d.utf8_string[0];
    cc[1] = d.utf8_string[1];
    cc[2] = '\0';
    if (!ms_country_continent(cc))
        return;
    memset(&n, 0, sizeof n);
    if (w->mmdb->metadata.ip_version == 4) {
        memcpy(n.b + 12, bits, 4);
        n.b[10] = n.b[11] = 0xff;
        n.bits = depth;
    }
    else {
        for (i = 0; i < 12; i++)
            if (bits[i])
                is_v4 = 0;
        if (is_v4 && depth > 96) {
            memcpy(n.b + 12, bits + 12, 4);
            n.b[10] = n.b[11] = 0xff;
            n.bits = depth - 96;
        }
        else {
            is_v4 = 0;
            memcpy(n.b, bits, 16);
            n.bits = depth;
        }
    }
    n.family = is_v4 ? 4 : 6;
    if ((is_v4 && n.bits > 30) || (!is_v4 && n.bits > 64))
        return;                /* too small to draw from usefully */
    if (!(c = country_slot(w, cc)))
        return;
    fam = is_v4 ? 0 : 1;
    c->seen[fam]++;
    w->nets++;
    j = c->seen[fam] <= RESERVOIR ? c->seen[fam] - 1
                                  : (long)(rnd(&w->r) % (uint64_t)c->seen[fam]);
    if (j < RESERVOIR)
        c->res[fam][j] = n;
}

static void walk_node(walk_t *w, uint32_t node, int depth, unsigned char *bits)
{
    MMDB_search_node_s sn;
    int side;

    if (MMDB_read_node(w->mmdb, node, &sn) != MMDB_SUCCESS)
        return;
    for (side = 0; side < 2; side++) {
        int d = depth + 1, byte = depth / 8, bit = 7 - depth % 8;
        uint8_t type = side ? sn.right_record_type : sn.left_record_type;

        if (side)
            bits[byte] |= (unsigned char)(1 << bit);
        else
            bits[byte] &= (unsigned char)~(1 << bit);
        if (w->mmdb->metadata.ip_version == 6) {
            /* IPv6 space: only global unicast 2000::/3 (the all-zero path
             * leads to the IPv4 subtree, ::/96); no aliases of IPv4 */
            if (d == 3 && !(bits[0] >> 5 == 1 || bits[0] >> 5 == 0))
                continue;
            if (d == 16 && bits[0] == 0x20 && bits[1] == 0x02)
                continue;                              /* 2002::/16, 6to4 */
            if (d == 32 && bits[0] == 0x20 && bits[1] == 0x01 && !bits[2] && !bits[3])
                continue;                              /* 2001::/32, Teredo */
            if (d <= 96 && bits[0] >> 5 == 0) {
                int i, zero = 1;
                for (i = 0; i < d; i++)
                    if (bits[i / 8] & (1 << (7 - i % 8)))
                        zero = 0;
                if (!zero)
                    continue;                          /* only ::/96 of 0000::/3 */
            }
        }
        if (type == MMDB_RECORD_TYPE_SEARCH_NODE)
            walk_node(w, (uint32_t)(side ? sn.right_record : sn.left_record), d, bits);
        else if (type == MMDB_RECORD_TYPE_DATA)
            collect(w, side ? &sn.right_record_entry : &sn.left_record_entry, bits, d);
    }
    bits[depth / 8] &= (unsigned char)~(1 << (7 - depth % 8));
}

/* A random address inside a network, as text. */
static void addr_in(char *out, int len, const net_t *n, rng_t *r)
{
    ms_addr_t a;
    int i, host_from = n->family == 4 ? 96 + n->bits : n->bits;

    memset(&a, 0, sizeof a);
    a.family = n->family;
    memcpy(a.b, n->b, 16);
    for (i = host_from; i < 128; i++)
        if (rnd(r) & 1)
            a.b[i / 8] |= (unsigned char)(1 << (7 - i % 8));
    if (n->family == 4 && host_from <= 120) {          /* not .0 or .255 */
        if (a.b[15] == 0) a.b[15] = 1;
        if (a.b[15] == 255) a.b[15] = 254;
    }
    ms_addr_format(&a, out, len);
}

static int cmd_clients(const char *geoip, const char *dbpath, const char *outpath,
                       int count, uint64_t seed, apr_pool_t *p)
{
    MMDB_s mmdb;
    walk_t w;
    unsigned char bits[16];
    const ms_mirrors_t *mirrors = NULL;
    apr_array_header_t *prefixes = apr_array_make(p, 64, sizeof(ms_cidr_t));
    ms_db_t *db = NULL;
    ms_geo_t *geo = NULL;
    const char *err = NULL;
    double wsum[2] = { 0, 0 }, *wt[2];
    FILE *fp;
    char tmp[1024];
    int i, fam, n_v6 = 0, n_prefix = 0, mismatch = 0, used = 0, *hits;
    int rc;

    if ((rc = MMDB_open(geoip, MMDB_MODE_MMAP, &mmdb)) != MMDB_SUCCESS) {
        fprintf(stderr, "%s: %s: %s\n", prog, geoip, MMDB_strerror(rc));
        return 1;
    }
    memset(&w, 0, sizeof w);
    w.mmdb = &mmdb;
    w.cn = calloc(300, sizeof *w.cn);
    rng_seed(&w.r, seed ^ 0x636c69656e7473ULL);
    memset(bits, 0, sizeof bits);
    walk_node(&w, 0, 0, bits);
    if (w.ncn == 0) {
        fprintf(stderr, "%s: %s: no located network found\n", prog, geoip);
        return 1;
    }

    if (ms_db_open(&db, dbpath, MS_DB_READONLY, p, &err) != MS_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    if (ms_db_mirrors(&mirrors, db) != MS_OK) {
        fprintf(stderr, "%s: %s\n", prog, ms_db_errmsg(db));
        return 1;
    }
    for (i = 0; i < mirrors->count; i++) {
        int j;
        for (j = 0; j < mirrors->mirror[i]->prefixes->nelts; j++)
            *(ms_cidr_t *)apr_array_push(prefixes) =
                APR_ARRAY_IDX(mirrors->mirror[i]->prefixes, j, ms_cidr_t);
    }
    if (ms_geo_open(&geo, geoip, NULL, p, &err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }

    /* country weights: sqrt of the networks seen, per family */
    for (fam = 0; fam < 2; fam++) {
        wt[fam] = calloc((size_t)w.ncn, sizeof(double));
        for (i = 0; i < w.ncn; i++) {
            wt[fam][i] = sqrt((double)w.cn[i].seen[fam]);
            wsum[fam] += wt[fam][i];
        }
    }
    hits = calloc((size_t)w.ncn, sizeof(int));
    snprintf(tmp, sizeof tmp, "%s.tmp", outpath);
    if (!(fp = fopen(tmp, "w"))) {
        fprintf(stderr, "%s: %s: %s\n", prog, tmp, strerror(errno));
        return 1;
    }
    for (i = 0; i < count; i++) {
        char text[64];
        ms_addr_t a;
        ms_location_t loc;
        double u;
        int c = 0, slot;

        if (prefixes->nelts && rnd_u(&w.r) < 0.03) {
            const ms_cidr_t *pf = &APR_ARRAY_IDX(prefixes, rnd(&w.r) % (uint64_t)prefixes->nelts,
                                                 ms_cidr_t);
            net_t n;
            memcpy(n.b, pf->net.b, 16);
            n.family = pf->net.family;
            n.bits = pf->bits;
            addr_in(text, sizeof text, &n, &w.r);
            fprintf(fp, "%s\n", text);
            n_prefix++;
            continue;
        }
        fam = (wsum[1] > 0 && rnd_u(&w.r) < 0.15) ? 1 : 0;
        if (wsum[fam] <= 0)
            fam = !fam;
        u = rnd_u(&w.r) * wsum[fam];
        for (c = 0; c < w.ncn - 1 && u >= wt[fam][c]; c++)
            u -= wt[fam][c];
        if (!w.cn[c].seen[fam]) {
            i--;
            continue;
        }
        slot = (int)(rnd(&w.r) % (uint64_t)(w.cn[c].seen[fam] < RESERVOIR
                                            ? w.cn[c].seen[fam] : RESERVOIR));
        addr_in(text, sizeof text, &w.cn[c].res[fam][slot], &w.r);
        if (ms_addr_parse(&a, text) == 0) {
            ms_geo_lookup(&loc, geo, &a, NULL);
            if (strcmp(loc.country, w.cn[c].cc) != 0)
                mismatch++;
        }
        if (!hits[c]++)
            used++;
        n_v6 += fam;
        fprintf(fp, "%s\n", text);
    }
    if (fclose(fp) != 0 || rename(tmp, outpath) != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, outpath, strerror(errno));
        return 1;
    }
    printf("clients: %d addresses from %d countries (%ld networks in %d countries in the "
           "mmdb); %d IPv6, %d inside mirror prefixes, %d located elsewhere than sampled\n",
           count, used, w.nets, w.ncn, n_v6, n_prefix, mismatch);
    ms_db_close(db);
    MMDB_close(&mmdb);
    return 0;
}

/* ------------------------------------------------------------------ */

/* A probe's verdict on one (scheme, v4) slot of mirror m: up as it was
 * found, or down with a refused connection. */
static int probe_slot(ms_db_t *db, const ms_mirror_t *m, int scheme, int up)
{
    ms_health_t h = m->health[scheme][0];

    h.checked = (int64_t)time(NULL);
    if (!up) {
        h.up = 0;
        h.failures++;
        h.status = 0;
        h.error = "connect: connection refused";
    }
    return ms_db_health_put(db, m->id, scheme, 4, &h);
}

/* A copy a churn commit changed, to be put back as it was by the next. */
typedef struct changed_copy {
    int64_t file_id;
    ms_copy_t copy;
} changed_copy_t;

/* Put back the copies the last commit changed, then change `changes`
 * others, as a rescan finds a mirror's sync half-way: the copy's size no
 * longer the file's. A copy that was fresh leaves its file's holders, and
 * comes back into them with the next commit (one that was stale already
 * changes nothing the redirect reads: the caller counts the moves of
 * `data`). Returns MS_OK or MS_ERR. */
static int churn_changes(ms_db_t *db, apr_array_header_t *pending, int changes, int64_t files,
                         rng_t *r, int *done, apr_pool_t *tp)
{
    int i, tries;

    for (i = 0; i < pending->nelts; i++) {
        changed_copy_t *c = &APR_ARRAY_IDX(pending, i, changed_copy_t);
        if (ms_db_copy_put(db, c->file_id, &c->copy) != MS_OK)
            return MS_ERR;
        (*done)++;
    }
    apr_array_clear(pending);
    for (i = 0, tries = 0; i < changes && tries < changes * 20; tries++) {
        apr_array_header_t *cs;
        changed_copy_t *c;
        ms_copy_t stale;
        int64_t id = 1 + (int64_t)(rnd(r) % (uint64_t)files);

        if (ms_db_copies(&cs, db, id, tp) != MS_OK)
            return MS_ERR;
        if (!cs->nelts)
            continue;
        stale = APR_ARRAY_IDX(cs, (int)(rnd(r) % (uint64_t)cs->nelts), ms_copy_t);
        c = apr_array_push(pending);
        c->file_id = id;
        c->copy = stale;
        stale.size++;
        if (ms_db_copy_put(db, id, &stale) != MS_OK)
            return MS_ERR;
        (*done)++;
        i++;
    }
    return MS_OK;
}

static int cmd_churn(const char *dbpath, int seconds, int per_commit, int probes,
                     int changes, uint64_t seed, apr_pool_t *p)
{
    ms_db_t *db = NULL;
    const ms_mirrors_t *ms;
    const ms_mirror_t *down = NULL;
    const char *err = NULL;
    int64_t files;
    double t_end, t_next, spent = 0;
    int *up_ids, n_up = 0, commits = 0, copies = 0, verdicts = 0, changed = 0, i, k, rc = 1;
    int64_t mgen0, dgen0, mgen1, dgen1;
    apr_array_header_t *pending = apr_array_make(p, changes > 0 ? changes : 1,
                                                 sizeof(changed_copy_t));
    rng_t r;

    rng_seed(&r, seed);
    if (ms_db_open(&db, dbpath, MS_DB_READWRITE, p, &err) != MS_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    if (ms_db_mirrors(&ms, db) != MS_OK || ms_db_file_count(db, &files) != MS_OK
        || files <= 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, dbpath, files <= 0 ? "no files" : ms_db_errmsg(db));
        goto out;
    }
    /* Mirrors up over HTTP and HTTPS on IPv4: the ones a probe takes down. */
    up_ids = apr_palloc(p, (ms->count + 1) * sizeof(*up_ids));
    for (i = 0; i < ms->count; i++) {
        const ms_mirror_t *m = ms->mirror[i];
        if (m->enabled && m->health[MS_HTTP][0].up && m->health[MS_HTTPS][0].up)
            up_ids[n_up++] = i;
    }
    if (ms_db_generation_now(db, &mgen0, &dgen0) != MS_OK)
        goto out;
    t_next = now_s();
    t_end = t_next + seconds;
    while (t_next < t_end) {
        apr_pool_t *tp;
        double t0;

        while (now_s() < t_next)
            usleep(10000);
        t0 = now_s();
        apr_pool_create(&tp, p);
        if (ms_db_begin(db) != MS_OK)
            goto out;
        for (k = 0; k < per_commit; k++) {          /* a rescan's copies, unchanged */
            apr_array_header_t *cs;
            int64_t id = 1 + (int64_t)(rnd(&r) % (uint64_t)files);
            int j;

            if (ms_db_copies(&cs, db, id, tp) != MS_OK)
                goto out;
            for (j = 0; j < cs->nelts && k < per_commit; j++, k++) {
                ms_copy_t c = APR_ARRAY_IDX(cs, j, ms_copy_t);
                c.seen = (int64_t)time(NULL);
                if (ms_db_copy_put(db, id, &c) != MS_OK)
                    goto out;
                copies++;
            }
        }
        if (changes > 0
            && churn_changes(db, pending, changes, files, &r, &changed, tp) != MS_OK)
            goto out;
        if (down) {                                 /* up again, as it was */
            if (probe_slot(db, down, MS_HTTP, 1) != MS_OK
                || probe_slot(db, down, MS_HTTPS, 1) != MS_OK)
                goto out;
            down = NULL;
            verdicts++;
        }
        else if (n_up && probes) {
            down = ms->mirror[up_ids[rnd(&r) % (uint64_t)n_up]];
            if (probe_slot(db, down, MS_HTTP, 0) != MS_OK
                || probe_slot(db, down, MS_HTTPS, 0) != MS_OK)
                goto out;
            verdicts++;
        }
        if (ms_db_commit(db) != MS_OK)
            goto out;
        apr_pool_destroy(tp);
        spent += now_s() - t0;
        commits++;
        t_next += 1.0;
    }
    if (down || pending->nelts) {                   /* as it was found */
        if (ms_db_begin(db) != MS_OK
            || churn_changes(db, pending, 0, files, &r, &changed, p) != MS_OK
            || (down && (probe_slot(db, down, MS_HTTP, 1) != MS_OK
                         || probe_slot(db, down, MS_HTTPS, 1) != MS_OK))
            || ms_db_commit(db) != MS_OK)
            goto out;
        verdicts += down != NULL;
    }
    if (ms_db_generation_now(db, &mgen1, &dgen1) != MS_OK)
        goto out;
    printf("churn: %d commits, %d copies seen again, %d probes, %d copies changed "
           "(data moved %" APR_INT64_T_FMT " times); %.1f ms per commit\n",
           commits, copies, verdicts, changed, dgen1 - dgen0,
           commits ? spent * 1000 / commits : 0.0);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "%s: churn: %s\n", prog, ms_db_errmsg(db));
    ms_db_close(db);
    return rc;
}

/* ------------------------------------------------------------------ */

static int usage(void)
{
    fprintf(stderr,
            "usage: %s db --db OUT --root DIR --lists DIR --files N [--mirrors 500] [--seed 1]\n"
            "       %s clients --geoip MMDB --db DB --out FILE [--count 5000] [--seed 1]\n"
            "       %s churn --db DB --seconds S [--copies 2000] [--probes 1] [--changes 0]\n"
            "             [--seed 1]\n",
            prog, prog, prog);
    return 2;
}

int main(int argc, char **argv)
{
    apr_pool_t *p;
    gen_opts_t o;
    const char *geoip = NULL, *out = NULL;
    int count = 5000, seconds = 0, copies = 2000, probes = 1, changes = 0, i, rc;

    memset(&o, 0, sizeof o);
    o.mirrors = 500;
    o.seed = 1;
    if (argc < 2)
        return usage();
    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        if (!strcmp(a, "--db")) o.db = v;
        else if (!strcmp(a, "--root")) o.root = v;
        else if (!strcmp(a, "--lists")) o.lists = v;
        else if (!strcmp(a, "--files")) o.files = atol(v);
        else if (!strcmp(a, "--mirrors")) o.mirrors = atoi(v);
        else if (!strcmp(a, "--seed")) o.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--geoip")) geoip = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--count")) count = atoi(v);
        else if (!strcmp(a, "--seconds")) seconds = atoi(v);
        else if (!strcmp(a, "--copies")) copies = atoi(v);
        else if (!strcmp(a, "--probes")) probes = atoi(v);
        else if (!strcmp(a, "--changes")) changes = atoi(v);
        else
            return usage();
        i++;
    }
    apr_initialize();
    apr_pool_create(&p, NULL);
    if (!strcmp(argv[1], "db")) {
        if (!o.db || !o.root || !o.lists || o.files <= 0 || o.mirrors < 2)
            return usage();
        rc = cmd_db(&o, p);
    }
    else if (!strcmp(argv[1], "clients")) {
        if (!geoip || !o.db || !out || count <= 0)
            return usage();
        rc = cmd_clients(geoip, o.db, out, count, o.seed, p);
    }
    else if (!strcmp(argv[1], "churn")) {
        if (!o.db || seconds <= 0 || copies < 0 || changes < 0)
            return usage();
        rc = cmd_churn(o.db, seconds, copies, probes, changes, o.seed, p);
    }
    else
        rc = usage();
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
