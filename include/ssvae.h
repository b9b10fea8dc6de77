/*
 * ssvae.h — the one public header of ssvae, a library for self-supervised
 * learning as variational inference (InfoNCE as the ELBO of a VAE whose
 * decoder is implicit; the InfoNCE critic f(z, z') is the prior P(z'|z)).
 *
 * Conventions used throughout:
 *   - Dimension letters: T frames of a video, N frames in a batch (N = 2B),
 *     B pairs in a batch, C channels, H x W pixels, K maps (balls), D = 2K
 *     latents. Shapes are given in comments as (T, H, W, C) etc., C order.
 *   - Functions that can fail on bad input return 0 on success and -1 on
 *     failure, and write a one-line message (no trailing newline) into the
 *     caller's ssvae_error. They never print and never exit.
 *   - Broken invariants (programmer errors) abort with file and line.
 *   - Buffers are owned by the caller unless a comment says otherwise.
 */
#ifndef SSVAE_H
#define SSVAE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SSVAE_VERSION "0.1.0"

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

#define SSVAE_ERRLEN 512

typedef struct ssvae_error {
    char msg[SSVAE_ERRLEN]; /* one line, no trailing newline */
} ssvae_error;

/* printf-style: fills err (if not NULL) and returns -1, so callers can write
 * `return ssvae_fail(err, "%s: truncated", path);`. */
