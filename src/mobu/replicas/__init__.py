"""Many replicas, one mobu: desired state and heartbeats shared through PostgreSQL.

See docs/replicas.md. :class:`mobu.replicas.group.ReplicaGroup` reconciles this replica's share
of the desired flocks; :class:`mobu.replicas.merged.GroupView` answers the flock routes for the
whole group. Nothing is imported here: ``mobu.config`` imports ``mobu.replicas.config``.
"""
