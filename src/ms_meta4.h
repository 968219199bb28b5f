/* ms_meta4.h — the Metalink 4 document (RFC 5854) of an answer: what
 * `FILE.meta4`, `?meta4` and `Accept: application/metalink4+xml` get.
 *
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <metalink xmlns="urn:ietf:params:xml:ns:metalink">
 *     <generator>mod_mirrorsel</generator>
 *     <published>2024-05-01T12:00:00Z</published>       origin mtime
 *     <file name="x.iso">
 *       <size>4500000000</size>
 *       <hash type="sha-256">…64 hex…</hash>             when known
 *       <url location="de" priority="1">https://m1/pub/x.iso</url>
 *       …                                                ranked order
 *       <url priority="N+1">https://origin/pub/x.iso</url>
 *     </file>
 *   </metalink>
 *
 * location is the mirror's country in lower case, left out when unknown. */
#ifndef MS_META4_H
#define MS_META4_H

#include "ms_buf.h"
#include "ms_lookup.h"

#define MS_META4_TYPE "application/metalink4+xml"

/* Append the document for a->file and a->choice->ranked to out. origin_url
 * is the file's absolute URL on the origin (already percent-encoded; NULL
 * leaves it out); generator names the writer (NULL: "mod_mirrorsel").
 * Returns 0, or -1 (nothing written) when the answer has no file. */
int ms_meta4_write(ms_buf_t *out, const ms_answer_t *a, const char *origin_url,
                   const char *generator);

#endif
