/*
 * npy.c — NumPy .npy files (format 1.0, 2.0 and 3.0; little-endian, C order;
 * dtypes |u1, <f4, <f8), read whole into an ssvae_array (or mapped
 * read-only, for videos larger than memory) and written through a temporary
 * file renamed into place.
 *
 * Layout: "\x93NUMPY", major, minor, header length (2 bytes LE in 1.0, 4 in
 * 2.0/3.0), then an ASCII Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (900, 256, 256, 3), }
 * padded with spaces and a '\n' so that the data starts on a 64-byte
 * boundary, then the raw element bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ssvae.h"
#include "io/files.h"

/* The data bytes are copied straight to and from memory. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian host"
#endif

/* Our dtypes need a few hundred header bytes at most; numpy itself refuses
 * headers over 10000 bytes by default. The cap keeps a hostile length from
 * costing a huge allocation even when the file is that large. */
#define NPY_MAX_HEADER (1u << 20)

static const char *const descr_of[] = {"|u1", "<f4", "<f8"};

/* Bytes of data for the shape, or -1 if a dimension is negative, -2 if the
 * size does not fit in an int64 (and so in a file). Zeros are skipped in
 * the overflow test but still counted: as in numpy, (huge, huge, 0) is
 * refused, so ssvae_array_count can never overflow on an array we read. */
static int64_t data_bytes(int ndim, const int64_t *shape, size_t itemsize)
{
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return -1;
    int64_t n = (int64_t)itemsize;
    int empty = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 0) {
            empty = 1;
            continue;
        }
        if (n > INT64_MAX / shape[i])
            return -2;
        n *= shape[i];
    }
    return empty ? 0 : n;
}

/* ---- Header parsing: a cursor over the header text, never past end ---- */

typedef struct cursor {
    const char *p, *end;
} cursor;

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

static void skip_space(cursor *c)
{
    while (c->p < c->end && is_space(*c->p))
        c->p++;
}

/* Consumes ch (after optional whitespace) if it is next. */
static int eat(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* Consumes the identifier w (True, False) if it is next, whole. */
static int eat_word(cursor *c, const char *w)
{
    size_t n = strlen(w);
    skip_space(c);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
        return 0;
    char next = c->p + n < c->end ? c->p[n] : ' ';
    if (next == '_' || ((next | 32) >= 'a' && (next | 32) <= 'z') || (next >= '0' && next <= '9'))
        return 0; /* "Truex" is another name, not True */
    c->p += n;
    return 1;
}

/* A quoted string without escapes (all numpy writes for simple dtypes);
 * *s and *n point into the header text. */
static int parse_string(cursor *c, const char **s, int *n)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return 0;
    char quote = *c->p++;
    const char *start = c->p;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || *c->p == '\n')
            return 0;
        c->p++;
    }
    if (c->p >= c->end)
        return 0;
    *s = start;
    *n = (int)(c->p - start);
    c->p++;
    return 1;
}

/* A tuple of non-negative integers: (), (N,), (A, B), (A, B,). */
static int parse_shape(cursor *c, ssvae_array *a, const char *path, ssvae_error *err)
{
    int n = 0, comma = 0;
    if (!eat(c, '('))
        return ssvae_fail(err, "%s: header shape is not a tuple", path);
    while (!eat(c, ')')) {
        skip_space(c);
        if (c->p < c->end && *c->p == '-')
            return ssvae_fail(err, "%s: negative dimension in shape", path);
        if ((n > 0 && !comma) || c->p >= c->end || *c->p < '0' || *c->p > '9')
            return ssvae_fail(err, "%s: header shape is not a tuple of integers", path);
        int64_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            int d = *c->p++ - '0';
            if (v > (INT64_MAX - d) / 10)
                return ssvae_fail(err, "%s: shape dimension overflows int64", path);
            v = v * 10 + d;
        }
        if (c->p < c->end && *c->p == 'L')
            c->p++; /* Python 2 long, as in files from old numpy */
        if (n == SSVAE_MAXDIM)
            return ssvae_fail(err, "%s: shape has more than %d dimensions", path, SSVAE_MAXDIM);
        a->shape[n++] = v;
        comma = eat(c, ',');
    }
    if (n == 1 && !comma) /* (N) is the integer N in Python, not a tuple */
        return ssvae_fail(err, "%s: header shape is not a tuple (1-D is written (N,))", path);
    a->ndim = n;
    return 0;
}

