/*
 * test_npy.c — .npy reading and writing: round trips for every dtype and
 * 0-4 dimensions, a hand-built 2.0 file, one rejection per kind of broken
 * file (the message must name the file and the problem), and writes that
 * fail without leaving a temporary file or harming the previous file.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "scratch.h"
#include "ssvae.h"

/* A .npy file with the given version and header text (padded with spaces
 * and '\n' to 64 bytes like numpy) followed by ndata zero bytes. */
static void make_npy(const char *path, int major, int minor, const char *dict, size_t ndata)
{
    static unsigned char buf[4096];
    size_t prefix = major == 1 ? 10 : 12, h = strlen(dict);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = (unsigned char)minor;
    memcpy(buf + prefix, dict, h);
    while ((prefix + h + 1) % 64)
        buf[prefix + h++] = ' ';
    buf[prefix + h++] = '\n';
    for (size_t i = 8; i < prefix; i++)
        buf[i] = (unsigned char)(h >> (8 * (i - 8)));
    memset(buf + prefix + h, 0, ndata);
    write_raw(path, buf, prefix + h + ndata);
}

/* Reading path must fail with a message naming the file and containing word. */
static void expect_reject(const char *path, const char *word)
{
    ssvae_array a;
    ssvae_error err = {{0}};
    int rc = ssvae_npy_read(path, &a, &err);
    CHECK(rc == -1, "%s: accepted, expected '%s'", path, word);
    CHECK(strstr(err.msg, path) && strstr(err.msg, word) && !strchr(err.msg, '\n'),
          "message '%s' should name %s and say '%s'", err.msg, path, word);
    CHECK(a.data == NULL && a.ndim == 0, "%s: array not left empty", path);
}

/* Entries of dir whose name contains ".tmp." */
static int temp_files(const char *folder)
{
    int n = 0;
    DIR *d = opendir(folder);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

static void test_round_trip(void)
{
    static const int64_t shapes[5][4] = {{0}, {7}, {3, 5}, {2, 3, 4}, {2, 1, 3, 5}};
    double src[120];
    for (int i = 0; i < 120; i++)
        src[i] = (i * 37 % 101) - 50.25; /* any bytes will do; these vary */
    for (int dt = SSVAE_U8; dt <= SSVAE_F64; dt++)
        for (int nd = 0; nd <= 4; nd++) {
            const char *path = in_dir("rt.npy");
            ssvae_error err = {{0}};
            ssvae_array a;
            int64_t count = 1;
            for (int i = 0; i < nd; i++)
                count *= shapes[nd][i];
            size_t bytes = (size_t)count * ssvae_dtype_size((ssvae_dtype)dt);
            int rc = ssvae_npy_write(path, (ssvae_dtype)dt, nd, shapes[nd], src, &err);
            CHECK(rc == 0, "write dtype %d ndim %d: %s", dt, nd, err.msg);
            rc = ssvae_npy_read(path, &a, &err);
            CHECK(rc == 0, "read dtype %d ndim %d: %s", dt, nd, err.msg);
            if (rc != 0)
                continue;
            CHECK(a.dtype == (ssvae_dtype)dt && a.ndim == nd, "dtype %d ndim %d", a.dtype, a.ndim);
            CHECK(ssvae_array_count(&a) == count, "count %lld", (long long)ssvae_array_count(&a));
            CHECK(memcmp(a.shape, shapes[nd], (size_t)nd * sizeof(int64_t)) == 0, "shape");
            CHECK(memcmp(a.data, src, bytes) == 0, "dtype %d ndim %d: bytes differ", dt, nd);
            unsigned char *file;
            long n = read_all(path, &file);
            size_t hlen = file[8] | (size_t)file[9] << 8;
            CHECK(file[6] == 1 && file[7] == 0 && (10 + hlen) % 64 == 0, "1.0, aligned to 64");
            CHECK(n == (long)(10 + hlen + bytes), "file size %ld", n);
            free(file);
            ssvae_array_free(&a);
            CHECK(a.data == NULL && a.ndim == 0, "free zeroes the array");
        }

    /* The header text matches numpy's, with 1-D shapes written (N,). */
    const char *path = in_dir("hdr.npy");
    ssvae_error err = {{0}};
    int64_t n5 = 5;
    unsigned char *file;
    CHECK(ssvae_npy_write(path, SSVAE_F32, 1, &n5, src, &err) == 0, "%s", err.msg);
    read_all(path, &file);
    const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }";
    size_t hlen = file[8] | (size_t)file[9] << 8;
    CHECK(memcmp(file + 10, want, strlen(want)) == 0 && hlen == 118 && file[127] == '\n',
          "numpy's header, padded to 128 bytes");
    free(file);

    /* A zero in the shape is an empty array; the reader still gives data. */
    int64_t empty[3] = {4, 0, 3};
    ssvae_array a;
    CHECK(ssvae_npy_write(path, SSVAE_F64, 3, empty, NULL, &err) == 0, "%s", err.msg);
    CHECK(ssvae_npy_read(path, &a, &err) == 0 && ssvae_array_count(&a) == 0 && a.data,
          "empty array: %s", err.msg);
    ssvae_array_free(&a);

    /* Bad arguments are refused before anything is written. */
    int64_t neg = -1;
    CHECK(ssvae_npy_write(path, SSVAE_U8, 1, &neg, src, &err) == -1
              && strstr(err.msg, "negative"), "negative shape written: %s", err.msg);
    CHECK(ssvae_npy_write(path, SSVAE_U8, SSVAE_MAXDIM + 1, shapes[4], src, &err) == -1,
          "too many dimensions written");
    remove(in_dir("rt.npy"));
    remove(path);
}

