<?php

use Automattic\WooCommerce\Utilities\FeaturesUtil;
use PHPUnit\Framework\TestCase;
use Tryon\WooCommerce\Integration;
use Tryon\WooCommerce\Plugin;

/**
 * The plugin on a real WordPress (Debian's, on MariaDB) with the WooCommerce TEST STUB
 * active: settings, the SDK's tag, the placeholder, the session from cart to order, the
 * connect action, uninstall.
 */
final class PluginTest extends TestCase
{
    private const SDK = 'https://tryon.test/sdk/1.4.0/tryon.js';
    private const SRI = 'sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC';

    public static function setUpBeforeClass(): void
    {
        if (!class_exists('WooCommerce', false)) {
            activate_plugin('woocommerce/woocommerce.php');
            do_action('init');
        }
        do_action('before_woocommerce_init');
        Plugin::boot();
    }

    protected function setUp(): void
    {
        delete_option('woocommerce_tryon_settings');
        $_POST = [];
        $_GET = [];
        wp_set_current_user(0);
    }

    private function admin(): void
    {
        wp_set_current_user(1);
    }

    private function manifest(): void
    {
        add_filter('pre_http_request', static function ($pre, array $args, string $url) {
            if ($url !== 'https://tryon.test/sdk/v1/manifest.json') {
                return $pre;
            }
            $body = wp_json_encode(['version' => '1.4.0', 'files' => ['tryon.js' => [
                'url' => self::SDK, 'integrity' => self::SRI,
            ]]]);
            return ['headers' => [], 'body' => $body, 'response' => ['code' => 200, 'message' => 'OK'],
                'cookies' => [], 'filename' => null];
        }, 10, 3);
    }

    private function post(array $fields, ?string $nonce): bool
    {
        foreach ($fields as $key => $value) {
            $_POST['woocommerce_tryon_' . $key] = $value;
        }
        if ($nonce !== null) {
            $_POST['_wpnonce'] = $nonce;
        }
        return (new Integration())->process_admin_options();
    }

    private function configure(): void
    {
        $this->admin();
        $this->manifest();
        $this->assertTrue($this->post(
            ['gateway_url' => 'https://tryon.test/', 'publishable_key' => 'pk_test_abc', 'priority' => '35'],
            wp_create_nonce('woocommerce-settings')
        ));
    }

    private function product(string $name, array $meta = []): int
    {
        $id = wp_insert_post(['post_type' => 'product', 'post_title' => $name, 'post_status' => 'publish']);
        foreach ($meta as $key => $value) {
            update_post_meta($id, $key, $value);
        }
        return $id;
    }

    private function viewProduct(int $id): void
    {
        $GLOBALS['wp_query'] = new WP_Query(['p' => $id, 'post_type' => 'product']);
        $GLOBALS['wp_the_query'] = $GLOBALS['wp_query'];
        $GLOBALS['product'] = wc_get_product($id);
    }

    public function testItActivatesHooksInAndDeclaresHpos(): void
    {
        $this->assertTrue(is_plugin_active('woocommerce/woocommerce.php'));
        $this->assertTrue(is_plugin_active('tryon-for-woocommerce/tryon-for-woocommerce.php'));
        $this->assertSame(35, has_action('woocommerce_single_product_summary', [Plugin::class, 'placeholder']));
        $this->assertContains(Integration::class, apply_filters('woocommerce_integrations', []));
        $this->assertContains(['custom_order_tables', TRYON_WC_FILE, true], FeaturesUtil::$declared);
        $header = get_plugin_data(TRYON_WC_FILE, false, false);
        $this->assertSame('6.1', $header['RequiresWP']);
        $this->assertSame('8.1', $header['RequiresPHP']);
        $this->assertSame('tryon-for-woocommerce', $header['TextDomain']);
        $this->assertStringContainsString(
            'Requires Plugins:  woocommerce',
            (string) file_get_contents(TRYON_WC_FILE)
        );
    }

    public function testSettingsSaveWithNonceAndCapabilityAndPinTheSdk(): void
    {
        $this->configure();
        $this->assertSame('https://tryon.test', Plugin::setting('gateway_url'));
        $this->assertSame('pk_test_abc', Plugin::setting('publishable_key'));
        $this->assertSame(self::SDK, Plugin::setting('sdk_url'));
        $this->assertSame(self::SRI, Plugin::setting('sdk_integrity'));
        $this->assertTrue(Plugin::ready());
    }

