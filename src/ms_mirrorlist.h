/* ms_mirrorlist.h — the mirror list of an answer, for people and programs:
 * `FILE.mirrorlist` / `?mirrorlist` (HTML) and `?mirrorlist=json` /
 * `Accept: application/json` (JSON). Both say the same things: the file, the
 * client's location, and the ranked mirrors, best first.
 *
 * The HTML page is one self-contained HTML5 document (inline CSS, no script,
 * no external assets), with lang, title, and a table with a caption and
 * header cells. It links the file's documents relatively: "./NAME.meta4",
 * "./NAME.sha256" (shown only when the hash is known) and
 * "./NAME?mirrorlist=json", NAME being the last segment of origin_url (the
 * URL asked for: a symbolic link's own name), else the file's name.
 *
 * The JSON document (written with ms_jw; unknown values are null):
 *   {
 *     "file": {
 *       "path":      "pub/x.iso",                origin-relative, normalised
 *       "name":      "x.iso",
 *       "url":       "https://origin/pub/x.iso", origin_url, or null
 *       "size":      4500000000,                 bytes
 *       "mtime":     1714564800,                 unix seconds
 *       "modified":  "2024-05-01T12:00:00Z",     the same, RFC 3339
 *       "sha256":    "…64 hex…" | null
 *     },
 *     "client": {
 *       "address":   "192.0.2.1",
 *       "country":   "DE" | null,                ISO 3166-1 alpha-2
 *       "continent": "EU" | null,
 *       "lat": 52.52 | null, "lon": 13.40 | null,
 *       "asn":       3320 | null,
 *       "https":     true                        the request came over https
 *     },
 *     "result":      "redirect",                 ms_result_name()
 *     "fallback":    false,                      the list holds fallback mirrors
 *     "generated":   "2024-05-02T08:00:00Z" | null,   now, when given
 *     "mirrors": [                               ranked order; [0] is chosen
 *       {
 *         "rank":        1,
 *         "name":        "m1",
 *         "url":         "https://m1/pub/x.iso", base_url + escaped path
 *         "base_url":    "https://m1/pub/",
 *         "scheme":      "https" | "http",
 *         "tier":        "country",              ms_tier_name()
 *         "country":     "DE" | null,
 *         "continent":   "EU" | null,
 *         "distance_km": 12.3 | null,            null: no coordinates
 *         "seen":        1714560000 | null,      last scan that saw it fresh
 *         "seen_utc":    "2024-05-01T10:40:00Z" | null,
 *         "fallback":    false                   true: a fallback mirror, no scan record
 *       }
 *     ]
 *   }
 */
#ifndef MS_MIRRORLIST_H
#define MS_MIRRORLIST_H

#include <stdint.h>
#include "ms_buf.h"
#include "ms_lookup.h"

#define MS_MIRRORLIST_HTML_TYPE "text/html; charset=utf-8"
#define MS_MIRRORLIST_JSON_TYPE "application/json"

/* Append the HTML page (ms_mirrorlist_html) or the JSON document
 * (ms_mirrorlist_json) for answer a to out. origin_url: the file's URL on
 * the origin, percent-encoded (NULL: not shown). now: unix seconds, used for
 * "3 h ago" and "generated" (0: left out). Return 0, or -1 (nothing written)
 * when the answer has no file. */
int ms_mirrorlist_html(ms_buf_t *out, const ms_answer_t *a, const char *origin_url,
                       int64_t now);
int ms_mirrorlist_json(ms_buf_t *out, const ms_answer_t *a, const char *origin_url,
                       int64_t now);

#endif
