/* The substitution service through the C ABI: an Orange Book release loaded from a path
 * and from bytes, swapped, queried with JSON; every golden vector of
 * testdata/golden/subst/ replayed byte for byte; bad input on every call; a handle
 * poisoned by a panic. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <unistd.h>

#include "check.h"

#define SAMPLE "crates/pharm-subst/testdata/products-sample.txt"
#define STATE_LISTS "crates/pharm-subst/testdata/products-state-lists.txt"
#define RELEASED "2026-05-01"
#define LABEL "2026-05"
#define MAX_AGE_DAYS 45
/* 2026-06-10T12:00:00Z, 40 days after the release (fresh), and 2026-06-16T12:00:00Z,
 * 46 days after (stale). */
#define FRESH_MS INT64_C(1781092800000)
#define STALE_MS INT64_C(1781611200000)

/* A text argument: pointer and length. */
#define TXT(s) (const uint8_t *)(s), strlen(s)

static const char *root;

static char *path_of(const char *relative) {
    size_t len = strlen(root) + strlen(relative) + 2;
    char *path = malloc(len);
    if (path == NULL) exit(2);
    snprintf(path, len, "%s/%s", root, relative);
    return path;
}

static pharm_subst *new_from_path(const char *relative) {
    char *path = path_of(relative);
    pharm_subst *subst = NULL;
    CHECK_OK(pharm_subst_new_from_path(TXT(path), TXT(RELEASED), TXT(LABEL), MAX_AGE_DAYS, &subst));
    free(path);
    return subst;
}

static pharm_subst *new_from_bytes(const char *relative) {
    size_t len = 0;
    char *data = check_read_file(root, relative, &len);
    pharm_subst *subst = NULL;
    CHECK_OK(pharm_subst_new_from_bytes((const uint8_t *)data, len, TXT(RELEASED), TXT(LABEL),
                                        MAX_AGE_DAYS, &subst));
    free(data);
    return subst;
}

/* ---- a little JSON scanning, enough to cut cases out of the golden files ---- */

/* The end of the JSON string starting at p (on its opening quote). */
static const char *skip_string(const char *p) {
    for (p++; *p != '\0' && *p != '"'; p++) {
        if (*p == '\\' && p[1] != '\0') p++;
    }
    return *p == '"' ? p + 1 : p;
}

/* The end of the JSON value starting at p. */
static const char *skip_value(const char *p) {
    if (*p == '"') return skip_string(p);
    if (*p != '{' && *p != '[') {
        while (*p != '\0' && *p != ',' && *p != '}' && *p != ']' && *p != '\n') p++;
        return p;
    }
    int depth = 0;
    while (*p != '\0') {
        if (*p == '"') {
            p = skip_string(p);
            continue;
        }
        if (*p == '{' || *p == '[') depth++;
        if (*p == '}' || *p == ']') {
            depth--;
            if (depth == 0) return p + 1;
        }
        p++;
    }
    return p;
}

/* The value of the first `"key": ` at or after `from`, copied with the whitespace outside
 * strings removed (the compact form); NULL when absent. The caller frees it. */
static char *value_after(const char *from, const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *start = strstr(from, pattern);
    if (start == NULL) return NULL;
    start += strlen(pattern);
    const char *end = skip_value(start);
    char *compact = malloc((size_t)(end - start) + 1);
    if (compact == NULL) exit(2);
    size_t n = 0;
    for (const char *p = start; p < end;) {
        if (*p == '"') {
            const char *close = skip_string(p);
            memcpy(compact + n, p, (size_t)(close - p));
            n += (size_t)(close - p);
            p = close;
        } else {
            if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') compact[n++] = *p;
            p++;
        }
    }
    compact[n] = '\0';
    return compact;
}

/* Replays every case of a golden file through `ask`: the stored query minus its
 * `"catalog"` field, on the service that state names, must give the stored answer in
 * compact form, byte for byte. Returns the number of cases. */
typedef pharm_result (*ask_fn)(const pharm_subst *, const uint8_t *, size_t, int64_t, int32_t,
                               pharm_bytes **);

