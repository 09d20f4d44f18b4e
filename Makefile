# medcom — two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export MEDCOM_HOME ?= $(CURDIR)/data

SPARK_STAMP := $(VENV)/.spark-installed

.PHONY: demo test install browser pdf java spark lint test-fast bench clean screenshots

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# The Spark engine (`medcom build --engine spark`): the spark extra, and Java 17+ for local mode.
$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,spark]"
	@touch $(SPARK_STAMP)

spark: $(SPARK_STAMP) java

java:
	@if java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'; then \
	  echo "java: $$(java -version 2>&1 | head -1)"; \
	elif [ "$$(id -u)" = "0" ]; then \
	  echo "java: installing openjdk-17-jre-headless (apt)"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	else \
	  echo "java: not root; install openjdk-17-jre-headless to run the Spark engine tests"; \
	fi

# Chromium, its driver and CJK fonts for the browser tests (Debian packages; needs root).
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto.*cjk"; then \
	  echo "browser: chromium, chromedriver and CJK fonts present"; \
	elif [ "$$(id -u)" = "0" ]; then \
	  echo "browser: installing chromium chromium-driver fonts-noto-cjk (apt)"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null; \
	else \
	  echo "browser: not root; install chromium chromium-driver fonts-noto-cjk to run the browser tests"; \
	fi

# Pango (WeasyPrint's text layout) and CJK fonts for the bulletin PDF; poppler-utils for its screenshots.
pdf:
	@if ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 && fc-list 2>/dev/null | grep -qi "noto.*cjk" && command -v pdftoppm >/dev/null 2>&1; then \
	  echo "pdf: pango, CJK fonts and poppler-utils present"; \
	elif [ "$$(id -u)" = "0" ]; then \
	  echo "pdf: installing libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk poppler-utils (apt)"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk poppler-utils >/dev/null; \
	else \
	  echo "pdf: not root; install libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk poppler-utils for the bulletin PDF"; \
	fi

demo: install pdf
	$(BIN)/medcom demo

# The browser tests run against the generated + ingested + built test city.
test: install browser pdf spark
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	MEDCOM_BROWSER_CITY=generated $(BIN)/python -m pytest -q -p no:cacheprovider

# Refresh docs/screenshots/*.png from a real browser run on the generated city.
screenshots: install browser pdf
	MEDCOM_BROWSER_CITY=generated MEDCOM_SCREENSHOTS=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/browser

test-fast: install
	$(BIN)/python -m pytest -q -m "not browser and not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python benchmarks/bench_ingest.py --scale 1.0
	$(BIN)/python benchmarks/bench_build.py --scale 1.0

clean:
	rm -rf data .pytest_cache
