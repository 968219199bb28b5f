/* fuzz_country.c — libFuzzer harness for ms_country_continent and
 * ms_continent_valid (ms_country.c), which see country codes from the geo
 * database and from operators.
 *
 * The input up to its first NUL is the code. Asserted:
 *   - an answer is given only for exactly two ASCII letters;
 *   - the answer is one of the seven continent codes, and
 *     ms_continent_valid says so;
 *   - case does not matter: the upper- and lower-case spellings get the
 *     same answer (the same pointer, from the one table);
 *   - ms_continent_valid accepts exactly the seven codes, in any case. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_country.h"
#include "fuzz.h"

static const char *const seven[] = { "AF", "AN", "AS", "EU", "NA", "OC", "SA" };

static int is_letter(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static char up(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static char down(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    const char *cont;
    int two, is_seven = 0;
    size_t i;

    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    two = strlen(s) == 2 && is_letter(s[0]) && is_letter(s[1]);
    cont = ms_country_continent(s);
    if (!two)
        CHECK(cont == NULL);
    if (cont) {
        int known = 0;

        for (i = 0; i < 7; i++)
            known |= strcmp(cont, seven[i]) == 0;
        CHECK(known);
        CHECK(ms_continent_valid(cont) == 1);
    }
    if (two) {
        char u[3] = { up(s[0]), up(s[1]), '\0' }, l[3] = { down(s[0]), down(s[1]), '\0' };

        CHECK(ms_country_continent(u) == cont && ms_country_continent(l) == cont);
        for (i = 0; i < 7; i++)
            is_seven |= strcmp(u, seven[i]) == 0;
    }
    CHECK(ms_continent_valid(s) == is_seven);
    CHECK(ms_country_continent(NULL) == NULL && ms_continent_valid(NULL) == 0);
    free(s);
    return 0;
}
