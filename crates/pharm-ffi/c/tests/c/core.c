/* pharm-core through the C ABI: the context and evaluate (every golden decision, byte for
 * byte), the compliance checks, NDC normalisation and resolution, DEA validation and GS1
 * parsing, with bad input of every kind and a context poisoned by a panic. */
#include "check.h"

#define TEXT(s) (const uint8_t *)(s), strlen(s)

static const char *ONLINE = "{\"state\":\"online\"}";
static const char *OFFLINE = "{\"state\":\"offline\",\"since\":\"2026-03-10T08:00:00\"}";
static const char *DATAMATRIX = "]d201003000275970101727053110A123B\x1d" "21100000012345";
static const char *NOT_UTF8 = "{\"now\":\"\x80\"}";

/* 2026-03-10T10:00:00 and friends, store-local Unix milliseconds. */
static const int64_t MS_2026_03_10_10H = 1773136800000LL;
static const int64_t MS_FIRST = -2208988800000LL;        /* 1900-01-01T00:00:00 */
static const int64_t MS_LAST = 253402300799999LL;        /* 9999-12-31T23:59:59.999 */

/* One line of testdata/golden/ffi/evaluate.tsv, pointing into the file's buffer. */
typedef struct {
    const char *name;
    const char *context;
    size_t context_len;
    const char *request;
    size_t request_len;
    const char *decision;
    size_t decision_len;
} golden_case;

#define MAX_CASES 64

/* Splits the TSV in place (tabs and newlines become NULs). Returns the number of cases. */
static size_t parse_tsv(char *data, size_t len, golden_case *cases) {
    size_t count = 0;
    char *line = data;
    char *end = data + len;
    while (line < end && count < MAX_CASES) {
        char *newline = memchr(line, '\n', (size_t)(end - line));
        if (newline == NULL) newline = end;
        char *fields[4];
        size_t lengths[4];
        char *field = line;
        int n = 0;
        for (; n < 4 && field <= newline; n++) {
            char *tab = n < 3 ? memchr(field, '\t', (size_t)(newline - field)) : NULL;
            char *stop = tab != NULL ? tab : newline;
            fields[n] = field;
            lengths[n] = (size_t)(stop - field);
            if (tab == NULL) {
                n++;
                break;
            }
            field = tab + 1;
        }
        CHECK(n == 4);
        if (n == 4) {
            for (int i = 0; i < 4; i++) fields[i][lengths[i]] = '\0';
            golden_case c = {fields[0], fields[1], lengths[1], fields[2], lengths[2], fields[3], lengths[3]};
            cases[count++] = c;
        }
        line = newline + 1;
    }
    return count;
}

static const golden_case *find_case(const golden_case *cases, size_t count, const char *name) {
    for (size_t i = 0; i < count; i++) {
        if (strcmp(cases[i].name, name) == 0) return &cases[i];
    }
    fprintf(stderr, "no golden case %s\n", name);
    check_failures++;
    return NULL;
}

static int bytes_equal_n(const pharm_bytes *bytes, const char *data, size_t len) {
    return bytes != NULL && pharm_bytes_len(bytes) == len && memcmp(pharm_bytes_data(bytes), data, len) == 0;
}

static pharm_context *new_context(const golden_case *c) {
    pharm_context *ctx = NULL;
    CHECK_OK(pharm_context_new((const uint8_t *)c->context, c->context_len, &ctx));
    CHECK(ctx != NULL);
    return ctx;
}

static void golden_decisions(const golden_case *cases, size_t count) {
    CHECK(count >= 21);
    for (size_t i = 0; i < count; i++) {
        const golden_case *c = &cases[i];
        pharm_context *ctx = new_context(c);
        pharm_bytes *decision = NULL;
        CHECK_OK(pharm_context_evaluate(ctx, (const uint8_t *)c->request, c->request_len, &decision));
        if (!bytes_equal_n(decision, c->decision, c->decision_len)) {
            fprintf(stderr, "golden case \"%s\": the decision bytes differ\n", c->name);
            check_failures++;
        }
        pharm_bytes_free(decision);
        pharm_context_free(ctx);
    }
}

