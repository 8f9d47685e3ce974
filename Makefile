# Two commands do all the set-up (see README.md):
#   make book   - install, execute every notebook under a profile, build the book strictly
#   make reader - install, render the committed `cpu` pages (results/cpu/pages/) into _reader/_build/html, running nothing
#   make test   - install, unit tests + every notebook under `smoke` (papermill and nbval) + strict book build
#                 + the offline check; prints pytest's summary
PYTHON  ?= python3.11
VENV    ?= .venv
PROFILE ?= auto
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.facerecon-installed

.PHONY: book test env notebooks html reader clean

env: $(STAMP)

# torch is installed first with its exact version so that nothing pulls another build of it.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $(STAMP)

notebooks: env
	$(BIN)/facerecon run-notebooks --profile $(PROFILE)

html: env
	$(BIN)/facerecon build-book

book: notebooks html

reader: env
	$(BIN)/facerecon build-book --reference cpu

# notebooks/ first: nbval executes each committed chapter once and compares what no CPU changes with the stored
# smoke outputs (tests/nbval_sanitize.cfg masks the rest), the nbval_pages plugin keeps this run's outputs for the
# book; the tests in tests/ then check every computed number the run wrote against tests/smoke_reference/.
test: env
	TQDM_DISABLE=1 $(BIN)/python -m pytest notebooks tests --nbval --nbval-current-env -p facerecon.study.nbval_pages \
	    --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider -ra

clean:
	rm -rf _build _executed _results _reader
