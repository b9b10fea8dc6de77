/*
 * safetensors.c — checkpoints in the safetensors format: an 8-byte
 * little-endian header length N, N bytes of UTF-8 JSON naming each tensor's
 * dtype, shape and byte range, then the tensors' raw little-endian bytes.
 * Only F32 tensors are written and read.
 *
 * The reader treats the file as hostile: every size in the header is checked
 * against the file's real length before anything is allocated from it, so a
 * corrupt or malicious checkpoint gives a one-line error, never a crash or a
 * huge allocation.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ssvae.h"
#include "io/files.h"

/* The reference implementation refuses headers above 100 MB; so do we, so a
 * corrupt length cannot make us allocate gigabytes. */
#define ST_MAX_HEADER 100000000ULL

/* The reader gets the header's integers through cJSON's doubles, exact
 * only up to 2^53: larger offsets or dimensions are refused on reading, and
 * the writer refuses to produce them. */
#define ST_MAX_INT 9007199254740992.0

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void store_u64_le(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t load_u64_le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF), as
 * the format requires; cJSON itself does not check. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned lo = 0x80, hi = 0xbf;
        if (c < 0x80) { i++; continue; }
        else if (c >= 0xc2 && c <= 0xdf) len = 2;
        else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0) lo = 0xa0;
            if (c == 0xed) hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0) lo = 0x90;
            if (c == 0xf4) hi = 0x8f;
        } else return 0;
        if (n - i < len) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf) return 0;
        i += len;
    }
    return 1;
}

/* JSON (RFC 8259) forbids raw control characters: inside a string they
 * must be escaped, outside one only space, tab, LF and CR may appear.
 * cJSON lets them through, and an escaped NUL (\u0000) would cut a name
 * short without a word, so both are refused here, before parsing. Returns
 * the offset of the first offending byte, or -1 if the text is clean. */
static int64_t json_control_at(const unsigned char *s, size_t n)
{
    int in_string = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        if (!in_string) {
            if (c == '"') in_string = 1;
            else if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r') return (int64_t)i;
            continue;
        }
        if (c < 0x20) return (int64_t)i;
        if (c == '"') in_string = 0;
        else if (c == '\\' && i + 1 < n) {
            if (s[i + 1] == 'u' && n - i >= 6 && memcmp(s + i + 2, "0000", 4) == 0) return (int64_t)i;
            i++; /* the escaped character cannot end the string */
        }
    }
    return -1;
}

/* Elements in a shape, or -1 if a dimension is negative or the byte count
 * (4 per element) would not fit in an int64. */
static int64_t shape_count(int ndim, const int64_t *shape)
{
    int64_t count = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return -1;
        if (shape[d] > 0 && count > INT64_MAX / 4 / shape[d]) return -1;
        count *= shape[d];
    }
    return count;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first name that occurs twice among names (n of them), or NULL.
 * Sorts a copy of the pointer list: O(n log n), since a checkpoint may hold
 * many thousands of tensors. Returns NULL with *oom set if out of memory. */
static const char *find_duplicate(const char *const *names, size_t n, int *oom)
{
    *oom = 0;
    if (n < 2) return NULL;
    const char **sorted = malloc(n * sizeof *sorted);
    if (!sorted) { *oom = 1; return NULL; }
    memcpy(sorted, names, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_str);
    const char *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0) dup = sorted[i];
    free(sorted);
    return dup;
}

