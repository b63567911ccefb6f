# The gateway pods' AWS identity, through EKS Pod Identity (no keys, nothing account-specific
# in the manifests): the Kubernetes ServiceAccount tryon/gateway gets a role that may read,
# write and delete merchant blobs in the assets bucket, and nothing else. The storage sweep
# CronJob (k8s/base/storage-sweep.yaml) runs as it too: it lists the bucket and deletes.

locals {
  gateway_namespace       = "tryon"
  gateway_service_account = "gateway"
}

resource "aws_eks_addon" "pod_identity_agent" {
  cluster_name = aws_eks_cluster.main.name
  addon_name   = "eks-pod-identity-agent"
}

data "aws_iam_policy_document" "gateway_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
    # Pod Identity tags the session: only this cluster's gateway ServiceAccount may assume it.
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/eks-cluster-name"
      values   = [aws_eks_cluster.main.name]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/kubernetes-namespace"
      values   = [local.gateway_namespace]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/kubernetes-service-account"
      values   = [local.gateway_service_account]
    }
  }
}

data "aws_iam_policy_document" "gateway" {
  statement {
    sid       = "AssetObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.assets.arn}/*"]
  }
  statement {
    # HeadBucket (the readiness probe) and ListObjectsV2 (the storage sweep) need it, and
    # without it S3 answers a missing key with 403 instead of 404.
    sid       = "AssetBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.assets.arn]
  }
  statement {
    # The bucket encrypts with the customer key by default: writes and reads use it.
    sid       = "AssetEncryption"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "gateway" {
  name               = "${local.name}-gateway"
  assume_role_policy = data.aws_iam_policy_document.gateway_assume.json
}

resource "aws_iam_role_policy" "gateway" {
  name   = "assets-bucket"
  role   = aws_iam_role.gateway.id
  policy = data.aws_iam_policy_document.gateway.json
}

resource "aws_eks_pod_identity_association" "gateway" {
  cluster_name    = aws_eks_cluster.main.name
  namespace       = local.gateway_namespace
  service_account = local.gateway_service_account
  role_arn        = aws_iam_role.gateway.arn
  depends_on      = [aws_eks_addon.pod_identity_agent]
}
