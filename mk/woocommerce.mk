# WooCommerce (plugins/woocommerce/, gateway/platforms/woocommerce/). Part of `make test`:
#
#   make test-plugins-woocommerce  php -l on every PHP file, phpcs (PSR-12 + Generic sniffs,
#                                  plugins/woocommerce/phpcs.xml) and PHPUnit on Debian's
#                                  WordPress with the local MariaDB (a fresh database per run,
#                                  dropped after) and the labelled WooCommerce TEST STUB; the
#                                  chromium e2e is pytest's (tests/plugins/woocommerce), run
#                                  by `make test` after this
#   make woocommerce-zip           the installable plugin: var/dist/tryon-for-woocommerce.zip

WOO_DIR := plugins/woocommerce
WOO_PLUGIN := $(WOO_DIR)/tryon-for-woocommerce
WOO_ZIP := var/dist/tryon-for-woocommerce.zip

.PHONY: test-plugins-woocommerce woocommerce-zip

test-plugins-woocommerce: wordpress sdk chromium ## WooCommerce plugin: php -l, phpcs, PHPUnit on real WordPress
	@find $(WOO_DIR) -name '*.php' -not -path '*/node_modules/*' -print0 | \
		xargs -0 -n1 php -l -d display_errors=1 >/dev/null
	cd $(WOO_DIR) && phpcs --standard=phpcs.xml -q
	@# MariaDB is a service: a laptop without it skips PHPUnit, CI=true fails (house rule).
	@if php -r 'mysqli_report(MYSQLI_REPORT_OFF); exit(@mysqli_connect(getenv("TRYON_WP_DB_HOST") ?: "127.0.0.1", "root") ? 0 : 1);'; then \
		cd $(WOO_DIR) && timeout 300 phpunit -c phpunit.xml; \
	elif [ "$(CI)" = true ]; then echo "error: MariaDB is not reachable on 127.0.0.1:3306 (CI=true)"; exit 1; \
	else echo "skipped: PHPUnit needs MariaDB on 127.0.0.1:3306"; fi

woocommerce-zip: ## Build the installable WordPress plugin zip (var/dist/, outside git)
	@mkdir -p $(dir $(WOO_ZIP))
	@rm -f $(WOO_ZIP)
	$(PY) -m zipfile -c $(WOO_ZIP) $(WOO_PLUGIN)
	@echo "==> $(WOO_ZIP)"

TEST_DEPS += test-plugins-woocommerce
