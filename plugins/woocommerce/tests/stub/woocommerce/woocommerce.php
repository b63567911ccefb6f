<?php

/**
 * Plugin Name: WooCommerce (TEST STUB)
 * Description: NOT WooCommerce. A stub of the few WooCommerce classes and functions the
 *              try-on plugin calls, for its PHPUnit tests on a real WordPress (WooCommerce
 *              itself is on no registry these machines reach). Written from WooCommerce's
 *              documented API; it does not render, sell or store anything.
 * Version: 0.0.0-stub
 */

// phpcs:disable PSR1.Classes.ClassDeclaration.MultipleClasses, Squiz.Classes.ValidClassName
// phpcs:disable PSR1.Methods.CamelCapsMethodName, PSR1.Files.SideEffects
// phpcs:disable PSR1.Classes.ClassDeclaration.MissingNamespace, Generic.Files.LineLength

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/features-util.php';

class WooCommerce
{
    public string $version = '0.0.0-stub';
}

/** WC_Settings_API as documented: form fields, settings stored as `woocommerce_{id}_settings`. */
abstract class WC_Settings_API
{
    public string $id = '';
    public array $form_fields = [];
    public array $settings = [];
    public string $method_title = '';
    public string $method_description = '';

    public function init_settings(): void
    {
        $saved = get_option('woocommerce_' . $this->id . '_settings', null);
        $defaults = array_map(static fn (array $f) => $f['default'] ?? '', $this->form_fields);
        $this->settings = is_array($saved) ? array_merge($defaults, $saved) : $defaults;
    }

    public function get_option(string $key, mixed $empty = null): mixed
    {
        return $this->settings[$key] ?? $empty;
    }

    /** Each field posted as `woocommerce_{id}_{key}`, through `validate_{key}_field`. */
    public function process_admin_options(): bool
    {
        foreach ($this->form_fields as $key => $field) {
            $posted = $_POST['woocommerce_' . $this->id . '_' . $key] ?? null;
            $value = is_string($posted) ? wp_unslash($posted) : null;
            $validator = 'validate_' . $key . '_field';
            $this->settings[$key] = method_exists($this, $validator)
                ? $this->$validator($key, $value)
                : sanitize_text_field((string) $value);
        }
        return update_option('woocommerce_' . $this->id . '_settings', $this->settings);
    }

    public function admin_options(): void
    {
        echo '<table class="form-table">';
        foreach ($this->form_fields as $key => $field) {
            printf(
                '<tr><th>%s</th><td><input name="%s" value="%s"></td></tr>',
                esc_html($field['title'] ?? $key),
                esc_attr('woocommerce_' . $this->id . '_' . $key),
                esc_attr((string) ($this->settings[$key] ?? ''))
            );
        }
        echo '</table>';
    }
}

abstract class WC_Integration extends WC_Settings_API
{
}

/** A product: a WordPress post of type `product`, as WooCommerce keeps it. */
class WC_Product
{
    public function __construct(protected WP_Post $post)
    {
    }

    public function get_id(): int
    {
        return $this->post->ID;
    }

    public function get_name(): string
    {
        return $this->post->post_title;
    }

    public function is_type(string $type): bool
    {
        return $type === (get_post_meta($this->post->ID, '_stub_type', true) ?: 'simple');
    }

    /** @return array<int, array{variation_id: int}> */
    public function get_available_variations(): array
    {
        $ids = array_filter(array_map('intval', explode(',', (string) get_post_meta($this->post->ID, '_stub_variations', true))));
        return array_map(static fn (int $id) => ['variation_id' => $id], array_values($ids));
    }
}

class WC_Order
{
}

/** An order line: meta kept in memory (the real one saves to the order tables). */
class WC_Order_Item_Product
{
    /** @var array<string, mixed> */
    public array $meta = [];

    public function add_meta_data(string $key, mixed $value, bool $unique = false): void
    {
        if (!$unique || !array_key_exists($key, $this->meta)) {
            $this->meta[$key] = $value;
        }
    }

    public function get_meta(string $key): mixed
    {
        return $this->meta[$key] ?? '';
    }
}

function wc_get_product(int $id): ?WC_Product
{
    $post = get_post($id);
    return $post instanceof WP_Post && $post->post_type === 'product' ? new WC_Product($post) : null;
}

function is_product(): bool
{
    return is_singular('product');
}

add_action('init', static function (): void {
    register_post_type('product', ['public' => true, 'label' => 'Products']);
    register_taxonomy('product_cat', 'product', ['public' => true, 'label' => 'Categories']);
});

// WooCommerce's installer gives administrators (and its shop manager role) this capability.
register_activation_hook(__FILE__, static function (): void {
    get_role('administrator')->add_cap('manage_woocommerce');
});

// The single product page: WooCommerce sets the global $product and renders its own template.
add_action('wp', static function (): void {
    if (is_singular('product')) {
        $GLOBALS['product'] = wc_get_product(get_queried_object_id());
    }
});
add_filter('template_include', static function (string $template): string {
    return is_singular('product') ? __DIR__ . '/single-product.php' : $template;
});
