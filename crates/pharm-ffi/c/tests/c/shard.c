/* pharm-shard through the C ABI: shard routing of the golden routes, lag-aware read
 * routing, and a resilience policy replaying the golden breaker and retry traces with
 * caller-supplied time; plus bad input, NULLs, poisoned handles and _free(NULL). */
#include "check.h"

#define MS 1000000ULL
#define S (1000ULL * MS)
#define TEXT(s) (const uint8_t *)(s), strlen(s)

static const char *root;

/* ---------------------------------------------------------------- TSV reading */

/* Splits the next line of *cursor in place into at most max tab-separated fields;
 * returns the number of fields, 0 at the end. Comment lines are skipped. */
static int next_row(char **cursor, char **fields, int max) {
    for (;;) {
        char *line = *cursor;
        if (line == NULL || *line == '\0') return 0;
        char *end = strchr(line, '\n');
        if (end != NULL) {
            *end = '\0';
            *cursor = end + 1;
        } else {
            *cursor = line + strlen(line);
        }
        if (line[0] == '#' || line[0] == '\0') continue;
        int n = 0;
        fields[n++] = line;
        for (char *p = line; *p != '\0' && n < max; p++) {
            if (*p == '\t') {
                *p = '\0';
                fields[n++] = p + 1;
            }
        }
        return n;
    }
}

static uint64_t number(const char *text) { return strtoull(text, NULL, 10); }

static const char *state_name(pharm_breaker_state state) {
    switch (state) {
    case PHARM_BREAKER_STATE_CLOSED: return "CLOSED";
    case PHARM_BREAKER_STATE_OPEN: return "OPEN";
    case PHARM_BREAKER_STATE_HALF_OPEN: return "HALF_OPEN";
    case PHARM_BREAKER_STATE_DISABLED: return "DISABLED";
    case PHARM_BREAKER_STATE_FORCED_OPEN: return "FORCED_OPEN";
    case PHARM_BREAKER_STATE_METRICS_ONLY: return "METRICS_ONLY";
    }
    return "?";
}

static const char *give_up_name(pharm_give_up_reason reason) {
    switch (reason) {
    case PHARM_GIVE_UP_REASON_NONE: return "None";
    case PHARM_GIVE_UP_REASON_BREAKER_OPEN: return "BreakerOpen";
    case PHARM_GIVE_UP_REASON_EXHAUSTED: return "Exhausted";
    case PHARM_GIVE_UP_REASON_NOT_RETRYABLE: return "NotRetryable";
    case PHARM_GIVE_UP_REASON_DEADLINE_WOULD_PASS: return "DeadlineWouldPass";
    case PHARM_GIVE_UP_REASON_BUDGET_EXHAUSTED: return "BudgetExhausted";
    }
    return "?";
}

/* ---------------------------------------------------------------- directory */

/* The golden routes, through a directory from each map's JSON and through the layout
 * pharm_directory_new makes for the same counts and scheme. */
static void golden_routes(void) {
    size_t len = 0;
    char *text = check_read_file(root, "testdata/golden/shard/routes.tsv", &len);
    char *cursor = text, *f[10];
    pharm_directory *map = NULL, *layout = NULL;
    int n, routes = 0, maps = 0;
    while ((n = next_row(&cursor, f, 10)) > 0) {
        if (strcmp(f[0], "map") == 0 && n == 3) {
            pharm_directory_free(map);
            pharm_directory_free(layout);
            map = layout = NULL;
            CHECK_OK(pharm_directory_from_json(TEXT(f[2]), &map));
            uint32_t scheme = strstr(f[2], "\"postgres_bigint\"") != NULL
                                  ? PHARM_HASH_SCHEME_POSTGRES_BIGINT
                                  : PHARM_HASH_SCHEME_PHARM;
            CHECK_OK(pharm_directory_new(16, 4, scheme, &layout));
            maps++;
        } else if (strcmp(f[0], "route") == 0 && n == 9) {
            uint32_t id = (uint32_t)number(f[1]);
            uint32_t physical = UINT32_MAX;
            pharm_route route;
            memset(&route, 0xAB, sizeof route);
            CHECK_OK(pharm_directory_route(map, id, &physical));
            CHECK(physical == number(f[2]));
            CHECK_OK(pharm_directory_route_detail(map, id, &route));
            CHECK(route.physical == number(f[2]));
            CHECK(route.logical == number(f[3]));
            CHECK(route.map_version == number(f[4]));
            CHECK(route.pinned == (number(f[5]) == 1));
            CHECK(route.move_phase == number(f[6]));
            CHECK(route.move_source == number(f[7]) && route.move_target == number(f[8]));
            /* The constructor's layout routes unpinned pharmacies the same way. */
            pharm_route plain;
            CHECK_OK(pharm_directory_route_detail(layout, id, &plain));
            CHECK(plain.map_version == 1 && !plain.pinned);
            CHECK(plain.logical == route.logical);
            if (!route.pinned) CHECK(plain.physical == route.physical);
            routes++;
        } else {
            CHECK(!"unexpected line in routes.tsv");
        }
    }
    CHECK(maps == 2 && routes == 28);
    pharm_directory_free(map);
    pharm_directory_free(layout);
    free(text);
}

