# The two commands of the README, and the steps they are made of.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint typecheck schemas asyncapi unit integration e2e bench lint-deploy

demo: install
	$(BIN)/sinergi demo

test: install lint typecheck schemas asyncapi
	$(BIN)/pytest -q -p no:cacheprovider tests

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,demo]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

schemas: install
	$(BIN)/python -m shared.events.schema_export check

# The AsyncAPI documents: in sync with the event models, and valid for the AsyncAPI parser.
# Node.js packages come from each folder's package-lock.json, installed again when it changes.
NODE_PACKAGES := tools/asyncapi/node_modules/.installed examples/node-subscriber/node_modules/.installed

asyncapi: install $(NODE_PACKAGES)
	$(BIN)/python -m shared.events.asyncapi check
	node tools/asyncapi/validate.mjs docs/asyncapi/*.json

%/node_modules/.installed: %/package.json %/package-lock.json
	cd $* && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

# The deployment files through their real linters (tests/integration/deployment runs the same
# in `make test`); promtool comes from Debian's prometheus package (see .ci/run).
lint-deploy: install
	$(BIN)/hadolint services/*/Dockerfile
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec compose.yaml
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts.test.yml

unit: install
	$(BIN)/pytest -q tests/unit

integration: install
	$(BIN)/pytest -q tests/integration

e2e: install
	$(BIN)/pytest -q tests/e2e

bench: install
	$(BIN)/python -m bench.delivery --output docs/benchmarks.md
