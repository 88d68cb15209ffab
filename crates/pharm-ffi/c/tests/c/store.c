/* The terminal store through the C ABI: key rings, stores created and opened (fail loud),
 * operations as JSON, two terminals converging over sync messages exchanged as bytes,
 * hostile, cut and oversized messages, the golden messages, backups, recovery and a
 * poisoned store. Every file lives in a mkdtemp directory removed at the end. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <unistd.h>

#include "check.h"

#define STORE_ID 42u

static char dir[64];

/* The full path of `file` in the scratch directory. */
static const char *in_dir(const char *file) {
    static char paths[4][512];
    static int next = 0;
    char *path = paths[next];
    next = (next + 1) % 4;
    snprintf(path, sizeof paths[0], "%s/%s", dir, file);
    return path;
}

static void remove_dir(void) {
    DIR *d = opendir(dir);
    if (d == NULL) return;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f == NULL) return;
    if (len > 0) CHECK(fwrite(data, 1, len, f) == len);
    fclose(f);
}

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

static void link_key(uint8_t key[32]) { memset(key, 0x4c, 32); }

static void origin_key(uint8_t key[32], uint16_t terminal) {
    memset(key, 0x6f, 32);
    key[0] = (uint8_t)(terminal & 0xff);
    key[1] = (uint8_t)(terminal >> 8);
}

/* Eight random-looking bytes: `seed` little-endian (the incarnation it gives is `seed`). */
static void seed_bytes(uint8_t out[8], uint64_t seed) {
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(seed >> (8 * i));
}

/* A terminal's key ring: every member of store `store_id` with only `me`'s origin key (every
 * key when `me` is negative: the cloud's). */
static pharm_keyring *make_ring(uint32_t store_id, int me) {
    uint8_t link[32], key[32];
    link_key(link);
    pharm_keyring *ring = NULL;
    CHECK_OK(pharm_keyring_new(store_id, link, sizeof link, &ring));
    const uint16_t members[] = {1, 2, 3, 65535};
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        if (me < 0 || me == members[i]) {
            origin_key(key, members[i]);
            CHECK_OK(pharm_keyring_add_member(ring, members[i], key, sizeof key));
        } else {
            CHECK_OK(pharm_keyring_add_member(ring, members[i], NULL, 0));
        }
    }
    return ring;
}

static pharm_result create_in(const char *file, uint32_t store_id, uint16_t terminal,
                              const pharm_keyring *ring, const uint8_t *entropy,
                              size_t entropy_len, pharm_store **out) {
    const char *path = in_dir(file);
    return pharm_store_create((const uint8_t *)path, strlen(path), store_id, terminal,
                              PHARM_STORE_ROLE_MEMBER, ring, entropy, entropy_len, out);
}

static pharm_store *create_store(const char *file, uint16_t terminal, uint64_t seed) {
    pharm_keyring *ring = make_ring(STORE_ID, terminal);
    uint8_t entropy[8];
    seed_bytes(entropy, seed);
    pharm_store *store = NULL;
    CHECK_OK(create_in(file, STORE_ID, terminal, ring, entropy, sizeof entropy, &store));
    pharm_keyring_free(ring); /* the store keeps its own copy */
    return store;
}

static pharm_result open_store(const char *file, uint16_t terminal, pharm_store **out) {
    pharm_keyring *ring = make_ring(STORE_ID, terminal);
    const char *path = in_dir(file);
    pharm_result result = pharm_store_open((const uint8_t *)path, strlen(path), STORE_ID,
                                           terminal, PHARM_STORE_ROLE_MEMBER, ring, out);
    pharm_keyring_free(ring);
    return result;
}

static pharm_result apply_op(pharm_store *store, uint64_t now, const char *op,
                             pharm_bytes **commit) {
    return pharm_store_apply(store, now, (const uint8_t *)op, strlen(op), commit);
}

/* ---- message queues ---- */

typedef struct {
    uint8_t *data;
    size_t len;
} message;

typedef struct {
    message items[64];
    size_t n;
} queue;

static void queue_push(queue *q, const uint8_t *data, size_t len) {
    if (q->n == sizeof q->items / sizeof q->items[0]) {
        CHECK(!"queue full");
        return;
    }
    uint8_t *copy = malloc(len ? len : 1);
    CHECK(copy != NULL);
    if (copy == NULL) return;
    if (len) memcpy(copy, data, len);
    q->items[q->n].data = copy;
    q->items[q->n].len = len;
    q->n++;
}

static void queue_clear(queue *q) {
    for (size_t i = 0; i < q->n; i++) free(q->items[i].data);
    q->n = 0;
}

