/* ms_country.h — ISO 3166-1 alpha-2 country codes and their continents. */
#ifndef MS_COUNTRY_H
#define MS_COUNTRY_H

/* Continent code (AF AN AS EU NA OC SA) of a country code, compared without
 * regard to case; NULL when the code is not an assigned ISO 3166-1 code (XK, Kosovo, is
 * accepted too: MaxMind uses it). */
const char *ms_country_continent(const char *cc);

/* 1 if cc is one of the seven continent codes, else 0 (case-insensitive). */
int ms_continent_valid(const char *cc);

#endif