int ssvae_fail(ssvae_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The one quoting rule for a name in a message (a path, a name or value
 * read from a file): control characters (a newline, an escape) become '?',
 * so the message stays one line, and a name longer than len - 1 keeps its
 * start and its end with "..." in the middle. Writes into buf (len >= 8)
 * and returns it. */
const char *ssvae_printable(char *buf, size_t len, const char *s);
/* sizeof the public struct called name ("ssvae_model", "ssvae_train_config",
 * ...), or 0 for a name it does not know: a binding that mirrors the structs
 * (the Python package, through ctypes) checks its layouts against the
 * library it loaded. */
size_t ssvae_struct_size(const char *name);

/* The same rule for a whole message, into dst (len bytes): control
 * characters become '?', and a message too long has its longest names
 * shortened in their middles first, so the reason at the end survives.
 * ssvae_fail passes every message through it. */
void ssvae_fit_message(char *dst, size_t len, const char *src);

/* ------------------------------------------------------------------------ */
/* Files                                                                     */
/* ------------------------------------------------------------------------ */

/* Before writing path (every writer of the library calls it; callers call
 * it early, with their inputs, so that a bad output fails before the work):
 * refuses an existing path that is not a regular file (a device, a FIFO,
 * a socket, a folder: the rename would replace it), and one that is the
 * same file (device and inode) as any of inputs[0..ninputs) (NULL entries
 * skipped), or, for an input that is a folder, as any file in it. A path
 * that does not exist yet passes. */
int ssvae_output_check(const char *path, const char *const *inputs, int ninputs,
                       ssvae_error *err);
/* "a FIFO", "a character device", "a folder", ... for a stat st_mode. */
const char *ssvae_file_kind(unsigned mode);

/* ------------------------------------------------------------------------ */
/* Random numbers: xoshiro256** seeded through splitmix64. Same seed, same    */
/* stream on every machine. Never uses rand().                               */
/* ------------------------------------------------------------------------ */

typedef struct ssvae_rng {
    uint64_t s[4];
} ssvae_rng;

void ssvae_rng_seed(ssvae_rng *rng, uint64_t seed);
uint64_t ssvae_rng_next(ssvae_rng *rng);         /* 64 random bits */
double ssvae_rng_uniform(ssvae_rng *rng);        /* [0, 1), 53 bits */
double ssvae_rng_normal(ssvae_rng *rng);         /* standard normal */
uint64_t ssvae_rng_below(ssvae_rng *rng, uint64_t n); /* uniform in [0, n), unbiased */
void ssvae_rng_shuffle(ssvae_rng *rng, int *a, int n); /* Fisher-Yates */

/* ------------------------------------------------------------------------ */
/* Arrays and NumPy .npy files (read: format 1.0, 2.0, 3.0; little-endian, C) */
/* ------------------------------------------------------------------------ */

typedef enum ssvae_dtype {
    SSVAE_U8,  /* '|u1' */
    SSVAE_F32, /* '<f4' */
    SSVAE_F64, /* '<f8' */
} ssvae_dtype;

#define SSVAE_MAXDIM 8

typedef struct ssvae_array {
    ssvae_dtype dtype;
    int ndim;
    int64_t shape[SSVAE_MAXDIM];
    void *data; /* owned by the array: free with ssvae_array_free */
    void *map;      /* NULL, or the read-only file mapping data lies in */
    size_t map_len; /* (ssvae_npy_map): ssvae_array_free unmaps it */
} ssvae_array;

size_t ssvae_dtype_size(ssvae_dtype dtype);
int64_t ssvae_array_count(const ssvae_array *a); /* product of the shape */
void ssvae_array_free(ssvae_array *a);           /* frees data, zeroes a */
/* "float32 of shape (900, 3, 2)": what a shape error says was found
 * (taken before the array is freed). Writes into buf, returns it. */
const char *ssvae_array_describe(const ssvae_array *a, char *buf, size_t len);

/* Reads a .npy file. Rejects, with a message naming the file and the
 * problem: bad magic, unknown version, a header that is not the dict numpy
 * writes, Fortran order, big-endian or unknown dtypes, negative or
 * overflowing shapes, data shorter or longer than the shape says. Sizes are
 * checked against the file length before anything is allocated. */
int ssvae_npy_read(const char *path, ssvae_array *out, ssvae_error *err);

/* The same checks as ssvae_npy_read (the data's length included) without
 * reading the data: out gets dtype, ndim and shape, and data NULL. */
int ssvae_npy_read_header(const char *path, ssvae_array *out, ssvae_error *err);
/* As ssvae_npy_read, with the same checks, but the data is not read: it is
 * the file itself, mapped read-only (a->map), so an array larger than
 * memory costs only the pages touched, which the kernel can drop again.
 * The file must not be truncated while mapped (that reads as SIGBUS). */
int ssvae_npy_map(const char *path, ssvae_array *out, ssvae_error *err);

/* Writes a .npy file (version 1.0, or 2.0 if the header needs it) through a
 * temporary file in the same folder, renamed into place: a failed write
 * leaves any previous file untouched. */
int ssvae_npy_write(const char *path, ssvae_dtype dtype, int ndim,
                    const int64_t *shape, const void *data, ssvae_error *err);

/* A .npy file written a piece at a time (a video decoded frame by frame):
 * open with the shape, write exactly its bytes in order, close. The file
 * goes to a temporary beside path, renamed into place by a close with
 * commit = 1 once every byte is written; close with commit = 0 (or any
 * failure) removes it and leaves any previous file untouched. */
typedef struct ssvae_npy_stream {
    void *f;            /* FILE * */
    char *path, *tmp;
    int64_t left;       /* data bytes still to write */
} ssvae_npy_stream;
int ssvae_npy_stream_open(ssvae_npy_stream *s, const char *path, ssvae_dtype dtype, int ndim,
                          const int64_t *shape, ssvae_error *err);
int ssvae_npy_stream_write(ssvae_npy_stream *s, const void *data, size_t bytes, ssvae_error *err);
int ssvae_npy_stream_close(ssvae_npy_stream *s, int commit, ssvae_error *err);

/* A user's video, whichever form it comes in, as one (T, H, W, C) uint8
 * array (docs/own-video.md):
 *   - a .npy file: (T, H, W, C) or (T, H, W) (C = 1), uint8, or float32 /
 *     float64 in [0, 1], quantised as round(255 x) (nearest, ties to even;
 *     exact for values k/255); *quantised (may be NULL) is set to 1 then.
 *     A value outside [0, 1], NaN or infinite is an error, never clamped;
 *   - a folder holding frames.npy: as above;
 *   - a folder of PNG frames: every *.png (hidden files skipped) in
 *     natural name order (frame_2 before frame_10), 8- or 16-bit grey,
 *     grey + alpha, RGB, RGBA or palette; C is the files' channel count
 *     (1, 2, 3 or 4; palette: 3, or 4 with transparency), 16-bit samples
 *     scaled to 8 bits with rounding. Every frame must match the first.
 * Rejects, with a one-line message naming the file: fewer than 2 frames,
 * H or W under 8, C outside 1..32, frames over 2^26 pixels, anything the
 * .npy or PNG readers reject. */
int ssvae_video_read(const char *path, ssvae_array *frames, int *quantised,
                     ssvae_error *err);
/* The (T, H, W, C) that ssvae_video_read would give, from the .npy header
 * or, for a PNG folder, the count of frames and the first frame, without
 * reading the video: so that a size mismatch is found before seconds of
 * decoding. */
int ssvae_video_shape(const char *path, int64_t shape[4], ssvae_error *err);
/* A uint8 .npy video (a file, or a folder's frames.npy) is mapped
 * read-only, never copied (frames->map): training a video larger than
 * memory costs the pages of a batch (docs/own-video.md). A float .npy or a
 * PNG folder is decoded into memory by ssvae_video_read; ssvae_video_open
 * with cache_dir (not NULL) decodes it instead, a frame at a time, into
 * cache_dir/KEY.frames.npy once and maps that; KEY (ssvae_video_key) hashes
 * the video's real path and its files' names, sizes, modification times
 * and inodes, so a changed video gets a new cache file and an unchanged
 * one reuses its own. *cache_state (may be NULL): 0 no cache used, 1 the
 * cache was reused, 2 written. cache_dir NULL: ssvae_video_read. */
int ssvae_video_open(const char *path, const char *cache_dir, ssvae_array *frames,
                     int *quantised, int *cache_state, ssvae_error *err);
/* 16 hex digits naming the video at path as it is now (see above). */
int ssvae_video_key(const char *path, char key[17], ssvae_error *err);

/* ------------------------------------------------------------------------ */
/* safetensors checkpoints: 8-byte little-endian header length, a JSON       */
/* header (parsed with cJSON), then raw little-endian tensor bytes.          */
/* Only F32 tensors are written and read.                                    */
/* ------------------------------------------------------------------------ */

typedef struct ssvae_tensor {
    char *name;                  /* owned when read; borrowed when written */
    int ndim;
    int64_t shape[SSVAE_MAXDIM];
    float *data;                 /* owned when read; borrowed when written */
} ssvae_tensor;

typedef struct ssvae_meta {
    char *key, *value;           /* "__metadata__" entries (strings) */
} ssvae_meta;

typedef struct ssvae_checkpoint {
    int ntensors;
    ssvae_tensor *tensors;       /* owned */
    int nmeta;
    ssvae_meta *meta;            /* owned */
} ssvae_checkpoint;

/* Writes tensors and metadata through a temporary file renamed into place. */
int ssvae_st_write(const char *path, const ssvae_tensor *tensors, int ntensors,
                   const ssvae_meta *meta, int nmeta, ssvae_error *err);
/* Reads a whole file. Rejects (one line naming the file): a header length
 * larger than the file, a header that is not a JSON object, unknown dtypes,
 * bad shapes, offsets outside the data or not matching the shape, overlapping
 * or duplicate tensors, non-string metadata. */
int ssvae_st_read(const char *path, ssvae_checkpoint *out, ssvae_error *err);
void ssvae_st_free(ssvae_checkpoint *ck);
/* The tensor called name, or NULL. */
const ssvae_tensor *ssvae_st_find(const ssvae_checkpoint *ck, const char *name);
/* The metadata value for key, or NULL. */
const char *ssvae_st_meta(const ssvae_checkpoint *ck, const char *key);

/* ------------------------------------------------------------------------ */
/* The moving-balls data set (SPEC section 1)                                */
/* ------------------------------------------------------------------------ */

#define SSVAE_MAXBALLS 8

typedef struct ssvae_balls_config {
    int frames;            /* T, default 900 */
    int height, width;     /* default 256 x 256 */
    int nballs;            /* K, default 3 */
    double radius;         /* default 16 px */
    double step;           /* distance moved a frame, default 32 px */
    double noise_deg;      /* initial turning noise half-range, default 2 */
    uint8_t colours[SSVAE_MAXBALLS][3]; /* default coral, sea green, royal blue,
                                          * then gold, orchid, turquoise, near
                                          * white, indian red */
    uint64_t seed;         /* default 1 */
} ssvae_balls_config;

void ssvae_balls_default(ssvae_balls_config *cfg);

/* Generates the video. frames: (T, H, W, 3) uint8, black background, hard
 * disks; centres: (T, K, 2) float, (x, y) in pixels; stuck (may be NULL):
 * (T, K), 1 where the ball could not move into frame t. Returns -1 with a
 * message if the configuration is impossible (balls do not fit, etc.). */
int ssvae_balls_generate(const ssvae_balls_config *cfg, uint8_t *frames,
                         float *centres, uint8_t *stuck, ssvae_error *err);

/* ------------------------------------------------------------------------ */
/* Priors (critics). log f(z, z') defines P(z'|z) ∝ Q(z') f(z, z').           */
/* ------------------------------------------------------------------------ */

typedef enum ssvae_prior_kind {
    SSVAE_PRIOR_GAUSSIAN,      /* log f = -|z - z'|^2 / (2 L^2), theta = [log L]  (Eq. 36) */
    SSVAE_PRIOR_LINEAR,        /* log f = z^T W z',  theta = W (D x D, row-major) (Eq. 5)  */
    SSVAE_PRIOR_COSINE,        /* log f = kappa cos(z, z'), theta = [log kappa] (von Mises-Fisher) */
    SSVAE_PRIOR_GAUSSIAN_DIAG, /* log f = -sum_d (z_d - z'_d)^2 / (2 L_d^2), theta = log L (D) */
    SSVAE_PRIOR_STUDENT_T,     /* log f = -(nu + D)/2 log(1 + |z - z'|^2 / (nu L^2)), theta = [log L, log nu] */
    SSVAE_PRIOR_DYNAMICS,      /* P(z'|z) = N(z'; A z + b, diag sigma^2), theta = [A (D x D), b (D), log sigma (D)] */
    SSVAE_PRIOR_MLP,           /* log f = MLP([z, z']), one tanh hidden layer */
    SSVAE_PRIOR_HINGE,         /* C-SWM's energy: -|z - z'|^2 with a hinge loss on the negatives (not InfoNCE) */
    SSVAE_PRIOR_COUNT
} ssvae_prior_kind;

struct ssvae_train_config; /* the recipe (below): what a prior starts from */

/* One prior (critic), a row of the table in src/priors/priors.c. Latents
 * z, z' reach it in the prior's units (z * units, ssvae_model_config).
 * Every op is required except `loss`. */
typedef struct ssvae_prior_ops {
    const char *name;        /* "gaussian", "linear", ... */
    const char *density;     /* the P(z'|z) it stands for, one line for humans */
    const char *choose;      /* when to choose it, one line for humans */
    int (*nparams)(int D);   /* length of theta */
    /* Where training starts: sets theta from the recipe and the first
     * batch's latents z, zp (B, D), drawing from rng if the start is random,
     * and returns the scale it chose (the run's "init" value: L0, W0, ...). */
    double (*init)(float *theta, const struct ssvae_train_config *cfg,
                   const float *z, const float *zp, int B, int D, ssvae_rng *rng);
    /* frozen (theta's length) arrives all 0: sets 1 for the entries the
     * recipe holds fixed (a fixed length scale, student-t's nu). */
    void (*freeze)(uint8_t *frozen, const struct ssvae_train_config *cfg, int D);
    /* s (B, B): s[i*B + j] = log f(z_i, z'_j); z, zp: (B, D) */
    void (*logits)(float *s, const float *theta, const float *z,
                   const float *zp, int B, int D);
    /* Accumulates (+=) dz, dzp (B, D) and dtheta from ds (B, B). Any of
     * dz, dzp, dtheta may be NULL when not wanted. */
    void (*logits_backward)(float *dz, float *dzp, float *dtheta,
                            const float *ds, const float *theta,
                            const float *z, const float *zp, int B, int D);
    /* One-line description of the learned parameters, e.g. "L=0.0213". */
    void (*describe)(char *buf, size_t len, const float *theta, int D);
    /* The loss over the logits and, if ds is not NULL, dloss/ds (B, B),
     * overwritten. NULL: InfoNCE (ssvae_infonce), whose log B - loss is an
     * ELBO; a prior with its own loss has no ELBO (reported as NaN). */
    double (*loss)(float *ds, const float *s, int B);
} ssvae_prior_ops;

const ssvae_prior_ops *ssvae_prior_get(ssvae_prior_kind kind);
/* By name; returns -1 if the name is unknown. */
int ssvae_prior_lookup(const char *name, ssvae_prior_kind *kind);
/* The names of every prior in the table, comma-separated ("gaussian,
 * linear, ..."), into buf; returns buf. */
const char *ssvae_prior_names(char *buf, size_t len);
/* The batch loss of a prior over its logits s (B, B), ds as in its ops'
 * loss (InfoNCE when the prior has none). */
double ssvae_prior_loss(const ssvae_prior_ops *ops, float *ds, const float *s, int B);
/* The number of priors in the table (SSVAE_PRIOR_COUNT), for bindings that
 * list them: kinds 0 .. ssvae_prior_count() - 1. */
int ssvae_prior_count(void);

/* ------------------------------------------------------------------------ */
/* InfoNCE loss                                                              */
/* ------------------------------------------------------------------------ */

/* loss = mean_i [ -s_ii + log sum_j exp s_ij ] over s (B, B), with a
 * max-shifted log-sum-exp. If ds is not NULL it receives dloss/ds (B, B)
 * (overwritten, not accumulated). log B - loss is the ELBO estimate (nats). */
double ssvae_infonce(float *ds, const float *s, int B);

/* ------------------------------------------------------------------------ */
/* Optimisers over one flat parameter buffer                                 */
/* ------------------------------------------------------------------------ */

typedef enum ssvae_optim_kind { SSVAE_SGD, SSVAE_ADAM } ssvae_optim_kind;

typedef struct ssvae_optim {
    ssvae_optim_kind kind;
    double lr;
    double momentum;          /* SGD only; 0 = plain SGD */
    double beta1, beta2, eps; /* Adam; defaults 0.9, 0.999, 1e-8 */
    int64_t step;             /* updates taken */
    size_t n;                 /* parameters */
    float *m, *v;             /* state (n each), owned */
} ssvae_optim;

void ssvae_optim_init(ssvae_optim *opt, ssvae_optim_kind kind, double lr, size_t n);
void ssvae_optim_free(ssvae_optim *opt);
/* One update of params (n) from grads (n). frozen (n, may be NULL): entries
 * with a nonzero flag are left untouched. */
void ssvae_optim_step(ssvae_optim *opt, float *params, const float *grads,
                      const uint8_t *frozen);
int ssvae_optim_lookup(const char *name, ssvae_optim_kind *kind);

/* ------------------------------------------------------------------------ */
/* Linear probe and direct error (SPEC section 4)                            */
/* ------------------------------------------------------------------------ */

typedef struct ssvae_probe {
    int D;         /* inputs (latents) */
    int P;         /* outputs (2K coordinates) */
    double *coef;  /* (D + 1, P): row D is the bias; owned */
} ssvae_probe;

/* Least squares with a bias from x (T, D) to y (T, P), in double precision
 * (Householder QR on standardised columns). Fails if T < D + 1 or if x or
 * y holds a NaN or an infinity. A
 * rank-deficient x is handled with the minimum-norm solution of the
 * well-determined part (constant columns get zero weight). */
int ssvae_probe_fit(ssvae_probe *probe, const float *x, const float *y,
                    int T, int D, int P, ssvae_error *err);
void ssvae_probe_apply(const ssvae_probe *probe, const float *x, int T, float *yhat);
void ssvae_probe_free(ssvae_probe *probe);

/* Mean Euclidean distance, per ball and frame, between pred and truth, both
 * (T, K, 2) in the same units; scaled by scale_x, scale_y first (e.g. W, H
 * to turn normalised coordinates into pixels). */
double ssvae_mean_distance(const float *pred, const float *truth, int T, int K,
                           double scale_x, double scale_y);

/* Direct error: map k's centre of mass (z[:, 2k], z[:, 2k+1], normalised)
 * read as a ball position in pixels. perm (K) receives the pairing map k ->
 * ball perm[k] with the smallest mean distance on (z_fit, c_fit); the error
 * is then measured on (z_eval, c_eval). Centres are (T, K, 2) pixels. */
double ssvae_direct_error(const float *z_fit, const float *c_fit, int T_fit,
                          const float *z_eval, const float *c_eval, int T_eval,
                          int K, int W, int H, int *perm);

/* Chance level: predict every ball at its mean training position. */
double ssvae_chance_error(const float *c_fit, int T_fit, const float *c_eval,
                          int T_eval, int K);

/* ------------------------------------------------------------------------ */
/* The model: the encoder of Fig. 2 and a head (a prior, or the supervised    */
/* baseline's linear D -> D layer). Parameters, gradients and the frozen     */
/* mask are flat buffers with named pointers into them.                      */
/* ------------------------------------------------------------------------ */

typedef struct ssvae_model_config {
    int C, H, W;           /* input frames: channels, height, width */
    int F;                 /* maps after the first convolution, default 6 */
    int K;                 /* maps after the second, one per object; D = 2K */
    int supervised;        /* 1: linear head on the true centres; 0: a prior */
    ssvae_prior_kind prior;
    double units;          /* latents given to the prior are z * units; 1 =
                            * normalised coordinates, W = pixels */
} ssvae_model_config;

/* Defaults: 3 x 256 x 256 input, F = 6, K = 3, gaussian prior, units 1. */
void ssvae_model_config_default(ssvae_model_config *cfg);

struct ssvae_acts; /* activation buffers, private to encoder.c */

typedef struct ssvae_model {
    ssvae_model_config cfg;
    int D;                 /* latents, 2K */
    size_t nparams;        /* encoder + head */
    float *params;         /* (nparams), owned */
    float *grads;          /* (nparams), owned */
    uint8_t *frozen;       /* (nparams), 1 = not trained; owned */
    float *conv1_w;        /* (F, C, 3, 3) */
    float *conv1_b;        /* (F) */
    float *bn1_w, *bn1_b;  /* (F) gamma, beta */
    float *conv2_w;        /* (K, F, 3, 3) */
    float *conv2_b;        /* (K) */
    float *bn2_w, *bn2_b;  /* (K) */
    float *head;           /* prior: theta (nhead); supervised: weight (D, D) then bias (D) */
    size_t nhead;
    float *stats;          /* running statistics, owned, not trained: */
    float *bn1_mean, *bn1_var; /* (F) */
    float *bn2_mean, *bn2_var; /* (K) */
    struct ssvae_acts *acts;   /* NULL until the first forward pass */
} ssvae_model;

/* Allocates the model and initialises it as PyTorch does: convolution
 * weights and biases uniform in +-1/sqrt(fan_in), batch norm gamma 1, beta 0,
 * running mean 0 and variance 1; the head is zero (training sets it). */
int ssvae_model_init(ssvae_model *m, const ssvae_model_config *cfg,
                     uint64_t seed, ssvae_error *err);
void ssvae_model_free(ssvae_model *m);

/* The patch moments of a frame: the second moments of its 3x3 patches,
 * from which a training forward pass takes the first batch norm's
 * statistics without a pass over the batch (docs/performance.md). They
 * depend on the frame alone, so a training run computes them once per
 * frame: ssvae_frame_moments_size(C) doubles a frame ((9C + 1)^2; 784 for
 * colour video, about 3% of a 256x256 frame's bytes). */
size_t ssvae_frame_moments_size(int C);
/* moments (T, ssvae_frame_moments_size(C)) of every frame of a
 * (T, H, W, C) uint8 video; exact up to one rounding, the same at any
 * thread count. */
void ssvae_video_moments(double *moments, const uint8_t *video, int T, int C,
                         int H, int W);
/* The moments of every frame of a (T, H, W, C) video as a (T,
 * ssvae_frame_moments_size(C)) float64 .npy file at path, mapped into out
 * (ssvae_npy_map): read if path exists (refused unless its shape fits),
 * else computed 256 frames at a time, written through a temporary file and
 * then mapped; *written (may be NULL) says which. mapped: video is a file
 * mapping, whose pages are dropped from resident memory as they are done
 * (ssvae_train_data.mapped). The name should say which video (the CLI
 * uses ssvae_video_key): nothing in the file does. */
int ssvae_moments_cache(const char *path, const uint8_t *video, int T, int C, int H, int W,
                        int mapped, ssvae_array *out, int *written, ssvae_error *err);
/* Encodes N frames given as pointers, frames[n] (H, W, C) uint8 each, into
 * z (N, D); otherwise as ssvae_model_forward (which calls it). Lets one
 * batch take frames from two videos (paired data). With train = 1,
 * moments[n] are the frames' patch moments (ssvae_video_moments), or
 * moments (or any moments[n]) NULL to have them computed for this pass,
 * which costs about as much as the pass; and the backward reads the
 * frames again: they must stay in place until ssvae_model_backward has
 * run. */
void ssvae_model_forward_frames(ssvae_model *m, const uint8_t *const *frames,
                                const double *const *moments, int N, int train,
                                float *z);
/* Encodes N frames video[idx[n]] of a (T, H, W, C) uint8 video into z (N, D).
 * train = 1: batch statistics, running statistics updated, activations kept
 * for ssvae_model_backward (which reads the video again: keep it in place
 * until then); train = 0: running statistics. N is any size
 * (buffers grow to the largest N seen). */
void ssvae_model_forward(ssvae_model *m, const uint8_t *video, const int *idx,
                         int N, int train, float *z);
/* Accumulates into m->grads the gradient of the loss given dz (N, D) for the
 * last training forward pass. */
void ssvae_model_backward(ssvae_model *m, const float *dz);
/* z (T, D) for every frame of a video, evaluation mode, in chunks. */
void ssvae_model_encode(ssvae_model *m, const uint8_t *video, int T, float *z);
/* The K maps of one frame (H, W, C) uint8, evaluation mode: maps (K, H, W)
 * receives the sigmoid planes whose centres of mass are the latents, and z
 * (D, may be NULL) those latents, the same as ssvae_model_encode's. */
void ssvae_model_maps(ssvae_model *m, const uint8_t *frame, float *maps, float *z);

/* Checkpoints (safetensors, PyTorch names: conv1.weight, bn1.running_mean,
 * ...; metadata: format, version, prior, units, shapes). */
int ssvae_model_save(const ssvae_model *m, const char *path,
                     const ssvae_meta *extra, int nextra, ssvae_error *err);
int ssvae_model_load(ssvae_model *m, const char *path, ssvae_error *err);

/* ------------------------------------------------------------------------ */
/* Training (SPEC section 4)                                                 */
/* ------------------------------------------------------------------------ */

typedef struct ssvae_train_config {
    ssvae_optim_kind optim; /* default SGD */
    double lr;              /* default 0.005 */
    double momentum;        /* SGD momentum, default 0 */
    int epochs;             /* default 30 */
    int batch;              /* pairs a batch, default 30 */
    int offset;             /* pairs are frames (t, t + offset), default 1 */
    uint64_t seed;          /* initialisation and shuffling, default 1 */
    double L0;              /* gaussian family: initial L (or sigma); <= 0
                             * means from the data (RMS |z - z'| over the
                             * first batch's pairs) */
    int learn_L;            /* 1 learns the prior's scale (L, sigma, kappa),
                             * 0 holds it at its start */
    double W0;              /* linear: W = W0 I; cosine: kappa = W0; <= 0
                             * means scaled so the first batch's logits
                             * have unit spread */
    double nu;              /* student-t: degrees of freedom, default 1 */
    double bn2_gain;        /* the last batch norm's starting gamma and beta,
                             * default 1 and 0 (PyTorch's). The maps are */
    double bn2_bias;        /* sigmoid(gain x + bias): a negative bias starts
                             * them near 0 off the balls. Set on a fresh run
                             * before its first forward pass, not on resume. */
} ssvae_train_config;

/* The paper's recipe: SGD, lr 0.005, 30 epochs, 30 pairs, L0 and W0 from
 * the data, L learned, bn2 gain 1 and bias 0. */
void ssvae_train_config_default(ssvae_train_config *cfg);

typedef struct ssvae_epoch_stats {
    int epoch, epochs;      /* 1-based epoch just finished, of epochs */
    double loss;            /* mean training loss over the epoch */
    double elbo;            /* mean log B - loss (nats); 0 for supervised */
    double log_b;           /* the ELBO's ceiling for full batches */
    double seconds;         /* this epoch's wall time */
    double elapsed;         /* since training started */
} ssvae_epoch_stats;

typedef void (*ssvae_progress_fn)(void *ctx, const ssvae_epoch_stats *st);

typedef struct ssvae_train_result {
    int epochs;
    double *loss, *elbo;    /* (epochs) per-epoch means, owned */
    double init_value;      /* the L0 or W0 scale the run started from */
    double seconds;
    int64_t steps;          /* optimiser steps taken by this run */
    uint64_t exchanged;     /* bytes this rank received from the others in those
                             * steps (all-gathers, docs/scaling.md); 0 on one rank */
} ssvae_train_result;

void ssvae_train_result_free(ssvae_train_result *r);

/* Trains m on the consecutive pairs of video (T, H, W, C). centres (T, K, 2)
 * pixels are needed only for a supervised model. progress (may be NULL) is
 * called after every epoch. Fails (message in err) on bad configuration or
 * when the loss becomes NaN or infinite. Same as ssvae_train_run with
 * data {video, NULL, T, centres} and no resume or checkpoint hook. */
int ssvae_train(ssvae_model *m, const ssvae_train_config *cfg,
                const uint8_t *video, int T, const float *centres,
                ssvae_progress_fn progress, void *ctx,
                ssvae_train_result *res, ssvae_error *err);

/* What a run trains on. */
typedef struct ssvae_train_data {
    const uint8_t *video;    /* (T, H, W, C) */
    const uint8_t *partners; /* NULL: pairs are (video[t], video[t + offset]);
                              * else (T, H, W, C) aligned with video: pair t
                              * is (video[t], partners[t]), offset unused.
                              * Not for the supervised baseline. */
    int T;
    const float *centres;    /* (T, K, 2) pixels; supervised only */
    const double *moments;   /* NULL, or (T, ssvae_frame_moments_size(C)) */
    const double *partner_moments; /* the frames' patch moments
                              * (ssvae_video_moments), e.g. mapped from a
                              * cache file; NULL: computed by the trainer,
                              * in memory, once a run */
    int mapped;              /* 1: video, partners and the moments given
                              * are read-only file mappings (ssvae_npy_map):
                              * after each step the trainer drops the
                              * batch's pages from its resident memory,
                              * which then stays flat in T. Never set it
                              * for memory of malloc: those pages would be
                              * lost (read back as zeros). */
} ssvae_train_data;

/* Where a run stands after some epochs: with the model and the recipe,
 * everything continuing it bit for bit needs. The shuffle is not stored as
 * a permutation: it is replayed from the seed (cheap), and the stream's
 * state after the replay must equal `shuffle`, which catches a resume on
 * other data or another seed. */
typedef struct ssvae_train_state {
    int epoch;              /* epochs finished */
    int64_t step;           /* optimiser updates taken */
    size_t n;               /* parameters (the model's nparams) */
    float *m, *v;           /* (n) optimiser state: SGD velocity or Adam
                             * moments (ssvae_optim's m, v) */
    ssvae_rng shuffle;      /* the shuffle stream after `epoch` epochs */
    double init_value;      /* the L0 or W0 scale the run started from */
    double *loss, *elbo;    /* (epoch) per-epoch means so far */
} ssvae_train_state;

/* Called after every epoch with the model and the state (both borrowed,
 * valid during the call). A nonzero return stops training; the hook fills
 * err and ssvae_train_run returns -1 with it. */
typedef int (*ssvae_epoch_fn)(void *ctx, const ssvae_model *m,
                              const ssvae_train_state *st, ssvae_error *err);

/* The training loop in full: data as above; resume (may be NULL) continues
 * a run whose model m and state came from ssvae_train_load, for the epochs
 * from resume->epoch + 1 to cfg->epochs (the head is not re-initialised,
 * the shuffle is replayed and checked); on_epoch (may be NULL) runs after
 * progress each epoch. cfg must be the run's recipe (ssvae_train_load
 * returns it); only cfg->epochs may differ. res holds every epoch's loss,
 * the resumed ones included. A run stopped after epoch e and resumed gives
 * bit-identical parameters, latents and losses to one never stopped. */
int ssvae_train_run(ssvae_model *m, const ssvae_train_config *cfg,
                    const ssvae_train_data *data, const ssvae_train_state *resume,
                    ssvae_progress_fn progress, ssvae_epoch_fn on_epoch, void *ctx,
                    ssvae_train_result *res, ssvae_error *err);

/* A checkpoint that can be resumed: the model's tensors and metadata (as
 * ssvae_model_save, extra entries appended), plus tensors "optim.m",
 * "optim.v" (n) and metadata "epoch", "optim_step", "rng" (the shuffle
 * stream, 64 hex digits), "init_value", "losses", "elbos" (the per-epoch
 * means, %.17g, comma-separated) and the recipe as "train.*" entries
 * (docs/checkpoints.md; a file without train.bn2_gain, train.bn2_bias
 * reads them as 1 and 0). Written through a temporary file renamed into
 * place. */
int ssvae_train_save(const char *path, const ssvae_model *m,
                     const ssvae_train_config *cfg, const ssvae_train_state *st,
                     const ssvae_meta *extra, int nextra, ssvae_error *err);
/* Reads such a checkpoint: the model (as ssvae_model_load), the recipe
 * into cfg and the state into st (owned: ssvae_train_state_free). A plain
 * model checkpoint, without the training entries, is rejected ("not a
 * resumable checkpoint"). On failure nothing is left allocated. */
int ssvae_train_load(const char *path, ssvae_model *m, ssvae_train_config *cfg,
                     ssvae_train_state *st, ssvae_error *err);
void ssvae_train_state_free(ssvae_train_state *st);

/* ------------------------------------------------------------------------ */
/* Evaluation of a trained encoder (SPEC section 4)                          */
/* ------------------------------------------------------------------------ */

typedef struct ssvae_eval {
    double probe_train, probe_test;   /* linear probe, mean px per ball and frame */
    double direct_train, direct_test; /* maps read as positions, px */
    double chance_test;               /* predicting the training mean, px */
    int perm[SSVAE_MAXBALLS];         /* map k -> ball perm[k] (direct error) */
    double direct_ball[SSVAE_MAXBALLS]; /* direct test error of ball b's map, px */
    int found;                        /* balls whose map's direct test error is
                                       * under SSVAE_FOUND_PX */
} ssvae_eval;

/* A map has found its ball when it reads the ball's position to within this
 * many pixels on the held-out video (a quarter of a ball's diameter). */
#define SSVAE_FOUND_PX 8.0

/* Encodes both videos (T, H, W, C) with m (evaluation mode), fits the probe
 * and the pairing on the training video and scores both. z_train (T_train,
 * D) and z_test (T_test, D) receive the latents if not NULL. */
int ssvae_evaluate(ssvae_model *m, const uint8_t *train_video,
                   const float *train_centres, int T_train,
                   const uint8_t *test_video, const float *test_centres,
                   int T_test, float *z_train, float *z_test, ssvae_eval *out,
                   ssvae_error *err);
/* The same scores from latents already computed: z_train (T_train, 2K) and
 * z_test (T_test, 2K) normalised, as the encoder writes them; centres
 * (T, K, 2) px of frames W x H. ssvae_evaluate is this after encoding. */
int ssvae_evaluate_latents(const float *z_train, const float *train_centres,
                           int T_train, const float *z_test,
                           const float *test_centres, int T_test, int K, int W,
                           int H, ssvae_eval *out, ssvae_error *err);

/* ------------------------------------------------------------------------ */
/* Figures (paper Fig. 1)                                                    */
/* ------------------------------------------------------------------------ */

/* The predictive map of Fig. 1D/E: P(z'|z) ∝ Q(z') f(z, z') for one map k,
 * Q(z') uniform over the image. For every pixel (i, j), z' is z with map k's
 * coordinates set to ((j + 0.5) / W, (i + 0.5) / H); both are multiplied by
 * m->cfg.units and given to the prior's logits op, and out (H, W) receives
 * the max-shifted softmax of log f over all pixels (sums to 1). z (D) is in
 * normalised coordinates, as the encoder writes it. Any prior in the table
 * works. Fails for a supervised model, k outside [0, K) or a non-finite z. */
int ssvae_predictive_map(const ssvae_model *m, const float *z, int k,
                         float *out, ssvae_error *err);

typedef struct ssvae_figure_options {
    int frame;             /* held-out frame of panels D/E; -1: the first where
                            * the ball is at least 64 px from every edge */
    int ball;              /* ball of panels D/E, default 0 (coral) */
    double scale;          /* panel size factor, default 1 */
    const char *const *pool; /* more run folders whose results.json rows join */
    int npool;             /* panel C's mean and spread */
} ssvae_figure_options;

void ssvae_figure_options_default(ssvae_figure_options *opt);

/* Draws Figure 1 from a `ssvae demo` output folder run_dir (results.json,
 * models/, latents/, data/) into out_dir (created if needed): panel_a.png
 * ... panel_e.png, curves.png and figure1.png (all panels composed). All
 * inputs are read and every picture drawn before anything is written; the
 * files go through temporaries renamed at the end, so a failure leaves no
 * partial file. If written is not NULL it receives the number of files. */
int ssvae_figure(const char *run_dir, const char *out_dir,
                 const ssvae_figure_options *opt, int *written, ssvae_error *err);

/* ------------------------------------------------------------------------ */
/* Pictures of what a model learned, on any video (`ssvae show`)             */
/* ------------------------------------------------------------------------ */

typedef struct ssvae_show_options {
    int nframes;           /* frames drawn, spread evenly over the video; default 4 */
    int frame;             /* -1: spread; else the first drawn, the rest follow it */
    double scale;          /* picture size factor, default 1 */
} ssvae_show_options;

void ssvae_show_options_default(ssvae_show_options *opt);

/* Draws what the model m learned on a video (T, H, W, C) uint8 of the
 * model's frame size and channels (any; grey and colour are shown as
 * such), with no ground truth needed, into out_dir (created if needed):
 *   maps.png        the drawn frames, each of the K maps overlaid in its own
 *                   colour, its centre of mass (the latents) marked;
 *   tracks.png      the latents of every frame as one track per map, drawn
 *                   on a still frame;
 *   predictive.png  (a prior, not the supervised baseline) each map's
 *                   predictive map P(z'|z) (ssvae_predictive_map) for the
 *                   drawn frames, with where the encoder reads it next;
 *   decoded.png     (centres (T, Kc, 2) px given, else NULL) the linear
 *                   probe fitted on this video's latents, decoded against
 *                   the true positions, and its mean error.
 * Everything is drawn in memory first, then written through temporaries
 * renamed at the end: a failure leaves no partial file. written (may be
 * NULL) receives the number of files. */
int ssvae_show(ssvae_model *m, const uint8_t *video, int T, const float *centres,
               int Kc, const char *out_dir, const ssvae_show_options *opt,
               int *written, ssvae_error *err);

/* One model's panel in ssvae_figure_maps. */
typedef struct ssvae_map_entry {
    const char *name;          /* the panel's title, e.g. the prior's name */
    const ssvae_model *model;  /* a prior's model (not supervised) */
    const float *z;            /* (D) its latents of the frame, normalised */
    int map;                   /* the map k to draw (the one paired with the ball) */
} ssvae_map_entry;

/* Fig. 1D/E for n models side by side (four to a row) in one PNG at path
 * (through a temporary renamed into place): over the frame (H, W, C)
 * uint8, dimmed, each model's predictive map of its map k
 * (ssvae_predictive_map), the ball's position now and next (x, y px) and
 * the map's own reading. scale as in ssvae_figure_options. */
int ssvae_figure_maps(const char *path, const ssvae_map_entry *entries, int n,
                      const uint8_t *frame, int C, int H, int W, const float *now,
                      const float *next, double scale, ssvae_error *err);

/* A grouped bar chart in one PNG at path: n groups (groups[g] under each),
 * nseries (1..4) bars a group, bar k of group g value[k * n + g] with an
 * error bar of +-sd[k * n + g] (sd may be NULL), a legend naming the
 * series, and a dashed horizontal line at line (none if line <= 0) named
 * line_label. Non-finite values are refused. */
int ssvae_figure_bars(const char *path, const char *title, const char *ylabel,
                      const char *const *groups, int n, const char *const *series,
                      int nseries, const double *value, const double *sd, double line,
                      const char *line_label, ssvae_error *err);

#ifdef __cplusplus
}
#endif
#endif /* SSVAE_H */
