<?php

namespace Tryon\WooCommerce;

/**
 * The plugin's wiring: the settings integration, the SDK on product pages, the try-on button's
 * placeholder, the try-on session from the cart to the order, the connect action, and the
 * admin notice when WooCommerce is missing.
 */
final class Plugin
{
    public const HANDLE = 'tryon-sdk';
    public const SESSION_FIELD = 'tryon_session';
    public const ITEM_META = '_tryon_session';
    public const WIDGET_FIELD = 'tryon_widget_session';
    public const WIDGET_META = '_tryon_widget_session';
    public const CONNECT_ACTION = 'tryon_connect';
    public const TEXT_DOMAIN = 'tryon-for-woocommerce';

    /** Declares compatibility with WooCommerce's custom order tables (HPOS). */
    public static function declareCompatibility(): void
    {
        if (class_exists('\Automattic\WooCommerce\Utilities\FeaturesUtil')) {
            \Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility(
                'custom_order_tables',
                TRYON_WC_FILE,
                true
            );
        }
    }

    /** Hooks everything in once plugins are loaded; without WooCommerce only a notice. */
    public static function boot(): void
    {
        load_plugin_textdomain(self::TEXT_DOMAIN, false, dirname(plugin_basename(TRYON_WC_FILE)) . '/languages');
        if (!class_exists('WooCommerce') || !class_exists('WC_Integration')) {
            add_action('admin_notices', [self::class, 'missingWooCommerceNotice']);
            return;
        }
        require_once __DIR__ . '/Integration.php';
        add_filter('woocommerce_integrations', [self::class, 'addIntegration']);
        add_action('wp_enqueue_scripts', [self::class, 'enqueue']);
        add_filter('script_loader_tag', [self::class, 'scriptTag'], 10, 2);
        add_action('woocommerce_single_product_summary', [self::class, 'placeholder'], self::priority());
        add_filter('woocommerce_add_cart_item_data', [self::class, 'cartItemData'], 10, 3);
        add_action('woocommerce_checkout_create_order_line_item', [self::class, 'orderItemMeta'], 10, 4);
        add_action('admin_post_' . self::CONNECT_ACTION, [self::class, 'connect']);
    }

    public static function missingWooCommerceNotice(): void
    {
        if (!current_user_can('activate_plugins')) {
            return;
        }
        printf(
            '<div class="notice notice-error"><p>%s</p></div>',
            esc_html__(
                'Virtual Try-On for WooCommerce needs WooCommerce: install and activate it first.',
                'tryon-for-woocommerce'
            )
        );
    }

    /** @param array<int, string> $integrations */
    public static function addIntegration(array $integrations): array
    {
        $integrations[] = Integration::class;
        return $integrations;
    }

    /** One setting of the integration (its defaults when unsaved). */
    public static function setting(string $key): string
    {
        $saved = get_option('woocommerce_tryon_settings', []);
        $value = is_array($saved) && isset($saved[$key]) ? $saved[$key] : '';
        if ($value === '' && $key === 'priority') {
            return '35';
        }
        return is_scalar($value) ? (string) $value : '';
    }

    public static function priority(): int
    {
        $priority = (int) self::setting('priority');
        return $priority >= 1 && $priority <= 100 ? $priority : 35;
    }

    /** The SDK is loaded only when it is pinned (URL and hash) and a key is set. */
    public static function ready(): bool
    {
        return str_starts_with(self::setting('publishable_key'), 'pk_')
            && preg_match('#^https?://#', self::setting('sdk_url')) === 1
            && str_starts_with(self::setting('sdk_integrity'), 'sha384-');
    }

    /** Whether the try-on button belongs on this product (the categories setting, if any). */
    public static function wanted(\WC_Product $product): bool
    {
        $wanted = array_filter(array_map('trim', explode(',', strtolower(self::setting('categories')))));
        if ($wanted === []) {
            return true;
        }
        $terms = get_the_terms($product->get_id(), 'product_cat');
        foreach (is_array($terms) ? $terms : [] as $term) {
            if (in_array(strtolower($term->slug), $wanted, true) || in_array(strtolower($term->name), $wanted, true)) {
                return true;
            }
        }
        return false;
    }

    public static function enqueue(): void
    {
        if (!self::ready() || !is_product()) {
            return;
        }
        wp_enqueue_script(
            self::HANDLE,
            self::setting('sdk_url'),
            [],
            null,
            // WordPress 6.3+ reads the strategy; 6.1 puts the script in the footer and
            // scriptTag() adds `defer`.
            ['strategy' => 'defer', 'in_footer' => true]
        );
        wp_enqueue_script(
            'tryon-product',
            plugins_url('assets/tryon-product.js', TRYON_WC_FILE),
            ['jquery'],
            TRYON_WC_VERSION,
            ['strategy' => 'defer', 'in_footer' => true]
        );
    }

