# Two ways to run the same code, chosen by var.profile; each knob can be overridden.
#
# production: a dedicated-core database and the load balancer (your domain, a managed
#   certificate, Cloud Armor's per-client throttle and exploit rules).
# pilot: scale to zero everywhere that can. The smallest (shared-core) database, whose
#   25 connections bound the functions' instances and concurrency, and API Gateway,
#   which is charged per call (the first two million a month free) instead of by the
#   hour. README.md gives each profile's idle cost and what the pilot gives up.
#
# Each function instance serves up to `concurrency` requests at once on one CPU and
# holds as many database connections (DB_POOL_SIZE = concurrency), so the sum of
# max_instances x concurrency, plus OPERATOR_CONNECTIONS for migrations, manage.py and a
# psql session, must fit under max_connections: checked at plan time (database.tf) and
# by the test suite for both profiles.

locals {
  profiles = {
    production = {
      database_tier            = "db-custom-1-3840"
      database_max_connections = 100
      front_door               = "load_balancer"
      max_instances = {
        feedback       = 5
        admin          = 2
        github_webhook = 1
        notify         = 2
        github_sync    = 1 # one creation a second holds across the deployment only with one instance
        sweep          = 1
        console        = 2
        email_intake   = 1
      }
      concurrency = {
        feedback       = 8
        admin          = 8
        github_webhook = 4
        notify         = 1
        github_sync    = 1
        sweep          = 1
        console        = 4
        email_intake   = 2
      }
    }
    pilot = {
      database_tier            = "db-f1-micro"
      database_max_connections = 25 # the tier's default; its 0.6 GB hold no more
      front_door               = "api_gateway"
      max_instances = {
        feedback       = 2
        admin          = 1
        github_webhook = 1
        notify         = 1
        github_sync    = 1
        sweep          = 1
        console        = 1
        email_intake   = 1
      }
      concurrency = {
        feedback       = 3
        admin          = 1 # the team triages in the console
        github_webhook = 1
        notify         = 1
        github_sync    = 1
        sweep          = 1
        console        = 2 # a CSV export holds its connection while it streams: a page is served beside it
        email_intake   = 1
      }
    }
  }

  profile                  = local.profiles[var.profile]
  front_door               = coalesce(var.front_door, local.profile.front_door)
  load_balancer            = local.front_door == "load_balancer"
  api_gateway              = local.front_door == "api_gateway"
  database_tier            = coalesce(var.database_tier, local.profile.database_tier)
  database_max_connections = coalesce(var.database_max_connections, local.profile.database_max_connections)
  max_instances            = merge(local.profile.max_instances, var.max_instances)
  concurrency              = local.profile.concurrency

  operator_connections      = 10
  connections_at_full_scale = sum([for name, n in local.max_instances : n * local.concurrency[name]])
}
