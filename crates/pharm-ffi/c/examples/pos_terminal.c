/* A till's day in miniature, through the pharm C ABI:
 *   1. open the terminal's store (SQLite) with the pharmacy's keys and receive stock;
 *   2. check a refill against the state's rules and, when allowed, record the fill;
 *   3. look up substitutes for an out-of-stock product in the Orange Book;
 *   4. produce the sync message that starts the next reconciliation with the store leader;
 *   5. print the decision.
 * Build:  cc -std=c11 pos_terminal.c $(pkg-config --cflags --libs pharm)
 * Run:    ./pos_terminal <pharm repository root>   (for the sample data files) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "pharm.h"

#define TXT(s) (const uint8_t *)(s), strlen(s)

/* Prints why the last call failed and returns 1. */
static int fail(const char *what) {
    char message[512];
    size_t n = 0;
    if (pharm_error_message((uint8_t *)message, sizeof message, &n) != PHARM_RESULT_OK) {
        snprintf(message, sizeof message, "(%zu-byte message)", n);
    }
    fprintf(stderr, "%s failed: error %u: %s\n", what, (unsigned)pharm_error_code(), message);
    return 1;
}

/* Reads a whole file; the caller frees it. */
static char *read_file(const char *root, const char *relative, size_t *len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, relative);
    FILE *file = fopen(path, "rb");
    if (file == NULL) return NULL;
    char *data = NULL;
    if (fseek(file, 0, SEEK_END) == 0) {
        long size = ftell(file);
        if (size >= 0 && fseek(file, 0, SEEK_SET) == 0 && (data = malloc((size_t)size + 1)) != NULL) {
            *len = fread(data, 1, (size_t)size, file);
            data[*len] = '\0';
        }
    }
    fclose(file);
    return data;
}

