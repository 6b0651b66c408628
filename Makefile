# The two commands in the README: `make demo` and `make test`. Each does all set-up on a fresh
# machine: system packages (when run as root), a virtualenv in .venv, the package with its
# JupyterLab extension, test tools. Re-running is cheap: steps are skipped when done.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test setup system venv-ok lint clean

# First the offline synthesizer in the terminal, then the notebook tour in JupyterLab.
demo: setup
	$(BIN)/jupyter-codesearch run examples/initials.py
	$(BIN)/jupyter lab demo.ipynb --ServerApp.ip=127.0.0.1 $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

test: setup
	$(BIN)/python -m pytest

setup: system venv-ok $(STAMP)

# A venv whose interpreter is gone (moved, or made on another machine) is rebuilt, not reused.
venv-ok:
	@$(BIN)/python -c '' 2>/dev/null || rm -f $(STAMP)

# bubblewrap sandboxes candidates; chromium runs the browser tests; node builds the extension.
system:
	@missing=""; \
	command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing system packages:$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "missing system packages:$$missing -- install them (e.g. sudo apt-get install$$missing) and re-run"; \
			exit 1; \
		fi; \
	fi

$(STAMP): pyproject.toml labextension/package.json labextension/yarn.lock
	$(BIN)/python -c '' 2>/dev/null || $(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/jupyter labextension list 2>&1 | grep -q 'jupyter-codesearch.*enabled.*OK'
	touch $@

lint: setup
	$(BIN)/ruff check jupyter_codesearch tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) jupyter_codesearch/labextension labextension/lib labextension/node_modules artifacts
