/*
 * fuzz_resume.c — libFuzzer harness for the resumable checkpoint reader
 * (ssvae_train_load, on top of the model loader): the recipe's "train.*"
 * entries, the epoch, step, shuffle state and per-epoch losses, and the
 * optimiser's tensors checked against the model. On success the model and
 * state are freed again; on failure the error must be one line naming the
 * file and nothing may be left allocated.
 */
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size);
    ssvae_model m;
    ssvae_train_config cfg;
    ssvae_train_state st;
    ssvae_error err = {{0}};
    if (ssvae_train_load(path, &m, &cfg, &st, &err) != 0) {
        fuzz_check_error(path, &err);
        if (m.params || st.m || st.v || st.loss || st.elbo) abort();
        return 0;
    }
    fuzz_touch(m.params, m.nparams * sizeof(float));
    fuzz_touch(st.m, st.n * sizeof(float));
    fuzz_touch(st.v, st.n * sizeof(float));
    if (st.epoch > 0) {
        fuzz_touch(st.loss, (size_t)st.epoch * sizeof(double));
        fuzz_touch(st.elbo, (size_t)st.epoch * sizeof(double));
    }
    ssvae_train_state_free(&st);
    ssvae_model_free(&m);
    return 0;
}
