# Proteus: the two entry points of the README.
#   make demo   installs what is missing, builds, compiles the default layer
#               into a bundle and runs it on the CPU path
#   make check  installs what is missing, builds, runs every test (ctest, lit,
#               pip install ./python into a venv under $(BUILD) + pytest), then
#               the sanitizer build's tests (check-sanitize) and each fuzz
#               target for a few seconds (check-fuzz)
#   make fuzz   runs each fuzz target for FUZZ_SECONDS (default 60)
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release
SANITIZE_BUILD ?= build-sanitize
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
CCACHE := $(if $(shell command -v ccache),-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# ASan + UBSan (every report fatal, float->int conversions included) on the
# runtime, the schedule code and their tests (runtime/ is its own project).
# -O0 -g1 (line tables): a third of -O1 -g's compile time (c_api_test.cpp:
# 24.7 against 66.9 CPU s, g++ 12, 2026-12-07), the same checks.
SANITIZE_FLAGS := -O0 -g1 -fno-omit-frame-pointer -fsanitize=address,undefined \
  -fsanitize=float-cast-overflow -fno-sanitize-recover=all

.PHONY: setup configure build demo check check-sanitize fuzz-build check-fuzz \
  fuzz clean

setup:
	@./scripts/setup.sh

$(BUILD)/build.ninja:
	cmake -G Ninja -S . -B $(BUILD) -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir $(CMAKE_FLAGS)

configure: setup $(BUILD)/build.ninja

build: configure
	ninja -C $(BUILD) -j$(JOBS)

demo: build
	./scripts/demo.sh $(BUILD)

check: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	ninja -C $(BUILD) check-proteus
	./scripts/python_check.sh $(BUILD)
	$(MAKE) check-sanitize check-fuzz

# The runtime's unit tests (runtime, schedule, manifest, cache, fake-GPU
# paths) and the test doubles they load; the tools' tests run in the main
# build.
check-sanitize: setup
	cmake -G Ninja -S runtime -B $(SANITIZE_BUILD) $(CCACHE) \
	  -DCMAKE_BUILD_TYPE= -DCMAKE_CXX_FLAGS="$(SANITIZE_FLAGS)"
	ninja -C $(SANITIZE_BUILD) -j$(JOBS) proteus_rt_tests
	cd $(SANITIZE_BUILD)/test && ASAN_OPTIONS=detect_leaks=1 \
	  PROTEUS_GOLDEN_DIR=$(abspath ../shared/golden) ./proteus_rt_tests --gtest_brief=1

# The LLVM-free fuzz targets with clang (skipped, with a note, without it).
fuzz-build: setup
	@if command -v clang++-22 >/dev/null; then \
	  cmake -G Ninja -S fuzz -B $(FUZZ_BUILD) $(CCACHE) \
	    -DCMAKE_CXX_COMPILER=clang++-22 && ninja -C $(FUZZ_BUILD) -j$(JOBS); \
	else echo "fuzz: clang++-22 missing (scripts/setup.sh installs it)"; fi

check-fuzz: build fuzz-build
	./scripts/fuzz.sh --check $(FUZZ_BUILD) $(BUILD)

fuzz: build fuzz-build
	./scripts/fuzz.sh --seconds $(FUZZ_SECONDS) $(FUZZ_BUILD) $(BUILD)

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD) $(FUZZ_BUILD)
