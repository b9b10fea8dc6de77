# ssvae — build the library, the program and the tests.
#   make            library (build/libssvae.a) and program (build/ssvae)
#   make test       unit tests, then the same tests under ASan + UBSan
#   make demo       the paper's experiment end to end (ssvae demo)
#   make bench      speed figures (ssvae bench)
#   make mpi        the MPI build, build-mpi/ssvae (docs/scaling.md)
#   make deps       install the Debian packages the build needs (root)
#   make fuzz       libFuzzer harnesses for the file readers (docs/fuzzing.md)
#   make shared     the library as build/libssvae.so (position-independent objects)
#   make python     the Python package: python/ssvae with libssvae.so beside it

CC      ?= cc
PKGS    := libpng libcjson plplot
# -std=c11 turns FMA contraction off; we ask for it back on purpose: the
# convolutions are FMA chains, results stay deterministic for one binary.
# No -ffast-math: it breaks NaN checks and reassociates reductions.
CFLAGS  ?= -O3 -march=native
override CFLAGS += -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wshadow \
           -Wno-unused-parameter -ffp-contract=fast -fopenmp -Iinclude -Isrc \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
override LDFLAGS += -fopenmp
# MPI=1 (make mpi): data-parallel training over Open MPI (src/dist.c,
# docs/scaling.md), built with mpicc; without it src/dist.c is a one-rank stub.
ifeq ($(MPI),1)
override CFLAGS += -DSSVAE_MPI
endif

BUILD   ?= build
LIB_SRC := $(sort $(shell find src -name '*.c' -not -path 'src/cli/*'))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
TESTS   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(sort $(wildcard tests/test_*.c)))
LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC))
PIC_OBJ := $(patsubst %.c,$(BUILD)/pic/%.o,$(LIB_SRC))
CLI_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRC))
HEADERS := $(shell find include src tests -name '*.h')

all: $(BUILD)/ssvae

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libssvae.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/ssvae: $(CLI_OBJ) $(BUILD)/libssvae.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The shared library for the Python package (ctypes): the same sources
# compiled a second time with -fPIC into their own folder, so the static
# library and the program stay as they are.
$(BUILD)/pic/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -c $< -o $@

$(BUILD)/libssvae.so: $(PIC_OBJ)
	$(CC) -shared $(LDFLAGS) $^ $(LDLIBS) -o $@

shared: $(BUILD)/libssvae.so

# The package finds its library beside its own files (python/ssvae/), so
# PYTHONPATH=python is all a user needs (docs/python.md).
python: $(BUILD)/libssvae.so $(BUILD)/ssvae
	install -m 755 $(BUILD)/libssvae.so python/ssvae/libssvae.so

# Debian's interpreter, the one python3-numpy and python3-pytest serve.
PYTHON ?= /usr/bin/python3

$(BUILD)/tests/%: tests/%.c $(BUILD)/libssvae.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libssvae.a $(LDLIBS) -o $@

# Every tests/test_*.c is its own program; tests/run.sh runs them all and
# prints one "N passed, N failed" line.
tests: $(TESTS) $(BUILD)/ssvae $(BUILD)/tests/test_mpi

# The MPI checks are a script (they start mpirun); it skips what needs
# build-mpi/ssvae when MPI is not installed.
$(BUILD)/tests/test_mpi: tests/test_mpi.sh
	@mkdir -p $(dir $@)
	cp $< $@ && chmod +x $@

test: deps-check
	$(MAKE) tests
	@if command -v mpicc >/dev/null; then $(MAKE) mpi; else echo "ssvae: no mpicc: the MPI tests are skipped (apt-get install libopenmpi-dev openmpi-bin)"; fi
	tests/run.sh $(BUILD)
	$(MAKE) test-python
	$(MAKE) test-sanitize

# The Python package's tests (tests/python/, pytest), against build/.
test-python: python
	PYTHON=$(PYTHON) BUILD=$(BUILD) tests/python.sh

