# Magento 2 (plugins/magento/, gateway/platforms/magento/): the module's checks, part of `make test`.
#
#   make test-plugins-magento   php -l on every PHP file and template, every XML file well formed
#                               and the module/integration files valid against our own schemas
#                               (Test/Schema), every echo in every .phtml through $escaper
#                               (scripts/plugins/check_magento_module.py), phpcs PSR-12, and
#                               PHPUnit on our classes with labelled framework stubs
#                               (Test/Unit/Stubs). The gateway side and the signature vector
#                               shared with PHPUnit are pytest's (tests/gateway/platforms/magento).
#   make bench-magento          order post answer p50/p95 and REST catalog sync products/s
#                               against the fake Magento

MAGENTO_DIR := plugins/magento

.PHONY: test-plugins-magento bench-magento
test-plugins-magento: php-tools install ## Magento module: php -l, XML + schemas, .phtml escaping, phpcs PSR-12, PHPUnit
	$(PY) scripts/plugins/check_magento_module.py
	phpcs --standard=PSR12 --extensions=php,phtml -q $(MAGENTO_DIR)
	cd $(MAGENTO_DIR)/Test/Unit && phpunit -c phpunit.xml --do-not-cache-result

TEST_DEPS += test-plugins-magento

bench-magento: install ## Magento: order post answer p50/p95 (loopback) and REST catalog sync products/s against the fake
	$(PY) scripts/platforms/bench_magento.py $(BENCH_MAGENTO_ARGS)

BENCHES += bench-magento
