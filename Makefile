# Proteus: the two entry points of the README.
#   make demo   installs what is missing, builds, compiles the default layer
#               into a bundle and runs it on the CPU path
#   make check  installs what is missing, builds, runs every test (ctest, lit,
#               and pip install ./python into a venv under $(BUILD) + pytest)
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: setup configure build demo check clean

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

clean:
	rm -rf $(BUILD)
