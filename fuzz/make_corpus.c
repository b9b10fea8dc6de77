/*
 * make_corpus.c — writes the fuzzers' seed corpus (make fuzz-corpus):
 * a few small valid files of each format, written by ssvae's own writers
 * or libpng, and a few broken ones that stop at each of the readers'
 * checks. Every file is under 4 KB. Usage: make_corpus DIR (DIR/npy,
 * DIR/safetensors, DIR/model, DIR/resume, DIR/png and DIR/pngdir are created or
 * overwritten).
 */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/png.h"
#include "ssvae.h"

static const char *root;

static void die(const char *what, const ssvae_error *err)
{
    fprintf(stderr, "make_corpus: %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

/* DIR/sub/name into buf. */
static const char *at(char *buf, const char *sub, const char *name)
{
    snprintf(buf, 512, "%s/%s/%s", root, sub, name);
    return buf;
}

static void write_bytes(const char *sub, const char *name, const void *p, size_t n)
{
    char path[512];
    FILE *f = fopen(at(path, sub, name), "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) die(path, NULL);
}

/* A .npy file from a header dict and data bytes, version 1.0 or 2.0. */
static void npy_raw(const char *name, int major, const char *dict, const void *data, size_t n)
{
    unsigned char buf[4096];
    size_t pre = major == 1 ? 10 : 12, hl = strlen(dict);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major; buf[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) buf[8 + i] = (unsigned char)(hl >> (8 * i));
    memcpy(buf + pre, dict, hl);
    memcpy(buf + pre + hl, data, n);
    write_bytes("npy", name, buf, pre + hl + n);
}

static void corpus_npy(void)
{
    char path[512];
    ssvae_error err;
    uint8_t u8[128];
    float f32[4] = {0.5f, -1, 3, 1e-3f};
    double f64 = 2.5;
    for (int i = 0; i < 128; i++) u8[i] = (uint8_t)(i * 37);
    if (ssvae_npy_write(at(path, "npy", "u8_2x3.npy"), SSVAE_U8, 2, (int64_t[]){2, 3}, u8, &err) ||
        ssvae_npy_write(at(path, "npy", "f32_4.npy"), SSVAE_F32, 1, (int64_t[]){4}, f32, &err) ||
        ssvae_npy_write(at(path, "npy", "f64_scalar.npy"), SSVAE_F64, 0, NULL, &f64, &err) ||
        ssvae_npy_write(at(path, "npy", "u8_empty_0x5.npy"), SSVAE_U8, 2, (int64_t[]){0, 5}, u8, &err) ||
        ssvae_npy_write(at(path, "npy", "video_2x8x8x1.npy"), SSVAE_U8, 4, (int64_t[]){2, 8, 8, 1}, u8, &err))
        die(path, &err);
    npy_raw("v2_f32_2x2.npy", 2, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2L, 2), }\n", f32, 16);
    npy_raw("bad_truncated.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (8,), }\n", f32, 16);
    npy_raw("bad_fortran.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", f32, 16);
    npy_raw("bad_bigendian.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }\n", f32, 16);
    npy_raw("bad_negative.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (-1, 4), }\n", u8, 4);
    npy_raw("bad_overflow.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4), }\n", u8, 8);
    /* Regression (found by fuzz_npy): an empty array whose other dimensions overflow. */
    npy_raw("regress_zero_dim_overflow.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967295, 4294967296, 0), }\n", u8, 0);
    npy_raw("bad_dict.npy", 1, "{'descr': '<f4', 'shape': (1,), 'extra': 1}\n", f32, 4);
    unsigned char hl[] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xff, 0xff, '{', '}'};
    write_bytes("npy", "bad_hlen.npy", hl, sizeof hl);
}

/* ---- safetensors ---- */

static void st_raw(const char *sub, const char *name, const char *json, const void *data, size_t n)
{
    unsigned char buf[4096];
    size_t hl = strlen(json);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, json, hl);
    memcpy(buf + 8 + hl, data, n);
    write_bytes(sub, name, buf, 8 + hl + n);
}

