# The etcd side of the klaxon/etcd comparison benchmark (bench/README-etcd.md),
# included by the top Makefile: it uses $(BUILD), $(call obj,...), the object
# rule and the library flags of $(BUILD)/config.mk.
#
#   $(BUILD)/etcd-bench        load generator: etcd v3 puts over mutual TLS
#   $(BUILD)/obj/bench/hdr.o   latency histogram, shared with klaxon's bench
#   make etcd-bench-smoke      build both, run the histogram's unit test and
#                              check that the load generator starts
#
# bench/etcd-cluster.sh starts and stops the 3-member etcd cluster it loads.

HDR_OBJ := $(call obj,bench/hdr.c)
ETCD_BENCH_OBJ := $(call obj,bench/etcd-bench.c)

$(BUILD)/etcd-bench: $(ETCD_BENCH_OBJ) $(HDR_OBJ)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(DEP_LIBS_CURL) -lpthread

# The histogram's unit test (tests/unit/test_hdr.c) is built by the test
# rule of the Makefile like every other; it also needs the histogram.
$(BUILD)/obj/tests/unit/test_hdr.o: CFLAGS_ALL += -Ibench
$(BUILD)/tests/test_hdr: $(HDR_OBJ)

.PHONY: etcd-bench-smoke
etcd-bench-smoke: $(BUILD)/etcd-bench $(BUILD)/tests/test_hdr
	$(BUILD)/tests/test_hdr
	$(BUILD)/etcd-bench --help >/dev/null
	@echo "etcd-bench-smoke: ok"
