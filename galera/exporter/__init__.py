"""The Prometheus exporter: mysqld_exporter-compatible series plus cluster-wide ones."""
