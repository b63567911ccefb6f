<?php

/**
 * Renders the module's product page template (view/frontend/templates/button.phtml) the way
 * a Magento block would include it, with the module's real ViewModel and Config over the
 * labelled framework STUBS of its unit tests, and a STUB escaper built on htmlspecialchars
 * (Magento's own Escaper is not reachable here). Prints the HTML.
 *
 * Usage: php render.php '<json: {"config": {...}, "product": {...}}>'
 */

declare(strict_types=1);

require __DIR__ . '/../../../plugins/magento/Test/Unit/bootstrap.php';

use Magento\Catalog\Api\Data\ProductInterface;
use Magento\Catalog\Helper\Image;
use Magento\Framework\App\Config\ScopeConfigInterface;
use Magento\Framework\DataObject;
use Magento\Store\Model\StoreManagerInterface;
use Tryon\TryOn\Model\Config;
use Tryon\TryOn\ViewModel\TryOn;

$input = json_decode($argv[1], true, 512, JSON_THROW_ON_ERROR);

/** STUB of Magento's Escaper: HTML-escapes; escapeUrl drops scripts' schemes first. */
$escaper = new class {
    public function escapeHtml($value): string
    {
        return htmlspecialchars((string) $value, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
    }

    public function escapeHtmlAttr($value): string
    {
        return $this->escapeHtml($value);
    }

    public function escapeUrl($value): string
    {
        $url = (string) $value;
        return preg_match('/^\s*(javascript|data|vbscript):/i', $url) ? '' : $this->escapeHtml($url);
    }
};

$product = new class ($input['product']) implements ProductInterface {
    public function __construct(private array $p)
    {
    }

    public function getId()
    {
        return $this->p['id'];
    }

    public function getSku()
    {
        return $this->p['sku'];
    }

    public function getName()
    {
        return $this->p['name'];
    }

    public function getTypeId()
    {
        return $this->p['type'];
    }

    public function getExtensionAttributes()
    {
        $links = $this->p['links'];
        return new class ($links) implements \Magento\Catalog\Api\Data\ProductExtensionInterface {
            public function __construct(private array $links)
            {
            }

            public function getConfigurableProductLinks()
            {
                return $this->links;
            }
        };
    }

    public function getMediaGalleryEntries()
    {
        return [];
    }
};

/** STUB of the product view block: its data, its product, the static URL of a view file. */
$scope = new class ($input['config']) implements ScopeConfigInterface {
    public function __construct(private array $values)
    {
    }

    public function getValue($path, $scopeType = 'default', $scopeCode = null)
    {
        return $this->values[$path] ?? null;
    }
};
$stores = new class implements StoreManagerInterface {
    public function getStore($storeId = null)
    {
        return new DataObject(['base_url' => 'https://shop.example/']);
    }
};
$viewModel = new TryOn(new Config($scope, $stores), new Image());
$block = new class ($product, $viewModel) {
    public function __construct(private $product, private $viewModel)
    {
    }

    public function getData($key)
    {
        return $key === 'view_model' ? $this->viewModel : null;
    }

    public function getProduct()
    {
        return $this->product;
    }

    public function getViewFileUrl($file)
    {
        return '/static/frontend/Magento/luma/en_US/Tryon_TryOn/js/tryon-product.js';
    }
};

(function () use ($block, $escaper): void {
    include __DIR__ . '/../../../plugins/magento/view/frontend/templates/button.phtml';
})->call($block);
