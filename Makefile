# ctlab — build, test and run the conntrack lab.  `make help` lists the targets.

CC      ?= cc
BUILD   := build
PREFIX  ?= /usr/local
# ctlab's version; --version adds the commit a git checkout was built from.
VERSION := 0.13.0

# Libraries (pkg-config names) and the Debian packages that provide them.
PKGS     := libnl-3.0 libnl-route-3.0 libnetfilter_conntrack libmnl libpcap libnftables jansson
TEST_PKGS:= check
DEB_PKGS := gcc make pkg-config iproute2 libnl-3-dev libnl-route-3-dev \
            libnetfilter-conntrack-dev libmnl-dev libpcap-dev libnftables-dev libjansson-dev check \
            valgrind python3 clang libclang-rt-14-dev \
            tshark python3-junitparser python3-jsonschema linux-source chromium tidy

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
           -Wmissing-prototypes -Wpointer-arith -Wundef -Wvla \
           -Wno-format-truncation  # messages are cut to their buffers on purpose
# Lazy (=) so pkg-config runs after `deps` has installed what was missing.
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Iharness -I. \
             $(shell pkg-config --cflags $(PKGS))
LDLIBS_ENGINE = $(shell pkg-config --libs $(PKGS)) -lpthread
LDLIBS_TEST   = $(LDLIBS_ENGINE) $(shell pkg-config --libs $(TEST_PKGS))