/* Writes all of buf or fails (errno set); write() may stop short. */
static int write_all(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (w == 0) { errno = EIO; return -1; }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads exactly n bytes at offset off; returns -1 on error (errno set) and
 * sets *short_read if the file ended first. */
static int read_all_at(int fd, void *buf, size_t n, off_t off, int *short_read)
{
    unsigned char *p = buf;
    *short_read = 0;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, off);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (r == 0) { *short_read = 1; return -1; }
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

/* Checks the caller's tensors and metadata so that we never write a file
 * our own reader (or the reference one) would refuse. */
static int check_write_args(const char *path, const ssvae_tensor *tensors,
                            int ntensors, const ssvae_meta *meta, int nmeta,
                            ssvae_error *err)
{
    char nb[84];
    if (ntensors < 0 || nmeta < 0 || (ntensors > 0 && !tensors) ||
        (nmeta > 0 && !meta))
        return ssvae_fail(err, "%s: bad tensor or metadata count", path);
    double total = 0; /* bytes, as a double so it cannot overflow */
    for (int i = 0; i < ntensors; i++) {
        const ssvae_tensor *t = &tensors[i];
        if (!t->name)
            return ssvae_fail(err, "%s: tensor %d has no name", path, i);
        ssvae_printable(nb, sizeof nb, t->name);
        if (!utf8_valid((const unsigned char *)t->name, strlen(t->name)))
            return ssvae_fail(err, "%s: tensor name %s is not UTF-8", path, nb);
        if (strcmp(t->name, "__metadata__") == 0)
            return ssvae_fail(err, "%s: a tensor may not be called __metadata__", path);
        if (t->ndim < 0 || t->ndim > SSVAE_MAXDIM)
            return ssvae_fail(err, "%s: tensor %s has %d dimensions (0 to %d allowed)",
                              path, nb, t->ndim, SSVAE_MAXDIM);
        int64_t count = shape_count(t->ndim, t->shape);
        if (count < 0)
            return ssvae_fail(err, "%s: tensor %s has a negative or overflowing shape",
                              path, nb);
        if (count > 0 && !t->data)
            return ssvae_fail(err, "%s: tensor %s has no data", path, nb);
        total += 4.0 * (double)count;
        if (total > ST_MAX_INT)
            return ssvae_fail(err, "%s: tensors too large (over 2^53 bytes)", path);
    }
    for (int i = 0; i < nmeta; i++) {
        if (!meta[i].key || !meta[i].value)
            return ssvae_fail(err, "%s: metadata entry %d has no key or value", path, i);
        if (!utf8_valid((const unsigned char *)meta[i].key, strlen(meta[i].key)) ||
            !utf8_valid((const unsigned char *)meta[i].value, strlen(meta[i].value)))
            return ssvae_fail(err, "%s: metadata entry %s is not UTF-8", path,
                              ssvae_printable(nb, sizeof nb, meta[i].key));
    }

    /* Duplicate names would make an ambiguous file. */
    size_t nmax = (size_t)(ntensors > nmeta ? ntensors : nmeta);
    const char **names = malloc((nmax ? nmax : 1) * sizeof *names);
    if (!names) return ssvae_fail(err, "%s: out of memory", path);
    int oom;
    for (int i = 0; i < ntensors; i++) names[i] = tensors[i].name;
    const char *dup = find_duplicate(names, (size_t)ntensors, &oom);
    if (!dup && !oom) {
        for (int i = 0; i < nmeta; i++) names[i] = meta[i].key;
        const char *mdup = find_duplicate(names, (size_t)nmeta, &oom);
        if (mdup) {
            ssvae_printable(nb, sizeof nb, mdup);
            free(names);
            return ssvae_fail(err, "%s: duplicate metadata key %s", path, nb);
        }
    }
    if (dup) ssvae_printable(nb, sizeof nb, dup);
    free(names);
    if (oom) return ssvae_fail(err, "%s: out of memory", path);
    if (dup) return ssvae_fail(err, "%s: duplicate tensor name %s", path, nb);
    return 0;
}

/* Appends v to a JSON array as its exact decimal digits. cJSON_CreateNumber
 * would go through a double and print 1e15 and above in exponent form,
 * which the reference reader refuses as an integer. */
static int add_int(cJSON *array, int64_t v)
{
    char digits[24];
    snprintf(digits, sizeof digits, "%lld", (long long)v);
    cJSON *n = cJSON_CreateRaw(digits);
    if (!n) return -1;
    if (!cJSON_AddItemToArray(array, n)) {
        cJSON_Delete(n);
        return -1;
    }
    return 0;
}

/* The JSON header, unpadded, as a malloc'd string (NULL if out of memory).
 * __metadata__ comes first, as the reference writer puts it; the tensors
 * follow in the caller's order, packed one after another. */
static char *build_header(const ssvae_tensor *tensors, int ntensors,
                          const ssvae_meta *meta, int nmeta)
{
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    if (nmeta > 0) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        if (!m) goto fail;
        for (int i = 0; i < nmeta; i++)
            if (!cJSON_AddStringToObject(m, meta[i].key, meta[i].value)) goto fail;
    }
    int64_t offset = 0;
    for (int i = 0; i < ntensors; i++) {
        const ssvae_tensor *t = &tensors[i];
        int64_t bytes = 4 * shape_count(t->ndim, t->shape);
        cJSON *e = cJSON_AddObjectToObject(root, t->name);
        if (!e || !cJSON_AddStringToObject(e, "dtype", "F32")) goto fail;
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        if (!shape) goto fail;
        for (int d = 0; d < t->ndim; d++)
            if (add_int(shape, t->shape[d]) != 0) goto fail;
        cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
        if (!offs) goto fail;
        if (add_int(offs, offset) != 0 || add_int(offs, offset + bytes) != 0) goto fail;
        offset += bytes;
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return json;
fail:
    cJSON_Delete(root);
    return NULL;
}

/* Writes count floats as little-endian bytes, a chunk at a time, so the
 * output is the same on any host. */
static int write_floats_le(int fd, const float *x, int64_t count)
{
    unsigned char buf[16384];
    const int64_t per = (int64_t)(sizeof buf / 4);
    while (count > 0) {
        int64_t n = count < per ? count : per;
        for (int64_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &x[i], 4);
            buf[4 * i + 0] = (unsigned char)u;
            buf[4 * i + 1] = (unsigned char)(u >> 8);
            buf[4 * i + 2] = (unsigned char)(u >> 16);
            buf[4 * i + 3] = (unsigned char)(u >> 24);
        }
        if (write_all(fd, buf, (size_t)(4 * n)) != 0) return -1;
        x += n;
        count -= n;
    }
    return 0;
}

