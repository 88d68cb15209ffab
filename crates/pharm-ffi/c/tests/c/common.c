/* The conventions every call shares: version, error detail, library-allocated bytes,
 * NULL handling, and a panic stopped at the boundary. */
#include "check.h"

static void version(void) {
    CHECK(pharm_abi_version() == PHARM_ABI_VERSION);
    CHECK(strlen(pharm_version()) > 0);
}

static void error_detail(void) {
    size_t n = 99;
    char buf[256];
    /* No failure yet on this thread: code 0, empty id and message. */
    CHECK(pharm_error_code() == 0);
    CHECK_OK(pharm_error_id((uint8_t *)buf, sizeof buf, &n));
    CHECK(n == 0 && buf[0] == '\0');
    CHECK_OK(pharm_error_message(NULL, 0, &n));
    CHECK(n == 0);

    /* A failing call records its detail. */
    CHECK_RESULT(pharm_error_codes(NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK(pharm_error_code() == PHARM_RESULT_NULL_PARAMETER);
    CHECK(check_error_id_is("ffi.null_parameter"));

    /* Too small a buffer: nothing copied, the needed length reported, ask again. */
    char tiny[4] = {'x', 'x', 'x', 'x'};
    CHECK_RESULT(pharm_error_message((uint8_t *)tiny, sizeof tiny, &n), PHARM_RESULT_BUFFER_TOO_SMALL);
    CHECK(n > sizeof tiny && tiny[0] == 'x');
    char *exact = malloc(n + 1);
    CHECK(exact != NULL);
    if (exact != NULL) {
        size_t again = 0;
        CHECK_OK(pharm_error_message((uint8_t *)exact, n + 1, &again));
        CHECK(again == n && exact[n] == '\0' && strstr(exact, "out") != NULL);
        /* Exactly the length, no room for the terminator: still copied. */
        CHECK_OK(pharm_error_message((uint8_t *)exact, n, &again));
        free(exact);
    }
    /* NULL out_n and NULL buffers are reported, not dereferenced. */
    CHECK_RESULT(pharm_error_message((uint8_t *)buf, sizeof buf, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_error_id(NULL, 64, &n), PHARM_RESULT_NULL_PARAMETER);

    /* A successful call clears the detail. */
    pharm_bytes *codes = NULL;
    CHECK_OK(pharm_error_codes(&codes));
    CHECK(pharm_error_code() == 0);
    CHECK(check_bytes_contain(codes, "\"id\":\"core.ndc_ambiguous\""));
    CHECK(check_bytes_contain(codes, "\"code\":3,\"id\":\"ffi.panic\""));
    pharm_bytes_free(codes);
}

static void result_names(void) {
    CHECK(strcmp(pharm_result_str(PHARM_RESULT_OK), "PHARM_RESULT_OK") == 0);
    CHECK(strcmp(pharm_result_str(PHARM_RESULT_POISONED), "PHARM_RESULT_POISONED") == 0);
    CHECK(strcmp(pharm_result_str(PHARM_RESULT_SHARD_ERROR), "PHARM_RESULT_SHARD_ERROR") == 0);
    CHECK(strcmp(pharm_result_str(12345), "PHARM_RESULT_UNKNOWN") == 0);
}

static void bytes_accessors(void) {
    CHECK(pharm_bytes_data(NULL) == NULL);
    CHECK(pharm_bytes_len(NULL) == 0);
    pharm_bytes_free(NULL);
}

static void panic_boundary(void) {
    pharm_bytes *codes = NULL;
    pharm_test_panic_next_call();
    CHECK_RESULT(pharm_error_codes(&codes), PHARM_RESULT_PANIC);
    CHECK(codes == NULL);
    CHECK(check_error_id_is("ffi.panic"));
    /* The process goes on, and the next call works. */
    CHECK_OK(pharm_error_codes(&codes));
    pharm_bytes_free(codes);
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    version();
    error_detail();
    result_names();
    bytes_accessors();
    panic_boundary();
    return check_finish("common");
}
