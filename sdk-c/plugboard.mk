# plugboard.mk: builds a plugboard plugin written in C or C++ into a
# component. Include it from the plugin's Makefile:
#
#     PLUGBOARD_SDK_C ?= $(HOME)/.local/share/plugboard/sdk-c
#     include $(PLUGBOARD_SDK_C)/plugboard.mk
#
# and run `make`. What it does:
#   1. compiles SOURCES (.c with clang-19, .cpp with clang++-19 as C++23)
#      and the generated bindings of WORLD for wasm32-wasip1 as a reactor,
#      against Debian's wasi-libc (and libc++ for C++);
#   2. links them, with the world's component-type object, into a core
#      module, BUILD_DIR/core.wasm;
#   3. runs `plugboard componentize` on it, which adapts its WASI preview1
#      imports with the preview1 reactor adapter and writes PLUGIN.
#
# Debian packages it needs: clang-19 lld-19 libclang-rt-19-dev-wasm32
# wasi-libc, and for C++ also libc++-19-dev-wasm32 libc++abi-19-dev-wasm32.

PLUGBOARD_SDK_C := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

# What the plugin's Makefile may set before including this file.
# The world release the plugin is built against: a folder of generated/.
WORLD ?= task-events@2.2.0
# The plugin's own sources.
SOURCES ?= $(wildcard *.c *.cpp)
# The component to write (name it in plugin.toml's `component`).
PLUGIN ?= plugin.wasm
# Where objects and the core module go.
BUILD_DIR ?= build
# The plugboard command (for `plugboard componentize`).
PLUGBOARD ?= plugboard
# c: the C bindings (plugin.h; include plugboard.h);
# cpp: the C++ bindings (plugin_cpp.h; include plugboard.hpp).
# By default cpp when any source is C++.
BINDINGS ?= $(if $(filter %.cpp,$(SOURCES)),cpp,c)
# Extra flags for the plugin's sources.
PLUGIN_CFLAGS ?= -O2
PLUGIN_CXXFLAGS ?= -O2

PLUGBOARD_CC ?= clang-19
PLUGBOARD_CXX ?= clang++-19
# Debian lays wasi-libc out for the triple wasm32-wasi; clang-19 looks for
# wasm32-wasip1, so the folders are named here.
WASI_INCLUDE ?= /usr/include/wasm32-wasi
WASI_LIB ?= /usr/lib/wasm32-wasi
CLANG_BUILTINS ?= /usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a

PLUGBOARD_GENERATED := $(PLUGBOARD_SDK_C)/generated/$(WORLD)
ifeq ($(wildcard $(PLUGBOARD_GENERATED)/plugin.h),)
$(error plugboard.mk: no bindings for WORLD=$(WORLD) in $(PLUGBOARD_SDK_C)/generated (worlds: $(notdir $(wildcard $(PLUGBOARD_SDK_C)/generated/*))); is PLUGBOARD_SDK_C right?)
endif

PLUGBOARD_TARGET := --target=wasm32-wasip1 --sysroot=$(BUILD_DIR)/no-sysroot -nostdlibinc
PLUGBOARD_INCLUDES := -I$(PLUGBOARD_GENERATED) -I$(PLUGBOARD_SDK_C)/include
PLUGBOARD_WORLD_MAJOR := $(firstword $(subst ., ,$(patsubst task-events@%,%,$(WORLD))))
PLUGBOARD_WORLD_MINOR := $(word 2,$(subst ., ,$(patsubst task-events@%,%,$(WORLD))))
PLUGBOARD_C := $(PLUGBOARD_CC) $(PLUGBOARD_TARGET) -std=c17 -isystem $(WASI_INCLUDE) $(PLUGBOARD_INCLUDES) \
	-DPLUGBOARD_WORLD_MINOR=$(PLUGBOARD_WORLD_MINOR)
PLUGBOARD_CPP := $(PLUGBOARD_CXX) $(PLUGBOARD_TARGET) -std=c++23 -fno-exceptions -fno-rtti \
	-isystem $(WASI_INCLUDE)/c++/v1 -isystem $(WASI_INCLUDE) $(PLUGBOARD_INCLUDES) \
	-DPLUGBOARD_WORLD_MAJOR=$(PLUGBOARD_WORLD_MAJOR) -DPLUGBOARD_WORLD_MINOR=$(PLUGBOARD_WORLD_MINOR)

ifeq ($(BINDINGS),cpp)
PLUGBOARD_BINDINGS_SRC := $(PLUGBOARD_GENERATED)/plugin.cpp
PLUGBOARD_LINK := $(PLUGBOARD_CXX)
PLUGBOARD_LIBS := -lc++ -lc++abi -lc
PLUGBOARD_DEFAULTS_SRC := $(PLUGBOARD_SDK_C)/src/defaults.cpp
else
PLUGBOARD_BINDINGS_SRC := $(PLUGBOARD_GENERATED)/plugin.c
PLUGBOARD_LINK := $(PLUGBOARD_CC)
PLUGBOARD_LIBS := -lc
PLUGBOARD_DEFAULTS_SRC := $(PLUGBOARD_SDK_C)/src/defaults.c
endif

PLUGBOARD_OBJECTS := $(patsubst %,$(BUILD_DIR)/%.o,$(SOURCES)) \
	$(BUILD_DIR)/bindings.o $(BUILD_DIR)/plugboard-defaults.o
PLUGBOARD_HEADERS := $(wildcard $(PLUGBOARD_GENERATED)/*.h $(PLUGBOARD_SDK_C)/include/*)

.PHONY: all clean
all: $(PLUGIN)

$(PLUGIN): $(BUILD_DIR)/core.wasm
	$(PLUGBOARD) componentize $< --world $(WORLD) -o $@

$(BUILD_DIR)/core.wasm: $(PLUGBOARD_OBJECTS) $(PLUGBOARD_GENERATED)/plugin_component_type.o
	$(PLUGBOARD_LINK) --target=wasm32-wasip1 -mexec-model=reactor -nodefaultlibs \
		-B$(WASI_LIB)/ -L$(WASI_LIB) -o $@ $^ $(PLUGBOARD_LIBS) $(CLANG_BUILTINS)

$(BUILD_DIR)/%.c.o: %.c $(PLUGBOARD_HEADERS)
	@mkdir -p $(dir $@)
	$(PLUGBOARD_C) $(PLUGIN_CFLAGS) -c -o $@ $<

$(BUILD_DIR)/%.cpp.o: %.cpp $(PLUGBOARD_HEADERS)
	@mkdir -p $(dir $@)
	$(PLUGBOARD_CPP) $(PLUGIN_CXXFLAGS) -c -o $@ $<

ifeq ($(BINDINGS),cpp)
PLUGBOARD_COMPILE_SDK := $(PLUGBOARD_CPP) -O2
else
PLUGBOARD_COMPILE_SDK := $(PLUGBOARD_C) -O2
endif

$(BUILD_DIR)/bindings.o: $(PLUGBOARD_BINDINGS_SRC) $(PLUGBOARD_HEADERS)
	@mkdir -p $(dir $@)
	$(PLUGBOARD_COMPILE_SDK) -c -o $@ $<

$(BUILD_DIR)/plugboard-defaults.o: $(PLUGBOARD_DEFAULTS_SRC) $(PLUGBOARD_HEADERS)
	@mkdir -p $(dir $@)
	$(PLUGBOARD_COMPILE_SDK) -c -o $@ $<

clean:
	rm -rf $(BUILD_DIR) $(PLUGIN)
