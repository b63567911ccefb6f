# Static checks of the deployment: checkov (own venv, cached outside the clone) over Terraform
# and the rendered Kubernetes overlay, and terraform fmt when terraform is installed.

CHECKOV_VERSION := 3.3.30
CHECKOV_HOME := $(TRYON_CACHE_DIR)/tools/checkov-$(CHECKOV_VERSION)
CHECKOV := $(CHECKOV_HOME)/bin/checkov

$(CHECKOV):
	python3 -m venv $(CHECKOV_HOME)
	$(CHECKOV_HOME)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)

.PHONY: check-infra
check-infra: $(CHECKOV) ## checkov over infra/terraform and k8s/overlays/production
	$(CHECKOV) --config-file .checkov.yaml -d infra/terraform --framework terraform
	$(CHECKOV) --config-file .checkov.yaml -d k8s/overlays/production --framework kustomize
	@if command -v terraform >/dev/null; then terraform fmt -check -recursive infra/terraform; fi
