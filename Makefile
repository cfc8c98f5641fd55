# femcm: two commands on a fresh machine.
#   make demo   creates .venv if needed and runs inclusion_mechanics with pictures
#   make test   creates .venv if needed, lints, runs the tests serially and on 2 MPI ranks
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.femcm-installed
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider

.PHONY: env demo test lint test-serial test-parallel bench gallery docs verification clean

env: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || "$$(sh scripts/find-python)" -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[wheel,test]"
	@touch $(STAMP)

demo: env
	$(BIN)/femcm run inclusion_mechanics --plot --out results/inclusion_mechanics -v

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint docker/Dockerfile

test-serial: env
	timeout 1800 $(PYTEST) tests

test-parallel: env
	timeout 2400 sh scripts/test-parallel

test: lint test-serial test-parallel

bench: env
	$(BIN)/python benchmarks/run_all.py

# Every problem with --plot -> docs/gallery/*.png (600 px), docs/gallery.md, docs/figures.md
gallery: env
	$(BIN)/python scripts/gallery.py

# docs/parameters.md from the problems' parameter tables (femcm show)
docs: env
	$(BIN)/python scripts/gen_docs.py

# Verification tests (1 and 2 ranks) -> the tables of README.md and docs/verification.md
verification: env
	$(BIN)/python scripts/verification_table.py run

clean:
	rm -rf results build *.egg-info
