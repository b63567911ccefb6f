# Store plugins (plugins/): the Shopify app's checks. Part of `make test`:
#
#   make plugins-deps         npm ci in plugins/shopify (theme-check, web pixel types, tsc,
#                             playwright-core), from the npm cache under $(TRYON_CACHE_DIR)/npm
#   make test-plugins-shopify theme-check on the theme app extension (fails on any error) and
#                             tsc on the web pixel extension; the Liquid and chromium tests are
#                             pytest's (tests/plugins/shopify), run by `make test` after this;
#                             then Shopify CLI 4 (Node 22 from npm's `node` package, offline):
#                             `shopify app build` (Shopify's own checks of shopify.app.toml and
#                             the extensions' TOML, the pixel bundled) and `shopify theme check
#                             --fail-level error` (app build exits 0 even on lint errors)

SHOPIFY_DIR := plugins/shopify
SHOPIFY_NPM := npm --prefix $(SHOPIFY_DIR) --cache $(TRYON_CACHE_DIR)/npm --no-audit --no-fund --loglevel=error

SHOPIFY_CLI_DIR := $(SHOPIFY_DIR)/cli
# Node 22 first on PATH: the CLI's `#!/usr/bin/env node` must not find the system's Node 20.
SHOPIFY_CLI := PATH="$(abspath $(SHOPIFY_CLI_DIR))/node_modules/.bin:$$PATH" \
	SHOPIFY_CLI_NO_ANALYTICS=1 CI=1 timeout 300 shopify

.PHONY: plugins-deps test-plugins-shopify

$(SHOPIFY_DIR)/node_modules/.installed: $(SHOPIFY_DIR)/package.json $(SHOPIFY_DIR)/package-lock.json | node-check
	@echo "==> npm ci in $(SHOPIFY_DIR) (cache: $(TRYON_CACHE_DIR)/npm)"
	$(SHOPIFY_NPM) ci --prefer-offline
	@touch $@

$(SHOPIFY_CLI_DIR)/node_modules/.installed: $(SHOPIFY_CLI_DIR)/package.json $(SHOPIFY_CLI_DIR)/package-lock.json | node-check
	@echo "==> npm ci in $(SHOPIFY_CLI_DIR) (Shopify CLI and Node 22; cache: $(TRYON_CACHE_DIR)/npm)"
	npm --prefix $(SHOPIFY_CLI_DIR) --cache $(TRYON_CACHE_DIR)/npm --no-audit --no-fund --loglevel=error ci --prefer-offline
	@touch $@

plugins-deps: $(SHOPIFY_DIR)/node_modules/.installed $(SHOPIFY_CLI_DIR)/node_modules/.installed

test-plugins-shopify: plugins-deps sdk chromium ## Shopify app: theme-check (no errors) and the web pixel's tsc
	cd $(SHOPIFY_DIR) && node scripts/theme-check.mjs
	cd $(SHOPIFY_DIR) && ./node_modules/.bin/tsc --noEmit -p extensions/tryon-pixel
	cd $(SHOPIFY_DIR) && $(SHOPIFY_CLI) app build --path .
	cd $(SHOPIFY_DIR) && $(SHOPIFY_CLI) theme check --path extensions/tryon-theme \
		-C theme-check:theme-app-extension --fail-level error

TEST_DEPS += test-plugins-shopify