static int replay(const char *file, ask_fn ask, const pharm_subst *fresh, const pharm_subst *none) {
    size_t len = 0;
    char *text = check_read_file(root, file, &len);
    int cases = 0;
    for (const char *at = strstr(text, "\"name\": \""); at != NULL; at = strstr(at + 1, "\"name\": \"")) {
        char *name = value_after(at, "name");
        char *query = value_after(at, "query");
        char *answer = value_after(at, "answer");
        CHECK(name != NULL && query != NULL && answer != NULL);
        if (name == NULL || query == NULL || answer == NULL) break;
        const pharm_subst *subst = fresh;
        int64_t now_ms = FRESH_MS;
        const char *rest = NULL;
        if (strncmp(query, "{\"catalog\":\"fresh\",", 19) == 0) {
            rest = query + 19;
        } else if (strncmp(query, "{\"catalog\":\"stale\",", 19) == 0) {
            rest = query + 19;
            now_ms = STALE_MS;
        } else if (strncmp(query, "{\"catalog\":\"none\",", 18) == 0) {
            rest = query + 18;
            subst = none;
        }
        CHECK(rest != NULL);
        if (rest != NULL) {
            /* The query as a caller writes it: "{" and the fields after "catalog". */
            size_t n = strlen(rest);
            char *asked = malloc(n + 2);
            if (asked == NULL) exit(2);
            asked[0] = '{';
            memcpy(asked + 1, rest, n + 1);
            pharm_bytes *got = NULL;
            CHECK_OK(ask(subst, TXT(asked), now_ms, 0, &got));
            if (got != NULL && !check_bytes_equal(got, answer)) {
                fprintf(stderr, "%s: case %s: answer differs\n  got:      %.*s\n  expected: %s\n", file,
                        name, (int)pharm_bytes_len(got), (const char *)pharm_bytes_data(got), answer);
                check_failures++;
            }
            pharm_bytes_free(got);
            free(asked);
            cases++;
        }
        free(name);
        free(query);
        free(answer);
    }
    free(text);
    return cases;
}

static void golden_vectors(void) {
    pharm_subst *fresh = new_from_path(SAMPLE);
    pharm_subst *none = NULL;
    CHECK_OK(pharm_subst_new(MAX_AGE_DAYS, &none));
    size_t len = 0;
    char *text = check_read_file(root, "testdata/golden/subst/substitutes.json", &len);
    char *packages = value_after(text, "packages");
    CHECK(packages != NULL && packages[0] == '[');
    CHECK_OK(pharm_subst_set_packages(fresh, TXT(packages)));
    CHECK_OK(pharm_subst_set_packages(none, TXT(packages)));
    free(packages);
    free(text);
    CHECK(replay("testdata/golden/subst/substitutes.json", pharm_subst_substitutes, fresh, none) == 12);
    CHECK(replay("testdata/golden/subst/explain.json", pharm_subst_explain, fresh, none) == 15);
    pharm_subst_free(fresh);
    pharm_subst_free(none);
}

/* ---- loading, status, swaps, queries ---- */

