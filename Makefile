# novalite: `make run` starts the all-in-one cloud, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast libvirt-deps guest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/novalite all-in-one

# libvirt, QEMU and the tiny test guest: installed when this machine allows it (root with apt),
# so the real-guest tests run; elsewhere they skip and say what is missing.
libvirt-deps: install
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		bash tools/install-libvirt.sh $(VENV); \
	else \
		echo "libvirt-deps: not root or no apt-get; real-guest tests will skip"; \
	fi

test: install libvirt-deps
	$(BIN)/pytest -q -p no:cacheprovider

test-fast: install
	$(BIN)/pytest -q -x -m "not libvirt and not slow"

bench: install
	$(BIN)/python bench/boot.py

clean:
	rm -rf $(VENV) data .pytest_cache