int ssvae_st_write(const char *path, const ssvae_tensor *tensors, int ntensors,
                   const ssvae_meta *meta, int nmeta, ssvae_error *err)
{
    if (!path) return ssvae_fail(err, "(null): no path given");
    if (check_write_args(path, tensors, ntensors, meta, nmeta, err) != 0) return -1;
    if (ssvae_output_check(path, NULL, 0, err)) return -1;

    char *json = build_header(tensors, ntensors, meta, nmeta);
    if (!json) return ssvae_fail(err, "%s: out of memory building the header", path);
    /* Pad with spaces so the data starts 8-byte aligned, as the reference
     * writer does: readers can then map the tensors straight from the file. */
    size_t jlen = strlen(json);
    size_t hlen = (jlen + 7) / 8 * 8;
    unsigned char *head = malloc(8 + hlen);
    if (!head) {
        cJSON_free(json);
        return ssvae_fail(err, "%s: out of memory building the header", path);
    }
    store_u64_le(head, (uint64_t)hlen);
    memcpy(head + 8, json, jlen);
    memset(head + 8 + jlen, ' ', hlen - jlen);
    cJSON_free(json);

    /* Same folder as path, so the rename cannot cross file systems. */
    size_t tlen = strlen(path) + 32;
    char *tmp = malloc(tlen);
    if (!tmp) {
        free(head);
        return ssvae_fail(err, "%s: out of memory", path);
    }
    snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
        ssvae_fail(err, "%s: cannot create temporary file %s: %s", path, tmp,
                   strerror(errno));
        free(head);
        free(tmp);
        return -1;
    }
    int rc = write_all(fd, head, 8 + hlen);
    free(head);
    for (int i = 0; i < ntensors && rc == 0; i++)
        rc = write_floats_le(fd, tensors[i].data,
                             shape_count(tensors[i].ndim, tensors[i].shape));
    /* fsync so a crash right after the rename cannot leave an empty file
     * where the old checkpoint used to be. */
    if (rc == 0) rc = fsync(fd);
    int saved = errno;
    if (close(fd) != 0 && rc == 0) { rc = -1; saved = errno; }
    if (rc != 0) {
        unlink(tmp);
        free(tmp);
        return ssvae_fail(err, "%s: write failed: %s", path, strerror(saved));
    }
    rc = io_commit_output(tmp, path, err);
    free(tmp);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