# The engine: every module source except the command line; it links into both
# the binary and the unit tests.
ENGINE_SRC := $(filter-out harness/cli/%,$(wildcard harness/*/*.c netns/*.c))
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(wildcard harness/cli/*.c))
TEST_SRC   := $(wildcard tests/test_*.c)
TEST_BIN   := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
HEADERS    := $(wildcard harness/*/*.h netns/*.h tests/*.h)

# The fuzzer (tests/fuzz_scenario.c, libFuzzer): the parser and the reason
# matcher, which need only these modules and no library.  Built with clang in
# its own directory so no gcc object is ever linked into it.  clang 14 does not
# know -Wformat-truncation; every other warning stays.  clang and its runtimes
# (libclang-rt-14-dev: libFuzzer, ASan, UBSan) are installed with DEB_PKGS.
FUZZ_CC       := clang
FUZZ_BUILD    := $(BUILD)/fuzz
FUZZ_SRC      := $(wildcard harness/lang/*.c) $(wildcard harness/packet/*.c) harness/base/vocab.c harness/base/safetext.c
FUZZ_OBJ      := $(FUZZ_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_BIN      := $(FUZZ_BUILD)/fuzz_scenario
# The capture reader (tests/fuzz_capture.c): what ctlab replay takes in.
FUZZ_CAPTURE_BIN := $(FUZZ_BUILD)/fuzz_capture
FUZZ_CAPTURES := $(wildcard tests/fuzz/captures/*)
FUZZ_CAPTURE_SEEDS = $(FUZZ_CAPTURES) $(wildcard tests/fixtures/*.pcap)
FUZZ_CAPTURE_TIME ?= 15
# Undefined behaviour aborts, so libFuzzer keeps the input as it does for ASan.
FUZZ_CFLAGS   := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1
FUZZ_ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(filter-out -Wno-format-truncation,$(WARN)) \
                  $(FUZZ_CFLAGS) -Iharness -I.
FUZZ_CORPUS   := $(FUZZ_BUILD)/corpus
FUZZ_REGRESSIONS := $(wildcard tests/fuzz/regressions/*)
FUZZ_SEEDS     = $(shell find scenarios tests -name '*.ct' -type f) $(FUZZ_REGRESSIONS)
FUZZ_TIME       ?= 600
FUZZ_CHECK_TIME ?= 30
# Real scenario files fit in -max_len; the RSS limit turns a runaway allocation
# into a finding rather than a swapping machine.
FUZZ_OPTS     := -max_len=65536 -rss_limit_mb=2048 -dict=tests/fuzz/scenario.dict

# ctlab itself under AddressSanitizer, LeakSanitizer and UBSan: the objects of
# `sanitize` (the same flags, the same directory), linked into $(ASAN_BUILD)/ctlab.
ASAN_BUILD  := $(BUILD)/asan
ASAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
# check SANITIZE=1 adds check-asan to check.
SANITIZE    ?=

# Lint: cppcheck over the C sources, shellcheck over every shell script.  Only
# warning, performance and portability findings and errors (cppcheck's style
# class is left to review); -D_GNU_SOURCE is the one
# configuration built, so no other #ifdef combination is checked.  posix.cfg
# knows the system calls (fd leaks, argument checks).  readdirCalled is
# suppressed: it recommends readdir_r, which glibc deprecates, and every
# directory stream here belongs to one thread, where readdir is safe.
# --check-level appeared in cppcheck 2.11 (whose default, "normal", analyses
# less than before); 2.10 has only the full analysis, so the option is passed
# only where it exists.
LINT_PKGS     := cppcheck shellcheck
CPPCHECK_OPTS  = --std=c11 --library=posix -D_GNU_SOURCE -Iharness -I. -Itests \
                 $(shell pkg-config --cflags-only-I $(PKGS) $(TEST_PKGS)) \
                 --enable=warning,performance,portability --suppress=readdirCalled \
                 --inline-suppr --error-exitcode=1 -q -j2 \
                 $(shell cppcheck --check-level=exhaustive --version >/dev/null 2>&1 && echo --check-level=exhaustive)
SHELL_SCRIPTS := $(wildcard tests/*.sh tests/fixtures/*.sh) .ci/run

# Soak: make check SOAK_RUNS times under a CPU load, concurrent runs, kills.
SOAK_RUNS ?= 10
SOAK_IDLE_RUNS ?= 20

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2)
endif

.PHONY: FORCE all deps run check layers unit integration sanitize check-asan valgrind lint lint-deps soak soak-idle \
        fuzz fuzz-check bench clean help install
.DEFAULT_GOAL := all

all: ctlab

# Installs missing build and run-time dependencies once per checkout.
$(BUILD)/.deps: Makefile
	$(Q)mkdir -p $(BUILD)
	$(Q)if ! pkg-config --exists $(PKGS) $(TEST_PKGS) 2>/dev/null || ! command -v ip >/dev/null \
	      || ! command -v valgrind >/dev/null || ! command -v python3 >/dev/null \
	      || ! command -v $(CC) >/dev/null || ! command -v $(FUZZ_CC) >/dev/null \
	      || ! command -v tshark >/dev/null || ! /usr/bin/python3 -c 'import junitparser, jsonschema' 2>/dev/null \
	      || ! command -v chromium >/dev/null || ! command -v tidy >/dev/null \
	      || ! ls /usr/src/linux-source-*.tar.xz >/dev/null 2>&1 \
	      || [ ! -e "$$($(FUZZ_CC) -print-file-name=libclang_rt.fuzzer-$$(uname -m).a)" ]; then \
	  echo "ctlab: installing build dependencies: $(DEB_PKGS)"; \
	  if [ "$$(id -u)" != 0 ]; then echo "ctlab: need root to apt-get install; run as root or install: $(DEB_PKGS)" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -q >/dev/null && apt-get install -y -q $(DEB_PKGS) >/dev/null || exit 1; \
	fi
	$(Q)touch $@

deps: $(BUILD)/.deps

# The version and commit, rewritten only when they change (so a commit
# rebuilds one object, and nothing when it is the same).
$(BUILD)/version.h: FORCE | $(BUILD)/.deps
	$(Q)c=$$(git rev-parse --short=12 HEAD 2>/dev/null); \
	  [ -z "$$c" ] || git diff --quiet HEAD 2>/dev/null || c="$$c-dirty"; \
	  printf '#define CTLAB_VERSION "%s"\n#define CTLAB_COMMIT "%s"\n' '$(VERSION)' "$$c" >$@.tmp; \
	  if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(BUILD)/harness/base/version.o: $(BUILD)/version.h
$(BUILD)/harness/base/version.o: ALL_CFLAGS += -include $(BUILD)/version.h
FORCE:

$(BUILD)/%.o: %.c $(HEADERS) | $(BUILD)/.deps
	$(call msg,CC,$<)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

ctlab: $(ENGINE_OBJ) $(CLI_OBJ)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_ENGINE)

# The same binary kept in its build directory (make BUILD=DIR DIR/ctlab), so
# that a sanitized one never replaces ./ctlab.
$(BUILD)/ctlab: $(ENGINE_OBJ) $(CLI_OBJ)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_ENGINE)

$(BUILD)/tests/%: tests/%.c $(ENGINE_OBJ) $(HEADERS) | $(BUILD)/.deps
	$(call msg,CC,$<)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(ENGINE_OBJ) $(LDLIBS_TEST)

## run: build and run the whole scenario suite (as root); results in results/latest/
run: ctlab
	./ctlab run --out auto

## unit: unprivileged unit tests (Check)
unit: $(TEST_BIN)
	$(Q)status=0; for t in $(TEST_BIN); do $$t || status=1; done; exit $$status

## integration: the scenario suite for real plus negative controls (root)
integration: ctlab $(BUILD)/tests/bench/mkcapture
	$(Q)tests/integration.sh ./ctlab

## sanitize: the unit tests again, built with AddressSanitizer and UBSan
sanitize:
	$(Q)$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CFLAGS="$(ASAN_CFLAGS)" unit

## check-asan: ctlab built with ASan and UBSan: the catalogue with every output, then the integration tests
check-asan:
	$(Q)$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CFLAGS="$(ASAN_CFLAGS)" $(ASAN_BUILD)/ctlab
	$(Q)tests/sanitized.sh $(ASAN_BUILD)/ctlab

## valgrind: the whole catalogue, -j1, under valgrind memcheck; any error or definite leak fails
valgrind: ctlab
	$(Q)tests/valgrind.sh ./ctlab

# Installs cppcheck and shellcheck the first time lint needs them.
lint-deps: $(BUILD)/.deps
	$(Q)if ! command -v cppcheck >/dev/null || ! command -v shellcheck >/dev/null; then \
	  echo "ctlab: installing lint tools: $(LINT_PKGS)"; \
	  if [ "$$(id -u)" != 0 ]; then echo "ctlab: need root to apt-get install; run as root or install: $(LINT_PKGS)" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -q >/dev/null && apt-get install -y -q $(LINT_PKGS) >/dev/null || exit 1; \
	fi

## layers: every include and every call points down the layers (docs/architecture.md), with mutants
layers: $(ENGINE_OBJ) $(CLI_OBJ)
	$(call msg,LAYERS,"harness netns")
	$(Q)tests/layers.sh . $(BUILD) && tests/layers.sh --mutants . $(BUILD) >/dev/null

## lint: cppcheck over harness/, netns/ and tests/*.c; shellcheck over every shell script
lint: lint-deps
	$(call msg,CPPCHK,"harness netns tests")
	$(Q)cppcheck $(CPPCHECK_OPTS) harness netns $(wildcard tests/*.c)
	$(call msg,SHCHK,"tests .ci/run")
	$(Q)shellcheck -x $(SHELL_SCRIPTS)

$(FUZZ_BUILD)/%.o: %.c $(HEADERS) | $(BUILD)/.deps
	$(call msg,FUZZCC,$<)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) -c -o $@ $<

$(FUZZ_BIN): tests/fuzz_scenario.c $(FUZZ_OBJ) $(HEADERS) | $(BUILD)/.deps
	$(call msg,FUZZCC,$<)
	$(Q)$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) -o $@ $< $(FUZZ_OBJ)

$(FUZZ_CAPTURE_BIN): tests/fuzz_capture.c $(FUZZ_OBJ) $(HEADERS) | $(BUILD)/.deps
	$(call msg,FUZZCC,$<)
	$(Q)$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) -o $@ $< $(FUZZ_OBJ)

# $(call fuzz_run,SECONDS,PER-INPUT-TIMEOUT,LOG[,BIN,CORPUS,SEEDS,OPTIONS]):
# fuzz from the corpus, seeded anew with every seed file (flattened names:
# several share a basename); the scenario parser's unless told otherwise.
# libFuzzer's progress goes to LOG; a crash or timeout leaves its input in
# $(FUZZ_BUILD)/artifacts/ and fails, with the end of the report shown.
define fuzz_run
	$(Q)mkdir -p $(or $(5),$(FUZZ_CORPUS)) $(FUZZ_BUILD)/artifacts
	$(Q)for f in $(or $(6),$(FUZZ_SEEDS)); do cp "$$f" "$(or $(5),$(FUZZ_CORPUS))/seed-$$(echo "$$f" | tr / _)"; done
	$(call msg,FUZZ,"$(or $(4),$(FUZZ_BIN)) for $(1) s: $(3)")
	$(Q)if ! $(or $(4),$(FUZZ_BIN)) $(or $(7),$(FUZZ_OPTS)) -timeout=$(2) -max_total_time=$(1) -print_final_stats=1 \
	      -artifact_prefix=$(FUZZ_BUILD)/artifacts/ $(or $(5),$(FUZZ_CORPUS)) >$(3) 2>&1; then \
	  tail -n 40 $(3); \
	  echo "ctlab: the fuzzer found a crash or timeout (input above, in $(FUZZ_BUILD)/artifacts/):" \
	       "keep it in tests/fuzz/regressions/ (scenarios) or tests/fuzz/captures/ (captures)," \
	       "named for what it shows, see tests/fuzz/README.md" >&2; \
	  exit 1; \
	fi
	$(Q)grep -a 'DONE ' $(3) | tail -n 1 || true
endef

# $(call fuzz_kept,BIN,FILES): every kept input must pass; its per-input
# timeout is generous so that a busy shared CI machine does not make it flaky.
define fuzz_kept
	$(Q)status=0; for f in $(2); do \
	  log=$(FUZZ_BUILD)/replay-$$(basename "$$f").log; \
	  if $(1) -timeout=25 -rss_limit_mb=2048 "$$f" >"$$log" 2>&1; then \
	    echo "ok $$f"; \
	  else \
	    tail -n 40 "$$log"; echo "not ok $$f" >&2; status=1; \
	  fi; \
	done; exit $$status
endef

FUZZ_CAPTURE_CORPUS := $(FUZZ_BUILD)/capture-corpus
FUZZ_CAPTURE_OPTS := -max_len=65536 -rss_limit_mb=2048

## fuzz: fuzz the scenario parser and reason matcher for FUZZ_TIME seconds (600), then the capture reader as long
fuzz: $(FUZZ_BIN) $(FUZZ_CAPTURE_BIN)
	$(call fuzz_run,$(FUZZ_TIME),10,$(FUZZ_BUILD)/fuzz.log)
	$(call fuzz_run,$(FUZZ_TIME),10,$(FUZZ_BUILD)/fuzz-capture.log,$(FUZZ_CAPTURE_BIN),$(FUZZ_CAPTURE_CORPUS),$(FUZZ_CAPTURE_SEEDS),$(FUZZ_CAPTURE_OPTS))

## fuzz-check: replay tests/fuzz/regressions and captures, then fuzz each for FUZZ_CHECK_TIME (30) and FUZZ_CAPTURE_TIME (15) seconds
fuzz-check: $(FUZZ_BIN) $(FUZZ_CAPTURE_BIN)
	$(call fuzz_kept,$(FUZZ_BIN),$(FUZZ_REGRESSIONS))
	$(call fuzz_kept,$(FUZZ_CAPTURE_BIN),$(FUZZ_CAPTURES))
	$(call fuzz_run,$(FUZZ_CHECK_TIME),25,$(FUZZ_BUILD)/fuzz-check.log)
	$(call fuzz_run,$(FUZZ_CAPTURE_TIME),25,$(FUZZ_BUILD)/fuzz-capture-check.log,$(FUZZ_CAPTURE_BIN),$(FUZZ_CAPTURE_CORPUS),$(FUZZ_CAPTURE_SEEDS),$(FUZZ_CAPTURE_OPTS))

## check: every test: lint, layers, unit, fuzz-check, integration, valgrind, then the unit tests under sanitizers (SANITIZE=1: and check-asan)
check: lint layers unit fuzz-check integration valgrind sanitize $(if $(filter 1,$(SANITIZE)),check-asan)

## soak: make check SOAK_RUNS (10) times under a CPU load on both cores, 3 concurrent suites, 70 kills
soak: ctlab
	$(Q)SOAK_RUNS=$(SOAK_RUNS) tests/soak.sh ./ctlab

## soak-idle: make check SOAK_IDLE_RUNS (20) times in a row, no load started; goes on where it stopped as make soak does
soak-idle: ctlab
	$(Q)SOAK_RUNS=$(SOAK_IDLE_RUNS) tests/soak.sh --idle ./ctlab

## bench: time the scenario suite, then the flood against hping3 and trafgen, then replay
bench: ctlab $(BUILD)/tests/bench/mkcapture
	$(Q)tests/bench.sh ./ctlab
	$(Q)tests/bench-flood.sh ./ctlab
	$(Q)tests/bench-replay.sh ./ctlab $(BUILD)/tests/bench/mkcapture

# What ctlab vm needs on the host: QEMU without its recommends (no network
# helpers, no GUI), a static busybox for the guest's initramfs, xz and zstd
# for the kernels' modules and images.
VM_DEB_PKGS := qemu-system-x86 busybox-static xz-utils zstd

.PHONY: vm-deps matrix

## vm-deps: install what ctlab vm needs (QEMU, busybox-static, xz, zstd)
vm-deps:
	$(Q)if ! command -v qemu-system-x86_64 >/dev/null || ! command -v xz >/dev/null \
	      || ! command -v zstd >/dev/null || ! dpkg -s busybox-static >/dev/null 2>&1; then \
	  echo "ctlab: installing what ctlab vm needs: $(VM_DEB_PKGS)"; \
	  if [ "$$(id -u)" != 0 ]; then echo "ctlab: need root to apt-get install; run as root or install: $(VM_DEB_PKGS)" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y --no-install-recommends $(VM_DEB_PKGS) >/dev/null \
	    || { apt-get update -q >/dev/null && apt-get install -y --no-install-recommends $(VM_DEB_PKGS) >/dev/null; } || exit 1; \
	fi

## matrix: the catalogue on the host, on Debian's 6.1 and 6.12 in QEMU, diffed, as one table; then tests/vm.sh (root)
matrix: vm-deps $(BUILD)/ctlab
	$(Q)tests/matrix.sh $(BUILD)/ctlab $(BUILD)/matrix
	$(Q)tests/vm.sh $(BUILD)/ctlab

install: ctlab
	install -D -m 0755 ctlab $(DESTDIR)$(PREFIX)/bin/ctlab
	install -d $(DESTDIR)$(PREFIX)/share/ctlab
	cp -r scenarios $(DESTDIR)$(PREFIX)/share/ctlab/

clean:
	rm -rf $(BUILD) ctlab

help:
	@echo 'ctlab targets:'
	@echo '  make            build ./ctlab (installs missing packages first)'
	@echo '  make run        build and run the whole scenario suite (root)'
	@echo '  make check      build and run every test (lint, unit, fuzz-check, integration as root, valgrind)'
	@echo '  make check SANITIZE=1  the same, then check-asan'
	@echo '  make unit       unit tests only (privileged parts skip without root)'
	@echo '  make sanitize   unit tests built with AddressSanitizer and UBSan'
	@echo '  make check-asan ctlab built with ASan and UBSan (build/asan/ctlab): the catalogue with'
	@echo '                  --json --junit --pcap, then the integration tests; any report fails'
	@echo '  make valgrind   the whole catalogue under valgrind memcheck (-j1); any error or'
	@echo '                  definite leak fails'
	@echo '  make layers     includes and calls point down the layers (tests/layers.sh), with mutants'
	@echo '  make lint       cppcheck (C sources) and shellcheck (shell scripts); installs them first'
	@echo '  make soak       make check SOAK_RUNS=10 times under stress-ng --cpu 2, 3 concurrent'
	@echo '                  suites, then 50 SIGKILLs, 10 SIGINTs, 10 SIGTERMs mid-run (root)'
	@echo '  make soak-idle  make check SOAK_IDLE_RUNS=20 times in a row on a machine left alone (root)'
	@echo '  make integration  scenario suite and negative controls (root)'
	@echo '  make fuzz       fuzz the scenario parser and reason matcher, then the capture reader (FUZZ_TIME=600 s each)'
	@echo '  make fuzz-check replay tests/fuzz/regressions and captures, then fuzz for FUZZ_CHECK_TIME=30 + FUZZ_CAPTURE_TIME=15 s'
	@echo '  make bench      time the scenario suite; the SYN flood beside hping3 and trafgen; replay'
	@echo '  make matrix     the catalogue on the host and under Debian 6.1 and 6.12 in QEMU, diffed and'
	@echo '                  tabled, then tests/vm.sh (root; installs QEMU etc. with make vm-deps)'
	@echo '  make vm-deps    install what ctlab vm needs: $(VM_DEB_PKGS)'
	@echo '  make deps       install missing build dependencies (apt-get)'
	@echo '  make clean      remove build outputs'
	@echo '  V=1             show the commands being run'
