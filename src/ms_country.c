/* ms_country.c — ISO 3166-1 alpha-2 country codes and their continents.
 *
 * The table holds every officially assigned ISO 3166-1 alpha-2 code (249 of
 * them), each with the continent MaxMind's GeoIP2/GeoLite2 databases give it,
 * so a mirror registered by hand lands in the same continent tier as a client
 * located through the mmdb. MaxMind's choices are followed even where atlases
 * differ: RU and CY are EU, TR, AM, AZ and GE are AS, the Caribbean and Central
 * America are NA, CX and TL are OC, and AQ, BV, GS, HM and TF are AN.
 *
 * One user-assigned code is kept: XK, Kosovo, because MaxMind returns it for
 * clients there. The others (EU, ZZ, …) are absent.
 *
 * The table is sorted by code so a lookup is a binary search. */
#include <stddef.h>

#include "ms_country.h"

typedef struct ms_country {
    char code[3];
    char continent[3];
} ms_country_t;

static const ms_country_t countries[] = {
    { "AD", "EU" },   /* Andorra */
    { "AE", "AS" },   /* United Arab Emirates */
    { "AF", "AS" },   /* Afghanistan */
    { "AG", "NA" },   /* Antigua and Barbuda */
    { "AI", "NA" },   /* Anguilla */
    { "AL", "EU" },   /* Albania */
    { "AM", "AS" },   /* Armenia */
    { "AO", "AF" },   /* Angola */
    { "AQ", "AN" },   /* Antarctica */
    { "AR", "SA" },   /* Argentina */
    { "AS", "OC" },   /* American Samoa */
    { "AT", "EU" },   /* Austria */
    { "AU", "OC" },   /* Australia */
    { "AW", "NA" },   /* Aruba */
    { "AX", "EU" },   /* Aland Islands */
    { "AZ", "AS" },   /* Azerbaijan */
    { "BA", "EU" },   /* Bosnia and Herzegovina */
    { "BB", "NA" },   /* Barbados */
    { "BD", "AS" },   /* Bangladesh */
    { "BE", "EU" },   /* Belgium */
    { "BF", "AF" },   /* Burkina Faso */
    { "BG", "EU" },   /* Bulgaria */
    { "BH", "AS" },   /* Bahrain */
    { "BI", "AF" },   /* Burundi */
    { "BJ", "AF" },   /* Benin */
    { "BL", "NA" },   /* Saint Barthelemy */
    { "BM", "NA" },   /* Bermuda */
    { "BN", "AS" },   /* Brunei Darussalam */
    { "BO", "SA" },   /* Bolivia */
    { "BQ", "NA" },   /* Bonaire, Sint Eustatius and Saba */
    { "BR", "SA" },   /* Brazil */
    { "BS", "NA" },   /* Bahamas */
    { "BT", "AS" },   /* Bhutan */
    { "BV", "AN" },   /* Bouvet Island */
    { "BW", "AF" },   /* Botswana */
    { "BY", "EU" },   /* Belarus */
    { "BZ", "NA" },   /* Belize */
    { "CA", "NA" },   /* Canada */
    { "CC", "AS" },   /* Cocos (Keeling) Islands */
    { "CD", "AF" },   /* Congo, The Democratic Republic of the */
    { "CF", "AF" },   /* Central African Republic */
    { "CG", "AF" },   /* Congo */
    { "CH", "EU" },   /* Switzerland */
    { "CI", "AF" },   /* Cote d'Ivoire */
    { "CK", "OC" },   /* Cook Islands */
    { "CL", "SA" },   /* Chile */
    { "CM", "AF" },   /* Cameroon */
    { "CN", "AS" },   /* China */
    { "CO", "SA" },   /* Colombia */
    { "CR", "NA" },   /* Costa Rica */
    { "CU", "NA" },   /* Cuba */
    { "CV", "AF" },   /* Cabo Verde */
    { "CW", "NA" },   /* Curacao */
    { "CX", "OC" },   /* Christmas Island */
    { "CY", "EU" },   /* Cyprus */
    { "CZ", "EU" },   /* Czechia */
    { "DE", "EU" },   /* Germany */
    { "DJ", "AF" },   /* Djibouti */
    { "DK", "EU" },   /* Denmark */
    { "DM", "NA" },   /* Dominica */
    { "DO", "NA" },   /* Dominican Republic */
    { "DZ", "AF" },   /* Algeria */
    { "EC", "SA" },   /* Ecuador */
    { "EE", "EU" },   /* Estonia */
    { "EG", "AF" },   /* Egypt */
    { "EH", "AF" },   /* Western Sahara */
    { "ER", "AF" },   /* Eritrea */
    { "ES", "EU" },   /* Spain */
    { "ET", "AF" },   /* Ethiopia */
    { "FI", "EU" },   /* Finland */
    { "FJ", "OC" },   /* Fiji */
    { "FK", "SA" },   /* Falkland Islands (Malvinas) */
    { "FM", "OC" },   /* Micronesia, Federated States of */
    { "FO", "EU" },   /* Faroe Islands */
    { "FR", "EU" },   /* France */
    { "GA", "AF" },   /* Gabon */
    { "GB", "EU" },   /* United Kingdom */
    { "GD", "NA" },   /* Grenada */
    { "GE", "AS" },   /* Georgia */
    { "GF", "SA" },   /* French Guiana */
    { "GG", "EU" },   /* Guernsey */
    { "GH", "AF" },   /* Ghana */
    { "GI", "EU" },   /* Gibraltar */
    { "GL", "NA" },   /* Greenland */
    { "GM", "AF" },   /* Gambia */
    { "GN", "AF" },   /* Guinea */
    { "GP", "NA" },   /* Guadeloupe */
    { "GQ", "AF" },   /* Equatorial Guinea */
    { "GR", "EU" },   /* Greece */
    { "GS", "AN" },   /* South Georgia and the South Sandwich Islands */
    { "GT", "NA" },   /* Guatemala */
    { "GU", "OC" },   /* Guam */
    { "GW", "AF" },   /* Guinea-Bissau */
    { "GY", "SA" },   /* Guyana */
    { "HK", "AS" },   /* Hong Kong */
    { "HM", "AN" },   /* Heard Island and McDonald Islands */
    { "HN", "NA" },   /* Honduras */
    { "HR", "EU" },   /* Croatia */
    { "HT", "NA" },   /* Haiti */
    { "HU", "EU" },   /* Hungary */
    { "ID", "AS" },   /* Indonesia */
    { "IE", "EU" },   /* Ireland */
    { "IL", "AS" },   /* Israel */
    { "IM", "EU" },   /* Isle of Man */
    { "IN", "AS" },   /* India */
    { "IO", "AS" },   /* British Indian Ocean Territory */
    { "IQ", "AS" },   /* Iraq */
    { "IR", "AS" },   /* Iran */
    { "IS", "EU" },   /* Iceland */
    { "IT", "EU" },   /* Italy */
    { "JE", "EU" },   /* Jersey */
    { "JM", "NA" },   /* Jamaica */
    { "JO", "AS" },   /* Jordan */
    { "JP", "AS" },   /* Japan */
    { "KE", "AF" },   /* Kenya */
    { "KG", "AS" },   /* Kyrgyzstan */
    { "KH", "AS" },   /* Cambodia */
    { "KI", "OC" },   /* Kiribati */
    { "KM", "AF" },   /* Comoros */
    { "KN", "NA" },   /* Saint Kitts and Nevis */
    { "KP", "AS" },   /* North Korea */
    { "KR", "AS" },   /* South Korea */
    { "KW", "AS" },   /* Kuwait */
    { "KY", "NA" },   /* Cayman Islands */
    { "KZ", "AS" },   /* Kazakhstan */
    { "LA", "AS" },   /* Laos */
    { "LB", "AS" },   /* Lebanon */
    { "LC", "NA" },   /* Saint Lucia */
    { "LI", "EU" },   /* Liechtenstein */
    { "LK", "AS" },   /* Sri Lanka */
    { "LR", "AF" },   /* Liberia */
    { "LS", "AF" },   /* Lesotho */
    { "LT", "EU" },   /* Lithuania */
    { "LU", "EU" },   /* Luxembourg */
    { "LV", "EU" },   /* Latvia */
    { "LY", "AF" },   /* Libya */
    { "MA", "AF" },   /* Morocco */
    { "MC", "EU" },   /* Monaco */
    { "MD", "EU" },   /* Moldova */
    { "ME", "EU" },   /* Montenegro */
    { "MF", "NA" },   /* Saint Martin (French part) */
    { "MG", "AF" },   /* Madagascar */
    { "MH", "OC" },   /* Marshall Islands */
    { "MK", "EU" },   /* North Macedonia */
    { "ML", "AF" },   /* Mali */
    { "MM", "AS" },   /* Myanmar */
    { "MN", "AS" },   /* Mongolia */
    { "MO", "AS" },   /* Macao */
    { "MP", "OC" },   /* Northern Mariana Islands */
    { "MQ", "NA" },   /* Martinique */
    { "MR", "AF" },   /* Mauritania */
    { "MS", "NA" },   /* Montserrat */
    { "MT", "EU" },   /* Malta */
    { "MU", "AF" },   /* Mauritius */
    { "MV", "AS" },   /* Maldives */
    { "MW", "AF" },   /* Malawi */
    { "MX", "NA" },   /* Mexico */
    { "MY", "AS" },   /* Malaysia */
    { "MZ", "AF" },   /* Mozambique */
    { "NA", "AF" },   /* Namibia */
    { "NC", "OC" },   /* New Caledonia */
    { "NE", "AF" },   /* Niger */
    { "NF", "OC" },   /* Norfolk Island */
    { "NG", "AF" },   /* Nigeria */
    { "NI", "NA" },   /* Nicaragua */
    { "NL", "EU" },   /* Netherlands */
    { "NO", "EU" },   /* Norway */
    { "NP", "AS" },   /* Nepal */
    { "NR", "OC" },   /* Nauru */
    { "NU", "OC" },   /* Niue */
    { "NZ", "OC" },   /* New Zealand */
    { "OM", "AS" },   /* Oman */
    { "PA", "NA" },   /* Panama */
    { "PE", "SA" },   /* Peru */
    { "PF", "OC" },   /* French Polynesia */
    { "PG", "OC" },   /* Papua New Guinea */
    { "PH", "AS" },   /* Philippines */
    { "PK", "AS" },   /* Pakistan */
    { "PL", "EU" },   /* Poland */
    { "PM", "NA" },   /* Saint Pierre and Miquelon */
    { "PN", "OC" },   /* Pitcairn */
    { "PR", "NA" },   /* Puerto Rico */
    { "PS", "AS" },   /* Palestine, State of */
    { "PT", "EU" },   /* Portugal */
    { "PW", "OC" },   /* Palau */
    { "PY", "SA" },   /* Paraguay */
    { "QA", "AS" },   /* Qatar */
    { "RE", "AF" },   /* Reunion */
    { "RO", "EU" },   /* Romania */
    { "RS", "EU" },   /* Serbia */
    { "RU", "EU" },   /* Russian Federation */
    { "RW", "AF" },   /* Rwanda */
    { "SA", "AS" },   /* Saudi Arabia */
    { "SB", "OC" },   /* Solomon Islands */
    { "SC", "AF" },   /* Seychelles */
    { "SD", "AF" },   /* Sudan */
    { "SE", "EU" },   /* Sweden */
    { "SG", "AS" },   /* Singapore */
    { "SH", "AF" },   /* Saint Helena, Ascension and Tristan da Cunha */
    { "SI", "EU" },   /* Slovenia */
    { "SJ", "EU" },   /* Svalbard and Jan Mayen */
    { "SK", "EU" },   /* Slovakia */
    { "SL", "AF" },   /* Sierra Leone */
    { "SM", "EU" },   /* San Marino */
    { "SN", "AF" },   /* Senegal */
    { "SO", "AF" },   /* Somalia */
    { "SR", "SA" },   /* Suriname */
    { "SS", "AF" },   /* South Sudan */
    { "ST", "AF" },   /* Sao Tome and Principe */
    { "SV", "NA" },   /* El Salvador */
    { "SX", "NA" },   /* Sint Maarten (Dutch part) */
    { "SY", "AS" },   /* Syria */
    { "SZ", "AF" },   /* Eswatini */
    { "TC", "NA" },   /* Turks and Caicos Islands */
    { "TD", "AF" },   /* Chad */
    { "TF", "AN" },   /* French Southern Territories */
    { "TG", "AF" },   /* Togo */
    { "TH", "AS" },   /* Thailand */
    { "TJ", "AS" },   /* Tajikistan */
    { "TK", "OC" },   /* Tokelau */
    { "TL", "OC" },   /* Timor-Leste */
    { "TM", "AS" },   /* Turkmenistan */
    { "TN", "AF" },   /* Tunisia */
    { "TO", "OC" },   /* Tonga */
    { "TR", "AS" },   /* Turkiye */
    { "TT", "NA" },   /* Trinidad and Tobago */
    { "TV", "OC" },   /* Tuvalu */
    { "TW", "AS" },   /* Taiwan */
    { "TZ", "AF" },   /* Tanzania */
    { "UA", "EU" },   /* Ukraine */
    { "UG", "AF" },   /* Uganda */
    { "UM", "OC" },   /* United States Minor Outlying Islands */
    { "US", "NA" },   /* United States */
    { "UY", "SA" },   /* Uruguay */
    { "UZ", "AS" },   /* Uzbekistan */
    { "VA", "EU" },   /* Holy See (Vatican City State) */
    { "VC", "NA" },   /* Saint Vincent and the Grenadines */
    { "VE", "SA" },   /* Venezuela */
    { "VG", "NA" },   /* Virgin Islands, British */
    { "VI", "NA" },   /* Virgin Islands, U.S. */
    { "VN", "AS" },   /* Vietnam */
    { "VU", "OC" },   /* Vanuatu */
    { "WF", "OC" },   /* Wallis and Futuna */
    { "WS", "OC" },   /* Samoa */
    { "XK", "EU" },   /* Kosovo: user-assigned, but MaxMind returns it */
    { "YE", "AS" },   /* Yemen */
    { "YT", "AF" },   /* Mayotte */
    { "ZA", "AF" },   /* South Africa */
    { "ZM", "AF" },   /* Zambia */
    { "ZW", "AF" },   /* Zimbabwe */
};