/* Fills a->dtype, ndim and shape from the header dict. */
static int parse_header(const char *h, size_t len, ssvae_array *a, const char *path,
                        ssvae_error *err)
{
    for (size_t i = 0; i < len; i++)
        if (!is_space(h[i]) && (h[i] < 0x20 || h[i] > 0x7e))
            return ssvae_fail(err, "%s: header is not ASCII text", path);
    static const char *const keys[3] = {"descr", "fortran_order", "shape"};
    cursor c = {h, h + len};
    int seen[3] = {0, 0, 0}, fortran = 0, dlen = 0;
    const char *descr = NULL;
    if (!eat(&c, '{'))
        return ssvae_fail(err, "%s: header is not a dict", path);
    while (!eat(&c, '}')) {
        const char *k;
        int kn, which = -1;
        if (!parse_string(&c, &k, &kn) || !eat(&c, ':'))
            return ssvae_fail(err, "%s: malformed header dict", path);
        for (int i = 0; i < 3; i++)
            if ((size_t)kn == strlen(keys[i]) && memcmp(k, keys[i], (size_t)kn) == 0)
                which = i;
        if (which < 0)
            return ssvae_fail(err, "%s: header has unknown key '%.*s'", path, kn < 32 ? kn : 32, k);
        if (seen[which]++)
            return ssvae_fail(err, "%s: header repeats key '%s'", path, keys[which]);
        if (which == 0 && !parse_string(&c, &descr, &dlen))
            return ssvae_fail(err, "%s: unsupported dtype (descr is not a simple type string)", path);
        if (which == 1 && !(fortran = eat_word(&c, "True")) && !eat_word(&c, "False"))
            return ssvae_fail(err, "%s: header fortran_order is not True or False", path);
        if (which == 2 && parse_shape(&c, a, path, err) != 0)
            return -1;
        if (!eat(&c, ',')) {
            if (!eat(&c, '}'))
                return ssvae_fail(err, "%s: malformed header dict", path);
            break;
        }
    }
    skip_space(&c);
    if (c.p != c.end)
        return ssvae_fail(err, "%s: header has text after the dict", path);
    for (int i = 0; i < 3; i++)
        if (!seen[i])
            return ssvae_fail(err, "%s: header lacks key '%s'", path, keys[i]);
    if (fortran)
        return ssvae_fail(err, "%s: fortran_order True is not supported (C order only)", path);
    int shown = dlen < 32 ? dlen : 32;
    if (dlen == 3 && (descr[0] == '|' || descr[0] == '<') && memcmp(descr + 1, "u1", 2) == 0)
        a->dtype = SSVAE_U8;
    else if (dlen == 3 && memcmp(descr, "<f4", 3) == 0)
        a->dtype = SSVAE_F32;
    else if (dlen == 3 && memcmp(descr, "<f8", 3) == 0)
        a->dtype = SSVAE_F64;
    else if (dlen > 0 && descr[0] == '>')
        return ssvae_fail(err, "%s: big-endian dtype '%.*s' is not supported", path, shown, descr);
    else
        return ssvae_fail(err, "%s: unsupported dtype '%.*s' (only |u1, <f4, <f8)", path, shown, descr);
    return 0;
}

/* ---- Reading ---- */

/* Opens path and reads its header into out (dtype, shape; no data):
 * *offset receives where the data starts and *bytes its length, which is
 * checked against the file's. On success the open file is left in *fp,
 * positioned at the data. */
