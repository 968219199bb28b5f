/* test_country.c — ISO 3166-1 codes and MaxMind's continents (ms_country.h). */
#include <string.h>

#include "tap.h"
#include "ms_country.h"

static const char *const continent_codes[] = { "AF", "AN", "AS", "EU", "NA", "OC", "SA" };
#define N_CONTINENTS 7

/* Country → continent as MaxMind's GeoLite2 country locations give them,
 * including the cases where atlases disagree. */
static const char *const expected[][2] = {
    { "RU", "EU" }, { "TR", "AS" }, { "CY", "EU" }, { "AM", "AS" }, { "AZ", "AS" },
    { "GE", "AS" }, { "KZ", "AS" }, { "EG", "AF" }, { "IL", "AS" }, { "PS", "AS" },
    { "MX", "NA" }, { "PA", "NA" }, { "CR", "NA" }, { "GT", "NA" }, { "BZ", "NA" },
    { "JM", "NA" }, { "CU", "NA" }, { "HT", "NA" }, { "PR", "NA" }, { "VI", "NA" },
    { "BQ", "NA" }, { "CW", "NA" }, { "SX", "NA" }, { "AW", "NA" }, { "TT", "NA" },
    { "GL", "NA" }, { "BM", "NA" }, { "PM", "NA" }, { "US", "NA" }, { "CA", "NA" },
    { "BR", "SA" }, { "AR", "SA" }, { "CO", "SA" }, { "VE", "SA" }, { "FK", "SA" },
    { "GF", "SA" }, { "AU", "OC" }, { "NZ", "OC" }, { "FJ", "OC" }, { "PG", "OC" },
    { "GU", "OC" }, { "AS", "OC" }, { "UM", "OC" }, { "CX", "OC" }, { "TL", "OC" },
    { "PN", "OC" }, { "AQ", "AN" }, { "BV", "AN" }, { "GS", "AN" }, { "HM", "AN" },
    { "TF", "AN" }, { "DE", "EU" }, { "GB", "EU" }, { "FR", "EU" }, { "AX", "EU" },
    { "SJ", "EU" }, { "VA", "EU" }, { "GI", "EU" }, { "FO", "EU" }, { "IS", "EU" },
    { "RS", "EU" }, { "CN", "AS" }, { "JP", "AS" }, { "IN", "AS" }, { "IO", "AS" },
    { "CC", "AS" }, { "MV", "AS" }, { "ZA", "AF" }, { "MA", "AF" }, { "EH", "AF" },
    { "RE", "AF" }, { "YT", "AF" }, { "SH", "AF" }, { "SS", "AF" }, { "CV", "AF" },
    { "SC", "AF" }, { "AD", "EU" }, { "ZW", "AF" },
};

/* How many codes each continent has in MaxMind's data (XK counted in EU). */
static const int per_continent[N_CONTINENTS] = { 58, 5, 51, 53, 41, 28, 14 };

static int continent_index(const char *c)
{
    int i;

    for (i = 0; i < N_CONTINENTS; i++) {
        if (strcmp(c, continent_codes[i]) == 0)
            return i;
    }
    return -1;
}

/* Every two-letter combination: 249 are assigned (and XK), each to a valid continent. */
static void test_all_codes(void)
{
    int counts[N_CONTINENTS] = { 0 };
    int assigned = 0, bad_continent = 0, i;
    char cc[3] = "AA";

    for (cc[0] = 'A'; cc[0] <= 'Z'; cc[0]++) {
        for (cc[1] = 'A'; cc[1] <= 'Z'; cc[1]++) {
            const char *c = ms_country_continent(cc);

            if (c == NULL)
                continue;
            assigned++;
            i = continent_index(c);
            if (i < 0)
                bad_continent++;
            else
                counts[i]++;
        }
    }
    is_int(assigned, 250, "249 assigned ISO 3166-1 alpha-2 codes and XK are known");
    is_int(bad_continent, 0, "each maps to one of the seven continent codes");
    for (i = 0; i < N_CONTINENTS; i++)
        is_int(counts[i], per_continent[i], "%s has %d countries", continent_codes[i],
               per_continent[i]);
}

static void test_known(void)
{
    size_t i;

    for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        is_str(ms_country_continent(expected[i][0]), expected[i][1], "%s is in %s",
               expected[i][0], expected[i][1]);
}

static void test_case_and_junk(void)
{
    static const char *const unknown[] = {
        "EU", "UK", "ZZ", "AA", "XX", "QM", "AP", "A1", "O1", "", "D", "DEU", "D1", "1D",
        "de ", " de", "d\xc3", "\xc3\x84" "D",
    };
    size_t i;

    is_str(ms_country_continent("de"), "EU", "lower case de");
    is_str(ms_country_continent("De"), "EU", "mixed case De");
    is_str(ms_country_continent("dE"), "EU", "mixed case dE");
    is_str(ms_country_continent("aq"), "AN", "lower case aq");
    is_str(ms_country_continent("zw"), "AF", "last code, lower case");
    is_str(ms_country_continent("AD"), "EU", "first code");
    for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        ok(ms_country_continent(unknown[i]) == NULL, "'%s' is not an assigned code", unknown[i]);
    ok(ms_country_continent(NULL) == NULL, "NULL is not a code");
}

static void test_continents(void)
{
    static const char *const bad[] = {
        "XX", "", "E", "EUR", "EU ", "AM", "AQ", "NAA", "ZZ", "A", "0C",
    };
    int i;
    size_t j;
    char lower[3];

    for (i = 0; i < N_CONTINENTS; i++) {
        ok(ms_continent_valid(continent_codes[i]), "%s is a continent", continent_codes[i]);
        lower[0] = (char)(continent_codes[i][0] - 'A' + 'a');
        lower[1] = (char)(continent_codes[i][1] - 'A' + 'a');
        lower[2] = '\0';
        ok(ms_continent_valid(lower), "%s is a continent", lower);
    }
    for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++)
        ok(!ms_continent_valid(bad[j]), "'%s' is not a continent", bad[j]);
    ok(!ms_continent_valid(NULL), "NULL is not a continent");
}

int main(void)
{
    test_all_codes();
    test_known();
    test_case_and_junk();
    test_continents();
    return done_testing();
}