static void loading_and_status(void) {
    pharm_subst *from_path = new_from_path(SAMPLE);
    pharm_subst *from_bytes = new_from_bytes(SAMPLE);
    pharm_bytes *a = NULL, *b = NULL;
    CHECK_OK(pharm_subst_status(from_path, FRESH_MS, 0, &a));
    CHECK_OK(pharm_subst_status(from_bytes, FRESH_MS, 0, &b));
    CHECK(pharm_bytes_len(a) == pharm_bytes_len(b) &&
          memcmp(pharm_bytes_data(a), pharm_bytes_data(b), pharm_bytes_len(a)) == 0);
    CHECK(check_bytes_contain(a, "\"label\":\"2026-05\",\"released\":\"2026-05-01\",\"products\":60,\"equivalences\":43}"));
    CHECK(check_bytes_contain(a, "\"degraded\":null,\"packages\":0}"));
    pharm_bytes_free(a);
    pharm_bytes_free(b);

    /* Stale 46 days on: flagged. The store's offset decides the date: 2026-06-16T03:00Z
     * is the 16th in UTC (stale) but still the 15th at UTC-5 (fresh). */
    CHECK_OK(pharm_subst_status(from_path, STALE_MS, 0, &a));
    CHECK(check_bytes_contain(a, "\"degraded\":{\"kind\":\"stale\",\"age_days\":46,\"max_age_days\":45}"));
    pharm_bytes_free(a);
    CHECK_OK(pharm_subst_status(from_path, INT64_C(1781578800000), -5 * 3600, &a));
    CHECK(check_bytes_contain(a, "\"degraded\":null"));
    pharm_bytes_free(a);
    a = NULL;
    CHECK_RESULT(pharm_subst_status(from_path, FRESH_MS, PHARM_SUBST_MAX_UTC_OFFSET_S + 1, &a),
                 PHARM_RESULT_INVALID_ARGUMENT);
    CHECK(a == NULL);

    pharm_subst *none = NULL;
    CHECK_OK(pharm_subst_new(MAX_AGE_DAYS, &none));
    CHECK_OK(pharm_subst_status(none, FRESH_MS, 0, &a));
    CHECK(check_bytes_equal(a, "{\"release\":null,\"degraded\":{\"kind\":\"no_catalog\"},\"packages\":0}"));
    pharm_bytes_free(a);
    pharm_subst_free(none);
    pharm_subst_free(from_path);
    pharm_subst_free(from_bytes);
}

