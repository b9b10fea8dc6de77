# ssvae — build the library, the program and the tests.
#   make            library (build/libssvae.a) and program (build/ssvae)
#   make test       unit tests, then the same tests under ASan + UBSan
#   make demo       the paper's experiment end to end (ssvae demo)
#   make bench      speed figures (ssvae bench)
#   make deps       install the Debian packages the build needs (root)

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

BUILD   ?= build
LIB_SRC := $(sort $(shell find src -name '*.c' -not -path 'src/cli/*'))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
TESTS   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(sort $(wildcard tests/test_*.c)))
LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC))
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

$(BUILD)/tests/%: tests/%.c $(BUILD)/libssvae.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libssvae.a $(LDLIBS) -o $@

# Every tests/test_*.c is its own program; tests/run.sh runs them all and
# prints one "N passed, N failed" line.
tests: $(TESTS) $(BUILD)/ssvae

test: deps-check
	$(MAKE) tests
	tests/run.sh $(BUILD)
	$(MAKE) test-sanitize

# The same suite built with AddressSanitizer and UndefinedBehaviorSanitizer,
# in its own build folder. -O1 keeps it quick; UBSan errors are fatal.
test-sanitize:
	$(MAKE) BUILD=build-san CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	    LDFLAGS="-fsanitize=address,undefined" tests
	SSVAE_SANITIZED=1 tests/run.sh build-san

demo: deps-check $(BUILD)/ssvae
	$(BUILD)/ssvae demo

bench: $(BUILD)/ssvae
	$(BUILD)/ssvae bench

# Installs the Debian packages the build and the tests need (run as root).
deps:
	apt-get update && apt-get install -y --no-install-recommends \
	    build-essential pkg-config libpng-dev libcjson-dev \
	    libplplot-dev plplot-driver-cairo

# Fails early, with the command to run, when a needed package is missing.
deps-check:
	@pkg-config --exists $(PKGS) || { echo "ssvae: missing libraries ($(PKGS)); run: sudo make deps" >&2; exit 1; }

clean:
	rm -rf build build-san

.PHONY: all tests test test-sanitize demo bench deps deps-check clean
