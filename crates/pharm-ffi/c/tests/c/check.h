/* Minimal assertion helpers for the C test programs of pharm-ffi. Each program gets the
 * repository root as argv[1], runs its checks and exits 0 only when all passed. */
#ifndef PHARM_CHECK_H
#define PHARM_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pharm.h"

static int check_failures = 0;

/* Prints the calling thread's error detail (after a failed call). */
static inline void check_print_detail(void) {
    char id[128];
    char message[1024];
    size_t n = 0;
    if (pharm_error_id((uint8_t *)id, sizeof id, &n) != PHARM_RESULT_OK) {
        snprintf(id, sizeof id, "(id longer than the buffer)");
    }
    if (pharm_error_message((uint8_t *)message, sizeof message, &n) != PHARM_RESULT_OK) {
        snprintf(message, sizeof message, "(message of %zu bytes)", n);
    }
    fprintf(stderr, "      error %u %s: %s\n", (unsigned)pharm_error_code(), id, message);
}

/* CHECK(cond): records a failure with its line when cond is false. */
#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);     \
            check_failures++;                                                            \
        }                                                                                \
    } while (0)

/* CHECK_RESULT(call, expected): the call returns the expected pharm_result. */
#define CHECK_RESULT(call, expected)                                                     \
    do {                                                                                 \
        pharm_result check_got_ = (call);                                                \
        if (check_got_ != (expected)) {                                                  \
            fprintf(stderr, "%s:%d: %s returned %u, expected %u (%s)\n", __FILE__,       \
                    __LINE__, #call, (unsigned)check_got_, (unsigned)(expected),         \
                    #expected);                                                          \
            if (check_got_ != PHARM_RESULT_OK) check_print_detail();                     \
            check_failures++;                                                            \
        }                                                                                \
    } while (0)

#define CHECK_OK(call) CHECK_RESULT(call, PHARM_RESULT_OK)

/* True when the calling thread's last error has this string id. */
static inline int check_error_id_is(const char *expected) {
    char id[128];
    size_t n = 0;
    if (pharm_error_id((uint8_t *)id, sizeof id, &n) != PHARM_RESULT_OK) return 0;
    return strcmp(id, expected) == 0;
}

/* True when the pharm_bytes holds exactly the text. */
static inline int check_bytes_equal(const pharm_bytes *bytes, const char *text) {
    size_t len = strlen(text);
    return bytes != NULL && pharm_bytes_len(bytes) == len &&
           memcmp(pharm_bytes_data(bytes), text, len) == 0;
}

/* True when the pharm_bytes contains the text somewhere. */
static inline int check_bytes_contain(const pharm_bytes *bytes, const char *text) {
    size_t len = strlen(text);
    size_t have = pharm_bytes_len(bytes);
    const uint8_t *data = pharm_bytes_data(bytes);
    if (bytes == NULL || len > have) return 0;
    for (size_t i = 0; i + len <= have; i++) {
        if (memcmp(data + i, text, len) == 0) return 1;
    }
    return 0;
}

/* Reads a whole file (relative to the repository root) into a malloc'd buffer; the
 * caller frees it. Exits when the file cannot be read: a missing fixture is a failure. */
static inline char *check_read_file(const char *root, const char *relative, size_t *len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, relative);
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    size_t capacity = 1 << 16, used = 0;
    char *data = malloc(capacity);
    size_t got;
    while (data != NULL && (got = fread(data + used, 1, capacity - used, file)) > 0) {
        used += got;
        if (used == capacity) {
            char *bigger = realloc(data, capacity * 2);
            if (bigger == NULL) {
                free(data);
                data = NULL;
                break;
            }
            data = bigger;
            capacity *= 2;
        }
    }
    fclose(file);
    if (data == NULL) {
        fprintf(stderr, "out of memory reading %s\n", path);
        exit(2);
    }
    data[used] = '\0';
    *len = used;
    return data;
}

/* Ends main: prints the verdict and returns the exit status. */
static inline int check_finish(const char *program) {
    if (check_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", program, check_failures);
        return 1;
    }
    printf("%s: all checks passed\n", program);
    return 0;
}

#endif
