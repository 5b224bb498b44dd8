# ctlab — build, test and run the conntrack lab.  `make help` lists the targets.

CC      ?= cc
BUILD   := build
PREFIX  ?= /usr/local

# Libraries (pkg-config names) and the Debian packages that provide them.
PKGS     := libnl-3.0 libnl-route-3.0 libnetfilter_conntrack libmnl libpcap libnftables jansson
TEST_PKGS:= check
DEB_PKGS := gcc make pkg-config iproute2 libnl-3-dev libnl-route-3-dev \
            libnetfilter-conntrack-dev libmnl-dev libpcap-dev libnftables-dev libjansson-dev check \
            valgrind python3

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
           -Wmissing-prototypes -Wpointer-arith -Wundef -Wvla \
           -Wno-format-truncation  # messages are cut to their buffers on purpose
# Lazy (=) so pkg-config runs after `deps` has installed what was missing.
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Iharness -Inetns \
             $(shell pkg-config --cflags $(PKGS))
LDLIBS_ENGINE = $(shell pkg-config --libs $(PKGS)) -lpthread
LDLIBS_TEST   = $(LDLIBS_ENGINE) $(shell pkg-config --libs $(TEST_PKGS))

# The engine: every module source except the command line; it links into both
# the binary and the unit tests.
ENGINE_SRC := $(filter-out harness/main.c,$(wildcard harness/*.c netns/*.c))
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/%.o)
TEST_SRC   := $(wildcard tests/test_*.c)
TEST_BIN   := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
HEADERS    := $(wildcard harness/*.h netns/*.h tests/*.h)

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2)
endif

.PHONY: all deps run check unit integration sanitize bench clean help install
.DEFAULT_GOAL := all

all: ctlab

# Installs missing build and run-time dependencies once per checkout.
$(BUILD)/.deps: Makefile
	$(Q)mkdir -p $(BUILD)
	$(Q)if ! pkg-config --exists $(PKGS) $(TEST_PKGS) 2>/dev/null || ! command -v ip >/dev/null \
	      || ! command -v valgrind >/dev/null || ! command -v python3 >/dev/null \
	      || ! command -v $(CC) >/dev/null; then \
	  echo "ctlab: installing build dependencies: $(DEB_PKGS)"; \
	  if [ "$$(id -u)" != 0 ]; then echo "ctlab: need root to apt-get install; run as root or install: $(DEB_PKGS)" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -q >/dev/null && apt-get install -y -q $(DEB_PKGS) >/dev/null || exit 1; \
	fi
	$(Q)touch $@

deps: $(BUILD)/.deps

$(BUILD)/%.o: %.c $(HEADERS) | $(BUILD)/.deps
	$(call msg,CC,$<)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

ctlab: $(ENGINE_OBJ) $(BUILD)/harness/main.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_ENGINE)

$(BUILD)/tests/%: tests/%.c $(ENGINE_OBJ) $(HEADERS) | $(BUILD)/.deps
	$(call msg,CC,$<)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(ENGINE_OBJ) $(LDLIBS_TEST)

## run: build and run the whole scenario suite (as root)
run: ctlab
	./ctlab run

## unit: unprivileged unit tests (Check)
unit: $(TEST_BIN)
	$(Q)status=0; for t in $(TEST_BIN); do $$t || status=1; done; exit $$status

## integration: the scenario suite for real plus negative controls (root)
integration: ctlab
	$(Q)tests/integration.sh ./ctlab

## sanitize: the unit tests again, built with AddressSanitizer and UBSan
sanitize:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/asan \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" unit

## check: every test: unit, integration, then the unit tests under sanitizers
check: unit integration sanitize

## bench: time the scenario suite, then the flood against hping3 and trafgen
bench: ctlab
	$(Q)tests/bench.sh ./ctlab
	$(Q)tests/bench-flood.sh ./ctlab

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
	@echo '  make check      build and run every test (unit, then integration as root)'
	@echo '  make unit       unit tests only (privileged parts skip without root)'
	@echo '  make sanitize   unit tests built with AddressSanitizer and UBSan'
	@echo '  make integration  scenario suite and negative controls (root)'
	@echo '  make bench      time the scenario suite; the SYN flood side by side with hping3 and trafgen'
	@echo '  make deps       install missing build dependencies (apt-get)'
	@echo '  make clean      remove build outputs'
	@echo '  V=1             show the commands being run'
