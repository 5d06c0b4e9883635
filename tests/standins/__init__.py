"""Local stand-ins for the services the deployment talks to (Cloud SQL, Secret Manager,
Pub/Sub's and GitHub's HTTP APIs, an SMTP relay), each speaking the real protocol so
the real client libraries can be pointed at them."""
