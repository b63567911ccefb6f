# Prepared try-on assets and brand model photos (merchant content; never shopper images),
# container images, and access logs.

resource "aws_s3_bucket" "assets" {
  #checkov:skip=CKV_AWS_144:assets are re-creatable from merchants' product images
  #checkov:skip=CKV2_AWS_62:nothing reacts to asset writes
  bucket_prefix = "${local.name}-assets-"
}

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_144:access logs are not replicated
  #checkov:skip=CKV2_AWS_62:nothing reacts to log writes
  #checkov:skip=CKV_AWS_21:log objects are written once and expire
  #checkov:skip=CKV_AWS_145:S3 server access log delivery cannot use a customer KMS key
  bucket_prefix = "${local.name}-logs-"
}

resource "aws_s3_bucket_lifecycle_configuration" "assets" {
  bucket = aws_s3_bucket.assets.id
  rule {
    id     = "old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_public_access_block" "all" {
  for_each                = { assets = aws_s3_bucket.assets.id, logs = aws_s3_bucket.logs.id }
  bucket                  = each.value
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "assets" {
  bucket = aws_s3_bucket.assets.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256" # S3 log delivery cannot write with a customer KMS key
    }
  }
}

resource "aws_s3_bucket_versioning" "assets" {
  bucket = aws_s3_bucket.assets.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_logging" "assets" {
  bucket        = aws_s3_bucket.assets.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3-assets/"
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "expire"
    status = "Enabled"
    filter {}
    expiration {
      days = 90
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_ecr_repository" "images" {
  for_each             = toset(["tryon", "tryon-triton"])
  name                 = "${local.name}/${each.key}"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.main.arn
  }
}

resource "random_password" "secret_key" {
  length  = 64
  special = false
}

# TRYON_SECRET_KEY and the service URLs, read into the Kubernetes Secret `tryon-secrets`
# (e.g. by External Secrets Operator). The storage URL is no secret, but its bucket name is
# generated here, like the other endpoints.
locals {
  database_url = "postgresql+psycopg://tryon:${random_password.postgres.result}@${aws_db_instance.postgres.address}:5432/tryon?sslmode=require"
}

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:rotated by a terraform apply with a new random_password (a rotation Lambda cannot re-key the app)
  name_prefix = "${local.name}/app-"
  kms_key_id  = aws_kms_key.main.arn
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.app.id
  secret_string = jsonencode({
    TRYON_SECRET_KEY              = random_password.secret_key.result
    TRYON_REDIS_URL               = "rediss://:${random_password.redis.result}@${aws_elasticache_replication_group.redis.primary_endpoint_address}:6379/0"
    TRYON_ANALYTICS_AMQP_URL      = "amqps://tryon:${random_password.rabbitmq.result}@${replace(aws_mq_broker.rabbitmq.instances[0].endpoints[0], "amqps://", "")}"
    TRYON_DATABASE_URL            = local.database_url
    TRYON_ANALYTICS_WAREHOUSE_URL = local.database_url
    TRYON_STORAGE_URL             = "s3://${aws_s3_bucket.assets.bucket}"
    TRYON_S3_REGION               = var.region
  })
}
