/* fuzz.h — what the libFuzzer harnesses share: the entry points' prototypes,
 * a property check that aborts (so libFuzzer keeps the input), and a root
 * pool made once. */
#ifndef MS_FUZZ_H
#define MS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_pools.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s: property failed: %s (line %d)\n",              \
                    __FILE__, #cond, __LINE__);                                 \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* The harness's root pool, made on the first call. */
static inline apr_pool_t *fuzz_root_pool(void)
{
    static apr_pool_t *root;

    if (!root && (apr_initialize() != APR_SUCCESS || apr_pool_create(&root, NULL) != APR_SUCCESS))
        abort();
    return root;
}

#endif
