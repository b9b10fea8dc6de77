/*
 * test_safetensors.c — safetensors checkpoints: a bit-exact round trip, a
 * file whose header is written by hand (so the reader is not only tested
 * against our own writer), a catalogue of malformed files that must each be
 * refused with a message naming the file and the problem, and writes that
 * fail part way and must leave the previous checkpoint untouched.
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "ssvae.h"

static char dir[] = "/tmp/ssvae_st_XXXXXX";

static void path_in_dir(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

/* Whole file into a malloc'd buffer; *n its length. NULL if unreadable. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0;
    *n = 0;
    for (;;) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 4096;
            unsigned char *p = realloc(buf, cap);
            if (!p) { free(buf); fclose(f); return NULL; }
            buf = p;
        }
        size_t r = fread(buf + *n, 1, cap - *n, f);
        *n += r;
        if (r == 0) break;
    }
    fclose(f);
    return buf;
}

/* Writes a safetensors file by hand: the header length (hlen, usually
 * strlen(json)), the JSON text, then nbytes of data. */
static void write_raw(const char *path, uint64_t hlen, const char *json,
                      const void *data, size_t nbytes)
{
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); exit(2); }
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(hlen >> (8 * i));
    fwrite(len, 1, 8, f);
    fwrite(json, 1, strlen(json), f);
    if (nbytes) fwrite(data, 1, nbytes, f);
    fclose(f);
}

/* Little-endian bytes of a float, whatever the host. */
static void put_f32(unsigned char *p, float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(u >> (8 * i));
}

/* Whether the n bytes at p contain the string s. */
static int contains(const unsigned char *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, s, k) == 0) return 1;
    return 0;
}

static int no_temp_files(void)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int ok = 1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) ok = 0;
    closedir(d);
    return ok;
}

static int checkpoint_is_empty(const ssvae_checkpoint *ck)
{
    return ck->ntensors == 0 && !ck->tensors && ck->nmeta == 0 && !ck->meta;
}

/* ------------------------------------------------------------------------ */

