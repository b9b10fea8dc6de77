/*
 * fuzz_model.c — libFuzzer harness for the checkpoint loader
 * (ssvae_model_load, on top of the safetensors reader): metadata parsing,
 * the architecture it describes, and the tensors checked against it. On
 * success the model is freed again; on failure the error must be one line
 * naming the file.
 */
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size);
    ssvae_model m;
    ssvae_error err = {{0}};
    if (ssvae_model_load(&m, path, &err) != 0) {
        fuzz_check_error(path, &err);
        if (m.params) abort(); /* a failed load leaves nothing allocated */
        return 0;
    }
    fuzz_touch(m.params, m.nparams * sizeof(float));
    ssvae_model_free(&m);
    return 0;
}
