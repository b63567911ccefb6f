<?php

use PHPUnit\Framework\TestCase;
use Tryon\WooCommerce\Plugin;

/** Activated on a WordPress without WooCommerce: an admin notice, nothing else, no error. */
final class WithoutWooCommerceTest extends TestCase
{
    public function testActivationWithoutWooCommerceShowsANoticeAndHooksNothing(): void
    {
        $this->assertNull(activate_plugin('tryon-for-woocommerce/tryon-for-woocommerce.php'));
        $this->assertTrue(is_plugin_active('tryon-for-woocommerce/tryon-for-woocommerce.php'));
        $this->assertFalse(class_exists('WooCommerce', false));
        Plugin::boot();
        $this->assertFalse(has_action('woocommerce_single_product_summary'));
        $this->assertFalse(has_filter('woocommerce_integrations'));
        $this->assertFalse(has_action('wp_enqueue_scripts', [Plugin::class, 'enqueue']));

        wp_set_current_user(1);
        ob_start();
        do_action('admin_notices');
        $notice = (string) ob_get_clean();
        $this->assertStringContainsString('notice-error', $notice);
        $this->assertStringContainsString('needs WooCommerce', $notice);

        wp_set_current_user(0);
        ob_start();
        do_action('admin_notices');
        $this->assertStringNotContainsString('needs WooCommerce', (string) ob_get_clean());
        remove_action('admin_notices', [Plugin::class, 'missingWooCommerceNotice']);
    }
}
