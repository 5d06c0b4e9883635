variable "project_id" {
  description = "The Google Cloud project to deploy into."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "A project id is 6 to 30 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region of the functions, the database and the load balancer's backends."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "A region looks like europe-west1 or us-central1."
  }
}

variable "name" {
  description = "Prefix of every resource's name."
  type        = string
  default     = "pilot-feedback"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name))
    error_message = "3 to 21 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "profile" {
  description = "What the deployment costs and gives: production (a dedicated-core database, the load balancer with Cloud Armor and your domain; about 77 USD a month idle) or pilot (the smallest database, API Gateway at a *.gateway.dev address; about 10 USD a month idle). README.md compares them."
  type        = string
  default     = "production"
  validation {
    condition     = contains(["production", "pilot"], var.profile)
    error_message = "production or pilot."
  }
}

variable "front_door" {
  description = "Overrides the profile's front door: load_balancer (custom domain, Cloud Armor, a fixed monthly charge) or api_gateway (charged per call, nothing idle)."
  type        = string
  default     = null
  validation {
    condition     = var.front_door == null ? true : contains(["load_balancer", "api_gateway"], var.front_door)
    error_message = "load_balancer or api_gateway."
  }
}

variable "domain" {
  description = "The public host name of the API behind the load balancer (a Google-managed certificate is made for it; point its DNS A record at the output ip_address). Unused with API Gateway, which answers at its own *.gateway.dev host."
  type        = string
  default     = ""
  validation {
    condition     = var.domain == "" || can(regex("^([a-z0-9-]+\\.)+[a-z]{2,}$", var.domain))
    error_message = "A fully qualified host name such as feedback.example.com."
  }
}

# --- database

variable "database_tier" {
  description = "Overrides the profile's Cloud SQL machine tier (production: db-custom-1-3840; pilot: db-f1-micro, shared core)."
  type        = string
  default     = null
}

variable "database_version" {
  description = "PostgreSQL major version (the SQL is written for 15 and tested on 15 and 18)."
  type        = string
  default     = "POSTGRES_15"
  validation {
    condition     = contains(["POSTGRES_15", "POSTGRES_16", "POSTGRES_17", "POSTGRES_18"], var.database_version)
    error_message = "POSTGRES_15 or later."
  }
}

variable "database_max_connections" {
  description = "Overrides the profile's PostgreSQL max_connections (production 100, pilot 25: the shared-core tier's default). The functions' max_instances x concurrency, plus 10 for operators, must fit (checked at plan time)."
  type        = number
  default     = null
  validation {
    condition     = var.database_max_connections == null ? true : var.database_max_connections >= 20 && var.database_max_connections <= 1000
    error_message = "Between 20 and 1000."
  }
}

variable "database_private_ip" {
  description = "Reach Cloud SQL straight at a private IP in its own VPC, over TLS verified against the instance's CA (no connector import: about 700 ms less per cold start; a Serverless VPC Access connector, which costs while idle, and Cloud Build in a private pool), instead of through the Cloud SQL connector at its public IP with no authorized networks. IAM authentication either way."
  type        = bool
  default     = false
}

variable "database_high_availability" {
  description = "A regional (failover) instance instead of a zonal one; doubles the database cost."
  type        = bool
  default     = false
}

# --- functions

variable "max_instances" {
  description = "Overrides the profile's upper bound of instances for the functions named (profiles.tf). Each instance holds up to its concurrency in database connections."
  type        = map(number)
  default     = {}
  validation {
    condition     = alltrue([for n in values(var.max_instances) : n >= 1 && n <= 100])
    error_message = "Each between 1 and 100."
  }
}

# --- behaviour (see README.md, Configuration)

variable "default_tenant_id" {
  description = "Tenant of anonymous submissions without an intake key; empty: such submissions are refused."
  type        = string
  default     = ""
  validation {
    condition     = var.default_tenant_id == "" || can(regex("^[0-9a-f-]{36}$", var.default_tenant_id))
    error_message = "Empty or a UUID."
  }
}

variable "jwt" {
  description = "The identity provider's JWTs (issuer, audience, JWKS URL; RS256 unless set). Empty issuer: API keys only."
  type = object({
    issuer       = string
    audience     = string
    jwks_url     = string
    algorithm    = optional(string, "RS256")
    tenant_claim = optional(string, "tenant_id")
    role_claim   = optional(string, "role")
  })
  default = { issuer = "", audience = "", jwks_url = "" }
}

variable "cors_allowed_origins" {
  description = "Browser origins allowed to call the API."
  type        = list(string)
  default     = []
}

variable "sla" {
  description = "Where business days are counted, and the dates that are not business days."
  type = object({
    timezone = optional(string, "UTC")
    holidays = optional(list(string), [])
  })
  default = {}
}

variable "smtp" {
  description = "The mail relay for submitter mails (its password goes in the smtp-password secret). Empty host: mails are logged."
  type = object({
    host      = string
    port      = optional(number, 587)
    user      = optional(string, "")
    mail_from = optional(string, "Pilot Feedback <feedback@localhost>")
  })
  default = { host = "" }
}

variable "mail_intake" {
  description = "Feedback by mail: the domain of tenants' addresses (feedback+<slug>@DOMAIN), whose MX records point at Mailgun; a Mailgun route forwards its mail to https://API_HOST/api/v1/email/inbound/mime (terraform/README.md)."
  type = object({
    domain = optional(string, "localhost")
  })
  default = {}
}

variable "github" {
  description = "GitHub issues from feedback: API URL, default repository (owner/name; empty: no issues), priorities that make issues, issues per tenant per hour."
  type = object({
    api_url    = optional(string, "https://api.github.com")
    repository = optional(string, "")
    priorities = optional(list(string), ["high", "urgent"])
    hourly_cap = optional(number, 30)
  })
  default = {}
  validation {
    condition     = var.github.repository == "" || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github.repository))
    error_message = "github.repository is owner/name."
  }
}

variable "anonymous_rate_limit_per_minute" {
  description = "Cloud Armor (load balancer only): anonymous POSTs per client IP per minute (the service also limits per address and per tenant)."
  type        = number
  default     = 30
}

variable "console_iap" {
  description = "Identity-Aware Proxy in front of the console (load balancer only): who may reach it (user:, group: or domain: members), and the audience its assertions carry, which the output console_iap_audience shows after the first apply (the functions then verify it). Sign-in links keep working for team members either way."
  type = object({
    enabled  = optional(bool, false)
    members  = optional(list(string), [])
    audience = optional(string, "")
  })
  default = {}
  validation {
    condition     = var.console_iap.audience == "" || can(regex("^/projects/[0-9]+/global/backendServices/[0-9]+$", var.console_iap.audience))
    error_message = "console_iap.audience is /projects/NUMBER/global/backendServices/ID (the output console_iap_audience)."
  }
}

variable "digest_schedule" {
  description = "Cloud Scheduler cron of the digest run (each makes the digests whose tenant's morning has come)."
  type        = string
  default     = "5 * * * *"
}

variable "sweep_schedule" {
  description = "Cloud Scheduler cron of the outbox sweep."
  type        = string
  default     = "*/2 * * * *"
}
