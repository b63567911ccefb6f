output "cluster_name" {
  description = "EKS cluster (aws eks update-kubeconfig --name ...)"
  value       = aws_eks_cluster.main.name
}

output "image_repositories" {
  description = "ECR repositories for the tryon and tryon-triton images"
  value       = { for k, r in aws_ecr_repository.images : k => r.repository_url }
}

output "assets_bucket" {
  description = "S3 bucket for prepared try-on assets and brand model photos"
  value       = aws_s3_bucket.assets.bucket
}

output "gateway_role_arn" {
  description = "IAM role of the gateway pods (EKS Pod Identity on tryon/gateway): the assets bucket only"
  value       = aws_iam_role.gateway.arn
}

output "app_secret_arn" {
  description = "Secrets Manager secret holding TRYON_SECRET_KEY and service URLs"
  value       = aws_secretsmanager_secret.app.arn
}