static void test_round_trip(void)
{
    char path[256];
    path_in_dir(path, sizeof path, "round.safetensors");

    /* Values chosen to catch any conversion: signed zero, infinities, a
     * denormal, a NaN with a payload, and ordinary numbers. */
    float a[5], b[6], c[24], d[12], s[1] = {3.25f};
    uint32_t nan_bits = 0x7fc12345u, denorm_bits = 0x00000001u;
    memcpy(&a[0], &nan_bits, 4);
    memcpy(&a[1], &denorm_bits, 4);
    a[2] = -0.0f; a[3] = 1.0f / 0.0f; a[4] = -1.0f / 0.0f;
    for (int i = 0; i < 6; i++) b[i] = (float)i * 0.1f - 0.25f;
    for (int i = 0; i < 24; i++) c[i] = (float)(i * i) / 7.0f;
    for (int i = 0; i < 12; i++) d[i] = -(float)i * 1e-20f;

    ssvae_tensor t[7] = {
        {.name = "conv1.weight", .ndim = 4, .shape = {1, 2, 3, 2}, .data = d},
        {.name = "a", .ndim = 1, .shape = {5}, .data = a},
        {.name = "empty", .ndim = 2, .shape = {0, 3}, .data = NULL},
        {.name = "b", .ndim = 2, .shape = {2, 3}, .data = b},
        {.name = "c", .ndim = 3, .shape = {2, 3, 4}, .data = c},
        {.name = "scalar", .ndim = 0, .shape = {0}, .data = s},
        /* A dimension past 1e15 must be written as plain digits, not in
         * the exponent form a double would print. */
        {.name = "wide", .ndim = 3, .shape = {2, 0, 5000000000000003}, .data = NULL},
    };
    ssvae_meta m[3] = {
        {"format", "pt"},
        {"prior", "gaussian"},
        {"note", "quote \" backslash \\ newline \n unicode \xc3\xa9\xe2\x82\xac"},
    };
    ssvae_error err = {{0}};
    int rc = ssvae_st_write(path, t, 7, m, 3, &err);
    CHECK(rc == 0, "write: %s", err.msg);
    CHECK(no_temp_files(), "temporary file left behind");

    /* The layout the reference implementation expects. */
    size_t n = 0;
    unsigned char *raw = slurp(path, &n);
    CHECK(raw && n >= 8, "cannot read back %s", path);
    if (raw && n >= 8) {
        uint64_t hlen = 0;
        for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | raw[i];
        CHECK((8 + hlen) % 8 == 0, "data starts at %llu, not 8-byte aligned",
              (unsigned long long)(8 + hlen));
        CHECK(hlen + 8 <= n && raw[8] == '{', "header does not start with {");
        size_t hl = hlen + 8 <= n ? (size_t)hlen : 0;
        CHECK(!contains(raw + 8, hl, "e+"), "exponent form in the header");
        CHECK(contains(raw + 8, hl, "[2,0,5000000000000003]"), "wide shape not exact");
        size_t data_bytes = (5 + 6 + 24 + 12 + 1) * 4;
        CHECK(n == 8 + hlen + data_bytes, "file is %zu bytes, expected %llu", n,
              (unsigned long long)(8 + hlen + data_bytes));
        /* Tensors packed in the given order: conv1.weight comes first. */
        if (n == 8 + hlen + data_bytes) {
            unsigned char want[4];
            put_f32(want, d[1]);
            CHECK(memcmp(raw + 8 + hlen + 4, want, 4) == 0, "first tensor not first");
        }
    }
    free(raw);

    ssvae_checkpoint ck;
    rc = ssvae_st_read(path, &ck, &err);
    CHECK(rc == 0, "read: %s", err.msg);
    if (rc != 0) return;
    CHECK(ck.ntensors == 7, "ntensors %d", ck.ntensors);
    CHECK(ck.nmeta == 3, "nmeta %d", ck.nmeta);
    for (int i = 0; i < 7 && i < ck.ntensors; i++) {
        /* The header order is kept. */
        CHECK(strcmp(ck.tensors[i].name, t[i].name) == 0, "tensor %d is %s, expected %s",
              i, ck.tensors[i].name, t[i].name);
        const ssvae_tensor *r = ssvae_st_find(&ck, t[i].name);
        CHECK(r != NULL, "find %s", t[i].name);
        if (!r) continue;
        CHECK(r->ndim == t[i].ndim, "%s: ndim %d vs %d", t[i].name, r->ndim, t[i].ndim);
        int64_t count = 1;
        for (int k = 0; k < t[i].ndim; k++) {
            CHECK(r->shape[k] == t[i].shape[k], "%s: dim %d", t[i].name, k);
            count *= t[i].shape[k];
        }
        CHECK(r->data != NULL, "%s: data is NULL", t[i].name);
        if (count > 0 && r->data)
            CHECK(memcmp(r->data, t[i].data, (size_t)count * 4) == 0,
                  "%s: values differ", t[i].name);
    }
    CHECK(ssvae_st_find(&ck, "missing") == NULL, "find of a missing name");
    CHECK(ssvae_st_find(&ck, "__metadata__") == NULL, "__metadata__ is not a tensor");
    for (int i = 0; i < 3; i++) {
        const char *v = ssvae_st_meta(&ck, m[i].key);
        CHECK(v && strcmp(v, m[i].value) == 0, "meta %s = %s", m[i].key, v ? v : "(null)");
    }
    CHECK(ssvae_st_meta(&ck, "absent") == NULL, "meta of a missing key");
    ssvae_st_free(&ck);
    CHECK(checkpoint_is_empty(&ck), "free does not zero the checkpoint");
    ssvae_st_free(&ck); /* a second free is harmless */

    /* No tensors and no metadata is still a valid file ("{}" padded). */
    rc = ssvae_st_write(path, NULL, 0, NULL, 0, &err);
    CHECK(rc == 0, "write empty: %s", err.msg);
    rc = ssvae_st_read(path, &ck, &err);
    CHECK(rc == 0 && checkpoint_is_empty(&ck), "read empty: %s", err.msg);
    ssvae_st_free(&ck);
    unlink(path);
}

