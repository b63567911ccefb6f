<?php

/**
 * STUBS of Magento module APIs (Catalog, Sales, Quote, Integration) for the unit tests (see
 * README.md here): only the methods this module calls.
 */

declare(strict_types=1);

namespace Magento\Catalog\Api\Data {
    /** STUB */
    interface ProductInterface
    {
        public function getId();

        public function getSku();

        public function getName();

        public function getTypeId();

        public function getExtensionAttributes();

        public function getMediaGalleryEntries();
    }

    /** STUB (a generated interface in Magento) */
    interface ProductExtensionInterface
    {
        public function getConfigurableProductLinks();
    }

    /** STUB */
    interface ProductAttributeMediaGalleryEntryInterface
    {
        public function isDisabled();

        public function getMediaType();

        public function getFile();
    }
}

namespace Magento\Catalog\Helper {
    /** STUB of the image helper: init() then setImageFile() then getUrl(). */
    class Image
    {
        private string $file = '';

        public function init($product, $imageId, $attributes = []): static
        {
            return $this;
        }

        public function setImageFile($file): static
        {
            $this->file = (string) $file;
            return $this;
        }

        public function getUrl(): string
        {
            return 'https://shop.example/media/catalog/product/cache/large' . $this->file;
        }
    }
}

namespace Magento\Sales\Api\Data {
    /** STUB */
    interface OrderInterface
    {
        public function getItems();

        public function getEntityId();

        public function getIncrementId();

        public function getCreatedAt();

        public function getUpdatedAt();

        public function getState();

        public function getStatus();

        public function getGrandTotal();

        public function getOrderCurrencyCode();

        public function getTotalRefunded();
    }

    /** STUB */
    interface OrderItemInterface
    {
        public function getItemId();

        public function getParentItemId();

        public function getProductId();

        public function getProductType();

        public function getSku();

        public function getQtyOrdered();

        public function getPrice();

        public function getPriceInclTax();

        public function getProductOptions();

        public function setProductOptions(?array $productOptions = null);

        public function getExtensionAttributes();

        public function setExtensionAttributes($extensionAttributes);
    }

    /** STUB (generated in Magento from etc/extension_attributes.xml) */
    interface OrderItemExtensionInterface
    {
        public function getTryonSession();

        public function setTryonSession($tryonSession);
    }

    /** STUB (generated in Magento) */
    class OrderItemExtensionFactory
    {
        public function create(array $data = []): OrderItemExtensionInterface
        {
            return new class implements OrderItemExtensionInterface {
                private ?string $session = null;

                public function getTryonSession()
                {
                    return $this->session;
                }

                public function setTryonSession($tryonSession)
                {
                    $this->session = $tryonSession;
                    return $this;
                }
            };
        }
    }

    /** STUB */
    interface OrderSearchResultInterface
    {
        public function getItems();
    }
}

namespace Magento\Sales\Api {
    /** STUB */
    interface OrderRepositoryInterface
    {
        public function get($id);
    }
}

namespace Magento\Quote\Model\Quote\Item {
    /** STUB */
    class ToOrderItem
    {
    }

    /** STUB: a quote item with its options by code. */
    abstract class AbstractItem extends \Magento\Framework\DataObject
    {
        abstract public function getOptionByCode($code);
    }
}

namespace Magento\Integration\Api {
    /** STUB */
    interface IntegrationServiceInterface
    {
        public function findByName($name);
    }

    /** STUB */
    interface OauthServiceInterface
    {
        public function loadConsumer($consumerId);
    }
}