/* Applies one message to `store` and appends the replies to `replies`. */
static pharm_result deliver(pharm_store *store, uint64_t now, const uint8_t *data, size_t len,
                            queue *replies) {
    pharm_bytes *list = NULL;
    pharm_result result = pharm_store_apply_bytes(store, now, data, len, &list);
    if (result != PHARM_RESULT_OK) {
        CHECK(list == NULL);
        return result;
    }
    size_t count = 0;
    CHECK_OK(pharm_sync_messages_count(pharm_bytes_data(list), pharm_bytes_len(list), &count));
    for (size_t i = 0; i < count; i++) {
        const uint8_t *m = NULL;
        size_t m_len = 0;
        CHECK_OK(pharm_sync_messages_get(pharm_bytes_data(list), pharm_bytes_len(list), i, &m,
                                         &m_len));
        CHECK(m >= pharm_bytes_data(list) &&
              m + m_len <= pharm_bytes_data(list) + pharm_bytes_len(list));
        if (replies != NULL) queue_push(replies, m, m_len);
    }
    pharm_bytes_free(list);
    return result;
}

/* A sync session of `client` with `server` (its store leader) until neither has a reply. */
static void session(pharm_store *client, pharm_store *server, uint64_t now) {
    queue up = {0}, down = {0};
    pharm_bytes *hello = NULL;
    CHECK_OK(pharm_store_hello(client, now, &hello));
    queue_push(&up, pharm_bytes_data(hello), pharm_bytes_len(hello));
    pharm_bytes_free(hello);
    int rounds = 0;
    while (up.n > 0 && rounds++ < 32) {
        for (size_t i = 0; i < up.n; i++) {
            CHECK_OK(deliver(server, now, up.items[i].data, up.items[i].len, &down));
        }
        queue_clear(&up);
        for (size_t i = 0; i < down.n; i++) {
            CHECK_OK(deliver(client, now, down.items[i].data, down.items[i].len, &up));
        }
        queue_clear(&down);
    }
    CHECK(up.n == 0);
    queue_clear(&up);
}

/* The inventory view of a store (the caller frees it). */
static pharm_bytes *view_of(pharm_store *store) {
    pharm_bytes *view = NULL;
    CHECK_OK(pharm_store_inventory_view(store, &view));
    return view;
}

static int same_bytes(const pharm_bytes *a, const pharm_bytes *b) {
    return a != NULL && b != NULL && pharm_bytes_len(a) == pharm_bytes_len(b) &&
           memcmp(pharm_bytes_data(a), pharm_bytes_data(b), pharm_bytes_len(a)) == 0;
}

/* Whether the status JSON of `store` contains `text`. */
static int status_contains(pharm_store *store, const char *text) {
    pharm_bytes *status = NULL;
    CHECK_OK(pharm_store_status(store, &status));
    int found = check_bytes_contain(status, text);
    pharm_bytes_free(status);
    return found;
}

static const char *RECEIVE =
    "{\"op\":\"receive_new\",\"lot\":{\"sku\":7,\"ndc\":\"0093-7146-56\",\"lot_number\":\"A1\","
    "\"expiry\":\"2027-05-31\",\"controlled\":false},\"qty\":90,\"reference\":\"PO-1\"}";

static const char *DISPENSE_30 =
    "{\"op\":\"dispense\",\"today\":\"2026-03-10\",\"sku\":7,\"qty\":30,\"scanned\":null,"
    "\"reference\":\"RX-1\",\"attachments\":{\"claim\":\"{}\",\"pmp_report\":null}}";

static const char *DISPENSE_25 =
    "{\"op\":\"dispense\",\"today\":\"2026-03-10\",\"sku\":7,\"qty\":25,\"scanned\":null,"
    "\"reference\":\"RX-2\",\"attachments\":{\"claim\":null,\"pmp_report\":null}}";

/* ---- tests ---- */