/* A header written by hand, with spaces, newlines, keys in an unusual
 * order, tensors whose key order differs from their data order, and no
 * padding to 8 bytes (the reader must not require it). */
static void test_hand_built(void)
{
    char path[256];
    path_in_dir(path, sizeof path, "hand.safetensors");
    const char *json =
        "{ \"w\" : {\"shape\": [2, 1], \"data_offsets\": [4, 12], \"dtype\": \"F32\"},\n"
        "  \"__metadata__\": {\"epoch\": \"7\"},\n"
        "  \"s\": {\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},\n"
        "  \"e\": {\"dtype\":\"F32\",\"shape\":[3,0],\"data_offsets\":[12,12]} }  ";
    unsigned char data[12];
    put_f32(data + 0, -1.5f);  /* s */
    put_f32(data + 4, 2.0f);   /* w[0] */
    put_f32(data + 8, 0.125f); /* w[1] */
    write_raw(path, strlen(json), json, data, sizeof data);

    ssvae_checkpoint ck;
    ssvae_error err = {{0}};
    int rc = ssvae_st_read(path, &ck, &err);
    CHECK(rc == 0, "hand-built file: %s", err.msg);
    if (rc == 0) {
        CHECK(ck.ntensors == 3 && ck.nmeta == 1, "%d tensors, %d meta", ck.ntensors, ck.nmeta);
        const ssvae_tensor *w = ssvae_st_find(&ck, "w");
        const ssvae_tensor *s = ssvae_st_find(&ck, "s");
        const ssvae_tensor *e = ssvae_st_find(&ck, "e");
        CHECK(w && w->ndim == 2 && w->shape[0] == 2 && w->shape[1] == 1, "w shape");
        if (w) CHECK(w->data[0] == 2.0f && w->data[1] == 0.125f, "w values %g %g",
                     w->data[0], w->data[1]);
        CHECK(s && s->ndim == 0 && s->data[0] == -1.5f, "scalar s");
        CHECK(e && e->ndim == 2 && e->shape[0] == 3 && e->shape[1] == 0, "empty e");
        const char *ep = ssvae_st_meta(&ck, "epoch");
        CHECK(ep && strcmp(ep, "7") == 0, "epoch %s", ep ? ep : "(null)");
    }
    ssvae_st_free(&ck);
    unlink(path);
}

/* ------------------------------------------------------------------------ */

typedef struct bad_case {
    const char *what; /* a few words for the failure message */
    const char *json; /* header text */
    size_t nbytes;    /* data bytes after the header (all zero) */
    const char *word; /* must appear in the error */
} bad_case;

static void expect_reject(const char *path, const char *what, const char *word)
{
    ssvae_checkpoint ck;
    ssvae_error err = {{0}};
    int rc = ssvae_st_read(path, &ck, &err);
    CHECK(rc == -1, "%s: accepted", what);
    CHECK(strstr(err.msg, path) != NULL, "%s: message does not name the file: %s",
          what, err.msg);
    CHECK(strstr(err.msg, word) != NULL, "%s: message lacks \"%s\": %s", what, word,
          err.msg);
    CHECK(strchr(err.msg, '\n') == NULL, "%s: message is not one line: %s", what,
          err.msg);
    CHECK(checkpoint_is_empty(&ck), "%s: checkpoint not left empty", what);
    ssvae_st_free(&ck);
}

#define T8 "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"