static void test_version2(void)
{
    /* Version 2.0: 4-byte header length; same dict. Built byte by byte. */
    const char *dict = "{'shape': (2, 2), 'fortran_order': False, 'descr': '<f8',}";
    unsigned char buf[256];
    size_t h = strlen(dict);
    memcpy(buf, "\x93NUMPY\x02\x00", 8);
    memcpy(buf + 12, dict, h);
    while ((12 + h + 1) % 64)
        buf[12 + h++] = ' ';
    buf[12 + h++] = '\n';
    buf[8] = (unsigned char)h, buf[9] = 0, buf[10] = 0, buf[11] = 0;
    double v[4] = {1.5, -2.0, 3.25, 1e300};
    memcpy(buf + 12 + h, v, sizeof v);
    const char *path = in_dir("v2.npy");
    write_raw(path, buf, 12 + h + sizeof v);
    ssvae_array a;
    ssvae_error err = {{0}};
    int rc = ssvae_npy_read(path, &a, &err);
    CHECK(rc == 0, "2.0 file: %s", err.msg);
    if (rc == 0) {
        CHECK(a.dtype == SSVAE_F64 && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 2, "2.0 shape");
        CHECK(memcmp(a.data, v, sizeof v) == 0, "2.0 data");
        ssvae_array_free(&a);
    }
    remove(path);
}