static void queries(void) {
    pharm_subst *subst = new_from_bytes(SAMPLE);
    CHECK_OK(pharm_subst_set_packages(
        subst, TXT("[{\"sku\": 3, \"ndc\": \"16729-044-15\", \"product\": \"A207687-001\"}]")));
    const char *lipitor =
        "{\"original\": \"N020702-001\", \"policy\": {\"state\": \"TX\"},"
        " \"market\": {\"A207687-001\": {\"in_stock\": true, \"formulary_tier\": 1, \"unit_cost\": \"0.09\"}}}";
    pharm_bytes *answer = NULL;
    CHECK_OK(pharm_subst_substitutes(subst, TXT(lipitor), FRESH_MS, 0, &answer));
    CHECK(check_bytes_contain(answer,
                              "{\"original\":\"N020702-001\",\"choices\":[{\"key\":\"A207687-001\","
                              "\"trade_name\":\"ATORVASTATIN CALCIUM\""));
    CHECK(check_bytes_contain(answer, "\"packages\":[{\"sku\":3,\"ndc\":\"16729-044-15\"}]"));
    pharm_bytes_free(answer);

    CHECK_OK(pharm_subst_explain(subst, TXT("{\"a\": \"N021368-003\", \"b\": \"N022332-001\"}"), FRESH_MS, 0,
                                 &answer));
    CHECK(check_bytes_contain(answer, "\"result\":\"not_equivalent\",\"reason\":{\"kind\":\"no_shared_code\""));
    pharm_bytes_free(answer);
    answer = NULL;

    bool single = true;
    CHECK_OK(pharm_subst_is_single_source(subst, TXT("N020702-001"), &single));
    CHECK(!single);
    CHECK_OK(pharm_subst_is_single_source(subst, TXT("A213853-001"), &single));
    CHECK(single);
    CHECK_RESULT(pharm_subst_is_single_source(subst, TXT("N099999-001"), &single), PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.unknown_product"));
    CHECK_RESULT(pharm_subst_is_single_source(subst, TXT("Lipitor"), &single), PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.product_key_invalid"));
    CHECK_RESULT(pharm_subst_substitutes(subst, TXT("{\"original\": \"N099999-001\", \"policy\": {\"state\": \"TX\"}}"),
                                         FRESH_MS, 0, &answer),
                 PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.unknown_product") && pharm_error_code() == 2200);
    CHECK(answer == NULL);
    pharm_subst_free(subst);

    pharm_subst *none = NULL;
    CHECK_OK(pharm_subst_new(MAX_AGE_DAYS, &none));
    CHECK_RESULT(pharm_subst_is_single_source(none, TXT("N020702-001"), &single), PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.no_catalog"));
    CHECK_RESULT(pharm_subst_explain(none, TXT("{\"a\": \"N020702-001\", \"b\": \"A207687-001\"}"), FRESH_MS, 0,
                                     &answer),
                 PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.no_catalog"));
    pharm_subst_free(none);
}

static void swaps(void) {
    pharm_subst *subst = new_from_path(SAMPLE);
    const char *lipitor = "{\"original\": \"N020702-001\", \"policy\": {\"state\": \"TX\"}}";
    pharm_bytes *diff = NULL, *answer = NULL;

    /* To another release by path: the diff says what changed; the old products are gone. */
    char *path = path_of(STATE_LISTS);
    CHECK_OK(pharm_subst_load_path(subst, TXT(path), TXT("2026-06-01"), TXT("2026-06"), &diff));
    free(path);
    /* {"added": [...], "removed": [...], "te_changed": [], "status_changed": []} */
    CHECK(check_bytes_contain(diff, "{\"added\":[\""));
    CHECK(check_bytes_contain(diff, "\"A075604-001\""));
    CHECK(check_bytes_contain(diff, "\"N020702-001\""));
    CHECK(check_bytes_contain(diff, "\"te_changed\":[],\"status_changed\":[]}"));
    pharm_bytes_free(diff);
    CHECK_RESULT(pharm_subst_substitutes(subst, TXT(lipitor), FRESH_MS, 0, &answer), PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.unknown_product"));

    /* Back by bytes. */
    size_t len = 0;
    char *data = check_read_file(root, SAMPLE, &len);
    CHECK_OK(pharm_subst_load_bytes(subst, (const uint8_t *)data, len, TXT(RELEASED), TXT(LABEL), &diff));
    CHECK(check_bytes_contain(diff, "\"A075604-001\""));
    pharm_bytes_free(diff);
    diff = NULL;
    CHECK_OK(pharm_subst_substitutes(subst, TXT(lipitor), FRESH_MS, 0, &answer));
    CHECK(check_bytes_contain(answer, "\"key\":\"A207687-001\""));
    pharm_bytes_free(answer);

    /* A bad release is refused and the current one keeps answering. */
    CHECK_RESULT(pharm_subst_load_bytes(subst, (const uint8_t *)data, 1000, TXT(RELEASED), TXT(LABEL), &diff),
                 PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.bad_row") && diff == NULL);
    CHECK_RESULT(pharm_subst_load_bytes(subst, TXT("garbage~\n"), TXT(RELEASED), TXT(LABEL), &diff),
                 PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.missing_header"));
    CHECK_RESULT(pharm_subst_load_bytes(subst, (const uint8_t *)data, len, TXT("May 2026"), TXT(LABEL), &diff),
                 PHARM_RESULT_CORE_ERROR);
    CHECK(check_error_id_is("core.date_syntax"));
    CHECK_RESULT(pharm_subst_load_path(subst, TXT("/nonexistent/products.txt"), TXT(RELEASED), TXT(LABEL), &diff),
                 PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.file_unreadable") && pharm_error_code() == 2402 && diff == NULL);
    CHECK_OK(pharm_subst_substitutes(subst, TXT(lipitor), FRESH_MS, 0, &answer));
    pharm_bytes_free(answer);
    free(data);
    pharm_subst_free(subst);
}

/* ---- bad input ---- */

static void null_pointers(void) {
    pharm_subst *subst = new_from_bytes(SAMPLE);
    pharm_subst *made = NULL;
    pharm_bytes *out = NULL;
    bool flag = false;
    const char *query = "{\"original\": \"N020702-001\", \"policy\": {\"state\": \"TX\"}}";
    char *path = path_of(SAMPLE);
    const pharm_result null = PHARM_RESULT_NULL_PARAMETER;

    CHECK_RESULT(pharm_subst_new(MAX_AGE_DAYS, NULL), null);
    CHECK(check_error_id_is("ffi.null_parameter"));
    CHECK_RESULT(pharm_subst_new_from_bytes(NULL, 10, TXT(RELEASED), TXT(LABEL), 1, &made), null);
    CHECK_RESULT(pharm_subst_new_from_bytes(TXT("x"), NULL, 10, TXT(LABEL), 1, &made), null);
    CHECK_RESULT(pharm_subst_new_from_bytes(TXT("x"), TXT(RELEASED), NULL, 7, 1, &made), null);
    CHECK_RESULT(pharm_subst_new_from_bytes(TXT("x"), TXT(RELEASED), TXT(LABEL), 1, NULL), null);
    CHECK_RESULT(pharm_subst_new_from_path(NULL, 10, TXT(RELEASED), TXT(LABEL), 1, &made), null);
    CHECK_RESULT(pharm_subst_new_from_path(TXT(path), NULL, 10, TXT(LABEL), 1, &made), null);
    CHECK_RESULT(pharm_subst_new_from_path(TXT(path), TXT(RELEASED), NULL, 7, 1, &made), null);
    CHECK_RESULT(pharm_subst_new_from_path(TXT(path), TXT(RELEASED), TXT(LABEL), 1, NULL), null);
    CHECK(made == NULL);
    CHECK_RESULT(pharm_subst_load_bytes(NULL, TXT("x"), TXT(RELEASED), TXT(LABEL), &out), null);
    CHECK_RESULT(pharm_subst_load_bytes(subst, NULL, 10, TXT(RELEASED), TXT(LABEL), &out), null);
    CHECK_RESULT(pharm_subst_load_bytes(subst, TXT("x"), NULL, 10, TXT(LABEL), &out), null);
    CHECK_RESULT(pharm_subst_load_bytes(subst, TXT("x"), TXT(RELEASED), NULL, 7, &out), null);
    CHECK_RESULT(pharm_subst_load_bytes(subst, TXT("x"), TXT(RELEASED), TXT(LABEL), NULL), null);
    CHECK_RESULT(pharm_subst_load_path(NULL, TXT(path), TXT(RELEASED), TXT(LABEL), &out), null);
    CHECK_RESULT(pharm_subst_load_path(subst, NULL, 10, TXT(RELEASED), TXT(LABEL), &out), null);
    CHECK_RESULT(pharm_subst_load_path(subst, TXT(path), NULL, 10, TXT(LABEL), &out), null);
    CHECK_RESULT(pharm_subst_load_path(subst, TXT(path), TXT(RELEASED), NULL, 7, &out), null);
    CHECK_RESULT(pharm_subst_load_path(subst, TXT(path), TXT(RELEASED), TXT(LABEL), NULL), null);
    CHECK_RESULT(pharm_subst_set_packages(NULL, TXT("[]")), null);
    CHECK_RESULT(pharm_subst_set_packages(subst, NULL, 2), null);
    CHECK_RESULT(pharm_subst_status(NULL, FRESH_MS, 0, &out), null);
    CHECK_RESULT(pharm_subst_status(subst, FRESH_MS, 0, NULL), null);
    CHECK_RESULT(pharm_subst_substitutes(NULL, TXT(query), FRESH_MS, 0, &out), null);
    CHECK_RESULT(pharm_subst_substitutes(subst, NULL, 10, FRESH_MS, 0, &out), null);
    CHECK_RESULT(pharm_subst_substitutes(subst, TXT(query), FRESH_MS, 0, NULL), null);
    CHECK_RESULT(pharm_subst_explain(NULL, TXT(query), FRESH_MS, 0, &out), null);
    CHECK_RESULT(pharm_subst_explain(subst, NULL, 10, FRESH_MS, 0, &out), null);
    CHECK_RESULT(pharm_subst_explain(subst, TXT(query), FRESH_MS, 0, NULL), null);
    CHECK_RESULT(pharm_subst_is_single_source(NULL, TXT("N020702-001"), &flag), null);
    CHECK_RESULT(pharm_subst_is_single_source(subst, NULL, 11, &flag), null);
    CHECK_RESULT(pharm_subst_is_single_source(subst, TXT("N020702-001"), NULL), null);
    CHECK(out == NULL);
    /* NULL with length 0 is an empty input, not a NULL one. */
    CHECK_RESULT(pharm_subst_new_from_bytes(NULL, 0, TXT(RELEASED), TXT(LABEL), 1, &made), PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.missing_header") && made == NULL);
    CHECK_RESULT(pharm_subst_substitutes(subst, NULL, 0, FRESH_MS, 0, &out), PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.json_syntax"));
    pharm_subst_free(NULL);
    free(path);
    pharm_subst_free(subst);
}

static void invalid_utf8(void) {
    pharm_subst *subst = new_from_bytes(SAMPLE);
    pharm_subst *made = NULL;
    pharm_bytes *out = NULL;
    bool flag = false;
    const char bad[] = "N020702-\xff";
    const pharm_result utf8 = PHARM_RESULT_INVALID_UTF8;
    CHECK_RESULT(pharm_subst_substitutes(subst, TXT(bad), FRESH_MS, 0, &out), utf8);
    CHECK(check_error_id_is("ffi.invalid_utf8"));
    CHECK_RESULT(pharm_subst_explain(subst, TXT(bad), FRESH_MS, 0, &out), utf8);
    CHECK_RESULT(pharm_subst_is_single_source(subst, TXT(bad), &flag), utf8);
    CHECK_RESULT(pharm_subst_set_packages(subst, TXT(bad)), utf8);
    CHECK_RESULT(pharm_subst_new_from_path(TXT(bad), TXT(RELEASED), TXT(LABEL), 1, &made), utf8);
    CHECK_RESULT(pharm_subst_new_from_bytes(TXT("x"), TXT(bad), TXT(LABEL), 1, &made), utf8);
    CHECK_RESULT(pharm_subst_new_from_bytes(TXT("x"), TXT(RELEASED), TXT(bad), 1, &made), utf8);
    CHECK_RESULT(pharm_subst_load_path(subst, TXT(bad), TXT(RELEASED), TXT(LABEL), &out), utf8);
    CHECK(made == NULL && out == NULL);
    pharm_subst_free(subst);
}

static void bad_json(void) {
    pharm_subst *subst = new_from_bytes(SAMPLE);
    pharm_bytes *out = NULL;
    static const char *const syntax[] = {
        "{",
        "{\"original\": \"N020702-001\", \"policy\": {\"state\": \"TX\"}",
        "{\"original\": \"N020702-001\", \"policy\": {\"state\": \"TX\"}} x",
        "not json",
    };
    static const char *const shape[] = {
        "{\"original\": \"N020702-001\"}",
        "{\"original\": \"N020702-001\", \"policy\": {\"state\": \"TX\"}, \"catalog\": \"fresh\"}",
        "{\"original\": \"N020702-001\", \"policy\": {\"state\": \"TX\", \"nti\": []}}",
        "{\"original\": \"N020702-001\", \"policy\": {\"state\": \"TX\"}, \"daw\": 10}",
        "{\"original\": \"N020702-001\", \"policy\": {\"state\": \"TX\"},"
        " \"market\": {\"A207687-001\": {\"in_stock\": true, \"stock\": 3}}}",
        "{\"original\": \"N020702-001\", \"policy\": {\"state\": \"TX\"},"
        " \"market\": {\"A207687-001\": {\"in_stock\": true, \"unit_cost\": 0.09}}}",
        "{\"original\": \"Lipitor\", \"policy\": {\"state\": \"TX\"}}",
    };
    for (size_t i = 0; i < sizeof syntax / sizeof *syntax; i++) {
        CHECK_RESULT(pharm_subst_substitutes(subst, TXT(syntax[i]), FRESH_MS, 0, &out), PHARM_RESULT_SUBST_ERROR);
        CHECK(check_error_id_is("subst.json_syntax") && pharm_error_code() == 2400);
    }
    for (size_t i = 0; i < sizeof shape / sizeof *shape; i++) {
        CHECK_RESULT(pharm_subst_substitutes(subst, TXT(shape[i]), FRESH_MS, 0, &out), PHARM_RESULT_SUBST_ERROR);
        CHECK(check_error_id_is("subst.json_invalid") && pharm_error_code() == 2401);
    }
    CHECK_RESULT(pharm_subst_explain(subst, TXT("{\"a\": \"N020702-001\", \"b\": \"A207687-001\", \"c\": 1}"),
                                     FRESH_MS, 0, &out),
                 PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.json_invalid"));
    CHECK_RESULT(pharm_subst_explain(subst, TXT("{\"a\": \"N020702-001\", \"b\": "), FRESH_MS, 0, &out),
                 PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.json_syntax"));
    CHECK_RESULT(pharm_subst_set_packages(
                     subst, TXT("[{\"sku\": 1, \"ndc\": \"0071-0155-23\", \"product\": \"N020702-001\", \"lot\": 1}]")),
                 PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.json_invalid"));
    CHECK_RESULT(pharm_subst_set_packages(subst, TXT("[{\"sku\": 1, \"ndc\": \"0071-0155-23\", \"product\": "
                                                      "\"N020702-001\"}, {\"sku\": 1, \"ndc\": \"0071-0155-40\", "
                                                      "\"product\": \"N020702-001\"}]")),
                 PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.map_duplicate_sku"));
    CHECK(out == NULL);
    pharm_subst_free(subst);
}

static void oversized_and_bad_files(void) {
    pharm_subst *subst = new_from_bytes(SAMPLE);
    pharm_subst *made = NULL;
    pharm_bytes *out = NULL;
    const pharm_result too_large = PHARM_RESULT_INPUT_TOO_LARGE;

    /* One byte over each limit (a valid query padded with spaces). */
    size_t query_len = PHARM_SUBST_MAX_QUERY_BYTES + 1;
    char *query = malloc(query_len);
    if (query == NULL) exit(2);
    memset(query, ' ', query_len);
    const char *head = "{\"original\": \"N020702-001\", \"policy\": {\"state\": \"TX\"}}";
    memcpy(query, head, strlen(head));
    CHECK_RESULT(pharm_subst_substitutes(subst, (const uint8_t *)query, query_len, FRESH_MS, 0, &out), too_large);
    CHECK(check_error_id_is("ffi.input_too_large"));
    CHECK_RESULT(pharm_subst_explain(subst, (const uint8_t *)query, query_len, FRESH_MS, 0, &out), too_large);
    /* At the limit it is read. */
    CHECK_OK(pharm_subst_substitutes(subst, (const uint8_t *)query, query_len - 1, FRESH_MS, 0, &out));
    pharm_bytes_free(out);
    out = NULL;
    free(query);
    size_t packages_len = PHARM_SUBST_MAX_PACKAGES_BYTES + 1;
    uint8_t *products = calloc(PHARM_SUBST_MAX_PRODUCTS_BYTES + 1, 1);
    if (products == NULL) exit(2);
    CHECK_RESULT(pharm_subst_set_packages(subst, products, packages_len), too_large);
    CHECK_RESULT(pharm_subst_new_from_bytes(products, PHARM_SUBST_MAX_PRODUCTS_BYTES + 1, TXT(RELEASED), TXT(LABEL),
                                            1, &made),
                 too_large);
    CHECK_RESULT(pharm_subst_load_bytes(subst, products, PHARM_SUBST_MAX_PRODUCTS_BYTES + 1, TXT(RELEASED),
                                        TXT(LABEL), &out),
                 too_large);
    CHECK_RESULT(pharm_subst_new_from_bytes(TXT("x"), TXT(RELEASED), products, PHARM_SUBST_MAX_LABEL_BYTES + 1, 1,
                                            &made),
                 too_large);
    CHECK_RESULT(pharm_subst_new_from_path(products, PHARM_SUBST_MAX_PATH_BYTES + 1, TXT(RELEASED), TXT(LABEL), 1,
                                           &made),
                 too_large);
    free(products);

    /* Garbage and truncated bytes: typed errors of the parser. */
    CHECK_RESULT(pharm_subst_new_from_bytes(TXT("\x01\x02PK garbage"), TXT(RELEASED), TXT(LABEL), 1, &made),
                 PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.missing_header"));
    size_t len = 0;
    char *sample = check_read_file(root, SAMPLE, &len);
    CHECK_RESULT(pharm_subst_new_from_bytes((const uint8_t *)sample, len / 2, TXT(RELEASED), TXT(LABEL), 1, &made),
                 PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.bad_row"));
    free(sample);

    /* Files: missing, a directory, larger than the limit. */
    CHECK_RESULT(pharm_subst_new_from_path(TXT("/nonexistent/products.txt"), TXT(RELEASED), TXT(LABEL), 1, &made),
                 PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.file_unreadable"));
    CHECK_RESULT(pharm_subst_new_from_path(TXT(root), TXT(RELEASED), TXT(LABEL), 1, &made), PHARM_RESULT_SUBST_ERROR);
    CHECK(check_error_id_is("subst.file_unreadable"));
    char huge[] = "/tmp/pharm-subst-huge-XXXXXX";
    int fd = mkstemp(huge);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK(ftruncate(fd, (off_t)PHARM_SUBST_MAX_PRODUCTS_BYTES + 1) == 0);
        close(fd);
        CHECK_RESULT(pharm_subst_new_from_path(TXT(huge), TXT(RELEASED), TXT(LABEL), 1, &made), too_large);
        CHECK(check_error_id_is("ffi.input_too_large"));
        unlink(huge);
    }
    CHECK(made == NULL && out == NULL);
    pharm_subst_free(subst);
}

static void poisoned_handle(void) {
    pharm_subst *subst = new_from_bytes(SAMPLE);
    pharm_subst *other = new_from_bytes(SAMPLE);
    const char *query = "{\"original\": \"N020702-001\", \"policy\": {\"state\": \"TX\"}}";
    pharm_bytes *out = NULL;
    bool flag = false;
    pharm_test_panic_next_call();
    CHECK_RESULT(pharm_subst_substitutes(subst, TXT(query), FRESH_MS, 0, &out), PHARM_RESULT_PANIC);
    CHECK(check_error_id_is("ffi.panic") && out == NULL);
    const pharm_result poisoned = PHARM_RESULT_POISONED;
    CHECK_RESULT(pharm_subst_substitutes(subst, TXT(query), FRESH_MS, 0, &out), poisoned);
    CHECK(check_error_id_is("ffi.poisoned"));
    CHECK_RESULT(pharm_subst_explain(subst, TXT("{\"a\": \"N020702-001\", \"b\": \"A207687-001\"}"), FRESH_MS, 0, &out),
                 poisoned);
    CHECK_RESULT(pharm_subst_is_single_source(subst, TXT("N020702-001"), &flag), poisoned);
    CHECK_RESULT(pharm_subst_set_packages(subst, TXT("[]")), poisoned);
    CHECK_RESULT(pharm_subst_status(subst, FRESH_MS, 0, &out), poisoned);
    char *path = path_of(SAMPLE);
    CHECK_RESULT(pharm_subst_load_path(subst, TXT(path), TXT(RELEASED), TXT(LABEL), &out), poisoned);
    CHECK_RESULT(pharm_subst_load_bytes(subst, TXT("x"), TXT(RELEASED), TXT(LABEL), &out), poisoned);
    CHECK(out == NULL);
    /* The process goes on; other handles work; free works on the poisoned one. */
    CHECK_OK(pharm_subst_substitutes(other, TXT(query), FRESH_MS, 0, &out));
    pharm_bytes_free(out);
    pharm_subst_free(subst);
    /* A constructor that panics hands out nothing. */
    pharm_subst *made = NULL;
    pharm_test_panic_next_call();
    CHECK_RESULT(pharm_subst_new_from_path(TXT(path), TXT(RELEASED), TXT(LABEL), 1, &made), PHARM_RESULT_PANIC);
    CHECK(made == NULL);
    free(path);
    pharm_subst_free(other);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s REPOSITORY_ROOT\n", argv[0]);
        return 2;
    }
    root = argv[1];
    loading_and_status();
    golden_vectors();
    queries();
    swaps();
    null_pointers();
    invalid_utf8();
    bad_json();
    oversized_and_bad_files();
    poisoned_handle();
    return check_finish("subst");
}
