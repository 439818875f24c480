# Top-level, non-recursive Makefile. Everything is built out of tree in
# $(BUILD) (build/ by default; build-asan/ for the sanitizer suite).
#   make            tools and libraries          make test    whole suite + sanitizers
#   make demo       compile and run the samples  make asan    suite under ASan+UBSan only
#   make install PREFIX=/usr/local               make cuda-check  (when nvcc exists)

BUILD   ?= build
SAN     ?= 0
PREFIX  ?= /usr/local
CC      ?= cc
ifeq ($(origin CC),default)
CC      := gcc
endif

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
OPT     ?= -O2
CPPFLAGS_ALL := -D_POSIX_C_SOURCE=200809L -I. -Iops -Iruntime -Igraphc -I$(BUILD)/gen
CFLAGS_ALL   := -std=c11 $(OPT) -g -fopenmp $(WARN) -Werror -MMD -MP -fno-strict-aliasing
LDLIBS_ALL   := -lprotobuf-c -ldnnl -lz -lm
ifeq ($(SAN),1)
CFLAGS_ALL   += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS_ALL  += -fsanitize=address,undefined
endif
LDFLAGS_ALL  += -fopenmp

GEN      := $(BUILD)/gen
# `make V=1` shows the full commands.
Q        := $(if $(filter 1,$(V)),,@)
OPS_SRC  := $(wildcard ops/*.c)
RT_SRC   := $(wildcard runtime/*.c)
CLI_SRC  := $(wildcard runtime/cli/*.c)   # the graphrun command, not the library
GC_SRC   := $(filter-out graphc/main.c,$(wildcard graphc/*.c))
GEN_SRC  := $(GEN)/graph.pb-c.c $(GEN)/checkpoint.pb-c.c $(GEN)/parser.c $(GEN)/lexer.c $(GEN)/stdlib.c
TEST_SRC := $(wildcard tests/test_*.c)

OBJ      := $(BUILD)/obj
OPS_OBJ  := $(OPS_SRC:%.c=$(OBJ)/%.o)
RT_OBJ   := $(RT_SRC:%.c=$(OBJ)/%.o) $(GEN)/graph.pb-c.o $(GEN)/checkpoint.pb-c.o
GC_OBJ   := $(GC_SRC:%.c=$(OBJ)/%.o) $(GEN)/parser.o $(GEN)/lexer.o $(GEN)/stdlib.o
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

LIB_OPS  := $(BUILD)/libgcops.a
LIB_RT   := $(BUILD)/libgraphrt.a
LIB_GC   := $(BUILD)/libgraphc.a
GRAPHC   := $(BUILD)/graphc
GRAPHRUN := $(BUILD)/graphrun
DEPS_OK  := $(BUILD)/.deps-ok

.PHONY: all test asan unit demo install clean deps cuda-check bench bench-train
all: $(GRAPHC) $(GRAPHRUN) $(BUILD)/embed_example $(BUILD)/graphbench $(BUILD)/trainbench

# Missing tools and libraries are installed (as root) or named (otherwise).
deps $(DEPS_OK): scripts/deps.sh
	@sh scripts/deps.sh
	@mkdir -p $(BUILD) && touch $(DEPS_OK)

$(GEN)/graph.pb-c.c $(GEN)/graph.pb-c.h &: proto/graph.proto | $(DEPS_OK)
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) proto/graph.proto

# Checkpoints (.gbc); imports graph.proto for DType.
$(GEN)/checkpoint.pb-c.c $(GEN)/checkpoint.pb-c.h &: proto/checkpoint.proto $(GEN)/graph.pb-c.h | $(DEPS_OK)
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) proto/checkpoint.proto

$(GEN)/parser.c $(GEN)/parser.h &: graphc/parser.y | $(DEPS_OK)
	@mkdir -p $(GEN)
	bison -Wall -Werror --defines=$(GEN)/parser.h -o $(GEN)/parser.c graphc/parser.y

$(GEN)/lexer.c $(GEN)/lexer.h &: graphc/lexer.l $(GEN)/parser.h | $(DEPS_OK)
	@mkdir -p $(GEN)
	flex --header-file=$(GEN)/lexer.h -o $(GEN)/lexer.c graphc/lexer.l

# The standard modules (graphc/std/nn.g) become a C string in graphc.
$(GEN)/stdlib.c: graphc/std/nn.g scripts/embed.sh
	@mkdir -p $(GEN)
	sh scripts/embed.sh gc_stdlib_nn graphc/std/nn.g > $@

# Generated code is not ours to warn about.
$(GEN)/%.o: $(GEN)/%.c
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS_ALL) -std=c11 $(OPT) -g -fopenmp -MMD -MP -w $(filter -fsanitize%,$(CFLAGS_ALL)) -c $< -o $@

$(OBJ)/%.o: %.c | $(DEPS_OK) $(GEN)/graph.pb-c.h $(GEN)/checkpoint.pb-c.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c $< -o $@

# The elementwise loops: no errno (sqrtf inlines) and no FP traps (a ?: may
# compute both arms), so GCC vectorises them. Results are the same bits.
$(OBJ)/ops/elementwise.o: CFLAGS_ALL += -fno-math-errno -fno-trapping-math
$(OBJ)/ops/fused.o: CFLAGS_ALL += -fno-math-errno -fno-trapping-math

# The compiler's sources include the generated parser and lexer headers.
$(GC_SRC:%.c=$(OBJ)/%.o) $(OBJ)/graphc/main.o: | $(GEN)/parser.h $(GEN)/lexer.h

$(LIB_OPS): $(OPS_OBJ)
	@rm -f $@; ar rcs $@ $^
$(LIB_RT): $(RT_OBJ)
	@rm -f $@; ar rcs $@ $^
$(LIB_GC): $(GC_OBJ)
	@rm -f $@; ar rcs $@ $^

LIBS := $(LIB_GC) $(LIB_RT) $(LIB_OPS)
$(GRAPHC): $(OBJ)/graphc/main.o $(LIBS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)
$(GRAPHRUN): $(CLI_SRC:%.c=$(OBJ)/%.o) $(LIB_RT) $(LIB_OPS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

# graphbench (bench/graphbench.c) compiles in process: compiler + runtime.
$(OBJ)/bench/graphbench.o: | $(GEN)/parser.h $(GEN)/lexer.h
$(BUILD)/graphbench: $(OBJ)/bench/graphbench.o $(LIBS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

# `make bench`: every benchmark graph at -O0 vs -O2 (bench/run.sh), the
# table on stdout and bench/results.json.
bench: $(BUILD)/graphbench $(BUILD)/ew_chain_ref
	@sh bench/run.sh $(BUILD)

# The yardstick of elementwise fusion: samples/ew_chain.g as one hand-written
# C loop (bench/ew_chain_ref.c), timed by bench/run.sh after graphbench.
$(BUILD)/ew_chain_ref: bench/ew_chain_ref.c ops/ew_math.h | $(DEPS_OK)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) -std=c11 -O2 -fopenmp -fno-math-errno -fno-trapping-math $(WARN) -Werror -Iops $< -lm -o $@

# trainbench (bench/trainbench.c) links the runtime only: it loads the graph
# binaries made here from bench/train_*.g and times their `train` entry.
$(BUILD)/trainbench: $(OBJ)/bench/trainbench.o $(LIB_RT) $(LIB_OPS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)
TRAIN_GB := $(patsubst bench/%.g,$(BUILD)/bench-train/%.gb,$(wildcard bench/train_*.g))
$(BUILD)/bench-train/%.gb: bench/%.g $(GRAPHC)
	@mkdir -p $(dir $@)
	@echo "  GRAPHC  $<"
	$(Q)$(GRAPHC) compile $< -o $@

# `make bench-train`: training throughput (examples/s) of bench/train_*.g next
# to PyTorch's on the same networks (bench/train.sh; PyTorch when installed).
bench-train: $(BUILD)/trainbench $(TRAIN_GB)
	@sh bench/train.sh $(BUILD)

# `make cuda-check`: the shared elementwise math (ops/ew_math.h) compiled for
# the GPU (sm_90) with nvcc, spills and warnings as errors
# (tests/cuda/ew_math_device.cu). No CUDA backend exists yet and nothing here
# runs on a GPU; without nvcc this says so and fails.
NVCC ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
cuda-check: $(BUILD)/cuda/ew_math_device.o
$(BUILD)/cuda/ew_math_device.o: tests/cuda/ew_math_device.cu ops/ew_math.h
	@test -n "$(NVCC)" || { echo "cuda-check: nvcc not found (the CUDA toolkit is not installed)" >&2; exit 1; }
	@mkdir -p $(dir $@)
	@echo "  NVCC    $<"
	$(Q)$(NVCC) -std=c++17 -Iops -gencode arch=compute_90,code=sm_90 \
		-Xptxas -warn-spills,-warn-lmem-usage -Werror all-warnings -c $< -o $@

# The C API example (samples/embed.c) links the runtime only.
$(BUILD)/embed_example: $(OBJ)/samples/embed.o $(LIB_RT) $(LIB_OPS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

# Test binaries link only the layers they test: tests/test_ops_* the op
# library, tests/test_rt_* the runtime, everything else all of it.
$(BUILD)/tests/test_ops_%: $(OBJ)/tests/test_ops_%.o $(LIB_OPS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL) -lcmocka
$(BUILD)/tests/test_rt_%: $(OBJ)/tests/test_rt_%.o $(LIB_RT) $(LIB_OPS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL) -lcmocka
# Tests that count the allocations of a run (tests/alloc_count.h) wrap the allocators.
ALLOC_COUNTED := test_rt_session test_gc_train
$(ALLOC_COUNTED:%=$(BUILD)/tests/%): LDFLAGS_ALL += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=posix_memalign,--wrap=aligned_alloc
$(BUILD)/tests/%: $(OBJ)/tests/%.o $(LIBS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL) -lcmocka

# The unit suite in this build directory; tests/run.sh prints the summary.
unit: all $(TESTS)
	@sh tests/run.sh $(BUILD) $(TESTS)

# `make test`: the suite, then the same suite under AddressSanitizer + UBSan.
test: unit
	@$(MAKE) --no-print-directory asan

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 OPT=-O1 unit

demo: all
	@sh scripts/demo.sh $(BUILD)

install: all
	install -d $(PREFIX)/bin $(PREFIX)/include $(PREFIX)/lib
	install -m 755 $(GRAPHC) $(GRAPHRUN) $(PREFIX)/bin/
	install -m 644 runtime/graphrt.h $(PREFIX)/include/
	install -m 644 $(LIB_RT) $(LIB_OPS) $(PREFIX)/lib/

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Keep test objects (they are intermediate files to make).
.SECONDARY:
