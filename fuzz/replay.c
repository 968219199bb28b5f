/* replay.c — a main() for a libFuzzer harness without libFuzzer, so that
 * `make test` (gcc, and ASan/UBSan under SANITIZE=1) runs every harness's
 * properties over its corpus on every build, not only where clang is.
 *
 * Built once per harness as BUILD/t/fuzz_<target> (see the Makefile, which
 * defines FUZZ_TARGET and FUZZ_MAX_LEN). Run from the tree's top, it reads
 * fuzz/corpus/<target>/ in name order and, for each file, calls the harness
 * with the file itself and then with MUTATIONS variants of it, made by a
 * generator seeded by the file's name (so a run is the same every time and a
 * failure names the input that made it): bytes flipped, set to a boundary
 * value, inserted, deleted, duplicated, or the input cut short, a few at a
 * time. A failed property aborts, as under libFuzzer, and prove reports the
 * program as failed after the last "ok" line; the "# input" comment before
 * each call names what was being tried. Prints TAP: one test per corpus file.
 *
 * It is no substitute for `make fuzz` (coverage-guided, hours of inputs);
 * it keeps what fuzzing found fixed, and tries the neighbourhood of each seed. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET (the corpus directory's name) must be defined"
#endif
#ifndef FUZZ_MAX_LEN
#define FUZZ_MAX_LEN 4096
#endif

/* Variants per corpus file: 10,000 found the "." and ".." of a DOS LIST
 * listing again (a bug fuzzing found once) when that fix was reverted and its
 * crash input taken out of the corpus; 400 did not. */
#ifndef MUTATIONS
#define MUTATIONS 10000
#endif

/* xorshift64*: small, and the same on every platform. */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* FNV-1a of a name: the seed of that file's mutations. */
static uint64_t seed_of(const char *name)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * 1099511628211ULL;
    return h ? h : 1;
}

/* One random edit of buf (len bytes of cap) in place; returns the new length. */
static size_t mutate_once(uint8_t *buf, size_t len, size_t cap, uint64_t *s)
{
    static const uint8_t special[] = { 0, 1, '\n', '\r', ' ', '/', '.', '%', '\\',
                                       ':', '"', '<', '>', '&', '#', 0x7f, 0x80,
                                       0xc0, 0xed, 0xef, 0xf4, 0xff };
    size_t at = len ? (size_t)(next_rand(s) % len) : 0;

    switch (next_rand(s) % 6) {
    case 0:                                     /* flip a bit */
        if (len)
            buf[at] ^= (uint8_t)(1u << (next_rand(s) % 8));
        break;
    case 1:                                     /* a boundary byte */
        if (len)
            buf[at] = special[next_rand(s) % sizeof special];
        break;
    case 2:                                     /* insert a byte */
        if (len < cap) {
            memmove(buf + at + 1, buf + at, len - at);
            buf[at] = special[next_rand(s) % sizeof special];
            len++;
        }
        break;
    case 3:                                     /* delete a run */
        if (len) {
            size_t n = 1 + next_rand(s) % 8;

            if (n > len - at)
                n = len - at;
            memmove(buf + at, buf + at + n, len - at - n);
            len -= n;
        }
        break;
    case 4:                                     /* repeat a run */
        if (len) {
            size_t n = 1 + next_rand(s) % 16;

            if (n > len - at)
                n = len - at;
            if (n > cap - len)
                n = cap - len;
            memmove(buf + at + n, buf + at, len - at);
            len += n;
        }
        break;
    default:                                    /* cut short */
        len = at;
        break;
    }
    return len;
}

/* The harness over data, in a buffer of exactly len bytes as libFuzzer
 * gives it (so a read past the end is an ASan report here too). */
static void run_one(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);

    if (!copy)
        abort();
    memcpy(copy, data, len);
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
}

/* The file whole, then its mutations; returns 0, or -1 when it cannot be read. */
static int replay_file(const char *dir, const char *name)
{
    char path[4096];
    uint8_t *seed = NULL, *buf = NULL;
    size_t seed_len = 0, len;
    uint64_t s = seed_of(name);
    FILE *f;
    int i, rv = -1;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!(f = fopen(path, "rb")))
        goto leave;
    if (!(seed = malloc(FUZZ_MAX_LEN)) || !(buf = malloc(FUZZ_MAX_LEN)))
        goto leave;
    seed_len = fread(seed, 1, FUZZ_MAX_LEN, f);
    if (ferror(f))
        goto leave;

    printf("# input %s\n", name);
    fflush(stdout);
    run_one(seed, seed_len);
    for (i = 0; i < MUTATIONS; i++) {
        int edits = 1 + (int)(next_rand(&s) % 4), e;

        memcpy(buf, seed, seed_len);
        len = seed_len;
        for (e = 0; e < edits; e++)
            len = mutate_once(buf, len, FUZZ_MAX_LEN, &s);
        run_one(buf, len);
    }
    rv = 0;
leave:
    if (f)
        fclose(f);
    free(seed);
    free(buf);
    return rv;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "fuzz/corpus/" FUZZ_TARGET;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    struct dirent *de;
    DIR *d;
    int failed = 0;

    if (!(d = opendir(dir))) {
        printf("1..1\nnot ok 1 - %s: cannot open the corpus\n", dir);
        return 1;
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            if (!(names = realloc(names, cap * sizeof *names)))
                abort();
        }
        if (!(names[n++] = strdup(de->d_name)))
            abort();
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);

    printf("1..%zu\n", n);
    for (i = 0; i < n; i++) {
        if (replay_file(dir, names[i]) == 0) {
            printf("ok %zu - %s/%s and %d variants\n", i + 1, FUZZ_TARGET, names[i], MUTATIONS);
        } else {
            printf("not ok %zu - %s/%s: cannot read\n", i + 1, FUZZ_TARGET, names[i]);
            failed = 1;
        }
        fflush(stdout);
        free(names[i]);
    }
    free(names);
    return failed;
}
