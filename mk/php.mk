# PHP tools for the WooCommerce plugin and the Magento module (Debian's packages; apt when missing).
#   make php-tools   php-cli, phpunit, phpcs (PSR-12 and Generic sniffs), php-xml, php-mbstring
#   make wordpress   Debian's WordPress and php-mysql, for the plugin's tests on the local MariaDB

PHP_PACKAGES := php-cli php-xml php-mbstring phpunit php-codesniffer
WORDPRESS_PACKAGES := wordpress php-mysql

# Installs the Debian packages named in $(1) when any is missing (as root, apt-get update first).
define apt_ensure
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "==> apt-get install $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "error: missing Debian packages: sudo apt-get install -y $$missing"; exit 1; fi; \
	fi
endef

.PHONY: php-tools wordpress
php-tools: ## PHP, PHPUnit and PHP_CodeSniffer from Debian (installed when missing)
	$(call apt_ensure,$(PHP_PACKAGES))

wordpress: php-tools ## Debian's WordPress and php-mysql (installed when missing)
	$(call apt_ensure,$(WORDPRESS_PACKAGES))
