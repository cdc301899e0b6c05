# klaxon — build, test and run a highly available paging cluster.
#
#   make               build build/klaxond, build/klaxonctl, build/libklaxon.{a,so}
#   make test          install missing packages, build, run every test
#   make test SANITIZE=1   the same under AddressSanitizer + UBSan (build/sanitize)
#   make test VALGRIND=1   unit tests under valgrind
#   make test JOBS=2   run two test programs at a time
#   make run           start a local 3-node cluster in the foreground
#   make chaos         every chaos scenario (root; SCENARIO=, SEED=, DURATION=)
#   make chaos-smoke   the short chaos runs of CI
#   make compat        PagerDuty's own JS client against a cluster (npm)
#   make bench         throughput and latency of a local 3-node cluster
#   make bench-compare the same, and a 3-node etcd in the same run
#   make fuzz          libFuzzer on every hostile-input surface (FUZZ_SECONDS=60)
#   make format        clang-format every C file; make check-format to verify
#   make help          this list

.DEFAULT_GOAL := all
SHELL := /bin/bash
.SUFFIXES:
# Keep objects and generated files that only rule chains produce.
.SECONDARY:

SANITIZE ?= 0
VALGRIND ?= 0
JOBS ?= 1
# FUZZ=1: the build of `make fuzz` (clang, coverage for libFuzzer, ASan and
# UBSan), into build/fuzz.
FUZZ ?= 0
ifeq ($(FUZZ),1)
BUILD ?= build/fuzz
CC := clang
SAN_FLAGS := -fsanitize=fuzzer-no-link,address,undefined \
             -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else ifeq ($(SANITIZE),1)
BUILD ?= build/sanitize
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
             -fno-omit-frame-pointer
else
BUILD ?= build
SAN_FLAGS :=
endif

CC ?= cc
PKGS := raft libuv libprotobuf-c lmdb openssl yaml-0.1 jansson cmocka libical \
        libcurl liblz4
NO_DEPS_GOALS := clean format check-format help

# Package flags come from pkg-config once the packages are there; the file
# is generated (after installing what is missing) and make restarts on it.
ifeq ($(filter $(NO_DEPS_GOALS),$(MAKECMDGOALS)),)
-include $(BUILD)/config.mk
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
        -Wmissing-prototypes -Wpointer-arith -Wvla -Wundef
ifeq ($(FUZZ),1)
# clang warns of more than gcc, which keeps -Werror for the code.
WARN += -Wno-error
endif
OPT ?= -O2
CFLAGS_ALL := -std=gnu11 $(OPT) -g -fPIC -fvisibility=hidden -D_GNU_SOURCE \
              $(SAN_FLAGS) -Iinclude -Icommon -I$(BUILD)/gen $(DEP_CFLAGS) \
              $(CFLAGS)
LDFLAGS_ALL := $(SAN_FLAGS) $(LDFLAGS)

GEN := $(BUILD)/gen
PROTO_C := $(GEN)/oncall.pb-c.c $(GEN)/klaxon.pb-c.c $(GEN)/cluster.pb-c.c
PROTO_H := $(PROTO_C:.c=.h)