static int read_header(const char *path, FILE **fp, ssvae_array *out, uint64_t *offset,
                       int64_t *bytes, ssvae_error *err)
{
    memset(out, 0, sizeof *out);
    *fp = NULL;
    FILE *f = io_fopen_input(path, err); /* regular files only: a FIFO would block */
    if (!f)
        return -1;
    char *hdr = NULL;
    int rc = -1;
    struct stat st;
    unsigned char pre[12] = {0};
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        ssvae_fail(err, "%s: not a regular file", path);
        goto done;
    }
    size_t got = fread(pre, 1, 10, f);
    if (got < 6 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        ssvae_fail(err, "%s: not a .npy file (bad magic)", path);
        goto done;
    }
    if (got >= 8 && (pre[6] < 1 || pre[6] > 3 || pre[7] != 0)) {
        ssvae_fail(err, "%s: unsupported .npy version %d.%d (1.0, 2.0 and 3.0 are read)", path, pre[6], pre[7]);
        goto done;
    }
    size_t prefix = pre[6] == 1 ? 10 : 12;
    if (got < 10 || (prefix == 12 && fread(pre + 10, 1, 2, f) != 2)) {
        ssvae_fail(err, "%s: header truncated", path);
        goto done;
    }
    uint64_t hlen = 0; /* little-endian, 2 or 4 bytes */
    for (size_t i = prefix; i-- > 8;)
        hlen = hlen << 8 | pre[i];
    uint64_t size = (uint64_t)st.st_size;
    if (hlen > size - prefix) {
        ssvae_fail(err, "%s: header truncated (%llu bytes announced, %llu in file)", path,
                   (unsigned long long)hlen, (unsigned long long)(size - prefix));
        goto done;
    }
    if (hlen > NPY_MAX_HEADER) {
        ssvae_fail(err, "%s: header too long (%llu bytes)", path, (unsigned long long)hlen);
        goto done;
    }
    hdr = malloc(hlen + 1);
    if (!hdr || fread(hdr, 1, hlen, f) != hlen) {
        ssvae_fail(err, "%s: cannot read header", path);
        goto done;
    }
    if (parse_header(hdr, hlen, out, path, err) != 0)
        goto done;
    *bytes = data_bytes(out->ndim, out->shape, ssvae_dtype_size(out->dtype));
    if (*bytes < 0) { /* only overflow can reach here: the parser rejects '-' */
        ssvae_fail(err, "%s: shape overflows (too many elements)", path);
        goto done;
    }
    uint64_t have = size - prefix - hlen;
    if ((uint64_t)*bytes != have) {
        ssvae_fail(err, "%s: %s: shape needs %lld data bytes, file has %llu", path,
                   (uint64_t)*bytes > have ? "data truncated" : "trailing bytes after data",
                   (long long)*bytes, (unsigned long long)have);
        goto done;
    }
    *offset = prefix + hlen;
    rc = 0;
done:
    free(hdr);
    if (rc != 0) {
        fclose(f);
        memset(out, 0, sizeof *out);
    } else {
        *fp = f;
    }
    return rc;
}

int ssvae_npy_read_header(const char *path, ssvae_array *out, ssvae_error *err)
{
    FILE *f;
    uint64_t offset;
    int64_t bytes;
    if (read_header(path, &f, out, &offset, &bytes, err))
        return -1;
    fclose(f);
    return 0;
}

int ssvae_npy_read(const char *path, ssvae_array *out, ssvae_error *err)
{
    FILE *f;
    uint64_t offset;
    int64_t bytes;
    if (read_header(path, &f, out, &offset, &bytes, err))
        return -1;
    int rc = -1;
    /* A zero-size array still gets a 1-byte block, so data != NULL always. */
    out->data = malloc(bytes ? (size_t)bytes : 1);
    if (!out->data) {
        ssvae_fail(err, "%s: out of memory (%lld bytes)", path, (long long)bytes);
        goto done;
    }
    if (fread(out->data, 1, (size_t)bytes, f) != (size_t)bytes) {
        ssvae_fail(err, "%s: read error (file changed while reading?)", path);
        goto done;
    }
    rc = 0;
done:
    fclose(f);
    if (rc != 0)
        ssvae_array_free(out);
    return rc;
}

/* ---- Mapping ---- */

int ssvae_npy_map(const char *path, ssvae_array *out, ssvae_error *err)
{
    FILE *f;
    uint64_t offset;
    int64_t bytes;
    if (read_header(path, &f, out, &offset, &bytes, err))
        return -1;
    size_t len = (size_t)(offset + (uint64_t)bytes);
    /* The whole file from offset 0, so the data need not start on a page;
     * shared and read-only: the pages are the page cache's, never copied. */
    void *base = mmap(NULL, len, PROT_READ, MAP_SHARED, fileno(f), 0);
    int saved = errno;
    fclose(f);
    if (base == MAP_FAILED) {
        memset(out, 0, sizeof *out);
        return ssvae_fail(err, "%s: cannot map the file: %s", path, strerror(saved));
    }
    out->data = (uint8_t *)base + offset;
    out->map = base;
    out->map_len = len;
    return 0;
}

/* ---- Writing ---- */

/* The header numpy writes for dtype and shape into hdr (512 bytes): the
 * dict, padded so that the data starts on a 64-byte boundary; returns its
 * length with the 10-byte prefix. */
static size_t make_header(unsigned char *out, ssvae_dtype dtype, int ndim, const int64_t *shape)
{
    /* The dict as numpy writes it; 1-D shapes as (N,). Even 8 dimensions of
     * 19 digits make under 300 bytes, so the 2-byte length of format 1.0
     * always suffices and 2.0 (for headers over 64 KiB) is never needed. */
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     descr_of[dtype]);
    for (int i = 0; i < ndim; i++)
        n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%s%lld", i ? ", " : "",
                      (long long)shape[i]);
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%s), }", ndim == 1 ? "," : "");
    const size_t prefix = 10; /* magic, 1, 0, 2-byte length */
    while ((prefix + (size_t)n + 1) % 64 != 0)
        hdr[n++] = ' '; /* data starts on a 64-byte boundary, as numpy does */
    hdr[n++] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)(n & 0xff), (unsigned char)(n >> 8)};
    memcpy(out, pre, prefix);
    memcpy(out + prefix, hdr, (size_t)n);
    return prefix + (size_t)n;
}