    /** The SDK's tag: pinned (integrity, crossorigin), deferred, configured by data-*. */
    public static function scriptTag(string $tag, string $handle): string
    {
        if ($handle !== self::HANDLE) {
            return $tag;
        }
        $format = '<script src="%s" integrity="%s" crossorigin="anonymous" data-publishable-key="%s"';
        $format .= " data-locale=\"%s\" defer></script>\n";
        return sprintf(
            $format,
            esc_url(self::setting('sdk_url')),
            esc_attr(self::setting('sdk_integrity')),
            esc_attr(self::setting('publishable_key')),
            esc_attr(substr(get_locale(), 0, 2) === 'fr' ? 'fr' : 'auto')
        );
    }

    /** The placeholder the SDK mounts its button into (product page summary). */
    public static function placeholder(): void
    {
        global $product;
        if (!self::ready() || !($product instanceof \WC_Product) || !self::wanted($product)) {
            return;
        }
        $variations = [];
        if ($product->is_type('variable')) {
            foreach ($product->get_available_variations() as $variation) {
                $variations[] = (string) $variation['variation_id'];
            }
        }
        $format = '<div class="tryon-product" data-tryon-product="%s" data-tryon-variant="%s"';
        $format .= ' data-tryon-variants="%s" data-tryon-name="%s" data-tryon-label="%s"></div>';
        printf(
            $format,
            esc_attr((string) $product->get_id()),
            esc_attr($variations === [] ? '' : $variations[0]),
            esc_attr(implode(',', $variations)),
            esc_attr($product->get_name()),
            esc_attr__('Try it on', 'tryon-for-woocommerce')
        );
    }

    /**
     * The sessions the product form posted kept on the cart item: the try-on session
     * (tryon-product.js fills `tryon_session` after a try-on) and the widget session
     * (`tryon_widget_session`, the answer of `TryOn.addedToCart` when the shopper adds with the
     * page's own button; it makes a holdout shopper's order count in their arm).
     *
     * @param array<string, mixed> $data
     * @return array<string, mixed>
     */
    public static function cartItemData(array $data, int $productId, int $variationId): array
    {
        $fields = [self::SESSION_FIELD => self::ITEM_META, self::WIDGET_FIELD => self::WIDGET_META];
        foreach ($fields as $field => $meta) {
            // WooCommerce checks the add-to-cart form's own nonce; these fields only ride along.
            // phpcs:ignore Generic.Files.LineLength
            $raw = isset($_POST[$field]) ? sanitize_text_field(wp_unslash($_POST[$field])) : '';
            if (preg_match('/^[A-Za-z0-9_-]{8,64}$/', $raw) === 1) {
                $data[$meta] = $raw;
            }
        }
        return $data;
    }

    /** The cart item's sessions carried to the order item meta `_tryon_session` and `_tryon_widget_session`. */
    public static function orderItemMeta(
        \WC_Order_Item_Product $item,
        string $cartItemKey,
        array $values,
        \WC_Order $order
    ): void {
        foreach ([self::ITEM_META, self::WIDGET_META] as $meta) {
            if (isset($values[$meta]) && is_string($values[$meta])) {
                $item->add_meta_data($meta, $values[$meta], true);
            }
        }
    }

    /** Where the Connect button leads: the gateway's key exchange for this store. */
    public static function connectUrl(): string
    {
        $gateway = untrailingslashit(self::setting('gateway_url'));
        return $gateway . '/platforms/woocommerce/connect?store_url=' . rawurlencode(untrailingslashit(home_url()));
    }

    /**
     * The Connect action (admin-post.php): capability and nonce checked, then off to the
     * gateway. Returns the redirect target, or null when refused (tests call it directly).
     */
    public static function authorizeConnect(): ?string
    {
        $nonce = isset($_GET['_wpnonce']) ? sanitize_text_field(wp_unslash($_GET['_wpnonce'])) : '';
        if (!current_user_can('manage_woocommerce') || !wp_verify_nonce($nonce, self::CONNECT_ACTION)) {
            return null;
        }
        if (preg_match('#^https?://#', self::setting('gateway_url')) !== 1) {
            return null;
        }
        return self::connectUrl();
    }

    public static function connect(): void
    {
        $target = self::authorizeConnect();
        if ($target === null) {
            wp_die(esc_html__('You are not allowed to connect this store.', 'tryon-for-woocommerce'), '', 403);
        }
        // The gateway is another site by design: wp_safe_redirect would refuse it.
        // phpcs:ignore Generic.PHP.ForbiddenFunctions
        wp_redirect($target);
        exit;
    }
}