static void context_construction(const golden_case *refill) {
    pharm_context *ctx = NULL;
    CHECK_RESULT(pharm_context_new((const uint8_t *)refill->context, refill->context_len, NULL),
                 PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_context_new(NULL, 10, &ctx), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_context_new(NULL, 0, &ctx), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.contract_syntax"));
    CHECK_RESULT(pharm_context_new(TEXT(NOT_UTF8), &ctx), PHARM_RESULT_INVALID_UTF8);
    /* Truncated: the first half of the document. */
    CHECK_RESULT(pharm_context_new((const uint8_t *)refill->context, refill->context_len / 2, &ctx),
                 PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.contract_syntax"));
    CHECK(pharm_error_code() == 1601);
    /* Unknown field. */
    const char *unknown = "{\"now\":\"2026-03-10T10:00:00\",\"profile\":{},\"colour\":1}";
    CHECK_RESULT(pharm_context_new(TEXT(unknown), &ctx), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.contract_invalid"));
    /* Oversized: 4 MiB + 1 of spaces. */
    size_t big_len = ((size_t)4 << 20) + 1;
    uint8_t *big = malloc(big_len);
    CHECK(big != NULL);
    if (big != NULL) {
        memset(big, ' ', big_len);
        CHECK_RESULT(pharm_context_new(big, big_len, &ctx), PHARM_RESULT_INPUT_TOO_LARGE);
        CHECK(check_error_id_is("ffi.input_too_large"));
        free(big);
    }
    CHECK(ctx == NULL);
    pharm_context_free(NULL);
}

static void context_setters(const golden_case *too_soon) {
    pharm_context *ctx = new_context(too_soon);
    pharm_bytes *json = NULL;
    pharm_bytes *decision = NULL;

    /* The golden case warns (refill too soon); a month later the same refill is allowed. */
    CHECK_OK(pharm_context_evaluate(ctx, (const uint8_t *)too_soon->request, too_soon->request_len, &decision));
    CHECK(check_bytes_contain(decision, "\"outcome\":\"warn\""));
    pharm_bytes_free(decision);
    CHECK_OK(pharm_context_set_now(ctx, MS_2026_03_10_10H + 31LL * 86400000LL + 999));
    CHECK_OK(pharm_context_json(ctx, &json));
    CHECK(check_bytes_contain(json, "\"now\":\"2026-04-10T10:00:00\""));
    pharm_bytes_free(json);
    CHECK_OK(pharm_context_evaluate(ctx, (const uint8_t *)too_soon->request, too_soon->request_len, &decision));
    CHECK(check_bytes_contain(decision, "\"outcome\":\"allow\""));
    pharm_bytes_free(decision);

    CHECK_OK(pharm_context_set_now(ctx, MS_FIRST));
    CHECK_OK(pharm_context_set_now(ctx, MS_LAST));
    CHECK_RESULT(pharm_context_set_now(ctx, MS_FIRST - 1), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_context_set_now(ctx, MS_LAST + 1), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_context_set_now(ctx, INT64_MIN), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK(check_error_id_is("ffi.invalid_argument"));
    CHECK_RESULT(pharm_context_set_now(NULL, MS_2026_03_10_10H), PHARM_RESULT_NULL_PARAMETER);
    CHECK_OK(pharm_context_json(ctx, &json));
    CHECK(check_bytes_contain(json, "\"now\":\"9999-12-31T23:59:59\""));
    pharm_bytes_free(json);
    CHECK_OK(pharm_context_set_now(ctx, MS_2026_03_10_10H));

    /* Connectivity. */
    CHECK_OK(pharm_context_set_connectivity(ctx, TEXT(OFFLINE)));
    CHECK_OK(pharm_context_evaluate(ctx, (const uint8_t *)too_soon->request, too_soon->request_len, &decision));
    CHECK(check_bytes_contain(decision, "\"offline\":true"));
    pharm_bytes_free(decision);
    CHECK_RESULT(pharm_context_set_connectivity(ctx, TEXT("{\"state\":\"online\",\"since\":\"2026-03-10T08:00:00\"}")),
                 PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.contract_invalid"));
    CHECK_RESULT(pharm_context_set_connectivity(ctx, TEXT("{\"state\":\"offline\"}")), PHARM_RESULT_CORE_ERROR);
    CHECK_RESULT(pharm_context_set_connectivity(ctx, (const uint8_t *)ONLINE, strlen(ONLINE) - 1),
                 PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.contract_syntax"));
    CHECK_RESULT(pharm_context_set_connectivity(ctx, TEXT("{\"state\":\"\xc3\"}")), PHARM_RESULT_INVALID_UTF8);
    uint8_t big[4097];
    memset(big, ' ', sizeof big);
    CHECK_RESULT(pharm_context_set_connectivity(ctx, big, sizeof big), PHARM_RESULT_INPUT_TOO_LARGE);
    CHECK_RESULT(pharm_context_set_connectivity(ctx, NULL, 4), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_context_set_connectivity(NULL, TEXT(ONLINE)), PHARM_RESULT_NULL_PARAMETER);
    CHECK_OK(pharm_context_json(ctx, &json));
    CHECK(check_bytes_contain(json, "\"connectivity\":{\"state\":\"offline\",\"since\":\"2026-03-10T08:00:00\"}"));
    pharm_bytes_free(json);
    CHECK_OK(pharm_context_set_connectivity(ctx, TEXT(ONLINE)));

    /* Recall feed. */
    CHECK_OK(pharm_context_set_recall_feed_as_of(ctx, MS_2026_03_10_10H - 3600000));
    CHECK_OK(pharm_context_json(ctx, &json));
    CHECK(check_bytes_contain(json, "\"recall_feed_as_of\":\"2026-03-10T09:00:00\""));
    pharm_bytes_free(json);
    CHECK_RESULT(pharm_context_set_recall_feed_as_of(ctx, INT64_MAX), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_context_set_recall_feed_as_of(NULL, 0), PHARM_RESULT_NULL_PARAMETER);
    CHECK_OK(pharm_context_clear_recall_feed_as_of(ctx));
    CHECK_RESULT(pharm_context_clear_recall_feed_as_of(NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_OK(pharm_context_json(ctx, &json));
    CHECK(check_bytes_contain(json, "\"recall_feed_as_of\":null"));
    pharm_bytes_free(json);
    CHECK_RESULT(pharm_context_json(ctx, NULL), PHARM_RESULT_NULL_PARAMETER);
    json = NULL;
    CHECK_RESULT(pharm_context_json(NULL, &json), PHARM_RESULT_NULL_PARAMETER);
    CHECK(json == NULL);
    pharm_context_free(ctx);
}

static void evaluate_bad_input(const golden_case *refill) {
    pharm_context *ctx = new_context(refill);
    pharm_bytes *decision = NULL;
    const uint8_t *request = (const uint8_t *)refill->request;
    size_t len = refill->request_len;
    CHECK_RESULT(pharm_context_evaluate(NULL, request, len, &decision), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_context_evaluate(ctx, request, len, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_context_evaluate(ctx, NULL, len, &decision), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_context_evaluate(ctx, NULL, 0, &decision), PHARM_RESULT_CORE_ERROR);
    CHECK_RESULT(pharm_context_evaluate(ctx, request, len - 1, &decision), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.contract_syntax"));
    CHECK_RESULT(pharm_context_evaluate(ctx, TEXT(NOT_UTF8), &decision), PHARM_RESULT_INVALID_UTF8);
    const char *unknown =
        "{\"type\":\"end_of_day\",\"schema_version\":2,\"date\":\"2026-03-10\",\"reportable_dispenses\":0,"
        "\"pending_reports\":[],\"prescriptions\":[]}";
    CHECK_RESULT(pharm_context_evaluate(ctx, TEXT(unknown), &decision), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.contract_invalid"));
    CHECK(pharm_error_code() == 1602);
    /* The detail names the field; a too-small buffer reports the length needed. */
    char small[8];
    size_t needed = 0;
    CHECK_RESULT(pharm_error_message((uint8_t *)small, sizeof small, &needed), PHARM_RESULT_BUFFER_TOO_SMALL);
    char *message = malloc(needed + 1);
    CHECK(message != NULL);
    if (message != NULL) {
        CHECK_OK(pharm_error_message((uint8_t *)message, needed + 1, &needed));
        CHECK(strstr(message, "unknown field `prescriptions`") != NULL);
        free(message);
    }
    const char *version = "{\"type\":\"end_of_day\",\"schema_version\":1,\"date\":\"2026-03-10\","
                          "\"reportable_dispenses\":0,\"pending_reports\":[]}";
    CHECK_RESULT(pharm_context_evaluate(ctx, TEXT(version), &decision), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.contract_invalid"));
    size_t big_len = ((size_t)4 << 20) + 1;
    uint8_t *big = malloc(big_len);
    CHECK(big != NULL);
    if (big != NULL) {
        memset(big, ' ', big_len);
        CHECK_RESULT(pharm_context_evaluate(ctx, big, big_len, &decision), PHARM_RESULT_INPUT_TOO_LARGE);
        free(big);
    }
    CHECK(decision == NULL);
    pharm_context_free(ctx);
}

static void compliance(const golden_case *cases, size_t count) {
    const char *names[] = {"compliance: emergency follow-ups and PMP reports", "MN zero report"};
    for (size_t i = 0; i < 2; i++) {
        const golden_case *c = find_case(cases, count, names[i]);
        if (c == NULL) continue;
        pharm_context *ctx = new_context(c);
        pharm_bytes *decision = NULL;
        CHECK_OK(pharm_context_check_compliance(ctx, (const uint8_t *)c->request, c->request_len, &decision));
        CHECK(bytes_equal_n(decision, c->decision, c->decision_len));
        pharm_bytes_free(decision);
        pharm_context_free(ctx);
    }
    const golden_case *refill = find_case(cases, count, "non-controlled refill allowed");
    if (refill == NULL) return;
    pharm_context *ctx = new_context(refill);
    pharm_bytes *decision = NULL;
    const uint8_t *request = (const uint8_t *)refill->request;
    CHECK_RESULT(pharm_context_check_compliance(ctx, request, refill->request_len, &decision),
                 PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_context_check_compliance(ctx, request, 10, &decision), PHARM_RESULT_CORE_ERROR);
    CHECK_RESULT(pharm_context_check_compliance(ctx, TEXT(NOT_UTF8), &decision), PHARM_RESULT_INVALID_UTF8);
    CHECK_RESULT(pharm_context_check_compliance(ctx, TEXT("{\"type\":\"compliance\",\"schema_version\":2,\"x\":[]}"),
                                                &decision),
                 PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.contract_invalid"));
    CHECK_RESULT(pharm_context_check_compliance(ctx, request, refill->request_len, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_context_check_compliance(NULL, request, refill->request_len, &decision),
                 PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_context_check_compliance(ctx, NULL, 3, &decision), PHARM_RESULT_NULL_PARAMETER);
    CHECK(decision == NULL);
    pharm_context_free(ctx);
}

static void poisoned_context(const golden_case *refill) {
    pharm_context *ctx = new_context(refill);
    pharm_context *other = new_context(refill);
    pharm_bytes *decision = NULL;
    const uint8_t *request = (const uint8_t *)refill->request;
    size_t len = refill->request_len;
    pharm_test_panic_next_call();
    CHECK_RESULT(pharm_context_evaluate(ctx, request, len, &decision), PHARM_RESULT_PANIC);
    CHECK(decision == NULL);
    CHECK(check_error_id_is("ffi.panic"));
    /* Every later call on it is refused; other contexts go on. */
    CHECK_RESULT(pharm_context_evaluate(ctx, request, len, &decision), PHARM_RESULT_POISONED);
    CHECK(check_error_id_is("ffi.poisoned"));
    CHECK_RESULT(pharm_context_check_compliance(ctx, request, len, &decision), PHARM_RESULT_POISONED);
    CHECK_RESULT(pharm_context_set_now(ctx, MS_2026_03_10_10H), PHARM_RESULT_POISONED);
    CHECK_RESULT(pharm_context_set_connectivity(ctx, TEXT(ONLINE)), PHARM_RESULT_POISONED);
    CHECK_RESULT(pharm_context_set_recall_feed_as_of(ctx, MS_2026_03_10_10H), PHARM_RESULT_POISONED);
    CHECK_RESULT(pharm_context_clear_recall_feed_as_of(ctx), PHARM_RESULT_POISONED);
    CHECK_RESULT(pharm_context_json(ctx, &decision), PHARM_RESULT_POISONED);
    CHECK(decision == NULL);
    CHECK_OK(pharm_context_evaluate(other, request, len, &decision));
    pharm_bytes_free(decision);
    /* A panic in a setter poisons too. */
    pharm_test_panic_next_call();
    CHECK_RESULT(pharm_context_set_connectivity(other, TEXT(OFFLINE)), PHARM_RESULT_PANIC);
    decision = NULL;
    CHECK_RESULT(pharm_context_evaluate(other, request, len, &decision), PHARM_RESULT_POISONED);
    /* A panic while constructing leaves no handle. */
    pharm_context *none = NULL;
    pharm_test_panic_next_call();
    CHECK_RESULT(pharm_context_new((const uint8_t *)refill->context, refill->context_len, &none), PHARM_RESULT_PANIC);
    CHECK(none == NULL);
    pharm_context_free(ctx);
    pharm_context_free(other);
}

static void ndc(void) {
    pharm_bytes *out = NULL;
    CHECK_OK(pharm_ndc_normalize(TEXT(" 0002-7597-01\n"), &out));
    CHECK(check_bytes_equal(out,
                            "{\"ndc\":\"0002-7597-01\",\"layout\":\"4-4-2\",\"labeler_code\":2,\"product_code\":7597,"
                            "\"package_code\":1,\"ndc10\":\"0002759701\",\"ndc11\":\"00002759701\","
                            "\"ndc11_hyphenated\":\"00002-7597-01\",\"ndc12\":\"000002759701\","
                            "\"ndc12_hyphenated\":\"000002-7597-01\"}"));
    pharm_bytes_free(out);
    out = NULL;
    CHECK_RESULT(pharm_ndc_normalize(TEXT("0093714656"), &out), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.ndc_ambiguous"));
    CHECK(pharm_error_code() == 1001);
    char message[512];
    size_t n = 0;
    CHECK_OK(pharm_error_message((uint8_t *)message, sizeof message, &n));
    CHECK(strstr(message, "0093-7146-56 (4-4-2)") != NULL && strstr(message, "00937-146-56 (5-3-2)") != NULL &&
          strstr(message, "00937-1465-6 (5-4-1)") != NULL);
    CHECK_RESULT(pharm_ndc_normalize(TEXT("0002-7597"), &out), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.ndc_syntax"));
    CHECK_RESULT(pharm_ndc_normalize(TEXT("0002-7597-0\xff"), &out), PHARM_RESULT_INVALID_UTF8);
    CHECK_RESULT(pharm_ndc_normalize(TEXT("00002-7597-01 0000000000000000000000000000000000000000000000000000"), &out),
                 PHARM_RESULT_INPUT_TOO_LARGE);
    CHECK_RESULT(pharm_ndc_normalize(NULL, 11, &out), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_ndc_normalize(TEXT("0002-7597-01"), NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK(out == NULL);
}

static void product_master(void) {
    pharm_product_master *master = NULL;
    const char *list = "[\"0093-7146-56\", \"00093714656\", \"00937-1465-6\", \"0002-7597-01\"]";
    CHECK_OK(pharm_product_master_new(TEXT(list), &master));
    size_t n = 0;
    CHECK_OK(pharm_product_master_len(master, &n));
    CHECK(n == 3);
    CHECK_RESULT(pharm_product_master_len(master, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_product_master_len(NULL, &n), PHARM_RESULT_NULL_PARAMETER);

    pharm_bytes *out = NULL;
    CHECK_OK(pharm_product_master_resolve_ndc(master, TEXT("0002759701"), &out));
    CHECK(check_bytes_contain(out, "\"ndc\":\"0002-7597-01\",\"layout\":\"4-4-2\""));
    pharm_bytes_free(out);
    out = NULL;
    CHECK_RESULT(pharm_product_master_resolve_ndc(master, TEXT("0093714656"), &out), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.ndc_ambiguous"));
    CHECK_RESULT(pharm_product_master_resolve_ndc(master, TEXT("1234567890"), &out), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.ndc_not_in_master"));
    CHECK_RESULT(pharm_product_master_resolve_ndc(master, TEXT("\xff"), &out), PHARM_RESULT_INVALID_UTF8);
    CHECK_RESULT(pharm_product_master_resolve_ndc(master, NULL, 10, &out), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_product_master_resolve_ndc(master, TEXT("0002759701"), NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_product_master_resolve_ndc(NULL, TEXT("0002759701"), &out), PHARM_RESULT_NULL_PARAMETER);

    /* GS1 through the master. */
    CHECK_OK(pharm_product_master_resolve_gs1(master, TEXT(DATAMATRIX), &out));
    CHECK(check_bytes_contain(out, "\"lot\":\"A123B\""));
    CHECK(check_bytes_contain(out, "\"ndc\":{\"ndc\":\"0002-7597-01\""));
    pharm_bytes_free(out);
    out = NULL;
    CHECK_RESULT(pharm_product_master_resolve_gs1(master, TEXT("0100300937146568"), &out), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.gtin_ndc"));
    CHECK_RESULT(pharm_product_master_resolve_gs1(master, TEXT("0100614141123452"), &out), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.gtin_not_an_ndc"));
    CHECK_RESULT(pharm_product_master_resolve_gs1(master, TEXT("01\xff"), &out), PHARM_RESULT_INVALID_UTF8);
    CHECK_RESULT(pharm_product_master_resolve_gs1(master, NULL, 4, &out), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_product_master_resolve_gs1(master, TEXT(DATAMATRIX), NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_product_master_resolve_gs1(NULL, TEXT(DATAMATRIX), &out), PHARM_RESULT_NULL_PARAMETER);
    CHECK(out == NULL);

    /* Poisoned by a panic: every call refused, free still works. */
    pharm_test_panic_next_call();
    CHECK_RESULT(pharm_product_master_resolve_ndc(master, TEXT("0002759701"), &out), PHARM_RESULT_PANIC);
    CHECK_RESULT(pharm_product_master_resolve_ndc(master, TEXT("0002759701"), &out), PHARM_RESULT_POISONED);
    CHECK_RESULT(pharm_product_master_resolve_gs1(master, TEXT(DATAMATRIX), &out), PHARM_RESULT_POISONED);
    CHECK_RESULT(pharm_product_master_len(master, &n), PHARM_RESULT_POISONED);
    CHECK(out == NULL);
    pharm_product_master_free(master);
    pharm_product_master_free(NULL);

    /* Bad masters. */
    master = NULL;
    CHECK_RESULT(pharm_product_master_new(TEXT("[\"0002-7597-01\", \"0002759701\"]"), &master), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.contract_invalid"));
    CHECK_RESULT(pharm_product_master_new(TEXT("[{\"ndc\":\"0002-7597-01\"}]"), &master), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.contract_invalid"));
    CHECK_RESULT(pharm_product_master_new((const uint8_t *)list, strlen(list) - 1, &master), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.contract_syntax"));
    CHECK_RESULT(pharm_product_master_new(TEXT("[\"\x80\"]"), &master), PHARM_RESULT_INVALID_UTF8);
    size_t big_len = ((size_t)16 << 20) + 1;
    uint8_t *big = malloc(big_len);
    CHECK(big != NULL);
    if (big != NULL) {
        memset(big, ' ', big_len);
        CHECK_RESULT(pharm_product_master_new(big, big_len, &master), PHARM_RESULT_INPUT_TOO_LARGE);
        free(big);
    }
    CHECK_RESULT(pharm_product_master_new(NULL, 2, &master), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_product_master_new(TEXT("[]"), NULL), PHARM_RESULT_NULL_PARAMETER);
    pharm_test_panic_next_call();
    CHECK_RESULT(pharm_product_master_new(TEXT("[]"), &master), PHARM_RESULT_PANIC);
    CHECK(master == NULL);
}

static void dea(void) {
    pharm_bytes *out = NULL;
    CHECK_OK(pharm_dea_validate(TEXT(" ab1234563 "), TEXT("Brown"), &out));
    CHECK(check_bytes_equal(out,
                            "{\"dea\":\"AB1234563\",\"base\":\"AB1234563\",\"suffix\":null,\"registrant_type\":\"A\","
                            "\"known_registrant_type\":true,\"second_char\":\"B\",\"matches_last_name\":true}"));
    pharm_bytes_free(out);
    CHECK_OK(pharm_dea_validate(TEXT("AB1234563"), TEXT("Smith"), &out));
    CHECK(check_bytes_contain(out, "\"matches_last_name\":false"));
    pharm_bytes_free(out);
    CHECK_OK(pharm_dea_validate(TEXT("F91234563-001AB"), NULL, 0, &out));
    CHECK(check_bytes_contain(out, "\"suffix\":\"001AB\""));
    CHECK(check_bytes_contain(out, "\"matches_last_name\":null"));
    pharm_bytes_free(out);
    out = NULL;
    CHECK_RESULT(pharm_dea_validate(TEXT("AB1234564"), NULL, 0, &out), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.dea_check_digit"));
    CHECK(pharm_error_code() == 1041);
    CHECK_RESULT(pharm_dea_validate(TEXT("A-1234563"), NULL, 0, &out), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.dea_format"));
    CHECK_RESULT(pharm_dea_validate(TEXT("AB12345\xe2\x82"), NULL, 0, &out), PHARM_RESULT_INVALID_UTF8);
    CHECK_RESULT(pharm_dea_validate(TEXT("AB1234563"), TEXT("Br\x80wn"), &out), PHARM_RESULT_INVALID_UTF8);
    char long_name[1026];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    CHECK_RESULT(pharm_dea_validate(TEXT("AB1234563"), TEXT(long_name), &out), PHARM_RESULT_INPUT_TOO_LARGE);
    CHECK_RESULT(pharm_dea_validate(TEXT(long_name), NULL, 0, &out), PHARM_RESULT_INPUT_TOO_LARGE);
    CHECK_RESULT(pharm_dea_validate(NULL, 9, NULL, 0, &out), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_dea_validate(TEXT("AB1234563"), NULL, 0, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK(out == NULL);
}

static void gs1(void) {
    const char *expected = "{\"gtin\":\"00300027597010\",\"expiry\":\"2027-05-31\",\"lot\":\"A123B\","
                           "\"serial\":\"100000012345\",\"ndc10_digits\":\"0002759701\"}";
    pharm_bytes *out = NULL;
    CHECK_OK(pharm_gs1_parse(TEXT(DATAMATRIX), &out));
    CHECK(check_bytes_equal(out, expected));
    pharm_bytes_free(out);
    CHECK_OK(pharm_gs1_parse(TEXT("(01)00300027597010(17)270531(10)A123B(21)100000012345"), &out));
    CHECK(check_bytes_equal(out, expected));
    pharm_bytes_free(out);
    out = NULL;
    /* Truncated: the GTIN cut short. */
    CHECK_RESULT(pharm_gs1_parse((const uint8_t *)DATAMATRIX, 10, &out), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.gs1_bad_field"));
    CHECK_RESULT(pharm_gs1_parse(TEXT("]d20100300027597011"), &out), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.gs1_bad_gtin"));
    CHECK_RESULT(pharm_gs1_parse(TEXT("0100300027597010\x1d" "99X"), &out), PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.gs1_unknown_ai"));
    CHECK_RESULT(pharm_gs1_parse(TEXT("0100300027597010\x1d" "10A\xff"), &out), PHARM_RESULT_INVALID_UTF8);
    uint8_t big[513];
    memset(big, '0', sizeof big);
    CHECK_RESULT(pharm_gs1_parse(big, sizeof big, &out), PHARM_RESULT_INPUT_TOO_LARGE);
    CHECK_RESULT(pharm_gs1_parse(NULL, 3, &out), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_gs1_parse(TEXT(DATAMATRIX), NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK(out == NULL);
    /* A panic in a call without a handle: the panic code, and the next call works. */
    pharm_test_panic_next_call();
    CHECK_RESULT(pharm_gs1_parse(TEXT(DATAMATRIX), &out), PHARM_RESULT_PANIC);
    CHECK(out == NULL);
    CHECK_OK(pharm_gs1_parse(TEXT(DATAMATRIX), &out));
    pharm_bytes_free(out);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: core REPOSITORY_ROOT\n");
        return 2;
    }
    size_t len = 0;
    char *tsv = check_read_file(argv[1], "testdata/golden/ffi/evaluate.tsv", &len);
    golden_case cases[MAX_CASES];
    size_t count = parse_tsv(tsv, len, cases);
    golden_decisions(cases, count);
    const golden_case *refill = find_case(cases, count, "non-controlled refill allowed");
    const golden_case *too_soon = find_case(cases, count, "cash refill too soon warns");
    if (refill != NULL && too_soon != NULL) {
        context_construction(refill);
        context_setters(too_soon);
        evaluate_bad_input(refill);
        poisoned_context(refill);
    }
    compliance(cases, count);
    ndc();
    product_master();
    dea();
    gs1();
    free(tsv);
    return check_finish("core");
}