static void directory_bad_input(void) {
    pharm_directory *directory = NULL;
    CHECK_RESULT(pharm_directory_new(0, 4, PHARM_HASH_SCHEME_PHARM, &directory), PHARM_RESULT_SHARD_ERROR);
    CHECK(check_error_id_is("shard.directory_logical_count") && pharm_error_code() == 4001);
    CHECK_RESULT(pharm_directory_new(16, 0, PHARM_HASH_SCHEME_PHARM, &directory), PHARM_RESULT_SHARD_ERROR);
    CHECK(check_error_id_is("shard.directory_no_physical_shards"));
    CHECK_RESULT(pharm_directory_new(16, 70000, PHARM_HASH_SCHEME_PHARM, &directory), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_directory_new(16, 4, 2, &directory), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_directory_new(16, 4, PHARM_HASH_SCHEME_PHARM, NULL), PHARM_RESULT_NULL_PARAMETER);

    const char *good = "{\"version\":3,\"logical_count\":2,\"assignment\":[0,1],"
                       "\"pins\":[{\"pharmacy_id\":7,\"physical\":9}]}";
    /* Truncated: the length stops short of the document. */
    CHECK_RESULT(pharm_directory_from_json((const uint8_t *)good, 20, &directory), PHARM_RESULT_SHARD_ERROR);
    CHECK(check_error_id_is("shard.json_syntax") && pharm_error_code() == 4110);
    CHECK_RESULT(pharm_directory_from_json(TEXT("{\"version\":1,"), &directory), PHARM_RESULT_SHARD_ERROR);
    CHECK(check_error_id_is("shard.json_syntax"));
    CHECK_RESULT(pharm_directory_from_json(NULL, 0, &directory), PHARM_RESULT_SHARD_ERROR);
    CHECK(check_error_id_is("shard.json_syntax"));
    /* Unknown fields, at the top and inside a pin. */
    CHECK_RESULT(pharm_directory_from_json(TEXT("{\"version\":1,\"logical_count\":2,\"assignment\":[0,1],\"shards\":2}"), &directory),
                 PHARM_RESULT_SHARD_ERROR);
    CHECK(check_error_id_is("shard.json_invalid") && pharm_error_code() == 4111);
    CHECK_RESULT(pharm_directory_from_json(TEXT("{\"version\":1,\"logical_count\":2,\"assignment\":[0,1],"
                                                "\"pins\":[{\"pharmacy_id\":7,\"physical\":9,\"tenant\":\"x\"}]}"),
                                           &directory),
                 PHARM_RESULT_SHARD_ERROR);
    CHECK(check_error_id_is("shard.json_invalid"));
    /* A pharmacy pinned twice: the map's own error and code, as when pinned twice by calls. */
    CHECK_RESULT(pharm_directory_from_json(TEXT("{\"version\":1,\"logical_count\":2,\"assignment\":[0,1],"
                                                "\"pins\":[{\"pharmacy_id\":7,\"physical\":9},{\"pharmacy_id\":7,\"physical\":8}]}"),
                                           &directory),
                 PHARM_RESULT_SHARD_ERROR);
    CHECK(check_error_id_is("shard.directory_already_pinned") && pharm_error_code() == 4013);
    /* The message names the reason; too small a buffer reports the length needed. */
    char small[8];
    size_t needed = 0;
    CHECK_RESULT(pharm_error_message((uint8_t *)small, sizeof small, &needed), PHARM_RESULT_BUFFER_TOO_SMALL);
    char *message = malloc(needed + 1);
    CHECK(message != NULL);
    if (message != NULL) {
        CHECK_OK(pharm_error_message((uint8_t *)message, needed + 1, &needed));
        CHECK(strstr(message, "already pinned") != NULL);
        free(message);
    }
    CHECK_RESULT(pharm_directory_from_json(TEXT("{\"version\":1,\"logical_count\":2,\"assignment\":[0,\xff]}"), &directory),
                 PHARM_RESULT_INVALID_UTF8);
    CHECK_RESULT(pharm_directory_from_json(NULL, 10, &directory), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_directory_from_json(TEXT(good), NULL), PHARM_RESULT_NULL_PARAMETER);
    size_t big_len = (size_t)PHARM_SHARD_MAX_JSON_BYTES + 1;
    uint8_t *big = malloc(big_len);
    CHECK(big != NULL);
    if (big != NULL) {
        memset(big, ' ', big_len);
        big[0] = '{';
        big[big_len - 1] = '}';
        CHECK_RESULT(pharm_directory_from_json(big, big_len, &directory), PHARM_RESULT_INPUT_TOO_LARGE);
        free(big);
    }
    CHECK(directory == NULL);

    CHECK_OK(pharm_directory_from_json(TEXT(good), &directory));
    uint32_t physical = 0;
    pharm_route route;
    CHECK_OK(pharm_directory_route(directory, 7, &physical));
    CHECK(physical == 9);
    CHECK_RESULT(pharm_directory_route(NULL, 7, &physical), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_directory_route(directory, 7, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_directory_route_detail(NULL, 7, &route), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_directory_route_detail(directory, 7, NULL), PHARM_RESULT_NULL_PARAMETER);

    /* A panic poisons the directory; it can still be freed. */
    pharm_test_panic_next_call();
    CHECK_RESULT(pharm_directory_route_detail(directory, 7, &route), PHARM_RESULT_PANIC);
    CHECK_RESULT(pharm_directory_route(directory, 7, &physical), PHARM_RESULT_POISONED);
    CHECK(check_error_id_is("ffi.poisoned"));
    pharm_directory_free(directory);
    pharm_directory_free(NULL);
}

/* ---------------------------------------------------------------- read routing */

static void sample(char *buf, size_t size, const char *primary, const char *replay, long heartbeat_lag_ms,
                   uint64_t at_ms) {
    char heartbeat[96] = "null";
    if (heartbeat_lag_ms >= 0) {
        snprintf(heartbeat, sizeof heartbeat, "{\"written_at_ms\":%llu,\"observed_at_ms\":%llu}",
                 (unsigned long long)(at_ms - (uint64_t)heartbeat_lag_ms), (unsigned long long)at_ms);
    }
    snprintf(buf, size,
             "{\"primary_lsn\":\"%s\",\"replay_lsn\":\"%s\",\"replay_paused\":false,"
             "\"heartbeat\":%s,\"measured_at_ms\":%llu}",
             primary, replay, heartbeat, (unsigned long long)at_ms);
}

static void read_routing(void) {
    pharm_query_class class = PHARM_QUERY_CLASS_WRITE;
    CHECK_OK(pharm_query_class_parse(TEXT("ApiRead"), &class));
    CHECK(class == PHARM_QUERY_CLASS_API_READ);
    CHECK_OK(pharm_query_class_parse(TEXT("Analytics"), &class));
    CHECK(class == PHARM_QUERY_CLASS_ANALYTICS);
    CHECK_RESULT(pharm_query_class_parse(TEXT("analytics"), &class), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_query_class_parse(TEXT("Analytic\xff"), &class), PHARM_RESULT_INVALID_UTF8);
    CHECK_RESULT(pharm_query_class_parse(NULL, 3, &class), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_query_class_parse(TEXT("Write"), NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK(class == PHARM_QUERY_CLASS_ANALYTICS);

    pharm_read_router *router = NULL;
    CHECK_RESULT(pharm_read_router_new(5000, 10000, 0, &router), PHARM_RESULT_SHARD_ERROR);
    CHECK(check_error_id_is("shard.lag_history_capacity"));
    CHECK_RESULT(pharm_read_router_new(5000, 10000, 1024, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_OK(pharm_read_router_new(PHARM_READ_ROUTER_DEFAULT_MAX_LAG_MS, PHARM_READ_ROUTER_DEFAULT_STALE_AFTER_MS,
                                   PHARM_READ_ROUTER_DEFAULT_HISTORY_CAPACITY, &router));

    pharm_read_decision decision;
    pharm_lag_estimate estimate;
    char json[512];
    /* Writes go to the primary; a replica never heard of does not serve. */
    CHECK_OK(pharm_read_router_route(router, 0, 2, PHARM_QUERY_CLASS_WRITE, NULL, 0, &decision));
    CHECK(decision.shard == 2 && decision.target == PHARM_READ_TARGET_PRIMARY);
    CHECK(decision.reason == PHARM_READ_REASON_PRIMARY_BY_KIND);
    CHECK_OK(pharm_read_router_route(router, 0, 2, PHARM_QUERY_CLASS_ANALYTICS, NULL, 0, &decision));
    CHECK(decision.target == PHARM_READ_TARGET_PRIMARY && decision.reason == PHARM_READ_REASON_REPLICA_FALLBACK);
    CHECK(decision.fallback == PHARM_FALLBACK_REASON_NEVER_OBSERVED);

    /* Caught up: the analytics replica serves. */
    sample(json, sizeof json, "0/3000000", "0/3000000", -1, 1000);
    CHECK_OK(pharm_read_router_observe(router, 2, PHARM_READ_TARGET_ANALYTICS_REPLICA, TEXT(json), &estimate));
    CHECK(estimate.serving && estimate.lag_ms == 0 && estimate.source == PHARM_LAG_SOURCE_CAUGHT_UP);
    CHECK_OK(pharm_read_router_route(router, 1500, 2, PHARM_QUERY_CLASS_ANALYTICS, NULL, 0, &decision));
    CHECK(decision.target == PHARM_READ_TARGET_ANALYTICS_REPLICA);
    CHECK(decision.reason == PHARM_READ_REASON_REPLICA_IN_SYNC && decision.lag_ms == 0);
    /* A token of another shard, then one the replica has not replayed. */
    CHECK_OK(pharm_read_router_route(router, 1500, 2, PHARM_QUERY_CLASS_ANALYTICS, TEXT("1:0/3000000"), &decision));
    CHECK(decision.reason == PHARM_READ_REASON_TOKEN_FOR_OTHER_SHARD);
    CHECK_OK(pharm_read_router_route(router, 1500, 2, PHARM_QUERY_CLASS_ANALYTICS, TEXT("2:0/3000001"), &decision));
    CHECK(decision.target == PHARM_READ_TARGET_PRIMARY && decision.reason == PHARM_READ_REASON_TOKEN_NOT_REPLAYED);
    CHECK(decision.replay_lsn == 0x3000000);

    /* 6 s behind by the heartbeat: above the 5 s limit. */
    sample(json, sizeof json, "0/4000000", "0/3000000", 6000, 9000);
    CHECK_OK(pharm_read_router_observe(router, 2, PHARM_READ_TARGET_ANALYTICS_REPLICA, TEXT(json), &estimate));
    CHECK(!estimate.serving && estimate.lag_ms >= 6000 && estimate.bytes_behind == 0x1000000);
    CHECK_OK(pharm_read_router_route(router, 9000, 2, PHARM_QUERY_CLASS_ANALYTICS, NULL, 0, &decision));
    CHECK(decision.fallback == PHARM_FALLBACK_REASON_LAG_ABOVE_MAX);

    /* Reported down. */
    CHECK_OK(pharm_read_router_replica_down(router, 2, PHARM_READ_TARGET_REPORTING_REPLICA, 9500));
    CHECK_OK(pharm_read_router_route(router, 9500, 2, PHARM_QUERY_CLASS_REPORTING, NULL, 0, &decision));
    CHECK(decision.fallback == PHARM_FALLBACK_REASON_UNREACHABLE);

    pharm_bytes *events = NULL;
    CHECK_OK(pharm_read_router_take_events(router, &events));
    CHECK(check_bytes_contain(events, "\"FellBackToPrimary\""));
    CHECK(check_bytes_contain(events, "\"reason\":\"LagAboveMax\""));
    CHECK(check_bytes_contain(events, "\"reason\":\"Unreachable\""));
    pharm_bytes_free(events);
    events = NULL;
    CHECK_OK(pharm_read_router_take_events(router, &events));
    CHECK(check_bytes_equal(events, "[]"));
    pharm_bytes_free(events);

    /* Bad input: nothing is written. */
    memset(&decision, 0, sizeof decision);
    CHECK_RESULT(pharm_read_router_route(router, 0, 2, 5, NULL, 0, &decision), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_read_router_route(router, 0, 2, PHARM_QUERY_CLASS_ANALYTICS, TEXT("16/B374D848"), &decision),
                 PHARM_RESULT_SHARD_ERROR);
    CHECK(check_error_id_is("shard.lsn_token_format"));
    CHECK_RESULT(pharm_read_router_route(router, 0, 2, PHARM_QUERY_CLASS_ANALYTICS, TEXT("2:16/B374D84X"), &decision),
                 PHARM_RESULT_SHARD_ERROR);
    CHECK(check_error_id_is("shard.lsn_token_lsn"));
    CHECK_RESULT(pharm_read_router_route(router, 0, 2, PHARM_QUERY_CLASS_ANALYTICS, TEXT("2:0/\xff"), &decision),
                 PHARM_RESULT_INVALID_UTF8);
    CHECK_RESULT(pharm_read_router_route(router, 0, 2, PHARM_QUERY_CLASS_ANALYTICS, NULL, 4, &decision),
                 PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_read_router_route(router, 0, 2, PHARM_QUERY_CLASS_ANALYTICS, NULL, 0, NULL),
                 PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_read_router_route(NULL, 0, 2, PHARM_QUERY_CLASS_ANALYTICS, NULL, 0, &decision),
                 PHARM_RESULT_NULL_PARAMETER);
    CHECK(decision.shard == 0 && decision.target == PHARM_READ_TARGET_PRIMARY && decision.lag_ms == 0);

    CHECK_RESULT(pharm_read_router_observe(router, 2, PHARM_READ_TARGET_PRIMARY, TEXT(json), &estimate),
                 PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_read_router_observe(router, 2, 4, TEXT(json), &estimate), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_read_router_observe(router, 2, 1, (const uint8_t *)json, 30, &estimate), PHARM_RESULT_SHARD_ERROR);
    CHECK(check_error_id_is("shard.json_syntax"));
    CHECK_RESULT(pharm_read_router_observe(router, 2, 1,
                                           TEXT("{\"primary_lsn\":\"0/1\",\"replay_lsn\":\"0/1\",\"replay_paused\":false,"
                                                "\"measured_at_ms\":1,\"lag_ms\":0}"),
                                           &estimate),
                 PHARM_RESULT_SHARD_ERROR);
    CHECK(check_error_id_is("shard.json_invalid"));
    CHECK_RESULT(pharm_read_router_observe(router, 2, 1,
                                           TEXT("{\"primary_lsn\":\"0/1\",\"replay_lsn\":\"nope\",\"replay_paused\":false,"
                                                "\"measured_at_ms\":1}"),
                                           &estimate),
                 PHARM_RESULT_SHARD_ERROR);
    CHECK(check_error_id_is("shard.json_invalid"));
    CHECK_RESULT(pharm_read_router_observe(router, 2, 1, TEXT("{\"primary_lsn\":\"0/\xff\"}"), &estimate),
                 PHARM_RESULT_INVALID_UTF8);
    CHECK_RESULT(pharm_read_router_observe(router, 2, 1, NULL, 5, &estimate), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_read_router_observe(router, 2, 1, TEXT(json), NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_read_router_observe(NULL, 2, 1, TEXT(json), &estimate), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_read_router_replica_down(router, 2, 0, 1), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_read_router_replica_down(NULL, 2, 1, 1), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_read_router_take_events(router, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_read_router_take_events(NULL, &events), PHARM_RESULT_NULL_PARAMETER);

    /* A panic poisons the router. */
    pharm_test_panic_next_call();
    CHECK_RESULT(pharm_read_router_take_events(router, &events), PHARM_RESULT_PANIC);
    CHECK_RESULT(pharm_read_router_route(router, 0, 2, PHARM_QUERY_CLASS_WRITE, NULL, 0, &decision), PHARM_RESULT_POISONED);
    pharm_read_router_free(router);
    pharm_read_router_free(NULL);
}

/* ---------------------------------------------------------------- resilience */

/* One operation of one try at at_ns; returns whether the breaker permitted it. */
static bool one_try(const pharm_resilience *policy, uint32_t outcome, uint64_t at_ns, pharm_resilience_permit *permit,
                    pharm_resilience_next *next) {
    pharm_resilience_call *call = NULL;
    CHECK_OK(pharm_resilience_begin(policy, at_ns, &call));
    CHECK_OK(pharm_resilience_before_call(call, at_ns, permit));
    if (permit->permitted) {
        CHECK_OK(pharm_resilience_after_call(call, outcome, PHARM_ERROR_KIND_RETRYABLE, 0, at_ns, next));
    }
    pharm_resilience_call_free(call);
    return permit->permitted;
}

/* breaker_trace.json: five failures in ten calls open the pmp-api breaker, it rejects
 * until strictly after the 30 s wait, three successful probes close it. */
static void golden_breaker_trace(void) {
    size_t len = 0;
    char *text = check_read_file(root, "testdata/golden/shard/breaker_trace.tsv", &len);
    char *cursor = text, *f[6];
    pharm_resilience *policy = NULL;
    CHECK_OK(pharm_resilience_from_preset(TEXT("pmp-api"), 0, &policy));
    int n, steps = 0;
    while ((n = next_row(&cursor, f, 6)) > 0) {
        CHECK(n == 5 && strcmp(f[0], "step") == 0);
        if (n != 5) continue;
        uint64_t at = number(f[1]) * MS;
        uint32_t outcome = strcmp(f[2], "success") == 0 ? PHARM_OUTCOME_SUCCESS : PHARM_OUTCOME_FAILURE;
        pharm_resilience_permit permit;
        pharm_resilience_next next;
        bool permitted = one_try(policy, outcome, at, &permit, &next);
        CHECK(permitted == (number(f[3]) == 1));
        if (!permitted) {
            CHECK(permit.state == PHARM_BREAKER_STATE_OPEN);
            /* Opened at 900 ms; probes go through strictly after 30.9 s. */
            CHECK(permit.retry_after_ns == 30900 * MS - at);
        } else if (number(f[1]) == 900) {
            CHECK(next.action == PHARM_NEXT_ACTION_RETURN);
        }
        pharm_breaker_state state = PHARM_BREAKER_STATE_DISABLED;
        CHECK_OK(pharm_resilience_state(policy, &state));
        if (strcmp(state_name(state), f[4]) != 0) {
            fprintf(stderr, "at %s ms: state %s, expected %s\n", f[1], state_name(state), f[4]);
            check_failures++;
        }
        steps++;
    }
    CHECK(steps == 17);
    pharm_resilience_free(policy);
    free(text);
}

/* retry_traces.json: every try fails retryably 500 ms after it starts; the waits come
 * from the policy's backoff and jitter seed, on the caller's time. */
static void golden_retry_traces(void) {
    size_t len = 0;
    char *text = check_read_file(root, "testdata/golden/shard/retry_traces.tsv", &len);
    char *cursor = text, *f[7];
    pharm_resilience *policy = NULL;
    pharm_resilience_call *call = NULL;
    uint64_t now = 0;
    int n, traces = 0, steps = 0;
    while ((n = next_row(&cursor, f, 7)) > 0) {
        if (strcmp(f[0], "config") == 0 && n == 3) {
            pharm_resilience_call_free(call);
            pharm_resilience_free(policy);
            call = NULL;
            policy = NULL;
            CHECK_OK(pharm_resilience_from_json(TEXT(f[1]), TEXT(f[2]), 0, &policy));
            CHECK_OK(pharm_resilience_begin(policy, 0, &call));
            now = 0;
            traces++;
        } else if (strcmp(f[0], "step") == 0 && n == 6) {
            pharm_resilience_permit permit;
            pharm_resilience_next next;
            CHECK_OK(pharm_resilience_before_call(call, now, &permit));
            CHECK(permit.permitted && permit.attempt == number(f[1]) && permit.timeout_ns == number(f[2]));
            now += 500 * MS;
            CHECK(now == number(f[3]));
            CHECK_OK(pharm_resilience_after_call(call, PHARM_OUTCOME_FAILURE, PHARM_ERROR_KIND_RETRYABLE, 0, now, &next));
            if (strcmp(f[4], "retry_after") == 0) {
                CHECK(next.action == PHARM_NEXT_ACTION_RETRY_AFTER && next.wait_ns == number(f[5]));
                CHECK(next.give_up == PHARM_GIVE_UP_REASON_NONE);
                now += next.wait_ns;
            } else {
                CHECK(next.action == PHARM_NEXT_ACTION_GIVE_UP && strcmp(give_up_name(next.give_up), f[5]) == 0);
                /* The operation has ended. */
                CHECK_RESULT(pharm_resilience_before_call(call, now, &permit), PHARM_RESULT_INVALID_ARGUMENT);
            }
            steps++;
        } else {
            CHECK(!"unexpected line in retry_traces.tsv");
        }
    }
    CHECK(traces == 2 && steps == 6);
    pharm_resilience_call_free(call);
    pharm_resilience_free(policy);
    free(text);
}

static void resilience_protocol(void) {
    pharm_resilience *policy = NULL;
    pharm_resilience_call *call = NULL;
    pharm_resilience_permit permit;
    pharm_resilience_next next;
    CHECK_OK(pharm_resilience_from_preset(TEXT("insurance-api"), 0, &policy));
    CHECK_OK(pharm_resilience_begin(policy, 0, &call));
    /* No try in progress yet. */
    CHECK_RESULT(pharm_resilience_after_call(call, PHARM_OUTCOME_SUCCESS, 0, 0, 0, &next), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_OK(pharm_resilience_before_call(call, 0, &permit));
    CHECK(permit.permitted && permit.attempt == 1 && permit.timeout_ns == 30 * S);
    CHECK(permit.state == PHARM_BREAKER_STATE_CLOSED);
    /* A second ask before reporting the first try. */
    CHECK_RESULT(pharm_resilience_before_call(call, 0, &permit), PHARM_RESULT_INVALID_ARGUMENT);
    /* Unknown outcome and error kind: refused, the try stays in progress. */
    CHECK_RESULT(pharm_resilience_after_call(call, 7, 0, 0, S, &next), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_resilience_after_call(call, PHARM_OUTCOME_FAILURE, 7, 0, S, &next), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_resilience_after_call(call, PHARM_OUTCOME_FAILURE, 0, 0, S, NULL), PHARM_RESULT_NULL_PARAMETER);
    /* The server says: come back in 5 s. */
    CHECK_OK(pharm_resilience_after_call(call, PHARM_OUTCOME_FAILURE, PHARM_ERROR_KIND_RETRYABLE_AFTER, 5 * S, S, &next));
    CHECK(next.action == PHARM_NEXT_ACTION_RETRY_AFTER && next.wait_ns >= 5 * S);
    CHECK_OK(pharm_resilience_before_call(call, S + next.wait_ns, &permit));
    CHECK(permit.permitted && permit.attempt == 2);
    /* A permanent error is not retried. */
    CHECK_OK(pharm_resilience_after_call(call, PHARM_OUTCOME_NOT_COUNTED, PHARM_ERROR_KIND_PERMANENT, 0, 8 * S, &next));
    CHECK(next.action == PHARM_NEXT_ACTION_GIVE_UP && next.give_up == PHARM_GIVE_UP_REASON_NOT_RETRYABLE);
    CHECK_RESULT(pharm_resilience_before_call(call, 9 * S, &permit), PHARM_RESULT_INVALID_ARGUMENT);
    pharm_resilience_call_free(call);

    /* An operation keeps its policy alive. */
    CHECK_OK(pharm_resilience_begin(policy, 10 * S, &call));
    pharm_resilience_free(policy);
    CHECK_OK(pharm_resilience_before_call(call, 10 * S, &permit));
    CHECK(permit.permitted);
    CHECK_OK(pharm_resilience_after_call(call, PHARM_OUTCOME_SUCCESS, 0, 0, 11 * S, &next));
    CHECK(next.action == PHARM_NEXT_ACTION_RETURN);
    pharm_resilience_call_free(call);

    /* Counted failures open the pmp-api breaker (10 calls, 50 %); the tenth gives up
     * without a retry; a probe freed unreported gives its HALF_OPEN slot back. */
    CHECK_OK(pharm_resilience_from_preset(TEXT("pmp-api"), 0, &policy));
    for (uint64_t i = 0; i < 10; i++) one_try(policy, PHARM_OUTCOME_FAILURE, i * MS, &permit, &next);
    CHECK(next.action == PHARM_NEXT_ACTION_GIVE_UP && next.give_up == PHARM_GIVE_UP_REASON_BREAKER_OPEN);
    CHECK(!one_try(policy, PHARM_OUTCOME_SUCCESS, S, &permit, &next));
    CHECK(permit.retry_after_ns == 30 * S + 9 * MS - S);
    CHECK_OK(pharm_resilience_begin(policy, 31 * S, &call));
    CHECK_OK(pharm_resilience_before_call(call, 31 * S, &permit));
    CHECK(permit.permitted && permit.state == PHARM_BREAKER_STATE_HALF_OPEN);
    pharm_resilience_call_free(call);
    pharm_resilience_call *probes[4];
    for (int i = 0; i < 4; i++) {
        CHECK_OK(pharm_resilience_begin(policy, 32 * S, &probes[i]));
        CHECK_OK(pharm_resilience_before_call(probes[i], 32 * S, &permit));
        CHECK(permit.permitted == (i < 3));
    }
    for (int i = 0; i < 3; i++) {
        CHECK_OK(pharm_resilience_after_call(probes[i], PHARM_OUTCOME_SUCCESS, 0, 0, 33 * S, &next));
    }
    pharm_breaker_state state = PHARM_BREAKER_STATE_DISABLED;
    CHECK_OK(pharm_resilience_state(policy, &state));
    CHECK(state == PHARM_BREAKER_STATE_CLOSED);
    for (int i = 0; i < 4; i++) pharm_resilience_call_free(probes[i]);
    pharm_resilience_free(policy);
}

static void resilience_bad_input(void) {
    pharm_resilience *policy = NULL;
    pharm_bytes *config = NULL;
    CHECK_RESULT(pharm_resilience_from_preset(TEXT("pmp_api"), 0, &policy), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_resilience_from_preset(TEXT("pmp-api\xff"), 0, &policy), PHARM_RESULT_INVALID_UTF8);
    CHECK_RESULT(pharm_resilience_from_preset(NULL, 7, 0, &policy), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_resilience_from_preset(TEXT("pmp-api"), 0, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_resilience_preset_config(TEXT("nope"), &config), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_resilience_preset_config(TEXT("pmp-api"), NULL), PHARM_RESULT_NULL_PARAMETER);

    /* The preset's configuration is a valid document; cut short it is not JSON. */
    CHECK_OK(pharm_resilience_preset_config(TEXT("pmp-api"), &config));
    CHECK(check_bytes_contain(config, "\"jitter_seed\""));
    const uint8_t *json = pharm_bytes_data(config);
    size_t json_len = pharm_bytes_len(config);
    CHECK_OK(pharm_resilience_from_json(TEXT("till-7"), json, json_len, 0, &policy));
    pharm_resilience_free(policy);
    policy = NULL;
    CHECK_RESULT(pharm_resilience_from_json(TEXT("x"), json, json_len / 2, 0, &policy), PHARM_RESULT_SHARD_ERROR);
    CHECK(check_error_id_is("shard.json_syntax"));
    /* An unknown field deep inside (the retry policy's backoff), a budget of zero tokens. */
    char *edited = malloc(json_len + 64);
    CHECK(edited != NULL);
    if (edited != NULL) {
        memcpy(edited, json, json_len);
        edited[json_len] = '\0';
        char *multiplier = strstr(edited, "\"multiplier\":");
        CHECK(multiplier != NULL);
        if (multiplier != NULL) {
            memmove(multiplier + 8, multiplier, strlen(multiplier) + 1);
            memcpy(multiplier, "\"jit\":1,", 8);
            CHECK_RESULT(pharm_resilience_from_json(TEXT("x"), TEXT(edited), 0, &policy), PHARM_RESULT_SHARD_ERROR);
            CHECK(check_error_id_is("shard.json_invalid"));
        }
        memcpy(edited, json, json_len);
        edited[json_len] = '\0';
        char *tokens = strstr(edited, "\"max_tokens\":100");
        CHECK(tokens != NULL);
        if (tokens != NULL) {
            memcpy(tokens, "\"max_tokens\":000", 16);
            CHECK_RESULT(pharm_resilience_from_json(TEXT("x"), TEXT(edited), 0, &policy), PHARM_RESULT_SHARD_ERROR);
            /* 000 is not JSON: a number has no leading zeros. */
            CHECK(check_error_id_is("shard.json_syntax"));
            memcpy(tokens, "\"max_tokens\":  0", 16);
            CHECK_RESULT(pharm_resilience_from_json(TEXT("x"), TEXT(edited), 0, &policy), PHARM_RESULT_SHARD_ERROR);
            CHECK(check_error_id_is("shard.resilience_config_budget") && pharm_error_code() == 4092);
        }
        /* An invalid retry policy keeps its own code too. */
        memcpy(edited, json, json_len);
        edited[json_len] = '\0';
        char *attempts = strstr(edited, "\"max_attempts\":3");
        CHECK(attempts != NULL);
        if (attempts != NULL) {
            memcpy(attempts, "\"max_attempts\":0", 16);
            CHECK_RESULT(pharm_resilience_from_json(TEXT("x"), TEXT(edited), 0, &policy), PHARM_RESULT_SHARD_ERROR);
            CHECK(check_error_id_is("shard.resilience_config_retry") && pharm_error_code() == 4091);
        }
        free(edited);
    }
    CHECK_RESULT(pharm_resilience_from_json(TEXT("x"), TEXT("{\"breaker\":{},\"retry\":\xff}"), 0, &policy),
                 PHARM_RESULT_INVALID_UTF8);
    CHECK_RESULT(pharm_resilience_from_json(TEXT("x"), NULL, 3, 0, &policy), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_resilience_from_json(TEXT("x"), json, json_len, 0, NULL), PHARM_RESULT_NULL_PARAMETER);
    size_t big_len = (size_t)PHARM_SHARD_MAX_JSON_BYTES + 1;
    uint8_t *big = calloc(big_len, 1);
    CHECK(big != NULL);
    if (big != NULL) {
        CHECK_RESULT(pharm_resilience_from_json(TEXT("x"), big, big_len, 0, &policy), PHARM_RESULT_INPUT_TOO_LARGE);
        free(big);
    }
    CHECK(policy == NULL);

    /* NULL handles and outputs. */
    CHECK_OK(pharm_resilience_from_json(TEXT("x"), json, json_len, 0, &policy));
    pharm_bytes_free(config);
    pharm_resilience_call *call = NULL;
    pharm_resilience_permit permit;
    pharm_resilience_next next;
    pharm_breaker_state state;
    CHECK_RESULT(pharm_resilience_state(NULL, &state), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_resilience_state(policy, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_resilience_begin(NULL, 0, &call), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_resilience_begin(policy, 0, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_resilience_before_call(NULL, 0, &permit), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_resilience_after_call(NULL, 0, 0, 0, 0, &next), PHARM_RESULT_NULL_PARAMETER);
    CHECK_OK(pharm_resilience_begin(policy, 0, &call));
    CHECK_RESULT(pharm_resilience_before_call(call, 0, NULL), PHARM_RESULT_NULL_PARAMETER);

    /* A panic in one operation poisons the policy and every operation begun from it. */
    pharm_resilience_call *other = NULL;
    CHECK_OK(pharm_resilience_begin(policy, 0, &other));
    pharm_test_panic_next_call();
    CHECK_RESULT(pharm_resilience_before_call(call, 0, &permit), PHARM_RESULT_PANIC);
    CHECK(check_error_id_is("ffi.panic"));
    CHECK_RESULT(pharm_resilience_before_call(other, 0, &permit), PHARM_RESULT_POISONED);
    CHECK_RESULT(pharm_resilience_after_call(call, 0, 0, 0, 0, &next), PHARM_RESULT_POISONED);
    CHECK_RESULT(pharm_resilience_state(policy, &state), PHARM_RESULT_POISONED);
    pharm_resilience_call *late = NULL;
    CHECK_RESULT(pharm_resilience_begin(policy, 0, &late), PHARM_RESULT_POISONED);
    CHECK(late == NULL);
    pharm_resilience_call_free(call);
    pharm_resilience_call_free(other);
    pharm_resilience_free(policy);
    pharm_resilience_call_free(NULL);
    pharm_resilience_free(NULL);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: shard <repository root>\n");
        return 2;
    }
    root = argv[1];
    golden_routes();
    directory_bad_input();
    read_routing();
    golden_breaker_trace();
    golden_retry_traces();
    resilience_protocol();
    resilience_bad_input();
    return check_finish("shard");
}