/* A JSON number that is a whole number in [0, 2^53]; -1 otherwise. */
static int64_t json_uint(const cJSON *item)
{
    if (!cJSON_IsNumber(item)) return -1;
    double v = item->valuedouble;
    if (!(v >= 0 && v <= ST_MAX_INT) || v != floor(v)) return -1;
    return (int64_t)v;
}

/* One tensor entry of the header, checked; the index into ck->tensors. */
typedef struct st_entry {
    int64_t begin, end;
    int index;
} st_entry;

static int cmp_entry(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* The names of obj's members, checked for duplicates (cJSON keeps every
 * copy of a repeated key, so an attacker could hide a second "dtype" or a
 * second tensor of the same name). what says what the names are. */
static int check_unique_keys(const char *path, const cJSON *obj, const char *what,
                             const char *owner, ssvae_error *err)
{
    size_t n = 0;
    for (const cJSON *c = obj->child; c; c = c->next) n++;
    if (n < 2) return 0;
    const char **names = malloc(n * sizeof *names);
    if (!names) return ssvae_fail(err, "%s: out of memory", path);
    size_t i = 0;
    for (const cJSON *c = obj->child; c; c = c->next) names[i++] = c->string;
    int oom;
    const char *dup = find_duplicate(names, n, &oom);
    char nb[84], ob[84]; /* names cut at 80 characters */
    if (dup) ssvae_printable(nb, sizeof nb, dup);
    free(names);
    if (oom) return ssvae_fail(err, "%s: out of memory", path);
    if (dup) {
        if (owner)
            return ssvae_fail(err, "%s: duplicate %s %s in tensor %s", path, what, nb,
                              ssvae_printable(ob, sizeof ob, owner));
        return ssvae_fail(err, "%s: duplicate %s %s", path, what, nb);
    }
    return 0;
}

static int read_metadata(const char *path, const cJSON *m, ssvae_checkpoint *ck,
                         ssvae_error *err)
{
    if (!cJSON_IsObject(m))
        return ssvae_fail(err, "%s: __metadata__ is not an object", path);
    if (check_unique_keys(path, m, "metadata key", NULL, err) != 0) return -1;
    int n = 0;
    for (const cJSON *c = m->child; c; c = c->next) {
        if (!cJSON_IsString(c) || !c->valuestring) {
            char nb[84];
            return ssvae_fail(err, "%s: metadata value for %s is not a string", path,
                              ssvae_printable(nb, sizeof nb, c->string));
        }
        if (n == INT_MAX) return ssvae_fail(err, "%s: too many metadata entries", path);
        n++;
    }
    if (n == 0) return 0;
    ck->meta = calloc((size_t)n, sizeof *ck->meta);
    if (!ck->meta) return ssvae_fail(err, "%s: out of memory", path);
    for (const cJSON *c = m->child; c; c = c->next) {
        ssvae_meta *e = &ck->meta[ck->nmeta++];
        e->key = strdup(c->string);
        e->value = strdup(c->valuestring);
        if (!e->key || !e->value) return ssvae_fail(err, "%s: out of memory", path);
    }
    return 0;
}