/* Removes the scratch directory and the store's files in it. */
static void remove_dir(const char *dir) {
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

static void print_bytes(const char *label, const pharm_bytes *bytes) {
    printf("%s: %.*s\n", label, (int)pharm_bytes_len(bytes), (const char *)pharm_bytes_data(bytes));
}

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : ".";
    const uint64_t now_ms = 1773136800000ULL; /* 2026-03-10 10:00 UTC, from the till's clock */
    int status = 1;
    pharm_keyring *ring = NULL;
    pharm_store *store = NULL;
    pharm_context *context = NULL;
    pharm_subst *orange_book = NULL;
    pharm_bytes *commit = NULL, *decision = NULL, *substitutes = NULL, *hello = NULL, *hello_json = NULL;
    size_t context_len = 0, request_len = 0;
    char *context_json = read_file(root, "crates/pharm-ffi/c/examples/data/context.json", &context_len);
    char *request_json = read_file(root, "crates/pharm-ffi/c/examples/data/refill_request.json", &request_len);
    char dir[] = "/tmp/pharm-pos-XXXXXX";
    char path[64] = "";
    if (context_json == NULL || request_json == NULL || mkdtemp(dir) == NULL) {
        fprintf(stderr, "usage: pos_terminal <pharm repository root>\n");
        goto done;
    }
    snprintf(path, sizeof path, "%s/terminal.db", dir);

    /* 1. Pharmacy 42's keys (from the vendor's key store), terminal 1's store, stock. */
    uint8_t link_key[32], origin_key[32], entropy[64];
    for (int i = 0; i < 32; i++) { link_key[i] = (uint8_t)(i + 1); origin_key[i] = (uint8_t)(100 + i); }
    for (int i = 0; i < 64; i++) entropy[i] = (uint8_t)(7 * i + 3); /* from the OS's random source */
    if (pharm_keyring_new(42, link_key, sizeof link_key, &ring) != PHARM_RESULT_OK) { fail("keyring"); goto done; }
    if (pharm_keyring_add_member(ring, 1, origin_key, sizeof origin_key) != PHARM_RESULT_OK) { fail("member"); goto done; }
    if (pharm_store_create(TXT(path), 42, 1, PHARM_STORE_ROLE_MEMBER, ring, entropy, sizeof entropy, &store) !=
        PHARM_RESULT_OK) { fail("store"); goto done; }
    const char *receive = "{\"op\": \"receive_new\", \"lot\": {\"sku\": 7, \"ndc\": \"0093-7146-56\","
                          " \"lot_number\": \"A1\", \"expiry\": \"2027-01-31\", \"controlled\": false},"
                          " \"qty\": 90, \"reference\": \"PO-1\"}";
    if (pharm_store_apply(store, now_ms, TXT(receive), &commit) != PHARM_RESULT_OK) { fail("receive"); goto done; }
    pharm_bytes_free(commit);
    commit = NULL;

    /* 2. The refill, checked in the store's long-lived context, then recorded. */
    if (pharm_context_new((const uint8_t *)context_json, context_len, &context) != PHARM_RESULT_OK) { fail("context"); goto done; }
    if (pharm_context_evaluate(context, (const uint8_t *)request_json, request_len, &decision) != PHARM_RESULT_OK) {
        fail("evaluate");
        goto done;
    }
    const char *allow = "\"outcome\":\"allow\"";
    const char *text = (const char *)pharm_bytes_data(decision);
    size_t text_len = pharm_bytes_len(decision);
    int allowed = 0;
    for (size_t i = 0; i + strlen(allow) <= text_len && !allowed; i++) allowed = memcmp(text + i, allow, strlen(allow)) == 0;
    if (allowed) {
        const char *fill = "{\"op\": \"dispense\", \"today\": \"2026-03-10\", \"sku\": 7, \"qty\": 30,"
                           " \"scanned\": null, \"reference\": \"RX-100\","
                           " \"attachments\": {\"claim\": null, \"pmp_report\": null}}";
        if (pharm_store_apply(store, now_ms + 1000, TXT(fill), &commit) != PHARM_RESULT_OK) { fail("fill"); goto done; }
        print_bytes("recorded", commit);
    }

    /* 3. Lipitor 10 mg is out of stock: what may the pharmacist dispense instead? */
    if (pharm_subst_new_from_path(TXT("crates/pharm-subst/testdata/products-sample.txt"), TXT("2026-05-01"),
                                  TXT("2026-05"), 60, &orange_book) != PHARM_RESULT_OK) {
        /* Relative to the repository root: retry from there. */
        char sample[4096];
        snprintf(sample, sizeof sample, "%s/crates/pharm-subst/testdata/products-sample.txt", root);
        if (pharm_subst_new_from_path(TXT(sample), TXT("2026-05-01"), TXT("2026-05"), 60, &orange_book) !=
            PHARM_RESULT_OK) { fail("orange book"); goto done; }
    }
    const char *query = "{\"original\": \"N020702-001\", \"policy\": {\"state\": \"TX\"},"
                        " \"market\": {\"N020702-001\": {\"in_stock\": false, \"formulary_tier\": 3, \"unit_cost\": \"4.10\"},"
                        " \"A207687-001\": {\"in_stock\": true, \"formulary_tier\": 1, \"unit_cost\": \"0.09\"}}}";
    if (pharm_subst_substitutes(orange_book, TXT(query), (int64_t)now_ms, -6 * 3600, &substitutes) != PHARM_RESULT_OK) {
        fail("substitutes");
        goto done;
    }
    print_bytes("substitutes", substitutes);

    /* 4. The hello that opens the next sync session with the store leader. */
    if (pharm_store_hello(store, now_ms + 2000, &hello) != PHARM_RESULT_OK) { fail("hello"); goto done; }
    if (pharm_sync_message_to_json(pharm_bytes_data(hello), pharm_bytes_len(hello), &hello_json) != PHARM_RESULT_OK) {
        fail("decode");
        goto done;
    }
    printf("sync message (%zu bytes): ", pharm_bytes_len(hello));
    print_bytes("hello", hello_json);

    /* 5. The decision the till shows. */
    print_bytes("decision", decision);
    status = allowed ? 0 : 1;

done:
    pharm_bytes_free(hello_json);
    pharm_bytes_free(hello);
    pharm_bytes_free(substitutes);
    pharm_bytes_free(decision);
    pharm_bytes_free(commit);
    pharm_subst_free(orange_book);
    pharm_context_free(context);
    pharm_store_free(store);
    pharm_keyring_free(ring);
    if (path[0] != '\0') remove_dir(dir);
    free(context_json);
    free(request_json);
    return status;
}
