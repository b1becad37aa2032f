# The two commands of the README: `make run` and `make test`. Both install what is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(PYTHON) -m uv

.PHONY: setup system python run test bench lint clean

setup: system python

system:
	@./deployments/install-system-packages.sh

python: $(VENV)/.synced

$(VENV)/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install -q uv
	@$(UV) sync --frozen --python $(PYTHON) -q
	@touch $@

run: setup
	@./deployments/run-local.sh

test: setup
	@$(BIN)/pytest $(PYTEST_ARGS)

bench: setup
	@$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