static void corpus_safetensors(void)
{
    char path[512];
    ssvae_error err;
    float w[6] = {1, 2, 3, 4, 5, 6}, b[2] = {-1, 1};
    ssvae_tensor t[2] = {{"layer.weight", 2, {2, 3}, w}, {"layer.bias", 1, {2}, b}};
    ssvae_meta m[2] = {{"format", "pt"}, {"note", "seed"}};
    if (ssvae_st_write(at(path, "safetensors", "two_tensors.safetensors"), t, 2, m, 2, &err) ||
        ssvae_st_write(at(path, "safetensors", "meta_only.safetensors"), NULL, 0, m, 1, &err) ||
        ssvae_st_write(at(path, "safetensors", "scalar.safetensors"),
                       (ssvae_tensor[]){{"s", 0, {0}, w}}, 1, NULL, 0, &err))
        die(path, &err);
    st_raw("safetensors", "empty.safetensors", "{}  ", NULL, 0);
    st_raw("safetensors", "bad_overlap.safetensors",
           "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", w, 12);
    st_raw("safetensors", "bad_duplicate.safetensors",
           "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
           "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", w, 8);
    st_raw("safetensors", "bad_dtype.safetensors",
           "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", w, 4);
    st_raw("safetensors", "bad_not_object.safetensors", "[1, 2, 3]", NULL, 0);
    st_raw("safetensors", "bad_meta.safetensors", "{\"__metadata__\":{\"step\":3}}", NULL, 0);
    st_raw("safetensors", "bad_trailing.safetensors",
           "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", w, 8);
    unsigned char big[16] = {0xff, 0xff, 0xff, 0x00, 0, 0, 0, 0, '{', '}'};
    write_bytes("safetensors", "bad_hlen.safetensors", big, sizeof big);
}

/* ---- model checkpoints ---- */

static void save_model(const char *name, int K, int supervised, ssvae_prior_kind prior)
{
    char path[512];
    ssvae_error err;
    ssvae_model_config cfg;
    ssvae_model_config_default(&cfg);
    cfg.C = 1; cfg.H = 8; cfg.W = 8; cfg.F = 2; cfg.K = K;
    cfg.supervised = supervised; cfg.prior = prior;
    ssvae_model m;
    if (ssvae_model_init(&m, &cfg, 7, &err) || ssvae_model_save(&m, at(path, "model", name), NULL, 0, &err))
        die(path, &err);
    ssvae_model_free(&m);
}

/* Reads DIR/model/from, lets edit change it, writes DIR/model/to. */
static void rewrite_model(const char *from, const char *to, void (*edit)(ssvae_checkpoint *))
{
    char path[512], out[512];
    ssvae_error err;
    ssvae_checkpoint ck;
    if (ssvae_st_read(at(path, "model", from), &ck, &err)) die(path, &err);
    edit(&ck);
    if (ssvae_st_write(at(out, "model", to), ck.tensors, ck.ntensors, ck.meta, ck.nmeta, &err))
        die(out, &err);
    ssvae_st_free(&ck);
}

static void wrong_shape(ssvae_checkpoint *ck) { ck->tensors[0].shape[3] = 2; } /* conv1.weight (2,1,3,2) */
static void drop_last(ssvae_checkpoint *ck) { ck->ntensors--; }             /* head missing */
static void new_version(ssvae_checkpoint *ck)
{
    for (int i = 0; i < ck->nmeta; i++)
        if (!strcmp(ck->meta[i].key, "format_version")) ck->meta[i].value[0] = '9';
}

