# Two commands do all the set-up on a fresh Debian machine: `make demo` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test setup bench clean

demo: $(STAMP)
	$(VENV)/bin/kiosk demo

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/accuracy.py

setup: $(STAMP)

# Re-runs when the dependency list or the system package list changes.
$(STAMP): pyproject.toml scripts/setup.sh scripts/system-packages.txt
	bash scripts/setup.sh $(VENV)
	touch $(STAMP)

clean:
	rm -rf $(VENV) build *.egg-info