static void keyrings(void) {
    uint8_t link[32], key[32], short_key[31];
    link_key(link);
    origin_key(key, 1);
    memset(short_key, 0x41, sizeof short_key);
    pharm_keyring *ring = NULL;

    CHECK_RESULT(pharm_keyring_new(STORE_ID, link, sizeof link, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_keyring_new(STORE_ID, NULL, 32, &ring), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_keyring_new(STORE_ID, short_key, sizeof short_key, &ring), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.key_length"));
    CHECK(pharm_error_code() == 3020);
    CHECK_RESULT(pharm_keyring_new(STORE_ID, NULL, 0, &ring), PHARM_RESULT_SYNC_ERROR);
    CHECK(ring == NULL);

    CHECK_OK(pharm_keyring_new(STORE_ID, link, sizeof link, &ring));
    CHECK_OK(pharm_keyring_add_member(ring, 1, key, sizeof key));
    CHECK_OK(pharm_keyring_add_member(ring, 2, NULL, 0));
    CHECK_OK(pharm_keyring_add_member(ring, 2, NULL, 0)); /* replaced */
    CHECK_RESULT(pharm_keyring_add_member(NULL, 1, key, sizeof key), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_keyring_add_member(ring, 3, short_key, sizeof short_key), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.key_length"));
    CHECK_RESULT(pharm_keyring_add_member(ring, 3, NULL, 32), PHARM_RESULT_NULL_PARAMETER);

    /* A panic poisons the ring; only free works on it. */
    pharm_test_panic_next_call();
    CHECK_RESULT(pharm_keyring_add_member(ring, 3, NULL, 0), PHARM_RESULT_PANIC);
    CHECK(check_error_id_is("ffi.panic"));
    CHECK_RESULT(pharm_keyring_add_member(ring, 3, NULL, 0), PHARM_RESULT_POISONED);
    pharm_store *store = NULL;
    uint8_t entropy[8];
    seed_bytes(entropy, 5);
    CHECK_RESULT(create_in("poisoned-ring.db", STORE_ID, 1, ring, entropy, 8, &store), PHARM_RESULT_POISONED);
    CHECK(store == NULL && !file_exists(in_dir("poisoned-ring.db")));
    pharm_keyring_free(ring);
    pharm_keyring_free(NULL);
}

static void two_terminals_converge(void) {
    pharm_store *t1 = create_store("t1.db", 1, 0x1111);
    pharm_store *t2 = create_store("t2.db", 2, 0x2222);
    if (t1 == NULL || t2 == NULL) return;
    CHECK(status_contains(t1, "\"replica\":\"T1.4369\""));
    CHECK(status_contains(t1, "\"role\":\"member\""));
    CHECK(status_contains(t1, "\"superseded\":null"));

    pharm_bytes *commit = NULL;
    CHECK_OK(apply_op(t1, 1000, RECEIVE, &commit));
    CHECK(check_bytes_contain(commit, "\"new_lots\":[{\"key\":{\"origin\":\"T1.4369\",\"local_no\":"));
    pharm_bytes_free(commit);
    commit = NULL;

    /* T2 does not know the lot yet: FEFO has nothing to charge. */
    CHECK_RESULT(apply_op(t2, 1500, DISPENSE_25, &commit), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.op_no_lots") && pharm_error_code() == 3142);
    CHECK(commit == NULL);

    session(t2, t1, 2000); /* T1 is the store leader; the cloud is unreachable */
    pharm_bytes *v1 = view_of(t1), *v2 = view_of(t2);
    CHECK(same_bytes(v1, v2));
    CHECK(check_bytes_contain(v2, "\"value\":90"));
    pharm_bytes_free(v1);
    pharm_bytes_free(v2);

    /* Both sell offline. */
    CHECK_OK(apply_op(t1, 3000, DISPENSE_30, &commit));
    CHECK(check_bytes_contain(commit, "\"claim\":{\"txn\":"));
    CHECK(check_bytes_contain(commit, "\"negative\":[]"));
    pharm_bytes_free(commit);
    CHECK_OK(apply_op(t2, 3100, DISPENSE_25, &commit));
    pharm_bytes_free(commit);
    v1 = view_of(t1);
    v2 = view_of(t2);
    CHECK(!same_bytes(v1, v2));
    pharm_bytes_free(v1);
    pharm_bytes_free(v2);

    session(t2, t1, 4000);
    session(t2, t1, 4100);
    v1 = view_of(t1);
    v2 = view_of(t2);
    CHECK(same_bytes(v1, v2));
    CHECK(check_bytes_contain(v1, "\"value\":35"));
    CHECK(status_contains(t2, "\"outbox\":1")); /* only the cloud empties an outbox */

    /* Reopen: the same inventory; the file is locked while open. */
    pharm_store *again = NULL;
    CHECK_RESULT(open_store("t1.db", 1, &again), PHARM_RESULT_SYNC_ERROR);
    CHECK(again == NULL);
    pharm_store_free(t1);
    CHECK_OK(open_store("t1.db", 1, &again));
    pharm_bytes *reopened = view_of(again);
    CHECK(same_bytes(reopened, v1));
    CHECK(status_contains(again, "\"replica\":\"T1.4369\""));
    pharm_bytes_free(reopened);
    pharm_bytes_free(v1);
    pharm_bytes_free(v2);
    pharm_store_free(again);
    pharm_store_free(t2);
}

static void opening_fails_loud(void) {
    pharm_store *store = NULL;
    CHECK_RESULT(open_store("missing.db", 1, &store), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.store_not_found") && pharm_error_code() == 3404);

    write_file(in_dir("empty.db"), "", 0);
    CHECK_RESULT(open_store("empty.db", 1, &store), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.store_not_a_store") && pharm_error_code() == 3406);

    char garbage[8192];
    memset(garbage, 0x5a, sizeof garbage);
    write_file(in_dir("garbage.db"), garbage, sizeof garbage);
    CHECK_RESULT(open_store("garbage.db", 1, &store), PHARM_RESULT_SYNC_ERROR);
    /* Not an SQLite file at all: refused as no store, like an empty file. */
    CHECK(check_error_id_is("sync.store_not_a_store") && pharm_error_code() == 3406);
    CHECK(store == NULL);

    /* Another terminal's file. */
    pharm_store *t3 = create_store("t3.db", 3, 33);
    pharm_store_free(t3);
    CHECK_RESULT(open_store("t3.db", 1, &store), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.store_wrong_store"));

    /* Creating never overwrites, and needs the terminal's own key and real randomness. */
    pharm_keyring *ring = make_ring(STORE_ID, 3);
    uint8_t entropy[16];
    seed_bytes(entropy, 34);
    CHECK_RESULT(create_in("t3.db", STORE_ID, 3, ring, entropy, 8, &store), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.store_target_exists"));
    CHECK_RESULT(create_in("empty.db", STORE_ID, 3, ring, entropy, 8, &store), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.store_target_exists"));
    CHECK_RESULT(create_in("t1x.db", STORE_ID, 1, ring, entropy, 8, &store), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.store_missing_key"));
    memset(entropy, 0, sizeof entropy);
    CHECK_RESULT(create_in("t3x.db", STORE_ID, 3, ring, entropy, 16, &store), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.id_incarnations_exhausted"));
    CHECK_RESULT(create_in("t3x.db", STORE_ID, 3, ring, entropy, 7, &store), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(create_in("t3x.db", STORE_ID, 3, ring, entropy, 0, &store), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(create_in("t3x.db", STORE_ID, 3, ring, NULL, 8, &store), PHARM_RESULT_NULL_PARAMETER);
    uint8_t lots[520] = {0};
    CHECK_RESULT(create_in("t3x.db", STORE_ID, 3, ring, lots, sizeof lots, &store), PHARM_RESULT_INPUT_TOO_LARGE);
    CHECK_RESULT(create_in("t3x.db", STORE_ID, 3, NULL, entropy, 8, &store), PHARM_RESULT_NULL_PARAMETER);
    CHECK(!file_exists(in_dir("t3x.db")));

    /* Arguments: the role, the output, the path (NULL, invalid UTF-8, NUL, too long, empty). */
    seed_bytes(entropy, 35);
    const char *path = in_dir("t3y.db");
    CHECK_RESULT(pharm_store_create((const uint8_t *)path, strlen(path), STORE_ID, 3, 7, ring, entropy, 8, &store),
                 PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_store_create((const uint8_t *)path, strlen(path), STORE_ID, 3, 0, ring, entropy, 8, NULL),
                 PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_store_create(NULL, 6, STORE_ID, 3, 0, ring, entropy, 8, &store), PHARM_RESULT_NULL_PARAMETER);
    const uint8_t bad_utf8[] = {'/', 't', 'm', 'p', '/', 0xff, '.', 'd', 'b'};
    CHECK_RESULT(pharm_store_create(bad_utf8, sizeof bad_utf8, STORE_ID, 3, 0, ring, entropy, 8, &store),
                 PHARM_RESULT_INVALID_UTF8);
    CHECK(check_error_id_is("ffi.invalid_utf8"));
    const uint8_t with_nul[] = {'/', 't', 'm', 'p', '/', 0, '.', 'd', 'b'};
    CHECK_RESULT(pharm_store_open(with_nul, sizeof with_nul, STORE_ID, 3, 0, ring, &store),
                 PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_store_open(NULL, 0, STORE_ID, 3, 0, ring, &store), PHARM_RESULT_INVALID_ARGUMENT);
    static uint8_t long_path[5000];
    memset(long_path, 'a', sizeof long_path);
    CHECK_RESULT(pharm_store_open(long_path, sizeof long_path, STORE_ID, 3, 0, ring, &store),
                 PHARM_RESULT_INPUT_TOO_LARGE);
    path = in_dir("t3.db");
    CHECK_RESULT(pharm_store_open((const uint8_t *)path, strlen(path), STORE_ID, 3, 9, ring, &store),
                 PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_store_open((const uint8_t *)path, strlen(path), STORE_ID, 3, 0, NULL, &store),
                 PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_store_open((const uint8_t *)path, strlen(path), STORE_ID, 3, 0, ring, NULL),
                 PHARM_RESULT_NULL_PARAMETER);
    CHECK(store == NULL);
    pharm_keyring_free(ring);
}

static void operations(void) {
    pharm_store *t1 = create_store("ops.db", 1, 0x0b);
    if (t1 == NULL) return;
    pharm_bytes *out = NULL;
    CHECK_RESULT(apply_op(t1, 1, "{\"op\":", &out), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.json_syntax") && pharm_error_code() == 3161);
    CHECK_RESULT(apply_op(t1, 1, "{\"op\":\"teleport\"}", &out), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.json_invalid") && pharm_error_code() == 3162);
    /* An unknown field, top level and nested. */
    CHECK_RESULT(apply_op(t1, 1, "{\"op\":\"hold\",\"lot\":{\"origin\":\"T1.11\",\"local_no\":1},\"reference\":\"r\",\"qty\":1}", &out),
                 PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.json_invalid"));
    CHECK_RESULT(apply_op(t1, 1, "{\"op\":\"hold\",\"lot\":{\"origin\":\"T1.11\",\"local_no\":1,\"x\":0},\"reference\":\"r\"}", &out),
                 PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.json_invalid"));
    const uint8_t bad_utf8[] = "{\"op\":\"\xff\"}";
    CHECK_RESULT(pharm_store_apply(t1, 1, bad_utf8, sizeof bad_utf8 - 1, &out), PHARM_RESULT_INVALID_UTF8);
    size_t big_len = (size_t)4 * 1024 * 1024 + 1;
    uint8_t *big = malloc(big_len);
    CHECK(big != NULL);
    if (big != NULL) {
        memset(big, ' ', big_len);
        CHECK_RESULT(pharm_store_apply(t1, 1, big, big_len, &out), PHARM_RESULT_INPUT_TOO_LARGE);
        CHECK(check_error_id_is("ffi.input_too_large"));
        free(big);
    }
    /* Well-formed operations the replica refuses. */
    CHECK_RESULT(apply_op(t1, 1, "{\"op\":\"hold\",\"lot\":{\"origin\":\"T1.11\",\"local_no\":1},\"reference\":\"r\"}", &out),
                 PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.op_unknown_lot"));
    CHECK_RESULT(apply_op(t1, 1, DISPENSE_30, &out), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.op_no_lots"));
    /* NULL arguments. */
    CHECK_RESULT(apply_op(NULL, 1, RECEIVE, &out), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apply_op(t1, 1, RECEIVE, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_store_apply(t1, 1, NULL, 10, &out), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_store_apply(t1, 1, NULL, 0, &out), PHARM_RESULT_SYNC_ERROR); /* empty JSON */
    CHECK(check_error_id_is("sync.json_syntax"));
    CHECK_RESULT(pharm_store_inventory_view(t1, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_store_inventory_view(NULL, &out), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_store_status(t1, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_store_status(NULL, &out), PHARM_RESULT_NULL_PARAMETER);
    CHECK(out == NULL);
    /* Nothing was recorded. */
    pharm_bytes *view = view_of(t1);
    CHECK(check_bytes_contain(view, "\"lots\":[]"));
    pharm_bytes_free(view);
    CHECK(status_contains(t1, "\"outbox\":0"));
    pharm_store_free(t1);
}

static void hostile_and_cut_messages(void) {
    pharm_store *t1 = create_store("h1.db", 1, 0x0101);
    pharm_store *t2 = create_store("h2.db", 2, 0x0202);
    if (t1 == NULL || t2 == NULL) return;
    pharm_bytes *before = view_of(t1);
    pharm_bytes *hello = NULL;
    CHECK_OK(pharm_store_hello(t2, 10, &hello));
    const uint8_t *good = pharm_bytes_data(hello);
    size_t len = pharm_bytes_len(hello);
    uint8_t *copy = malloc(len + 1);
    CHECK(copy != NULL);
    if (copy == NULL) return;

    /* One flipped bit in the tag. */
    memcpy(copy, good, len);
    copy[len - 1] ^= 1;
    CHECK_RESULT(deliver(t1, 11, copy, len, NULL), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.protocol_bad_tag") && pharm_error_code() == 3203);
    /* Truncated, with a trailing byte, empty, not a message at all. */
    CHECK_RESULT(deliver(t1, 11, good, len - 1, NULL), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.decode_truncated"));
    memcpy(copy, good, len);
    copy[len] = 0;
    CHECK_RESULT(deliver(t1, 11, copy, len + 1, NULL), PHARM_RESULT_SYNC_ERROR);
    CHECK(pharm_error_code() >= 3060 && pharm_error_code() <= 3070);
    CHECK_RESULT(deliver(t1, 11, NULL, 0, NULL), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.decode_truncated"));
    CHECK_RESULT(deliver(t1, 11, (const uint8_t *)"GARBAGE!", 8, NULL), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.decode_bad_magic"));
    CHECK_RESULT(deliver(t1, 11, NULL, 8, NULL), PHARM_RESULT_NULL_PARAMETER);
    /* Larger than the codec's 16 MiB limit. */
    size_t huge_len = (size_t)16 * 1024 * 1024 + 1;
    uint8_t *huge = calloc(huge_len, 1);
    CHECK(huge != NULL);
    if (huge != NULL) {
        CHECK_RESULT(deliver(t1, 11, huge, huge_len, NULL), PHARM_RESULT_INPUT_TOO_LARGE);
        CHECK(check_error_id_is("ffi.input_too_large"));
        free(huge);
    }
    free(copy);

    /* A terminal of another pharmacy, with its own keys. */
    pharm_keyring *foreign_ring = make_ring(43, 2);
    pharm_store *foreign = NULL;
    uint8_t entropy[8];
    seed_bytes(entropy, 0x4343);
    CHECK_OK(create_in("foreign.db", 43, 2, foreign_ring, entropy, 8, &foreign));
    pharm_keyring_free(foreign_ring);
    pharm_bytes *foreign_hello = NULL;
    CHECK_OK(pharm_store_hello(foreign, 12, &foreign_hello));
    CHECK_RESULT(deliver(t1, 12, pharm_bytes_data(foreign_hello), pharm_bytes_len(foreign_hello), NULL),
                 PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.protocol_wrong_store") && pharm_error_code() == 3200);
    pharm_bytes_free(foreign_hello);
    pharm_store_free(foreign);

    /* Its own message back. */
    pharm_bytes *own = NULL;
    CHECK_OK(pharm_store_hello(t1, 12, &own));
    CHECK_RESULT(deliver(t1, 12, pharm_bytes_data(own), pharm_bytes_len(own), NULL), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.protocol_from_self"));
    pharm_bytes_free(own);

    /* Nothing changed; the genuine hello is answered with a welcome and a delta. */
    pharm_bytes *after = view_of(t1);
    CHECK(same_bytes(before, after));
    pharm_bytes_free(before);
    pharm_bytes_free(after);
    queue replies = {0};
    CHECK_OK(deliver(t1, 13, good, len, &replies));
    CHECK(replies.n == 2);
    if (replies.n == 2) {
        pharm_bytes *json = NULL;
        CHECK_OK(pharm_sync_message_to_json(replies.items[0].data, replies.items[0].len, &json));
        CHECK(check_bytes_contain(json, "\"type\":\"welcome\""));
        pharm_bytes_free(json);
    }
    queue_clear(&replies);

    /* NULL arguments. */
    pharm_bytes *out = NULL;
    CHECK_RESULT(pharm_store_hello(NULL, 1, &out), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_store_hello(t1, 1, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_store_apply_bytes(NULL, 1, good, len, &out), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_store_apply_bytes(t1, 1, good, len, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK(out == NULL);
    pharm_bytes_free(hello);
    pharm_store_free(t1);
    pharm_store_free(t2);
}

static void message_lists(void) {
    /* Two messages: "ab" and "c". */
    const uint8_t list[] = {2, 0, 0, 0, 'a', 'b', 1, 0, 0, 0, 'c'};
    size_t count = 99;
    const uint8_t *m = NULL;
    size_t m_len = 0;
    CHECK_OK(pharm_sync_messages_count(list, sizeof list, &count));
    CHECK(count == 2);
    CHECK_OK(pharm_sync_messages_get(list, sizeof list, 1, &m, &m_len));
    CHECK(m == list + 10 && m_len == 1);
    CHECK_RESULT(pharm_sync_messages_get(list, sizeof list, 2, &m, &m_len), PHARM_RESULT_INVALID_ARGUMENT);
    /* Truncated inside a message and inside a length. */
    CHECK_RESULT(pharm_sync_messages_count(list, sizeof list - 1, &count), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_sync_messages_count(list, 3, &count), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(pharm_sync_messages_get(list, 5, 0, &m, &m_len), PHARM_RESULT_INVALID_ARGUMENT);
    CHECK(count == 2);
    /* NULL arguments; an empty list. */
    CHECK_RESULT(pharm_sync_messages_count(list, sizeof list, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_sync_messages_count(NULL, 4, &count), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_sync_messages_get(list, sizeof list, 0, NULL, &m_len), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_sync_messages_get(list, sizeof list, 0, &m, NULL), PHARM_RESULT_NULL_PARAMETER);
    CHECK_OK(pharm_sync_messages_count(NULL, 0, &count));
    CHECK(count == 0);
    CHECK_RESULT(pharm_sync_messages_get(NULL, 0, 0, &m, &m_len), PHARM_RESULT_INVALID_ARGUMENT);
}

/* Whether two JSON texts are equal but for whitespace outside strings. */
static int json_same(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) {
    size_t i = 0, j = 0;
    int in_string = 0, escaped = 0;
    for (;;) {
        if (!in_string) {
            while (i < a_len && strchr(" \t\r\n", a[i]) != NULL) i++;
            while (j < b_len && strchr(" \t\r\n", b[j]) != NULL) j++;
        }
        if (i == a_len || j == b_len) return i == a_len && j == b_len;
        if (a[i] != b[j]) return 0;
        if (in_string) {
            if (escaped) {
                escaped = 0;
            } else if (a[i] == '\\') {
                escaped = 1;
            } else if (a[i] == '"') {
                in_string = 0;
            }
        } else if (a[i] == '"') {
            in_string = 1;
        }
        i++;
        j++;
    }
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static void golden_messages(const char *root) {
    const char *names[] = {"hello", "welcome", "upload", "upload_ack", "delta",
                           "upload_other_kinds", "delta_other_sections"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char relative[256];
        size_t hex_len = 0, json_len = 0;
        snprintf(relative, sizeof relative, "testdata/golden/sync/%s.hex", names[k]);
        char *hex = check_read_file(root, relative, &hex_len);
        snprintf(relative, sizeof relative, "testdata/golden/sync/%s.json", names[k]);
        char *expected = check_read_file(root, relative, &json_len);
        uint8_t *bytes = malloc(hex_len / 2 + 1);
        size_t n = 0;
        CHECK(bytes != NULL);
        for (size_t i = 0; bytes != NULL && i + 1 < hex_len; i += 2) {
            int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
            if (hi < 0 || lo < 0) break;
            bytes[n++] = (uint8_t)(hi * 16 + lo);
        }
        CHECK(n > 40);
        pharm_bytes *json = NULL;
        CHECK_OK(pharm_sync_message_to_json(bytes, n, &json));
        if (json != NULL && !json_same(pharm_bytes_data(json), pharm_bytes_len(json),
                                       (const uint8_t *)expected, json_len)) {
            fprintf(stderr, "golden %s: the JSON differs\n", names[k]);
            check_failures++;
        }
        pharm_bytes_free(json);
        json = NULL;
        CHECK_RESULT(pharm_sync_message_to_json(bytes, n - 1, &json), PHARM_RESULT_SYNC_ERROR);
        CHECK(check_error_id_is("sync.decode_truncated"));
        CHECK(json == NULL);
        free(bytes);
        free(hex);
        free(expected);
    }
    pharm_bytes *json = NULL;
    CHECK_RESULT(pharm_sync_message_to_json(NULL, 0, &json), PHARM_RESULT_SYNC_ERROR);
    CHECK_RESULT(pharm_sync_message_to_json(NULL, 3, &json), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_sync_message_to_json((const uint8_t *)"PHS", 3, NULL), PHARM_RESULT_NULL_PARAMETER);
    size_t huge_len = (size_t)16 * 1024 * 1024 + 1;
    uint8_t *huge = calloc(huge_len, 1);
    if (huge != NULL) {
        CHECK_RESULT(pharm_sync_message_to_json(huge, huge_len, &json), PHARM_RESULT_INPUT_TOO_LARGE);
        free(huge);
    }
    CHECK(json == NULL);
}

static void backup_restore_recover(void) {
    pharm_store *t1 = create_store("b1.db", 1, 100);
    if (t1 == NULL) return;
    pharm_bytes *commit = NULL;
    CHECK_OK(apply_op(t1, 1000, RECEIVE, &commit));
    pharm_bytes_free(commit);
    const char *backup = in_dir("b1-backup.db");
    CHECK_OK(pharm_store_backup_to(t1, (const uint8_t *)backup, strlen(backup)));
    CHECK_RESULT(pharm_store_backup_to(t1, (const uint8_t *)backup, strlen(backup)), PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.store_target_exists"));
    CHECK_RESULT(pharm_store_backup_to(NULL, (const uint8_t *)backup, strlen(backup)), PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_store_backup_to(t1, NULL, 4), PHARM_RESULT_NULL_PARAMETER);
    pharm_bytes *original = view_of(t1);
    pharm_store_free(t1);

    pharm_keyring *ring = make_ring(STORE_ID, 1);
    uint8_t entropy[8];
    seed_bytes(entropy, 200);
    const char *restored = in_dir("b1-restored.db");
    pharm_store *store = NULL;
    CHECK_OK(pharm_store_restore_from_backup((const uint8_t *)backup, strlen(backup), (const uint8_t *)restored,
                                             strlen(restored), STORE_ID, PHARM_STORE_ROLE_MEMBER, ring, entropy, 8,
                                             &store));
    if (store != NULL) {
        /* A new incarnation of terminal 1, with the backup's stock; its outbox holds the
           backup's unsynced receipt and the restore record linking the two incarnations. */
        CHECK(status_contains(store, "\"replica\":\"T1.200\""));
        CHECK(status_contains(store, "\"outbox\":2"));
        pharm_bytes *view = view_of(store);
        CHECK(check_bytes_contain(view, "\"value\":90"));
        pharm_bytes_free(view);
        pharm_store_free(store);
        store = NULL;
    }
    CHECK_RESULT(pharm_store_restore_from_backup((const uint8_t *)backup, strlen(backup), (const uint8_t *)restored,
                                                 strlen(restored), STORE_ID, PHARM_STORE_ROLE_MEMBER, ring, entropy,
                                                 8, &store),
                 PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.store_target_exists"));
    const char *missing = in_dir("none.db");
    const char *other = in_dir("b1-other.db");
    CHECK_RESULT(pharm_store_restore_from_backup((const uint8_t *)missing, strlen(missing), (const uint8_t *)other,
                                                 strlen(other), STORE_ID, 0, ring, entropy, 8, &store),
                 PHARM_RESULT_SYNC_ERROR);
    CHECK(check_error_id_is("sync.store_not_found"));
    CHECK_RESULT(pharm_store_restore_from_backup((const uint8_t *)backup, strlen(backup), (const uint8_t *)other,
                                                 strlen(other), STORE_ID, 0, ring, entropy, 8, NULL),
                 PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_store_restore_from_backup(NULL, 3, (const uint8_t *)other, strlen(other), STORE_ID, 0, ring,
                                                 entropy, 8, &store),
                 PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_store_restore_from_backup((const uint8_t *)backup, strlen(backup), (const uint8_t *)other,
                                                 strlen(other), STORE_ID, 0, NULL, entropy, 8, &store),
                 PHARM_RESULT_NULL_PARAMETER);
    CHECK(store == NULL && !file_exists(other));

    /* Recover terminal 1 from its (old) file: a fresh incarnation; its transaction is
     * salvaged for the cloud. */
    const char *old = in_dir("b1.db");
    const char *fresh = in_dir("b1-recovered.db");
    pharm_bytes *report = NULL;
    seed_bytes(entropy, 300);
    CHECK_RESULT(pharm_store_recover((const uint8_t *)old, strlen(old), (const uint8_t *)fresh, strlen(fresh),
                                     STORE_ID, 1, 0, ring, entropy, 8, &store, NULL),
                 PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_store_recover((const uint8_t *)old, strlen(old), (const uint8_t *)fresh, strlen(fresh),
                                     STORE_ID, 1, 0, ring, entropy, 8, NULL, &report),
                 PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_store_recover((const uint8_t *)old, strlen(old), (const uint8_t *)fresh, strlen(fresh),
                                     STORE_ID, 1, 0, NULL, entropy, 8, &store, &report),
                 PHARM_RESULT_NULL_PARAMETER);
    CHECK_RESULT(pharm_store_recover((const uint8_t *)old, strlen(old), (const uint8_t *)fresh, strlen(fresh),
                                     STORE_ID, 1, 0, ring, entropy, 3, &store, &report),
                 PHARM_RESULT_INVALID_ARGUMENT);
    CHECK(store == NULL && report == NULL && !file_exists(fresh));
    CHECK_OK(pharm_store_recover((const uint8_t *)old, strlen(old), (const uint8_t *)fresh, strlen(fresh),
                                 STORE_ID, 1, PHARM_STORE_ROLE_MEMBER, ring, entropy, 8, &store, &report));
    CHECK(check_bytes_contain(report, "\"old\":\"T1.100\""));
    CHECK(check_bytes_contain(report, "\"salvaged\":1"));
    CHECK(check_bytes_contain(report, "\"incomplete\":false"));
    if (store != NULL) CHECK(status_contains(store, "\"replica\":\"T1.300\""));
    pharm_bytes_free(report);
    pharm_store_free(store);
    pharm_bytes_free(original);
    pharm_keyring_free(ring);
}

static void poisoned_store(void) {
    pharm_store *t1 = create_store("p1.db", 1, 0x99);
    if (t1 == NULL) return;
    pharm_bytes *out = NULL;
    pharm_test_panic_next_call();
    CHECK_RESULT(apply_op(t1, 1, RECEIVE, &out), PHARM_RESULT_PANIC);
    CHECK(check_error_id_is("ffi.panic") && out == NULL);
    /* The process goes on; the store refuses every call but free. */
    CHECK_RESULT(apply_op(t1, 2, RECEIVE, &out), PHARM_RESULT_POISONED);
    CHECK(check_error_id_is("ffi.poisoned"));
    CHECK_RESULT(pharm_store_inventory_view(t1, &out), PHARM_RESULT_POISONED);
    CHECK_RESULT(pharm_store_status(t1, &out), PHARM_RESULT_POISONED);
    CHECK_RESULT(pharm_store_hello(t1, 2, &out), PHARM_RESULT_POISONED);
    CHECK_RESULT(pharm_store_apply_bytes(t1, 2, (const uint8_t *)"x", 1, &out), PHARM_RESULT_POISONED);
    const char *path = in_dir("p1-backup.db");
    CHECK_RESULT(pharm_store_backup_to(t1, (const uint8_t *)path, strlen(path)), PHARM_RESULT_POISONED);
    CHECK(out == NULL);
    pharm_store_free(t1);
    /* The file is intact and opens again. */
    pharm_store *again = NULL;
    CHECK_OK(open_store("p1.db", 1, &again));
    pharm_store_free(again);
    /* A panic in a constructor returns the panic code and writes nothing. */
    pharm_keyring *ring = NULL;
    uint8_t link[32];
    link_key(link);
    pharm_test_panic_next_call();
    CHECK_RESULT(pharm_keyring_new(STORE_ID, link, sizeof link, &ring), PHARM_RESULT_PANIC);
    CHECK(ring == NULL);
    size_t count = 0;
    pharm_test_panic_next_call();
    CHECK_RESULT(pharm_sync_messages_count(NULL, 0, &count), PHARM_RESULT_PANIC);
    pharm_store_free(NULL);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: store <repository root>\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "/tmp/pharm-store-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    keyrings();
    two_terminals_converge();
    opening_fails_loud();
    operations();
    hostile_and_cut_messages();
    message_lists();
    golden_messages(argv[1]);
    backup_restore_recover();
    poisoned_store();
    remove_dir();
    CHECK(!file_exists(dir));
    return check_finish("store");
}