static void test_malformed(void)
{
    char path[256];
    path_in_dir(path, sizeof path, "bad.safetensors");
    static const unsigned char zeros[256];

    const bad_case cases[] = {
        {"invalid JSON", "{\"x\": ", 0, "JSON"},
        {"garbage after the object", "{\"x\":" T8 "} xyz", 8, "JSON"},
        {"header is an array", "[1, 2, 3]", 0, "object"},
        {"header is a string", "\"x\"", 0, "object"},
        {"tensor entry is a number", "{\"x\": 3}", 0, "object"},
        {"missing data_offsets", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8,
         "data_offsets"},
        {"missing dtype", "{\"x\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype"},
        {"BF16 dtype", "{\"x\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
         4, "unsupported dtype BF16 for tensor x"},
        {"dtype not a string", "{\"x\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}",
         8, "dtype"},
        {"negative shape", "{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
         8, "shape"},
        {"fractional shape", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}",
         8, "shape"},
        {"string in shape", "{\"x\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}",
         8, "shape"},
        {"shape not an array", "{\"x\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}",
         8, "shape"},
        {"nine dimensions",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}",
         8, "shape"},
        {"overflowing shape",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],"
         "\"data_offsets\":[0,8]}}", 8, "overflow"},
        {"one offset", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]}}",
         8, "offsets"},
        {"three offsets", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}}",
         8, "offsets"},
        {"negative offset", "{\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[-8,-8]}}",
         8, "offsets"},
        {"backwards offsets",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "offsets"},
        {"offsets past the data", "{\"x\":" T8 "}", 4, "truncated"},
        {"huge offsets",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1e300,1e300]}}", 8,
         "offsets"},
        {"offsets do not match the shape",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "shape"},
        {"overlapping tensors",
         "{\"x\":" T8 ",\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         12, "overlap"},
        {"empty tensor inside another",
         "{\"x\":" T8 ",\"y\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}",
         8, "overlap"},
        {"duplicate tensor", "{\"x\":" T8 ",\"x\":" T8 "}", 8, "duplicate"},
        {"duplicate key in an entry",
         "{\"x\":{\"dtype\":\"F32\",\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,8]}}",
         8, "duplicate"},
        {"duplicate metadata key",
         "{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"},\"x\":" T8 "}", 8, "duplicate"},
        {"metadata not an object", "{\"__metadata__\":[\"a\"],\"x\":" T8 "}", 8,
         "metadata"},
        {"metadata value a number", "{\"__metadata__\":{\"a\":1},\"x\":" T8 "}", 8,
         "metadata"},
        {"metadata value null", "{\"__metadata__\":{\"a\":null}}", 0, "metadata"},
        {"trailing bytes", "{\"x\":" T8 "}", 12, "trailing"},
        {"data but no tensors", "{}", 4, "trailing"},
        {"invalid UTF-8", "{\"x\xff\":" T8 "}", 8, "UTF-8"},
        {"overlong UTF-8", "{\"x\xc0\xaf\":" T8 "}", 8, "UTF-8"},
        {"raw newline in a name", "{\"x\ny\":" T8 "}", 8, "control character"},
        {"raw tab in a metadata value", "{\"__metadata__\":{\"a\":\"1\t2\"},\"x\":" T8 "}", 8,
         "control character"},
        {"raw escape byte in a dtype", "{\"x\":{\"dtype\":\"F\x1b" "32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
         8, "control character"},
        {"escaped NUL in a name", "{\"x\\u0000y\":" T8 "}", 8, "escaped NUL"},
        {"control byte between members", "{\"x\":" T8 "\x01}", 8, "control character"},
        {"deep nesting", NULL, 0, "JSON"}, /* filled in below */
    };
    int ncases = (int)(sizeof cases / sizeof cases[0]);

    /* Nesting past cJSON's limit must fail cleanly, not blow the stack. */
    char deep[4200];
    for (int i = 0; i < 2000; i++) deep[i] = '[';
    for (int i = 0; i < 2000; i++) deep[2000 + i] = ']';
    deep[4000] = '\0';

    for (int i = 0; i < ncases; i++) {
        const char *json = cases[i].json ? cases[i].json : deep;
        write_raw(path, strlen(json), json, zeros, cases[i].nbytes);
        expect_reject(path, cases[i].what, cases[i].word);
    }

    /* A newline in a tensor name must not break the message onto two lines. */
    const char *nl = "{\"x\\ny\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
    write_raw(path, strlen(nl), nl, zeros, 4);
    expect_reject(path, "newline in a name", "dtype F16");

    /* A raw NUL inside a name (cJSON would end the string there). */
    static const char nul[] = "{\"x\0y\":" T8 "}";
    {
        FILE *nf = fopen(path, "wb");
        unsigned char len[8] = {sizeof nul - 1};
        if (!nf) { perror(path); exit(2); }
        fwrite(len, 1, 8, nf);
        fwrite(nul, 1, sizeof nul - 1, nf);
        fwrite(zeros, 1, 8, nf);
        fclose(nf);
    }
    expect_reject(path, "raw NUL in a name", "control character");
    /* Escaped control characters are legal JSON and stay accepted. */
    const char *esc = "{\"__metadata__\":{\"a\":\"1\\t2\\u0001\"},\"x\":" T8 "}";
    write_raw(path, strlen(esc), esc, zeros, 8);
    {
        ssvae_checkpoint ck;
        ssvae_error err = {{0}};
        CHECK(ssvae_st_read(path, &ck, &err) == 0, "escaped control characters: %s", err.msg);
        ssvae_st_free(&ck);
    }

    /* Header lengths that do not fit the file. */
    const char *ok = "{\"x\":" T8 "}";
    write_raw(path, strlen(ok) + 9, ok, zeros, 8); /* one byte too long */
    expect_reject(path, "header length past the end", "header length");
    write_raw(path, UINT64_MAX, ok, zeros, 8);
    expect_reject(path, "header length 2^64-1", "header length");
    write_raw(path, 200000000ULL, ok, zeros, 8);
    expect_reject(path, "header length over 100 MB", "header length");
    write_raw(path, 0, "", zeros, 0);
    expect_reject(path, "header length 0", "JSON");

    /* Files too short to hold the length itself. */
    FILE *f = fopen(path, "wb");
    if (f) { fwrite("\x10\0\0", 1, 3, f); fclose(f); }
    expect_reject(path, "3-byte file", "truncated");
    f = fopen(path, "wb");
    if (f) fclose(f);
    expect_reject(path, "empty file", "truncated");

    /* Not a file at all. */
    char missing[256];
    path_in_dir(missing, sizeof missing, "no-such.safetensors");
    expect_reject(missing, "missing file", "cannot open");
    expect_reject(dir, "a directory", "regular file");

    /* The valid version of the file above is accepted, so the rejections
     * are about what each case broke. */
    write_raw(path, strlen(ok), ok, zeros, 8);
    ssvae_checkpoint ck;
    ssvae_error err = {{0}};
    CHECK(ssvae_st_read(path, &ck, &err) == 0, "control file: %s", err.msg);
    ssvae_st_free(&ck);
    unlink(path);
}