static void test_rejects(void)
{
    const char *p = in_dir("bad.npy");
    const char *ok_f4 = "'fortran_order': False, 'shape': (2,)}";
    char dict[256];

    write_raw(p, "\x93NUMPZ\x01\x00\x10\x00", 10);
    expect_reject(p, "magic");
    write_raw(p, "", 0);
    expect_reject(p, "magic");
    make_npy(p, 4, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8);
    expect_reject(p, "version");
    make_npy(p, 1, 5, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8);
    expect_reject(p, "version");
    write_raw(p, "\x93NUMPY\x01\x00\xff\x7f{'descr'", 18); /* length past the end */
    expect_reject(p, "header");
    write_raw(p, "\x93NUMPY\x02\x00\x40", 9); /* ends inside the length */
    expect_reject(p, "header");
    make_npy(p, 1, 0, "[('descr', '<f4')]", 8);
    expect_reject(p, "dict");
    make_npy(p, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8);
    expect_reject(p, "unknown key");
    make_npy(p, 1, 0, "{'descr': '<f4', 'fortran_order': False}", 8);
    expect_reject(p, "lacks key 'shape'");
    make_npy(p, 1, 0, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8);
    expect_reject(p, "repeats");
    make_npy(p, 1, 0, "{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}", 8);
    expect_reject(p, "malformed");
    make_npy(p, 1, 0, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,)}", 8);
    expect_reject(p, "fortran");
    make_npy(p, 1, 0, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", 8);
    expect_reject(p, "fortran_order");
    snprintf(dict, sizeof dict, "{'descr': '>f4', %s", ok_f4);
    make_npy(p, 1, 0, dict, 8);
    expect_reject(p, "big-endian dtype '>f4'");
    snprintf(dict, sizeof dict, "{'descr': '<i4', %s", ok_f4);
    make_npy(p, 1, 0, dict, 8);
    expect_reject(p, "dtype '<i4'");
    snprintf(dict, sizeof dict, "{'descr': '|b1', %s", ok_f4);
    make_npy(p, 1, 0, dict, 2);
    expect_reject(p, "dtype '|b1'");
    snprintf(dict, sizeof dict, "{'descr': [('a', '<f4')], %s", ok_f4);
    make_npy(p, 1, 0, dict, 8);
    expect_reject(p, "dtype");
    make_npy(p, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}", 8);
    expect_reject(p, "negative");
    make_npy(p, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 8);
    expect_reject(p, "overflow");
    make_npy(p, 1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", 8);
    expect_reject(p, "overflow");
    /* Found by fuzz/fuzz_npy: a zero did not excuse the other dimensions,
     * so ssvae_array_count overflowed on the "empty" array read. */
    make_npy(p, 1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967295, 4294967296, 0)}", 0);
    expect_reject(p, "overflow");
    make_npy(p, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}", 4);
    expect_reject(p, "more than 8 dimensions");
    make_npy(p, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", 8);
    expect_reject(p, "tuple");
    make_npy(p, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", 8);
    expect_reject(p, "after the dict");
    make_npy(p, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\x01", 8);
    expect_reject(p, "ASCII");
    make_npy(p, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", 23);
    expect_reject(p, "truncated");
    make_npy(p, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", 25);
    expect_reject(p, "trailing");
    make_npy(p, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}", 0);
    expect_reject(p, "truncated"); /* a scalar still needs its 4 bytes */
    expect_reject(dir, "regular");
    expect_reject(in_dir("missing.npy"), "No such file");
    remove(p);

    /* Whitespace, any key order, a trailing comma, and () for a scalar are fine. */
    ssvae_array a;
    ssvae_error err = {{0}};
    make_npy(p, 1, 0, " { \"shape\" : ( ) ,'descr':'|u1','fortran_order':False , } ", 1);
    CHECK(ssvae_npy_read(p, &a, &err) == 0 && a.ndim == 0 && ssvae_array_count(&a) == 1,
          "scalar: %s", err.msg);
    ssvae_array_free(&a);
    remove(p);
}

static void test_failed_writes(void)
{
    ssvae_error err = {{0}};
    float x[4096] = {0};
    int64_t n = 4096;

    /* A folder that does not exist: fails, nothing left behind. */
    const char *p = in_dir("nowhere/x.npy");
    CHECK(ssvae_npy_write(p, SSVAE_F32, 1, &n, x, &err) == -1 && strstr(err.msg, p),
          "write into a missing folder: %s", err.msg);

    /* A write that runs out of room half way (a 4 KiB file-size limit makes
     * write() fail with EFBIG even for root): the earlier file survives. */
    const char *q = in_dir("keep.npy");
    int64_t two = 2;
    float old[2] = {1, 2};
    CHECK(ssvae_npy_write(q, SSVAE_F32, 1, &two, old, &err) == 0, "%s", err.msg);
    struct rlimit saved, small;
    getrlimit(RLIMIT_FSIZE, &saved);
    small = saved;
    small.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &small);
    int rc = ssvae_npy_write(q, SSVAE_F32, 1, &n, x, &err);
    setrlimit(RLIMIT_FSIZE, &saved);
    CHECK(rc == -1 && strstr(err.msg, q), "oversized write should fail: %s", err.msg);
    CHECK(temp_files(dir) == 0, "temporary file left behind");
    ssvae_array a;
    CHECK(ssvae_npy_read(q, &a, &err) == 0 && a.shape[0] == 2 && memcmp(a.data, old, 8) == 0,
          "previous file damaged: %s", err.msg);
    ssvae_array_free(&a);

    /* Unwritable folder (permissions do not stop root, so only as a user). */
    const char *ro = in_dir("ro");
    mkdir(ro, 0500);
    if (geteuid() != 0) {
        const char *r = in_dir("ro/x.npy");
        CHECK(ssvae_npy_write(r, SSVAE_F32, 1, &n, x, &err) == -1, "write into read-only folder");
        CHECK(temp_files(ro) == 0, "temporary file left in read-only folder");
    }
    rmdir(ro);
    remove(q);
}

int main(void)
{
    if (make_scratch("/tmp/ssvae_npy_XXXXXX"))
        return 1;
    test_round_trip();
    test_version2();
    test_rejects();
    test_failed_writes();
    CHECK(rmdir(dir) == 0, "folder %s not empty at the end", dir);
    return check_report("test_npy");
}
