# The JS SDK (sdk_js/): build, unit tests (vitest, jsdom) and end-to-end tests (Debian's
# chromium driven by playwright-core against a real gateway), and the demo store's seed.
#
#   make sdk         build sdk_js/dist (tryon.js, tryon.mjs, tryon.d.ts; prints sizes)
#   make test-sdk    typecheck, unit tests and e2e tests (part of `make test`)
#   make bench-sdk   live try-on in chromium: frames/s, round trip and interval p50/p95
#   make demo-seed   create the demo merchant and products (part of `make demo`)

SDK_DIR := sdk_js
NPM_CACHE := $(TRYON_CACHE_DIR)/npm
NPM := npm --prefix $(SDK_DIR) --cache $(NPM_CACHE) --no-audit --no-fund --loglevel=error
SDK_BIN := $(SDK_DIR)/node_modules/.bin
SDK_SOURCES := $(wildcard $(SDK_DIR)/src/*.ts $(SDK_DIR)/src/*/*.ts) $(SDK_DIR)/package.json \
	$(SDK_DIR)/scripts/build.mjs $(SDK_DIR)/tsconfig.types.json
NODE_MIN_MAJOR := 20
# The ML models (mk/ml.mk) must be built before real try-ons: depend on them where defined.
SDK_ML_DEPS := $(filter models,$(TEST_DEPS))
export TRYON_CHROMIUM ?= /usr/bin/chromium

.PHONY: sdk sdk-deps test-sdk test-sdk-unit test-sdk-e2e bench-sdk demo-seed chromium node-check

node-check:
	@command -v node >/dev/null || { echo "error: Node.js $(NODE_MIN_MAJOR)+ is needed (https://nodejs.org)"; exit 1; }
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("error: Node.js >= 20.19 is needed, found "+process.version); process.exit(1) }'

$(SDK_DIR)/node_modules/.installed: $(SDK_DIR)/package.json $(SDK_DIR)/package-lock.json | node-check
	@echo "==> npm ci in $(SDK_DIR) (cache: $(NPM_CACHE))"
	$(NPM) ci --prefer-offline
	@touch $@

sdk-deps: $(SDK_DIR)/node_modules/.installed

$(SDK_DIR)/dist/tryon.js: $(SDK_DIR)/node_modules/.installed $(SDK_SOURCES)
	cd $(SDK_DIR) && node scripts/build.mjs

sdk: $(SDK_DIR)/dist/tryon.js ## Build the JS SDK (prints raw and gzip sizes; 25 KB gzip budget)

# Debian's chromium for the e2e tests (never a browser download).
chromium:
	@test -x "$(TRYON_CHROMIUM)" || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	  else echo "error: $(TRYON_CHROMIUM) is missing: sudo apt-get install -y chromium"; exit 1; fi; }

test-sdk-unit: sdk
	cd $(SDK_DIR) && ./node_modules/.bin/tsc --noEmit -p . && ./node_modules/.bin/vitest run

test-sdk-e2e: install sdk chromium $(SDK_ML_DEPS)
	cd $(SDK_DIR) && ./node_modules/.bin/vitest run --config vitest.e2e.config.ts

test-sdk: test-sdk-unit test-sdk-e2e ## SDK typecheck, unit tests (vitest) and e2e tests (chromium)

bench-sdk: install sdk chromium $(SDK_ML_DEPS) ## Live try-on in chromium: frames/s, round trip p50/p95 (TRYON_BENCH_WINDOW_MS)
	cd $(SDK_DIR) && ./node_modules/.bin/vitest run --config vitest.bench.config.ts

DEMO_MODELS_DIR = $(or $(TRYON_DATA_DIR),var)/demo-models

demo-seed: install sdk $(SDK_ML_DEPS) ## Create the demo store's merchant, key, products and two brand models (idempotent)
	$(TRYON) demo seed $$($(PY) scripts/demo_model_photos.py $(DEMO_MODELS_DIR) | sed 's/^/--model-photo /')

TEST_DEPS += test-sdk
DEMO_DEPS += sdk demo-seed