/* ------------------------------------------------------------------------ */

static void test_failed_writes(void)
{
    char path[256];
    path_in_dir(path, sizeof path, "keep.safetensors");
    float old[2] = {1.0f, 2.0f};
    ssvae_tensor t = {.name = "old", .ndim = 1, .shape = {2}, .data = old};
    ssvae_error err = {{0}};
    CHECK(ssvae_st_write(path, &t, 1, NULL, 0, &err) == 0, "write: %s", err.msg);
    size_t n0 = 0;
    unsigned char *before = slurp(path, &n0);

    /* Bad arguments are refused before anything is written. */
    float x[4] = {0};
    ssvae_tensor dup[2] = {
        {.name = "a", .ndim = 1, .shape = {2}, .data = x},
        {.name = "a", .ndim = 1, .shape = {2}, .data = x + 2},
    };
    CHECK(ssvae_st_write(path, dup, 2, NULL, 0, &err) == -1, "duplicate names accepted");
    CHECK(strstr(err.msg, "duplicate") && strstr(err.msg, path), "message: %s", err.msg);
    ssvae_tensor neg = {.name = "n", .ndim = 1, .shape = {-1}, .data = x};
    CHECK(ssvae_st_write(path, &neg, 1, NULL, 0, &err) == -1, "negative shape accepted");
    ssvae_tensor deep = {.name = "d", .ndim = SSVAE_MAXDIM + 1, .data = x};
    CHECK(ssvae_st_write(path, &deep, 1, NULL, 0, &err) == -1, "too many dims accepted");
    ssvae_tensor meta_name = {.name = "__metadata__", .ndim = 1, .shape = {2}, .data = x};
    CHECK(ssvae_st_write(path, &meta_name, 1, NULL, 0, &err) == -1,
          "__metadata__ as a tensor name accepted");
    ssvae_meta mdup[2] = {{"k", "1"}, {"k", "2"}};
    CHECK(ssvae_st_write(path, NULL, 0, mdup, 2, &err) == -1, "duplicate meta accepted");

    /* A write that fails part way: the file-size limit makes write() fail
     * with EFBIG once the temporary file passes 4 KiB. */
    enum { BIG = 100000 };
    float *big = calloc(BIG, sizeof *big);
    struct rlimit saved, small;
    if (big && getrlimit(RLIMIT_FSIZE, &saved) == 0) {
        void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
        small = saved;
        small.rlim_cur = 4096;
        if (setrlimit(RLIMIT_FSIZE, &small) == 0) {
            ssvae_tensor bt = {.name = "big", .ndim = 1, .shape = {BIG}, .data = big};
            int rc = ssvae_st_write(path, &bt, 1, NULL, 0, &err);
            setrlimit(RLIMIT_FSIZE, &saved);
            CHECK(rc == -1, "write past the file-size limit succeeded");
            CHECK(strstr(err.msg, path) && strstr(err.msg, "write failed"),
                  "message: %s", err.msg);
        } else {
            fprintf(stderr, "note: cannot lower RLIMIT_FSIZE, EFBIG case skipped\n");
        }
        signal(SIGXFSZ, old_handler);
    }
    free(big);

    size_t n1 = 0;
    unsigned char *after = slurp(path, &n1);
    CHECK(before && after && n0 == n1 && memcmp(before, after, n0) == 0,
          "previous file changed by failed writes");
    CHECK(no_temp_files(), "temporary file left behind after a failed write");
    free(before);
    free(after);

    /* A folder where the file should go is refused before anything is
     * written (a rename could replace an empty one). */
    char sub[256], inner[300];
    path_in_dir(sub, sizeof sub, "adir");
    snprintf(inner, sizeof inner, "%s/x", sub);
    mkdir(sub, 0755);
    FILE *f = fopen(inner, "wb");
    if (f) fclose(f);
    CHECK(ssvae_st_write(sub, &t, 1, NULL, 0, &err) == -1, "write onto a directory");
    CHECK(strstr(err.msg, sub) && strstr(err.msg, "a folder, not a regular file"), "message: %s", err.msg);
    CHECK(no_temp_files(), "temporary file left behind after a failed rename");
    unlink(inner);
    rmdir(sub);

    /* A folder that does not exist: the temporary file cannot be made. */
    char nodir[256];
    path_in_dir(nodir, sizeof nodir, "nope/ck.safetensors");
    CHECK(ssvae_st_write(nodir, &t, 1, NULL, 0, &err) == -1, "write into a missing folder");
    CHECK(strstr(err.msg, nodir) != NULL, "message: %s", err.msg);

    ssvae_checkpoint ck;
    CHECK(ssvae_st_read(path, &ck, &err) == 0, "previous file unreadable: %s", err.msg);
    const ssvae_tensor *r = ssvae_st_find(&ck, "old");
    CHECK(r && r->data[0] == 1.0f && r->data[1] == 2.0f, "previous file contents");
    ssvae_st_free(&ck);
    unlink(path);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_round_trip();
    test_hand_built();
    test_malformed();
    test_failed_writes();
    CHECK(rmdir(dir) == 0, "test folder %s not empty at the end", dir);
    return check_report("test_safetensors");
}