int ssvae_npy_stream_open(ssvae_npy_stream *s, const char *path, ssvae_dtype dtype, int ndim,
                          const int64_t *shape, ssvae_error *err)
{
    memset(s, 0, sizeof *s);
    if ((unsigned)dtype > SSVAE_F64)
        return ssvae_fail(err, "%s: cannot write unknown dtype %d", path, (int)dtype);
    if (ndim < 0 || ndim > SSVAE_MAXDIM || (ndim > 0 && !shape))
        return ssvae_fail(err, "%s: cannot write %d dimensions (at most %d)", path, ndim,
                          SSVAE_MAXDIM);
    int64_t bytes = data_bytes(ndim, shape, ssvae_dtype_size(dtype));
    if (bytes < 0)
        return ssvae_fail(err, "%s: cannot write shape with %s", path,
                          bytes == -1 ? "a negative dimension" : "an overflowing size");
    unsigned char hdr[600];
    size_t hlen = make_header(hdr, dtype, ndim, shape);
    if (ssvae_output_check(path, NULL, 0, err))
        return -1;
    s->path = strdup(path);
    s->tmp = malloc(strlen(path) + 32);
    if (!s->path || !s->tmp) {
        free(s->path); free(s->tmp);
        memset(s, 0, sizeof *s);
        return ssvae_fail(err, "%s: out of memory", path);
    }
    sprintf(s->tmp, "%s.tmp.%ld", path, (long)getpid());
    s->f = fopen(s->tmp, "wb");
    if (!s->f) {
        ssvae_fail(err, "%s: cannot create %s: %s", path, s->tmp, strerror(errno));
        free(s->path); free(s->tmp);
        memset(s, 0, sizeof *s);
        return -1;
    }
    s->left = bytes;
    if (fwrite(hdr, 1, hlen, s->f) != hlen) {
        ssvae_fail(err, "%s: write failed: %s", path, strerror(errno));
        ssvae_npy_stream_close(s, 0, NULL);
        return -1;
    }
    return 0;
}

int ssvae_npy_stream_write(ssvae_npy_stream *s, const void *data, size_t bytes, ssvae_error *err)
{
    if ((int64_t)bytes > s->left)
        return ssvae_fail(err, "%s: more data than the shape holds", s->path);
    if (bytes && fwrite(data, 1, bytes, s->f) != bytes)
        return ssvae_fail(err, "%s: write failed: %s", s->path, strerror(errno));
    s->left -= (int64_t)bytes;
    return 0;
}

int ssvae_npy_stream_close(ssvae_npy_stream *s, int commit, ssvae_error *err)
{
    if (!s->f)
        return commit ? ssvae_fail(err, "npy stream: not open") : 0;
    int ok = commit;
    int saved = 0;
    if (ok && s->left != 0) {
        ok = 0;
        ssvae_fail(err, "%s: %lld data bytes missing", s->path, (long long)s->left);
    }
    if (fclose(s->f) != 0 && ok) {
        ok = 0;
        saved = errno;
        ssvae_fail(err, "%s: write failed: %s", s->path, strerror(saved));
    }
    if (ok && io_commit_output(s->tmp, s->path, err) != 0) /* removes the temporary */
        ok = 0;
    if (!ok)
        remove(s->tmp);
    free(s->tmp);
    free(s->path);
    memset(s, 0, sizeof *s);
    return ok || !commit ? 0 : -1;
}

int ssvae_npy_write(const char *path, ssvae_dtype dtype, int ndim, const int64_t *shape,
                    const void *data, ssvae_error *err)
{
    if ((unsigned)dtype <= SSVAE_F64 && ndim >= 0 && ndim <= SSVAE_MAXDIM && (ndim == 0 || shape)) {
        int64_t bytes = data_bytes(ndim, shape, ssvae_dtype_size(dtype));
        if (bytes > 0 && !data)
            return ssvae_fail(err, "%s: no data to write", path);
    }
    ssvae_npy_stream s;
    if (ssvae_npy_stream_open(&s, path, dtype, ndim, shape, err))
        return -1;
    if (ssvae_npy_stream_write(&s, data, (size_t)s.left, err)) {
        ssvae_npy_stream_close(&s, 0, NULL);
        return -1;
    }
    return ssvae_npy_stream_close(&s, 1, err);
}
