# BigCommerce (gateway/platforms/bigcommerce/): hook answer latency and sync throughput.

BENCHES += bench-bigcommerce

.PHONY: bench-bigcommerce
bench-bigcommerce: install ## BigCommerce: hook answer p50/p95 (loopback) and v3 sync products/s against the fake
	$(PY) scripts/platforms/bench_bigcommerce.py $(BENCH_BIGCOMMERCE_ARGS)

# BigCommerce's Stencil template engine renders the optional theme snippet in the tests.
PEERS_BIGCOMMERCE_DIR := tests/peers/bigcommerce
PEERS_BC_NPM := npm --prefix $(PEERS_BIGCOMMERCE_DIR) --cache $(TRYON_CACHE_DIR)/npm --no-audit --no-fund --loglevel=error

.PHONY: peers-bigcommerce

$(PEERS_BIGCOMMERCE_DIR)/node_modules/.installed: $(PEERS_BIGCOMMERCE_DIR)/package.json $(PEERS_BIGCOMMERCE_DIR)/package-lock.json | node-check
	@echo "==> npm ci in $(PEERS_BIGCOMMERCE_DIR) (cache: $(TRYON_CACHE_DIR)/npm)"
	$(PEERS_BC_NPM) ci --prefer-offline
	@touch $@

peers-bigcommerce: $(PEERS_BIGCOMMERCE_DIR)/node_modules/.installed ## @bigcommerce/stencil-paper-handlebars for the snippet test (npm)

TEST_DEPS += peers-bigcommerce