COMMON_SRC := $(wildcard common/*.c)
SERVER_SRC := $(filter-out server/main.c,$(wildcard server/*.c))
LIB_SRC := $(wildcard client/*.c)
CTL_SRC := $(wildcard client/klaxonctl/*.c)
TESTLIB_SRC := $(wildcard tests/lib/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNITLIB_SRC := $(wildcard tests/unit/support/*.c)
ITEST_SRC := $(wildcard tests/integration/itest_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_SUPPORT_SRC := $(filter-out $(FUZZ_SRC) tests/fuzz/replay.c \
                                 tests/fuzz/gen_seeds.c,\
                                 $(wildcard tests/fuzz/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
COMMON_OBJ := $(call obj,$(COMMON_SRC))
SERVER_OBJ := $(call obj,$(SERVER_SRC))
LIB_OBJ := $(call obj,$(LIB_SRC))
CTL_OBJ := $(call obj,$(CTL_SRC))
TESTLIB_OBJ := $(call obj,$(TESTLIB_SRC))
UNITLIB_OBJ := $(call obj,$(UNITLIB_SRC))
PB_KLAXON_OBJ := $(BUILD)/obj/gen/klaxon.pb-c.o $(BUILD)/obj/gen/oncall.pb-c.o
PB_CLUSTER_OBJ := $(BUILD)/obj/gen/cluster.pb-c.o

UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_SUPPORT_OBJ := $(call obj,$(FUZZ_SUPPORT_SRC))
ITEST_BIN := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(ITEST_SRC))
# Each fuzz target, linked to libFuzzer (FUZZ=1 only) and to the replay
# driver of `make test` (every build).
FUZZ_BIN := $(patsubst %,$(BUILD)/fuzz_%,$(FUZZ_NAMES))
FUZZ_REPLAY_BIN := $(patsubst %,$(BUILD)/tests/test_fuzz_%,$(FUZZ_NAMES))

LIBS_SERVER := $(DEP_LIBS_SERVER)
LIBS_CLIENT := $(DEP_LIBS_CLIENT)

.PHONY: all deps test unit-test integration-test run chaos chaos-smoke compat \
        fuzz fuzz-build fuzz-seeds \
        bench bench-compare bench-smoke \
        format check-format clean help

all: $(BUILD)/klaxond $(BUILD)/klaxonctl $(BUILD)/libklaxon.a \
     $(BUILD)/libklaxon.so $(BUILD)/chaos-workload $(BUILD)/klaxon-bench \
     $(BUILD)/page-bench $(BUILD)/restart-bench

help:
	@sed -n '2,15p' Makefile | sed 's/^# \{0,1\}//'

# --- dependencies -----------------------------------------------------------

deps:
	@deploy/install-deps.sh --check >/dev/null 2>&1 || deploy/install-deps.sh

$(BUILD)/config.mk: deploy/install-deps.sh Makefile | deps
	@mkdir -p $(@D)
	@{ echo "DEP_CFLAGS := $$(pkg-config --cflags $(PKGS))"; \
	   echo "DEP_LIBS_SERVER := $$(pkg-config --libs raft libuv libprotobuf-c lmdb openssl yaml-0.1 libical libcurl jansson liblz4) -lhttp_parser -lpthread"; \
	   echo "DEP_LIBS_CLIENT := $$(pkg-config --libs libprotobuf-c openssl)"; \
	   echo "DEP_LIBS_JSON := $$(pkg-config --libs jansson)"; \
	   echo "DEP_LIBS_YAML := $$(pkg-config --libs yaml-0.1)"; \
	   echo "DEP_LIBS_CMOCKA := $$(pkg-config --libs cmocka)"; \
	   echo "DEP_LIBS_CURL := $$(pkg-config --libs libcurl)"; } > $@.tmp
	@mv $@.tmp $@

# --- generated code ---------------------------------------------------------

$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: proto/%.proto | deps
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) $<

$(GEN)/klaxon.pb-c.c: $(GEN)/oncall.pb-c.h
$(GEN)/cluster.pb-c.c: $(GEN)/klaxon.pb-c.h $(GEN)/oncall.pb-c.h

$(BUILD)/obj/gen/%.pb-c.o: $(GEN)/%.pb-c.c $(PROTO_H)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -w -c $< -o $@

# --- objects ----------------------------------------------------------------

$(BUILD)/obj/%.o: %.c $(PROTO_H) $(BUILD)/config.mk | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(WARN) -MMD -MP -c $< -o $@

-include $(shell find $(BUILD)/obj $(wildcard $(BUILD)/obj-*) -name '*.d' \
                    2>/dev/null)

# --- libraries and programs -------------------------------------------------

$(BUILD)/libklaxond.a: $(SERVER_OBJ) $(COMMON_OBJ) $(PB_KLAXON_OBJ) \
                       $(PB_CLUSTER_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/klaxond: $(BUILD)/obj/server/main.o $(BUILD)/libklaxond.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_SERVER)

$(BUILD)/libklaxon.a: $(LIB_OBJ) $(COMMON_OBJ) $(PB_KLAXON_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libklaxon.so: $(LIB_OBJ) $(COMMON_OBJ) $(PB_KLAXON_OBJ)
	$(CC) -shared -Wl,-soname,libklaxon.so.0 -Wl,--no-undefined \
	    $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CLIENT)

# klaxonctl reads the applied on-call YAML itself (reports: time zones).
$(BUILD)/klaxonctl: $(CTL_OBJ) $(BUILD)/libklaxon.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(DEP_LIBS_JSON) $(DEP_LIBS_YAML) \
	    $(LIBS_CLIENT)

# The load generator of chaos runs (chaos/HISTORY.md).
CHAOS_SRC := chaos/workload.c
$(BUILD)/chaos-workload: $(call obj,$(CHAOS_SRC)) $(BUILD)/libklaxon.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(DEP_LIBS_JSON) $(LIBS_CLIENT) -lpthread

# The benchmark's load generator (BENCHMARKS.md).
$(BUILD)/obj/bench/%.o: CFLAGS_ALL += -Ibench
$(BUILD)/klaxon-bench: $(BUILD)/obj/bench/klaxon-bench.o $(BUILD)/obj/bench/hdr.o \
                       $(BUILD)/obj/bench/bench_client.o $(BUILD)/libklaxon.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CLIENT) -lpthread

# Trigger-to-page latency, with its own webhook receiver (BENCHMARKS.md).
$(BUILD)/page-bench: $(BUILD)/obj/bench/page-bench.o \
                     $(BUILD)/obj/bench/webhook_rx.o $(BUILD)/obj/bench/hdr.o \
                     $(BUILD)/obj/bench/bench_client.o $(BUILD)/libklaxon.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CLIENT) -lpthread

# Restart time with many incidents stored: the loader and the readiness
# probe of bench/restart.sh (BENCHMARKS.md).
$(BUILD)/restart-bench: $(BUILD)/obj/bench/restart-bench.o \
                        $(BUILD)/obj/bench/bench_client.o $(BUILD)/libklaxon.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CLIENT) -lpthread

# The etcd side of the comparison benchmark (bench/README-etcd.md).
include bench/etcd.mk

# --- tests ------------------------------------------------------------------

# Test builds of klaxond that compile some server files again with other
# flags; the rest comes from libklaxond.a.
#   klaxond-apply1: applies only what apply version 1 knew
#     (server/version.h), the older release of tests/integration/upgrade.sh
#   klaxond-faults: libfiu failure points on (server/faults.h), for
#     tests/integration/disk-faults.sh
# $(call variant,NAME,HEADER,CFLAGS,LIBS)
define variant
$(1)_SRC := $$(shell grep -l '"$(2)"' server/*.c)
$(1)_OBJ := $$(patsubst %.c,$$(BUILD)/obj-$(1)/%.o,$$($(1)_SRC))
$$(BUILD)/obj-$(1)/%.o: %.c $$(PROTO_H) $$(BUILD)/config.mk | deps
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_ALL) $$(WARN) $(3) -MMD -MP -c $$< -o $$@
$$(BUILD)/tests/klaxond-$(1): $$(BUILD)/obj/server/main.o $$($(1)_OBJ) \
                              $$(BUILD)/libklaxond.a
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS_ALL) -o $$@ $$^ $$(LIBS_SERVER) $(4)
endef
$(eval $(call variant,apply1,version.h,-DKLAXON_APPLY_VERSION=1,))
$(eval $(call variant,faults,faults.h,-DFIU_ENABLE,-lfiu))
TEST_DAEMONS := $(BUILD)/tests/klaxond-apply1 $(BUILD)/tests/klaxond-faults

$(BUILD)/obj/tests/%.o: CFLAGS_ALL += -Iserver -Iclient -Itests/lib \
                                      -Itests/unit/support

$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $(UNITLIB_OBJ) \
                       $(BUILD)/libklaxond.a $(BUILD)/libklaxon.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_SERVER) $(DEP_LIBS_JSON) \
	    $(DEP_LIBS_CMOCKA)

# klaxonctl's unit tests link its objects, all but the one with main().
KCTL_TESTS := $(BUILD)/tests/test_kctl $(BUILD)/tests/test_reports
$(KCTL_TESTS): $(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o \
                                 $(filter-out %/main.o,$(CTL_OBJ)) \
                                 $(BUILD)/libklaxon.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(DEP_LIBS_JSON) $(DEP_LIBS_YAML) \
	    $(LIBS_CLIENT) $(DEP_LIBS_CMOCKA)

$(BUILD)/tests/itest_%: $(BUILD)/obj/tests/integration/itest_%.o \
                        $(TESTLIB_OBJ) $(BUILD)/libklaxon.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CLIENT) $(DEP_LIBS_JSON) \
	    $(DEP_LIBS_CMOCKA)

# Fuzz targets: one source each; the replay driver feeds them their seed
# corpus and regression inputs without libFuzzer (docs/FUZZING.md).
$(BUILD)/tests/test_fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o \
                            $(BUILD)/obj/tests/fuzz/replay.o \
                            $(FUZZ_SUPPORT_OBJ) $(BUILD)/libklaxond.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_SERVER) $(DEP_LIBS_JSON)

$(BUILD)/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_SUPPORT_OBJ) \
                  $(BUILD)/libklaxond.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -fsanitize=fuzzer -o $@ $^ $(LIBS_SERVER) \
	    $(DEP_LIBS_JSON)

# The binary seeds (tests/fuzz/gen_seeds.c), rewritten in place.
$(BUILD)/fuzz-gen-seeds: $(BUILD)/obj/tests/fuzz/gen_seeds.o \
                         $(FUZZ_SUPPORT_OBJ) $(BUILD)/libklaxond.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_SERVER) $(DEP_LIBS_JSON)

fuzz-seeds: $(BUILD)/fuzz-gen-seeds
	@mkdir -p $(patsubst %,tests/fuzz/corpus/%,$(FUZZ_NAMES))
	$(BUILD)/fuzz-gen-seeds tests/fuzz/corpus

FUZZ_SECONDS ?= 60

fuzz:
	@$(MAKE) --no-print-directory FUZZ=1 BUILD=build/fuzz fuzz-build
	@tests/fuzz/run.sh --seconds $(FUZZ_SECONDS) build/fuzz $(FUZZ_NAMES)

fuzz-build: $(FUZZ_BIN)

test: all $(UNIT_BIN) $(FUZZ_REPLAY_BIN) $(ITEST_BIN) $(TEST_DAEMONS)
	@BUILD=$(BUILD) VALGRIND=$(VALGRIND) SANITIZE=$(SANITIZE) JOBS=$(JOBS) \
	    tests/run.sh

unit-test: all $(UNIT_BIN) $(FUZZ_REPLAY_BIN)
	@BUILD=$(BUILD) VALGRIND=$(VALGRIND) SANITIZE=$(SANITIZE) JOBS=$(JOBS) \
	    tests/run.sh --unit

integration-test: all $(ITEST_BIN) $(TEST_DAEMONS)
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) JOBS=$(JOBS) \
	    tests/run.sh --integration

compat: all
	@BUILD=$(BUILD) tests/compat/pagerduty-pdjs.sh

bench: all
	@BUILD=$(BUILD) bench/run.sh $(BENCH_ARGS)

bench-compare: all $(BUILD)/etcd-bench
	@deploy/install-deps.sh --etcd
	@BUILD=$(BUILD) bench/run.sh --compare $(BENCH_ARGS)

# CI: the benchmark works (short, not a measurement); page-bench fails
# when no page arrives, restart.sh when a node is not ready again.
bench-smoke: all
	@BUILD=$(BUILD) bench/run.sh --seconds 0.5 --levels 1,4 --failover 1 \
	    --page-rate 100 --page-seconds 2 --restart-incidents 200 \
	    --restart-state-mapped-mb 8

# --- running ----------------------------------------------------------------

run: all
	@BUILD=$(BUILD) deploy/local-cluster.sh run --nodes 3 --dir run/local \
	    --pages 9099:2525

# --- chaos ------------------------------------------------------------------

SEED ?= 1
CHAOS_ARGS = --seed $(SEED) $(if $(DURATION),--duration $(DURATION))

chaos: all
	@BUILD=$(BUILD) python3 chaos/harness.py \
	    $(if $(SCENARIO),run $(SCENARIO),all) $(CHAOS_ARGS)

chaos-smoke: all
	@BUILD=$(BUILD) python3 chaos/harness.py smoke $(CHAOS_ARGS)

# --- housekeeping -----------------------------------------------------------

C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null || \
            find server client common include tests -name '*.[ch]')

format:
	clang-format -i $(C_FILES)

check-format:
	@clang-format --dry-run -Werror $(C_FILES) && echo "format: ok"

clean:
	rm -rf build
