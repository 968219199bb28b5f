/* tap.h — a tiny Test Anything Protocol helper for the unit tests.
 *
 *   plan(3);                          or no plan, and done_testing() at the end
 *   ok(x == 1, "x is %d", 1);
 *   is_int(got, 42, "the answer");
 *   is_str(got, "a/b", "normalised");
 *   is_double(km, 343.5, 3.5, "London-Paris");
 *   diag("seed %llu", seed);
 *   return done_testing();
 *
 * Output goes to stdout as TAP for `prove`; diagnostics go to stderr prefixed
 * with "# ". done_testing() returns the exit status: non-zero when any test
 * failed or the count disagrees with the plan. Header-only: everything is
 * static, and unused helpers are marked so -Werror builds stay quiet. */
#ifndef MS_TAP_H
#define MS_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAP_UNUSED __attribute__((unused))

static int tap_run = 0;
static int tap_failed = 0;
static int tap_planned = -1;

static TAP_UNUSED void plan(int n)
{
    tap_planned = n;
    printf("1..%d\n", n);
    fflush(stdout);
}

static TAP_UNUSED __attribute__((format(printf, 1, 2))) void diag(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("# ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

/* Print one result line; the name has '#' replaced so TAP does not read it as a directive. */
static TAP_UNUSED int tap_result(int pass, const char *file, int line, const char *fmt,
                                 va_list ap)
{
    char name[512];
    char *c;

    vsnprintf(name, sizeof(name), fmt, ap);
    for (c = name; *c; c++) {
        if (*c == '#' || *c == '\n' || *c == '\r')
            *c = '_';
    }
    tap_run++;
    printf("%sok %d - %s\n", pass ? "" : "not ", tap_run, name);
    fflush(stdout);
    if (!pass) {
        tap_failed++;
        diag("  Failed test '%s'", name);
        diag("  at %s line %d.", file, line);
    }
    return pass;
}

static TAP_UNUSED __attribute__((format(printf, 4, 5)))
int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    tap_result(pass, file, line, fmt, ap);
    va_end(ap);
    return pass;
}

static TAP_UNUSED __attribute__((format(printf, 5, 6)))
int tap_is_int(long long got, long long want, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    int pass = got == want;

    va_start(ap, fmt);
    tap_result(pass, file, line, fmt, ap);
    va_end(ap);
    if (!pass) {
        diag("         got: %lld", got);
        diag("    expected: %lld", want);
    }
    return pass;
}

/* NULL equals only NULL. */
static TAP_UNUSED __attribute__((format(printf, 5, 6)))
int tap_is_str(const char *got, const char *want, const char *file, int line,
               const char *fmt, ...)
{
    va_list ap;
    int pass;

    if (got == NULL || want == NULL)
        pass = got == want;
    else
        pass = strcmp(got, want) == 0;
    va_start(ap, fmt);
    tap_result(pass, file, line, fmt, ap);
    va_end(ap);
    if (!pass) {
        diag("         got: %s%s%s", got ? "'" : "", got ? got : "NULL", got ? "'" : "");
        diag("    expected: %s%s%s", want ? "'" : "", want ? want : "NULL", want ? "'" : "");
    }
    return pass;
}

static TAP_UNUSED __attribute__((format(printf, 6, 7)))
int tap_is_double(double got, double want, double eps, const char *file, int line,
                  const char *fmt, ...)
{
    va_list ap;
    int pass = fabs(got - want) <= eps;

    va_start(ap, fmt);
    tap_result(pass, file, line, fmt, ap);
    va_end(ap);
    if (!pass) {
        diag("         got: %.6f", got);
        diag("    expected: %.6f (within %.6f)", want, eps);
    }
    return pass;
}

/* Print the plan when none was given, and return the exit status. */
static TAP_UNUSED int done_testing(void)
{
    if (tap_planned < 0) {
        printf("1..%d\n", tap_run);
        tap_planned = tap_run;
    }
    fflush(stdout);
    if (tap_run != tap_planned)
        diag("Looks like you planned %d tests but ran %d.", tap_planned, tap_run);
    if (tap_failed)
        diag("Looks like you failed %d test%s of %d.", tap_failed,
             tap_failed == 1 ? "" : "s", tap_run);
    return (tap_failed || tap_run != tap_planned) ? 1 : 0;
}

/* Stop the whole program: a precondition of the remaining tests failed. */
static TAP_UNUSED __attribute__((format(printf, 1, 2), noreturn))
void bail_out(const char *fmt, ...)
{
    va_list ap;

    printf("Bail out! ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    exit(255);
}

#define ok(cond, ...)          tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) tap_is_int((long long)(got), (long long)(want), \
                                          __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define is_double(got, want, eps, ...) tap_is_double((got), (want), (eps), \
                                                     __FILE__, __LINE__, __VA_ARGS__)

#endif
