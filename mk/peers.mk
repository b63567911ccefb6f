# Platform peers: the platforms' own libraries, run against our fakes and our gateway in tests
# (tests/support/peers.py). Installed from the lock with the shared npm cache, offline first.
#
#   make peers    npm ci in tests/peers/shopify (@shopify/shopify-api 13.x; Node 20+)

PEERS_SHOPIFY_DIR := tests/peers/shopify
PEERS_NPM := npm --prefix $(PEERS_SHOPIFY_DIR) --cache $(TRYON_CACHE_DIR)/npm --no-audit --no-fund --loglevel=error

.PHONY: peers

$(PEERS_SHOPIFY_DIR)/node_modules/.installed: $(PEERS_SHOPIFY_DIR)/package.json $(PEERS_SHOPIFY_DIR)/package-lock.json | node-check
	@echo "==> npm ci in $(PEERS_SHOPIFY_DIR) (cache: $(TRYON_CACHE_DIR)/npm)"
	$(PEERS_NPM) ci --prefer-offline
	@touch $@

peers: $(PEERS_SHOPIFY_DIR)/node_modules/.installed ## The platforms' own libraries as test peers (npm)

TEST_DEPS += peers