/* Checks one tensor entry of the header against a data buffer of dsize
 * bytes and fills t (name copied) and e (byte range). */
static int read_entry(const char *path, const cJSON *c, int64_t dsize,
                      ssvae_tensor *t, st_entry *e, ssvae_error *err)
{
    char nb[84];
    const char *name = ssvae_printable(nb, sizeof nb, c->string);
    if (!cJSON_IsObject(c))
        return ssvae_fail(err, "%s: entry for tensor %s is not an object", path, name);
    if (check_unique_keys(path, c, "key", c->string, err) != 0) return -1;
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(c, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(c, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(c, "data_offsets");
    if (!dtype || !shape || !offs)
        return ssvae_fail(err, "%s: tensor %s is missing \"%s\"", path, name,
                          !dtype ? "dtype" : !shape ? "shape" : "data_offsets");

    if (!cJSON_IsString(dtype) || !dtype->valuestring)
        return ssvae_fail(err, "%s: dtype of tensor %s is not a string", path, name);
    if (strcmp(dtype->valuestring, "F32") != 0) {
        char db[96];
        return ssvae_fail(err, "%s: unsupported dtype %s for tensor %s (only F32)",
                          path, ssvae_printable(db, sizeof db, dtype->valuestring), name);
    }

    if (!cJSON_IsArray(shape))
        return ssvae_fail(err, "%s: shape of tensor %s is not an array", path, name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > SSVAE_MAXDIM)
        return ssvae_fail(err, "%s: shape of tensor %s has %d dimensions (at most %d)",
                          path, name, ndim, SSVAE_MAXDIM);
    int d = 0;
    for (const cJSON *s = shape->child; s; s = s->next, d++) {
        int64_t v = json_uint(s);
        if (v < 0)
            return ssvae_fail(err, "%s: shape of tensor %s has an entry that is not "
                              "a non-negative integer", path, name);
        t->shape[d] = v;
    }
    t->ndim = ndim;
    int64_t count = shape_count(ndim, t->shape);
    if (count < 0)
        return ssvae_fail(err, "%s: shape of tensor %s overflows", path, name);

    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return ssvae_fail(err, "%s: data_offsets of tensor %s are not two integers",
                          path, name);
    e->begin = json_uint(offs->child);
    e->end = json_uint(offs->child->next);
    if (e->begin < 0 || e->end < 0)
        return ssvae_fail(err, "%s: data_offsets of tensor %s are not two "
                          "non-negative integers", path, name);
    if (e->begin > e->end)
        return ssvae_fail(err, "%s: data_offsets of tensor %s run backwards "
                          "[%lld, %lld]", path, name, (long long)e->begin,
                          (long long)e->end);
    if (e->end > dsize)
        return ssvae_fail(err, "%s: data_offsets of tensor %s end at %lld, past the "
                          "%lld-byte data (truncated?)", path, name,
                          (long long)e->end, (long long)dsize);
    if (e->end - e->begin != 4 * count)
        return ssvae_fail(err, "%s: data_offsets of tensor %s span %lld bytes but "
                          "its shape needs %lld", path, name,
                          (long long)(e->end - e->begin), (long long)(4 * count));

    t->name = strdup(c->string);
    if (!t->name) return ssvae_fail(err, "%s: out of memory", path);
    return 0;
}

/* Everything after opening: header, checks, then the tensors' bytes. */
static int read_fd(const char *path, int fd, ssvae_checkpoint *ck, ssvae_error *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return ssvae_fail(err, "%s: cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return ssvae_fail(err, "%s: not a regular file", path);
    uint64_t fsize = (uint64_t)st.st_size;
    if (fsize < 8)
        return ssvae_fail(err, "%s: truncated: %llu bytes, shorter than the 8-byte "
                          "header length", path, (unsigned long long)fsize);

    unsigned char lenbuf[8];
    int short_read;
    if (read_all_at(fd, lenbuf, 8, 0, &short_read) != 0)
        return short_read ? ssvae_fail(err, "%s: truncated header length", path)
                          : ssvae_fail(err, "%s: read failed: %s", path, strerror(errno));
    uint64_t hlen = load_u64_le(lenbuf);
    if (hlen > ST_MAX_HEADER)
        return ssvae_fail(err, "%s: header length %llu is over the 100 MB limit",
                          path, (unsigned long long)hlen);
    if (hlen > fsize - 8)
        return ssvae_fail(err, "%s: header length %llu is larger than the rest of "
                          "the file (%llu bytes)", path, (unsigned long long)hlen,
                          (unsigned long long)(fsize - 8));
    int64_t dsize = (int64_t)(fsize - 8 - hlen); /* bytes of tensor data */

    /* hlen <= 100 MB here, checked against the file length above. */
    char *text = malloc((size_t)hlen + 1);
    if (!text) return ssvae_fail(err, "%s: out of memory for the header", path);
    if (read_all_at(fd, text, (size_t)hlen, 8, &short_read) != 0) {
        free(text);
        return short_read ? ssvae_fail(err, "%s: truncated header", path)
                          : ssvae_fail(err, "%s: read failed: %s", path, strerror(errno));
    }
    text[hlen] = '\0';
    if (!utf8_valid((const unsigned char *)text, (size_t)hlen)) {
        free(text);
        return ssvae_fail(err, "%s: header is not valid UTF-8", path);
    }
    int64_t ctl = json_control_at((const unsigned char *)text, (size_t)hlen);
    if (ctl >= 0) {
        free(text);
        return ssvae_fail(err, "%s: header holds a control character or an escaped NUL at byte %lld "
                          "(JSON forbids them in strings)", path, (long long)ctl);
    }
    /* cJSON_ParseWithLength would accept garbage after the object; we take
     * the end of the parse and allow only the whitespace padding after it. */
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, (size_t)hlen, &end, 0);
    if (!root) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        free(text);
        return ssvae_fail(err, "%s: header is not valid JSON (error near byte %zu)",
                          path, at);
    }
    for (const char *p = end; p < text + hlen; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            size_t at = (size_t)(p - text);
            cJSON_Delete(root);
            free(text);
            return ssvae_fail(err, "%s: header is not valid JSON (unexpected "
                              "byte after the object at %zu)", path, at);
        }
    }
    free(text);

    int rc = -1;
    st_entry *entries = NULL;
    if (!cJSON_IsObject(root)) {
        ssvae_fail(err, "%s: header is not a JSON object", path);
        goto done;
    }
    if (check_unique_keys(path, root, "tensor name", NULL, err) != 0) goto done;

    /* Members are counted first so the arrays are sized by what the header
     * really holds (already bounded by the file length). */
    int64_t n = 0;
    const cJSON *meta = NULL;
    for (const cJSON *c = root->child; c; c = c->next) {
        if (!c->string) { ssvae_fail(err, "%s: header member without a name", path); goto done; }
        if (strcmp(c->string, "__metadata__") == 0) meta = c;
        else n++;
    }
    if (n > INT_MAX) { ssvae_fail(err, "%s: too many tensors", path); goto done; }
    if (meta && read_metadata(path, meta, ck, err) != 0) goto done;

    if (n > 0) {
        ck->tensors = calloc((size_t)n, sizeof *ck->tensors);
        entries = malloc((size_t)n * sizeof *entries);
        if (!ck->tensors || !entries) { ssvae_fail(err, "%s: out of memory", path); goto done; }
    }
    for (const cJSON *c = root->child; c; c = c->next) {
        if (c == meta) continue;
        int i = ck->ntensors;
        /* Counted before the entry is checked so ssvae_st_free can free a
         * half-filled tensor. */
        ck->ntensors++;
        if (read_entry(path, c, dsize, &ck->tensors[i], &entries[i], err) != 0) goto done;
        entries[i].index = i;
    }

    /* Overlaps show up between neighbours once sorted by start. */
    int64_t last = 0;
    if (n > 0) {
        qsort(entries, (size_t)n, sizeof *entries, cmp_entry);
        for (int64_t i = 1; i < n; i++) {
            if (entries[i].begin < entries[i - 1].end) {
                char a[96], b[96];
                ssvae_fail(err, "%s: tensors %s and %s overlap", path,
                           ssvae_printable(a, sizeof a, ck->tensors[entries[i - 1].index].name),
                           ssvae_printable(b, sizeof b, ck->tensors[entries[i].index].name));
                goto done;
            }
        }
        for (int64_t i = 0; i < n; i++)
            if (entries[i].end > last) last = entries[i].end;
    }
    if (dsize > last) {
        ssvae_fail(err, "%s: %lld trailing bytes after the last tensor", path,
                   (long long)(dsize - last));
        goto done;
    }

    /* All sizes now checked against the file: allocate and read, in file
     * order. */
    int swap = !host_is_little_endian();
    for (int64_t k = 0; k < n; k++) {
        ssvae_tensor *t = &ck->tensors[entries[k].index];
        size_t bytes = (size_t)(entries[k].end - entries[k].begin);
        t->data = malloc(bytes ? bytes : 1);
        if (!t->data) { ssvae_fail(err, "%s: out of memory for tensor data", path); goto done; }
        if (read_all_at(fd, t->data, bytes, (off_t)(8 + hlen + (uint64_t)entries[k].begin),
                        &short_read) != 0) {
            if (short_read) ssvae_fail(err, "%s: truncated tensor data", path);
            else ssvae_fail(err, "%s: read failed: %s", path, strerror(errno));
            goto done;
        }
        if (swap) {
            unsigned char *p = (unsigned char *)t->data;
            for (size_t j = 0; j < bytes; j += 4) {
                unsigned char a = p[j], b = p[j + 1];
                p[j] = p[j + 3]; p[j + 1] = p[j + 2];
                p[j + 2] = b; p[j + 3] = a;
            }
        }
    }
    rc = 0;
done:
    free(entries);
    cJSON_Delete(root);
    return rc;
}