    public function testSettingsAreNotSavedWithoutANonceOrTheCapability(): void
    {
        $this->admin();
        $this->assertFalse($this->post(['publishable_key' => 'pk_evil'], null));
        $this->assertFalse($this->post(['publishable_key' => 'pk_evil'], 'forged'));
        $this->assertFalse($this->post(['publishable_key' => 'pk_evil'], wp_create_nonce('another-action')));
        $subscriber = wp_insert_user(['user_login' => 'sub' . wp_rand(), 'user_pass' => 'x', 'role' => 'subscriber']);
        wp_set_current_user($subscriber);
        $this->assertFalse($this->post(['publishable_key' => 'pk_evil'], wp_create_nonce('woocommerce-settings')));
        $this->assertSame('', Plugin::setting('publishable_key'));
    }

    public function testHostileSettingValuesAreCleaned(): void
    {
        $this->admin();
        $this->post([
            'gateway_url' => 'javascript:alert(1)',
            'publishable_key' => 'sk_live_secret',
            'priority' => '1; DROP',
            'categories' => '<b>sunglasses</b>, hats',
        ], wp_create_nonce('woocommerce-settings'));
        $this->assertSame('', Plugin::setting('gateway_url'));
        $this->assertSame('', Plugin::setting('publishable_key'));
        $this->assertSame('35', Plugin::setting('priority'));
        $this->assertSame('sunglasses, hats', Plugin::setting('categories'));
        $this->assertSame('', Plugin::setting('sdk_url'));
        $this->assertFalse(Plugin::ready());
    }

    public function testTheSdkIsEnqueuedDeferredWithItsIntegrityOnProductPagesOnly(): void
    {
        $this->configure();
        wp_set_current_user(0);
        $this->viewProduct($this->product('Round frames'));
        do_action('wp_enqueue_scripts');
        $this->assertTrue(wp_script_is(Plugin::HANDLE, 'enqueued'));
        ob_start();
        wp_print_scripts(Plugin::HANDLE);
        $tag = (string) ob_get_clean();
        $this->assertStringContainsString('src="' . self::SDK . '"', $tag);
        $this->assertStringContainsString('integrity="' . self::SRI . '"', $tag);
        $this->assertStringContainsString('crossorigin="anonymous"', $tag);
        $this->assertStringContainsString('data-publishable-key="pk_test_abc"', $tag);
        $this->assertMatchesRegularExpression('/\sdefer(\s|>)/', $tag);
        wp_dequeue_script(Plugin::HANDLE);
        wp_deregister_script(Plugin::HANDLE);

        $GLOBALS['wp_query'] = new WP_Query(['pagename' => 'nothing']);
        $GLOBALS['wp_the_query'] = $GLOBALS['wp_query'];
        do_action('wp_enqueue_scripts');
        $this->assertFalse(wp_script_is(Plugin::HANDLE, 'enqueued'));
    }

    public function testThePlaceholderEscapesHostileProductNames(): void
    {
        $this->configure();
        $hostile = '"><script>alert(1)</script><img src=x onerror=alert(2)>';
        $id = $this->product($hostile, ['_stub_type' => 'variable', '_stub_variations' => '71,72']);
        $this->viewProduct($id);
        ob_start();
        do_action('woocommerce_single_product_summary');
        $html = (string) ob_get_clean();
        $this->assertStringNotContainsString('<script>', $html);
        $this->assertStringNotContainsString('<img', $html);
        $this->assertStringContainsString('data-tryon-product="' . $id . '"', $html);
        $this->assertStringContainsString('data-tryon-variant="71"', $html);
        $this->assertStringContainsString('data-tryon-variants="71,72"', $html);
        $this->assertStringContainsString('&quot;&gt;&lt;script&gt;', $html);
        $dom = new DOMDocument();
        $this->assertTrue($dom->loadHTML($html, LIBXML_NOERROR));
        $div = $dom->getElementsByTagName('div')->item(0);
        $this->assertSame($hostile, $div->getAttribute('data-tryon-name'));
        $this->assertSame(1, $dom->getElementsByTagName('div')->length);
    }

    public function testThePlaceholderFollowsTheCategoriesSetting(): void
    {
        $this->configure();
        $settings = get_option('woocommerce_tryon_settings');
        $settings['categories'] = 'sunglasses';
        update_option('woocommerce_tryon_settings', $settings);
        $shoe = $this->product('Shoe');
        wp_set_object_terms($shoe, ['Shoes'], 'product_cat');
        $glasses = $this->product('Aviator');
        wp_set_object_terms($glasses, ['Sunglasses'], 'product_cat');
        $this->viewProduct($shoe);
        ob_start();
        Plugin::placeholder();
        $this->assertSame('', (string) ob_get_clean());
        $this->viewProduct($glasses);
        ob_start();
        Plugin::placeholder();
        $this->assertStringContainsString('data-tryon-product="' . $glasses . '"', (string) ob_get_clean());
    }