static void corpus_model(void)
{
    save_model("gaussian_k1.safetensors", 1, 0, SSVAE_PRIOR_GAUSSIAN);
    save_model("linear_k2.safetensors", 2, 0, SSVAE_PRIOR_LINEAR);
    save_model("supervised_k1.safetensors", 1, 1, SSVAE_PRIOR_GAUSSIAN);
    rewrite_model("gaussian_k1.safetensors", "bad_shape.safetensors", wrong_shape);
    /* drop_last leaves the dropped tensor to ssvae_st_free: restore the count. */
    char path[512], out[512];
    ssvae_error err;
    ssvae_checkpoint ck;
    if (ssvae_st_read(at(path, "model", "linear_k2.safetensors"), &ck, &err)) die(path, &err);
    drop_last(&ck);
    if (ssvae_st_write(at(out, "model", "bad_missing.safetensors"), ck.tensors, ck.ntensors, ck.meta, ck.nmeta, &err))
        die(out, &err);
    ck.ntensors++;
    ssvae_st_free(&ck);
    rewrite_model("supervised_k1.safetensors", "bad_version.safetensors", new_version);
}

/* ---- PNG ---- */

/* A w x h PNG of the given libpng colour type and bit depth, a pattern of
 * bytes, through libpng directly (ssvae_png_write only writes 8-bit RGB). */
static void png_raw(const char *name, int w, int h, int type, int depth, int interlace)
{
    char path[512];
    FILE *f = fopen(at(path, "png", name), "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!f || !info || setjmp(png_jmpbuf(png))) die(path, NULL);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
        png_byte trns[2] = {0, 128};
        png_set_PLTE(png, info, pal, 4);
        png_set_tRNS(png, info, trns, 2, NULL);
    }
    png_write_info(png, info);
    static png_byte row[8 * 8 * 2];
    int channels = type == PNG_COLOR_TYPE_RGB ? 3 : type == PNG_COLOR_TYPE_RGBA ? 4
                 : type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
    size_t bytes = ((size_t)w * channels * depth + 7) / 8;
    int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < h; y++) {
            for (size_t i = 0; i < bytes; i++) row[i] = (png_byte)((i * 29 + y * 7) & (type == PNG_COLOR_TYPE_PALETTE && depth == 8 ? 3 : 0xff));
            png_write_row(png, row);
        }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) die(path, NULL);
}

/* Resumable checkpoints (ssvae_train_save) of a small model: after 2
 * epochs with Adam, after none with SGD, and one whose optimiser tensor is
 * missing; a plain model file is the reader's first rejection. */
static void save_resume(const char *name, int epochs, ssvae_optim_kind optim, int drop_v)
{
    char path[512];
    ssvae_error err;
    ssvae_model_config mc;
    ssvae_model_config_default(&mc);
    mc.C = 1; mc.H = 8; mc.W = 8; mc.F = 2; mc.K = 1;
    ssvae_model m;
    if (ssvae_model_init(&m, &mc, 7, &err)) die(name, &err);
    ssvae_train_config tc;
    ssvae_train_config_default(&tc);
    tc.optim = optim;
    tc.epochs = 4;
    float *mom = calloc(m.nparams, sizeof(float)), *var = calloc(m.nparams, sizeof(float));
    double loss[2] = {3.1, 2.9}, elbo[2] = {0.3, 0.5};
    for (size_t i = 0; i < m.nparams; i++) { mom[i] = 0.01f * (float)i; var[i] = 1e-4f; }
    ssvae_train_state st = {.epoch = epochs, .step = 58 * epochs, .n = m.nparams, .m = mom,
                            .v = var, .init_value = 0.01, .loss = loss, .elbo = elbo};
    ssvae_rng_seed(&st.shuffle, 1);
    if (ssvae_train_save(at(path, "resume", name), &m, &tc, &st, NULL, 0, &err)) die(path, &err);
    if (drop_v) {
        ssvae_checkpoint ck;
        if (ssvae_st_read(path, &ck, &err)) die(path, &err);
        drop_last(&ck);
        if (ssvae_st_write(path, ck.tensors, ck.ntensors, ck.meta, ck.nmeta, &err)) die(path, &err);
        ck.ntensors++;
        ssvae_st_free(&ck);
    }
    free(mom); free(var);
    ssvae_model_free(&m);
}

