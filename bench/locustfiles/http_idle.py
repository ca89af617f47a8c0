"""Locust HttpUser: one GET, then an hour's wait (idle-memory benchmark)."""

from locust import HttpUser, constant, task


class IdleUser(HttpUser):
    wait_time = constant(3600)

    @task
    def get(self) -> None:
        self.client.get("/")