int ssvae_st_read(const char *path, ssvae_checkpoint *out, ssvae_error *err)
{
    memset(out, 0, sizeof *out);
    if (!path) return ssvae_fail(err, "(null): no path given");
    int fd = io_open_input(path, err); /* regular files only: a FIFO would block */
    if (fd < 0) return -1;
    int rc = read_fd(path, fd, out, err);
    close(fd);
    if (rc != 0) ssvae_st_free(out);
    return rc;
}

void ssvae_st_free(ssvae_checkpoint *ck)
{
    if (!ck) return;
    for (int i = 0; i < ck->ntensors && ck->tensors; i++) {
        free(ck->tensors[i].name);
        free(ck->tensors[i].data);
    }
    free(ck->tensors);
    for (int i = 0; i < ck->nmeta && ck->meta; i++) {
        free(ck->meta[i].key);
        free(ck->meta[i].value);
    }
    free(ck->meta);
    memset(ck, 0, sizeof *ck);
}

const ssvae_tensor *ssvae_st_find(const ssvae_checkpoint *ck, const char *name)
{
    if (!ck || !name) return NULL;
    for (int i = 0; i < ck->ntensors; i++)
        if (strcmp(ck->tensors[i].name, name) == 0) return &ck->tensors[i];
    return NULL;
}

const char *ssvae_st_meta(const ssvae_checkpoint *ck, const char *key)
{
    if (!ck || !key) return NULL;
    for (int i = 0; i < ck->nmeta; i++)
        if (strcmp(ck->meta[i].key, key) == 0) return ck->meta[i].value;
    return NULL;
}
