variable "region" {
  description = "AWS region"
  type        = string
  default     = "eu-west-1"
}

variable "environment" {
  description = "Environment name, used in resource names"
  type        = string
  default     = "production"
}

variable "vpc_cidr" {
  description = "CIDR of the VPC"
  type        = string
  default     = "10.40.0.0/16"
}

variable "kubernetes_version" {
  description = "EKS control plane version"
  type        = string
  default     = "1.32"
}

variable "gpu_instance_type" {
  description = "Instance type of the Triton GPU node group"
  type        = string
  default     = "g6.xlarge"
}

variable "gpu_nodes_max" {
  description = "Upper bound of the GPU node group"
  type        = number
  default     = 4
}

variable "db_instance_class" {
  description = "RDS PostgreSQL instance class"
  type        = string
  default     = "db.r7g.large"
}