static void corpus_resume(void)
{
    save_resume("adam_epoch2.safetensors", 2, SSVAE_ADAM, 0);
    save_resume("sgd_epoch0.safetensors", 0, SSVAE_SGD, 0);
    save_resume("bad_no_optim_v.safetensors", 2, SSVAE_ADAM, 1);
    save_model("plain_model.safetensors", 1, 0, SSVAE_PRIOR_GAUSSIAN);
    char from[512], to[512];
    if (rename(at(from, "model", "plain_model.safetensors"), at(to, "resume", "plain_model.safetensors")))
        die(to, NULL);
}

static void corpus_png(void)
{
    char path[512];
    ssvae_error err;
    uint8_t rgb[8 * 8 * 3];
    for (int i = 0; i < (int)sizeof rgb; i++) rgb[i] = (uint8_t)(i * 13);
    if (ssvae_png_write(at(path, "png", "rgb_8x8.png"), rgb, 8, 8, 3, &err) ||
        ssvae_png_write(at(path, "png", "rgb_1x1.png"), rgb, 1, 1, 3, &err))
        die(path, &err);
    png_raw("grey_4x4.png", 4, 4, PNG_COLOR_TYPE_GRAY, 8, 0);
    png_raw("grey2_5x3.png", 5, 3, PNG_COLOR_TYPE_GRAY, 2, 0);
    png_raw("grey16_3x3.png", 3, 3, PNG_COLOR_TYPE_GRAY, 16, 0);
    png_raw("grey_alpha_2x2.png", 2, 2, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0);
    png_raw("rgba16_2x2.png", 2, 2, PNG_COLOR_TYPE_RGBA, 16, 0);
    png_raw("palette_4x4.png", 4, 4, PNG_COLOR_TYPE_PALETTE, 8, 0);
    png_raw("interlaced_rgb_8x8.png", 8, 8, PNG_COLOR_TYPE_RGB, 8, 1);
    /* Broken: cut in the middle of the image data, and a bad signature. */
    FILE *f = fopen(at(path, "png", "rgb_8x8.png"), "rb");
    unsigned char buf[4096];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (!f || n < 60) die(path, NULL);
    fclose(f);
    write_bytes("png", "bad_truncated.png", buf, n / 2 + 10);
    buf[1] = 'Q';
    write_bytes("png", "bad_signature.png", buf, n);
}

/* ---- PNG folders (fuzz_pngdir: files concatenated, cut at each signature) ---- */

/* Appends the png/ seeds named in parts (NULL-terminated) into pngdir/name. */
static void concat_pngs(const char *name, const char *const *parts)
{
    unsigned char all[4096];
    size_t n = 0;
    char path[512];
    for (int i = 0; parts[i]; i++) {
        FILE *f = fopen(at(path, "png", parts[i]), "rb");
        if (!f) die(path, NULL);
        n += fread(all + n, 1, sizeof all - n, f);
        fclose(f);
    }
    write_bytes("pngdir", name, all, n);
}

static void corpus_pngdir(void)
{
    concat_pngs("rgb_8x8_two.png", (const char *[]){"rgb_8x8.png", "rgb_8x8.png", NULL});
    concat_pngs("rgb_8x8_three.png", (const char *[]){"rgb_8x8.png", "interlaced_rgb_8x8.png", "rgb_8x8.png", NULL});
    concat_pngs("bad_mismatch.png", (const char *[]){"rgb_8x8.png", "grey_4x4.png", NULL});
    concat_pngs("bad_one_frame.png", (const char *[]){"rgb_8x8.png", NULL});
    concat_pngs("bad_truncated_second.png", (const char *[]){"rgb_8x8.png", "bad_truncated.png", NULL});
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    root = argv[1];
    const char *subs[] = {"", "/npy", "/safetensors", "/model", "/resume", "/png", "/pngdir"};
    for (int i = 0; i < 7; i++) {
        char d[512];
        snprintf(d, sizeof d, "%s%s", root, subs[i]);
        mkdir(d, 0777); /* already there is fine; a real failure shows on writing */
    }
    corpus_npy();
    corpus_safetensors();
    corpus_model();
    corpus_resume();
    corpus_png();
    corpus_pngdir();
    return 0;
}
