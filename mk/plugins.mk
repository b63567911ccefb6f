# Store plugins (plugins/): the Shopify app's checks. Part of `make test`:
#
#   make plugins-deps         npm ci in plugins/shopify (theme-check, web pixel types, tsc,
#                             playwright-core), from the npm cache under $(TRYON_CACHE_DIR)/npm
#   make test-plugins-shopify theme-check on the theme app extension (fails on any error) and
#                             tsc on the web pixel extension; the Liquid and chromium tests are
#                             pytest's (tests/plugins/shopify), run by `make test` after this

SHOPIFY_DIR := plugins/shopify
SHOPIFY_NPM := npm --prefix $(SHOPIFY_DIR) --cache $(TRYON_CACHE_DIR)/npm --no-audit --no-fund --loglevel=error

.PHONY: plugins-deps test-plugins-shopify

$(SHOPIFY_DIR)/node_modules/.installed: $(SHOPIFY_DIR)/package.json $(SHOPIFY_DIR)/package-lock.json | node-check
	@echo "==> npm ci in $(SHOPIFY_DIR) (cache: $(TRYON_CACHE_DIR)/npm)"
	$(SHOPIFY_NPM) ci --prefer-offline
	@touch $@

plugins-deps: $(SHOPIFY_DIR)/node_modules/.installed

test-plugins-shopify: plugins-deps sdk chromium ## Shopify app: theme-check (no errors) and the web pixel's tsc
	cd $(SHOPIFY_DIR) && node scripts/theme-check.mjs
	cd $(SHOPIFY_DIR) && ./node_modules/.bin/tsc --noEmit -p extensions/tryon-pixel

TEST_DEPS += test-plugins-shopify