#define COUNTRY_COUNT (sizeof(countries) / sizeof(countries[0]))

static const char *const continents[] = { "AF", "AN", "AS", "EU", "NA", "OC", "SA" };

#define CONTINENT_COUNT (sizeof(continents) / sizeof(continents[0]))

/* Upper-case an ASCII letter; anything else is returned as it is, so that a
 * non-letter never matches a table entry. Locale-independent on purpose. */
static char ascii_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* Copy a two-letter code into key in upper case. Returns 0, or -1 when s is
 * not exactly two ASCII letters. */
static int two_letter_key(char key[3], const char *s)
{
    int i;

    if (s == NULL)
        return -1;
    for (i = 0; i < 2; i++) {
        key[i] = ascii_upper(s[i]);
        if (key[i] < 'A' || key[i] > 'Z')
            return -1;
    }
    if (s[2] != '\0')
        return -1;
    key[2] = '\0';
    return 0;
}

/* Compare two upper-case two-letter codes, as strcmp would. */
static int code_cmp(const char *a, const char *b)
{
    if (a[0] != b[0])
        return (unsigned char)a[0] - (unsigned char)b[0];
    return (unsigned char)a[1] - (unsigned char)b[1];
}

const char *ms_country_continent(const char *cc)
{
    char key[3];
    size_t lo = 0, hi = COUNTRY_COUNT;

    if (two_letter_key(key, cc) != 0)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = code_cmp(key, countries[mid].code);

        if (c == 0)
            return countries[mid].continent;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int ms_continent_valid(const char *cc)
{
    char key[3];
    size_t i;

    if (two_letter_key(key, cc) != 0)
        return 0;
    for (i = 0; i < CONTINENT_COUNT; i++) {
        if (code_cmp(key, continents[i]) == 0)
            return 1;
    }
    return 0;
}