# The same suite built with AddressSanitizer and UndefinedBehaviorSanitizer,
# in its own build folder. -O1 keeps it quick; UBSan errors are fatal.
# The program is rebuilt there too (build-san/ssvae): test_cli and
# test_faults run the ssvae beside their own binary, so the program-level
# malformed-input suite runs the sanitized program.
test-sanitize:
	$(MAKE) BUILD=build-san CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	    LDFLAGS="-fsanitize=address,undefined" tests
	SSVAE_SANITIZED=1 tests/run.sh build-san

# deps-check first, then a fresh make: pkg-config's flags are read when make
# starts, so a build started before the packages were installed lacks them.
demo: deps-check
	$(MAKE) $(BUILD)/ssvae
	$(BUILD)/ssvae demo

# The MPI build: build-mpi/ssvae, to run under mpirun (docs/scaling.md).
mpi:
	@command -v mpicc >/dev/null || { echo "ssvae: mpicc not found; install libopenmpi-dev openmpi-bin (Debian)" >&2; exit 1; }
	$(MAKE) BUILD=build-mpi CC=mpicc MPI=1 build-mpi/ssvae

bench: $(BUILD)/ssvae
	$(BUILD)/ssvae bench

# Fuzzing (docs/fuzzing.md): one libFuzzer harness per reader, built with
# clang into build-fuzz/ (the library compiled there with the same flags).
FUZZ_CC      ?= clang
# -Wno-pass-failed: at -O1 clang does not vectorise the "omp simd" loops, and says so.
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=undefined -Wno-pass-failed
FUZZERS      := npy safetensors model resume png pngdir
FUZZ_TIME    ?= 20

# Builds build-fuzz/fuzz/fuzz_NAME for each reader NAME in FUZZERS.
fuzz: deps-check
	$(MAKE) BUILD=build-fuzz CC=$(FUZZ_CC) CFLAGS="$(FUZZ_CFLAGS)" \
	    LDFLAGS="-fsanitize=fuzzer,address,undefined" $(FUZZERS:%=build-fuzz/fuzz/fuzz_%)

build-fuzz/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_file.h fuzz/png_crc.h build-fuzz/libssvae.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< build-fuzz/libssvae.a $(LDLIBS) -lz -o $@

# Each harness for FUZZ_TIME seconds on its seed corpus; fails on a crash.
fuzz-short: fuzz
	fuzz/run.sh $(FUZZ_TIME) $(FUZZERS)

# Rewrites the seed corpus in fuzz/corpus/ (fuzz/make_corpus.c).
fuzz-corpus: $(BUILD)/libssvae.a
	@mkdir -p $(BUILD)/fuzz
	$(CC) $(CFLAGS) $(LDFLAGS) fuzz/make_corpus.c $(BUILD)/libssvae.a $(LDLIBS) -lz -o $(BUILD)/fuzz/make_corpus
	$(BUILD)/fuzz/make_corpus fuzz/corpus

# Installs the Debian packages the build and the tests need (run as root).
deps:
	apt-get update && apt-get install -y --no-install-recommends \
	    build-essential pkg-config libpng-dev libcjson-dev \
	    libplplot-dev plplot-driver-cairo \
	    python3-numpy python3-pytest \
	    clang libclang-rt-14-dev libomp-14-dev   # for make fuzz

# Before make demo and make test: installs the missing packages when run as
# root (a fresh machine or container), otherwise fails early with the
# command to run.
deps-check:
	@pkg-config --exists $(PKGS) && command -v $(CC) >/dev/null || \
	{ if [ "$$(id -u)" = 0 ]; then echo "ssvae: installing the build's packages (make deps)" >&2; $(MAKE) deps; \
	  else echo "ssvae: missing libraries ($(PKGS)); run: sudo make deps" >&2; exit 1; fi; }

clean:
	rm -rf build build-san build-fuzz build-mpi python/ssvae/libssvae.so

.PHONY: all tests test test-python test-sanitize shared python mpi demo bench fuzz fuzz-short fuzz-corpus deps deps-check clean
