<?php

namespace Tryon\WooCommerce;

/**
 * The settings page (WooCommerce > Settings > Integration > Virtual try-on), through
 * WooCommerce's integration settings API: the gateway URL, the Connect button, the
 * publishable key, where the button goes on the product page and which categories get it.
 * Saving also pins the SDK: its exact-version URL and integrity hash are read from the
 * gateway's /sdk/v1/manifest.json.
 *
 * The method names are WooCommerce's (WC_Settings_API), hence not camelCase.
 * phpcs:disable PSR1.Methods.CamelCapsMethodName
 */
class Integration extends \WC_Integration
{
    public const ID = 'tryon';
    public const NONCE_ACTION = 'woocommerce-settings';

    public function __construct()
    {
        $this->id = self::ID;
        $this->method_title = __('Virtual try-on', 'tryon-for-woocommerce');
        $this->method_description = __(
            'Connect the store to the try-on service, then paste the publishable key it shows.',
            'tryon-for-woocommerce'
        );
        $this->init_form_fields();
        $this->init_settings();
        add_action('woocommerce_update_options_integration_' . $this->id, [$this, 'process_admin_options']);
    }

    public function init_form_fields(): void
    {
        $this->form_fields = [
            'gateway_url' => [
                'title' => __('Try-on service URL', 'tryon-for-woocommerce'),
                'type' => 'text',
                'description' => __('For example https://tryon.example.com', 'tryon-for-woocommerce'),
                'default' => '',
            ],
            'publishable_key' => [
                'title' => __('Publishable key', 'tryon-for-woocommerce'),
                'type' => 'text',
                'description' => __('Starts with pk_; shown after connecting.', 'tryon-for-woocommerce'),
                'default' => '',
            ],
            'priority' => [
                'title' => __('Button placement', 'tryon-for-woocommerce'),
                'type' => 'select',
                'options' => [
                    '6' => __('After the title', 'tryon-for-woocommerce'),
                    '15' => __('After the price', 'tryon-for-woocommerce'),
                    '25' => __('After the short description', 'tryon-for-woocommerce'),
                    '35' => __('After the add to cart button', 'tryon-for-woocommerce'),
                    '45' => __('After the product meta', 'tryon-for-woocommerce'),
                ],
                'default' => '35',
            ],
            'categories' => [
                'title' => __('Categories', 'tryon-for-woocommerce'),
                'type' => 'text',
                'description' => __(
                    'Comma-separated category slugs or names; empty: every product.',
                    'tryon-for-woocommerce'
                ),
                'default' => '',
            ],
        ];
    }

    /** The settings table, then the Connect button (an admin-post action with a nonce). */
    public function admin_options(): void
    {
        parent::admin_options();
        if (!current_user_can('manage_woocommerce') || Plugin::setting('gateway_url') === '') {
            return;
        }
        $url = wp_nonce_url(
            admin_url('admin-post.php?action=' . Plugin::CONNECT_ACTION),
            Plugin::CONNECT_ACTION
        );
        printf(
            '<p><a class="button button-primary" id="tryon-connect" href="%s">%s</a></p>',
            esc_url($url),
            esc_html__('Connect this store', 'tryon-for-woocommerce')
        );
    }

    /** Saves only for a user who may manage WooCommerce, with the settings form's nonce. */
    public function process_admin_options(): bool
    {
        $nonce = isset($_POST['_wpnonce']) ? sanitize_text_field(wp_unslash($_POST['_wpnonce'])) : '';
        if (!current_user_can('manage_woocommerce') || !wp_verify_nonce($nonce, self::NONCE_ACTION)) {
            return false;
        }
        $saved = parent::process_admin_options();
        $this->pinSdk();
        return $saved;
    }

    public function validate_gateway_url_field(string $key, ?string $value): string
    {
        $url = esc_url_raw(trim((string) $value), ['https', 'http']);
        return untrailingslashit($url);
    }

    public function validate_publishable_key_field(string $key, ?string $value): string
    {
        $value = trim((string) $value);
        return preg_match('/^pk_[A-Za-z0-9_-]{1,200}$/', $value) === 1 ? $value : '';
    }

    public function validate_priority_field(string $key, ?string $value): string
    {
        $value = (string) $value;
        return in_array($value, ['6', '15', '25', '35', '45'], true) ? $value : '35';
    }

    public function validate_categories_field(string $key, ?string $value): string
    {
        return sanitize_text_field((string) $value);
    }

    /** Reads the SDK's exact-version URL and SRI hash from the gateway's manifest. */
    public function pinSdk(): void
    {
        $gateway = Plugin::setting('gateway_url');
        $url = '';
        $integrity = '';
        if ($gateway !== '') {
            $answer = wp_remote_get($gateway . '/sdk/v1/manifest.json', ['timeout' => 10]);
            $manifest = is_wp_error($answer) ? null : json_decode(wp_remote_retrieve_body($answer), true);
            $file = is_array($manifest) ? ($manifest['files']['tryon.js'] ?? null) : null;
            if (is_array($file) && is_string($file['url'] ?? null) && is_string($file['integrity'] ?? null)) {
                $url = esc_url_raw($file['url'], ['https', 'http']);
                $integrity = preg_match('#^sha384-[A-Za-z0-9+/=]{40,100}$#', $file['integrity']) === 1
                    ? $file['integrity'] : '';
            }
        }
        $settings = get_option('woocommerce_tryon_settings', []);
        $settings = is_array($settings) ? $settings : [];
        $settings['sdk_url'] = $url;
        $settings['sdk_integrity'] = $url === '' ? '' : $integrity;
        update_option('woocommerce_tryon_settings', $settings);
    }
}