    public function testTheSessionGoesFromTheCartItemToTheOrderItemMeta(): void
    {
        $_POST['tryon_session'] = '3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d';
        $data = apply_filters('woocommerce_add_cart_item_data', ['quantity' => 1], 31, 0);
        $this->assertSame('3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d', $data['_tryon_session']);
        $item = new WC_Order_Item_Product();
        do_action('woocommerce_checkout_create_order_line_item', $item, 'cart-key', $data, new WC_Order());
        $this->assertSame('3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d', $item->get_meta('_tryon_session'));

        foreach (['<script>x</script>', 'short', str_repeat('a', 65), "ok-ok-ok\nX"] as $hostile) {
            $_POST['tryon_session'] = $hostile;
            $data = apply_filters('woocommerce_add_cart_item_data', [], 31, 0);
            $this->assertArrayNotHasKey('_tryon_session', $data, $hostile);
        }
        $_POST = [];
        $item = new WC_Order_Item_Product();
        do_action('woocommerce_checkout_create_order_line_item', $item, 'k', [], new WC_Order());
        $this->assertSame('', $item->get_meta('_tryon_session'));
    }

    public function testTheWidgetSessionOfAnAddWithThePagesOwnButtonReachesTheOrderItemMeta(): void
    {
        // A holdout shopper: no try-on session, only the widget session from TryOn.addedToCart.
        $_POST = ['tryon_widget_session' => 'w-4f1c2a9e7b3d'];
        $data = apply_filters('woocommerce_add_cart_item_data', ['quantity' => 1], 31, 0);
        $this->assertSame('w-4f1c2a9e7b3d', $data['_tryon_widget_session']);
        $this->assertArrayNotHasKey('_tryon_session', $data);
        $item = new WC_Order_Item_Product();
        do_action('woocommerce_checkout_create_order_line_item', $item, 'cart-key', $data, new WC_Order());
        $this->assertSame('w-4f1c2a9e7b3d', $item->get_meta('_tryon_widget_session'));
        $this->assertSame('', $item->get_meta('_tryon_session'));

        foreach (['<script>x</script>', 'short', str_repeat('a', 65), "ok-ok-ok\nX"] as $hostile) {
            $_POST = ['tryon_widget_session' => $hostile];
            $data = apply_filters('woocommerce_add_cart_item_data', [], 31, 0);
            $this->assertArrayNotHasKey('_tryon_widget_session', $data, $hostile);
        }
        $_POST = [];
    }

    public function testTheConnectActionNeedsTheNonceAndTheCapability(): void
    {
        $this->configure();
        $_GET['_wpnonce'] = wp_create_nonce(Plugin::CONNECT_ACTION);
        $this->assertSame(
            'https://tryon.test/platforms/woocommerce/connect?store_url=https%3A%2F%2Fshop.example',
            Plugin::authorizeConnect()
        );
        $_GET['_wpnonce'] = 'forged';
        $this->assertNull(Plugin::authorizeConnect());
        $subscriber = wp_insert_user(['user_login' => 'sub' . wp_rand(), 'user_pass' => 'x', 'role' => 'subscriber']);
        wp_set_current_user($subscriber);
        $_GET['_wpnonce'] = wp_create_nonce(Plugin::CONNECT_ACTION);
        $this->assertNull(Plugin::authorizeConnect());
    }

    public function testTheSettingsPageShowsTheConnectButtonToManagers(): void
    {
        $this->configure();
        ob_start();
        (new Integration())->admin_options();
        $html = (string) ob_get_clean();
        $link = '~id="tryon-connect" href="[^"]*admin-post\.php\?action=tryon_connect&(amp|#038);_wpnonce=[0-9a-f]+"~';
        $this->assertMatchesRegularExpression($link, $html);
    }

    public function testUninstallIsGuardedAndRemovesTheSettings(): void
    {
        $file = dirname(TRYON_WC_FILE) . '/uninstall.php';
        $output = [];
        exec('php ' . escapeshellarg($file) . ' 2>&1', $output, $status);
        $this->assertSame(0, $status);
        $this->assertSame([], $output);
        $this->configure();
        define('WP_UNINSTALL_PLUGIN', 'tryon-for-woocommerce/tryon-for-woocommerce.php');
        include $file;
        $this->assertFalse(get_option('woocommerce_tryon_settings'));
    }
}
